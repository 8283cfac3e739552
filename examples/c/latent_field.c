/* Latent force-field model, run from C: N charged particles (two species)
 * whose local interactions are an E(n)-equivariant graph network (EGNN,
 * Satorras et al. 2021) and whose global, unobserved external field is a
 * neural field of absolute position. Both networks are built here from
 * deterministic weights owned by this program (standing in for trained
 * ones) and added to ONE fieldkern force field: the EGNN's coordinate
 * update is the pair force (fk_forcefield_add_egnn), the neural field is a
 * potential (fk_forcefield_add_neural_field, forces -grad U). BAOAB
 * Langevin (fk_langevin) integrates the particles; latent_field.csv gets
 * step, kinetic temperature, field energy, radius of gyration and total
 * momentum every 10 steps.
 *
 * Checks (the program exits 1 if one fails), each of something the model
 * guarantees whatever its weights:
 *  1. additivity: the combined force field gives bitwise the EGNN force plus
 *     the neural force;
 *  2. the neural potential is conservative: velocity Verlet with it alone
 *     conserves the total energy (change < 1e-3 of the kinetic energy);
 *  3. with one species the EGNN pair force r_ij phi_x(m_ij) is central and
 *     antisymmetric: Verlet with the EGNN alone conserves total momentum and
 *     angular momentum (to 1e-9 of their scales). (It is then even a
 *     conservative pair force of |r_ij| alone, up to the jump at the cutoff;
 *     with two species phi_e(h_i, h_j, .) != phi_e(h_j, h_i, .) and neither
 *     holds.)
 *  4. E(3) equivariance of the dynamics: a rotated + reflected + translated
 *     initial state (EGNN alone) evolves into the transformed trajectory
 *     (to 1e-6 of the cloud size); the neural field, a function of absolute
 *     position, is not symmetric (printed, not asserted);
 *  5. determinism: the Langevin run split into two calls equals one call
 *     bitwise.
 *
 *   cargo build --release
 *   cc -O2 -std=c99 examples/c/latent_field.c -Iinclude -Ltarget/release \
 *      -lfieldkern -Wl,-rpath,$PWD/target/release -lm -o latent_field && ./latent_field
 */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fieldkern.h"

#define F 2    /* node features (species embedding) */
#define MSG 8  /* EGNN message width */
#define HE 16  /* hidden width of phi_e */
#define K 14   /* softplus units of the external potential */

static float we0[HE * (2 * F + 1)], be0[HE], we1[MSG * HE], be1[MSG], wx[MSG], bx[1], wh[F * (F + MSG)];
static float species[2 * F] = {1.0f, 0.5f, -1.0f, 0.5f};
static float pw0[K * 3], pb0[K], pw1[K], pb1[1];
static int failures = 0;

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double frand(unsigned *s) { /* uniform in [-1, 1) */
    *s = *s * 1664525u + 1013904223u;
    return (double)(*s >> 8) * (2.0 / 16777216.0) - 1.0;
}

static void report(const char *name, double value, double limit, int ok) {
    printf("check %-44s %11.3e  (limit %.1e)  %s\n", name, value, limit, ok ? "ok" : "FAIL");
    if (!ok) failures++;
}

static void must(fk_status s, const char *what) {
    if (s != FK_OK) {
        fprintf(stderr, "%s: %s (%s)\n", what, fk_status_str(s), fk_last_error());
        exit(1);
    }
}

/* EGNN: phi_e (2F+1 -> 16 SiLU -> 8 SiLU) with messages decaying with the
 * squared distance, phi_x (8 -> 1 sigmoid, so every pair repels), phi_h
 * unused by the force but part of the layer; cutoff 2, coord_scale 1. */
