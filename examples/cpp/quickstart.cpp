// fieldkern from C++: the same header, RAII for a handle-free kernel call, and
// a std::vector filled with standard normals from the Philox generator.
//
//   cargo build --release
//   c++ -O2 -std=c++17 examples/cpp/quickstart.cpp -Iinclude -Ltarget/release
//       -lfieldkern -Wl,-rpath,$PWD/target/release -o quickstart && ./quickstart
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "fieldkern.h"

// Turns a fieldkern status into a C++ exception carrying fk_last_error().
static void check(fk_status s) {
    if (s != FK_OK) throw std::runtime_error(std::string(fk_status_str(s)) + ": " + fk_last_error());
}

int main(int argc, char **argv) {
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    const std::size_t n = quick ? 100000 : 10000000;
    std::vector<double> z(n);
    try {
        check(fk_rng_fill_normal_f64(/*seed*/ 2026, /*stream*/ 0, /*counter_offset*/ 0, z.data(), z.size()));
        check(fk_rng_fill_normal_f64(2026, 0, 0, nullptr, 1));  // throws: NULL out
        std::printf("FAIL no exception for NULL\n");
        return 1;
    } catch (const std::runtime_error &e) {
        std::printf("bad input reported: %s\n", e.what());
    }
    const double mean = std::accumulate(z.begin(), z.end(), 0.0) / n;
    double var = 0;
    for (double x : z) var += (x - mean) * (x - mean);
    var /= n;
    const bool ok = std::fabs(mean) < 5 / std::sqrt(double(n)) && std::fabs(var - 1) < 5 * std::sqrt(2.0 / n);
    std::printf("fieldkern %s: %zu normals, mean %+.5f, variance %.5f: %s\n", fk_version_string(), n,
                mean, var, ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
}
