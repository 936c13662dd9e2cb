/*
  Step control through PETSc's hooks: TSSolve runs the steps, and gradflow's rules come in
  where PETSc asks for them.

    pre-step     the step from the accepted state: explicit, dt = 2 cfl c / r from the
                 transport's rate bound r and the scheme's SSP coefficient c (cfl <= 1/2
                 keeps every forward-Euler stage, hence the step, positive); implicit,
                 -ts_dt or the step Newton's convergence suggests; cut to land on the
                 next output time and the end.
    domain error every stage must be finite and not below -1e-12 max rho: a step with a
                 stage that is not, or whose Newton solve fails, is retried by PETSc with
                 half the step (TSAdapt's scale for failed solves, 0.5), at most
                 -max_step_retries times.
    adapter      "gradflow", registered with TSAdaptRegister: rejects a multistage step
                 whose new state is not admissible (half the step again), and adapts the
                 implicit step to Newton's iteration count.
    post-step    snaps the time onto the output time it was cut to, computes the
                 diagnostics, stops on blow-up.

  Why the step is chosen in the pre-step rather than by the adapter: TSSSP and TSEULER
  never ask an adapter, and TSBDF asks it before the new state is in the solution vector,
  so an adapter cannot compute the CFL bound of the state the next step starts from for
  every scheme; TSSetPreStep is PETSc's place for a step size set from the current state.
*/
#include "solver.h"
#include <petsc/private/tsimpl.h>

