/* Baseline for benches/ising.rs: the straightforward C loop an HPC
 * programmer would write for a 2D Ising Metropolis (or heat-bath) sweep.
 * Row-major int8 spins, typewriter order, periodic wrap by index arithmetic,
 * acceptance thresholds precomputed, ONE xoshiro256** draw per site (its top
 * 32 bits compared with a 32-bit threshold). Compiled by the bench at run time
 * with `cc -O3 -march=native`.
 *
 * usage: ising_baseline L SWEEPS metropolis|heatbath
 * prints: flips_per_ns <value>   (best sweep of SWEEPS) */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t s[4];

static inline uint64_t rotl(const uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t xoshiro256ss(void) {
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

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static uint32_t threshold(double p) {
    if (p >= 1.0) return UINT32_MAX;
    return (uint32_t)(p * 4294967296.0);
}

int main(int argc, char **argv) {
    int L = argc > 1 ? atoi(argv[1]) : 4096;
    int sweeps = argc > 2 ? atoi(argv[2]) : 5;
    int heatbath = argc > 3 && strcmp(argv[3], "heatbath") == 0;
    double beta = log(1.0 + sqrt(2.0)) / 2.0; /* 1 / Tc */
    size_t n = (size_t)L * L;
    int8_t *spin = malloc(n);
    uint32_t thr[9]; /* indexed by s * nb + 4 (Metropolis) or nb + 4 (heat bath) */
    double best = 1e30;
    long sum = 0;
    int k, x, y;
    s[0] = 0x9E3779B97F4A7C15u; s[1] = 0xBF58476D1CE4E5B9u;
    s[2] = 0x94D049BB133111EBu; s[3] = 0x2545F4914F6CDD1Du;
    for (size_t i = 0; i < n; i++) spin[i] = (xoshiro256ss() >> 63) ? 1 : -1;
    for (k = 0; k < 9; k++) {
        double nb = k - 4;
        thr[k] = heatbath ? threshold(1.0 / (1.0 + exp(-2.0 * beta * nb)))
                          : threshold(exp(-2.0 * beta * nb));
    }
    for (k = 0; k < sweeps; k++) {
        double t0 = now(), dt;
        for (y = 0; y < L; y++) {
            int8_t *row = spin + (size_t)y * L;
            const int8_t *up = spin + (size_t)(y == 0 ? L - 1 : y - 1) * L;
            const int8_t *dn = spin + (size_t)(y == L - 1 ? 0 : y + 1) * L;
            for (x = 0; x < L; x++) {
                int left = row[x == 0 ? L - 1 : x - 1];
                int right = row[x == L - 1 ? 0 : x + 1];
                int nb = up[x] + dn[x] + left + right;
                uint32_t r = (uint32_t)(xoshiro256ss() >> 32);
                if (heatbath) {
                    row[x] = r < thr[nb + 4] ? 1 : -1;
                } else if (r < thr[row[x] * nb + 4]) {
                    row[x] = -row[x];
                }
            }
        }
        dt = now() - t0;
        if (dt < best) best = dt;
    }
    for (size_t i = 0; i < n; i++) sum += spin[i];
    printf("flips_per_ns %.4f\n", (double)n / best * 1e-9);
    fprintf(stderr, "magnetisation %ld\n", sum);
    free(spin);
    return 0;
}
