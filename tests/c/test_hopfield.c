/* C-level tests of dense Hopfield networks (fk_hopfield_*): retrieval from a
 * corrupted caller-provided pattern at T = 0, overlaps and energy, split
 * sweeps equal one call, and bad input (NULL, inconsistent pattern arrays,
 * values not +-1, p < 2, T < 0, NaN, unknown update, wrong handle). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fieldkern.h"
#include "check.h"

#define NN 400
#define KK 10

static int8_t patterns[KK * NN], state[NN], other[NN];
static double overlaps[KK];

int main(void) {
    fk_hopfield_params p = fk_hopfield_params_default();
    fk_hopfield *h = NULL, *g = NULL, *bad = NULL;
    uint64_t flips = 0, count = 0, x = 88172645463325252u;
    double e = 0.0;
    int i;

    CHECK(p.struct_size == sizeof(fk_hopfield_params) && p.order == 2);
    for (i = 0; i < KK * NN; i++) { /* xorshift64 patterns */
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        patterns[i] = (x >> 63) ? 1 : -1;
    }
    p.n_neurons = NN;
    p.n_patterns = KK;
    CHECK_STATUS(fk_hopfield_create(&p, patterns, KK * NN, &h), FK_OK);
    /* start at pattern 3 with 15% of it flipped; T = 0 retrieves it */
    memcpy(state, patterns + 3 * NN, NN);
    for (i = 0; i < NN; i += 7) state[i] = (int8_t)-state[i];
    CHECK_STATUS(fk_hopfield_set_state(h, state, NN), FK_OK);
    CHECK_STATUS(fk_hopfield_sweep(h, 10, &flips), FK_OK);
    CHECK(flips > 0);
    CHECK_STATUS(fk_hopfield_overlaps(h, overlaps, KK), FK_OK);
    CHECK(overlaps[3] > 0.99);
    CHECK_STATUS(fk_hopfield_energy(h, &e), FK_OK);
    CHECK(e < -0.5 * NN * 0.9);
    CHECK_STATUS(fk_hopfield_get_pattern(h, 3, other, NN), FK_OK);
    CHECK(memcmp(other, patterns + 3 * NN, NN) == 0);

    /* generated patterns, T > 0: 2 + 3 sweeps equal 5 */
    p.order = 3;
    p.temperature = 0.05;
    CHECK_STATUS(fk_hopfield_create(&p, NULL, 0, &g), FK_OK);
    CHECK_STATUS(fk_hopfield_create(&p, NULL, 0, &bad), FK_OK);
    CHECK_STATUS(fk_hopfield_sweep(g, 5, NULL), FK_OK);
    CHECK_STATUS(fk_hopfield_sweep(bad, 2, NULL), FK_OK);
    CHECK_STATUS(fk_hopfield_sweep(bad, 3, NULL), FK_OK);
    CHECK_STATUS(fk_hopfield_get_state(g, state, NN), FK_OK);
    CHECK_STATUS(fk_hopfield_get_state(bad, other, NN), FK_OK);
    CHECK(memcmp(state, other, NN) == 0);
    CHECK_STATUS(fk_hopfield_get_sweep_count(bad, &count), FK_OK);
    CHECK(count == 5);
    fk_hopfield_destroy(bad);
    bad = NULL;

    /* bad input */
    p = fk_hopfield_params_default();
    p.n_neurons = NN;
    p.n_patterns = KK;
    CHECK_STATUS(fk_hopfield_create(NULL, NULL, 0, &bad), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_hopfield_create(&p, NULL, 0, NULL), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_hopfield_create(&p, patterns, KK * NN - 1, &bad), FK_ERR_INVALID_SIZE);
    CHECK_ERROR_MENTIONS("3999");
    CHECK_STATUS(fk_hopfield_create(&p, patterns, 0, &bad), FK_ERR_INVALID_SIZE);
    patterns[2 * NN + 5] = 0;
    CHECK_STATUS(fk_hopfield_create(&p, patterns, KK * NN, &bad), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("pattern 2, neuron 5");
    patterns[2 * NN + 5] = 1;
    p.order = 1;
    CHECK_STATUS(fk_hopfield_create(&p, patterns, KK * NN, &bad), FK_ERR_OUT_OF_RANGE);
    p.order = 2;
    p.temperature = -1.0;
    CHECK_STATUS(fk_hopfield_create(&p, patterns, KK * NN, &bad), FK_ERR_OUT_OF_RANGE);
    p.temperature = NAN;
    CHECK_STATUS(fk_hopfield_create(&p, patterns, KK * NN, &bad), FK_ERR_NON_FINITE);
    p.temperature = 0.0;
    p.update = 9;
    CHECK_STATUS(fk_hopfield_create(&p, patterns, KK * NN, &bad), FK_ERR_UNKNOWN_ENUM);
    p.update = FK_HOPFIELD_GLAUBER;
    p.n_patterns = 0;
    CHECK_STATUS(fk_hopfield_create(&p, NULL, 0, &bad), FK_ERR_INVALID_SIZE);
    p.struct_size = 4;
    CHECK_STATUS(fk_hopfield_create(&p, NULL, 0, &bad), FK_ERR_STRUCT_SIZE);
    CHECK(bad == NULL);
    state[0] = 5;
    CHECK_STATUS(fk_hopfield_set_state(h, state, NN), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_hopfield_set_state(h, state, NN + 1), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_hopfield_overlaps(h, overlaps, KK - 1), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_hopfield_get_pattern(h, KK, other, NN), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_hopfield_set_temperature(h, -0.5), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_hopfield_energy(h, NULL), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_hopfield_sweep(NULL, 1, NULL), FK_ERR_NULL_POINTER);
    {
        static uint64_t junk[16];
        CHECK_STATUS(fk_hopfield_sweep((fk_hopfield *)(void *)junk, 1, NULL), FK_ERR_WRONG_HANDLE);
        fk_hopfield_destroy((fk_hopfield *)(void *)junk);
    }
    fk_hopfield_destroy(h);
    fk_hopfield_destroy(g);
    fk_hopfield_destroy(NULL);
    return fk_check_summary();
}
