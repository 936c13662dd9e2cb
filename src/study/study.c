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
#include "../gradflow_impl.h"
#include <unistd.h>

#define GF_STUDY_MAX_LEVELS 16

typedef enum { GF_REFINE_SPACE, GF_REFINE_TIME, GF_REFINE_BOTH } GFRefine;

/*
  How a level's step follows from the coarsest level's: the explicit CFL step of each grid
  (dt ~ h^2 with diffusion, ~ h without); the coarsest step dt0 scaled by (h/h0)^2 (space
  refinement with a given step: the time error of any scheme of order >= 1 then falls at
  least as fast as a second-order space error); dt0 / 2^l (time refinement, and both).
*/
typedef enum { GF_DT_CFL, GF_DT_SCALED_H2, GF_DT_HALVED } GFStudyDtRule;
static const char *const GFStudyDtRules[] = {"cfl", "h2", "halved"};
static const char *const GFRefines[]      = {"space", "time", "both"};

enum { E_L1, E_L2, E_LINF, E_MASS, E_W1, E_W2, E_COUNT };
static const char *const GFErrorNames[E_COUNT] = {"l1", "l2", "linf", "mass", "w1", "w2"};

/* One level of the ladder: its grid, and what was recorded at each measured time. */
typedef struct {
  GFGrid     grid;
  PetscInt   cells;
  PetscReal  h, dt, seconds;
  PetscInt   ntimes, capacity;
  PetscReal *t;
  Vec       *rho;                   /* self-convergence: the density at each measured time */
  PetscReal (*error)[E_COUNT];      /* against the exact solution or the finest level */
  PetscReal (*difference)[E_COUNT]; /* self-convergence: against the next finer level */
  PetscReal (*order)[E_COUNT];
} GFStudyLevel;

struct _p_GFStudy {
  MPI_Comm       comm;
  PetscInt       levels, coarsest, dim;
  GFRefine       refine;
  PetscReal      dt0;                           /* time refinement: the coarsest step */
  PetscBool      every_output, overwrite, self; /* self: -study_reference self */
  char           problem[GF_NAME_LEN], dir[PETSC_MAX_PATH_LEN];
  char          *options; /* the user's options, replayed for every level */
  GFStudyLevel   level[GF_STUDY_MAX_LEVELS];
  PetscBool      exact;      /* errors against the exact solution (else self-convergence) */
  PetscReal     *richardson; /* self-convergence: estimated error of the finest level, per time and norm */
  GFStudyDtRule  dt_rule;    /* how each level's time step follows from the coarsest */
  char           scheme[GF_NAME_LEN];
  PetscOptions   probe;  /* the options as the coarsest level reads them: checked before any level runs */
  GFRunDirectory rundir; /* study.csv: nothing of an earlier study changes before the new table is ready */
};

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
  if (!study->every_output || s->output_interval <= 0) return 1;
  return (PetscInt)PetscCeilReal((s->max_time - s->init.time) / s->output_interval) + 1;
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

