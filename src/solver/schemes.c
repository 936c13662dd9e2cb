/*
  The finite-volume equation for PETSc's TS, and the schemes that integrate it.

  Explicit steps (TSRK ssprk43: SSP-RK3 with 4 stages and SSP coefficient 2, by default)
  integrate d_t rho = RHS(rho) = -div F(rho). Implicit steps (beuler, theta, cn, bdf) solve
  the residual U_t - RHS(U) = 0 by Newton, with the Jacobian the transport operator
  assembles from the model's d xi/d rho (or, with -jacobian_fd or where the model has no
  d xi/d rho, by finite differences coloured on its sparsity) and GMRES preconditioned by
  geometric multigrid. IMEX (arkimex) takes the local part of the drift implicitly and the
  nonlocal rest explicitly.
*/
#include "solver.h"

/*
  SSP Runge-Kutta schemes in Butcher form for TSRK: u_{n+1} = u_n + dt sum_j b_j k_j only
  ever adds multiples of conservative right-hand sides, so the mass is exact to
  round-off. PETSc's TSSSP evaluates the same schemes in Shu-Osher form, whose
  convex weights (2/3 + 1/3 rounds to 1 - 5.6e-17) shrink the mass a little every step.
    ssprk43: SSPRK(4,3), SSP coefficient 2 (Kraaijevanger; Ketcheson 2008)
    ssprk33: SSPRK(3,3) of Shu and Osher, SSP coefficient 1
*/
PETSC_INTERN PetscErrorCode GFRegisterSchemes(void)
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

