/*
  JKO method "bfm": the back-and-forth method of Jacobs, Lee and Leger ("The back-and-forth
  method for Wasserstein gradient flows", 2021; Jacobs and Leger 2020 for optimal transport)
  for one step

      rho_new = argmin_rho  G(rho) + W2^2(rho, mu) / (2 tau),   mu = rho_old,
      G(rho)  = h^d sum_i [U(rho_i) + Vt_i rho_i],   U = sigma rho log rho or sigma rho^m / (m - 1).

  Dual problem. With the cost c(x, y) = |x - y|^2 / (2 tau) and Kantorovich potentials phi (on
  rho's side) and psi (on mu's side), the step is the maximum of the concave

      J(phi) = h^d sum_y phi^c(y) mu(y) - h^d sum_x U*(-phi(x) - Vt(x) - c) - c M,

  U* the Legendre dual (sigma e^{p/sigma - 1}; r p (m - 1)/m with r = ((m-1) p_+ / (sigma m))^{1/(m-1)}),
  c the multiplier of the mass M = h^d sum mu (chosen so that rho(phi) below has mass M
  exactly: a closed form for m = 1, a safeguarded Newton solve for m > 1). The minimiser is
  rho = (U*)'(-phi - Vt - c) >= 0. The interaction energy, when the model has one, is
  linearised at mu: Vt = V + W * mu, once per step (the TS checks the JKO inequality with
  the full F, interaction included).

  Iteration (one "forth" then one "back" half step, as in the paper):
    forth: phi += s_phi P^{-1} (rho(phi) - T#mu),  then psi = phi^c;
    back:  psi += s_psi P^{-1} (mu - S#rho(psi^c)), then phi = psi^c;
  T(y) = y - tau grad psi(y) and S(x) = x - tau grad phi(x) are the transport maps of the
  (c-conjugate) pair. Pushforwards by the change of variables with the Jacobian of the
  potential on the side of the density pushed, where that potential is smooth (the other
  one has kinks at the edge of the other density's support): T#mu(x) = q(S(x)) with
  q = mu / det(I - tau D^2 psi) on the grid, S#rho(y) = q(T(y)) with q = rho / det(I - tau
  D^2 phi); q (one field) is read by the cubic Lagrange interpolant through 4 cells per axis
  (a linear interpolant would add a numerical diffusion |v| h / 2; the Catmull-Rom cubic of
  the first versions, exact for quadratics only, added variance at every step: 1D Gaussian at
  h = 1/4, +7e-4 ... +5.4e-3 at t = 1 for tau 0.1 ... 0.025, against +1.6e-4 ... +7.4e-4 now)
  in a window: each rank gathers only the box of cells about its own cells' preimages
  (GFBFMWindow, jko_bfm_lines.c), not the whole grid.
  Gradients central differences, Hessians the "2h" differences of those, det floored at
  BFM_DET_FLOOR. The c-transform is refined below the grid (jko_bfm_lines.c): the grid
  minimum alone is off by up to h^2 / (8 tau), which in tau D^2 psi is O(1) noise (that
  floored the mismatch at 3.7e-2 in the first version).
  Preconditioner P = a I - div(b grad) (jko_bfm_lines.c) at the density d of the half step's
  own side (rho forth, mu back): a = (U*)''(at d) (d / sigma for m = 1), b = tau d, the
  dual's Hessian to leading order, so the natural step is 1 everywhere (a constant-
  coefficient P at max d gave the tails steps too short by d / max d and the peak too long
  once steps grew); d floored at BFM_DENSITY_FLOOR of its maximum. Forth's P is rebuilt
  every iteration (rho changes), back's once per step.

  Step sizes: the paper's sufficient-increase rule: with gn = <g, P^{-1} g> the predicted
  increase of a step s, the actual increase dJ = J(new) - J(old) halves s when
  dJ < s gn / 10 and grows it by 5/4 (to at most 1, the natural step) when dJ > 3 s gn / 4.
  Stop: the paper's criterion, the L1 mismatch of both half steps, max(|rho - T#mu|_1,
  |mu - S#rho|_1) / M (residual[0], residual[1]), here relative to the step's own change
  |rho - mu|_1 / M: <= rtol times it. Against M alone (the paper's, and this code's until
  issue 15's last stop) each step kept an error up to rtol M whatever tau, and small steps
  summed it: 1D Gaussian, 256 cells, tau 0.003125 (320 steps, 2.9 iterations each), variance
  +3.1e-3 off the recursion, now +5.7e-6 (20 iterations each).
  The two discrete pushforwards are not exactly inverse to each other, so the mismatch has a
  floor (Gaussian: 2e-6 at h = 1/32 in 1D, 4e-4 at h = 1/8 and 4e-5 at h = 1/16 in 2D; it
  falls with tau as well, ~ tau h^2: 1D, h = 1/8, tau 0.00625, 1.5e-4, a smooth profile in
  the bulk). When the sum of the two mismatches has not fallen by 1% for BFM_STALL
  iterations the step ends at the pair of its best iteration, m = 1 (past the floor the steps
  shrink and the mismatch drifts up: 1D, h = 1/6, tau 0.0125, 8.4e-4 at iteration 8, 3.1e-3
  at 28), converged if that pair's mismatches (the ones reported in the residual columns)
  are within BFM_STALL_ACCEPT rtol of M. (The sum, not the larger: at the floor the forth
  mismatch can stall while the back one still halves every iteration. 10 iterations, not
  20: the same results, 1D Gaussian and 2D Barenblatt, with 35-40% fewer iterations.) That
  acceptance is sound where the floor is the discretisation's: on the Gaussian it falls
  with h, and so does the step's L1 distance from the exact (quantile) step, 3.9e-4,
  1.3e-4, 6.0e-5, 2.8e-5 at h = 1/8 ... 1/64 (1D, tau 0.1); it is on the porous medium too
  (below).
  Starts (Ascend, from the first until one converges): m = 1, the last step's pair when it
  converged within rtol (not at the floor: stale potentials of floor-accepted steps drifted,
  1D h = 1/8, tau 0.00625, energy rising from step 135 on) and rho_old is bitwise its
  rho_new; then the pair of mu (StartAtMu); then zero potentials, the only start for m > 1:
  the last step's potentials, arbitrary outside the old support, made the second or third
  step of the 2D Barenblatt (128^2, tau 2.5e-4) diverge (mismatch 0.3 -> 2), and mu's pair
  diverged in the first.

  Nonlinear diffusion (m > 1): the densities have compact supports, the potentials kinks at
  their edges, and the mismatch's floor is higher than on the Gaussian but falls with h as
  well: 1D Barenblatt (m = 2, tau 2.5e-4, first step) 2.2e-3, 9.4e-4, 5.5e-4 at 256, 512,
  1024 cells, the step's L1 distance from the exact (quantile) step 4.3e-4, 5.0e-5, 3.1e-5;
  2D at 128^2 2e-3 to 8e-3, above 100 rtol for the default rtol: -jko_rtol 1e-4 there. (Tried
  and dropped: one-sided differences into the support at its edges, a quintic interpolant, the
  exact adjoint of the c-transform as the pushforward, which is the discrete dual's own
  gradient but oscillates cell to cell by a quarter of rho: the dual's increase, on which the
  step rule relies, is only a guide at scales above the cell.)
  Result: rho(phi) (>= 0, mass M to round-off, then rescaled by M / its mass); W2^2 from the
  map, h^d sum mu |tau grad psi|^2. -jko_order 2 (the geodesic extended from the half step):
  jko_bfm_order2.c, with m = 1 and m > 1.
*/
#include "jko_bfm.h"

