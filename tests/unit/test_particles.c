/*
  particles: the same particles on any number of ranks; Euler-Maruyama moments of the
  Ornstein-Uhlenbeck process; moments, pair sums and particle-mesh agree; deposits keep
  the mass; walls; SVGD with the bilinear kernel follows its Gaussian moment ODE for every N;
  refusals.
*/
#include "gftest.h"
#include "../../src/particles/particles.h"

/* A set-up particle system on comm from the options (the test options replace the database). */
static GFParticles MakeParticles(MPI_Comm comm, const char options[])
{
  GFParticles p;

  GFTestSetOptions(options);
  GF_CK(GFParticlesCreate(comm, &p));
  GF_CK(GFParticlesSetFromOptions(p));
  GF_CK(GFParticlesSetUp(p));
  return p;
}

/* Every particle's position (n x dim) on every rank, in global order. */
static PetscReal *AllPositions(GFParticles p)
{
  const PetscReal *x;
  PetscReal       *all;
  PetscInt         nlocal, n;

  GF_CK(GFParticlesGetPositions(p, &nlocal, &n, &x));
  ck_assert(nlocal == p->nlocal && n == p->n);
  GF_CK(PetscMalloc1((size_t)n * p->dim, &all));
  GF_CK(GFParticlesGather(p, x, all));
  return all;
}

/*
  Runs on all ranks and on each rank alone give the same particles: bit for bit where the
  sums are direct (independent particles, moments, pair sums, SVGD), to 1e-12 by
  particle-mesh (its FFT depends on the ranks).
*/
START_TEST(test_same_particles_on_any_ranks)
{
  const struct {
    const char *options;
    PetscReal   tolerance;
  } cases[] = {
      {"-model fokker_planck -potential double_well -dim 2 -init_variance 0.5", 0},
      {"-model mckean_vlasov -potential quadratic -interaction quadratic -interaction_strength 0.5", 0},
      {"-model mckean_vlasov -potential quadratic -interaction morse -dim 2 -da_grid_x 32 -da_grid_y 32", 0},
      {"-model mckean_vlasov -potential quadratic -interaction gaussian -interaction_params 0.7 -particles_interaction mesh -da_grid_x 64", 1e-12},
      {"-model svgd -potential quadratic -kernel gaussian -dim 2 -da_grid_x 32 -da_grid_y 32", 0},
      {"-model svgd -potential quadratic -kernel bilinear -dim 3 -da_grid_x 16 -da_grid_y 16 -da_grid_z 16", 0},
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    char        options[512];
    GFParticles distributed, alone;
    PetscReal  *a, *b, diff = 0;
    PetscSNPrintf(options, sizeof(options), "%s -particles_n 301 -ts_max_time 0.2 -particles_dt 0.01 -particles_seed 7", cases[c].options);
    PetscInt  n, steps;
    PetscReal t;

    /* one at a time: a live GFConvolution holds the only FFT of the process */
    PetscSNPrintf(options, sizeof(options), "%s -particles_n 301 -ts_max_time 0.2 -particles_dt 0.01 -particles_seed 7", cases[c].options);
    distributed = MakeParticles(PETSC_COMM_WORLD, options);
    GF_CK(GFParticlesAdvance(distributed, 0.2));
    a = AllPositions(distributed);
    n = distributed->n * distributed->dim;
    GF_CK(GFParticlesGetTime(distributed, &t, &steps));
    ck_assert_msg(t == 0.2, "%s: the run stopped at t = %.17g, not on 0.2", cases[c].options, (double)t);
    GF_CK(GFParticlesDestroy(&distributed));
    alone = MakeParticles(PETSC_COMM_SELF, options);
    GF_CK(GFParticlesAdvance(alone, 0.2));
    b = AllPositions(alone);
    GF_CK(GFParticlesDestroy(&alone));
    for (PetscInt k = 0; k < n; k++) diff = PetscMax(diff, PetscAbsReal(a[k] - b[k]));
    GF_CK(PetscFree(a));
    GF_CK(PetscFree(b));
    ck_assert_msg(diff <= cases[c].tolerance, "%s: positions differ by %g between ranks and one rank", cases[c].options, (double)diff);
    ck_assert_msg(steps == 20, "%s: %d steps, want 20", cases[c].options, (int)steps);
  }
}
END_TEST

