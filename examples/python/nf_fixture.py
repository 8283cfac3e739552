"""A neural field from Python with ctypes (standard library only): load the
committed safetensors fixture (written by make_nf_fixture.py), evaluate it at
the fixture's points with fk_nf_forward_f64, compare with the float64
reference stored in the file, and take the Jacobian.

    cargo build --release
    python3 examples/python/nf_fixture.py
"""
import ctypes
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "include"))
import fieldkern_ctypes as fk  # noqa: E402

path = os.path.join(HERE, "..", "..", "tests", "data", "nf_fixture.safetensors")
with open(path, "rb") as f:
    raw = f.read()
n_header = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n_header])


def tensor_f64(name):
    start, end = header[name]["data_offsets"]
    blob = raw[8 + n_header + start:8 + n_header + end]
    return list(struct.unpack("<%dd" % (len(blob) // 8), blob))


xs, ys = tensor_f64("fixture.x"), tensor_f64("fixture.y")
lib = fk.load()
model = ctypes.c_void_p()
status = lib.fk_nf_model_load(path.encode(), 0, ctypes.byref(model))
if status != fk.FK_OK:
    print("FAIL load:", lib.fk_status_str(status).decode(), lib.fk_last_error().decode())
    sys.exit(1)
d_in, d_out = ctypes.c_size_t(), ctypes.c_size_t()
lib.fk_nf_model_dims(model, ctypes.byref(d_in), ctypes.byref(d_out))
n = len(xs) // d_in.value
x = (ctypes.c_double * len(xs))(*xs)
y = (ctypes.c_double * (n * d_out.value))()
jac = (ctypes.c_double * (n * d_out.value * d_in.value))()
status = lib.fk_nf_jacobian_f64(model, n, d_in.value, x, d_out.value, y, jac)
lib.fk_nf_model_destroy(model)
if status != fk.FK_OK:
    print("FAIL jacobian:", lib.fk_status_str(status).decode(), lib.fk_last_error().decode())
    sys.exit(1)
scale = max(abs(v) for v in ys)
worst = max(abs(a - b) for a, b in zip(y, ys))
print("R^%d -> R^%d field, %d points: worst |f - f_ref| = %.2e (scale %.3f); df0/dx at x0 = %s"
      % (d_in.value, d_out.value, n, worst, scale, ["%.4f" % v for v in jac[:d_in.value]]))
# f32 evaluation of a float64 reference: 1e-5 of the output scale (see tests/nf_load.rs).
ok = worst <= 1e-5 * scale
print("checks:", "ok" if ok else "FAIL")
sys.exit(0 if ok else 1)
