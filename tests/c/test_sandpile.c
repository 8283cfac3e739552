/* C-level tests of the BTW sandpile (fk_sandpile_*): a hand-checked toppling,
 * random drives, the Abelian property through the C API, checkpoint/restore
 * of the RNG, and bad input (NULL, wrong handle, size mismatch, heights out
 * of range, bad sites, struct_size) leaving the handle unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fieldkern.h"
#include "check.h"

#define L 24
#define NS (L * L)
#define GRAINS 4000

static uint8_t h_a[NS], h_b[NS];
static uint64_t sz_a[GRAINS], ar_a[GRAINS], du_a[GRAINS];
static uint64_t sz_b[GRAINS], ar_b[GRAINS], du_b[GRAINS];
static uint64_t act[NS];

static fk_sandpile *make(uint64_t seed) {
    fk_sandpile_params p = fk_sandpile_params_default();
    fk_sandpile *sp = NULL;
    p.side = L;
    p.seed = seed;
    CHECK_STATUS(fk_sandpile_create(&p, &sp), FK_OK);
    return sp;
}

static void test_single_toppling(void) {
    fk_sandpile_params p = fk_sandpile_params_default();
    fk_sandpile *sp = NULL;
    uint8_t h[9] = {0, 0, 0, 0, 3, 0, 0, 0, 0};
    uint8_t want[9] = {0, 1, 0, 1, 0, 1, 0, 1, 0};
    size_t site = 4;
    uint64_t s, a, d;
    CHECK(p.struct_size == sizeof(fk_sandpile_params));
    CHECK(p.side == 64);
    p.side = 3;
    CHECK_STATUS(fk_sandpile_create(&p, &sp), FK_OK);
    CHECK_STATUS(fk_sandpile_set_heights(sp, h, 9), FK_OK);
    CHECK_STATUS(fk_sandpile_add_grains(sp, &site, 1, &s, &a, &d), FK_OK);
    CHECK(s == 1 && a == 1 && d == 1);
    CHECK_STATUS(fk_sandpile_get_heights(sp, h, 9), FK_OK);
    CHECK(memcmp(h, want, 9) == 0);
    CHECK_STATUS(fk_sandpile_destroy(sp), FK_OK);
}

static void test_drive_and_checkpoint(void) {
    fk_sandpile *a = make(7), *b = make(99);
    uint64_t state[4];
    size_t i;
    uint64_t area_total = 0, act_total = 0;
    for (i = 0; i < NS; i++) h_a[i] = 3;
    CHECK_STATUS(fk_sandpile_set_heights(a, h_a, NS), FK_OK);
    CHECK_STATUS(fk_sandpile_drive(a, GRAINS, NULL, NULL, NULL), FK_OK);
    /* checkpoint a into b */
    CHECK_STATUS(fk_sandpile_get_heights(a, h_a, NS), FK_OK);
    for (i = 0; i < NS; i++) CHECK(h_a[i] <= 3);
    CHECK_STATUS(fk_sandpile_get_rng_state(a, state, 4), FK_OK);
    CHECK_STATUS(fk_sandpile_set_heights(b, h_a, NS), FK_OK);
    CHECK_STATUS(fk_sandpile_set_rng_state(b, state, 4), FK_OK);
    CHECK_STATUS(fk_sandpile_reset_activity(a), FK_OK);
    CHECK_STATUS(fk_sandpile_drive(a, GRAINS, sz_a, ar_a, du_a), FK_OK);
    CHECK_STATUS(fk_sandpile_drive(b, GRAINS, sz_b, ar_b, du_b), FK_OK);
    CHECK(memcmp(sz_a, sz_b, sizeof sz_a) == 0);
    CHECK(memcmp(ar_a, ar_b, sizeof ar_a) == 0);
    CHECK(memcmp(du_a, du_b, sizeof du_a) == 0);
    CHECK_STATUS(fk_sandpile_get_heights(b, h_b, NS), FK_OK);
    CHECK_STATUS(fk_sandpile_get_heights(a, h_a, NS), FK_OK);
    CHECK(memcmp(h_a, h_b, NS) == 0);
    /* activity sums the areas */
    CHECK_STATUS(fk_sandpile_get_activity(a, act, NS), FK_OK);
    for (i = 0; i < GRAINS; i++) {
        area_total += ar_a[i];
        CHECK(ar_a[i] <= sz_a[i]);
    }
    for (i = 0; i < NS; i++) act_total += act[i];
    CHECK(act_total == area_total);
    CHECK(area_total > 0);
    CHECK_STATUS(fk_sandpile_destroy(a), FK_OK);
    CHECK_STATUS(fk_sandpile_destroy(b), FK_OK);
}

