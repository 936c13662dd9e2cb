/*
  gradflow: finite-volume solvers for the continuum limits of particle dynamics
  (Fokker-Planck, porous medium, McKean-Vlasov, SVGD) on distributed PETSc grids.

  Every equation is one conservation law d_t rho + div(rho u) = 0 whose velocity u
  a model supplies; GFTransport is the one finite-volume operator, GFSolver owns
  the grid, the time stepper and the output.
*/
#ifndef GRADFLOW_H
#define GRADFLOW_H

#include <petscts.h>
#include <petscdmda.h>

#ifndef PETSC_SUCCESS
#define PETSC_SUCCESS 0
#endif

#define GRADFLOW_MAX_DIM 3
#define GRADFLOW_MAX_PROBES 8 /* probe inputs of a network (mean_field_nn -nn_probes) */

PETSC_EXTERN const char GFVersion[];

/* Walls of the box. */
typedef enum { GF_BC_NOFLUX, GF_BC_PERIODIC } GFBoundary;
PETSC_EXTERN const char *const GFBoundaries[];

/* How GFTransport turns the model's drift field into face fluxes. */
typedef enum {
  GF_FLUX_SCHARFETTER_GUMMEL, /* drift = psi: J = (sigma/h)[B(d) rho_L - B(-d) rho_R], d = (psi_R - psi_L)/sigma */
  GF_FLUX_UPWIND_POTENTIAL,   /* drift = xi: u = -(xi_R - xi_L)/h, upwinded reconstructed rho */
  GF_FLUX_UPWIND_VELOCITY     /* drift = cell velocity (dim components): u = (v_L + v_R)/2 */
} GFFluxType;

typedef enum { GF_RECONSTRUCTION_MINMOD, GF_RECONSTRUCTION_CONSTANT } GFReconstruction;

/* Which part of a model's drift: all of it, or its local part (for IMEX splittings and Jacobians). */
typedef enum { GF_DRIFT_ALL, GF_DRIFT_LOCAL } GFDriftPart;
PETSC_EXTERN const char *const GFReconstructions[];

/* The uniform box grid and its distributed array. */
typedef struct _p_GFGrid *GFGrid;
/* A named external potential V(x) with its gradient. */
typedef struct _p_GFPotential *GFPotential;
/* A named radial interaction kernel W(x) with its gradient and cell averages. */
typedef struct _p_GFInteraction *GFInteraction;
/* A model: supplies the drift of the transport operator, the energy and exact solutions. */
typedef struct _p_GFModel *GFModel;
/* The finite-volume transport operator. */
typedef struct _p_GFTransport *GFTransport;
/* HDF5 snapshots, XDMF time series and diagnostics.csv. */
typedef struct _p_GFWriter *GFWriter;
/* Finite volumes in time for a problem: the PETSc TS, the step rules, diagnostics and output. */
typedef struct _p_GFSolver *GFSolver;

/* Initial data: -init and its parameters. */
typedef enum { GF_INIT_GAUSSIAN, GF_INIT_UNIFORM, GF_INIT_FILE, GF_INIT_EXACT, GF_INIT_GIBBS, GF_INIT_BARENBLATT } GFInitType;
PETSC_EXTERN const char *const GFInitTypes[];

typedef struct {
  GFInitType type;
  PetscReal  mean[GRADFLOW_MAX_DIM], variance[GRADFLOW_MAX_DIM]; /* gaussian: per axis */
  PetscReal  mass;                                               /* scaled to this mass */
  PetscReal  time;                                               /* start time (file: the snapshot's) */
  char       file[PETSC_MAX_PATH_LEN];
} GFInitialData;

