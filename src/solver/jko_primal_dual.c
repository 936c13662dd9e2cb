/*
  JKO method "primal_dual": the JKO step in the dynamic (Benamou-Brenier) form, solved by a
  diagonally preconditioned, over-relaxed Chambolle-Pock iteration (Papadakis, Peyre, Oudet,
  SIAM J. Imaging Sci. 2014; Carrillo, Craig, Wang, Wei, Found. Comput. Math. 2022):

      min  F(rho^n_t) + (1/(2 tau)) sum_l (1/n_t) h^d sum_faces |m^l|^2 / theta^l
      s.t. rho^l - rho^(l-1) + (1/n_t) div m^l = 0,  l = 1..n_t,  rho^0 = rho_old,

  densities rho^l at cell centres on n_t pseudo-time levels (-jko_substeps), momenta m^l on the
  faces of each interval, zero through no-flux walls. The face density of interval l is the
  average of the two adjacent cells on the two levels l-1, l:
      theta^l = (rho^(l-1)_L + rho^(l-1)_R + rho^l_L + rho^l_R) / 4,
  second order in space and pseudo-time (with n_t = 1 the midpoint of old and new density).

  Splitting, with x = (rho^1..n_t, m^1..n_t) and y = K x + c = (theta^1..n_t, m^1..n_t, rho^n_t):
    G(x) = indicator of the continuity constraint: prox = projection, one Helmholtz-type solve
           per pseudo-time mode (jko_pd_operators.c: CG with geometric multigrid);
    H(y) = sum_faces (1/(2 n_t tau)) m^2/theta (prox: a cubic per face, Newton from above)
           + sum_cells U(rho) + (V + W * rho_bar) rho (prox: scalar Newton per cell),
  everything per unit volume (the common factor h^d dropped). K is local averaging and copies,
  its norm independent of h: all spatial coupling is in the exact projection, which is why
  the iteration counts stay flat under grid refinement.

  Step sizes: diagonal (Pock-Chambolle) preconditioning matched to the local curvatures of H,
  from weights w = max(rho_old, floor * rho_typ), rho_typ = sum rho_old^2 / sum rho_old:
      T_rho = a_rho / U''(w)              (-jko_pd_density_step a_rho; sigma w^(2-m)/(sigma m))
      T_m   = a_m n_t tau (w_L + w_R)/2   (-jko_pd_momentum_step a_m; 1/curvature of |m|^2/theta)
      S     = q / (c_K max T over the row), c_K a bound of ||K||^2 per block, q = 0.99,
  which keeps ||S^1/2 K T^1/2|| < 1 (entrywise bound of non-negative matrices). Matching the
  log-entropy's curvature 1/rho pointwise is what lets the dual potentials converge in the
  tails of Gaussians; for m = 2 T_rho is uniform. The projection's metric is T^-1, so the
  spatial operators are mu_k T_rho - div(T_m grad)/n_t^2. Relaxation (-jko_pd_relaxation,
  default 1.8): x <- x + r (x~ - x), y <- y + r (y~ - y) after the x-first step.

  Interaction W * rho: linearised, the energy prox seeing the potential V + W * rho_bar, with
  rho_bar = rho_old at first; each time the iteration has converged for the linearised energy,
  rho_bar becomes the step's density and the iteration goes on (warm) until that moves the
  potential by less than rtol of its spread: a fixed point of the linearisation, the JKO
  minimiser of the full F. The linearised problems are solved inexactly while rho_bar is still
  moving: to residuals of c times the last move of the potential (-jko_pd_inexact c, default
  0.03; the first to c), never below rtol; the step ends only with residuals below rtol at a
  potential that moved by less than rtol. (Relinearising at every iteration, a forward step inside the
  primal-dual iteration, diverged on the aggregation problem.) The caller checks the JKO
  inequality with the full F.

  Stopping: relative primal and dual residuals (Goldstein, Esser, Baraniuk 2013, in the
  metrics T^-1 and S^-1, bounded by the triangle inequality) below jko->rtol.
  The result is the energy prox's copy of the final density (>= 0 by construction, the
  minimiser's own density at convergence), scaled to the mass of rho_old (the scale is
  1 + O(rtol)). Warm start: primal momenta (scaled by the ratio of steps), dual variables and
  the projection multipliers are kept while rho_old is bitwise the last rho_new.
*/
#include "jko_pd.h"

static PetscErrorCode SetInteractionPotential(GFJKOMethod, Vec, PetscReal *);

