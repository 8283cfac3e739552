/* C-level tests of the 1D mass transport ring (fk_mass_transport_*): exact
 * conservation (KMP) and exact injection bookkeeping (aggregation with
 * injection), checkpoint/restart bitwise, bad parameters and arguments. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fieldkern.h"
#include "check.h"

#define L 1000

static uint64_t m_a[L], m_b[L];

static uint64_t total(const uint64_t *m) {
    uint64_t s = 0;
    int i;
    for (i = 0; i < L; i++) s += m[i];
    return s;
}

static void test_conservation_and_restart(void) {
    fk_mass_transport_params p = fk_mass_transport_params_default();
    fk_mass_transport *a = NULL, *b = NULL;
    uint64_t sweeps = 0;
    int i;
    CHECK(p.struct_size == sizeof(fk_mass_transport_params));
    CHECK(p.p_diffuse == 1.0);
    p.sites = L;
    p.seed = 11;
    CHECK_STATUS(fk_mass_transport_create(&p, &a), FK_OK);
    for (i = 0; i < L; i++) m_a[i] = (uint64_t)(i % 13) * 1000003u;
    CHECK_STATUS(fk_mass_transport_set_masses(a, m_a, L, 0), FK_OK);
    CHECK_STATUS(fk_mass_transport_sweep(a, 200), FK_OK);
    CHECK_STATUS(fk_mass_transport_get_masses(a, m_b, L, &sweeps), FK_OK);
    CHECK(sweeps == 200);
    CHECK(total(m_b) == total(m_a));
    CHECK(memcmp(m_a, m_b, sizeof m_a) != 0);
    /* restart a copy from the checkpoint: both continue identically */
    CHECK_STATUS(fk_mass_transport_create(&p, &b), FK_OK);
    CHECK_STATUS(fk_mass_transport_set_masses(b, m_b, L, sweeps), FK_OK);
    CHECK_STATUS(fk_mass_transport_sweep(a, 50), FK_OK);
    CHECK_STATUS(fk_mass_transport_sweep(b, 50), FK_OK);
    CHECK_STATUS(fk_mass_transport_get_masses(a, m_a, L, NULL), FK_OK);
    CHECK_STATUS(fk_mass_transport_get_masses(b, m_b, L, NULL), FK_OK);
    CHECK(memcmp(m_a, m_b, sizeof m_a) == 0);
    fk_mass_transport_destroy(a);
    fk_mass_transport_destroy(b);

    /* aggregation with injection: total grows by exactly sweeps * L */
    p = fk_mass_transport_params_default();
    p.sites = L;
    p.p_diffuse = 0.0;
    p.p_transfer = 1.0;
    p.transfer_fraction = 1.0;
    p.injection = 1;
    CHECK_STATUS(fk_mass_transport_create(&p, &a), FK_OK);
    CHECK_STATUS(fk_mass_transport_sweep(a, 300), FK_OK);
    CHECK_STATUS(fk_mass_transport_get_masses(a, m_a, L, NULL), FK_OK);
    CHECK(total(m_a) == 300u * L);
    fk_mass_transport_destroy(a);
}

static void test_bad_input(void) {
    fk_mass_transport_params p = fk_mass_transport_params_default();
    fk_mass_transport *mt = NULL;
    p.sites = 7;
    CHECK_STATUS(fk_mass_transport_create(&p, &mt), FK_ERR_INVALID_SIZE);
    p.sites = L;
    p.p_diffuse = 0.8;
    p.p_transfer = 0.5;
    CHECK_STATUS(fk_mass_transport_create(&p, &mt), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("exceeds 1");
    p.p_transfer = -0.1;
    CHECK_STATUS(fk_mass_transport_create(&p, &mt), FK_ERR_OUT_OF_RANGE);
    p.p_transfer = 0.0;
    p.transfer_fraction = NAN;
    CHECK_STATUS(fk_mass_transport_create(&p, &mt), FK_ERR_NON_FINITE);
    p.transfer_fraction = 0.5;
    p.random_fraction = 2;
    CHECK_STATUS(fk_mass_transport_create(&p, &mt), FK_ERR_OUT_OF_RANGE);
    p.random_fraction = 1;
    CHECK_STATUS(fk_mass_transport_create(NULL, &mt), FK_ERR_NULL_POINTER);
    CHECK(mt == NULL);
    CHECK_STATUS(fk_mass_transport_create(&p, &mt), FK_OK);
    CHECK_STATUS(fk_mass_transport_set_masses(mt, m_a, L - 2, 0), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_mass_transport_set_masses(mt, NULL, L, 0), FK_ERR_NULL_POINTER);
    m_a[0] = UINT64_MAX;
    m_a[1] = 1;
    CHECK_STATUS(fk_mass_transport_set_masses(mt, m_a, L, 0), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_mass_transport_get_masses(mt, m_b, L, NULL), FK_OK);
    CHECK(total(m_b) == 0);
    CHECK_STATUS(fk_mass_transport_get_masses(mt, m_b, L + 1, NULL), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_mass_transport_sweep(NULL, 1), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_mass_transport_sweep((fk_mass_transport *)(void *)m_a, 1), FK_ERR_WRONG_HANDLE);
    CHECK_STATUS(fk_mass_transport_destroy(mt), FK_OK);
    /* injection overflow is refused before any sweep */
    p = fk_mass_transport_params_default();
    p.sites = 2;
    p.injection = UINT64_MAX / 4;
    CHECK_STATUS(fk_mass_transport_create(&p, &mt), FK_OK);
    CHECK_STATUS(fk_mass_transport_sweep(mt, 3), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_mass_transport_get_masses(mt, m_b, 2, NULL), FK_OK);
    CHECK(m_b[0] == 0 && m_b[1] == 0);
    CHECK_STATUS(fk_mass_transport_destroy(mt), FK_OK);
}

int main(void) {
    test_conservation_and_restart();
    test_bad_input();
    return fk_check_summary();
}