/* Per-step diagnostics of a density. */
typedef struct {
  PetscInt  step;
  PetscReal time, dt;
  PetscReal mass, mass_initial, mass_drift; /* mass_drift = (mass - mass_initial) / mass_initial */
  PetscReal min_density, max_density;
  PetscReal energy;
  PetscReal mean[GRADFLOW_MAX_DIM];
  PetscReal covariance[GRADFLOW_MAX_DIM][GRADFLOW_MAX_DIM]; /* Sheppard-corrected: exact for cell averages of smooth densities */
  PetscBool has_error;
  PetscReal error_l1;       /* || rho - rho_exact ||_1 / || rho_exact ||_1 over cell averages */
  PetscReal error_mean;     /* |mean - exact mean| (Euclidean), the same quadrature for both */
  PetscReal error_variance; /* max over axes of |Cov_aa - exact Cov_aa| */
  PetscBool has_stein;
  PetscReal stein; /* kernel Stein discrepancy KSD(rho/M | pi) (SVGD) */
  PetscBool has_risk;
  PetscReal risk; /* the network's risk R(rho) = 1/2 E (y - f(x))^2 (mean_field_nn) */
  PetscInt  nprobes;
  PetscReal probe[GRADFLOW_MAX_PROBES]; /* the network's output f(x_p) at its probe inputs (mean_field_nn) */
  PetscBool partial;                    /* between -diagnostics_interval steps: only step, time, dt, mass, its drift, min and max are of this step */
  PetscBool has_jko;                    /* -ts_type jko: the step's solver and the JKO inequality */
  PetscInt  jko_iterations;
  PetscReal jko_residual[2]; /* final relative residuals: primal and dual (primal_dual), gradient and Newton step (quantile) */
  PetscReal jko_w2sq;        /* W2^2(rho_new, rho_old) */
  PetscReal jko_gap;         /* F(rho_new) + W2^2 / (2 tau) - F(rho_old): <= 0 for a JKO step */
} GFDiagnostics;

/* Structure-preservation record of a run. */
typedef struct {
  PetscInt  steps, rejected;   /* accepted steps, and steps undone and retried with half the dt */
  PetscReal worst_mass_drift;  /* max over steps of |mass - mass_initial| / mass_initial */
  PetscReal lowest_density;    /* min over steps and cells of rho */
  PetscInt  energy_rises;      /* accepted steps where the energy rose by more than 1e-12 relative */
  PetscReal max_energy_rise;   /* largest (E_{n+1} - E_n) / max(1, |E_n|) */
  PetscInt  newton_iterations; /* implicit: Newton iterations over the run */
  PetscReal blowup_time;       /* time the run stopped at a concentration below the grid scale, or -1 */
  PetscInt  tail_fixes;        /* steps whose negative values, all below 1e-12 max rho, were zeroed (mass kept) */
  PetscInt  linear_iterations; /* implicit: Krylov iterations over the run */
  PetscInt  operator_builds;   /* implicit: assemblies of the Jacobian (linear problems: one per distinct shift) */
  PetscInt  jko_iterations;    /* -ts_type jko: the JKO solver's iterations over the run */
  PetscInt  jko_violations;    /* ... steps whose JKO inequality gap exceeded -jko_rtol of max(1, |F|) */
  PetscReal jko_worst_gap;     /* ... the largest gap, relative to max(1, |F(rho_old)|) */
} GFRunStatistics;

/* Parameters of a potential: -potential_stiffness, -potential_center, -potential_params. */
typedef struct {
  PetscReal stiffness[GRADFLOW_MAX_DIM], center[GRADFLOW_MAX_DIM];
  PetscReal param[8];
  PetscInt  nparam;
} GFPotentialParams;

/* A pointwise potential: returns V(x) and, when grad is not NULL, stores grad V(x). */
typedef PetscReal (*GFPotentialFn)(PetscInt dim, const PetscReal x[], const GFPotentialParams *p, PetscReal grad[]);

