/*
  GFSolver: grid + model + transport + PETSc TS + output.

  Explicit steps (TSSSP, SSP-RK3 with 4 stages and SSP coefficient 2 by default)
  take dt = 2 cfl c / r, r the transport's outflow-rate bound and c the scheme's SSP
  coefficient: cfl <= 1/2 keeps every forward-Euler stage, hence the step, positive.
  Implicit steps (beuler, theta, cn, bdf) solve d_t rho = RHS(rho) by Newton with a
  Jacobian from finite differences coloured on the DMDA stencil.

  The solver drives TSStep itself: a step that leaves rho negative or not finite,
  or whose Newton solve fails, is undone and retried with half the step; steps end
  exactly on output times; after every step the diagnostics are computed, logged
  and checked.
*/
#include "../gradflow_impl.h"
#include <unistd.h>

PETSC_INTERN PetscErrorCode GFInitialDataSetFromOptions(MPI_Comm, PetscInt, GFInitialData *, PetscBool *);

PetscErrorCode GFSolverCreate(MPI_Comm comm, GFSolver *solver)
{
  GFSolver s;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&s));
  s->comm            = comm;
  s->cfl             = 0.45;
  s->max_time        = 1;
  s->max_steps       = PETSC_MAX_INT;
  s->max_retries     = 12;
  s->output          = PETSC_TRUE;
  s->progress        = PETSC_TRUE;
  s->output_interval = 0.1;
  s->progress_mark   = 0.1;
  s->reconstruction  = GF_RECONSTRUCTION_MINMOD;
  PetscCall(GFGridCreate(comm, &s->grid));
  PetscCall(GFModelCreate(comm, &s->model));
  PetscCall(TSCreate(comm, &s->ts));
  *solver = s;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The problem's name: the default output directory is output/NAME. */
