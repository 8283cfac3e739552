//! Fuzzes the C entry point `fk_nf_model_load` (bytes written to a file),
//! then `fk_nf_forward` and `fk_nf_gradient`/`fk_nf_jacobian` on every model
//! that loads. The FFI guard turns a panic into `FK_ERR_INTERNAL`, so that
//! status is a failure here.
#![no_main]

use std::ffi::CString;
use std::path::PathBuf;
use std::sync::OnceLock;

use fieldkern::ffi::fk_status;
use fieldkern::ffi::nf::{
    fk_nf_forward, fk_nf_gradient, fk_nf_jacobian, fk_nf_model, fk_nf_model_destroy,
    fk_nf_model_dims, fk_nf_model_load,
};
use libfuzzer_sys::fuzz_target;

fn path() -> &'static (PathBuf, CString) {
    static P: OnceLock<(PathBuf, CString)> = OnceLock::new();
    P.get_or_init(|| {
        let p = std::env::temp_dir().join(format!(
            "fieldkern-fuzz-nf-load-{}.safetensors",
            std::process::id()
        ));
        let c = CString::new(p.to_str().expect("utf-8 temp dir")).expect("no NUL");
        (p, c)
    })
}

fuzz_target!(|data: &[u8]| {
    let (p, c) = path();
    std::fs::write(p, data).expect("temp file");
    let mut model: *mut fk_nf_model = std::ptr::null_mut();
    // SAFETY: a NUL-terminated path and a writable handle slot.
    let s = unsafe { fk_nf_model_load(c.as_ptr(), 1, &mut model) };
    assert_ne!(s, fk_status::FK_ERR_INTERNAL, "loader panicked");
    if s != fk_status::FK_OK {
        assert!(model.is_null(), "no handle on error");
        return;
    }
    let (mut in_dim, mut out_dim) = (0usize, 0usize);
    // SAFETY: live model, writable outputs.
    assert_eq!(
        unsafe { fk_nf_model_dims(model, &mut in_dim, &mut out_dim) },
        fk_status::FK_OK
    );
    const N: usize = 70;
    let x: Vec<f32> = (0..N * in_dim)
        .map(|i| {
            if i % 17 == 0 {
                f32::NAN
            } else {
                (i as f32 * 0.618_034).fract() * 1.5 - 0.25
            }
        })
        .collect();
    let mut y = vec![0f32; N * out_dim];
    // SAFETY: live model; x is N*in_dim, y N*out_dim floats.
    let s = unsafe { fk_nf_forward(model, N, in_dim, x.as_ptr(), out_dim, y.as_mut_ptr()) };
    assert_eq!(s, fk_status::FK_OK, "forward");
    if out_dim * in_dim <= 1 << 16 {
        let mut v = vec![0f32; N * out_dim];
        let mut jac = vec![0f32; N * out_dim * in_dim];
        // SAFETY: live model; v N*out_dim floats, jac N*out_dim*in_dim floats.
        let s = unsafe {
            if out_dim == 1 {
                fk_nf_gradient(
                    model,
                    N,
                    in_dim,
                    x.as_ptr(),
                    v.as_mut_ptr(),
                    jac.as_mut_ptr(),
                )
            } else {
                fk_nf_jacobian(
                    model,
                    N,
                    in_dim,
                    x.as_ptr(),
                    out_dim,
                    v.as_mut_ptr(),
                    jac.as_mut_ptr(),
                )
            }
        };
        assert_eq!(s, fk_status::FK_OK, "derivatives");
    }
    // SAFETY: live model, destroyed once.
    assert_eq!(unsafe { fk_nf_model_destroy(model) }, fk_status::FK_OK);
});
