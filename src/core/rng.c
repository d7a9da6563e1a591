/* xoshiro256** with SplitMix64 seeding; uniform, normal and bounded-integer
 * draws. The algorithm is documented in include/hamrf/rng.h. */
#include "hamrf/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

void hrf_rng_seed(hrf_rng *rng, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
    rng->spare = 0.0;
    rng->has_spare = 0;
}

uint64_t hrf_rng_next(hrf_rng *rng) {
    uint64_t *s = rng->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double hrf_rng_uniform(hrf_rng *rng) {
    return (double)(hrf_rng_next(rng) >> 11) * 0x1.0p-53;
}

double hrf_rng_uniform_range(hrf_rng *rng, double lo, double hi) {
    return lo + (hi - lo) * hrf_rng_uniform(rng);
}

double hrf_rng_normal(hrf_rng *rng) {
    if (rng->has_spare) {
        rng->has_spare = 0;
        return rng->spare;
    }
    /* Box–Muller: u1 in (0, 1] so that log(u1) is finite. */
    double u1 = 1.0 - hrf_rng_uniform(rng);
    double u2 = hrf_rng_uniform(rng);
    double r = sqrt(-2.0 * log(u1));
    double a = 2.0 * M_PI * u2;
    rng->spare = r * sin(a);
    rng->has_spare = 1;
    return r * cos(a);
}

uint64_t hrf_rng_below(hrf_rng *rng, uint64_t n) {
    /* Lemire (2019): multiply-shift with rejection of the biased low range. */
    uint64_t x = hrf_rng_next(rng);
    __uint128_t m = (__uint128_t)x * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = -n % n;
        while (l < t) {
            x = hrf_rng_next(rng);
            m = (__uint128_t)x * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}
