/*
  N-sweeps of gradflow compare: -particle_counts N1,N2,... -particle_replicas R.

  For every N, R independent replicas of the particle system (replica r: -particles_replica
  r, its own noise and initial sample) run on the PDE run's options (the snapshots carry
  them) with the command line's on top, and are measured at every snapshot time of the
  PDE run in their time span. Replicas run side by side on groups of ranks (one rank
  each when R >= ranks), so small systems do not wait on messages.

  Reported per time and N: every metric's mean over the replicas and its standard error
  (sample standard deviation / sqrt R); in 1D the sampling floor E[W1] of N independent
  samples of the PDE density; and the bias of the one-particle marginal (the law of X_1,
  which propagation of chaos is about) against the PDE: its mean and covariance from the
  R N particles, unbiased for correlated particles,
      C = (1/R) sum_r S_r - mu mu^T + Cov_r(m_r) / R,
  m_r and S_r replica r's particle means of x and x x^T, mu their mean over r (E C is the
  marginal's covariance exactly), with jackknife standard errors over the replicas. With
  -compare_stationary T0 the same marginal is averaged over every step from T0 to the end
  and measured against the PDE's last snapshot: the stationary bias, e.g. 1/(2N) in the
  variance for V = W = x^2/2 (the self term in the 1/N sum). Rates in N: weighted least
  squares of ln(value) against ln N, weights from the standard errors (delta method), with
  the slope's standard error and chi^2 per degree of freedom.

  For mean_field_nn (the particles are the neurons of a width-N network) also the risk gap
  R(network) - R(rho_t), rho_t's risk taken with its cells as point masses at their centres
  (the PDE's own quadrature), and the output gap 1/2 E (f_N - f_rho_t)^2: the risk gap without
  its first-order term (GFParticlesComputeRiskGaps). Both means fall like 1/N, but the risk
  gap's replicas scatter by N^(-1/2) around it, the output gap's by 1/N.

  Files in -output_dir: compare.csv (the contract's columns, as means over the replicas,
  then replicas, the standard errors, w1_floor, the marginal biases), compare_rates.csv
  and, with -compare_stationary, compare_stationary.csv.
*/
#include "comparison.h"

typedef struct {
  GFCompare         c;
  PetscInt          dim, ntimes, *snapshot; /* the compare times: snapshots in the particles' time span */
  PetscInt          ngroups, group;
  MPI_Comm          group_comm;
  GFCompareDensity *density; /* the PDE's at the compare times */
  /* results, [count][replica][time][...]; replicas a group did not run stay 0 until the closing sum over the ranks */
  PetscReal *metrics; /* GF_METRIC_COUNT */
  PetscReal *first;   /* the replica's particle mean, 3 */
  PetscReal *second;  /* its particle mean of x x^T, 9 */
  PetscReal *floor;   /* [count][time] */
  /* stationary: [count][replica][13]: sum x (3), sum x x^T (9), samples */
  PetscReal *stationary;
  PetscReal  t_end;
  PetscInt   mmd_n;
  PetscBool  risk; /* the particles are a network's neurons (mean_field_nn): the risk gap */
} GFSweep;

/* Stationary accumulation of one replica: running sums with compensation (the sums run over up to 10^10 terms). */
typedef struct {
  PetscReal from, sum[13], carry[13];
} GFSweepAccumulator;

static inline PetscReal *SweepSlot(PetscReal *base, const GFSweep *w, PetscInt count, PetscInt replica, PetscInt time, PetscInt width)
{
  return base + (((size_t)count * w->c->replicas + replica) * w->ntimes + time) * width;
}

