/*
  The base layer of the library: what every other layer uses and that uses none of
  them. Strict option reading (numbers parsed whole, ranges, unknown and unused options),
  option and mesh files checked before PETSc reads them, work that may crash run in a
  child process (HDF5 on damaged files), and memory estimates against the node.
*/
#ifndef GRADFLOW_BASE_H
#define GRADFLOW_BASE_H

#include <gradflow.h>
#include <stdint.h>

#define GF_NAME_LEN 64

/*
  Hot loops: on x86-64 a function marked GF_SIMD_CLONES is compiled twice, for the baseline
  (SSE2) and for AVX2, and the loader picks the one the processor runs (GCC's and Clang's
  function multiversioning): twice the numbers per instruction, one instruction for floor,
  the same rounding (AVX2 brings no contraction into fused multiply-adds). GF_ALWAYS_INLINE
  makes a small function part of each loop that calls it, e.g. with its dimension a constant.
*/
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define GF_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#if !defined(GF_SIMD_CLONES)
#define GF_SIMD_CLONES
#endif
#if defined(__GNUC__)
#define GF_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define GF_ALWAYS_INLINE inline
#endif

/* Bounds of a real option: closed [min, max] unless these flags open a side. */
typedef enum { GF_RANGE_CLOSED = 0, GF_RANGE_OPEN_MIN = 1, GF_RANGE_OPEN_MAX = 2 } GFRangeFlags;
#define GF_REAL_ANY -PETSC_MAX_REAL, PETSC_MAX_REAL, GF_RANGE_CLOSED
#define GF_REAL_POSITIVE 0, PETSC_MAX_REAL, GF_RANGE_OPEN_MIN
#define GF_REAL_NONNEGATIVE 0, PETSC_MAX_REAL, GF_RANGE_CLOSED

PETSC_INTERN PetscErrorCode GFOptionsInt_Private(PetscOptionItems *, const char[], const char[], const char[], PetscInt, PetscInt *, PetscBool *, PetscInt, PetscInt);
PETSC_INTERN PetscErrorCode GFOptionsReal_Private(PetscOptionItems *, const char[], const char[], const char[], PetscReal, PetscReal *, PetscBool *, PetscReal, PetscReal, int);
PETSC_INTERN PetscErrorCode GFOptionsBool_Private(PetscOptionItems *, const char[], const char[], const char[], PetscBool, PetscBool *, PetscBool *);
PETSC_INTERN PetscErrorCode GFOptionsString_Private(PetscOptionItems *, const char[], const char[], const char[], const char[], char[], size_t, PetscBool *);
PETSC_INTERN PetscErrorCode GFOptionsRealArray_Private(PetscOptionItems *, const char[], const char[], const char[], PetscReal[], PetscInt *, PetscBool *, PetscReal, PetscReal, int);
PETSC_INTERN PetscErrorCode GFOptionsIntArray_Private(PetscOptionItems *, const char[], const char[], const char[], PetscInt[], PetscInt *, PetscBool *, PetscInt, PetscInt);
PETSC_INTERN PetscErrorCode GFOptionsFList_Private(PetscOptionItems *, const char[], const char[], const char[], PetscFunctionList, const char[], char[], size_t, PetscBool *);
PETSC_INTERN PetscErrorCode GFOptionsChoice_Private(PetscOptionItems *, const char[], const char[], const char[], const char *const[], PetscInt, PetscInt *, PetscBool *);

/* Inside PetscOptionsBegin/End: read an option strictly (the whole value a number, finite, in range), else a user-input error naming it. */
#define GFOptionsInt(...) GFOptionsInt_Private(PetscOptionsObject, __VA_ARGS__)
#define GFOptionsReal(...) GFOptionsReal_Private(PetscOptionsObject, __VA_ARGS__)
#define GFOptionsBool(...) GFOptionsBool_Private(PetscOptionsObject, __VA_ARGS__)
#define GFOptionsString(...) GFOptionsString_Private(PetscOptionsObject, __VA_ARGS__)
#define GFOptionsRealArray(...) GFOptionsRealArray_Private(PetscOptionsObject, __VA_ARGS__)
#define GFOptionsIntArray(...) GFOptionsIntArray_Private(PetscOptionsObject, __VA_ARGS__)
#define GFOptionsChoice(...) GFOptionsChoice_Private(PetscOptionsObject, __VA_ARGS__)
#define GFOptionsFList(...) GFOptionsFList_Private(PetscOptionsObject, __VA_ARGS__)

