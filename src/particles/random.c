/*
  Counter-based random numbers: Philox4x32-10 (J. K. Salmon, M. A. Moraes, R. O. Dror,
  D. E. Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC11), a bijection of a
  128-bit counter keyed by 64 bits, ten rounds of
      (c0, c1, c2, c3) -> (hi(M1 c2) ^ c1 ^ k0, lo(M1 c2), hi(M0 c0) ^ c3 ^ k1, lo(M0 c0)),
  the key bumped by the Weyl constants (W0, W1) between rounds. It passes BigCrush, and a
  number is a pure function of where it is used: the counter holds (particle index,
  step, block), the key the seed. So particle i's noise at step k is the same on any
  number of ranks, in any order of evaluation.
*/
#include "particles_impl.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

PETSC_INTERN void GFPhilox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4])
{
  uint32_t c[4] = {counter[0], counter[1], counter[2], counter[3]}, k0 = key[0], k1 = key[1];

  for (int round = 0; round < 10; round++) {
    const uint64_t p0 = (uint64_t)PHILOX_M0 * c[0], p1 = (uint64_t)PHILOX_M1 * c[2];
    const uint32_t next[4] = {(uint32_t)(p1 >> 32) ^ c[1] ^ k0, (uint32_t)p1, (uint32_t)(p0 >> 32) ^ c[3] ^ k1, (uint32_t)p0};

    for (int w = 0; w < 4; w++) c[w] = next[w];
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  for (int w = 0; w < 4; w++) out[w] = c[w];
}

/* The counter (index, step, block): index in words 0-1, the low 32 bits of step in word 2, its next 24 bits and the block in word 3. */
PETSC_INTERN void GFRandomUniforms(uint64_t seed, uint64_t index, uint64_t step, uint32_t block, PetscReal u[2])
{
  const uint32_t counter[4] = {(uint32_t)index, (uint32_t)(index >> 32), (uint32_t)step, (uint32_t)(((step >> 32) & 0xFFFFFFu) << 8) | (block & 0xFFu)};
  const uint32_t key[2]     = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  uint32_t       out[4];

  GFPhilox4x32(counter, key, out);
  /* 53 bits of each pair of words, centred in their interval: in (0, 1), never 0 or 1 */
  for (int k = 0; k < 2; k++) {
    const uint64_t bits = ((uint64_t)out[2 * k] << 21) ^ (out[2 * k + 1] >> 11);
    u[k]                = ((PetscReal)bits + 0.5) * 0x1p-53;
  }
}

/* Box-Muller: z = sqrt(-2 ln u0) (cos 2 pi u1, sin 2 pi u1). */
PETSC_INTERN void GFRandomNormals(uint64_t seed, uint64_t index, uint64_t step, uint32_t block, PetscReal z[2])
{
  PetscReal u[2], r, angle;

  GFRandomUniforms(seed, index, step, block, u);
  r     = PetscSqrtReal(-2 * PetscLogReal(u[0]));
  angle = 2 * PETSC_PI * u[1];
  z[0]  = r * PetscCosReal(angle);
  z[1]  = r * PetscSinReal(angle);
}

/* Replica r of seed s has the key s + r * 0x9E3779B97F4A7C15 (mod 2^64): replica 0 is the run with seed s itself. */
PETSC_INTERN uint64_t GFRandomReplicaSeed(uint64_t seed, PetscInt replica)
{
  return seed + (uint64_t)replica * UINT64_C(0x9E3779B97F4A7C15);
}
