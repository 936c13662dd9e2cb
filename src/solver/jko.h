/*
  JKO (Wasserstein proximal) steps: the implicit Euler step of a W2 gradient flow,

      rho_new = argmin_rho  F(rho) + W2^2(rho, rho_old) / (2 tau),

  with the discrete free energy of the finite-volume models (GFFreeEnergy):

      F(rho) = h^d sum_i [ U(rho_i) + V_i rho_i + 1/2 rho_i (W * rho)_i ],
      U(rho) = sigma rho log rho (m = 1), sigma rho^m / (m - 1) (m > 1).

  Each method (the exact 1D quantile solver, the primal-dual grid solver) is a GFJKOMethod:
  one step from rho_old (a global vector of the grid's DMDA) into rho_new, on every rank.
  The TS type "jko" (jko_ts.c) drives them.
*/
#ifndef GRADFLOW_JKO_H
#define GRADFLOW_JKO_H

#include "solver.h"

/* The energy of the steps: what a W2 gradient-flow model is made of. */
typedef struct {
  PetscReal     sigma, m;    /* the internal energy U; sigma = 0: none */
  Vec           V;           /* the external potential at cell centres (global vector of the grid's DMDA) */
  GFPotential   potential;   /* ... the same as a function of x (values between cell centres) */
  GFConvolution convolution; /* W * rho on the grid (cell averages of W), or NULL: no interaction */
  PetscInt      kernel;      /* ... W's kernel id in it */
  GFInteraction interaction; /* W as a function (pair sums), or NULL */
} GFJKOEnergy;

typedef struct _p_GFJKOMethod *GFJKOMethod;
struct _p_GFJKOMethod {
  MPI_Comm    comm;
  GFGrid      grid;
  GFJKOEnergy energy;
  PetscReal   rtol;   /* -jko_rtol */
  PetscInt    max_it; /* -jko_max_it */
  void       *data;
  /* one step of length tau; rho_new may not be rho_old; a method keeping state between steps
     (Lagrangian positions, potentials for a warm start) must check rho_old is its last rho_new */
  PetscErrorCode (*step)(GFJKOMethod, PetscReal tau, Vec rho_old, Vec rho_new, GFJKOResult *);
  /* -jko_order 2 (NULL: the method has none): right after a step from rho_old to rho_half, the
     geodesic from rho_old through rho_half extended to twice its length, (2 T - id)#rho_old
     with T the step's optimal map, into rho_new; *ok false (rho_new untouched) where 2 T - id
     is not a map (not monotone), and the method's state is then that of rho_half */
  PetscErrorCode (*extrapolate)(GFJKOMethod, Vec rho_half, Vec rho_new, PetscBool *ok);
  PetscErrorCode (*destroy)(GFJKOMethod);
};

/* The methods: each fills in data, step and destroy of a method whose other fields are set. */
PETSC_INTERN PetscErrorCode GFJKOSetUpQuantile(GFJKOMethod);   /* jko_quantile.c: 1D only */
PETSC_INTERN PetscErrorCode GFJKOSetUpPrimalDual(GFJKOMethod); /* jko_primal_dual.c: 1D, 2D, 3D */
PETSC_INTERN PetscErrorCode GFJKOSetUpBFM(GFJKOMethod);        /* jko_bfm.c: back-and-forth, 1D, 2D, 3D, walls */
PETSC_INTERN PetscErrorCode GFJKOMethodDestroy(GFJKOMethod *);

#endif
