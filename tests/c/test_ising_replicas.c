/* C-level tests of replica multi-spin coding (fk_ising_replicas_*): normal
 * use (cold-start observables of all 64 replicas, a temperature scan in one
 * run, thread-count and split invariance with checkpoint/restore, spins
 * round trip) and bad input (NULL, wrong handle kind, destroyed handle, odd
 * sides, T <= 0 / NaN in the temperature array, more than 64 temperatures,
 * size mismatches on set/get spins, observables with n != 64, NaN J, a
 * NaN first temperature, spins not +-1, wrong struct_size), each
 * checked with fk_last_error() and with the state left unchanged. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fieldkern.h"
#include "check.h"

#define L 32
#define N (L * L)
#define R FK_ISING_REPLICAS
#define SWEEPS 5

static int8_t spins_a[R * N], spins_b[R * N];
static double e_full[SWEEPS * R], m_full[SWEEPS * R];
static double e_split[SWEEPS * R], m_split[SWEEPS * R];

static fk_ising_replicas *make(const double *temps, size_t n, uint64_t seed) {
    fk_ising_replicas *h = NULL;
    fk_ising_replicas_params p = fk_ising_replicas_params_default();
    p.lx = L;
    p.ly = L;
    p.seed = seed;
    p.hot_start = 1;
    CHECK_STATUS(fk_ising_replicas_create(&p, temps, n, &h), FK_OK);
    return h;
}

static void test_cold_start_and_temperature_scan(void) {
    fk_ising_replicas_params p = fk_ising_replicas_params_default();
    fk_ising_replicas *h = NULL;
    double temps[R], e[R], m[R], *scan_e;
    size_t n = 0;
    int b, s, ordered_ok = 1;
    CHECK(p.struct_size == sizeof(fk_ising_replicas_params));
    CHECK(p.dim == 2 && p.lx == 64 && p.ly == 64 && p.coupling == 1.0);
    for (b = 0; b < R; b++) temps[b] = 1.0 + 3.0 * b / (R - 1.0);
    CHECK_STATUS(fk_ising_replicas_create(&p, temps, R, &h), FK_OK);
    CHECK_STATUS(fk_ising_replicas_num_sites(h, &n), FK_OK);
    CHECK(n == 64 * 64);
    /* Cold start: every replica all +1, e = -2 J per spin, m = 1. */
    CHECK_STATUS(fk_ising_replicas_observables(h, e, m, R), FK_OK);
    for (b = 0; b < R; b++) ordered_ok &= e[b] == -2.0 && m[b] == 1.0;
    CHECK(ordered_ok);
    /* A temperature scan in one run: after 300 sweeps the energy rises
     * with T across the scan (T = 1 ordered, e ~ -2; T = 4, e ~ -0.6). */
    scan_e = malloc(sizeof(double) * 300 * R);
    CHECK_STATUS(fk_ising_replicas_sweep(h, 300, scan_e, NULL), FK_OK);
    CHECK(scan_e[299 * R + 0] < -1.95);
    CHECK(scan_e[299 * R + R - 1] > -0.9 && scan_e[299 * R + R - 1] < -0.3);
    for (s = 200, e[0] = 0.0, e[1] = 0.0; s < 300; s++) {
        e[0] += scan_e[s * R + 20];
        e[1] += scan_e[s * R + 40];
    }
    CHECK(e[0] < e[1]);
    free(scan_e);
    fk_ising_replicas_destroy(h);
}

