/* EGNN force term (fk_forcefield_add_egnn): forces equal scale times the
 * layer's coordinate update from fk_nf_egnn_forward, 2D particles use the
 * plane z = 0, single-type forces cancel pairwise, an EGNN and a neural
 * term in one force field add up bitwise, a Langevin run split in two
 * calls equals one call; bad input (NULL, wrong handle kinds, feature-table
 * and capacity mismatches, NaN) leaves the force field unchanged. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "fieldkern.h"

#define F 2     /* node features */
#define MSG 4   /* message width */
#define HID 8   /* hidden width of phi_e */
#define N 24    /* particles */
#define NH 10   /* hidden width of the neural potential */

static float we0[HID * (2 * F + 1)], be0[HID], we1[MSG * HID], wx[MSG], wh[F * (F + MSG)];
static float table[2 * F];
static float pw0[NH * 3], pb0[NH], pw1[NH], pb1[1];
static double x[N], y[N], z[N], vx[N], vy[N], vz[N];
static uint32_t types[N];
static double fx[N], fy[N], fz[N];

static float frand(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

static fk_nf_egnn *make_egnn(size_t max_nodes) {
    static fk_nf_layer e[2], lx, lh;
    fk_nf_egnn_params p = fk_nf_egnn_params_default();
    fk_nf_egnn *g = NULL;
    e[0].out_dim = HID, e[0].activation = FK_NF_ACT_SILU, e[0].activation_param = 0, e[0].weight = we0, e[0].bias = be0;
    e[1].out_dim = MSG, e[1].activation = FK_NF_ACT_SILU, e[1].activation_param = 0, e[1].weight = we1, e[1].bias = NULL;
    lx.out_dim = 1, lx.activation = FK_NF_ACT_TANH, lx.activation_param = 0, lx.weight = wx, lx.bias = NULL;
    lh.out_dim = F, lh.activation = FK_NF_ACT_IDENTITY, lh.activation_param = 0, lh.weight = wh, lh.bias = NULL;
    p.features = F;
    p.message_dim = MSG;
    p.n_phi_e = 2, p.phi_e = e;
    p.n_phi_x = 1, p.phi_x = &lx;
    p.n_phi_h = 1, p.phi_h = &lh;
    p.coord_scale = 0.5f;
    p.cutoff = 1.6f;
    p.max_nodes = max_nodes;
    CHECK_STATUS(fk_nf_egnn_create(&p, &g), FK_OK);
    return g;
}

/* U(r) = NH-wide tanh network of r in R^3. */
static fk_nf_model *make_potential(void) {
    static fk_nf_layer l[2];
    fk_nf_params p = fk_nf_params_default();
    fk_nf_model *m = NULL;
    p.in_dim = 3;
    l[0].out_dim = NH, l[0].activation = FK_NF_ACT_TANH, l[0].activation_param = 0, l[0].weight = pw0, l[0].bias = pb0;
    l[1].out_dim = 1, l[1].activation = FK_NF_ACT_IDENTITY, l[1].activation_param = 0, l[1].weight = pw1, l[1].bias = pb1;
    p.n_layers = 2;
    p.layers = l;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_OK);
    return m;
}

static fk_forcefield *make_field(uint32_t dim, size_t capacity) {
    fk_forcefield_params fp = fk_forcefield_params_default();
    fk_forcefield *ff = NULL;
    fp.dim = dim;
    fp.capacity = capacity;
    fp.ntypes = 2;
    CHECK_STATUS(fk_forcefield_create(&fp, &ff), FK_OK);
    return ff;
}

static fk_particles view(uint32_t dim) {
    fk_particles p = fk_particles_default();
    p.dim = dim;
    p.n = N;
    p.x = x, p.y = y, p.vx = vx, p.vy = vy;
    if (dim == 3) p.z = z, p.vz = vz;
    p.types = types;
    return p;
}

