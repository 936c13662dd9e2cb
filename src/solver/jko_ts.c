/*
  TS type "jko": each time step of length tau (-ts_dt) is one JKO step (jko.h),

      rho_new = argmin_rho  F(rho) + W2^2(rho, rho_old) / (2 tau),

  solved by the method -jko_method names: quantile (exact, 1D), primal_dual (1D to 3D), bfm
  (back-and-forth, 1D to 3D, walls). A
  registered TS type, so that TSSolve drives it like the other schemes: output times, the
  diagnostics, restart, -ts_max_time, time-refinement studies and the progress line are
  those of every run. Per step the type records the method's iterations and residuals,
  W2^2 and the JKO inequality's gap F(rho_new) + W2^2 / (2 tau) - F(rho_old), which a JKO
  step makes <= 0 (the minimiser beats rho_old itself, whose value is F(rho_old)); a gap
  above the tolerance (-jko_rtol of max(1, |F(rho_old)|)) is counted and reported. A step
  whose solver does not converge ends the run (no retry: the step is the user's tau) with
  the last good state kept.
*/
#include "jko.h"
#include <petsc/private/tsimpl.h>

const char *const GFJKOMethods[] = {"primal_dual", "quantile", "bfm", "auto", "GFJKOMethod", "GF_JKO_", NULL};

typedef struct {
  GFJKOMethod      method;
  Vec              next;         /* the step's minimiser */
  Vec              half;         /* -jko_order 2: the half step's minimiser */
  PetscReal        energy;       /* F of the solution ... */
  PetscObjectState energy_state; /* ... in this state of it */
} TS_JKO;

