// The header must compile warning-free as C++17 (-Wall -Wextra -pedantic
// -Werror) and be usable from C++: extern "C" linkage, fk_status as an enum.
#include <cstdio>
#include <cstring>
#include <vector>

#include "fieldkern.h"

int main() {
    std::vector<double> z(1000);
    fk_status s = fk_rng_fill_normal_f64(1, 2, 3, z.data(), z.size());
    if (s != FK_OK) {
        std::printf("FAIL fill: %s %s\n", fk_status_str(s), fk_last_error());
        return 1;
    }
    s = fk_rng_fill_normal_f64(1, 2, 3, nullptr, 5);
    if (s != FK_ERR_NULL_POINTER || std::strstr(fk_last_error(), "out") == nullptr) {
        std::printf("FAIL null: %s\n", fk_status_str(s));
        return 1;
    }
    if (fk_version() != FK_VERSION_NUMBER) {
        std::printf("FAIL version\n");
        return 1;
    }
    std::printf("2 passed, 0 failed\n");
    return 0;
}
