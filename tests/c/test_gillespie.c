/* C-level tests of Gillespie trajectories (fk_gillespie_*): a two-state
 * chain's occupation against the exact p(t), determinism across thread
 * counts and split runs, observation noise, and bad rate matrices and
 * arguments (negative off-diagonal, rows not summing to zero, NaN, NULL, size
 * mismatch, bad time grids, wrong handle) leaving outputs untouched. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fieldkern.h"
#include "check.h"

#define M 20000
#define NT 8

static uint32_t st_a[M * NT], st_b[M * NT], st_c[M * NT];
static double ob_a[M * NT], ob_b[M * NT];

/* Two states, 0 -> 1 at rate a, 1 -> 0 at rate b. */
static const double A = 1.5, B = 0.5;

static fk_gillespie *make(double noise) {
    fk_gillespie_params p = fk_gillespie_params_default();
    double q[4] = {-A, A, B, -B};
    fk_gillespie *g = NULL;
    p.n_states = 2;
    p.n_trajectories = M;
    p.seed = 42;
    p.stream = 3;
    p.noise_sd = noise;
    CHECK_STATUS(fk_gillespie_create(&p, q, 4, &g), FK_OK);
    return g;
}

static void test_two_state_relaxation(void) {
    double times[NT];
    fk_gillespie *g = make(0.0);
    int m, k;
    for (m = 0; m < NT; m++) times[m] = 0.2 * (m + 1);
    CHECK_STATUS(fk_gillespie_run(g, times, NT, st_a, NULL, (size_t)M * NT), FK_OK);
    for (m = 0; m < NT; m++) {
        /* From state 0: P(1, t) = a/(a+b) (1 - exp(-(a+b) t)). */
        double p1 = A / (A + B) * (1.0 - exp(-(A + B) * times[m]));
        double se = sqrt(p1 * (1.0 - p1) / M);
        int ones = 0;
        for (k = 0; k < M; k++) ones += (int)st_a[k * NT + m];
        CHECK(fabs((double)ones / M - p1) < 5.0 * se);
    }
    CHECK_STATUS(fk_gillespie_destroy(g), FK_OK);
}

static void test_determinism_and_noise(void) {
    double times[NT];
    fk_gillespie *a, *b;
    double now = -1.0, sum = 0.0, sum2 = 0.0;
    int m, k;
    for (m = 0; m < NT; m++) times[m] = 0.5 * (m + 1);
    CHECK_STATUS(fk_set_num_threads(1), FK_OK);
    a = make(0.2);
    CHECK_STATUS(fk_gillespie_run(a, times, NT, st_a, ob_a, (size_t)M * NT), FK_OK);
    CHECK_STATUS(fk_set_num_threads(2), FK_OK);
    b = make(0.2);
    /* split: first 3 times, then the other 5 */
    CHECK_STATUS(fk_gillespie_run(b, times, 3, st_b, ob_b, (size_t)M * 3), FK_OK);
    CHECK_STATUS(fk_gillespie_run(b, times + 3, NT - 3, st_c, ob_b + M * 3, (size_t)M * (NT - 3)),
                 FK_OK);
    for (k = 0; k < M; k++) {
        for (m = 0; m < NT; m++) {
            uint32_t s = m < 3 ? st_b[k * 3 + m] : st_c[k * (NT - 3) + m - 3];
            double o = m < 3 ? ob_b[k * 3 + m] : ob_b[M * 3 + k * (NT - 3) + m - 3];
            if (s != st_a[k * NT + m] || o != ob_a[k * NT + m]) {
                CHECK(0 && "split run differs");
                k = M;
                break;
            }
        }
    }
    /* noise: obs - state ~ N(0, 0.2^2) */
    for (k = 0; k < M * NT; k++) {
        double r = ob_a[k] - (double)st_a[k];
        sum += r;
        sum2 += r * r;
    }
    CHECK(fabs(sum / (M * NT)) < 5.0 * 0.2 / sqrt(M * NT));
    CHECK(fabs(sum2 / (M * NT) - 0.04) < 5.0 * 0.04 * sqrt(2.0 / (M * NT)));
    CHECK_STATUS(fk_gillespie_get_states(b, st_b, M, &now), FK_OK);
    CHECK(now == times[NT - 1]);
    for (k = 0; k < M; k++) CHECK(st_b[k] == st_a[k * NT + NT - 1]);
    fk_gillespie_destroy(a);
    fk_gillespie_destroy(b);
}

