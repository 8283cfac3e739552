"""fieldkern from Python with ctypes (standard library only): version, SIMD
level, threads, and standard normals from the Philox generator checked against
their exact moments. Mirrors examples/julia/quickstart.jl call for call.

    cargo build --release
    python3 examples/python/quickstart.py
"""
import ctypes
import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "include"))
import fieldkern_ctypes as fk  # noqa: E402

lib = fk.load()
simd = lib.fk_simd_info()
print("fieldkern", lib.fk_version_string().decode(), "SIMD", simd.level.decode(),
      "threads", lib.fk_get_num_threads())

n = 100_000 if "--quick" in sys.argv else 10_000_000
z = (ctypes.c_double * n)()
t0 = time.perf_counter()
status = lib.fk_rng_fill_normal_f64(2026, 0, 0, z, n)
elapsed = time.perf_counter() - t0
if status != fk.FK_OK:
    print("FAIL", lib.fk_status_str(status).decode(), lib.fk_last_error().decode())
    sys.exit(1)
mean = sum(z) / n
var = sum((v - mean) ** 2 for v in z) / n
ok = abs(mean) < 5 / math.sqrt(n) and abs(var - 1) < 5 * math.sqrt(2 / n)
print("%d normals: mean %+.5f, variance %.5f, %.2f normals/ns" % (n, mean, var, n / elapsed * 1e-9))
print("physics checks:", "ok" if ok else "FAIL")
sys.exit(0 if ok else 1)