static fk_nf_egnn *make_egnn(size_t max_nodes) {
    static fk_nf_layer e[2], lx, lh;
    fk_nf_egnn_params p = fk_nf_egnn_params_default();
    fk_nf_egnn *g = NULL;
    unsigned s = 2021u;
    size_t i, j;
    for (i = 0; i < HE; i++) {
        for (j = 0; j < 2 * F; j++) we0[i * (2 * F + 1) + j] = (float)(0.6 * frand(&s));
        we0[i * (2 * F + 1) + 2 * F] = (float)(-0.8 - 0.4 * frand(&s)); /* d^2 column */
        be0[i] = (float)(0.5 + 0.3 * frand(&s));
    }
    for (i = 0; i < MSG * HE; i++) we1[i] = (float)(0.4 * frand(&s) + 0.1);
    for (i = 0; i < MSG; i++) be1[i] = (float)(0.1 * frand(&s)), wx[i] = (float)(0.5 + 0.3 * frand(&s));
    bx[0] = -1.5f;
    for (i = 0; i < F * (F + MSG); i++) wh[i] = (float)(0.3 * frand(&s));
    e[0].out_dim = HE, e[0].activation = FK_NF_ACT_SILU, e[0].activation_param = 0, e[0].weight = we0, e[0].bias = be0;
    e[1].out_dim = MSG, e[1].activation = FK_NF_ACT_SILU, e[1].activation_param = 0, e[1].weight = we1, e[1].bias = be1;
    lx.out_dim = 1, lx.activation = FK_NF_ACT_SIGMOID, lx.activation_param = 0, lx.weight = wx, lx.bias = bx;
    lh.out_dim = F, lh.activation = FK_NF_ACT_IDENTITY, lh.activation_param = 0, lh.weight = wh, lh.bias = NULL;
    p.features = F;
    p.message_dim = MSG;
    p.n_phi_e = 2, p.phi_e = e;
    p.n_phi_x = 1, p.phi_x = &lx;
    p.n_phi_h = 1, p.phi_h = &lh;
    p.cutoff = 2.0f;
    p.coord_scale = 1.0f;
    p.max_nodes = max_nodes;
    must(fk_nf_egnn_create(&p, &g), "fk_nf_egnn_create");
    return g;
}

/* External field U(r) = sum_k a_k softplus(w_k . r + b_k): 14 directions
 * (the 6 axes and 8 cube diagonals, perturbed) with positive a_k, so U grows
 * linearly in every direction (confining) but is not isotropic. */
static fk_nf_model *make_potential(void) {
    static fk_nf_layer l[2];
    static const double dirs[K][3] = {{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}, {0, 0, 1},
                                      {0, 0, -1}, {1, 1, 1}, {1, 1, -1}, {1, -1, 1}, {1, -1, -1},
                                      {-1, 1, 1}, {-1, 1, -1}, {-1, -1, 1}, {-1, -1, -1}};
    fk_nf_params p = fk_nf_params_default();
    fk_nf_model *m = NULL;
    unsigned s = 1877u;
    size_t k, a;
    for (k = 0; k < K; k++) {
        double d[3], norm = 0.0;
        for (a = 0; a < 3; a++) d[a] = dirs[k][a] + 0.3 * frand(&s), norm += d[a] * d[a];
        for (a = 0; a < 3; a++) pw0[3 * k + a] = (float)(0.8 * d[a] / sqrt(norm));
        pb0[k] = (float)(-1.0 + 0.5 * frand(&s));
        pw1[k] = (float)(0.35 + 0.15 * frand(&s));
    }
    pb1[0] = 0.0f;
    p.in_dim = 3;
    l[0].out_dim = K, l[0].activation = FK_NF_ACT_SOFTPLUS, l[0].activation_param = 0, l[0].weight = pw0, l[0].bias = pb0;
    l[1].out_dim = 1, l[1].activation = FK_NF_ACT_IDENTITY, l[1].activation_param = 0, l[1].weight = pw1, l[1].bias = pb1;
    p.n_layers = 2;
    p.layers = l;
    must(fk_nf_model_create(&p, &m), "fk_nf_model_create");
    return m;
}

typedef struct {
    size_t n;
    double *x, *y, *z, *vx, *vy, *vz;
    uint32_t *types;
} state;

static state state_new(size_t n) {
    state s;
    s.n = n;
    s.x = calloc(6 * n, sizeof(double));
    if (!s.x) exit(1);
    s.y = s.x + n, s.z = s.y + n, s.vx = s.z + n, s.vy = s.vx + n, s.vz = s.vy + n;
    s.types = calloc(n, sizeof(uint32_t));
    if (!s.types) exit(1);
    return s;
}

static void state_copy(state *dst, const state *src) {
    memcpy(dst->x, src->x, 6 * src->n * sizeof(double));
    memcpy(dst->types, src->types, src->n * sizeof(uint32_t));
}

static fk_particles view(state *s, int with_types) {
    fk_particles p = fk_particles_default();
    p.dim = 3;
    p.n = s->n;
    p.x = s->x, p.y = s->y, p.z = s->z;
    p.vx = s->vx, p.vy = s->vy, p.vz = s->vz;
    p.types = with_types ? s->types : NULL;
    return p;
}

static fk_forcefield *make_field(size_t n) {
    fk_forcefield_params fp = fk_forcefield_params_default();
    fk_forcefield *ff = NULL;
    fp.dim = 3;
    fp.capacity = n;
    fp.ntypes = 2;
    must(fk_forcefield_create(&fp, &ff), "fk_forcefield_create");
    return ff;
}

