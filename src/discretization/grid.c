/*
  GFGrid: a uniform box [lower, upper] in 1, 2 or 3 dimensions cut into cells of
  size h = (upper - lower)/cells, distributed as a DMDA (one dof, star stencil of
  width 2: enough for minmod reconstruction on both sides of a face).
  Unknowns are cell averages; natural ordering is x fastest.
*/
#include "discretization.h"

const char *const GFBoundaries[] = {"noflux", "periodic", "GFBoundary", "GF_BC_", NULL};

static const char *const axis_grid_option[] = {"-da_grid_x", "-da_grid_y", "-da_grid_z"};

PetscErrorCode GFGridCreate(MPI_Comm comm, GFGrid *grid)
{
  GFGrid g;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&g));
  g->comm  = comm;
  g->refct = 1;
  g->dim   = 1;
  g->bc    = GF_BC_NOFLUX;
  for (PetscInt a = 0; a < 3; a++) {
    g->cells[a] = a == 0 ? 128 : 1;
    g->lower[a] = -5;
    g->upper[a] = 5;
  }
  *grid = g;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Find meshes/NAME.yaml: NAME itself when it is a path, else in ./meshes, $GRADFLOW_DATA_DIR/meshes, the install tree, the source tree. */
static PetscErrorCode GFGridFindMesh(MPI_Comm comm, const char name[], char path[], size_t len)
{
  const char *env = getenv("GRADFLOW_DATA_DIR");
  char        user[PETSC_MAX_PATH_LEN];
  const char *dirs[] = {"meshes", user, GRADFLOW_DATA_DIR "/meshes", GRADFLOW_SOURCE_DIR "/meshes"};
  PetscBool   found  = PETSC_FALSE, is_path;

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(user, sizeof(user), "%s/meshes", env ? env : "."));
  PetscCall(PetscStrendswith(name, ".yaml", &is_path));
  if (is_path) {
    /* a path is taken as it is: the file check names what is wrong with it */
    PetscCall(PetscStrncpy(path, name, len));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  for (size_t d = 0; !found && d < sizeof(dirs) / sizeof(dirs[0]); d++) {
    PetscCall(PetscSNPrintf(path, len, "%s/%s.yaml", dirs[d], name));
    PetscCall(PetscTestFile(path, 'r', &found));
  }
  PetscCheck(found, comm, PETSC_ERR_USER_INPUT, "-mesh %s: no file meshes/%s.yaml (looked in ./meshes, $GRADFLOW_DATA_DIR/meshes, %s/meshes and %s/meshes)", name, name, GRADFLOW_DATA_DIR, GRADFLOW_SOURCE_DIR);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Load a mesh preset as defaults: each of its keys is set only where the command line
  or option file did not set it already, so `-mesh square -da_grid_x 64` works.
*/
static PetscErrorCode GFGridLoadMesh(MPI_Comm comm, const char name[])
{
  const char  *keys[] = {"-dim", "-da_grid_x", "-da_grid_y", "-da_grid_z", "-domain_lower", "-domain_upper", "-bc"};
  char         path[PETSC_MAX_PATH_LEN], *all;
  PetscOptions mesh;

  PetscFunctionBeginUser;
  PetscCall(GFGridFindMesh(comm, name, path, sizeof(path)));
  {
    PetscMPIInt rank;
    int         code                               = 0;
    char        msg[2 * PETSC_MAX_PATH_LEN + 1024] = "", detail[PETSC_MAX_PATH_LEN + 512] = "";
    PetscCallMPI(MPI_Comm_rank(comm, &rank));
    if (rank == 0 && (code = GFOptionsFileCheck(path, PETSC_TRUE, detail, sizeof(detail)))) snprintf(msg, sizeof(msg), "-mesh %s: %s", name, detail);
    PetscCall(GFCheckRankZero(comm, code, msg));
  }
  PetscCall(PetscOptionsCreate(&mesh));
  PetscCall(PetscOptionsInsertFileYAML(comm, mesh, path, PETSC_TRUE));
  PetscCall(PetscOptionsGetAll(mesh, &all));
  for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
    const char *value;
    PetscBool   in_mesh, already;

    PetscCall(PetscOptionsFindPair(mesh, NULL, keys[k], &value, &in_mesh));
    PetscCall(PetscOptionsHasName(NULL, NULL, keys[k], &already));
    if (in_mesh && !already) PetscCall(PetscOptionsSetValue(NULL, keys[k], value));
  }
  {
    char *token, *rest = all, unknown[GF_NAME_LEN] = "";
    /* every key in a mesh file must be a grid key: a typo must not pass silently */
    while (!unknown[0] && (token = strtok(rest, " ")) != NULL) {
      PetscBool known = PETSC_FALSE;
      rest            = NULL;
      if (token[0] != '-' || (token[1] >= '0' && token[1] <= '9') || token[1] == '.') continue;
      for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) known = (PetscBool)(known || !strcmp(token, keys[k]));
      if (!known) PetscCall(PetscStrncpy(unknown, token, sizeof(unknown)));
    }
    PetscCall(PetscFree(all));
    PetscCall(PetscOptionsDestroy(&mesh));
    PetscCheck(!unknown[0], comm, PETSC_ERR_USER_INPUT, "-mesh %s: %s sets %s, but a mesh may only set dim, da_grid_x/y/z, domain_lower, domain_upper and bc", name, path, unknown);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFGridSetFromOptions(GFGrid g)
{
  char      mesh[PETSC_MAX_PATH_LEN] = "";
  PetscBool set;
  PetscInt  dim = g->dim, bc = g->bc;

  PetscFunctionBeginUser;
  PetscOptionsBegin(g->comm, NULL, "Grid options", "GFGrid");
  PetscCall(GFOptionsString("-mesh", "Grid preset: loads meshes/NAME.yaml (dim, cells, domain, walls) as defaults", "GFGridSetFromOptions", mesh, mesh, sizeof(mesh), &set));
  if (set) PetscCall(GFOptionsEndOnError(PetscOptionsObject, GFGridLoadMesh(g->comm, mesh)));
  PetscCall(GFOptionsInt("-dim", "Space dimension: 1, 2 or 3", "GFGridSetFromOptions", dim, &dim, NULL, PETSC_MIN_INT, PETSC_MAX_INT));
  GFOptionsCheck(dim >= 1 && dim <= 3, g->comm, PETSC_ERR_USER_INPUT, "-dim %" PetscInt_FMT ": the dimension must be 1, 2 or 3", dim);
  g->dim = dim;
  for (PetscInt a = 0; a < dim; a++) {
    PetscInt n = g->cells[0];
    PetscCall(GFOptionsInt(axis_grid_option[a], "Cells along the axis", "GFGridSetFromOptions", n, &n, NULL, PETSC_MIN_INT, PETSC_MAX_INT));
    GFOptionsCheck(n >= 2, g->comm, PETSC_ERR_USER_INPUT, "%s %" PetscInt_FMT ": need at least 2 cells per axis", axis_grid_option[a], n);
    g->cells[a] = n;
  }
  for (PetscInt a = dim; a < 3; a++) g->cells[a] = 1;
  PetscCall(GFOptionsAxisReals("-domain_lower", "Lower corner of the box: one value per axis (or one for all)", dim, g->lower, NULL));
  PetscCall(GFOptionsAxisReals("-domain_upper", "Upper corner of the box: one value per axis (or one for all)", dim, g->upper, NULL));
  for (PetscInt a = 0; a < dim; a++) {
    GFOptionsCheck(PetscIsNormalReal(g->upper[a] - g->lower[a]) && g->lower[a] < g->upper[a], g->comm, PETSC_ERR_USER_INPUT, "-domain_lower %.6g is not below -domain_upper %.6g on axis %c", (double)g->lower[a], (double)g->upper[a], (int)('x' + a));
  }
  PetscCall(GFOptionsChoice("-bc", "Walls", "GFGridSetFromOptions", GFBoundaries, 2, &bc, NULL));
  g->bc = (GFBoundary)bc;
  PetscOptionsEnd();
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Choose the process grid m x n x p = size: among the factorizations that leave every
  rank at least 2 cells along each split axis (the stencil width), the one with the
  least interface area. PETSc's own choice may violate the width and then fail on
  some ranks only; refusing here keeps the error collective and clear.
*/
static PetscErrorCode GFGridChooseProcesses(GFGrid g, PetscMPIInt size, PetscInt ranks[3])
{
  PetscReal best = PETSC_MAX_REAL;

  PetscFunctionBeginUser;
  ranks[0] = ranks[1] = ranks[2] = 0;
  for (PetscInt m = 1; m <= size; m++) {
    for (PetscInt n = 1; m * n <= size; n++) {
      const PetscInt p = size / (m * n), split[3] = {m, n, p};
      PetscReal      area = 0;
      PetscBool      fits = PETSC_TRUE;

      if (m * n * p != size || (g->dim < 2 && n > 1) || (g->dim < 3 && p > 1)) continue;
      for (PetscInt a = 0; a < g->dim; a++) {
        if (split[a] > 1 && g->cells[a] / split[a] < 2) fits = PETSC_FALSE;
        area += (PetscReal)(split[a] - 1) * g->cells[0] * g->cells[1] * g->cells[2] / g->cells[a];
      }
      if (fits && area < best) {
        best = area;
        for (PetscInt a = 0; a < 3; a++) ranks[a] = split[a];
      }
    }
  }
  PetscCheck(ranks[0] > 0, g->comm, PETSC_ERR_USER_INPUT, "a grid of %" PetscInt_FMT " x %" PetscInt_FMT " x %" PetscInt_FMT " cells is too small for %d ranks: each rank needs at least 2 cells along every axis it is split on", g->cells[0],
             g->cells[1], g->cells[2], size);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Create the DMDA and its cell-centre coordinates. */
PetscErrorCode GFGridSetUp(GFGrid g)
{
  DMBoundaryType bt = g->bc == GF_BC_PERIODIC ? DM_BOUNDARY_PERIODIC : DM_BOUNDARY_NONE;
  PetscMPIInt    size;
  PetscInt       ranks[3] = {1, 1, 1};

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(g->comm, &size));
  {
    /* the cell count in PETSc's indices, and the least a run needs (a handful of vectors and the DMDA's maps) in memory, before the DMDA allocates */
    const PetscReal cells = (PetscReal)g->cells[0] * g->cells[1] * g->cells[2];
    char            what[160];
    PetscCheck(cells <= PETSC_MAX_INT, g->comm, PETSC_ERR_USER_INPUT, "a grid of %" PetscInt_FMT " x %" PetscInt_FMT " x %" PetscInt_FMT " = %.0f cells: more than this PETSc build's 32-bit indices hold (%d)", g->cells[0], g->cells[1], g->cells[2],
               (double)cells, PETSC_MAX_INT);
    PetscCall(PetscSNPrintf(what, sizeof(what), "a grid of %.0f cells", (double)cells));
    PetscCall(GFMemoryCheck(g->comm, cells / size * GFRunBytesPerCell(g->dim, PETSC_FALSE, 0), what, "use a coarser grid (-da_grid_x ...) or more ranks"));
  }
  g->cell_volume = 1;
  for (PetscInt a = 0; a < g->dim; a++) {
    g->h[a] = (g->upper[a] - g->lower[a]) / g->cells[a];
    g->cell_volume *= g->h[a];
  }
  for (PetscInt a = g->dim; a < 3; a++) g->h[a] = 1;
  PetscCall(DMDACreate(g->comm, &g->da));
  PetscCall(DMSetDimension(g->da, g->dim));
  PetscCall(DMDASetSizes(g->da, g->cells[0], g->cells[1], g->cells[2]));
  PetscCall(DMDASetBoundaryType(g->da, bt, bt, bt));
  PetscCall(DMDASetDof(g->da, 1));
  PetscCall(DMDASetStencilType(g->da, DMDA_STENCIL_STAR));
  PetscCall(DMDASetStencilWidth(g->da, 2));
  PetscCall(GFGridChooseProcesses(g, size, ranks));
  PetscCall(DMDASetNumProcs(g->da, ranks[0], ranks[1], ranks[2]));
  if (!g->fixed) PetscCall(DMSetFromOptions(g->da));
  PetscCall(DMSetUp(g->da));
  PetscCall(GFGridGetLocalBox(g, &g->box));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The owned cells of the ghosted local vector local into the global vector global (DMLocalToGlobal with INSERT_VALUES refuses periodic axes that one rank holds whole). */
PETSC_INTERN PetscErrorCode GFGridCopyOwned(GFGrid g, Vec local, Vec global)
{
  const GFLocalBox  *b = &g->box;
  const PetscScalar *l;
  PetscScalar       *o;

  PetscFunctionBeginUser;
  PetscCall(VecGetArrayRead(local, &l));
  PetscCall(VecGetArray(global, &o));
  for (PetscInt k = b->start[2]; k < b->start[2] + b->size[2]; k++)
    for (PetscInt j = b->start[1]; j < b->start[1] + b->size[1]; j++) PetscCall(PetscArraycpy(o + GFOwnedIndex(b, b->start[0], j, k), l + GFLocalIndex(b, b->start[0], j, k), b->size[0]));
  PetscCall(VecRestoreArray(global, &o));
  PetscCall(VecRestoreArrayRead(local, &l));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFGridGetLocalBox(GFGrid g, GFLocalBox *box)
{
  PetscFunctionBeginUser;
  PetscCall(DMDAGetCorners(g->da, &box->start[0], &box->start[1], &box->start[2], &box->size[0], &box->size[1], &box->size[2]));
  PetscCall(DMDAGetGhostCorners(g->da, &box->gstart[0], &box->gstart[1], &box->gstart[2], &box->gsize[0], &box->gsize[1], &box->gsize[2]));
  for (PetscInt a = g->dim; a < 3; a++) {
    box->start[a] = box->gstart[a] = 0;
    box->size[a] = box->gsize[a] = 1;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFGridDestroy(GFGrid *grid)
{
  PetscFunctionBeginUser;
  if (!*grid) PetscFunctionReturn(PETSC_SUCCESS);
  if (--(*grid)->refct > 0) {
    *grid = NULL;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(DMDestroy(&(*grid)->da));
  PetscCall(PetscFree(*grid));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Take a reference: the grid lives until every holder has called GFGridDestroy. */
PetscErrorCode GFGridReference(GFGrid g)
{
  PetscFunctionBeginUser;
  g->refct++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFGridGetDM(GFGrid g, DM *da)
{
  PetscFunctionBeginUser;
  *da = g->da;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFGridGetDimension(GFGrid g, PetscInt *dim)
{
  PetscFunctionBeginUser;
  *dim = g->dim;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFGridGetCells(GFGrid g, PetscInt cells[])
{
  PetscFunctionBeginUser;
  for (PetscInt a = 0; a < 3; a++) cells[a] = g->cells[a];
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFGridGetBox(GFGrid g, PetscReal lower[], PetscReal upper[])
{
  PetscFunctionBeginUser;
  for (PetscInt a = 0; a < g->dim; a++) {
    if (lower) lower[a] = g->lower[a];
    if (upper) upper[a] = g->upper[a];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFGridGetBoundary(GFGrid g, GFBoundary *bc)
{
  PetscFunctionBeginUser;
  *bc = g->bc;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFGridGetCellVolume(GFGrid g, PetscReal *vol)
{
  PetscFunctionBeginUser;
  *vol = g->cell_volume;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Integral of a cell-average field: h^d sum_i f_i. */
PetscErrorCode GFGridIntegrate(GFGrid g, Vec f, PetscReal *integral)
{
  PetscScalar sum;

  PetscFunctionBeginUser;
  PetscCall(VecSum(f, &sum));
  *integral = PetscRealPart(sum) * g->cell_volume;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Fill a global vector with f(x) at the cell centres. */
PetscErrorCode GFGridEvaluate(GFGrid g, PetscReal (*f)(PetscInt, const PetscReal[], void *), void *ctx, Vec v)
{
  const GFLocalBox *b = &g->box;
  PetscScalar      *a;

  PetscFunctionBeginUser;
  PetscCall(VecGetArray(v, &a));
  GF_FOR_OWNED(b, i, j, k)
  {
    const PetscInt idx[3] = {i, j, k};
    PetscReal      x[3];
    GFGridCellCenter(g, idx, x);
    a[GFOwnedIndex(b, i, j, k)] = f(g->dim, x, ctx);
  }
  PetscCall(VecRestoreArray(v, &a));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Mass of N(mean, var) in [a, b] along one axis, via erfc on the side away from the mean (no cancellation in the tails). */
static PetscReal GaussianIntervalMass(PetscReal a, PetscReal b, PetscReal mean, PetscReal var)
{
  const PetscReal s  = PetscSqrtReal(2 * var);
  const PetscReal za = (a - mean) / s, zb = (b - mean) / s;

  if (za >= 0) return 0.5 * (erfc(za) - erfc(zb));
  if (zb <= 0) return 0.5 * (erfc(-zb) - erfc(-za));
  return 1 - 0.5 * (erfc(-za) + erfc(zb));
}

/*
  Exact cell averages of the unit-mass Gaussian with diagonal covariance:
  rho_i = prod_a (Phi(x_a^+) - Phi(x_a^-)) / h^d.
*/
PetscErrorCode GFGridGaussianCellAverages(GFGrid g, const PetscReal mean[], const PetscReal variance[], Vec rho)
{
  const GFLocalBox *b = &g->box;
  PetscScalar      *r;
  PetscReal        *axis_mass[3];

  PetscFunctionBeginUser;
  for (PetscInt a = 0; a < 3; a++) {
    PetscCall(PetscMalloc1(b->size[a], &axis_mass[a]));
    for (PetscInt i = 0; i < b->size[a]; i++) {
      const PetscInt c = b->start[a] + i;
      axis_mass[a][i]  = a < g->dim ? GaussianIntervalMass(g->lower[a] + c * g->h[a], g->lower[a] + (c + 1) * g->h[a], mean[a], variance[a]) / g->h[a] : 1;
    }
  }
  PetscCall(VecGetArray(rho, &r));
  GF_FOR_OWNED(b, i, j, k)
  {
    r[GFOwnedIndex(b, i, j, k)] = axis_mass[0][i - b->start[0]] * axis_mass[1][j - b->start[1]] * axis_mass[2][k - b->start[2]];
  }
  PetscCall(VecRestoreArray(rho, &r));
  for (PetscInt a = 0; a < 3; a++) PetscCall(PetscFree(axis_mass[a]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Average of f over the box centre +- size/2: Gauss where classify says smooth, 0 where it says zero, halving cut boxes up to depth times. */
static PetscReal GFBoxAverage(GFKernelPointFn f, GFBoxClassifier classify, void *ctx, PetscInt dim, const PetscReal center[], const PetscReal size[], PetscInt depth)
{
  PetscReal lower[3], upper[3], half[3], sum = 0;
  GFBoxKind kind;

  for (PetscInt a = 0; a < dim; a++) {
    lower[a] = center[a] - 0.5 * size[a];
    upper[a] = center[a] + 0.5 * size[a];
    half[a]  = 0.5 * size[a];
  }
  kind = classify(dim, lower, upper, ctx);
  if (kind == GF_BOX_ZERO) return 0;
  if (kind == GF_BOX_SMOOTH || depth == 0) return GFKernelCellAverageGauss(f, dim, center, size, 3, ctx);
  for (PetscInt child = 0; child < (1 << dim); child++) {
    PetscReal c[3];
    for (PetscInt a = 0; a < dim; a++) c[a] = center[a] + ((child >> a) & 1 ? 0.25 : -0.25) * size[a];
    sum += GFBoxAverage(f, classify, ctx, dim, c, half, depth - 1);
  }
  return sum / (1 << dim);
}

/*
  Cell averages of a function that is smooth except across an interface (a free
  boundary): 3-point Gauss per axis on cells the classifier calls smooth, bisection
  of cut cells up to depth levels, zero where it says so.
*/
PetscErrorCode GFGridCellAveragesAdaptive(GFGrid g, GFKernelPointFn f, GFBoxClassifier classify, void *ctx, PetscInt depth, Vec v)
{
  const GFLocalBox *b = &g->box;
  PetscScalar      *a;

  PetscFunctionBeginUser;
  PetscCall(VecGetArray(v, &a));
  GF_FOR_OWNED(b, i, j, k)
  {
    const PetscInt idx[3] = {i, j, k};
    PetscReal      x[3];
    GFGridCellCenter(g, idx, x);
    a[GFOwnedIndex(b, i, j, k)] = GFBoxAverage(f, classify, ctx, g->dim, x, g->h, depth);
  }
  PetscCall(VecRestoreArray(v, &a));
  PetscFunctionReturn(PETSC_SUCCESS);
}
