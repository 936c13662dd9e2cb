/* The particles layer: metrics, the particle system and its velocity (it uses the problem layer and everything below: random streams in base, particle files in io). */
#ifndef GRADFLOW_PARTICLES_LAYER_H
#define GRADFLOW_PARTICLES_LAYER_H

#include "../problem/problem.h"
#include <stdint.h>

/*
  The PDE side of a comparison: a density's cell averages on a uniform box grid, taken
  piecewise constant and normalised to a probability, held whole on the calling rank.
*/
typedef struct {
  PetscInt   dim, cells[3], ncells; /* cells[a] = 1 for unused axes */
  PetscReal  lower[3], upper[3], h[3], cell_volume;
  GFBoundary bc;
  PetscReal *p;                         /* ncells cell probabilities (cell average * h^d / mass), natural order (x fastest), >= 0, sum 1 */
  PetscReal  mean[3], covariance[3][3]; /* moments of the density, Sheppard-corrected (as diagnostics.csv) */
  PetscReal  mmd_self;                  /* int int k q q of the MMD's kernel (set by the caller) */
} GFCompareDensity;

/*
  Metrics of one particle cloud (n particles of equal weight 1/n, all of them on the calling
  rank) against a GFCompareDensity; serial functions (the distributed ones below). Particles
  may lie outside the box (a user's file): they are then simply where they are, the density
  is zero there.
*/

/* The total of q's cell probabilities, checked >= 0 and positive. */
PETSC_INTERN PetscErrorCode GFCompareDensityTotal(const GFCompareDensity *, PetscReal *);
/* 1D: exact W1 (int |F_n - G| dx) and W2 ((int_0^1 (Q_n - Q_G)^2 du)^(1/2)) of the empirical measure of x_sorted (ascending) against q. */
PETSC_INTERN PetscErrorCode GFMetricWasserstein1D(const GFCompareDensity *q, PetscInt n, const PetscReal x_sorted[], PetscReal *w1, PetscReal *w2);
/* 1D: the sampling floor E[W1(P_n, q)] of n independent samples of q: int E|B(n, G(x))/n - G(x)| dx with de Moivre's binomial mean absolute deviation. */
PETSC_INTERN PetscErrorCode GFMetricW1Floor(const GFCompareDensity *q, PetscInt n, PetscReal *floor);
/* L1 distance h^d sum_c |count_c / (n h^d) - p_c / h^d| between the particles' histogram on q's cells and q, plus the mass of particles outside the box. */
PETSC_INTERN PetscErrorCode GFMetricL1(const GFCompareDensity *q, PetscInt n, const PetscReal x[], PetscReal *l1);
/* Sum over slices s = s_begin .. s_end-1 of W2^2 between the projections of the particles and of q onto direction theta_s (seeded, uniform on the sphere): values[s - s_begin]. */
PETSC_INTERN PetscErrorCode GFMetricSlicedW2(const GFCompareDensity *q, PetscInt n, const PetscReal x[], uint64_t seed, PetscInt s_begin, PetscInt s_end, PetscReal values[]);
/* The unit direction of slice s: a normalised standard normal vector of stream (seed, s). */
PETSC_INTERN void GFMetricSliceDirection(uint64_t seed, PetscInt s, PetscInt dim, PetscReal theta[]);
/* W2^2 between the projections onto theta (any nonzero vector) of the particles and of q, q's projection exact at knots at most |theta| min_a h_a / refinement apart (the sliced W2 takes 16). */
PETSC_INTERN PetscErrorCode GFMetricProjectedW2(const GFCompareDensity *q, PetscInt n, const PetscReal x[], const PetscReal theta[], PetscInt refinement, PetscReal *w2sq);
/*
  The same metrics for n particles spread over the ranks of comm, nlocal of them on this rank
  (x is sorted or overwritten where it says so), every sum exact or of integers: the same bits
  on any number of ranks. Collective; no rank holds more than its own particles and O(n / P)
  others (the sorts), besides the density.
*/
/* 1D W1 and W2 (x: the local positions, sorted here in place). */
PETSC_INTERN PetscErrorCode GFMetricWasserstein1DDistributed(MPI_Comm, const GFCompareDensity *, PetscInt, PetscInt, PetscReal[], PetscReal *, PetscReal *);
/* The histogram L1 distance. */
PETSC_INTERN PetscErrorCode GFMetricL1Distributed(MPI_Comm, const GFCompareDensity *, PetscInt, PetscInt, const PetscReal[], PetscReal *);
/* values[s] = W2^2 of the projections onto theta_s, s < slices. */
PETSC_INTERN PetscErrorCode GFMetricSlicedW2Distributed(MPI_Comm, const GFCompareDensity *, PetscInt, PetscInt, const PetscReal[], uint64_t, PetscInt, PetscReal[]);
/* Gaussian kernel k(x, y) = exp(-|x - y|^2 / (2 l^2)): int int k q q exactly (cell integrals by erf). */
PETSC_INTERN PetscErrorCode GFMetricMMDDensity(const GFCompareDensity *q, PetscReal bandwidth, PetscReal *qq);
/* values[i] = int k(x_i, y) q(y) dy for the n particles x (exactly, by erf per axis). */
PETSC_INTERN PetscErrorCode GFMetricMMDCross(const GFCompareDensity *q, PetscReal bandwidth, PetscInt n, const PetscReal x[], PetscReal values[]);
/* values[i - i_begin] = sum_j k(x_i, x_j) over all n particles j, for rows i = i_begin .. i_end-1. */
PETSC_INTERN PetscErrorCode GFMetricMMDPairs(PetscInt dim, PetscReal bandwidth, PetscInt n, const PetscReal x[], PetscInt i_begin, PetscInt i_end, PetscReal values[]);

