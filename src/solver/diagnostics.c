/*
  Diagnostics of a density, every step: mass and its drift, min and max, the model's
  energy, mean and covariance, and the L1, mean and variance errors against the exact solution.

  Moments are those of the density whose cell averages are rho_i, with Sheppard's
  correction: sum_i x_i^2 rho_i h overestimates int x^2 rho by h^2/12 per axis for
  cell averages of a smooth density, so Cov_aa -= h_a^2/12. For a Gaussian this
  makes the moments of exact cell averages exact up to exponentially small terms.
*/
#include "solver.h"

/* Total weight sum_i v_i, mean and Sheppard-corrected covariance of the global cell values v; with extremes, also min v and min -v. */
static PetscErrorCode GFSolverCellMoments(GFSolver s, Vec v, PetscReal *sum, PetscReal mean[], PetscReal covariance[][3], PetscReal extremes[2])
{
  const struct _p_GFGrid *g = s->grid;
  const GFLocalBox       *b = &g->box;
  const PetscScalar      *r;
  PetscReal               local[2] = {PETSC_MAX_REAL, PETSC_MAX_REAL};
  GFMoments               m;
  GFExactSum              mass;

  PetscFunctionBeginUser;
  GFMomentsInit(&m, g->dim, NULL);
  GFExactSumInit(&mass);
  PetscCall(VecGetArrayRead(v, &r));
  GF_FOR_OWNED(b, i, j, k)
  {
    const PetscInt  idx[3] = {i, j, k};
    const PetscReal value  = PetscRealPart(r[GFOwnedIndex(b, i, j, k)]);
    PetscReal       x[3]   = {0, 0, 0};

    GFGridCellCenter(g, idx, x);
    GFMomentsAdd(&m, value, x);
    GFExactSumAdd(&mass, value);
    local[0] = PetscMin(local[0], value);
    local[1] = PetscMin(local[1], -value);
  }
  PetscCall(VecRestoreArrayRead(v, &r));
  PetscCall(GFMomentsFinish(&m, s->comm, g->h, sum, mean, covariance));
  PetscCall(GFExactSumAllreduce(s->comm, 1, &mass));
  *sum = GFExactSumValue(&mass); /* the mass exactly, rounded once: its drift is the scheme's, not the sum's */
  if (extremes) PetscCall(MPIU_Allreduce(local, extremes, 2, MPIU_REAL, MPIU_MIN, s->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The errors against the exact cell averages: relative L1, Euclidean mean error |m - m_exact|
  and the largest variance error max_a |Cov_aa - Cov_exact,aa|, the exact moments taken with
  the same quadrature (cell centres, Sheppard's correction) as those of rho.
*/
static PetscErrorCode GFSolverComputeErrors(GFSolver s, Vec rho, GFDiagnostics *d)
{
  PetscReal norm, diff, sum, mean[3], covariance[3][3], squared = 0;

  PetscFunctionBeginUser;
  PetscCall(GFModelComputeExact(s->model, d->time, s->exact));
  PetscCall(GFSolverCellMoments(s, s->exact, &sum, mean, covariance, NULL));
  d->error_mean     = 0;
  d->error_variance = 0;
  for (PetscInt a = 0; a < s->grid->dim; a++) {
    squared += PetscSqr(d->mean[a] - mean[a]);
    d->error_variance = PetscMax(d->error_variance, PetscAbsReal(d->covariance[a][a] - covariance[a][a]));
  }
  d->error_mean = PetscSqrtReal(squared);
  PetscCall(VecNorm(s->exact, NORM_1, &norm));
  PetscCall(VecAXPY(s->exact, -1, rho));
  PetscCall(VecNorm(s->exact, NORM_1, &diff));
  d->error_l1  = diff / norm;
  d->has_error = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Fill d (all but step and dt) for the global density rho at the TS time. */
PetscErrorCode GFSolverComputeDiagnostics(GFSolver s, Vec rho, GFDiagnostics *d)
{
  PetscReal extremes[2], sum;

  PetscFunctionBeginUser;
  PetscCall(TSGetTime(s->ts, &d->time));
  d->partial = PETSC_FALSE;
  PetscCall(GFSolverCellMoments(s, rho, &sum, d->mean, d->covariance, extremes));
  d->mass        = sum * s->grid->cell_volume;
  d->mass_drift  = d->mass_initial > 0 ? (d->mass - d->mass_initial) / d->mass_initial : 0;
  d->min_density = extremes[0];
  d->max_density = -extremes[1];
  PetscCall(GFModelComputeEnergy(s->model, rho, &d->energy));
  PetscCall(GFModelComputeSteinDiscrepancy(s->model, rho, &d->has_stein, &d->stein));
  PetscCall(GFModelComputeRisk(s->model, rho, &d->has_risk, &d->risk, d->probe));
  d->nprobes   = s->traits.probes;
  d->has_error = PETSC_FALSE;
  if (s->exact) PetscCall(GFSolverComputeErrors(s, rho, d));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Between full diagnostics (-diagnostics_interval): the time, mass and its drift, min and
  max of rho -- from the fused scheme's last stage when it has them, else by one pass. The
  energy and moments keep the last full values (the row writes them as nan).
*/
PETSC_INTERN PetscErrorCode GFSolverComputeStepDiagnostics(GFSolver s, Vec rho, GFDiagnostics *d)
{
  PetscReal stats[3];

  PetscFunctionBeginUser;
  PetscCall(TSGetTime(s->ts, &d->time));
  if (s->state_stats_set) {
    for (PetscInt q = 0; q < 3; q++) stats[q] = s->state_stats[q];
  } else {
    const PetscScalar *r;
    PetscInt           n;
    PetscReal          local[2] = {PETSC_MAX_REAL, PETSC_MAX_REAL}, global[2], sum;
    GFCompensatedSum   mass     = {0, 0}; /* a rounded sum of 2.6e5 cells had shown a 64^3 JKO run's exact mass as drifting by 2e-12 */
    PetscCall(VecGetLocalSize(rho, &n));
    PetscCall(VecGetArrayRead(rho, &r));
    for (PetscInt i = 0; i < n; i++) {
      const PetscReal x = PetscRealPart(r[i]);
      local[0]          = PetscMin(local[0], x);
      local[1]          = PetscMin(local[1], -x);
      GFCompensatedAdd(&mass, x);
    }
    PetscCall(VecRestoreArrayRead(rho, &r));
    sum = mass.sum + mass.correction;
    PetscCall(MPIU_Allreduce(local, global, 2, MPIU_REAL, MPIU_MIN, s->comm));
    PetscCall(MPIU_Allreduce(&sum, &stats[2], 1, MPIU_REAL, MPIU_SUM, s->comm));
    stats[0] = global[0];
    stats[1] = -global[1];
  }
  d->mass        = stats[2] * s->grid->cell_volume;
  d->mass_drift  = d->mass_initial > 0 ? (d->mass - d->mass_initial) / d->mass_initial : 0;
  d->min_density = stats[0];
  d->max_density = stats[1];
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* After a step: log the diagnostics, track the worst drift and minimum, print progress on rank 0. */
static PetscErrorCode GFSolverMonitorStep(GFSolver s, PetscBool first)
{
  const GFDiagnostics *d = &s->diag;
  PetscLogDouble       now;
  PetscReal            fraction;
  PetscMPIInt          rank;

  PetscFunctionBeginUser;
  if (s->writer) PetscCall(GFWriterWriteDiagnostics(s->writer, d));
  s->worst_mass_drift = PetscMax(s->worst_mass_drift, PetscAbsReal(d->mass_drift));
  s->lowest_density   = PetscMin(s->lowest_density, d->min_density);
  if (!s->out.progress || first) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCallMPI(MPI_Comm_rank(s->comm, &rank));
  if (rank) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscTime(&now));
  {
    const PetscReal t0 = s->problem->init.time, t_end = s->problem->t_end;
    fraction = t_end > t0 ? (d->time - t0) / (t_end - t0) : 1;
  }
  if (s->is_tty) {
    if (now - s->last_progress < 0.2 && fraction < 1) PetscFunctionReturn(PETSC_SUCCESS);
    printf("\r[%5.1f%%] t = %-10.4g step %-7" PetscInt_FMT " dt = %-9.3e mass drift %+.1e  min %.2e  energy %.6g   ", (double)(100 * fraction), (double)d->time, d->step, (double)d->dt, (double)d->mass_drift, (double)d->min_density,
           (double)d->energy);
    if (fraction >= 1) printf("\n");
  } else {
    if (fraction < s->progress_mark && now - s->last_progress < 30) PetscFunctionReturn(PETSC_SUCCESS);
    while (s->progress_mark <= fraction) s->progress_mark += 0.1;
    printf("[%5.1f%%] t = %-10.4g step %-7" PetscInt_FMT " dt = %-9.3e mass drift %+.1e  min %.2e  energy %.6g  (%.1f s)\n", (double)(100 * fraction), (double)d->time, d->step, (double)d->dt, (double)d->mass_drift, (double)d->min_density,
           (double)d->energy, now - s->wall_start);
  }
  fflush(stdout);
  s->last_progress = now;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Output time number k: k * interval (none without an interval). */
PETSC_INTERN PetscReal GFSolverOutputTime(GFSolver s, PetscInt k)
{
  return s->out.interval > 0 ? k * s->out.interval : PETSC_MAX_REAL;
}

/* The snapshot of the current state, with what the time stepper needs to continue from it. */
PETSC_INTERN PetscErrorCode GFSolverWriteSnapshot(GFSolver s)
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

/*
  The TS monitor, which TSSolve calls with the initial state and after every accepted step
  (the state a failed step leaves is skipped): the diagnostics row and progress line, and
  at output times, at the end and on blow-up the snapshot and the output hook. The run
  directory replaces an earlier run once the first step has been accepted.
*/
PETSC_INTERN PetscErrorCode GFSolverMonitor(TS ts, PetscInt step, PetscReal t, Vec rho, void *ctx)
{
  GFSolver          s = (GFSolver)ctx;
  TSConvergedReason reason;
  PetscBool         at_output = PETSC_FALSE;

  PetscFunctionBeginUser;
  (void)step;
  PetscCall(TSGetConvergedReason(ts, &reason));
  if (reason < 0) PetscFunctionReturn(PETSC_SUCCESS);
  if (s->monitor_started) {
    if (s->writer) PetscCall(GFWriterCommit(s->writer));
    at_output = (PetscBool)(t == GFSolverOutputTime(s, s->next_output));
    if (at_output) s->next_output++;
  }
  PetscCall(GFSolverMonitorStep(s, (PetscBool)!s->monitor_started));
  if (!s->monitor_started || at_output || reason > 0) {
    if (s->writer) PetscCall(GFSolverWriteSnapshot(s));
    if (s->output_hook) PetscCall(s->output_hook(s, t, rho, s->output_hook_ctx));
  }
  s->monitor_started = PETSC_TRUE;
  if (reason == TS_CONVERGED_USER && s->blowup_time >= 0) {
    if (s->out.progress && s->is_tty) PetscCall(PetscPrintf(s->comm, "\n"));
    PetscCall(PetscPrintf(s->comm, "gradflow: blow-up: at t = %.6g one cell holds %.1f%% of the mass (>= -blowup_fraction %.6g): the solution has concentrated below the grid scale; stopping here%s\n", (double)t,
                          (double)(100 * s->diag.max_density * s->grid->cell_volume / s->diag.mass), (double)s->blowup_fraction, s->writer ? " (the state is the last snapshot)" : ""));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The closing summary on stdout. */
PETSC_INTERN PetscErrorCode GFSolverPrintSummary(GFSolver s)
{
  const GFDiagnostics *d = &s->diag;
  PetscLogDouble       now;
  PetscMPIInt          size;
  const char           axes[] = "xyz";
  PetscInt             rejected;

  PetscFunctionBeginUser;
  PetscCall(PetscTime(&now));
  PetscCallMPI(MPI_Comm_size(s->comm, &size));
  PetscCall(TSGetStepRejections(s->ts, &rejected));
  PetscCall(PetscPrintf(s->comm, "gradflow %s: %s, %" PetscInt_FMT "D, %" PetscInt_FMT, GFVersion, s->traits.type, s->grid->dim, s->grid->cells[0]));
  for (PetscInt a = 1; a < s->grid->dim; a++) PetscCall(PetscPrintf(s->comm, " x %" PetscInt_FMT, s->grid->cells[a]));
  PetscCall(PetscPrintf(s->comm, " cells, %d rank%s\n", size, size > 1 ? "s" : ""));
  if (s->blowup_time >= 0) PetscCall(PetscPrintf(s->comm, "  stopped      blow-up: concentration below the grid scale at t = %.6g\n", (double)s->blowup_time));
  PetscCall(PetscPrintf(s->comm, "  steps        %" PetscInt_FMT " (%" PetscInt_FMT " rejected and retried), final time %.6g, wall %.2f s\n", d->step, rejected, (double)d->time, now - s->wall_start));
  if (s->implicit) {
    PetscInt newton, linear;
    PetscCall(TSGetSNESIterations(s->ts, &newton));
    PetscCall(TSGetKSPIterations(s->ts, &linear));
    if (s->linear)
      PetscCall(PetscPrintf(s->comm, "  implicit     linear: %.2f solves per step, %.2f Krylov iterations per solve, operator assemblies %" PetscInt_FMT " (one per distinct step size and order)%s\n", (double)newton / PetscMax(1, s->steps_taken),
                            (double)linear / PetscMax(1, newton), s->operator_builds, s->mg_levels ? "" : " (no multigrid)"));
    else
      PetscCall(PetscPrintf(s->comm, "  implicit     %.2f Newton iterations per step, %.2f Krylov iterations per Newton iteration%s\n", (double)newton / PetscMax(1, s->steps_taken), (double)linear / PetscMax(1, newton),
                            s->mg_levels ? "" : " (no multigrid)"));
    if (s->mg_levels) PetscCall(PetscPrintf(s->comm, "               multigrid with %" PetscInt_FMT " levels\n", s->mg_levels));
  }
  if (s->jko)
    PetscCall(PetscPrintf(s->comm, "  JKO          %s: %.2f iterations per step; inequality F(new) + W2^2/(2 tau) <= F(old) %s (largest gap %.1e of max(1, |F|))\n", GFJKOMethods[s->jko_method], (double)s->jko_iterations / PetscMax(1, s->steps_taken),
                          s->jko_violations ? "VIOLATED at some steps" : "held at every step", (double)s->jko_worst_gap));
  if (s->jko_order == 2) PetscCall(PetscPrintf(s->comm, "               order 2 (half step and geodesic extrapolation); %" PetscInt_FMT " steps taken as two half steps instead (extrapolation not a map)\n", s->jko_fallbacks));
  if (s->jko_violations) PetscCall(PetscPrintf(s->comm, "               violated at %" PetscInt_FMT " of %" PetscInt_FMT " steps (beyond -jko_rtol %.1e)\n", s->jko_violations, s->steps_taken, (double)s->jko_rtol));
  PetscCall(PetscPrintf(s->comm, "  mass         %.15g (drift %.2e, worst %.2e)\n", (double)d->mass, (double)d->mass_drift, (double)s->worst_mass_drift));
  PetscCall(PetscPrintf(s->comm, "  min density  %.3e (lowest over the run %.3e)\n", (double)d->min_density, (double)s->lowest_density));
  if (s->tail_fixes) PetscCall(PetscPrintf(s->comm, "  tail fixes   %" PetscInt_FMT " steps had negative values below 1e-12 max rho (largest %.1e of it): zeroed, mass kept\n", s->tail_fixes, (double)s->largest_tail_fix));
  PetscCall(PetscPrintf(s->comm, "  energy       %.12g (%s; largest relative rise %.1e)\n", (double)d->energy, s->energy_rises ? "ROSE at some steps" : "non-increasing", (double)PetscMax(s->max_energy_rise, 0)));
  PetscCall(PetscPrintf(s->comm, "  mean        "));
  for (PetscInt a = 0; a < s->grid->dim; a++) PetscCall(PetscPrintf(s->comm, " %c %.8g", axes[a], (double)d->mean[a]));
  PetscCall(PetscPrintf(s->comm, "\n  variance    "));
  for (PetscInt a = 0; a < s->grid->dim; a++) PetscCall(PetscPrintf(s->comm, " %c %.8g", axes[a], (double)d->covariance[a][a]));
  PetscCall(PetscPrintf(s->comm, "\n"));
  if (d->has_error) {
    PetscCall(PetscPrintf(s->comm, "  error_l1     %.6e (relative, against exact cell averages)\n", (double)d->error_l1));
    PetscCall(PetscPrintf(s->comm, "  error_mean   %.6e (Euclidean |mean - exact mean|)\n", (double)d->error_mean));
    PetscCall(PetscPrintf(s->comm, "  error_var    %.6e (largest |variance - exact variance| over the axes)\n", (double)d->error_variance));
  }
  if (d->has_stein) PetscCall(PetscPrintf(s->comm, "  Stein        %.6e (kernel Stein discrepancy; the energy is KL(rho/M | pi))\n", (double)d->stein));
  if (d->has_risk) PetscCall(PetscPrintf(s->comm, "  risk         %.6e (the network's risk 1/2 E (y - f(x))^2; the energy adds noise and weight decay)\n", (double)d->risk));
  if (s->writer) {
    const char *dir;
    PetscInt    nsnap;
    PetscCall(GFWriterGetDirectory(s->writer, &dir, &nsnap, NULL));
    PetscCall(PetscPrintf(s->comm, "  output       %s (%" PetscInt_FMT " snapshots, run.xdmf, diagnostics.csv)\n", dir, nsnap));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
