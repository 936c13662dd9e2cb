/*
  GFConvolution: FFT against the direct O(N^2) sum (1D, 2D, 3D, both walls, several kernels),
  against closed forms, ApplyMany against Apply, the periodic Nyquist rule, more ranks than
  FFTW slabs, several convolutions alive at once, and clear errors.
*/
#include "gftest.h"

/* Bandwidth of the Gaussian kernels, and the axis of a gradient component. */
typedef struct {
  PetscReal bandwidth;
  PetscInt  axis;
} GaussianParams;

/* Gaussian exp(-|x|^2 / (2 s^2)). */
static PetscReal GaussianPoint(PetscInt dim, const PetscReal x[], void *ctx)
{
  const PetscReal s  = ((GaussianParams *)ctx)->bandwidth;
  PetscReal       r2 = 0;

  for (PetscInt a = 0; a < dim; a++) r2 += x[a] * x[a];
  return PetscExpReal(-r2 / (2 * s * s));
}

/* Component axis of the gradient of the Gaussian: -(x_a / s^2) exp(-|x|^2 / (2 s^2)). */
static PetscReal GaussianGradientPoint(PetscInt dim, const PetscReal x[], void *ctx)
{
  const GaussianParams *p = (GaussianParams *)ctx;
  return -x[p->axis] / (p->bandwidth * p->bandwidth) * GaussianPoint(dim, x, ctx);
}