/* Grid */
PETSC_EXTERN PetscErrorCode GFGridCreate(MPI_Comm, GFGrid *);
PETSC_EXTERN PetscErrorCode GFGridSetFromOptions(GFGrid);
PETSC_EXTERN PetscErrorCode GFGridSetUp(GFGrid);
PETSC_EXTERN PetscErrorCode GFGridDestroy(GFGrid *);
PETSC_EXTERN PetscErrorCode GFGridReference(GFGrid);
PETSC_EXTERN PetscErrorCode GFGridGetDM(GFGrid, DM *);
PETSC_EXTERN PetscErrorCode GFGridGetDimension(GFGrid, PetscInt *);
PETSC_EXTERN PetscErrorCode GFGridGetCells(GFGrid, PetscInt[]);
PETSC_EXTERN PetscErrorCode GFGridGetBox(GFGrid, PetscReal[], PetscReal[]);
PETSC_EXTERN PetscErrorCode GFGridGetBoundary(GFGrid, GFBoundary *);
PETSC_EXTERN PetscErrorCode GFGridGetCellVolume(GFGrid, PetscReal *);
PETSC_EXTERN PetscErrorCode GFGridIntegrate(GFGrid, Vec, PetscReal *);
PETSC_EXTERN PetscErrorCode GFGridWasserstein1D(GFGrid, Vec, Vec, PetscReal *, PetscReal *);
PETSC_EXTERN PetscErrorCode GFGridGaussianCellAverages(GFGrid, const PetscReal[], const PetscReal[], Vec);
PETSC_EXTERN PetscErrorCode GFGridEvaluate(GFGrid, PetscReal (*)(PetscInt, const PetscReal[], void *), void *, Vec);

/* Where a function is zero, smooth, or cut by its free boundary, on the box [lower, upper]. */
typedef enum { GF_BOX_ZERO, GF_BOX_SMOOTH, GF_BOX_CUT } GFBoxKind;
typedef GFBoxKind (*GFBoxClassifier)(PetscInt dim, const PetscReal lower[], const PetscReal upper[], void *ctx);
PETSC_EXTERN PetscErrorCode GFGridCellAveragesAdaptive(GFGrid, PetscReal (*)(PetscInt, const PetscReal[], void *), GFBoxClassifier, void *, PetscInt, Vec);

/* Potentials */
PETSC_EXTERN PetscErrorCode GFPotentialRegister(const char[], GFPotentialFn);
PETSC_EXTERN PetscErrorCode GFPotentialCreate(MPI_Comm, GFPotential *);
PETSC_EXTERN PetscErrorCode GFPotentialSetType(GFPotential, const char[]);
PETSC_EXTERN PetscErrorCode GFPotentialSetFromOptions(GFPotential, PetscInt);
PETSC_EXTERN PetscErrorCode GFPotentialSetParams(GFPotential, PetscInt, const GFPotentialParams *);
PETSC_EXTERN PetscErrorCode GFPotentialGetType(GFPotential, const char **);
PETSC_EXTERN PetscErrorCode GFPotentialIsQuadratic(GFPotential, PetscBool *, PetscReal[], PetscReal[]);
PETSC_EXTERN PetscReal      GFPotentialValue(GFPotential, const PetscReal[], PetscReal[]);
PETSC_EXTERN PetscErrorCode GFPotentialEvaluateOnGrid(GFPotential, GFGrid, Vec);
PETSC_EXTERN PetscErrorCode GFPotentialDestroy(GFPotential *);
PETSC_EXTERN PetscErrorCode GFPotentialListTypes(char[], size_t);

/*
  Kernels: the Stein kernel K of SVGD, -kernel NAME with bandwidth l (-kernel_bandwidth). A
  radial kernel K(x) = k(|x|^2) is registered by its profile: the function gets r2 = |x|^2
  and l2 = l^2, returns k and stores the derivatives dk, d2k of k in r2 / 2 (then
  grad K = dk x, Laplace K = dim dk + r2 d2k). "bilinear" (1 + x.y) is built in and acts
  through moments.
*/
typedef struct _p_GFKernel *GFKernel;
typedef PetscReal (*GFKernelProfile)(PetscReal r2, PetscReal l2, PetscReal *dk, PetscReal *d2k);
PETSC_EXTERN PetscErrorCode GFKernelRegister(const char[], GFKernelProfile);
PETSC_EXTERN PetscErrorCode GFKernelCreate(MPI_Comm, GFKernel *);
PETSC_EXTERN PetscErrorCode GFKernelSetType(GFKernel, const char[]);
PETSC_EXTERN PetscErrorCode GFKernelSetFromOptions(GFKernel);
PETSC_EXTERN PetscErrorCode GFKernelGetType(GFKernel, const char **);
PETSC_EXTERN PetscErrorCode GFKernelGetBandwidth(GFKernel, PetscReal *);
PETSC_EXTERN PetscBool      GFKernelIsBilinear(GFKernel);
PETSC_EXTERN PetscReal      GFKernelValue(GFKernel, PetscInt, const PetscReal[], PetscReal[], PetscReal *);
PETSC_EXTERN PetscErrorCode GFKernelDestroy(GFKernel *);

