/*
  The history of PETSc's TSBDF, read for a snapshot and written back on restart, so that
  a run restarted from a snapshot takes the same multistep steps as the uninterrupted one
  (TSBDF has no public access to its history: without this a restart begins again with
  its startup step, a half step of backward Euler, and differs by the scheme's error).

  TS_BDF below is PETSc's private struct of src/ts/impls/bdf/bdf.c, identical from 3.18
  to 3.22; the build refuses other versions rather than guess the layout.
*/
#include "solver.h"
#include <petsc/private/tsimpl.h>

#if PETSC_VERSION_LT(3, 18, 0) || PETSC_VERSION_GE(3, 23, 0)
#error "bdf_history.c mirrors TS_BDF of PETSc 3.18-3.22: check src/ts/impls/bdf/bdf.c of this PETSc and update the struct"
#endif

typedef struct {
  PetscInt     k, n;
  PetscReal    time[6 + 2];
  Vec          work[6 + 2];
  Vec          tvwork[6 + 2];
  PetscReal    shift;
  Vec          vec_dot;
  Vec          vec_wrk;
  Vec          vec_lte;
  PetscBool    transientvar;
  PetscInt     order;
  TSStepStatus status;
} GF_TS_BDF;

/*
  After an accepted step: the order k in use and the solutions that the next step needs
  besides the current one, most recent first (work[1..m] with their times, m = min(n, order)).
  The vectors are TSBDF's own: copy them before the next step. 0 solutions before the
  first step or for other TS types.
*/
PETSC_INTERN PetscErrorCode GFBDFGetHistory(TS ts, PetscInt *order, PetscInt *length, Vec previous[], PetscReal times[])
{
  PetscBool  bdf;
  GF_TS_BDF *b;

  PetscFunctionBeginUser;
  *order = *length = 0;
  PetscCall(PetscObjectTypeCompare((PetscObject)ts, TSBDF, &bdf));
  if (!bdf || !ts->setupcalled || ts->steprestart) PetscFunctionReturn(PETSC_SUCCESS);
  b       = (GF_TS_BDF *)ts->data;
  *order  = b->k;
  *length = PetscMin(PetscMin(b->n, b->order), GF_MAX_HISTORY);
  for (PetscInt i = 0; i < *length; i++) {
    previous[i] = b->work[i + 1];
    times[i]    = b->time[i + 1];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Before the first step of a restarted run (TS set up): the history a snapshot stored, so that the next TSStep continues instead of restarting. */
PETSC_INTERN PetscErrorCode GFBDFSetHistory(TS ts, PetscInt order, PetscInt length, Vec previous[], const PetscReal times[])
{
  PetscBool  bdf;
  GF_TS_BDF *b;

  PetscFunctionBeginUser;
  PetscCall(PetscObjectTypeCompare((PetscObject)ts, TSBDF, &bdf));
  if (!bdf || length == 0) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCheck(ts->setupcalled, PetscObjectComm((PetscObject)ts), PETSC_ERR_ORDER, "set the BDF history after TSSetUp");
  b = (GF_TS_BDF *)ts->data;
  PetscCheck(order >= 1 && order <= b->order && length <= b->order, PetscObjectComm((PetscObject)ts), PETSC_ERR_USER_INPUT,
             "the snapshot's BDF history (order %" PetscInt_FMT ", %" PetscInt_FMT " steps) does not fit -ts_bdf_order %" PetscInt_FMT "; restart with the order it was written with", order, length, b->order);
  for (PetscInt i = 0; i < length; i++) {
    PetscCall(VecCopy(previous[i], b->work[i + 1]));
    b->time[i + 1] = times[i];
  }
  b->k            = order;
  b->n            = length;
  ts->steprestart = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}