/* The prox of gamma U(rho) + gamma V rho at z: U'(rho) + V + (rho - z)/gamma = 0, rho >= 0. */
static PetscReal EnergyProx(PetscReal sigma, PetscReal m, PetscReal V, PetscReal z, PetscReal gamma)
{
  if (sigma == 0) return PetscMax(z - gamma * V, 0);
  if (m == 1) {
    /* u = log rho: sigma u + e^u/gamma = a, Newton from a point above the root (convex, increasing) */
    const PetscReal a = z / gamma - sigma - V;
    PetscReal       u = a > 0 ? PetscLogReal(gamma * a + 1) : a / sigma;
    for (PetscInt it = 0; it < 100; it++) {
      const PetscReal e = PetscExpReal(u), du = (sigma * u + e / gamma - a) / (sigma + e / gamma);
      u -= du;
      if (PetscAbsReal(du) <= 1e-14 * (1 + PetscAbsReal(u))) break;
    }
    return PetscExpReal(u);
  } else {
    /* c rho^(m-1) + rho/gamma = b on [0, gamma b]: Newton, safeguarded by bisection */
    const PetscReal b = z / gamma - V, c = sigma * m / (m - 1);
    PetscReal       lo = 0, hi, r;
    if (b <= 0) return 0;
    if (m == 2) return b / (c + 1 / gamma);
    hi = r = gamma * b;
    for (PetscInt it = 0; it < 100; it++) {
      const PetscReal f = c * PetscPowReal(r, m - 1) + r / gamma - b, fp = c * (m - 1) * PetscPowReal(r, m - 2) + 1 / gamma;
      PetscReal       next;
      if (f > 0)
        hi = r;
      else
        lo = r;
      next = r - f / fp;
      if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
      if (PetscAbsReal(next - r) <= 1e-14 * r) return next;
      r = next;
    }
    return r;
  }
}

/*
  The prox of (c/2) m^2/theta (the perspective function: +inf for theta < 0, 0 at (0, 0)) at (t0, m0) with
  per-component steps (g_t, g_m): m = m0 theta/(theta + g_m c) and the largest root of
  (theta - t0)(theta + g_m c)^2 = g_t c m0^2/2 by Newton from above (the cubic f is convex and
  increasing there, so the iterates fall monotonically); (0, 0) when f(0) >= 0.
*/
static void KineticProx(PetscReal c, PetscReal t0, PetscReal m0, PetscReal g_t, PetscReal g_m, PetscReal *theta, PetscReal *mom)
{
  const PetscReal a = g_m * c, b = 0.5 * g_t * c * m0 * m0;
  PetscReal       t;

  if (-t0 * a * a - b >= 0) {
    *theta = *mom = 0;
    return;
  }
  t = PetscMax(t0, 0) + PetscCbrtReal(b);
  for (PetscInt it = 0; it < 100; it++) {
    const PetscReal f = (t - t0) * (t + a) * (t + a) - b, fp = (t + a) * (3 * t + a - 2 * t0), dt = fp > 0 ? f / fp : 0;
    t -= dt;
    if (PetscAbsReal(dt) <= 1e-14 * t) break;
  }
  *theta = t;
  *mom   = m0 * t / (t + a);
}

/* acc += sum w (a - b)^2 (inverse: / w, skipping w = 0) over the local entries; b may be NULL. */
static PetscErrorCode AddWeightedSquares(Vec a, Vec b, Vec w, PetscBool inverse, PetscReal *acc)
{
  const PetscScalar *x, *y = NULL, *s;
  PetscInt           n;

  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(a, &n));
  PetscCall(VecGetArrayRead(a, &x));
  if (b) PetscCall(VecGetArrayRead(b, &y));
  PetscCall(VecGetArrayRead(w, &s));
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal d = PetscRealPart(x[i]) - (y ? PetscRealPart(y[i]) : 0), ws = PetscRealPart(s[i]);
    if (ws > 0) *acc += inverse ? d * d / ws : ws * d * d;
  }
  PetscCall(VecRestoreArrayRead(w, &s));
  if (b) PetscCall(VecRestoreArrayRead(b, &y));
  PetscCall(VecRestoreArrayRead(a, &x));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* grad[l] = I^T (y_theta^l + y_theta^(l+1)) (+ y_E on the last level): the density part of K^T y. */
