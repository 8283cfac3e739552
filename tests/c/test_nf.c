/* C-level tests of the neural-field models: create from caller-owned weights,
 * forward / gradient / Jacobian against a double-precision reference written
 * here, thread-count invariance, weight updates, and bad input (NULL, size
 * mismatch, unknown enums, NaN weights and inputs, wrong handles). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fieldkern.h"
#include "check.h"

#define D 3   /* input dimension */
#define M 4   /* Fourier rows: encoding width 2M = 8 */
#define H 7   /* hidden width */
#define N 1000
#define TWO_PI 6.283185307179586

static float B[M * D], W0[H * 2 * M], B0[H], W1[1 * H], B1[1];
static float xs[N * D], ys[N], ys2[N], gs[N * D], gs2[N * D];
static double xd[N * D], yd[N], gd[N * D];

static float frand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) * (1.0 / 16777216.0) * 2.0 - 1.0);
}

/* Reference: y = W1 tanh(W0 [sin(2 pi B x), cos(2 pi B x)] + b0) + b1, in double. */
static double reference(const double *x) {
    double e[2 * M], y = B1[0];
    int j, d, h;
    for (j = 0; j < M; j++) {
        double ph = 0.0;
        for (d = 0; d < D; d++) ph += TWO_PI * B[j * D + d] * x[d];
        e[j] = sin(ph);
        e[M + j] = cos(ph);
    }
    for (h = 0; h < H; h++) {
        double z = B0[h];
        for (j = 0; j < 2 * M; j++) z += W0[h * 2 * M + j] * e[j];
        y += W1[h] * tanh(z);
    }
    return y;
}

static fk_nf_layer layers[2];

static fk_nf_params make_params(void) {
    fk_nf_params p = fk_nf_params_default();
    p.in_dim = D;
    p.encoding = FK_NF_ENC_FOURIER;
    p.n_frequencies = M;
    p.fourier_b = B;
    layers[0].out_dim = H;
    layers[0].activation = FK_NF_ACT_TANH;
    layers[0].activation_param = 0.0f;
    layers[0].weight = W0;
    layers[0].bias = B0;
    layers[1].out_dim = 1;
    layers[1].activation = FK_NF_ACT_IDENTITY;
    layers[1].activation_param = 0.0f;
    layers[1].weight = W1;
    layers[1].bias = B1;
    p.n_layers = 2;
    p.layers = layers;
    return p;
}

static void init(void) {
    unsigned s = 12345u;
    size_t i;
    for (i = 0; i < M * D; i++) B[i] = frand(&s);
    for (i = 0; i < H * 2 * M; i++) W0[i] = 0.5f * frand(&s);
    for (i = 0; i < H; i++) B0[i] = 0.1f * frand(&s), W1[i] = 0.4f * frand(&s);
    B1[0] = 0.05f;
    for (i = 0; i < N * D; i++) xs[i] = frand(&s), xd[i] = xs[i];
}

static void test_forward_and_gradient_match_reference(void) {
    fk_nf_params p = make_params();
    fk_nf_model *m = NULL;
    size_t i, d, in_dim = 0, out_dim = 0;
    double worst = 0.0, worst_g = 0.0;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_OK);
    CHECK(m != NULL);
    CHECK_STATUS(fk_nf_model_dims(m, &in_dim, &out_dim), FK_OK);
    CHECK(in_dim == D && out_dim == 1);
    CHECK_STATUS(fk_nf_forward(m, N, D, xs, 1, ys), FK_OK);
    CHECK_STATUS(fk_nf_gradient(m, N, D, xs, ys2, gs), FK_OK);
    CHECK(memcmp(ys, ys2, sizeof ys) == 0);
    for (i = 0; i < N; i++) {
        double x[D], h = 1e-5;
        double y = reference(xd + i * D);
        /* 1e-5 of the output scale (|b| + sum |w h| <= ~1.5 here): f32
         * rounding of 8-16 term dot products is ~1e-7 relative. */
        worst = fmax(worst, fabs(ys[i] - y));
        for (d = 0; d < D; d++) {
            double fp, fm;
            memcpy(x, xd + i * D, sizeof x);
            x[d] += h;
            fp = reference(x);
            x[d] -= 2 * h;
            fm = reference(x);
            /* Central differences in double are exact to ~1e-9; the f32
             * gradient carries ~1e-6 rounding times 2 pi |B| <= 6.3. */
            worst_g = fmax(worst_g, fabs(gs[i * D + d] - (fp - fm) / (2 * h)));
        }
    }
    CHECK(worst < 1.5e-5);
    CHECK(worst_g < 1e-4);
    /* double entry points: same values, widened. */
    CHECK_STATUS(fk_nf_forward_f64(m, N, D, xd, 1, yd), FK_OK);
    CHECK_STATUS(fk_nf_gradient_f64(m, N, D, xd, yd, gd), FK_OK);
    for (i = 0; i < N; i++) CHECK(yd[i] == (double)ys[i]);
    for (i = 0; i < N * D; i++) CHECK(gd[i] == (double)gs[i]);
    /* Jacobian of a scalar field = gradient. */
    CHECK_STATUS(fk_nf_jacobian(m, N, D, xs, 1, ys2, gs2), FK_OK);
    CHECK(memcmp(gs, gs2, sizeof gs) == 0);
    fk_nf_model_destroy(m);
}