/* Deterministic particle systems take Heun's method; noisy ones Euler-Maruyama. */
typedef enum { GF_PARTICLE_SCHEME_EULER_MARUYAMA, GF_PARTICLE_SCHEME_HEUN } GFParticleScheme;
/* How interacting particles sum their interactions. */
typedef enum { GF_PARTICLE_INTERACTION_AUTO, GF_PARTICLE_INTERACTION_DIRECT, GF_PARTICLE_INTERACTION_MESH } GFParticleInteraction;
/* Which positions the list of particles leaving a rank was found for (particle-mesh). */
typedef enum { GF_MOVES_NONE, GF_MOVES_X, GF_MOVES_STAGE } GFMovesOf;

struct _p_GFParticles {
  MPI_Comm              comm;
  GFProblem             problem; /* the PDE's grid, model, initial data and time span */
  GFGrid                grid;
  GFParticleDynamics    dynamics;                  /* the model's particle system */
  PetscInt              dim, n, nlocal;            /* this rank holds nlocal particles */
  PetscInt              start, nblock;             /* this rank's block of ids [start, start + nblock): its particles unless they are owned by position */
  PetscBool             by_position;               /* particle-mesh: each rank holds the particles in its subdomain (migrate.c) */
  PetscInt              capacity;                  /* of the per-particle arrays */
  PetscMPIInt          *counts, *displs;           /* of every rank's block, in reals, for the gathers */
  PetscReal            *x, *x_stage, *v, *v_stage; /* nlocal x dim */
  PetscReal            *spare;                     /* the second normal of each particle's last pair, of index spare_index (-1: none) */
  PetscInt             *id;                        /* each particle's global id: its noise is the stream (seed, id, step) */
  PetscInt64            spare_index;
  PetscReal            *all, *all_extra; /* n x dim: the gathered positions, and a second gathered field */
  PetscReal             weight;          /* mass of one particle: init mass / n */
  PetscReal             sigma;           /* dX = v dt + sqrt(2 sigma) dB */
  uint64_t              seed;
  GFParticleScheme      scheme;
  GFParticleInteraction interaction;                   /* as chosen: direct or mesh */
  char                  init_file[PETSC_MAX_PATH_LEN]; /* -particles_init_file: the particle file to start from ("" for none) */
  PetscBool             n_set, seed_set;               /* -particles_n, -particles_seed or -particles_replica given */
  PetscInt              mesh_above;                    /* -particles_interaction auto: mesh above this n */
  PetscReal             t, t0, t_end, dt_max, dt;      /* time, start, end, largest step, last step */
  PetscReal             largest_reach[3];              /* largest drift step dt |v| per axis so far (infinite for non-finite velocities) */
  PetscInt64            step;
  /* particle-mesh: the deposited density and the field on the grid, a box-stencil copy of its DMDA for the ghosted deposit and field, the field's gradient on the ghosted box */
  Vec          mesh_density, mesh_field, mesh_local;
  DM           mesh_da;
  PetscReal   *mesh_gradient;                          /* ghosted cells x dim, in the local array's order */
  PetscMPIInt *mesh_cell_rank[3];                      /* per axis and cell: its slab's rank coordinate times the rank stride of the axis (the owner of a cell is their sum) */
  PetscInt     mesh_ranks[3];                          /* ranks along each axis */
  PetscReal    mesh_keep_lower[3], mesh_keep_upper[3]; /* this rank's subdomain in coordinates (infinite at the walls): a particle inside stays without a look-up */
  /* migration: a private communicator and tag, per rank a count and an offset, the DMDA neighbours (the ranks of the subdomains around this one) */
  MPI_Comm     exchange_comm;
  PetscMPIInt  exchange_tag;
  PetscMPIInt *dest_count;
  PetscMPIInt  nneighbours, neighbours[26]; /* ascending */
  PetscBool    neighbours_all;              /* on every rank the neighbours are all the other ranks */
  /* the particles that are not this rank's (ascending indices and their owners), found for the positions moves_of (GF_MOVES_*) */
  PetscInt     nmove, move_capacity;
  PetscInt    *move_index;
  PetscMPIInt *move_rank;
  GFMovesOf    moves_of;
  /* the exchange's buffers, kept between steps, and an exchange under way (GFParticlesExchangeBegin, End): its record width, its sends to the neighbours, whether a rank sends beyond its neighbours (agreed by the last request) */
  PetscReal  *send_buffer, *recv_buffer;
  size_t      send_capacity, recv_capacity;
  PetscInt    exchange_width;
  MPI_Request exchange_requests[27];
  PetscMPIInt exchange_far;
  PetscBool   exchange_pending;
  PetscInt    mesh_deposited; /* particle-mesh: the first mesh_deposited positions of mesh_owned are already in mesh_local (deposited while their migration's messages travelled) */
  PetscReal  *blocks;         /* nblock x dim: this rank's block of ids for output */
  /* particle-mesh of particles outside this rank's subdomain (a caller's positions): those received by the last deposit, as (rank, index, x) */
  const PetscReal *mesh_owned; /* the positions a migration has just made this rank's (until they change) */
  PetscBool        mesh_foreign;
  PetscInt         mesh_nremote;
  PetscReal       *mesh_remote;
  /* output and monitoring */
  GFOutputOptions out;
  PetscBool       set_up, is_tty;
  PetscMPIInt     rank;
  PetscInt        files_written;
  FILE           *csv;    /* particles.csv (rank 0) */
  GFRunDirectory  rundir; /* the run directory: nothing of an earlier particle run changes before this one has taken its first steps */
  PetscLogDouble  wall_start, last_progress;
  PetscReal       progress_mark;
  PetscInt64      steps_taken;
  /* called after every step (the time already advanced), e.g. for stationary statistics */
  PetscErrorCode (*step_hook)(GFParticles, void *);
  void *step_hook_ctx;
};

