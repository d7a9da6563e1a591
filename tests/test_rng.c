/* Tests of the seeded generator (src/core/rng.c, include/hamrf/rng.h; docs/math.md §3:
 * one generator drives every draw of a fit).
 *
 * References are independent of the code under test:
 *   - bit-exact outputs of xoshiro256** seeded by SplitMix64 were computed with
 *     /usr/bin/python3 in exact integer arithmetic (mod 2^64) from the published
 *     reference algorithms (https://prng.di.unimi.it/xoshiro256starstar.c and
 *     splitmix64.c); the script is reproduced in the comment above the table;
 *   - distributional checks compare sample moments with their exact values and
 *     bounds of a stated number of standard errors (SE), or a chi-square statistic
 *     with its critical value. All streams are seeded, so the tests are
 *     deterministic; the bounds say how unlikely a failure would be for a correct
 *     generator and an arbitrary seed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hamrf/rng.h"

/* Number of draws of the moment tests: SEs below are for this N. */
#define N_MOMENTS 1000000
/* Bound, in standard errors, of every moment test: a correct generator exceeds
 * 5 SE with probability ~6e-7 per statistic (normal tail). */
#define N_SE 5.0
/* Box–Muller against Python's libm: the same formula evaluated by two libms
 * differs by a few ulp in log/sqrt/cos/sin; 1e-14 absolute on values of size
 * ≤ 4 allows ~20 ulp and still catches any change of formula or of bits. */
#define TOL_BOX_MULLER 1e-14
/* Chi-square critical value, 9 degrees of freedom, upper tail 1e-3 (tables:
 * 27.877; recomputed with the regularised incomplete gamma in Python). */
#define CHI2_9DF_P001 27.877

/* ---- bit-exact reference stream ----
 * Obtained with /usr/bin/python3 (integers, MASK = 2^64 − 1):
 *   def splitmix(x): x=(x+0x9E3779B97F4A7C15)&MASK; z=x
 *       z=((z^(z>>30))*0xBF58476D1CE4E5B9)&MASK; z=((z^(z>>27))*0x94D049BB133111EB)&MASK
 *       return x, z^(z>>31)
 *   state = four successive splitmix outputs starting from x = seed
 *   next(): r=(rotl((s1*5)&MASK,7)*9)&MASK; t=(s1<<17)&MASK; s2^=s0; s3^=s1; s1^=s2;
 *           s0^=s3; s2^=t; s3=rotl(s3,45); return r
 * SplitMix64's first output from 0, 0xe220a8397b1dcdaf, is the published value. */
static const uint64_t SEED0_STATE[4] = {0xe220a8397b1dcdafULL, 0x6e789e6aa1b965f4ULL,
                                        0x06c45d188009454fULL, 0xf88bb8a8724c81ecULL};
static const uint64_t SEED0_OUT[8] = {
    0x99ec5f36cb75f2b4ULL, 0xbf6e1f784956452aULL, 0x1a5f849d4933e6e0ULL, 0x6aa594f1262d2d2cULL,
    0xbba5ad4a1f842e59ULL, 0xffef8375d9ebcacaULL, 0x6c160deed2f54c98ULL, 0x8920ad648fc30a3fULL};
/* The same first four outputs as uniforms (x >> 11)·2^-53, printed by Python's float.hex. */
static const double SEED0_UNIFORM[4] = {0x1.33d8be6d96ebep-1, 0x1.7edc3ef092ac8p-1,
                                        0x1.a5f849d4933e0p-4, 0x1.aa9653c498b4ap-2};
/* Lemire's method (x·n)>>64 with rejection of low parts below (2^64 − n) mod n,
 * in Python integers, seed 12345. */
static const uint64_t SEED12345_BELOW10[16] = {7, 1, 9, 0, 5, 0, 1, 2, 3, 9, 7, 5, 8, 9, 1, 8};
static const uint64_t SEED12345_BELOW_2P33P1[4] = {6389263471ULL, 1117082636ULL, 8274980286ULL,
                                                   415238424ULL};
/* Box–Muller (u1 = 1 − U, u2 = U; r cos, then r sin) with Python's math, seed 42. */
static const double SEED42_NORMAL[6] = {-0.303263064678738, 0.28846173882942383,
                                        1.3438117634372806, -0.6879751798977497,
                                        0.3834617912676943, -3.0758989311988945};

