/*
  Initial data (-init): gaussian (exact cell averages, per-axis mean and variance),
  uniform, file (a snapshot: restart from its time and step), exact (the model's
  exact solution at -init_time), gibbs (the model's steady state) and barenblatt
  (the porous medium's exact solution). All but file are scaled to -init_mass;
  a file keeps its own mass unless -init_mass is given.
*/
#include "../gradflow_impl.h"

const char *const GFInitTypes[] = {"gaussian", "uniform", "file", "exact", "gibbs", "barenblatt", "GFInitType", "GF_INIT_", NULL};

/* -init and its parameters; -init_file alone means -init file. */
PETSC_INTERN PetscErrorCode GFInitialDataSetFromOptions(MPI_Comm comm, PetscInt dim, GFInitialData *init, PetscBool *mass_set, PetscBool *model_check)
{
  PetscInt  type = GF_INIT_GAUSSIAN;
  PetscBool type_set, file_set;

  PetscFunctionBeginUser;
  init->mass = 1;
  for (PetscInt a = 0; a < GRADFLOW_MAX_DIM; a++) {
    init->mean[a]     = 0;
    init->variance[a] = 1;
  }
  PetscOptionsBegin(comm, NULL, "Initial data", "GFSolver");
  PetscCall(GFOptionsChoice("-init", "Initial density", "GFSolverSetFromOptions", GFInitTypes, GF_INIT_BARENBLATT + 1, &type, &type_set));
  PetscCall(GFOptionsAxisReals("-init_mean", "Mean of the Gaussian (per axis)", dim, init->mean, NULL));
  PetscCall(GFOptionsAxisReals("-init_variance", "Variance of the Gaussian (per axis)", dim, init->variance, NULL));
  for (PetscInt a = 0; a < dim; a++) GFOptionsCheck(init->variance[a] > 0 && PetscIsNormalReal(init->variance[a]), comm, PETSC_ERR_USER_INPUT, "-init_variance %.6g on axis %c: a variance must be positive", (double)init->variance[a], (int)('x' + a));
  PetscCall(GFOptionsReal("-init_mass", "Total mass of the initial density", "GFSolverSetFromOptions", init->mass, &init->mass, mass_set, GF_REAL_ANY));
  GFOptionsCheck(init->mass > 0, comm, PETSC_ERR_USER_INPUT, "-init_mass %.6g: the mass must be positive", (double)init->mass);
  GFOptionsCheck(init->mass <= 1e100, comm, PETSC_ERR_USER_INPUT, "-init_mass %.6g: too large (at most 1e100; densities, energies and moments must stay finite)", (double)init->mass);
  PetscCall(GFOptionsReal("-init_time", "Start time (and time of the exact solution used as data)", "GFSolverSetFromOptions", init->time, &init->time, NULL, GF_REAL_ANY));
  PetscCall(GFOptionsString("-init_file", "Snapshot to start from (restart; implies -init file)", "GFSolverSetFromOptions", init->file, init->file, sizeof(init->file), &file_set));
  PetscCall(GFOptionsBool("-init_file_model_check", "Refuse a snapshot written by another model", "GFSolverSetFromOptions", *model_check, model_check, NULL));
  PetscOptionsEnd();
  if (file_set && !type_set) type = GF_INIT_FILE;
  PetscCheck(!file_set || type == GF_INIT_FILE, comm, PETSC_ERR_USER_INPUT, "-init_file %s is given, but -init is %s: use -init file to start from the snapshot, or drop -init_file", init->file, GFInitTypes[type]);
  PetscCheck(type != GF_INIT_FILE || init->file[0], comm, PETSC_ERR_USER_INPUT, "-init file needs -init_file PATH (a snapshot snap_NNNNN.h5)");
  init->type = (GFInitType)type;
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
    PetscCall(GFSnapshotGetHeader(s->comm, s->init.file, "-init_file", &s->init_header));
    PetscCheck(!s->model_check || !s->init_header.model[0] || !strcmp(s->init_header.model, s->model->type), s->comm, PETSC_ERR_USER_INPUT,
               "-init_file %s was written by -model %s, this run is -model %s: add -init_file_model_check no to start from it anyway", s->init.file, s->init_header.model, s->model->type);
    for (PetscInt k = 0; k < s->init_header.history_length; k++) PetscCall(VecDuplicate(s->rho, &s->history[k]));
    PetscCall(GFSnapshotLoad(s->grid, s->init.file, "-init_file", &s->init_header, s->rho, s->history));
    s->init.time = s->init_header.time;
    step         = (PetscInt)s->init_header.step;
    rescale      = s->init_mass_set;
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
