/*
  A study's measurements: every level's density against the exact solution or (self-convergence)
  against the finest level restricted to it, the observed orders and Richardson estimates, the
  tables on stdout and study.csv.
*/
#include "study.h"

const char *const        GFStudyDtRules[]            = {"cfl", "h2", "halved"};
const char *const        GFRefines[]                 = {"space", "time", "both"};
static const char *const GFErrorNames[GF_DIST_COUNT] = {"l1", "l2", "linf", "mass", "w1", "w2"};

/* Every level must have been measured at the same times (a level that blew up or hit -ts_max_steps early has not). */
static PetscErrorCode GFStudyCheckTimes(GFStudy study)
{
  const GFStudyLevel *L0 = &study->level[0];

  PetscFunctionBeginUser;
  for (PetscInt l = 0; l < study->levels; l++) {
    const GFStudyLevel *L = &study->level[l];
    PetscCheck(L->ntimes > 0, study->comm, PETSC_ERR_USER_INPUT, "level %" PetscInt_FMT " took no step: set -ts_max_time past the start", l);
    PetscCheck(L->ntimes == L0->ntimes && PetscAbsReal(L->t[L->ntimes - 1] - L0->t[L0->ntimes - 1]) <= 1e-9 * PetscMax(1, PetscAbsReal(L0->t[L0->ntimes - 1])), study->comm, PETSC_ERR_USER_INPUT,
               "level %" PetscInt_FMT " stopped at t = %.9g after %" PetscInt_FMT " measurements but level 0 at t = %.9g after %" PetscInt_FMT ": levels must reach the same times (a blow-up or -ts_max_steps stops a run early)", l,
               (double)L->t[L->ntimes - 1], L->ntimes, (double)L0->t[L0->ntimes - 1], L0->ntimes);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Restrict fine to coarse: the mean of the 2^d children (space), or a copy (time refinement: same grid). */
static PetscErrorCode GFStudyRestrict(GFStudy study, GFGrid fine, GFGrid coarse, Vec from, Vec to)
{
  Mat R;

  PetscFunctionBeginUser;
  if (study->refine == GF_REFINE_TIME) {
    PetscCall(VecCopy(from, to));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(GFGridCreateAveraging(fine, coarse, &R));
  PetscCall(MatMult(R, from, to));
  PetscCall(MatDestroy(&R));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Self-convergence at measured time r: restrict the finest density down the ladder for
  the errors e_l = |u_l - R u_finest|, and the next finer level's for the differences
  d_l = |u_l - R u_{l+1}|. Orders come from the differences, log2(d_{l-1} / d_l):
  with u_l - u = C 2^{-pl}, d_l = C 2^{-pl} (1 - 2^{-p}) exactly, while e_l ratios
  overestimate the order next to the finest level (by log2(1 + 2^-p) at l = L - 2).
  The finest level's own error is then d_{L-2} / (2^p - 1) (Richardson).
*/
static PetscErrorCode GFStudySelfConvergence(GFStudy study, PetscInt r)
{
  const PetscInt finest = study->levels - 1;
  Vec            ref, next;

  PetscFunctionBeginUser;
  PetscCall(VecDuplicate(study->level[finest].rho[r], &ref));
  PetscCall(VecCopy(study->level[finest].rho[r], ref));
  for (PetscInt l = finest - 1; l >= 0; l--) {
    GFStudyLevel *L = &study->level[l], *F = &study->level[l + 1];
    Vec           coarse;
    PetscCall(VecDuplicate(L->rho[r], &coarse));
    PetscCall(VecDuplicate(L->rho[r], &next));
    PetscCall(GFStudyRestrict(study, F->grid, L->grid, ref, coarse));
    PetscCall(GFStudyRestrict(study, F->grid, L->grid, F->rho[r], next));
    PetscCall(GFGridDistances(L->grid, L->rho[r], coarse, L->error[r]));
    PetscCall(GFGridDistances(L->grid, L->rho[r], next, L->difference[r]));
    PetscCall(VecDestroy(&next));
    PetscCall(VecDestroy(&ref));
    ref = coarse;
  }
  PetscCall(VecDestroy(&ref));
  for (PetscInt l = 1; l < finest; l++)
    for (PetscInt k = 0; k < GF_DIST_COUNT; k++) study->level[l].order[r][k] = PetscLog2Real(study->level[l - 1].difference[r][k] / study->level[l].difference[r][k]);
  for (PetscInt k = 0; k < GF_DIST_COUNT; k++) {
    const PetscReal p                        = study->level[finest - 1].order[r][k];
    study->richardson[r * GF_DIST_COUNT + k] = study->level[finest - 1].difference[r][k] / (PetscPowReal(2, p) - 1);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Whether level l has an error (the finest level is the reference in self-convergence) and an observed order. */
static PetscBool GFStudyHasError(GFStudy study, PetscInt l)
{
  return (PetscBool)(study->exact || l < study->levels - 1);
}

static PetscBool GFStudyHasOrder(GFStudy study, PetscInt l)
{
  return (PetscBool)(l > 0 && (study->exact || l < study->levels - 1));
}

/* What the dt column means, for the table. */
static const char *GFStudyDtRuleText(GFStudy study)
{
  switch (study->dt_rule) {
  case GF_DT_CFL: return study->scheme[0] ? "the explicit CFL step of each level (SSP-RK3 in place of the model's implicit default, whose first-order time error would dominate)" : "the explicit CFL step of each level";
  case GF_DT_SCALED_H2: return "dt0 (h/h0)^2: the coarsest level's step scaled with the square of the grid size";
  default: return "dt0 / 2^level on a fixed grid";
  }
}

/* The table at measured time r, on stdout. */
static PetscErrorCode GFStudyPrintTable(GFStudy study, PetscInt r)
{
  const PetscInt nerr = study->dim == 1 ? GF_DIST_COUNT : GF_DIST_W1;

  PetscFunctionBeginUser;
  PetscCall(
      PetscPrintf(study->comm, "\nconvergence study at t = %.6g: %s refinement, errors against %s\n", (double)study->level[0].t[r], GFRefines[study->refine], study->exact ? "the exact solution" : "the finest level (orders from successive levels)"));
  PetscCall(PetscPrintf(study->comm, "time steps: %s\n", GFStudyDtRuleText(study)));
  PetscCall(PetscPrintf(study->comm, "%5s %10s %10s %10s", "level", "cells", "h", "dt"));
  for (PetscInt k = 0; k < nerr; k++) PetscCall(PetscPrintf(study->comm, k == GF_DIST_MASS ? " %10s" : " %10s %6s", GFErrorNames[k], "order"));
  PetscCall(PetscPrintf(study->comm, " %9s\n", "seconds"));
  for (PetscInt l = 0; l < study->levels; l++) {
    const GFStudyLevel *L = &study->level[l];
    PetscCall(PetscPrintf(study->comm, "%5" PetscInt_FMT " %10" PetscInt_FMT " %10.4e %10.4e", l, L->cells, (double)L->h, (double)L->dt));
    for (PetscInt k = 0; k < nerr; k++) {
      if (GFStudyHasError(study, l))
        PetscCall(PetscPrintf(study->comm, " %10.4e", (double)L->error[r][k]));
      else
        PetscCall(PetscPrintf(study->comm, " %10s", "(ref)"));
      if (k == GF_DIST_MASS) continue;
      if (GFStudyHasOrder(study, l))
        PetscCall(PetscPrintf(study->comm, " %6.3f", (double)L->order[r][k]));
      else
        PetscCall(PetscPrintf(study->comm, " %6s", "-"));
    }
    PetscCall(PetscPrintf(study->comm, " %9.2f\n", (double)L->seconds));
  }
  if (!study->exact) {
    PetscCall(PetscPrintf(study->comm, "Richardson estimate of the finest level's error:"));
    for (PetscInt k = 0; k < nerr; k++)
      if (k != GF_DIST_MASS) PetscCall(PetscPrintf(study->comm, " %s %.3e", GFErrorNames[k], (double)study->richardson[r * GF_DIST_COUNT + k]));
    PetscCall(PetscPrintf(study->comm, "\n"));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One CSV row per level at measured time r (blank where the finest level is the reference or there is no order). */
static void GFStudyWriteRows(GFStudy study, FILE *csv, PetscInt r, PetscBool with_time)
{
  for (PetscInt l = 0; l < study->levels; l++) {
    const GFStudyLevel *L   = &study->level[l];
    const PetscBool     err = GFStudyHasError(study, l), ord = GFStudyHasOrder(study, l);
    if (with_time) fprintf(csv, "%.17g,", (double)L->t[r]);
    fprintf(csv, "%d,%d,%.17g,%.17g", (int)l, (int)L->cells, (double)L->h, (double)L->dt);
    for (PetscInt k = GF_DIST_L1; k <= GF_DIST_LINF; k++) fprintf(csv, err ? ",%.17g" : ",", (double)L->error[r][k]);
    for (PetscInt k = GF_DIST_L1; k <= GF_DIST_LINF; k++) fprintf(csv, ord ? ",%.17g" : ",", (double)L->order[r][k]);
    fprintf(csv, ",%.6g", (double)L->seconds);
    if (study->dim == 1) {
      fprintf(csv, err ? ",%.17g,%.17g" : ",,", (double)L->error[r][GF_DIST_W1], (double)L->error[r][GF_DIST_W2]);
      fprintf(csv, ord ? ",%.17g,%.17g" : ",,", (double)L->order[r][GF_DIST_W1], (double)L->order[r][GF_DIST_W2]);
    }
    fprintf(csv, err ? ",%.17g" : ",", (double)L->error[r][GF_DIST_MASS]);
    if (!with_time) fprintf(csv, ",%.17g", (double)L->t[r]);
    fprintf(csv, ",%s\n", GFStudyDtRules[study->dt_rule]);
  }
}

/* study.csv (the final time) and, with -study_every_output, study_times.csv (every measured time), from rank 0; then they replace an earlier study's. */
static PetscErrorCode GFStudyWriteCSV(GFStudy study)
{
  const char    *w    = study->dim == 1 ? ",error_w1,error_w2,order_w1,order_w2" : "";
  const PetscInt last = study->level[0].ntimes - 1;
  FILE          *csv;

  PetscFunctionBeginUser;
  PetscCall(GFRunDirectoryOpen(study->rundir, "study.csv", "w", &csv));
  if (csv) {
    fprintf(csv, "level,cells,h,dt,error_l1,error_l2,error_linf,order_l1,order_l2,order_linf,seconds%s,error_mass,time,dt_rule\n", w);
    GFStudyWriteRows(study, csv, last, PETSC_FALSE);
  }
  PetscCall(GFRunDirectoryClose(study->rundir, "study.csv", &csv));
  if (study->every_output) {
    PetscCall(GFRunDirectoryOpen(study->rundir, "study_times.csv", "w", &csv));
    if (csv) {
      fprintf(csv, "time,level,cells,h,dt,error_l1,error_l2,error_linf,order_l1,order_l2,order_linf,seconds%s,error_mass,dt_rule\n", w);
      for (PetscInt r = 0; r <= last; r++) GFStudyWriteRows(study, csv, r, PETSC_TRUE);
    }
    PetscCall(GFRunDirectoryClose(study->rundir, "study_times.csv", &csv));
  }
  PetscCall(GFRunDirectoryCommit(study->rundir));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Orders (and Richardson estimates), the tables on stdout, study.csv. */
PETSC_INTERN PetscErrorCode GFStudyFinish(GFStudy study)
{
  PetscInt times;

  PetscFunctionBeginUser;
  PetscCall(GFStudyCheckTimes(study));
  times = study->level[0].ntimes;
  if (study->exact) {
    for (PetscInt r = 0; r < times; r++)
      for (PetscInt l = 1; l < study->levels; l++)
        for (PetscInt k = 0; k < GF_DIST_COUNT; k++) study->level[l].order[r][k] = PetscLog2Real(study->level[l - 1].error[r][k] / study->level[l].error[r][k]);
  } else {
    PetscCall(PetscCalloc1(times * GF_DIST_COUNT, &study->richardson));
    for (PetscInt r = 0; r < times; r++) PetscCall(GFStudySelfConvergence(study, r));
  }
  for (PetscInt r = 0; r < times; r++) PetscCall(GFStudyPrintTable(study, r));
  PetscCall(GFStudyWriteCSV(study));
  PetscCall(PetscPrintf(study->comm, "study: %s/study.csv%s\n", study->dir, study->every_output ? " and study_times.csv" : ""));
  PetscFunctionReturn(PETSC_SUCCESS);
}
