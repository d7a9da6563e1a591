/* Which OpenBLAS kernels are in use and which the CPU could run (blas.h). */
#include "hamrf/blas.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *openblas_get_corename(void);

const char *hrf_blas_corename(void) {
    return openblas_get_corename();
}

const char *hrf_blas_suggest_coretype(void) {
    if (getenv("OPENBLAS_CORETYPE")) return NULL;
    const char *core = openblas_get_corename();
    if (!core) return NULL;
    /* Kernel sets that already use AVX2 or better need no help. */
    static const char *const good[] = {"Haswell",        "Zen",     "SkylakeX",  "Cooperlake",
                                       "SapphireRapids", "Skylake", "Broadwell", "KabyLake"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (strcasecmp(core, good[i]) == 0) return NULL;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    return NULL;
}