#define BFM_DET_FLOOR 1e-2     /* smallest det(I - tau D^2 .) divided by */
#define BFM_DENSITY_FLOOR 1e-6 /* smallest density of the preconditioner, relative to the largest */
#define BFM_STALL 10           /* iterations without a 1% smaller residual: the floor */
#define BFM_STALL_ACCEPT 100   /* ... accepted as converged up to this multiple of rtol */
#define BFM_START_EPS 1e-12    /* the m = 1 start's density added to mu, relative to its largest (StartAtMu) */

/* rho = (U*)'(p) and U*(p). */
static inline PetscReal DualDensity(const GFJKOEnergy *e, PetscReal p, PetscReal *Ustar)
{
  if (e->m == 1) {
    const PetscReal r = PetscExpReal(p / e->sigma - 1);
    if (Ustar) *Ustar = e->sigma * r;
    return r;
  } else {
    const PetscReal r = p > 0 ? PetscPowReal((e->m - 1) * p / (e->sigma * e->m), 1 / (e->m - 1)) : 0;
    if (Ustar) *Ustar = r * p * (e->m - 1) / e->m;
    return r;
  }
}

/* The multiplier c making rho(phi) = (U*)'(-phi - Vt - c) of mass M; returns h^d sum U*(...) + c M. */
static PetscErrorCode Normalise(GFJKOMethod jko, Vec phi, PetscReal *dual_energy)
{
  GFJKO_BFM         *b  = (GFJKO_BFM *)jko->data;
  const GFJKOEnergy *e  = &jko->energy;
  const PetscReal    hd = jko->grid->cell_volume;
  const PetscScalar *p, *v;
  PetscInt           n;
  PetscReal          pmax = -PETSC_MAX_REAL, sums[2];

  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(phi, &n));
  PetscCall(VecGetArrayRead(phi, &p));
  PetscCall(VecGetArrayRead(b->Vt, &v));
  for (PetscInt i = 0; i < n; i++) pmax = PetscMax(pmax, -PetscRealPart(p[i]) - PetscRealPart(v[i]));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, &pmax, 1, MPIU_REAL, MPI_MAX, jko->comm));
  if (e->m == 1) {
    /* sum e^{(p - c)/sigma - 1} h^d = M, shifted by the largest p against overflow */
    sums[0] = 0;
    for (PetscInt i = 0; i < n; i++) sums[0] += PetscExpReal((-PetscRealPart(p[i]) - PetscRealPart(v[i]) - pmax) / e->sigma) * hd;
    PetscCall(MPIU_Allreduce(MPI_IN_PLACE, sums, 1, MPIU_REAL, MPIU_SUM, jko->comm));
    b->c         = pmax - e->sigma + e->sigma * PetscLogReal(sums[0] / b->M);
    *dual_energy = e->sigma * b->M + b->c * b->M;
  } else {
    /* mass(c) decreases from mass(pmax) = 0: bracket from below, then Newton kept inside the bracket */
    PetscReal lo = pmax - 1, hi = pmax, c = lo, mass = 0, dmass = 0;
    for (PetscInt it = 0; it < 400; it++) {
      sums[0] = sums[1] = 0;
      for (PetscInt i = 0; i < n; i++) {
        const PetscReal q = -PetscRealPart(p[i]) - PetscRealPart(v[i]) - c, r = DualDensity(e, q, NULL);
        sums[0] += r * hd;
        if (r > 0) sums[1] += r / (q * (e->m - 1)) * hd;
      }
      PetscCall(MPIU_Allreduce(MPI_IN_PLACE, sums, 2, MPIU_REAL, MPIU_SUM, jko->comm));
      mass  = sums[0];
      dmass = -sums[1];
      if (PetscAbsReal(mass - b->M) <= 1e-14 * b->M) break;
      if (mass > b->M)
        lo = c;
      else {
        hi = c;
        if (c == pmax - 1 || lo == c) { /* not yet bracketed from below */
          lo = pmax - 2 * (pmax - c);
          c  = lo;
          continue;
        }
      }
      {
        const PetscReal newton = dmass < 0 ? c - (mass - b->M) / dmass : 0.5 * (lo + hi);
        c                      = newton > lo && newton < hi ? newton : 0.5 * (lo + hi);
      }
    }
    b->c    = c;
    sums[0] = 0;
    for (PetscInt i = 0; i < n; i++) {
      PetscReal Ustar;
      (void)DualDensity(e, -PetscRealPart(p[i]) - PetscRealPart(v[i]) - c, &Ustar);
      sums[0] += Ustar * hd;
    }
    PetscCall(MPIU_Allreduce(MPI_IN_PLACE, sums, 1, MPIU_REAL, MPIU_SUM, jko->comm));
    *dual_energy = sums[0] + c * b->M;
  }
  PetscCall(VecRestoreArrayRead(b->Vt, &v));
  PetscCall(VecRestoreArrayRead(phi, &p));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* rho(phi) into b->rho (after Normalise). */