static void test_thread_count_invariance(void) {
    fk_nf_params p = make_params();
    fk_nf_model *m = NULL;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_OK);
    CHECK_STATUS(fk_set_num_threads(1), FK_OK);
    CHECK_STATUS(fk_nf_gradient(m, N, D, xs, ys, gs), FK_OK);
    CHECK_STATUS(fk_set_num_threads(2), FK_OK);
    CHECK_STATUS(fk_nf_gradient(m, N, D, xs, ys2, gs2), FK_OK);
    CHECK(memcmp(ys, ys2, sizeof ys) == 0 && memcmp(gs, gs2, sizeof gs) == 0);
    /* Split batch: [0, 333) then [333, N). */
    CHECK_STATUS(fk_nf_forward(m, 333, D, xs, 1, ys2), FK_OK);
    CHECK_STATUS(fk_nf_forward(m, N - 333, D, xs + 333 * D, 1, ys2 + 333), FK_OK);
    CHECK(memcmp(ys, ys2, sizeof ys) == 0);
    fk_nf_model_destroy(m);
}

static void test_update_weights(void) {
    fk_nf_params p = make_params();
    fk_nf_model *m = NULL;
    float before, after, kept, w03 = W0[3], b10 = B1[0];
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_OK);
    CHECK_STATUS(fk_nf_forward(m, 1, D, xs, 1, &before), FK_OK);
    B1[0] += 1.0f; /* the weights are borrowed: change them in place */
    CHECK_STATUS(fk_nf_model_update_weights(m), FK_OK);
    CHECK_STATUS(fk_nf_forward(m, 1, D, xs, 1, &after), FK_OK);
    CHECK(fabsf(after - before - 1.0f) < 1e-6f);
    W0[3] = NAN; /* rejected: the model keeps its previous weights */
    CHECK_STATUS(fk_nf_model_update_weights(m), FK_ERR_NON_FINITE);
    CHECK_ERROR_MENTIONS("layer 0");
    CHECK_STATUS(fk_nf_forward(m, 1, D, xs, 1, &kept), FK_OK);
    CHECK(kept == after);
    W0[3] = w03;
    B1[0] = b10;
    fk_nf_model_destroy(m);
}

