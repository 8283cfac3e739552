/* C-level tests of the particle integrators and force fields: normal use
 * (LJ fluid with BAOAB and Verlet, energies, Brownian, ABP, Kuramoto),
 * determinism across thread counts and call splits, and bad input (NULL
 * arrays, n beyond capacity, dim mismatch, NaN positions, particles outside
 * a periodic box, dt <= 0, negative temperature, unknown enums, wrong
 * handles, failing callback) with the state left unchanged or at the last
 * completed step; the opt-in uniform noise; the vision cone over a Verlet
 * list (same bits as all pairs; its bad input). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fieldkern.h"
#include "check.h"

#define M 4
#define N (4 * M * M * M) /* 256 particles on an FCC lattice */

static double x[N], y[N], z[N], vx[N], vy[N], vz[N];
static double fx[N], fy[N], fz[N];
static double sx[N], sy[N], sz[N], svx[N], svy[N], svz[N];

static double box_len(void) { return cbrt(N / 0.8); }

static void lattice(void) {
    double l = box_len(), a = l / M;
    int k = 0;
    const double b[4][3] = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}};
    for (int i = 0; i < M; i++)
        for (int j = 0; j < M; j++)
            for (int m = 0; m < M; m++)
                for (int c = 0; c < 4; c++, k++) {
                    x[k] = a * (i + b[c][0] + 0.25);
                    y[k] = a * (j + b[c][1] + 0.25);
                    z[k] = a * (m + b[c][2] + 0.25);
                    vx[k] = 0.1 * sin(1.0 + k);
                    vy[k] = 0.1 * cos(2.0 + k);
                    vz[k] = 0.1 * sin(3.0 * k);
                }
}

static void save(void) {
    memcpy(sx, x, sizeof x); memcpy(sy, y, sizeof y); memcpy(sz, z, sizeof z);
    memcpy(svx, vx, sizeof vx); memcpy(svy, vy, sizeof vy); memcpy(svz, vz, sizeof vz);
}

static int unchanged(void) {
    return memcmp(sx, x, sizeof x) == 0 && memcmp(sy, y, sizeof y) == 0 &&
           memcmp(sz, z, sizeof z) == 0 && memcmp(svx, vx, sizeof vx) == 0 &&
           memcmp(svy, vy, sizeof vy) == 0 && memcmp(svz, vz, sizeof vz) == 0;
}

static fk_particles view(void) {
    fk_particles p = fk_particles_default();
    p.dim = 3;
    p.n = N;
    p.x = x; p.y = y; p.z = z;
    p.vx = vx; p.vy = vy; p.vz = vz;
    return p;
}

static fk_forcefield *lj_field(void) {
    fk_forcefield_params fp = fk_forcefield_params_default();
    fk_forcefield *ff = NULL;
    double eps = 1.0, sigma = 1.0, rc = 2.5;
    fp.dim = 3;
    fp.periodic = 1;
    fp.box_x = fp.box_y = fp.box_z = box_len();
    fp.capacity = N;
    CHECK_STATUS(fk_forcefield_create(&fp, &ff), FK_OK);
    CHECK_STATUS(fk_forcefield_add_pair(ff, FK_PAIR_LJ_SHIFTED, &eps, &sigma, &rc, 1, NULL), FK_OK);
    return ff;
}

static fk_langevin *make_langevin(double kt) {
    fk_langevin_params lp = fk_langevin_params_default();
    fk_langevin *h = NULL;
    lp.capacity = N;
    lp.kt = kt;
    lp.seed = 42;
    CHECK_STATUS(fk_langevin_create(&lp, &h), FK_OK);
    return h;
}

