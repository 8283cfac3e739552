/* C-level tests of the Ising lattice (fk_ising_*): normal use (ordered
 * state energy, sweeps with per-sweep observables, thread-count and split
 * invariance, checkpoint/restore with the Wolff RNG state, Binder cumulant)
 * and bad input (NULL, wrong sizes, spins not +-1, odd sides for the
 * checkerboard, T <= 0 and NaN, unknown update, wrong struct_size, wrong and
 * destroyed handles), each checked with fk_last_error() and with the state
 * left unchanged. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fieldkern.h"
#include "check.h"

#define L 32
#define N (L * L)
#define SWEEPS 20

static int8_t spins_a[N], spins_b[N];
static double e_a[SWEEPS], m_a[SWEEPS], e_b[SWEEPS], m_b[SWEEPS];

static fk_ising *make(double t, uint64_t seed) {
    fk_ising *h = NULL;
    fk_ising_params p = fk_ising_params_default();
    p.lx = L;
    p.ly = L;
    p.temperature = t;
    p.seed = seed;
    p.hot_start = 1;
    CHECK_STATUS(fk_ising_create(&p, &h), FK_OK);
    return h;
}

static void test_defaults_and_ordered_state(void) {
    fk_ising_params p = fk_ising_params_default();
    fk_ising *h = NULL;
    size_t n = 0;
    double e = 0.0, m = 0.0;
    CHECK(p.struct_size == sizeof(fk_ising_params));
    CHECK(p.dim == 2 && p.lx == 64 && p.ly == 64);
    CHECK(fabs(p.temperature - 2.0 / log(1.0 + sqrt(2.0))) < 1e-12);
    CHECK_STATUS(fk_ising_create(&p, &h), FK_OK);
    CHECK_STATUS(fk_ising_num_sites(h, &n), FK_OK);
    CHECK(n == 64 * 64);
    /* Cold start: all +1, e = -2 J per spin (2D), m = 1. */
    CHECK_STATUS(fk_ising_observables(h, &e, &m), FK_OK);
    CHECK(e == -2.0 && m == 1.0);
    fk_ising_destroy(h);

    /* 3D cold start: e = -3 J - h. */
    p.dim = 3;
    p.lx = 4;
    p.ly = 6;
    p.lz = 8;
    p.field = 0.5;
    CHECK_STATUS(fk_ising_create(&p, &h), FK_OK);
    CHECK_STATUS(fk_ising_observables(h, &e, &m), FK_OK);
    CHECK(e == -3.5 && m == 1.0);
    CHECK_STATUS(fk_ising_sweep(h, FK_ISING_METROPOLIS, 3, NULL, NULL), FK_OK);
    fk_ising_destroy(h);
}

static void test_sweeps_threads_split_and_checkpoint(void) {
    fk_ising *a, *b, *c;
    uint64_t count = 0, rng[4], flipped = 0;
    int k;
    CHECK_STATUS(fk_set_num_threads(1), FK_OK);
    a = make(2.3, 7);
    CHECK_STATUS(fk_ising_sweep(a, FK_ISING_HEAT_BATH, SWEEPS, e_a, m_a), FK_OK);
    CHECK_STATUS(fk_ising_get_spins(a, spins_a, N), FK_OK);
    for (k = 0; k < SWEEPS; k++) {
        CHECK(e_a[k] >= -2.0 && e_a[k] <= 2.0 && fabs(m_a[k]) <= 1.0);
    }

    /* Two threads, the same sweeps split 5 + 15: bitwise identical. */
    CHECK_STATUS(fk_set_num_threads(2), FK_OK);
    b = make(2.3, 7);
    CHECK_STATUS(fk_ising_sweep(b, FK_ISING_HEAT_BATH, 5, e_b, m_b), FK_OK);
    CHECK_STATUS(fk_ising_sweep(b, FK_ISING_HEAT_BATH, SWEEPS - 5, e_b + 5, m_b + 5), FK_OK);
    CHECK_STATUS(fk_ising_get_spins(b, spins_b, N), FK_OK);
    CHECK(memcmp(spins_a, spins_b, sizeof spins_a) == 0);
    CHECK(memcmp(e_a, e_b, sizeof e_a) == 0);
    CHECK(memcmp(m_a, m_b, sizeof m_a) == 0);

    /* Checkpoint a (spins, sweep count, Wolff RNG) into a fresh handle c,
     * then a and c continue identically with both kinds of update. */
    CHECK_STATUS(fk_ising_wolff(a, 10, NULL, NULL, &flipped), FK_OK);
    CHECK(flipped > 0);
    CHECK_STATUS(fk_ising_get_spins(a, spins_a, N), FK_OK);
    CHECK_STATUS(fk_ising_get_sweep_count(a, &count), FK_OK);
    CHECK(count == SWEEPS);
    CHECK_STATUS(fk_ising_get_rng_state(a, rng), FK_OK);
    c = make(2.3, 7);
    CHECK_STATUS(fk_ising_set_spins(c, spins_a, N), FK_OK);
    CHECK_STATUS(fk_ising_set_sweep_count(c, count), FK_OK);
    CHECK_STATUS(fk_ising_set_rng_state(c, rng), FK_OK);
    CHECK_STATUS(fk_ising_sweep(a, FK_ISING_METROPOLIS, 4, NULL, NULL), FK_OK);
    CHECK_STATUS(fk_ising_wolff(a, 5, e_a, m_a, NULL), FK_OK);
    CHECK_STATUS(fk_ising_sweep(c, FK_ISING_METROPOLIS, 4, NULL, NULL), FK_OK);
    CHECK_STATUS(fk_ising_wolff(c, 5, e_b, m_b, NULL), FK_OK);
    CHECK(memcmp(e_a, e_b, 5 * sizeof(double)) == 0);
    CHECK_STATUS(fk_ising_get_spins(a, spins_a, N), FK_OK);
    CHECK_STATUS(fk_ising_get_spins(c, spins_b, N), FK_OK);
    CHECK(memcmp(spins_a, spins_b, sizeof spins_a) == 0);
    fk_ising_destroy(a);
    fk_ising_destroy(b);
    fk_ising_destroy(c);
}