/* The cell of coordinate y along axis a, clamped into the grid (a particle on the upper wall is in the last cell). */
static inline PetscInt GFParticleCell(const struct _p_GFGrid *g, PetscInt a, PetscReal y)
{
  const PetscInt i = (PetscInt)PetscFloorReal((y - g->lower[a]) / g->h[a]);

  return PetscMin(PetscMax(i, 0), g->cells[a] - 1);
}

/*
  Particle i at x, owned by position: appended to the list of those that leave (index, owner)
  when the cell of x is another rank's, counted in *nmove even beyond the list's capacity. A
  position inside this rank's coordinate box [lo, hi) (its subdomain, infinite at the walls)
  stays without the look-up; one on a face to within round-off may stay on either side of
  it, its stencil still one cell from the face, in the ghost layers. Otherwise the owner is
  the sum over the axes of the cells' slab offsets (ranks x fastest as in the DMDA).
*/
static inline void GFParticleNoteOwner(GFParticles p, const PetscReal lo[], const PetscReal hi[], PetscInt i, const PetscReal x[], PetscInt *nmove)
{
  PetscMPIInt owner = 0;
  int         here  = 1;

  for (PetscInt a = 0; a < p->dim; a++) here &= (x[a] >= lo[a]) & (x[a] < hi[a]);
  if (here) return;
  for (PetscInt a = 0; a < p->dim; a++) owner += p->mesh_cell_rank[a][GFParticleCell(p->grid, a, x[a])];
  if (owner == p->rank) return;
  if (*nmove < p->move_capacity) {
    p->move_index[*nmove] = i;
    p->move_rank[*nmove]  = owner;
  }
  (*nmove)++;
}

/* Coordinate x along axis a reflected (no-flux walls: folded by the period 2L of the mirrored box) or wrapped (periodic) into the box. */
static inline PetscReal GFParticleWall(const struct _p_GFGrid *g, PetscInt a, PetscReal x)
{
  const PetscReal L = g->upper[a] - g->lower[a];
  PetscReal       y = x - g->lower[a];

  if (y >= 0 && y <= L) return x;
  if (g->bc == GF_BC_PERIODIC) {
    y = PetscFmodReal(y, L);
    if (y < 0) y += L;
  } else {
    y = PetscFmodReal(y, 2 * L);
    if (y < 0) y += 2 * L;
    if (y > L) y = 2 * L - y;
  }
  return g->lower[a] + y;
}

