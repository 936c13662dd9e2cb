/* Private definitions shared by the library's source files. */
#ifndef GRADFLOW_IMPL_H
#define GRADFLOW_IMPL_H

#include <gradflow.h>

#define GF_NAME_LEN 64

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
  PetscBool        init_mass_set;
  GFReconstruction reconstruction;
  /* time stepping */
  PetscReal cfl, ssp_coefficient, max_time, fixed_dt;
  PetscInt  max_steps, max_retries;
  PetscBool implicit, imex, beuler, project, drift_ready, local_drift_ready, dt_adapt, jacobian_fd;
  PetscReal dt_next, dt_max; /* implicit: the step Newton's convergence suggests, and its cap */
  PetscInt  mg_levels;       /* multigrid levels of the implicit solves, 0 without */
  /* output */
  char         problem[GF_NAME_LEN], output_dir[PETSC_MAX_PATH_LEN];
  PetscBool    output, overwrite, progress, summary, exact_requested;
  PetscReal    output_interval;
  GFOutputHook output_hook;
  void        *output_hook_ctx;
  PetscInt     snapshot_index;
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
PETSC_INTERN PetscErrorCode GFOptionsChoice(PetscOptionItems *, const char[], const char[], const char[], const char *const[], PetscInt, PetscInt *);
PETSC_INTERN PetscErrorCode GFPrepareDirectory(MPI_Comm, const char[], PetscBool, PetscBool (*)(const char[]), PetscBool (*)(const char[]));
PETSC_INTERN PetscErrorCode GFOpenOnRankZero(MPI_Comm, const char[], const char[], const char[], FILE **);
PETSC_INTERN PetscBool      GFIsPDEFile(const char[]);
PETSC_INTERN PetscBool      GFIsParticleFile(const char[]);
PETSC_INTERN PetscBool      GFIsCompareFile(const char[]);
PETSC_INTERN PetscErrorCode GFWriterCreate(GFGrid, const char[], const char[], PetscBool, GFWriter *);
PETSC_INTERN PetscErrorCode GFWriterWriteDiagnosticsHeader(GFWriter, PetscBool, PetscBool);
PETSC_INTERN PetscErrorCode GFWriterWriteDiagnostics(GFWriter, const GFDiagnostics *);
PETSC_INTERN PetscErrorCode GFWriterWriteSnapshot(GFWriter, PetscInt, Vec, const GFDiagnostics *);
PETSC_INTERN PetscErrorCode GFWriterFlush(GFWriter);
PETSC_INTERN PetscErrorCode GFWriterGetDirectory(GFWriter, const char **, PetscInt *);
PETSC_INTERN PetscErrorCode GFWriterDestroy(GFWriter *);
PETSC_INTERN PetscErrorCode GFSolverSetInitialData(GFSolver);
PETSC_INTERN PetscErrorCode GFSolverMonitorStep(GFSolver, PetscBool);
PETSC_INTERN PetscErrorCode GFSolverPrintSummary(GFSolver);
PETSC_INTERN PetscErrorCode GFPotentialRegistryDestroy(void);
PETSC_INTERN PetscErrorCode GFModelRegistryDestroy(void);
PETSC_INTERN PetscErrorCode GFCheckOption(MPI_Comm, PetscBool, const char[], const char[], ...);
PETSC_INTERN PetscErrorCode GFNameList(PetscFunctionList, char[], size_t);

#endif