static void test_langevin_and_energies(void) {
    fk_forcefield *ff = lj_field();
    fk_langevin *h = make_langevin(1.0);
    fk_particles p = view();
    uint64_t done = 0;
    size_t nterms;
    double u, w, pr, ut, wt;
    lattice();
    CHECK_STATUS(fk_langevin_step(h, ff, &p, 0, 200, &done), FK_OK);
    CHECK(done == 200);
    CHECK_STATUS(fk_forcefield_compute(ff, &p, 200, fx, fy, fz), FK_OK);
    nterms = fk_forcefield_term_count(ff);
    CHECK(nterms == 1);
    CHECK_STATUS(fk_forcefield_totals(ff, &u, &w, &pr), FK_OK);
    CHECK_STATUS(fk_forcefield_term_energy(ff, 0, &ut, &wt), FK_OK);
    CHECK(u == ut && w == wt);
    CHECK(u / N < -3.0 && u / N > -7.0); /* a dense LJ liquid */
    CHECK(isfinite(pr));
    CHECK_STATUS(fk_forcefield_term_energy(ff, 1, &ut, &wt), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("term");
    /* Every position stays inside the periodic box. */
    {
        double l = box_len();
        int inside = 1;
        for (int i = 0; i < N; i++)
            inside &= x[i] >= 0 && x[i] < l && y[i] >= 0 && y[i] < l && z[i] >= 0 && z[i] < l;
        CHECK(inside);
    }
    CHECK(fk_forcefield_neighbor_builds(ff) >= 1);
    CHECK_STATUS(fk_langevin_set_kt(h, -1.0), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_langevin_set_kt(h, NAN), FK_ERR_NON_FINITE);
    CHECK_STATUS(fk_langevin_destroy(h), FK_OK);
    CHECK_STATUS(fk_forcefield_destroy(ff), FK_OK);
}

static void test_threads_and_splits_are_bitwise(void) {
    static double ax[N], ay[N], az[N], avx[N];
    fk_particles p = view();
    uint64_t done;
    for (int run = 0; run < 3; run++) {
        fk_forcefield *ff = lj_field();
        fk_langevin *h = make_langevin(1.0);
        lattice();
        CHECK_STATUS(fk_set_num_threads(run == 0 ? 1 : 2), FK_OK);
        if (run < 2) {
            CHECK_STATUS(fk_langevin_step(h, ff, &p, 0, 120, &done), FK_OK);
        } else { /* split at step 37 */
            CHECK_STATUS(fk_langevin_step(h, ff, &p, 0, 37, &done), FK_OK);
            CHECK_STATUS(fk_langevin_step(h, ff, &p, 37, 83, &done), FK_OK);
        }
        if (run == 0) {
            memcpy(ax, x, sizeof x); memcpy(ay, y, sizeof y);
            memcpy(az, z, sizeof z); memcpy(avx, vx, sizeof vx);
        } else {
            CHECK(memcmp(ax, x, sizeof x) == 0 && memcmp(ay, y, sizeof y) == 0 &&
                  memcmp(az, z, sizeof z) == 0 && memcmp(avx, vx, sizeof vx) == 0);
        }
        fk_langevin_destroy(h);
        fk_forcefield_destroy(ff);
    }
}

static void test_bad_input(void) {
    fk_forcefield *ff = lj_field();
    fk_langevin *h = make_langevin(1.0);
    fk_particles p = view();
    uint64_t done = 99;
    fk_langevin_params lp = fk_langevin_params_default();
    fk_verlet_params vp = fk_verlet_params_default();
    fk_forcefield_params fp = fk_forcefield_params_default();
    fk_langevin *bad = (fk_langevin *)1;
    fk_verlet *vbad = (fk_verlet *)1;
    fk_forcefield *fbad = (fk_forcefield *)1;
    double one = 1.0, two[2] = {1.0, 1.0}, nan_eps = NAN;
    lattice();
    save();

    /* NULL arrays and structs. */
    p.y = NULL;
    CHECK_STATUS(fk_langevin_step(h, ff, &p, 0, 10, &done), FK_ERR_NULL_POINTER);
    CHECK_ERROR_MENTIONS("y");
    CHECK(done == 0 && unchanged());
    p = view();
    p.vz = NULL;
    CHECK_STATUS(fk_langevin_step(h, ff, &p, 0, 10, &done), FK_ERR_NULL_POINTER);
    CHECK_ERROR_MENTIONS("vz");
    CHECK_STATUS(fk_langevin_step(h, ff, NULL, 0, 10, &done), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_langevin_step(NULL, ff, &p, 0, 10, &done), FK_ERR_NULL_POINTER);
    p = view();
    CHECK_STATUS(fk_forcefield_compute(ff, &p, 0, NULL, fy, fz), FK_ERR_NULL_POINTER);
    CHECK_ERROR_MENTIONS("fx");

    /* n beyond the capacity reserved at create; dim mismatch; struct size. */
    {
        fk_langevin *small = NULL;
        lp.capacity = N / 2;
        CHECK_STATUS(fk_langevin_create(&lp, &small), FK_OK);
        CHECK_STATUS(fk_langevin_step(small, ff, &p, 0, 10, &done), FK_ERR_CAPACITY);
        CHECK_ERROR_MENTIONS("capacity");
        fk_langevin_destroy(small);
        lp = fk_langevin_params_default();
    }
    p.dim = 2;
    CHECK_STATUS(fk_langevin_step(h, ff, &p, 0, 10, &done), FK_ERR_INVALID_SIZE);
    p = view();
    p.dim = 4;
    CHECK_STATUS(fk_langevin_step(h, ff, &p, 0, 10, &done), FK_ERR_OUT_OF_RANGE);
    p = view();
    p.struct_size = 8;
    CHECK_STATUS(fk_langevin_step(h, ff, &p, 0, 10, &done), FK_ERR_STRUCT_SIZE);
    p = view();
    p.y = x; /* aliasing arrays */
    CHECK_STATUS(fk_langevin_step(h, ff, &p, 0, 10, &done), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("overlap");
    p = view();
    CHECK(unchanged());

    /* NaN position: rejected before anything moves. */
    z[17] = NAN;
    save();
    CHECK_STATUS(fk_langevin_step(h, ff, &p, 0, 10, &done), FK_ERR_NON_FINITE);
    CHECK_ERROR_MENTIONS("z[17]");
    CHECK(done == 0);
    CHECK(isnan(z[17]) && memcmp(sx, x, sizeof x) == 0 && memcmp(svx, vx, sizeof vx) == 0);
    lattice();
    vx[3] = INFINITY;
    CHECK_STATUS(fk_langevin_step(h, ff, &p, 0, 10, &done), FK_ERR_NON_FINITE);
    CHECK_ERROR_MENTIONS("vx[3]");
    lattice();

    /* A particle outside the periodic box is accepted and wrapped into [0, L). */
    x[5] += 3.0 * box_len();
    y[6] -= 2.0 * box_len();
    CHECK_STATUS(fk_langevin_step(h, ff, &p, 0, 1, &done), FK_OK);
    CHECK(x[5] >= 0 && x[5] < box_len() && y[6] >= 0 && y[6] < box_len());
    lattice();
    save();

    /* dt <= 0, negative temperature, capacity 0, wrong struct size. */
    lp.capacity = N;
    lp.dt = 0.0;
    CHECK_STATUS(fk_langevin_create(&lp, &bad), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("dt");
    CHECK(bad == (fk_langevin *)1); /* outputs are written only on success */
    lp.dt = -0.1;
    CHECK_STATUS(fk_langevin_create(&lp, &bad), FK_ERR_OUT_OF_RANGE);
    lp.dt = 0.01;
    lp.kt = -1.0;
    CHECK_STATUS(fk_langevin_create(&lp, &bad), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("kT");
    lp.kt = 1.0;
    lp.capacity = 0;
    CHECK_STATUS(fk_langevin_create(&lp, &bad), FK_ERR_OUT_OF_RANGE);
    lp.capacity = N;
    lp.struct_size = 4;
    CHECK_STATUS(fk_langevin_create(&lp, &bad), FK_ERR_STRUCT_SIZE);
    CHECK_STATUS(fk_langevin_create(NULL, &bad), FK_ERR_NULL_POINTER);
    vp.capacity = N;
    vp.dt = NAN;
    CHECK_STATUS(fk_verlet_create(&vp, &vbad), FK_ERR_NON_FINITE);
    fp.capacity = 0;
    CHECK_STATUS(fk_forcefield_create(&fp, &fbad), FK_ERR_OUT_OF_RANGE);
    fp.capacity = 10;
    fp.periodic = 1;
    fp.box_x = -1.0;
    CHECK_STATUS(fk_forcefield_create(&fp, &fbad), FK_ERR_OUT_OF_RANGE);

    /* Pair terms: unknown kind, table size, NaN, negative sigma. */
    CHECK_STATUS(fk_forcefield_add_pair(ff, 99, &one, &one, &one, 1, NULL), FK_ERR_UNKNOWN_ENUM);
    CHECK_STATUS(fk_forcefield_add_pair(ff, FK_PAIR_WCA, two, two, two, 2, NULL), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_forcefield_add_pair(ff, FK_PAIR_WCA, &nan_eps, &one, &one, 1, NULL), FK_ERR_NON_FINITE);
    CHECK_STATUS(fk_forcefield_add_pair(ff, FK_PAIR_WCA, &one, NULL, NULL, 1, NULL), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_forcefield_add_harmonic(ff, -1.0, 0, 0, 0, NULL), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_forcefield_add_delayed_trap(ff, 7, 1.0, 1.0, 0, 0, 0, 3, NULL), FK_ERR_UNKNOWN_ENUM);
    CHECK_STATUS(fk_forcefield_add_callback(ff, NULL, NULL, NULL), FK_ERR_NULL_POINTER);

    /* Wrong handle kinds. */
    CHECK_STATUS(fk_verlet_step((fk_verlet *)h, ff, &p, 0, 1, &done), FK_ERR_WRONG_HANDLE);
    CHECK_ERROR_MENTIONS("fk_verlet");
    CHECK_STATUS(fk_langevin_step(h, (fk_forcefield *)h, &p, 0, 1, &done), FK_ERR_WRONG_HANDLE);
    CHECK_STATUS(fk_forcefield_destroy((fk_forcefield *)h), FK_ERR_WRONG_HANDLE);
    CHECK(unchanged());

    /* Destroy accepts NULL. */
    CHECK_STATUS(fk_langevin_destroy(NULL), FK_OK);
    CHECK_STATUS(fk_verlet_destroy(NULL), FK_OK);
    CHECK_STATUS(fk_forcefield_destroy(NULL), FK_OK);
    CHECK_STATUS(fk_langevin_destroy(h), FK_OK);
    CHECK_STATUS(fk_forcefield_destroy(ff), FK_OK);
}

/* A harmonic-pull callback that fails at its `fail_at`-th call. */
typedef struct {
    int calls;
    int fail_at;
} flaky;

static int32_t flaky_field(void *user, size_t n, const double *px, const double *py,
                           const double *pz, double *qx, double *qy, double *qz, double *energy) {
    flaky *f = (flaky *)user;
    (void)py;
    (void)qy;
    if (++f->calls == f->fail_at) return 1;
    for (size_t i = 0; i < n; i++) {
        qx[i] = -0.01 * (px[i] - 3.0);
        qz[i] = -0.01 * (pz[i] - 3.0);
    }
    *energy = 0.0;
    return FK_OK;
}

static void test_failing_callback_stops_at_last_completed_step(void) {
    static double rx[N], ry[N], rvx[N];
    fk_particles p = view();
    uint64_t done = 0;
    flaky ok = {0, -1}, bad = {0, 11};
    fk_verlet_params vp = fk_verlet_params_default();
    fk_verlet *v = NULL;
    fk_forcefield *ff;
    vp.capacity = N;
    vp.dt = 0.002;
    CHECK_STATUS(fk_verlet_create(&vp, &v), FK_OK);

    /* Reference: 9 steps with a callback that never fails. */
    lattice();
    ff = lj_field();
    CHECK_STATUS(fk_forcefield_add_callback(ff, flaky_field, &ok, NULL), FK_OK);
    CHECK_STATUS(fk_verlet_step(v, ff, &p, 0, 9, &done), FK_OK);
    memcpy(rx, x, sizeof x); memcpy(ry, y, sizeof y); memcpy(rvx, vx, sizeof vx);
    fk_forcefield_destroy(ff);

    /* The 11th evaluation fails: 1 at the call start + 9 steps completed. */
    lattice();
    ff = lj_field();
    CHECK_STATUS(fk_forcefield_add_callback(ff, flaky_field, &bad, NULL), FK_OK);
    CHECK_STATUS(fk_verlet_step(v, ff, &p, 0, 50, &done), FK_ERR_CALLBACK);
    CHECK_ERROR_MENTIONS("callback");
    CHECK(done == 9);
    CHECK(memcmp(rx, x, sizeof x) == 0 && memcmp(ry, y, sizeof y) == 0 &&
          memcmp(rvx, vx, sizeof vx) == 0);
    fk_forcefield_destroy(ff);
    fk_verlet_destroy(v);
}

/* Bit-reversible Verlet: 300 steps forward, negate velocities, 300 back
 * return the grid-rounded start bit for bit; a box length off the grid is
 * refused with the state unchanged. */
static void test_bit_reversible_verlet(void) {
    const uint32_t k = 40;
    const double scale = ldexp(1.0, (int)k);
    fk_forcefield_params fp = fk_forcefield_params_default();
    fk_forcefield *ff = NULL, *off_grid = lj_field();
    double eps = 1.0, sigma = 1.0, rc = 2.5;
    fp.dim = 3;
    fp.periodic = 1;
    fp.box_x = fp.box_y = fp.box_z = floor(box_len() * scale) / scale;
    fp.capacity = N;
    CHECK_STATUS(fk_forcefield_create(&fp, &ff), FK_OK);
    CHECK_STATUS(fk_forcefield_add_pair(ff, FK_PAIR_LJ_SHIFTED, &eps, &sigma, &rc, 1, NULL), FK_OK);
    fk_verlet_params vp = fk_verlet_params_default();
    vp.capacity = N;
    fk_verlet *v = NULL;
    CHECK_STATUS(fk_verlet_create(&vp, &v), FK_OK);
    CHECK_STATUS(fk_verlet_set_bit_reversible(v, 7), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_verlet_set_bit_reversible(v, 49), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_verlet_set_bit_reversible(NULL, k), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_verlet_set_bit_reversible(v, k), FK_OK);
    lattice();
    fk_particles p = view();
    size_t done = 99;
    save();
    CHECK_STATUS(fk_verlet_step(v, off_grid, &p, 0, 10, &done), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("not a multiple");
    CHECK(done == 0 && unchanged());
    for (int i = 0; i < N; i++) { /* the start on the grid */
        sx[i] = nearbyint(x[i] * scale) / scale;
        sy[i] = nearbyint(y[i] * scale) / scale;
        sz[i] = nearbyint(z[i] * scale) / scale;
    }
    CHECK_STATUS(fk_verlet_step(v, ff, &p, 0, 300, &done), FK_OK);
    CHECK(done == 300 && fabs(x[0] - sx[0]) > 1e-3);
    for (int i = 0; i < N; i++) { vx[i] = -vx[i]; vy[i] = -vy[i]; vz[i] = -vz[i]; }
    CHECK_STATUS(fk_verlet_step(v, ff, &p, 300, 300, &done), FK_OK);
    CHECK(memcmp(sx, x, sizeof x) == 0 && memcmp(sy, y, sizeof y) == 0 &&
          memcmp(sz, z, sizeof z) == 0);
    fk_verlet_destroy(v);
    fk_forcefield_destroy(ff);
    fk_forcefield_destroy(off_grid);
}

static void test_brownian_active_kuramoto(void) {
    enum { K = 2000 };
    static double th[K], om[K], ox[N], oy[N];
    fk_brownian_params bp = fk_brownian_params_default();
    fk_active_params ap = fk_active_params_default();
    fk_kuramoto_params kp = fk_kuramoto_params_default();
    fk_brownian *b = NULL;
    fk_active *a = NULL;
    fk_kuramoto *k = NULL;
    fk_particles p = view();
    uint64_t done = 0;
    double r = 0, psi = 0;

    lattice();
    bp.capacity = N;
    CHECK_STATUS(fk_brownian_create(&bp, &b), FK_OK);
    p.vx = p.vy = p.vz = NULL; /* not needed by Brownian dynamics */
    CHECK_STATUS(fk_brownian_step(b, NULL, &p, 0, 100, &done), FK_OK);
    CHECK(done == 100);
    bp.mobility = 0.0;
    CHECK_STATUS(fk_brownian_create(&bp, &b), FK_ERR_OUT_OF_RANGE);
    fk_brownian_destroy(b);

    for (int i = 0; i < N; i++) {
        ox[i] = 1.0;
        oy[i] = 0.0;
    }
    ap.capacity = N;
    ap.vision_omega = 1.0;
    ap.vision_range = 2.0;
    CHECK_STATUS(fk_active_create(&ap, &a), FK_OK);
    p = view();
    p.dim = 2;
    p.z = p.vz = NULL;
    CHECK_STATUS(fk_active_step(a, NULL, &p, 0, 10, &done), FK_ERR_NULL_POINTER);
    CHECK_ERROR_MENTIONS("ox");
    p.ox = ox;
    p.oy = oy;
    CHECK_STATUS(fk_active_step(a, NULL, &p, 0, 20, &done), FK_OK);
    CHECK(fabs(ox[0] * ox[0] + oy[0] * oy[0] - 1.0) < 1e-12);
    /* A NaN heading or a negative inverse mass: rejected, nothing moves. */
    {
        static double sox[N], soy[N], im[N];
        oy[5] = NAN;
        save();
        memcpy(sox, ox, sizeof ox);
        memcpy(soy, oy, sizeof oy);
        CHECK_STATUS(fk_active_step(a, NULL, &p, 20, 10, &done), FK_ERR_NON_FINITE);
        CHECK_ERROR_MENTIONS("oy[5]");
        CHECK(done == 0 && unchanged());
        CHECK(memcmp(sox, ox, sizeof ox) == 0 && memcmp(soy, oy, sizeof oy) == 0);
        oy[5] = 0.0;
        for (int i = 0; i < N; i++) im[i] = 1.0;
        im[3] = -1.0;
        p.inv_mass = im;
        CHECK_STATUS(fk_active_step(a, NULL, &p, 20, 10, &done), FK_ERR_OUT_OF_RANGE);
        CHECK_ERROR_MENTIONS("inv_mass[3]");
        CHECK(done == 0 && unchanged());
        p.inv_mass = NULL;
    }
    fk_active_destroy(a);
    ap.dim = 3;
    CHECK_STATUS(fk_active_create(&ap, &a), FK_ERR_OUT_OF_RANGE); /* torques are 2D only */

    for (int i = 0; i < K; i++) {
        th[i] = 0.0;
        om[i] = 0.1 * tan(3.14159265358979 * ((i + 0.5) / K - 0.5));
    }
    kp.capacity = K;
    kp.coupling = 1.0;
    CHECK_STATUS(fk_kuramoto_create(&kp, &k), FK_OK);
    CHECK_STATUS(fk_kuramoto_step(k, th, om, K, 0, 500, &done), FK_OK);
    CHECK_STATUS(fk_kuramoto_order(th, K, &r, &psi), FK_OK);
    CHECK(r > 0.8 && r <= 1.0); /* theory: sqrt(1 - 2 * 0.1 / 1) = 0.894 */
    {
        /* Phases 2.5 +- 0.7: r = cos(0.7), psi = 2.5. */
        double two[2] = {2.5 + 0.7, 2.5 - 0.7};
        CHECK_STATUS(fk_kuramoto_order(two, 2, &r, &psi), FK_OK);
        CHECK(fabs(r - cos(0.7)) < 1e-12 && fabs(psi - 2.5) < 1e-12);
    }
    th[9] = NAN;
    CHECK_STATUS(fk_kuramoto_step(k, th, om, K, 500, 1, &done), FK_ERR_NON_FINITE);
    CHECK(done == 0);
    CHECK_STATUS(fk_kuramoto_step(k, th, om, K + 1, 0, 1, &done), FK_ERR_CAPACITY);
    CHECK_STATUS(fk_kuramoto_order(th, 0, &r, &psi), FK_ERR_INVALID_SIZE);
    CHECK_STATUS(fk_kuramoto_set_noise(k, FK_NOISE_UNIFORM), FK_OK);
    CHECK_STATUS(fk_kuramoto_set_noise(k, 3), FK_ERR_UNKNOWN_ENUM);
    CHECK_STATUS(fk_kuramoto_set_noise(NULL, FK_NOISE_UNIFORM), FK_ERR_NULL_POINTER);
    kp.noise = -1.0;
    CHECK_STATUS(fk_kuramoto_create(&kp, &k), FK_ERR_OUT_OF_RANGE);
    fk_kuramoto_destroy(k);
}

/* Opt-in uniform noise: Brownian from the origin with sqrt(2 mu kT dt) = 1
 * takes exactly the documented elements sqrt(12) ((w + 1/2) 2^-32 - 1/2) of
 * the Philox words (fk_rng_fill_u32, element (s n + i) dim + a of stream
 * (2 << 48) | stream); switching back gives the Gaussian step again; BAOAB
 * with uniform noise is bitwise the same for 1 and 2 threads and differs
 * from the Gaussian run; unknown codes, NULL and wrong handles are
 * rejected. */
static void test_uniform_noise(void) {
    static uint32_t w[3 * N];
    static double g[3 * N], ax[N];
    fk_brownian_params bp = fk_brownian_params_default();
    fk_brownian *b = NULL;
    fk_particles p = view();
    uint64_t done = 0, s = 5, stream = 2;
    int exact = 1;

    bp.capacity = N;
    bp.dt = 0.5;
    bp.seed = 31;
    bp.stream = stream;
    CHECK_STATUS(fk_brownian_create(&bp, &b), FK_OK);
    p.vx = p.vy = p.vz = NULL;
    memset(x, 0, sizeof x); memset(y, 0, sizeof y); memset(z, 0, sizeof z);
    CHECK_STATUS(fk_brownian_set_noise(b, FK_NOISE_UNIFORM), FK_OK);
    CHECK_STATUS(fk_brownian_step(b, NULL, &p, s, 1, &done), FK_OK);
    CHECK(done == 1);
    CHECK_STATUS(fk_rng_fill_u32(31, (2ull << 48) | stream, s * N * 3, w, 3 * N), FK_OK);
    for (int i = 0; i < N; i++) {
        const double *r[3] = {x, y, z};
        for (int a = 0; a < 3; a++) {
            double want = ((double)w[3 * i + a] + 0.5 - 2147483648.0) * (sqrt(12.0) / 4294967296.0);
            exact &= r[a][i] == want && fabs(want) < sqrt(3.0);
        }
    }
    CHECK(exact);
    /* Back to Gaussian: the step is the public normal stream again. */
    memset(x, 0, sizeof x); memset(y, 0, sizeof y); memset(z, 0, sizeof z);
    CHECK_STATUS(fk_brownian_set_noise(b, FK_NOISE_GAUSSIAN), FK_OK);
    CHECK_STATUS(fk_brownian_step(b, NULL, &p, s, 1, &done), FK_OK);
    CHECK_STATUS(fk_rng_fill_normal_f64(31, (2ull << 48) | stream, s * N * 3, g, 3 * N), FK_OK);
    exact = 1;
    for (int i = 0; i < N; i++) exact &= x[i] == g[3 * i] && z[i] == g[3 * i + 2];
    CHECK(exact);
    /* Bad codes and handles; the kind is unchanged after a rejected call. */
    CHECK_STATUS(fk_brownian_set_noise(b, 2), FK_ERR_UNKNOWN_ENUM);
    CHECK_ERROR_MENTIONS("noise");
    CHECK_STATUS(fk_brownian_set_noise(b, -1), FK_ERR_UNKNOWN_ENUM);
    memset(x, 0, sizeof x); memset(y, 0, sizeof y); memset(z, 0, sizeof z);
    CHECK_STATUS(fk_brownian_step(b, NULL, &p, s, 1, &done), FK_OK);
    CHECK(x[0] == g[0]);
    CHECK_STATUS(fk_langevin_set_noise(NULL, FK_NOISE_UNIFORM), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_active_set_noise(NULL, FK_NOISE_UNIFORM), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_langevin_set_noise((fk_langevin *)b, FK_NOISE_UNIFORM), FK_ERR_WRONG_HANDLE);
    CHECK_STATUS(fk_brownian_destroy(b), FK_OK);

    /* BAOAB on the LJ fluid: uniform noise, 1 and 2 threads, and Gaussian. */
    for (int run = 0; run < 3; run++) {
        fk_forcefield *ff = lj_field();
        fk_langevin *h = make_langevin(1.0);
        p = view();
        lattice();
        CHECK_STATUS(fk_set_num_threads(run == 1 ? 1 : 2), FK_OK);
        if (run < 2) CHECK_STATUS(fk_langevin_set_noise(h, FK_NOISE_UNIFORM), FK_OK);
        CHECK_STATUS(fk_langevin_step(h, ff, &p, 0, 50, &done), FK_OK);
        CHECK(done == 50);
        if (run == 0) memcpy(ax, x, sizeof x);
        else if (run == 1) CHECK(memcmp(ax, x, sizeof x) == 0);
        else CHECK(memcmp(ax, x, sizeof x) != 0);
        fk_langevin_destroy(h);
        fk_forcefield_destroy(ff);
    }
    CHECK_STATUS(fk_set_num_threads(2), FK_OK);
}

/* fk_forcefield_spatial_order: a permutation into cell order; applying it
 * permutes the forces (to round-off: each particle's pairs are summed in
 * the new index order); applied once, the order of the same positions is
 * the identity; bad input leaves perm untouched. */
static void test_spatial_order(void) {
    fk_forcefield *ff = lj_field();
    fk_particles p = view();
    static uint32_t perm[N], again[N];
    static double f0x[N], f0y[N], f0z[N];
    int is_perm = 1, moved = 0, close = 1, identity = 1, untouched = 1;
    double scale = 0.0;
    lattice();
    /* Displace the particles (a perfect lattice has forces of round-off
     * size), then reverse them so they are far from cell order. */
    for (int k = 0; k < N; k++) {
        x[k] += 0.1 * sin(0.7 * k);
        y[k] += 0.1 * cos(1.3 * k);
        z[k] += 0.1 * sin(2.1 * k + 0.5);
    }
    for (int k = 0; k < N / 2; k++) {
        double t;
        t = x[k]; x[k] = x[N - 1 - k]; x[N - 1 - k] = t;
        t = y[k]; y[k] = y[N - 1 - k]; y[N - 1 - k] = t;
        t = z[k]; z[k] = z[N - 1 - k]; z[N - 1 - k] = t;
    }
    CHECK_STATUS(fk_forcefield_compute(ff, &p, 0, f0x, f0y, f0z), FK_OK);
    CHECK_STATUS(fk_forcefield_spatial_order(ff, &p, perm), FK_OK);
    {
        static int seen[N];
        static double tx[N], ty[N], tz[N];
        memset(seen, 0, sizeof seen);
        for (int k = 0; k < N; k++) {
            if (perm[k] >= N || seen[perm[k]]) is_perm = 0;
            else seen[perm[k]] = 1;
            moved |= perm[k] != (uint32_t)k;
        }
        CHECK(is_perm);
        CHECK(moved);
        for (int k = 0; k < N; k++) {
            tx[k] = x[perm[k]]; ty[k] = y[perm[k]]; tz[k] = z[perm[k]];
        }
        memcpy(x, tx, sizeof x); memcpy(y, ty, sizeof y); memcpy(z, tz, sizeof z);
    }
    CHECK_STATUS(fk_forcefield_compute(ff, &p, 0, fx, fy, fz), FK_OK);
    for (int k = 0; k < N; k++)
        scale = fmax(scale, fmax(fabs(f0x[k]), fmax(fabs(f0y[k]), fabs(f0z[k]))));
    for (int k = 0; k < N; k++) {
        uint32_t q = perm[k];
        close &= fabs(fx[k] - f0x[q]) <= 1e-12 * scale && fabs(fy[k] - f0y[q]) <= 1e-12 * scale &&
                 fabs(fz[k] - f0z[q]) <= 1e-12 * scale;
    }
    CHECK(close);
    /* velocities are not read: NULL velocities are accepted */
    p.vx = p.vy = p.vz = NULL;
    CHECK_STATUS(fk_forcefield_spatial_order(ff, &p, again), FK_OK);
    p = view();
    for (int k = 0; k < N; k++) identity &= again[k] == (uint32_t)k;
    CHECK(identity);
    /* Bad input. */
    for (int k = 0; k < N; k++) again[k] = 7;
    CHECK_STATUS(fk_forcefield_spatial_order(ff, &p, NULL), FK_ERR_NULL_POINTER);
    CHECK_ERROR_MENTIONS("perm");
    CHECK_STATUS(fk_forcefield_spatial_order(ff, NULL, again), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_forcefield_spatial_order(NULL, &p, again), FK_ERR_NULL_POINTER);
    x[3] = NAN;
    CHECK_STATUS(fk_forcefield_spatial_order(ff, &p, again), FK_ERR_NON_FINITE);
    x[3] = 1.0;
    p.dim = 2;
    CHECK_STATUS(fk_forcefield_spatial_order(ff, &p, again), FK_ERR_INVALID_SIZE);
    p.dim = 3;
    CHECK_STATUS(fk_forcefield_add_delayed_trap(ff, FK_TRAP_HARMONIC, 1.0, 1.0, 0, 0, 0, 3, NULL), FK_OK);
    CHECK_STATUS(fk_forcefield_spatial_order(ff, &p, again), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("delayed");
    for (int k = 0; k < N; k++) untouched &= again[k] == 7;
    CHECK(untouched);
    CHECK_STATUS(fk_forcefield_destroy(ff), FK_OK);
}

/* Steered ABPs in a periodic 2D box: the vision cone over a Verlet list
 * gives the all-pairs trajectory bit for bit; a zero heading, a full list, a
 * box too small for the list and bad reservations are rejected with the
 * state unchanged. */
#define NV 500
static double vx0[NV], vy0[NV], vox0[NV], voy0[NV];
static double vxs[NV], vys[NV], voxs[NV], voys[NV];

static void vision_crowd(double l) {
    for (int i = 0; i < NV; i++) {
        vxs[i] = l * fmod(0.618033988749895 * i, 1.0);
        vys[i] = l * fmod(0.754877666246693 * i + 0.1, 1.0);
        voxs[i] = cos(0.9 * i);
        voys[i] = sin(0.9 * i);
    }
}

static int vision_unchanged(void) {
    return memcmp(vxs, vx0, sizeof vx0) == 0 && memcmp(vys, vy0, sizeof vy0) == 0 &&
           memcmp(voxs, vox0, sizeof vox0) == 0 && memcmp(voys, voy0, sizeof voy0) == 0;
}

static void vision_save(void) {
    memcpy(vx0, vxs, sizeof vx0); memcpy(vy0, vys, sizeof vy0);
    memcpy(vox0, voxs, sizeof vox0); memcpy(voy0, voys, sizeof voy0);
}

static fk_forcefield *periodic_2d_field(double l) {
    fk_forcefield_params fp = fk_forcefield_params_default();
    fk_forcefield *ff = NULL;
    fp.dim = 2;
    fp.periodic = 1;
    fp.box_x = fp.box_y = l;
    fp.capacity = NV;
    CHECK_STATUS(fk_forcefield_create(&fp, &ff), FK_OK);
    return ff;
}

static void test_vision_list(void) {
    const double l = 30.0;
    fk_active_params ap = fk_active_params_default();
    fk_active *a = NULL, *b = NULL, *off = NULL;
    fk_forcefield *ff = periodic_2d_field(l), *tiny = periodic_2d_field(8.0);
    fk_particles p = fk_particles_default();
    uint64_t done = 0;
    static double ax[NV], ay[NV], aox[NV], aoy[NV];

    ap.dim = 2;
    ap.capacity = NV;
    ap.dt = 1e-2;
    ap.v0 = 5.0;
    ap.dr = 0.5;
    ap.kt = 0.1;
    ap.seed = 77;
    ap.vision_omega = 2.0;
    ap.vision_angle = 1.0;
    ap.vision_range = 3.0;
    ap.vision_decay = 1.5;
    ap.goal_k = 0.3;
    ap.goal_x = ap.goal_y = 15.0;
    CHECK_STATUS(fk_active_create(&ap, &a), FK_OK);
    CHECK_STATUS(fk_active_create(&ap, &b), FK_OK);
    p.dim = 2;
    p.n = NV;
    p.x = vxs; p.y = vys; p.ox = voxs; p.oy = voys;

    /* All pairs, then the list: the same bits after 100 steps. */
    vision_crowd(l);
    CHECK_STATUS(fk_active_step(a, ff, &p, 0, 100, &done), FK_OK);
    memcpy(ax, vxs, sizeof ax); memcpy(ay, vys, sizeof ay);
    memcpy(aox, voxs, sizeof aox); memcpy(aoy, voys, sizeof aoy);
    vision_crowd(l);
    CHECK_STATUS(fk_active_reserve_vision_neighbors(b, 100, 0.5), FK_OK);
    CHECK_STATUS(fk_active_step(b, ff, &p, 0, 100, &done), FK_OK);
    CHECK(done == 100);
    CHECK(memcmp(ax, vxs, sizeof ax) == 0 && memcmp(ay, vys, sizeof ay) == 0);
    CHECK(memcmp(aox, voxs, sizeof aox) == 0 && memcmp(aoy, voys, sizeof aoy) == 0);

    /* A zero heading: rejected before any step. */
    vision_crowd(l);
    voxs[9] = voys[9] = 0.0;
    vision_save();
    CHECK_STATUS(fk_active_step(b, ff, &p, 0, 5, &done), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("heading 9");
    CHECK(done == 0 && vision_unchanged());

    /* A full list: FK_ERR_CAPACITY at the first step, nothing moved. */
    vision_crowd(l);
    vision_save();
    CHECK_STATUS(fk_active_reserve_vision_neighbors(b, 2, 0.5), FK_OK);
    CHECK_STATUS(fk_active_step(b, ff, &p, 0, 5, &done), FK_ERR_CAPACITY);
    CHECK_ERROR_MENTIONS("fk_active_reserve_vision_neighbors");
    CHECK(done == 0 && vision_unchanged());

    /* A box shorter than 2 (range + skin) = 7: fine for 8 with skin 0.5,
     * rejected with skin 1.5. */
    vision_crowd(8.0);
    vision_save();
    CHECK_STATUS(fk_active_reserve_vision_neighbors(b, 100, 1.5), FK_OK);
    CHECK_STATUS(fk_active_step(b, tiny, &p, 0, 5, &done), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("cutoff + skin");
    CHECK(done == 0 && vision_unchanged());
    CHECK_STATUS(fk_active_reserve_vision_neighbors(b, 400, 0.5), FK_OK);
    CHECK_STATUS(fk_active_step(b, tiny, &p, 0, 5, &done), FK_OK);
    CHECK(done == 5);

    /* Bad reservations; the previous setting is kept (b still lists). */
    CHECK_STATUS(fk_active_reserve_vision_neighbors(NULL, 10, 0.5), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_active_reserve_vision_neighbors((fk_active *)ff, 10, 0.5), FK_ERR_WRONG_HANDLE);
    CHECK_STATUS(fk_active_reserve_vision_neighbors(b, 10, NAN), FK_ERR_NON_FINITE);
    CHECK_STATUS(fk_active_reserve_vision_neighbors(b, 10, -1.0), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_active_reserve_vision_neighbors(b, UINT32_MAX, 0.5), FK_ERR_OUT_OF_RANGE);
    ap.vision_omega = 0.0;
    CHECK_STATUS(fk_active_create(&ap, &off), FK_OK);
    CHECK_STATUS(fk_active_reserve_vision_neighbors(off, 10, 0.5), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("vision cone is off");
    /* 0 returns to all pairs. */
    CHECK_STATUS(fk_active_reserve_vision_neighbors(b, 0, 0.0), FK_OK);

    fk_active_destroy(off);
    fk_active_destroy(b);
    fk_active_destroy(a);
    fk_forcefield_destroy(tiny);
    fk_forcefield_destroy(ff);
}

int main(void) {
    test_langevin_and_energies();
    test_threads_and_splits_are_bitwise();
    test_bad_input();
    test_failing_callback_stops_at_last_completed_step();
    test_bit_reversible_verlet();
    test_brownian_active_kuramoto();
    test_spatial_order();
    test_uniform_noise();
    test_vision_list();
    return fk_check_summary();
}