/*
  Interactions: the kernel W(x) = b w(|x|) of mckean_vlasov, -interaction NAME with strength b
  (-interaction_strength) and up to 4 parameters (-interaction_params). A kernel is
  registered by a function filling in its GFInteractionKernel: w and w' (r > 0), the terms
  c r^p or c ln r by which w is singular at 0 (integrated exactly in the cell averages; at
  most 2), a check of the parameters, and whether it decays fast enough to be periodised.
*/
typedef struct {
  PetscReal coefficient, power;
  PetscBool logarithmic;
} GFSingularTerm;
typedef struct {
  PetscReal (*w)(PetscInt dim, PetscReal r, const PetscReal param[]);
  PetscReal (*dw)(PetscInt dim, PetscReal r, const PetscReal param[]);
  PetscInt (*singular)(PetscInt dim, const PetscReal param[], GFSingularTerm terms[]); /* NULL: smooth */
  PetscErrorCode (*check)(MPI_Comm, PetscInt dim, const PetscReal param[]);            /* NULL: any parameters */
  PetscInt  nparam;
  PetscReal defaults[4];
  PetscBool periodisable;
} GFInteractionKernel;
PETSC_EXTERN PetscErrorCode GFInteractionRegister(const char[], PetscErrorCode (*)(GFInteractionKernel *));
PETSC_EXTERN PetscErrorCode GFInteractionCreate(MPI_Comm, GFInteraction *);
PETSC_EXTERN PetscErrorCode GFInteractionSetType(GFInteraction, const char[]);
PETSC_EXTERN PetscErrorCode GFInteractionSetFromOptions(GFInteraction, PetscInt, GFBoundary);
PETSC_EXTERN PetscErrorCode GFInteractionGetType(GFInteraction, const char **);
PETSC_EXTERN PetscErrorCode GFInteractionIsActive(GFInteraction, PetscBool *);
PETSC_EXTERN PetscErrorCode GFInteractionQuadraticStrength(GFInteraction, PetscBool *, PetscReal *);
PETSC_EXTERN PetscReal      GFInteractionValue(GFInteraction, const PetscReal[], PetscReal[]);
PETSC_EXTERN PetscErrorCode GFInteractionCellAverage(PetscInt, const PetscReal[], const PetscReal[], PetscReal[], void *);
PETSC_EXTERN PetscErrorCode GFInteractionDestroy(GFInteraction *);

/* Models */
PETSC_EXTERN PetscErrorCode GFModelRegister(const char[], PetscErrorCode (*)(GFModel));
PETSC_EXTERN PetscErrorCode GFModelCreate(MPI_Comm, GFModel *);
PETSC_EXTERN PetscErrorCode GFModelSetType(GFModel, const char[]);
PETSC_EXTERN PetscErrorCode GFModelGetType(GFModel, const char **);
PETSC_EXTERN PetscErrorCode GFModelSetFromOptions(GFModel, GFGrid);
PETSC_EXTERN PetscErrorCode GFModelSetInitialData(GFModel, const GFInitialData *);
PETSC_EXTERN PetscErrorCode GFModelSetUp(GFModel, GFGrid);
PETSC_EXTERN PetscErrorCode GFModelGetFlux(GFModel, GFFluxType *, PetscReal *, PetscInt *);
PETSC_EXTERN PetscErrorCode GFModelIsDriftStatic(GFModel, PetscBool *);
PETSC_EXTERN PetscErrorCode GFModelGetMaxDiffusivity(GFModel, Vec, PetscReal *);
PETSC_EXTERN PetscErrorCode GFModelGetNonlocalRate(GFModel, Vec, PetscReal *);
PETSC_EXTERN PetscErrorCode GFModelComputeDriftDerivative(GFModel, Vec, Vec, PetscBool *);
PETSC_EXTERN PetscErrorCode GFModelComputeDrift(GFModel, PetscReal, Vec, Vec, Vec, GFDriftPart);
PETSC_EXTERN PetscErrorCode GFModelComputeEnergy(GFModel, Vec, PetscReal *);
PETSC_EXTERN PetscErrorCode GFModelHasExact(GFModel, PetscBool *, const char **);
PETSC_EXTERN PetscErrorCode GFModelComputeSteinDiscrepancy(GFModel, Vec, PetscBool *, PetscReal *);
PETSC_EXTERN PetscErrorCode GFModelComputeRisk(GFModel, Vec, PetscBool *, PetscReal *, PetscReal[]);
PETSC_EXTERN PetscErrorCode GFModelComputeExact(GFModel, PetscReal, Vec);
PETSC_EXTERN PetscErrorCode GFModelGetExactName(GFModel, const char **);
PETSC_EXTERN PetscErrorCode GFModelHasSteadyState(GFModel, PetscBool *);
PETSC_EXTERN PetscErrorCode GFModelComputeSteadyState(GFModel, Vec);
PETSC_EXTERN PetscErrorCode GFModelView(GFModel, PetscViewer);
PETSC_EXTERN PetscErrorCode GFModelDestroy(GFModel *);
PETSC_EXTERN PetscErrorCode GFModelListTypes(char[], size_t);