/* After every step from T0 on: add this rank's sums of x and x x^T (Kahan-compensated). */
static PetscErrorCode GFSweepAccumulate(GFParticles p, void *ctx)
{
  GFSweepAccumulator *acc      = (GFSweepAccumulator *)ctx;
  const PetscInt      d        = p->dim;
  PetscReal           step[13] = {0};

  PetscFunctionBeginUser;
  if (p->t < acc->from - 1e-12 * PetscMax(1, PetscAbsReal(acc->from))) PetscFunctionReturn(PETSC_SUCCESS);
  for (PetscInt i = 0; i < p->nlocal; i++)
    for (PetscInt a = 0; a < d; a++) {
      step[a] += p->x[d * i + a];
      for (PetscInt b = 0; b < d; b++) step[3 + 3 * a + b] += p->x[d * i + a] * p->x[d * i + b];
    }
  step[12] = p->nlocal;
  for (PetscInt k = 0; k < 13; k++) {
    const PetscReal y = step[k] - acc->carry[k], t = acc->sum[k] + y;
    acc->carry[k] = (t - acc->sum[k]) - y;
    acc->sum[k]   = t;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Options of replica r of count N: the PDE run's, the command line's, then the sweep's. */
static PetscErrorCode GFSweepPushOptions(GFSweep *w, const char user[], PetscInt n, PetscInt replica, PetscOptions *db)
{
  char extra[256];

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsCreate(db));
  if (w->c->pde_options) PetscCall(PetscOptionsInsertString(*db, w->c->pde_options));
  PetscCall(PetscOptionsInsertString(*db, user));
  PetscCall(PetscSNPrintf(extra, sizeof(extra), "-output 0 -progress 0 -summary 0 -particles_n %" PetscInt_FMT " -particles_replica %" PetscInt_FMT, n, replica));
  PetscCall(PetscOptionsInsertString(*db, extra));
  PetscCall(PetscOptionsPush(*db));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Advance replica r of count index ci to every compare time and measure it there, each rank its own particles; then the stationary marginal's sums. */
static PetscErrorCode GFSweepMeasureReplica(GFSweep *w, GFParticles p, const GFCompareDensity q[], PetscInt ci, PetscInt r)
{
  GFCompare          c = w->c;
  GFSweepAccumulator acc;
  PetscMPIInt        grank;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&acc, sizeof(acc)));
  acc.from = c->stationary_from;
  w->t_end = p->t_end;
  if (c->stationary_from >= 0) {
    p->step_hook     = GFSweepAccumulate;
    p->step_hook_ctx = &acc;
  }
  PetscCallMPI(MPI_Comm_rank(w->group_comm, &grank));
  for (PetscInt k = 0; k < w->ntimes; k++) {
    GFParticleMetrics m;
    PetscCall(GFParticlesAdvance(p, c->snap_time[w->snapshot[k]]));
    PetscCall(GFCompareMeasure(w->group_comm, &c->settings, &q[k], p->n, p->nlocal, p->start, p->id, p->x, PETSC_FALSE, &m));
    if (w->risk) PetscCall(GFParticlesComputeRiskGaps(p, p->x, &q[k], &m.risk_gap, &m.output_gap));
    w->mmd_n = m.mmd_n;
    if (grank) continue;
    for (PetscInt id = 0; id < GF_METRIC_COUNT; id++) SweepSlot(w->metrics, w, ci, r, k, GF_METRIC_COUNT)[id] = GFCompareMetricValue(&m, (GFCompareMetric)id);
    for (PetscInt a = 0; a < w->dim; a++) {
      SweepSlot(w->first, w, ci, r, k, 3)[a] = m.mean[a];
      for (PetscInt b = 0; b < w->dim; b++) SweepSlot(w->second, w, ci, r, k, 9)[3 * a + b] = m.covariance[a][b] + m.mean[a] * m.mean[b];
    }
  }
  if (c->stationary_from >= 0) {
    PetscReal total[13];
    PetscCall(GFParticlesAdvance(p, p->t_end));
    PetscCall(MPIU_Allreduce(acc.sum, total, 13, MPIU_REAL, MPIU_SUM, w->group_comm));
    if (!grank) PetscCall(PetscArraycpy(w->stationary + ((size_t)ci * c->replicas + r) * 13, total, 13));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Run replica r of count index ci on this rank's group (see GFSweepMeasureReplica); the system is freed whether it succeeds or fails. */
static PetscErrorCode GFSweepRunReplica(GFSweep *w, const char user[], const GFCompareDensity q[], PetscInt ci, PetscInt r)
{
  PetscOptions   db;
  GFParticles    p;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(GFSweepPushOptions(w, user, w->c->counts[ci], r, &db));
  PetscCall(GFParticlesCreate(w->group_comm, &p));
  ierr = GFParticlesSetFromOptions(p);
  if (!ierr) ierr = GFParticlesSetUp(p);
  PetscCall(PetscOptionsPop());
  PetscCall(PetscOptionsDestroy(&db));
  if (!ierr) ierr = GFSweepMeasureReplica(w, p, q, ci, r);
  PetscCall(GFParticlesDestroy(&p));
  PetscCall(ierr);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A row of the sweep's table: "name  v +- se  ...  rate +- se". */
static PetscErrorCode GFSweepPrintRow(MPI_Comm comm, const char name[], PetscInt n, const PetscReal v[], const PetscReal se[], PetscReal rate, PetscReal rate_se)
{
  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(comm, "  %-20s", name));
  for (PetscInt k = 0; k < n; k++) {
    char cell[64];
    if (se && !PetscIsInfOrNanReal(se[k]))
      PetscCall(PetscSNPrintf(cell, sizeof(cell), "%.4e +- %.1e", (double)v[k], (double)se[k]));
    else
      PetscCall(PetscSNPrintf(cell, sizeof(cell), "%.4e", (double)v[k]));
    PetscCall(PetscPrintf(comm, " %21s", cell));
  }
  if (!PetscIsInfOrNanReal(rate)) PetscCall(PetscPrintf(comm, "   %+.3f +- %.3f", (double)rate, (double)rate_se));
  PetscCall(PetscPrintf(comm, "\n"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFSweepPrintHeader(GFSweep *w, const char what[])
{
  GFCompare c = w->c;

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(c->comm, "\n%s\n  %-20s", what, "metric"));
  for (PetscInt ci = 0; ci < c->ncounts; ci++) {
    char cell[32];
    PetscCall(PetscSNPrintf(cell, sizeof(cell), "N = %" PetscInt_FMT, c->counts[ci]));
    PetscCall(PetscPrintf(c->comm, " %21s", cell));
  }
  PetscCall(PetscPrintf(c->comm, "   rate in N\n"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Means, errors, marginals and rates at every compare time: compare.csv and compare_rates.csv (rank 0), the table of the last time on stdout. */
static PetscErrorCode GFSweepReport(GFSweep *w, const GFCompareDensity q[])
{
  GFCompare       c = w->c;
  const PetscInt  R = c->replicas, nc = c->ncounts, d = w->dim;
  const char     *names[GF_METRIC_COUNT];
  GFCompareMetric ids[GF_METRIC_COUNT];
  const PetscInt  ncol = GFCompareColumns(d, w->risk, names, ids);
  FILE           *csv, *rates;
  PetscReal      *mean, *se, *marg, *marg_se, *first, *second;

  PetscFunctionBeginUser;
  PetscCall(GFRunDirectoryOpen(c->rundir, "compare.csv", "w", &csv));
  PetscCall(GFRunDirectoryOpen(c->rundir, "compare_rates.csv", "w", &rates));
  if (csv) {
    fprintf(csv, "time,n_particles");
    for (PetscInt k = 0; k < ncol; k++) fprintf(csv, ",%s", names[k]);
    fprintf(csv, ",replicas");
    for (PetscInt k = 0; k < ncol; k++) fprintf(csv, ",%s_stderr", names[k]);
    fprintf(csv, "%s,marginal_mean_bias,marginal_mean_bias_stderr,marginal_cov_bias,marginal_cov_bias_stderr\n", d == 1 ? ",w1_floor" : "");
    fprintf(rates, "time,metric,rate,rate_stderr,chi2_per_dof\n");
  }
  PetscCall(PetscMalloc6(nc * ncol, &mean, nc * ncol, &se, nc * MARGINAL_COUNT, &marg, nc * MARGINAL_COUNT, &marg_se, R * 3, &first, R * 9, &second));
  for (PetscInt k = 0; k < w->ntimes; k++) {
    const PetscReal t    = c->snap_time[w->snapshot[k]];
    const PetscBool last = (PetscBool)(k == w->ntimes - 1);
    for (PetscInt ci = 0; ci < nc; ci++) {
      for (PetscInt j = 0; j < ncol; j++) GFSweepMeanError(R, SweepSlot(w->metrics, w, ci, 0, k, GF_METRIC_COUNT) + ids[j], (size_t)w->ntimes * GF_METRIC_COUNT, &mean[ci * ncol + j], &se[ci * ncol + j]);
      for (PetscInt r = 0; r < R; r++) {
        PetscCall(PetscArraycpy(first + 3 * r, SweepSlot(w->first, w, ci, r, k, 3), 3));
        PetscCall(PetscArraycpy(second + 9 * r, SweepSlot(w->second, w, ci, r, k, 9), 9));
      }
      PetscCall(GFSweepMarginal(d, R, first, second, 3, q[k].mean, q[k].covariance, marg + ci * MARGINAL_COUNT, marg_se + ci * MARGINAL_COUNT));
      if (csv) {
        PetscReal tail[5] = {w->floor[ci * w->ntimes + k], marg[ci * MARGINAL_COUNT + MARGINAL_MEAN], marg_se[ci * MARGINAL_COUNT + MARGINAL_MEAN], marg[ci * MARGINAL_COUNT + MARGINAL_COV], marg_se[ci * MARGINAL_COUNT + MARGINAL_COV]};
        fprintf(csv, "%.17g,%" PetscInt_FMT, (double)t, c->counts[ci]);
        GFCompareWriteValues(csv, ncol, mean + ci * ncol);
        fprintf(csv, ",%" PetscInt_FMT, R);
        GFCompareWriteValues(csv, ncol, se + ci * ncol);
        GFCompareWriteValues(csv, d == 1 ? 5 : 4, d == 1 ? tail : tail + 1);
        fprintf(csv, "\n");
      }
    }
    if (last) {
      char what[256];
      PetscCall(PetscSNPrintf(what, sizeof(what), "[sweep] t = %.6g: mean +- standard error over %" PetscInt_FMT " replicas; rate: log-log slope in N", (double)t, R));
      PetscCall(GFSweepPrintHeader(w, what));
    }
    for (PetscInt j = 0; j < ncol + 2; j++) {
      const PetscBool marginal = (PetscBool)(j >= ncol);
      const char     *name     = marginal ? (j == ncol ? "marginal_mean_bias" : "marginal_cov_bias") : names[j];
      PetscReal       y[GF_COMPARE_MAX_COUNTS], e[GF_COMPARE_MAX_COUNTS], v[GF_COMPARE_MAX_COUNTS], rate, rate_se, chi2;
      for (PetscInt ci = 0; ci < nc; ci++) {
        v[ci] = marginal ? marg[ci * MARGINAL_COUNT + (j == ncol ? MARGINAL_MEAN : MARGINAL_COV)] : mean[ci * ncol + j];
        e[ci] = marginal ? marg_se[ci * MARGINAL_COUNT + (j == ncol ? MARGINAL_MEAN : MARGINAL_COV)] : se[ci * ncol + j];
        y[ci] = PetscAbsReal(v[ci]);
      }
      GFSweepFitRate(nc, c->counts, y, e, &rate, &rate_se, &chi2);
      if (rates) {
        PetscReal values[3] = {rate, rate_se, chi2};
        fprintf(rates, "%.17g,%s", (double)t, name);
        GFCompareWriteValues(rates, 3, values);
        fprintf(rates, "\n");
      }
      if (last) PetscCall(GFSweepPrintRow(c->comm, name, nc, v, e, rate, rate_se));
    }
    if (last && d == 1) {
      PetscReal v[GF_COMPARE_MAX_COUNTS];
      for (PetscInt ci = 0; ci < nc; ci++) v[ci] = w->floor[ci * w->ntimes + k];
      PetscCall(GFSweepPrintRow(c->comm, "w1_floor", nc, v, NULL, (PetscReal)NAN, 0));
    }
  }
  if (w->mmd_n < c->counts[nc - 1]) PetscCall(PetscPrintf(c->comm, "  (mmd: particle pairs over a seeded subsample of at most %" PetscInt_FMT " particles; -compare_mmd_max 0 takes all)\n", c->settings.mmd_max));
  PetscCall(PetscFree6(mean, se, marg, marg_se, first, second));
  PetscCall(GFRunDirectoryClose(c->rundir, "compare.csv", &csv));
  PetscCall(GFRunDirectoryClose(c->rundir, "compare_rates.csv", &rates));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The stationary marginal per N against the PDE's last snapshot: the table, compare_stationary.csv, and its rates appended to compare_rates.csv. */
static PetscErrorCode GFSweepReportStationary(GFSweep *w, const GFCompareDensity *q)
{
  GFCompare      c = w->c;
  const PetscInt R = c->replicas, nc = c->ncounts, d = w->dim;
  const char     axes[] = "xyz";
  PetscReal     *first, *second, marg[GF_COMPARE_MAX_COUNTS][MARGINAL_COUNT], marg_se[GF_COMPARE_MAX_COUNTS][MARGINAL_COUNT], samples[GF_COMPARE_MAX_COUNTS];
  FILE          *csv, *rates;
  char           what[256];

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(R * 3, &first, R * 9, &second));
  for (PetscInt ci = 0; ci < nc; ci++) {
    samples[ci] = 0;
    for (PetscInt r = 0; r < R; r++) {
      const PetscReal *s = w->stationary + ((size_t)ci * R + r) * 13;
      for (PetscInt a = 0; a < 3; a++) first[3 * r + a] = s[12] > 0 ? s[a] / s[12] : 0;
      for (PetscInt a = 0; a < 9; a++) second[9 * r + a] = s[12] > 0 ? s[3 + a] / s[12] : 0;
      samples[ci] += s[12];
    }
    PetscCheck(samples[ci] > 0, c->comm, PETSC_ERR_USER_INPUT, "-compare_stationary %.6g: no step of the particle runs ends after it (they end at %.6g; see -particles_max_time)", (double)c->stationary_from, (double)w->t_end);
    PetscCall(GFSweepMarginal(d, R, first, second, 3, q->mean, q->covariance, marg[ci], marg_se[ci]));
  }
  PetscCall(PetscFree2(first, second));
  PetscCall(GFRunDirectoryOpen(c->rundir, "compare_stationary.csv", "w", &csv));
  PetscCall(GFRunDirectoryOpen(c->rundir, "compare_rates.csv", "a", &rates));
  if (csv) {
    fprintf(csv, "n_particles,replicas,t_from,t_to,samples,marginal_mean_bias,marginal_mean_bias_stderr,marginal_cov_bias,marginal_cov_bias_stderr");
    for (PetscInt a = 0; a < d; a++) fprintf(csv, ",marginal_var_%c,marginal_var_%c_stderr,pde_var_%c", axes[a], axes[a], axes[a]);
    fprintf(csv, "\n");
    for (PetscInt ci = 0; ci < nc; ci++) {
      PetscReal values[4] = {marg[ci][MARGINAL_MEAN], marg_se[ci][MARGINAL_MEAN], marg[ci][MARGINAL_COV], marg_se[ci][MARGINAL_COV]};
      fprintf(csv, "%" PetscInt_FMT ",%" PetscInt_FMT ",%.17g,%.17g,%.0f", c->counts[ci], R, (double)c->stationary_from, (double)w->t_end, (double)samples[ci]);
      GFCompareWriteValues(csv, 4, values);
      for (PetscInt a = 0; a < d; a++) {
        PetscReal var[3] = {marg[ci][MARGINAL_VAR + a], marg_se[ci][MARGINAL_VAR + a], q->covariance[a][a]};
        GFCompareWriteValues(csv, 3, var);
      }
      fprintf(csv, "\n");
    }
  }
  PetscCall(GFRunDirectoryClose(c->rundir, "compare_stationary.csv", &csv));
  PetscCall(PetscSNPrintf(what, sizeof(what), "[sweep] stationary one-particle marginal, every step of t in [%.6g, %.6g], against the PDE at t = %.6g (%" PetscInt_FMT " replicas)", (double)c->stationary_from, (double)w->t_end,
                          (double)c->snap_time[c->nsnap - 1], R));
  PetscCall(GFSweepPrintHeader(w, what));
  for (PetscInt j = 0; j < 2 + d; j++) {
    const PetscInt k = j == 0 ? MARGINAL_MEAN : (j == 1 ? MARGINAL_COV : MARGINAL_VAR + j - 2);
    char           name[32];
    PetscReal      v[GF_COMPARE_MAX_COUNTS], e[GF_COMPARE_MAX_COUNTS], y[GF_COMPARE_MAX_COUNTS], rate = (PetscReal)NAN, rate_se = 0, chi2;
    for (PetscInt ci = 0; ci < nc; ci++) {
      v[ci] = marg[ci][k];
      e[ci] = marg_se[ci][k];
      y[ci] = PetscAbsReal(v[ci]);
    }
    if (j < 2) {
      GFSweepFitRate(nc, c->counts, y, e, &rate, &rate_se, &chi2);
      if (rates) {
        PetscReal values[3] = {rate, rate_se, chi2};
        fprintf(rates, "%.17g,%s", (double)w->t_end, j == 0 ? "stationary_mean_bias" : "stationary_cov_bias");
        GFCompareWriteValues(rates, 3, values);
        fprintf(rates, "\n");
      }
    }
    if (j == 0) PetscCall(PetscStrncpy(name, "mean_bias", sizeof(name)));
    if (j == 1) PetscCall(PetscStrncpy(name, d == 1 ? "variance_bias" : "cov_bias", sizeof(name)));
    if (j >= 2) PetscCall(PetscSNPrintf(name, sizeof(name), "variance_%c (PDE %.6g)", axes[j - 2], (double)q->covariance[j - 2][j - 2]));
    PetscCall(GFSweepPrintRow(c->comm, name, nc, v, e, rate, rate_se));
  }
  PetscCall(GFRunDirectoryClose(c->rundir, "compare_rates.csv", &rates));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  A replica's error on one group of ranks, raised on every rank with its message (the
  groups run side by side: the others must not wait for it). Collective on comm.
*/
static PetscErrorCode GFSweepCheckGroups(MPI_Comm comm, PetscErrorCode ierr)
{
  PetscMPIInt rank, first, size;
  int         code      = (int)ierr;
  char        msg[1024] = "";

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  first = ierr ? rank : size;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, comm));
  if (first == size) PetscFunctionReturn(PETSC_SUCCESS);
  if (rank == first) {
    const char *text;
    char       *specific;
    PetscErrorMessage(ierr, &text, &specific);
    PetscCall(PetscStrncpy(msg, specific && specific[0] ? specific : text, sizeof(msg)));
  }
  PetscCallMPI(MPI_Bcast(&code, 1, MPI_INT, first, comm));
  PetscCallMPI(MPI_Bcast(msg, (int)sizeof(msg), MPI_CHAR, first, comm));
  SETERRQ(comm, (PetscErrorCode)code, "%s", msg);
}

/* The particles' time span, from a system set up on one rank with the smallest count; its dimension must be the PDE run's. */
static PetscErrorCode GFSweepTimeSpan(GFSweep *w, const char user[], PetscReal *t0, PetscReal *t_end)
{
  GFCompare      c = w->c;
  PetscOptions   db;
  GFParticles    p;
  PetscInt       dim = 0;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(GFSweepPushOptions(w, user, c->counts[0], 0, &db));
  PetscCall(GFParticlesCreate(PETSC_COMM_SELF, &p));
  ierr = GFParticlesSetFromOptions(p);
  if (!ierr) ierr = GFParticlesSetUp(p);
  if (!ierr) ierr = GFParticlesGetTimeSpan(p, t0, t_end);
  if (!ierr) dim = p->dim;
  if (!ierr) w->risk = (PetscBool)(p->dynamics.type == GF_DYNAMICS_NEURAL);
  PetscCall(GFParticlesDestroy(&p));
  PetscCall(PetscOptionsPop());
  PetscCall(PetscOptionsDestroy(&db));
  PetscCall(ierr);
  PetscCheck(dim == w->dim, c->comm, PETSC_ERR_USER_INPUT, "the particle system is %" PetscInt_FMT "D (-dim), the PDE run %s is %" PetscInt_FMT "D", dim, c->pde_dir, w->dim);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The sweep: the compare times, the densities, the groups of ranks; every count's
  replicas (progress per round), the closing sum of the results over the ranks, the reports.
  Everything it allocates is in w, freed by the caller whether it succeeds or fails.
*/
static PetscErrorCode GFSweepRun(GFSweep *w, const char user[])
{
  GFCompare      c = w->c;
  PetscMPIInt    size, rank;
  PetscLogDouble start, now;
  PetscReal      t0, t_end;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(c->comm, &size));
  PetscCallMPI(MPI_Comm_rank(c->comm, &rank));
  PetscCall(GFSweepTimeSpan(w, user, &t0, &t_end));
  PetscCall(PetscMalloc1(c->nsnap, &w->snapshot));
  for (PetscInt k = 0; k < c->nsnap; k++)
    if (c->snap_time[k] >= t0 - 1e-9 * PetscMax(1, PetscAbsReal(t0)) && c->snap_time[k] <= t_end + 1e-9 * PetscMax(1, PetscAbsReal(t_end))) w->snapshot[w->ntimes++] = k;
  PetscCheck(w->ntimes > 0, c->comm, PETSC_ERR_USER_INPUT, "no snapshot of the PDE run %s lies in the particles' time span [%.6g, %.6g]", c->pde_dir, (double)t0, (double)t_end);
  PetscCall(GFComparePrepareOutput(c));
  PetscCall(PetscCalloc1(w->ntimes, &w->density));
  for (PetscInt k = 0; k < w->ntimes; k++) PetscCall(GFCompareLoadDensity(c, w->snapshot[k], &w->density[k]));
  {
    const size_t slots = (size_t)c->ncounts * c->replicas * w->ntimes;
    PetscCall(PetscCalloc1(slots * GF_METRIC_COUNT, &w->metrics));
    PetscCall(PetscCalloc1(slots * 3, &w->first));
    PetscCall(PetscCalloc1(slots * 9, &w->second));
    PetscCall(PetscCalloc1((size_t)c->ncounts * w->ntimes, &w->floor));
    PetscCall(PetscCalloc1((size_t)c->ncounts * c->replicas * 13, &w->stationary));
  }
  for (PetscInt ci = 0; ci < c->ncounts && w->dim == 1; ci++)
    for (PetscInt k = 0; k < w->ntimes; k++) PetscCall(GFMetricW1Floor(&w->density[k], c->counts[ci], &w->floor[ci * w->ntimes + k]));
  w->ngroups = (PetscInt)PetscMin(c->replicas, size);
  w->group   = (PetscInt)(((PetscInt64)rank * w->ngroups) / size);
  PetscCallMPI(MPI_Comm_split(c->comm, (int)w->group, rank, &w->group_comm));
  PetscCall(PetscPrintf(c->comm, "[sweep] %" PetscInt_FMT " particle count%s x %" PetscInt_FMT " replica%s against %s at %" PetscInt_FMT " snapshot time%s in [%.6g, %.6g]; replicas %" PetscInt_FMT " at a time on %d rank%s\n", c->ncounts,
                        c->ncounts > 1 ? "s" : "", c->replicas, c->replicas > 1 ? "s" : "", c->pde_dir, w->ntimes, w->ntimes > 1 ? "s" : "", (double)c->snap_time[w->snapshot[0]], (double)c->snap_time[w->snapshot[w->ntimes - 1]], w->ngroups, size,
                        size > 1 ? "s" : ""));
  if (c->stationary_from >= 0) PetscCall(PetscPrintf(c->comm, "[sweep] stationary statistics over every step of t in [%.6g, %.6g]\n", (double)c->stationary_from, (double)t_end));
  PetscCall(PetscTime(&start));
  for (PetscInt ci = 0; ci < c->ncounts; ci++) {
    for (PetscInt r0 = 0; r0 < c->replicas; r0 += w->ngroups) {
      PetscErrorCode ierr = r0 + w->group < c->replicas ? GFSweepRunReplica(w, user, w->density, ci, r0 + w->group) : PETSC_SUCCESS;
      PetscCall(GFSweepCheckGroups(c->comm, ierr));
      PetscCall(PetscTime(&now));
      PetscCall(PetscPrintf(c->comm, "[sweep] N = %" PetscInt_FMT " (%" PetscInt_FMT "/%" PetscInt_FMT "): replicas %" PetscInt_FMT "-%" PetscInt_FMT " of %" PetscInt_FMT " done (%.1f s)\n", c->counts[ci], ci + 1, c->ncounts, r0 + 1,
                            PetscMin(r0 + w->ngroups, c->replicas), c->replicas, now - start));
    }
  }
  {
    const size_t slots = (size_t)c->ncounts * c->replicas * w->ntimes;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, w->metrics, (PetscMPIInt)(slots * GF_METRIC_COUNT), MPIU_REAL, MPIU_SUM, c->comm));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, w->first, (PetscMPIInt)(slots * 3), MPIU_REAL, MPIU_SUM, c->comm));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, w->second, (PetscMPIInt)(slots * 9), MPIU_REAL, MPIU_SUM, c->comm));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, w->stationary, (PetscMPIInt)(c->ncounts * c->replicas * 13), MPIU_REAL, MPIU_SUM, c->comm));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &w->mmd_n, 1, MPIU_INT, MPI_MAX, c->comm));
  }
  PetscCall(GFSweepReport(w, w->density));
  if (c->stationary_from >= 0) {
    GFCompareDensity last;
    PetscErrorCode   ierr;
    ierr = GFCompareLoadDensity(c, c->nsnap - 1, &last);
    if (!ierr) ierr = GFSweepReportStationary(w, &last);
    PetscCall(GFCompareDensityDestroy(&last));
    PetscCall(ierr);
  }
  PetscCall(PetscPrintf(c->comm, "compare: %s/compare.csv, compare_rates.csv%s\n", c->dir, c->stationary_from >= 0 ? ", compare_stationary.csv" : ""));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The N-sweep (see the file's comment). On failure too, what it allocated is freed and the
  first error returned; the group communicator only after an error of every rank (after an
  error of some ranks the caller aborts, and freeing it could wait for the others).
*/
PETSC_INTERN PetscErrorCode GFCompareSweep(GFCompare c)
{
  GFSweep        w;
  char          *user;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&w, sizeof(w)));
  w.c          = c;
  w.dim        = c->grid->dim;
  w.group_comm = MPI_COMM_NULL;
  PetscCall(PetscOptionsGetAll(NULL, &user));
  ierr = GFSweepRun(&w, user);
  for (PetscInt k = 0; w.density && k < w.ntimes; k++) PetscCall(GFCompareDensityDestroy(&w.density[k]));
  PetscCall(PetscFree(w.density));
  PetscCall(PetscFree(w.snapshot));
  PetscCall(PetscFree(w.metrics));
  PetscCall(PetscFree(w.first));
  PetscCall(PetscFree(w.second));
  PetscCall(PetscFree(w.floor));
  PetscCall(PetscFree(w.stationary));
  if (w.group_comm != MPI_COMM_NULL && (!ierr || GFErrorIsCollective(ierr))) PetscCallMPI(MPI_Comm_free(&w.group_comm));
  PetscCall(PetscFree(user));
  PetscFunctionReturn(ierr);
}
