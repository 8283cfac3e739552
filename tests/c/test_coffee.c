/* C-level tests of the coffee automaton (fk_coffee_*): cream conservation,
 * entropy rising from the ordered start, restart from cells, bad input. */
#include <stdint.h>
#include <string.h>

#include "fieldkern.h"
#include "check.h"

#define N 48

static uint8_t cells_a[N * N], cells_b[N * N];

static unsigned long cream(const uint8_t *c) {
    unsigned long s = 0;
    int i;
    for (i = 0; i < N * N; i++) s += c[i];
    return s;
}

static void test_mixing(uint32_t variant) {
    fk_coffee_params p = fk_coffee_params_default();
    fk_coffee *cf = NULL;
    uint64_t e0, c0, e1, c1, steps = 0;
    CHECK(p.struct_size == sizeof(fk_coffee_params));
    p.side = N;
    p.variant = variant;
    p.seed = 3;
    CHECK_STATUS(fk_coffee_create(&p, &cf), FK_OK);
    CHECK_STATUS(fk_coffee_measure(cf, 9, 3, 0, &e0, &c0), FK_OK);
    CHECK_STATUS(fk_coffee_step(cf, 200), FK_OK);
    CHECK_STATUS(fk_coffee_measure(cf, 9, 3, 0, &e1, &c1), FK_OK);
    CHECK(e1 > 3 * e0);
    CHECK_STATUS(fk_coffee_measure(cf, 9, 7, 1, &e1, &c1), FK_OK);
    CHECK_STATUS(fk_coffee_get_cells(cf, cells_a, N * N, &steps), FK_OK);
    CHECK(steps == 200);
    CHECK(cream(cells_a) == N * N / 2);
    CHECK_STATUS(fk_coffee_destroy(cf), FK_OK);
}

static void test_restart(void) {
    fk_coffee_params p = fk_coffee_params_default();
    fk_coffee *a = NULL, *b = NULL;
    uint64_t steps = 0;
    p.side = N;
    CHECK_STATUS(fk_coffee_create(&p, &a), FK_OK);
    CHECK_STATUS(fk_coffee_create(&p, &b), FK_OK);
    CHECK_STATUS(fk_coffee_step(a, 30), FK_OK);
    CHECK_STATUS(fk_coffee_get_cells(a, cells_a, N * N, &steps), FK_OK);
    CHECK_STATUS(fk_coffee_set_cells(b, cells_a, N * N, steps), FK_OK);
    CHECK_STATUS(fk_coffee_step(a, 20), FK_OK);
    CHECK_STATUS(fk_coffee_step(b, 20), FK_OK);
    CHECK_STATUS(fk_coffee_get_cells(a, cells_a, N * N, NULL), FK_OK);
    CHECK_STATUS(fk_coffee_get_cells(b, cells_b, N * N, NULL), FK_OK);
    CHECK(memcmp(cells_a, cells_b, N * N) == 0);
    fk_coffee_destroy(a);
    fk_coffee_destroy(b);
}

