/*
  JKO method "quantile": the exact 1D JKO step in mass (Lagrangian) coordinates,

      rho_new = argmin_rho  F(rho) + W2^2(rho, rho_old) / (2 tau).

  In 1D, W2^2 between two measures of mass M is the L2 distance of their quantile functions,
  int_0^M (Q(u) - Q_old(u))^2 du, and int U(rho) + V rho is convex in Q (displacement
  convexity, for convex V). So the step is a convex problem on a monotone map; no grid
  approximates the transport.

  Discretisation. The mass [0, M] is cut into Lagrangian cells of fixed masses dm_k; the
  unknowns are the positions X_0 < X_1 < ... of their edges (the quantile function is
  piecewise linear in u, the density piecewise constant, dm_k / (X_{k+1} - X_k), in each
  Lagrangian cell). Cell k contributes, with dx = X_{k+1} - X_k and e = X - X_old,

      dx U(dm/dx)                                      internal energy (exact),
      dm int_0^1 V(X_k + s dx) ds                       3-point Gauss (exact for quintic V),
      dm (e_k^2 + e_k e_{k+1} + e_{k+1}^2) / (6 tau)   W2^2/(2 tau), exact for linear quantiles,

  so the Hessian is tridiagonal: Newton with a Thomas solve, a barrier-aware step length
  and an Armijo line search, to round-off. V'' (Hessian only) is a central difference of
  grad V; the gradient, hence the solution, uses the exact grad V.

  Lagrangian cells from cell averages (the first step, or after someone else changed rho):
  a conservative piecewise-linear reconstruction (central slopes, limited only to keep it
  >= 0) cut into -jko_quantile_refine sub-cells per grid cell. A piecewise-constant
  reconstruction would add h^2/6 to the variance of the data at once, and doing that
  every step accumulates (3e-3 over 80 steps on h = 1/32); the linear one adds
  (h/refine)^2/6, once. So the method keeps its Lagrangian state between steps and
  rebuilds it only when rho_old is not bitwise its last rho_new. Sub-cells are merged
  until each Lagrangian cell holds -jko_quantile_min_mass of the mass: far tails (1e-70)
  would otherwise be squeezed against a wall below the resolution of a double.

  Support. Empty sub-cells merge into one empty cell between masses, and an empty cell
  (possibly of zero width) stands at each wall. An empty cell has no energy and one
  constraint, width >= 0: a Newton step that would close it stops there and ties its two
  edges (at a wall: pins the edge to it); a tie whose multiplier turns negative is
  released. So mass stays in [lower, upper], the empty region stays empty, and the free
  boundary of a porous medium (m > 1) is the edge where the mass ends.

  Output: the mass of grid cell i is the sum over Lagrangian cells of dm times the fraction
  of their width inside cell i (the exact cell averages of the piecewise-constant
  Lagrangian density), >= 0 and conservative to round-off.

  Parallel: the 1D density is gathered to every rank (O(cells)), every rank solves the same
  problem with the same code (bitwise identical results) and writes its owned part.
*/
#include "jko.h"

typedef struct {
  PetscInt  refine;   /* -jko_quantile_refine: Lagrangian sub-cells per grid cell */
  PetscReal min_mass; /* -jko_quantile_min_mass: smallest Lagrangian cell, relative to the mass */
  PetscInt  n;        /* grid cells */
  PetscReal lower, upper, h;
  PetscInt  xs, xm; /* this rank's owned cells */
  /* the gather */
  VecScatter gather;
  Vec        all;
  /* the Lagrangian state: cells cells, edges X[0..cells], masses dm[]; tied[k]: empty cell k closed */
  PetscInt   cells;
  PetscReal *X, *X_old, *dm, *trial;
  PetscBool *tied;
  PetscBool  valid; /* X is the state of last_rho */
  PetscReal *last_rho, *work, *sub;
  PetscReal  energy_scale; /* sum of the magnitudes of the energy's terms, from Energy() */
  /* Newton: per edge gradient and its scale; per unknown gradient, Hessian, step */
  PetscInt  *unknown; /* unknown of each edge, -1: fixed */
  PetscReal *g, *g_scale, *G, *G_scale, *diag, *off, *d;
} GFJKO_Quantile;