/*
  The model's drift (all of it, or its local part) for the density U, ghosted in
  rho_local, at time t; a part the model declares static is computed once. Each part
  has its own transport operator, so each keeps its cached face coefficients.
*/
PETSC_INTERN PetscErrorCode GFSolverUpdateDrift(GFSolver s, PetscReal t, Vec U, GFDriftPart part)
{
  PetscBool *ready = part == GF_DRIFT_ALL ? &s->drift_ready : &s->local_drift_ready;

  PetscFunctionBeginUser;
  if (*ready) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(GFModelComputeDrift(s->model, t, U, s->rho_local, part == GF_DRIFT_ALL ? s->drift_local : s->local_drift_local, part));
  PetscCall(GFTransportDriftChanged(part == GF_DRIFT_ALL ? s->transport : s->local_transport));
  *ready = part == GF_DRIFT_ALL ? s->traits.drift_static : s->traits.local_drift_static;
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
PETSC_INTERN PetscErrorCode GFSolverClassifyTS(GFSolver s)
{
  const char *explicit_types[] = {GF_TS_FUSED_SSP, TSSSP, TSEULER, TSRK}, *implicit_types[] = {TSBEULER, TSTHETA, TSCN, TSBDF};
  TSType      type;
  PetscBool   match = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCall(TSGetType(s->ts, &type));
  s->ssp_coefficient = 1;
  PetscCall(PetscStrcmp(type, GF_TS_JKO, &s->jko));
  if (s->jko) {
    s->implicit = PETSC_FALSE;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  for (size_t i = 0; i < sizeof(explicit_types) / sizeof(explicit_types[0]) && !match; i++) PetscCall(PetscStrcmp(type, explicit_types[i], &match));
  if (match) {
    PetscBool ssp, rk;
    s->implicit = PETSC_FALSE;
    PetscCall(PetscStrcmp(type, GF_TS_FUSED_SSP, &s->fused));
    if (s->fused) {
      PetscCheck(s->traits.flux == GF_FLUX_SCHARFETTER_GUMMEL && s->traits.drift_static, s->comm, PETSC_ERR_USER_INPUT,
                 "-ts_type %s: the fused scheme needs Scharfetter-Gummel transport by a static drift (-model fokker_planck with -diffusion > 0), not -model %s with -diffusion %.6g: use -ts_type rk", GF_TS_FUSED_SSP, s->traits.type,
                 (double)s->traits.sigma);
      s->ssp_coefficient = 2;
      PetscFunctionReturn(PETSC_SUCCESS);
    }
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
  PetscCheck(match, s->comm, PETSC_ERR_USER_INPUT,
             "-ts_type %s is not supported; valid are rk (with -ts_rk_type ssprk43), fusedssp (the same scheme fused, default for Fokker-Planck in a static potential), ssp, euler (explicit), beuler, theta, cn, bdf (implicit), arkimex (implicit "
             "local part, explicit nonlocal part) and jko (Wasserstein proximal steps)",
             type);
  s->implicit = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Nonlinear equations with gradflow's multigrid: the preconditioner (its Galerkin coarse
  operators; the fine-level smoother and GMRES always use the fresh Jacobian, so Newton stays
  Newton) is kept from one Jacobian to the next, across Newton iterations and steps, and
  rebuilt when the linear solves slow down -- the last one took more than twice (plus one) the
  iterations of the first after the last rebuild --, after GF_PC_MAX_AGE Jacobians, or after
  a failed nonlinear solve (-implicit_pc_reuse 0: rebuilt for every Jacobian). Porous medium
  2D, 256^2, 30 steps: the same Newton iterations, 1.36 -> 1.52 GMRES iterations per Newton
  iteration, 11.5 s -> 8.5 s.
*/
#define GF_PC_MAX_AGE 8
static PetscErrorCode GFSolverReusePreconditioner(GFSolver s)
{
  SNES      snes;
  KSP       ksp;
  PetscInt  its, failures;
  PetscBool rebuild;

  PetscFunctionBeginUser;
  PetscCall(TSGetSNES(s->ts, &snes));
  PetscCall(SNESGetKSP(snes, &ksp));
  PetscCall(KSPGetIterationNumber(ksp, &its));
  PetscCall(TSGetSNESFailures(s->ts, &failures));
  if (s->pc_age == 1) s->pc_fresh_iterations = its;
  rebuild = (PetscBool)(s->pc_age == 0 || s->pc_age >= GF_PC_MAX_AGE || its > 2 * s->pc_fresh_iterations + 1 || failures != s->pc_failures);
  PetscCall(SNESSetLagPreconditioner(snes, rebuild ? -2 : -1)); /* read by SNESComputeJacobian after this Jacobian: -2 rebuilds once, -1 keeps */
  s->pc_age      = rebuild ? 1 : s->pc_age + 1;
  s->pc_failures = failures;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The implicit Jacobian shift I - d RHS/d rho, assembled by the transport operator from the
  model's d xi/d rho. A linear equation's Jacobian depends on the shift alone: while the
  shift is the one it was assembled for, the matrix is left untouched, so its object state
  does not change and PCSetUp keeps the preconditioner (multigrid hierarchy, factors).
  "The one" up to 1e-12 relative: shifts come from the step's times (BDF's from those of its
  history), equal steps give shifts 1e-14 apart, and an operator off by 1e-12 of its shift
  changes the solved update by 1e-12 of itself.
*/
static PetscErrorCode GFSolverIJacobian(TS ts, PetscReal t, Vec U, Vec Udot, PetscReal shift, Mat A, Mat P, void *ctx)
{
  GFSolver  s = (GFSolver)ctx;
  PetscBool has;

  PetscFunctionBeginUser;
  (void)Udot;
  if (s->linear && s->operator_ready && PetscAbsReal(shift - s->operator_shift) <= 1e-12 * PetscAbsReal(s->operator_shift)) PetscFunctionReturn(PETSC_SUCCESS);
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
  if (!s->linear && s->pc_reuse && s->mg_levels) PetscCall(GFSolverReusePreconditioner(s));
  s->operator_ready = PETSC_TRUE;
  s->operator_shift = shift;
  s->operator_builds++;
  PetscCall(PetscInfo(ts, "implicit operator assembled for shift %g at t = %g\n", (double)shift, (double)t));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The implicit Jacobian: assembled exactly (the default where the model supplies
  d xi/d rho) or by coloured finite differences on the DMDA's stencil (-jacobian_fd). The colouring comes from the matrix (greedy, distance 2), not
  DMCreateColoring: the DMDA colouring is only valid on periodic axes whose size is a
  multiple of 2 * width + 1 = 5, and silently wrong (then crashing) otherwise.
*/
#define GF_LINEAR_LU_CELLS 140000

/* Whether a linear equation's stages are solved by a sparse LU factorisation: one rank, at most GF_LINEAR_LU_CELLS cells, no -pc_type. */
static PetscErrorCode GFSolverLinearUsesLU(GFSolver s, PetscBool *lu)
{
  PetscMPIInt size;
  PetscReal   cells = 1;
  PetscBool   pc_type;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(s->comm, &size));
  PetscCall(PetscOptionsHasName(NULL, NULL, "-pc_type", &pc_type));
  for (PetscInt a = 0; a < s->grid->dim; a++) cells *= s->grid->cells[a];
  *lu = (PetscBool)(s->linear && !pc_type && size == 1 && cells <= GF_LINEAR_LU_CELLS);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Whether the implicit equation takes the linear path (-implicit_linear, on): a linear equation
  (the model's trait: a static drift with the Scharfetter-Gummel flux), not IMEX, not
  -jacobian_fd, and a sound solver for it: the LU factorisation, or a -pc_type the user chose.
  With gradflow's multigrid (more ranks, larger grids) GMRES to 1e-12 broke down on 2 ranks
  (double well, sigma 0.3, 40 x 36 to 160 x 144, beuler dt 0.05; NaN after the failed solves)
  where Newton's looser inner solves do not: those runs keep Newton.
*/
PETSC_INTERN PetscErrorCode GFSolverDecideLinear(GFSolver s)
{
  PetscBool lu, pc_type;

  PetscFunctionBeginUser;
  s->linear = (PetscBool)(s->linear && s->traits.linear && s->implicit && !s->imex && !s->jacobian_fd);
  PetscCall(GFSolverLinearUsesLU(s, &lu));
  PetscCall(PetscOptionsHasName(NULL, NULL, "-pc_type", &pc_type));
  s->linear = (PetscBool)(s->linear && (lu || pc_type));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFSolverSetUpJacobian(GFSolver s)
{
  Mat       J;
  PetscBool analytic, lu;

  PetscFunctionBeginUser;
  /*
    A linear equation's operator is the Scharfetter-Gummel 3-point stencil per axis: for its LU
    factorisation in 2D and 3D only the entries set are kept, not the DMDA's width-2 star
    (which multiplies the fill). Not in 1D, where PETSc 3.18's serial DMDA matrix takes its
    rows whole and in order only, and not for multigrid, whose GMRES broke down (and met
    NaN) on the reduced pattern on 2 ranks (double well, sigma 0.3, 80 x 72 and 160 x 144).
  */
  PetscCall(GFSolverLinearUsesLU(s, &lu));
  PetscCall(DMSetMatrixPreallocateOnly(s->grid->da, (PetscBool)(lu && s->grid->dim > 1)));
  PetscCall(DMCreateMatrix(s->grid->da, &J));
  PetscCall(DMSetMatrixPreallocateOnly(s->grid->da, PETSC_FALSE));
  PetscCall(MatSetOption(J, MAT_SORTED_FULL, PETSC_FALSE)); /* PETSc 3.18's DMDA sets it on non-periodic grids and clears it only after filling the pattern itself: rows set piece by piece would be overwritten */
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
  Newton's convergence: PETSc's test (a residual of 1e-12 relative, or a step below 1e-8 of
  the iterate), except that a small step counts only where the residual is small too: fallen
  by 1e-8, or small enough that the state it leaves unsolved, about dt |F|, is below 1e-12 of
  the state (a good initial guess starts near the residual's round-off floor, which grows
  like 1/dt). A stalled iteration (iterates projected onto rho >= 0, an inaccurate linear
  solve) also takes tiny steps, but its residual -- the step's mass error -- stays large:
  that one fails, and the step is retried with half of it.
*/
static PetscErrorCode GFSolverNewtonConverged(SNES snes, PetscInt it, PetscReal xnorm, PetscReal snorm, PetscReal fnorm, SNESConvergedReason *reason, void *ctx)
{
  GFSolver  s = (GFSolver)ctx;
  PetscReal dt;

  PetscFunctionBeginUser;
  if (it == 0) s->newton_fnorm0 = fnorm;
  PetscCall(SNESConvergedDefault(snes, it, xnorm, snorm, fnorm, reason, NULL));
  if (*reason != SNES_CONVERGED_SNORM_RELATIVE) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(TSGetTimeStep(s->ts, &dt));
  if (fnorm > 1e-8 * s->newton_fnorm0 && dt * fnorm > 1e-12 * xnorm) *reason = SNES_DIVERGED_LOCAL_MIN; /* stalled */
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  After a Krylov solve of a linear equation's stage, J Y = F: Y += r / shift, r = F - J Y.
  The columns of J = shift I - L sum to shift (the transport moves mass between cells, so L's
  columns sum to zero): sum(Y) = (sum(F) - sum(r)) / shift, and the step would change the mass
  by the residual's sum, up to the solver's tolerance times sqrt(cells). The correction
  restores sum(Y) = sum(F) / shift, the exact solution's, to round-off (it is also one Jacobi
  sweep on the residual). An LU solve (KSPPREONLY) leaves a residual of round-off: skipped.
*/
static PetscErrorCode GFSolverLinearPostSolve(KSP ksp, Vec F, Vec Y, void *ctx)
{
  GFSolver  s = (GFSolver)ctx;
  Mat       J;
  Vec       r;
  PetscBool preonly;

  PetscFunctionBeginUser;
  PetscCall(PetscObjectTypeCompare((PetscObject)ksp, KSPPREONLY, &preonly));
  if (preonly) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(KSPGetOperators(ksp, &J, NULL));
  PetscCall(DMGetGlobalVector(s->grid->da, &r));
  PetscCall(MatMult(J, Y, r));
  PetscCall(VecAYPX(r, -1, F));
  PetscCall(VecAXPY(Y, 1 / s->operator_shift, r));
  PetscCall(DMRestoreGlobalVector(s->grid->da, &r));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  A linear equation's implicit stage, G(U) = J U - b = 0 with J = shift I - L, in one
  linear solve (TS_LINEAR: SNESKSPONLY) from the stage's initial guess. The operator is
  assembled once per shift (GFSolverIJacobian), so its preconditioner is set up once per
  shift too. On one rank and up to GF_LINEAR_LU_CELLS cells: a sparse LU factorisation
  (PETSc's, nested-dissection ordering), whose solve costs less than one V-cycle and is
  exact to round-off (CN OU 256^2: factor 0.3 s, solve 6 ms, against 7 GMRES iterations of
  multigrid at 10 ms each for a residual of 1e-14; MUMPS solves took 45 ms). Otherwise
  GMRES, right-preconditioned by multigrid, to a true residual of 1e-12 relative, and the
  mass restored by GFSolverLinearPostSolve. -pc_type and -ksp_* options override.
*/
static PetscErrorCode GFSolverSetUpLinearSolve(GFSolver s, SNES snes, KSP ksp, PetscBool pc_type)
{
  PetscBool lu;

  PetscFunctionBeginUser;
  PetscCall(TSSetProblemType(s->ts, TS_LINEAR));
  PetscCall(SNESSetFromOptions(snes));
  PetscCall(KSPSetTolerances(ksp, 1e-12, 0, PETSC_DEFAULT, 200));
  PetscCall(KSPSetPostSolve(ksp, GFSolverLinearPostSolve, s));
  PetscCall(GFSolverLinearUsesLU(s, &lu));
  if (pc_type) PetscFunctionReturn(PETSC_SUCCESS);
  if (lu) {
    PC pc;
    PetscCall(KSPSetType(ksp, KSPPREONLY));
    PetscCall(KSPGetPC(ksp, &pc));
    PetscCall(PCSetType(pc, PCLU));
    PetscCall(PCFactorSetMatOrderingType(pc, MATORDERINGND));
  } else {
    PetscCall(GFMultigridSetUp(s->grid, ksp, &s->mg_levels));
    PetscCall(KSPSetType(ksp, KSPGMRES));
    PetscCall(KSPSetPCSide(ksp, PC_RIGHT));
    PetscCall(KSPSetNormType(ksp, KSP_NORM_UNPRECONDITIONED));
  }
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
    /* theta in endpoint form stores the Newton solution itself, rho_{n+1} = X, not X0 + dt (X - X0)/dt, whose round-off can dip below zero (backward Euler: see GFAdaptChoose) */
    PetscBool theta, set;
    PetscCall(PetscObjectTypeCompare((PetscObject)s->ts, TSTHETA, &theta));
    PetscCall(PetscOptionsHasName(NULL, NULL, "-ts_theta_endpoint", &set));
    if (theta && !set) PetscCall(TSThetaSetEndpoint(s->ts, PETSC_TRUE));
  }
  PetscCall(TSGetSNES(s->ts, &snes));
  PetscCall(SNESSetConvergenceTest(snes, GFSolverNewtonConverged, s, NULL));
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
  if (s->linear)
    PetscCall(GFSolverSetUpLinearSolve(s, snes, ksp, pc_type));
  else if (!pc_type)
    PetscCall(GFMultigridSetUp(s->grid, ksp, &s->mg_levels));
  PetscCall(KSPSetFromOptions(ksp));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The equation on the solver's TS: the implicit residual with its Jacobian and Newton, the explicit right-hand side, or both (IMEX). */
PETSC_INTERN PetscErrorCode GFSolverSetUpEquation(GFSolver s)
{
  PetscFunctionBeginUser;
  if (s->implicit) {
    PetscCall(TSSetIFunction(s->ts, NULL, GFSolverIFunction, s));
    PetscCall(GFSolverSetUpJacobian(s));
    PetscCall(GFSolverSetUpNewton(s));
  }
  if (!s->implicit || s->imex) PetscCall(TSSetRHSFunction(s->ts, NULL, GFSolverRHSFunction, s));
  PetscFunctionReturn(PETSC_SUCCESS);
}
