/*
  Internals of the primal-dual JKO method (jko_primal_dual.c, jko_pd_operators.c): its state and
  the linear operators of the discrete Benamou-Brenier problem. The formulation is described at
  the top of jko_primal_dual.c.

  Layout: cell quantities are global vectors of the grid's DMDA; face quantities are global
  vectors of a compatible DMDA with dim dof, component a of cell i holding the face between
  cell i and cell i + e_a. With no-flux walls the last face along each axis is the wall: it is
  inactive (always zero). Periodic axes wrap.
*/
#ifndef GRADFLOW_JKO_PD_H
#define GRADFLOW_JKO_PD_H

#include "jko.h"

#define GF_JKO_PD_MAX_SUBSTEPS 64

typedef struct {
  GFGrid    grid;
  DM        cda, fda; /* cell (the grid's) and face DMDAs */
  PetscInt  nt, dim;
  PetscReal tau;                         /* the step the state and the operators are for */
  PetscReal density_step, momentum_step; /* -jko_pd_density_step, -jko_pd_momentum_step */
  PetscReal floor;                       /* -jko_pd_floor: preconditioner weights >= floor * typical density */
  PetscReal relaxation;                  /* -jko_pd_relaxation */
  PetscReal inexact;                     /* -jko_pd_inexact */
  PetscReal safety;                      /* step products: sigma tau ||K||^2 <= safety < 1 */
  PetscReal sigma, m;                    /* internal energy; sigma_eff for the preconditioner when sigma = 0 */
  /* primal x = (rho^1..nt, m^1..nt), the candidate xt, K^T y (density part), K x (theta part) */
  Vec rho[GF_JKO_PD_MAX_SUBSTEPS], mom[GF_JKO_PD_MAX_SUBSTEPS];
  Vec rho_t[GF_JKO_PD_MAX_SUBSTEPS], mom_t[GF_JKO_PD_MAX_SUBSTEPS];
  Vec grad[GF_JKO_PD_MAX_SUBSTEPS], grad_t[GF_JKO_PD_MAX_SUBSTEPS];
  Vec theta[GF_JKO_PD_MAX_SUBSTEPS], theta_t[GF_JKO_PD_MAX_SUBSTEPS];
  /* dual y = (y_theta^l, y_m^l, y_E) and its candidate */
  Vec y_theta[GF_JKO_PD_MAX_SUBSTEPS], y_mom[GF_JKO_PD_MAX_SUBSTEPS], y_energy;
  Vec y_theta_t[GF_JKO_PD_MAX_SUBSTEPS], y_mom_t[GF_JKO_PD_MAX_SUBSTEPS], y_energy_t;
  /* diagonal step sizes: primal T (rho: cells, m: faces), dual S (theta, m: faces; E: cells) */
  Vec T_rho, T_mom, S_theta, S_mom, S_energy;
  /* the constraint solve: multipliers per level, per time mode, right-hand sides */
  Vec       lambda[GF_JKO_PD_MAX_SUBSTEPS], mu[GF_JKO_PD_MAX_SUBSTEPS], rhs[GF_JKO_PD_MAX_SUBSTEPS];
  PetscReal time_eigenvalue[GF_JKO_PD_MAX_SUBSTEPS], time_mode[GF_JKO_PD_MAX_SUBSTEPS][GF_JKO_PD_MAX_SUBSTEPS];
  Mat       op[GF_JKO_PD_MAX_SUBSTEPS];
  KSP       ksp[GF_JKO_PD_MAX_SUBSTEPS];
  PetscInt  mg_levels, linear_iterations;
  /* energy: the final density of the energy prox, the linear potential V + W * rho */
  Vec rho_energy, potential, conv;
  /* ghosted work vectors */
  Vec cell_local, cell_local2, face_local;
  /* warm start */
  Vec       rho_last;
  PetscBool have_state;
} GFJKOPrimalDual;

/* theta = (P rho_prev + P rho_next) / 2 on active faces, P the face average of the two cells (jko_pd_operators.c). */
PETSC_INTERN PetscErrorCode GFJKOPDInterpolate(GFJKOPrimalDual *, Vec, Vec, Vec);
/* grad += I^T (y_a + y_b) restricted to one level: 1/4 of each adjacent face value per cell (y_b may be NULL). */
PETSC_INTERN PetscErrorCode GFJKOPDInterpolateTranspose(GFJKOPrimalDual *, Vec, Vec, Vec);
/* out = in + scale div(m) (div m = sum_a (m_{i+1/2} - m_{i-1/2}) / h_a). */
PETSC_INTERN PetscErrorCode GFJKOPDAddDivergence(GFJKOPrimalDual *, PetscReal, Vec, Vec);
/* Assemble the spatial operators lambda_k T_rho - div(T_m grad)/nt^2 and set up their solvers. */
PETSC_INTERN PetscErrorCode GFJKOPDSetUpProjection(GFJKOPrimalDual *);
/* Project (rho, m) in place onto the continuity constraint from rho_old, in the metric T^-1. */
PETSC_INTERN PetscErrorCode GFJKOPDProject(GFJKOPrimalDual *, Vec, Vec[], Vec[]);
PETSC_INTERN PetscErrorCode GFJKOPDDestroyProjection(GFJKOPrimalDual *);

#endif