/* Gauss-Legendre on [0, 1], 3 points. */
static const PetscReal gauss_s[3] = {0.11270166537925831, 0.5, 0.88729833462074169};
static const PetscReal gauss_w[3] = {5.0 / 18, 8.0 / 18, 5.0 / 18};

/* V(x), V'(x) and (when d2V) a central difference for V''(x). */
static PetscReal PotentialAt(GFPotential potential, PetscReal x, PetscReal *dV, PetscReal *d2V)
{
  const PetscReal v = GFPotentialValue(potential, &x, dV);

  if (d2V) {
    const PetscReal step = 1e-5 * (1 + PetscAbsReal(x));
    PetscReal       xp = x + step, xm = x - step, gp, gm;
    (void)GFPotentialValue(potential, &xp, &gp);
    (void)GFPotentialValue(potential, &xm, &gm);
    *d2V = (gp - gm) / (xp - xm);
  }
  return v;
}

/*
  The energy of the Lagrangian state X (massive cells only; the magnitudes of its terms summed
  in q->energy_scale), and with grad: its derivative by every edge (q->g), the magnitudes of
  the terms of that (q->g_scale, for relative residuals), and the tridiagonal Hessian over the
  unknowns (q->diag, q->off between unknowns u and u + 1). PETSC_INFINITY for a state with a
  massive cell of width <= 0.
*/
static PetscReal Energy(GFJKOMethod jko, const PetscReal X[], PetscReal tau, PetscBool grad)
{
  GFJKO_Quantile *q     = (GFJKO_Quantile *)jko->data;
  const PetscReal sigma = jko->energy.sigma, m = jko->energy.m;
  PetscReal       energy = 0;

  q->energy_scale = 0;
  if (grad) {
    for (PetscInt j = 0; j <= q->cells; j++) q->g[j] = q->g_scale[j] = 0;
    for (PetscInt u = 0; u <= q->cells; u++) q->diag[u] = q->off[u] = 0;
  }
  for (PetscInt k = 0; k < q->cells; k++) {
    const PetscReal dm = q->dm[k], dx = X[k + 1] - X[k], e0 = X[k] - q->X_old[k], e1 = X[k + 1] - q->X_old[k + 1];
    const PetscReal transport = dm * (e0 * e0 + e0 * e1 + e1 * e1) / (6 * tau);
    PetscReal       internal, pressure, stiffness, potential = 0, ga = 0, gb = 0, haa = 0, hab = 0, hbb = 0;

    if (dm == 0) continue;
    if (!(dx > 0)) return PETSC_INFINITY;
    /* dx U(dm/dx); its derivative by dx is -pressure, its second derivative stiffness */
    if (m == 1) {
      internal  = sigma * dm * PetscLogReal(dm / dx);
      pressure  = sigma * dm / dx;
      stiffness = pressure / dx;
    } else {
      const PetscReal rho_m = PetscPowReal(dm / dx, m);
      internal              = sigma * dx * rho_m / (m - 1);
      pressure              = sigma * rho_m;
      stiffness             = m * pressure / dx;
    }
    for (int p = 0; p < 3; p++) {
      PetscReal dV, d2V;
      potential += gauss_w[p] * PotentialAt(jko->energy.potential, X[k] + gauss_s[p] * dx, grad ? &dV : NULL, grad ? &d2V : NULL);
      if (grad) {
        ga += dm * gauss_w[p] * dV * (1 - gauss_s[p]);
        gb += dm * gauss_w[p] * dV * gauss_s[p];
        haa += dm * gauss_w[p] * d2V * (1 - gauss_s[p]) * (1 - gauss_s[p]);
        hab += dm * gauss_w[p] * d2V * (1 - gauss_s[p]) * gauss_s[p];
        hbb += dm * gauss_w[p] * d2V * gauss_s[p] * gauss_s[p];
      }
    }
    energy += internal + dm * potential + transport;
    q->energy_scale += PetscAbsReal(internal) + PetscAbsReal(dm * potential) + transport;
    if (grad) {
      const PetscReal wa = dm * (2 * e0 + e1) / (6 * tau), wb = dm * (e0 + 2 * e1) / (6 * tau);
      const PetscInt  ua = q->unknown[k], ub = q->unknown[k + 1];
      q->g[k] += pressure + ga + wa;
      q->g[k + 1] += -pressure + gb + wb;
      q->g_scale[k] += pressure + PetscAbsReal(ga) + PetscAbsReal(wa);
      q->g_scale[k + 1] += pressure + PetscAbsReal(gb) + PetscAbsReal(wb);
      haa += stiffness + dm / (3 * tau);
      hbb += stiffness + dm / (3 * tau);
      hab += -stiffness + dm / (6 * tau);
      if (ua >= 0) q->diag[ua] += haa;
      if (ub >= 0) q->diag[ub] += hbb;
      if (ua >= 0 && ub >= 0) q->off[ua] += hab; /* ub = ua + 1: no unknown lies inside a massive cell */
    }
  }
  return energy;
}