/*
  Errors inside a PetscOptionsBegin/End block: PetscOptionsBegin copies the block's title and
  prefix, which only PetscOptionsEnd frees, so these end the block before returning the error
  (ending twice is harmless). GFOptionsCheck is PetscCheck, GFOptionsEndOnError(o, call())
  passes call()'s error on.
*/
PETSC_INTERN PetscErrorCode GFOptionsEndOnError(PetscOptionItems *, PetscErrorCode);
#define GFOptionsCheck(cond, comm, code, ...)            \
  do {                                                   \
    if (PetscUnlikely(!(cond))) {                        \
      (void)PetscOptionsEnd_Private(PetscOptionsObject); \
      SETERRQ(comm, code, __VA_ARGS__);                  \
    }                                                    \
  } while (0)

PETSC_INTERN PetscErrorCode GFOptionsCheckReal(MPI_Comm, const char[], PetscReal, PetscReal, int);
PETSC_INTERN PetscErrorCode GFOptionsCheckInt(MPI_Comm, const char[], PetscInt, PetscInt);
PETSC_INTERN PetscErrorCode GFOptionsSuggest(const char[], char[], size_t);
PETSC_INTERN PetscErrorCode GFNameList(PetscFunctionList, char[], size_t);
PETSC_INTERN PetscErrorCode GFRegistryFind(MPI_Comm, PetscFunctionList, const char[], const char[], const char[], PetscVoidFunction *);
PETSC_INTERN int            GFOptionsFileCheck(const char[], PetscBool, char[], size_t);
PETSC_INTERN int            GFOptionsFilesCheckArgs(int, char **, char[], size_t);
PETSC_INTERN PetscBool      GFParseReal(const char[], PetscReal *);
PETSC_INTERN PetscBool      GFParseInt(const char[], PetscInt64 *);

/* Run fn(ctx, result) in a child process with a time limit: a crash or hang there is reported, not suffered. */
typedef enum { GF_SANDBOX_OK, GF_SANDBOX_FAILED, GF_SANDBOX_CRASHED, GF_SANDBOX_TIMEOUT, GF_SANDBOX_UNAVAILABLE } GFSandboxOutcome;
PETSC_INTERN GFSandboxOutcome GFSandboxRun(int (*)(void *, void *), void *, void *, size_t, double, int *);
PETSC_INTERN int              GFHDF5Probe(const char[], const char[], char[], size_t);

/* Memory: what a rank may use on its node, and a refusal that names the estimate. */
PETSC_INTERN PetscErrorCode GFMemoryAvailable(MPI_Comm, PetscReal *);
PETSC_INTERN PetscErrorCode GFHugeAlloc(size_t, PetscReal **);
PETSC_INTERN PetscErrorCode GFHugeFree(PetscReal **);
PETSC_INTERN PetscReal      GFMemoryAvailableLocal(void);
PETSC_INTERN PetscErrorCode GFMemoryCheck(MPI_Comm, PetscReal, const char[], const char[]);
PETSC_INTERN PetscReal      GFRunBytesPerCell(PetscInt, PetscBool, PetscInt);
PETSC_INTERN PetscErrorCode GFCheckRankZero(MPI_Comm, int, const char[]);

/*
  Weighted sums of points about a shift c, for a mean and covariance: sum w, sum w (x - c),
  sum w (x - c)(x - c)^T (upper triangle). Moments about a point near the mean lose nothing
  to cancellation: a second pass about the first pass's mean is the two-pass algorithm.
*/
typedef struct {
  PetscInt  dim;
  PetscReal shift[3];
  PetscReal sums[10]; /* weight, first moments (dim), second moments (upper triangle) */
} GFMoments;

static inline void GFMomentsInit(GFMoments *m, PetscInt dim, const PetscReal shift[])
{
  m->dim = dim;
  for (PetscInt a = 0; a < 3; a++) m->shift[a] = shift && a < dim ? shift[a] : 0;
  for (PetscInt k = 0; k < 10; k++) m->sums[k] = 0;
}

