/* Coffee automaton: entropy and apparent complexity versus time for the
 * interacting and non-interacting cups (Aaronson, Carroll & Ouellette 2014).
 * The authors later withdrew the paper's measured complexity bump as a
 * thresholding artifact (see src/mc/coffee.rs): read the plain-threshold
 * curves as the paper's Sec. 5 measurement, not as complexity of the state.
 *
 *   ./coffee_complexity [--quick]   -> coffee_complexity.csv
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fieldkern.h"

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    uint32_t side = quick ? 48 : 100, grain = quick ? 11 : 21, v;
    uint64_t t = 0, steps_max = quick ? 3000 : 40000;
    FILE *f = fopen("coffee_complexity.csv", "w");
    if (!f) return 1;
    fprintf(f, "variant,step,entropy_bytes,complexity_bytes,adjusted_complexity_bytes\n");
    for (v = 0; v < 2; v++) {
        fk_coffee_params p = fk_coffee_params_default();
        fk_coffee *cf = NULL;
        uint64_t target;
        p.side = side;
        p.variant = v == 0 ? FK_COFFEE_INTERACTING : FK_COFFEE_NON_INTERACTING;
        p.seed = 7;
        if (fk_coffee_create(&p, &cf) != FK_OK) {
            printf("FAIL create: %s\n", fk_last_error());
            return 1;
        }
        t = 0;
        for (target = 0; target <= steps_max; target = target < 10 ? target + 10 : target * 5 / 4) {
            uint64_t e, c, ca;
            fk_coffee_step(cf, target - t);
            t = target;
            if (fk_coffee_measure(cf, grain, 3, 0, &e, &c) != FK_OK ||
                fk_coffee_measure(cf, grain, 7, 1, &e, &ca) != FK_OK) {
                printf("FAIL measure: %s\n", fk_last_error());
                return 1;
            }
            fprintf(f, "%s,%llu,%llu,%llu,%llu\n", v == 0 ? "interacting" : "non-interacting",
                    (unsigned long long)t, (unsigned long long)e, (unsigned long long)c,
                    (unsigned long long)ca);
        }
        fk_coffee_destroy(cf);
    }
    fclose(f);
    printf("wrote coffee_complexity.csv (N = %u, grain %u)\n", side, grain);
    return 0;
}
