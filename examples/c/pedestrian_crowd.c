/* Vision-cone steering (Bauerle, Loffler & Bechinger, Nat. Commun. 9, 3232
 * (2018)): active particles that turn towards the neighbours they see stay
 * together, while the same particles without steering disperse. N = 2000
 * self-propelled particles (v0 = 2, Dr = 0.1) with WCA repulsion start in a
 * disk with random headings in an open box; we compare the radius of
 * gyration R_g(t) with the vision cone on (Omega = 5, half-angle 3 pi/4,
 * range 8, R0 = 4) and off.
 * The cone is evaluated over a Verlet list (fk_active_reserve_vision_neighbors),
 * which gives the all-pairs trajectory bit for bit: the program checks that
 * on the first steps and reports both throughputs. Writes R_g(t) to
 * pedestrian_crowd.csv. --quick: N = 200, t = 5 instead of 40.
 *
 *     cc -O2 examples/c/pedestrian_crowd.c -Iinclude -Ltarget/release \
 *        -lfieldkern -Wl,-rpath,target/release -lm && ./a.out [--quick]
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c99 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fieldkern.h"

#define NMAX 2000

static double x[NMAX], y[NMAX], ox[NMAX], oy[NMAX];    /* steered crowd */
static double x2[NMAX], y2[NMAX], ox2[NMAX], oy2[NMAX]; /* free crowd / copy */

