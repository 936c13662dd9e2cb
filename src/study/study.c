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
static const char *const GFRefines[] = {"space", "time", "both"};

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
  MPI_Comm     comm;
  PetscInt     levels, coarsest, dim;
  GFRefine     refine;
  PetscReal    dt0;                           /* time refinement: the coarsest step */
  PetscBool    every_output, overwrite, self; /* self: -study_reference self */
  char         problem[GF_NAME_LEN], dir[PETSC_MAX_PATH_LEN];
  char        *options; /* the user's options, replayed for every level */
  GFStudyLevel level[GF_STUDY_MAX_LEVELS];
  PetscBool    exact;      /* errors against the exact solution (else self-convergence) */
  PetscReal   *richardson; /* self-convergence: estimated error of the finest level, per time and norm */
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
  PetscCall(PetscFree(*study));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFStudySetProblemName(GFStudy study, const char name[])
{
  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(study->problem, name, sizeof(study->problem)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Bytes a level of n cells per axis needs, from what a run allocates per cell: 24
  vectors of 8 bytes (density, ghosts, stages, drift, diagnostics), and the densities
  kept for self-convergence (each measured time, all levels: under twice the finest);
  implicit runs add the Jacobian (1 + 4d nonzeros a row at 12 bytes, a third more for
  the multigrid hierarchy) and Krylov vectors; interactions add the FFT's padded arrays
  (2^d cells a cell, 8 of them). At 1024^2 cells this gives 201, 425 and 457 MB where
  the measured maximum resident sizes are 210 (explicit Fokker-Planck), 381 (implicit
  porous medium) and 483 MB (McKean-Vlasov), some 50 MB of which is MPI and PETSc.
*/
static PetscReal GFStudyBytes(PetscInt dim, PetscInt n, PetscBool implicit, PetscBool nonlocal, PetscInt times)
{
  PetscReal cells = PetscPowReal((PetscReal)n, (PetscReal)dim), per_cell = (24 + 2.0 * times) * 8;

  if (implicit) per_cell += (1 + 4 * dim) * 12 * 4.0 / 3 + 10 * 8;
  if (nonlocal) per_cell += 8 * (1 << dim) * 8;
  return cells * per_cell;
}

/* Measured times: the final one, or every output time up to the final one. */
static PetscInt GFStudyMeasuredTimes(GFStudy study)
{
  PetscReal interval = 0.1, t_end = 1; /* the solver's defaults */

  if (!study->every_output) return 1;
  PetscCallAbort(study->comm, PetscOptionsGetReal(NULL, NULL, "-output_interval", &interval, NULL));
  PetscCallAbort(study->comm, PetscOptionsGetReal(NULL, NULL, "-ts_max_time", &t_end, NULL));
  return interval > 0 ? (PetscInt)PetscCeilReal(t_end / interval) + 1 : 1;
}

/* Memory this rank may use: MemAvailable of its node shared by the node's ranks. */
static PetscErrorCode GFStudyAvailableBytes(MPI_Comm comm, PetscReal *bytes)
{
  MPI_Comm    node;
  PetscMPIInt node_size;
  FILE       *f = fopen("/proc/meminfo", "r");
  char        line[256];
  PetscReal   kb = 0;

  PetscFunctionBeginUser;
  while (f && fgets(line, sizeof(line), f)) {
    double value;
    if (sscanf(line, "MemAvailable: %lf kB", &value) == 1) kb = value;
  }
  if (f) fclose(f);
  if (kb == 0) kb = (PetscReal)sysconf(_SC_PHYS_PAGES) * (PetscReal)sysconf(_SC_PAGE_SIZE) / 1024;
  PetscCallMPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  PetscCallMPI(MPI_Comm_size(node, &node_size));
  PetscCallMPI(MPI_Comm_free(&node));
  *bytes = kb * 1024 / node_size;
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, bytes, 1, MPIU_REAL, MPIU_MIN, comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscBool GFStudyIsOwnFile(const char name[])
{
  return (PetscBool)(!strcmp(name, "study.csv") || !strcmp(name, "study_times.csv") || !strcmp(name, "study.png"));
}

/* -study_levels, -study_coarsest, -study_refine, -study_dt, checked before anything runs. */
PetscErrorCode GFStudySetFromOptions(GFStudy study)
{
  PetscInt    refine = GF_REFINE_SPACE, da_grid = 0;
  PetscMPIInt size;
  char        model[GF_NAME_LEN] = "fokker_planck", ts_type[GF_NAME_LEN] = "", interaction[GF_NAME_LEN] = "none";
  PetscBool   set, implicit, help;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-dim", &study->dim, &set));
  if (!set) study->dim = 1;
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-da_grid_x", &da_grid, NULL));
  PetscOptionsBegin(study->comm, NULL, "Convergence study", "GFStudy");
  PetscCall(PetscOptionsInt("-study_levels", "Levels of the ladder (>= 2)", "GFStudySetFromOptions", study->levels, &study->levels, NULL));
  PetscCall(PetscOptionsInt("-study_coarsest", "Cells per axis of the coarsest level (space refinement)", "GFStudySetFromOptions", study->coarsest, &study->coarsest, NULL));
  PetscCall(GFOptionsChoice(PetscOptionsObject, "-study_refine", "Refine space (n, 2n, ...), time (dt, dt/2, ... on -da_grid_x cells) or both", "GFStudySetFromOptions", GFRefines, 3, &refine));
  study->refine = (GFRefine)refine;
  PetscCall(PetscOptionsReal("-study_dt", "Time refinement: the coarsest level's step (default -ts_dt)", "GFStudySetFromOptions", study->dt0, &study->dt0, NULL));
  {
    const char *const refs[] = {"exact", "self"};
    PetscInt          ref    = study->self;
    PetscCall(GFOptionsChoice(PetscOptionsObject, "-study_reference", "Measure against the exact solution (when the problem has one) or the finest level", "GFStudySetFromOptions", refs, 2, &ref));
    study->self = (PetscBool)(ref == 1);
  }
  PetscCall(PetscOptionsBool("-study_every_output", "Measure at every -output_interval time, not only the final one", "GFStudySetFromOptions", study->every_output, &study->every_output, NULL));
  PetscCall(PetscOptionsString("-output_dir", "Directory of study.csv and study.png (default output/study_NAME)", "GFStudySetFromOptions", study->dir, study->dir, sizeof(study->dir), NULL));
  PetscCall(PetscOptionsBool("-output_overwrite", "Replace an existing study directory", "GFStudySetFromOptions", study->overwrite, &study->overwrite, NULL));
  PetscOptionsEnd();
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) PetscFunctionReturn(PETSC_SUCCESS); /* -help lists the options; nothing is checked or created */
  PetscCheck(study->levels >= 2, study->comm, PETSC_ERR_USER_INPUT, "-study_levels %" PetscInt_FMT ": a study needs at least 2 levels to observe an order", study->levels);
  PetscCheck(study->levels <= GF_STUDY_MAX_LEVELS, study->comm, PETSC_ERR_USER_INPUT, "-study_levels %" PetscInt_FMT ": at most %d levels", study->levels, GF_STUDY_MAX_LEVELS);
  if (study->refine != GF_REFINE_TIME)
    PetscCheck(study->coarsest >= 4, study->comm, PETSC_ERR_USER_INPUT, "-study_coarsest %" PetscInt_FMT ": a grid of %" PetscInt_FMT " cells per axis is too small for the stencil (width 2 on each side of a cell): need at least 4", study->coarsest,
               study->coarsest);
  if (study->refine != GF_REFINE_SPACE) {
    if (study->dt0 == 0) PetscCall(PetscOptionsGetReal(NULL, NULL, "-ts_dt", &study->dt0, NULL));
    PetscCheck(study->dt0 > 0, study->comm, PETSC_ERR_USER_INPUT, "-study_refine %s needs the coarsest step: -study_dt or -ts_dt", GFRefines[study->refine]);
  }
  if (!study->dir[0]) {
    const char *name = study->problem[0] ? study->problem : "run";
    PetscCall(PetscSNPrintf(study->dir, sizeof(study->dir), strncmp(name, "study_", 6) ? "output/study_%s" : "output/%s", name));
  }

  /* refuse a ladder whose finest level cannot fit, before anything runs */
  PetscCall(PetscOptionsGetString(NULL, NULL, "-model", model, sizeof(model), NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-ts_type", ts_type, sizeof(ts_type), NULL));
  PetscCall(PetscOptionsGetString(NULL, NULL, "-interaction", interaction, sizeof(interaction), NULL));
  implicit = (PetscBool)((ts_type[0] && strcmp(ts_type, "rk") && strcmp(ts_type, "ssp") && strcmp(ts_type, "euler")) || (!ts_type[0] && !strcmp(model, "porous_medium")));
  {
    const PetscInt  finest   = study->refine == GF_REFINE_TIME ? (da_grid ? da_grid : 128) : study->coarsest << (study->levels - 1);
    const PetscBool nonlocal = (PetscBool)(strcmp(interaction, "none") || !strcmp(model, "svgd"));
    PetscReal       need, available;
    PetscCallMPI(MPI_Comm_size(study->comm, &size));
    need = GFStudyBytes(study->dim, finest, implicit, nonlocal, GFStudyMeasuredTimes(study)) / size;
    PetscCall(GFStudyAvailableBytes(study->comm, &available));
    PetscCheck(need <= 0.8 * available, study->comm, PETSC_ERR_USER_INPUT,
               "the finest level, %" PetscInt_FMT "^%" PetscInt_FMT " cells, needs about %.3g GB on each of the %d ranks, which have about %.3g GB each free: use fewer levels (-study_levels), a coarser start (-study_coarsest) or more ranks", finest,
               study->dim, need / 1e9, size, available / 1e9);
  }
  PetscCall(PetscOptionsGetAll(NULL, &study->options));
  PetscCall(GFPrepareDirectory(study->comm, study->dir, study->overwrite, GFStudyIsOwnFile, NULL));
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
  char            extra[512] = "";
  PetscLogDouble  seconds    = 0;
  PetscErrorCode  ierr;
  PetscInt        cells[3];
  PetscReal       lower[3], upper[3], t0 = 0;

  PetscFunctionBeginUser;
  if (study->refine != GF_REFINE_TIME) {
    const PetscInt n = study->coarsest << l;
    PetscCall(PetscSNPrintf(extra, sizeof(extra), " -da_grid_x %" PetscInt_FMT " -da_grid_y %" PetscInt_FMT " -da_grid_z %" PetscInt_FMT, n, n, n));
  }
  if (study->refine != GF_REFINE_SPACE) {
    const size_t len = strlen(extra);
    PetscCall(PetscSNPrintf(extra + len, sizeof(extra) - len, " -ts_dt %.17g -dt_adapt 0", (double)(study->dt0 / (1 << l))));
  }
  /* the study's defaults, then the user's options, then what a level must have */
  PetscCall(PetscOptionsCreate(&db));
  PetscCall(PetscOptionsInsertString(db, "-progress 0"));
  PetscCall(PetscOptionsInsertString(db, study->options));
  PetscCall(PetscOptionsInsertString(db, extra));
  PetscCall(PetscOptionsInsertString(db, "-output 0 -summary 0 -exact 0"));
  if (!study->every_output) PetscCall(PetscOptionsInsertString(db, "-output_interval 0"));
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

/* The table at measured time r, on stdout. */
static PetscErrorCode GFStudyPrintTable(GFStudy study, PetscInt r)
{
  const PetscInt nerr = study->dim == 1 ? E_COUNT : E_W1;

  PetscFunctionBeginUser;
  PetscCall(
      PetscPrintf(study->comm, "\nconvergence study at t = %.6g: %s refinement, errors against %s\n", (double)study->level[0].t[r], GFRefines[study->refine], study->exact ? "the exact solution" : "the finest level (orders from successive levels)"));
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
    fprintf(csv, "\n");
  }
}

/* study.csv (the final time) and, with -study_every_output, study_times.csv (every measured time), from rank 0. */
static PetscErrorCode GFStudyWriteCSV(GFStudy study)
{
  const char *w = study->dim == 1 ? ",error_w1,error_w2,order_w1,order_w2" : "";
  PetscMPIInt rank;
  int         failed = 0;
  char        path[PETSC_MAX_PATH_LEN + 32];

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(study->comm, &rank));
  if (rank == 0) {
    const PetscInt last = study->level[0].ntimes - 1;
    FILE          *csv;
    PetscCall(PetscSNPrintf(path, sizeof(path), "%s/study.csv", study->dir));
    if ((csv = fopen(path, "w"))) {
      fprintf(csv, "level,cells,h,dt,error_l1,error_l2,error_linf,order_l1,order_l2,order_linf,seconds%s,error_mass,time\n", w);
      GFStudyWriteRows(study, csv, last, PETSC_FALSE);
      failed = fclose(csv) != 0;
    } else
      failed = 1;
    if (!failed && study->every_output) {
      PetscCall(PetscSNPrintf(path, sizeof(path), "%s/study_times.csv", study->dir));
      if ((csv = fopen(path, "w"))) {
        fprintf(csv, "time,level,cells,h,dt,error_l1,error_l2,error_linf,order_l1,order_l2,order_linf,seconds%s,error_mass\n", w);
        for (PetscInt r = 0; r <= last; r++) GFStudyWriteRows(study, csv, r, PETSC_TRUE);
        failed = fclose(csv) != 0;
      } else
        failed = 1;
    }
  }
  PetscCallMPI(MPI_Bcast(&failed, 1, MPI_INT, 0, study->comm));
  PetscCheck(!failed, study->comm, PETSC_ERR_FILE_WRITE, "cannot write the study's CSV files in %s", study->dir);
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
    if (study->refine != GF_REFINE_SPACE) {
      const size_t len = strlen(what);
      PetscCall(PetscSNPrintf(what + len, sizeof(what) - len, "%sdt %.6g", len ? ", " : "", (double)(study->dt0 / (1 << l))));
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
