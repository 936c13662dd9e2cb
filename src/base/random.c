/*
  Counter-based random numbers: Philox4x32-10 (J. K. Salmon, M. A. Moraes, R. O. Dror,
  D. E. Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC11), a bijection of a
  128-bit counter keyed by 64 bits, computed by Random123, the authors' reference
  implementation (header-only <Random123/philox.h>, Debian package librandom123-dev):
  philox4x32_R(10, counter, key). It passes BigCrush, and a number is a pure
  function of where it is used: the counter holds (particle index, step, block), the key
  the seed. So particle i's noise at step k is the same on any number of ranks, in any
  order of evaluation.
*/
#include "base.h"
/* Random123's header compiles without warnings under the project's -std=c11 -Wall -Wextra -Wpedantic (gcc and clang): no pragmas needed. */
#include <Random123/philox.h>

PETSC_INTERN void GFPhilox4x32(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4])
{
  const philox4x32_ctr_t c = {{counter[0], counter[1], counter[2], counter[3]}};
  const philox4x32_key_t k = {{key[0], key[1]}};
  const philox4x32_ctr_t r = philox4x32_R(10, c, k);

  for (int w = 0; w < 4; w++) out[w] = r.v[w];
}

/*
  The counter of stream (index, step, block, retry): index in words 0-1, the low 32 bits of
  step in word 2; word 3 holds the block (8 bits), the retry (8 bits) and the next 16 bits
  of step. Retries are the extra words a rejection sampler draws.
*/
static inline void GFRandomBlock(uint64_t seed, uint64_t index, uint64_t step, uint32_t block, uint32_t retry, uint32_t out[4])
{
  const uint32_t counter[4] = {(uint32_t)index, (uint32_t)(index >> 32), (uint32_t)step, ((block & 0xFFu) << 24) | ((retry & 0xFFu) << 16) | (uint32_t)((step >> 32) & 0xFFFFu)};
  const uint32_t key[2]     = {(uint32_t)seed, (uint32_t)(seed >> 32)};

  GFPhilox4x32(counter, key, out);
}

/* The top 53 bits of a 64-bit word, centred in their interval: uniform in (0, 1), never 0 or 1. */
static inline PetscReal GFUniform(uint64_t bits)
{
  return ((PetscReal)(bits >> 11) + 0.5) * 0x1p-53;
}

PETSC_INTERN void GFRandomUniforms(uint64_t seed, uint64_t index, uint64_t step, uint32_t block, PetscReal u[2])
{
  uint32_t out[4];

  GFRandomBlock(seed, index, step, block, 0, out);
  for (int k = 0; k < 2; k++) u[k] = GFUniform(((uint64_t)out[2 * k] << 32) | out[2 * k + 1]);
}

/*
  Ziggurat for the standard normal (Marsaglia and Tsang 2000, with Doornik's 2005 ZIGNOR
  layout: 128 layers of equal area V under exp(-x^2/2), base layer R = 3.442619855899 with
  its tail; layer and abscissa from disjoint bits of one word). x[i] are the layers' right
  edges, ratio[i] = x[i+1]/x[i] the fraction of layer i inside the next one: 98.8% of the
  samples take one word and one multiplication.
*/
#define GF_ZIGGURAT_LAYERS 128
#define GF_ZIGGURAT_R 3.442619855899
#define GF_ZIGGURAT_V 9.91256303526217e-3

static PetscReal GFZigguratX[GF_ZIGGURAT_LAYERS + 1], GFZigguratRatio[GF_ZIGGURAT_LAYERS];
static PetscBool GFZigguratReady = PETSC_FALSE;