static inline void GFMomentsAdd(GFMoments *m, PetscReal w, const PetscReal x[])
{
  PetscReal y[3];
  PetscInt  c = 1 + m->dim;

  for (PetscInt a = 0; a < m->dim; a++) y[a] = x[a] - m->shift[a];
  m->sums[0] += w;
  for (PetscInt a = 0; a < m->dim; a++) m->sums[1 + a] += w * y[a];
  for (PetscInt a = 0; a < m->dim; a++)
    for (PetscInt e = a; e < m->dim; e++) m->sums[c++] += w * y[a] * y[e];
}
PETSC_INTERN PetscErrorCode GFMomentsFinish(GFMoments *, MPI_Comm, const PetscReal[], PetscReal *, PetscReal[], PetscReal[][3]);
PETSC_INTERN PetscErrorCode GFPointMoments(MPI_Comm, PetscInt, PetscInt, const PetscReal[], PetscReal[], PetscReal[][3]);

/*
  An exact sum of doubles (exact_sum.c): a fixed-point accumulator that holds any sum of finite
  doubles exactly, so that the sum, rounded once at the end, is the same bits in any order of
  its terms and on any number of ranks. About 20 operations an addition.
*/
#define GF_EXACT_LIMBS 68
typedef struct {
  int64_t   limb[GF_EXACT_LIMBS]; /* 32-bit digits of the sum in units of 2^-1074, with their carries pending */
  PetscReal special;              /* the sum of the NaN and infinite terms */
  int32_t   pending;              /* additions since the carries were last propagated */
} GFExactSum;
PETSC_INTERN void           GFExactSumInit(GFExactSum *);
PETSC_INTERN void           GFExactSumAdd(GFExactSum *, PetscReal);
PETSC_INTERN PetscErrorCode GFExactSumAllreduce(MPI_Comm, PetscInt, GFExactSum[]);
PETSC_INTERN PetscReal      GFExactSumValue(const GFExactSum *);
PETSC_INTERN PetscErrorCode GFVecSumExact(Vec, PetscReal *);
/* GFPointMoments with exact sums: the same bits on any number of ranks, whatever the points' order. Collective. */
PETSC_INTERN PetscErrorCode GFPointMomentsExact(MPI_Comm, PetscInt, PetscInt, const PetscReal[], PetscReal[], PetscReal[][3]);

/* Numbers spread over the ranks sorted over them: this rank's part of the sorted whole and the global rank of its first number (sample_sort.c). Collective. */
PETSC_INTERN PetscErrorCode GFSampleSort(MPI_Comm, PetscInt, PetscReal[], PetscInt *, PetscReal **, PetscInt *);

/* Neumaier's compensated sum (A. Neumaier, ZAMM 54, 1974): the sum and the accumulated rounding error of its additions. */
typedef struct {
  PetscReal sum, correction;
} GFCompensatedSum;

/* s += v with the rounding error of the addition kept in s->correction (exact two-sum of Neumaier's variant of Kahan summation). */
static inline void GFCompensatedAdd(GFCompensatedSum *s, PetscReal v)
{
  const PetscReal t = s->sum + v;

  if (PetscAbsReal(s->sum) >= PetscAbsReal(v))
    s->correction += (s->sum - t) + v;
  else
    s->correction += (v - t) + s->sum;
  s->sum = t;
}

/*
  Counter-based random numbers (Philox4x32-10, Salmon et al., SC11): a pure function of
  (key, counter), so a particle's noise depends only on (seed, particle, step) and not on
  the number of ranks or the order of the calls.
*/
PETSC_INTERN void GFPhilox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);
/* Two independent uniforms in (0, 1), 53 bits each, of stream (seed, index, step, block). */
PETSC_INTERN void GFRandomUniforms(uint64_t seed, uint64_t index, uint64_t step, uint32_t block, PetscReal u[2]);
/* Two independent standard normals of the stream (ziggurat; rejections draw further words of the same stream). */
PETSC_INTERN void GFRandomNormals(uint64_t seed, uint64_t index, uint64_t step, uint32_t block, PetscReal z[2]);
/* A seed for replica r of a run with seed s: distinct keys, hence independent streams. */
PETSC_INTERN uint64_t GFRandomReplicaSeed(uint64_t seed, PetscInt replica);

/* Blocks of the streams: the noise of a step, initial sampling, compare's directions and subsamples. */
#define GF_RANDOM_BLOCK_NOISE 0u
#define GF_RANDOM_BLOCK_INITIAL 64u
#define GF_RANDOM_BLOCK_DIRECTION 128u
#define GF_RANDOM_BLOCK_SUBSAMPLE 160u

#endif