/*
  Euler-Maruyama on dX = -a (X - c) dt + sqrt(2 sigma) dB keeps Gaussians Gaussian with
  m_{k+1} = c + (1 - a dt)(m_k - c), v_{k+1} = (1 - a dt)^2 v_k + 2 sigma dt: the particles'
  mean and variance at t = 1 (dt = 0.02, 4 x 10^4 particles, 2D, a = 1 and 3) lie within 4
  standard errors of these.
*/
START_TEST(test_euler_maruyama_moments)
{
  const PetscReal a[2] = {1, 3}, c[2] = {0.5, -1}, sigma = 0.7, dt = 0.02, m0[2] = {2, 0}, v0[2] = {0.3, 1.5};
  GFParticles     p = MakeParticles(
          PETSC_COMM_WORLD,
          "-model fokker_planck -dim 2 -potential quadratic -potential_stiffness 1,3 -potential_center 0.5,-1 -diffusion 0.7 -init_mean 2,0 -init_variance 0.3,1.5 -domain_lower -9 -domain_upper 9 -particles_n 40000 -ts_max_time 1 -particles_dt 0.02");
  PetscReal *x, mean[3], cov[3][3];

  GF_CK(GFParticlesAdvance(p, 1));
  x = AllPositions(p);
  GF_CK(GFPointMoments(PETSC_COMM_SELF, 2, p->n, x, mean, cov));
  for (PetscInt k = 0; k < 2; k++) {
    PetscReal m = m0[k], v = v0[k];
    for (int s = 0; s < 50; s++) {
      m = c[k] + (1 - a[k] * dt) * (m - c[k]);
      v = PetscSqr(1 - a[k] * dt) * v + 2 * sigma * dt;
    }
    ck_assert_msg(PetscAbsReal(mean[k] - m) <= 4 * PetscSqrtReal(v / p->n), "axis %d: mean %.6f, Euler-Maruyama %.6f (standard error %.1e)", (int)k, (double)mean[k], (double)m, (double)PetscSqrtReal(v / p->n));
    ck_assert_msg(PetscAbsReal(cov[k][k] - v) <= 4 * v * PetscSqrtReal(2.0 / p->n), "axis %d: variance %.6f, Euler-Maruyama %.6f", (int)k, (double)cov[k][k], (double)v);
  }
  ck_assert_msg(PetscAbsReal(cov[0][1]) <= 4 * PetscSqrtReal(cov[0][0] * cov[1][1] / p->n), "independent axes correlate: %g", (double)cov[0][1]);
  GF_CK(PetscFree(x));
  GF_CK(GFParticlesDestroy(&p));
}
END_TEST

/* The velocities of this rank's particles into v (nlocal x dim). */
static void Velocities(GFParticles p, PetscReal v[])
{
  GF_CK(GFParticlesComputeVelocity(p, p->x, v));
}