/* Number the unknowns: edges 0 and cells are the walls; an edge behind a tied (closed, empty) cell moves with the edge before it, at a wall not at all. Returns their count. */
static PetscInt NumberUnknowns(GFJKO_Quantile *q)
{
  PetscInt count = 0;

  q->unknown[0] = -1;
  for (PetscInt j = 1; j < q->cells; j++) q->unknown[j] = q->tied[j - 1] ? q->unknown[j - 1] : count++;
  q->unknown[q->cells] = -1;
  if (q->tied[q->cells - 1] && q->unknown[q->cells - 1] >= 0) { /* the last edge, tied to the upper wall: fixed */
    q->unknown[q->cells - 1] = -1;
    count--;
  }
  return count;
}

/* Solve the tridiagonal system (diag, off) d = -G by Thomas elimination (Cholesky order); false if a pivot is not positive (not convex there). */
static PetscBool ThomasSolve(PetscInt count, const PetscReal diag[], const PetscReal off[], const PetscReal G[], PetscReal work[], PetscReal d[])
{
  for (PetscInt u = 0; u < count; u++) {
    const PetscReal pivot = diag[u] - (u ? off[u - 1] * work[u - 1] : 0);
    if (!(pivot > 0)) return PETSC_FALSE;
    work[u] = off[u] / pivot;
    d[u]    = (-G[u] - (u ? off[u - 1] * d[u - 1] : 0)) / pivot;
  }
  for (PetscInt u = count - 2; u >= 0; u--) d[u] -= work[u] * d[u + 1];
  return PETSC_TRUE;
}

/* The step of edge j along the Newton direction d. */
static inline PetscReal EdgeStep(const GFJKO_Quantile *q, PetscInt j)
{
  return q->unknown[j] >= 0 ? q->d[q->unknown[j]] : 0;
}

/* Close a run of massive sub-cells of mass acc ending at end: a cell of its own, or (lighter than threshold, after a massive cell) part of that cell. */
static void CloseRun(GFJKO_Quantile *q, PetscReal acc, PetscReal end, PetscReal threshold)
{
  if (acc == 0) return;
  if (acc < threshold && q->dm[q->cells - 1] > 0) {
    q->dm[q->cells - 1] += acc;
    q->X[q->cells] = end;
  } else {
    q->dm[q->cells]  = acc;
    q->X[++q->cells] = end;
  }
}