static void test_bad_input(void) {
    fk_nf_params p = make_params();
    fk_nf_model *m = NULL, *unset = (fk_nf_model *)(void *)&p;
    float sentinel[4] = {-7.0f, -7.0f, -7.0f, -7.0f};
    float x_nan[2 * D];
    uint64_t fake[16];
    float b02 = B0[2];
    memset(fake, 0, sizeof fake);

    /* create: NULL, struct size, unknown enums, bad sizes, NaN weights. */
    CHECK_STATUS(fk_nf_model_create(NULL, &m), FK_ERR_NULL_POINTER);
    CHECK_ERROR_MENTIONS("params");
    CHECK_STATUS(fk_nf_model_create(&p, NULL), FK_ERR_NULL_POINTER);
    p.struct_size = 8;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_ERR_STRUCT_SIZE);
    p = make_params();
    layers[0].activation = 99;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_ERR_UNKNOWN_ENUM);
    CHECK_ERROR_MENTIONS("layers[0]");
    layers[0].activation = FK_NF_ACT_TANH;
    p.encoding = 42;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_ERR_UNKNOWN_ENUM);
    CHECK_ERROR_MENTIONS("encoding");
    p = make_params();
    p.fourier_b = NULL;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_ERR_NULL_POINTER);
    CHECK_ERROR_MENTIONS("fourier_b");
    p = make_params();
    layers[1].weight = NULL;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_ERR_NULL_POINTER);
    CHECK_ERROR_MENTIONS("layers[1].weight");
    p = make_params();
    p.n_layers = 0;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_ERR_INVALID_SIZE);
    /* Widths that would overflow the size arithmetic: rejected up front. */
    p = make_params();
    p.in_dim = SIZE_MAX / 2;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_ERR_INVALID_SIZE);
    CHECK_ERROR_MENTIONS("in_dim");
    p = make_params();
    p.latent_dim = SIZE_MAX / 2 + 3;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_ERR_INVALID_SIZE);
    CHECK_ERROR_MENTIONS("latent_dim");
    p = make_params();
    p.n_layers = 1000;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_ERR_INVALID_SIZE);
    CHECK_ERROR_MENTIONS("n_layers");
    p = make_params();
    {
        size_t saved = layers[0].out_dim;
        layers[0].out_dim = SIZE_MAX / 2 + 1;
        CHECK_STATUS(fk_nf_model_create(&p, &m), FK_ERR_INVALID_SIZE);
        CHECK_ERROR_MENTIONS("layers[0].out_dim");
        layers[0].out_dim = saved;
    }
    p = make_params();
    p.skip_layer = 2;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("skip_layer");
    p = make_params();
    p.task_slots = 1000;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_ERR_OUT_OF_RANGE);
    p = make_params();
    B0[2] = INFINITY;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_ERR_NON_FINITE);
    CHECK_ERROR_MENTIONS("bias[2]");
    B0[2] = b02;
    layers[0].activation = FK_NF_ACT_SINE;
    layers[0].activation_param = NAN;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_ERR_NON_FINITE);
    layers[0].activation = FK_NF_ACT_TANH;
    CHECK(m == NULL);

    p = make_params();
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_OK);
    /* n = 0 is a no-op, even with NULL arrays. */
    CHECK_STATUS(fk_nf_forward(m, 0, D, NULL, 1, NULL), FK_OK);
    /* NULL arrays, size mismatches: outputs untouched. */
    CHECK_STATUS(fk_nf_forward(m, 2, D, NULL, 1, sentinel), FK_ERR_NULL_POINTER);
    CHECK_ERROR_MENTIONS("`x`");
    CHECK_STATUS(fk_nf_forward(m, 2, D, xs, 1, NULL), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_nf_forward(m, 2, D + 1, xs, 1, sentinel), FK_ERR_INVALID_SIZE);
    CHECK_ERROR_MENTIONS("in_dim = 4");
    CHECK_STATUS(fk_nf_forward(m, 2, D, xs, 2, sentinel), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_nf_jacobian(m, 2, D, xs, 3, sentinel, gs), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_nf_gradient(m, 1, D, xs, sentinel, NULL), FK_ERR_NULL_POINTER);
    CHECK_ERROR_MENTIONS("`grad`");
    CHECK_STATUS(fk_nf_forward(m, SIZE_MAX / 2, D, xs, 1, sentinel), FK_ERR_INVALID_SIZE);
    CHECK(sentinel[0] == -7.0f && sentinel[1] == -7.0f && sentinel[2] == -7.0f);
    /* Wrong handles: a foreign struct, NULL. */
    CHECK_STATUS(fk_nf_forward((fk_nf_model *)(void *)fake, 1, D, xs, 1, sentinel),
                 FK_ERR_WRONG_HANDLE);
    CHECK_ERROR_MENTIONS("fk_nf_model");
    CHECK_STATUS(fk_nf_forward(unset, 1, D, xs, 1, sentinel), FK_ERR_WRONG_HANDLE);
    CHECK_STATUS(fk_nf_forward(NULL, 1, D, xs, 1, sentinel), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_nf_model_update_weights((fk_nf_model *)(void *)fake), FK_ERR_WRONG_HANDLE);
    CHECK(sentinel[0] == -7.0f);
    CHECK_STATUS(fk_nf_model_destroy((fk_nf_model *)(void *)fake), FK_ERR_WRONG_HANDLE); /* left alone */
    CHECK_ERROR_MENTIONS("fk_nf_model_destroy");
    /* NaN inputs propagate to their own point only (documented). */
    memcpy(x_nan, xs, sizeof x_nan);
    x_nan[D + 1] = NAN;
    CHECK_STATUS(fk_nf_forward(m, 2, D, x_nan, 1, sentinel), FK_OK);
    CHECK(sentinel[0] == ys[0]);
    CHECK(isnan(sentinel[1]));
    fk_nf_model_destroy(m);
    CHECK_STATUS(fk_nf_model_destroy(NULL), FK_OK);
    /* Loading: NULL arguments, unreadable file (file cases: tests/nf_load.rs).
     * The handle slot starts non-NULL (`unset`, never dereferenced): a failed
     * load leaves it as it was, not even NULL is written. */
    m = unset;
    CHECK_STATUS(fk_nf_model_load(NULL, 0, &m), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_nf_model_load("/nonexistent/model.safetensors", 0, NULL),
                 FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_nf_model_load("/nonexistent/model.safetensors", 0, &m), FK_ERR_IO);
    CHECK_ERROR_MENTIONS("/nonexistent/model.safetensors");
    CHECK(m == unset);
}

