/* The seeded pseudo-random generator that drives all of hamrf's sampling.
 *
 * Algorithm: xoshiro256** (Blackman & Vigna, 2018), state seeded from a 64-bit
 * seed by four SplitMix64 outputs. Uniform doubles in [0, 1) take the top 53
 * bits of a 64-bit output: u = (x >> 11) * 2^-53. Standard normal draws use
 * the Box–Muller transform on two uniforms (the second variate is kept and
 * returned by the next call). Integers in [0, n) use Lemire's nearly-divisionless
 * rejection method, so they are exactly uniform. Same seed → same stream on
 * every platform (no floating point in the integer path, IEEE double in the
 * others). */
#ifndef HAMRF_RNG_H
#define HAMRF_RNG_H

#include "hamrf/export.h"

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hrf_rng {
    uint64_t s[4];
    double spare; /* cached second Box–Muller variate */
    int has_spare;
} hrf_rng;

HRF_API void hrf_rng_seed(hrf_rng *rng, uint64_t seed);
HRF_API uint64_t hrf_rng_next(hrf_rng *rng);                              /* 64 random bits */
HRF_API double hrf_rng_uniform(hrf_rng *rng);                             /* U[0, 1) */
HRF_API double hrf_rng_uniform_range(hrf_rng *rng, double lo, double hi); /* U[lo, hi) */
HRF_API double hrf_rng_normal(hrf_rng *rng);                              /* N(0, 1) */
HRF_API uint64_t hrf_rng_below(hrf_rng *rng, uint64_t n);                 /* U{0..n-1}; n > 0 */

#ifdef __cplusplus
}
#endif

#endif