/* Cell averages of the Gaussian (component 0) and of its gradient (components 1..dim), 4-point Gauss per axis. */
static PetscErrorCode GaussianKernel(PetscInt dim, const PetscReal x[], const PetscReal h[], PetscReal values[], void *ctx)
{
  GaussianParams p = *(GaussianParams *)ctx;

  PetscFunctionBeginUser;
  values[0] = GFKernelCellAverageGauss(GaussianPoint, dim, x, h, 4, &p);
  for (p.axis = 0; p.axis < dim; p.axis++) values[1 + p.axis] = GFKernelCellAverageGauss(GaussianGradientPoint, dim, x, h, 4, &p);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Exact cell average of |x|^2 / 2: |x|^2 / 2 + sum_a h_a^2 / 24. */
static PetscErrorCode QuadraticKernel(PetscInt dim, const PetscReal x[], const PetscReal h[], PetscReal values[], void *ctx)
{
  PetscFunctionBeginUser;
  (void)ctx;
  values[0] = 0;
  for (PetscInt a = 0; a < dim; a++) values[0] += x[a] * x[a] / 2 + h[a] * h[a] / 24;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Exact cell average of |x| in 1D: |x| off the origin cell, (lo^2 + hi^2) / (2 h) on a cell [lo, hi] containing 0. */
static PetscErrorCode AbsoluteKernel(PetscInt dim, const PetscReal x[], const PetscReal h[], PetscReal values[], void *ctx)
{
  const PetscReal lo = x[0] - h[0] / 2, hi = x[0] + h[0] / 2;

  PetscFunctionBeginUser;
  (void)ctx;
  PetscCheck(dim == 1, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "|x| is the 1D test kernel");
  values[0] = lo >= 0 || hi <= 0 ? PetscAbsReal(x[0]) : (lo * lo + hi * hi) / (2 * h[0]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Odd kernel K(x) = x_0 (its own cell average): a gradient-like kernel that does not decay. */
static PetscErrorCode LinearKernel(PetscInt dim, const PetscReal x[], const PetscReal h[], PetscReal values[], void *ctx)
{
  PetscFunctionBeginUser;
  (void)dim, (void)h, (void)ctx;
  values[0] = x[0];
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* int_0^a int_0^b ln(x^2 + y^2) dy dx = ab ln(a^2 + b^2) - 3ab + a^2 atan(b/a) + b^2 atan(a/b). */
static PetscReal LogRectangleCorner(PetscReal a, PetscReal b)
{
  return a * b * PetscLogReal(a * a + b * b) - 3 * a * b + a * a * PetscAtanReal(b / a) + b * b * PetscAtanReal(a / b);
}

/* int_0^a int_0^b int_0^c dV / |x| = sum over the cyclic permutations of bc ln((a + d)/sqrt(b^2 + c^2)) - (a^2/2) atan(bc/(a d)), d = |(a,b,c)|. */
static PetscReal InverseDistanceBoxCorner(PetscReal a, PetscReal b, PetscReal c)
{
  const PetscReal d = PetscSqrtReal(a * a + b * b + c * c), s[3] = {a, b, c};
  PetscReal       sum = 0;

  for (PetscInt k = 0; k < 3; k++) {
    const PetscReal u = s[k], v = s[(k + 1) % 3], w = s[(k + 2) % 3];
    sum += v * w * PetscLogReal((u + d) / PetscSqrtReal(v * v + w * w)) - u * u / 2 * PetscAtanReal(v * w / (u * d));
  }
  return sum;
}

/* (1/2pi) ln|x|. */
static PetscReal LogPoint(PetscInt dim, const PetscReal x[], void *ctx)
{
  (void)dim, (void)ctx;
  return PetscLogReal(x[0] * x[0] + x[1] * x[1]) / (4 * PETSC_PI);
}

/*
  Cell average of the 2D Newtonian kernel (1/2pi) ln|x|: on the origin cell the closed form
  (four corner rectangles of LogRectangleCorner, exact), elsewhere 4-point Gauss per axis
  (the integrand is smooth there).
*/
static PetscErrorCode LogKernel(PetscInt dim, const PetscReal x[], const PetscReal h[], PetscReal values[], void *ctx)
{
  PetscFunctionBeginUser;
  PetscCheck(dim == 2, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "ln|x| is the 2D test kernel");
  if (PetscAbsReal(x[0]) < h[0] / 2 && PetscAbsReal(x[1]) < h[1] / 2)
    values[0] = 4 * LogRectangleCorner(h[0] / 2, h[1] / 2) / (4 * PETSC_PI * h[0] * h[1]);
  else
    values[0] = GFKernelCellAverageGauss(LogPoint, dim, x, h, 4, ctx);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* -1/(4 pi |x|). */
static PetscReal NewtonPoint(PetscInt dim, const PetscReal x[], void *ctx)
{
  (void)dim, (void)ctx;
  return -1 / (4 * PETSC_PI * PetscSqrtReal(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]));
}

/* Cell average of the 3D Newtonian kernel -1/(4 pi |x|): closed form on the origin cell (eight corner boxes), 4-point Gauss elsewhere. */
static PetscErrorCode NewtonKernel(PetscInt dim, const PetscReal x[], const PetscReal h[], PetscReal values[], void *ctx)
{
  PetscFunctionBeginUser;
  PetscCheck(dim == 3, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "-1/(4 pi |x|) is the 3D test kernel");
  if (PetscAbsReal(x[0]) < h[0] / 2 && PetscAbsReal(x[1]) < h[1] / 2 && PetscAbsReal(x[2]) < h[2] / 2)
    values[0] = -8 * InverseDistanceBoxCorner(h[0] / 2, h[1] / 2, h[2] / 2) / (4 * PETSC_PI * h[0] * h[1] * h[2]);
  else
    values[0] = GFKernelCellAverageGauss(NewtonPoint, dim, x, h, 4, ctx);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A set-up grid from options. */
static GFGrid GridFromOptions(const char options[])
{
  GFGrid grid;

  GFTestSetOptions(options);
  GF_CK(GFGridCreate(PETSC_COMM_WORLD, &grid));
  GF_CK(GFGridSetFromOptions(grid));
  GF_CK(GFGridSetUp(grid));
  return grid;
}

/* Seeded values in [0.5, 1.5], generated in natural order on every rank: the same field for any rank count. */
static void RandomField(GFGrid grid, Vec rho)
{
  DM          da;
  Vec         natural;
  PetscRandom random;
  PetscInt    lo, hi, n;
  PetscScalar value, *a;

  GF_CK(GFGridGetDM(grid, &da));
  GF_CK(DMDACreateNaturalVector(da, &natural));
  GF_CK(VecGetSize(natural, &n));
  GF_CK(VecGetOwnershipRange(natural, &lo, &hi));
  GF_CK(PetscRandomCreate(PETSC_COMM_SELF, &random));
  GF_CK(PetscRandomSetType(random, PETSCRAND48));
  GF_CK(PetscRandomSetInterval(random, 0.5, 1.5));
  GF_CK(PetscRandomSetSeed(random, 20240611));
  GF_CK(PetscRandomSeed(random));
  GF_CK(VecGetArray(natural, &a));
  for (PetscInt i = 0; i < n; i++) {
    GF_CK(PetscRandomGetValue(random, &value));
    if (i >= lo && i < hi) a[i - lo] = value;
  }
  GF_CK(VecRestoreArray(natural, &a));
  GF_CK(DMDANaturalToGlobalBegin(da, natural, INSERT_VALUES, rho));
  GF_CK(DMDANaturalToGlobalEnd(da, natural, INSERT_VALUES, rho));
  GF_CK(PetscRandomDestroy(&random));
  GF_CK(VecDestroy(&natural));
}

typedef struct {
  const char           *name;
  GFKernelCellAverageFn fn;
  PetscInt              comp;
} KernelCase;

/* max|FFT - direct| / max|direct| for each kernel on the grid given by options; asserts <= 1e-12. */
static void CheckAgainstDirect(const char options[], const KernelCase kernels[], PetscInt nkernels)
{
  GFGrid         grid = GridFromOptions(options);
  GFConvolution  conv;
  GaussianParams gaussian = {0.7, 0};
  DM             da;
  Vec            rho, fft, direct;

  GF_CK(GFGridGetDM(grid, &da));
  GF_CK(DMCreateGlobalVector(da, &rho));
  GF_CK(VecDuplicate(rho, &fft));
  GF_CK(VecDuplicate(rho, &direct));
  RandomField(grid, rho);
  GF_CK(GFConvolutionCreate(grid, &conv));
  for (PetscInt k = 0; k < nkernels; k++) {
    PetscInt  id;
    PetscReal scale, difference;

    GF_CK(GFConvolutionAddKernel(conv, kernels[k].fn, kernels[k].comp, &gaussian, &id));
    GF_CK(GFConvolutionApply(conv, id, rho, fft));
    GF_CK(GFConvolutionApplyDirect(conv, id, rho, direct));
    GF_CK(VecNorm(direct, NORM_INFINITY, &scale));
    difference = GFTestMaxDifference(fft, direct) / scale;
    GF_CK(PetscPrintf(PETSC_COMM_WORLD, "  %-40s %-10s max|fft - direct| / max|direct| = %.2e\n", options, kernels[k].name, (double)difference));
    ck_assert_msg(scale > 0 && difference <= 1e-12, "%s, kernel %s: relative difference %g", options, kernels[k].name, (double)difference);
  }
  GF_CK(GFConvolutionDestroy(&conv));
  GF_CK(VecDestroy(&rho));
  GF_CK(VecDestroy(&fft));
  GF_CK(VecDestroy(&direct));
  GF_CK(GFGridDestroy(&grid));
}

/* 1D, both walls, odd and even n: Gaussian, its derivative, |x|^2/2 and |x|. */
START_TEST(test_fft_matches_direct_1d)
{
  const char      *grids[]   = {"-dim 1 -da_grid_x 37 -domain_lower -3 -domain_upper 4 -bc noflux", "-dim 1 -da_grid_x 40 -domain_lower -3 -domain_upper 4 -bc noflux", "-dim 1 -da_grid_x 37 -domain_lower -3 -domain_upper 4 -bc periodic",
                                "-dim 1 -da_grid_x 40 -domain_lower -3 -domain_upper 4 -bc periodic"};
  const KernelCase kernels[] = {
      {"gaussian", GaussianKernel, 0},
      {"d/dx gauss", GaussianKernel, 1},
      {"|x|^2/2", QuadraticKernel, 0},
      {"|x|", AbsoluteKernel, 0},
  };
  for (size_t g = 0; g < sizeof(grids) / sizeof(grids[0]); g++) CheckAgainstDirect(grids[g], kernels, 4);
}
END_TEST

/* 2D, both walls, non-square boxes, odd and even sizes: Gaussian, both gradient components, |x|^2/2, (1/2pi) ln|x|. */
START_TEST(test_fft_matches_direct_2d)
{
  const char      *grids[]   = {"-dim 2 -da_grid_x 24 -da_grid_y 20 -domain_lower -3,-2 -domain_upper 3,2.5 -bc noflux", "-dim 2 -da_grid_x 23 -da_grid_y 17 -domain_lower -3,-2 -domain_upper 3,2.5 -bc noflux",
                                "-dim 2 -da_grid_x 24 -da_grid_y 20 -domain_lower -3,-2 -domain_upper 3,2.5 -bc periodic", "-dim 2 -da_grid_x 23 -da_grid_y 17 -domain_lower -3,-2 -domain_upper 3,2.5 -bc periodic"};
  const KernelCase kernels[] = {
      {"gaussian", GaussianKernel, 0}, {"d/dx gauss", GaussianKernel, 1}, {"d/dy gauss", GaussianKernel, 2}, {"|x|^2/2", QuadraticKernel, 0}, {"ln|x|/2pi", LogKernel, 0},
  };
  for (size_t g = 0; g < sizeof(grids) / sizeof(grids[0]); g++) CheckAgainstDirect(grids[g], kernels, 5);
}
END_TEST

/* 3D, both walls, unequal odd and even sizes: Gaussian, d/dz of it, |x|^2/2, -1/(4 pi |x|). */
START_TEST(test_fft_matches_direct_3d)
{
  const char      *grids[]   = {"-dim 3 -da_grid_x 10 -da_grid_y 8 -da_grid_z 9 -domain_lower -2,-2,-1.5 -domain_upper 2,1.5,2 -bc noflux", "-dim 3 -da_grid_x 9 -da_grid_y 7 -da_grid_z 6 -domain_lower -2,-2,-1.5 -domain_upper 2,1.5,2 -bc noflux",
                                "-dim 3 -da_grid_x 10 -da_grid_y 8 -da_grid_z 9 -domain_lower -2,-2,-1.5 -domain_upper 2,1.5,2 -bc periodic", "-dim 3 -da_grid_x 9 -da_grid_y 7 -da_grid_z 6 -domain_lower -2,-2,-1.5 -domain_upper 2,1.5,2 -bc periodic"};
  const KernelCase kernels[] = {
      {"gaussian", GaussianKernel, 0},
      {"d/dz gauss", GaussianKernel, 3},
      {"|x|^2/2", QuadraticKernel, 0},
      {"-1/4pi|x|", NewtonKernel, 0},
  };
  for (size_t g = 0; g < sizeof(grids) / sizeof(grids[0]); g++) CheckAgainstDirect(grids[g], kernels, 4);
}
END_TEST

/*
  Closed form: for a Gaussian density of unit mass, mean m and variances s_a^2,
  int |x - y|^2/2 rho(y) dy = |x - m|^2/2 + sum_a s_a^2/2. With exact cell averages of both
  kernel and density, the discrete sum is h^d sum_j rho_j (|x_i - x_j|^2/2 + sum_a h_a^2/24);
  the cell masses h^d rho_j are samples of rho convolved with the cell's box, whose mean is m
  and whose variances are s_a^2 + h_a^2/12 (Sheppard), up to the Gaussian's mass outside the
  box (its tails start beyond 7 standard deviations) and the aliasing of the midpoint sum
  (exp(-2 pi^2 s_a^2 / h_a^2) <= exp(-26)), relative terms that |x - y|^2/2 <= 50 turns into
  less than 1e-9. So the discrete convolution must equal the closed form plus sum_a h_a^2/12:
  the O(h^2) discretisation error is known exactly, and what remains is asserted <= 1e-9.
*/
START_TEST(test_quadratic_closed_form)
{
  const struct {
    const char *options;
    PetscReal   mean[3], variance[3];
  } cases[] = {
      {"-dim 1 -da_grid_x 50 -domain_lower -5 -domain_upper 5", {0.3, 0, 0}, {0.3, 0, 0}},
      {"-dim 2 -da_grid_x 24 -da_grid_y 20 -domain_lower -5 -domain_upper 5", {0.3, -0.2, 0}, {0.3, 0.4, 0}},
      {"-dim 3 -da_grid_x 20 -da_grid_y 18 -da_grid_z 22 -domain_lower -4,-4,-4.5 -domain_upper 4,4.5,4", {0.2, -0.1, 0.1}, {0.25, 0.3, 0.25}},
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    GFGrid        grid = GridFromOptions(cases[c].options);
    GFConvolution conv;
    DM            da;
    Vec           rho, out, exact;
    PetscInt      id, dim, cells[3];
    PetscReal     mass, h[3], lower[3], upper[3], sheppard = 0, trace = 0, error, scale;

    GF_CK(GFGridGetDM(grid, &da));
    GF_CK(GFGridGetDimension(grid, &dim));
    GF_CK(GFGridGetCells(grid, cells));
    GF_CK(GFGridGetBox(grid, lower, upper));
    for (PetscInt a = 0; a < dim; a++) {
      h[a] = (upper[a] - lower[a]) / cells[a];
      sheppard += h[a] * h[a] / 12;
      trace += cases[c].variance[a];
    }
    GF_CK(DMCreateGlobalVector(da, &rho));
    GF_CK(VecDuplicate(rho, &out));
    GF_CK(VecDuplicate(rho, &exact));
    GF_CK(GFGridGaussianCellAverages(grid, cases[c].mean, cases[c].variance, rho));
    GF_CK(GFGridIntegrate(grid, rho, &mass));
    ck_assert_double_eq_tol(mass, 1, 1e-12);
    GF_CK(VecScale(rho, 1 / mass));
    {
      DMDALocalInfo info;
      PetscScalar  *e;
      PetscInt      i = 0;

      GF_CK(DMDAGetLocalInfo(da, &info));
      GF_CK(VecGetArray(exact, &e));
      for (PetscInt k = info.zs; k < info.zs + info.zm; k++)
        for (PetscInt j = info.ys; j < info.ys + info.ym; j++)
          for (PetscInt l = info.xs; l < info.xs + info.xm; l++, i++) {
            const PetscInt index[3] = {l, j, k};
            PetscReal      value    = trace / 2 + sheppard;
            for (PetscInt a = 0; a < dim; a++) {
              const PetscReal x = lower[a] + (index[a] + 0.5) * h[a] - cases[c].mean[a];
              value += x * x / 2;
            }
            e[i] = value;
          }
      GF_CK(VecRestoreArray(exact, &e));
    }
    GF_CK(GFConvolutionCreate(grid, &conv));
    GF_CK(GFConvolutionAddKernel(conv, QuadraticKernel, 0, NULL, &id));
    GF_CK(GFConvolutionApply(conv, id, rho, out));
    GF_CK(VecNorm(exact, NORM_INFINITY, &scale));
    error = GFTestMaxDifference(out, exact);
    GF_CK(PetscPrintf(PETSC_COMM_WORLD, "  %-40s |x|^2/2 * gaussian: max|fft - (closed form + sum h^2/12)| = %.2e (sum h^2/12 = %.3e, max %.1f)\n", cases[c].options, (double)error, (double)sheppard, (double)scale));
    ck_assert_msg(error <= 1e-9, "%s: error %g against the closed form plus Sheppard's h^2/12", cases[c].options, (double)error);
    GF_CK(GFConvolutionDestroy(&conv));
    GF_CK(VecDestroy(&rho));
    GF_CK(VecDestroy(&out));
    GF_CK(VecDestroy(&exact));
    GF_CK(GFGridDestroy(&grid));
  }
}
END_TEST

/* ApplyMany with four kernels equals four Apply calls bit for bit, and Apply in place (out = in) equals Apply. */
START_TEST(test_apply_many)
{
  GFGrid         grid = GridFromOptions("-dim 2 -da_grid_x 30 -da_grid_y 22 -domain_lower -3 -domain_upper 3 -bc periodic");
  GFConvolution  conv;
  GaussianParams gaussian = {0.5, 0};
  DM             da;
  Vec            rho, many[4], single, inplace;
  PetscInt       ids[4];

  GF_CK(GFGridGetDM(grid, &da));
  GF_CK(DMCreateGlobalVector(da, &rho));
  GF_CK(VecDuplicate(rho, &single));
  GF_CK(VecDuplicate(rho, &inplace));
  RandomField(grid, rho);
  GF_CK(GFConvolutionCreate(grid, &conv));
  GF_CK(GFConvolutionAddKernel(conv, GaussianKernel, 0, &gaussian, &ids[0]));
  GF_CK(GFConvolutionAddKernel(conv, GaussianKernel, 1, &gaussian, &ids[1]));
  GF_CK(GFConvolutionAddKernel(conv, GaussianKernel, 2, &gaussian, &ids[2]));
  GF_CK(GFConvolutionAddKernel(conv, LogKernel, 0, NULL, &ids[3]));
  ck_assert_int_eq(ids[3], 3);
  for (PetscInt k = 0; k < 4; k++) GF_CK(VecDuplicate(rho, &many[k]));
  GF_CK(GFConvolutionApplyMany(conv, 4, ids, rho, many));
  for (PetscInt k = 0; k < 4; k++) {
    PetscReal norm;
    GF_CK(GFConvolutionApply(conv, ids[k], rho, single));
    GF_CK(VecNorm(single, NORM_INFINITY, &norm));
    ck_assert(norm > 0);
    ck_assert_msg(GFTestMaxDifference(many[k], single) == 0, "kernel %d: ApplyMany differs from Apply by %g", (int)k, (double)GFTestMaxDifference(many[k], single));
    GF_CK(VecCopy(rho, inplace));
    GF_CK(GFConvolutionApply(conv, ids[k], inplace, inplace));
    ck_assert_msg(GFTestMaxDifference(inplace, single) == 0, "kernel %d: in-place Apply differs by %g", (int)k, (double)GFTestMaxDifference(inplace, single));
  }
  for (PetscInt k = 0; k < 4; k++) GF_CK(VecDestroy(&many[k]));
  GF_CK(GFConvolutionDestroy(&conv));
  GF_CK(VecDestroy(&rho));
  GF_CK(VecDestroy(&single));
  GF_CK(VecDestroy(&inplace));
  GF_CK(GFGridDestroy(&grid));
}
END_TEST

/*
  Periodic even n: the offset n/2 takes the mean of K(+L/2) and K(-L/2). An odd kernel then
  has zero sum over a period, so it maps a constant to 0 (without the rule the sample K(-L/2)
  alone would give -h^d L/2 per row); an even kernel keeps its value there, so |x|^2/2 maps
  the constant 1 to h sum_{m=-n/2}^{n/2-1} ((m h)^2/2 + h^2/24).
*/
START_TEST(test_periodic_nyquist)
{
  {
    GFGrid        grid = GridFromOptions("-dim 2 -da_grid_x 16 -da_grid_y 12 -domain_lower -2 -domain_upper 2 -bc periodic");
    GFConvolution conv;
    DM            da;
    Vec           one, fft, direct;
    PetscInt      id;
    PetscReal     norm_fft, norm_direct;

    GF_CK(GFGridGetDM(grid, &da));
    GF_CK(DMCreateGlobalVector(da, &one));
    GF_CK(VecDuplicate(one, &fft));
    GF_CK(VecDuplicate(one, &direct));
    GF_CK(VecSet(one, 1));
    GF_CK(GFConvolutionCreate(grid, &conv));
    GF_CK(GFConvolutionAddKernel(conv, LinearKernel, 0, NULL, &id));
    GF_CK(GFConvolutionApply(conv, id, one, fft));
    GF_CK(GFConvolutionApplyDirect(conv, id, one, direct));
    GF_CK(VecNorm(fft, NORM_INFINITY, &norm_fft));
    GF_CK(VecNorm(direct, NORM_INFINITY, &norm_direct));
    /* the terms add up to h^2 sum |K| = 16; without the rule the result would be -2 */
    ck_assert_msg(norm_fft <= 1e-13 && norm_direct <= 1e-13, "odd kernel on a constant: max|fft| %g, max|direct| %g (the Nyquist offset must vanish)", (double)norm_fft, (double)norm_direct);
    GF_CK(GFConvolutionDestroy(&conv));
    GF_CK(VecDestroy(&one));
    GF_CK(VecDestroy(&fft));
    GF_CK(VecDestroy(&direct));
    GF_CK(GFGridDestroy(&grid));
  }
  {
    GFGrid          grid = GridFromOptions("-dim 1 -da_grid_x 16 -domain_lower -2 -domain_upper 2 -bc periodic");
    const PetscReal h    = 4.0 / 16;
    GFConvolution   conv;
    DM              da;
    Vec             one, fft, expected;
    PetscInt        id;
    PetscReal       sum = 0;

    GF_CK(GFGridGetDM(grid, &da));
    GF_CK(DMCreateGlobalVector(da, &one));
    GF_CK(VecDuplicate(one, &fft));
    GF_CK(VecDuplicate(one, &expected));
    GF_CK(VecSet(one, 1));
    for (PetscInt m = -8; m < 8; m++) sum += h * ((m * h) * (m * h) / 2 + h * h / 24);
    GF_CK(VecSet(expected, sum));
    GF_CK(GFConvolutionCreate(grid, &conv));
    GF_CK(GFConvolutionAddKernel(conv, QuadraticKernel, 0, NULL, &id));
    GF_CK(GFConvolutionApply(conv, id, one, fft));
    ck_assert_msg(GFTestMaxDifference(fft, expected) <= 1e-13 * sum, "even kernel on a constant: %g, expected %g", (double)GFTestMaxDifference(fft, expected), (double)sum);
    GF_CK(GFConvolutionDestroy(&conv));
    GF_CK(VecDestroy(&one));
    GF_CK(VecDestroy(&fft));
    GF_CK(VecDestroy(&expected));
    GF_CK(GFGridDestroy(&grid));
  }
}
END_TEST

/* Duffy map of the pyramid over the face x = a of [0,a]x[0,b]x[0,c] with apex 0: a b c t / |(a, b v, c w)| on the unit cube (smooth). */
static PetscReal PyramidIntegrand(PetscInt dim, const PetscReal u[], void *ctx)
{
  const PetscReal *s = (const PetscReal *)ctx;
  (void)dim;
  return s[0] * s[1] * s[2] * u[0] / PetscSqrtReal(s[0] * s[0] + s[1] * s[1] * u[1] * u[1] + s[2] * s[2] * u[2] * u[2]);
}

/* ln(a^2 + b^2 v^2) on [0, 1] (smooth): the regular part of the Duffy-mapped triangle over the edge x = a. */
static PetscReal TriangleIntegrand(PetscInt dim, const PetscReal v[], void *ctx)
{
  const PetscReal *s = (const PetscReal *)ctx;
  (void)dim;
  return PetscLogReal(s[0] * s[0] + s[1] * s[1] * v[0] * v[0]);
}

/*
  The helpers the singular test kernels rest on, against independent computations:
  GFKernelCellAverageGauss against the exact (erf) cell average of a Gaussian; the origin-cell
  closed forms against Duffy-mapped Gauss quadrature, where the singular corner becomes a
  smooth integrand (3D: three pyramids, Jacobian t^2 cancels 1/r; 2D: two triangles,
  ln(t^2 (a^2 + b^2 v^2)) = 2 ln t + smooth, with int_0^1 t ln t dt = -1/4); and the cube's
  known value 3 ln((sqrt3 + 1)/(sqrt3 - 1)) - pi/2 for int over [-1/2,1/2]^3 of 1/|x|.
*/
START_TEST(test_cell_average_helpers)
{
  GaussianParams  gaussian = {0.6, 0};
  const PetscReal x[2] = {0.35, -0.8}, h[2] = {0.3, 0.45}, center[3] = {0.5, 0.5, 0.5}, unit[3] = {1, 1, 1};
  PetscReal       exact = 1;

  for (PetscInt a = 0; a < 2; a++) {
    const PetscReal scale = gaussian.bandwidth * PetscSqrtReal(2.0);
    exact *= gaussian.bandwidth * PetscSqrtReal(PETSC_PI / 2) * (PetscErfReal((x[a] + h[a] / 2) / scale) - PetscErfReal((x[a] - h[a] / 2) / scale)) / h[a];
  }
  ck_assert_double_eq_tol(GFKernelCellAverageGauss(GaussianPoint, 2, x, h, 8, &gaussian), exact, 1e-14);
  ck_assert(PetscIsNanReal(GFKernelCellAverageGauss(GaussianPoint, 2, x, h, GF_GAUSS_MAX_POINTS + 1, &gaussian)));

  {
    const PetscReal box[3] = {0.2, 0.35, 0.15};
    PetscReal       duffy  = 0;
    for (PetscInt k = 0; k < 3; k++) {
      const PetscReal s[3] = {box[k], box[(k + 1) % 3], box[(k + 2) % 3]};
      duffy += GFKernelCellAverageGauss(PyramidIntegrand, 3, center, unit, GF_GAUSS_MAX_POINTS, (void *)s);
    }
    ck_assert_double_eq_tol(InverseDistanceBoxCorner(box[0], box[1], box[2]), duffy, 1e-14 * duffy);
    ck_assert_double_eq_tol(8 * InverseDistanceBoxCorner(0.5, 0.5, 0.5), 3 * PetscLogReal((PetscSqrtReal(3.0) + 1) / (PetscSqrtReal(3.0) - 1)) - PETSC_PI / 2, 1e-14);
  }
  {
    const PetscReal rectangle[2] = {0.3, 0.45};
    PetscReal       duffy        = 0;
    for (PetscInt k = 0; k < 2; k++) {
      const PetscReal s[2] = {rectangle[k], rectangle[1 - k]};
      duffy += s[0] * s[1] * (2 * -0.25 + 0.5 * GFKernelCellAverageGauss(TriangleIntegrand, 1, center, unit, GF_GAUSS_MAX_POINTS, (void *)s));
    }
    ck_assert_double_eq_tol(LogRectangleCorner(rectangle[0], rectangle[1]), duffy, 1e-14 * PetscAbsReal(duffy));
  }
}
END_TEST

/*
  FFTW-MPI slabs split the first FFTW axis (y in 2D, z in 3D). With more ranks than FFT cells
  along it (on 4 ranks: 3 along y for a periodic 32 x 3 grid; 2 along z, and 2 along the
  transposed y, for a periodic 16 x 2 x 2 grid) FFTW leaves some ranks empty slabs; the
  result must still match the direct sum.
*/
START_TEST(test_more_ranks_than_slabs)
{
  const KernelCase kernels[] = {
      {"gaussian", GaussianKernel, 0},
      {"d/dx gauss", GaussianKernel, 1},
      {"|x|^2/2", QuadraticKernel, 0},
  };
  CheckAgainstDirect("-dim 2 -da_grid_x 32 -da_grid_y 3 -domain_lower -2 -domain_upper 2 -bc periodic", kernels, 3);
  CheckAgainstDirect("-dim 3 -da_grid_x 16 -da_grid_y 2 -da_grid_z 2 -domain_lower -2 -domain_upper 2 -bc periodic", kernels, 3);
}
END_TEST

/* max|FFT - direct| / max|direct| for kernel id on rho. */
static PetscReal RelativeDifference(GFConvolution conv, PetscInt id, Vec rho)
{
  Vec       fft, direct;
  PetscReal scale, difference;

  GF_CK(VecDuplicate(rho, &fft));
  GF_CK(VecDuplicate(rho, &direct));
  GF_CK(GFConvolutionApply(conv, id, rho, fft));
  GF_CK(GFConvolutionApplyDirect(conv, id, rho, direct));
  GF_CK(VecNorm(direct, NORM_INFINITY, &scale));
  difference = GFTestMaxDifference(fft, direct) / scale;
  GF_CK(VecDestroy(&fft));
  GF_CK(VecDestroy(&direct));
  return difference;
}

/*
  Several GFConvolutions at once: a no-flux 16 x 12 grid and a periodic 32 x 24 grid both need
  a 32 x 24 FFT and share it (both stay right whichever is destroyed first); a grid needing
  another FFT size while one is live is refused with PETSC_ERR_SUP (PETSc 3.18 would crash
  destroying the second MATFFTW), and accepted once the first is gone.
*/
START_TEST(test_several_convolutions)
{
  GFGrid         noflux = GridFromOptions("-dim 2 -da_grid_x 16 -da_grid_y 12 -bc noflux"), periodic = GridFromOptions("-dim 2 -da_grid_x 32 -da_grid_y 24 -bc periodic"), other = GridFromOptions("-dim 2 -da_grid_x 20 -da_grid_y 12 -bc noflux");
  GFConvolution  first, second, third                                                                                                                                            = NULL;
  GaussianParams gaussian = {0.5, 0};
  DM             da;
  Vec            rho_noflux, rho_periodic;
  PetscInt       id_first, id_second, id_third;

  GF_CK(GFGridGetDM(noflux, &da));
  GF_CK(DMCreateGlobalVector(da, &rho_noflux));
  RandomField(noflux, rho_noflux);
  GF_CK(GFGridGetDM(periodic, &da));
  GF_CK(DMCreateGlobalVector(da, &rho_periodic));
  RandomField(periodic, rho_periodic);
  GF_CK(GFConvolutionCreate(noflux, &first));
  GF_CK(GFConvolutionCreate(periodic, &second));
  GF_CK(GFConvolutionAddKernel(first, GaussianKernel, 1, &gaussian, &id_first));
  GF_CK(GFConvolutionAddKernel(second, LogKernel, 0, NULL, &id_second));
  ck_assert(RelativeDifference(first, id_first, rho_noflux) <= 1e-12);
  ck_assert(RelativeDifference(second, id_second, rho_periodic) <= 1e-12);
  GF_ASSERT_ERROR(GFConvolutionCreate(other, &third), PETSC_ERR_SUP, "needs an FFT of 40 x 24 cells on its communicator, but another GFConvolution holds one of 32 x 24 cells");
  ck_assert_ptr_null(third);
  GF_CK(GFConvolutionDestroy(&first));
  ck_assert(RelativeDifference(second, id_second, rho_periodic) <= 1e-12);
  GF_CK(GFConvolutionDestroy(&second));
  GF_CK(GFConvolutionCreate(other, &third));
  GF_CK(GFConvolutionAddKernel(third, QuadraticKernel, 0, NULL, &id_third));
  GF_CK(GFConvolutionDestroy(&third));
  GF_CK(VecDestroy(&rho_noflux));
  GF_CK(VecDestroy(&rho_periodic));
  GF_CK(GFGridDestroy(&noflux));
  GF_CK(GFGridDestroy(&periodic));
  GF_CK(GFGridDestroy(&other));
}
END_TEST

/* Bad kernel ids and components fail with PETSC_ERR_ARG_OUTOFRANGE and say why. */
START_TEST(test_bad_arguments)
{
  GFGrid        grid = GridFromOptions("-dim 1 -da_grid_x 16");
  GFConvolution conv;
  DM            da;
  Vec           v;
  PetscInt      id;

  GF_CK(GFGridGetDM(grid, &da));
  GF_CK(DMCreateGlobalVector(da, &v));
  GF_CK(GFConvolutionCreate(grid, &conv));
  GF_ASSERT_ERROR(GFConvolutionAddKernel(conv, QuadraticKernel, GF_KERNEL_MAX_COMPONENTS, NULL, &id), PETSC_ERR_ARG_OUTOFRANGE, "component 16 is not in [0, 16)");
  GF_CK(GFConvolutionAddKernel(conv, QuadraticKernel, 0, NULL, &id));
  GF_ASSERT_ERROR(GFConvolutionApply(conv, 1, v, v), PETSC_ERR_ARG_OUTOFRANGE, "kernel id 1 is not one of the 1 added");
  GF_ASSERT_ERROR(GFConvolutionApplyDirect(conv, -1, v, v), PETSC_ERR_ARG_OUTOFRANGE, "kernel id -1");
  GF_CK(GFConvolutionDestroy(&conv));
  GF_CK(VecDestroy(&v));
  GF_CK(GFGridDestroy(&grid));
}
END_TEST

static Suite *MakeSuite(void)
{
  Suite *s = suite_create("convolution");
  TCase *t = tcase_create("convolution");

  tcase_set_timeout(t, 0);
  tcase_add_test(t, test_cell_average_helpers);
  tcase_add_test(t, test_fft_matches_direct_1d);
  tcase_add_test(t, test_fft_matches_direct_2d);
  tcase_add_test(t, test_fft_matches_direct_3d);
  tcase_add_test(t, test_quadratic_closed_form);
  tcase_add_test(t, test_apply_many);
  tcase_add_test(t, test_periodic_nyquist);
  tcase_add_test(t, test_more_ranks_than_slabs);
  tcase_add_test(t, test_several_convolutions);
  tcase_add_test(t, test_bad_arguments);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