/* FiLM with gamma = 1, beta = 0 and a concatenated latent with zero weights
 * leave the field unchanged; a hash-grid model builds and evaluates. */
static void test_conditioning_and_hash_grid(void) {
    enum { K = 2 };
    static float W0c[H * (2 * M + K)], fw[2 * H * K], fb[2 * H], table[4 * 16 * 2], Wh[1 * 8];
    fk_nf_params p = make_params();
    fk_nf_film film;
    fk_nf_model *m = NULL, *plain = NULL;
    float xz[5 * (D + K)], y[5], y0[5], g[5 * (D + K)];
    size_t i, j, in_dim = 0, out_dim = 0;
    for (i = 0; i < H; i++)
        for (j = 0; j < 2 * M + K; j++) W0c[i * (2 * M + K) + j] = j < 2 * M ? W0[i * 2 * M + j] : 0.0f;
    for (i = 0; i < 2 * H; i++) fb[i] = i < H ? 1.0f : 0.0f;
    for (i = 0; i < 5; i++) {
        for (j = 0; j < D; j++) xz[i * (D + K) + j] = xs[i * D + j];
        xz[i * (D + K) + D] = 0.3f * (float)i;
        xz[i * (D + K) + D + 1] = -0.2f;
    }
    CHECK_STATUS(fk_nf_model_create(&p, &plain), FK_OK);
    CHECK_STATUS(fk_nf_forward(plain, 5, D, xs, 1, y0), FK_OK);
    layers[0].weight = W0c;
    film.layer = 0;
    film.weight = fw;
    film.bias = fb;
    p.latent_dim = K;
    p.latent_concat = 1;
    p.n_film = 1;
    p.film = &film;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_OK);
    CHECK_STATUS(fk_nf_model_dims(m, &in_dim, &out_dim), FK_OK);
    CHECK(in_dim == D + K && out_dim == 1);
    CHECK_STATUS(fk_nf_forward(m, 5, D, xz, 1, y), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_nf_forward(m, 5, D + K, xz, 1, y), FK_OK);
    for (i = 0; i < 5; i++) CHECK(fabsf(y[i] - y0[i]) <= 1e-6f);
    CHECK_STATUS(fk_nf_gradient(m, 5, D + K, xz, y, g), FK_OK);
    CHECK(g[D] == 0.0f && g[D + 1] == 0.0f); /* the latent has no effect */
    fk_nf_model_destroy(m);
    film.layer = 7;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("film[0].layer");
    layers[0].weight = W0;
    fk_nf_model_destroy(plain);

    p = make_params();
    p.encoding = FK_NF_ENC_HASH_GRID;
    p.hash_levels = 4;
    p.hash_features = 2;
    p.hash_log2_table = 4;
    p.hash_base_resolution = 2;
    p.hash_growth = 1.5f;
    p.hash_table = table;
    for (i = 0; i < 4 * 16 * 2; i++) table[i] = 0.01f * (float)(i % 7);
    for (i = 0; i < 8; i++) Wh[i] = 1.0f;
    layers[0].out_dim = 1;
    layers[0].activation = FK_NF_ACT_IDENTITY;
    layers[0].weight = Wh;
    layers[0].bias = NULL;
    p.n_layers = 1;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_OK);
    CHECK_STATUS(fk_nf_forward(m, 5, D, xs, 1, y), FK_OK);
    for (i = 0; i < 5; i++) CHECK(y[i] >= 0.0f && y[i] <= 4 * 2 * 0.06f + 1e-6f);
    fk_nf_model_destroy(m);
    p.hash_table = NULL;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_ERR_NULL_POINTER);
    CHECK_ERROR_MENTIONS("hash_table");
    layers[0].out_dim = H;
    layers[0].activation = FK_NF_ACT_TANH;
    layers[0].weight = W0;
    layers[0].bias = B0;
}

