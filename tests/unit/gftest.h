/* Shared helpers of the Check suites: MPI-safe runner and option handling. */
#ifndef GFTEST_H
#define GFTEST_H

#include <gradflow.h>
#include <check.h>

/* Run the suite on every rank (no fork under MPI); rank 0 prints. Returns the process exit status. */
int GFTestMain(int argc, char **argv, Suite *(*make_suite)(void));

/* Replace the options database by these options (plus -progress 0 -output 0 unless given). */
void GFTestSetOptions(const char options[]);

/* Solve the problem given by the options; the caller destroys the solver. */
GFSolver GFTestSolve(const char options[]);

/* max_i |a_i - b_i| over all ranks. */
PetscReal GFTestMaxDifference(Vec a, Vec b);

/* Assert that a PETSc call failed with this error code and a message containing text. */
#define GF_ASSERT_ERROR(call, code, text)                                                                 \
  do {                                                                                                    \
    PetscErrorCode ierr_ = (call);                                                                        \
    const char    *generic_;                                                                              \
    char          *specific_;                                                                             \
    ck_assert_int_eq(ierr_, (code));                                                                      \
    PetscErrorMessage(ierr_, &generic_, &specific_);                                                      \
    ck_assert_msg(strstr(specific_, (text)) != NULL, "error message '%s' lacks '%s'", specific_, (text)); \
  } while (0)

#define GF_CK(call) ck_assert_int_eq((call), 0)

#endif
