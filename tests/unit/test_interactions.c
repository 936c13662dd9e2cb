/* GFInteraction: every kernel's FFT convolution equals the direct sum, exact origin cells, gradients, refusals. */
#include "gftest.h"

static PetscErrorCode InteractionFromOptions(const char options[], PetscInt dim, GFBoundary bc, GFInteraction *w)
{
  PetscFunctionBeginUser;
  GFTestSetOptions(options);
  PetscCall(GFInteractionCreate(PETSC_COMM_WORLD, w));
  PetscCall(GFInteractionSetFromOptions(*w, dim, bc));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A positive input field, the same on any number of ranks: a function of the cell centre. */
static PetscReal Field(PetscInt dim, const PetscReal x[], void *ctx)
{
  PetscReal v = 1.2 + PetscSinReal(3.1 * x[0]);
  (void)ctx;
  if (dim > 1) v += 0.7 * PetscCosReal(2.3 * x[1] + 0.4);
  if (dim > 2) v += 0.5 * PetscSinReal(1.7 * x[2] - 0.2);
  return v;
}

/* Case 1: FFT convolution = direct O(N^2) sum to 1e-12 (relative, max norm) for every kernel, dimension and admissible wall type. */
START_TEST(test_fft_equals_direct)
{
  const char *kernels[] = {"quadratic", "newtonian", "log_quadratic", "attractive_repulsive", "attractive_repulsive -interaction_params 1.5,-0.5", "gaussian -interaction_params 0.4", "morse"};
  const char *grids[]   = {"-dim 1 -da_grid_x 41 -domain_lower -2 -domain_upper 2", "-dim 2 -da_grid_x 18 -da_grid_y 15 -domain_lower -2,-1.5 -domain_upper 2,1.5",
                           "-dim 3 -da_grid_x 9 -da_grid_y 8 -da_grid_z 10 -domain_lower -2,-1.5,-1 -domain_upper 2,1.5,1.5"};
  const char *walls[]   = {"noflux", "periodic"};

  for (size_t k = 0; k < sizeof(kernels) / sizeof(kernels[0]); k++) {
    for (PetscInt dim = 1; dim <= 3; dim++) {
      for (int w = 0; w < 2; w++) {
        char          options[512];
        GFGrid        grid;
        GFInteraction interaction;
        GFConvolution conv;
        DM            da;
        Vec           rho, fft, direct;
        PetscInt      id;
        PetscReal     diff, scale;
        PetscBool     periodic_ok = (PetscBool)(strstr(kernels[k], "gaussian") || strstr(kernels[k], "morse"));

        if (w == 1 && !periodic_ok) continue;
        PetscSNPrintf(options, sizeof(options), "%s -bc %s -interaction %s -interaction_strength 0.8", grids[dim - 1], walls[w], kernels[k]);
        GFTestSetOptions(options);
        GF_CK(GFGridCreate(PETSC_COMM_WORLD, &grid));
        GF_CK(GFGridSetFromOptions(grid));
        GF_CK(GFGridSetUp(grid));
        GF_CK(GFInteractionCreate(PETSC_COMM_WORLD, &interaction));
        GF_CK(GFInteractionSetFromOptions(interaction, dim, w ? GF_BC_PERIODIC : GF_BC_NOFLUX));
        GF_CK(GFConvolutionCreate(grid, &conv));
        GF_CK(GFConvolutionAddKernel(conv, GFInteractionCellAverage, 0, interaction, &id));
        GF_CK(GFGridGetDM(grid, &da));
        GF_CK(DMCreateGlobalVector(da, &rho));
        GF_CK(VecDuplicate(rho, &fft));
        GF_CK(VecDuplicate(rho, &direct));
        GF_CK(GFGridEvaluate(grid, Field, NULL, rho));
        GF_CK(GFConvolutionApply(conv, id, rho, fft));
        GF_CK(GFConvolutionApplyDirect(conv, id, rho, direct));
        diff = GFTestMaxDifference(fft, direct);
        GF_CK(VecNorm(direct, NORM_INFINITY, &scale));
        ck_assert_msg(diff <= 1e-12 * scale, "%s: |FFT - direct| = %g, |direct| = %g", options, (double)diff, (double)scale);
        GF_CK(VecDestroy(&rho));
        GF_CK(VecDestroy(&fft));
        GF_CK(VecDestroy(&direct));
        GF_CK(GFConvolutionDestroy(&conv));
        GF_CK(GFInteractionDestroy(&interaction));
        GF_CK(GFGridDestroy(&grid));
      }
    }
  }
}
END_TEST

/* Independent average of a radial function over a box, by tensor Gauss on a fine subdivision (the singular point at a corner of subcells). */
static PetscReal SubdividedAverage(GFInteraction w, PetscInt dim, const PetscReal h[], PetscInt parts)
{
  PetscReal sum = 0, sub[3];
  PetscInt  n   = 1;

  for (PetscInt a = 0; a < dim; a++) {
    sub[a] = h[a] / parts;
    n *= parts;
  }
  for (PetscInt q = 0; q < n; q++) {
    PetscReal c[3], values[1];
    PetscInt  r = q;
    for (PetscInt a = 0; a < dim; a++, r /= parts) c[a] = -0.5 * h[a] + (r % parts + 0.5) * sub[a];
    GFInteractionCellAverage(dim, c, sub, values, w);
    sum += values[0];
  }
  return sum / n;
}

/*
  The origin cell of singular kernels: the self-similar formula against closed forms
  (1D |x|/2: h/8; 2D ln and 3D 1/r: corner integrals), and morse's bounded kink against
  a fine subdivision.
*/
START_TEST(test_origin_cells)
{
  GFInteraction   w;
  const PetscReal h2[2] = {0.3, 0.2}, h3[3] = {0.2, 0.25, 0.3}, h1[1] = {0.4};
  PetscReal       values[1], origin[3] = {0, 0, 0}, exact, refined;

  /* 1D newtonian r/2: average over [-h/2, h/2] is h/8 */
  GF_CK(InteractionFromOptions("-interaction newtonian", 1, GF_BC_NOFLUX, &w));
  GF_CK(GFInteractionCellAverage(1, origin, h1, values, w));
  ck_assert_double_eq_tol(values[0], h1[0] / 8, 1e-15);
  GF_CK(GFInteractionDestroy(&w));

  /* 2D newtonian ln(r)/(2 pi): int_0^a int_0^b ln(x^2 + y^2) = ab ln(a^2+b^2) - 3ab + a^2 atan(b/a) + b^2 atan(a/b) */
  {
    const PetscReal a = h2[0] / 2, b = h2[1] / 2;
    exact = (a * b * PetscLogReal(a * a + b * b) - 3 * a * b + a * a * PetscAtanReal(b / a) + b * b * PetscAtanReal(a / b)) / (a * b) / (4 * PETSC_PI);
  }
  GF_CK(InteractionFromOptions("-interaction newtonian", 2, GF_BC_NOFLUX, &w));
  GF_CK(GFInteractionCellAverage(2, origin, h2, values, w));
  ck_assert_msg(PetscAbsReal(values[0] - exact) <= 1e-12 * PetscAbsReal(exact), "2D ln origin cell %.15g, closed form %.15g", (double)values[0], (double)exact);
  GF_CK(GFInteractionDestroy(&w));

  /* 3D newtonian -1/(4 pi r): int_0^a int_0^b int_0^c dV/|x| = sum over cyclic (a, b, c) of bc ln((a + d)/sqrt(b^2 + c^2)) - (a^2/2) atan(bc/(a d)) */
  {
    const PetscReal s[3] = {h3[0] / 2, h3[1] / 2, h3[2] / 2}, d = PetscSqrtReal(s[0] * s[0] + s[1] * s[1] + s[2] * s[2]);
    PetscReal       corner = 0;
    for (PetscInt k = 0; k < 3; k++) {
      const PetscReal u = s[k], v = s[(k + 1) % 3], t = s[(k + 2) % 3];
      corner += v * t * PetscLogReal((u + d) / PetscSqrtReal(v * v + t * t)) - u * u / 2 * PetscAtanReal(v * t / (u * d));
    }
    exact = -corner / (s[0] * s[1] * s[2]) / (4 * PETSC_PI);
  }
  GF_CK(InteractionFromOptions("-interaction newtonian", 3, GF_BC_NOFLUX, &w));
  GF_CK(GFInteractionCellAverage(3, origin, h3, values, w));
  ck_assert_msg(PetscAbsReal(values[0] - exact) <= 1e-12 * PetscAbsReal(exact), "3D 1/r origin cell %.15g, closed form %.15g", (double)values[0], (double)exact);
  GF_CK(GFInteractionDestroy(&w));

  /* the bounded remainder (morse's kink) by bisection: against 64 x 64 subcells in 2D */
  GF_CK(InteractionFromOptions("-interaction morse", 2, GF_BC_NOFLUX, &w));
  GF_CK(GFInteractionCellAverage(2, origin, h2, values, w));
  refined = SubdividedAverage(w, 2, h2, 64);
  ck_assert_msg(PetscAbsReal(values[0] - refined) <= 1e-6 * PetscAbsReal(refined), "morse origin cell %.15g, refined %.15g", (double)values[0], (double)refined);
  GF_CK(GFInteractionDestroy(&w));
}
END_TEST

/* grad W = b w'(r) x/r matches central differences of W for every kernel. */
START_TEST(test_gradients)
{
  const char     *kernels[] = {"quadratic", "newtonian", "log_quadratic", "attractive_repulsive -interaction_params 3,0.5", "gaussian", "morse"};
  const PetscReal x[3]      = {0.37, -0.52, 0.29};

  for (size_t k = 0; k < sizeof(kernels) / sizeof(kernels[0]); k++) {
    for (PetscInt dim = 1; dim <= 3; dim++) {
      char          options[256];
      GFInteraction w;
      PetscReal     grad[3];

      PetscSNPrintf(options, sizeof(options), "-interaction %s -interaction_strength 1.3", kernels[k]);
      GF_CK(InteractionFromOptions(options, dim, GF_BC_NOFLUX, &w));
      GFInteractionValue(w, x, grad);
      for (PetscInt a = 0; a < dim; a++) {
        PetscReal xp[3] = {x[0], x[1], x[2]}, xm[3] = {x[0], x[1], x[2]}, fd;
        xp[a] += 1e-6;
        xm[a] -= 1e-6;
        fd = (GFInteractionValue(w, xp, NULL) - GFInteractionValue(w, xm, NULL)) / 2e-6;
        ck_assert_msg(PetscAbsReal(fd - grad[a]) <= 1e-7 * PetscMax(1, PetscAbsReal(fd)), "%s %dD axis %d: grad %g, difference %g", kernels[k], (int)dim, (int)a, (double)grad[a], (double)fd);
      }
      GF_CK(GFInteractionDestroy(&w));
    }
  }
}
END_TEST

/* Case 7: parameters out of range, a kernel not integrable in the dimension, a kernel that cannot be periodised. */
START_TEST(test_bad_kernels)
{
  const struct {
    const char *options;
    PetscInt    dim;
    GFBoundary  bc;
    const char *message;
  } cases[] = {
      {"-interaction coulomb", 2, GF_BC_NOFLUX, "-interaction coulomb: unknown interaction kernel; valid are"},
      {"-interaction attractive_repulsive -interaction_params 1,2", 2, GF_BC_NOFLUX, "attractive_repulsive needs a > b"},
      {"-interaction attractive_repulsive -interaction_params 2,-1.5", 1, GF_BC_NOFLUX, "the repulsion r^b/b is not integrable at 0 in 1D: attractive_repulsive needs b > -1"},
      {"-interaction attractive_repulsive -interaction_params 2", 2, GF_BC_NOFLUX, "-interaction_params has 1 values, -interaction attractive_repulsive takes 2"},
      {"-interaction gaussian -interaction_params -1", 2, GF_BC_NOFLUX, "the gaussian kernel needs a positive width"},
      {"-interaction morse -interaction_params 1,0,1,1", 2, GF_BC_NOFLUX, "morse needs C_a >= 0, l_a > 0"},
      {"-interaction newtonian", 2, GF_BC_PERIODIC, "-interaction newtonian with -bc periodic: the kernel does not decay at infinity"},
      {"-interaction quadratic", 1, GF_BC_PERIODIC, "-interaction quadratic with -bc periodic"},
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    GFInteraction w = NULL;
    GF_ASSERT_ERROR(InteractionFromOptions(cases[c].options, cases[c].dim, cases[c].bc, &w), PETSC_ERR_USER_INPUT, cases[c].message);
    GF_CK(GFInteractionDestroy(&w));
  }
}
END_TEST

static Suite *MakeSuite(void)
{
  Suite *s = suite_create("interactions");
  TCase *t = tcase_create("interactions");
  tcase_set_timeout(t, 300);
  tcase_add_test(t, test_fft_equals_direct);
  tcase_add_test(t, test_origin_cells);
  tcase_add_test(t, test_gradients);
  tcase_add_test(t, test_bad_kernels);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