static void GFZigguratSetUp(void)
{
  PetscReal f = PetscExpReal(-0.5 * GF_ZIGGURAT_R * GF_ZIGGURAT_R);

  GFZigguratX[0]                  = GF_ZIGGURAT_V / f;
  GFZigguratX[1]                  = GF_ZIGGURAT_R;
  GFZigguratX[GF_ZIGGURAT_LAYERS] = 0;
  for (int i = 2; i < GF_ZIGGURAT_LAYERS; i++) {
    GFZigguratX[i] = PetscSqrtReal(-2 * PetscLogReal(GF_ZIGGURAT_V / GFZigguratX[i - 1] + f));
    f              = PetscExpReal(-0.5 * GFZigguratX[i] * GFZigguratX[i]);
  }
  for (int i = 0; i < GF_ZIGGURAT_LAYERS; i++) GFZigguratRatio[i] = GFZigguratX[i + 1] / GFZigguratX[i];
  GFZigguratReady = PETSC_TRUE;
}

/* The extra words of one normal: pairs of 64-bit words from the retries first, first + 2, first + 4, ... of its stream. */
typedef struct {
  uint64_t seed, index, step;
  uint32_t block, retry, word[4];
  int      next;
} GFZigguratWords;

static uint64_t GFZigguratNextWord(GFZigguratWords *w)
{
  if (w->next == 4) {
    GFRandomBlock(w->seed, w->index, w->step, w->block, w->retry, w->word);
    w->retry += 2;
    w->next = 0;
  }
  w->next += 2;
  return ((uint64_t)w->word[w->next - 2] << 32) | w->word[w->next - 1];
}

/* A standard normal from the word bits, drawing further words from more only where the ziggurat rejects. */
static PetscReal GFZigguratNormal(uint64_t bits, GFZigguratWords *more)
{
  for (;;) {
    const int       i = (int)(bits & (GF_ZIGGURAT_LAYERS - 1));
    const PetscReal u = 2 * GFUniform(bits) - 1;

    if (PetscAbsReal(u) < GFZigguratRatio[i]) return u * GFZigguratX[i];
    if (i == 0) {
      /* the tail beyond R (Marsaglia 1964): x = -ln(U1)/R with probability exp(-x^2/2) */
      PetscReal x, y;
      do {
        x = PetscLogReal(GFUniform(GFZigguratNextWord(more))) / GF_ZIGGURAT_R;
        y = PetscLogReal(GFUniform(GFZigguratNextWord(more)));
      } while (-2 * y < x * x);
      return u < 0 ? x - GF_ZIGGURAT_R : GF_ZIGGURAT_R - x;
    } else {
      /* the wedge of layer i: accept under the density */
      const PetscReal x = u * GFZigguratX[i], f0 = PetscExpReal(-0.5 * (GFZigguratX[i] * GFZigguratX[i] - x * x)), f1 = PetscExpReal(-0.5 * (GFZigguratX[i + 1] * GFZigguratX[i + 1] - x * x));
      if (f1 + GFUniform(GFZigguratNextWord(more)) * (f0 - f1) < 1) return x;
    }
    bits = GFZigguratNextWord(more);
  }
}

/* Two normals: one word each from the stream's first block, further words from its retries (odd ones for z[0], even for z[1]). */
PETSC_INTERN void GFRandomNormals(uint64_t seed, uint64_t index, uint64_t step, uint32_t block, PetscReal z[2])
{
  uint32_t out[4];

  if (!GFZigguratReady) GFZigguratSetUp();
  GFRandomBlock(seed, index, step, block, 0, out);
  for (int k = 0; k < 2; k++) {
    GFZigguratWords more = {seed, index, step, block, (uint32_t)(1 + k), {0, 0, 0, 0}, 4};
    z[k]                 = GFZigguratNormal(((uint64_t)out[2 * k] << 32) | out[2 * k + 1], &more);
  }
}

/* Replica r of seed s has the key s + r * 0x9E3779B97F4A7C15 (mod 2^64): replica 0 is the run with seed s itself. */
PETSC_INTERN uint64_t GFRandomReplicaSeed(uint64_t seed, PetscInt replica)
{
  return seed + (uint64_t)replica * UINT64_C(0x9E3779B97F4A7C15);
}
