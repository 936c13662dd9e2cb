/* Private definitions shared by the library's source files. */
#ifndef GRADFLOW_IMPL_H
#define GRADFLOW_IMPL_H

#include <gradflow.h>
#include "base/base.h"

/* The owned and ghosted index boxes of this rank; unused axes have start 0 and size 1. */
typedef struct {
  PetscInt start[3], size[3];   /* owned cells (global indices) */
  PetscInt gstart[3], gsize[3]; /* owned + ghost cells */
} GFLocalBox;

struct _p_GFGrid {
  MPI_Comm   comm;
  PetscInt   refct; /* GFGridReference / GFGridDestroy */
  PetscInt   dim;
  PetscInt   cells[3];
  PetscReal  lower[3], upper[3], h[3];
  PetscReal  cell_volume;
  GFBoundary bc;
  DM         da;
  GFLocalBox box;
  PetscBool  fixed; /* built from a file: its size is not for -da_grid_x and friends to change */
};

/* Index of global cell (i, j, k) in a rank's ghosted local array. */
static inline PetscInt GFLocalIndex(const GFLocalBox *b, PetscInt i, PetscInt j, PetscInt k)
{
  return (i - b->gstart[0]) + b->gsize[0] * ((j - b->gstart[1]) + b->gsize[1] * (k - b->gstart[2]));
}

/* Index of owned global cell (i, j, k) in a rank's global-vector array. */
static inline PetscInt GFOwnedIndex(const GFLocalBox *b, PetscInt i, PetscInt j, PetscInt k)
{
  return (i - b->start[0]) + b->size[0] * ((j - b->start[1]) + b->size[1] * (k - b->start[2]));
}

/* Stride of axis a in the ghosted local array. */
static inline PetscInt GFLocalStride(const GFLocalBox *b, PetscInt a)
{
  return a == 0 ? 1 : (a == 1 ? b->gsize[0] : b->gsize[0] * b->gsize[1]);
}

/* Centre of global cell idx[] (unused axes ignored). */
static inline void GFGridCellCenter(const struct _p_GFGrid *g, const PetscInt idx[], PetscReal x[])
{
  for (PetscInt a = 0; a < g->dim; a++) x[a] = g->lower[a] + (idx[a] + 0.5) * g->h[a];
}

/* x - y, by the minimum image on periodic boxes: the displacement particle interactions use. */
static inline void GFGridDisplacement(const struct _p_GFGrid *g, const PetscReal x[], const PetscReal y[], PetscReal d[])
{
  for (PetscInt a = 0; a < g->dim; a++) {
    d[a] = x[a] - y[a];
    if (g->bc == GF_BC_PERIODIC) {
      const PetscReal L = g->upper[a] - g->lower[a];
      d[a] -= L * round(d[a] / L);
    }
  }
}

#define GF_FOR_OWNED(box, i, j, k)                                                \
  for (PetscInt k = (box)->start[2]; k < (box)->start[2] + (box)->size[2]; k++)   \
    for (PetscInt j = (box)->start[1]; j < (box)->start[1] + (box)->size[1]; j++) \
      for (PetscInt i = (box)->start[0]; i < (box)->start[0] + (box)->size[0]; i++)

struct _p_GFPotential {
  MPI_Comm          comm;
  char              type[GF_NAME_LEN];
  GFPotentialFn     value;
  PetscInt          dim;
  GFPotentialParams params;
};

/* How a particle system's velocity couples its particles: not at all, through their moments only (quadratic W, bilinear K), or by pair sums. */
typedef enum { GF_PARTICLE_COUPLING_NONE, GF_PARTICLE_COUPLING_MOMENTS, GF_PARTICLE_COUPLING_PAIRS } GFParticleCoupling;

