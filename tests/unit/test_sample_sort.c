/* sample_sort: numbers spread over the ranks come back sorted over them, each rank's part ascending, the parts in rank order, the offsets their global ranks; with ties, empty ranks and ranks with fewer numbers than samples. */
#include "gftest.h"
#include "../../src/base/base.h"

/* Sort nlocal(rank) numbers made by value(i) for global indices i, and check the parts against a sort of all of them on one rank. */
static void CheckSort(PetscInt n, PetscInt (*nlocal)(PetscMPIInt, PetscMPIInt, PetscInt), PetscReal (*value)(PetscInt), const char what[])
{
  PetscMPIInt rank, size, *counts, *displs;
  PetscInt    mine, start = 0, count, first, total;
  PetscReal  *x, *part, *all, *gathered;

  GF_CK(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  GF_CK(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  for (PetscMPIInt r = 0; r < rank; r++) start += nlocal(r, size, n);
  mine = nlocal(rank, size, n);
  GF_CK(PetscMalloc1(mine, &x));
  for (PetscInt i = 0; i < mine; i++) x[i] = value(start + i);
  GF_CK(GFSampleSort(PETSC_COMM_WORLD, mine, x, &count, &part, &first));
  for (PetscInt i = 0; i + 1 < count; i++) ck_assert_msg(part[i] <= part[i + 1], "%s: rank %d's part is not ascending at %d", what, rank, (int)i);
  GF_CK(MPI_Allreduce(&count, &total, 1, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD));
  ck_assert_msg(total == n, "%s: %d numbers come back, %d went in", what, (int)total, (int)n);
  GF_CK(PetscMalloc4(n, &all, n, &gathered, size, &counts, size, &displs));
  for (PetscInt i = 0; i < n; i++) all[i] = value(i);
  GF_CK(PetscSortReal(n, all));
  {
    const PetscMPIInt c              = (PetscMPIInt)count;
    PetscInt          expected_first = 0;
    GF_CK(MPI_Allgather(&c, 1, MPI_INT, counts, 1, MPI_INT, PETSC_COMM_WORLD));
    for (PetscMPIInt r = 0; r < size; r++) {
      displs[r] = r ? displs[r - 1] + counts[r - 1] : 0;
      if (r < rank) expected_first += counts[r];
    }
    ck_assert_msg(first == expected_first, "%s: rank %d's first global rank %d, expected %d", what, rank, (int)first, (int)expected_first);
  }
  GF_CK(MPI_Allgatherv(part, (PetscMPIInt)count, MPIU_REAL, gathered, counts, displs, MPIU_REAL, PETSC_COMM_WORLD));
  for (PetscInt i = 0; i < n; i++) ck_assert_msg(gathered[i] == all[i], "%s: global rank %d is %g, expected %g", what, (int)i, (double)gathered[i], (double)all[i]);
  GF_CK(PetscFree4(all, gathered, counts, displs));
  GF_CK(PetscFree(part));
  GF_CK(PetscFree(x));
}

static PetscInt Even(PetscMPIInt r, PetscMPIInt size, PetscInt n)
{
  return n / size + (r < n % size);
}

/* All on the last rank, none elsewhere. */
static PetscInt LastOnly(PetscMPIInt r, PetscMPIInt size, PetscInt n)
{
  return r == size - 1 ? n : 0;
}

static PetscReal Uniform(PetscInt i)
{
  PetscReal u[2];
  GFRandomUniforms(11, (uint64_t)i, 0, GF_RANDOM_BLOCK_INITIAL, u);
  return u[0] - 0.5;
}

/* Eight distinct values, each many times. */
static PetscReal Ties(PetscInt i)
{
  return (PetscReal)((i * 7) % 8);
}

START_TEST(test_sorts)
{
  CheckSort(10007, Even, Uniform, "uniform numbers");
  CheckSort(5000, Even, Ties, "ties");
  CheckSort(3000, LastOnly, Uniform, "all on one rank");
  CheckSort(5, Even, Uniform, "fewer numbers than ranks' samples");
  CheckSort(2, Even, Uniform, "empty ranks");
}
END_TEST

static Suite *MakeSuite(void)
{
  Suite *s = suite_create("sample_sort");
  TCase *t = tcase_create("sort");

  tcase_add_test(t, test_sorts);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