/* -particles_init_file: this rank's block of the file's particles, its time, step and seed (restart.c). */
PETSC_INTERN PetscErrorCode GFParticlesReadInitialFile(GFParticles, PetscReal **);
PETSC_INTERN PetscErrorCode GFParticlesSetInitialPositions(GFParticles, const PetscReal[]);
/* -log_view's particle phases: migration, the position update (drift, noise, walls, the particles that leave), particle-mesh deposit, convolution and gradient (system.c). */
PETSC_INTERN PetscLogEvent GF_EVENT_PARTICLES_MIGRATE, GF_EVENT_PARTICLES_UPDATE, GF_EVENT_PARTICLES_DEPOSIT, GF_EVENT_PARTICLES_CONVOLVE, GF_EVENT_PARTICLES_GRADIENT;
/* Room for nlocal particles in the per-particle arrays, keeping those there (migrate.c). */
PETSC_INTERN PetscErrorCode GFParticlesReserve(GFParticles, PetscInt, PetscBool);
/* Owned by position: every particle to the rank whose subdomain holds its position (PETSC_TRUE: its stage position). Collective. */
PETSC_INTERN PetscErrorCode GFParticlesMigrate(GFParticles, PetscBool);
/* The values (one row of dim per local particle) of this rank's block of ids in id order, nblock x dim (values itself unless owned by position). Collective. */
PETSC_INTERN PetscErrorCode GFParticlesToBlocks(GFParticles, const PetscReal[], const PetscReal **);
/* The list of this rank's particles at x that are other ranks' (p->move_index, p->move_rank, p->nmove); records of n items (item[k], or k when item is NULL) to the ranks dest[k] by pack, the records received; the exchange in two halves, the
 * particles' arrays free to change between them (mesh.c). */
PETSC_INTERN PetscErrorCode GFParticlesFindOwners(GFParticles, const PetscReal[]);
PETSC_INTERN PetscErrorCode GFParticlesExchange(GFParticles, PetscInt, const PetscInt[], const PetscMPIInt[], PetscInt, void (*)(GFParticles, const void *, PetscInt, PetscReal[]), const void *, PetscInt *, const PetscReal **);
PETSC_INTERN PetscErrorCode GFParticlesExchangeBegin(GFParticles, PetscInt, const PetscInt[], const PetscMPIInt[], PetscInt, void (*)(GFParticles, const void *, PetscInt, PetscReal[]), const void *);
PETSC_INTERN PetscErrorCode GFParticlesExchangeEnd(GFParticles, PetscInt *, const PetscReal **);
PETSC_INTERN PetscErrorCode GFParticlesExchangeRelease(GFParticles);
/* Particle-mesh: the box-stencil DMDA, the ownership bounds, the grid vectors and the migration's buffers; and their destruction (mesh.c). */
PETSC_INTERN PetscErrorCode GFParticlesMeshSetUp(GFParticles);
PETSC_INTERN PetscErrorCode GFParticlesMeshDestroy(GFParticles);
/* Gather every rank's block of n x dim values (local: nlocal x dim) into all, in global order, on every rank. */
PETSC_INTERN PetscErrorCode GFParticlesGather(GFParticles, const PetscReal[], PetscReal[]);
/* Cloud-in-cell deposit of the particles x (nlocal x dim, each of mass weight) as a density (mass / cell volume) into the global Vec rho of the grid; the first part of it, the particles [0, nlocal) of x (owned) into the ghosted box only
 * (p->mesh_deposited), when the others are still on their way. */
PETSC_INTERN PetscErrorCode GFParticlesMeshDeposit(GFParticles, const PetscReal[], Vec);
PETSC_INTERN PetscErrorCode GFParticlesMeshDepositOwned(GFParticles, const PetscReal[]);
/* v += alpha grad(field) at the particles x: centred differences at the cell centres, linear (cloud-in-cell) interpolation. */
PETSC_INTERN PetscErrorCode GFParticlesMeshAddGradient(GFParticles, Vec, PetscReal, const PetscReal[], PetscReal[]);
/* The risk of the network whose neurons are the particles x (mean_field_nn; velocity.c). Collective. */
PETSC_INTERN PetscErrorCode GFParticlesComputeRisk(GFParticles, const PetscReal[], PetscReal *);
/* The risk gap R(network of x) - R(density) and the output gap 1/2 E (f_N - f_density)^2 (mean_field_nn; velocity.c). Collective. */
PETSC_INTERN PetscErrorCode GFParticlesComputeRiskGaps(GFParticles, const PetscReal[], const GFCompareDensity *, PetscReal *, PetscReal *);
/* The model's particle system, checked (velocity.c). */
PETSC_INTERN PetscErrorCode GFParticlesSetUpDynamics(GFParticles, GFModel);
/* Reflect (no-flux walls) or wrap (periodic) the positions x into the box. */
PETSC_INTERN void GFParticlesApplyWalls(const struct _p_GFGrid *, PetscInt, PetscReal[]);

#endif