/* Transport */
PETSC_EXTERN PetscErrorCode GFTransportCreate(GFGrid, GFTransport *);
PETSC_EXTERN PetscErrorCode GFTransportSetFluxType(GFTransport, GFFluxType, PetscReal);
PETSC_EXTERN PetscErrorCode GFTransportSetReconstruction(GFTransport, GFReconstruction);
PETSC_EXTERN PetscErrorCode GFTransportSetCurvatureCorrection(GFTransport, PetscBool);
PETSC_EXTERN PetscErrorCode GFTransportComputeRHS(GFTransport, Vec, Vec, Vec);
PETSC_EXTERN PetscErrorCode GFTransportDriftChanged(GFTransport);
PETSC_EXTERN PetscErrorCode GFTransportComputeJacobian(GFTransport, Vec, Vec, Vec, PetscReal, Mat);
PETSC_EXTERN PetscErrorCode GFTransportComputeMaxRate(GFTransport, Vec, Vec, PetscReal, PetscReal *);
PETSC_EXTERN PetscErrorCode GFTransportStage(GFTransport, Vec, Vec, Vec, PetscReal, PetscReal, Vec, Vec, PetscReal[3]);
PETSC_EXTERN PetscErrorCode GFTransportDestroy(GFTransport *);
PETSC_EXTERN PetscReal      GFBernoulli(PetscReal);

/*
  Problem: what every solver of a problem shares: the grid, the model, the initial data, the
  time span and the name (the default output directory is output/NAME).
*/
typedef struct _p_GFProblem *GFProblem;
PETSC_EXTERN PetscErrorCode  GFProblemCreate(MPI_Comm, GFProblem *);
PETSC_EXTERN PetscErrorCode  GFProblemSetName(GFProblem, const char[]);
PETSC_EXTERN PetscErrorCode  GFProblemGetName(GFProblem, const char **);
PETSC_EXTERN PetscErrorCode  GFProblemSetFromOptions(GFProblem);
PETSC_EXTERN PetscErrorCode  GFProblemSetUp(GFProblem);
PETSC_EXTERN PetscErrorCode  GFProblemGetGrid(GFProblem, GFGrid *);
PETSC_EXTERN PetscErrorCode  GFProblemGetModel(GFProblem, GFModel *);
PETSC_EXTERN PetscErrorCode  GFProblemGetInitialData(GFProblem, const GFInitialData **);
PETSC_EXTERN PetscErrorCode  GFProblemGetTimeSpan(GFProblem, PetscReal *, PetscReal *);
PETSC_EXTERN PetscErrorCode  GFProblemGetInitialDensity(GFProblem, Vec *, PetscInt *);
PETSC_EXTERN PetscErrorCode  GFProblemTakeInitialDensity(GFProblem, Vec *);
PETSC_EXTERN PetscErrorCode  GFProblemIsImplicit(GFProblem, PetscBool *);
PETSC_EXTERN PetscErrorCode  GFProblemHasExact(GFProblem, PetscBool *, const char **);
PETSC_EXTERN PetscErrorCode  GFProblemReference(GFProblem);
PETSC_EXTERN PetscErrorCode  GFProblemDestroy(GFProblem *);

