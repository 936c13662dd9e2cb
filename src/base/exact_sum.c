/*
  Exact sums of doubles (GFExactSum, base.h). A finite double is m 2^(e - 1074) with integers
  0 <= m < 2^53 and 0 <= e <= 2045, so every sum of doubles is an integer multiple of 2^-1074
  below 2^(1024 + 64): a fixed-point number of 68 limbs of 32 bits. Each limb is an int64
  whose upper bits take the carries of up to 2^29 additions before they are propagated. The
  sum is exact, so it does not depend on the order of the additions nor on how they are split
  over ranks; it is rounded to a double once, at the end, from its normalised limbs (a unique
  representation), so the result is the same bits on any number of ranks. NaN and infinite
  terms are summed apart and win. The same idea as Kulisch's long accumulator (U. Kulisch,
  Computer Arithmetic and Validity, 2013), without its hardware.
*/
#include "base.h"
#include <math.h>
#include <string.h>

#define GF_EXACT_CARRY_EVERY (1 << 29)
#define GF_EXACT_RADIX ((int64_t)1 << 32)

/* Carries propagated: limbs 0 .. GF_EXACT_LIMBS - 2 in [0, 2^32), the last one signed. */
static void GFExactSumNormalise(GFExactSum *s)
{
  for (int k = 0; k + 1 < GF_EXACT_LIMBS; k++) {
    const int64_t v = s->limb[k], carry = v >= 0 ? v / GF_EXACT_RADIX : -((-v + GF_EXACT_RADIX - 1) / GF_EXACT_RADIX);
    s->limb[k] = v - carry * GF_EXACT_RADIX;
    s->limb[k + 1] += carry;
  }
  s->pending = 0;
}

PETSC_INTERN void GFExactSumInit(GFExactSum *s)
{
  memset(s, 0, sizeof(*s));
}

/* s += x exactly. */
PETSC_INTERN void GFExactSumAdd(GFExactSum *s, PetscReal x)
{
  uint64_t bits, m;
  int      e, k, shift;
  int64_t  v0, v1, sign;

  memcpy(&bits, &x, sizeof(bits));
  e = (int)((bits >> 52) & 0x7FF);
  m = bits & (((uint64_t)1 << 52) - 1);
  if (e == 0x7FF) {
    s->special += x;
    return;
  }
  if (e)
    m |= (uint64_t)1 << 52;
  else
    e = 1; /* subnormal: m 2^(1 - 1075) */
  if (!m) return;
  sign  = bits >> 63 ? -1 : 1;
  k     = (e - 1) >> 5;
  shift = (e - 1) & 31;
  /* x = m 2^(e - 1 - 1074): m split into 32 + 21 bits, each shifted into two limbs */
  v0 = (int64_t)((m & 0xFFFFFFFFu) << shift);
  v1 = (int64_t)((m >> 32) << shift);
  s->limb[k] += sign * (v0 & 0xFFFFFFFF);
  s->limb[k + 1] += sign * ((v0 >> 32) + (v1 & 0xFFFFFFFF));
  s->limb[k + 2] += sign * (v1 >> 32);
  if (++s->pending == GF_EXACT_CARRY_EVERY) GFExactSumNormalise(s);
}

/* The count sums of every rank of comm added into each rank's sums (exactly). Collective. */
PETSC_INTERN PetscErrorCode GFExactSumAllreduce(MPI_Comm comm, PetscInt count, GFExactSum sums[])
{
  int64_t   *limbs;
  PetscReal *special;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(count * GF_EXACT_LIMBS, &limbs, count, &special));
  for (PetscInt i = 0; i < count; i++) {
    GFExactSumNormalise(&sums[i]);
    memcpy(limbs + i * GF_EXACT_LIMBS, sums[i].limb, sizeof(sums[i].limb));
    special[i] = sums[i].special;
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, limbs, (PetscMPIInt)(count * GF_EXACT_LIMBS), MPI_INT64_T, MPI_SUM, comm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, special, (PetscMPIInt)count, MPIU_REAL, MPIU_SUM, comm));
  for (PetscInt i = 0; i < count; i++) {
    memcpy(sums[i].limb, limbs + i * GF_EXACT_LIMBS, sizeof(sums[i].limb));
    sums[i].special = special[i];
    GFExactSumNormalise(&sums[i]);
  }
  PetscCall(PetscFree2(limbs, special));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The sum as a double: from its three leading limbs (the rest lies below 2^-64 of it), the same bits for the same exact sum. */
PETSC_INTERN PetscReal GFExactSumValue(const GFExactSum *sum)
{
  GFExactSum s    = *sum;
  PetscReal  sign = 1, value = 0;
  int        top;

  if (s.special != 0 || PetscIsNanReal(s.special)) return s.special;
  GFExactSumNormalise(&s);
  if (s.limb[GF_EXACT_LIMBS - 1] < 0) {
    for (int k = 0; k < GF_EXACT_LIMBS; k++) s.limb[k] = -s.limb[k];
    GFExactSumNormalise(&s);
    sign = -1;
  }
  for (top = GF_EXACT_LIMBS - 1; top >= 0 && !s.limb[top]; top--) continue;
  if (top < 0) return 0;
  for (int k = top; k >= top - 2 && k >= 0; k--) value = value * (PetscReal)GF_EXACT_RADIX + (PetscReal)s.limb[k];
  return sign * ldexp(value, 32 * PetscMax(top - 2, 0) - 1074);
}

/* The sum of the entries of v (real parts), exact, rounded once: the same bits on any number of ranks. Collective. */
PETSC_INTERN PetscErrorCode GFVecSumExact(Vec v, PetscReal *sum)
{
  const PetscScalar *a;
  PetscInt           n;
  GFExactSum         s;

  PetscFunctionBeginUser;
  GFExactSumInit(&s);
  PetscCall(VecGetLocalSize(v, &n));
  PetscCall(VecGetArrayRead(v, &a));
  for (PetscInt i = 0; i < n; i++) GFExactSumAdd(&s, PetscRealPart(a[i]));
  PetscCall(VecRestoreArrayRead(v, &a));
  PetscCall(GFExactSumAllreduce(PetscObjectComm((PetscObject)v), 1, &s));
  *sum = GFExactSumValue(&s);
  PetscFunctionReturn(PETSC_SUCCESS);
}
