/*
  The two grid operators of the back-and-forth method (jko_bfm.c).

  c-transform for the cost |x - y|^2 / (2 tau) on the grid, exactly:

      psi(y) = min_x  |x - y|^2 / (2 tau) - phi(x)        (x, y cell centres).

  The cost is a sum over axes, so the minimum is taken one axis at a time (f = -phi, then
  f <- min_p k_a (q - p)^2 + f(p) along every line of axis a, k_a = h_a^2 / (2 tau)); each
  1D pass is the lower envelope of parabolas of Felzenszwalb and Huttenlocher ("Distance
  transforms of sampled functions", 2012), O(n) per line, exact in exact arithmetic. Points
  where phi = -infinity are excluded from the minimum (the second-order extrapolation's inverse
  map minimises over the support only, jko_bfm_order2.c).

  Distribution. A pass along axis a needs whole lines. Where the DMDA does not split axis a
  (every axis on one rank, x in 1D ... ) the pass runs on the global vector itself. Where it
  does, the vector is scattered to a layout of whole lines (lines dealt out in contiguous
  blocks by PetscSplitOwnership, each line contiguous) and back: a VecScatter built once
  from the DMDA's AO. Its cost per pass is two all-to-all exchanges of the vector, O(N / P)
  data per rank; a 2D c-transform on 2 ranks with y split moves the vector twice.

  Walls: each line is taken with its mirror images at both walls (3n points), the even
  extension of the potentials that reflecting walls imply (zero normal derivative, as the
  exact potentials have where the density touches a wall). Over the line alone, the
  minimiser of the points next to a wall stuck to the last cell centre while phi still rose
  towards the wall: a strip of the other side collapsed onto it, its Jacobian vanished and the
  pushforward read the spike (1D Ornstein-Uhlenbeck on [-3, 3], 192 cells: 1.6e-3 of the mass
  mismatched in the wall cell, the run stopped; now 1.3e-4, and the variance at t = 1 is
  within 1.5e-5 of the converged value). Three times the envelope's work; the 2D Barenblatt
  (no mass at the walls) is unchanged to 1e-14 and 4% slower.

  Sub-grid refinement: each pass takes the grid minimiser p of line point q and minimises
  k (q - x)^2 + f(x) over real x within half a cell of p, f the quadratic through the three
  values about p (SubgridMinimum), never above the grid value. Exact for quadratic data; the
  grid minimum alone is off by up to k / 4, i.e. h^2 / (8 tau), whose second differences
  make the pushforward's Jacobian O(1) noise.

  Windows. The pushforward at a cell reads a field at the cell's preimage, up to tau |grad phi|
  away, by the cubic Lagrange interpolant (4 points per axis). Each rank gathers only the box of cells
  its own preimages' stencils touch (GFBFMWindow), by a VecScatter from the global vector
  that is kept while the box still covers them: data O(owned cells + displacement x face)
  per rank and half step, where gathering the whole field to every rank was O(cells).

  Preconditioner. The gradient steps are preconditioned by (a I - div(b grad))^{-1} with
  cell coefficients a, b (the dual's Hessian, jko_bfm.c; a face's b the mean of its two
  cells'), Neumann walls, 5-point. It is solved by CG with the grid's geometric multigrid
  (GFMultigridSetUp) to a relative 1e-8, rather than by a fast cosine transform (which
  needs constant coefficients, and FFTW's plans are invalidated by the fftw_mpi_cleanup()
  of PETSc's MATFFTW, see convolution.c); the multigrid exists and is distributed already.
*/
#include "jko_bfm.h"

