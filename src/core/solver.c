/*
  GFSolver: grid + model + transport + PETSc TS + output.

  Explicit steps (TSRK ssprk43: SSP-RK3 with 4 stages and SSP coefficient 2, by default)
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

PETSC_INTERN PetscErrorCode GFInitialDataSetFromOptions(MPI_Comm, PetscInt, GFInitialData *, PetscBool *, PetscBool *);
static PetscErrorCode       GFSolverChooseTimeStep(GFSolver, PetscReal, PetscReal, PetscReal *);

/*
  SSP Runge-Kutta schemes in Butcher form for TSRK: u_{n+1} = u_n + dt sum_j b_j k_j only
  ever adds multiples of conservative right-hand sides, so the mass is exact to
  round-off. PETSc's TSSSP evaluates the same schemes in Shu-Osher form, whose
  convex weights (2/3 + 1/3 rounds to 1 - 5.6e-17) shrink the mass a little every step.
    ssprk43: SSPRK(4,3), SSP coefficient 2 (Kraaijevanger; Ketcheson 2008)
    ssprk33: SSPRK(3,3) of Shu and Osher, SSP coefficient 1
*/
PETSC_INTERN PetscErrorCode GFRegisterSSPSchemes(void)
{
  const PetscReal A43[16] = {0, 0, 0, 0, 0.5, 0, 0, 0, 0.5, 0.5, 0, 0, 1.0 / 6, 1.0 / 6, 1.0 / 6, 0};
  const PetscReal b43[4] = {1.0 / 6, 1.0 / 6, 1.0 / 6, 0.5}, c43[4] = {0, 0.5, 1, 0.5};
  const PetscReal A33[9] = {0, 0, 0, 1, 0, 0, 0.25, 0.25, 0};
  const PetscReal b33[3] = {1.0 / 6, 1.0 / 6, 2.0 / 3}, c33[3] = {0, 1, 0.5};

  PetscFunctionBeginUser;
  PetscCall(TSRKRegister("ssprk43", 3, 4, A43, b43, c43, NULL, 0, NULL));
  PetscCall(TSRKRegister("ssprk33", 3, 3, A33, b33, c33, NULL, 0, NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

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
  s->summary         = PETSC_TRUE;
  s->blowup_fraction = 0.25;
  s->blowup_time     = -1;
  s->output_interval = 0.1;
  s->output_max      = 10000;
  s->model_check     = PETSC_TRUE;
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

/*
  The model's drift (all of it, or its local part) for the density U, ghosted in
  rho_local, at time t; a part the model declares static is computed once. Each part
  has its own transport operator, so each keeps its cached face coefficients.
*/
static PetscErrorCode GFSolverUpdateDrift(GFSolver s, PetscReal t, Vec U, GFDriftPart part)
{
  PetscBool *ready = part == GF_DRIFT_ALL ? &s->drift_ready : &s->local_drift_ready;

  PetscFunctionBeginUser;
  if (*ready) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(GFModelComputeDrift(s->model, t, U, s->rho_local, part == GF_DRIFT_ALL ? s->drift_local : s->local_drift_local, part));
  PetscCall(GFTransportDriftChanged(part == GF_DRIFT_ALL ? s->transport : s->local_transport));
  *ready = part == GF_DRIFT_ALL ? s->model->drift_static : s->model->local_drift_static;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* F = -div flux of the drift part of U into F. */
static PetscErrorCode GFSolverTransport(GFSolver s, PetscReal t, Vec U, GFDriftPart part, Vec F)
{
  PetscFunctionBeginUser;
  PetscCall(DMGlobalToLocal(s->grid->da, U, INSERT_VALUES, s->rho_local));
  PetscCall(GFSolverUpdateDrift(s, t, U, part));
  if (part == GF_DRIFT_ALL)
    PetscCall(GFTransportComputeRHS(s->transport, s->rho_local, s->drift_local, F));
  else
    PetscCall(GFTransportComputeRHS(s->local_transport, s->rho_local, s->local_drift_local, F));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The explicit right-hand side: the whole equation, or (IMEX) what the local part leaves out, RHS_all - RHS_local. */
static PetscErrorCode GFSolverRHSFunction(TS ts, PetscReal t, Vec U, Vec F, void *ctx)
{
  GFSolver s = (GFSolver)ctx;

  PetscFunctionBeginUser;
  (void)ts;
  PetscCall(GFSolverTransport(s, t, U, GF_DRIFT_ALL, F));
  if (s->imex) {
    PetscCall(GFSolverTransport(s, t, U, GF_DRIFT_LOCAL, s->work));
    PetscCall(VecAXPY(F, -1, s->work));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* G(t, U, U_t) = U_t - RHS(t, U): the implicit residual, of the whole equation or (IMEX) of its local part. */
static PetscErrorCode GFSolverIFunction(TS ts, PetscReal t, Vec U, Vec Udot, Vec G, void *ctx)
{
  GFSolver s = (GFSolver)ctx;

  PetscFunctionBeginUser;
  (void)ts;
  PetscCall(GFSolverTransport(s, t, U, s->imex ? GF_DRIFT_LOCAL : GF_DRIFT_ALL, G));
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
    PetscBool ssp, rk;
    s->implicit = PETSC_FALSE;
    PetscCall(PetscStrcmp(type, TSSSP, &ssp));
    PetscCall(PetscStrcmp(type, TSRK, &rk));
    if (rk) {
      TSRKType  rk_type;
      PetscBool ssp43;
      PetscCall(TSRKGetType(s->ts, &rk_type));
      PetscCall(PetscStrcmp(rk_type, "ssprk43", &ssp43));
      s->ssp_coefficient = ssp43 ? 2 : 1;
    }
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
  PetscCall(PetscStrcmp(type, TSBEULER, &s->beuler));
  PetscCall(PetscStrcmp(type, TSARKIMEX, &s->imex));
  if (s->imex) {
    s->implicit = PETSC_TRUE;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCheck(match, s->comm, PETSC_ERR_USER_INPUT, "-ts_type %s is not supported; valid are rk (default, with -ts_rk_type ssprk43), ssp, euler (explicit), beuler, theta, cn, bdf (implicit) and arkimex (implicit local part, explicit nonlocal part)",
             type);
  s->implicit = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Every option of a run: grid, model, initial data, time stepping, output. */
PetscErrorCode GFSolverSetFromOptions(GFSolver s)
{
  PetscBool set;
  PetscInt  reconstruction = s->reconstruction;

  PetscFunctionBeginUser;
  PetscCall(GFGridSetFromOptions(s->grid));
  /* the DMDA before anything asks the TS for its DM or SNES: a default shell DM there
     leaves a copy-on-write DMTS/DMSNES pointing at a freed DM, whose address may be
     reused on some ranks only, and the ranks then create different objects */
  PetscCall(GFGridSetUp(s->grid));
  PetscCall(TSSetDM(s->ts, s->grid->da));
  PetscCall(GFModelSetFromOptions(s->model, s->grid));
  PetscCall(GFInitialDataSetFromOptions(s->comm, s->grid->dim, &s->init, &s->init_mass_set, &s->model_check));
  if (!s->problem[0]) PetscCall(PetscStrncpy(s->problem, s->model->type, sizeof(s->problem)));
  PetscOptionsBegin(s->comm, NULL, "Time stepping and output", "GFSolver");
  PetscCall(GFOptionsReal("-cfl", "Courant number: dt = cfl h / max|u| (positivity needs <= 0.5)", "GFSolverSetFromOptions", s->cfl, &s->cfl, NULL, GF_REAL_ANY));
  GFOptionsCheck(s->cfl > 0 && s->cfl <= 1, s->comm, PETSC_ERR_USER_INPUT, "-cfl %.6g: the Courant number must be in (0, 1]", (double)s->cfl);
  PetscCall(GFOptionsChoice("-fv_reconstruction", "Face reconstruction of the upwind fluxes (minmod: second order, constant: first order)", "GFTransportSetReconstruction", GFReconstructions, 2, &reconstruction, NULL));
  s->reconstruction = (GFReconstruction)reconstruction;
  PetscCall(GFOptionsBool("-exact", "Report the error against the exact solution", "GFSolverSetFromOptions", s->exact_requested, &s->exact_requested, NULL));
  PetscCall(GFOptionsBool("-output", "Write snapshots, run.xdmf and diagnostics.csv", "GFSolverSetFromOptions", s->output, &s->output, NULL));
  PetscCall(PetscSNPrintf(s->output_dir, sizeof(s->output_dir), "output/%s", s->problem));
  PetscCall(GFOptionsString("-output_dir", "Run directory", "GFSolverSetFromOptions", s->output_dir, s->output_dir, sizeof(s->output_dir), NULL));
  PetscCall(GFOptionsReal("-output_interval", "Model time between snapshots (0: first and last only)", "GFSolverSetFromOptions", s->output_interval, &s->output_interval, NULL, GF_REAL_ANY));
  GFOptionsCheck(s->output_interval >= 0, s->comm, PETSC_ERR_USER_INPUT, "-output_interval %.6g must be >= 0", (double)s->output_interval);
  PetscCall(GFOptionsInt("-output_max", "Most snapshots a run may write (a smaller -output_interval is refused)", "GFSolverSetFromOptions", s->output_max, &s->output_max, NULL, 2, PETSC_MAX_INT));
  PetscCall(GFOptionsBool("-output_overwrite", "Replace the run in an existing output directory (once the new run has taken its first step)", "GFSolverSetFromOptions", s->overwrite, &s->overwrite, NULL));
  PetscCall(GFOptionsBool("-progress", "Print a progress line on rank 0", "GFSolverSetFromOptions", s->progress, &s->progress, NULL));
  PetscCall(GFOptionsBool("-summary", "Print the closing summary", "GFSolverSetFromOptions", s->summary, &s->summary, NULL));
  PetscCall(GFOptionsInt("-max_step_retries", "Halvings of a rejected step before giving up", "GFSolverSetFromOptions", s->max_retries, &s->max_retries, NULL, 0, 60));
  PetscCall(GFOptionsReal("-blowup_fraction", "Stop when one cell holds this fraction of the mass (interacting models: concentration below the grid scale)", "GFSolverSetFromOptions", s->blowup_fraction, &s->blowup_fraction, NULL, GF_REAL_ANY));
  GFOptionsCheck(s->blowup_fraction > 0 && s->blowup_fraction <= 1, s->comm, PETSC_ERR_USER_INPUT, "-blowup_fraction %.6g must be in (0, 1]", (double)s->blowup_fraction);
  PetscCall(GFOptionsBool("-jacobian_fd", "Implicit steps: Jacobian by coloured finite differences instead of the assembled one", "GFSolverSetFromOptions", s->jacobian_fd, &s->jacobian_fd, NULL));
  PetscOptionsEnd();
  /* PETSc's own time options, strictly: it would take -ts_max_time nan or -ts_max_steps 4294967360 */
  PetscCall(GFOptionsCheckReal(s->comm, "-ts_dt", GF_REAL_POSITIVE));
  PetscCall(GFOptionsCheckReal(s->comm, "-ts_max_time", GF_REAL_ANY));
  PetscCall(GFOptionsCheckInt(s->comm, "-ts_max_steps", 1, PETSC_MAX_INT));

  if (s->model->implicit_default)
    PetscCall(TSSetType(s->ts, TSBEULER));
  else {
    PetscCall(TSSetType(s->ts, TSRK));
    PetscCall(TSRKSetType(s->ts, "ssprk43"));
  }
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
  PetscCall(TSGetMaxTime(s->ts, &s->max_time));
  PetscCall(TSGetMaxSteps(s->ts, &s->max_steps));
  PetscCall(GFSolverClassifyTS(s));
  s->dt_adapt = (PetscBool)(s->implicit && !set);
  PetscOptionsBegin(s->comm, NULL, "Implicit time steps", "GFSolver");
  PetscCall(GFOptionsBool("-dt_adapt", "Implicit: adapt dt to Newton's iteration count (default when -ts_dt is not given)", "GFSolverSetFromOptions", s->dt_adapt, &s->dt_adapt, NULL));
  PetscCall(GFOptionsReal("-dt_max", "Implicit: largest adapted step (default a tenth of the run)", "GFSolverSetFromOptions", s->dt_max, &s->dt_max, &s->dt_max_set, GF_REAL_POSITIVE));
  PetscOptionsEnd();
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The implicit Jacobian shift I - d RHS/d rho, assembled by the transport operator from the model's d xi/d rho. */
static PetscErrorCode GFSolverIJacobian(TS ts, PetscReal t, Vec U, Vec Udot, PetscReal shift, Mat A, Mat P, void *ctx)
{
  GFSolver  s = (GFSolver)ctx;
  PetscBool has;

  PetscFunctionBeginUser;
  (void)ts;
  (void)Udot;
  PetscCall(DMGlobalToLocal(s->grid->da, U, INSERT_VALUES, s->rho_local));
  PetscCall(GFSolverUpdateDrift(s, t, U, s->imex ? GF_DRIFT_LOCAL : GF_DRIFT_ALL));
  PetscCall(GFModelComputeDriftDerivative(s->model, s->rho_local, s->dxi_local, &has));
  if (s->imex)
    PetscCall(GFTransportComputeJacobian(s->local_transport, s->rho_local, s->local_drift_local, s->dxi_local, shift, P));
  else
    PetscCall(GFTransportComputeJacobian(s->transport, s->rho_local, s->drift_local, s->dxi_local, shift, P));
  if (A != P) {
    PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
    PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The implicit Jacobian: assembled exactly (-jacobian analytic, the default where the
  model supplies d xi/d rho) or by coloured finite differences on the DMDA's stencil
  (-jacobian fd). The colouring comes from the matrix (greedy, distance 2), not
  DMCreateColoring: the DMDA colouring is only valid on periodic axes whose size is a
  multiple of 2 * width + 1 = 5, and silently wrong (then crashing) otherwise.
*/
static PetscErrorCode GFSolverSetUpJacobian(GFSolver s)
{
  Mat       J;
  PetscBool analytic;

  PetscFunctionBeginUser;
  PetscCall(DMCreateMatrix(s->grid->da, &J));
  PetscCall(VecDuplicate(s->rho_local, &s->dxi_local));
  PetscCall(GFModelComputeDriftDerivative(s->model, s->rho_local, s->dxi_local, &analytic));
  if (analytic && !s->jacobian_fd) {
    PetscCall(TSSetIJacobian(s->ts, J, J, GFSolverIJacobian, s));
  } else {
    MatColoring   mc;
    ISColoring    coloring;
    MatFDColoring fd;

    PetscCall(MatColoringCreate(J, &mc));
    PetscCall(MatColoringSetDistance(mc, 2));
    PetscCall(MatColoringSetType(mc, MATCOLORINGGREEDY));
    PetscCall(MatColoringSetFromOptions(mc));
    PetscCall(MatColoringApply(mc, &coloring));
    PetscCall(MatColoringDestroy(&mc));
    PetscCall(MatFDColoringCreate(J, coloring, &fd));
    PetscCall(MatFDColoringSetFunction(fd, (PetscErrorCode(*)(void))(void (*)(void))SNESTSFormFunction, s->ts));
    PetscCall(MatFDColoringSetFromOptions(fd));
    PetscCall(MatFDColoringSetUp(J, coloring, fd));
    PetscCall(ISColoringDestroy(&coloring));
    PetscCall(PetscObjectCompose((PetscObject)J, "TSMatFDColoring", (PetscObject)fd));
    PetscCall(MatFDColoringDestroy(&fd));
    PetscCall(TSSetIJacobian(s->ts, J, J, TSComputeIJacobianDefaultColor, NULL));
  }
  PetscCall(MatDestroy(&J));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Newton's post-check: project the new iterate onto rho >= 0 (projected Newton). */
static PetscErrorCode GFSolverProjectIterate(SNESLineSearch linesearch, Vec X, Vec Y, Vec W, PetscBool *changed_Y, PetscBool *changed_W, void *ctx)
{
  PetscScalar *w;
  PetscInt     n;
  PetscBool    changed = PETSC_FALSE;

  PetscFunctionBeginUser;
  (void)linesearch;
  (void)X;
  (void)Y;
  (void)ctx;
  PetscCall(VecGetLocalSize(W, &n));
  PetscCall(VecGetArray(W, &w));
  for (PetscInt i = 0; i < n; i++) {
    if (PetscRealPart(w[i]) < 0) {
      w[i]    = 0;
      changed = PETSC_TRUE;
    }
  }
  PetscCall(VecRestoreArray(W, &w));
  /* the line search recomputes the residual when W changed: every rank must agree */
  PetscCall(MPIU_Allreduce(&changed, changed_W, 1, MPIU_BOOL, MPI_LOR, PetscObjectComm((PetscObject)W)));
  *changed_Y = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Newton for the implicit steps, GMRES preconditioned by geometric multigrid unless
  -pc_type says otherwise. Backward Euler (beuler, or theta 1) is positivity preserving
  for any dt, so its Newton iterates are projected onto rho >= 0 after the line search: no iterate leaves
  the admissible set, and the converged solution needs no projection (mass is kept to
  the Newton tolerance). PETSc's variational-inequality Newton (SNESVINEWTONRSLS) would
  do the same but solves on the inactive set, where this multigrid cannot follow.
  Second-order implicit schemes (theta 1/2, BDF2) are positive only below a step bound
  (no implicit Runge-Kutta or multistep method of order > 1 is unconditionally
  positive): their Newton runs unprojected and a negative step is rejected and halved.
*/
static PetscErrorCode GFSolverSetUpNewton(GFSolver s)
{
  SNES           snes;
  SNESLineSearch linesearch;
  KSP            ksp;
  PetscBool      pc_type;

  PetscFunctionBeginUser;
  {
    /* theta in endpoint form stores the Newton solution itself, rho_{n+1} = X, not X0 + dt (X - X0)/dt, whose round-off can dip below zero (backward Euler: see GFSolverStep) */
    PetscBool theta, set;
    PetscCall(PetscObjectTypeCompare((PetscObject)s->ts, TSTHETA, &theta));
    PetscCall(PetscOptionsHasName(NULL, NULL, "-ts_theta_endpoint", &set));
    if (theta && !set) PetscCall(TSThetaSetEndpoint(s->ts, PETSC_TRUE));
  }
  PetscCall(TSGetSNES(s->ts, &snes));
  {
    PetscBool theta;
    PetscReal value = 0;
    PetscCall(PetscObjectTypeCompare((PetscObject)s->ts, TSTHETA, &theta));
    if (theta) PetscCall(TSThetaGetTheta(s->ts, &value));
    s->project = (PetscBool)(s->beuler || (theta && value == 1));
  }
  if (s->project) {
    PetscCall(SNESGetLineSearch(snes, &linesearch));
    PetscCall(SNESLineSearchSetPostCheck(linesearch, GFSolverProjectIterate, s));
  }
  PetscCall(SNESGetKSP(snes, &ksp));
  PetscCall(PetscOptionsHasName(NULL, NULL, "-pc_type", &pc_type));
  if (!pc_type) PetscCall(GFMultigridSetUp(s->grid, ksp, &s->mg_levels));
  PetscCall(KSPSetFromOptions(ksp));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  What the time span asks, refused before any work: an end after the start, a fixed step
  that makes fewer than 1e9 steps and advances t in floating point, at most -output_max
  snapshots.
*/
static PetscErrorCode GFSolverCheckTimeSpan(GFSolver s)
{
  const PetscReal t0 = s->init.time, span = s->max_time - t0;

  PetscFunctionBeginUser;
  PetscCheck(span > 0, s->comm, PETSC_ERR_USER_INPUT, "-ts_max_time %.6g is not after the start time %.6g%s%s: nothing to run", (double)s->max_time, (double)t0, s->init.type == GF_INIT_FILE ? " of -init_file " : " (-init_time)",
             s->init.type == GF_INIT_FILE ? s->init.file : "");
  if (s->fixed_dt > 0) {
    PetscCheck(span / s->fixed_dt <= 1e9 || s->max_steps <= 1e9, s->comm, PETSC_ERR_USER_INPUT, "-ts_dt %.6g: the run from t = %.6g to %.6g would take %.3g steps (at most 1e9)", (double)s->fixed_dt, (double)t0, (double)s->max_time,
               (double)(span / s->fixed_dt));
    PetscCheck(s->fixed_dt > 1e-14 * PetscMax(PetscAbsReal(t0), PetscAbsReal(s->max_time)), s->comm, PETSC_ERR_USER_INPUT, "-ts_dt %.6g is below the round-off of the time t = %.6g: steps would not advance it", (double)s->fixed_dt,
               (double)PetscMax(PetscAbsReal(t0), PetscAbsReal(s->max_time)));
  }
  if (s->output && s->output_interval > 0) {
    const PetscReal snapshots = span / s->output_interval + 2;
    PetscCheck(snapshots <= s->output_max, s->comm, PETSC_ERR_USER_INPUT, "-output_interval %.6g would write %.3g snapshots from t = %.6g%s%s to %.6g, more than -output_max %" PetscInt_FMT ": choose a larger interval, or raise -output_max",
               (double)s->output_interval, (double)snapshots, (double)t0, s->init.type == GF_INIT_FILE ? " of -init_file " : "", s->init.type == GF_INIT_FILE ? s->init.file : "", (double)s->max_time, s->output_max);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The time stepper's state from the restart snapshot, so that the run continues as the
  uninterrupted one would: the adaptive controller's next step and cap, the multistep
  history. Without one (a fresh start, or a snapshot from before this was stored) the
  controller starts from a hundredth of the run.
*/
static PetscErrorCode GFSolverRestoreStepper(GFSolver s)
{
  const GFSnapshotHeader *h = &s->init_header;

  PetscFunctionBeginUser;
  if (!s->dt_max_set) s->dt_max = (s->max_time - s->init.time) / 10;
  s->dt_next = s->fixed_dt > 0 ? s->fixed_dt : (s->max_time - s->init.time) / 100;
  if (s->init.type != GF_INIT_FILE || !h->has_state) PetscFunctionReturn(PETSC_SUCCESS);
  if (!s->dt_max_set && h->dt_max > 0) s->dt_max = h->dt_max;
  if (s->dt_adapt && h->dt_next > 0) s->dt_next = PetscMin(h->dt_next, s->dt_max);
  if (h->history_length) {
    PetscReal times[GF_MAX_HISTORY];
    for (PetscInt k = 0; k < h->history_length; k++) times[k] = h->history_time[k];
    PetscCall(GFBDFSetHistory(s->ts, (PetscInt)h->history_order, (PetscInt)h->history_length, s->history, times));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Build the model, the data, the TS and the run directory; refuse what will not fit or not run, before anything is written. */
PetscErrorCode GFSolverSetUp(GFSolver s)
{
  PetscInt    dof;
  PetscBool   has_exact;
  const char *why;

  PetscFunctionBeginUser;
  if (s->set_up) PetscFunctionReturn(PETSC_SUCCESS);
  {
    const PetscReal cells = (PetscReal)s->grid->cells[0] * s->grid->cells[1] * s->grid->cells[2];
    PetscMPIInt     size;
    char            what[128];
    PetscCallMPI(MPI_Comm_size(s->comm, &size));
    PetscCall(PetscSNPrintf(what, sizeof(what), "the run on %.0f cells (%s, %s)", (double)cells, s->model->type, s->implicit ? "implicit" : "explicit"));
    PetscCall(GFMemoryCheck(s->comm, cells / size * GFRunBytesPerCell(s->grid->dim, s->implicit, s->model->convolutions), what, "use a coarser grid (-da_grid_x ...) or more ranks"));
  }
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
  PetscCheck(!s->implicit || s->model->flux != GF_FLUX_UPWIND_VELOCITY, s->comm, PETSC_ERR_USER_INPUT,
             "implicit -ts_type with -model %s: the model moves the density by a nonlocal velocity, which has no local part to take implicitly; use an explicit -ts_type (rk, the default)", s->model->type);
  if (s->imex) {
    /* the implicit local part, and the CFL bound of the explicit nonlocal one */
    PetscCall(GFTransportCreate(s->grid, &s->local_transport));
    PetscCall(GFTransportSetFluxType(s->local_transport, s->model->flux, s->model->sigma));
    PetscCall(GFTransportSetReconstruction(s->local_transport, s->reconstruction));
    PetscCall(GFTransportCreate(s->grid, &s->explicit_transport));
    PetscCall(GFTransportSetFluxType(s->explicit_transport, GF_FLUX_UPWIND_POTENTIAL, 0));
    PetscCall(VecDuplicate(s->rho_local, &s->local_drift_local));
    PetscCall(VecDuplicate(s->rho_local, &s->explicit_potential_local));
    PetscCall(VecDuplicate(s->rho, &s->work));
  }

  PetscCall(TSSetExactFinalTime(s->ts, TS_EXACTFINALTIME_STEPOVER));
  PetscCall(TSSetErrorIfStepFails(s->ts, PETSC_FALSE));
  if (s->implicit) {
    PetscCall(TSSetIFunction(s->ts, NULL, GFSolverIFunction, s));
    PetscCall(GFSolverSetUpJacobian(s));
    PetscCall(GFSolverSetUpNewton(s));
  }
  if (!s->implicit || s->imex) PetscCall(TSSetRHSFunction(s->ts, NULL, GFSolverRHSFunction, s));
  {
    TSAdapt adapt;
    PetscCall(TSGetAdapt(s->ts, &adapt));
    PetscCall(TSAdaptSetType(adapt, TSADAPTNONE));
  }
  PetscCall(GFSolverSetInitialData(s));
  PetscCall(TSSetSolution(s->ts, s->rho));
  PetscCall(TSSetUp(s->ts));
  PetscCall(GFSolverRestoreStepper(s));
  {
    /* the first step's size: an explicit -ts_dt beyond the stability bound is refused here, not after output began */
    PetscReal dt;
    PetscCall(GFSolverChooseTimeStep(s, s->init.time, s->max_time, &dt));
  }
  if (s->output) {
    const PetscReal     tol   = 1e-9 * s->output_interval;
    const GFWriterSetup setup = {s->output_dir,
                                 s->model->type,
                                 s->overwrite,
                                 s->exact_requested,
                                 (PetscBool)(s->model->ops->stein != NULL),
                                 s->output_interval > 0 ? PetscMax((PetscInt)PetscFloorReal((s->init.time + tol) / s->output_interval), 0) : 0,
                                 s->init.type == GF_INIT_FILE ? s->init.file : "",
                                 s->init_header.step,
                                 s->init.time,
                                 (PetscBool)(s->init.type == GF_INIT_FILE && s->init_mass_set)};
    PetscCall(GFWriterCreate(s->grid, &setup, &s->writer));
  }
  s->is_tty = (PetscBool)isatty(fileno(stdout));
  s->set_up = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The step to try from time t, cut to land on the next output time and the end:
  explicit, dt = 2 cfl c / r from the rate bound r (or -ts_dt, refused beyond the
  stability bound 2 c / r); implicit, -ts_dt or the step Newton's convergence suggests.
*/
static PetscErrorCode GFSolverChooseTimeStep(GFSolver s, PetscReal t, PetscReal t_stop, PetscReal *dt)
{
  PetscFunctionBeginUser;
  if (s->imex && s->fixed_dt == 0) {
    /* IMEX: the CFL bound of the explicit part alone, transport by the nonlocal potential drift_all - drift_local */
    PetscReal rate;
    PetscCall(DMGlobalToLocal(s->grid->da, s->rho, INSERT_VALUES, s->rho_local));
    PetscCall(GFSolverUpdateDrift(s, t, s->rho, GF_DRIFT_ALL));
    PetscCall(GFSolverUpdateDrift(s, t, s->rho, GF_DRIFT_LOCAL));
    PetscCall(VecWAXPY(s->explicit_potential_local, -1, s->local_drift_local, s->drift_local));
    PetscCall(GFTransportDriftChanged(s->explicit_transport));
    PetscCall(GFTransportComputeMaxRate(s->explicit_transport, s->rho_local, s->explicit_potential_local, 0, &rate));
    *dt = rate > 0 ? 2 * s->cfl / rate : t_stop - t;
  } else if (s->implicit) {
    *dt = s->dt_adapt ? s->dt_next : s->fixed_dt;
  } else {
    PetscReal rate, diffusivity;
    PetscCall(DMGlobalToLocal(s->grid->da, s->rho, INSERT_VALUES, s->rho_local));
    PetscCall(GFSolverUpdateDrift(s, t, s->rho, GF_DRIFT_ALL));
    PetscCall(GFModelGetMaxDiffusivity(s->model, s->rho, &diffusivity));
    PetscCall(GFTransportComputeMaxRate(s->transport, s->rho_local, s->drift_local, diffusivity, &rate));
    {
      PetscReal nonlocal;
      PetscCall(GFModelGetNonlocalRate(s->model, s->rho, &nonlocal));
      rate += nonlocal;
    }
    *dt = rate > 0 ? 2 * s->cfl * s->ssp_coefficient / rate : t_stop - t;
    if (s->fixed_dt > 0) {
      PetscCheck(rate <= 0 || s->fixed_dt <= 2 * s->ssp_coefficient / rate, s->comm, PETSC_ERR_USER_INPUT,
                 "-ts_dt %.6g exceeds the explicit stability bound %.6g at t = %.6g (Courant number 1); use a smaller -ts_dt, or an implicit -ts_type such as beuler", (double)s->fixed_dt, (double)(2 * s->ssp_coefficient / rate), (double)t);
      *dt = s->fixed_dt;
    }
  }
  if (t + *dt > t_stop - 1e-12 * PetscMax(1, PetscAbsReal(t_stop)))
    *dt = t_stop - t;
  else if (s->fixed_dt == 0 && !s->implicit) {
    /* equal steps up to the stop time rather than a sliver at its end */
    const PetscReal remaining = t_stop - t;
    *dt                       = remaining / PetscCeilReal(remaining / *dt);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  After an accepted implicit step of length dt that was asked for `requested`: grow the
  next step by 1.5 when Newton took <= 3 iterations (to its 1e-12 tolerance), shrink it
  by 0.7 from 7 on, keep it otherwise (a step cut short by an output time does not
  shrink it), within dt_max.
*/
static PetscErrorCode GFSolverAdaptTimeStep(GFSolver s, PetscReal dt, PetscReal requested, PetscInt newton)
{
  PetscFunctionBeginUser;
  if (!s->implicit || !s->dt_adapt) PetscFunctionReturn(PETSC_SUCCESS);
  if (dt < requested * (1 - 1e-12) && newton < 7) PetscFunctionReturn(PETSC_SUCCESS);
  if (newton <= 3)
    s->dt_next = PetscMin(1.5 * dt, s->dt_max);
  else if (newton >= 7)
    s->dt_next = 0.7 * dt;
  else
    s->dt_next = dt;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  rho is acceptable when finite and >= 0 everywhere. Negative values no larger than
  1e-12 max(rho) -- far tails of second-order implicit or IMEX steps, which are positive
  only below a step bound, and round-off -- are set to zero and the rest rescaled to the
  same mass: a change of at most 1e-12 of the maximum, counted and reported. Anything
  else rejects the step.
*/
static PetscErrorCode GFSolverIsAdmissible(GFSolver s, Vec rho, PetscBool *ok)
{
  PetscScalar *r;
  PetscInt     n;
  PetscReal    local[3] = {0, 0, 0}, global[3]; /* not finite, -min, max */

  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(rho, &n));
  PetscCall(VecGetArray(rho, &r));
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal x = PetscRealPart(r[i]);
    if (PetscIsInfOrNanReal(x))
      local[0] = 1;
    else {
      local[1] = PetscMax(local[1], -x);
      local[2] = PetscMax(local[2], x);
    }
  }
  PetscCall(MPIU_Allreduce(local, global, 3, MPIU_REAL, MPIU_MAX, s->comm));
  *ok = (PetscBool)(global[0] == 0 && global[1] <= 1e-12 * global[2]);
  if (*ok && global[1] > 0) {
    PetscReal before[2] = {0, 0}, after[2]; /* sum of rho, sum of the clipped part */
    for (PetscInt i = 0; i < n; i++) {
      before[0] += PetscRealPart(r[i]);
      if (PetscRealPart(r[i]) < 0) {
        before[1] -= PetscRealPart(r[i]);
        r[i] = 0;
      }
    }
    PetscCall(MPIU_Allreduce(before, after, 2, MPIU_REAL, MPIU_SUM, s->comm));
    for (PetscInt i = 0; i < n; i++) r[i] *= after[0] / (after[0] + after[1]);
    s->tail_fixes++;
    s->largest_tail_fix = PetscMax(s->largest_tail_fix, global[1] / global[2]);
  }
  PetscCall(VecRestoreArray(rho, &r));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The next snapshot of the current state, with what the time stepper needs to continue from it. */
static PetscErrorCode GFSolverWriteSnapshot(GFSolver s)
{
  GFRestartState state;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&state, sizeof(state)));
  state.dt      = s->diag.dt;
  state.dt_next = s->implicit && s->dt_adapt ? s->dt_next : 0;
  state.dt_max  = s->implicit && s->dt_adapt ? s->dt_max : 0;
  PetscCall(GFBDFGetHistory(s->ts, &state.order, &state.length, state.previous, state.previous_time));
  PetscCall(GFWriterWriteSnapshot(s->writer, s->rho, &s->diag, &state));
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
    if (s->beuler && reason >= 0) {
      /* TSBEULER returns X0 + dt (X - X0)/dt; the Newton solution X is the backward Euler step itself, without that round-off */
      SNES snes;
      Vec  X;
      PetscCall(TSGetSNES(s->ts, &snes));
      PetscCall(SNESGetSolution(snes, &X));
      PetscCall(VecCopy(X, s->rho));
    }
    if (reason >= 0) PetscCall(GFSolverIsAdmissible(s, s->rho, &ok));
    if (ok) break;
    s->rejected++;
    PetscCall(VecCopy(s->rho_prev, s->rho));
    PetscCall(TSSetConvergedReason(s->ts, TS_CONVERGED_ITERATING));
    PetscCall(TSRestartStep(s->ts)); /* multistep methods (BDF) restart from this state */
    dt *= 0.5;
  }
  if (!ok) {
    char      where[PETSC_MAX_PATH_LEN + 128];
    PetscBool committed = PETSC_FALSE, has_old = PETSC_FALSE;
    PetscCall(TSSetTime(s->ts, t));
    if (s->writer) PetscCall(GFWriterGetState(s->writer, &committed, &has_old));
    if (s->writer && !committed && !has_old) {
      /* no earlier run to keep: the run so far is worth keeping */
      PetscCall(GFWriterCommit(s->writer));
      committed = PETSC_TRUE;
    }
    if (committed) {
      const char *dir;
      PetscInt    index;
      PetscCall(GFWriterGetDirectory(s->writer, &dir, NULL, &index));
      s->diag.dt = 0;
      PetscCall(GFSolverWriteSnapshot(s));
      PetscCall(PetscSNPrintf(where, sizeof(where), "the last good state at t = %.6g is saved as %s/snap_%05d.h5", (double)t, dir, (int)index));
    } else if (s->writer) {
      const char *dir;
      PetscCall(GFWriterGetDirectory(s->writer, &dir, NULL, NULL));
      PetscCall(PetscSNPrintf(where, sizeof(where), "no step succeeded, so the earlier run in %s is kept as it was", dir));
    } else
      PetscCall(PetscSNPrintf(where, sizeof(where), "the last good state at t = %.6g is not saved (-output 0)", (double)t));
    SETERRQ(s->comm, PETSC_ERR_NOT_CONVERGED, "step %" PetscInt_FMT " at t = %.6g failed %" PetscInt_FMT " times (%s) down to dt = %.6g; %s", step, (double)t, s->max_retries + 1,
            s->implicit ? "Newton did not converge or rho became negative" : "rho became negative or not finite", (double)dt, where);
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
  PetscCall(GFSolverCheckTimeSpan(s));
  PetscCall(TSGetTime(s->ts, &t));
  PetscCall(TSGetStepNumber(s->ts, &step));
  t_end = s->max_time;
  PetscCall(PetscTime(&s->wall_start));
  s->last_progress = s->wall_start;
  if (s->output_interval > 0) next_output = (PetscInt)PetscFloorReal((t + 1e-9 * s->output_interval) / s->output_interval) + 1;
  s->diag.dt   = 0;
  s->diag.step = step;
  PetscCall(GFSolverComputeDiagnostics(s, s->rho, &s->diag));
  /* a restart measures the drift from its run's initial mass */
  s->diag.mass_initial = s->diag.mass;
  if (s->init.type == GF_INIT_FILE && !s->init_mass_set && PetscAbsReal(s->init_header.initial_mass - s->diag.mass) <= 1e-8 * s->diag.mass) s->diag.mass_initial = s->init_header.initial_mass; /* conserved to round-off, else not this state's run */
  s->diag.mass_drift = (s->diag.mass - s->diag.mass_initial) / s->diag.mass_initial;
  s->lowest_density  = s->diag.min_density;
  PetscCall(GFSolverMonitorStep(s, PETSC_TRUE));
  if (s->writer) PetscCall(GFSolverWriteSnapshot(s));
  if (s->output_hook) PetscCall(s->output_hook(s, t, s->rho, s->output_hook_ctx));

  while (t < t_end - 1e-12 * PetscMax(1, PetscAbsReal(t_end)) && step < s->max_steps) {
    const PetscReal t_out  = GFSolverOutputTime(s, next_output);
    const PetscReal t_stop = PetscMin(t_out, t_end);
    PetscReal       dt = 0, energy_before = s->diag.energy;
    PetscBool       at_output;

    PetscReal requested;
    PetscInt  newton_before, newton_after;
    PetscBool concentrated;

    PetscCall(GFSolverChooseTimeStep(s, t, t_stop, &dt));
    requested = s->implicit && s->dt_adapt ? s->dt_next : dt;
    PetscCall(TSGetSNESIterations(s->ts, &newton_before));
    PetscCall(GFSolverStep(s, t, dt, step));
    if (s->writer) PetscCall(GFWriterCommit(s->writer)); /* the new run has taken a good step: now it replaces the old one */
    PetscCall(TSGetSNESIterations(s->ts, &newton_after));
    PetscCall(GFSolverAdaptTimeStep(s, s->diag.dt, requested, newton_after - newton_before));
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
    concentrated = (PetscBool)(s->model->can_concentrate && s->diag.max_density * s->grid->cell_volume >= s->blowup_fraction * s->diag.mass);
    if (at_output || concentrated || t >= t_end - 1e-12 * PetscMax(1, PetscAbsReal(t_end)) || step >= s->max_steps) {
      if (s->writer) PetscCall(GFSolverWriteSnapshot(s));
      if (s->output_hook) PetscCall(s->output_hook(s, t, s->rho, s->output_hook_ctx));
    }
    if (concentrated) {
      s->blowup_time = t;
      if (s->progress && s->is_tty) PetscCall(PetscPrintf(s->comm, "\n"));
      PetscCall(PetscPrintf(s->comm, "gradflow: blow-up: at t = %.6g one cell holds %.1f%% of the mass (>= -blowup_fraction %.6g): the solution has concentrated below the grid scale; stopping here%s\n", (double)t,
                            (double)(100 * s->diag.max_density * s->grid->cell_volume / s->diag.mass), (double)s->blowup_fraction, s->writer ? " (the state is the last snapshot)" : ""));
      break;
    }
  }
  if (s->writer) PetscCall(GFWriterCommit(s->writer));
  if (s->summary) PetscCall(GFSolverPrintSummary(s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Call hook(solver, t, rho, ctx) wherever a snapshot is due (the first and last state, every output time), with or without -output. */
PetscErrorCode GFSolverSetOutputHook(GFSolver s, GFOutputHook hook, void *ctx)
{
  PetscFunctionBeginUser;
  s->output_hook     = hook;
  s->output_hook_ctx = ctx;
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
  stats->blowup_time      = s->blowup_time;
  stats->tail_fixes       = s->tail_fixes;
  PetscCall(TSGetSNESIterations(s->ts, &stats->newton_iterations));
  PetscCall(TSGetKSPIterations(s->ts, &stats->linear_iterations));
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
  PetscCall(VecDestroy(&s->local_drift_local));
  PetscCall(VecDestroy(&s->explicit_potential_local));
  PetscCall(VecDestroy(&s->work));
  PetscCall(VecDestroy(&s->dxi_local));
  PetscCall(VecDestroy(&s->rho_prev));
  PetscCall(VecDestroy(&s->exact));
  for (PetscInt k = 0; k < GF_MAX_HISTORY; k++) PetscCall(VecDestroy(&s->history[k]));
  PetscCall(GFTransportDestroy(&s->transport));
  PetscCall(GFTransportDestroy(&s->local_transport));
  PetscCall(GFTransportDestroy(&s->explicit_transport));
  PetscCall(GFModelDestroy(&s->model));
  PetscCall(GFGridDestroy(&s->grid));
  PetscCall(PetscFree(s));
  *solver = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}