static void init(void) {
    unsigned s = 4242u;
    size_t i;
    for (i = 0; i < HID * (2 * F + 1); i++) we0[i] = 0.5f * frand(&s);
    for (i = 0; i < HID; i++) be0[i] = 0.1f * frand(&s);
    for (i = 0; i < MSG * HID; i++) we1[i] = 0.4f * frand(&s);
    for (i = 0; i < MSG; i++) wx[i] = 0.5f * frand(&s);
    for (i = 0; i < F * (F + MSG); i++) wh[i] = 0.3f * frand(&s);
    for (i = 0; i < 2 * F; i++) table[i] = frand(&s);
    for (i = 0; i < NH * 3; i++) pw0[i] = frand(&s);
    for (i = 0; i < NH; i++) pb0[i] = 0.2f * frand(&s), pw1[i] = 0.3f * frand(&s);
    pb1[0] = 0.0f;
    for (i = 0; i < N; i++) {
        /* float-exact positions so the f32 forward sees the same ones */
        x[i] = (double)(1.5f * frand(&s));
        y[i] = (double)(1.5f * frand(&s));
        z[i] = (double)(1.5f * frand(&s));
        vx[i] = 0.2 * frand(&s), vy[i] = 0.2 * frand(&s), vz[i] = 0.2 * frand(&s);
        types[i] = i % 3 == 0;
    }
}

/* Forces (3D, then 2D) equal scale (x' - x) of fk_nf_egnn_forward with
 * h_i = table[type_i]: the forward accumulates <= 23 terms of magnitude
 * <= ~2 into x_i in f32 (u = 6e-8 each), so 1e-5 absolute bounds its
 * rounding; a wrong sign, scale or feature row is off by O(0.1). The term
 * energy is 0. One type: |sum F| < 1e-6 sum |F|. */
static void test_forces_match_forward(void) {
    fk_nf_egnn *g = make_egnn(N);
    fk_forcefield *ff = make_field(3, N), *ff2 = make_field(2, N);
    fk_particles p = view(3), p2 = view(2);
    float x32[3 * N], x232[3 * N], h[N * F], xo[3 * N], ho[N * F];
    double scale = 1.5, e = 1.0, w = 0.0, err = 0.0, err2 = 0.0, fbig = 0.0, tot[3] = {0, 0, 0},
           abs_sum[3] = {0, 0, 0};
    size_t i, a, term = 99;
    CHECK_STATUS(fk_forcefield_add_egnn(ff, g, table, 2 * F, scale, &term), FK_OK);
    CHECK(term == 0);
    CHECK_STATUS(fk_forcefield_add_egnn(ff2, g, table, 2 * F, scale, NULL), FK_OK);
    CHECK_STATUS(fk_forcefield_compute(ff, &p, 0, fx, fy, fz), FK_OK);
    CHECK_STATUS(fk_forcefield_term_energy(ff, 0, &e, &w), FK_OK);
    CHECK(e == 0.0);
    for (i = 0; i < N; i++) {
        x32[3 * i] = (float)x[i], x32[3 * i + 1] = (float)y[i], x32[3 * i + 2] = (float)z[i];
        for (a = 0; a < F; a++) h[F * i + a] = table[F * types[i] + a];
    }
    CHECK_STATUS(fk_nf_egnn_forward(g, N, x32, h, xo, ho), FK_OK);
    for (i = 0; i < N; i++) {
        double d[3] = {fx[i] / scale - ((double)xo[3 * i] - x[i]),
                       fy[i] / scale - ((double)xo[3 * i + 1] - y[i]),
                       fz[i] / scale - ((double)xo[3 * i + 2] - z[i])};
        for (a = 0; a < 3; a++) err = fmax(err, fabs(d[a]));
        fbig = fmax(fbig, fmax(fabs(fx[i]), fmax(fabs(fy[i]), fabs(fz[i]))));
    }
    printf("3D: max |F| = %.4g, max |F/scale - (x' - x)| = %.3g\n", fbig, err);
    CHECK(fbig > 0.05);
    CHECK(err < 1e-5);

    /* 2D: the plane z = 0. */
    CHECK_STATUS(fk_forcefield_compute(ff2, &p2, 0, fx, fy, NULL), FK_OK);
    for (i = 0; i < N; i++) x232[3 * i] = x32[3 * i], x232[3 * i + 1] = x32[3 * i + 1], x232[3 * i + 2] = 0.0f;
    CHECK_STATUS(fk_nf_egnn_forward(g, N, x232, h, xo, ho), FK_OK);
    for (i = 0; i < N; i++) {
        err2 = fmax(err2, fabs(fx[i] / scale - ((double)xo[3 * i] - x[i])));
        err2 = fmax(err2, fabs(fy[i] / scale - ((double)xo[3 * i + 1] - y[i])));
        CHECK(xo[3 * i + 2] == 0.0f);
    }
    printf("2D: max |F/scale - (x' - x)| = %.3g\n", err2);
    CHECK(err2 < 1e-5);

    /* One type: central, antisymmetric pair forces. */
    for (i = 0; i < N; i++) types[i] = 0;
    CHECK_STATUS(fk_forcefield_compute(ff, &p, 0, fx, fy, fz), FK_OK);
    for (i = 0; i < N; i++) {
        tot[0] += fx[i], tot[1] += fy[i], tot[2] += fz[i];
        abs_sum[0] += fabs(fx[i]), abs_sum[1] += fabs(fy[i]), abs_sum[2] += fabs(fz[i]);
    }
    for (a = 0; a < 3; a++) CHECK(fabs(tot[a]) < 1e-6 * abs_sum[a]);
    for (i = 0; i < N; i++) types[i] = i % 3 == 0;
    fk_forcefield_destroy(ff2);
    fk_forcefield_destroy(ff);
    fk_nf_egnn_destroy(g);
}

