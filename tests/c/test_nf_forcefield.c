/* Neural-field force term: a neural potential and a neural vector field
 * plugged into a force field, used by velocity Verlet; bad input. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "fieldkern.h"

#define D 2  /* spatial dimension = model in_dim */
#define H 12 /* hidden width */
#define N 100

static float W0[H * D], B0[H], W1[H], B1[1], V1[D * H], VB1[D];
static double x[N], y[N], vx[N], vy[N], fx[N], fy[N];

static float frand(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

static fk_nf_layer layers[2];

/* A 2 -> H (tanh) -> out model: out = 1 (potential) or D (vector field). */
static fk_nf_model *make_model(size_t out) {
    fk_nf_params p = fk_nf_params_default();
    fk_nf_model *m = NULL;
    p.in_dim = D;
    layers[0].out_dim = H;
    layers[0].activation = FK_NF_ACT_TANH;
    layers[0].activation_param = 0.0f;
    layers[0].weight = W0;
    layers[0].bias = B0;
    layers[1].out_dim = out;
    layers[1].activation = FK_NF_ACT_IDENTITY;
    layers[1].activation_param = 0.0f;
    layers[1].weight = out == 1 ? W1 : V1;
    layers[1].bias = out == 1 ? B1 : VB1;
    p.n_layers = 2;
    p.layers = layers;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_OK);
    return m;
}

static fk_forcefield *make_field(uint32_t dim) {
    fk_forcefield_params fp = fk_forcefield_params_default();
    fk_forcefield *ff = NULL;
    fp.dim = dim;
    fp.capacity = N;
    CHECK_STATUS(fk_forcefield_create(&fp, &ff), FK_OK);
    return ff;
}

static fk_particles view(void) {
    fk_particles p = fk_particles_default();
    p.dim = D;
    p.n = N;
    p.x = x;
    p.y = y;
    p.vx = vx;
    p.vy = vy;
    return p;
}

static void init(void) {
    unsigned s = 777u;
    size_t i;
    for (i = 0; i < H * D; i++) W0[i] = frand(&s), V1[i] = 0.3f * frand(&s);
    for (i = 0; i < H; i++) B0[i] = 0.2f * frand(&s), W1[i] = 0.5f * frand(&s);
    B1[0] = 0.1f;
    VB1[0] = 0.05f, VB1[1] = -0.05f;
    for (i = 0; i < N; i++) {
        x[i] = 1.5 * frand(&s), y[i] = 1.5 * frand(&s);
        vx[i] = 0.5 * frand(&s), vy[i] = 0.5 * frand(&s);
    }
}

static double total_energy(fk_forcefield *ff) {
    fk_particles p = view();
    double u = 0.0, ke = 0.0;
    size_t i;
    CHECK_STATUS(fk_forcefield_compute(ff, &p, 0, fx, fy, NULL), FK_OK);
    CHECK_STATUS(fk_forcefield_totals(ff, &u, NULL, NULL), FK_OK);
    for (i = 0; i < N; i++) ke += 0.5 * (vx[i] * vx[i] + vy[i] * vy[i]);
    return u + ke;
}

/* Forces are -scale grad U (same bits as fk_nf_gradient_f64 of the same
 * model), energy is scale sum U, and Verlet conserves the total energy of
 * trap + neural potential to 1e-3 relative over 2000 steps at dt = 0.01
 * (measured ~1e-5; the O(dt^2) shadow fluctuation is ~(omega dt)^2/8). */
static void test_potential_with_verlet(void) {
    fk_nf_model *m = make_model(1);
    fk_forcefield *ff = make_field(D);
    fk_verlet_params vp = fk_verlet_params_default();
    fk_verlet *v = NULL;
    fk_particles p = view();
    double xy[N * D], val[N], grad[N * D], e_ref = 0.0, e = 0.0, e0, e1;
    double scale = 2.0, w = 0.0;
    size_t i, term = 99, ok = 0;
    uint64_t done = 0;
    CHECK_STATUS(fk_forcefield_add_neural_field(ff, m, FK_NF_POTENTIAL, scale, &term), FK_OK);
    CHECK(term == 0);
    CHECK(fk_forcefield_term_count(ff) == 1);
    CHECK_STATUS(fk_forcefield_compute(ff, &p, 0, fx, fy, NULL), FK_OK);
    for (i = 0; i < N; i++) xy[D * i] = x[i], xy[D * i + 1] = y[i];
    CHECK_STATUS(fk_nf_gradient_f64(m, N, D, xy, val, grad), FK_OK);
    for (i = 0; i < N; i++) {
        ok += fx[i] == -scale * grad[D * i] && fy[i] == -scale * grad[D * i + 1];
        e_ref += val[i];
    }
    CHECK(ok == N);
    CHECK_STATUS(fk_forcefield_term_energy(ff, 0, &e, &w), FK_OK);
    CHECK(fabs(e - scale * e_ref) <= 1e-12 * fabs(scale * e_ref) + 1e-12);

    CHECK_STATUS(fk_forcefield_add_harmonic(ff, 1.0, 0.0, 0.0, 0.0, NULL), FK_OK);
    vp.dim = D;
    vp.capacity = N;
    vp.dt = 0.01;
    CHECK_STATUS(fk_verlet_create(&vp, &v), FK_OK);
    e0 = total_energy(ff);
    CHECK_STATUS(fk_verlet_step(v, ff, &p, 0, 2000, &done), FK_OK);
    CHECK(done == 2000);
    e1 = total_energy(ff);
    printf("potential: E0 = %.10g, E1 = %.10g, rel. change %.3g\n", e0, e1,
           fabs(e1 - e0) / fabs(e0));
    CHECK(fabs(e1 - e0) < 1e-3 * fabs(e0));
    fk_verlet_destroy(v);
    fk_forcefield_destroy(ff);
    fk_nf_model_destroy(m);
}

