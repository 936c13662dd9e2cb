/*
  The solver layer: finite volumes in time for a GFProblem (PETSc TS, the step rules, the
  implicit Jacobian and multigrid, diagnostics, snapshots), and the library's start-up. It
  uses the problem layer and everything below it.
*/
#ifndef GRADFLOW_SOLVER_H
#define GRADFLOW_SOLVER_H

#include "../problem/problem.h"

/* What one JKO step's solver did (jko.h). */
typedef struct {
  PetscInt  iterations;  /* of its main loop (Newton, primal-dual) */
  PetscReal residual[2]; /* final residuals, relative: primal and dual (primal-dual); gradient and step (Newton) */
  PetscReal w2sq;        /* W2^2(rho_new, rho_old) as the method measures it */
  PetscBool converged;   /* within its tolerance and iteration limit */
} GFJKOResult;

/* The JKO methods (-jko_method). */
typedef enum { GF_JKO_PRIMAL_DUAL, GF_JKO_QUANTILE, GF_JKO_BFM, GF_JKO_AUTO } GFJKOMethodType;
PETSC_INTERN const char *const GFJKOMethods[];

struct _p_GFSolver {
  MPI_Comm         comm;
  GFProblem        problem;
  GFGrid           grid;                                           /* the problem's */
  GFModel          model;                                          /* the problem's */
  GFModelTraits    traits;                                         /* ... and what it is */
  GFTransport      transport, local_transport, explicit_transport; /* all of the drift; its local part and the rest (IMEX) */
  TS               ts;
  GFWriter         writer;
  Vec              rho, rho_local, drift_local, dxi_local, rho_prev, exact;
  Vec              local_drift_local, explicit_potential_local, work; /* IMEX */
  GFReconstruction reconstruction;
  PetscBool        sg_curvature; /* -fv_sg_curvature */
  /* the scheme */
  PetscReal cfl, ssp_coefficient, fixed_dt;
  PetscInt  max_retries;
  PetscBool implicit, imex, beuler, project, drift_ready, local_drift_ready, dt_adapt, jacobian_fd;
  PetscBool fused;           /* the fused two-register SSP scheme: it keeps the step's start itself (no rho_prev) */
  PetscBool check_final;     /* the adapter checks the new state (multistage schemes; single-stage implicit ones check their stage) */
  PetscBool no_adapter;      /* TSSSP and TSEULER: no adapter is asked, the post-step checks */
  PetscReal dt_next, dt_max; /* implicit: the step Newton's convergence suggests, and its cap */
  PetscReal newton_fnorm0;   /* the residual at the start of the current Newton solve */
  PetscBool dt_max_set;
  PetscInt  mg_levels;                                /* multigrid levels of the implicit solves, 0 without */
  PetscBool linear;                                   /* linear equation: one linear solve per stage with an operator kept while its shift is */
  PetscBool operator_ready;                           /* the implicit operator is assembled for operator_shift */
  PetscReal operator_shift;                           /* ... the shift it was assembled for */
  PetscInt  operator_builds;                          /* assemblies of the implicit operator over the run */
  PetscBool pc_reuse;                                 /* nonlinear: keep the multigrid preconditioner while the linear solves stay fast */
  PetscInt  pc_age, pc_fresh_iterations, pc_failures; /* Jacobians since its last rebuild, the first solve's iterations, the nonlinear failures then */
  /* the step in progress (set by the pre-step hook) */
  PetscReal t_stop, requested, energy_before;
  PetscInt  newton_before, next_output;
  PetscBool restore; /* a rejected multistage step: its next attempt starts from rho_prev */
  /* output */
  GFOutputOptions out;
  PetscBool       exact_requested, monitor_started;
  GFOutputHook    output_hook;
  void           *output_hook_ctx;
  /* monitoring */
  GFDiagnostics  diag;
  PetscInt       diag_interval;   /* full diagnostics every this many steps (and at output times); 0: automatic */
  PetscReal      state_stats[3];  /* the fused scheme's new state: its min, max and sum, of every rank */
  PetscBool      state_stats_set; /* ... for the step just accepted */
  PetscInt       steps_taken, energy_rises, tail_fixes;
  PetscReal      largest_tail_fix;
  PetscReal      max_energy_rise, worst_mass_drift, lowest_density;
  PetscLogDouble wall_start, last_progress;
  PetscReal      progress_mark;
  PetscReal      blowup_fraction, blowup_time;
  PetscBool      is_tty, set_up;
  /* JKO steps (-ts_type jko) */
  PetscBool       jko;
  GFJKOMethodType jko_method;
  PetscReal       jko_rtol;       /* 0: the method's default */
  PetscInt        jko_max_it;     /* 0: the method's default */
  PetscInt        jko_order;      /* 1: JKO steps; 2: half a JKO step and the geodesic extended to twice its length (implicit midpoint) */
  PetscInt        jko_fallbacks;  /* order 2: steps whose extrapolation was not a map, taken as two half steps */
  GFJKOResult     jko_result;     /* of the last step */
  PetscReal       jko_gap;        /* ... its F(rho_new) + W2^2/(2 tau) - F(rho_old) */
  PetscReal       jko_worst_gap;  /* the largest gap over the run, relative to max(1, |F(rho_old)|) */
  PetscInt        jko_violations; /* steps whose gap exceeded -jko_rtol of max(1, |F(rho_old)|) */
  PetscInt        jko_iterations; /* the methods' iterations over the run */
};