/* EGNN + neural potential in one field = sum of the single-term fields,
 * bitwise; a BAOAB run of 10 steps equals 4 + 6 steps bitwise. */
static void test_combined_and_split(void) {
    fk_nf_egnn *g = make_egnn(N);
    fk_nf_model *m = make_potential();
    fk_forcefield *fe = make_field(3, N), *fn = make_field(3, N), *fb = make_field(3, N);
    fk_particles p = view(3);
    fk_langevin_params lp = fk_langevin_params_default();
    fk_langevin *l = NULL;
    double ex[N], ey[N], ez[N], nx[N], ny[N], nz[N], x0[N], y0[N], z0[N], vx0[N], vy0[N], vz0[N],
        xa[N], va[N];
    size_t i, ok = 0, same = 0, term = 0;
    uint64_t done = 0;
    CHECK_STATUS(fk_forcefield_add_egnn(fe, g, table, 2 * F, 0.7, NULL), FK_OK);
    CHECK_STATUS(fk_forcefield_add_neural_field(fn, m, FK_NF_POTENTIAL, 1.0, NULL), FK_OK);
    CHECK_STATUS(fk_forcefield_add_egnn(fb, g, table, 2 * F, 0.7, NULL), FK_OK);
    CHECK_STATUS(fk_forcefield_add_neural_field(fb, m, FK_NF_POTENTIAL, 1.0, &term), FK_OK);
    CHECK(term == 1);
    CHECK_STATUS(fk_forcefield_compute(fe, &p, 0, ex, ey, ez), FK_OK);
    CHECK_STATUS(fk_forcefield_compute(fn, &p, 0, nx, ny, nz), FK_OK);
    CHECK_STATUS(fk_forcefield_compute(fb, &p, 0, fx, fy, fz), FK_OK);
    for (i = 0; i < N; i++)
        ok += fx[i] == ex[i] + nx[i] && fy[i] == ey[i] + ny[i] && fz[i] == ez[i] + nz[i];
    CHECK(ok == N);

    lp.dim = 3, lp.capacity = N, lp.dt = 0.01, lp.gamma = 1.0, lp.kt = 0.3, lp.seed = 5;
    CHECK_STATUS(fk_langevin_create(&lp, &l), FK_OK);
    for (i = 0; i < N; i++) x0[i] = x[i], y0[i] = y[i], z0[i] = z[i], vx0[i] = vx[i], vy0[i] = vy[i], vz0[i] = vz[i];
    CHECK_STATUS(fk_langevin_step(l, fb, &p, 0, 10, &done), FK_OK);
    CHECK(done == 10);
    for (i = 0; i < N; i++) xa[i] = x[i], va[i] = vz[i];
    for (i = 0; i < N; i++) x[i] = x0[i], y[i] = y0[i], z[i] = z0[i], vx[i] = vx0[i], vy[i] = vy0[i], vz[i] = vz0[i];
    CHECK_STATUS(fk_langevin_step(l, fb, &p, 0, 4, &done), FK_OK);
    CHECK_STATUS(fk_langevin_step(l, fb, &p, 4, 6, &done), FK_OK);
    for (i = 0; i < N; i++) same += x[i] == xa[i] && vz[i] == va[i] && x[i] != x0[i];
    CHECK(same == N);
    for (i = 0; i < N; i++) x[i] = x0[i], y[i] = y0[i], z[i] = z0[i], vx[i] = vx0[i], vy[i] = vy0[i], vz[i] = vz0[i];
    fk_langevin_destroy(l);
    fk_forcefield_destroy(fb);
    fk_forcefield_destroy(fn);
    fk_forcefield_destroy(fe);
    fk_nf_model_destroy(m);
    fk_nf_egnn_destroy(g);
}