static double kinetic(const state *s) {
    double k = 0.0;
    size_t i;
    for (i = 0; i < s->n; i++) k += 0.5 * (s->vx[i] * s->vx[i] + s->vy[i] * s->vy[i] + s->vz[i] * s->vz[i]);
    return k;
}

/* Total momentum P and angular momentum L, and their scales sum |p|, sum |r x p|. */
static void momenta(const state *s, double P[3], double L[3], double *ps, double *ls) {
    size_t i;
    P[0] = P[1] = P[2] = L[0] = L[1] = L[2] = *ps = *ls = 0.0;
    for (i = 0; i < s->n; i++) {
        double l[3] = {s->y[i] * s->vz[i] - s->z[i] * s->vy[i], s->z[i] * s->vx[i] - s->x[i] * s->vz[i],
                       s->x[i] * s->vy[i] - s->y[i] * s->vx[i]};
        P[0] += s->vx[i], P[1] += s->vy[i], P[2] += s->vz[i];
        L[0] += l[0], L[1] += l[1], L[2] += l[2];
        *ps += sqrt(s->vx[i] * s->vx[i] + s->vy[i] * s->vy[i] + s->vz[i] * s->vz[i]);
        *ls += sqrt(l[0] * l[0] + l[1] * l[1] + l[2] * l[2]);
    }
}

static void transform(const double q[3][3], const double t[3], state *s) {
    size_t i, a;
    for (i = 0; i < s->n; i++) {
        double r[3] = {s->x[i], s->y[i], s->z[i]}, v[3] = {s->vx[i], s->vy[i], s->vz[i]}, rr[3], vv[3];
        for (a = 0; a < 3; a++) {
            rr[a] = q[a][0] * r[0] + q[a][1] * r[1] + q[a][2] * r[2] + t[a];
            vv[a] = q[a][0] * v[0] + q[a][1] * v[1] + q[a][2] * v[2];
        }
        s->x[i] = rr[0], s->y[i] = rr[1], s->z[i] = rr[2];
        s->vx[i] = vv[0], s->vy[i] = vv[1], s->vz[i] = vv[2];
    }
}

static double max_diff(const state *a, const state *b) {
    double d = 0.0;
    size_t i;
    for (i = 0; i < a->n; i++) {
        d = fmax(d, fabs(a->x[i] - b->x[i]));
        d = fmax(d, fabs(a->y[i] - b->y[i]));
        d = fmax(d, fabs(a->z[i] - b->z[i]));
    }
    return d;
}

