/* fieldkern quickstart: version, SIMD level, threads, and 10^7 standard
 * normals from the counter-based Philox generator, checked against the exact
 * moments and timed.
 *
 *   cargo build --release
 *   cc -O2 -std=c99 examples/c/quickstart.c -Iinclude -Ltarget/release \
 *      -lfieldkern -Wl,-rpath,$PWD/target/release -lm -o quickstart && ./quickstart
 */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fieldkern.h"

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    size_t n = 10000000, i;
    int reps = 5, r, ok = 1;
    double *z, t0, best = 1e30, m1 = 0, m2 = 0, m3 = 0, m4 = 0;
    double mean, var, skew, kurt, se_mean, se_var, se_skew, se_kurt;
    fk_simd_capabilities simd = fk_simd_info();
    fk_status s;

    if (argc > 1 && strcmp(argv[1], "--quick") == 0) n = 1000000; /* the test suite's run */
    printf("fieldkern %s (header %s), SIMD %s: %u x f32, %u x f64, FMA %s\n",
           fk_version_string(), FK_VERSION_STRING, simd.level, simd.f32_lanes,
           simd.f64_lanes, simd.fma ? "yes" : "no");
    if (fk_version() != FK_VERSION_NUMBER) {
        printf("header/library version mismatch\n");
        return 1;
    }
    printf("threads: %d (set FK_NUM_THREADS or call fk_set_num_threads)\n",
           fk_get_num_threads());

    z = malloc(n * sizeof *z);
    if (z == NULL) return 1;
    for (r = 0; r < reps; r++) {
        t0 = now_seconds();
        s = fk_rng_fill_normal_f64(/*seed*/ 2026, /*stream*/ 0, /*counter_offset*/ 0, z, n);
        if (s != FK_OK) {
            printf("fk_rng_fill_normal_f64: %s: %s\n", fk_status_str(s), fk_last_error());
            return 1;
        }
        t0 = now_seconds() - t0;
        if (t0 < best) best = t0;
    }
    for (i = 0; i < n; i++) {
        double x = z[i], x2 = x * x;
        m1 += x;
        m2 += x2;
        m3 += x2 * x;
        m4 += x2 * x2;
    }
    mean = m1 / n;
    var = m2 / n - mean * mean;
    skew = m3 / n;
    kurt = m4 / n - 3.0;
    /* Standard errors of the sample moments of N(0,1):
     * mean 1/sqrt(n), variance sqrt(2/n), skewness sqrt(6/n), excess kurtosis sqrt(24/n). */
    se_mean = 1.0 / sqrt((double)n);
    se_var = sqrt(2.0 / n);
    se_skew = sqrt(6.0 / n);
    se_kurt = sqrt(24.0 / n);
    printf("%zu normals: mean %+.5f (exact 0, %+.1f se)  variance %.5f (exact 1, %+.1f se)\n",
           n, mean, mean / se_mean, var, (var - 1.0) / se_var);
    printf("           skewness %+.5f (exact 0, %+.1f se)  excess kurtosis %+.5f (exact 0, %+.1f se)\n",
           skew, skew / se_skew, kurt, kurt / se_kurt);
    ok = fabs(mean) < 5 * se_mean && fabs(var - 1) < 5 * se_var && fabs(skew) < 5 * se_skew &&
         fabs(kurt) < 5 * se_kurt;
    printf("throughput: %.2f normals/ns (%.1f GB/s written), best of %d\n",
           n / best * 1e-9, n * sizeof(double) / best * 1e-9, reps);
    printf("physics checks: %s\n", ok ? "all within 5 standard errors" : "FAILED");
    free(z);
    return ok ? 0 : 1;
}
