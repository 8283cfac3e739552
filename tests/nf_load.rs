//! Loading neural-field models from safetensors files: the committed fixture
//! (written by examples/python/make_nf_fixture.py with a float64 reference
//! evaluated in Python) loads and reproduces the reference outputs, and every
//! kind of bad file gets its own status, through the C entry point; mutated
//! and truncated files never crash the loader.

mod support;

use std::ffi::CString;

use fieldkern::error::ErrorKind;
use fieldkern::ffi::fk_status;
use fieldkern::ffi::nf::{fk_nf_forward_f64, fk_nf_model, fk_nf_model_destroy, fk_nf_model_load};
use fieldkern::nf::load::model_from_safetensors;
use safetensors::tensor::Dtype;
use safetensors::SafeTensors;
use serde_json::{json, Value};
use support::foreign::root;

fn fixture_bytes() -> Vec<u8> {
    std::fs::read(root().join("tests/data/nf_fixture.safetensors")).expect("committed fixture")
}

fn f64_tensor(st: &SafeTensors<'_>, name: &str) -> Vec<f64> {
    let t = st.tensor(name).unwrap();
    assert_eq!(t.dtype(), Dtype::F64);
    t.data()
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

/// Loads `bytes` through `fk_nf_model_load` (written to a temporary file).
fn load_status(bytes: &[u8], tag: &str) -> (fk_status, *mut fk_nf_model) {
    let dir = std::env::temp_dir().join(format!("fieldkern-nf-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{tag}.safetensors"));
    std::fs::write(&path, bytes).unwrap();
    let c = CString::new(path.to_str().unwrap()).unwrap();
    let mut model: *mut fk_nf_model = std::ptr::null_mut();
    // SAFETY: a valid C string and a writable handle slot.
    let s = unsafe { fk_nf_model_load(c.as_ptr(), 0, &mut model) };
    (s, model)
}

/// Tolerance 1e-5 of the output size: the float64 reference is exact to
/// ~1e-15; the f32 kernel rounds the inputs (2^-24 relative), the 16- and
/// 22-term dot products (~sqrt(K) 6e-8) and sin/cos/exp/tanh (a few ulp), so
/// its error is ~1e-6 of the output scale (outputs here are O(0.1..1)).
#[test]
fn fixture_written_by_python_loads_and_matches_its_float64_reference() {
    let bytes = fixture_bytes();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let x = f64_tensor(&st, "fixture.x");
    let y_ref = f64_tensor(&st, "fixture.y");
    let (s, model) = load_status(&bytes, "fixture");
    assert_eq!(s, fk_status::FK_OK);
    let n = x.len() / 3;
    let mut y = vec![0f64; 2 * n];
    // SAFETY: live model, arrays of n*3 and n*2 doubles.
    let s = unsafe { fk_nf_forward_f64(model, n, 3, x.as_ptr(), 2, y.as_mut_ptr()) };
    assert_eq!(s, fk_status::FK_OK);
    let scale = y_ref.iter().map(|v| v.abs()).fold(0.0, f64::max);
    for (got, want) in y.iter().zip(&y_ref) {
        assert!((got - want).abs() <= 1e-5 * scale, "{got} vs {want}");
    }
    // SAFETY: live model, destroyed once.
    unsafe { fk_nf_model_destroy(model) };
}

/// The fixture's header as JSON, for mutation.
fn fixture_parts() -> (Value, Vec<u8>) {
    let bytes = fixture_bytes();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    (header, bytes[8 + n..].to_vec())
}

fn assemble(header: &Value, data: &[u8]) -> Vec<u8> {
    let text = serde_json::to_vec(header).unwrap();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend(text);
    out.extend(data);
    out
}

fn expect(bytes: &[u8], tag: &str, status: fk_status, mentions: &str) {
    let (s, model) = load_status(bytes, tag);
    assert!(model.is_null(), "{tag}: no model on error");
    assert_eq!(s, status, "{tag}");
    let msg = model_from_safetensors(bytes, 0).unwrap_err().message;
    assert!(
        msg.contains(mentions),
        "{tag}: `{msg}` should mention `{mentions}`"
    );
}

#[test]
fn corrupt_header_gives_corrupt_file() {
    let mut bytes = fixture_bytes();
    bytes[8] = b'['; // the JSON header no longer parses
    expect(&bytes, "corrupt", fk_status::FK_ERR_CORRUPT_FILE, "header");
    // A missing tensor is corrupt too.
    let (mut header, data) = fixture_parts();
    let layer = header
        .as_object_mut()
        .unwrap()
        .remove("layers.1.weight")
        .unwrap();
    header["renamed"] = layer;
    expect(
        &assemble(&header, &data),
        "missing",
        fk_status::FK_ERR_CORRUPT_FILE,
        "layers.1.weight",
    );
}

#[test]
fn truncated_file_gives_truncated_file() {
    let bytes = fixture_bytes();
    let data_cut = &bytes[..bytes.len() - 100];
    expect(
        data_cut,
        "truncated-data",
        fk_status::FK_ERR_TRUNCATED_FILE,
        "ends before",
    );
    expect(
        &bytes[..40],
        "truncated-header",
        fk_status::FK_ERR_TRUNCATED_FILE,
        "header",
    );
    expect(
        &bytes[..5],
        "truncated-length",
        fk_status::FK_ERR_TRUNCATED_FILE,
        "header",
    );
}

#[test]
fn wrong_dtype_gives_wrong_dtype() {
    // Declare B as 16-bit floats, with a byte range of the right size.
    let (mut header, data) = fixture_parts();
    header["encoding.B"]["dtype"] = json!("F16");
    let start = header["encoding.B"]["data_offsets"][0].as_u64().unwrap();
    header["encoding.B"]["data_offsets"][1] = json!(start + 30);
    // Shift nothing else: pad B's old range so the following offsets hold.
    let pad = json!({"dtype": "U8", "shape": [30], "data_offsets": [start + 30, start + 60]});
    header["padding"] = pad;
    expect(
        &assemble(&header, &data),
        "dtype",
        fk_status::FK_ERR_WRONG_DTYPE,
        "encoding.B",
    );
}

#[test]
fn wrong_shape_gives_wrong_shape() {
    let (mut header, data) = fixture_parts();
    header["layers.0.weight"]["shape"] = json!([10, 16]); // transposed
    expect(
        &assemble(&header, &data),
        "shape",
        fk_status::FK_ERR_WRONG_SHAPE,
        "layers.0.weight",
    );
}

#[test]
fn unknown_schema_gives_unknown_schema() {
    let (mut header, data) = fixture_parts();
    header["__metadata__"]["schema_version"] = json!("2");
    expect(
        &assemble(&header, &data),
        "schema",
        fk_status::FK_ERR_UNKNOWN_SCHEMA,
        "schema_version",
    );
    let (mut header, data) = fixture_parts();
    header.as_object_mut().unwrap().remove("__metadata__");
    expect(
        &assemble(&header, &data),
        "foreign",
        fk_status::FK_ERR_UNKNOWN_SCHEMA,
        "format",
    );
    let (mut header, data) = fixture_parts();
    let arch = header["__metadata__"]["architecture"]
        .as_str()
        .unwrap()
        .replace("tanh", "swish");
    header["__metadata__"]["architecture"] = json!(arch);
    expect(
        &assemble(&header, &data),
        "activation",
        fk_status::FK_ERR_UNKNOWN_SCHEMA,
        "swish",
    );
}

#[test]
fn unreadable_path_and_null_arguments_are_reported() {
    let c = CString::new("/nonexistent/dir/model.safetensors").unwrap();
    let mut model: *mut fk_nf_model = std::ptr::null_mut();
    // SAFETY: valid C string and handle slot.
    assert_eq!(
        unsafe { fk_nf_model_load(c.as_ptr(), 0, &mut model) },
        fk_status::FK_ERR_IO
    );
    // SAFETY: NULL arguments are rejected before use.
    assert_eq!(
        unsafe { fk_nf_model_load(std::ptr::null(), 0, &mut model) },
        fk_status::FK_ERR_NULL_POINTER
    );
    // SAFETY: as above.
    assert_eq!(
        unsafe { fk_nf_model_load(c.as_ptr(), 0, std::ptr::null_mut()) },
        fk_status::FK_ERR_NULL_POINTER
    );
    assert!(model.is_null());
}

/// Every truncation of the fixture and 20000 random byte mutations give a
/// model or a file error, never a panic (the FFI guard would turn a panic
/// into FK_ERR_INTERNAL; here a panic fails the test).
#[test]
fn mutated_and_truncated_files_never_crash_the_loader() {
    let bytes = fixture_bytes();
    for len in 0..bytes.len() {
        let e = model_from_safetensors(&bytes[..len], 0).unwrap_err();
        assert!(
            matches!(e.kind, ErrorKind::TruncatedFile | ErrorKind::CorruptFile),
            "length {len}: {e}"
        );
    }
    let mut s = 0x5EEDu64;
    for _ in 0..20_000 {
        let mut m = bytes.clone();
        for _ in 0..3 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let i = (s >> 33) as usize % m.len();
            m[i] = (s >> 17) as u8;
        }
        let _ = model_from_safetensors(&m, 1);
    }
}