static double gyration(const state *s) {
    double c[3] = {0, 0, 0}, r2 = 0.0;
    size_t i;
    for (i = 0; i < s->n; i++) c[0] += s->x[i], c[1] += s->y[i], c[2] += s->z[i];
    for (i = 0; i < 3; i++) c[i] /= (double)s->n;
    for (i = 0; i < s->n; i++)
        r2 += (s->x[i] - c[0]) * (s->x[i] - c[0]) + (s->y[i] - c[1]) * (s->y[i] - c[1]) +
              (s->z[i] - c[2]) * (s->z[i] - c[2]);
    return sqrt(r2 / (double)s->n);
}

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    size_t n = quick ? 128 : 256, steps = quick ? 400 : 2000, check_steps = quick ? 200 : 1000;
    size_t i, ok;
    double kt = 0.5, dt = 0.01, t0, elapsed;
    unsigned seed = 12345u;
    fk_nf_egnn *egnn = make_egnn(n);
    fk_nf_model *field = make_potential();
    fk_forcefield *ff_full = make_field(n), *ff_egnn = make_field(n), *ff_field = make_field(n),
                  *ff_one = make_field(n);
    fk_verlet_params vp = fk_verlet_params_default();
    fk_langevin_params lp = fk_langevin_params_default();
    fk_verlet *vv = NULL;
    fk_langevin *lv = NULL;
    state s0 = state_new(n), s = state_new(n), r = state_new(n);
    double *f = malloc(9 * n * sizeof(double));
    fk_particles p;
    uint64_t done = 0;
    FILE *csv = fopen("latent_field.csv", "w");
    if (!f || !csv) return 1;

    /* Initial state: a cloud of half-width 3, two species, velocities ~ kT. */
    for (i = 0; i < n; i++) {
        s0.x[i] = 3.0 * frand(&seed), s0.y[i] = 3.0 * frand(&seed), s0.z[i] = 3.0 * frand(&seed);
        s0.vx[i] = sqrt(3.0 * kt) * frand(&seed);
        s0.vy[i] = sqrt(3.0 * kt) * frand(&seed);
        s0.vz[i] = sqrt(3.0 * kt) * frand(&seed);
        s0.types[i] = (uint32_t)(i % 2);
    }

    /* The model: EGNN pair forces + neural external potential in one field. */
    must(fk_forcefield_add_egnn(ff_full, egnn, species, 2 * F, 1.0, NULL), "add_egnn");
    must(fk_forcefield_add_neural_field(ff_full, field, FK_NF_POTENTIAL, 1.0, NULL), "add_neural_field");
    must(fk_forcefield_add_egnn(ff_egnn, egnn, species, 2 * F, 1.0, NULL), "add_egnn");
    must(fk_forcefield_add_neural_field(ff_field, field, FK_NF_POTENTIAL, 1.0, NULL), "add_neural_field");
    /* one species (types NULL: every particle has species 0's features) */
    must(fk_forcefield_add_egnn(ff_one, egnn, species, 2 * F, 1.0, NULL), "add_egnn");
    printf("latent field: %zu particles (2 species), EGNN (F = %d, M = %d, cutoff 2) + neural potential "
           "(3 -> %d softplus -> 1)\n",
           n, F, MSG, K);

    /* 1. Additivity. */
    state_copy(&s, &s0);
    p = view(&s, 1);
    must(fk_forcefield_compute(ff_full, &p, 0, f, f + n, f + 2 * n), "compute");
    must(fk_forcefield_compute(ff_egnn, &p, 0, f + 3 * n, f + 4 * n, f + 5 * n), "compute");
    must(fk_forcefield_compute(ff_field, &p, 0, f + 6 * n, f + 7 * n, f + 8 * n), "compute");
    ok = 0;
    for (i = 0; i < 3 * n; i++) ok += f[i] == f[3 * n + i] + f[6 * n + i];
    report("1 F(EGNN + field) == F(EGNN) + F(field), mismatches", (double)(3 * n - ok), 0.0, ok == 3 * n);

    /* 2. Verlet in the neural potential alone conserves energy. */
    vp.dim = 3, vp.capacity = n, vp.dt = dt;
    must(fk_verlet_create(&vp, &vv), "fk_verlet_create");
    {
        double u0 = 0.0, u1 = 0.0, e0, e1, k0;
        state_copy(&s, &s0);
        p = view(&s, 1);
        must(fk_forcefield_compute(ff_field, &p, 0, f, f + n, f + 2 * n), "compute");
        must(fk_forcefield_totals(ff_field, &u0, NULL, NULL), "totals");
        k0 = kinetic(&s);
        e0 = u0 + k0;
        must(fk_verlet_step(vv, ff_field, &p, 0, check_steps, &done), "verlet");
        must(fk_forcefield_compute(ff_field, &p, 0, f, f + n, f + 2 * n), "compute");
        must(fk_forcefield_totals(ff_field, &u1, NULL, NULL), "totals");
        e1 = u1 + kinetic(&s);
        report("2 neural potential, Verlet: |dE| / E_kin(0)", fabs(e1 - e0) / k0, 1e-3,
               fabs(e1 - e0) < 1e-3 * k0);
    }

    /* 3. One species, EGNN alone: momentum and angular momentum conserved. */
    {
        double P0[3], L0[3], P1[3], L1[3], ps, ls, ps1, ls1, dp = 0.0, dl = 0.0;
        state_copy(&s, &s0);
        p = view(&s, 0);
        momenta(&s, P0, L0, &ps, &ls);
        must(fk_verlet_step(vv, ff_one, &p, 0, check_steps, &done), "verlet");
        momenta(&s, P1, L1, &ps1, &ls1);
        for (i = 0; i < 3; i++) dp = fmax(dp, fabs(P1[i] - P0[i])), dl = fmax(dl, fabs(L1[i] - L0[i]));
        report("3 one species, EGNN, Verlet: |dP| / sum |p|", dp / ps, 1e-9, dp < 1e-9 * ps);
        report("3 one species, EGNN, Verlet: |dL| / sum |r x p|", dl / ls, 1e-9, dl < 1e-9 * ls);
        printf("      (kinetic energy %.4g -> %.4g: the repulsive cloud expands, no field holds it)\n",
               kinetic(&s0), kinetic(&s));
    }

    /* 4. Equivariance of the dynamics under Q (rotation x reflection) and t. */
    {
        const double c = cos(0.7), sn = sin(0.7), t[3] = {5.0, -3.0, 1.5};
        const double q[3][3] = {{c, -sn, 0.0}, {sn * 0.6, c * 0.6, -0.8}, {sn * 0.8, c * 0.8, 0.6}};
        double qr[3][3], d_egnn, d_full;
        size_t a, b;
        for (a = 0; a < 3; a++)
            for (b = 0; b < 3; b++) qr[a][b] = b == 2 ? -q[a][b] : q[a][b]; /* times a reflection */
        /* reference: evolve, then transform */
        state_copy(&s, &s0);
        p = view(&s, 1);
        must(fk_verlet_step(vv, ff_egnn, &p, 0, check_steps / 4, &done), "verlet");
        transform((const double(*)[3])qr, t, &s);
        /* transform, then evolve */
        state_copy(&r, &s0);
        transform((const double(*)[3])qr, t, &r);
        p = view(&r, 1);
        must(fk_verlet_step(vv, ff_egnn, &p, 0, check_steps / 4, &done), "verlet");
        d_egnn = max_diff(&s, &r) / gyration(&s);
        report("4 EGNN dynamics: |x(Qx0 + t) - (Q x(x0) + t)| / R_g", d_egnn, 1e-6, d_egnn < 1e-6);
        /* the same with the external field: not symmetric */
        state_copy(&s, &s0);
        p = view(&s, 1);
        must(fk_verlet_step(vv, ff_full, &p, 0, check_steps / 4, &done), "verlet");
        transform((const double(*)[3])qr, t, &s);
        state_copy(&r, &s0);
        transform((const double(*)[3])qr, t, &r);
        p = view(&r, 1);
        must(fk_verlet_step(vv, ff_full, &p, 0, check_steps / 4, &done), "verlet");
        d_full = max_diff(&s, &r) / gyration(&s);
        printf("      (with the external field the same difference is %.3g: U(r) breaks E(3))\n", d_full);
    }

    /* 5. The latent-field model under BAOAB Langevin, in one call and split. */
    lp.dim = 3, lp.capacity = n, lp.dt = dt, lp.gamma = 1.0, lp.kt = kt, lp.seed = 2026, lp.stream = 0;
    must(fk_langevin_create(&lp, &lv), "fk_langevin_create");
    state_copy(&r, &s0);
    p = view(&r, 1);
    t0 = now_seconds();
    must(fk_langevin_step(lv, ff_full, &p, 0, steps, &done), "langevin");
    elapsed = now_seconds() - t0;
    state_copy(&s, &s0);
    p = view(&s, 1);
    fprintf(csv, "step,kinetic_temperature,field_energy,radius_of_gyration,momentum_x,momentum_y,momentum_z\n");
    for (i = 0; i < steps; i += 10) {
        double u = 0.0, P[3], L[3], ps, ls;
        must(fk_langevin_step(lv, ff_full, &p, i, 10, &done), "langevin");
        must(fk_forcefield_compute(ff_field, &p, i + 10, f, f + n, f + 2 * n), "compute");
        must(fk_forcefield_totals(ff_field, &u, NULL, NULL), "totals");
        momenta(&s, P, L, &ps, &ls);
        fprintf(csv, "%zu,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n", i + 10, 2.0 * kinetic(&s) / (3.0 * (double)n), u,
                gyration(&s), P[0], P[1], P[2]);
    }
    ok = max_diff(&s, &r) == 0.0 && memcmp(s.vx, r.vx, 3 * n * sizeof(double)) == 0;
    report("5 Langevin, one call vs 10-step calls: max |dx|", max_diff(&s, &r), 0.0, ok);
    printf("      T_kin = %.4f (bath kT = %.2f; with a non-conservative force it need not be kT), R_g = %.3f\n",
           2.0 * kinetic(&s) / (3.0 * (double)n), kt, gyration(&s));
    printf("throughput: %.3g particle-steps/s (%zu steps of %zu particles in %.3f s)\n",
           (double)(n * steps) / elapsed, steps, n, elapsed);
    printf("wrote latent_field.csv\n");

    fclose(csv);
    fk_langevin_destroy(lv);
    fk_verlet_destroy(vv);
    fk_forcefield_destroy(ff_one);
    fk_forcefield_destroy(ff_field);
    fk_forcefield_destroy(ff_egnn);
    fk_forcefield_destroy(ff_full);
    fk_nf_model_destroy(field);
    fk_nf_egnn_destroy(egnn);
    free(f);
    free(s0.x), free(s0.types), free(s.x), free(s.types), free(r.x), free(r.types);
    if (failures) {
        printf("%d check(s) FAILED\n", failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