/* Vector field: forces are scale f(x), energy 0. */
static void test_vector_field(void) {
    fk_nf_model *m = make_model(D);
    fk_forcefield *ff = make_field(D);
    fk_particles p = view();
    double xy[N * D], out[N * D], e = 1.0, w = 0.0, scale = -0.75;
    size_t i, ok = 0;
    CHECK_STATUS(fk_forcefield_add_neural_field(ff, m, FK_NF_VECTOR_FIELD, scale, NULL), FK_OK);
    CHECK_STATUS(fk_forcefield_compute(ff, &p, 0, fx, fy, NULL), FK_OK);
    for (i = 0; i < N; i++) xy[D * i] = x[i], xy[D * i + 1] = y[i];
    CHECK_STATUS(fk_nf_forward_f64(m, N, D, xy, D, out), FK_OK);
    for (i = 0; i < N; i++) ok += fx[i] == scale * out[D * i] && fy[i] == scale * out[D * i + 1];
    CHECK(ok == N);
    CHECK_STATUS(fk_forcefield_term_energy(ff, 0, &e, &w), FK_OK);
    CHECK(e == 0.0);
    fk_forcefield_destroy(ff);
    fk_nf_model_destroy(m);
}

static int32_t dummy_cb(void *user, size_t n, const double *px, const double *py,
                        const double *pz, double *gx, double *gy, double *gz,
                        double *energy) {
    (void)user, (void)n, (void)px, (void)py, (void)pz, (void)gx, (void)gy, (void)gz;
    *energy = 0.0;
    return 0;
}

static void test_bad_input(void) {
    fk_nf_model *scalar = make_model(1);
    fk_nf_model *vec = make_model(D);
    fk_forcefield *ff = make_field(D);
    fk_forcefield *ff3 = make_field(3);
    size_t term = 42;

    CHECK_STATUS(fk_forcefield_add_neural_field(NULL, scalar, FK_NF_POTENTIAL, 1.0, NULL),
                 FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_forcefield_add_neural_field(ff, NULL, FK_NF_POTENTIAL, 1.0, NULL),
                 FK_ERR_NULL_POINTER);
    CHECK_ERROR_MENTIONS("model");
    /* wrong handle kinds */
    CHECK_STATUS(fk_forcefield_add_neural_field(ff, (fk_nf_model *)ff, FK_NF_POTENTIAL, 1.0,
                                                NULL),
                 FK_ERR_WRONG_HANDLE);
    CHECK_STATUS(fk_forcefield_add_neural_field((fk_forcefield *)scalar, scalar,
                                                FK_NF_POTENTIAL, 1.0, NULL),
                 FK_ERR_WRONG_HANDLE);
    CHECK_STATUS(fk_forcefield_add_neural_field(ff, scalar, 7, 1.0, &term), FK_ERR_UNKNOWN_ENUM);
    CHECK_ERROR_MENTIONS("mode");
    /* in_dim 2 != particle dim 3 */
    CHECK_STATUS(fk_forcefield_add_neural_field(ff3, scalar, FK_NF_POTENTIAL, 1.0, &term),
                 FK_ERR_INVALID_SIZE);
    CHECK_ERROR_MENTIONS("in_dim");
    /* out_dim must be 1 for a potential, D for a vector field */
    CHECK_STATUS(fk_forcefield_add_neural_field(ff, vec, FK_NF_POTENTIAL, 1.0, &term),
                 FK_ERR_INVALID_SIZE);
    CHECK_ERROR_MENTIONS("out_dim");
    CHECK_STATUS(fk_forcefield_add_neural_field(ff, scalar, FK_NF_VECTOR_FIELD, 1.0, &term),
                 FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_forcefield_add_neural_field(ff, scalar, FK_NF_POTENTIAL, NAN, &term),
                 FK_ERR_NON_FINITE);
    CHECK(term == 42);
    CHECK(fk_forcefield_term_count(ff) == 0);
    /* batch terms coexist (each with its own buffers); 16 terms at most */
    CHECK_STATUS(fk_forcefield_add_neural_field(ff, scalar, FK_NF_POTENTIAL, 1.0, &term), FK_OK);
    CHECK_STATUS(fk_forcefield_add_neural_field(ff, scalar, FK_NF_POTENTIAL, 1.0, NULL), FK_OK);
    CHECK_STATUS(fk_forcefield_add_callback(ff, dummy_cb, NULL, NULL), FK_OK);
    CHECK(fk_forcefield_term_count(ff) == 3);
    for (int k = 3; k < 16; k++)
        CHECK_STATUS(fk_forcefield_add_callback(ff, dummy_cb, NULL, NULL), FK_OK);
    CHECK_STATUS(fk_forcefield_add_callback(ff, dummy_cb, NULL, NULL), FK_ERR_CAPACITY);
    CHECK(fk_forcefield_term_count(ff) == 16);

    fk_forcefield_destroy(ff3);
    fk_forcefield_destroy(ff);
    fk_nf_model_destroy(vec);
    fk_nf_model_destroy(scalar);
}

int main(void) {
    init();
    test_potential_with_verlet();
    init();
    test_vector_field();
    test_bad_input();
    return fk_check_summary();
}
