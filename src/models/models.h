/*
  The models layer: the named potentials V, interactions W and kernels K, the free energy,
  and one file per model supplying the transport operator's drift. It uses the
  discretization layer; the problem, solvers and particle systems use it.
*/
#ifndef GRADFLOW_MODELS_H
#define GRADFLOW_MODELS_H

#include "../discretization/discretization.h"

struct _p_GFPotential {
  MPI_Comm          comm;
  char              type[GF_NAME_LEN];
  GFPotentialFn     value;
  PetscInt          dim;
  GFPotentialParams params;
};

/* How a particle system's velocity couples its particles: not at all, through their moments only (quadratic W, bilinear K), or by pair sums. */
typedef enum { GF_PARTICLE_COUPLING_NONE, GF_PARTICLE_COUPLING_MOMENTS, GF_PARTICLE_COUPLING_PAIRS } GFParticleCoupling;

/*
  The particle system whose mean-field limit a model is, as much of it as the particle code
  needs: Langevin particles dX = -grad V(X) dt - (w sum_j grad W(X - X_j)) dt + sqrt(2 sigma) dB,
  or Stein (SVGD) particles dx/dt = -w sum_j [grad K(x - x_j) + K(x - x_j) grad V(x_j)].
*/
typedef enum { GF_DYNAMICS_NONE, GF_DYNAMICS_LANGEVIN, GF_DYNAMICS_STEIN, GF_DYNAMICS_NEURAL } GFDynamicsType;
/* The learning problem of mean_field_nn (mean_field_nn.h): neural particles are the neurons of a network trained on it. */
typedef struct _p_GFNeuralNet *GFNeuralNet;
typedef struct {
  GFDynamicsType     type;               /* NONE: the model has no particle system */
  const char        *unavailable;        /* ... and why, with these options (NULL: none at all) */
  PetscReal          sigma;              /* noise; 0: deterministic */
  GFPotential        potential;          /* V */
  GFInteraction      interaction;        /* Langevin: W, or NULL */
  PetscReal          strength;           /* ... a quadratic W = strength |x|^2 / 2 */
  GFKernel           kernel;             /* Stein: K */
  GFParticleCoupling coupling;           /* how the velocity couples the particles */
  GFConvolution      convolution;        /* W * rho on the grid, for particle-mesh sums (NULL: none) */
  PetscInt           convolution_kernel; /* ... W's kernel in it */
  GFNeuralNet        net;                /* neural: dtheta = -grad(dR/drho + V)(theta) dt + noise, R the network's risk */
} GFParticleDynamics;

typedef struct _GFModelOps *GFModelOps;
struct _GFModelOps {
  PetscErrorCode (*setfromoptions)(GFModel, PetscOptionItems *);
  PetscErrorCode (*setup)(GFModel);
  PetscErrorCode (*drift)(GFModel, PetscReal, Vec, Vec, Vec, GFDriftPart); /* (t, rho, rho_local, drift_local, part) */
  PetscErrorCode (*energy)(GFModel, Vec, PetscReal *);                     /* free energy of a global density */
  PetscErrorCode (*exact)(GFModel, PetscReal, Vec);                        /* exact cell averages at time t, of mass init.mass */
  PetscErrorCode (*steady)(GFModel, Vec);                                  /* a steady state, any positive scale */
  PetscErrorCode (*diffusivity)(GFModel, Vec, PetscReal *);                /* max of rho U''(rho): parabolic time-step bound */
  PetscErrorCode (*dxi)(GFModel, Vec, Vec);                                /* d xi_i / d rho_i of the local part of xi (rho_local, dxi_local) */
  PetscErrorCode (*stein)(GFModel, Vec, PetscReal *);                      /* kernel Stein discrepancy of a global density */
  PetscErrorCode (*nonlocal_rate)(GFModel, Vec, PetscReal *);              /* bound on the linearised nonlocal coupling's rate */
  PetscErrorCode (*risk)(GFModel, Vec, PetscReal *, PetscReal[]);          /* the learning risk of a global density and the outputs at the probes (mean_field_nn) */
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
  PetscInt           probes;             /* with a risk: the network's probe inputs, set from options */
  GFParticleDynamics dynamics;           /* its particle system, set by the model's setup */
  PetscReal          exponent;           /* a W2 gradient flow of int U(rho) + V rho (+ 1/2 (W * rho) rho): U's m (1: sigma rho log rho), set by the model's setup; 0: not one */
  const char        *no_jko;             /* ... and (exponent 0) why the JKO methods do not apply */
  const char        *no_exact;           /* why not, when has_exact is false */
  const char        *exact_name;         /* the name of its exact solution ("barenblatt"), or NULL */
  GFInitialData      init;
};