static void test_reference_stream_seed0(void **state) {
    (void)state;
    hrf_rng r;
    hrf_rng_seed(&r, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(r.s[i], SEED0_STATE[i]);
    for (int i = 0; i < 8; i++)
        assert_int_equal(hrf_rng_next(&r), SEED0_OUT[i]);
    hrf_rng_seed(&r, 0);
    for (int i = 0; i < 4; i++) {
        double u = hrf_rng_uniform(&r);
        assert_true(u == SEED0_UNIFORM[i]); /* exact: top 53 bits times 2^-53 */
    }
}

static void test_reference_below(void **state) {
    (void)state;
    hrf_rng r;
    hrf_rng_seed(&r, 12345);
    for (int i = 0; i < 16; i++)
        assert_int_equal(hrf_rng_below(&r, 10), SEED12345_BELOW10[i]);
    hrf_rng_seed(&r, 12345);
    for (int i = 0; i < 4; i++)
        assert_int_equal(hrf_rng_below(&r, (UINT64_C(1) << 33) + 1), SEED12345_BELOW_2P33P1[i]);
}

static void test_reference_normal(void **state) {
    (void)state;
    hrf_rng r;
    hrf_rng_seed(&r, 42);
    for (int i = 0; i < 6; i++) {
        double z = hrf_rng_normal(&r);
        if (fabs(z - SEED42_NORMAL[i]) > TOL_BOX_MULLER)
            fail_msg("normal draw %d: %.17g, Python reference %.17g", i, z, SEED42_NORMAL[i]);
    }
}

static void test_determinism(void **state) {
    (void)state;
    hrf_rng a, b;
    hrf_rng_seed(&a, 2024);
    hrf_rng_seed(&b, 2024);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(hrf_rng_next(&a), hrf_rng_next(&b));
    for (int i = 0; i < 1001; i++) { /* odd count: leaves a Box–Muller spare behind */
        double x = hrf_rng_normal(&a), y = hrf_rng_normal(&b);
        assert_memory_equal(&x, &y, sizeof x);
    }
    /* Re-seeding must drop the cached spare: a reseeded generator and a fresh
     * one give identical normal streams. */
    hrf_rng_seed(&a, 7);
    hrf_rng fresh;
    hrf_rng_seed(&fresh, 7);
    for (int i = 0; i < 5; i++) {
        double x = hrf_rng_normal(&a), y = hrf_rng_normal(&fresh);
        assert_memory_equal(&x, &y, sizeof x);
    }
}

static void test_different_seeds_differ(void **state) {
    (void)state;
    /* Neighbouring seeds, and seeds differing only in the high word. */
    const uint64_t seeds[] = {0, 1, 2, 3, UINT64_C(1) << 32, (UINT64_C(1) << 32) + 1, UINT64_MAX};
    const int ns = (int)(sizeof seeds / sizeof seeds[0]);
    uint64_t first[7][4];
    for (int k = 0; k < ns; k++) {
        hrf_rng r;
        hrf_rng_seed(&r, seeds[k]);
        for (int i = 0; i < 4; i++)
            first[k][i] = hrf_rng_next(&r);
    }
    for (int k = 0; k < ns; k++)
        for (int l = k + 1; l < ns; l++)
            for (int i = 0; i < 4; i++)
                if (first[k][i] == first[l][i])
                    fail_msg("seeds %llu and %llu give the same output %d",
                             (unsigned long long)seeds[k], (unsigned long long)seeds[l], i);
}

/* U[0,1): mean 1/2, variance 1/12.
 * SE(mean) = sqrt(1/12 / N) = 2.89e-4 for N = 1e6;
 * SE(variance) = sqrt((μ4 − σ⁴)/N) with μ4 = 1/80, σ⁴ = 1/144, so sqrt(1/180/N) = 7.45e-5. */
static void test_uniform_moments(void **state) {
    (void)state;
    hrf_rng r;
    hrf_rng_seed(&r, 99);
    double s = 0.0, s2 = 0.0, lo = 1.0, hi = 0.0;
    for (int i = 0; i < N_MOMENTS; i++) {
        double u = hrf_rng_uniform(&r);
        if (u < lo) lo = u;
        if (u > hi) hi = u;
        s += u;
        s2 += (u - 0.5) * (u - 0.5);
    }
    assert_true(lo >= 0.0);
    assert_true(hi < 1.0);
    double mean = s / N_MOMENTS;
    double var = s2 / N_MOMENTS - (mean - 0.5) * (mean - 0.5);
    double se_mean = sqrt(1.0 / 12.0 / N_MOMENTS), se_var = sqrt(1.0 / 180.0 / N_MOMENTS);
    if (fabs(mean - 0.5) > N_SE * se_mean) fail_msg("uniform mean %.6f (SE %.2e)", mean, se_mean);
    if (fabs(var - 1.0 / 12.0) > N_SE * se_var)
        fail_msg("uniform variance %.6f vs 1/12 (SE %.2e)", var, se_var);
    /* Range variant: U[lo, hi) stays inside [lo, hi). */
    for (int i = 0; i < 100000; i++) {
        double x = hrf_rng_uniform_range(&r, -3.0, 5.0);
        assert_true(x >= -3.0 && x < 5.0);
    }
}

/* N(0,1): mean 0, variance 1, skewness 0, excess kurtosis 0 (kurtosis 3).
 * Large-N standard errors: SE(mean) = 1/sqrt(N) = 1e-3, SE(var) = sqrt(2/N) = 1.41e-3,
 * SE(skew) = sqrt(6/N) = 2.45e-3, SE(kurt) = sqrt(24/N) = 4.90e-3. Also the lag-1
 * correlation (Box–Muller emits pairs): 0 with SE 1/sqrt(N). */
static void test_normal_moments(void **state) {
    (void)state;
    hrf_rng r;
    hrf_rng_seed(&r, 31337);
    double m1 = 0, m2 = 0, m3 = 0, m4 = 0, lag = 0, prev = 0;
    for (int i = 0; i < N_MOMENTS; i++) {
        double z = hrf_rng_normal(&r);
        assert_true(isfinite(z));
        m1 += z;
        m2 += z * z;
        m3 += z * z * z;
        m4 += z * z * z * z;
        if (i) lag += z * prev;
        prev = z;
    }
    const double n = N_MOMENTS;
    double mean = m1 / n;
    double var = m2 / n - mean * mean;
    double c3 = m3 / n - 3 * mean * m2 / n + 2 * mean * mean * mean;
    double c4 = m4 / n - 4 * mean * m3 / n + 6 * mean * mean * m2 / n - 3 * pow(mean, 4);
    double skew = c3 / pow(var, 1.5), kurt = c4 / (var * var);
    double corr = lag / (n - 1);
    if (fabs(mean) > N_SE / sqrt(n)) fail_msg("normal mean %.5f", mean);
    if (fabs(var - 1.0) > N_SE * sqrt(2.0 / n)) fail_msg("normal variance %.5f", var);
    if (fabs(skew) > N_SE * sqrt(6.0 / n)) fail_msg("normal skewness %.5f", skew);
    if (fabs(kurt - 3.0) > N_SE * sqrt(24.0 / n)) fail_msg("normal kurtosis %.5f", kurt);
    if (fabs(corr) > N_SE / sqrt(n)) fail_msg("normal lag-1 correlation %.5f", corr);
}

static void test_below_ranges(void **state) {
    (void)state;
    hrf_rng r;
    hrf_rng_seed(&r, 5);
    /* n = 1: always 0. */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(hrf_rng_below(&r, 1), 0);
    /* n = 3: in range, and every value occurs (P(miss one in 3000) < 1e-500). */
    int seen3[3] = {0};
    for (int i = 0; i < 3000; i++) {
        uint64_t v = hrf_rng_below(&r, 3);
        assert_true(v < 3);
        seen3[v]++;
    }
    for (int v = 0; v < 3; v++)
        assert_true(seen3[v] > 0);
    /* n = 2^33 + 1 (needs more than 32 bits): in range, and the upper half
     * [2^32, n) is hit with probability ~1/2: over 10^5 draws the fraction is
     * 1/2 within 5 SE, SE = sqrt(1/4/10^5) = 1.58e-3. Also the extreme value
     * 2^33 is a legal output, but too rare to require. */
    const uint64_t nbig = (UINT64_C(1) << 33) + 1;
    const int nb = 100000;
    int upper = 0;
    for (int i = 0; i < nb; i++) {
        uint64_t v = hrf_rng_below(&r, nbig);
        assert_true(v < nbig);
        if (v >= (UINT64_C(1) << 32)) upper++;
    }
    double frac = (double)upper / nb, p = (double)(nbig - (UINT64_C(1) << 32)) / (double)nbig;
    if (fabs(frac - p) > N_SE * sqrt(p * (1 - p) / nb))
        fail_msg("below(2^33+1): fraction in the upper half %.4f, expected %.4f", frac, p);
}

/* Chi-square test of uniformity of below(10) over 10^6 draws, 9 degrees of
 * freedom; a uniform generator exceeds CHI2_9DF_P001 with probability 1e-3. */
static void test_below_chi_square(void **state) {
    (void)state;
    hrf_rng r;
    hrf_rng_seed(&r, 777);
    long count[10] = {0};
    const long n = 1000000;
    for (long i = 0; i < n; i++) {
        uint64_t v = hrf_rng_below(&r, 10);
        assert_true(v < 10);
        count[v]++;
    }
    double chi2 = 0.0, e = n / 10.0;
    for (int v = 0; v < 10; v++)
        chi2 += (count[v] - e) * (count[v] - e) / e;
    if (chi2 > CHI2_9DF_P001) fail_msg("below(10): chi-square %.2f > %.3f", chi2, CHI2_9DF_P001);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_stream_seed0), cmocka_unit_test(test_reference_below),
        cmocka_unit_test(test_reference_normal),       cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_different_seeds_differ), cmocka_unit_test(test_uniform_moments),
        cmocka_unit_test(test_normal_moments),         cmocka_unit_test(test_below_ranges),
        cmocka_unit_test(test_below_chi_square),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