/* A field of constant density s and colour c: opacity = 1 - exp(-s L)
 * exactly (the discrete transmittance is a product of exp(-s D)). */
static void test_render(void) {
    static float wz[4 * D], bz[4] = {0.7f, 0.0f, 1.0f, -1.0f};
    fk_nf_layer l;
    fk_nf_params p = fk_nf_params_default();
    fk_nf_render_params rp = fk_nf_render_params_default();
    fk_nf_model *m = NULL;
    fk_nf_renderer *r = NULL;
    float rays[2 * 8] = {0, 0, 0, 0, 0, 1, 0.0f, 2.0f, 1, 1, 1, 1, 0, 0, 0.5f, 1.5f};
    float rgb[6], depth[2], opacity[2];
    double want0 = 1.0 - exp(-0.7 * 2.0), want1 = 1.0 - exp(-0.7 * 1.0);
    l.out_dim = 4;
    l.activation = FK_NF_ACT_IDENTITY;
    l.activation_param = 0.0f;
    l.weight = wz;
    l.bias = bz;
    p.in_dim = D;
    p.n_layers = 1;
    p.layers = &l;
    CHECK_STATUS(fk_nf_model_create(&p, &m), FK_OK);
    CHECK_STATUS(fk_nf_renderer_create(&rp, &r), FK_OK);
    CHECK_STATUS(fk_nf_render(r, m, 2, rays, 0, rgb, depth, opacity), FK_OK);
    /* f32 product of 64 equal factors: ~sqrt(64) ulp. */
    CHECK(fabs(opacity[0] - want0) < 1e-5 && fabs(opacity[1] - want1) < 1e-5);
    CHECK(fabs(rgb[0] - 0.5 * want0) < 1e-5);
    CHECK(fabs(rgb[1] - want0 / (1.0 + exp(-1.0))) < 1e-5);
    rays[7] = -1.0f; /* far < near */
    CHECK_STATUS(fk_nf_render(r, m, 2, rays, 0, rgb, depth, opacity), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_nf_render(r, NULL, 2, rays, 0, rgb, depth, opacity), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_nf_render((fk_nf_renderer *)(void *)m, m, 2, rays, 0, rgb, depth, opacity),
                 FK_ERR_WRONG_HANDLE);
    rp.samples = 0;
    fk_nf_renderer_destroy(r);
    r = NULL;
    CHECK_STATUS(fk_nf_renderer_create(&rp, &r), FK_ERR_OUT_OF_RANGE);
    CHECK(r == NULL);
    fk_nf_model_destroy(m);
}

/* EGNN from C: a 90-degree rotation about z plus a translation moves the
 * coordinate outputs the same way and leaves the features unchanged (to
 * f32 rounding, 1e-5); capacity and handle errors. */