typedef struct _GFModelOps *GFModelOps;
struct _GFModelOps {
  PetscErrorCode (*setfromoptions)(GFModel, PetscOptionItems *);
  PetscErrorCode (*setup)(GFModel);
  PetscErrorCode (*drift)(GFModel, PetscReal, Vec, Vec, Vec, GFDriftPart); /* (t, rho, rho_local, drift_local, part) */
  PetscErrorCode (*energy)(GFModel, Vec, PetscReal *);                     /* free energy of a global density */
  PetscErrorCode (*exact)(GFModel, PetscReal, Vec);                        /* exact cell averages at time t, of mass init.mass */
  PetscErrorCode (*steady)(GFModel, Vec);                                  /* a steady state, any positive scale */
  PetscErrorCode (*diffusivity)(GFModel, Vec, PetscReal *);                /* max of rho U''(rho): parabolic time-step bound */
  PetscErrorCode (*dxi)(GFModel, Vec, Vec);
  PetscErrorCode (*stein)(GFModel, Vec, PetscReal *);                                                                /* kernel Stein discrepancy of a global density */
  PetscErrorCode (*nonlocal_rate)(GFModel, Vec, PetscReal *); /* bound on the linearised nonlocal coupling's rate */ /* d xi_i / d rho_i of the local part of xi (rho_local, dxi_local) */
  /* the particle system (NULL when the model has none): dx/dt without the noise, v (nlocal x dim), of this rank's particles x (nlocal x dim) */
  PetscErrorCode (*particle_velocity)(GFModel, GFParticles, const PetscReal[], PetscReal[]);
  PetscErrorCode (*view)(GFModel, PetscViewer);
  PetscErrorCode (*destroy)(GFModel);
};

struct _p_GFModel {
  MPI_Comm           comm;
  char               type[GF_NAME_LEN];
  struct _GFModelOps ops[1];
  void              *data;
  GFGrid             grid;      /* set by GFModelSetUp */
  GFPotential        potential; /* external potential V, or type "none" */
  Vec                V;         /* V at cell centres (global) */
  GFFluxType         flux;
  PetscReal          sigma;              /* diffusion coefficient */
  PetscBool          drift_static;       /* drift independent of rho and t: computed once */
  PetscBool          local_drift_static; /* likewise for its local part */
  PetscInt           drift_dof;          /* components of the drift field: 1, or dim for velocities */
  PetscBool          implicit_default;   /* stiff: backward Euler unless -ts_type says otherwise */
  PetscBool          can_concentrate;    /* attractive interactions: watch for blow-up below the grid scale */
  PetscBool          has_exact;          /* set by the model's setup */
  PetscInt           convolutions;       /* FFT kernels its drift convolves with (for memory estimates), set from options */
  PetscReal          particle_sigma;     /* noise of the particle system, dX = v dt + sqrt(2 particle_sigma) dB; 0: deterministic */
  GFParticleCoupling particle_coupling;  /* how its velocity couples the particles */
  PetscBool          particle_mesh;      /* ... and whether pair sums can go by particle-mesh instead */
  const char        *no_particles;       /* why the model has no particle system with these options, or NULL */
  const char        *no_exact;           /* why not, when has_exact is false */
  GFInitialData      init;
};

struct _p_GFTransport {
  GFGrid           grid;
  GFFluxType       flux;
  GFReconstruction reconstruction;
  PetscReal        sigma; /* Scharfetter-Gummel diffusion coefficient */
  /* caches valid until GFTransportDriftChanged(): Scharfetter-Gummel face coefficients
     B(d), B(-d) per axis, and the last rate bound with its diffusivity */
  PetscReal *sg_coefficients[3];
  PetscBool  sg_valid, rate_valid;
  PetscReal  rate_diffusivity, rate;
};

#define GF_MAX_HISTORY 6

/* What a time stepper needs to continue from a snapshot. */
typedef struct {
  PetscReal dt;                            /* the last accepted step */
  PetscReal dt_next, dt_max;               /* adaptive steps: the step the controller tries next, and its cap (0: none) */
  PetscInt  order, length;                 /* multistep schemes: the order reached, and how many earlier solutions follow */
  Vec       previous[GF_MAX_HISTORY];      /* ... the solutions one, two, ... steps back */
  PetscReal previous_time[GF_MAX_HISTORY]; /* ... and their times */
} GFRestartState;

/* What a snapshot claims, checked by GFSnapshotReadHeader. */
typedef struct {
  long long dim, cells[3];
  double    lower[3], upper[3];
  char      bc[16], model[GF_NAME_LEN];
  double    time, initial_mass; /* initial_mass: of the run the snapshot belongs to (0: unknown) */
  long long step;
  PetscBool has_state; /* the time stepper's state follows */
  double    dt, dt_next, dt_max, history_time[GF_MAX_HISTORY];
  long long history_order, history_length;
} GFSnapshotHeader;
PETSC_INTERN int            GFSnapshotReadHeader(const char[], const char[], GFSnapshotHeader *, char[], size_t);
PETSC_INTERN PetscErrorCode GFSnapshotGetHeader(MPI_Comm, const char[], const char[], GFSnapshotHeader *);
PETSC_INTERN PetscErrorCode GFSnapshotLoad(GFGrid, const char[], const char[], const GFSnapshotHeader *, Vec, Vec[]);