/*
  min over real x near the grid minimiser p of k (q - x)^2 + f(x), f the quadratic through
  f[c - 1], f[c], f[c + 1] (c = p moved off the ends), x within half a cell of p and inside
  [0, n - 1]; the grid value where that model is not convex.
*/
static inline PetscReal SubgridMinimum(PetscInt n, PetscReal k, const PetscReal f[], PetscInt q, PetscInt p)
{
  const PetscReal grid = k * (q - p) * (q - p) + f[p];
  PetscInt        c;
  PetscReal       d1, d2, curv, x, lo, hi, t;

  if (n < 3) return grid;
  c = PetscMin(PetscMax(p, 1), n - 2);
  if (!(f[c - 1] < PETSC_INFINITY && f[c] < PETSC_INFINITY && f[c + 1] < PETSC_INFINITY)) return grid; /* next to an excluded point */
  d1   = 0.5 * (f[c + 1] - f[c - 1]);
  d2   = f[c + 1] - 2 * f[c] + f[c - 1];
  curv = 2 * k + d2;
  if (!(curv > 0)) return grid;
  x  = (2 * k * q - d1 + d2 * c) / curv; /* the stationary point of k (q - x)^2 + f[c] + d1 (x - c) + d2 (x - c)^2 / 2 */
  lo = PetscMax(p - 0.5, 0);
  hi = PetscMin(p + 0.5, n - 1);
  x  = PetscMin(PetscMax(x, lo), hi);
  t  = x - c;
  return PetscMin(grid, k * (q - x) * (q - x) + f[c] + d1 * t + 0.5 * d2 * t * t);
}

/*
  Lower envelope of the parabolas k (q - p)^2 + f[p], p = 0..n-1, evaluated at q = 0..n-1
  into g (g may not be f); v (n) and z (n + 1) are work. The envelope's parabolas v[0..m]
  are kept with the abscissae z where each takes over.
*/
PETSC_INTERN void GFBFMLowerEnvelope(PetscInt n, PetscReal k, const PetscReal f[], PetscReal g[], PetscReal z[], PetscInt v[])
{
  PetscInt m = -1;

  for (PetscInt q = 0; q < n; q++) {
    PetscReal s;
    if (!(f[q] < PETSC_INFINITY)) continue; /* excluded: f = +infinity */
    if (m < 0) {
      m    = 0;
      v[0] = q;
      z[0] = -PETSC_INFINITY;
      z[1] = PETSC_INFINITY;
      continue;
    }
    for (;;) {
      const PetscInt p = v[m];
      /* where parabola q overtakes parabola p */
      s = ((f[q] + k * q * q) - (f[p] + k * p * p)) / (2 * k * (q - p));
      if (s <= z[m] && m > 0)
        m--;
      else
        break;
    }
    if (s <= z[m]) { /* m == 0: q is below p everywhere to the right of -infinity */
      v[0] = q;
      z[1] = PETSC_INFINITY;
      continue;
    }
    m++;
    v[m]     = q;
    z[m]     = s;
    z[m + 1] = PETSC_INFINITY;
  }
  for (PetscInt q = 0, j = 0; q < n; q++) {
    if (m < 0) {
      g[q] = PETSC_INFINITY; /* every point excluded */
      continue;
    }
    while (z[j + 1] < q) j++;
    g[q] = SubgridMinimum(n, k, f, q, v[j]);
  }
}

