/*
  GFProblem: the grid, the model, the initial data, the time span and the name of a problem,
  set from options once and shared by every solver of it: the finite-volume solver, the
  particle systems, the studies (one problem a level). Set up, it holds the initial density.
*/
#include "problem.h"

PetscErrorCode GFProblemCreate(MPI_Comm comm, GFProblem *problem)
{
  GFProblem p;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&p));
  p->comm        = comm;
  p->refct       = 1;
  p->t_end       = 1;
  p->model_check = PETSC_TRUE;
  PetscCall(GFGridCreate(comm, &p->grid));
  PetscCall(GFModelCreate(comm, &p->model));
  *problem = p;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The problem's name: the default output directory is output/NAME (default: the model's type). */
PetscErrorCode GFProblemSetName(GFProblem p, const char name[])
{
  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(p->name, name, sizeof(p->name)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFProblemGetName(GFProblem p, const char **name)
{
  PetscFunctionBeginUser;
  *name = p->name;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The grid (its DMDA set up), the model, the initial data and -ts_max_time. */
PetscErrorCode GFProblemSetFromOptions(GFProblem p)
{
  PetscFunctionBeginUser;
  PetscCall(GFGridSetFromOptions(p->grid));
  PetscCall(GFGridSetUp(p->grid));
  PetscCall(GFModelSetFromOptions(p->model, p->grid));
  PetscCall(GFInitialDataSetFromOptions(p->comm, p->grid->dim, &p->init, &p->init_mass_set, &p->model_check));
  /* PETSc's TS reads -ts_max_time as well; here strictly: it would take nan or inf */
  PetscCall(GFOptionsCheckReal(p->comm, "-ts_max_time", GF_REAL_ANY));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-ts_max_time", &p->t_end, NULL));
  if (!p->name[0]) PetscCall(PetscStrncpy(p->name, p->model->type, sizeof(p->name)));
  p->from_options = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The model set up and the initial density computed (a snapshot read). */
PetscErrorCode GFProblemSetUp(GFProblem p)
{
  PetscFunctionBeginUser;
  if (p->set_up) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(GFProblemComputeInitialDensity(p));
  p->set_up = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFProblemGetGrid(GFProblem p, GFGrid *grid)
{
  PetscFunctionBeginUser;
  *grid = p->grid;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFProblemGetModel(GFProblem p, GFModel *model)
{
  PetscFunctionBeginUser;
  *model = p->model;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFProblemGetInitialData(GFProblem p, const GFInitialData **init)
{
  PetscFunctionBeginUser;
  *init = &p->init;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Start (a snapshot's time once set up) and end of the run. */
PetscErrorCode GFProblemGetTimeSpan(GFProblem p, PetscReal *t0, PetscReal *t_end)
{
  PetscFunctionBeginUser;
  if (t0) *t0 = p->init.time;
  if (t_end) *t_end = p->t_end;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The initial density (the problem's own vector: copy it) and its step number; the problem must be set up. */
PetscErrorCode GFProblemGetInitialDensity(GFProblem p, Vec *rho0, PetscInt *step0)
{
  PetscFunctionBeginUser;
  PetscCheck(p->set_up, p->comm, PETSC_ERR_ORDER, "GFProblemGetInitialDensity: set the problem up first");
  PetscCheck(!rho0 || p->rho0, p->comm, PETSC_ERR_ORDER, "GFProblemGetInitialDensity: the problem's only holder took the initial density (GFProblemTakeInitialDensity); take a reference to the problem before that to keep it");
  if (rho0) *rho0 = p->rho0;
  if (step0) *step0 = p->step0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  A vector holding the initial density for the caller to own and change: the problem's own
  vector when the caller is its only holder (no copy; the problem no longer has it), else a
  copy.
*/
PetscErrorCode GFProblemTakeInitialDensity(GFProblem p, Vec *rho)
{
  PetscFunctionBeginUser;
  PetscCheck(p->set_up, p->comm, PETSC_ERR_ORDER, "GFProblemTakeInitialDensity: set the problem up first");
  PetscCheck(p->rho0, p->comm, PETSC_ERR_ORDER, "GFProblemTakeInitialDensity: the initial density was taken already");
  if (p->refct == 1) {
    *rho    = p->rho0;
    p->rho0 = NULL;
  } else {
    PetscCall(VecDuplicate(p->rho0, rho));
    PetscCall(VecCopy(p->rho0, *rho));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Whether the model is stiff enough that its default time scheme is implicit. */
PetscErrorCode GFProblemIsImplicit(GFProblem p, PetscBool *implicit)
{
  PetscFunctionBeginUser;
  *implicit = p->model->implicit_default;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Whether the problem has an exact solution (the model's, for these data), and why not. */
PetscErrorCode GFProblemHasExact(GFProblem p, PetscBool *has, const char **why_not)
{
  PetscFunctionBeginUser;
  PetscCall(GFModelHasExact(p->model, has, why_not));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Take a reference: the problem lives until every holder has called GFProblemDestroy. */
PetscErrorCode GFProblemReference(GFProblem p)
{
  PetscFunctionBeginUser;
  p->refct++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFProblemDestroy(GFProblem *problem)
{
  GFProblem p = *problem;

  PetscFunctionBeginUser;
  if (!p) PetscFunctionReturn(PETSC_SUCCESS);
  *problem = NULL;
  if (--p->refct > 0) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(VecDestroy(&p->rho0));
  for (PetscInt k = 0; k < GF_MAX_HISTORY; k++) PetscCall(VecDestroy(&p->history[k]));
  PetscCall(GFModelDestroy(&p->model));
  PetscCall(GFGridDestroy(&p->grid));
  PetscCall(PetscFree(p));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* What a run writes unless told otherwise: snapshots every 0.1 (at most 10000), progress and summary. */
PETSC_INTERN PetscErrorCode GFOutputOptionsDefault(GFOutputOptions *o)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(o, sizeof(*o)));
  o->output   = PETSC_TRUE;
  o->progress = PETSC_TRUE;
  o->summary  = PETSC_TRUE;
  o->interval = 0.1;
  o->max      = 10000;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* -output, -output_dir (default output/NAME), -output_interval, -output_max, -output_overwrite, -progress, -summary. */
PETSC_INTERN PetscErrorCode GFOutputOptionsSetFromOptions(MPI_Comm comm, const char name[], GFOutputOptions *o)
{
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(o->dir, sizeof(o->dir), "output/%s", name));
  PetscOptionsBegin(comm, NULL, "Output", "GFOutputOptions");
  PetscCall(GFOptionsBool("-output", "Write snapshots, run.xdmf and diagnostics.csv (particles: particle files)", "GFOutputOptionsSetFromOptions", o->output, &o->output, NULL));
  PetscCall(GFOptionsString("-output_dir", "Run directory", "GFOutputOptionsSetFromOptions", o->dir, o->dir, sizeof(o->dir), NULL));
  PetscCall(GFOptionsReal("-output_interval", "Model time between snapshots (0: first and last only)", "GFOutputOptionsSetFromOptions", o->interval, &o->interval, NULL, GF_REAL_ANY));
  GFOptionsCheck(o->interval >= 0, comm, PETSC_ERR_USER_INPUT, "-output_interval %.6g must be >= 0", (double)o->interval);
  PetscCall(GFOptionsInt("-output_max", "Most snapshots a run may write (a smaller -output_interval is refused)", "GFOutputOptionsSetFromOptions", o->max, &o->max, NULL, 2, PETSC_MAX_INT));
  PetscCall(GFOptionsBool("-output_overwrite", "Replace the run in an existing output directory (once the new run has taken its first good step)", "GFOutputOptionsSetFromOptions", o->overwrite, &o->overwrite, NULL));
  PetscCall(GFOptionsBool("-progress", "Print a progress line on rank 0", "GFOutputOptionsSetFromOptions", o->progress, &o->progress, NULL));
  PetscCall(GFOptionsBool("-summary", "Print the closing summary", "GFOutputOptionsSetFromOptions", o->summary, &o->summary, NULL));
  PetscOptionsEnd();
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  What the time span asks, refused before any work: an end after the start, a fixed step dt
  (0: none) that makes fewer than 1e9 steps (unless -ts_max_steps stops sooner: max_steps)
  and advances t in floating point, at most -output_max snapshots.
*/
PETSC_INTERN PetscErrorCode GFProblemCheckTimeSpan(GFProblem p, PetscReal dt, PetscInt max_steps, const GFOutputOptions *o)
{
  const PetscReal t0 = p->init.time, span = p->t_end - t0;
  const char     *of = p->init.type == GF_INIT_FILE ? " of -init_file " : " (-init_time)", *file = p->init.type == GF_INIT_FILE ? p->init.file : "";

  PetscFunctionBeginUser;
  PetscCheck(span > 0, p->comm, PETSC_ERR_USER_INPUT, "-ts_max_time %.6g is not after the start time %.6g%s%s: nothing to run", (double)p->t_end, (double)t0, of, file);
  if (dt > 0) {
    PetscCheck(span / dt <= 1e9 || max_steps <= 1e9, p->comm, PETSC_ERR_USER_INPUT, "-ts_dt %.6g: the run from t = %.6g to %.6g would take %.3g steps (at most 1e9)", (double)dt, (double)t0, (double)p->t_end, (double)(span / dt));
    PetscCheck(dt > 1e-14 * PetscMax(PetscAbsReal(t0), PetscAbsReal(p->t_end)), p->comm, PETSC_ERR_USER_INPUT, "-ts_dt %.6g is below the round-off of the time t = %.6g: steps would not advance it", (double)dt,
               (double)PetscMax(PetscAbsReal(t0), PetscAbsReal(p->t_end)));
  }
  if (o && o->output && o->interval > 0) {
    const PetscReal snapshots = span / o->interval + 2;
    PetscCheck(snapshots <= o->max, p->comm, PETSC_ERR_USER_INPUT, "-output_interval %.6g would write %.3g snapshots from t = %.6g%s%s to %.6g, more than -output_max %" PetscInt_FMT ": choose a larger interval, or raise -output_max",
               (double)o->interval, (double)snapshots, (double)t0, p->init.type == GF_INIT_FILE ? " of -init_file " : "", file, (double)p->t_end, o->max);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