/*
  Three ways to the interaction sum agree: W = b |x|^2/2 by moments against the pair sums of
  W = -b l^2 exp(-|x|^2/(2 l^2)) with l = 1000, which is b |x|^2/2 to O(|x|^2 / l^2); and
  particle-mesh against direct pair sums for a smooth kernel, second order in h.
*/
START_TEST(test_interaction_sums_agree)
{
  const char  base[] = "-model mckean_vlasov -potential quadratic -particles_n 500 -init_variance 1.5 -domain_lower -8 -domain_upper 8";
  char        options[512];
  GFParticles moments, pairs;
  PetscReal  *v1, *v2, diff = 0, scale = 0;

  PetscSNPrintf(options, sizeof(options), "%s -dim 2 -interaction quadratic -interaction_strength 0.8", base);
  moments = MakeParticles(PETSC_COMM_WORLD, options);
  PetscSNPrintf(options, sizeof(options), "%s -dim 2 -interaction gaussian -interaction_params 1000 -interaction_strength 8e5", base);
  pairs = MakeParticles(PETSC_COMM_WORLD, options);
  ck_assert(moments->dynamics.coupling == GF_PARTICLE_COUPLING_MOMENTS && pairs->dynamics.coupling == GF_PARTICLE_COUPLING_PAIRS);
  GF_CK(PetscMalloc2(moments->nlocal * 2, &v1, moments->nlocal * 2, &v2));
  Velocities(moments, v1);
  Velocities(pairs, v2);
  for (PetscInt k = 0; k < moments->nlocal * 2; k++) {
    diff  = PetscMax(diff, PetscAbsReal(v1[k] - v2[k]));
    scale = PetscMax(scale, PetscAbsReal(v1[k]));
  }
  GF_CK(MPI_Allreduce(MPI_IN_PLACE, &diff, 1, MPIU_REAL, MPIU_MAX, PETSC_COMM_WORLD));
  GF_CK(MPI_Allreduce(MPI_IN_PLACE, &scale, 1, MPIU_REAL, MPIU_MAX, PETSC_COMM_WORLD));
  ck_assert_msg(diff <= 1e-4 * scale, "moments against pair sums: %g (velocities up to %g)", (double)diff, (double)scale);
  GF_CK(PetscFree2(v1, v2));
  GF_CK(GFParticlesDestroy(&moments));
  GF_CK(GFParticlesDestroy(&pairs));

  for (PetscInt dim = 1; dim <= 2; dim++) {
    PetscReal error[2];
    for (PetscInt level = 0; level < 2; level++) {
      const PetscInt cells = (dim == 1 ? 128 : 32) << level;
      GFParticles    direct, mesh;
      PetscReal     *vd, *vm;
      PetscSNPrintf(options, sizeof(options), "%s -dim %d -da_grid_x %d -da_grid_y %d -interaction gaussian -interaction_params 0.8 -interaction_strength 2", base, (int)dim, (int)cells, (int)cells);
      direct = MakeParticles(PETSC_COMM_WORLD, options);
      PetscSNPrintf(options + strlen(options), sizeof(options) - strlen(options), " -particles_interaction mesh");
      mesh = MakeParticles(PETSC_COMM_WORLD, options);
      ck_assert(mesh->interaction == GF_PARTICLE_INTERACTION_MESH && direct->interaction == GF_PARTICLE_INTERACTION_DIRECT);
      GF_CK(PetscMalloc2(direct->nlocal * dim, &vd, direct->nlocal * dim, &vm));
      Velocities(direct, vd);
      Velocities(mesh, vm);
      error[level] = 0;
      for (PetscInt k = 0; k < direct->nlocal * dim; k++) error[level] = PetscMax(error[level], PetscAbsReal(vd[k] - vm[k]));
      GF_CK(MPI_Allreduce(MPI_IN_PLACE, &error[level], 1, MPIU_REAL, MPIU_MAX, PETSC_COMM_WORLD));
      GF_CK(PetscFree2(vd, vm));
      GF_CK(GFParticlesDestroy(&direct));
      GF_CK(GFParticlesDestroy(&mesh));
    }
    ck_assert_msg(error[0] < 0.05 && error[0] / error[1] > 3 && error[0] / error[1] < 5.5, "%dD particle-mesh against pair sums: error %.3e on the coarse grid, %.3e on the fine one (ratio %.2f, want about 4)", (int)dim, (double)error[0],
                  (double)error[1], (double)(error[0] / error[1]));
  }
}
END_TEST