static void test_bad_rate_matrices(void) {
    fk_gillespie_params p = fk_gillespie_params_default();
    fk_gillespie *g = NULL;
    double neg[4] = {1.0, -1.0, 0.5, -0.5};
    double rowsum[4] = {-1.0, 1.2, 0.5, -0.5};
    double nan_q[4] = {-1.0, 1.0, NAN, -0.5};
    double ok[9] = {-1.0, 1.0, 0.0, 0.0, -2.0, 2.0, 3.0, 0.0, -3.0};
    p.n_states = 2;
    CHECK_STATUS(fk_gillespie_create(&p, neg, 4, &g), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("negative");
    CHECK_STATUS(fk_gillespie_create(&p, rowsum, 4, &g), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("row 0");
    CHECK_STATUS(fk_gillespie_create(&p, nan_q, 4, &g), FK_ERR_NON_FINITE);
    CHECK_ERROR_MENTIONS("rates[2]");
    CHECK_STATUS(fk_gillespie_create(&p, NULL, 4, &g), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_gillespie_create(NULL, ok, 4, &g), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_gillespie_create(&p, ok, 4, NULL), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_gillespie_create(&p, ok, 9, &g), FK_ERR_INVALID_SIZE);
    p.n_states = 0;
    CHECK_STATUS(fk_gillespie_create(&p, ok, 0, &g), FK_ERR_INVALID_SIZE);
    p.n_states = 3;
    p.n_trajectories = 0;
    CHECK_STATUS(fk_gillespie_create(&p, ok, 9, &g), FK_ERR_OUT_OF_RANGE);
    p.n_trajectories = 10;
    p.noise_sd = -1.0;
    CHECK_STATUS(fk_gillespie_create(&p, ok, 9, &g), FK_ERR_OUT_OF_RANGE);
    p.noise_sd = NAN;
    CHECK_STATUS(fk_gillespie_create(&p, ok, 9, &g), FK_ERR_NON_FINITE);
    p.noise_sd = 0.0;
    p.row_sum_tolerance = NAN;
    CHECK_STATUS(fk_gillespie_create(&p, ok, 9, &g), FK_ERR_NON_FINITE);
    CHECK(g == NULL);
    p.row_sum_tolerance = 1e-9;
    CHECK_STATUS(fk_gillespie_create(&p, ok, 9, &g), FK_OK);
    fk_gillespie_destroy(g);
}

static void test_bad_run_arguments(void) {
    fk_gillespie *g = make(0.0);
    double times[3] = {1.0, 0.5, 2.0};
    double nan_t[2] = {1.0, NAN};
    double good[2] = {1.0, 2.0};
    uint32_t init[M];
    int k;
    for (k = 0; k < M * 2; k++) st_a[k] = 77;
    CHECK_STATUS(fk_gillespie_run(g, times, 3, st_a, NULL, (size_t)M * 3), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("times[1]");
    CHECK_STATUS(fk_gillespie_run(g, nan_t, 2, st_a, NULL, (size_t)M * 2), FK_ERR_NON_FINITE);
    CHECK_STATUS(fk_gillespie_run(g, good, 2, st_a, NULL, (size_t)M * 2 - 1), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_gillespie_run(g, good, 2, NULL, NULL, (size_t)M * 2), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_gillespie_run(g, NULL, 2, st_a, NULL, (size_t)M * 2), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_gillespie_run(NULL, good, 2, st_a, NULL, (size_t)M * 2), FK_ERR_NULL_POINTER);
    for (k = 0; k < M * 2; k++) CHECK(st_a[k] == 77);
    CHECK_STATUS(fk_gillespie_run(g, good, 2, st_a, NULL, (size_t)M * 2), FK_OK);
    /* a grid starting before the current time (2.0) */
    CHECK_STATUS(fk_gillespie_run(g, good, 2, st_a, NULL, (size_t)M * 2), FK_ERR_OUT_OF_RANGE);
    for (k = 0; k < M; k++) init[k] = 0;
    init[5] = 2;
    CHECK_STATUS(fk_gillespie_set_states(g, init, M, 0.0), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("initial[5]");
    CHECK_STATUS(fk_gillespie_set_states(g, init, M - 1, 0.0), FK_ERR_INVALID_SIZE);
    init[5] = 1;
    CHECK_STATUS(fk_gillespie_set_states(g, init, M, NAN), FK_ERR_NON_FINITE);
    CHECK_STATUS(fk_gillespie_set_states(g, init, M, 0.0), FK_OK);
    CHECK_STATUS(fk_gillespie_set_observable(g, good, 3), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_gillespie_set_observable(g, nan_t, 2), FK_ERR_NON_FINITE);
    /* wrong handle kind */
    {
        fk_sandpile_params sp = fk_sandpile_params_default();
        fk_sandpile *s = NULL;
        sp.side = 4;
        CHECK_STATUS(fk_sandpile_create(&sp, &s), FK_OK);
        CHECK_STATUS(fk_gillespie_run((fk_gillespie *)(void *)s, good, 2, st_a, NULL, (size_t)M * 2),
                     FK_ERR_WRONG_HANDLE);
        CHECK_ERROR_MENTIONS("fk_gillespie");
        CHECK_STATUS(fk_gillespie_destroy((fk_gillespie *)(void *)s), FK_ERR_WRONG_HANDLE);
        CHECK_STATUS(fk_sandpile_destroy(s), FK_OK);
    }
    CHECK_STATUS(fk_gillespie_destroy(g), FK_OK);
    CHECK_STATUS(fk_gillespie_destroy(NULL), FK_OK);
}

int main(void) {
    test_two_state_relaxation();
    test_determinism_and_noise();
    test_bad_rate_matrices();
    test_bad_run_arguments();
    return fk_check_summary();
}
