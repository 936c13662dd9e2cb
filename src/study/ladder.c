/*
  GFStudy: convergence-order studies. The configured problem runs on a ladder of levels,
  each on all ranks, refined in space (n, 2n, 4n, ... cells per axis), in time (dt, dt/2,
  ...) or both; every level's final density is measured

    - against the model's exact cell averages, where it has them and space is refined, or
    - against the finest level otherwise (self-convergence; the finest grid's cell
      averages restricted to a coarser grid by averaging 2^d children, which is exact),
      with a Richardson estimate of the finest level's own error, d/(2^p - 1),

  in L1, L2, Linf (cell averages, h^d weights), relative mass and, in 1D, W1 (CDFs) and W2
  (quantile functions). Observed orders are log2 of successive error ratios (time
  refinement halves dt, so the same formula holds).
*/
#include "study.h"
#include <unistd.h>

static PetscErrorCode GFStudyLevelReset(GFStudyLevel *L)
{
  PetscFunctionBeginUser;
  if (L->rho)
    for (PetscInt r = 0; r < L->ntimes; r++) PetscCall(VecDestroy(&L->rho[r]));
  PetscCall(PetscFree(L->rho));
  PetscCall(PetscFree(L->t));
  PetscCall(PetscFree(L->error));
  PetscCall(PetscFree(L->difference));
  PetscCall(PetscFree(L->order));
  PetscCall(GFGridDestroy(&L->grid));
  PetscCall(PetscMemzero(L, sizeof(*L)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFStudyCreate(MPI_Comm comm, GFStudy *study)
{
  PetscFunctionBeginUser;
  PetscCall(PetscNew(study));
  (*study)->comm     = comm;
  (*study)->levels   = 4;
  (*study)->coarsest = 32;
  (*study)->refine   = GF_REFINE_SPACE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFStudyDestroy(GFStudy *study)
{
  PetscFunctionBeginUser;
  if (!*study) PetscFunctionReturn(PETSC_SUCCESS);
  for (PetscInt l = 0; l < GF_STUDY_MAX_LEVELS; l++) PetscCall(GFStudyLevelReset(&(*study)->level[l]));
  PetscCall(PetscFree((*study)->richardson));
  PetscCall(PetscFree((*study)->options));
  PetscCall(PetscOptionsDestroy(&(*study)->probe));
  PetscCall(GFRunDirectoryDestroy(&(*study)->rundir));
  PetscCall(PetscFree(*study));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFStudySetProblemName(GFStudy study, const char name[])
{
  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(study->problem, name, sizeof(study->problem)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Measured times: the final one, or every output time up to the final one (of a level's solver s). */
static PetscInt GFStudyMeasuredTimes(GFStudy study, GFSolver s)
{
  PetscReal t0, t_end;

  if (!study->every_output || s->out.interval <= 0) return 1;
  if (GFProblemGetTimeSpan(s->problem, &t0, &t_end)) return 1;
  return (PetscInt)PetscCeilReal((t_end - t0) / s->out.interval) + 1;
}

/* Roles in a study's directory: its own study.csv, study_times.csv and study.png. */
static GFFileRole GFStudyFileRole(const char name[], void *ctx)
{
  (void)ctx;
  return !strcmp(name, "study.csv") || !strcmp(name, "study_times.csv") || !strcmp(name, "study.png") ? GF_FILE_OLD : GF_FILE_FOREIGN;
}

/* The step of level l under the study's rule (0 for the CFL step). */
static PetscReal GFStudyLevelDt(GFStudy study, PetscInt l)
{
  switch (study->dt_rule) {
  case GF_DT_SCALED_H2: return study->dt0 / PetscPowReal(4, (PetscReal)l);
  case GF_DT_HALVED: return study->dt0 / PetscPowReal(2, (PetscReal)l);
  default: return 0;
  }
}

/* The options database of level l: the study's defaults, the user's options, the level's grid, step and scheme, what a level must have. */
static PetscErrorCode GFStudyLevelOptions(GFStudy study, PetscInt l, PetscOptions *db)
{
  char extra[512] = "";

  PetscFunctionBeginUser;
  if (study->refine != GF_REFINE_TIME) {
    const PetscInt n = study->coarsest << l;
    PetscCall(PetscSNPrintf(extra, sizeof(extra), " -da_grid_x %" PetscInt_FMT " -da_grid_y %" PetscInt_FMT " -da_grid_z %" PetscInt_FMT, n, n, n));
  }
  if (study->dt_rule != GF_DT_CFL) {
    const size_t len = strlen(extra);
    PetscCall(PetscSNPrintf(extra + len, sizeof(extra) - len, " -ts_dt %.17g -dt_adapt 0", (double)GFStudyLevelDt(study, l)));
  }
  PetscCall(PetscStrlcat(extra, study->scheme, sizeof(extra)));
  PetscCall(PetscOptionsCreate(db));
  PetscCall(PetscOptionsInsertString(*db, "-progress 0"));
  PetscCall(PetscOptionsInsertString(*db, study->options));
  PetscCall(PetscOptionsInsertString(*db, extra));
  PetscCall(PetscOptionsInsertString(*db, "-output 0 -summary 0 -exact 0"));
  if (!study->every_output) PetscCall(PetscOptionsInsertString(*db, "-output_interval 0"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Level l's problem and its solver, set from the level's options (pushed): the grid, step and scheme of the level. */
static PetscErrorCode GFStudyCreateLevel(GFStudy study, GFSolver *solver)
{
  GFProblem      problem;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(GFProblemCreate(study->comm, &problem));
  ierr = GFProblemSetFromOptions(problem);
  if (!ierr) ierr = GFSolverCreate(study->comm, solver);
  if (!ierr) ierr = GFSolverSetProblem(*solver, problem);
  PetscCall(GFProblemDestroy(&problem));
  if (!ierr) ierr = GFSolverSetFromOptions(*solver);
  if (ierr) PetscCall(GFSolverDestroy(solver));
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A solver under the options of level l, set from them (and set up when setup): what the study asks before any level runs. */
static PetscErrorCode GFStudyProbeLevel(GFStudy study, PetscInt l, PetscBool setup, GFSolver *solver)
{
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  *solver = NULL;
  PetscCall(PetscOptionsDestroy(&study->probe));
  PetscCall(GFStudyLevelOptions(study, l, &study->probe));
  PetscCall(PetscOptionsPush(study->probe));
  ierr = GFStudyCreateLevel(study, solver);
  if (!ierr && setup) ierr = GFSolverSetUp(*solver);
  PetscCall(PetscOptionsPop());
  if (ierr) PetscCall(GFSolverDestroy(solver));
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The coarsest level under the user's options, before anything runs: every option read and
  checked, the time-step rule chosen from what the solver decides (not guessed from option
  strings), the finest level's memory estimated from what the model needs.
*/
static PetscErrorCode GFStudyProbe(GFStudy study)
{
  GFSolver    s;
  PetscBool   ts_type_given, dt_given = (PetscBool)(study->dt0 > 0);
  PetscReal   cells, per_cell;
  PetscMPIInt size;
  char        what[128];

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsHasName(NULL, NULL, "-ts_type", &ts_type_given));
  if (!dt_given) PetscCall(PetscOptionsGetReal(NULL, NULL, "-ts_dt", &study->dt0, &dt_given));
  if (study->refine == GF_REFINE_SPACE) {
    study->dt_rule = dt_given ? GF_DT_SCALED_H2 : GF_DT_CFL;
    PetscCall(GFStudyProbeLevel(study, 0, PETSC_FALSE, &s));
    if (!dt_given && s->implicit) {
      PetscBool implicit_default;
      TSType    type;
      char      name[GF_NAME_LEN];
      PetscCall(GFProblemIsImplicit(s->problem, &implicit_default));
      PetscCall(TSGetType(s->ts, &type));
      PetscCall(PetscStrncpy(name, type, sizeof(name)));
      PetscCall(GFSolverDestroy(&s));
      PetscCheck(implicit_default && !ts_type_given, study->comm, PETSC_ERR_USER_INPUT,
                 "-study_refine space with the implicit -ts_type %s needs a step that shrinks with the grid: give -study_dt (the coarsest level's step; level l takes it times 4^-l), or use an explicit -ts_type (each level then takes its CFL step)",
                 name);
      /* the model's implicit default (backward Euler, first order) would measure its own time error: the explicit scheme at its step bound instead */
      PetscCall(PetscStrncpy(study->scheme, " -ts_type rk -ts_rk_type ssprk43", sizeof(study->scheme)));
    } else
      PetscCall(GFSolverDestroy(&s));
  } else {
    PetscCheck(dt_given, study->comm, PETSC_ERR_USER_INPUT, "-study_refine %s needs the coarsest step: -study_dt or -ts_dt", GFRefines[study->refine]);
    study->dt_rule = GF_DT_HALVED;
  }
  /* the coarsest level as it will run, set up: its options read, the time span and the data checked */
  PetscCall(GFStudyProbeLevel(study, 0, PETSC_TRUE, &s));
  PetscCall(GFGridGetDimension(s->grid, &study->dim));
  cells = study->refine == GF_REFINE_TIME ? (PetscReal)s->grid->cells[0] * s->grid->cells[1] * s->grid->cells[2] : PetscPowReal((PetscReal)(study->coarsest << (study->levels - 1)), (PetscReal)study->dim);
  /* ... and the densities kept for self-convergence: each measured time, all levels (under twice the finest) */
  per_cell = GFRunBytesPerCell(study->dim, s->implicit, s->traits.convolutions) + 2.0 * 8 * GFStudyMeasuredTimes(study, s);
  PetscCall(GFSolverDestroy(&s));
  PetscCallMPI(MPI_Comm_size(study->comm, &size));
  if (study->refine == GF_REFINE_TIME)
    PetscCall(PetscSNPrintf(what, sizeof(what), "each level, %.0f cells,", (double)cells));
  else
    PetscCall(PetscSNPrintf(what, sizeof(what), "the finest level, %" PetscInt_FMT "^%" PetscInt_FMT " cells,", study->coarsest << (study->levels - 1), study->dim));
  PetscCall(GFMemoryCheck(study->comm, cells / size * per_cell, what, "use fewer levels (-study_levels), a coarser start (-study_coarsest) or more ranks"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* -study_levels, -study_coarsest, -study_refine, -study_dt; then the coarsest level under the user's options and the output directory, checked before anything runs. */
PetscErrorCode GFStudySetFromOptions(GFStudy study)
{
  PetscInt  refine = GF_REFINE_SPACE;
  PetscBool help;

  PetscFunctionBeginUser;
  PetscOptionsBegin(study->comm, NULL, "Convergence study", "GFStudy");
  PetscCall(GFOptionsInt("-study_levels", "Levels of the ladder (>= 2)", "GFStudySetFromOptions", study->levels, &study->levels, NULL, PETSC_MIN_INT, PETSC_MAX_INT));
  PetscCall(GFOptionsInt("-study_coarsest", "Cells per axis of the coarsest level (space refinement)", "GFStudySetFromOptions", study->coarsest, &study->coarsest, NULL, PETSC_MIN_INT, PETSC_MAX_INT));
  PetscCall(GFOptionsChoice("-study_refine", "Refine space (n, 2n, ...), time (dt, dt/2, ... on -da_grid_x cells) or both", "GFStudySetFromOptions", GFRefines, 3, &refine, NULL));
  study->refine = (GFRefine)refine;
  PetscCall(GFOptionsReal("-study_dt", "The coarsest level's step: halved per level in time refinement, times 4^-l in space refinement (default -ts_dt)", "GFStudySetFromOptions", study->dt0, &study->dt0, NULL, GF_REAL_POSITIVE));
  {
    const char *const refs[] = {"exact", "self"};
    PetscInt          ref    = study->self;
    PetscCall(GFOptionsChoice("-study_reference", "Measure against the exact solution (when the problem has one) or the finest level", "GFStudySetFromOptions", refs, 2, &ref, NULL));
    study->self = (PetscBool)(ref == 1);
  }
  PetscCall(GFOptionsBool("-study_every_output", "Measure at every -output_interval time, not only the final one", "GFStudySetFromOptions", study->every_output, &study->every_output, NULL));
  PetscCall(GFOptionsString("-output_dir", "Directory of study.csv and study.png (default output/study_NAME)", "GFStudySetFromOptions", study->dir, study->dir, sizeof(study->dir), NULL));
  PetscCall(GFOptionsBool("-output_overwrite", "Replace an existing study directory (once the new table is ready)", "GFStudySetFromOptions", study->overwrite, &study->overwrite, NULL));
  PetscOptionsEnd();
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) PetscFunctionReturn(PETSC_SUCCESS); /* -help lists the options; nothing is checked or created */
  PetscCheck(study->levels >= 2, study->comm, PETSC_ERR_USER_INPUT, "-study_levels %" PetscInt_FMT ": a study needs at least 2 levels to observe an order", study->levels);
  PetscCheck(study->levels <= GF_STUDY_MAX_LEVELS, study->comm, PETSC_ERR_USER_INPUT, "-study_levels %" PetscInt_FMT ": at most %d levels", study->levels, GF_STUDY_MAX_LEVELS);
  if (study->refine != GF_REFINE_TIME) {
    PetscCheck(study->coarsest >= 4, study->comm, PETSC_ERR_USER_INPUT, "-study_coarsest %" PetscInt_FMT ": a grid of %" PetscInt_FMT " cells per axis is too small for the stencil (width 2 on each side of a cell): need at least 4", study->coarsest,
               study->coarsest);
    PetscCheck((PetscReal)study->coarsest * PetscPowReal(2, (PetscReal)(study->levels - 1)) <= PETSC_MAX_INT, study->comm, PETSC_ERR_USER_INPUT,
               "-study_coarsest %" PetscInt_FMT " with -study_levels %" PetscInt_FMT ": the finest level has more cells per axis than this PETSc build's indices hold", study->coarsest, study->levels);
  }
  if (!study->dir[0]) {
    const char *name = study->problem[0] ? study->problem : "run";
    PetscCall(PetscSNPrintf(study->dir, sizeof(study->dir), strncmp(name, "study_", 6) ? "output/study_%s" : "output/%s", name));
  }
  PetscCall(PetscOptionsGetAll(NULL, &study->options));
  PetscCall(GFStudyProbe(study));
  PetscCall(GFRunDirectoryCreate(study->comm, study->dir, study->overwrite, GFStudyFileRole, NULL, &study->rundir));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The databases whose options the study reads: its own and the coarsest level's (for the check of unused options). */
PetscErrorCode GFStudyGetOptions(GFStudy study, PetscInt *n, PetscOptions dbs[])
{
  PetscFunctionBeginUser;
  dbs[0] = NULL;
  dbs[1] = study->probe;
  *n     = study->probe ? 2 : 1;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* What the output hook sees of a running level. */
typedef struct {
  GFStudy       study;
  GFStudyLevel *level;
  GFModel       model;
  PetscBool     started;
} GFStudyRecorder;

/* The output hook: past the initial state, measure the exact errors now, or keep the density for self-convergence. */
static PetscErrorCode GFStudyRecord(GFSolver solver, PetscReal t, Vec rho, void *ctx)
{
  GFStudyRecorder *r = (GFStudyRecorder *)ctx;
  GFStudyLevel    *L = r->level;
  const PetscInt   n = L->ntimes;

  PetscFunctionBeginUser;
  if (!r->started) {
    r->started = PETSC_TRUE;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (n == L->capacity) {
    L->capacity = PetscMax(8, 2 * L->capacity);
    PetscCall(PetscRealloc(sizeof(*L->t) * L->capacity, &L->t));
    PetscCall(PetscRealloc(sizeof(*L->rho) * L->capacity, &L->rho));
    PetscCall(PetscRealloc(sizeof(*L->error) * L->capacity, &L->error));
    PetscCall(PetscRealloc(sizeof(*L->difference) * L->capacity, &L->difference));
    PetscCall(PetscRealloc(sizeof(*L->order) * L->capacity, &L->order));
  }
  L->t[n]   = t;
  L->rho[n] = NULL;
  PetscCall(PetscArrayzero(L->error[n], GF_DIST_COUNT));
  PetscCall(PetscArrayzero(L->difference[n], GF_DIST_COUNT));
  PetscCall(PetscArrayzero(L->order[n], GF_DIST_COUNT));
  if (r->study->exact) {
    Vec exact;
    PetscCall(VecDuplicate(rho, &exact));
    PetscCall(GFModelComputeExact(r->model, t, exact));
    PetscCall(GFGridDistances(solver->grid, rho, exact, L->error[n]));
    PetscCall(VecDestroy(&exact));
  } else {
    PetscCall(VecDuplicate(rho, &L->rho[n]));
    PetscCall(VecCopy(rho, L->rho[n]));
  }
  L->ntimes++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Set up and solve level l's solver under its options; level 0 decides between exact errors and self-convergence. */
static PetscErrorCode GFStudySolveLevel(GFStudy study, PetscInt l, GFSolver solver, GFStudyRecorder *recorder, PetscReal *t0, PetscLogDouble *seconds)
{
  PetscLogDouble start, stop;
  PetscReal      t_end;

  PetscFunctionBeginUser;
  PetscCall(GFSolverSetUp(solver));
  PetscCall(GFSolverGetModel(solver, &recorder->model));
  if (l == 0) {
    PetscBool has_exact;
    PetscCall(GFProblemHasExact(solver->problem, &has_exact, NULL));
    study->exact = (PetscBool)(has_exact && study->refine != GF_REFINE_TIME && !study->self);
    PetscCheck(study->exact || study->levels >= 3, study->comm, PETSC_ERR_USER_INPUT, "-study_levels %" PetscInt_FMT ": %s, so errors are measured against the finest level (self-convergence), which needs at least 3 levels for an order",
               study->levels, study->self ? "-study_reference self" : (study->refine == GF_REFINE_TIME ? "time refinement keeps the grid" : "this problem has no exact solution"));
  }
  PetscCall(GFSolverSetOutputHook(solver, GFStudyRecord, recorder));
  PetscCall(GFProblemGetTimeSpan(solver->problem, t0, &t_end));
  PetscCall(PetscTime(&start));
  PetscCall(GFSolverSolve(solver));
  PetscCall(PetscTime(&stop));
  *seconds = stop - start;
  PetscCheck(PetscAbsReal(solver->diag.time - t_end) <= 1e-9 * PetscMax(1, PetscAbsReal(t_end)), study->comm, PETSC_ERR_USER_INPUT, "level %" PetscInt_FMT " stopped at t = %.9g before -ts_max_time %.9g (%s): levels must reach the same time", l + 1,
             (double)solver->diag.time, (double)t_end, solver->blowup_time >= 0 ? "a blow-up" : "-ts_max_steps");
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Run level l on the user's options with the level's grid and step, measuring through
  the output hook. On failure the options are restored and the solver freed, so the
  levels already done can still be reported.
*/
static PetscErrorCode GFStudyRunLevel(GFStudy study, PetscInt l)
{
  GFStudyLevel   *L        = &study->level[l];
  GFStudyRecorder recorder = {study, L, NULL, PETSC_FALSE};
  PetscOptions    db;
  GFSolver        solver;
  GFRunStatistics st;
  PetscLogDouble  seconds = 0;
  PetscErrorCode  ierr;
  PetscInt        cells[3];
  PetscReal       lower[3], upper[3], t0 = 0;

  PetscFunctionBeginUser;
  PetscCall(GFStudyLevelOptions(study, l, &db));
  PetscCall(PetscOptionsPush(db));
  solver = NULL;
  ierr   = GFStudyCreateLevel(study, &solver);
  if (!ierr) ierr = GFStudySolveLevel(study, l, solver, &recorder, &t0, &seconds);
  PetscCall(PetscOptionsPop());
  PetscCall(PetscOptionsDestroy(&db));
  if (ierr) {
    PetscCall(GFSolverDestroy(&solver));
    PetscCall(ierr);
  }

  PetscCall(GFSolverGetStatistics(solver, &st));
  PetscCall(GFGridGetCells(solver->grid, cells));
  PetscCall(GFGridGetBox(solver->grid, lower, upper));
  L->seconds = seconds;
  L->cells   = cells[0] * cells[1] * cells[2];
  L->h       = 0;
  for (PetscInt a = 0; a < study->dim; a++) L->h = PetscMax(L->h, (upper[a] - lower[a]) / cells[a]);
  L->dt   = st.steps ? (L->t[L->ntimes - 1] - t0) / st.steps : 0;
  L->grid = solver->grid;
  PetscCall(GFGridReference(L->grid));
  PetscCall(GFSolverDestroy(&solver));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Run the ladder and measure it. Progress: the level and its share of the work
  (cells x steps: 2^d more cells a level in space, and 4 times the steps of an
  explicit diffusive run; twice the steps a level in time).
*/
PetscErrorCode GFStudyRun(GFStudy study)
{
  PetscReal      work[GF_STUDY_MAX_LEVELS], total = 0, done = 0;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  for (PetscInt l = 0; l < study->levels; l++) {
    const PetscReal space = study->refine != GF_REFINE_TIME ? PetscPowReal(2.0, (PetscReal)(study->dim + 2) * l) : 1;
    const PetscReal time  = study->refine != GF_REFINE_SPACE ? PetscPowReal(2.0, (PetscReal)l) : 1;
    work[l]               = space * time;
    total += work[l];
  }
  for (PetscInt l = 0; l < study->levels; l++) {
    GFStudyLevel *L        = &study->level[l];
    char          what[64] = "";
    if (study->refine != GF_REFINE_TIME) PetscCall(PetscSNPrintf(what, sizeof(what), "%" PetscInt_FMT " cells per axis", study->coarsest << l));
    if (study->dt_rule != GF_DT_CFL) {
      const size_t len = strlen(what);
      PetscCall(PetscSNPrintf(what + len, sizeof(what) - len, "%sdt %.6g", len ? ", " : "", (double)GFStudyLevelDt(study, l)));
    }
    PetscCall(PetscPrintf(study->comm, "[study] level %" PetscInt_FMT "/%" PetscInt_FMT ": %s (%.0f%% of the work; %.0f%% done)\n", l + 1, study->levels, what, (double)(100 * work[l] / total), (double)(100 * done / total)));
    ierr = GFStudyRunLevel(study, l);
    if (ierr) {
      /* keep what the finished levels measured: their table, as far as it has orders */
      if (l >= (study->exact ? 2 : 3)) {
        PetscCall(GFStudyLevelReset(L));
        study->levels = l;
        PetscCall(PetscPrintf(study->comm, "[study] level %" PetscInt_FMT " failed; the table of levels 1 to %" PetscInt_FMT " follows\n", l + 1, l));
        PetscCall(GFStudyFinish(study));
      }
      PetscCall(ierr);
    }
    done += work[l];
    PetscCall(PetscPrintf(study->comm, "[study]   t = %.6g in %.2f s (mean dt %.4g)\n", (double)L->t[L->ntimes - 1], (double)L->seconds, (double)L->dt));
  }
  PetscCall(GFStudyFinish(study));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFStudyGetDirectory(GFStudy study, const char **dir)
{
  PetscFunctionBeginUser;
  *dir = study->dir;
  PetscFunctionReturn(PETSC_SUCCESS);
}
