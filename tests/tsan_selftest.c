/* ThreadSanitizer's self-test (tests/tsan_run.sh; docs/reliability.md,
 * "Sanitizers"): shows that the TSan + libomp + Archer setup reports a real
 * data race in an OpenMP loop and stays silent on the synchronisation OpenMP
 * provides (barrier, reduction, critical), so that a clean run of the tests
 * means something. Built with -DRACY the loop writes one shared variable
 * from every thread without synchronisation. */
#include <omp.h>
#include <stdio.h>

int main(void) {
    double a[4096], sum = 0.0, shared = 0.0;
#pragma omp parallel num_threads(2)
    {
#pragma omp for
        for (int i = 0; i < 4096; i++)
            a[i] = 0.5 * i;
            /* implicit barrier: every a[i] is written before any thread reads it */
#pragma omp for reduction(+ : sum)
        for (int i = 0; i < 4096; i++)
            sum += a[4095 - i];
#pragma omp critical
        shared += 1.0;
#ifdef RACY
        shared += 1.0; /* the planted race */
#endif
    }
    printf("sum %g shared %g\n", sum, shared);
    return sum == 0.5 * 4095 * 4096 / 2 ? 0 : 1;
}
