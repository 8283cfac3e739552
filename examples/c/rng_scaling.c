/* Thread scaling of the Philox fills: for 1, 2, 4, ... threads (up to the
 * CPUs available, or the first argument), the best-of-5 throughput of
 * fk_rng_fill_normal_f64 and fk_rng_fill_uniform_f64, and a hash of the output
 * bits, which must be the same for every thread count.
 *
 *   ./rng_scaling [max_threads] [n]     (--quick: 2 threads, n = 10^6)
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
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

/* FNV-1a over the bytes of the output. */
static uint64_t hash_bits(const double *x, size_t n) {
    const unsigned char *p = (const unsigned char *)x;
    uint64_t h = 1469598103934665603ull;
    size_t i;
    for (i = 0; i < n * sizeof(double); i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

typedef fk_status (*fill_fn)(uint64_t, uint64_t, uint64_t, double *, size_t);

int main(int argc, char **argv) {
    int max_threads = 64, t, r, k, ok = 1;
    size_t n = 100000000;
    double *x;
    const char *names[2] = {"normal_f64", "uniform_f64"};
    fill_fn fills[2] = {fk_rng_fill_normal_f64, fk_rng_fill_uniform_f64};
    uint64_t reference[2] = {0, 0};

    if (argc > 1 && strcmp(argv[1], "--quick") == 0) {
        max_threads = 2;
        n = 1000000;
    } else {
        if (argc > 1) max_threads = atoi(argv[1]);
        if (argc > 2) n = (size_t)strtoull(argv[2], NULL, 10);
    }
    x = malloc(n * sizeof *x);
    if (x == NULL) return 1;
    printf("kernel,threads,numbers_per_ns,gb_per_s,hash\n");
    for (t = 1; t <= max_threads; t *= 2) {
        if (fk_set_num_threads(t) != FK_OK) break;
        for (k = 0; k < 2; k++) {
            double best = 1e30;
            uint64_t h;
            for (r = 0; r < 5; r++) {
                double t0 = now_seconds();
                if (fills[k](7, 0, 0, x, n) != FK_OK) {
                    printf("FAIL %s: %s\n", names[k], fk_last_error());
                    return 1;
                }
                t0 = now_seconds() - t0;
                if (t0 < best) best = t0;
            }
            h = hash_bits(x, n);
            if (t == 1) reference[k] = h;
            if (h != reference[k]) {
                printf("FAIL %s: %d threads gave different bits\n", names[k], t);
                ok = 0;
            }
            printf("%s,%d,%.3f,%.2f,%016llx\n", names[k], t, n / best * 1e-9,
                   8.0 * n / best * 1e-9, (unsigned long long)h);
        }
    }
    free(x);
    return ok ? 0 : 1;
}