static PetscErrorCode DensityOf(GFJKOMethod jko, Vec phi, Vec rho)
{
  GFJKO_BFM         *b = (GFJKO_BFM *)jko->data;
  const PetscScalar *p, *v;
  PetscScalar       *r;
  PetscInt           n;

  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(phi, &n));
  PetscCall(VecGetArrayRead(phi, &p));
  PetscCall(VecGetArrayRead(b->Vt, &v));
  PetscCall(VecGetArray(rho, &r));
  for (PetscInt i = 0; i < n; i++) r[i] = DualDensity(&jko->energy, -PetscRealPart(p[i]) - PetscRealPart(v[i]) - b->c, NULL);
  PetscCall(VecRestoreArray(rho, &r));
  PetscCall(VecRestoreArrayRead(b->Vt, &v));
  PetscCall(VecRestoreArrayRead(phi, &p));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* J = h^d sum psi mu - (h^d sum U*(-phi - Vt - c) + c M) for the pair (phi, psi = phi^c); sets b->c. */
static PetscErrorCode DualValue(GFJKOMethod jko, Vec phi, Vec psi, Vec mu, PetscReal *J)
{
  PetscReal dual, dot;

  PetscFunctionBeginUser;
  PetscCall(Normalise(jko, phi, &dual));
  PetscCall(VecDot(psi, mu, &dot));
  *J = dot * jko->grid->cell_volume - dual;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Central-difference gradient of f (global) into b->grad[] and their ghosted copies b->glocal[] (clamped at walls). */
PETSC_INTERN PetscErrorCode GFBFMDerivatives(GFJKOMethod jko, Vec f)
{
  GFJKO_BFM         *b = (GFJKO_BFM *)jko->data;
  GFGrid             g = jko->grid;
  const GFLocalBox  *box;
  GFLocalBox         lb;
  const PetscScalar *fl;

  PetscFunctionBeginUser;
  lb  = g->box; /* the owned and ghosted box (GFGridGetLocalBox at set-up) */
  box = &lb;
  PetscCall(DMGlobalToLocalBegin(b->da, f, INSERT_VALUES, b->local));
  PetscCall(DMGlobalToLocalEnd(b->da, f, INSERT_VALUES, b->local));
  PetscCall(VecGetArrayRead(b->local, &fl));
  for (PetscInt a = 0; a < g->dim; a++) {
    PetscScalar   *out;
    const PetscInt stride = GFLocalStride(box, a);
    PetscCall(VecGetArray(b->grad[a], &out));
    GF_FOR_OWNED(box, i, j, k)
    {
      const PetscInt idx[3] = {i, j, k}, c = GFLocalIndex(box, i, j, k);
      const PetscInt up = idx[a] + 1 < g->cells[a] ? stride : 0, down = idx[a] > 0 ? stride : 0;
      out[GFOwnedIndex(box, i, j, k)] = PetscRealPart(fl[c + up] - fl[c - down]) / (2 * g->h[a]);
    }
    PetscCall(VecRestoreArray(b->grad[a], &out));
    PetscCall(DMGlobalToLocalBegin(b->da, b->grad[a], INSERT_VALUES, b->glocal[a]));
    PetscCall(DMGlobalToLocalEnd(b->da, b->grad[a], INSERT_VALUES, b->glocal[a]));
  }
  PetscCall(VecRestoreArrayRead(b->local, &fl));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  det(I - tau H) at owned cell (i, j, k), H the central difference of the central gradients;
  grad[] the gradient there. Past a wall the gradient is that of the potential's mirror image:
  its normal component odd, the others even (the potential itself is even, GFBFMDerivatives
  and the c-transform's mirrored lines). Taken even, the gradient gave a wall cell half the
  normal second derivative: Ornstein-Uhlenbeck on [-3, 3], 96 cells, the variance at t = 1
  was -2.3e-4 off the converged value, +2.8e-5 with this alone.
*/
PETSC_INTERN PetscReal GFBFMJacobian(GFJKOMethod jko, const GFLocalBox *box, const PetscScalar *gl[], PetscInt i, PetscInt j, PetscInt k, PetscReal tau, PetscReal grad[])
{
  GFGrid         g      = jko->grid;
  const PetscInt idx[3] = {i, j, k}, c = GFLocalIndex(box, i, j, k);
  PetscReal      A[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, det;

  for (PetscInt a = 0; a < g->dim; a++) grad[a] = PetscRealPart(gl[a][c]);
  for (PetscInt a = 0; a < g->dim; a++)
    for (PetscInt e = 0; e < g->dim; e++) {
      const PetscInt  stride = GFLocalStride(box, e), up = idx[e] + 1 < g->cells[e] ? stride : 0, down = idx[e] > 0 ? stride : 0;
      const PetscReal sign = a == e ? -1 : 1; /* past a wall: the mirror image's gradient */
      const PetscReal hi = up ? PetscRealPart(gl[a][c + up]) : sign * PetscRealPart(gl[a][c]), lo = down ? PetscRealPart(gl[a][c - down]) : sign * PetscRealPart(gl[a][c]);
      A[a][e] -= tau * (hi - lo) / (2 * g->h[e]);
    }
  for (PetscInt a = 0; a < g->dim; a++) /* symmetric part */
    for (PetscInt e = a + 1; e < g->dim; e++) A[a][e] = A[e][a] = 0.5 * (A[a][e] + A[e][a]);
  det = A[0][0] * (A[1][1] * A[2][2] - A[1][2] * A[2][1]) - A[0][1] * (A[1][0] * A[2][2] - A[1][2] * A[2][0]) + A[0][2] * (A[1][0] * A[2][1] - A[1][1] * A[2][0]);
  return PetscMax(det, 0);
}

/*
  The window w about this rank's preimages z - tau grad(z) of its owned cells (grad the owned
  gradient arrays), filled with q; *all its array (restore with VecRestoreArrayRead(w->values)).
*/
PETSC_INTERN PetscErrorCode GFBFMWindowAt(GFJKOMethod jko, GFBFMWindow *w, PetscReal tau, const PetscScalar *grad[], Vec q, const PetscScalar **all)
{
  GFGrid     g     = jko->grid;
  GFLocalBox box   = g->box;
  PetscInt   lo[3] = {PETSC_MAX_INT, PETSC_MAX_INT, PETSC_MAX_INT}, hi[3] = {0, 0, 0};

  PetscFunctionBeginUser;
  GF_FOR_OWNED(&box, i, j, k)
  {
    const PetscInt o = GFOwnedIndex(&box, i, j, k), idx[3] = {i, j, k};
    PetscReal      x[3];
    GFGridCellCenter(g, idx, x);
    for (PetscInt a = 0; a < g->dim; a++) {
      const PetscInt base = GFBFMWindowBase(g, a, x[a] - tau * PetscRealPart(grad[a][o]));
      lo[a]               = PetscMin(lo[a], PetscMax(base - 1, 0));
      hi[a]               = PetscMax(hi[a], PetscMin(base + 2, g->cells[a] - 1));
    }
  }
  PetscCall(GFBFMWindowFill(w, q, lo, hi));
  PetscCall(VecGetArrayRead(w->values, all));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The gradient of a half step into b->g and its L1 norm relative to M. Forth (f = phi, other =
  psi = phi^c): rho(phi) - T#mu; back (f = psi, other = phi = psi^c): mu - S#rho. The density d
  pushed (mu forth, rho back) lives on other's side, where other is smooth (it is the
  potential of d's own side), so the Jacobian is other's: q = d / det(I - tau D^2 other) on
  the grid, read in a window, and the pushforward at a cell z is q at the preimage z - tau grad f(z).
*/
static PetscErrorCode Gradient(GFJKOMethod jko, PetscBool forth, PetscReal tau, Vec f, Vec other, Vec mu, PetscReal *l1)
{
  GFJKO_BFM         *b = (GFJKO_BFM *)jko->data;
  GFGrid             g = jko->grid;
  GFLocalBox         box;
  const PetscScalar *gl[3], *dv, *tv, *all;
  PetscScalar       *out;
  PetscReal          sum = 0;
  Vec                d = forth ? mu : b->rho, target = forth ? b->rho : mu;

  PetscFunctionBeginUser;
  box = g->box;
  PetscCall(DensityOf(jko, b->phi, b->rho));
  /* q = d / det(I - tau D^2 other) */
  PetscCall(GFBFMDerivatives(jko, other));
  for (PetscInt a = 0; a < g->dim; a++) PetscCall(VecGetArrayRead(b->glocal[a], &gl[a]));
  PetscCall(VecGetArrayRead(d, &dv));
  PetscCall(VecGetArray(b->u, &out));
  GF_FOR_OWNED(&box, i, j, k)
  {
    const PetscInt o       = GFOwnedIndex(&box, i, j, k);
    PetscReal      grad[3] = {0, 0, 0}, det = GFBFMJacobian(jko, &box, gl, i, j, k, tau, grad);
    out[o] = PetscRealPart(dv[o]) / PetscMax(det, BFM_DET_FLOOR);
  }
  PetscCall(VecRestoreArray(b->u, &out));
  PetscCall(VecRestoreArrayRead(d, &dv));
  for (PetscInt a = 0; a < g->dim; a++) PetscCall(VecRestoreArrayRead(b->glocal[a], &gl[a]));
  /* target - q(z - tau grad f(z)), q read in the window about the preimages */
  PetscCall(GFBFMDerivatives(jko, f));
  for (PetscInt a = 0; a < g->dim; a++) PetscCall(VecGetArrayRead(b->grad[a], &gl[a]));
  PetscCall(GFBFMWindowAt(jko, &b->window[forth ? 0 : 1], tau, gl, b->u, &all));
  PetscCall(VecGetArrayRead(target, &tv));
  PetscCall(VecGetArray(b->g, &out));
  GF_FOR_OWNED(&box, i, j, k)
  {
    const PetscInt o = GFOwnedIndex(&box, i, j, k), idx[3] = {i, j, k};
    PetscReal      x[3];
    GFGridCellCenter(g, idx, x);
    for (PetscInt a = 0; a < g->dim; a++) x[a] -= tau * PetscRealPart(gl[a][o]);
    out[o] = PetscRealPart(tv[o]) - PetscMax(GFBFMWindowInterpolate(&b->window[forth ? 0 : 1], all, x), 0);
    sum += PetscAbsReal(PetscRealPart(out[o])) * g->cell_volume;
  }
  PetscCall(VecRestoreArray(b->g, &out));
  PetscCall(VecRestoreArrayRead(b->window[forth ? 0 : 1].values, &all));
  PetscCall(VecRestoreArrayRead(target, &tv));
  for (PetscInt a = 0; a < g->dim; a++) PetscCall(VecRestoreArrayRead(b->grad[a], &gl[a]));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, &sum, 1, MPIU_REAL, MPIU_SUM, jko->comm));
  *l1 = sum / b->M;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The preconditioner of a half step at the density d on its side (rho forth, mu back): the
  dual's curvature a = (U*)''(at d) and b = tau d, with d floored at floor * max d.
*/
static PetscErrorCode SetPreconditioner(GFJKOMethod jko, GFBFMPreconditioner *P, Vec d, PetscReal tau)
{
  GFJKO_BFM         *b     = (GFJKO_BFM *)jko->data;
  const GFJKOEnergy *e     = &jko->energy;
  const PetscReal    floor = BFM_DENSITY_FLOOR;
  const PetscScalar *dv;
  PetscScalar       *av, *bv;
  PetscReal          dmax;
  PetscInt           n;

  PetscFunctionBeginUser;
  PetscCall(VecMax(d, NULL, &dmax));
  PetscCall(VecGetLocalSize(d, &n));
  PetscCall(VecGetArrayRead(d, &dv));
  PetscCall(VecGetArray(b->ca, &av));
  PetscCall(VecGetArray(b->cb, &bv));
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal r = PetscMax(PetscRealPart(dv[i]), floor * dmax);
    av[i]             = e->m == 1 ? r / e->sigma : PetscPowReal(r, 2 - e->m) / (e->sigma * e->m);
    bv[i]             = tau * r;
  }
  PetscCall(VecRestoreArray(b->cb, &bv));
  PetscCall(VecRestoreArray(b->ca, &av));
  PetscCall(VecRestoreArrayRead(d, &dv));
  PetscCall(GFBFMPreconditionerSetCoefficients(P, b->ca, b->cb));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The sufficient-increase rule on step s from the actual increase dJ and the predicted s gn. */
static PetscReal UpdateStep(PetscReal s, PetscReal dJ, PetscReal predicted)
{
  if (!(dJ >= 0.1 * predicted))
    s *= 0.5;
  else if (dJ > 0.75 * predicted)
    s *= 1.25;
  return PetscMin(s, 1);
}

/*
  One half step on f (phi when forth, psi when back), its partner other = f^c after it: gradient,
  preconditioned step, c-transform, step-size update. J0 is the dual value before; J1 after.
*/
static PetscErrorCode HalfStep(GFJKOMethod jko, PetscBool forth, PetscReal tau, Vec mu, PetscReal *l1)
{
  GFJKO_BFM *b = (GFJKO_BFM *)jko->data;
  Vec        f = forth ? b->phi : b->psi, other = forth ? b->psi : b->phi;
  PetscReal  J0, J1, gn, *s = &b->step[forth ? 0 : 1];

  PetscFunctionBeginUser;
  PetscCall(DualValue(jko, b->phi, b->psi, mu, &J0)); /* also phi's multiplier c and (forth) rho */
  PetscCall(Gradient(jko, forth, tau, f, other, mu, l1));
  if (forth) PetscCall(SetPreconditioner(jko, &b->pre[0], b->rho, tau));
  PetscCall(GFBFMPreconditionerApply(&b->pre[forth ? 0 : 1], b->g, b->u));
  PetscCall(VecDot(b->g, b->u, &gn));
  gn *= jko->grid->cell_volume;
  PetscCall(VecAXPY(f, *s, b->u));
  PetscCall(GFBFMCTransform(&b->lines, tau, f, other));
  PetscCall(DualValue(jko, b->phi, b->psi, mu, &J1));
  if (gn > 0) *s = UpdateStep(*s, J1 - J0, *s * gn);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Vt = V (+ W * mu, the interaction linearised at the step's start). */
static PetscErrorCode PrepareStep(GFJKOMethod jko, Vec mu)
{
  GFJKO_BFM *b = (GFJKO_BFM *)jko->data;

  PetscFunctionBeginUser;
  if (jko->energy.V)
    PetscCall(VecCopy(jko->energy.V, b->Vt));
  else
    PetscCall(VecSet(b->Vt, 0));
  if (jko->energy.convolution) {
    PetscCall(GFConvolutionApply(jko->energy.convolution, jko->energy.kernel, mu, b->u));
    PetscCall(VecAXPY(b->Vt, 1, b->u));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The step's mu as point values (b->point). The step's energy h^d sum U(rho_i) + V_i rho_i and
  its pushforwards (values read at preimages) are those of point values at cell centres, and
  the state, its initial data and its moments (Sheppard's correction, -h^2/12 per axis) are
  cell averages: read as point values the variance gained h^2/12 per axis, whose part not yet
  forgotten at t = 1 (1 - e^{-2t} of it on the Ornstein-Uhlenbeck problem) was the bulk of the
  bfm Gaussian's error (1D, h = 1/4: -3.5e-3 at tau 0.1; h = 1/8: -1.08e-3, of a predicted
  -1.13e-3). m = 1: the fourth-order deconvolution of the cell averages (GFBFMCellFilter,
  c = -1/24), kept above half the cell average (far tails, where the correction's neighbour
  ratio exceeds 13), rescaled to the mass; the step's result goes back through c = 1/24.
  m > 1: the cell averages themselves (the deconvolution is not positive at a free boundary).
*/
static PetscErrorCode PointValues(GFJKOMethod jko, Vec mu)
{
  GFJKO_BFM *b = (GFJKO_BFM *)jko->data;
  PetscReal  sum;

  PetscFunctionBeginUser;
  if (jko->energy.m > 1) {
    PetscCall(VecCopy(mu, b->point));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(GFBFMCellFilter(jko->grid, b->local, -1.0 / 24, mu, b->point));
  PetscCall(VecAXPBY(b->u, 0.5, 0, mu));
  PetscCall(VecPointwiseMax(b->point, b->point, b->u));
  PetscCall(VecSum(b->point, &sum));
  PetscCall(VecScale(b->point, b->M / (sum * jko->grid->cell_volume)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The stalled ascent's phi back to the one after its best iteration, psi = phi^c (past the
  floor the computed gradient is not the discrete dual's, the steps shrink and the mismatch
  drifts up: 1D Gaussian, h = 1/6, tau 0.0125, from 8.4e-4 at iteration 8 to 3.1e-3 at 28),
  and that pair's own mismatches, measured as the half steps measure them.
*/
static PetscErrorCode Restore(GFJKOMethod jko, PetscReal tau, Vec mu, PetscReal *r0, PetscReal *r1)
{
  GFJKO_BFM *b = (GFJKO_BFM *)jko->data;
  PetscReal  dual;

  PetscFunctionBeginUser;
  PetscCall(VecCopy(b->phi_best, b->phi));
  PetscCall(GFBFMCTransform(&b->lines, tau, b->phi, b->psi));
  PetscCall(Normalise(jko, b->phi, &dual));
  PetscCall(Gradient(jko, PETSC_TRUE, tau, b->phi, b->psi, mu, r0));
  PetscCall(Gradient(jko, PETSC_FALSE, tau, b->psi, b->phi, mu, r1));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The pair of mu (m = 1): phi = -sigma log mu - Vt, whose density is mu (the step that does not
  move), and psi = phi^c, whose map is then x + tau v(x) with v the flow's velocity at mu (an
  explicit Euler step): the first mismatch is the step's change. From zero potentials (a
  uniform density over the box) the first iterations must find a potential of size sigma
  log(max mu / min mu); for tau below about 5 h^2 they overshot (1D Gaussian, h = 1/4, tau
  0.003125: mismatch 1 -> 2 -> 139) or stalled above the acceptance (h = 1/6, tau 0.00625 ...
  0.05; h = 1/8, 0.00625 and 0.003125; h = 1/16, 0.003125), where this start converges.
  Zero potentials remain the next start where this one ends above the acceptance (2D, h =
  1/8, tau 0.1: 1.6e-3). mu + BFM_START_EPS max mu, not mu: where the density is below the
  preconditioner's floor the ascent barely moves the potential, and -sigma log mu all the way
  into the far tails (down to 1e-70 of the maximum on the Gaussian's box) left the tails' mass
  misplaced, the more the deeper the start (2D Gaussian recursion, h = 1/8, tau 0.05, the
  variance at t = 1 off by +1.3e-4, -2.8e-6, -3.2e-5, -1.5e-4, -5.4e-4, -1.1e-3 for floors
  1e-6, 1e-9, 1e-12, 1e-15, 1e-30, 1e-100 of the maximum); a floor, max(mu, floor), puts a
  kink into phi where it starts, and the second step of the 1D recursion (h = 0.156, tau 0.1)
  diverged from it. The sum is smooth: the 2D variance -2.3e-5 off, and that 1D step converges.
*/
static PetscErrorCode StartAtMu(GFJKOMethod jko, PetscReal tau, Vec mu)
{
  GFJKO_BFM         *b = (GFJKO_BFM *)jko->data;
  const PetscScalar *m, *v;
  PetscScalar       *p;
  PetscReal          mmax;
  PetscInt           n;

  PetscFunctionBeginUser;
  PetscCall(VecMax(mu, NULL, &mmax));
  PetscCall(VecGetLocalSize(mu, &n));
  PetscCall(VecGetArrayRead(mu, &m));
  PetscCall(VecGetArrayRead(b->Vt, &v));
  PetscCall(VecGetArray(b->phi, &p));
  for (PetscInt i = 0; i < n; i++) p[i] = -jko->energy.sigma * PetscLogReal(PetscRealPart(m[i]) + BFM_START_EPS * mmax) - PetscRealPart(v[i]);
  PetscCall(VecRestoreArray(b->phi, &p));
  PetscCall(VecRestoreArrayRead(b->Vt, &v));
  PetscCall(VecRestoreArrayRead(mu, &m));
  PetscCall(GFBFMCTransform(&b->lines, tau, b->phi, b->psi));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The ascent from the pair (phi, psi) in b: back-and-forth iterations until the mismatch is below
  rtol or stalls (then the best iteration's pair, accepted up to BFM_STALL_ACCEPT rtol); the
  iterations taken, the residuals of the pair left in b and whether it converged into result.
*/
static PetscErrorCode Ascend(GFJKOMethod jko, PetscReal tau, Vec mu, GFJKOResult *result)
{
  GFJKO_BFM *b  = (GFJKO_BFM *)jko->data;
  PetscReal  r0 = PETSC_INFINITY, r1 = PETSC_INFINITY, best = PETSC_INFINITY;
  PetscInt   it, best_it = 0;

  PetscFunctionBeginUser;
  result->converged = PETSC_FALSE;
  b->tight          = PETSC_FALSE;
  b->step[0] = b->step[1] = 1;
  for (it = 0; it < jko->max_it; it++) {
    PetscReal r, change;
    PetscCall(HalfStep(jko, PETSC_TRUE, tau, mu, &r0));
    PetscCall(GFBFMCTransform(&b->lines, tau, b->psi, b->phi)); /* the pair tight again: phi = phi^cc */
    PetscCall(HalfStep(jko, PETSC_FALSE, tau, mu, &r1));
    r = PetscMax(r0, r1);
    PetscCall(VecWAXPY(b->u, -1, mu, b->rho)); /* the step's change |rho(phi) - mu|_1 / M: the scale of the mismatch */
    PetscCall(VecNorm(b->u, NORM_1, &change));
    change *= jko->grid->cell_volume / b->M;
    PetscCall(PetscInfo(NULL, "JKO bfm: iteration %" PetscInt_FMT ", residuals %g %g of a change %g, steps %g %g\n", it, (double)r0, (double)r1, (double)change, (double)b->step[0], (double)b->step[1]));
    if (r <= jko->rtol * change) {
      result->converged = PETSC_TRUE;
      b->tight          = PETSC_TRUE;
      it++;
      break;
    }
    if (r0 + r1 < 0.99 * best) { /* the sum: at the floor one residual can stall (forth, 1D h = 1/8, tau 0.00625: 1.5e-4) while the other still falls (back: 1.5e-4 -> 1e-7) */
      best    = r0 + r1;
      best_it = it;
      if (jko->energy.m == 1) PetscCall(VecCopy(b->phi, b->phi_best)); /* only m = 1 goes back to it */
    } else if (it - best_it >= BFM_STALL) {                            /* the discretisation floor: the two pushforwards disagree at this level */
      PetscCall(PetscInfo(NULL, "JKO bfm: the residual stalled at %g (best %g, rtol %g)\n", (double)r, (double)best, (double)jko->rtol));
      if (jko->energy.m == 1) PetscCall(Restore(jko, tau, mu, &r0, &r1));                /* m > 1: the last pair; the best one of its slowly falling ascent was worse (1D Barenblatt, 512 cells, -jko_order 2, tau 1.25e-4: L1 2.4e-4 against 1.6e-4) */
      result->converged = (PetscBool)(PetscMax(r0, r1) <= BFM_STALL_ACCEPT * jko->rtol); /* judged by the residuals reported, those of the pair returned */
      it++;
      break;
    }
    PetscCall(GFBFMCTransform(&b->lines, tau, b->phi, b->psi)); /* psi = psi^cc for the next forth step */
  }
  PetscCall(PetscInfo(NULL, "JKO bfm: %" PetscInt_FMT " iterations, residuals %g %g, steps %g %g\n", it, (double)r0, (double)r1, (double)b->step[0], (double)b->step[1]));
  result->iterations += it;
  result->residual[0] = r0;
  result->residual[1] = r1;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  v scaled to the step's mass M by its exact sum (GFVecSumExact). With VecSum's rounded sums
  (and the filter's round-off) the 64^3 Gaussian's mass had drifted by 5.3e-12 over 80 steps;
  a sum of 2.6e5 terms rounded one term at a time is off by up to 1e-13 of it, and the steps
  kept those errors.
*/
PETSC_INTERN PetscErrorCode GFBFMScaleToMass(GFJKOMethod jko, Vec v)
{
  GFJKO_BFM *b = (GFJKO_BFM *)jko->data;
  PetscReal  sum;

  PetscFunctionBeginUser;
  PetscCall(GFVecSumExact(v, &sum));
  PetscCall(VecScale(v, b->M / (sum * jko->grid->cell_volume)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFJKOStep_BFM(GFJKOMethod jko, PetscReal tau, Vec mu_cells, Vec rho_new, GFJKOResult *result)
{
  GFJKO_BFM *b = (GFJKO_BFM *)jko->data;
  PetscReal  mass, w2 = 0;
  PetscBool  warm = PETSC_FALSE;
  Vec        mu   = b->point;

  PetscFunctionBeginUser;
  PetscCheck(tau > 0, jko->comm, PETSC_ERR_ARG_OUTOFRANGE, "-jko_method bfm: the step tau = %g must be > 0", (double)tau);
  PetscCall(GFVecSumExact(mu_cells, &mass));
  b->M = mass * jko->grid->cell_volume;
  PetscCheck(b->M > 0, jko->comm, PETSC_ERR_ARG_WRONG, "-jko_method bfm: the density has no positive mass (%g)", (double)b->M);
  if (b->tight && jko->energy.m == 1) PetscCall(VecEqual(mu_cells, b->last, &warm));
  PetscCall(PointValues(jko, mu_cells));
  PetscCall(PrepareStep(jko, mu_cells));
  PetscCall(SetPreconditioner(jko, &b->pre[1], mu, tau));
  b->tau             = tau;
  result->iterations = 0;
  /* the starts, each tried when the ones before failed: the last step's pair (m = 1, when it converged within rtol and mu is its density), that of mu (m = 1), zero */
  for (PetscInt start = warm ? 0 : (jko->energy.m == 1 ? 1 : 2); start < 3; start++) {
    if (start == 1) PetscCall(StartAtMu(jko, tau, mu));
    if (start == 2) {
      PetscCall(VecSet(b->phi, 0));
      PetscCall(VecSet(b->psi, 0));
    }
    PetscCall(Ascend(jko, tau, mu, result));
    if (result->converged) break;
    PetscCall(PetscInfo(NULL, "JKO bfm: the ascent from start %" PetscInt_FMT " failed\n", start));
  }
  /* the density of the final phi, its mass M to the Newton/closed form's round-off, then exactly; as cell averages */
  {
    PetscReal dual;
    PetscCall(Normalise(jko, b->phi, &dual));
    PetscCall(DensityOf(jko, b->phi, b->point_new));
    PetscCall(GFBFMScaleToMass(jko, b->point_new)); /* the extrapolation (-jko_order 2) reads it too */
    if (jko->energy.m == 1) {
      PetscCall(GFBFMCellFilter(jko->grid, b->local, 1.0 / 24, b->point_new, rho_new));
      PetscCall(GFBFMScaleToMass(jko, rho_new)); /* the filter's round-off */
    } else
      PetscCall(VecCopy(b->point_new, rho_new));
  }
  /* W2^2 = h^d sum mu |tau grad psi|^2, the map T(y) = y - tau grad psi(y) */
  PetscCall(GFBFMDerivatives(jko, b->psi));
  for (PetscInt a2 = 0; a2 < jko->grid->dim; a2++) {
    PetscCall(VecPointwiseMult(b->u, b->grad[a2], b->grad[a2]));
    PetscCall(VecDot(b->u, mu, &mass));
    w2 += tau * tau * mass * jko->grid->cell_volume;
  }
  result->w2sq = w2;
  PetscCall(VecCopy(rho_new, b->last));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFJKODestroy_BFM(GFJKOMethod jko)
{
  GFJKO_BFM *b      = (GFJKO_BFM *)jko->data;
  Vec       *vecs[] = {&b->phi, &b->psi, &b->rho, &b->push, &b->g, &b->u, &b->Vt, &b->last, &b->ca, &b->cb, &b->point, &b->point_new, &b->phi_best};

  PetscFunctionBeginUser;
  if (!b) PetscFunctionReturn(PETSC_SUCCESS);
  for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) PetscCall(VecDestroy(vecs[i]));
  for (PetscInt a = 0; a < 3; a++) {
    PetscCall(VecDestroy(&b->grad[a]));
    if (b->glocal[a]) PetscCall(DMRestoreLocalVector(b->da, &b->glocal[a]));
  }
  if (b->local) PetscCall(DMRestoreLocalVector(b->da, &b->local));
  for (PetscInt w = 0; w < 3; w++) PetscCall(GFBFMWindowDestroy(&b->window[w]));
  PetscCall(GFBFMLinesDestroy(&b->lines));
  PetscCall(GFBFMPreconditionerDestroy(&b->pre[0]));
  PetscCall(GFBFMPreconditionerDestroy(&b->pre[1]));
  PetscCall(PetscFree(jko->data));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFJKOSetUpBFM(GFJKOMethod jko)
{
  GFGrid     grid = jko->grid;
  GFJKO_BFM *b;
  PetscBool  interaction = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCheck(grid->bc == GF_BC_NOFLUX, jko->comm, PETSC_ERR_USER_INPUT, "-jko_method bfm needs no-flux walls (-bc noflux): its c-transform and pushforwards are those of a box; periodic boxes are not supported");
  if (jko->energy.interaction) PetscCall(GFInteractionIsActive(jko->energy.interaction, &interaction));
  PetscCheck(!interaction || jko->energy.convolution, jko->comm, PETSC_ERR_USER_INPUT, "-jko_method bfm: the interaction W is needed on the grid (a convolution) to linearise it; use -jko_method primal_dual");
  PetscCheck(jko->energy.sigma > 0, jko->comm, PETSC_ERR_USER_INPUT,
             "-jko_method bfm needs an internal energy with a closed-form Legendre dual, sigma rho log rho or sigma rho^m/(m - 1) with -diffusion > 0: it solves for the dual density (U*)'. Use -jko_method primal_dual (any -diffusion >= 0)");
  PetscCheck(jko->energy.m >= 1, jko->comm, PETSC_ERR_USER_INPUT, "-jko_method bfm: the diffusion exponent m = %g has no dual here (m >= 1 only); no JKO method takes m < 1", (double)jko->energy.m);
  PetscCheck(jko->rtol > 0 && jko->max_it >= 1, jko->comm, PETSC_ERR_ARG_OUTOFRANGE, "-jko_method bfm: tolerance %g must be > 0 and the iteration limit %d >= 1", (double)jko->rtol, (int)jko->max_it);
  PetscCall(PetscNew(&b));
  jko->data        = b;
  jko->step        = GFJKOStep_BFM;
  jko->extrapolate = GFJKOExtrapolate_BFM;
  jko->destroy     = GFJKODestroy_BFM;
  b->da            = grid->da;
  b->step[0] = b->step[1] = 1;
  PetscCall(GFBFMLinesCreate(grid, &b->lines));
  PetscCall(GFBFMPreconditionerCreate(grid, &b->pre[0]));
  PetscCall(GFBFMPreconditionerCreate(grid, &b->pre[1]));
  PetscCall(DMCreateGlobalVector(grid->da, &b->phi));
  {
    Vec *vecs[] = {&b->psi, &b->rho, &b->push, &b->g, &b->u, &b->Vt, &b->last, &b->ca, &b->cb, &b->point, &b->point_new, &b->phi_best};
    for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) PetscCall(VecDuplicate(b->phi, vecs[i]));
  }
  for (PetscInt a = 0; a < grid->dim; a++) {
    PetscCall(VecDuplicate(b->phi, &b->grad[a]));
    PetscCall(DMGetLocalVector(b->da, &b->glocal[a]));
  }
  PetscCall(DMGetLocalVector(b->da, &b->local));
  for (PetscInt w = 0; w < 3; w++) b->window[w].grid = grid;
  PetscFunctionReturn(PETSC_SUCCESS);
}