/* Solver: finite volumes in time for a problem (its own, set from options, unless GFSolverSetProblem gives one). */
PETSC_EXTERN PetscErrorCode GFSolverCreate(MPI_Comm, GFSolver *);
PETSC_EXTERN PetscErrorCode GFSolverSetProblem(GFSolver, GFProblem);
PETSC_EXTERN PetscErrorCode GFSolverGetProblem(GFSolver, GFProblem *);
PETSC_EXTERN PetscErrorCode GFSolverSetProblemName(GFSolver, const char[]);
PETSC_EXTERN PetscErrorCode GFSolverSetFromOptions(GFSolver);
PETSC_EXTERN PetscErrorCode GFSolverSetUp(GFSolver);
PETSC_EXTERN PetscErrorCode GFSolverSolve(GFSolver);
typedef PetscErrorCode (*GFOutputHook)(GFSolver, PetscReal, Vec, void *);
PETSC_EXTERN PetscErrorCode GFSolverSetOutputHook(GFSolver, GFOutputHook, void *);
PETSC_EXTERN PetscErrorCode GFSolverGetGrid(GFSolver, GFGrid *);
PETSC_EXTERN PetscErrorCode GFSolverGetModel(GFSolver, GFModel *);
PETSC_EXTERN PetscErrorCode GFSolverGetTS(GFSolver, TS *);
PETSC_EXTERN PetscErrorCode GFSolverGetSolution(GFSolver, Vec *);
PETSC_EXTERN PetscErrorCode GFSolverGetDiagnostics(GFSolver, GFDiagnostics *);
PETSC_EXTERN PetscErrorCode GFSolverGetStatistics(GFSolver, GFRunStatistics *);
PETSC_EXTERN PetscErrorCode GFSolverComputeDiagnostics(GFSolver, Vec, GFDiagnostics *);
PETSC_EXTERN PetscErrorCode GFSolverDestroy(GFSolver *);

/* Convergence-order studies: the configured problem on a ladder of grids and/or steps. */
typedef struct _p_GFStudy  *GFStudy;
PETSC_EXTERN PetscErrorCode GFStudyCreate(MPI_Comm, GFStudy *);
PETSC_EXTERN PetscErrorCode GFStudySetProblemName(GFStudy, const char[]);
PETSC_EXTERN PetscErrorCode GFStudySetFromOptions(GFStudy);
PETSC_EXTERN PetscErrorCode GFStudyRun(GFStudy);
PETSC_EXTERN PetscErrorCode GFStudyGetDirectory(GFStudy, const char **);
PETSC_EXTERN PetscErrorCode GFStudyGetOptions(GFStudy, PetscInt *, PetscOptions[]);
PETSC_EXTERN PetscErrorCode GFStudyDestroy(GFStudy *);

/* Output */
PETSC_EXTERN PetscErrorCode GFSnapshotRead(GFGrid, const char[], Vec, PetscReal *, PetscInt *);

/* Command line */
PETSC_EXTERN PetscErrorCode GFOptionsAxisReals_Private(PetscOptionItems *, const char[], const char[], PetscInt, PetscReal[], PetscBool *);
#define GFOptionsAxisReals(name, help, dim, values, set) GFOptionsAxisReals_Private(PetscOptionsObject, name, help, dim, values, set)
/* Refuse options that nobody read (misspelt, or for another model); options with the foreign prefixes belong to other commands. */
PETSC_EXTERN PetscErrorCode GFOptionsCheckUnused(MPI_Comm, PetscInt, PetscOptions[], const char *const[]);
PETSC_EXTERN PetscErrorCode GFInitialize(int *, char ***, const char[]);
PETSC_EXTERN PetscErrorCode GFFinalize(void);
PETSC_EXTERN PetscBool      GFErrorIsCollective(PetscErrorCode);
PETSC_EXTERN int            GFExitCode(PetscErrorCode);

#include <gradflow_convolution.h>
#include <gradflow_particles.h>

#endif
