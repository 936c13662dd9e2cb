/*
  TS type "fusedssp": SSP-RK(4,3) (SSP coefficient 2; Kraaijevanger 1991, Ketcheson 2008) in
  its two-register Shu-Osher form, each stage one fused pass of GFTransportStage:

      A = U + h/2 L(U)
      B = A + h/2 L(A)
      A = B + 2/3 (U - B) + h/6 L(B)
      U_new = A + h/2 L(A)   (into the solution and the third register)

  In 2D and 3D inside walls, where the ranks split the grid along the last axis only (each at
  least 4 layers: rows in 2D, planes in 3D), the four stages go in one pass
  (GFTransportStageChain: a wavefront, each stage a layer behind the one before, every rank also
  sweeping its neighbours' 4 nearest layers): it reads the solution and writes the new state
  into a second register that the solution then shows (Exchange), about 16 + 16 dim bytes per
  cell per step. Elsewhere in 2D (periodic, ranks across x) the stages go in pairs, each pair
  one pass (GFTransportStagePair: the first stage's rows in a ring one row ahead of the
  second's), stages 3 and 4 in place over U, whose start is then only in the solution vector:
  two registers, about 120 bytes per cell per step instead of 208. All the same numbers bitwise.

  The default explicit scheme wherever the equation is Scharfetter-Gummel transport by a static
  drift (Fokker-Planck in a fixed potential): the same scheme as TSRK's "ssprk43", about a third
  of its memory traffic. The convex combination is written as B + 2/3 (U - B), not
  2/3 U + 1/3 B, so that the rounded weights cannot bias the mass (2/3 + 1/3 rounds to
  1 - 5.6e-17: a systematic loss every step); what is left is the rounding of each cell's sum,
  which does not accumulate in one direction.

  Registers (1D, 3D periodic or split across other axes): three ghosted local vectors U, A, B; U holds the step's start (so a
  rejected step restarts from it and no copy of the state is kept per step), and after an
  accepted step the register holding the new state becomes U (2D: the pairs' U is rebuilt from
  the solution after a rejected step). Ghosts (one layer) are refreshed by GFHalo: only
  the neighbours' face layers move. The last stage's pass returns the new state's extremes and
  sum: a state that is not finite or has values below -1e-12 of its largest rejects the step,
  which is retried with half of it, as the other explicit schemes are.
*/
#include "solver.h"
#include <petsc/private/tsimpl.h>

typedef struct {
  Vec              R[3];     /* the registers: R[0] is U, the step's start */
  PetscReal       *array[3]; /* ... their storage */
  GFHalo           halo;     /* their ghost layer */
  PetscBool        pairs;    /* 2D: two stages per pass (GFTransportStagePair), two registers */
  PetscBool        chain;    /* inside walls, ranks along the last axis only: the four stages in one pass (GFTransportStageChain), see Exchange */
  PetscObjectState state;    /* the solution's state when R[0] last matched it */
  Vec              sol;      /* chain: the solution, which shows R[0]'s or R[1]'s storage (a reference) */
  PetscInt         shown;    /* chain: the register sol shows (VecPlaceArray), -1 its own storage */
} TS_FusedSSP;