struct _p_GFSolver {
  MPI_Comm         comm;
  GFGrid           grid;
  GFModel          model;
  GFTransport      transport, local_transport, explicit_transport; /* all of the drift; its local part and the rest (IMEX) */
  TS               ts;
  GFWriter         writer;
  Vec              rho, rho_local, drift_local, dxi_local, rho_prev, exact;
  Vec              local_drift_local, explicit_potential_local, work; /* IMEX */
  GFInitialData    init;
  PetscBool        init_mass_set, model_check;
  GFSnapshotHeader init_header;             /* -init file: what the snapshot holds */
  Vec              history[GF_MAX_HISTORY]; /* ... and its multistep history */
  GFReconstruction reconstruction;
  /* time stepping */
  PetscReal cfl, ssp_coefficient, max_time, fixed_dt;
  PetscInt  max_steps, max_retries;
  PetscBool implicit, imex, beuler, project, drift_ready, local_drift_ready, dt_adapt, jacobian_fd;
  PetscReal dt_next, dt_max; /* implicit: the step Newton's convergence suggests, and its cap */
  PetscBool dt_max_set;
  PetscInt  mg_levels; /* multigrid levels of the implicit solves, 0 without */
  /* output */
  char         problem[GF_NAME_LEN], output_dir[PETSC_MAX_PATH_LEN];
  PetscBool    output, overwrite, progress, summary, exact_requested;
  PetscReal    output_interval;
  GFOutputHook output_hook;
  void        *output_hook_ctx;
  PetscInt     output_max;
  /* monitoring */
  GFDiagnostics  diag;
  PetscInt       steps_taken, rejected, energy_rises, tail_fixes;
  PetscReal      largest_tail_fix;
  PetscReal      max_energy_rise, worst_mass_drift, lowest_density;
  PetscLogDouble wall_start, last_progress;
  PetscReal      progress_mark;
  PetscReal      blowup_fraction, blowup_time;
  PetscBool      is_tty, set_up;
};

PETSC_INTERN PetscErrorCode GFModelRegisterAll(void);
PETSC_INTERN PetscErrorCode GFRegisterSSPSchemes(void);
PETSC_INTERN PetscErrorCode GFPotentialRegisterAll(void);
PETSC_INTERN PetscErrorCode GFModelCreate_FokkerPlanck(GFModel);
PETSC_INTERN PetscErrorCode GFModelCreate_PorousMedium(GFModel);
PETSC_INTERN PetscErrorCode GFModelCreate_McKeanVlasov(GFModel);
PETSC_INTERN PetscErrorCode GFModelCreate_SVGD(GFModel);
PETSC_INTERN PetscErrorCode GFFreeEnergy(GFModel, PetscReal, Vec, Vec, PetscReal *);
PETSC_INTERN PetscErrorCode GFAddInternalPotential(PetscReal, PetscReal, Vec, Vec);
PETSC_INTERN PetscErrorCode GFInternalPotentialDerivative(PetscReal, PetscReal, Vec, Vec);
PETSC_INTERN PetscErrorCode GFMaxInternalDiffusivity(PetscReal, PetscReal, Vec, PetscReal *);
PETSC_INTERN void           GFOrnsteinUhlenbeck(PetscReal, PetscReal, PetscReal, PetscReal, PetscReal, PetscReal, PetscReal *, PetscReal *);
PETSC_INTERN PetscErrorCode GFMultigridSetUp(GFGrid, KSP, PetscInt *);

PETSC_INTERN PetscErrorCode GFGridGetLocalBox(GFGrid, GFLocalBox *);
PETSC_INTERN PetscErrorCode GFGridGatherNatural(GFGrid, Vec, Vec *);
PETSC_INTERN void           GFInteractionAddPairGradients(GFInteraction, GFGrid, const PetscReal[], PetscInt, const PetscReal[], PetscReal[]);
PETSC_INTERN PetscErrorCode GFSnapshotReadGrid(MPI_Comm, const char[], GFGrid *, char **);
PETSC_INTERN PetscErrorCode GFSnapshotReadTime(MPI_Comm, const char[], PetscReal *);
PETSC_INTERN PetscBool      GFIsPDEFile(const char[]);
PETSC_INTERN PetscBool      GFIsParticleFile(const char[]);
PETSC_INTERN PetscBool      GFIsCompareFile(const char[]);