/* A solver under the options of level l, set from them (and set up when setup): what the study asks before any level runs. */
static PetscErrorCode GFStudyProbeLevel(GFStudy study, PetscInt l, PetscBool setup, GFSolver *solver)
{
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsDestroy(&study->probe));
  PetscCall(GFStudyLevelOptions(study, l, &study->probe));
  PetscCall(PetscOptionsPush(study->probe));
  PetscCall(GFSolverCreate(study->comm, solver));
  ierr = GFSolverSetFromOptions(*solver);
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
      const PetscBool default_scheme = (PetscBool)(s->model->implicit_default && !ts_type_given);
      TSType          type;
      char            name[GF_NAME_LEN];
      PetscCall(TSGetType(s->ts, &type));
      PetscCall(PetscStrncpy(name, type, sizeof(name)));
      PetscCall(GFSolverDestroy(&s));
      PetscCheck(default_scheme, study->comm, PETSC_ERR_USER_INPUT,
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
  study->dim = s->grid->dim;
  cells      = study->refine == GF_REFINE_TIME ? (PetscReal)s->grid->cells[0] * s->grid->cells[1] * s->grid->cells[2] : PetscPowReal((PetscReal)(study->coarsest << (study->levels - 1)), (PetscReal)study->dim);
  /* ... and the densities kept for self-convergence: each measured time, all levels (under twice the finest) */
  per_cell = GFRunBytesPerCell(study->dim, s->implicit, s->model->convolutions) + 2.0 * 8 * GFStudyMeasuredTimes(study, s);
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

/* The restriction of cell averages from a grid to one with half the cells per axis: the mean of the 2^d children, as a matrix. */
static PetscErrorCode GFStudyRestriction(GFGrid fine, GFGrid coarse, Mat *R)
{
  const GFLocalBox *b        = &coarse->box;
  const PetscInt    children = 1 << coarse->dim, nrows = b->size[0] * b->size[1] * b->size[2];
  PetscInt         *cols, rstart, ncols;
  PetscScalar       w[8];
  AO                ao;
  Vec               fv;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(nrows * children, &cols));
  {
    PetscInt row = 0;
    GF_FOR_OWNED(b, i, j, k)
    {
      for (PetscInt c = 0; c < children; c++) {
        const PetscInt fi = 2 * i + (c & 1), fj = coarse->dim > 1 ? 2 * j + ((c >> 1) & 1) : 0, fk = coarse->dim > 2 ? 2 * k + ((c >> 2) & 1) : 0;
        cols[row * children + c] = fi + fine->cells[0] * (fj + fine->cells[1] * fk);
      }
      row++;
    }
  }
  PetscCall(DMDAGetAO(fine->da, &ao));
  PetscCall(AOApplicationToPetsc(ao, nrows * children, cols));
  PetscCall(DMGetGlobalVector(fine->da, &fv));
  PetscCall(VecGetLocalSize(fv, &ncols));
  PetscCall(DMRestoreGlobalVector(fine->da, &fv));
  PetscCall(MatCreateAIJ(coarse->comm, nrows, ncols, PETSC_DETERMINE, PETSC_DETERMINE, children, NULL, children, NULL, R));
  PetscCall(MatGetOwnershipRange(*R, &rstart, NULL));
  for (PetscInt c = 0; c < children; c++) w[c] = 1.0 / children;
  for (PetscInt row = 0; row < nrows; row++) {
    const PetscInt grow = rstart + row;
    PetscCall(MatSetValues(*R, 1, &grow, children, &cols[row * children], w, INSERT_VALUES));
  }
  PetscCall(MatAssemblyBegin(*R, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*R, MAT_FINAL_ASSEMBLY));
  PetscCall(PetscFree(cols));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Errors of rho against ref on one grid: L1, L2, Linf of cell averages (h^d weights), relative mass, and W1, W2 in 1D. */
static PetscErrorCode GFStudyErrors(GFGrid g, Vec rho, Vec ref, PetscReal e[E_COUNT])
{
  Vec       d;
  PetscReal mass, mass_ref;

  PetscFunctionBeginUser;
  PetscCall(VecDuplicate(rho, &d));
  PetscCall(VecWAXPY(d, -1, ref, rho));
  PetscCall(VecNorm(d, NORM_1, &e[E_L1]));
  PetscCall(VecNorm(d, NORM_2, &e[E_L2]));
  PetscCall(VecNorm(d, NORM_INFINITY, &e[E_LINF]));
  PetscCall(VecDestroy(&d));
  e[E_L1] *= g->cell_volume;
  e[E_L2] *= PetscSqrtReal(g->cell_volume);
  PetscCall(GFGridIntegrate(g, rho, &mass));
  PetscCall(GFGridIntegrate(g, ref, &mass_ref));
  e[E_MASS] = PetscAbsReal(mass - mass_ref) / PetscAbsReal(mass_ref);
  e[E_W1] = e[E_W2] = 0;
  if (g->dim == 1) PetscCall(GFGridWasserstein1D(g, rho, ref, &e[E_W1], &e[E_W2]));
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
  PetscCall(PetscArrayzero(L->error[n], E_COUNT));
  PetscCall(PetscArrayzero(L->difference[n], E_COUNT));
  PetscCall(PetscArrayzero(L->order[n], E_COUNT));
  if (r->study->exact) {
    Vec exact;
    PetscCall(VecDuplicate(rho, &exact));
    PetscCall(GFModelComputeExact(r->model, t, exact));
    PetscCall(GFStudyErrors(solver->grid, rho, exact, L->error[n]));
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

  PetscFunctionBeginUser;
  PetscCall(GFSolverSetFromOptions(solver));
  PetscCall(GFSolverSetUp(solver));
  PetscCall(GFSolverGetModel(solver, &recorder->model));
  if (l == 0) {
    PetscBool has_exact;
    PetscCall(GFModelHasExact(recorder->model, &has_exact, NULL));
    study->exact = (PetscBool)(has_exact && study->refine != GF_REFINE_TIME && !study->self);
    PetscCheck(study->exact || study->levels >= 3, study->comm, PETSC_ERR_USER_INPUT, "-study_levels %" PetscInt_FMT ": %s, so errors are measured against the finest level (self-convergence), which needs at least 3 levels for an order",
               study->levels, study->self ? "-study_reference self" : (study->refine == GF_REFINE_TIME ? "time refinement keeps the grid" : "this problem has no exact solution"));
  }
  PetscCall(GFSolverSetOutputHook(solver, GFStudyRecord, recorder));
  *t0 = solver->init.time;
  PetscCall(PetscTime(&start));
  PetscCall(GFSolverSolve(solver));
  PetscCall(PetscTime(&stop));
  *seconds = stop - start;
  PetscCheck(PetscAbsReal(solver->diag.time - solver->max_time) <= 1e-9 * PetscMax(1, PetscAbsReal(solver->max_time)), study->comm, PETSC_ERR_USER_INPUT,
             "level %" PetscInt_FMT " stopped at t = %.9g before -ts_max_time %.9g (%s): levels must reach the same time", l + 1, (double)solver->diag.time, (double)solver->max_time, solver->blowup_time >= 0 ? "a blow-up" : "-ts_max_steps");
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
  PetscCall(GFSolverCreate(study->comm, &solver));
  ierr = GFStudySolveLevel(study, l, solver, &recorder, &t0, &seconds);
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

/* Every level must have been measured at the same times (a level that blew up or hit -ts_max_steps early has not). */
static PetscErrorCode GFStudyCheckTimes(GFStudy study)
{
  const GFStudyLevel *L0 = &study->level[0];

  PetscFunctionBeginUser;
  for (PetscInt l = 0; l < study->levels; l++) {
    const GFStudyLevel *L = &study->level[l];
    PetscCheck(L->ntimes > 0, study->comm, PETSC_ERR_USER_INPUT, "level %" PetscInt_FMT " took no step: set -ts_max_time past the start", l);
    PetscCheck(L->ntimes == L0->ntimes && PetscAbsReal(L->t[L->ntimes - 1] - L0->t[L0->ntimes - 1]) <= 1e-9 * PetscMax(1, PetscAbsReal(L0->t[L0->ntimes - 1])), study->comm, PETSC_ERR_USER_INPUT,
               "level %" PetscInt_FMT " stopped at t = %.9g after %" PetscInt_FMT " measurements but level 0 at t = %.9g after %" PetscInt_FMT ": levels must reach the same times (a blow-up or -ts_max_steps stops a run early)", l,
               (double)L->t[L->ntimes - 1], L->ntimes, (double)L0->t[L0->ntimes - 1], L0->ntimes);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Restrict fine to coarse: the mean of the 2^d children (space), or a copy (time refinement: same grid). */
static PetscErrorCode GFStudyRestrict(GFStudy study, GFGrid fine, GFGrid coarse, Vec from, Vec to)
{
  Mat R;

  PetscFunctionBeginUser;
  if (study->refine == GF_REFINE_TIME) {
    PetscCall(VecCopy(from, to));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(GFStudyRestriction(fine, coarse, &R));
  PetscCall(MatMult(R, from, to));
  PetscCall(MatDestroy(&R));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Self-convergence at measured time r: restrict the finest density down the ladder for
  the errors e_l = |u_l - R u_finest|, and the next finer level's for the differences
  d_l = |u_l - R u_{l+1}|. Orders come from the differences, log2(d_{l-1} / d_l):
  with u_l - u = C 2^{-pl}, d_l = C 2^{-pl} (1 - 2^{-p}) exactly, while e_l ratios
  overestimate the order next to the finest level (by log2(1 + 2^-p) at l = L - 2).
  The finest level's own error is then d_{L-2} / (2^p - 1) (Richardson).
*/
static PetscErrorCode GFStudySelfConvergence(GFStudy study, PetscInt r)
{
  const PetscInt finest = study->levels - 1;
  Vec            ref, next;

  PetscFunctionBeginUser;
  PetscCall(VecDuplicate(study->level[finest].rho[r], &ref));
  PetscCall(VecCopy(study->level[finest].rho[r], ref));
  for (PetscInt l = finest - 1; l >= 0; l--) {
    GFStudyLevel *L = &study->level[l], *F = &study->level[l + 1];
    Vec           coarse;
    PetscCall(VecDuplicate(L->rho[r], &coarse));
    PetscCall(VecDuplicate(L->rho[r], &next));
    PetscCall(GFStudyRestrict(study, F->grid, L->grid, ref, coarse));
    PetscCall(GFStudyRestrict(study, F->grid, L->grid, F->rho[r], next));
    PetscCall(GFStudyErrors(L->grid, L->rho[r], coarse, L->error[r]));
    PetscCall(GFStudyErrors(L->grid, L->rho[r], next, L->difference[r]));
    PetscCall(VecDestroy(&next));
    PetscCall(VecDestroy(&ref));
    ref = coarse;
  }
  PetscCall(VecDestroy(&ref));
  for (PetscInt l = 1; l < finest; l++)
    for (PetscInt k = 0; k < E_COUNT; k++) study->level[l].order[r][k] = PetscLog2Real(study->level[l - 1].difference[r][k] / study->level[l].difference[r][k]);
  for (PetscInt k = 0; k < E_COUNT; k++) {
    const PetscReal p                  = study->level[finest - 1].order[r][k];
    study->richardson[r * E_COUNT + k] = study->level[finest - 1].difference[r][k] / (PetscPowReal(2, p) - 1);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Whether level l has an error (the finest level is the reference in self-convergence) and an observed order. */
static PetscBool GFStudyHasError(GFStudy study, PetscInt l)
{
  return (PetscBool)(study->exact || l < study->levels - 1);
}

static PetscBool GFStudyHasOrder(GFStudy study, PetscInt l)
{
  return (PetscBool)(l > 0 && (study->exact || l < study->levels - 1));
}

/* What the dt column means, for the table. */
static const char *GFStudyDtRuleText(GFStudy study)
{
  switch (study->dt_rule) {
  case GF_DT_CFL: return study->scheme[0] ? "the explicit CFL step of each level (SSP-RK3 in place of the model's implicit default, whose first-order time error would dominate)" : "the explicit CFL step of each level";
  case GF_DT_SCALED_H2: return "dt0 (h/h0)^2: the coarsest level's step scaled with the square of the grid size";
  default: return "dt0 / 2^level on a fixed grid";
  }
}

/* The table at measured time r, on stdout. */
static PetscErrorCode GFStudyPrintTable(GFStudy study, PetscInt r)
{
  const PetscInt nerr = study->dim == 1 ? E_COUNT : E_W1;

  PetscFunctionBeginUser;
  PetscCall(
      PetscPrintf(study->comm, "\nconvergence study at t = %.6g: %s refinement, errors against %s\n", (double)study->level[0].t[r], GFRefines[study->refine], study->exact ? "the exact solution" : "the finest level (orders from successive levels)"));
  PetscCall(PetscPrintf(study->comm, "time steps: %s\n", GFStudyDtRuleText(study)));
  PetscCall(PetscPrintf(study->comm, "%5s %10s %10s %10s", "level", "cells", "h", "dt"));
  for (PetscInt k = 0; k < nerr; k++) PetscCall(PetscPrintf(study->comm, k == E_MASS ? " %10s" : " %10s %6s", GFErrorNames[k], "order"));
  PetscCall(PetscPrintf(study->comm, " %9s\n", "seconds"));
  for (PetscInt l = 0; l < study->levels; l++) {
    const GFStudyLevel *L = &study->level[l];
    PetscCall(PetscPrintf(study->comm, "%5" PetscInt_FMT " %10" PetscInt_FMT " %10.4e %10.4e", l, L->cells, (double)L->h, (double)L->dt));
    for (PetscInt k = 0; k < nerr; k++) {
      if (GFStudyHasError(study, l))
        PetscCall(PetscPrintf(study->comm, " %10.4e", (double)L->error[r][k]));
      else
        PetscCall(PetscPrintf(study->comm, " %10s", "(ref)"));
      if (k == E_MASS) continue;
      if (GFStudyHasOrder(study, l))
        PetscCall(PetscPrintf(study->comm, " %6.3f", (double)L->order[r][k]));
      else
        PetscCall(PetscPrintf(study->comm, " %6s", "-"));
    }
    PetscCall(PetscPrintf(study->comm, " %9.2f\n", (double)L->seconds));
  }
  if (!study->exact) {
    PetscCall(PetscPrintf(study->comm, "Richardson estimate of the finest level's error:"));
    for (PetscInt k = 0; k < nerr; k++)
      if (k != E_MASS) PetscCall(PetscPrintf(study->comm, " %s %.3e", GFErrorNames[k], (double)study->richardson[r * E_COUNT + k]));
    PetscCall(PetscPrintf(study->comm, "\n"));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One CSV row per level at measured time r (blank where the finest level is the reference or there is no order). */
static void GFStudyWriteRows(GFStudy study, FILE *csv, PetscInt r, PetscBool with_time)
{
  for (PetscInt l = 0; l < study->levels; l++) {
    const GFStudyLevel *L   = &study->level[l];
    const PetscBool     err = GFStudyHasError(study, l), ord = GFStudyHasOrder(study, l);
    if (with_time) fprintf(csv, "%.17g,", (double)L->t[r]);
    fprintf(csv, "%d,%d,%.17g,%.17g", (int)l, (int)L->cells, (double)L->h, (double)L->dt);
    for (PetscInt k = E_L1; k <= E_LINF; k++) fprintf(csv, err ? ",%.17g" : ",", (double)L->error[r][k]);
    for (PetscInt k = E_L1; k <= E_LINF; k++) fprintf(csv, ord ? ",%.17g" : ",", (double)L->order[r][k]);
    fprintf(csv, ",%.6g", (double)L->seconds);
    if (study->dim == 1) {
      fprintf(csv, err ? ",%.17g,%.17g" : ",,", (double)L->error[r][E_W1], (double)L->error[r][E_W2]);
      fprintf(csv, ord ? ",%.17g,%.17g" : ",,", (double)L->order[r][E_W1], (double)L->order[r][E_W2]);
    }
    fprintf(csv, err ? ",%.17g" : ",", (double)L->error[r][E_MASS]);
    if (!with_time) fprintf(csv, ",%.17g", (double)L->t[r]);
    fprintf(csv, ",%s\n", GFStudyDtRules[study->dt_rule]);
  }
}

/* study.csv (the final time) and, with -study_every_output, study_times.csv (every measured time), from rank 0; then they replace an earlier study's. */
static PetscErrorCode GFStudyWriteCSV(GFStudy study)
{
  const char    *w    = study->dim == 1 ? ",error_w1,error_w2,order_w1,order_w2" : "";
  const PetscInt last = study->level[0].ntimes - 1;
  FILE          *csv;

  PetscFunctionBeginUser;
  PetscCall(GFRunDirectoryOpen(study->rundir, "study.csv", "w", &csv));
  if (csv) {
    fprintf(csv, "level,cells,h,dt,error_l1,error_l2,error_linf,order_l1,order_l2,order_linf,seconds%s,error_mass,time,dt_rule\n", w);
    GFStudyWriteRows(study, csv, last, PETSC_FALSE);
  }
  PetscCall(GFRunDirectoryClose(study->rundir, "study.csv", &csv));
  if (study->every_output) {
    PetscCall(GFRunDirectoryOpen(study->rundir, "study_times.csv", "w", &csv));
    if (csv) {
      fprintf(csv, "time,level,cells,h,dt,error_l1,error_l2,error_linf,order_l1,order_l2,order_linf,seconds%s,error_mass,dt_rule\n", w);
      for (PetscInt r = 0; r <= last; r++) GFStudyWriteRows(study, csv, r, PETSC_TRUE);
    }
    PetscCall(GFRunDirectoryClose(study->rundir, "study_times.csv", &csv));
  }
  PetscCall(GFRunDirectoryCommit(study->rundir));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFStudyFinish(GFStudy);

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

/* Orders (and Richardson estimates), the tables on stdout, study.csv. */
static PetscErrorCode GFStudyFinish(GFStudy study)
{
  PetscInt times;

  PetscFunctionBeginUser;
  PetscCall(GFStudyCheckTimes(study));
  times = study->level[0].ntimes;
  if (study->exact) {
    for (PetscInt r = 0; r < times; r++)
      for (PetscInt l = 1; l < study->levels; l++)
        for (PetscInt k = 0; k < E_COUNT; k++) study->level[l].order[r][k] = PetscLog2Real(study->level[l - 1].error[r][k] / study->level[l].error[r][k]);
  } else {
    PetscCall(PetscCalloc1(times * E_COUNT, &study->richardson));
    for (PetscInt r = 0; r < times; r++) PetscCall(GFStudySelfConvergence(study, r));
  }
  for (PetscInt r = 0; r < times; r++) PetscCall(GFStudyPrintTable(study, r));
  PetscCall(GFStudyWriteCSV(study));
  PetscCall(PetscPrintf(study->comm, "study: %s/study.csv%s\n", study->dir, study->every_output ? " and study_times.csv" : ""));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFStudyGetDirectory(GFStudy study, const char **dir)
{
  PetscFunctionBeginUser;
  *dir = study->dir;
  PetscFunctionReturn(PETSC_SUCCESS);
}