/*
  The Lagrangian state from cell averages rho[] (negative values count as 0): the piecewise-
  linear reconstruction cut into refine sub-cells per grid cell; consecutive massive
  sub-cells merged until a cell holds threshold = min_mass M, consecutive empty ones merged
  into one empty cell; an empty cell (of width 0 where the mass reaches the wall) at each wall.
*/
static PetscErrorCode Rebuild(GFJKOMethod jko, const PetscReal rho[])
{
  GFJKO_Quantile *q = (GFJKO_Quantile *)jko->data;
  const PetscInt  n = q->n, k = q->refine;
  const PetscReal h     = q->h;
  PetscReal       total = 0, threshold, acc = 0, end = q->lower;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal r = PetscMax(rho[i], 0), left = i > 0 ? PetscMax(rho[i - 1], 0) : r, right = i < n - 1 ? PetscMax(rho[i + 1], 0) : r;
    /* central slope (one-sided at a wall), limited so that the line stays >= 0 in the cell */
    PetscReal slope = (i > 0 && i < n - 1 ? 0.5 : 1) * (right - left) / h;
    slope           = PetscMax(PetscMin(slope, 2 * r / h), -2 * r / h);
    for (PetscInt s = 0; s < k; s++) {
      const PetscReal a = -0.5 * h + s * h / k, b = -0.5 * h + (s + 1) * h / k;
      q->sub[i * k + s] = r > 0 ? PetscMax((b - a) * (r + 0.5 * slope * (a + b)), 0) : 0;
      total += q->sub[i * k + s];
    }
  }
  PetscCheck(total > 0, jko->comm, PETSC_ERR_ARG_WRONG, "-jko_method quantile: the density has no positive mass");
  threshold = q->min_mass * total;
  q->X[0] = q->X[1] = q->lower;
  q->dm[0]          = 0;
  q->cells          = 1;
  for (PetscInt t = 0; t < n * k; t++) {
    const PetscReal edge = t == n * k - 1 ? q->upper : q->lower + (t + 1) * (h / k);
    if (q->sub[t] == 0) {
      CloseRun(q, acc, end, threshold);
      acc = 0;
      if (q->dm[q->cells - 1] > 0) q->dm[q->cells++] = 0;
      q->X[q->cells] = edge;
    } else {
      acc += q->sub[t];
      end = edge;
      if (acc >= threshold) {
        q->dm[q->cells]  = acc;
        q->X[++q->cells] = edge;
        acc              = 0;
      }
    }
  }
  CloseRun(q, acc, end, threshold);
  if (q->dm[q->cells - 1] > 0) {
    q->dm[q->cells]  = 0;
    q->X[++q->cells] = q->upper;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Release ties whose multiplier is negative (the edges pull apart); returns how many. */
static PetscInt ReleaseTies(GFJKO_Quantile *q, PetscReal rtol)
{
  PetscInt released = 0;

  for (PetscInt k = 0; k < q->cells; k++) {
    PetscReal multiplier, scale;
    if (q->dm[k] > 0 || !q->tied[k]) continue;
    if (k == 0)
      multiplier = q->g[1], scale = q->g_scale[1];
    else if (k == q->cells - 1)
      multiplier = -q->g[k], scale = q->g_scale[k];
    else
      multiplier = 0.5 * (q->g[k + 1] - q->g[k]), scale = PetscMax(q->g_scale[k], q->g_scale[k + 1]);
    if (multiplier < -rtol * scale) {
      q->tied[k] = PETSC_FALSE;
      released++;
    }
  }
  return released;
}

/*
  Newton on the Lagrangian edges from X = X_old: the unknowns' gradient G and its scale, the
  tridiagonal solve (shifted where the Hessian is not positive: a non-convex V), a step
  limited so that no massive cell shrinks by more than 90% and no empty cell below width 0
  (where one would, the step stops there and ties the cell), then Armijo backtracking.
*/
static PetscErrorCode Newton(GFJKOMethod jko, PetscReal tau, GFJKOResult *result)
{
  GFJKO_Quantile *q      = (GFJKO_Quantile *)jko->data;
  const PetscReal length = q->upper - q->lower;
  PetscInt        count = NumberUnknowns(q), releases = 0;
  PetscReal       energy   = Energy(jko, q->X, tau, PETSC_TRUE);
  PetscReal       relative = PETSC_INFINITY, step = 0;
  PetscInt        still = 0; /* Newton steps in a row that moved no edge beyond round-off */

  PetscFunctionBeginUser;
  result->converged = PETSC_FALSE;
  for (PetscInt it = 0;; it++) {
    PetscReal norm = 0, norm_scale = 0, alpha = 1, alpha_tie = PETSC_INFINITY, slope = 0, d_max = 0, trial_energy;
    PetscInt  tie = -1;

    for (PetscInt u = 0; u < count; u++) q->G[u] = q->G_scale[u] = 0;
    for (PetscInt j = 1; j < q->cells; j++)
      if (q->unknown[j] >= 0) {
        q->G[q->unknown[j]] += q->g[j];
        q->G_scale[q->unknown[j]] += q->g_scale[j];
      }
    for (PetscInt u = 0; u < count; u++) {
      norm += q->G[u] * q->G[u];
      norm_scale += q->G_scale[u] * q->G_scale[u];
    }
    relative           = norm_scale > 0 ? PetscSqrtReal(norm / norm_scale) : 0;
    result->iterations = it;
    /*
      The gradient small and the last step too; or two full-length Newton steps in a row below
      4 ulps of the box: the edges are then exact to round-off and the gradient's own round-off
      is what remains (1D Ornstein-Uhlenbeck on [-3, 3], 96 cells, step 6: steps 4e-17 of the
      box while the relative gradient stayed at 1.083e-12, above the default 1e-12, and the run stopped)
    */
    if ((relative <= jko->rtol || still >= 2) && step <= jko->rtol) {
      const PetscInt released = releases < 10 ? ReleaseTies(q, jko->rtol) : 0;
      if (!released) {
        result->converged = PETSC_TRUE;
        break;
      }
      PetscCall(PetscInfo(NULL, "JKO quantile: %" PetscInt_FMT " closed empty cells opened again\n", released));
      releases += released;
      count  = NumberUnknowns(q);
      energy = Energy(jko, q->X, tau, PETSC_TRUE);
      it--;
      continue;
    }
    if (it >= jko->max_it) break;
    if (!ThomasSolve(count, q->diag, q->off, q->G, q->work, q->d)) {
      PetscReal shift = 0, largest = 0;
      for (PetscInt u = 0; u < count; u++) largest = PetscMax(largest, PetscAbsReal(q->diag[u]));
      for (shift = 1e-12 * largest; shift < 1e3 * largest; shift *= 10) {
        for (PetscInt u = 0; u < count; u++) q->diag[u] += shift;
        if (ThomasSolve(count, q->diag, q->off, q->G, q->work, q->d)) break;
        for (PetscInt u = 0; u < count; u++) q->diag[u] -= shift;
      }
      if (!(shift < 1e3 * largest)) break;
    }
    for (PetscInt k = 0; k < q->cells; k++) {
      const PetscReal dx = q->X[k + 1] - q->X[k], ddx = EdgeStep(q, k + 1) - EdgeStep(q, k);
      if (!(ddx < 0)) continue;
      if (q->dm[k] > 0)
        alpha = PetscMin(alpha, 0.9 * dx / -ddx);
      else if (!q->tied[k] && dx / -ddx < alpha_tie)
        alpha_tie = dx / -ddx, tie = k;
    }
    if (alpha_tie <= alpha)
      alpha = alpha_tie;
    else
      tie = -1;
    for (PetscInt u = 0; u < count; u++) {
      slope += q->G[u] * q->d[u];
      d_max = PetscMax(d_max, PetscAbsReal(q->d[u]));
    }
    for (;;) {
      for (PetscInt j = 0; j <= q->cells; j++) q->trial[j] = q->X[j] + alpha * EdgeStep(q, j);
      if (tie >= 0) { /* close the empty cell exactly: at a wall onto the wall, else at its centre */
        const PetscReal at = tie == 0 ? q->lower : (tie == q->cells - 1 ? q->upper : 0.5 * (q->trial[tie] + q->trial[tie + 1]));
        q->trial[tie] = q->trial[tie + 1] = at;
      }
      trial_energy = Energy(jko, q->trial, tau, PETSC_FALSE);
      if (trial_energy <= energy + 1e-4 * alpha * slope + 1e-14 * q->energy_scale) break;
      alpha *= 0.5;
      tie = -1;
      if (alpha < 1e-14) break;
    }
    if (alpha < 1e-14) break;
    PetscCall(PetscArraycpy(q->X, q->trial, q->cells + 1));
    step  = alpha * d_max / length;
    still = alpha == 1 && step <= 4 * PETSC_MACHINE_EPSILON ? still + 1 : 0;
    if (tie >= 0) {
      PetscCall(PetscInfo(NULL, "JKO quantile: empty cell %" PetscInt_FMT " of %" PetscInt_FMT " closed at x = %g (Newton iteration %" PetscInt_FMT ")\n", tie, q->cells, (double)q->X[tie], it));
      q->tied[tie] = PETSC_TRUE;
      count        = NumberUnknowns(q);
    }
    energy = Energy(jko, q->X, tau, PETSC_TRUE);
  }
  result->residual[0] = relative;
  result->residual[1] = step;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Grid cell masses from the Lagrangian state: each massive cell's mass split over the grid cells by the fractions of its width inside them. */
static void CellAverages(GFJKO_Quantile *q, PetscReal rho[])
{
  for (PetscInt i = 0; i < q->n; i++) rho[i] = 0;
  for (PetscInt k = 0; k < q->cells; k++) {
    const PetscReal a = q->X[k], b = q->X[k + 1], dx = b - a;
    const PetscInt  first = PetscMin((PetscInt)((a - q->lower) / q->h), q->n - 1), last = PetscMin((PetscInt)((b - q->lower) / q->h), q->n - 1);
    if (q->dm[k] == 0) continue;
    if (first == last) {
      rho[first] += q->dm[k];
      continue;
    }
    for (PetscInt i = first; i <= last; i++) {
      const PetscReal lo = i == first ? a : q->lower + i * q->h, hi = i == last ? b : q->lower + (i + 1) * q->h;
      rho[i] += q->dm[k] * ((hi - lo) / dx);
    }
  }
  for (PetscInt i = 0; i < q->n; i++) rho[i] /= q->h;
}

/* One JKO step: gather rho_old, keep or rebuild the Lagrangian state, Newton, W2^2 between the old and new quantiles, the owned cell averages. */
static PetscErrorCode GFJKOStep_Quantile(GFJKOMethod jko, PetscReal tau, Vec rho_old, Vec rho_new, GFJKOResult *result)
{
  GFJKO_Quantile    *q = (GFJKO_Quantile *)jko->data;
  const PetscScalar *all;
  PetscScalar       *out;
  PetscBool          same = q->valid;
  GFCompensatedSum   w2   = {0, 0};

  PetscFunctionBeginUser;
  PetscCheck(tau > 0, jko->comm, PETSC_ERR_ARG_OUTOFRANGE, "-jko_method quantile: the step tau = %g must be > 0", (double)tau);
  PetscCall(VecScatterBegin(q->gather, rho_old, q->all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(q->gather, rho_old, q->all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGetArrayRead(q->all, &all));
  for (PetscInt i = 0; i < q->n; i++) {
    q->work[i] = PetscRealPart(all[i]);
    same       = (PetscBool)(same && q->work[i] == q->last_rho[i]);
  }
  PetscCall(VecRestoreArrayRead(q->all, &all));
  if (!same) {
    PetscCall(Rebuild(jko, q->work));
    PetscCall(PetscInfo(NULL, "JKO quantile: Lagrangian state rebuilt from cell averages: %" PetscInt_FMT " cells\n", q->cells));
  }
  PetscCall(PetscArraycpy(q->X_old, q->X, q->cells + 1));
  for (PetscInt k = 0; k < q->cells; k++) q->tied[k] = (PetscBool)(q->dm[k] == 0 && q->X[k + 1] == q->X[k]);
  PetscCall(Newton(jko, tau, result));
  for (PetscInt k = 0; k < q->cells; k++) {
    const PetscReal e0 = q->X[k] - q->X_old[k], e1 = q->X[k + 1] - q->X_old[k + 1];
    if (q->dm[k] > 0) GFCompensatedAdd(&w2, q->dm[k] * (e0 * e0 + e0 * e1 + e1 * e1) / 3);
  }
  result->w2sq = w2.sum + w2.correction;
  CellAverages(q, q->last_rho);
  q->valid = PETSC_TRUE;
  PetscCall(VecGetArray(rho_new, &out));
  for (PetscInt i = 0; i < q->xm; i++) out[i] = q->last_rho[q->xs + i];
  PetscCall(VecRestoreArray(rho_new, &out));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  -jko_order 2: after the half step from X_old to X, the geodesic extended to twice its length
  is the quantile function 2 X - X_old (in 1D the optimal map is monotone rearrangement, and
  geodesics are linear in the quantile functions). It is a density where it stays monotone
  and inside the box; the state becomes it, so the next step starts from it.
*/
static PetscErrorCode GFJKOExtrapolate_Quantile(GFJKOMethod jko, Vec rho_half, Vec rho_new, PetscBool *ok)
{
  GFJKO_Quantile *q = (GFJKO_Quantile *)jko->data;
  PetscScalar    *out;
  PetscReal      *Y = q->trial;

  PetscFunctionBeginUser;
  (void)rho_half;
  *ok = PETSC_TRUE;
  for (PetscInt k = 0; k <= q->cells && *ok; k++) {
    Y[k] = 2 * q->X[k] - q->X_old[k];
    if (Y[k] < q->lower || Y[k] > q->upper || (k > 0 && Y[k] < Y[k - 1]) || (k > 0 && q->dm[k - 1] > 0 && Y[k] == Y[k - 1])) *ok = PETSC_FALSE;
  }
  if (!*ok) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscArraycpy(q->X, Y, q->cells + 1));
  CellAverages(q, q->last_rho);
  PetscCall(VecGetArray(rho_new, &out));
  for (PetscInt i = 0; i < q->xm; i++) out[i] = q->last_rho[q->xs + i];
  PetscCall(VecRestoreArray(rho_new, &out));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFJKODestroy_Quantile(GFJKOMethod jko)
{
  GFJKO_Quantile *q = (GFJKO_Quantile *)jko->data;

  PetscFunctionBeginUser;
  if (!q) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(VecScatterDestroy(&q->gather));
  PetscCall(VecDestroy(&q->all));
  PetscCall(PetscFree5(q->X, q->X_old, q->dm, q->trial, q->tied));
  PetscCall(PetscFree3(q->last_rho, q->work, q->sub));
  PetscCall(PetscFree4(q->unknown, q->g, q->g_scale, q->G));
  PetscCall(PetscFree4(q->G_scale, q->diag, q->off, q->d));
  PetscCall(PetscFree(jko->data));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFJKOSetUpQuantile(GFJKOMethod jko)
{
  GFGrid          grid = jko->grid;
  GFJKO_Quantile *q;
  PetscInt        capacity;
  PetscBool       interaction = PETSC_FALSE;
  Vec             global;

  PetscFunctionBeginUser;
  PetscCheck(grid->dim == 1, jko->comm, PETSC_ERR_USER_INPUT, "-jko_method quantile is exact in 1D only, this grid is %dD: use -jko_method primal_dual", (int)grid->dim);
  PetscCheck(grid->bc == GF_BC_NOFLUX, jko->comm, PETSC_ERR_USER_INPUT, "-jko_method quantile needs no-flux walls (-bc noflux): on a periodic line W2 is not the L2 distance of quantile functions; use -jko_method primal_dual");
  if (jko->energy.interaction) PetscCall(GFInteractionIsActive(jko->energy.interaction, &interaction));
  PetscCheck(!interaction && !jko->energy.convolution, jko->comm, PETSC_ERR_USER_INPUT, "-jko_method quantile has no interaction energy W yet: use -jko_method primal_dual for models with -interaction");
  PetscCheck(jko->energy.sigma > 0, jko->comm, PETSC_ERR_USER_INPUT, "-jko_method quantile needs diffusion, -diffusion > 0 (got %g): its internal energy keeps the Lagrangian cells apart", (double)jko->energy.sigma);
  PetscCheck(jko->energy.m >= 1, jko->comm, PETSC_ERR_ARG_OUTOFRANGE, "-jko_method quantile: the diffusion exponent m = %g must be >= 1", (double)jko->energy.m);
  PetscCheck(jko->energy.potential, jko->comm, PETSC_ERR_ARG_NULL, "-jko_method quantile needs the potential V as a function (energy.potential)");
  PetscCheck(jko->rtol > 0 && jko->max_it >= 0, jko->comm, PETSC_ERR_ARG_OUTOFRANGE, "-jko_method quantile: tolerance %g must be > 0 and the iteration limit %d >= 0", (double)jko->rtol, (int)jko->max_it);
  PetscCall(PetscNew(&q));
  jko->data        = q;
  jko->step        = GFJKOStep_Quantile;
  jko->extrapolate = GFJKOExtrapolate_Quantile;
  jko->destroy     = GFJKODestroy_Quantile;
  q->refine        = 8;
  q->min_mass      = 1e-12;
  PetscOptionsBegin(jko->comm, NULL, "JKO steps, method quantile (exact in 1D)", "GFJKOSetUpQuantile");
  PetscCall(PetscOptionsInt("-jko_quantile_refine", "Lagrangian sub-cells per grid cell when the state is built from cell averages", "GFJKOSetUpQuantile", q->refine, &q->refine, NULL));
  PetscCall(PetscOptionsReal("-jko_quantile_min_mass", "Smallest mass of a Lagrangian cell, relative to the total (lighter sub-cells in the tails are merged)", "GFJKOSetUpQuantile", q->min_mass, &q->min_mass, NULL));
  PetscOptionsEnd();
  PetscCheck(q->refine >= 1 && q->refine <= 1024, jko->comm, PETSC_ERR_ARG_OUTOFRANGE, "-jko_quantile_refine %d: must be in [1, 1024] (sub-cells per grid cell)", (int)q->refine);
  PetscCheck(q->min_mass >= 0 && q->min_mass <= 1e-3, jko->comm, PETSC_ERR_ARG_OUTOFRANGE, "-jko_quantile_min_mass %g: must be in [0, 1e-3] (merging more than a tail changes the solution)", (double)q->min_mass);
  q->n     = grid->cells[0];
  q->lower = grid->lower[0];
  q->upper = grid->upper[0];
  q->h     = grid->h[0];
  q->xs    = grid->box.start[0];
  q->xm    = grid->box.size[0];
  /* in 1D the DMDA's global ordering is the natural one: a scatter to all gives the line in order */
  PetscCall(DMGetGlobalVector(grid->da, &global));
  PetscCall(VecScatterCreateToAll(global, &q->gather, &q->all));
  PetscCall(DMRestoreGlobalVector(grid->da, &global));
  capacity = q->n * q->refine + 3;
  PetscCall(PetscMalloc5(capacity + 1, &q->X, capacity + 1, &q->X_old, capacity, &q->dm, capacity + 1, &q->trial, capacity, &q->tied));
  PetscCall(PetscMalloc3(q->n, &q->last_rho, PetscMax(q->n, capacity), &q->work, q->n * q->refine, &q->sub));
  PetscCall(PetscMalloc4(capacity + 1, &q->unknown, capacity + 1, &q->g, capacity + 1, &q->g_scale, capacity, &q->G));
  PetscCall(PetscMalloc4(capacity, &q->G_scale, capacity + 1, &q->diag, capacity + 1, &q->off, capacity, &q->d));
  PetscFunctionReturn(PETSC_SUCCESS);
}