/* What a file in an output directory is to the command writing there. */
typedef enum {
  GF_FILE_FOREIGN,   /* not a gradflow result: blocks without -output_overwrite, never removed */
  GF_FILE_COMPANION, /* another command's results (a particle run beside a PDE run): left alone */
  GF_FILE_OLD,       /* an earlier run of this kind: blocks without -output_overwrite, removed at the commit */
  GF_FILE_REPLACE,   /* rewritten by this run (a continuation's diagnostics.csv, stale .tmp files): removed at the commit */
  GF_FILE_KEEP       /* kept as it is (the snapshots before a restart in place) */
} GFFileRole;
typedef GFFileRole (*GFFileRoleFn)(const char[], void *);
typedef struct _p_GFRunDirectory *GFRunDirectory;
PETSC_INTERN PetscErrorCode       GFCheckRankZero(MPI_Comm, int, const char[]);
PETSC_INTERN PetscErrorCode       GFRunDirectoryCreate(MPI_Comm, const char[], PetscBool, GFFileRoleFn, void *, GFRunDirectory *);
PETSC_INTERN PetscErrorCode       GFRunDirectoryPaths(GFRunDirectory, const char[], char[], char[], size_t);
PETSC_INTERN PetscErrorCode       GFRunDirectoryFinish(GFRunDirectory, const char[]);
PETSC_INTERN PetscErrorCode       GFRunDirectoryOpen(GFRunDirectory, const char[], const char[], FILE **);
PETSC_INTERN PetscErrorCode       GFRunDirectoryClose(GFRunDirectory, const char[], FILE **);
PETSC_INTERN PetscErrorCode       GFRunDirectoryGetState(GFRunDirectory, PetscBool *, PetscBool *);
PETSC_INTERN PetscErrorCode       GFRunDirectoryCommit(GFRunDirectory);
PETSC_INTERN PetscErrorCode       GFRunDirectoryGetPath(GFRunDirectory, const char **);
PETSC_INTERN PetscErrorCode       GFRunDirectoryDestroy(GFRunDirectory *);

/* How a run directory is opened. */
typedef struct {
  const char *dir, *model;
  PetscBool   overwrite;
  PetscBool   with_error, with_stein; /* diagnostics.csv columns */
  PetscInt    first_index;            /* number of the first snapshot */
  const char *restart_file;           /* the -init_file ("" for none): a continuation when it is a snapshot of dir */
  PetscInt64  restart_step;
  PetscReal   restart_time;
  PetscBool   rescaled; /* -init_mass rescales the restart file */
} GFWriterSetup;

PETSC_INTERN PetscErrorCode GFWriterCreate(GFGrid, const GFWriterSetup *, GFWriter *);
PETSC_INTERN PetscErrorCode GFVecViewNamed(Vec, const char[], PetscViewer, PetscBool);
PETSC_INTERN PetscErrorCode GFWriterWriteDiagnostics(GFWriter, const GFDiagnostics *);
PETSC_INTERN PetscErrorCode GFWriterWriteSnapshot(GFWriter, Vec, const GFDiagnostics *, const GFRestartState *);
PETSC_INTERN PetscErrorCode GFWriterCommit(GFWriter);
PETSC_INTERN PetscErrorCode GFWriterGetState(GFWriter, PetscBool *, PetscBool *);
PETSC_INTERN PetscErrorCode GFWriterGetDirectory(GFWriter, const char **, PetscInt *, PetscInt *);
PETSC_INTERN PetscErrorCode GFWriterDestroy(GFWriter *);
PETSC_INTERN PetscErrorCode GFSolverSetInitialData(GFSolver);
PETSC_INTERN PetscErrorCode GFBDFGetHistory(TS, PetscInt *, PetscInt *, Vec[], PetscReal[]);
PETSC_INTERN PetscErrorCode GFBDFSetHistory(TS, PetscInt, PetscInt, Vec[], const PetscReal[]);
PETSC_INTERN PetscErrorCode GFSolverMonitorStep(GFSolver, PetscBool);
PETSC_INTERN PetscErrorCode GFSolverPrintSummary(GFSolver);
PETSC_INTERN PetscErrorCode GFPotentialRegistryDestroy(void);
PETSC_INTERN PetscErrorCode GFModelRegistryDestroy(void);

#endif
