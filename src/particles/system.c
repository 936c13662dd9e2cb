/*
  GFParticles: the N-particle system whose mean-field limit is the configured model,

      dX_i = v_i(X) dt + sqrt(2 sigma) dB_i,   i = 1 .. N, each particle of mass M / N,

  with the velocity v of the model's particle system (the same V, W and K as the PDE,
  velocity.c): -grad V (fokker_planck), -grad V - (1/N) sum_j grad W(X_i - X_j)
  (mckean_vlasov), the SVGD update (svgd, sigma = 0). Noisy systems take Euler-Maruyama steps,
  deterministic ones Heun's (second order). Walls: no-flux boxes reflect the particles
  (the particle picture of the zero-flux condition), periodic boxes wrap them.

  The run takes the PDE's problem (-options_file problems/NAME.yaml drives both): the
  grid, the model, the initial data (Gaussian and uniform data are sampled exactly, any
  other by its cell averages: a cell by its mass, a point uniformly in it), -ts_max_time
  and -output_interval, so the particle files land on the PDE's snapshot times. Random
  numbers are counter-based (random.c): particle i's noise at step k depends only on
  (seed, i, k), and the direct sums run in global order, so a run gives the same
  particles on any number of ranks (the particle-mesh sum only to round-off: its FFT
  differs with the rank count). Direct and moment sums hold the particles in blocks of
  ids; particle-mesh holds them by position (migrate.c), each rank those in its
  subdomain, and the particle files are written in id order either way.
*/
#include "particles.h"
#include <unistd.h>

static const char *const GFParticleInteractions[] = {"auto", "direct", "mesh"};

PetscLogEvent GF_EVENT_PARTICLES_MIGRATE, GF_EVENT_PARTICLES_UPDATE, GF_EVENT_PARTICLES_DEPOSIT, GF_EVENT_PARTICLES_CONVOLVE, GF_EVENT_PARTICLES_GRADIENT;