static void test_bad_input(void) {
    fk_nf_egnn *g = make_egnn(N), *small = make_egnn(N - 1);
    fk_nf_model *m = make_potential();
    fk_forcefield *ff = make_field(3, N);
    fk_particles p = view(3);
    float bad[2 * F];
    size_t i, term = 42;
    CHECK_STATUS(fk_forcefield_add_egnn(NULL, g, table, 2 * F, 1.0, &term), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_forcefield_add_egnn(ff, NULL, table, 2 * F, 1.0, &term), FK_ERR_NULL_POINTER);
    CHECK_ERROR_MENTIONS("egnn");
    CHECK_STATUS(fk_forcefield_add_egnn(ff, g, NULL, 2 * F, 1.0, &term), FK_ERR_NULL_POINTER);
    CHECK_ERROR_MENTIONS("type_features");
    /* wrong handle kinds: a model as the layer, a layer as the force field */
    CHECK_STATUS(fk_forcefield_add_egnn(ff, (fk_nf_egnn *)(void *)m, table, 2 * F, 1.0, &term),
                 FK_ERR_WRONG_HANDLE);
    CHECK_STATUS(fk_forcefield_add_egnn((fk_forcefield *)(void *)g, g, table, 2 * F, 1.0, &term),
                 FK_ERR_WRONG_HANDLE);
    /* feature table must be [ntypes = 2][F] */
    CHECK_STATUS(fk_forcefield_add_egnn(ff, g, table, F, 1.0, &term), FK_ERR_INVALID_SIZE);
    CHECK_ERROR_MENTIONS("type_features");
    CHECK_STATUS(fk_forcefield_add_egnn(ff, g, table, 2 * F + 1, 1.0, &term), FK_ERR_INVALID_SIZE);
    /* the layer's max_nodes must cover the field's capacity */
    CHECK_STATUS(fk_forcefield_add_egnn(ff, small, table, 2 * F, 1.0, &term), FK_ERR_CAPACITY);
    CHECK_ERROR_MENTIONS("max_nodes");
    /* NaN scale, NaN feature */
    CHECK_STATUS(fk_forcefield_add_egnn(ff, g, table, 2 * F, NAN, &term), FK_ERR_NON_FINITE);
    CHECK_ERROR_MENTIONS("scale");
    for (i = 0; i < 2 * F; i++) bad[i] = table[i];
    bad[1] = NAN;
    CHECK_STATUS(fk_forcefield_add_egnn(ff, g, bad, 2 * F, 1.0, &term), FK_ERR_NON_FINITE);
    CHECK(term == 42);
    CHECK(fk_forcefield_term_count(ff) == 0);
    /* no table: zero features; then NaN positions are rejected by compute */
    CHECK_STATUS(fk_forcefield_add_egnn(ff, g, NULL, 0, 1.0, &term), FK_OK);
    CHECK(term == 0);
    CHECK(fk_forcefield_term_count(ff) == 1);
    x[3] = NAN;
    fx[0] = 123.0;
    CHECK_STATUS(fk_forcefield_compute(ff, &p, 0, fx, fy, fz), FK_ERR_NON_FINITE);
    CHECK(fx[0] == 123.0);
    x[3] = 0.25;
    CHECK_STATUS(fk_forcefield_compute(ff, &p, 0, fx, fy, fz), FK_OK);
    fk_forcefield_destroy(ff);
    fk_nf_model_destroy(m);
    fk_nf_egnn_destroy(small);
    fk_nf_egnn_destroy(g);
}

int main(void) {
    init();
    test_forces_match_forward();
    test_combined_and_split();
    test_bad_input();
    return fk_check_summary();
}