#define GF_TS_FUSED_SSP "fusedssp"
#define GF_TS_JKO "jko"

/* The admissibility rule of a state from its reduced [not finite, -min, max]: finite, and negative values no larger than 1e-12 of the maximum (round-off, far tails). */
static inline PetscBool GFAdmissible(const PetscReal extremes[3])
{
  return (PetscBool)(extremes[0] == 0 && extremes[1] <= 1e-12 * extremes[2]);
}

PETSC_INTERN PetscErrorCode GFRegisterSchemes(void);
PETSC_INTERN PetscErrorCode GFRegisterFusedSSP(void);
PETSC_INTERN PetscErrorCode GFRegisterJKO(void);
PETSC_INTERN PetscErrorCode GFSolverFixTail(GFSolver, Vec);
PETSC_INTERN PetscErrorCode GFRegisterStepControl(void);
PETSC_INTERN PetscErrorCode GFSolverClassifyTS(GFSolver);
PETSC_INTERN PetscErrorCode GFSolverSetUpEquation(GFSolver);
PETSC_INTERN PetscErrorCode GFSolverDecideLinear(GFSolver);
PETSC_INTERN PetscErrorCode GFSolverUpdateDrift(GFSolver, PetscReal, Vec, GFDriftPart);
PETSC_INTERN PetscErrorCode GFSolverSetUpStepControl(GFSolver);
PETSC_INTERN PetscErrorCode GFSolverChooseTimeStep(GFSolver, PetscReal, PetscReal, PetscReal *);
PETSC_INTERN PetscErrorCode GFSolverMonitor(TS, PetscInt, PetscReal, Vec, void *);
PETSC_INTERN PetscErrorCode GFSolverWriteSnapshot(GFSolver);
PETSC_INTERN PetscReal      GFSolverOutputTime(GFSolver, PetscInt);
PETSC_INTERN PetscErrorCode GFBDFGetHistory(TS, PetscInt *, PetscInt *, Vec[], PetscReal[]);
PETSC_INTERN PetscErrorCode GFBDFSetHistory(TS, PetscInt, PetscInt, Vec[], const PetscReal[]);
PETSC_INTERN PetscErrorCode GFSolverPrintSummary(GFSolver);
PETSC_INTERN PetscErrorCode GFSolverComputeStepDiagnostics(GFSolver, Vec, GFDiagnostics *);

#endif