static void test_egnn(void) {
    enum { F = 3, MSG = 4, HID = 8, NN = 6 };
    static float we0[HID * (2 * F + 1)], be0[HID], we1[MSG * HID], wx[MSG], wh[F * (F + MSG)];
    static float x[NN * 3], h[NN * F], xr[NN * 3], xo[NN * 3], ho[NN * F], xro[NN * 3], hro[NN * F];
    fk_nf_layer e[2], lx, lh;
    fk_nf_egnn_params p = fk_nf_egnn_params_default();
    fk_nf_egnn *g = NULL;
    unsigned seed = 99u;
    size_t i;
    int ok = 1;
    for (i = 0; i < HID * (2 * F + 1); i++) we0[i] = 0.3f * frand(&seed);
    for (i = 0; i < HID; i++) be0[i] = 0.1f * frand(&seed);
    for (i = 0; i < MSG * HID; i++) we1[i] = 0.3f * frand(&seed);
    for (i = 0; i < MSG; i++) wx[i] = 0.2f * frand(&seed);
    for (i = 0; i < F * (F + MSG); i++) wh[i] = 0.3f * frand(&seed);
    for (i = 0; i < NN * 3; i++) x[i] = frand(&seed);
    for (i = 0; i < NN * F; i++) h[i] = frand(&seed);
    for (i = 0; i < NN; i++) { /* (x, y, z) -> (-y + 1, x - 2, z + 0.5) */
        xr[3 * i] = -x[3 * i + 1] + 1.0f;
        xr[3 * i + 1] = x[3 * i] - 2.0f;
        xr[3 * i + 2] = x[3 * i + 2] + 0.5f;
    }
    e[0].out_dim = HID, e[0].activation = FK_NF_ACT_SILU, e[0].activation_param = 0, e[0].weight = we0, e[0].bias = be0;
    e[1].out_dim = MSG, e[1].activation = FK_NF_ACT_SILU, e[1].activation_param = 0, e[1].weight = we1, e[1].bias = NULL;
    lx.out_dim = 1, lx.activation = FK_NF_ACT_TANH, lx.activation_param = 0, lx.weight = wx, lx.bias = NULL;
    lh.out_dim = F, lh.activation = FK_NF_ACT_IDENTITY, lh.activation_param = 0, lh.weight = wh, lh.bias = NULL;
    p.features = F;
    p.message_dim = MSG;
    p.n_phi_e = 2, p.phi_e = e;
    p.n_phi_x = 1, p.phi_x = &lx;
    p.n_phi_h = 1, p.phi_h = &lh;
    p.coord_scale = 0.2f;
    p.max_nodes = NN;
    CHECK_STATUS(fk_nf_egnn_create(&p, &g), FK_OK);
    CHECK_STATUS(fk_nf_egnn_forward(g, NN, x, h, xo, ho), FK_OK);
    CHECK_STATUS(fk_nf_egnn_forward(g, NN, xr, h, xro, hro), FK_OK);
    for (i = 0; i < NN; i++) {
        ok &= fabsf(xro[3 * i] - (-xo[3 * i + 1] + 1.0f)) < 1e-5f;
        ok &= fabsf(xro[3 * i + 1] - (xo[3 * i] - 2.0f)) < 1e-5f;
        ok &= fabsf(xro[3 * i + 2] - (xo[3 * i + 2] + 0.5f)) < 1e-5f;
    }
    for (i = 0; i < NN * F; i++) ok &= fabsf(hro[i] - ho[i]) < 1e-5f;
    CHECK(ok);
    CHECK_STATUS(fk_nf_egnn_forward(g, NN + 1, x, h, xo, ho), FK_ERR_CAPACITY);
    CHECK_STATUS(fk_nf_egnn_forward(g, NN, NULL, h, xo, ho), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_nf_egnn_forward((fk_nf_egnn *)(void *)&p, NN, x, h, xo, ho), FK_ERR_WRONG_HANDLE);
    fk_nf_egnn_destroy(g);
    lh.out_dim = F + 1; /* phi_h must give F features */
    lh.weight = we0;    /* large enough for (F + 1) x (F + MSG) */
    g = NULL;
    CHECK_STATUS(fk_nf_egnn_create(&p, &g), FK_ERR_INVALID_SIZE);
    CHECK_ERROR_MENTIONS("phi_h");
    CHECK(g == NULL);
}

int main(void) {
    init();
    test_forward_and_gradient_match_reference();
    test_thread_count_invariance();
    test_update_weights();
    test_bad_input();
    test_conditioning_and_hash_grid();
    test_render();
    test_egnn();
    return fk_check_summary();
}
