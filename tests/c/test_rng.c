/* C-level tests of the foundation: version, status strings, last error,
 * thread control, and the fk_rng_fill_* kernels (known answers, determinism
 * across thread counts and splits, bad input leaves the output untouched). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fieldkern.h"
#include "check.h"

#define N 100003

static uint32_t u32_a[N], u32_b[N];
static double f64_a[N], f64_b[N];
static float f32_a[N], f32_b[N];

static void test_version_and_info(void) {
    fk_simd_capabilities caps = fk_simd_info();
    CHECK(fk_version() == FK_VERSION_NUMBER);
    CHECK(strcmp(fk_version_string(), FK_VERSION_STRING) == 0);
    CHECK(caps.struct_size == sizeof(fk_simd_capabilities));
    CHECK(caps.f64_lanes >= 1 && caps.f32_lanes == 2 * caps.f64_lanes);
    CHECK(caps.level != NULL && strlen(caps.level) > 0);
    CHECK(strcmp(fk_status_str(FK_OK), "FK_OK") == 0);
    CHECK(strcmp(fk_status_str(FK_ERR_NULL_POINTER), "FK_ERR_NULL_POINTER") == 0);
    CHECK(strcmp(fk_status_str(FK_ERR_INTERNAL), "FK_ERR_INTERNAL") == 0);
    CHECK(strcmp(fk_status_str(12345), "FK_UNKNOWN_STATUS") == 0);
}

static void test_threads(void) {
    const char *env = getenv("FK_NUM_THREADS");
    if (env != NULL) {
        /* The harness runs this program with FK_NUM_THREADS=3. */
        CHECK(fk_get_num_threads() == atoi(env));
    }
    CHECK_STATUS(fk_set_num_threads(0), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("threads");
    CHECK_STATUS(fk_set_num_threads(-4), FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("-4");
    CHECK_STATUS(fk_set_num_threads(100000), FK_ERR_OUT_OF_RANGE);
    CHECK_STATUS(fk_set_num_threads(2), FK_OK);
    CHECK(fk_get_num_threads() == 2);
}

static void test_known_answer(void) {
    /* Random123 kat_vectors: philox4x32_10(counter 0, key 0). With seed 0,
     * stream 0 the first four u32 elements are block 0. */
    uint32_t w[4];
    CHECK_STATUS(fk_rng_fill_u32(0, 0, 0, w, 4), FK_OK);
    CHECK(w[0] == 0x6627e8d5u && w[1] == 0xe169c58du && w[2] == 0xbc57ac4cu &&
          w[3] == 0x9b00dbd8u);
}

static void test_thread_count_and_split_invariance(void) {
    size_t k = 4097; /* split point, deliberately not a block multiple */
    CHECK_STATUS(fk_set_num_threads(1), FK_OK);
    CHECK_STATUS(fk_rng_fill_u32(42, 7, 11, u32_a, N), FK_OK);
    CHECK_STATUS(fk_rng_fill_normal_f64(42, 7, 11, f64_a, N), FK_OK);
    CHECK_STATUS(fk_rng_fill_uniform_f32(42, 7, 11, f32_a, N), FK_OK);
    CHECK_STATUS(fk_set_num_threads(2), FK_OK);
    CHECK_STATUS(fk_rng_fill_u32(42, 7, 11, u32_b, N), FK_OK);
    CHECK_STATUS(fk_rng_fill_normal_f64(42, 7, 11, f64_b, k), FK_OK);
    CHECK_STATUS(fk_rng_fill_normal_f64(42, 7, 11 + k, f64_b + k, N - k), FK_OK);
    CHECK_STATUS(fk_rng_fill_uniform_f32(42, 7, 11, f32_b, N), FK_OK);
    CHECK(memcmp(u32_a, u32_b, sizeof u32_a) == 0);
    CHECK(memcmp(f64_a, f64_b, sizeof f64_a) == 0);
    CHECK(memcmp(f32_a, f32_b, sizeof f32_a) == 0);

    CHECK_STATUS(fk_rng_fill_uniform_f64(42, 7, 0, f64_a, N), FK_OK);
    CHECK_STATUS(fk_rng_fill_uniform_f64(42, 7, 0, f64_b, k), FK_OK);
    CHECK_STATUS(fk_rng_fill_uniform_f64(42, 7, k, f64_b + k, N - k), FK_OK);
    CHECK(memcmp(f64_a, f64_b, sizeof f64_a) == 0);
}

static void test_values_in_range(void) {
    size_t i;
    int ok = 1;
    double sum = 0.0, sum2 = 0.0, mean, var;
    CHECK_STATUS(fk_rng_fill_uniform_f64(1, 2, 3, f64_a, N), FK_OK);
    CHECK_STATUS(fk_rng_fill_uniform_f32(1, 2, 3, f32_a, N), FK_OK);
    for (i = 0; i < N; i++) {
        ok &= f64_a[i] > 0.0 && f64_a[i] < 1.0 && f32_a[i] > 0.0f && f32_a[i] < 1.0f;
    }
    CHECK(ok);
    CHECK_STATUS(fk_rng_fill_normal_f64(1, 2, 3, f64_a, N), FK_OK);
    for (i = 0; i < N; i++) {
        sum += f64_a[i];
        sum2 += f64_a[i] * f64_a[i];
    }
    mean = sum / N;
    var = sum2 / N - mean * mean;
    /* Standard errors: mean 1/sqrt(N) = 0.0032, variance sqrt(2/N) = 0.0045;
     * 5 standard errors each. */
    CHECK(fabs(mean) < 5.0 * 0.0032);
    CHECK(fabs(var - 1.0) < 5.0 * 0.0045);
}

static void test_bad_input(void) {
    double sentinel[4] = {-1.0, -1.0, -1.0, -1.0};
    /* n = 0 is a documented no-op, even with NULL. */
    CHECK_STATUS(fk_rng_fill_normal_f64(1, 1, 0, NULL, 0), FK_OK);
    CHECK_STATUS(fk_rng_fill_u32(1, 1, 0, NULL, 0), FK_OK);
    /* NULL with n > 0. */
    CHECK_STATUS(fk_rng_fill_normal_f64(1, 1, 0, NULL, 10), FK_ERR_NULL_POINTER);
    CHECK_ERROR_MENTIONS("fk_rng_fill_normal_f64");
    CHECK_ERROR_MENTIONS("`out`");
    CHECK_STATUS(fk_rng_fill_u32(1, 1, 0, NULL, 1), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_rng_fill_uniform_f32(1, 1, 0, NULL, 1), FK_ERR_NULL_POINTER);
    CHECK_STATUS(fk_rng_fill_uniform_f64(1, 1, 0, NULL, 1), FK_ERR_NULL_POINTER);
    /* Misaligned double array. */
    {
        static uint64_t storage[8];
        double *odd = (double *)(void *)((char *)storage + 1);
        CHECK_STATUS(fk_rng_fill_uniform_f64(1, 1, 0, odd, 2), FK_ERR_MISALIGNED);
    }
    /* Counter overflow: the output must be untouched. */
    CHECK_STATUS(fk_rng_fill_uniform_f64(1, 1, UINT64_MAX - 1, sentinel, 4),
                 FK_ERR_OUT_OF_RANGE);
    CHECK_ERROR_MENTIONS("counter_offset");
    CHECK(sentinel[0] == -1.0 && sentinel[3] == -1.0);
}

int main(void) {
    test_version_and_info();
    test_threads();
    test_known_answer();
    test_thread_count_and_split_invariance();
    test_values_in_range();
    test_bad_input();
    return fk_check_summary();
}
