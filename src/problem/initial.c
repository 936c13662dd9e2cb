/*
  Initial data (-init): gaussian (exact cell averages, per-axis mean and variance),
  uniform, file (a snapshot: restart from its time and step), exact (the model's
  exact solution at -init_time), gibbs (the model's steady state) and barenblatt
  (the exact solution of a model whose exact solution is the Barenblatt profile: the
  porous medium). All but file are scaled to -init_mass; a file keeps its own mass
  unless -init_mass is given. The model sees the data once, complete (a snapshot's
  time and mass included), before it is set up.
*/
#include "problem.h"

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
  PetscCall(GFOptionsChoice("-init", "Initial density", "GFProblemSetFromOptions", GFInitTypes, GF_INIT_BARENBLATT + 1, &type, &type_set));
  PetscCall(GFOptionsAxisReals("-init_mean", "Mean of the Gaussian (per axis)", dim, init->mean, NULL));
  PetscCall(GFOptionsAxisReals("-init_variance", "Variance of the Gaussian (per axis)", dim, init->variance, NULL));
  for (PetscInt a = 0; a < dim; a++) GFOptionsCheck(init->variance[a] > 0 && PetscIsNormalReal(init->variance[a]), comm, PETSC_ERR_USER_INPUT, "-init_variance %.6g on axis %c: a variance must be positive", (double)init->variance[a], (int)('x' + a));
  PetscCall(GFOptionsReal("-init_mass", "Total mass of the initial density", "GFProblemSetFromOptions", init->mass, &init->mass, mass_set, GF_REAL_ANY));
  GFOptionsCheck(init->mass > 0, comm, PETSC_ERR_USER_INPUT, "-init_mass %.6g: the mass must be positive", (double)init->mass);
  GFOptionsCheck(init->mass <= 1e100, comm, PETSC_ERR_USER_INPUT, "-init_mass %.6g: too large (at most 1e100; densities, energies and moments must stay finite)", (double)init->mass);
  PetscCall(GFOptionsReal("-init_time", "Start time (and time of the exact solution used as data)", "GFProblemSetFromOptions", init->time, &init->time, NULL, GF_REAL_ANY));
  PetscCall(GFOptionsString("-init_file", "Snapshot to start from (restart; implies -init file)", "GFProblemSetFromOptions", init->file, init->file, sizeof(init->file), &file_set));
  PetscCall(GFOptionsBool("-init_file_model_check", "Refuse a snapshot written by another model", "GFProblemSetFromOptions", *model_check, model_check, NULL));
  PetscOptionsEnd();
  if (file_set && !type_set) type = GF_INIT_FILE;
  PetscCheck(!file_set || type == GF_INIT_FILE, comm, PETSC_ERR_USER_INPUT, "-init_file %s is given, but -init is %s: use -init file to start from the snapshot, or drop -init_file", init->file, GFInitTypes[type]);
  PetscCheck(type != GF_INIT_FILE || init->file[0], comm, PETSC_ERR_USER_INPUT, "-init file needs -init_file PATH (a snapshot snap_NNNNN.h5)");
  init->type = (GFInitType)type;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Reject densities that are negative, not finite or of zero mass, naming where they came from. */