#define TRY(call)                                                              \
    do {                                                                       \
        fk_status s_ = (call);                                                 \
        if (s_ != FK_OK) {                                                     \
            fprintf(stderr, "%s failed: %s (%s)\n", #call, fk_status_str(s_),  \
                    fk_last_error());                                          \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* Particles on a sunflower spiral filling a disk at density ~0.5, headings
 * spread evenly over the circle in a scrambled order. */
static void start(int n) {
    const double pi = 3.14159265358979, golden = pi * (3.0 - sqrt(5.0));
    double radius = sqrt(n / (0.5 * pi));
    for (int i = 0; i < n; i++) {
        double r = radius * sqrt((i + 0.5) / n), th = 2.0 * pi * ((i * 2654435761u) % 997) / 997.0;
        x[i] = r * cos(golden * i);
        y[i] = r * sin(golden * i);
        ox[i] = cos(th);
        oy[i] = sin(th);
    }
}

static double gyration_radius(int n, const double *px, const double *py) {
    double cx = 0, cy = 0, s = 0;
    for (int i = 0; i < n; i++) { cx += px[i]; cy += py[i]; }
    cx /= n;
    cy /= n;
    for (int i = 0; i < n; i++) s += (px[i] - cx) * (px[i] - cx) + (py[i] - cy) * (py[i] - cy);
    return sqrt(s / n);
}

static fk_active *pedestrians(int n, double omega) {
    fk_active_params ap = fk_active_params_default();
    fk_active *a = NULL;
    ap.dim = 2;
    ap.capacity = (size_t)n;
    ap.dt = 1e-3; /* explicit Euler: WCA contacts need dt k < 2, k ~ 600 at v0 = 2 */
    ap.v0 = 2.0;
    ap.dr = 0.1;
    ap.kt = 0.01;
    ap.seed = 2018;
    ap.vision_omega = omega;
    ap.vision_angle = 0.75 * 3.14159265358979;
    ap.vision_range = 8.0;
    ap.vision_decay = 4.0;
    TRY(fk_active_create(&ap, &a));
    return a;
}

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int n = quick ? 200 : NMAX, blocks = quick ? 5 : 40, per_block = 1000;
    double eps = 1.0, sigma = 1.0, rg_on = 0, rg_off = 0, rg0;
    fk_forcefield_params fp = fk_forcefield_params_default();
    fk_forcefield *ff = NULL;
    fk_active *steered, *listed, *free_abp;
    fk_particles p = fk_particles_default();
    uint64_t done = 0;
    FILE *csv = fopen("pedestrian_crowd.csv", "w");
    if (!csv) return 1;

    fp.dim = 2;
    fp.periodic = 0;
    fp.capacity = (size_t)n;
    fp.skin = 0.4;
    fp.max_neighbors = 32;
    TRY(fk_forcefield_create(&fp, &ff));
    TRY(fk_forcefield_add_pair(ff, FK_PAIR_WCA, &eps, &sigma, NULL, 1, NULL));
    p.dim = 2;
    p.n = (size_t)n;
    p.x = x; p.y = y; p.ox = ox; p.oy = oy;
    steered = pedestrians(n, 5.0);
    listed = pedestrians(n, 5.0);
    free_abp = pedestrians(n, 0.0);
    /* max_neighbors: 1.5 pi (range + skin)^2 rho with rho ~ 1.1, the packed
     * density the steered crowd condenses to (the start has rho = 0.5). */
    TRY(fk_active_reserve_vision_neighbors(listed, 420, 1.0));

    /* The list gives the all-pairs trajectory bit for bit; time both. */
    {
        double t0, t_all, t_list;
        int same;
        start(n);
        t0 = now();
        TRY(fk_active_step(steered, ff, &p, 0, 50, &done));
        t_all = now() - t0;
        memcpy(x2, x, sizeof x); memcpy(y2, y, sizeof y);
        memcpy(ox2, ox, sizeof ox); memcpy(oy2, oy, sizeof oy);
        start(n);
        t0 = now();
        TRY(fk_active_step(listed, ff, &p, 0, 50, &done));
        t_list = now() - t0;
        same = memcmp(x, x2, n * sizeof(double)) == 0 && memcmp(y, y2, n * sizeof(double)) == 0 &&
               memcmp(ox, ox2, n * sizeof(double)) == 0 && memcmp(oy, oy2, n * sizeof(double)) == 0;
        printf("vision list vs all pairs, 50 steps: %s\n", same ? "bitwise identical" : "DIFFERENT (FAIL)");
        printf("throughput (particle-steps/s, steering + WCA): all pairs %.3g, Verlet list %.3g\n",
               n * 50 / t_all, n * 50 / t_list);
    }

    /* Cohesion: R_g(t) with the cone on (list) and off, from the same start. */
    fprintf(csv, "t,rg_vision_cone,rg_no_steering\n");
    start(n);
    memcpy(x2, x, sizeof x); memcpy(y2, y, sizeof y);
    memcpy(ox2, ox, sizeof ox); memcpy(oy2, oy, sizeof oy);
    rg0 = gyration_radius(n, x, y);
    fprintf(csv, "0,%.6f,%.6f\n", rg0, rg0);
    for (int b = 0; b < blocks; b++) {
        uint64_t s0 = (uint64_t)b * per_block;
        fk_particles q = p;
        TRY(fk_active_step(listed, ff, &p, s0, (size_t)per_block, &done));
        q.x = x2; q.y = y2; q.ox = ox2; q.oy = oy2;
        TRY(fk_active_step(free_abp, ff, &q, s0, (size_t)per_block, &done));
        rg_on = gyration_radius(n, x, y);
        rg_off = gyration_radius(n, x2, y2);
        fprintf(csv, "%g,%.6f,%.6f\n", 1e-3 * (s0 + per_block), rg_on, rg_off);
    }
    fclose(csv);
    printf("R_g: start %.2f; after t = %g: vision cone %.2f, no steering %.2f\n", rg0,
           1e-3 * blocks * per_block, rg_on, rg_off);
    printf("cohesion check (the free crowd spreads, the steered one stays within its start): %s\n",
           rg_off > 1.2 * rg0 && rg_on < rg0 ? "ok" : "FAIL");
    fk_active_destroy(free_abp);
    fk_active_destroy(listed);
    fk_active_destroy(steered);
    fk_forcefield_destroy(ff);
    return 0;
}
