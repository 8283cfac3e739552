/* A neural field as an external potential: particles move under
 * F = -grad U(x), with U an MLP (Fourier features -> 2 x 32 SiLU -> 1) built
 * from weights the C code owns, evaluated with fk_nf_gradient every step
 * (velocity Verlet, written here in C). Energy conservation checks the
 * gradient against the potential it differentiates; the run prints
 * throughput and writes nf_potential.csv (step, kinetic, potential, total).
 *
 *   cargo build --release
 *   cc -O2 -std=c99 examples/c/nf_potential.c -Iinclude -Ltarget/release \
 *      -lfieldkern -Wl,-rpath,$PWD/target/release -lm -o nf_potential && ./nf_potential
 */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fieldkern.h"

#define D 3
#define M 8  /* Fourier rows: encoding width 16 */
#define H 32

static float B[M * D], W0[H * 2 * M], B0[H], W1[H * H], B1[H], W2[H], B2[1];

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float frand(unsigned *s, float a) {
    *s = *s * 1664525u + 1013904223u;
    return a * (float)((*s >> 8) * (1.0 / 16777216.0) * 2.0 - 1.0);
}

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    size_t n = quick ? 2000 : 100000, steps = quick ? 200 : 1000, i, k;
    double dt = 1e-3, e0 = 0.0, p0 = 0.0, worst = 0.0, swing = 0.0, t0, elapsed;
    unsigned seed = 7u;
    fk_nf_layer layers[3];
    fk_nf_params p = fk_nf_params_default();
    fk_nf_model *model = NULL;
    float *x = malloc(n * D * sizeof *x), *v = malloc(n * D * sizeof *v);
    float *u = malloc(n * sizeof *u), *g = malloc(n * D * sizeof *g);
    FILE *csv = fopen("nf_potential.csv", "w");
    fk_status s;
    if (!x || !v || !u || !g || !csv) return 1;

    for (i = 0; i < M * D; i++) B[i] = frand(&seed, 0.5f);
    for (i = 0; i < H * 2 * M; i++) W0[i] = frand(&seed, 0.25f);
    for (i = 0; i < H * H; i++) W1[i] = frand(&seed, 0.18f);
    for (i = 0; i < H; i++) B0[i] = frand(&seed, 0.1f), B1[i] = frand(&seed, 0.1f), W2[i] = frand(&seed, 0.3f);
    B2[0] = 0.0f;
    layers[0].out_dim = H, layers[0].activation = FK_NF_ACT_SILU, layers[0].weight = W0, layers[0].bias = B0;
    layers[1].out_dim = H, layers[1].activation = FK_NF_ACT_SILU, layers[1].weight = W1, layers[1].bias = B1;
    layers[2].out_dim = 1, layers[2].activation = FK_NF_ACT_IDENTITY, layers[2].weight = W2, layers[2].bias = B2;
    for (k = 0; k < 3; k++) layers[k].activation_param = 0.0f;
    p.in_dim = D;
    p.encoding = FK_NF_ENC_FOURIER;
    p.n_frequencies = M;
    p.fourier_b = B;
    p.n_layers = 3;
    p.layers = layers;
    s = fk_nf_model_create(&p, &model);
    if (s != FK_OK) {
        printf("FAIL create: %s: %s\n", fk_status_str(s), fk_last_error());
        return 1;
    }
    for (i = 0; i < n * D; i++) x[i] = frand(&seed, 2.0f), v[i] = frand(&seed, 0.1f);

    fprintf(csv, "step,kinetic,potential,total\n");
    fk_nf_gradient(model, n, D, x, u, g);
    t0 = now_seconds();
    for (k = 0; k <= steps; k++) {
        double kin = 0.0, pot = 0.0, tot;
        for (i = 0; i < n; i++) pot += u[i];
        for (i = 0; i < n * D; i++) kin += 0.5 * (double)v[i] * v[i];
        tot = kin + pot;
        if (k == 0) e0 = tot, p0 = pot;
        worst = fmax(worst, fabs(tot - e0));
        swing = fmax(swing, fabs(pot - p0));
        if (k % 10 == 0) fprintf(csv, "%lu,%.9g,%.9g,%.9g\n", (unsigned long)k, kin, pot, tot);
        if (k == steps) break;
        /* velocity Verlet with F = -grad U (unit mass) */
        for (i = 0; i < n * D; i++) v[i] -= 0.5f * (float)dt * g[i], x[i] += (float)dt * v[i];
        s = fk_nf_gradient(model, n, D, x, u, g);
        if (s != FK_OK) {
            printf("FAIL gradient: %s: %s\n", fk_status_str(s), fk_last_error());
            return 1;
        }
        for (i = 0; i < n * D; i++) v[i] -= 0.5f * (float)dt * g[i];
    }
    elapsed = now_seconds() - t0;
    /* Kinetic and potential energy exchange |dU| = swing; with the right
     * forces the total moves by Verlet's O(dt^2) error only (~1e-6 of the
     * swing here, plus f32 rounding of the sums), with wrong forces by
     * O(swing). */
    printf("%lu particles, %lu steps: %.3e particle-steps/s (value + gradient); "
           "potential swing %.4g, total-energy drift %.3e of it\n",
           (unsigned long)n, (unsigned long)steps, (double)n * steps / elapsed, swing,
           worst / swing);
    if (!(worst <= 1e-2 * swing)) printf("FAIL energy not conserved\n");
    fk_nf_model_destroy(model);
    fclose(csv);
    free(x), free(v), free(u), free(g);
    return 0;
}