/* Cloud-in-cell deposits keep the mass to round-off, with particles beyond the walls' cell centres (folded back) and on periodic boxes (wrapped). */
START_TEST(test_deposit_keeps_mass)
{
  const char *walls[] = {"noflux", "periodic"};

  for (int w = 0; w < 2; w++) {
    char        options[512];
    GFParticles p;
    PetscReal   mass;

    PetscSNPrintf(options, sizeof(options), "-model mckean_vlasov -interaction gaussian -particles_interaction mesh -dim 2 -da_grid_x 16 -da_grid_y 12 -bc %s -init uniform -particles_n 1000 -init_mass 2.5", walls[w]);
    p = MakeParticles(PETSC_COMM_WORLD, options);
    for (PetscInt i = 0; i < PetscMin(p->nlocal, 4); i++) {
      p->x[2 * i]     = i % 2 ? p->grid->upper[0] - 1e-3 : p->grid->lower[0];
      p->x[2 * i + 1] = i < 2 ? p->grid->lower[1] + 0.1 * p->grid->h[1] : p->grid->upper[1];
    }
    GF_CK(GFParticlesMeshDeposit(p, p->x, p->mesh_density));
    GF_CK(GFGridIntegrate(p->grid, p->mesh_density, &mass));
    ck_assert_msg(PetscAbsReal(mass - 2.5) <= 1e-13, "-bc %s: deposited mass %.17g, want 2.5", walls[w], (double)mass);
    GF_CK(GFParticlesDestroy(&p));
  }
}
END_TEST

/* No-flux walls reflect, periodic walls wrap, positions far outside included. */
START_TEST(test_walls)
{
  struct _p_GFGrid g;
  PetscReal        x[6] = {-0.25, 1.25, 3.5, -2.25, 0.5, 1};

  PetscMemzero(&g, sizeof(g));
  g.dim      = 1;
  g.lower[0] = 0;
  g.upper[0] = 1;
  g.bc       = GF_BC_NOFLUX;
  GFParticlesApplyWalls(&g, 6, x);
  {
    const PetscReal reflected[6] = {0.25, 0.75, 0.5, 0.25, 0.5, 1};
    for (int k = 0; k < 6; k++) ck_assert_msg(PetscAbsReal(x[k] - reflected[k]) < 1e-15, "reflection %d: %g, want %g", k, (double)x[k], (double)reflected[k]);
  }
  {
    PetscReal       y[4]       = {-0.25, 1.25, 3.5, -2.25};
    const PetscReal wrapped[4] = {0.75, 0.25, 0.5, 0.75};
    g.bc                       = GF_BC_PERIODIC;
    GFParticlesApplyWalls(&g, 4, y);
    for (int k = 0; k < 4; k++) ck_assert_msg(PetscAbsReal(y[k] - wrapped[k]) < 1e-15, "wrap %d: %g, want %g", k, (double)y[k], (double)wrapped[k]);
  }
}
END_TEST

/* The bilinear SVGD moment ODE (mu, Sigma)' = M(-A(mu - b) + N mu, N Sigma + Sigma N^T), N = I - A Sigma - A (mu - b) mu^T, A diagonal: RK4 with 4000 steps per unit time. */
static void MomentODE(PetscInt d, const PetscReal stiffness[], const PetscReal center[], PetscReal mass, PetscReal t, PetscReal mu[], PetscReal S[][3])
{
  const PetscInt  steps = (PetscInt)(4000 * t) + 1;
  const PetscReal h     = t / steps;

  for (PetscInt s = 0; s < steps; s++) {
    PetscReal y[12], k[4][12], tmp[12];
    for (PetscInt a = 0; a < 3; a++) {
      y[a] = mu[a];
      for (PetscInt b = 0; b < 3; b++) y[3 + 3 * a + b] = S[a][b];
    }
    for (int stage = 0; stage < 4; stage++) {
      const PetscReal *Y = stage ? tmp : y;
      PetscReal        N[3][3];
      for (PetscInt a = 0; a < d; a++)
        for (PetscInt b = 0; b < d; b++) N[a][b] = (a == b) - stiffness[a] * Y[3 + 3 * a + b] - stiffness[a] * (Y[a] - center[a]) * Y[b];
      PetscMemzero(k[stage], sizeof(k[stage]));
      for (PetscInt a = 0; a < d; a++) {
        k[stage][a] = -stiffness[a] * (Y[a] - center[a]);
        for (PetscInt b = 0; b < d; b++) k[stage][a] += N[a][b] * Y[b];
        k[stage][a] *= mass;
        for (PetscInt b = 0; b < d; b++) {
          PetscReal v = 0;
          for (PetscInt e = 0; e < d; e++) v += N[a][e] * Y[3 + 3 * e + b] + Y[3 + 3 * a + e] * N[b][e];
          k[stage][3 + 3 * a + b] = mass * v;
        }
      }
      for (int q = 0; q < 12; q++) tmp[q] = y[q] + (stage < 2 ? 0.5 : 1) * h * k[stage][q];
    }
    for (PetscInt a = 0; a < 3; a++) {
      mu[a] += h / 6 * (k[0][a] + 2 * k[1][a] + 2 * k[2][a] + k[3][a]);
      for (PetscInt b = 0; b < 3; b++) S[a][b] += h / 6 * (k[0][3 + 3 * a + b] + 2 * k[1][3 + 3 * a + b] + 2 * k[2][3 + 3 * a + b] + k[3][3 + 3 * a + b]);
    }
  }
}