/* The layout of whole lines along axis a: the scatter from the DMDA's global vector. */
static PetscErrorCode LinesSetUpAxis(GFBFMLines *L, PetscInt a)
{
  GFGrid         g = L->grid;
  const PetscInt n = g->cells[a], b = (a + 1) % 3, c = (a + 2) % 3;
  PetscInt       total = 1, lstart = 0, local, *from, *to, start;
  IS             is_from, is_to;
  AO             ao;
  Vec            global;

  PetscFunctionBeginUser;
  for (PetscInt d = 0; d < g->dim; d++)
    if (d != a) total *= g->cells[d];
  local = PETSC_DECIDE;
  PetscCall(PetscSplitOwnership(g->comm, &local, &total));
  PetscCallMPI(MPI_Exscan(&local, &lstart, 1, MPIU_INT, MPI_SUM, g->comm));
  L->nlines[a] = local;
  PetscCall(VecCreateMPI(g->comm, local * n, PETSC_DETERMINE, &L->lines[a]));
  PetscCall(VecGetOwnershipRange(L->lines[a], &start, NULL));
  PetscCall(PetscMalloc2(local * n, &from, local * n, &to));
  for (PetscInt l = 0; l < local; l++) {
    /* line lstart + l: its indices along the other two axes b, c (in that order of speed: the lower axis first) */
    const PetscInt line = lstart + l, lo = PetscMin(b, c), hi = PetscMax(b, c), nlo = lo < g->dim ? g->cells[lo] : 1;
    PetscInt       idx[3];
    idx[lo] = line % nlo;
    idx[hi] = line / nlo;
    for (PetscInt i = 0; i < n; i++) {
      idx[a]          = i;
      from[l * n + i] = idx[0] + g->cells[0] * (idx[1] + (g->dim > 1 ? g->cells[1] : 1) * idx[2]);
      to[l * n + i]   = start + l * n + i;
    }
  }
  PetscCall(DMDAGetAO(g->da, &ao));
  PetscCall(AOApplicationToPetsc(ao, local * n, from));
  PetscCall(ISCreateGeneral(g->comm, local * n, from, PETSC_COPY_VALUES, &is_from));
  PetscCall(ISCreateGeneral(g->comm, local * n, to, PETSC_COPY_VALUES, &is_to));
  PetscCall(DMGetGlobalVector(g->da, &global));
  PetscCall(VecScatterCreate(global, is_from, L->lines[a], is_to, &L->scatter[a]));
  PetscCall(DMRestoreGlobalVector(g->da, &global));
  PetscCall(ISDestroy(&is_from));
  PetscCall(ISDestroy(&is_to));
  PetscCall(PetscFree2(from, to));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFBFMLinesCreate(GFGrid g, GFBFMLines *L)
{
  PetscInt longest = 1;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(L, sizeof(*L)));
  L->grid = g;
  for (PetscInt a = 0; a < g->dim; a++) {
    L->split[a] = (PetscBool)(g->box.size[a] < g->cells[a]);
    longest     = PetscMax(longest, g->cells[a]);
    if (L->split[a]) PetscCall(LinesSetUpAxis(L, a));
  }
  PetscCall(PetscMalloc3(6 * longest, &L->buffer, 3 * longest + 1, &L->work, 3 * longest, &L->hull));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFBFMLinesDestroy(GFBFMLines *L)
{
  PetscFunctionBeginUser;
  for (PetscInt a = 0; a < 3; a++) {
    PetscCall(VecScatterDestroy(&L->scatter[a]));
    PetscCall(VecDestroy(&L->lines[a]));
  }
  PetscCall(PetscFree3(L->buffer, L->work, L->hull));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The envelope pass along one line of f (n points at stride `stride`), over the line and its mirror images at both walls. */
static void EnvelopeLine(GFBFMLines *L, PetscReal k, PetscScalar *f, PetscInt n, PetscInt stride)
{
  PetscReal *in = L->buffer, *out = L->buffer + 3 * n;

  for (PetscInt i = 0; i < n; i++) in[n - 1 - i] = in[n + i] = in[3 * n - 1 - i] = PetscRealPart(f[i * stride]);
  GFBFMLowerEnvelope(3 * n, k, in, out, L->work, L->hull);
  for (PetscInt i = 0; i < n; i++) f[i * stride] = out[n + i];
}

/* psi = phi^c for the cost |x - y|^2 / (2 tau) (global vectors of the grid's DMDA; psi may be phi). */
PETSC_INTERN PetscErrorCode GFBFMCTransform(GFBFMLines *L, PetscReal tau, Vec phi, Vec psi)
{
  GFGrid            g = L->grid;
  const GFLocalBox *b = &g->box;

  PetscFunctionBeginUser;
  PetscCall(VecCopy(phi, psi)); /* not VecAXPBY(psi, -1, 0, phi): 0 times an infinite psi is not 0 */
  PetscCall(VecScale(psi, -1));
  for (PetscInt a = 0; a < g->dim; a++) {
    const PetscReal k = g->h[a] * g->h[a] / (2 * tau);
    const PetscInt  n = g->cells[a];
    PetscScalar    *f;

    if (L->split[a]) {
      PetscCall(VecScatterBegin(L->scatter[a], psi, L->lines[a], INSERT_VALUES, SCATTER_FORWARD));
      PetscCall(VecScatterEnd(L->scatter[a], psi, L->lines[a], INSERT_VALUES, SCATTER_FORWARD));
      PetscCall(VecGetArray(L->lines[a], &f));
      for (PetscInt l = 0; l < L->nlines[a]; l++) EnvelopeLine(L, k, f + l * n, n, 1);
      PetscCall(VecRestoreArray(L->lines[a], &f));
      PetscCall(VecScatterBegin(L->scatter[a], L->lines[a], psi, INSERT_VALUES, SCATTER_REVERSE));
      PetscCall(VecScatterEnd(L->scatter[a], L->lines[a], psi, INSERT_VALUES, SCATTER_REVERSE));
    } else {
      /* whole lines in the owned box: stride along a, lines over the other two local indices */
      const PetscInt stride = a == 0 ? 1 : (a == 1 ? b->size[0] : b->size[0] * b->size[1]);
      const PetscInt o1 = a == 0 ? 1 : 0, o2 = a == 2 ? 1 : 2;
      const PetscInt s1 = o1 == 0 ? 1 : b->size[0], s2 = o2 == 1 ? b->size[0] : b->size[0] * b->size[1];
      PetscCall(VecGetArray(psi, &f));
      for (PetscInt j2 = 0; j2 < b->size[o2]; j2++)
        for (PetscInt j1 = 0; j1 < b->size[o1]; j1++) EnvelopeLine(L, k, f + j1 * s1 + j2 * s2, n, stride);
      PetscCall(VecRestoreArray(psi, &f));
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFBFMPreconditionerCreate(GFGrid g, GFBFMPreconditioner *P)
{
  PetscInt levels;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(P, sizeof(*P)));
  P->grid = g;
  PetscCall(DMCreateMatrix(g->da, &P->A));
  PetscCall(KSPCreate(g->comm, &P->ksp));
  PetscCall(KSPSetType(P->ksp, KSPCG));
  PetscCall(KSPSetTolerances(P->ksp, 1e-8, 0, PETSC_DEFAULT, 200));
  PetscCall(KSPSetOptionsPrefix(P->ksp, "jko_bfm_"));
  PetscCall(GFMultigridSetUp(g, P->ksp, &levels));
  PetscCall(KSPSetFromOptions(P->ksp));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Assemble a I - div(b grad) (Neumann: a wall face carries no flux; the face's b is the mean
  of its two cells') from cell values a and b (global vectors) and hand it to the KSP.
*/
PETSC_INTERN PetscErrorCode GFBFMPreconditionerSetCoefficients(GFBFMPreconditioner *P, Vec a, Vec b)
{
  GFGrid             g = P->grid;
  GFLocalBox         box;
  Vec                bl;
  const PetscScalar *av, *bv;

  PetscFunctionBeginUser;
  box = g->box;
  PetscCall(DMGetLocalVector(g->da, &bl));
  PetscCall(DMGlobalToLocalBegin(g->da, b, INSERT_VALUES, bl));
  PetscCall(DMGlobalToLocalEnd(g->da, b, INSERT_VALUES, bl));
  PetscCall(VecGetArrayRead(a, &av));
  PetscCall(VecGetArrayRead(bl, &bv));
  PetscCall(MatZeroEntries(P->A));
  GF_FOR_OWNED(&box, i, j, k)
  {
    MatStencil     row = {.i = i, .j = j, .k = k}, cols[7];
    PetscScalar    vals[7];
    PetscInt       count  = 1;
    const PetscInt idx[3] = {i, j, k}, c = GFLocalIndex(&box, i, j, k);
    cols[0] = row;
    vals[0] = av[GFOwnedIndex(&box, i, j, k)];
    for (PetscInt d = 0; d < g->dim; d++) {
      const PetscInt stride = GFLocalStride(&box, d);
      for (PetscInt s = -1; s <= 1; s += 2) {
        MatStencil c2 = row;
        PetscReal  w;
        if (idx[d] + s < 0 || idx[d] + s >= g->cells[d]) continue;
        w = 0.5 * PetscRealPart(bv[c] + bv[c + s * stride]) / (g->h[d] * g->h[d]);
        if (d == 0)
          c2.i += s;
        else if (d == 1)
          c2.j += s;
        else
          c2.k += s;
        cols[count]   = c2;
        vals[count++] = -w;
        vals[0] += w;
      }
    }
    PetscCall(MatSetValuesStencil(P->A, 1, &row, count, cols, vals, INSERT_VALUES));
  }
  PetscCall(VecRestoreArrayRead(bl, &bv));
  PetscCall(VecRestoreArrayRead(a, &av));
  PetscCall(DMRestoreLocalVector(g->da, &bl));
  PetscCall(MatAssemblyBegin(P->A, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(P->A, MAT_FINAL_ASSEMBLY));
  PetscCall(KSPSetOperators(P->ksp, P->A, P->A));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFBFMPreconditionerApply(GFBFMPreconditioner *P, Vec g, Vec u)
{
  KSPConvergedReason reason;

  PetscFunctionBeginUser;
  PetscCall(KSPSolve(P->ksp, g, u));
  PetscCall(KSPGetConvergedReason(P->ksp, &reason));
  PetscCheck(reason >= 0, P->grid->comm, PETSC_ERR_NOT_CONVERGED, "-jko_method bfm: the H^1 preconditioner's CG did not converge (%s)", KSPConvergedReasons[reason]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFBFMPreconditionerDestroy(GFBFMPreconditioner *P)
{
  PetscFunctionBeginUser;
  PetscCall(MatDestroy(&P->A));
  PetscCall(KSPDestroy(&P->ksp));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The first of the 4 interpolation points along axis a about coordinate x, plus 1 (clamped into the grid as GFBFMWindowInterpolate does). */
PETSC_INTERN PetscInt GFBFMWindowBase(GFGrid g, PetscInt a, PetscReal x)
{
  const PetscReal t = PetscMin(PetscMax((x - g->lower[a]) / g->h[a] - 0.5, 0), g->cells[a] - 1);
  return PetscMin((PetscInt)t, g->cells[a] - 2 >= 0 ? g->cells[a] - 2 : 0);
}

/*
  Make the window hold the values of the global vector q on at least the cells need_lo ..
  need_hi (natural indices, inclusive; GFBFMWindowBase - 1 .. + 2 of this rank's points).
  Collective: the box is rebuilt on every rank when one rank needs it.
*/
PETSC_INTERN PetscErrorCode GFBFMWindowFill(GFBFMWindow *W, Vec q, const PetscInt need_lo[], const PetscInt need_hi[])
{
  GFGrid      g     = W->grid;
  PetscInt    lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
  PetscMPIInt rebuild = W->scatter ? 0 : 1;
  PetscReal   held = 1, needed = 1;

  PetscFunctionBeginUser;
  for (PetscInt a = 0; a < g->dim; a++) {
    const PetscInt margin = 2 + (need_hi[a] - need_lo[a]) / 8;
    lo[a]                 = PetscMax(PetscMin(need_lo[a], need_hi[a]) - margin, 0);
    hi[a]                 = PetscMin(need_hi[a] + margin, g->cells[a] - 1);
    if (need_lo[a] < W->lo[a] || need_hi[a] > W->lo[a] + W->size[a] - 1) rebuild = 1;
    held *= W->size[a];
    needed *= hi[a] - lo[a] + 1;
  }
  if (held > 4 * needed) rebuild = 1;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &rebuild, 1, MPI_INT, MPI_MAX, g->comm));
  if (rebuild) {
    PetscInt count = 1, *idx;
    IS       is;
    AO       ao;
    PetscInt n = 0;

    PetscCall(VecScatterDestroy(&W->scatter));
    PetscCall(VecDestroy(&W->values));
    for (PetscInt a = 0; a < 3; a++) {
      W->lo[a]   = a < g->dim ? lo[a] : 0;
      W->size[a] = a < g->dim ? hi[a] - lo[a] + 1 : 1;
      count *= W->size[a];
    }
    PetscCall(PetscMalloc1(count, &idx));
    for (PetscInt k = 0; k < W->size[2]; k++)
      for (PetscInt j = 0; j < W->size[1]; j++)
        for (PetscInt i = 0; i < W->size[0]; i++) idx[n++] = (W->lo[0] + i) + g->cells[0] * ((W->lo[1] + j) + (g->dim > 1 ? g->cells[1] : 1) * (W->lo[2] + k));
    PetscCall(DMDAGetAO(g->da, &ao));
    PetscCall(AOApplicationToPetsc(ao, count, idx));
    PetscCall(ISCreateGeneral(PETSC_COMM_SELF, count, idx, PETSC_OWN_POINTER, &is));
    PetscCall(VecCreateSeq(PETSC_COMM_SELF, count, &W->values));
    PetscCall(VecScatterCreate(q, is, W->values, NULL, &W->scatter));
    PetscCall(ISDestroy(&is));
    W->rebuilds++;
  }
  PetscCall(VecScatterBegin(W->scatter, q, W->values, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(W->scatter, q, W->values, INSERT_VALUES, SCATTER_FORWARD));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The cubic Lagrange interpolant through the window's values f (its array) at 4 cell centres per axis, at the point x (clamped into the box): exact for cubics. */
PETSC_INTERN PetscReal GFBFMWindowInterpolate(const GFBFMWindow *W, const PetscScalar *f, const PetscReal x[])
{
  GFGrid    g       = W->grid;
  PetscInt  base[3] = {0, 0, 0}, off[3] = {1, 1, 1};
  PetscReal w[3][4] = {{0, 1, 0, 0}, {0, 1, 0, 0}, {0, 1, 0, 0}}, value = 0;

  for (PetscInt a = 0; a < g->dim; a++) {
    const PetscReal t = PetscMin(PetscMax((x[a] - g->lower[a]) / g->h[a] - 0.5, 0), g->cells[a] - 1);
    const PetscInt  i = GFBFMWindowBase(g, a, x[a]);
    const PetscReal s = t - i;
    base[a]           = i;
    w[a][0]           = -s * (s - 1) * (s - 2) / 6;
    w[a][1]           = (s + 1) * (s - 1) * (s - 2) / 2;
    w[a][2]           = -(s + 1) * s * (s - 2) / 2;
    w[a][3]           = (s + 1) * s * (s - 1) / 6;
    off[a]            = 4;
  }
  for (PetscInt c = 0; c < off[2]; c++)
    for (PetscInt b = 0; b < off[1]; b++)
      for (PetscInt a = 0; a < off[0]; a++) {
        const PetscInt  di[3] = {a - 1, b - 1, c - 1}, d0 = g->dim > 0, d1 = g->dim > 1, d2 = g->dim > 2;
        PetscInt        idx[3];
        const PetscReal wt = w[0][d0 ? a : 1] * w[1][d1 ? b : 1] * w[2][d2 ? c : 1];
        for (PetscInt e = 0; e < 3; e++) idx[e] = e < g->dim ? PetscMin(PetscMax(base[e] + di[e], 0), g->cells[e] - 1) - W->lo[e] : 0;
        value += wt * PetscRealPart(f[idx[0] + W->size[0] * (idx[1] + W->size[1] * idx[2])]);
      }
  return value;
}

PETSC_INTERN PetscErrorCode GFBFMWindowDestroy(GFBFMWindow *W)
{
  PetscFunctionBeginUser;
  PetscCall(VecScatterDestroy(&W->scatter));
  PetscCall(VecDestroy(&W->values));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  out = in + c h_a^2 sum_a D_a^2 in, D_a^2 the second difference along axis a, mirrored at the
  walls (so the sum of out is that of in). c = 1/24: cell averages of the quadratic through
  point values (a positive filter for d <= 3); c = -1/24: point values from cell averages, to
  fourth order (not positive). local is a ghosted work vector of the grid's DMDA.
*/
PETSC_INTERN PetscErrorCode GFBFMCellFilter(GFGrid g, Vec local, PetscReal c, Vec in, Vec out)
{
  GFLocalBox         box = g->box;
  const PetscScalar *l;
  PetscScalar       *o;

  PetscFunctionBeginUser;
  PetscCall(DMGlobalToLocalBegin(g->da, in, INSERT_VALUES, local));
  PetscCall(DMGlobalToLocalEnd(g->da, in, INSERT_VALUES, local));
  PetscCall(VecGetArrayRead(local, &l));
  PetscCall(VecGetArray(out, &o));
  GF_FOR_OWNED(&box, i, j, k)
  {
    const PetscInt idx[3] = {i, j, k}, m = GFLocalIndex(&box, i, j, k);
    PetscReal      sum = 0;
    for (PetscInt a = 0; a < g->dim; a++) {
      const PetscInt stride = GFLocalStride(&box, a);
      if (idx[a] > 0) sum += PetscRealPart(l[m - stride] - l[m]);
      if (idx[a] + 1 < g->cells[a]) sum += PetscRealPart(l[m + stride] - l[m]);
    }
    o[GFOwnedIndex(&box, i, j, k)] = PetscRealPart(l[m]) + c * sum;
  }
  PetscCall(VecRestoreArray(out, &o));
  PetscCall(VecRestoreArrayRead(local, &l));
  PetscFunctionReturn(PETSC_SUCCESS);
}