static void test_bad_input(void) {
    fk_coffee_params p = fk_coffee_params_default();
    fk_coffee *cf = NULL;
    uint64_t e, c;
    p.side = 31;
    CHECK_STATUS(fk_coffee_create(&p, &cf), FK_ERR_INVALID_SIZE);
    p.side = N;
    p.variant = 7;
    CHECK_STATUS(fk_coffee_create(&p, &cf), FK_ERR_UNKNOWN_ENUM);
    CHECK_ERROR_MENTIONS("variant");
    p.variant = FK_COFFEE_NON_INTERACTING;
    CHECK_STATUS(fk_coffee_create(NULL, &cf), FK_ERR_NULL_POINTER);
    CHECK(cf == NULL);
    CHECK_STATUS(fk_coffee_create(&p, &cf), FK_OK);
    CHECK_STATUS(fk_coffee_measure(cf, 0, 3, 0, &e, &c), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("grain");
    CHECK_STATUS(fk_coffee_measure(cf, N + 1, 3, 0, &e, &c), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_coffee_measure(cf, 5, 1, 0, &e, &c), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_coffee_measure(cf, 5, 3, 2, &e, &c), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_coffee_measure(cf, 5, 3, 0, NULL, &c), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_coffee_get_cells(cf, cells_a, N * N - 1, NULL), FK_ERR_INVALID_SIZE);
    /* a non-interacting cup cannot be restored from cells */
    memset(cells_a, 0, sizeof cells_a);
    CHECK_STATUS(fk_coffee_set_cells(cf, cells_a, N * N, 0), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_coffee_step(NULL, 1), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_coffee_step((fk_coffee *)(void *)cells_b, 1), FK_ERR_WRONG_HANDLE);
    CHECK_STATUS(fk_coffee_destroy(cf), FK_OK);
    p.variant = FK_COFFEE_INTERACTING;
    CHECK_STATUS(fk_coffee_create(&p, &cf), FK_OK);
    cells_a[5] = 2;
    CHECK_STATUS(fk_coffee_set_cells(cf, cells_a, N * N, 0), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("cells[5]");
    CHECK_STATUS(fk_coffee_get_cells(cf, cells_b, N * N, NULL), FK_OK);
    CHECK(cream(cells_b) == N * N / 2);
    CHECK_STATUS(fk_coffee_destroy(cf), FK_OK);
}

/* The sequential (paper) rule: checkpoint cells + stream, continue bitwise;
 * bad stream input leaves the cup unchanged. */
static void test_sequential_restart(void) {
    fk_coffee_params p = fk_coffee_params_default();
    fk_coffee *a = NULL, *b = NULL;
    uint64_t state[4], steps = 0;
    p.side = N;
    p.variant = FK_COFFEE_INTERACTING_SEQUENTIAL;
    p.seed = 9;
    CHECK_STATUS(fk_coffee_create(&p, &a), FK_OK);
    p.seed = 1;
    CHECK_STATUS(fk_coffee_create(&p, &b), FK_OK);
    CHECK_STATUS(fk_coffee_step(a, 30), FK_OK);
    CHECK_STATUS(fk_coffee_get_cells(a, cells_a, N * N, &steps), FK_OK);
    CHECK(steps == 30);
    CHECK_STATUS(fk_coffee_get_rng_state(a, state, 4), FK_OK);
    CHECK_STATUS(fk_coffee_set_cells(b, cells_a, N * N, steps), FK_OK);
    CHECK_STATUS(fk_coffee_set_rng_state(b, state, 4), FK_OK);
    CHECK_STATUS(fk_coffee_step(a, 20), FK_OK);
    CHECK_STATUS(fk_coffee_step(b, 20), FK_OK);
    CHECK_STATUS(fk_coffee_get_cells(a, cells_a, N * N, NULL), FK_OK);
    CHECK_STATUS(fk_coffee_get_cells(b, cells_b, N * N, NULL), FK_OK);
    CHECK(memcmp(cells_a, cells_b, N * N) == 0);
    CHECK(cream(cells_a) == N * N / 2);
    /* bad input */
    CHECK_STATUS(fk_coffee_get_rng_state(a, state, 3), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_coffee_get_rng_state(NULL, state, 4), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_coffee_set_rng_state(a, NULL, 4), FK_ERR_NULL_POINTER);
    state[3] |= (uint64_t)1 << 63;
    CHECK_STATUS(fk_coffee_set_rng_state(a, state, 4), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("state[3]");
    CHECK_STATUS(fk_coffee_set_rng_state((fk_coffee *)(void *)cells_b, state, 4),
                 FK_ERR_WRONG_HANDLE);
    p.variant = 3;
    CHECK_STATUS(fk_coffee_create(&p, &b), FK_ERR_UNKNOWN_ENUM);
    CHECK_STATUS(fk_coffee_destroy(a), FK_OK);
    CHECK_STATUS(fk_coffee_destroy(b), FK_OK);
}

int main(void) {
    test_mixing(FK_COFFEE_INTERACTING);
    test_mixing(FK_COFFEE_INTERACTING_SEQUENTIAL);
    test_sequential_restart();
    test_mixing(FK_COFFEE_NON_INTERACTING);
    test_restart();
    test_bad_input();
    return fk_check_summary();
}