/*
  SVGD with the bilinear kernel moves the particles' empirical mean and covariance exactly
  by the Gaussian moment ODE, for every N (3, 10, 100, 1000): with Heun's steps the
  difference at t = 1 is the time-stepping error, second order: it falls by 4 (3.6 to 4.4)
  from dt = 0.005 to 0.0025 and is below 1e-5 at dt = 0.0025.
*/
START_TEST(test_svgd_bilinear_moment_ode)
{
  const PetscInt  counts[]     = {3, 10, 100, 1000};
  const PetscReal stiffness[3] = {1, 4, 0}, center[3] = {1, 0, 0};

  for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
    PetscReal error[3];
    for (int level = 0; level < 3; level++) {
      char        options[512];
      GFParticles p;
      PetscReal  *x, mu[3] = {0, 0, 0}, S[3][3] = {{0}}, mean[3], cov[3][3];
      PetscSNPrintf(options, sizeof(options),
                    "-model svgd -kernel bilinear -potential quadratic -potential_stiffness 1,4 -potential_center 1,0 -dim 2 -da_grid_x 32 -da_grid_y 32 -domain_lower -6,-5 -domain_upper 7,5 -init_mean 0,1 -init_variance 2,0.5 -particles_n %d "
                    "-ts_max_time 1 -particles_dt %g -init_mass 1.3",
                    (int)counts[c], 0.01 / (1 << level));
      p = MakeParticles(PETSC_COMM_WORLD, options);
      x = AllPositions(p);
      GF_CK(GFPointMoments(PETSC_COMM_SELF, 2, p->n, x, mu, S));
      GF_CK(PetscFree(x));
      MomentODE(2, stiffness, center, 1.3, 1, mu, S);
      GF_CK(GFParticlesAdvance(p, 1));
      x = AllPositions(p);
      GF_CK(GFPointMoments(PETSC_COMM_SELF, 2, p->n, x, mean, cov));
      error[level] = 0;
      for (PetscInt a = 0; a < 2; a++) {
        error[level] = PetscMax(error[level], PetscAbsReal(mean[a] - mu[a]));
        for (PetscInt b = 0; b < 2; b++) error[level] = PetscMax(error[level], PetscAbsReal(cov[a][b] - S[a][b]));
      }
      GF_CK(PetscFree(x));
      GF_CK(GFParticlesDestroy(&p));
    }
    ck_assert_msg(error[2] < 1e-5 && error[1] / error[2] > 3.6 && error[1] / error[2] < 4.4, "N = %d: moments off the ODE by %.3e, %.3e, %.3e at dt = 0.01, 0.005, 0.0025 (ratios %.2f, %.2f)", (int)counts[c], (double)error[0], (double)error[1],
                  (double)error[2], (double)(error[0] / error[1]), (double)(error[1] / error[2]));
  }
}
END_TEST