static void test_binder(void) {
    double ordered[4] = {0.9, -0.9, 0.9, 0.9};
    double u = 0.0, zeros[2] = {0.0, 0.0}, bad[2] = {0.5, NAN};
    CHECK_STATUS(fk_ising_binder_cumulant(ordered, 4, &u), FK_OK);
    CHECK(fabs(u - 2.0 / 3.0) < 1e-12);
    CHECK_STATUS(fk_ising_binder_cumulant(NULL, 4, &u), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_ising_binder_cumulant(ordered, 4, NULL), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_ising_binder_cumulant(ordered, 0, &u), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_ising_binder_cumulant(zeros, 2, &u), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_ising_binder_cumulant(bad, 2, &u), FK_ERR_NON_FINITE);
    CHECK_ERROR_MENTIONS("m[1]");
}

static void test_bad_input(void) {
    fk_ising_params p = fk_ising_params_default();
    fk_ising *h = NULL, *odd = NULL;
    double e = 0.0, m = 0.0, e0 = 0.0, m0 = 0.0;
    int i;

    /* create */
    CHECK_STATUS(fk_ising_create(NULL, &h), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_ising_create(&p, NULL), FK_ERR_NULL_POINTER);
    p.struct_size = 8;
    CHECK_STATUS(fk_ising_create(&p, &h), FK_ERR_STRUCT_SIZE);
    CHECK_ERROR_MENTIONS("struct_size");
    p = fk_ising_params_default();
    p.temperature = 0.0;
    CHECK_STATUS(fk_ising_create(&p, &h), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("temperature");
    p.temperature = -1.0;
    CHECK_STATUS(fk_ising_create(&p, &h), FK_ERR_OUT_OF_RANGE);
    p.temperature = NAN;
    CHECK_STATUS(fk_ising_create(&p, &h), FK_ERR_NON_FINITE);
    p = fk_ising_params_default();
    p.coupling = INFINITY;
    CHECK_STATUS(fk_ising_create(&p, &h), FK_ERR_NON_FINITE);
    CHECK_ERROR_MENTIONS("coupling");
    p = fk_ising_params_default();
    p.lx = 1;
    CHECK_STATUS(fk_ising_create(&p, &h), FK_ERR_INVALID_SIZE);
    CHECK_ERROR_MENTIONS("lx = 1");
    p = fk_ising_params_default();
    p.dim = 4;
    CHECK_STATUS(fk_ising_create(&p, &h), FK_ERR_OUT_OF_RANGE);
    p = fk_ising_params_default();
    p.hot_start = 2;
    CHECK_STATUS(fk_ising_create(&p, &h), FK_ERR_OUT_OF_RANGE);
    CHECK(h == NULL); /* never written on error */

    p = fk_ising_params_default();
    p.lx = L;
    p.ly = L;
    CHECK_STATUS(fk_ising_create(&p, &h), FK_OK);
    CHECK_STATUS(fk_ising_observables(h, &e0, &m0), FK_OK);

    /* spins: NULL, wrong size, not +-1 (lattice unchanged) */
    for (i = 0; i < N; i++) spins_a[i] = -1;
    spins_a[123] = 0;
    CHECK_STATUS(fk_ising_set_spins(h, spins_a, N), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("spins[123] = 0");
    spins_a[123] = 2;
    CHECK_STATUS(fk_ising_set_spins(h, spins_a, N), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_ising_set_spins(h, NULL, N), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_ising_set_spins(h, spins_a, N - 1), FK_ERR_INVALID_SIZE);
    CHECK_ERROR_MENTIONS("1023");
    CHECK_STATUS(fk_ising_get_spins(h, spins_b, N + 1), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_ising_get_spins(h, NULL, N), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_ising_observables(h, &e, &m), FK_OK);
    CHECK(e == e0 && m == m0);

    /* sweep: unknown update, NULL handle; temperature */
    CHECK_STATUS(fk_ising_sweep(h, 17, 1, NULL, NULL), FK_ERR_UNKNOWN_ENUM);
    CHECK_ERROR_MENTIONS("17");
    CHECK_STATUS(fk_ising_sweep(NULL, FK_ISING_METROPOLIS, 1, NULL, NULL), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_ising_set_temperature(h, -2.0), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_ising_set_temperature(h, 0.0), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_ising_set_temperature(h, NAN), FK_ERR_NON_FINITE);
    CHECK_STATUS(fk_ising_set_temperature(h, 1.0), FK_OK);
    CHECK_STATUS(fk_ising_observables(h, NULL, &m), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_ising_get_rng_state(h, NULL), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_ising_set_rng_state(h, NULL), FK_ERR_NULL_POINTER);

    /* Odd side: checkerboard rejected (documented), sequential and Wolff fine. */
    p.lx = 3;
    p.ly = 3;
    CHECK_STATUS(fk_ising_create(&p, &odd), FK_OK);
    CHECK_STATUS(fk_ising_sweep(odd, FK_ISING_METROPOLIS, 1, NULL, NULL), FK_ERR_INVALID_SIZE);
    CHECK_ERROR_MENTIONS("even");
    CHECK_STATUS(fk_ising_sweep(odd, FK_ISING_HEAT_BATH, 1, NULL, NULL), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_ising_sweep(odd, FK_ISING_METROPOLIS_SEQUENTIAL, 2, NULL, NULL), FK_OK);
    CHECK_STATUS(fk_ising_sweep(odd, FK_ISING_HEAT_BATH_SEQUENTIAL, 2, NULL, NULL), FK_OK);
    CHECK_STATUS(fk_ising_wolff(odd, 2, NULL, NULL, NULL), FK_OK);

    /* Wolff needs J >= 0. */
    fk_ising_destroy(odd);
    p.coupling = -1.0;
    CHECK_STATUS(fk_ising_create(&p, &odd), FK_OK);
    CHECK_STATUS(fk_ising_wolff(odd, 1, NULL, NULL, NULL), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("J >= 0");
    fk_ising_destroy(odd);

    /* A pointer that is not an fk_ising: every call reports it, destroy
     * leaves it alone; NULL destroy is a no-op. */
    {
        static uint64_t junk[64];
        fk_ising *fake = (fk_ising *)(void *)junk;
        CHECK_STATUS(fk_ising_sweep(fake, FK_ISING_METROPOLIS, 1, NULL, NULL), FK_ERR_WRONG_HANDLE);
        CHECK_ERROR_MENTIONS("fk_ising");
        CHECK_STATUS(fk_ising_observables(fake, &e, &m), FK_ERR_WRONG_HANDLE);
        fk_ising_destroy(fake);
        CHECK(junk[0] == 0);
    }
    fk_ising_destroy(h);
    fk_ising_destroy(NULL);
}

/* Multi-spin coding: same hot start as fk_ising, split/thread invariance,
 * observables consistent with the spins, and its own bad input. */
static void test_multi_spin(void) {
    static int8_t packed[128 * 128], plain[128 * 128];
    fk_ising_params p = fk_ising_params_default();
    fk_ising *h = NULL;
    fk_ising_msc *a = NULL, *b = NULL, *bad = NULL;
    double e_full[6], m_full[6], e_split[6], m_split[6], e = 0.0, m = 0.0;
    uint64_t count = 0;
    long sum = 0;
    int i;
    p.lx = 128;
    p.ly = 128;
    p.hot_start = 1;
    p.seed = 3;
    CHECK_STATUS(fk_ising_create(&p, &h), FK_OK);
    CHECK_STATUS(fk_ising_msc_create(&p, &a), FK_OK);
    CHECK_STATUS(fk_ising_get_spins(h, plain, 128 * 128), FK_OK);
    CHECK_STATUS(fk_ising_msc_get_spins(a, packed, 128 * 128), FK_OK);
    CHECK(memcmp(plain, packed, sizeof plain) == 0);

    CHECK_STATUS(fk_set_num_threads(1), FK_OK);
    CHECK_STATUS(fk_ising_msc_sweep(a, 6, e_full, m_full), FK_OK);
    CHECK_STATUS(fk_set_num_threads(2), FK_OK);
    CHECK_STATUS(fk_ising_msc_create(&p, &b), FK_OK);
    CHECK_STATUS(fk_ising_msc_sweep(b, 2, e_split, m_split), FK_OK);
    CHECK_STATUS(fk_ising_msc_sweep(b, 4, e_split + 2, m_split + 2), FK_OK);
    CHECK(memcmp(e_full, e_split, sizeof e_full) == 0);
    CHECK(memcmp(m_full, m_split, sizeof m_full) == 0);
    CHECK_STATUS(fk_ising_msc_get_sweep_count(b, &count), FK_OK);
    CHECK(count == 6);
    CHECK_STATUS(fk_ising_msc_get_spins(b, packed, 128 * 128), FK_OK);
    for (i = 0; i < 128 * 128; i++) sum += packed[i];
    CHECK_STATUS(fk_ising_msc_observables(b, &e, &m), FK_OK);
    CHECK(m == (double)sum / (128.0 * 128.0) && e == e_full[5]);

    /* checkpoint: spins after 2 sweeps plus the sweep counter resume the run
     * bit for bit (the counter keys the random numbers) */
    {
        static int8_t at2[128 * 128];
        fk_ising_msc *c = NULL, *d = NULL;
        double e_resumed[4], m_resumed[4];
        CHECK_STATUS(fk_ising_msc_create(&p, &c), FK_OK);
        CHECK_STATUS(fk_ising_msc_sweep(c, 2, NULL, NULL), FK_OK);
        CHECK_STATUS(fk_ising_msc_get_spins(c, at2, 128 * 128), FK_OK);
        p.hot_start = 0;
        CHECK_STATUS(fk_ising_msc_create(&p, &d), FK_OK);
        p.hot_start = 1;
        CHECK_STATUS(fk_ising_msc_set_spins(d, at2, 128 * 128), FK_OK);
        CHECK_STATUS(fk_ising_msc_set_sweep_count(d, 2), FK_OK);
        CHECK_STATUS(fk_ising_msc_get_sweep_count(d, &count), FK_OK);
        CHECK(count == 2);
        CHECK_STATUS(fk_ising_msc_sweep(d, 4, e_resumed, m_resumed), FK_OK);
        CHECK(memcmp(e_resumed, e_full + 2, sizeof e_resumed) == 0);
        CHECK(memcmp(m_resumed, m_full + 2, sizeof m_resumed) == 0);
        fk_ising_msc_destroy(c);
        fk_ising_msc_destroy(d);
    }

    /* bad input */
    p.ly = 64;
    CHECK_STATUS(fk_ising_msc_create(&p, &bad), FK_ERR_INVALID_SIZE);
    CHECK_ERROR_MENTIONS("multiple of 128");
    p.ly = 128;
    p.field = 0.1;
    CHECK_STATUS(fk_ising_msc_create(&p, &bad), FK_ERR_OUT_OF_RANGE);
    p.field = 0.0;
    p.temperature = -1.0;
    CHECK_STATUS(fk_ising_msc_create(&p, &bad), FK_ERR_OUT_OF_RANGE);
    p.temperature = 2.0;
    p.dim = 3;
    CHECK_STATUS(fk_ising_msc_create(&p, &bad), FK_ERR_OUT_OF_RANGE);
    p.dim = 2;
    p.hot_start = 2;
    CHECK_STATUS(fk_ising_msc_create(&p, &bad), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("hot_start");
    p.hot_start = 1;
    p.lx = 48;
    CHECK_STATUS(fk_ising_msc_create(&p, &bad), FK_ERR_INVALID_SIZE);
    CHECK_ERROR_MENTIONS("multiple of 32");
    p.lx = 128;
    CHECK(bad == NULL);
    packed[5] = 3;
    CHECK_STATUS(fk_ising_msc_set_spins(a, packed, 128 * 128), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("spins[5] = 3");
    CHECK_STATUS(fk_ising_msc_set_spins(a, packed, 100), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_ising_msc_set_temperature(a, NAN), FK_ERR_NON_FINITE);
    CHECK_STATUS(fk_ising_msc_sweep(NULL, 1, NULL, NULL), FK_ERR_NULL_POINTER);
    /* an fk_ising is not an fk_ising_msc */
    CHECK_STATUS(fk_ising_msc_sweep((fk_ising_msc *)(void *)h, 1, NULL, NULL), FK_ERR_WRONG_HANDLE);
    CHECK_STATUS(fk_ising_sweep((fk_ising *)(void *)a, FK_ISING_METROPOLIS, 1, NULL, NULL), FK_ERR_WRONG_HANDLE);
    fk_ising_destroy(h);
    fk_ising_msc_destroy(a);
    fk_ising_msc_destroy(b);
    fk_ising_msc_destroy(NULL);
}

/* Worm: closed configurations, estimators in range, checkpoint, bad input. */
static void test_worm(void) {
    static uint8_t links[2 * 16 * 16], saved[2 * 16 * 16], again[2 * 16 * 16];
    fk_ising_params p = fk_ising_params_default();
    fk_ising_worm *w = NULL, *v = NULL, *bad = NULL;
    uint64_t steps = 0, rng[4];
    double e = 0.0, chi = 0.0;
    int s, deg_ok = 1;
    p.lx = 16;
    p.ly = 16;
    p.temperature = 3.0;
    CHECK_STATUS(fk_ising_worm_create(&p, &w), FK_OK);
    CHECK_STATUS(fk_ising_worm_run(w, 100000), FK_OK);
    CHECK_STATUS(fk_ising_worm_estimates(w, &e, &chi), FK_OK);
    CHECK(e < -0.5 && e > -1.2 && chi > 1.0 && chi < 20.0);
    CHECK_STATUS(fk_ising_worm_run_closed(w, 50, &steps), FK_OK);
    CHECK(steps >= 50);
    CHECK_STATUS(fk_ising_worm_get_links(w, links, sizeof links), FK_OK);
    for (s = 0; s < 256; s++) {
        int x = s % 16, y = s / 16;
        int left = y * 16 + (x + 15) % 16, down = ((y + 15) % 16) * 16 + x;
        if ((links[s] + links[256 + s] + links[left] + links[256 + down]) % 2 != 0) deg_ok = 0;
    }
    CHECK(deg_ok);
    /* checkpoint */
    memcpy(saved, links, sizeof links);
    CHECK_STATUS(fk_ising_worm_get_rng_state(w, rng), FK_OK);
    CHECK_STATUS(fk_ising_worm_create(&p, &v), FK_OK);
    CHECK_STATUS(fk_ising_worm_set_links(v, saved, sizeof saved), FK_OK);
    CHECK_STATUS(fk_ising_worm_set_rng_state(v, rng), FK_OK);
    CHECK_STATUS(fk_ising_worm_run_closed(w, 20, NULL), FK_OK);
    CHECK_STATUS(fk_ising_worm_run_closed(v, 20, NULL), FK_OK);
    CHECK_STATUS(fk_ising_worm_get_links(w, links, sizeof links), FK_OK);
    CHECK_STATUS(fk_ising_worm_get_links(v, again, sizeof again), FK_OK);
    CHECK(memcmp(links, again, sizeof links) == 0);
    /* bad input */
    saved[0] ^= 1; /* two sites now have odd degree */
    CHECK_STATUS(fk_ising_worm_set_links(v, saved, sizeof saved), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("odd degree");
    saved[0] = 2;
    CHECK_STATUS(fk_ising_worm_set_links(v, saved, sizeof saved), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_ising_worm_set_links(v, saved, 10), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_ising_worm_get_links(v, NULL, sizeof links), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_ising_worm_estimates(v, NULL, &chi), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_ising_worm_set_temperature(v, 0.0), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_ising_worm_run(NULL, 5), FK_ERR_NULL_POINTER);
    p.field = 0.5;
    CHECK_STATUS(fk_ising_worm_create(&p, &bad), FK_ERR_OUT_OF_RANGE);
    p.field = 0.0;
    p.coupling = -1.0;
    CHECK_STATUS(fk_ising_worm_create(&p, &bad), FK_ERR_OUT_OF_RANGE);
    p.coupling = 1.0;
    p.dim = 3;
    CHECK_STATUS(fk_ising_worm_create(&p, &bad), FK_ERR_OUT_OF_RANGE);
    CHECK(bad == NULL);
    fk_ising_worm_destroy(w);
    fk_ising_worm_destroy(v);
    fk_ising_worm_destroy(NULL);
}

int main(void) {
    test_defaults_and_ordered_state();
    test_worm();
    test_multi_spin();
    test_sweeps_threads_split_and_checkpoint();
    test_binder();
    test_bad_input();
    return fk_check_summary();
}
