/*
  Memory estimates against the machine: a grid or a particle count that cannot fit is
  refused with the estimate before anything is allocated, instead of ending in the
  out-of-memory killer or an allocation failure on some ranks only.
*/
#include "base.h"
#include <unistd.h>

/* Memory this rank may use: MemAvailable of its node (physical memory without /proc) shared by the node's ranks; the least over all ranks. Collective. */
PETSC_INTERN PetscErrorCode GFMemoryAvailable(MPI_Comm comm, PetscReal *bytes)
{
  MPI_Comm    node;
  PetscMPIInt node_size;
  FILE       *f = fopen("/proc/meminfo", "r");
  char        line[256];
  PetscReal   kb = 0;

  PetscFunctionBeginUser;
  while (f && fgets(line, sizeof(line), f)) {
    double value;
    if (sscanf(line, "MemAvailable: %lf kB", &value) == 1) kb = value;
  }
  if (f) fclose(f);
  if (kb == 0) kb = (PetscReal)sysconf(_SC_PHYS_PAGES) * (PetscReal)sysconf(_SC_PAGE_SIZE) / 1024;
  PetscCallMPI(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
  PetscCallMPI(MPI_Comm_size(node, &node_size));
  PetscCallMPI(MPI_Comm_free(&node));
  *bytes = kb * 1024 / node_size;
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
