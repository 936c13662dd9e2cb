/*
  Initial data (-init): gaussian (exact cell averages, per-axis mean and variance),
  uniform, file (a snapshot: restart from its time and step), exact (the model's
  exact solution at -init_time), gibbs (the model's steady state) and barenblatt
  (the porous medium's exact solution). All but file are scaled to -init_mass;
  a file keeps its own mass unless -init_mass is given.
*/
#include "../gradflow_impl.h"

const char *const GFInitTypes[] = {"gaussian", "uniform", "file", "exact", "gibbs", "barenblatt", "GFInitType", "GF_INIT_", NULL};

/* -init and its parameters. */
PETSC_INTERN PetscErrorCode GFInitialDataSetFromOptions(MPI_Comm comm, PetscInt dim, GFInitialData *init, PetscBool *mass_set)
{
  char      type[GF_NAME_LEN] = "gaussian";
  PetscBool found             = PETSC_FALSE;

  PetscFunctionBeginUser;
  init->mass = 1;
  for (PetscInt a = 0; a < GRADFLOW_MAX_DIM; a++) {
    init->mean[a]     = 0;
    init->variance[a] = 1;
  }
  PetscOptionsBegin(comm, NULL, "Initial data", "GFSolver");
  PetscCall(PetscOptionsString("-init", "Initial density: gaussian, uniform, file, exact, gibbs, barenblatt", "GFSolverSetFromOptions", type, type, sizeof(type), NULL));
  for (int t = 0; t <= GF_INIT_BARENBLATT && !found; t++) {
    PetscCall(PetscStrcmp(type, GFInitTypes[t], &found));
    if (found) init->type = (GFInitType)t;
  }
  PetscCheck(found, comm, PETSC_ERR_USER_INPUT, "-init %s: unknown initial data; valid are gaussian, uniform, file, exact, gibbs, barenblatt", type);
  PetscCall(GFOptionsAxisReals("-init_mean", "Mean of the Gaussian (per axis)", dim, init->mean, NULL));
  PetscCall(GFOptionsAxisReals("-init_variance", "Variance of the Gaussian (per axis)", dim, init->variance, NULL));
  for (PetscInt a = 0; a < dim; a++) PetscCheck(init->variance[a] > 0 && PetscIsNormalReal(init->variance[a]), comm, PETSC_ERR_USER_INPUT, "-init_variance %.6g on axis %c: a variance must be positive", (double)init->variance[a], (int)('x' + a));
  PetscCall(PetscOptionsReal("-init_mass", "Total mass of the initial density", "GFSolverSetFromOptions", init->mass, &init->mass, mass_set));
  PetscCheck(init->mass > 0 && PetscIsNormalReal(init->mass), comm, PETSC_ERR_USER_INPUT, "-init_mass %.6g: the mass must be positive", (double)init->mass);
  PetscCall(PetscOptionsReal("-init_time", "Start time (and time of the exact solution used as data)", "GFSolverSetFromOptions", init->time, &init->time, NULL));
  PetscCheck(PetscIsNormalReal(init->time) || init->time == 0, comm, PETSC_ERR_USER_INPUT, "-init_time %.6g is not a finite number", (double)init->time);
  PetscCall(PetscOptionsString("-init_file", "Snapshot to start from (-init file): restart", "GFSolverSetFromOptions", init->file, init->file, sizeof(init->file), NULL));
  PetscCheck(init->type != GF_INIT_FILE || init->file[0], comm, PETSC_ERR_USER_INPUT, "-init file needs -init_file PATH (a snapshot snap_NNNNN.h5)");
  PetscOptionsEnd();
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Reject densities that are negative, not finite or of zero mass, naming where they came from. */
static PetscErrorCode GFInitialDataValidate(GFSolver s, Vec rho, PetscReal *mass)
{
  const char        *source = GFInitTypes[s->init.type];
  const PetscScalar *r;
  PetscInt           n;
  PetscReal          local[2] = {0, 0}, global[2], min;

  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(rho, &n));
  PetscCall(VecGetArrayRead(rho, &r));
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal x = PetscRealPart(r[i]);
    if (PetscIsInfOrNanReal(x))
      local[0] += 1;
    else if (x < 0)
      local[1] += 1;
  }
  PetscCall(VecRestoreArrayRead(rho, &r));
  PetscCall(MPIU_Allreduce(local, global, 2, MPIU_REAL, MPIU_SUM, s->comm));
  PetscCheck(global[0] == 0, s->comm, PETSC_ERR_USER_INPUT, "-init %s%s%s: the initial density has %.0f NaN or infinite values", source, s->init.type == GF_INIT_FILE ? " -init_file " : "", s->init.type == GF_INIT_FILE ? s->init.file : "",
             (double)global[0]);
  PetscCall(VecMin(rho, NULL, &min));
  PetscCheck(global[1] == 0, s->comm, PETSC_ERR_USER_INPUT, "-init %s%s%s: the initial density has %.0f negative values (min %.6g); a density must be >= 0", source, s->init.type == GF_INIT_FILE ? " -init_file " : "",
             s->init.type == GF_INIT_FILE ? s->init.file : "", (double)global[1], (double)min);
  PetscCall(GFGridIntegrate(s->grid, rho, mass));
  PetscCheck(*mass > 0 && PetscIsNormalReal(*mass), s->comm, PETSC_ERR_USER_INPUT, "-init %s%s%s: the initial density has zero mass on the box%s", source, s->init.type == GF_INIT_FILE ? " -init_file " : "",
             s->init.type == GF_INIT_FILE ? s->init.file : "", s->init.type == GF_INIT_GAUSSIAN ? " (is -init_mean inside the domain?)" : "");
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Fill s->rho and the start time and step. */
PETSC_INTERN PetscErrorCode GFSolverSetInitialData(GFSolver s)
{
  PetscReal mass;
  PetscInt  step    = 0;
  PetscBool rescale = PETSC_TRUE;

  PetscFunctionBeginUser;
  switch (s->init.type) {
  case GF_INIT_GAUSSIAN: PetscCall(GFGridGaussianCellAverages(s->grid, s->init.mean, s->init.variance, s->rho)); break;
  case GF_INIT_UNIFORM: PetscCall(VecSet(s->rho, 1)); break;
  case GF_INIT_FILE:
    PetscCall(GFSnapshotRead(s->grid, s->init.file, s->rho, &s->init.time, &step));
    rescale = s->init_mass_set;
    break;
  case GF_INIT_BARENBLATT: PetscCheck(!strcmp(s->model->type, "porous_medium"), s->comm, PETSC_ERR_USER_INPUT, "-init barenblatt: the Barenblatt profile belongs to -model porous_medium, not %s", s->model->type);
  /* fall through */
  case GF_INIT_EXACT: {
    PetscBool   has;
    const char *why;
    PetscCall(GFModelHasExact(s->model, &has, &why));
    PetscCheck(has, s->comm, PETSC_ERR_USER_INPUT, "-init %s: model %s with potential %s has no exact solution: %s", GFInitTypes[s->init.type], s->model->type, s->model->potential->type, why);
    PetscCall(GFModelComputeExact(s->model, s->init.time, s->rho));
  } break;
  case GF_INIT_GIBBS: PetscCall(GFModelComputeSteadyState(s->model, s->rho)); break;
  }
  PetscCall(GFInitialDataValidate(s, s->rho, &mass));
  if (rescale)
    PetscCall(VecScale(s->rho, s->init.mass / mass));
  else
    s->init.mass = mass;
  PetscCall(GFModelSetInitialData(s->model, &s->init));
  PetscCall(TSSetTime(s->ts, s->init.time));
  PetscCall(TSSetStepNumber(s->ts, step));
  PetscFunctionReturn(PETSC_SUCCESS);
}