/* What a solver needs to know of a model beyond its operations. */
typedef struct {
  const char *type, *potential;                  /* -model and -potential */
  GFFluxType  flux;                              /* how the transport operator moves the density */
  PetscReal   sigma;                             /* diffusion coefficient */
  PetscInt    drift_dof;                         /* components of the drift field */
  PetscBool   drift_static, local_drift_static;  /* the drift (its local part) independent of rho and t */
  PetscBool   linear;                            /* the equation linear in rho: a static drift moved by the Scharfetter-Gummel flux */
  PetscBool   implicit_default, can_concentrate; /* stiff (implicit by default); attractive (may blow up) */
  PetscBool   stein;                             /* has a kernel Stein discrepancy */
  PetscBool   risk;                              /* has a learning risk (mean_field_nn) */
  PetscInt    probes;                            /* ... and the network's output at this many probe inputs */
  PetscInt    convolutions;                      /* FFT kernels its drift convolves with */
} GFModelTraits;
PETSC_INTERN PetscErrorCode GFModelGetTraits(GFModel, GFModelTraits *);

PETSC_INTERN PetscErrorCode GFModelGetParticleDynamics(GFModel, GFParticleDynamics *);
PETSC_INTERN PetscErrorCode GFModelRegisterAll(void);
PETSC_INTERN PetscErrorCode GFModelRegistryDestroy(void);
PETSC_INTERN PetscErrorCode GFPotentialRegisterAll(void);
PETSC_INTERN PetscErrorCode GFPotentialRegistryDestroy(void);
PETSC_INTERN PetscErrorCode GFKernelRegisterAll(void);
PETSC_INTERN PetscErrorCode GFInteractionRegisterAll(void);
PETSC_INTERN PetscErrorCode GFInteractionRegistryDestroy(void);
PETSC_INTERN PetscErrorCode GFKernelRegistryDestroy(void);
PETSC_INTERN PetscErrorCode GFNeuronRegistryDestroy(void);
PETSC_INTERN PetscErrorCode GFModelCreate_FokkerPlanck(GFModel);
PETSC_INTERN PetscErrorCode GFModelCreate_PorousMedium(GFModel);
PETSC_INTERN PetscErrorCode GFModelCreate_McKeanVlasov(GFModel);
PETSC_INTERN PetscErrorCode GFModelCreate_SVGD(GFModel);
PETSC_INTERN PetscErrorCode GFModelCreate_MeanFieldNN(GFModel);
PETSC_INTERN PetscErrorCode GFFreeEnergy(GFModel, PetscReal, Vec, Vec, PetscReal *);
PETSC_INTERN PetscErrorCode GFAddInternalPotential(PetscReal, PetscReal, Vec, Vec);
PETSC_INTERN PetscErrorCode GFInternalPotentialDerivative(PetscReal, PetscReal, Vec, Vec);
PETSC_INTERN PetscErrorCode GFMaxInternalDiffusivity(PetscReal, PetscReal, Vec, PetscReal *);
PETSC_INTERN void           GFOrnsteinUhlenbeck(PetscReal, PetscReal, PetscReal, PetscReal, PetscReal, PetscReal, PetscReal *, PetscReal *);
PETSC_INTERN void           GFSteinBilinearMoments(PetscInt, PetscReal, const PetscReal[], const PetscReal[], const PetscReal[], const PetscReal[], PetscReal, PetscReal[], PetscReal[][3]);
PETSC_INTERN PetscErrorCode GFGaussianCellAverages(GFGrid, const PetscReal[], PetscReal[][3], Vec);
PETSC_INTERN void           GFInteractionAddPairGradients(GFInteraction, GFGrid, const PetscReal[], PetscInt, const PetscReal[], PetscReal[]);

#endif