static void test_abelian(void) {
    fk_sandpile *a = make(1), *b = make(1);
    size_t sites[500], rev[500];
    size_t i;
    for (i = 0; i < NS; i++) h_a[i] = (uint8_t)((i * 7 + 3) % 4);
    for (i = 0; i < 500; i++) sites[i] = (i * 131 + 17) % NS;
    for (i = 0; i < 500; i++) rev[i] = sites[499 - i];
    CHECK_STATUS(fk_sandpile_set_heights(a, h_a, NS), FK_OK);
    CHECK_STATUS(fk_sandpile_set_heights(b, h_a, NS), FK_OK);
    CHECK_STATUS(fk_sandpile_add_grains(a, sites, 500, NULL, NULL, NULL), FK_OK);
    CHECK_STATUS(fk_sandpile_add_grains(b, rev, 500, NULL, NULL, NULL), FK_OK);
    CHECK_STATUS(fk_sandpile_get_heights(a, h_a, NS), FK_OK);
    CHECK_STATUS(fk_sandpile_get_heights(b, h_b, NS), FK_OK);
    CHECK(memcmp(h_a, h_b, NS) == 0);
    fk_sandpile_destroy(a);
    fk_sandpile_destroy(b);
}

static void test_bad_input(void) {
    fk_sandpile_params p = fk_sandpile_params_default();
    fk_sandpile *sp = NULL, *before;
    uint64_t state[4];
    size_t sites[3] = {0, NS, 1};
    size_t i;

    CHECK_STATUS(fk_sandpile_create(NULL, &sp), FK_ERR_NULL_POINTER);
    CHECK_ERROR_MENTIONS("params");
    CHECK_STATUS(fk_sandpile_create(&p, NULL), FK_ERR_NULL_POINTER);
    p.side = 0;
    CHECK_STATUS(fk_sandpile_create(&p, &sp), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("side");
    CHECK(sp == NULL);
    p = fk_sandpile_params_default();
    p.struct_size = 4;
    CHECK_STATUS(fk_sandpile_create(&p, &sp), FK_ERR_STRUCT_SIZE);
    CHECK(sp == NULL);

    sp = make(3);
    before = sp;
    for (i = 0; i < NS; i++) h_a[i] = 2;
    CHECK_STATUS(fk_sandpile_set_heights(sp, h_a, NS), FK_OK);
    /* heights out of range: nothing changes */
    h_b[0] = 0;
    for (i = 0; i < NS; i++) h_b[i] = 1;
    h_b[37] = 4;
    CHECK_STATUS(fk_sandpile_set_heights(sp, h_b, NS), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("heights[37]");
    CHECK_STATUS(fk_sandpile_get_heights(sp, h_b, NS), FK_OK);
    CHECK(memcmp(h_a, h_b, NS) == 0);
    /* size mismatch */
    CHECK_STATUS(fk_sandpile_set_heights(sp, h_a, NS - 1), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_sandpile_get_heights(sp, h_a, NS + 1), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_sandpile_get_activity(sp, act, 3), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_sandpile_get_rng_state(sp, state, 3), FK_ERR_INVALID_SIZE);
    /* NULL arrays and handles */
    CHECK_STATUS(fk_sandpile_set_heights(sp, NULL, NS), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_sandpile_get_heights(NULL, h_a, NS), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_sandpile_drive(NULL, 10, NULL, NULL, NULL), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_sandpile_add_grains(sp, NULL, 3, NULL, NULL, NULL), FK_ERR_NULL_POINTER);
    /* a site out of range anywhere in the list: no grain is added */
    CHECK_STATUS(fk_sandpile_add_grains(sp, sites, 3, NULL, NULL, NULL), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("sites[1]");
    CHECK_STATUS(fk_sandpile_get_heights(sp, h_b, NS), FK_OK);
    CHECK(memcmp(h_a, h_b, NS) == 0);
    /* an impossible RNG state */
    CHECK_STATUS(fk_sandpile_get_rng_state(sp, state, 4), FK_OK);
    state[3] |= (uint64_t)1 << 63;
    CHECK_STATUS(fk_sandpile_set_rng_state(sp, state, 4), FK_ERR_OUT_OF_RANGE);
    /* wrong handle kind: a params struct is not a sandpile */
    CHECK_STATUS(fk_sandpile_reset_activity((fk_sandpile *)(void *)state), FK_ERR_WRONG_HANDLE);
    CHECK_ERROR_MENTIONS("fk_sandpile");
    CHECK_STATUS(fk_sandpile_destroy(sp), FK_OK);
    CHECK(before == sp);
    CHECK_STATUS(fk_sandpile_destroy(NULL), FK_OK);
}

/* fk_sandpile_activity_all_sources: a hand-checked 3x3 case, the total
 * against single-grain additions through the C API, the configuration left
 * unchanged, the same counts with reserved workers on 1 and 2 threads, and
 * bad input (NULL, size mismatch, wrong handle, too many workers) writing
 * nothing. */
static void test_activity_all_sources(void) {
    fk_sandpile_params p = fk_sandpile_params_default();
    fk_sandpile *sp = NULL, *b = make(5);
    uint8_t h[9] = {0, 0, 0, 0, 3, 0, 0, 0, 0};
    uint64_t a9[9], total = 0, sum = 0, s1, state[4] = {0, 0, 0, 0};
    size_t i;
    p.side = 3;
    CHECK_STATUS(fk_sandpile_create(&p, &sp), FK_OK);
    CHECK_STATUS(fk_sandpile_set_heights(sp, h, 9), FK_OK);
    CHECK_STATUS(fk_sandpile_activity_all_sources(sp, a9, 9, &total), FK_OK);
    CHECK(total == 1);
    for (i = 0; i < 9; i++) CHECK(a9[i] == (i == 4 ? 1u : 0u));
    CHECK_STATUS(fk_sandpile_activity_all_sources(sp, a9, 9, NULL), FK_OK);
    CHECK_STATUS(fk_sandpile_destroy(sp), FK_OK);

    /* a recurrent 24 x 24 configuration */
    for (i = 0; i < NS; i++) h_a[i] = 3;
    CHECK_STATUS(fk_sandpile_set_heights(b, h_a, NS), FK_OK);
    CHECK_STATUS(fk_sandpile_drive(b, 3 * NS, NULL, NULL, NULL), FK_OK);
    CHECK_STATUS(fk_sandpile_get_heights(b, h_a, NS), FK_OK);
    CHECK_STATUS(fk_sandpile_activity_all_sources(b, act, NS, &total), FK_OK);
    CHECK_STATUS(fk_sandpile_get_heights(b, h_b, NS), FK_OK);
    CHECK(memcmp(h_a, h_b, NS) == 0);
    for (i = 0; i < NS; i++) sum += act[i];
    CHECK(sum == total);
    /* total = sum over sources of the avalanche size of one grain */
    sum = 0;
    for (i = 0; i < NS; i++) {
        CHECK_STATUS(fk_sandpile_set_heights(b, h_a, NS), FK_OK);
        CHECK_STATUS(fk_sandpile_add_grains(b, &i, 1, &s1, NULL, NULL), FK_OK);
        sum += s1;
    }
    CHECK(sum == total && total > 0);
    /* With reserved workers on 1 and 2 threads: the same counts. */
    {
        static uint64_t par[NS];
        uint64_t ptotal = 0;
        CHECK_STATUS(fk_sandpile_set_heights(b, h_a, NS), FK_OK);
        CHECK_STATUS(fk_sandpile_reserve_activity_workers(b, 3), FK_OK);
        for (int threads = 1; threads <= 2; threads++) {
            CHECK_STATUS(fk_set_num_threads(threads), FK_OK);
            CHECK_STATUS(fk_sandpile_activity_all_sources(b, par, NS, &ptotal), FK_OK);
            CHECK(ptotal == total && memcmp(par, act, sizeof par) == 0);
        }
        CHECK_STATUS(fk_sandpile_reserve_activity_workers(b, 5000), FK_ERR_OUT_OF_RANGE);
        CHECK_ERROR_MENTIONS("workers");
        CHECK_STATUS(fk_sandpile_reserve_activity_workers(NULL, 2), FK_ERR_NULL_POINTER);
        CHECK_STATUS(fk_sandpile_reserve_activity_workers(b, 0), FK_OK);
    }

    /* bad input: nothing written */
    for (i = 0; i < NS; i++) act[i] = 12345;
    total = 777;
    CHECK_STATUS(fk_sandpile_activity_all_sources(NULL, act, NS, &total), FK_ERR_NULL_POINTER);
    CHECK_ERROR_MENTIONS("sp");
    CHECK_STATUS(fk_sandpile_activity_all_sources(b, NULL, NS, &total), FK_ERR_NULL_POINTER);
    CHECK_ERROR_MENTIONS("activity");
    CHECK_STATUS(fk_sandpile_activity_all_sources(b, act, NS - 1, &total), FK_ERR_INVALID_SIZE);
    CHECK_ERROR_MENTIONS("activity");
    CHECK_STATUS(fk_sandpile_activity_all_sources(b, act, NS + 1, NULL), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_sandpile_activity_all_sources((fk_sandpile *)(void *)state, act, NS, &total),
                 FK_ERR_WRONG_HANDLE);
    CHECK_ERROR_MENTIONS("fk_sandpile");
    for (i = 0; i < NS; i++) CHECK(act[i] == 12345);
    CHECK(total == 777);
    CHECK_STATUS(fk_sandpile_destroy(b), FK_OK);
}

int main(void) {
    test_single_toppling();
    test_drive_and_checkpoint();
    test_abelian();
    test_bad_input();
    test_activity_all_sources();
    return fk_check_summary();
}
