/* Private definitions of gradflow compare: its state, the metrics of one cloud, and what the sweep shares with the file comparison. */
#ifndef GRADFLOW_COMPARISON_H
#define GRADFLOW_COMPARISON_H

#include "particles.h"

#define GF_COMPARE_MAX_COUNTS 64
#define GF_COMPARE_MAX_FILES 4096

/* The metrics' settings: -compare_mmd_bandwidth, -compare_mmd_max, -compare_slices, -compare_seed. */
typedef struct {
  PetscReal mmd_bandwidth;
  PetscInt  mmd_max, slices, seed;
} GFCompareSettings;

/* The metrics of one cloud against one density; NaN where a metric does not apply to the dimension. */
typedef struct {
  PetscInt  mmd_n; /* particles in the MMD's pairs */
  PetscReal w1, w2, w1_floor, sliced_w2, l1, mean_error, cov_error, mmd;
  PetscReal risk_gap;                  /* R(network of the particles) - R(density): mean_field_nn in N-sweeps, else NaN */
  PetscReal output_gap;                /* 1/2 E (f_N - f_density)^2: likewise */
  PetscReal mean[3], covariance[3][3]; /* the particles' own (1/n) */
} GFParticleMetrics;

typedef enum { GF_METRIC_W1, GF_METRIC_W2, GF_METRIC_SLICED_W2, GF_METRIC_L1, GF_METRIC_MEAN_ERROR, GF_METRIC_COV_ERROR, GF_METRIC_MMD, GF_METRIC_RISK_GAP, GF_METRIC_OUTPUT_GAP, GF_METRIC_COUNT } GFCompareMetric;

struct _p_GFCompare {
  MPI_Comm          comm;
  char              pde_dir[PETSC_MAX_PATH_LEN], source[PETSC_MAX_PATH_LEN], dataset[GF_NAME_LEN], dir[PETSC_MAX_PATH_LEN];
  char              path[PETSC_MAX_PATH_LEN + 32]; /* scratch */
  PetscReal         file_time[GF_COMPARE_MAX_FILES];
  PetscInt          nfile_time;
  GFCompareSettings settings;
  PetscBool         overwrite;
  GFRunDirectory    rundir; /* where compare*.csv go: nothing of an earlier comparison changes before the new one is complete */
  /* the PDE run: its snapshots' numbers and times, its grid, its options */
  PetscInt   nsnap, *snap_number;
  PetscReal *snap_time;
  GFGrid     grid;
  char      *pde_options;
  /* N-sweeps */
  PetscInt  counts[GF_COMPARE_MAX_COUNTS], ncounts, replicas;
  PetscReal stationary_from;
};

PETSC_INTERN PetscErrorCode GFCompareSnapshotPath(GFCompare, PetscInt, char[], size_t);
PETSC_INTERN PetscInt       GFCompareFindSnapshot(GFCompare, PetscReal);
PETSC_INTERN PetscErrorCode GFCompareLoadDensity(GFCompare, PetscInt, GFCompareDensity *);
PETSC_INTERN PetscErrorCode GFCompareDensityDestroy(GFCompareDensity *);
/* Every metric of n particles spread over the ranks: nlocal here, x, of global indices id[i] (NULL: start + i); the same bits on any number of ranks. Collective. */
PETSC_INTERN PetscErrorCode GFCompareMeasure(MPI_Comm, const GFCompareSettings *, const GFCompareDensity *, PetscInt, PetscInt, PetscInt, const PetscInt[], const PetscReal[], PetscBool, GFParticleMetrics *);
PETSC_INTERN PetscInt       GFCompareColumns(PetscInt, PetscBool, const char *[], GFCompareMetric[]);
PETSC_INTERN PetscReal      GFCompareMetricValue(const GFParticleMetrics *, GFCompareMetric);
PETSC_INTERN PetscErrorCode GFComparePrepareOutput(GFCompare);
PETSC_INTERN void           GFCompareWriteValues(FILE *, PetscInt, const PetscReal[]);
PETSC_INTERN PetscErrorCode GFCompareSweep(GFCompare);

/* Statistics over replicas (replicas.c). The marginal's biases: mean (signed in 1D, else the norm), covariance (signed variance in 1D, else Frobenius), and the per-axis variances. */
enum { MARGINAL_MEAN, MARGINAL_COV, MARGINAL_VAR, MARGINAL_COUNT = MARGINAL_VAR + 3 };
PETSC_INTERN PetscErrorCode GFSweepMarginal(PetscInt dim, PetscInt R, const PetscReal first[], const PetscReal second[], PetscInt stride, const PetscReal ref_mean[], const PetscReal ref_cov[][3], PetscReal value[MARGINAL_COUNT],
                                            PetscReal se[MARGINAL_COUNT]);
PETSC_INTERN void           GFSweepMeanError(PetscInt R, const PetscReal v[], size_t stride, PetscReal *mean, PetscReal *se);
PETSC_INTERN void           GFSweepFitRate(PetscInt n, const PetscInt N[], const PetscReal y[], const PetscReal se[], PetscReal *rate, PetscReal *rate_se, PetscReal *chi2);

#endif