static void test_threads_split_and_checkpoint(void) {
    double temps[4] = {1.5, 2.0, 2.269, 3.0}, e[R], m[R];
    fk_ising_replicas *a, *b, *c;
    uint64_t count = 0;
    long sum = 0;
    int i;
    CHECK_STATUS(fk_set_num_threads(1), FK_OK);
    a = make(temps, 4, 7);
    CHECK_STATUS(fk_ising_replicas_sweep(a, SWEEPS, e_full, m_full), FK_OK);
    CHECK_STATUS(fk_set_num_threads(2), FK_OK);
    b = make(temps, 4, 7);
    CHECK_STATUS(fk_ising_replicas_sweep(b, 2, e_split, m_split), FK_OK);
    /* checkpoint b after 2 sweeps, restore into c, continue there */
    CHECK_STATUS(fk_ising_replicas_get_spins(b, spins_a, R * N), FK_OK);
    CHECK_STATUS(fk_ising_replicas_get_sweep_count(b, &count), FK_OK);
    CHECK(count == 2);
    c = make(temps, 1, 7); /* same seed and stream: the random numbers */
    CHECK_STATUS(fk_ising_replicas_set_temperatures(c, temps, 4), FK_OK);
    CHECK_STATUS(fk_ising_replicas_set_spins(c, spins_a, R * N), FK_OK);
    CHECK_STATUS(fk_ising_replicas_set_sweep_count(c, count), FK_OK);
    CHECK_STATUS(fk_ising_replicas_sweep(c, SWEEPS - 2, e_split + 2 * R, m_split + 2 * R), FK_OK);
    CHECK(memcmp(e_full, e_split, sizeof e_full) == 0);
    CHECK(memcmp(m_full, m_split, sizeof m_full) == 0);
    CHECK_STATUS(fk_ising_replicas_get_spins(a, spins_a, R * N), FK_OK);
    CHECK_STATUS(fk_ising_replicas_get_spins(c, spins_b, R * N), FK_OK);
    CHECK(memcmp(spins_a, spins_b, sizeof spins_a) == 0);
    /* replica 37's spins are block 37 of the full array; m matches */
    CHECK_STATUS(fk_ising_replicas_get_replica_spins(a, 37, spins_b, N), FK_OK);
    CHECK(memcmp(spins_b, spins_a + 37 * N, N) == 0);
    for (i = 0; i < N; i++) sum += spins_b[i];
    CHECK_STATUS(fk_ising_replicas_observables(a, e, m, R), FK_OK);
    CHECK(m[37] == (double)sum / N && m[37] == m_full[(SWEEPS - 1) * R + 37]);
    CHECK(e[37] == e_full[(SWEEPS - 1) * R + 37]);
    fk_ising_replicas_destroy(a);
    fk_ising_replicas_destroy(b);
    fk_ising_replicas_destroy(c);
}