static PetscErrorCode GFInitialDataValidate(GFProblem p, Vec rho, PetscReal *mass)
{
  const char        *source = GFInitTypes[p->init.type], *file = p->init.type == GF_INIT_FILE ? p->init.file : "", *file_option = p->init.type == GF_INIT_FILE ? " -init_file " : "";
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
  PetscCall(MPIU_Allreduce(local, global, 2, MPIU_REAL, MPIU_SUM, p->comm));
  PetscCheck(global[0] == 0, p->comm, PETSC_ERR_USER_INPUT, "-init %s%s%s: the initial density has %.0f NaN or infinite values", source, file_option, file, (double)global[0]);
  PetscCall(VecMin(rho, NULL, &min));
  PetscCheck(global[1] == 0, p->comm, PETSC_ERR_USER_INPUT, "-init %s%s%s: the initial density has %.0f negative values (min %.6g); a density must be >= 0", source, file_option, file, (double)global[1], (double)min);
  PetscCall(GFGridIntegrate(p->grid, rho, mass));
  PetscCheck(*mass > 0 && PetscIsNormalReal(*mass), p->comm, PETSC_ERR_USER_INPUT, "-init %s%s%s: the initial density has zero mass on the box%s", source, file_option, file,
             p->init.type == GF_INIT_GAUSSIAN ? " (is -init_mean inside the domain?)" : "");
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* -init file: the snapshot checked against the run (its model) and loaded into rho0 with its multistep history; its time and step become the start. */
static PetscErrorCode GFProblemLoadSnapshot(GFProblem p)
{
  PetscFunctionBeginUser;
  PetscCall(GFSnapshotGetHeader(p->comm, p->init.file, "-init_file", &p->init_header));
  PetscCheck(!p->model_check || !p->init_header.model[0] || !strcmp(p->init_header.model, p->model->type), p->comm, PETSC_ERR_USER_INPUT,
             "-init_file %s was written by -model %s, this run is -model %s: add -init_file_model_check no to start from it anyway", p->init.file, p->init_header.model, p->model->type);
  for (PetscInt k = 0; k < p->init_header.history_length; k++) PetscCall(VecDuplicate(p->rho0, &p->history[k]));
  PetscCall(GFSnapshotLoad(p->grid, p->init.file, "-init_file", &p->init_header, p->rho0, p->history));
  p->init.time = p->init_header.time;
  p->step0     = (PetscInt)p->init_header.step;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The initial density rho0 at the start time: a snapshot is loaded before the model is set
  up (the model then sees its time and mass), the other data are computed after (the exact
  solution and the steady state are the model's); all checked (finite, >= 0, positive
  mass) and scaled to -init_mass, a snapshot only when -init_mass is given.
*/
PETSC_INTERN PetscErrorCode GFProblemComputeInitialDensity(GFProblem p)
{
  PetscReal mass;

  PetscFunctionBeginUser;
  PetscCall(DMCreateGlobalVector(p->grid->da, &p->rho0));
  PetscCall(PetscObjectSetName((PetscObject)p->rho0, "density"));
  if (p->init.type == GF_INIT_FILE) {
    PetscCall(GFProblemLoadSnapshot(p));
    PetscCall(GFInitialDataValidate(p, p->rho0, &mass));
    if (!p->init_mass_set) p->init.mass = mass;
  }
  PetscCall(GFModelSetInitialData(p->model, &p->init));
  PetscCall(GFModelSetUp(p->model, p->grid));
  switch (p->init.type) {
  case GF_INIT_GAUSSIAN: PetscCall(GFGridGaussianCellAverages(p->grid, p->init.mean, p->init.variance, p->rho0)); break;
  case GF_INIT_UNIFORM: PetscCall(VecSet(p->rho0, 1)); break;
  case GF_INIT_FILE: break;
  case GF_INIT_BARENBLATT: {
    const char *name;
    PetscCall(GFModelGetExactName(p->model, &name));
    PetscCheck(name && !strcmp(name, "barenblatt"), p->comm, PETSC_ERR_USER_INPUT, "-init barenblatt: the Barenblatt profile belongs to -model porous_medium, not %s", p->model->type);
  } /* fall through */
  case GF_INIT_EXACT: {
    PetscBool   has;
    const char *why;
    PetscCall(GFModelHasExact(p->model, &has, &why));
    PetscCheck(has, p->comm, PETSC_ERR_USER_INPUT, "-init %s: model %s with potential %s has no exact solution: %s", GFInitTypes[p->init.type], p->model->type, p->model->potential->type, why);
    PetscCall(GFModelComputeExact(p->model, p->init.time, p->rho0));
  } break;
  case GF_INIT_GIBBS: PetscCall(GFModelComputeSteadyState(p->model, p->rho0)); break;
  }
  PetscCall(GFInitialDataValidate(p, p->rho0, &mass));
  if (p->init.type != GF_INIT_FILE || p->init_mass_set) PetscCall(VecScale(p->rho0, p->init.mass / mass));
  PetscFunctionReturn(PETSC_SUCCESS);
}
