"""ctypes test of the foundation calls (standard library only).

    FIELDKERN_LIB=target/debug/libfieldkern.so python3 tests/python/test_rng.py
"""
import ctypes
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "include"))
import fieldkern_ctypes as fk  # noqa: E402

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL", what)


lib = fk.load()
check(lib.fk_version() == fk.FK_VERSION_NUMBER, "fk_version() == FK_VERSION_NUMBER")
check(lib.fk_version_string().decode() == fk.FK_VERSION_STRING, "version string")
simd = lib.fk_simd_info()
check(simd.struct_size == ctypes.sizeof(fk.fk_simd_capabilities), "simd struct_size")
print("SIMD level:", simd.level.decode(), simd.f32_lanes, simd.f64_lanes)

check(lib.fk_set_num_threads(0) == fk.FK_ERR_OUT_OF_RANGE, "threads 0 rejected")
check(b"threads" in lib.fk_last_error(), "last error names the argument")
check(lib.fk_status_str(fk.FK_ERR_OUT_OF_RANGE) == b"FK_ERR_OUT_OF_RANGE", "status name")
check(lib.fk_set_num_threads(2) == fk.FK_OK, "threads 2")
check(lib.fk_get_num_threads() == 2, "get threads")

# Random123 known answer for counter 0, key 0.
w = (ctypes.c_uint32 * 4)()
check(lib.fk_rng_fill_u32(0, 0, 0, w, 4) == fk.FK_OK, "fill_u32")
check(list(w) == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8], "Philox known answer")

n = 200000
z = (ctypes.c_double * n)()
check(lib.fk_rng_fill_normal_f64(9, 1, 0, z, n) == fk.FK_OK, "fill_normal_f64")
mean = sum(z) / n
var = sum((v - mean) ** 2 for v in z) / n
# Standard errors: 1/sqrt(n) for the mean, sqrt(2/n) for the variance; 5 each.
check(abs(mean) < 5 / math.sqrt(n), "normal mean within 5 se (%g)" % mean)
check(abs(var - 1) < 5 * math.sqrt(2 / n), "normal variance within 5 se (%g)" % var)

check(lib.fk_rng_fill_normal_f64(9, 1, 0, None, 3) == fk.FK_ERR_NULL_POINTER, "NULL out rejected")
check(b"`out`" in lib.fk_last_error(), "last error names `out`")
check(lib.fk_rng_fill_normal_f64(9, 1, 0, None, 0) == fk.FK_OK, "n = 0 is a no-op")

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