/*
  The chain's registers. The chain reads global vectors (the neighbours' rows come with it), so
  the pass reads the solution itself and writes the new state into the other register: the
  solution shows one of two huge-page registers R[0], R[1] (VecPlaceArray), and an accepted step
  makes it show the other (no copy; a rejected step finds its start untouched in the solution).
  Unplace copies the state back into the solution's own array before the solution is left to
  others (reset, a new solution).
*/
static PetscErrorCode Unplace(TS_FusedSSP *ssp)
{
  PetscFunctionBeginUser;
  if (ssp->shown >= 0) {
    PetscScalar *own;
    PetscInt     n;

    PetscCall(VecResetArray(ssp->sol));
    PetscCall(VecGetLocalSize(ssp->sol, &n));
    PetscCall(VecGetArray(ssp->sol, &own));
    PetscCall(PetscArraycpy(own, ssp->array[ssp->shown], n));
    PetscCall(VecRestoreArray(ssp->sol, &own));
    ssp->shown = -1;
  }
  PetscCall(VecDestroy(&ssp->sol));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The chain's output register for the solution ts->vec_sol (which shows the other from its first step on). */
static PetscErrorCode ChainOutput(TS ts, TS_FusedSSP *ssp, Vec *out)
{
  PetscFunctionBeginUser;
  if (ssp->sol != ts->vec_sol) {
    const PetscScalar *own;
    PetscInt           n;

    PetscCall(Unplace(ssp));
    ssp->sol = ts->vec_sol;
    PetscCall(PetscObjectReference((PetscObject)ssp->sol));
    PetscCall(VecGetLocalSize(ssp->sol, &n));
    PetscCall(VecGetArrayRead(ssp->sol, &own));
    PetscCall(PetscArraycpy(ssp->array[0], own, n));
    PetscCall(VecRestoreArrayRead(ssp->sol, &own));
    PetscCall(VecPlaceArray(ssp->sol, ssp->array[0]));
    ssp->shown = 0;
  }
  *out = ssp->R[1 - ssp->shown];
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The chain's accepted step: the solution shows the register that holds the new state. */
static PetscErrorCode Exchange(TS_FusedSSP *ssp)
{
  PetscFunctionBeginUser;
  ssp->shown = 1 - ssp->shown;
  PetscCall(VecResetArray(ssp->sol));
  PetscCall(VecPlaceArray(ssp->sol, ssp->array[ssp->shown]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* U from the solution when something else (restart, a tail fix, the caller) changed the solution since the last step. */
static PetscErrorCode SyncStart(TS ts, TS_FusedSSP *ssp)
{
  PetscObjectState state;

  PetscFunctionBeginUser;
  PetscCall(PetscObjectStateGet((PetscObject)ts->vec_sol, &state));
  if (state != ssp->state)
    PetscCall(DMGlobalToLocal(ts->dm, ts->vec_sol, INSERT_VALUES, ssp->R[0]));
  else
    PetscCall(GFHaloExchange(ssp->halo, ssp->R[0]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The four stages of one attempt of length h from U; accept tells whether the new state is
  finite and not below -1e-12 of its largest value on every rank, negative whether it has
  (such negligible) negative values; final[] gets its min, max and sum over all ranks. Only
  the new state is checked: a stage that is not finite makes it so (every stage's value of
  a cell enters that cell's next one), and SSP stages of an admissible step are positive.
*/
static PetscErrorCode Attempt(TS ts, TS_FusedSSP *ssp, GFSolver s, PetscReal h, PetscBool *accept, PetscBool *negative, PetscReal final[3])
{
  const PetscReal   t = ts->ptime, third = 2.0 / 3.0;
  const GFTransport tr = s->transport;
  Vec              *R  = ssp->R;
  PetscReal         stats[3], local[3], global[3];

  PetscFunctionBeginUser;
  if (ssp->chain) {
    /* the four stages in one pass, from the solution into the other storage */
    const PetscReal w[4] = {0, 0, third, 0}, k[4] = {h / 2, h / 2, h / 6, h / 2};
    Vec             out = NULL;

    PetscCall(ChainOutput(ts, ssp, &out));
    PetscCall(TSPreStage(ts, t));
    PetscCall(GFTransportStageChain(tr, ts->vec_sol, s->drift_local, 4, w, k, out, stats));
  } else if (ssp->pairs) {
    /* 2D: stages 1 and 2 in one pass into B = R[1], stages 3 and 4 in one pass into U's own register */
    PetscCall(TSPreStage(ts, t));
    PetscCall(GFTransportStagePair(tr, ssp->halo, R[0], s->drift_local, NULL, 0, h / 2, h / 2, R[1], NULL));
    PetscCall(GFHaloExchange(ssp->halo, R[1]));
    PetscCall(TSPreStage(ts, t + h));
    PetscCall(GFTransportStagePair(tr, ssp->halo, R[1], s->drift_local, R[0], third, h / 6, h / 2, R[0], stats));
  } else {
    PetscCall(TSPreStage(ts, t));
    PetscCall(GFTransportStage(tr, R[0], s->drift_local, NULL, 0, h / 2, R[1], NULL, NULL));
    PetscCall(GFHaloExchange(ssp->halo, R[1]));
    PetscCall(TSPreStage(ts, t + h / 2));
    PetscCall(GFTransportStage(tr, R[1], s->drift_local, NULL, 0, h / 2, R[2], NULL, NULL));
    PetscCall(GFHaloExchange(ssp->halo, R[2]));
    PetscCall(TSPreStage(ts, t + h));
    PetscCall(GFTransportStage(tr, R[2], s->drift_local, R[0], third, h / 6, R[1], NULL, NULL));
    PetscCall(GFHaloExchange(ssp->halo, R[1]));
    PetscCall(TSPreStage(ts, t + h / 2));
    PetscCall(GFTransportStage(tr, R[1], s->drift_local, NULL, 0, h / 2, R[2], ts->vec_sol, stats));
  }
  /* one reduction of [not finite, -min, max], one of the sum */
  local[0] = PetscIsInfOrNanReal(stats[2]) ? 1 : 0;
  local[1] = -stats[0];
  local[2] = stats[1];
  PetscCall(MPIU_Allreduce(local, global, 3, MPIU_REAL, MPIU_MAX, PetscObjectComm((PetscObject)ts)));
  PetscCall(MPIU_Allreduce(&stats[2], &final[2], 1, MPIU_REAL, MPIU_SUM, PetscObjectComm((PetscObject)ts)));
  *accept   = GFAdmissible(global);
  *negative = (PetscBool)(global[1] > 0);
  final[0]  = -global[1];
  final[1]  = global[2];
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode TSStep_FusedSSP(TS ts)
{
  TS_FusedSSP *ssp = (TS_FusedSSP *)ts->data;
  GFSolver     s;
  PetscInt     rejections = 0;

  PetscFunctionBeginUser;
  PetscCall(TSGetApplicationContext(ts, &s));
  if (!ssp->chain) PetscCall(SyncStart(ts, ssp));
  while (!ts->reason) {
    PetscBool accept, negative;

    PetscCall(Attempt(ts, ssp, s, ts->time_step, &accept, &negative, s->state_stats));
    if (accept) {
      if (ssp->chain)
        PetscCall(Exchange(ssp));
      else if (ssp->pairs)
        PetscCall(GFGridCopyOwned(s->grid, ssp->R[0], ts->vec_sol)); /* the new state, in U's register */
      else {
        Vec U     = ssp->R[0];
        ssp->R[0] = ssp->R[2];
        ssp->R[2] = U;
      }
      ts->ptime += ts->time_step;
      /* a negligible negative tail (below 1e-12 of the maximum) is zeroed, the mass kept; the solution then no longer matches U */
      if (negative) PetscCall(GFSolverFixTail(s, ts->vec_sol));
      s->state_stats_set = (PetscBool)!negative;
      PetscCall(PetscObjectStateGet((PetscObject)ts->vec_sol, &ssp->state));
      break;
    }
    /* back to the step's start, half the step (the pairs overwrote U's register, the solution still holds the start; the chain's start is the solution) */
    if (ssp->pairs && !ssp->chain)
      PetscCall(DMGlobalToLocal(ts->dm, ts->vec_sol, INSERT_VALUES, ssp->R[0]));
    else if (!ssp->pairs)
      PetscCall(GFGridCopyOwned(s->grid, ssp->R[0], ts->vec_sol));
    PetscCall(PetscObjectStateGet((PetscObject)ts->vec_sol, &ssp->state));
    ts->time_step *= ts->adapt ? ts->adapt->scale_solve_failed : 0.5;
    ts->reject++;
    if (++rejections > ts->max_reject && ts->max_reject >= 0) ts->reason = TS_DIVERGED_STEP_REJECTED;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode TSSetUp_FusedSSP(TS ts)
{
  TS_FusedSSP *ssp = (TS_FusedSSP *)ts->data;
  GFSolver     s;

  PetscFunctionBeginUser;
  PetscCall(TSGetApplicationContext(ts, &s));
  if (!ssp->halo) PetscCall(GFHaloCreate(s->grid, 1, &ssp->halo));
  ssp->pairs = (PetscBool)(s->grid->dim == 2);
  PetscCall(GFTransportStageChainApplies(s->transport, 4, &ssp->chain));
  for (PetscInt i = 0; i < (ssp->pairs ? 2 : 3); i++) {
    /* on huge pages where the system has them (GFHugeAlloc): the kernels' streams; the chain's register is global (owned cells), the others ghosted */
    const GFLocalBox *b = &s->grid->box;
    const PetscInt    n = ssp->chain ? b->size[0] * b->size[1] * b->size[2] : b->gsize[0] * b->gsize[1] * b->gsize[2];
    if (ssp->R[i]) continue;
    PetscCall(GFHugeAlloc((size_t)n, &ssp->array[i]));
    PetscCall(VecCreateSeqWithArray(PETSC_COMM_SELF, 1, n, ssp->array[i], &ssp->R[i]));
  }
  ssp->state = -1;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode TSReset_FusedSSP(TS ts)
{
  TS_FusedSSP *ssp = (TS_FusedSSP *)ts->data;

  PetscFunctionBeginUser;
  PetscCall(Unplace(ssp));
  for (PetscInt i = 0; i < 3; i++) {
    PetscCall(VecDestroy(&ssp->R[i]));
    PetscCall(GFHugeFree(&ssp->array[i]));
  }
  PetscCall(GFHaloDestroy(&ssp->halo));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode TSDestroy_FusedSSP(TS ts)
{
  PetscFunctionBeginUser;
  PetscCall(TSReset_FusedSSP(ts));
  PetscCall(PetscObjectComposeFunction((PetscObject)ts, "GFFusedSSPGetBytesPerCell_C", NULL));
  PetscCall(PetscFree(ts->data));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The bytes per cell a step moves by the scheme's count (writes counted once, as STREAM does),
  queried as "GFFusedSSPGetBytesPerCell_C" (gradflow bench step): the chain 16 + 16 dim (the state
  and the two Scharfetter-Gummel coefficients per axis read, the new state written), the pairs 120 (the
  first pass reads the state and the coefficients and writes B, the second reads B, the start
  and the coefficients and writes the new state, then the copy into the solution), one stage per
  pass 80 + 64 dim (each pass reads its state and the coefficients and writes its result, the
  third also reads the start, the last also writes the solution). After the set-up.
*/
static PetscErrorCode TSFusedSSPGetBytesPerCell_FusedSSP(TS ts, PetscReal *bytes)
{
  TS_FusedSSP *ssp = (TS_FusedSSP *)ts->data;
  GFSolver     s;

  PetscFunctionBeginUser;
  PetscCall(TSGetApplicationContext(ts, &s));
  *bytes = ssp->chain ? 16 + 16 * s->grid->dim : ssp->pairs ? 120 : 80 + 64 * s->grid->dim;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode TSCreate_FusedSSP(TS ts)
{
  TS_FusedSSP *ssp;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&ssp));
  ssp->shown             = -1;
  ts->data               = ssp;
  ts->ops->setup         = TSSetUp_FusedSSP;
  ts->ops->step          = TSStep_FusedSSP;
  ts->ops->reset         = TSReset_FusedSSP;
  ts->ops->destroy       = TSDestroy_FusedSSP;
  ts->default_adapt_type = TSADAPTNONE;
  PetscCall(PetscObjectComposeFunction((PetscObject)ts, "GFFusedSSPGetBytesPerCell_C", TSFusedSSPGetBytesPerCell_FusedSSP));
  ts->usessnes = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The "fusedssp" TS type, once per process. */
PETSC_INTERN PetscErrorCode GFRegisterFusedSSP(void)
{
  PetscFunctionBeginUser;
  PetscCall(TSRegister(GF_TS_FUSED_SSP, TSCreate_FusedSSP));
  PetscFunctionReturn(PETSC_SUCCESS);
}