/*
  Initial samples: Gaussian data exactly, and other data from their cell averages (here -init
  exact) as a histogram, whose variance exceeds the density's by h^2/6 per axis (h^2/12 of the
  cell centres' Sheppard excess and h^2/12 of the uniform spread in a cell; 0.042 here, 16
  standard errors).
*/
START_TEST(test_initial_samples)
{
  const char *inits[] = {"-init gaussian", "-init exact -init_time 0.5"};

  for (int k = 0; k < 2; k++) {
    char        options[512];
    GFParticles p;
    /* the Ornstein-Uhlenbeck law at t = 0.5: mean e^-t, variance 0.4 e^-2t + 1 - e^-2t */
    const PetscReal m = k ? PetscExpReal(-0.5) : 1, v = k ? 0.4 * PetscExpReal(-1) + 1 - PetscExpReal(-1) : 0.4, hsq = k ? PetscSqr(12.0 / 24) / 6 : 0;
    PetscReal      *x, mean[3], cov[3][3];
    PetscSNPrintf(options, sizeof(options), "-model fokker_planck -potential quadratic -init_mean 1 -init_variance 0.4 %s -da_grid_x 24 -domain_lower -6 -domain_upper 6 -particles_n 200000", inits[k]);
    p = MakeParticles(PETSC_COMM_WORLD, options);
    x = AllPositions(p);
    GF_CK(GFPointMoments(PETSC_COMM_SELF, 1, p->n, x, mean, cov));
    ck_assert_msg(PetscAbsReal(mean[0] - m) <= 4 * PetscSqrtReal(v / p->n) && PetscAbsReal(cov[0][0] - v - hsq) <= 4 * v * PetscSqrtReal(2.0 / p->n), "%s: mean %.5f (%.5f), variance %.5f (%.5f)", inits[k], (double)mean[0], (double)m,
                  (double)cov[0][0], (double)(v + hsq));
    GF_CK(PetscFree(x));
    GF_CK(GFParticlesDestroy(&p));
  }
}
END_TEST

/* Models and options without a particle system are refused with the reason. */
START_TEST(test_refusals)
{
  const struct {
    const char *options, *message;
  } cases[] = {
      {"-model porous_medium", "-model porous_medium has no particle system"},
      {"-model mckean_vlasov -diffusion_exponent 2", "nonlinear diffusion (-diffusion_exponent > 1) has no Langevin particle system"},
      {"-model fokker_planck -particles_interaction mesh", "-particles_interaction mesh: model fokker_planck has no interaction kernel W"},
      {"-particles_n 0", "-particles_n 0: a particle system needs at least one particle"},
      {"-particles_dt -1", "-particles_dt -1 must be positive"},
      {"-particles_interaction fast", "-particles_interaction fast: valid are auto, direct, mesh"},
      {"-ts_max_time 1 -init_time 2", "is before the start time 2"},
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    GFParticles    p;
    PetscErrorCode ierr;
    GFTestSetOptions(cases[c].options);
    GF_CK(GFParticlesCreate(PETSC_COMM_WORLD, &p));
    ierr = GFParticlesSetFromOptions(p);
    if (!ierr) ierr = GFParticlesSetUp(p);
    GF_ASSERT_ERROR(ierr, PETSC_ERR_USER_INPUT, cases[c].message);
    GF_CK(GFParticlesDestroy(&p));
  }
}
END_TEST

static Suite *MakeSuite(void)
{
  Suite *s = suite_create("particles");
  TCase *t = tcase_create("particles");

  tcase_add_test(t, test_same_particles_on_any_ranks);
  tcase_add_test(t, test_euler_maruyama_moments);
  tcase_add_test(t, test_interaction_sums_agree);
  tcase_add_test(t, test_deposit_keeps_mass);
  tcase_add_test(t, test_walls);
  tcase_add_test(t, test_svgd_bilinear_moment_ode);
  tcase_add_test(t, test_initial_samples);
  tcase_add_test(t, test_refusals);
  tcase_set_timeout(t, 300);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