/* The particle phases' -log_view events, once per process. */
static PetscErrorCode GFParticlesRegisterEvents(void)
{
  static PetscBool registered = PETSC_FALSE;

  PetscFunctionBeginUser;
  if (registered) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscLogEventRegister("GFPartMigrate", PETSC_OBJECT_CLASSID, &GF_EVENT_PARTICLES_MIGRATE));
  PetscCall(PetscLogEventRegister("GFPartUpdate", PETSC_OBJECT_CLASSID, &GF_EVENT_PARTICLES_UPDATE));
  PetscCall(PetscLogEventRegister("GFPartDeposit", PETSC_OBJECT_CLASSID, &GF_EVENT_PARTICLES_DEPOSIT));
  PetscCall(PetscLogEventRegister("GFPartConvolve", PETSC_OBJECT_CLASSID, &GF_EVENT_PARTICLES_CONVOLVE));
  PetscCall(PetscLogEventRegister("GFPartGradient", PETSC_OBJECT_CLASSID, &GF_EVENT_PARTICLES_GRADIENT));
  registered = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFParticlesCreate(MPI_Comm comm, GFParticles *particles)
{
  GFParticles p;

  PetscFunctionBeginUser;
  PetscCall(GFParticlesRegisterEvents());
  PetscCall(PetscNew(&p));
  p->comm          = comm;
  p->n             = 1000;
  p->seed          = 1;
  p->mesh_above    = 20000;
  p->progress_mark = 0.1;
  p->exchange_comm = MPI_COMM_NULL;
  PetscCall(GFOutputOptionsDefault(&p->out));
  PetscCall(GFProblemCreate(comm, &p->problem));
  *particles = p;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Run the particle system of this problem (set from options or not) instead of the system's own; before GFParticlesSetFromOptions. */
PetscErrorCode GFParticlesSetProblem(GFParticles p, GFProblem problem)
{
  PetscFunctionBeginUser;
  PetscCheck(!p->set_up, p->comm, PETSC_ERR_ORDER, "GFParticlesSetProblem: the particles are already set up");
  PetscCall(GFProblemReference(problem));
  PetscCall(GFProblemDestroy(&p->problem));
  p->problem = problem;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The problem's name: the default output directory is output/NAME, next to the PDE run of the same problem. */
PetscErrorCode GFParticlesSetProblemName(GFParticles p, const char name[])
{
  PetscFunctionBeginUser;
  PetscCall(GFProblemSetName(p->problem, name));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The PDE's problem (grid, model, data, -ts_max_time), its -ts_dt and output options, then -particles_*. */
PetscErrorCode GFParticlesSetFromOptions(GFParticles p)
{
  PetscInt    interaction = GF_PARTICLE_INTERACTION_AUTO, seed = 1, replica = 0;
  PetscReal   max_time;
  PetscBool   set, n_set, seed_set;
  const char *name;

  PetscFunctionBeginUser;
  if (!p->problem->from_options) PetscCall(GFProblemSetFromOptions(p->problem));
  PetscCall(GFProblemGetTimeSpan(p->problem, NULL, &max_time));
  PetscCall(GFProblemGetName(p->problem, &name));
  PetscCall(GFOutputOptionsSetFromOptions(p->comm, name, &p->out));
  PetscCall(GFOptionsCheckReal(p->comm, "-ts_dt", GF_REAL_POSITIVE));
  PetscCall(PetscOptionsGetReal(NULL, NULL, "-ts_dt", &p->dt_max, NULL));
  PetscOptionsBegin(p->comm, NULL, "Particle system (gradflow particles)", "GFParticles");
  PetscCall(GFOptionsInt("-particles_n", "Number of particles N", "GFParticlesSetFromOptions", p->n, &p->n, &n_set, PETSC_MIN_INT, PETSC_MAX_INT));
  GFOptionsCheck(p->n >= 1, p->comm, PETSC_ERR_USER_INPUT, "-particles_n %" PetscInt_FMT ": a particle system needs at least one particle", p->n);
  PetscCall(GFOptionsInt("-particles_seed", "Seed of the noise and of the initial sample (an integer >= 0)", "GFParticlesSetFromOptions", seed, &seed, &seed_set, PETSC_MIN_INT, PETSC_MAX_INT));
  GFOptionsCheck(seed >= 0, p->comm, PETSC_ERR_USER_INPUT, "-particles_seed %" PetscInt_FMT ": the seed must be >= 0", seed);
  PetscCall(GFOptionsInt("-particles_replica", "Replica number: independent noise and initial sample for the same seed (gradflow compare -particle_replicas runs 0, 1, ...)", "GFParticlesSetFromOptions", replica, &replica, &set, PETSC_MIN_INT,
                         PETSC_MAX_INT));
  GFOptionsCheck(replica >= 0, p->comm, PETSC_ERR_USER_INPUT, "-particles_replica %" PetscInt_FMT ": the replica number must be >= 0", replica);
  p->seed_set = (PetscBool)(seed_set || set);
  PetscCall(GFOptionsString("-particles_init_file", "Particle file to start from (restart: its positions in row order as the ids, its time, step and seed)", "GFParticlesSetFromOptions", p->init_file, p->init_file, sizeof(p->init_file), NULL));
  p->n_set = n_set;
  p->seed  = GFRandomReplicaSeed((uint64_t)seed, replica);
  PetscCall(GFOptionsReal("-particles_max_time", "End time of the particle run (default -ts_max_time)", "GFParticlesSetFromOptions", max_time, &max_time, NULL, GF_REAL_ANY));
  PetscCall(GFOptionsReal("-particles_dt", "Particle time step (default -ts_dt, else 1/1000 of the run); steps land on the output times", "GFParticlesSetFromOptions", p->dt_max, &p->dt_max, &set, GF_REAL_ANY));
  GFOptionsCheck(!set || (p->dt_max > 0 && PetscIsNormalReal(p->dt_max)), p->comm, PETSC_ERR_USER_INPUT, "-particles_dt %.6g must be positive", (double)p->dt_max);
  PetscCall(GFOptionsChoice("-particles_interaction", "Interaction sums of mckean_vlasov: direct pair sums, particle-mesh (deposit, FFT, interpolate), or auto (mesh above -particles_mesh_above)", "GFParticlesSetFromOptions", GFParticleInteractions,
                            3, &interaction, NULL));
  PetscCall(GFOptionsInt("-particles_mesh_above", "-particles_interaction auto: particle-mesh above this many particles", "GFParticlesSetFromOptions", p->mesh_above, &p->mesh_above, NULL, 0, PETSC_MAX_INT));
  PetscOptionsEnd();
  PetscCheck(PetscIsNormalReal(max_time) || max_time == 0, p->comm, PETSC_ERR_USER_INPUT, "-particles_max_time %.6g is not a finite number", (double)max_time);
  p->t_end       = max_time;
  p->interaction = (GFParticleInteraction)interaction;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The initial density's cell averages in natural order, as cumulative cell masses (last = 1), on every rank. */
static PetscErrorCode GFParticlesInitialCDF(GFParticles p, PetscReal **cdf)
{
  const struct _p_GFGrid *g = p->grid;
  const PetscInt          m = g->cells[0] * g->cells[1] * g->cells[2];
  Vec                     rho0, all;
  const PetscScalar      *r;

  PetscFunctionBeginUser;
  PetscCall(GFProblemGetInitialDensity(p->problem, &rho0, NULL));
  PetscCall(GFGridGatherNatural(p->grid, rho0, &all));
  PetscCall(PetscMalloc1(m, cdf));
  PetscCall(VecGetArrayRead(all, &r));
  for (PetscInt c = 0; c < m; c++) (*cdf)[c] = (c ? (*cdf)[c - 1] : 0) + PetscMax(PetscRealPart(r[c]), 0);
  PetscCall(VecRestoreArrayRead(all, &r));
  for (PetscInt c = 0; c < m; c++) (*cdf)[c] /= (*cdf)[m - 1];
  PetscCall(VecDestroy(&all));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The initial positions, particle i from the stream (seed, i, step 0) whatever rank holds
  it: Gaussian data exactly (per-axis normals), uniform data uniformly on the box, any
  other data from its cell averages (the cell by inverting the cumulative masses, the
  point uniform in the cell).
*/
static PetscErrorCode GFParticlesSample(GFParticles p)
{
  const struct _p_GFGrid *g = p->grid;
  const PetscInt          d = p->dim, m = g->cells[0] * g->cells[1] * g->cells[2];
  const GFInitialData    *init;
  PetscReal              *cdf = NULL;

  PetscFunctionBeginUser;
  PetscCall(GFProblemGetInitialData(p->problem, &init));
  if (init->type != GF_INIT_GAUSSIAN && init->type != GF_INIT_UNIFORM) PetscCall(GFParticlesInitialCDF(p, &cdf));
  for (PetscInt i = 0; i < p->nlocal; i++) {
    const uint64_t index = (uint64_t)p->id[i];
    PetscReal     *xi    = p->x + d * i, r[4];
    GFRandomUniforms(p->seed, index, 0, GF_RANDOM_BLOCK_INITIAL, r);
    GFRandomUniforms(p->seed, index, 0, GF_RANDOM_BLOCK_INITIAL + 1, r + 2);
    if (init->type == GF_INIT_GAUSSIAN) {
      GFRandomNormals(p->seed, index, 0, GF_RANDOM_BLOCK_INITIAL + 2, r);
      GFRandomNormals(p->seed, index, 0, GF_RANDOM_BLOCK_INITIAL + 3, r + 2);
      for (PetscInt a = 0; a < d; a++) xi[a] = init->mean[a] + PetscSqrtReal(init->variance[a]) * r[a];
    } else if (init->type == GF_INIT_UNIFORM) {
      for (PetscInt a = 0; a < d; a++) xi[a] = g->lower[a] + r[a] * (g->upper[a] - g->lower[a]);
    } else {
      PetscInt lo = 0, hi = m - 1, idx[3];
      while (lo < hi) {
        const PetscInt mid = (lo + hi) / 2;
        if (cdf[mid] < r[3])
          lo = mid + 1;
        else
          hi = mid;
      }
      idx[0] = lo % g->cells[0];
      idx[1] = (lo / g->cells[0]) % g->cells[1];
      idx[2] = lo / (g->cells[0] * g->cells[1]);
      for (PetscInt a = 0; a < d; a++) xi[a] = g->lower[a] + (idx[a] + r[a]) * g->h[a];
    }
  }
  GFParticlesApplyWalls(g, p->nlocal * d, p->x);
  PetscCall(PetscFree(cdf));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Roles in a particle run's directory: its particle files, the PDE run of the same problem and comparisons beside them. */
static GFFileRole ParticleFileRole(const char name[], void *ctx)
{
  (void)ctx;
  if (GFIsParticleFile(name)) return GF_FILE_OLD;
  if (GFIsPDEFile(name) || GFIsCompareFile(name)) return GF_FILE_COMPANION;
  return GF_FILE_FOREIGN;
}

/* The run directory (checked, nothing changed) and particles.csv with its header (renamed into place at the commit): step,time,dt,mean_x..,cov_xx..., and risk for a network (mean_field_nn). */
static PetscErrorCode GFParticlesOpenOutput(GFParticles p)
{
  const char axes[] = "xyz";

  PetscFunctionBeginUser;
  PetscCall(GFRunDirectoryCreate(p->comm, p->out.dir, p->out.overwrite, ParticleFileRole, NULL, &p->rundir));
  PetscCall(GFRunDirectoryOpen(p->rundir, "particles.csv", "w", &p->csv));
  PetscCall(GFRunDirectoryFinish(p->rundir, "particles.csv"));
  if (!p->csv) PetscFunctionReturn(PETSC_SUCCESS);
  fprintf(p->csv, "step,time,dt");
  for (PetscInt a = 0; a < p->dim; a++) fprintf(p->csv, ",mean_%c", axes[a]);
  for (PetscInt a = 0; a < p->dim; a++)
    for (PetscInt b = a; b < p->dim; b++) fprintf(p->csv, ",cov_%c%c", axes[a], axes[b]);
  fprintf(p->csv, p->dynamics.type == GF_DYNAMICS_NEURAL ? ",risk\n" : "\n");
  fflush(p->csv);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Build the PDE's grid, model and initial density, check the model has a particle system, distribute and sample the particles. */
PetscErrorCode GFParticlesSetUp(GFParticles p)
{
  PetscMPIInt size, rank;
  PetscInt    start;

  const GFInitialData *init;
  GFModel              model;
  PetscReal           *x_file = NULL;

  PetscFunctionBeginUser;
  if (p->set_up) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(GFProblemSetUp(p->problem));
  PetscCall(GFProblemGetGrid(p->problem, &p->grid));
  PetscCall(GFProblemGetModel(p->problem, &model));
  PetscCall(GFProblemGetInitialData(p->problem, &init));
  p->dim = p->grid->dim;
  PetscCall(GFParticlesSetUpDynamics(p, model));
  p->t0 = init->time;
  if (p->init_file[0]) PetscCall(GFParticlesReadInitialFile(p, &x_file));
  p->t = p->t0;
  PetscCheck(p->t_end >= p->t0, p->comm, PETSC_ERR_USER_INPUT, "-particles_max_time %.6g (default -ts_max_time) is before the start time %.6g", (double)p->t_end, (double)p->t0);
  if (p->dt_max == 0) p->dt_max = p->t_end > p->t0 ? (p->t_end - p->t0) / 1000 : 1;
  p->weight = init->mass / p->n;

  {
    /* positions, stage, velocities and noise per particle, and every particle's position on every rank when the velocity couples them by pair sums */
    PetscMPIInt     ranks;
    const PetscReal gathered = p->dynamics.coupling == GF_PARTICLE_COUPLING_PAIRS && p->interaction != GF_PARTICLE_INTERACTION_MESH ? 2.0 * p->n * p->dim * 8 : 0;
    char            what[128];
    PetscCallMPI(MPI_Comm_size(p->comm, &ranks));
    PetscCall(PetscSNPrintf(what, sizeof(what), "-particles_n %" PetscInt_FMT ": the particle system of %" PetscInt_FMT " particles", p->n, p->n));
    PetscCall(GFMemoryCheck(p->comm, (PetscReal)p->n / ranks * (4 * p->dim + 1) * 8 + gathered, what, "use fewer particles or more ranks"));
  }
  p->nblock = PETSC_DECIDE;
  PetscCall(PetscSplitOwnership(p->comm, &p->nblock, &p->n));
  PetscCallMPI(MPI_Scan(&p->nblock, &start, 1, MPIU_INT, MPI_SUM, p->comm));
  p->start = start - p->nblock;
  PetscCallMPI(MPI_Comm_size(p->comm, &size));
  PetscCallMPI(MPI_Comm_rank(p->comm, &rank));
  p->rank = rank;
  PetscCheck((PetscInt64)p->n * p->dim < PETSC_MPI_INT_MAX, p->comm, PETSC_ERR_USER_INPUT, "-particles_n %" PetscInt_FMT ": %" PetscInt_FMT "D positions exceed the 2^31 entries of one MPI message", p->n, p->dim);
  PetscCall(PetscMalloc2(size, &p->counts, size, &p->displs));
  {
    const PetscMPIInt reals = (PetscMPIInt)(p->nblock * p->dim);
    PetscCallMPI(MPI_Allgather(&reals, 1, MPI_INT, p->counts, 1, MPI_INT, p->comm));
    p->displs[0] = 0;
    for (PetscMPIInt r = 1; r < size; r++) p->displs[r] = p->displs[r - 1] + p->counts[r - 1];
  }
  /* owned by position, the counts drift by the particles that cross the subdomains' faces: a little room saves most regrowths (and their copies' peak) */
  PetscCall(GFParticlesReserve(p, p->interaction == GF_PARTICLE_INTERACTION_MESH && size > 1 ? p->nblock + p->nblock / 32 + 16 : p->nblock, PETSC_FALSE));
  p->nlocal = p->nblock;
  for (PetscInt i = 0; i < p->nlocal; i++) p->id[i] = p->start + i;
  p->spare_index = -1;
  p->by_position = (PetscBool)(p->interaction == GF_PARTICLE_INTERACTION_MESH);
  if (p->by_position) {
    PetscCall(GFParticlesMeshSetUp(p));
  } else if (p->dynamics.coupling != GF_PARTICLE_COUPLING_NONE) {
    PetscCall(PetscMalloc2(p->n * p->dim, &p->all, p->n * p->dim, &p->all_extra));
  }
  if (x_file)
    PetscCall(GFParticlesSetInitialPositions(p, x_file));
  else
    PetscCall(GFParticlesSample(p));
  PetscCall(PetscFree(x_file));
  if (p->out.output) PetscCall(GFParticlesOpenOutput(p));
  p->is_tty = (PetscBool)isatty(fileno(stdout));
  p->set_up = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  One pass over this rank's particles at the end of a step or stage: y = x + dt v (Heun's
  second stage: w given, y = x + dt/2 (v + w)), plus with noise sqrt(2 sigma dt) z, then the
  walls; the largest drift step dt |v| per axis (reach); and, owned by position, the list of
  the particles that y takes to other ranks (moves: GF_MOVES_X or GF_MOVES_STAGE), for the
  next migration. y may be x.

  The noise: particle i's normals form one sequence z_0, z_1, ... (step k, axis a takes
  z_{k dim + a}), z_j the (j mod 2)-th of the two normals of the stream (seed, i, j / 2):
  both normals of a pair are used, the second one kept for the next axis or step (p->spare,
  valid for the index p->spare_index).
*/
static PetscErrorCode GFParticlesUpdate(GFParticles p, PetscReal dt, const PetscReal x[], const PetscReal v[], const PetscReal w[], PetscReal y[], PetscBool reach, GFMovesOf moves)
{
  const struct _p_GFGrid *g = p->grid;
  const PetscInt          d = p->dim, n = p->nlocal;
  const PetscReal         scale = p->scheme == GF_PARTICLE_SCHEME_EULER_MARUYAMA ? PetscSqrtReal(2 * p->sigma * dt) : 0, half = 0.5 * dt;
  const uint64_t          j0    = (uint64_t)p->step * (uint64_t)d;
  const PetscBool         noise = (PetscBool)(p->scheme == GF_PARTICLE_SCHEME_EULER_MARUYAMA), spare = (PetscBool)((j0 & 1) && p->spare_index == (PetscInt64)j0);
  const PetscReal         lo[3] = {p->mesh_keep_lower[0], p->mesh_keep_lower[1], p->mesh_keep_lower[2]}, hi[3] = {p->mesh_keep_upper[0], p->mesh_keep_upper[1], p->mesh_keep_upper[2]};
  PetscReal               largest[3] = {p->largest_reach[0], p->largest_reach[1], p->largest_reach[2]};
  PetscInt                nmove      = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(GF_EVENT_PARTICLES_UPDATE, 0, 0, 0, 0));
  for (PetscInt i = 0; i < n; i++) {
    PetscReal *yi = y + d * i, z[2] = {0, p->spare[i]};
    for (PetscInt a = 0; a < d; a++) {
      const PetscInt k = d * i + a;
      const uint64_t j = j0 + (uint64_t)a;

      yi[a] = w ? x[k] + half * (v[k] + w[k]) : x[k] + dt * v[k];
      if (noise) {
        if (!(j & 1) || (a == 0 && !spare)) {
          GFRandomNormals(p->seed, (uint64_t)p->id[i], j >> 1, GF_RANDOM_BLOCK_NOISE, z);
          p->spare[i] = z[1];
        }
        yi[a] += scale * z[j & 1];
      }
      if (reach) {
        const PetscReal r = dt * PetscAbsReal(v[k]);
        if (!(r <= largest[a])) largest[a] = PetscIsInfOrNanReal(r) ? PETSC_INFINITY : r;
      }
      yi[a] = GFParticleWall(g, a, yi[a]);
    }
    if (moves) GFParticleNoteOwner(p, lo, hi, i, yi, &nmove);
  }
  if (noise) p->spare_index = ((j0 + (uint64_t)d - 1) & 1) ? -1 : (PetscInt64)(j0 + (uint64_t)d);
  for (PetscInt a = 0; a < d; a++) p->largest_reach[a] = largest[a];
  if (moves) {
    p->nmove    = PetscMin(nmove, p->move_capacity);
    p->moves_of = nmove <= p->move_capacity ? moves : GF_MOVES_NONE;
  }
  PetscCall(PetscLogEventEnd(GF_EVENT_PARTICLES_UPDATE, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One step of length dt: Euler-Maruyama with noise, Heun without; particles owned by position first go to the ranks of their positions (and of their stage positions for Heun's second stage). */
static PetscErrorCode GFParticlesStep(GFParticles p, PetscReal dt)
{
  const PetscBool heun = (PetscBool)(p->scheme == GF_PARTICLE_SCHEME_HEUN);
  PetscMPIInt     size;
  PetscBool       track;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(p->comm, &size));
  track = (PetscBool)(p->by_position && size > 1);
  if (p->by_position) PetscCall(GFParticlesMigrate(p, PETSC_FALSE));
  PetscCall(GFParticlesComputeVelocity(p, p->x, p->v));
  if (heun) {
    PetscCall(GFParticlesUpdate(p, dt, p->x, p->v, NULL, p->x_stage, PETSC_FALSE, track ? GF_MOVES_STAGE : GF_MOVES_NONE));
    if (p->by_position) PetscCall(GFParticlesMigrate(p, PETSC_TRUE));
    PetscCall(GFParticlesComputeVelocity(p, p->x_stage, p->v_stage));
  }
  PetscCall(GFParticlesUpdate(p, dt, p->x, p->v, heun ? p->v_stage : NULL, p->x, PETSC_TRUE, track ? GF_MOVES_X : GF_MOVES_NONE));
  p->mesh_owned = NULL;
  p->step++;
  p->steps_taken++;
  p->dt = dt;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The progress line on rank 0: in place on a terminal (at most 5 a second), every 10% or 30 s otherwise. */
static PetscErrorCode GFParticlesMonitor(GFParticles p)
{
  const PetscReal fraction = p->t_end > p->t0 ? (p->t - p->t0) / (p->t_end - p->t0) : 1;
  PetscLogDouble  now;

  PetscFunctionBeginUser;
  if (!p->out.progress || p->rank) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscTime(&now));
  if (p->is_tty) {
    if (now - p->last_progress < 0.2 && fraction < 1) PetscFunctionReturn(PETSC_SUCCESS);
    printf("\r[%5.1f%%] t = %-10.4g step %-9" PetscInt64_FMT " %.3g particle steps/s   ", (double)(100 * fraction), (double)p->t, p->step, (double)(p->n * (PetscReal)p->steps_taken / PetscMax(now - p->wall_start, 1e-9)));
    if (fraction >= 1) printf("\n");
  } else {
    if (fraction < p->progress_mark && now - p->last_progress < 30) PetscFunctionReturn(PETSC_SUCCESS);
    while (p->progress_mark <= fraction) p->progress_mark += 0.1;
    printf("[%5.1f%%] t = %-10.4g step %-9" PetscInt64_FMT " (%.1f s)\n", (double)(100 * fraction), (double)p->t, p->step, now - p->wall_start);
  }
  fflush(stdout);
  p->last_progress = now;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  After a stretch of steps: every drift step shorter than the box (collective). Explicit
  schemes beyond their stability bound move particles by growing multiples of the box,
  which reflecting or periodic walls would fold back into it unnoticed.
*/
static PetscErrorCode GFParticlesCheckSteps(GFParticles p)
{
  PetscReal largest = 0;

  PetscFunctionBeginUser;
  for (PetscInt a = 0; a < p->dim; a++) largest = PetscMax(largest, p->largest_reach[a] / (p->grid->upper[a] - p->grid->lower[a]));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, &largest, 1, MPIU_REAL, MPIU_MAX, p->comm));
  PetscCheck(largest <= 1, p->comm, PETSC_ERR_NOT_CONVERGED, "a step before t = %.6g moved a particle by %.3g times the box (dt |v|): the step -particles_dt %.6g is beyond the explicit scheme's stability bound for this drift; take a smaller one",
             (double)p->t, (double)largest, (double)p->dt_max);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Step to t_stop exactly in equal steps of at most -particles_dt. */
PetscErrorCode GFParticlesAdvance(GFParticles p, PetscReal t_stop)
{
  const PetscReal t_start = p->t;
  PetscInt64      steps;

  PetscFunctionBeginUser;
  PetscCall(GFParticlesSetUp(p));
  t_stop = PetscMin(t_stop, p->t_end);
  if (t_stop <= t_start + 1e-12 * PetscMax(1, PetscAbsReal(t_stop))) PetscFunctionReturn(PETSC_SUCCESS);
  steps = (PetscInt64)PetscCeilReal((t_stop - t_start) / p->dt_max * (1 - 1e-12));
  for (PetscInt64 k = 1; k <= steps; k++) {
    PetscCall(GFParticlesStep(p, (t_stop - t_start) / steps));
    p->t = k == steps ? t_stop : t_start + k * (t_stop - t_start) / steps;
    if (p->step_hook) PetscCall(p->step_hook(p, p->step_hook_ctx));
    PetscCall(GFParticlesMonitor(p));
  }
  PetscCall(GFParticlesCheckSteps(p));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* particles_NNNNN.h5 (index) and its row of particles.csv. */
static PetscErrorCode GFParticlesWrite(GFParticles p, PetscInt index)
{
  char                     name[32], tmp[PETSC_MAX_PATH_LEN + 64], *options;
  PetscReal                mean[3], covariance[3][3], risk = 0;
  GFParticleFileAttributes attributes;
  const PetscReal         *blocks;

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(name, sizeof(name), "particles_%05d.h5", (int)index));
  PetscCall(GFRunDirectoryPaths(p->rundir, name, NULL, tmp, sizeof(tmp)));
  PetscCall(PetscOptionsGetAll(NULL, &options));
  attributes = (GFParticleFileAttributes){p->problem->model->type, options, (PetscInt64)p->seed, p->t, (PetscInt)p->step, p->grid};
  PetscCall(GFParticlesToBlocks(p, p->x, &blocks));
  PetscCall(GFParticleFileWriteAs(p->comm, tmp, p->n, p->dim, p->start, p->nblock, blocks, &attributes));
  PetscCall(PetscFree(options));
  PetscCall(GFRunDirectoryFinish(p->rundir, name));
  PetscCall(GFPointMoments(p->comm, p->dim, p->nlocal, p->x, mean, covariance));
  if (p->dynamics.type == GF_DYNAMICS_NEURAL) PetscCall(GFParticlesComputeRisk(p, p->x, &risk));
  if (p->csv) {
    fprintf(p->csv, "%" PetscInt64_FMT ",%.17g,%.17g", p->step, (double)p->t, (double)p->dt);
    for (PetscInt a = 0; a < p->dim; a++) fprintf(p->csv, ",%.17g", (double)mean[a]);
    for (PetscInt a = 0; a < p->dim; a++)
      for (PetscInt b = a; b < p->dim; b++) fprintf(p->csv, ",%.17g", (double)covariance[a][b]);
    if (p->dynamics.type == GF_DYNAMICS_NEURAL) fprintf(p->csv, ",%.17g", (double)risk);
    fprintf(p->csv, "\n");
    fflush(p->csv);
  }
  p->files_written++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The closing summary on stdout. */
static PetscErrorCode GFParticlesPrintSummary(GFParticles p, PetscLogDouble seconds)
{
  const char  axes[] = "xyz";
  PetscMPIInt size;
  PetscReal   mean[3], covariance[3][3];
  const char *how;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(p->comm, &size));
  PetscCall(GFPointMoments(p->comm, p->dim, p->nlocal, p->x, mean, covariance));
  if (p->dynamics.type == GF_DYNAMICS_NEURAL)
    how = "the neurons of a network, coupled through its outputs";
  else if (p->interaction == GF_PARTICLE_INTERACTION_MESH)
    how = "particle-mesh";
  else
    how = p->dynamics.coupling == GF_PARTICLE_COUPLING_PAIRS ? "direct pair sums" : (p->dynamics.coupling == GF_PARTICLE_COUPLING_MOMENTS ? "interaction by moments" : "independent");
  PetscCall(PetscPrintf(p->comm, "gradflow %s particles: %s, %" PetscInt_FMT "D, %" PetscInt_FMT " particles (%s), %d rank%s\n", GFVersion, p->problem->model->type, p->dim, p->n, how, size, size > 1 ? "s" : ""));
  PetscCall(PetscPrintf(p->comm, "  steps        %" PetscInt64_FMT " (%s, dt %.4g), final time %.6g, wall %.2f s, %.3g particle steps per second\n", p->steps_taken, p->scheme == GF_PARTICLE_SCHEME_HEUN ? "Heun" : "Euler-Maruyama", (double)p->dt_max,
                        (double)p->t, (double)seconds, (double)(seconds > 0 ? p->n * (PetscReal)p->steps_taken / seconds : 0)));
  PetscCall(PetscPrintf(p->comm, "  mean        "));
  for (PetscInt a = 0; a < p->dim; a++) PetscCall(PetscPrintf(p->comm, " %c %.8g", axes[a], (double)mean[a]));
  PetscCall(PetscPrintf(p->comm, "\n  variance    "));
  for (PetscInt a = 0; a < p->dim; a++) PetscCall(PetscPrintf(p->comm, " %c %.8g", axes[a], (double)covariance[a][a]));
  PetscCall(PetscPrintf(p->comm, "\n"));
  if (p->dynamics.type == GF_DYNAMICS_NEURAL) {
    PetscReal risk;
    PetscCall(GFParticlesComputeRisk(p, p->x, &risk));
    PetscCall(PetscPrintf(p->comm, "  risk         %.6e (the width-%" PetscInt_FMT " network's)\n", (double)risk, p->n));
  }
  if (p->out.output) PetscCall(PetscPrintf(p->comm, "  output       %s (%" PetscInt_FMT " particle files, particles.csv)\n", p->out.dir, p->files_written));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The run: particle files at the PDE's output times k * -output_interval and at the end, numbered like its snapshots. */
PetscErrorCode GFParticlesRun(GFParticles p)
{
  PetscInt       index = 0, next = 0;
  PetscLogDouble stop;

  PetscFunctionBeginUser;
  PetscCall(GFParticlesSetUp(p));
  PetscCall(PetscTime(&p->wall_start));
  p->last_progress = p->wall_start;
  if (p->out.interval > 0) {
    index = PetscMax((PetscInt)PetscFloorReal((p->t0 + 1e-9 * p->out.interval) / p->out.interval), 0);
    next  = index + 1;
  }
  if (p->out.output) PetscCall(GFParticlesWrite(p, index++));
  while (p->t < p->t_end - 1e-12 * PetscMax(1, PetscAbsReal(p->t_end))) {
    const PetscReal t_out = p->out.interval > 0 ? PetscMin(next * p->out.interval, p->t_end) : p->t_end;
    PetscCall(GFParticlesAdvance(p, t_out));
    if (p->rundir) PetscCall(GFRunDirectoryCommit(p->rundir)); /* the new run has taken good steps: now it replaces the old one */
    if (p->out.interval > 0 && p->t >= next * p->out.interval - 1e-12 * PetscMax(1, p->t)) next++;
    if (p->out.output) PetscCall(GFParticlesWrite(p, index++));
  }
  if (p->rundir) PetscCall(GFRunDirectoryCommit(p->rundir));
  PetscCall(PetscTime(&stop));
  if (p->out.summary) PetscCall(GFParticlesPrintSummary(p, stop - p->wall_start));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* This rank's particles: nlocal rows of dim coordinates, of n in all (a block of ids, or under particle-mesh the particles in this rank's subdomain, in no particular order). */
PetscErrorCode GFParticlesGetPositions(GFParticles p, PetscInt *nlocal, PetscInt *n, const PetscReal **x)
{
  PetscFunctionBeginUser;
  if (nlocal) *nlocal = p->nlocal;
  if (n) *n = p->n;
  if (x) *x = p->x;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFParticlesGetTime(GFParticles p, PetscReal *t, PetscInt *step)
{
  PetscFunctionBeginUser;
  if (t) *t = p->t;
  if (step) *step = (PetscInt)p->step;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Start and end time of the run. */
PetscErrorCode GFParticlesGetTimeSpan(GFParticles p, PetscReal *t0, PetscReal *t_end)
{
  PetscFunctionBeginUser;
  if (t0) *t0 = p->set_up ? p->t0 : p->problem->init.time;
  if (t_end) *t_end = p->t_end;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFParticlesDestroy(GFParticles *particles)
{
  GFParticles p = *particles;

  PetscFunctionBeginUser;
  if (!p) PetscFunctionReturn(PETSC_SUCCESS);
  if (p->csv) fclose(p->csv);
  PetscCall(GFRunDirectoryDestroy(&p->rundir));
  PetscCall(PetscFree6(p->x, p->x_stage, p->v, p->v_stage, p->spare, p->id));
  PetscCall(PetscFree2(p->all, p->all_extra));
  PetscCall(PetscFree2(p->counts, p->displs));
  PetscCall(GFParticlesMeshDestroy(p));
  PetscCall(GFProblemDestroy(&p->problem));
  PetscCall(PetscFree(p));
  *particles = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}
