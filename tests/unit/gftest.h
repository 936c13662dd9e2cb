/* Shared helpers of the Check suites: MPI-safe runner, option handling, and the checks every model's runs share. */
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

/*
  Checks every model's runs must pass, shared by the conformance suite (test_models.c) and the
  per-model suites; what names the run in failure messages (usually its options).
*/

/* The run took steps, conserved mass to 1e-12, kept rho >= 0 and never raised its energy (named energy in the message: SVGD's is the KL divergence). */
void GFTestAssertStructurePreserved(GFSolver solver, const char what[], const char energy[]);

/* The run has an exact solution and its relative L1 error is below tolerance (PETSC_INFINITY: only finite). Returns the error. */
PetscReal GFTestAssertExactError(GFSolver solver, const char what[], PetscReal tolerance);

/* The run's mean is mean[] and its covariance diag(variance[]), every entry within tolerance. */
void GFTestAssertMoments(GFSolver solver, const char what[], const PetscReal mean[], const PetscReal variance[], PetscReal tolerance);

/* The errors of n runs, each refined by 2 from the last, fall at an observed order log2(error[l-1]/error[l]) above order. */
void GFTestAssertOrder(const char what[], PetscInt n, const PetscReal error[], PetscReal order);

/* How GFTestAssertSteady measures the change of rho: relative to each cell's start value (absolute where it was 0), or to the largest start value. */
typedef enum { GF_TEST_CHANGE_PER_CELL, GF_TEST_CHANGE_OF_MAX } GFTestChange;

/* From its steady state (-init gibbs) the problem of options takes exactly steps steps and rho changes by at most tolerance, measured as measure says. */
void GFTestAssertSteady(const char options[], PetscInt steps, GFTestChange measure, PetscReal tolerance);

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
