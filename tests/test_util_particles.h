/* Helpers shared by test_particles_systems.c and test_particles_data.c; static,
 * so each test executable has its own copy. */
#ifndef HAMRF_TESTS_TEST_UTIL_PARTICLES_H
#define HAMRF_TESTS_TEST_UTIL_PARTICLES_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

static double *dalloc(size_t n) {
    double *x = calloc(n ? n : 1, sizeof *x);
    assert_non_null(x);
    return x;
}

#endif
