/*
  Memory estimates against the machine: a grid or a particle count that cannot fit is
  refused with the estimate before anything is allocated, instead of ending in the
  out-of-memory killer or an allocation failure on some ranks only.
*/
#define _DEFAULT_SOURCE /* madvise(MADV_HUGEPAGE) */
#include "base.h"
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* MemAvailable of this node (its physical memory without /proc/meminfo), for one process alone. Rank-local. */
PETSC_INTERN PetscReal GFMemoryAvailableLocal(void)
{
  FILE     *f = fopen("/proc/meminfo", "r");
  char      line[256];
  PetscReal kb = 0;

  while (f && fgets(line, sizeof(line), f)) {
    double value;
    if (sscanf(line, "MemAvailable: %lf kB", &value) == 1) kb = value;
  }
  if (f) fclose(f);
  return kb > 0 ? kb * 1024 : (PetscReal)sysconf(_SC_PHYS_PAGES) * (PetscReal)sysconf(_SC_PAGE_SIZE);
}

/* Memory this rank may use: the node's available memory shared by the node's ranks; the least over all ranks. Collective. */
PETSC_INTERN PetscErrorCode GFMemoryAvailable(MPI_Comm comm, PetscReal *bytes)
{
  MPI_Comm    node;
  PetscMPIInt node_size;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  PetscCallMPI(MPI_Comm_size(node, &node_size));
  PetscCallMPI(MPI_Comm_free(&node));
  *bytes = GFMemoryAvailableLocal() / node_size;
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, bytes, 1, MPIU_REAL, MPIU_MIN, comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Refuse work that needs more than 80% of what a rank may use: "WHAT needs about X GB on
  each of the P ranks, which have about Y GB each free: REMEDY". Collective.
*/
PETSC_INTERN PetscErrorCode GFMemoryCheck(MPI_Comm comm, PetscReal bytes_per_rank, const char what[], const char remedy[])
{
  PetscReal   available;
  PetscMPIInt size;

  PetscFunctionBeginUser;
  PetscCall(GFMemoryAvailable(comm, &available));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCheck(bytes_per_rank <= 0.8 * available, comm, PETSC_ERR_USER_INPUT, "%s needs about %.3g GB on each of the %d rank%s, which %s about %.3g GB free: %s", what, (double)(bytes_per_rank / 1e9), size, size > 1 ? "s" : "",
             size > 1 ? "have each" : "has", (double)(available / 1e9), remedy);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Bytes a run needs per cell, from what it allocates: 24 vectors of 8 bytes (density,
  ghosts, stages, drift, diagnostics); implicit runs add the Jacobian (1 + 4d nonzeros a
  row at 12 bytes, a third more for the multigrid hierarchy) and Krylov vectors; each FFT
  kernel of a convolution its padded transform (2^d cells a cell, complex), plus the padded
  work arrays. At 1024^2 cells this gives 201, 425 and 457 MB where the measured maximum
  resident sizes are 210 (explicit Fokker-Planck), 381 (implicit porous medium) and 483 MB
  (McKean-Vlasov), some 50 MB of which is MPI and PETSc.
*/
PETSC_INTERN PetscReal GFRunBytesPerCell(PetscInt dim, PetscBool implicit, PetscInt convolutions)
{
  PetscReal per_cell = 24 * 8;

  if (implicit) per_cell += (1 + 4 * dim) * 12 * 4.0 / 3 + 10 * 8;
  if (convolutions) per_cell += (1 << dim) * 8 * (6 + 2.0 * convolutions);
  return per_cell;
}

/*
  A large array of doubles for the streams of the explicit kernels: aligned to 2 MiB and, where
  the system has them, backed by transparent huge pages (madvise before the first touch), so
  that the hardware prefetcher is not stopped at every 4 KiB page and the TLB holds the whole
  stream. Zeroed. Free with GFHugeFree.
*/
PETSC_INTERN PetscErrorCode GFHugeAlloc(size_t count, PetscReal **array)
{
  const size_t bytes = count * sizeof(PetscReal), align = (size_t)2 << 20;
  void        *p = NULL;

  PetscFunctionBeginUser;
  PetscCheck(!posix_memalign(&p, bytes >= align ? align : 64, bytes ? bytes : 1), PETSC_COMM_SELF, PETSC_ERR_MEM, "cannot allocate %.0f bytes", (double)bytes);
#if defined(MADV_HUGEPAGE)
  if (bytes >= align) (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
  memset(p, 0, bytes);
  *array = (PetscReal *)p;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFHugeFree(PetscReal **array)
{
  PetscFunctionBeginUser;
  free(*array);
  *array = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}