static PetscErrorCode ApplyKTranspose(GFJKOPrimalDual *pd, Vec y_theta[], Vec y_energy, Vec grad[])
{
  PetscFunctionBeginUser;
  for (PetscInt l = 0; l < pd->nt; l++) {
    if (l == pd->nt - 1)
      PetscCall(VecCopy(y_energy, grad[l]));
    else
      PetscCall(VecSet(grad[l], 0));
    PetscCall(GFJKOPDInterpolateTranspose(pd, y_theta[l], l + 1 < pd->nt ? y_theta[l + 1] : NULL, grad[l]));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* theta[l] from the levels (rho_old, rho[0..n_t-1]): the face part of K x + c. */
static PetscErrorCode ApplyK(GFJKOPrimalDual *pd, Vec rho_old, Vec rho[], Vec theta[])
{
  PetscFunctionBeginUser;
  for (PetscInt l = 0; l < pd->nt; l++) PetscCall(GFJKOPDInterpolate(pd, l ? rho[l - 1] : rho_old, rho[l], theta[l]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The diagonal steps T and S from rho_old (see the header comment), and the projection's operators. */
static PetscErrorCode SetUpSteps(GFJKOPrimalDual *pd, PetscReal tau, Vec rho_old)
{
  const GFLocalBox  *b = &pd->grid->box;
  const PetscInt     d = pd->dim, nt = pd->nt;
  const PetscReal    c_rho = nt == 1 ? 0.5 * d + 1 : PetscMax(d, 0.5 * d + 1), q = pd->safety;
  PetscReal          sums[2] = {0, 0}, local[2] = {0, 0}, typical, sigma = pd->sigma, m = pd->m, hmin = pd->grid->h[0];
  const PetscScalar *r, *w;
  PetscScalar       *tr, *tm, *st, *sm, *se;
  Vec                weight;

  PetscFunctionBeginUser;
  PetscCall(VecGetArrayRead(rho_old, &r));
  GF_FOR_OWNED(b, i, j, k)
  {
    const PetscReal x = PetscMax(PetscRealPart(r[GFOwnedIndex(b, i, j, k)]), 0);
    local[0] += x * x;
    local[1] += x;
  }
  PetscCall(VecRestoreArrayRead(rho_old, &r));
  PetscCall(MPIU_Allreduce(local, sums, 2, MPIU_REAL, MPIU_SUM, pd->grid->comm));
  PetscCheck(sums[1] > 0, pd->grid->comm, PETSC_ERR_ARG_WRONG, "the primal-dual JKO step needs a density of positive mass, got %g", (double)(sums[1] * pd->grid->cell_volume));
  typical = sums[0] / sums[1];
  /*
    No internal energy: precondition as for the entropy whose diffusion length in one step is
    L = max(h, 0.15 s), s the density's standard deviation (root mean of the axes' variances).
    A length of the density, not of the grid: with L = h (before) the density steps shrank
    like h^2 and the aggregation problem's iterations grew 3.5x per refinement (546 to 1891
    from 128^2 to 256^2 in its first step, tau = 0.1); 0.15 s is where they were fewest on
    both grids (about 160).
  */
  for (PetscInt a = 1; a < d; a++) hmin = PetscMin(hmin, pd->grid->h[a]);
  if (sigma == 0) {
    GFMoments moments;
    PetscReal mean[3], covariance[3][3], variance = 0, length;

    GFMomentsInit(&moments, d, NULL);
    PetscCall(VecGetArrayRead(rho_old, &r));
    GF_FOR_OWNED(b, i, j, k)
    {
      const PetscInt idx[3] = {i, j, k};
      PetscReal      x[3]   = {0, 0, 0};
      GFGridCellCenter(pd->grid, idx, x);
      GFMomentsAdd(&moments, PetscMax(PetscRealPart(r[GFOwnedIndex(b, i, j, k)]), 0), x);
    }
    PetscCall(VecRestoreArrayRead(rho_old, &r));
    PetscCall(GFMomentsFinish(&moments, pd->grid->comm, NULL, NULL, mean, covariance));
    for (PetscInt a = 0; a < d; a++) variance += PetscMax(covariance[a][a], 0) / d;
    length = PetscMax(hmin, 0.15 * PetscSqrtReal(variance));
    sigma  = length * length / (nt * tau);
    m      = 1;
  }
  PetscCall(DMGetGlobalVector(pd->cda, &weight));
  PetscCall(VecCopy(rho_old, weight));
  PetscCall(VecGetArray(weight, &tr));
  GF_FOR_OWNED(b, i, j, k)
  {
    const PetscInt o = GFOwnedIndex(b, i, j, k);
    tr[o]            = PetscMax(PetscRealPart(tr[o]), pd->floor * typical);
  }
  PetscCall(VecRestoreArray(weight, &tr));
  PetscCall(DMGlobalToLocal(pd->cda, weight, INSERT_VALUES, pd->cell_local2));
  PetscCall(DMRestoreGlobalVector(pd->cda, &weight));
  /* T_rho on the ghosted array first (S_theta needs both cells of a face), then owned copies */
  PetscCall(VecGetArray(pd->cell_local2, &tr));
  {
    PetscInt n;
    PetscCall(VecGetLocalSize(pd->cell_local2, &n));
    for (PetscInt i = 0; i < n; i++) {
      const PetscReal x = PetscRealPart(tr[i]);
      tr[i]             = pd->density_step * (m == 1 ? x / sigma : PetscPowReal(x, 2 - m) / (sigma * m));
    }
  }
  PetscCall(VecRestoreArray(pd->cell_local2, &tr));
  PetscCall(DMGetGlobalVector(pd->cda, &weight));
  PetscCall(VecCopy(rho_old, weight));
  PetscCall(VecGetArray(weight, &tm));
  GF_FOR_OWNED(b, i, j, k)
  {
    const PetscInt o = GFOwnedIndex(b, i, j, k);
    tm[o]            = PetscMax(PetscRealPart(tm[o]), pd->floor * typical);
  }
  PetscCall(VecRestoreArray(weight, &tm));
  PetscCall(DMGlobalToLocal(pd->cda, weight, INSERT_VALUES, pd->cell_local));
  PetscCall(DMRestoreGlobalVector(pd->cda, &weight));
  PetscCall(VecGetArrayRead(pd->cell_local, &w));
  PetscCall(VecGetArrayRead(pd->cell_local2, &r));
  PetscCall(VecGetArray(pd->T_rho, &tr));
  PetscCall(VecGetArray(pd->T_mom, &tm));
  PetscCall(VecGetArray(pd->S_theta, &st));
  PetscCall(VecGetArray(pd->S_mom, &sm));
  PetscCall(VecGetArray(pd->S_energy, &se));
  GF_FOR_OWNED(b, i, j, k)
  {
    const PetscInt idx[3] = {i, j, k}, o = GFOwnedIndex(b, i, j, k), li = GFLocalIndex(b, i, j, k);
    tr[o] = r[li];
    se[o] = q / (c_rho * PetscRealPart(r[li]));
    for (PetscInt a = 0; a < d; a++) {
      const PetscInt right = li + GFLocalStride(b, a);
      if (pd->grid->bc == GF_BC_PERIODIC || idx[a] < pd->grid->cells[a] - 1) {
        tm[d * o + a] = pd->momentum_step * nt * tau * 0.5 * PetscRealPart(w[li] + w[right]);
        sm[d * o + a] = q / PetscRealPart(tm[d * o + a]);
        st[d * o + a] = q / (c_rho * PetscMax(PetscRealPart(r[li]), PetscRealPart(r[right])));
      } else
        tm[d * o + a] = sm[d * o + a] = st[d * o + a] = 0;
    }
  }
  PetscCall(VecRestoreArray(pd->S_energy, &se));
  PetscCall(VecRestoreArray(pd->S_mom, &sm));
  PetscCall(VecRestoreArray(pd->S_theta, &st));
  PetscCall(VecRestoreArray(pd->T_mom, &tm));
  PetscCall(VecRestoreArray(pd->T_rho, &tr));
  PetscCall(VecRestoreArrayRead(pd->cell_local2, &r));
  PetscCall(VecRestoreArrayRead(pd->cell_local, &w));
  PetscCall(GFJKOPDSetUpProjection(pd));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The dual candidate y~ = prox_{S H*}(y + S (2 K x~ - K x)) by Moreau's identity, pointwise; rho_energy = the energy prox's density; *action = local sum m^2/theta of the kinetic prox pairs. */
static PetscErrorCode DualStep(GFJKOPrimalDual *pd, PetscReal tau, PetscReal *action)
{
  const PetscInt     nt = pd->nt;
  const PetscReal    c  = 1.0 / (nt * tau);
  const PetscScalar *st, *sm, *se, *V;
  PetscInt           nf, nc;

  PetscFunctionBeginUser;
  *action = 0;
  PetscCall(VecGetLocalSize(pd->S_theta, &nf));
  PetscCall(VecGetArrayRead(pd->S_theta, &st));
  PetscCall(VecGetArrayRead(pd->S_mom, &sm));
  for (PetscInt l = 0; l < nt; l++) {
    const PetscScalar *th, *tht, *m, *mt, *yt, *ym;
    PetscScalar       *ytn, *ymn;

    PetscCall(VecGetArrayRead(pd->theta[l], &th));
    PetscCall(VecGetArrayRead(pd->theta_t[l], &tht));
    PetscCall(VecGetArrayRead(pd->mom[l], &m));
    PetscCall(VecGetArrayRead(pd->mom_t[l], &mt));
    PetscCall(VecGetArrayRead(pd->y_theta[l], &yt));
    PetscCall(VecGetArrayRead(pd->y_mom[l], &ym));
    PetscCall(VecGetArray(pd->y_theta_t[l], &ytn));
    PetscCall(VecGetArray(pd->y_mom_t[l], &ymn));
    for (PetscInt f = 0; f < nf; f++) {
      const PetscReal s_t = PetscRealPart(st[f]), s_m = PetscRealPart(sm[f]);
      PetscReal       w_t, w_m, theta, mom;
      if (s_m == 0) { /* a wall face */
        ytn[f] = ymn[f] = 0;
        continue;
      }
      w_t = PetscRealPart(yt[f]) + s_t * PetscRealPart(2 * tht[f] - th[f]);
      w_m = PetscRealPart(ym[f]) + s_m * PetscRealPart(2 * mt[f] - m[f]);
      KineticProx(c, w_t / s_t, w_m / s_m, 1 / s_t, 1 / s_m, &theta, &mom);
      ytn[f] = w_t - s_t * theta;
      ymn[f] = w_m - s_m * mom;
      if (theta > 0) *action += mom * mom / theta;
    }
    PetscCall(VecRestoreArray(pd->y_mom_t[l], &ymn));
    PetscCall(VecRestoreArray(pd->y_theta_t[l], &ytn));
    PetscCall(VecRestoreArrayRead(pd->y_mom[l], &ym));
    PetscCall(VecRestoreArrayRead(pd->y_theta[l], &yt));
    PetscCall(VecRestoreArrayRead(pd->mom_t[l], &mt));
    PetscCall(VecRestoreArrayRead(pd->mom[l], &m));
    PetscCall(VecRestoreArrayRead(pd->theta_t[l], &tht));
    PetscCall(VecRestoreArrayRead(pd->theta[l], &th));
  }
  PetscCall(VecRestoreArrayRead(pd->S_mom, &sm));
  PetscCall(VecRestoreArrayRead(pd->S_theta, &st));
  {
    const PetscScalar *r, *rt, *y;
    PetscScalar       *yn, *re;

    PetscCall(VecGetLocalSize(pd->S_energy, &nc));
    PetscCall(VecGetArrayRead(pd->S_energy, &se));
    PetscCall(VecGetArrayRead(pd->potential, &V));
    PetscCall(VecGetArrayRead(pd->rho[nt - 1], &r));
    PetscCall(VecGetArrayRead(pd->rho_t[nt - 1], &rt));
    PetscCall(VecGetArrayRead(pd->y_energy, &y));
    PetscCall(VecGetArray(pd->y_energy_t, &yn));
    PetscCall(VecGetArray(pd->rho_energy, &re));
    for (PetscInt i = 0; i < nc; i++) {
      const PetscReal s = PetscRealPart(se[i]), w = PetscRealPart(y[i]) + s * PetscRealPart(2 * rt[i] - r[i]);
      const PetscReal rho = EnergyProx(pd->sigma, pd->m, PetscRealPart(V[i]), w / s, 1 / s);
      yn[i]               = w - s * rho;
      re[i]               = rho;
    }
    PetscCall(VecRestoreArray(pd->rho_energy, &re));
    PetscCall(VecRestoreArray(pd->y_energy_t, &yn));
    PetscCall(VecRestoreArrayRead(pd->y_energy, &y));
    PetscCall(VecRestoreArrayRead(pd->rho_t[nt - 1], &rt));
    PetscCall(VecRestoreArrayRead(pd->rho[nt - 1], &r));
    PetscCall(VecRestoreArrayRead(pd->potential, &V));
    PetscCall(VecRestoreArrayRead(pd->S_energy, &se));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The residuals of the candidate (x~, y~) against (x, y), relative (see the header comment). */
static PetscErrorCode Residuals(GFJKOPrimalDual *pd, PetscReal residual[2])
{
  const PetscInt nt       = pd->nt;
  PetscReal      local[6] = {0, 0, 0, 0, 0, 0}, sums[6];

  PetscFunctionBeginUser;
  for (PetscInt l = 0; l < nt; l++) {
    /* primal: ||x - x~||_{T^-1}, ||K^T (y - y~)||_T, ||K^T y~||_T */
    PetscCall(AddWeightedSquares(pd->rho[l], pd->rho_t[l], pd->T_rho, PETSC_TRUE, &local[0]));
    PetscCall(AddWeightedSquares(pd->mom[l], pd->mom_t[l], pd->T_mom, PETSC_TRUE, &local[0]));
    PetscCall(AddWeightedSquares(pd->grad[l], pd->grad_t[l], pd->T_rho, PETSC_FALSE, &local[1]));
    PetscCall(AddWeightedSquares(pd->y_mom[l], pd->y_mom_t[l], pd->T_mom, PETSC_FALSE, &local[1]));
    PetscCall(AddWeightedSquares(pd->grad_t[l], NULL, pd->T_rho, PETSC_FALSE, &local[2]));
    PetscCall(AddWeightedSquares(pd->y_mom_t[l], NULL, pd->T_mom, PETSC_FALSE, &local[2]));
    /* dual: ||y - y~||_{S^-1}, ||K (x - x~)||_S, ||K x~ + c||_S */
    PetscCall(AddWeightedSquares(pd->y_theta[l], pd->y_theta_t[l], pd->S_theta, PETSC_TRUE, &local[3]));
    PetscCall(AddWeightedSquares(pd->y_mom[l], pd->y_mom_t[l], pd->S_mom, PETSC_TRUE, &local[3]));
    PetscCall(AddWeightedSquares(pd->theta[l], pd->theta_t[l], pd->S_theta, PETSC_FALSE, &local[4]));
    PetscCall(AddWeightedSquares(pd->mom[l], pd->mom_t[l], pd->S_mom, PETSC_FALSE, &local[4]));
    PetscCall(AddWeightedSquares(pd->theta_t[l], NULL, pd->S_theta, PETSC_FALSE, &local[5]));
    PetscCall(AddWeightedSquares(pd->mom_t[l], NULL, pd->S_mom, PETSC_FALSE, &local[5]));
  }
  PetscCall(AddWeightedSquares(pd->y_energy, pd->y_energy_t, pd->S_energy, PETSC_TRUE, &local[3]));
  PetscCall(AddWeightedSquares(pd->rho[nt - 1], pd->rho_t[nt - 1], pd->S_energy, PETSC_FALSE, &local[4]));
  PetscCall(AddWeightedSquares(pd->rho_t[nt - 1], NULL, pd->S_energy, PETSC_FALSE, &local[5]));
  PetscCall(MPIU_Allreduce(local, sums, 6, MPIU_REAL, MPIU_SUM, pd->grid->comm));
  residual[0] = (PetscSqrtReal(sums[0]) + PetscSqrtReal(sums[1])) / PetscMax(PetscSqrtReal(sums[2]), PETSC_SMALL * PETSC_SMALL);
  residual[1] = (PetscSqrtReal(sums[3]) + PetscSqrtReal(sums[4])) / PetscMax(PetscSqrtReal(sums[5]), PETSC_SMALL * PETSC_SMALL);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* a <- a + r (b - a) */
static PetscErrorCode Relax(PetscReal r, Vec b, Vec a)
{
  PetscFunctionBeginUser;
  PetscCall(VecAXPBY(a, r, 1 - r, b));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFJKOStep_PrimalDual(GFJKOMethod jko, PetscReal tau, Vec rho_old, Vec rho_new, GFJKOResult *result)
{
  GFJKOPrimalDual *pd = (GFJKOPrimalDual *)jko->data;
  const PetscInt   nt = pd->nt, max_it = jko->max_it > 0 ? jko->max_it : 10000;
  const PetscReal  rtol = jko->rtol > 0 ? jko->rtol : 1e-6, r = pd->relaxation;
  PetscBool        warm   = PETSC_FALSE;
  PetscReal        action = 0, mass_old, mass_new;
  PetscInt         it;
  PetscReal        inner = jko->energy.convolution ? PetscMax(rtol, pd->inexact) : rtol; /* the residuals at which the interaction is linearised again */

  PetscFunctionBeginUser;
  PetscCheck(tau > 0, jko->comm, PETSC_ERR_ARG_OUTOFRANGE, "the JKO step needs tau > 0, got %g", (double)tau);
  PetscCheck(rho_old != rho_new, jko->comm, PETSC_ERR_ARG_IDN, "rho_new may not be rho_old");
  if (pd->have_state) PetscCall(VecEqual(rho_old, pd->rho_last, &warm));
  PetscCall(SetUpSteps(pd, tau, rho_old));
  if (warm) {
    /* same velocity field, displacement proportional to the step */
    for (PetscInt l = 0; l < nt; l++) PetscCall(VecScale(pd->mom[l], tau / pd->tau));
  } else {
    for (PetscInt l = 0; l < nt; l++) {
      PetscCall(VecSet(pd->mom[l], 0));
      PetscCall(VecSet(pd->y_theta[l], 0));
      PetscCall(VecSet(pd->y_mom[l], 0));
      PetscCall(VecSet(pd->mu[l], 0));
    }
    PetscCall(VecSet(pd->y_energy, 0));
  }
  pd->tau = tau;
  /* feasible start: the levels the momenta transport rho_old to */
  for (PetscInt l = 0; l < nt; l++) {
    PetscCall(VecCopy(l ? pd->rho[l - 1] : rho_old, pd->rho[l]));
    PetscCall(GFJKOPDAddDivergence(pd, -1.0 / nt, pd->mom[l], pd->rho[l]));
  }
  PetscCall(ApplyK(pd, rho_old, pd->rho, pd->theta));
  PetscCall(ApplyKTranspose(pd, pd->y_theta, pd->y_energy, pd->grad));
  PetscCall(VecCopy(rho_old, pd->rho_energy));
  if (!jko->energy.convolution) {
    if (jko->energy.V)
      PetscCall(VecCopy(jko->energy.V, pd->potential));
    else
      PetscCall(VecSet(pd->potential, 0));
  }
  pd->linear_iterations = 0;
  result->converged     = PETSC_FALSE;
  for (it = 1; it <= max_it; it++) {
    /* primal candidate: x~ = Proj(x - T K^T y) */
    for (PetscInt l = 0; l < nt; l++) {
      PetscCall(VecPointwiseMult(pd->rho_t[l], pd->T_rho, pd->grad[l]));
      PetscCall(VecAYPX(pd->rho_t[l], -1.0, pd->rho[l]));
      PetscCall(VecPointwiseMult(pd->mom_t[l], pd->T_mom, pd->y_mom[l]));
      PetscCall(VecAYPX(pd->mom_t[l], -1.0, pd->mom[l]));
    }
    PetscCall(GFJKOPDProject(pd, rho_old, pd->rho_t, pd->mom_t));
    PetscCall(ApplyK(pd, rho_old, pd->rho_t, pd->theta_t));
    /* the interaction's potential, linearised at rho_old first */
    if (jko->energy.convolution && it == 1) PetscCall(SetInteractionPotential(jko, rho_old, NULL));
    PetscCall(DualStep(pd, tau, &action));
    PetscCall(ApplyKTranspose(pd, pd->y_theta_t, pd->y_energy_t, pd->grad_t));
    PetscCall(Residuals(pd, result->residual));
    for (PetscInt l = 0; l < nt; l++) {
      PetscCall(Relax(r, pd->rho_t[l], pd->rho[l]));
      PetscCall(Relax(r, pd->mom_t[l], pd->mom[l]));
      PetscCall(Relax(r, pd->theta_t[l], pd->theta[l]));
      PetscCall(Relax(r, pd->grad_t[l], pd->grad[l]));
      PetscCall(Relax(r, pd->y_theta_t[l], pd->y_theta[l]));
      PetscCall(Relax(r, pd->y_mom_t[l], pd->y_mom[l]));
    }
    PetscCall(Relax(r, pd->y_energy_t, pd->y_energy));
    if (result->residual[0] < inner && result->residual[1] < inner) {
      PetscReal change = 0;
      /* converged for the linearised energy (to inner): with an interaction, linearise again at this step's density until that no longer changes the potential */
      if (jko->energy.convolution) PetscCall(SetInteractionPotential(jko, pd->rho_energy, &change));
      if (change <= rtol && inner <= rtol) {
        result->converged = PETSC_TRUE;
        break;
      }
      inner = PetscMax(rtol, pd->inexact * change);
    }
  }
  result->iterations = PetscMin(it, max_it);
  /* the energy prox's density, >= 0, scaled to the old mass */
  PetscCall(VecSum(rho_old, &mass_old));
  PetscCall(VecSum(pd->rho_energy, &mass_new));
  PetscCheck(mass_new > 0, jko->comm, PETSC_ERR_NOT_CONVERGED, "the primal-dual JKO step lost all mass (tau %g); try a smaller step", (double)tau);
  PetscCall(VecAXPBY(rho_new, mass_old / mass_new, 0.0, pd->rho_energy));
  PetscCall(MPIU_Allreduce(&action, &result->w2sq, 1, MPIU_REAL, MPIU_SUM, jko->comm));
  result->w2sq *= pd->grid->cell_volume / nt;
  PetscCall(VecCopy(rho_new, pd->rho_last));
  pd->have_state = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The potential V + W * rho of the linearised interaction, and (change not NULL) how much that
  moved it: max |W * rho - previous| relative to the potential's spread (max - min).
*/
static PetscErrorCode SetInteractionPotential(GFJKOMethod jko, Vec rho, PetscReal *change)
{
  GFJKOPrimalDual *pd = (GFJKOPrimalDual *)jko->data;
  Vec              previous;
  PetscReal        diff, lo, hi;

  PetscFunctionBeginUser;
  PetscCall(VecDuplicate(pd->conv, &previous));
  PetscCall(VecCopy(pd->conv, previous));
  PetscCall(GFConvolutionApply(jko->energy.convolution, jko->energy.kernel, rho, pd->conv));
  if (jko->energy.V)
    PetscCall(VecWAXPY(pd->potential, 1.0, jko->energy.V, pd->conv));
  else
    PetscCall(VecCopy(pd->conv, pd->potential));
  if (change) {
    PetscCall(VecAXPY(previous, -1.0, pd->conv));
    PetscCall(VecNorm(previous, NORM_INFINITY, &diff));
    PetscCall(VecMax(pd->potential, NULL, &hi));
    PetscCall(VecMin(pd->potential, NULL, &lo));
    *change = diff / PetscMax(hi - lo, PETSC_SMALL);
  }
  PetscCall(VecDestroy(&previous));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFJKODestroy_PrimalDual(GFJKOMethod jko)
{
  GFJKOPrimalDual *pd = (GFJKOPrimalDual *)jko->data;

  PetscFunctionBeginUser;
  if (!pd) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(GFJKOPDDestroyProjection(pd));
  for (PetscInt l = 0; l < pd->nt; l++) {
    Vec *v[] = {&pd->rho[l], &pd->mom[l], &pd->rho_t[l], &pd->mom_t[l], &pd->grad[l], &pd->grad_t[l], &pd->theta[l], &pd->theta_t[l], &pd->y_theta[l], &pd->y_mom[l], &pd->y_theta_t[l], &pd->y_mom_t[l], &pd->lambda[l], &pd->mu[l], &pd->rhs[l]};
    for (size_t n = 0; n < sizeof(v) / sizeof(v[0]); n++) PetscCall(VecDestroy(v[n]));
  }
  {
    Vec *v[] = {&pd->y_energy, &pd->y_energy_t, &pd->T_rho, &pd->T_mom, &pd->S_theta, &pd->S_mom, &pd->S_energy, &pd->rho_energy, &pd->potential, &pd->conv, &pd->cell_local, &pd->cell_local2, &pd->face_local, &pd->rho_last};
    for (size_t n = 0; n < sizeof(v) / sizeof(v[0]); n++) PetscCall(VecDestroy(v[n]));
  }
  PetscCall(DMDestroy(&pd->fda));
  PetscCall(PetscFree(jko->data));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFJKOSetUpPrimalDual(GFJKOMethod jko)
{
  GFJKOPrimalDual *pd;
  GFGrid           grid = jko->grid;
  PetscInt         nt   = 1;

  PetscFunctionBeginUser;
  PetscCheck(grid && grid->da, jko->comm, PETSC_ERR_ARG_WRONGSTATE, "the primal-dual JKO method needs a set-up grid");
  PetscCheck(jko->energy.sigma >= 0 && (jko->energy.sigma == 0 || jko->energy.m >= 1), jko->comm, PETSC_ERR_ARG_OUTOFRANGE, "the primal-dual JKO method needs sigma >= 0 and m >= 1, got sigma %g, m %g", (double)jko->energy.sigma,
             (double)jko->energy.m);
  PetscCall(PetscNew(&pd));
  jko->data         = pd;
  jko->step         = GFJKOStep_PrimalDual;
  jko->destroy      = GFJKODestroy_PrimalDual;
  pd->grid          = grid;
  pd->cda           = grid->da;
  pd->dim           = grid->dim;
  pd->sigma         = jko->energy.sigma;
  pd->m             = jko->energy.sigma > 0 ? jko->energy.m : 1;
  pd->density_step  = 0.3;
  pd->momentum_step = 1;
  pd->floor         = 1e-3;
  pd->relaxation    = 1.8;
  pd->safety        = 0.99;
  pd->inexact       = 0.03;
  PetscOptionsBegin(jko->comm, NULL, "Primal-dual JKO steps (dynamic Benamou-Brenier form, Chambolle-Pock)", "GFJKOSetUpPrimalDual");
  PetscCall(PetscOptionsInt("-jko_substeps", "Pseudo-time intervals n_t of the Benamou-Brenier path", "GFJKOSetUpPrimalDual", nt, &nt, NULL));
  PetscCall(PetscOptionsReal("-jko_pd_density_step", "Primal step of the densities, in units of 1/U''(rho)", "GFJKOSetUpPrimalDual", pd->density_step, &pd->density_step, NULL));
  PetscCall(PetscOptionsReal("-jko_pd_momentum_step", "Primal step of the momenta, in units of n_t tau theta", "GFJKOSetUpPrimalDual", pd->momentum_step, &pd->momentum_step, NULL));
  PetscCall(PetscOptionsReal("-jko_pd_floor", "Floor of the step weights, relative to the typical density", "GFJKOSetUpPrimalDual", pd->floor, &pd->floor, NULL));
  PetscCall(PetscOptionsReal("-jko_pd_relaxation", "Over-relaxation r in (0, 2) of the Chambolle-Pock iterates", "GFJKOSetUpPrimalDual", pd->relaxation, &pd->relaxation, NULL));
  PetscCall(PetscOptionsReal("-jko_pd_inexact", "Interaction: linearise again once the residuals are below this times the potential's last move (0: at -jko_rtol only)", "GFJKOSetUpPrimalDual", pd->inexact, &pd->inexact, NULL));
  PetscOptionsEnd();
  PetscCheck(nt >= 1, jko->comm, PETSC_ERR_ARG_OUTOFRANGE, "-jko_substeps %" PetscInt_FMT ": the Benamou-Brenier path needs at least 1 pseudo-time interval", nt);
  PetscCheck(nt <= GF_JKO_PD_MAX_SUBSTEPS, jko->comm, PETSC_ERR_ARG_OUTOFRANGE, "-jko_substeps %" PetscInt_FMT ": at most %d pseudo-time intervals", nt, GF_JKO_PD_MAX_SUBSTEPS);
  PetscCheck(pd->density_step > 0 && pd->momentum_step > 0, jko->comm, PETSC_ERR_ARG_OUTOFRANGE, "-jko_pd_density_step %g and -jko_pd_momentum_step %g must be positive", (double)pd->density_step, (double)pd->momentum_step);
  PetscCheck(pd->floor > 0 && pd->floor <= 1, jko->comm, PETSC_ERR_ARG_OUTOFRANGE, "-jko_pd_floor %g must be in (0, 1]", (double)pd->floor);
  PetscCheck(pd->relaxation > 0 && pd->relaxation < 2, jko->comm, PETSC_ERR_ARG_OUTOFRANGE, "-jko_pd_relaxation %g must be in (0, 2)", (double)pd->relaxation);
  PetscCheck(pd->inexact >= 0 && pd->inexact < 1, jko->comm, PETSC_ERR_ARG_OUTOFRANGE, "-jko_pd_inexact %g must be in [0, 1)", (double)pd->inexact);
  pd->nt = nt;
  PetscCall(DMDACreateCompatibleDMDA(grid->da, grid->dim, &pd->fda));
  for (PetscInt l = 0; l < nt; l++) {
    Vec *cells[] = {&pd->rho[l], &pd->rho_t[l], &pd->grad[l], &pd->grad_t[l], &pd->lambda[l], &pd->mu[l], &pd->rhs[l]};
    Vec *faces[] = {&pd->mom[l], &pd->mom_t[l], &pd->theta[l], &pd->theta_t[l], &pd->y_theta[l], &pd->y_mom[l], &pd->y_theta_t[l], &pd->y_mom_t[l]};
    for (size_t n = 0; n < sizeof(cells) / sizeof(cells[0]); n++) PetscCall(DMCreateGlobalVector(pd->cda, cells[n]));
    for (size_t n = 0; n < sizeof(faces) / sizeof(faces[0]); n++) PetscCall(DMCreateGlobalVector(pd->fda, faces[n]));
    PetscCall(DMCreateMatrix(pd->cda, &pd->op[l]));
    PetscCall(KSPCreate(jko->comm, &pd->ksp[l]));
    PetscCall(KSPSetOptionsPrefix(pd->ksp[l], "jko_pd_"));
    PetscCall(KSPSetType(pd->ksp[l], KSPCG));
    PetscCall(KSPSetOperators(pd->ksp[l], pd->op[l], pd->op[l]));
    PetscCall(GFMultigridSetUp(grid, pd->ksp[l], &pd->mg_levels));
    /* the multipliers of the last iteration are the guess: few CG steps once the iteration settles */
    PetscCall(KSPSetInitialGuessNonzero(pd->ksp[l], PETSC_TRUE));
    PetscCall(KSPSetTolerances(pd->ksp[l], 1e-8, 1e-300, PETSC_DEFAULT, 200));
    PetscCall(KSPSetFromOptions(pd->ksp[l]));
  }
  {
    Vec *cells[] = {&pd->y_energy, &pd->y_energy_t, &pd->T_rho, &pd->S_energy, &pd->rho_energy, &pd->potential, &pd->conv, &pd->rho_last};
    Vec *faces[] = {&pd->T_mom, &pd->S_theta, &pd->S_mom};
    for (size_t n = 0; n < sizeof(cells) / sizeof(cells[0]); n++) PetscCall(DMCreateGlobalVector(pd->cda, cells[n]));
    for (size_t n = 0; n < sizeof(faces) / sizeof(faces[0]); n++) PetscCall(DMCreateGlobalVector(pd->fda, faces[n]));
  }
  PetscCall(DMCreateLocalVector(pd->cda, &pd->cell_local));
  PetscCall(DMCreateLocalVector(pd->cda, &pd->cell_local2));
  PetscCall(DMCreateLocalVector(pd->fda, &pd->face_local));
  PetscFunctionReturn(PETSC_SUCCESS);
}
