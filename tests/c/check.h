/* Tiny check macros shared by the C tests: print each failed check with its
 * line, count, and finish with "N passed, N failed". */
#ifndef FK_TEST_CHECK_H
#define FK_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int fk_checks_passed = 0;
static int fk_checks_failed = 0;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (cond) {                                                            \
            fk_checks_passed++;                                                \
        } else {                                                               \
            fk_checks_failed++;                                                \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);             \
        }                                                                      \
    } while (0)

#define CHECK_STATUS(expr, expected)                                           \
    do {                                                                       \
        fk_status s_ = (expr);                                                 \
        if (s_ == (expected)) {                                                \
            fk_checks_passed++;                                                \
        } else {                                                               \
            fk_checks_failed++;                                                \
            printf("FAIL %s:%d: %s returned %s, expected %s (last error: %s)\n", \
                   __FILE__, __LINE__, #expr, fk_status_str(s_),               \
                   fk_status_str(expected), fk_last_error());                  \
        }                                                                      \
    } while (0)

/* Checks that fk_last_error() contains `needle`. */
#define CHECK_ERROR_MENTIONS(needle)                                           \
    do {                                                                       \
        if (strstr(fk_last_error(), (needle)) != NULL) {                       \
            fk_checks_passed++;                                                \
        } else {                                                               \
            fk_checks_failed++;                                                \
            printf("FAIL %s:%d: last error \"%s\" does not mention \"%s\"\n",  \
                   __FILE__, __LINE__, fk_last_error(), (needle));             \
        }                                                                      \
    } while (0)

static int fk_check_summary(void) {
    printf("%d passed, %d failed\n", fk_checks_passed, fk_checks_failed);
    return fk_checks_failed == 0 ? 0 : 1;
}

#endif