static void test_bad_input(void) {
    double temps[R + 1], e[R], m[R], before[R], big_e[R + 1], big_m[R + 1];
    fk_ising_replicas_params p = fk_ising_replicas_params_default();
    fk_ising_replicas *h, *bad = NULL;
    fk_ising *other = NULL;
    fk_ising_params ip = fk_ising_params_default();
    uint64_t count = 0;
    int b;
    for (b = 0; b <= R; b++) temps[b] = 2.0;
    h = make(temps, 3, 1);
    CHECK_STATUS(fk_ising_replicas_get_spins(h, spins_a, R * N), FK_OK);

    /* NULL arguments */
    CHECK_STATUS(fk_ising_replicas_create(NULL, temps, 1, &bad), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_ising_replicas_create(&p, NULL, 1, &bad), FK_ERR_NULL_POINTER);
    CHECK_ERROR_MENTIONS("temperatures");
    CHECK_STATUS(fk_ising_replicas_create(&p, temps, 1, NULL), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_ising_replicas_sweep(NULL, 1, NULL, NULL), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_ising_replicas_observables(h, NULL, m, R), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_ising_replicas_get_sweep_count(h, NULL), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_ising_replicas_set_spins(h, NULL, R * N), FK_ERR_NULL_POINTER);

    /* sizes: odd or too small sides, temperature count, spins arrays */
    p.lx = 33;
    CHECK_STATUS(fk_ising_replicas_create(&p, temps, 1, &bad), FK_ERR_INVALID_SIZE);
    CHECK_ERROR_MENTIONS("lx = 33");
    p.lx = 64;
    p.dim = 3;
    p.lz = 1;
    CHECK_STATUS(fk_ising_replicas_create(&p, temps, 1, &bad), FK_ERR_INVALID_SIZE);
    CHECK_ERROR_MENTIONS("lz = 1");
    p.dim = 4;
    CHECK_STATUS(fk_ising_replicas_create(&p, temps, 1, &bad), FK_ERR_OUT_OF_RANGE);
    p.dim = 2;
    CHECK_STATUS(fk_ising_replicas_create(&p, temps, R + 1, &bad), FK_ERR_INVALID_SIZE);
    CHECK_ERROR_MENTIONS("65 temperatures");
    CHECK_STATUS(fk_ising_replicas_create(&p, temps, 0, &bad), FK_ERR_INVALID_SIZE);
    p.struct_size = 8;
    CHECK_STATUS(fk_ising_replicas_create(&p, temps, 1, &bad), FK_ERR_STRUCT_SIZE);
    p.struct_size = sizeof p;
    p.hot_start = 2;
    CHECK_STATUS(fk_ising_replicas_create(&p, temps, 1, &bad), FK_ERR_OUT_OF_RANGE);
    p.hot_start = 0;
    p.field = NAN;
    CHECK_STATUS(fk_ising_replicas_create(&p, temps, 1, &bad), FK_ERR_NON_FINITE);
    p.field = 0.0;
    p.coupling = NAN;
    CHECK_STATUS(fk_ising_replicas_create(&p, temps, 1, &bad), FK_ERR_NON_FINITE);
    p.coupling = 1.0;
    CHECK(bad == NULL);
    CHECK_STATUS(fk_ising_replicas_set_spins(h, spins_a, R * N - 1), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_ising_replicas_get_spins(h, spins_b, N), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_ising_replicas_get_replica_spins(h, 3, spins_b, N + 1), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_ising_replicas_get_replica_spins(h, 64, spins_b, N), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_ising_replicas_observables(h, e, m, 10), FK_ERR_INVALID_SIZE);
    /* exactly 64: a larger n is an error too (arrays hold 65 here) */
    CHECK_STATUS(fk_ising_replicas_observables(h, big_e, big_m, R + 1), FK_ERR_INVALID_SIZE);

    /* temperatures <= 0 or NaN, in create and in set_temperatures */
    temps[2] = 0.0;
    CHECK_STATUS(fk_ising_replicas_create(&p, temps, 3, &bad), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("temperatures[2]");
    temps[2] = NAN;
    CHECK_STATUS(fk_ising_replicas_create(&p, temps, 3, &bad), FK_ERR_NON_FINITE);
    CHECK_STATUS(fk_ising_replicas_set_temperatures(h, temps, 3), FK_ERR_NON_FINITE);
    CHECK_ERROR_MENTIONS("temperatures[2]");
    /* the first temperature is checked like the others */
    temps[2] = 2.0;
    temps[0] = NAN;
    CHECK_STATUS(fk_ising_replicas_create(&p, temps, 3, &bad), FK_ERR_NON_FINITE);
    CHECK_ERROR_MENTIONS("temperatures[0]");
    CHECK_STATUS(fk_ising_replicas_set_temperatures(h, temps, 3), FK_ERR_NON_FINITE);
    temps[0] = 2.0;
    temps[2] = -1.0;
    CHECK_STATUS(fk_ising_replicas_set_temperatures(h, temps, 3), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_ising_replicas_set_temperatures(h, temps, R + 1), FK_ERR_INVALID_SIZE);
    temps[2] = 2.0;

    /* spins not +-1: named, and nothing changed */
    CHECK_STATUS(fk_ising_replicas_observables(h, before, m, R), FK_OK);
    memcpy(spins_b, spins_a, sizeof spins_a);
    spins_b[2 * N + 5] = 0;
    CHECK_STATUS(fk_ising_replicas_set_spins(h, spins_b, R * N), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("replica 2, site 5");
    CHECK_STATUS(fk_ising_replicas_observables(h, e, m, R), FK_OK);
    CHECK(memcmp(e, before, sizeof e) == 0);
    CHECK_STATUS(fk_ising_replicas_get_sweep_count(h, &count), FK_OK);
    CHECK(count == 0);

    /* wrong handle kinds and a destroyed handle */
    CHECK_STATUS(fk_ising_create(&ip, &other), FK_OK);
    CHECK_STATUS(fk_ising_replicas_sweep((fk_ising_replicas *)(void *)other, 1, NULL, NULL), FK_ERR_WRONG_HANDLE);
    CHECK_STATUS(fk_ising_sweep((fk_ising *)(void *)h, FK_ISING_METROPOLIS, 1, NULL, NULL), FK_ERR_WRONG_HANDLE);
    CHECK_STATUS(fk_ising_replicas_destroy((fk_ising_replicas *)(void *)other), FK_ERR_WRONG_HANDLE);
    fk_ising_destroy(other);
    CHECK_STATUS(fk_ising_replicas_destroy(h), FK_OK);
    CHECK_STATUS(fk_ising_replicas_destroy(NULL), FK_OK);
}

int main(void) {
    test_cold_start_and_temperature_scan();
    test_threads_split_and_checkpoint();
    test_bad_input();
    return fk_check_summary();
}