PetscErrorCode GFSolverSetProblemName(GFSolver s, const char name[])
{
  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(s->problem, name, sizeof(s->problem)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* RHS(t, U) = -div F(U): the whole equation for explicit steppers. */
static PetscErrorCode GFSolverRHSFunction(TS ts, PetscReal t, Vec U, Vec F, void *ctx)
{
  GFSolver s = (GFSolver)ctx;

  PetscFunctionBeginUser;
  (void)ts;
  PetscCall(DMGlobalToLocal(s->grid->da, U, INSERT_VALUES, s->rho_local));
  if (!s->drift_ready) {
    PetscCall(GFModelComputeDrift(s->model, t, s->rho_local, s->drift_local));
    s->drift_ready = s->model->drift_static;
  }
  PetscCall(GFTransportComputeRHS(s->transport, s->rho_local, s->drift_local, F));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* G(t, U, U_t) = U_t - RHS(t, U): the residual of implicit steppers. */
static PetscErrorCode GFSolverIFunction(TS ts, PetscReal t, Vec U, Vec Udot, Vec G, void *ctx)
{
  PetscFunctionBeginUser;
  PetscCall(GFSolverRHSFunction(ts, t, U, G, ctx));
  PetscCall(VecAYPX(G, -1, Udot));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Classify -ts_type and find its SSP coefficient (1 for explicit schemes that are not SSP). */
static PetscErrorCode GFSolverClassifyTS(GFSolver s)
{
  const char *explicit_types[] = {TSSSP, TSEULER, TSRK}, *implicit_types[] = {TSBEULER, TSTHETA, TSCN, TSBDF};
  TSType      type;
  PetscBool   match = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCall(TSGetType(s->ts, &type));
  s->ssp_coefficient = 1;
  for (size_t i = 0; i < sizeof(explicit_types) / sizeof(explicit_types[0]) && !match; i++) PetscCall(PetscStrcmp(type, explicit_types[i], &match));
  if (match) {
    PetscBool ssp;
    s->implicit = PETSC_FALSE;
    PetscCall(PetscStrcmp(type, TSSSP, &ssp));
    if (ssp) {
      TSSSPType ssp_type;
      PetscInt  stages;
      PetscBool rks2, rks3;
      PetscCall(TSSSPGetType(s->ts, &ssp_type));
      PetscCall(TSSSPGetNumStages(s->ts, &stages));
      PetscCall(PetscStrcmp(ssp_type, TSSSPRKS2, &rks2));
      PetscCall(PetscStrcmp(ssp_type, TSSSPRKS3, &rks3));
      if (rks2)
        s->ssp_coefficient = stages - 1;
      else if (rks3)
        s->ssp_coefficient = stages - PetscSqrtReal((PetscReal)stages);
      else
        s->ssp_coefficient = 6; /* rk104 */
    }
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  for (size_t i = 0; i < sizeof(implicit_types) / sizeof(implicit_types[0]) && !match; i++) PetscCall(PetscStrcmp(type, implicit_types[i], &match));
  PetscCheck(match, s->comm, PETSC_ERR_USER_INPUT, "-ts_type %s is not supported; valid are ssp, euler, rk (explicit) and beuler, theta, cn, bdf (implicit)", type);
  s->implicit = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Every option of a run: grid, model, initial data, time stepping, output. */
PetscErrorCode GFSolverSetFromOptions(GFSolver s)
{
  PetscBool set;
  char      reconstruction[GF_NAME_LEN] = "minmod";

  PetscFunctionBeginUser;
  PetscCall(GFGridSetFromOptions(s->grid));
  PetscCall(GFModelSetFromOptions(s->model));
  PetscCall(GFInitialDataSetFromOptions(s->comm, s->grid->dim, &s->init, &s->init_mass_set));
  if (!s->problem[0]) PetscCall(PetscStrncpy(s->problem, s->model->type, sizeof(s->problem)));
  PetscOptionsBegin(s->comm, NULL, "Time stepping and output", "GFSolver");
  PetscCall(PetscOptionsReal("-cfl", "Courant number: dt = cfl h / max|u| (positivity needs <= 0.5)", "GFSolverSetFromOptions", s->cfl, &s->cfl, NULL));
  PetscCheck(s->cfl > 0 && s->cfl <= 1, s->comm, PETSC_ERR_USER_INPUT, "-cfl %g: the Courant number must be in (0, 1]", (double)s->cfl);
  PetscCall(PetscOptionsString("-fv_reconstruction", "Face reconstruction of the upwind fluxes: minmod (second order) or constant (first order)", "GFTransportSetReconstruction", reconstruction, reconstruction, sizeof(reconstruction), NULL));
  {
    PetscBool minmod, constant;
    PetscCall(PetscStrcmp(reconstruction, "minmod", &minmod));
    PetscCall(PetscStrcmp(reconstruction, "constant", &constant));
    PetscCheck(minmod || constant, s->comm, PETSC_ERR_USER_INPUT, "-fv_reconstruction %s: valid are minmod, constant", reconstruction);
    s->reconstruction = constant ? GF_RECONSTRUCTION_CONSTANT : GF_RECONSTRUCTION_MINMOD;
  }
  PetscCall(PetscOptionsBool("-exact", "Report the error against the exact solution", "GFSolverSetFromOptions", s->exact_requested, &s->exact_requested, NULL));
  PetscCall(PetscOptionsBool("-output", "Write snapshots, run.xdmf and diagnostics.csv", "GFSolverSetFromOptions", s->output, &s->output, NULL));
  PetscCall(PetscSNPrintf(s->output_dir, sizeof(s->output_dir), "output/%s", s->problem));
  PetscCall(PetscOptionsString("-output_dir", "Run directory", "GFSolverSetFromOptions", s->output_dir, s->output_dir, sizeof(s->output_dir), NULL));
  PetscCall(PetscOptionsReal("-output_interval", "Model time between snapshots (0: first and last only)", "GFSolverSetFromOptions", s->output_interval, &s->output_interval, NULL));
  PetscCheck(s->output_interval >= 0 && (PetscIsNormalReal(s->output_interval) || s->output_interval == 0), s->comm, PETSC_ERR_USER_INPUT, "-output_interval %g must be >= 0", (double)s->output_interval);
  PetscCall(PetscOptionsBool("-output_overwrite", "Replace the run in an existing output directory", "GFSolverSetFromOptions", s->overwrite, &s->overwrite, NULL));
  PetscCall(PetscOptionsBool("-progress", "Print a progress line on rank 0", "GFSolverSetFromOptions", s->progress, &s->progress, NULL));
  PetscCall(PetscOptionsInt("-max_step_retries", "Halvings of a rejected step before giving up", "GFSolverSetFromOptions", s->max_retries, &s->max_retries, NULL));
  PetscOptionsEnd();

  PetscCall(TSSetType(s->ts, TSSSP));
  PetscCall(TSSSPSetType(s->ts, TSSSPRKS3));
  PetscCall(TSSSPSetNumStages(s->ts, 4));
  PetscCall(TSSetMaxTime(s->ts, 1.0));
  {
    SNES snes;
    /* Newton to 1e-12: with a coloured finite-difference Jacobian the residual, hence the mass, is exact only to the tolerance */
    PetscCall(TSGetSNES(s->ts, &snes));
    PetscCall(SNESSetTolerances(snes, PETSC_DEFAULT, 1e-12, PETSC_DEFAULT, PETSC_DEFAULT, PETSC_DEFAULT));
  }
  PetscCall(TSSetFromOptions(s->ts));
  PetscCall(PetscOptionsHasName(NULL, NULL, "-ts_dt", &set));
  if (set) PetscCall(TSGetTimeStep(s->ts, &s->fixed_dt));
  PetscCheck(!set || s->fixed_dt > 0, s->comm, PETSC_ERR_USER_INPUT, "-ts_dt %g must be positive", (double)s->fixed_dt);
  PetscCall(TSGetMaxTime(s->ts, &s->max_time));
  PetscCall(TSGetMaxSteps(s->ts, &s->max_steps));
  PetscCall(GFSolverClassifyTS(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Build the grid, the model, the data, the TS and the run directory. */
PetscErrorCode GFSolverSetUp(GFSolver s)
{
  PetscInt    dof;
  PetscBool   has_exact;
  const char *why;

  PetscFunctionBeginUser;
  if (s->set_up) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(GFGridSetUp(s->grid));
  PetscCall(GFModelSetInitialData(s->model, &s->init));
  PetscCall(GFModelSetUp(s->model, s->grid));
  PetscCall(GFModelHasExact(s->model, &has_exact, &why));
  PetscCheck(!s->exact_requested || has_exact, s->comm, PETSC_ERR_USER_INPUT, "-exact: model %s with potential %s has no exact solution: %s", s->model->type, s->model->potential->type, why);

  PetscCall(GFTransportCreate(s->grid, &s->transport));
  PetscCall(GFTransportSetFluxType(s->transport, s->model->flux, s->model->sigma));
  PetscCall(GFTransportSetReconstruction(s->transport, s->reconstruction));

  PetscCall(DMCreateGlobalVector(s->grid->da, &s->rho));
  PetscCall(PetscObjectSetName((PetscObject)s->rho, "density"));
  PetscCall(DMCreateLocalVector(s->grid->da, &s->rho_local));
  PetscCall(VecDuplicate(s->rho, &s->rho_prev));
  PetscCall(GFModelGetFlux(s->model, NULL, NULL, &dof));
  if (dof == 1)
    PetscCall(VecDuplicate(s->rho_local, &s->drift_local));
  else {
    DM vda;
    PetscCall(DMDACreateCompatibleDMDA(s->grid->da, dof, &vda));
    PetscCall(DMCreateLocalVector(vda, &s->drift_local));
    PetscCall(DMDestroy(&vda));
  }
  if (s->exact_requested) PetscCall(VecDuplicate(s->rho, &s->exact));

  PetscCall(TSSetDM(s->ts, s->grid->da));
  PetscCall(TSSetExactFinalTime(s->ts, TS_EXACTFINALTIME_STEPOVER));
  PetscCall(TSSetErrorIfStepFails(s->ts, PETSC_FALSE));
  if (s->implicit) {
    Mat J;
    PetscCall(TSSetIFunction(s->ts, NULL, GFSolverIFunction, s));
    PetscCall(DMCreateMatrix(s->grid->da, &J));
    PetscCall(TSSetIJacobian(s->ts, J, J, TSComputeIJacobianDefaultColor, NULL));
    PetscCall(MatDestroy(&J));
  } else {
    PetscCall(TSSetRHSFunction(s->ts, NULL, GFSolverRHSFunction, s));
  }
  {
    TSAdapt adapt;
    PetscCall(TSGetAdapt(s->ts, &adapt));
    PetscCall(TSAdaptSetType(adapt, TSADAPTNONE));
  }
  PetscCall(GFSolverSetInitialData(s));
  PetscCall(TSSetSolution(s->ts, s->rho));
  PetscCall(TSSetUp(s->ts));
  if (s->output) {
    PetscCall(GFWriterCreate(s->grid, s->output_dir, s->model->type, s->overwrite, &s->writer));
    PetscCall(GFWriterWriteDiagnosticsHeader(s->writer, s->exact_requested));
  }
  s->is_tty = (PetscBool)isatty(fileno(stdout));
  s->set_up = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The step to try from time t: CFL or fixed, cut to land on the next output time and the end. */
static PetscErrorCode GFSolverChooseTimeStep(GFSolver s, PetscReal t, PetscReal t_stop, PetscReal *dt)
{
  PetscFunctionBeginUser;
  if (s->fixed_dt > 0)
    *dt = s->fixed_dt;
  else if (s->implicit)
    *dt = (s->max_time - s->init.time) / 100;
  else {
    PetscReal rate, diffusivity;
    PetscCall(DMGlobalToLocal(s->grid->da, s->rho, INSERT_VALUES, s->rho_local));
    if (!s->drift_ready) {
      PetscCall(GFModelComputeDrift(s->model, t, s->rho_local, s->drift_local));
      s->drift_ready = s->model->drift_static;
    }
    PetscCall(GFModelGetMaxDiffusivity(s->model, s->rho, &diffusivity));
    PetscCall(GFTransportComputeMaxRate(s->transport, s->rho_local, s->drift_local, diffusivity, &rate));
    *dt = rate > 0 ? 2 * s->cfl * s->ssp_coefficient / rate : t_stop - t;
  }
  if (t + *dt > t_stop - 1e-12 * PetscMax(1, PetscAbsReal(t_stop))) *dt = t_stop - t;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* rho is acceptable when finite and >= 0 everywhere. */
static PetscErrorCode GFSolverIsAdmissible(GFSolver s, Vec rho, PetscBool *ok)
{
  const PetscScalar *r;
  PetscInt           n;
  PetscReal          bad = 0, any;

  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(rho, &n));
  PetscCall(VecGetArrayRead(rho, &r));
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal x = PetscRealPart(r[i]);
    if (!(x >= 0) || PetscIsInfReal(x)) bad = 1;
  }
  PetscCall(VecRestoreArrayRead(rho, &r));
  PetscCall(MPIU_Allreduce(&bad, &any, 1, MPIU_REAL, MPIU_MAX, s->comm));
  *ok = (PetscBool)(any == 0);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One accepted step from t to t + dt (or less after rejections); on failure keep the last good state and stop. */
static PetscErrorCode GFSolverStep(GFSolver s, PetscReal t, PetscReal dt, PetscInt step)
{
  PetscBool ok = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCall(VecCopy(s->rho, s->rho_prev));
  for (PetscInt attempt = 0; attempt <= s->max_retries; attempt++) {
    TSConvergedReason reason;

    PetscCall(TSSetTime(s->ts, t));
    PetscCall(TSSetStepNumber(s->ts, step));
    PetscCall(TSSetTimeStep(s->ts, dt));
    PetscCall(TSStep(s->ts));
    PetscCall(TSGetConvergedReason(s->ts, &reason));
    if (reason >= 0) PetscCall(GFSolverIsAdmissible(s, s->rho, &ok));
    if (ok) break;
    s->rejected++;
    PetscCall(VecCopy(s->rho_prev, s->rho));
    PetscCall(TSSetConvergedReason(s->ts, TS_CONVERGED_ITERATING));
    dt *= 0.5;
  }
  if (!ok) {
    const char *dir = "";
    PetscCall(TSSetTime(s->ts, t));
    if (s->writer) {
      s->diag.dt = 0;
      PetscCall(GFWriterWriteSnapshot(s->writer, s->snapshot_index, s->rho, &s->diag));
      PetscCall(GFWriterGetDirectory(s->writer, &dir, NULL));
    }
    SETERRQ(s->comm, PETSC_ERR_NOT_CONVERGED, "step %" PetscInt_FMT " at t = %g failed %" PetscInt_FMT " times (%s) down to dt = %g; the last good state at t = %g is %s%s/snap_%05d.h5", step, (double)t, s->max_retries + 1,
            s->implicit ? "Newton did not converge or rho became negative" : "rho became negative or not finite", (double)dt, (double)t, s->writer ? "saved as " : "not saved (-output 0)", s->writer ? dir : "", (int)s->snapshot_index);
  }
  s->diag.dt = dt;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Output time number k: k * interval. */
static PetscReal GFSolverOutputTime(GFSolver s, PetscInt k)
{
  return s->output_interval > 0 ? k * s->output_interval : PETSC_MAX_REAL;
}

/* Run from the start time to -ts_max_time (or -ts_max_steps), writing snapshots and diagnostics. */
PetscErrorCode GFSolverSolve(GFSolver s)
{
  PetscReal t, t_end;
  PetscInt  step, next_output = 0;

  PetscFunctionBeginUser;
  PetscCall(GFSolverSetUp(s));
  PetscCall(TSGetTime(s->ts, &t));
  PetscCall(TSGetStepNumber(s->ts, &step));
  t_end = s->max_time;
  PetscCall(PetscTime(&s->wall_start));
  s->last_progress = s->wall_start;
  if (s->output_interval > 0) {
    const PetscReal tol = 1e-9 * s->output_interval;
    next_output         = (PetscInt)PetscFloorReal((t + tol) / s->output_interval);
    s->snapshot_index   = PetscMax(next_output, 0);
    next_output++;
  }
  s->diag.dt   = 0;
  s->diag.step = step;
  PetscCall(GFSolverComputeDiagnostics(s, s->rho, &s->diag));
  s->diag.mass_initial = s->diag.mass;
  s->diag.mass_drift   = 0;
  s->lowest_density    = s->diag.min_density;
  PetscCall(GFSolverMonitorStep(s, PETSC_TRUE));
  if (s->writer) PetscCall(GFWriterWriteSnapshot(s->writer, s->snapshot_index++, s->rho, &s->diag));

  while (t < t_end - 1e-12 * PetscMax(1, PetscAbsReal(t_end)) && step < s->max_steps) {
    const PetscReal t_out  = GFSolverOutputTime(s, next_output);
    const PetscReal t_stop = PetscMin(t_out, t_end);
    PetscReal       dt = 0, energy_before = s->diag.energy;
    PetscBool       at_output;

    PetscCall(GFSolverChooseTimeStep(s, t, t_stop, &dt));
    PetscCall(GFSolverStep(s, t, dt, step));
    PetscCall(TSGetTime(s->ts, &t));
    if (PetscAbsReal(t - t_stop) <= 1e-12 * PetscMax(1, PetscAbsReal(t_stop))) t = t_stop;
    PetscCall(TSSetTime(s->ts, t));
    step++;
    s->steps_taken++;
    at_output = (PetscBool)(t == t_out);
    PetscCall(GFSolverComputeDiagnostics(s, s->rho, &s->diag));
    s->diag.step = step;
    {
      const PetscReal rise = (s->diag.energy - energy_before) / PetscMax(1, PetscAbsReal(energy_before));
      if (rise > 1e-12) s->energy_rises++;
      s->max_energy_rise = PetscMax(s->max_energy_rise, rise);
    }
    PetscCall(GFSolverMonitorStep(s, PETSC_FALSE));
    if (at_output) next_output++;
    if (s->writer && (at_output || t >= t_end - 1e-12 * PetscMax(1, PetscAbsReal(t_end)) || step >= s->max_steps)) PetscCall(GFWriterWriteSnapshot(s->writer, s->snapshot_index++, s->rho, &s->diag));
  }
  PetscCall(GFSolverPrintSummary(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFSolverGetGrid(GFSolver s, GFGrid *grid)
{
  PetscFunctionBeginUser;
  *grid = s->grid;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFSolverGetModel(GFSolver s, GFModel *model)
{
  PetscFunctionBeginUser;
  *model = s->model;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFSolverGetTS(GFSolver s, TS *ts)
{
  PetscFunctionBeginUser;
  *ts = s->ts;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFSolverGetSolution(GFSolver s, Vec *rho)
{
  PetscFunctionBeginUser;
  *rho = s->rho;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFSolverGetDiagnostics(GFSolver s, GFDiagnostics *d)
{
  PetscFunctionBeginUser;
  *d = s->diag;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFSolverGetStatistics(GFSolver s, GFRunStatistics *stats)
{
  PetscFunctionBeginUser;
  stats->steps            = s->steps_taken;
  stats->rejected         = s->rejected;
  stats->worst_mass_drift = s->worst_mass_drift;
  stats->lowest_density   = s->lowest_density;
  stats->energy_rises     = s->energy_rises;
  stats->max_energy_rise  = s->max_energy_rise;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFSolverDestroy(GFSolver *solver)
{
  GFSolver s = *solver;

  PetscFunctionBeginUser;
  if (!s) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(GFWriterDestroy(&s->writer));
  PetscCall(TSDestroy(&s->ts));
  PetscCall(VecDestroy(&s->rho));
  PetscCall(VecDestroy(&s->rho_local));
  PetscCall(VecDestroy(&s->drift_local));
  PetscCall(VecDestroy(&s->rho_prev));
  PetscCall(VecDestroy(&s->exact));
  PetscCall(GFTransportDestroy(&s->transport));
  PetscCall(GFModelDestroy(&s->model));
  PetscCall(GFGridDestroy(&s->grid));
  PetscCall(PetscFree(s));
  *solver = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}