/* One JKO step of length tau from the solution into jko->next, its inequality recorded; false when its solver did not converge. */
static PetscErrorCode Step(TS ts, GFSolver s, PetscReal tau, Vec from, PetscBool *converged)
{
  TS_JKO     *jko = (TS_JKO *)ts->data;
  GFJKOResult r;
  PetscReal   F_new;

  PetscFunctionBeginUser;
  PetscCall(jko->method->step(jko->method, tau, from, jko->next, &r));
  s->jko_result = r;
  *converged    = r.converged;
  if (!r.converged) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(GFModelComputeEnergy(s->model, jko->next, &F_new));
  s->jko_gap = F_new + r.w2sq / (2 * tau) - jko->energy;
  if (s->jko_gap > s->jko_rtol * PetscMax(1, PetscAbsReal(jko->energy))) s->jko_violations++;
  s->jko_worst_gap = PetscMax(s->jko_worst_gap, s->jko_gap / PetscMax(1, PetscAbsReal(jko->energy)));
  s->jko_iterations += r.iterations;
  jko->energy = F_new;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  One time step: a JKO step of tau; or (-jko_order 2) a JKO step of tau/2 and its geodesic
  extended to twice its length, where that is a map (else a second JKO step of tau/2). The
  recorded inequality is that of the (last) JKO step. A step whose solver does not converge
  leaves the solution at the step's start and stops the run.
*/
static PetscErrorCode TSStep_JKO(TS ts)
{
  TS_JKO          *jko = (TS_JKO *)ts->data;
  const PetscReal  tau = ts->time_step;
  GFSolver         s;
  PetscObjectState state;
  PetscBool        converged, ok = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCall(TSGetApplicationContext(ts, &s));
  PetscCall(PetscObjectStateGet((PetscObject)ts->vec_sol, &state));
  if (state != jko->energy_state) PetscCall(GFModelComputeEnergy(s->model, ts->vec_sol, &jko->energy));
  PetscCall(Step(ts, s, s->jko_order == 2 ? tau / 2 : tau, ts->vec_sol, &converged));
  if (converged && s->jko_order == 2) {
    if (!jko->half) PetscCall(VecDuplicate(ts->vec_sol, &jko->half));
    PetscCall(VecCopy(jko->next, jko->half));
    PetscCall(jko->method->extrapolate(jko->method, jko->half, jko->next, &ok));
    if (ok)
      PetscCall(GFModelComputeEnergy(s->model, jko->next, &jko->energy));
    else {
      s->jko_fallbacks++;
      PetscCall(Step(ts, s, tau / 2, jko->half, &converged));
    }
  }
  if (!converged) {
    ts->reason = TS_DIVERGED_NONLINEAR_SOLVE;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(VecCopy(jko->next, ts->vec_sol));
  PetscCall(PetscObjectStateGet((PetscObject)ts->vec_sol, &jko->energy_state));
  ts->ptime += tau;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The energy of the steps from the model, refused for models that are not W2 gradient flows; the method set up. */
static PetscErrorCode TSSetUp_JKO(TS ts)
{
  TS_JKO     *jko = (TS_JKO *)ts->data;
  GFSolver    s;
  GFModel     model;
  GFJKOMethod method;

  PetscFunctionBeginUser;
  PetscCall(TSGetApplicationContext(ts, &s));
  if (jko->method) PetscFunctionReturn(PETSC_SUCCESS);
  model = s->model;
  PetscCheck(model->exponent > 0, s->comm, PETSC_ERR_USER_INPUT, "-ts_type jko with -model %s: %s, so it has no JKO step here; use another -ts_type", s->traits.type,
             model->no_jko ? model->no_jko : "it is not a W2 gradient flow of an energy the JKO methods know");
  if (s->jko_method == GF_JKO_AUTO) {
    /* the exact method where it applies: 1D, walls, diffusion, no interaction */
    const PetscBool exact = (PetscBool)(s->grid->dim == 1 && s->grid->bc != GF_BC_PERIODIC && model->sigma > 0 && !model->dynamics.convolution);
    s->jko_method         = exact ? GF_JKO_QUANTILE : GF_JKO_PRIMAL_DUAL;
  }
  if (s->jko_rtol == 0) s->jko_rtol = s->jko_method == GF_JKO_QUANTILE ? 1e-12 : 1e-5;
  if (s->jko_max_it == 0) s->jko_max_it = s->jko_method == GF_JKO_QUANTILE ? 100 : (s->jko_method == GF_JKO_BFM ? 1000 : 20000);
  s->jko_worst_gap = -PETSC_MAX_REAL;
  PetscCall(PetscNew(&method));
  method->comm   = s->comm;
  method->grid   = s->grid;
  method->rtol   = s->jko_rtol;
  method->max_it = s->jko_max_it;
  method->energy = (GFJKOEnergy){model->sigma, model->exponent, model->V, model->potential, model->dynamics.convolution, model->dynamics.convolution_kernel, model->dynamics.interaction};
  jko->method    = method;
  if (s->jko_method == GF_JKO_QUANTILE) {
    PetscCheck(s->grid->dim == 1, s->comm, PETSC_ERR_USER_INPUT, "-jko_method quantile is exact in 1D only, and this grid is %" PetscInt_FMT "D: use -jko_method primal_dual", s->grid->dim);
    PetscCall(GFJKOSetUpQuantile(method));
  } else if (s->jko_method == GF_JKO_BFM)
    PetscCall(GFJKOSetUpBFM(method));
  else
    PetscCall(GFJKOSetUpPrimalDual(method));
  PetscCheck(s->jko_order == 1 || method->extrapolate, s->comm, PETSC_ERR_USER_INPUT, "-jko_order 2: -jko_method %s has no geodesic extrapolation; use -jko_order 1 or another -jko_method", GFJKOMethods[s->jko_method]);
  PetscCall(VecDuplicate(ts->vec_sol, &jko->next));
  jko->energy_state = -1;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode TSReset_JKO(TS ts)
{
  TS_JKO *jko = (TS_JKO *)ts->data;

  PetscFunctionBeginUser;
  PetscCall(GFJKOMethodDestroy(&jko->method));
  PetscCall(VecDestroy(&jko->next));
  PetscCall(VecDestroy(&jko->half));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode TSDestroy_JKO(TS ts)
{
  PetscFunctionBeginUser;
  PetscCall(TSReset_JKO(ts));
  PetscCall(PetscFree(ts->data));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode TSCreate_JKO(TS ts)
{
  TS_JKO *jko;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&jko));
  ts->data               = jko;
  ts->ops->setup         = TSSetUp_JKO;
  ts->ops->step          = TSStep_JKO;
  ts->ops->reset         = TSReset_JKO;
  ts->ops->destroy       = TSDestroy_JKO;
  ts->default_adapt_type = TSADAPTNONE;
  ts->usessnes           = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The "jko" TS type, once per process. */
PETSC_INTERN PetscErrorCode GFRegisterJKO(void)
{
  PetscFunctionBeginUser;
  PetscCall(TSRegister(GF_TS_JKO, TSCreate_JKO));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFJKOMethodDestroy(GFJKOMethod *jko)
{
  PetscFunctionBeginUser;
  if (!*jko) PetscFunctionReturn(PETSC_SUCCESS);
  if ((*jko)->destroy) PetscCall((*jko)->destroy(*jko));
  PetscCall(PetscFree(*jko));
  PetscFunctionReturn(PETSC_SUCCESS);
}