/*
  The step to try from time t, cut to land on t_stop (the next output time or the end):
  explicit, dt = 2 cfl c / r from the rate bound r (or -ts_dt, refused beyond the
  stability bound 2 c / r), split into equal steps up to t_stop; implicit, -ts_dt or the
  step Newton's convergence suggests; IMEX, the CFL step of the explicit part.
*/
PETSC_INTERN PetscErrorCode GFSolverChooseTimeStep(GFSolver s, PetscReal t, PetscReal t_stop, PetscReal *dt)
{
  PetscFunctionBeginUser;
  if (s->imex && s->fixed_dt == 0) {
    /* IMEX: the CFL bound of the explicit part alone, transport by the nonlocal potential drift_all - drift_local */
    PetscReal rate;
    if (!s->drift_ready || !s->local_drift_ready) PetscCall(DMGlobalToLocal(s->grid->da, s->rho, INSERT_VALUES, s->rho_local));
    PetscCall(GFSolverUpdateDrift(s, t, s->rho, GF_DRIFT_ALL));
    PetscCall(GFSolverUpdateDrift(s, t, s->rho, GF_DRIFT_LOCAL));
    PetscCall(VecWAXPY(s->explicit_potential_local, -1, s->local_drift_local, s->drift_local));
    PetscCall(GFTransportDriftChanged(s->explicit_transport));
    PetscCall(GFTransportComputeMaxRate(s->explicit_transport, s->rho_local, s->explicit_potential_local, 0, &rate));
    *dt = rate > 0 ? 2 * s->cfl / rate : t_stop - t;
  } else if (s->implicit) {
    *dt = s->dt_adapt ? s->dt_next : s->fixed_dt;
  } else if (s->jko) {
    *dt = s->fixed_dt > 0 ? s->fixed_dt : s->dt_next; /* tau: -ts_dt, or a hundredth of the run */
  } else {
    PetscReal rate, diffusivity, nonlocal;
    /* the ghosted density only for a drift that depends on it: a static one is ready */
    if (!s->drift_ready) PetscCall(DMGlobalToLocal(s->grid->da, s->rho, INSERT_VALUES, s->rho_local));
    PetscCall(GFSolverUpdateDrift(s, t, s->rho, GF_DRIFT_ALL));
    PetscCall(GFModelGetMaxDiffusivity(s->model, s->rho, &diffusivity));
    PetscCall(GFTransportComputeMaxRate(s->transport, s->rho_local, s->drift_local, diffusivity, &rate));
    PetscCall(GFModelGetNonlocalRate(s->model, s->rho, &nonlocal));
    rate += nonlocal;
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
  Whether rho is admissible: finite and >= 0 everywhere, up to negative values no larger
  than 1e-12 max(rho) -- far tails of second-order implicit or IMEX steps, which are
  positive only below a step bound, and round-off. With fix, those are set to zero and the
  rest rescaled to the same mass (a change of at most 1e-12 of the maximum, counted and
  reported).
*/
static PetscErrorCode GFSolverIsAdmissible(GFSolver s, Vec rho, PetscBool fix, PetscBool *ok)
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
  *ok = GFAdmissible(global);
  if (fix && *ok && global[1] > 0) {
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

/* The tail fix of GFSolverIsAdmissible on an admissible state (the fused scheme's accepted step). */
PETSC_INTERN PetscErrorCode GFSolverFixTail(GFSolver s, Vec rho)
{
  PetscBool ok;

  PetscFunctionBeginUser;
  PetscCall(GFSolverIsAdmissible(s, rho, PETSC_TRUE, &ok));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Before a step: remember the state (for a retry and for the failure report) and set the step from it. */
static PetscErrorCode GFSolverPreStep(TS ts)
{
  GFSolver  s;
  PetscReal t, dt;

  PetscFunctionBeginUser;
  PetscCall(TSGetApplicationContext(ts, &s));
  PetscCall(TSGetTime(ts, &t));
  if (s->rho_prev) PetscCall(VecCopy(s->rho, s->rho_prev));
  s->t_stop        = PetscMin(GFSolverOutputTime(s, s->next_output), s->problem->t_end);
  s->energy_before = s->diag.energy;
  PetscCall(TSGetSNESIterations(ts, &s->newton_before));
  PetscCall(GFSolverChooseTimeStep(s, t, s->t_stop, &dt));
  s->requested = s->implicit && s->dt_adapt ? s->dt_next : dt;
  PetscCall(TSSetTimeStep(ts, dt));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Before a stage: the first stage of a multistage step retried after the adapter rejected
  it starts from the saved state. TSRollBack of TSRK and TSARKIMEX subtracts the step
  again, which leaves round-off (and, where rho was 0, values just below it).
*/
static PetscErrorCode GFSolverPreStage(TS ts, PetscReal t)
{
  GFSolver  s;
  PetscReal t0;

  PetscFunctionBeginUser;
  PetscCall(TSGetApplicationContext(ts, &s));
  PetscCall(TSGetTime(ts, &t0));
  if (s->restore && t == t0) {
    PetscCall(VecCopy(s->rho_prev, s->rho));
    s->restore = PETSC_FALSE;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  A stage must be admissible. The stage of a single-stage implicit scheme (theta, backward
  Euler, BDF) at the end of the step is the new state itself: its negligible negative tail
  is fixed here, before the scheme copies it (a fix after the step would restart BDF's
  history).
*/
static PetscErrorCode GFSolverCheckStage(TS ts, PetscReal t, Vec Y, PetscBool *accept)
{
  GFSolver  s;
  PetscReal t0, dt;

  PetscFunctionBeginUser;
  PetscCall(TSGetApplicationContext(ts, &s));
  PetscCall(TSGetTime(ts, &t0));
  PetscCall(TSGetTimeStep(ts, &dt));
  PetscCall(GFSolverIsAdmissible(s, Y, (PetscBool)(s->implicit && !s->imex && t == t0 + dt), accept));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  After an accepted implicit step of length dt that was asked for `requested`: grow the
  next step by 1.5 when Newton took <= 3 iterations (to its 1e-12 tolerance), shrink it
  by 0.7 from 7 on, keep it otherwise (a step cut short by an output time does not
  shrink it), within dt_max.
*/
static void GFSolverAdaptTimeStep(GFSolver s, PetscReal dt, PetscInt newton)
{
  if (dt < s->requested * (1 - 1e-12) && newton < 7) return;
  if (newton <= 3)
    s->dt_next = PetscMin(1.5 * dt, s->dt_max);
  else if (newton >= 7)
    s->dt_next = 0.7 * dt;
  else
    s->dt_next = dt;
}

/*
  The "gradflow" adapter, asked after each attempt of a step of length h whose stages were
  admissible. Backward Euler: PETSc's TSBEULER stores X0 + h (X - X0)/h; the Newton
  solution X is the step itself, without that round-off. A multistage step (RK, IMEX)
  whose new state is not admissible is rejected with half the step; an accepted one has
  its negligible tail fixed. The next step is set by the pre-step hook: next_h = h.
*/
static PetscErrorCode GFAdaptChoose(TSAdapt adapt, TS ts, PetscReal h, PetscInt *next_sc, PetscReal *next_h, PetscBool *accept, PetscReal *wlte, PetscReal *wltea, PetscReal *wlter)
{
  GFSolver s;

  PetscFunctionBeginUser;
  (void)adapt;
  PetscCall(TSGetApplicationContext(ts, &s));
  *next_sc = 0;
  *wlte = *wltea = *wlter = -1;
  *next_h                 = h;
  *accept                 = PETSC_TRUE;
  if (s->beuler) {
    SNES snes;
    Vec  X;
    PetscCall(TSGetSNES(ts, &snes));
    PetscCall(SNESGetSolution(snes, &X));
    PetscCall(VecCopy(X, s->rho));
  }
  if (s->check_final) PetscCall(GFSolverIsAdmissible(s, s->rho, PETSC_TRUE, accept));
  if (!*accept) {
    *next_h    = 0.5 * h;
    s->restore = PETSC_TRUE;
  } else if (s->implicit && s->dt_adapt) {
    PetscInt newton;
    PetscCall(TSGetSNESIterations(ts, &newton));
    GFSolverAdaptTimeStep(s, h, newton - s->newton_before);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode TSAdaptCreate_GradFlow(TSAdapt adapt)
{
  PetscFunctionBeginUser;
  adapt->ops->choose = GFAdaptChoose;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The "gradflow" TSAdapt, once per process. */
PETSC_INTERN PetscErrorCode GFRegisterStepControl(void)
{
  PetscFunctionBeginUser;
  PetscCall(TSAdaptRegister("gradflow", TSAdaptCreate_GradFlow));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  After an accepted step of length dt: TSSSP and TSEULER ask no adapter, so their new state
  is checked here (and a bad one ends the run: they cannot retry); the time is snapped onto
  the output time or end the step was cut to; the diagnostics are computed (all of them every
  -diagnostics_interval steps, at output times and at the end; mass, min and max every step) and
  the run stopped when the density concentrates below the grid scale.
*/
static PetscErrorCode GFSolverPostStep(TS ts)
{
  GFSolver  s;
  PetscReal t, dt;
  PetscInt  step;

  PetscFunctionBeginUser;
  PetscCall(TSGetApplicationContext(ts, &s));
  if (s->no_adapter) {
    PetscBool ok;
    PetscCall(GFSolverIsAdmissible(s, s->rho, PETSC_TRUE, &ok));
    if (!ok) {
      PetscCall(TSSetConvergedReason(ts, TS_DIVERGED_STEP_REJECTED));
      PetscFunctionReturn(PETSC_SUCCESS);
    }
  }
  PetscCall(TSGetTime(ts, &t));
  PetscCall(TSGetTimeStep(ts, &dt));
  PetscCall(TSGetStepNumber(ts, &step));
  if (PetscAbsReal(t - s->t_stop) <= 1e-12 * PetscMax(1, PetscAbsReal(s->t_stop))) {
    t = s->t_stop;
    PetscCall(TSSetTime(ts, t));
  }
  if (t >= s->problem->t_end - 1e-12 * PetscMax(1, PetscAbsReal(s->problem->t_end))) PetscCall(TSSetConvergedReason(ts, TS_CONVERGED_TIME));
  s->steps_taken++;
  {
    /* full diagnostics every -diagnostics_interval steps, at output times and at the end; the step's mass, min and max always */
    TSConvergedReason reason;
    PetscCall(TSGetConvergedReason(ts, &reason));
    s->diag.partial = (PetscBool)(s->diag_interval > 1 && s->steps_taken % s->diag_interval && t != s->t_stop && !reason);
    if (s->diag.partial) PetscCall(GFSolverComputeStepDiagnostics(s, s->rho, &s->diag));
    if (s->diag.partial && s->traits.can_concentrate && s->diag.max_density * s->grid->cell_volume >= s->blowup_fraction * s->diag.mass) s->diag.partial = PETSC_FALSE; /* blow-up: its snapshot has them all */
    if (!s->diag.partial) PetscCall(GFSolverComputeDiagnostics(s, s->rho, &s->diag));
  }
  s->diag.step = step;
  s->diag.dt   = dt;
  if (s->jko) {
    s->diag.has_jko         = PETSC_TRUE;
    s->diag.jko_iterations  = s->jko_result.iterations;
    s->diag.jko_residual[0] = s->jko_result.residual[0];
    s->diag.jko_residual[1] = s->jko_result.residual[1];
    s->diag.jko_w2sq        = s->jko_result.w2sq;
    s->diag.jko_gap         = s->jko_gap;
  }
  if (!s->diag.partial) {
    /* against the last full diagnostics (energy_before keeps them between) */
    const PetscReal rise = (s->diag.energy - s->energy_before) / PetscMax(1, PetscAbsReal(s->energy_before));
    if (rise > 1e-12) s->energy_rises++;
    s->max_energy_rise = PetscMax(s->max_energy_rise, rise);
  }
  if (s->traits.can_concentrate && s->diag.max_density * s->grid->cell_volume >= s->blowup_fraction * s->diag.mass) {
    s->blowup_time = t;
    PetscCall(TSSetConvergedReason(ts, TS_CONVERGED_USER));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The hooks on the solver's TS: its adapter, the retry rules, pre-step, pre-stage, stage check, post-step and monitor. */
PETSC_INTERN PetscErrorCode GFSolverSetUpStepControl(GFSolver s)
{
  TSAdapt   adapt;
  PetscBool rk, arkimex, ssp, euler;

  PetscFunctionBeginUser;
  PetscCall(PetscObjectTypeCompare((PetscObject)s->ts, TSRK, &rk));
  PetscCall(PetscObjectTypeCompare((PetscObject)s->ts, TSARKIMEX, &arkimex));
  PetscCall(PetscObjectTypeCompare((PetscObject)s->ts, TSSSP, &ssp));
  PetscCall(PetscObjectTypeCompare((PetscObject)s->ts, TSEULER, &euler));
  s->check_final = (PetscBool)(rk || arkimex);
  s->no_adapter  = (PetscBool)(ssp || euler || s->jko);
  PetscCall(TSSetApplicationContext(s->ts, s));
  PetscCall(TSGetAdapt(s->ts, &adapt));
  PetscCall(TSAdaptSetType(adapt, "gradflow"));
  PetscCall(TSAdaptSetScaleSolveFailed(adapt, 0.5));
  PetscCall(TSSetMaxStepRejections(s->ts, s->max_retries));
  PetscCall(TSSetMaxSNESFailures(s->ts, -1));
  PetscCall(TSSetExactFinalTime(s->ts, TS_EXACTFINALTIME_STEPOVER));
  PetscCall(TSSetErrorIfStepFails(s->ts, PETSC_FALSE));
  PetscCall(TSSetPreStep(s->ts, GFSolverPreStep));
  PetscCall(TSSetPreStage(s->ts, GFSolverPreStage));
  PetscCall(TSSetFunctionDomainError(s->ts, GFSolverCheckStage));
  PetscCall(TSSetPostStep(s->ts, GFSolverPostStep));
  PetscCall(TSMonitorSet(s->ts, GFSolverMonitor, s, NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}
