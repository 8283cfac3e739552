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

/// A longer mutation campaign without cargo-fuzz (the coverage-guided
/// campaign, on a nightly toolchain, is in fuzz/README.md): 10^6 loads of the fixture with 1-8
/// random byte overwrites, insertions of the 8-byte length field's bytes and
/// truncations. Run with `cargo test --release --test nf_load -- --ignored`.
#[test]
#[ignore]
fn loader_survives_a_million_mutated_files() {
    let bytes = fixture_bytes();
    let mut s = 0xF00Du64;
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s >> 17
    };
    let (mut ok, mut errors) = (0u64, 0u64);
    for _ in 0..1_000_000 {
        let mut m = bytes.clone();
        for _ in 0..1 + next() % 8 {
            let i = next() as usize % m.len();
            m[i] = next() as u8;
        }
        if next() % 4 == 0 {
            let cut = next() as usize % m.len();
            m.truncate(cut);
        }
        match model_from_safetensors(&m, 1) {
            Ok(_) => ok += 1,
            Err(_) => errors += 1,
        }
    }
    println!("1e6 mutated files: {ok} loaded, {errors} rejected, no panic");
}

mod nf_ref;

/// Serialises a reference net in the documented schema (the way an
/// exporter would), f32 little-endian tensors in header order.
fn write_schema_file(net: &nf_ref::RefNet) -> Vec<u8> {
    use fieldkern::nf::Encoding;
    let mut tensors: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
    let encoding = match &net.encoding {
        Encoding::Identity => json!({"type": "identity"}),
        Encoding::Fourier { b, m, .. } => {
            tensors.push(("encoding.B".into(), vec![*m, net.in_dim], b.clone()));
            json!({"type": "fourier", "n_frequencies": m})
        }
        Encoding::Positional {
            octaves,
            include_input,
        } => {
            json!({"type": "positional", "octaves": octaves, "include_input": include_input})
        }
        Encoding::HashGrid(g) => {
            tensors.push((
                "encoding.table".into(),
                vec![g.levels, 1 << g.log2_table, g.features],
                g.table.clone(),
            ));
            json!({"type": "hash_grid", "levels": g.levels, "features": g.features,
                   "log2_table": g.log2_table, "base_resolution": g.base_resolution,
                   "growth": g.growth})
        }
    };
    let names = |a: fieldkern::nf::Activation| {
        use fieldkern::nf::Activation::*;
        match a {
            Identity => ("identity", 0.0),
            Relu => ("relu", 0.0),
            LeakyRelu(s) => ("leaky_relu", s),
            Silu => ("silu", 0.0),
            GeluTanh => ("gelu_tanh", 0.0),
            Tanh => ("tanh", 0.0),
            Sigmoid => ("sigmoid", 0.0),
            Softplus => ("softplus", 0.0),
            Sine(w) => ("sine", w),
        }
    };
    let mut layers = Vec::new();
    for (l, layer) in net.layers.iter().enumerate() {
        let (name, param) = names(layer.act);
        layers.push(json!({"out_dim": layer.out_dim, "activation": name, "param": param}));
        tensors.push((
            format!("layers.{l}.weight"),
            vec![layer.out_dim, layer.in_dim],
            layer.w.clone(),
        ));
        tensors.push((
            format!("layers.{l}.bias"),
            vec![layer.out_dim],
            layer.b.clone(),
        ));
    }
    let mut film = Vec::new();
    for (k, (l, w, b)) in net.film.iter().enumerate() {
        film.push(json!({"layer": l}));
        tensors.push((
            format!("film.{k}.weight"),
            vec![b.len(), net.latent_dim],
            w.clone(),
        ));
        tensors.push((format!("film.{k}.bias"), vec![b.len()], b.clone()));
    }
    let arch = json!({"in_dim": net.in_dim, "encoding": encoding,
                      "skip_layer": net.skip.unwrap_or(0), "layers": layers,
                      "latent_dim": net.latent_dim, "latent_concat": net.latent_concat,
                      "film": film});
    let mut header = json!({"__metadata__": {"format": "fieldkern.nf", "schema_version": "1",
                                              "architecture": arch.to_string()}});
    let mut data = Vec::new();
    for (name, shape, values) in &tensors {
        let start = data.len();
        for v in values {
            data.extend_from_slice(&v.to_le_bytes());
        }
        header[name] = json!({"dtype": "F32", "shape": shape, "data_offsets": [start, data.len()]});
    }
    assemble(&header, &data)
}

/// Every architecture feature survives the file: a hash-grid model with
/// FiLM and a concatenated latent, and a Fourier SIREN with a skip
/// connection, load to models whose outputs equal the directly built ones
/// bitwise.
#[test]
fn hash_grid_film_latent_and_skip_models_round_trip_through_files() {
    use fieldkern::nf::hashgrid::HashGrid;
    use fieldkern::nf::{Activation, Encoding};
    let mut rng = nf_ref::TestRng(99);
    let table: Vec<f32> = (0..4 * 64 * 2).map(|_| rng.sym(0.1) as f32).collect();
    let grid = HashGrid::new(3, 4, 2, 6, 2, 1.7, &table).unwrap();
    let mut a = nf_ref::random_net(
        3,
        Encoding::HashGrid(Box::new(grid)),
        &[12],
        2,
        Activation::Silu,
        None,
        &mut rng,
    );
    a.condition(3, true, &[0], &mut rng);
    let b_mat: Vec<f32> = (0..6 * 3).map(|_| rng.sym(1.0) as f32).collect();
    let b = nf_ref::random_net(
        3,
        Encoding::fourier(&b_mat, 6, 3).unwrap(),
        &[16, 16],
        1,
        Activation::Sine(30.0),
        Some(1),
        &mut rng,
    );
    for net in [a, b] {
        let file = write_schema_file(&net);
        let mut loaded = model_from_safetensors(&file, 0).unwrap();
        let mut direct = net.model(0);
        let w = net.input_width();
        let x: Vec<f32> = (0..50 * w).map(|_| (0.5 + rng.sym(0.45)) as f32).collect();
        let mut y1 = vec![0f32; 50 * direct.out_dim()];
        let mut y2 = y1.clone();
        direct.forward(&x, &mut y1).unwrap();
        loaded.forward(&x, &mut y2).unwrap();
        assert_eq!(y1, y2);
    }
}

/// The committed cargo-fuzz seed corpus (fuzz/seeds/nf_load, written by
/// fuzz/make_seeds.py) holds only valid files: each loads and evaluates to
/// finite outputs at a point inside the unit cube, so the fuzzer starts from
/// inputs that reach the whole loader and the forward pass.
#[test]
fn fuzz_seed_corpus_files_all_load_and_evaluate() {
    let dir = root().join("fuzz/seeds/nf_load");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("committed seed corpus")
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    assert!(names.len() >= 7, "{} seeds", names.len());
    for path in names {
        let bytes = std::fs::read(&path).unwrap();
        let mut model =
            model_from_safetensors(&bytes, 1).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let x = vec![0.3f32; model.in_dim()];
        let mut y = vec![f32::NAN; model.out_dim()];
        model.forward(&x, &mut y).unwrap();
        assert!(y.iter().all(|v| v.is_finite()), "{}: {y:?}", path.display());
    }
}

/// A schema-1 file with the architecture `arch` and zero-byte F32 tensors
/// of the given shapes (a zero extent makes any other extent free).
fn zero_byte_file(arch: Value, shapes: &[(&str, Vec<u64>)]) -> Vec<u8> {
    let mut header = json!({"__metadata__": {"format": "fieldkern.nf", "schema_version": "1",
                                              "architecture": arch.to_string()}});
    for (name, shape) in shapes {
        header[*name] = json!({"dtype": "F32", "shape": shape, "data_offsets": [0, 0]});
    }
    assemble(&header, &[])
}

/// Regression (found by reading the loader while writing the cargo-fuzz
/// targets; the first 1.3e6-execution campaign did not reach it, the
/// dictionary fuzz/nf_load.dict now holds the tokens that do): a width
/// of 2^63 declared through a zero-byte tensor (`[2^63, 0]`) overflowed
/// `2 n_frequencies` (encoding width) and FiLM's `2 out_dim` before the
/// model's own bounds were checked: a panic where overflow checks are on
/// (tests, fuzz builds), a wrapped size otherwise. Widths above MAX_WIDTH
/// are now an InvalidSize error before any tensor is read.
#[test]
fn huge_widths_in_zero_byte_tensors_are_invalid_size_not_overflow() {
    let big = 1u64 << 63;
    let fourier = zero_byte_file(
        json!({"in_dim": 0, "encoding": {"type": "fourier", "n_frequencies": big},
               "layers": [{"out_dim": 1, "activation": "identity", "bias": false}]}),
        &[
            ("encoding.B", vec![big, 0]),
            ("layers.0.weight", vec![1, 0]),
        ],
    );
    let film = zero_byte_file(
        json!({"in_dim": 0, "encoding": {"type": "identity"}, "film": [{"layer": 0}],
               "layers": [{"out_dim": big, "activation": "identity", "bias": false}]}),
        &[("layers.0.weight", vec![big, 0])],
    );
    let latent = zero_byte_file(
        json!({"in_dim": 1, "encoding": {"type": "identity"}, "latent_dim": big,
               "latent_concat": true,
               "layers": [{"out_dim": 1, "activation": "identity", "bias": false}]}),
        &[("layers.0.weight", vec![1, 0])],
    );
    for (tag, file, field) in [
        ("fourier-width", fourier, "n_frequencies"),
        ("film-width", film, "out_dim"),
        ("latent-width", latent, "latent_dim"),
    ] {
        expect(&file, tag, fk_status::FK_ERR_INVALID_SIZE, field);
    }
    // The bound itself: one past MAX_WIDTH is rejected, with every tensor present
    // or not (checked first), and the error names the limit.
    let wide = zero_byte_file(
        json!({"in_dim": 3, "encoding": {"type": "identity"},
               "layers": [{"out_dim": fieldkern::nf::model::MAX_WIDTH + 1,
                           "activation": "identity", "bias": false}]}),
        &[],
    );
    expect(&wide, "width-bound", fk_status::FK_ERR_INVALID_SIZE, "4096");
}

// ---------------------------------------------------------------------------
// Byte-level files (mutation audit): each malformed file is written by hand,
// each failure asserts its exact status through the C entry point, that the
// caller's handle slot (pre-set to a sentinel) is left untouched, and the
// Rust error kind and message.

/// The caller's handle slot before a load: a non-NULL pointer that is never
/// dereferenced, so a loader that writes the slot on failure (even NULL) is
/// seen.
fn sentinel() -> *mut fk_nf_model {
    std::ptr::without_provenance_mut(0xDEAD_BEE0)
}

/// Loads `bytes` through `fk_nf_model_load` with the handle slot pre-set to
/// [`sentinel`]; the status and the slot afterwards.
fn load_into_sentinel(bytes: &[u8], tag: &str) -> (fk_status, *mut fk_nf_model) {
    let dir = std::env::temp_dir().join(format!("fieldkern-nf-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{tag}.safetensors"));
    std::fs::write(&path, bytes).unwrap();
    let c = CString::new(path.to_str().unwrap()).unwrap();
    let mut model = sentinel();
    // SAFETY: a valid C string and a writable handle slot.
    let s = unsafe { fk_nf_model_load(c.as_ptr(), 0, &mut model) };
    (s, model)
}

/// `bytes` fails with `status` (C) and `kind` (Rust), naming `mentions`, and
/// the handle slot keeps its sentinel.
fn reject(bytes: &[u8], tag: &str, status: fk_status, kind: ErrorKind, mentions: &str) {
    let (s, model) = load_into_sentinel(bytes, tag);
    assert_eq!(s, status, "{tag}");
    assert_eq!(
        model,
        sentinel(),
        "{tag}: the handle slot was written on failure"
    );
    let e = model_from_safetensors(bytes, 0).unwrap_err();
    assert_eq!(e.kind, kind, "{tag}: {e}");
    assert!(
        e.message.contains(mentions),
        "{tag}: `{}` should mention `{mentions}`",
        e.message
    );
}

/// A safetensors file from a header given as JSON text and raw data bytes.
fn raw_file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn le(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// `__metadata__` of a schema-1 file with architecture `arch` (JSON text).
fn meta(arch: &str) -> String {
    format!(
        r#""__metadata__":{{"format":"fieldkern.nf","schema_version":"1","architecture":{}}}"#,
        serde_json::to_string(arch).unwrap()
    )
}

/// y = w x + b in one dimension: the smallest model.
const LINEAR: &str = r#"{"in_dim":1,"encoding":{"type":"identity"},
    "layers":[{"out_dim":1,"activation":"identity"}]}"#;

/// The linear model's file with tensor entries `tensors` (JSON text).
fn linear_file(tensors: &str, data: &[u8]) -> Vec<u8> {
    raw_file(&format!("{{{},{tensors}}}", meta(LINEAR)), data)
}

/// w = 2, b = 0.5 in the canonical layout.
fn linear_ok() -> Vec<u8> {
    linear_file(
        r#""layers.0.weight":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},
           "layers.0.bias":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}"#,
        &le(&[2.0, 0.5]),
    )
}

fn eval_1d(bytes: &[u8], x: f32) -> f32 {
    let mut m = model_from_safetensors(bytes, 1).unwrap();
    let mut y = [f32::NAN];
    m.forward(&[x], &mut y).unwrap();
    y[0]
}

/// The hand-built file loads, and header order does not matter: the byte
/// ranges, not the entries' order, say where each tensor lies.
#[test]
fn hand_built_file_loads_and_ranges_not_header_order_place_the_data() {
    assert_eq!(eval_1d(&linear_ok(), 3.0), 6.5);
    let swapped = linear_file(
        r#""layers.0.bias":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},
           "layers.0.weight":{"dtype":"F32","shape":[1,1],"data_offsets":[4,8]}"#,
        &le(&[0.5, 2.0]),
    );
    assert_eq!(eval_1d(&swapped, 3.0), 6.5);
    let (s, model) = load_into_sentinel(&swapped, "swapped");
    assert_eq!(s, fk_status::FK_OK);
    assert!(!model.is_null() && model != sentinel());
    // SAFETY: the live model just loaded, destroyed once.
    unsafe { fk_nf_model_destroy(model) };
}

/// Every proper prefix of a file is `TruncatedFile` (not merely a file
/// error): inside the length field, inside the header, and inside the data,
/// down to one missing byte.
#[test]
fn every_proper_prefix_is_truncated_file() {
    for bytes in [linear_ok(), fixture_bytes()] {
        for len in 0..bytes.len() {
            let e = model_from_safetensors(&bytes[..len], 0).unwrap_err();
            assert_eq!(
                e.kind,
                ErrorKind::TruncatedFile,
                "length {len} of {}: {e}",
                bytes.len()
            );
        }
    }
    let ok = linear_ok();
    for cut in 1..=8 {
        reject(
            &ok[..ok.len() - cut],
            &format!("cut{cut}"),
            fk_status::FK_ERR_TRUNCATED_FILE,
            ErrorKind::TruncatedFile,
            "ends before",
        );
    }
}

/// Bytes after the declared data are `CorruptFile`, not truncation.
#[test]
fn trailing_bytes_are_corrupt_file() {
    for extra in [1usize, 4, 8, 9] {
        let mut bytes = linear_ok();
        bytes.extend(std::iter::repeat_n(0u8, extra));
        reject(
            &bytes,
            &format!("trailing{extra}"),
            fk_status::FK_ERR_CORRUPT_FILE,
            ErrorKind::CorruptFile,
            &format!("{extra} bytes follow"),
        );
    }
}

/// Byte ranges: one beyond the file is truncation; a gap, an overlap, a
/// reversed range and a range whose length is not dtype size x elements
/// are corrupt; an element count whose byte size overflows is corrupt.
#[test]
fn bad_data_ranges_get_their_own_status() {
    let w = r#""layers.0.weight":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]}"#;
    let beyond = linear_file(
        &format!(r#"{w},"layers.0.bias":{{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#),
        &le(&[2.0]),
    );
    reject(
        &beyond,
        "beyond",
        fk_status::FK_ERR_TRUNCATED_FILE,
        ErrorKind::TruncatedFile,
        "ends before",
    );
    for (tag, bias_range) in [
        ("gap", "[8,12]"),
        ("overlap", "[2,6]"),
        ("reversed", "[8,4]"),
    ] {
        let f = linear_file(
            &format!(
                r#"{w},"layers.0.bias":{{"dtype":"F32","shape":[1],"data_offsets":{bias_range}}}"#
            ),
            &[0u8; 12],
        );
        reject(
            &f,
            tag,
            fk_status::FK_ERR_CORRUPT_FILE,
            ErrorKind::CorruptFile,
            "malformed",
        );
    }
    let size = linear_file(
        r#""layers.0.weight":{"dtype":"F32","shape":[1,1],"data_offsets":[0,8]},
           "layers.0.bias":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}"#,
        &[0u8; 12],
    );
    reject(
        &size,
        "size",
        fk_status::FK_ERR_CORRUPT_FILE,
        ErrorKind::CorruptFile,
        "malformed",
    );
    // 2^62 * 2^2 elements of 32 bits: the byte count overflows 64 bits.
    let overflow = linear_file(
        r#""layers.0.weight":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]},
           "layers.0.bias":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#,
        &le(&[0.5]),
    );
    reject(
        &overflow,
        "overflow",
        fk_status::FK_ERR_CORRUPT_FILE,
        ErrorKind::CorruptFile,
        "malformed",
    );
}

/// Every dtype but F32 is `WrongDtype`, with a byte range of the right size
/// for its own type (so only the dtype is wrong): F64 and BF16 would give
/// 2x or 0.5x as many f32 values, I32 and U32 exactly as many.
#[test]
fn every_dtype_but_f32_is_wrong_dtype() {
    for (dtype, bytes) in [
        ("F64", 8),
        ("BF16", 2),
        ("F16", 2),
        ("I32", 4),
        ("U32", 4),
        ("U8", 1),
    ] {
        let f = linear_file(
            &format!(
                r#""layers.0.weight":{{"dtype":"{dtype}","shape":[1,1],"data_offsets":[0,{bytes}]}},
                   "layers.0.bias":{{"dtype":"F32","shape":[1],"data_offsets":[{bytes},{}]}}"#,
                bytes + 4
            ),
            &vec![0u8; bytes + 4],
        );
        reject(
            &f,
            dtype,
            fk_status::FK_ERR_WRONG_DTYPE,
            ErrorKind::WrongDtype,
            "layers.0.weight",
        );
    }
}

/// Shapes are compared entry by entry: a transposed weight, a flattened one
/// and a bias of rank 2 have the right element count and are `WrongShape`.
#[test]
fn same_element_count_other_shape_is_wrong_shape() {
    let arch = r#"{"in_dim":2,"encoding":{"type":"identity"},
        "layers":[{"out_dim":1,"activation":"identity"}]}"#;
    for (tag, w_shape, b_shape, name) in [
        ("transposed", "[2,1]", "[1]", "layers.0.weight"),
        ("flat", "[2]", "[1]", "layers.0.weight"),
        ("bias-rank", "[1,2]", "[1,1]", "layers.0.bias"),
    ] {
        let f = raw_file(
            &format!(
                r#"{{{},"layers.0.weight":{{"dtype":"F32","shape":{w_shape},"data_offsets":[0,8]}},
                   "layers.0.bias":{{"dtype":"F32","shape":{b_shape},"data_offsets":[8,12]}}}}"#,
                meta(arch)
            ),
            &le(&[1.0, 2.0, 3.0]),
        );
        reject(
            &f,
            tag,
            fk_status::FK_ERR_WRONG_SHAPE,
            ErrorKind::WrongShape,
            name,
        );
    }
}

/// Only `"schema_version": "1"` is read: absent, "10", "1.0", "01", " 1"
/// and "" are `UnknownSchema`; so is another `format`.
#[test]
fn schema_version_must_be_exactly_one() {
    let tensors = r#""layers.0.weight":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},
           "layers.0.bias":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}"#;
    let arch = serde_json::to_string(LINEAR).unwrap();
    let data = le(&[2.0, 0.5]);
    let mut cases = vec![(
        "no-version".to_string(),
        format!(r#"{{"format":"fieldkern.nf","architecture":{arch}}}"#),
        "schema_version",
    )];
    for v in ["10", "1.0", "01", " 1", ""] {
        cases.push((
            format!("version[{v}]"),
            format!(r#"{{"format":"fieldkern.nf","schema_version":"{v}","architecture":{arch}}}"#),
            "schema_version",
        ));
    }
    cases.push((
        "format".to_string(),
        format!(r#"{{"format":"fieldkern.nf2","schema_version":"1","architecture":{arch}}}"#),
        "format",
    ));
    for (tag, m, mentions) in cases {
        let f = raw_file(&format!(r#"{{"__metadata__":{m},{tensors}}}"#), &data);
        reject(
            &f,
            &tag,
            fk_status::FK_ERR_UNKNOWN_SCHEMA,
            ErrorKind::UnknownSchema,
            mentions,
        );
    }
}

/// A required tensor that is absent is `CorruptFile` naming it: a layer's
/// bias (bias defaults to true), the Fourier matrix, a FiLM tensor.
#[test]
fn each_required_tensor_missing_is_corrupt_file() {
    let no_bias = linear_file(
        r#""layers.0.weight":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]}"#,
        &le(&[2.0]),
    );
    reject(
        &no_bias,
        "no-bias",
        fk_status::FK_ERR_CORRUPT_FILE,
        ErrorKind::CorruptFile,
        "layers.0.bias",
    );
    let fourier = r#"{"in_dim":1,"encoding":{"type":"fourier","n_frequencies":1},
        "layers":[{"out_dim":1,"activation":"identity","bias":false}]}"#;
    let no_b = raw_file(
        &format!(
            r#"{{{},"layers.0.weight":{{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}}}"#,
            meta(fourier)
        ),
        &le(&[1.0, 1.0]),
    );
    reject(
        &no_b,
        "no-B",
        fk_status::FK_ERR_CORRUPT_FILE,
        ErrorKind::CorruptFile,
        "encoding.B",
    );
    let film = r#"{"in_dim":1,"encoding":{"type":"identity"},"latent_dim":1,"film":[{"layer":0}],
        "layers":[{"out_dim":1,"activation":"identity","bias":false}]}"#;
    let no_film_bias = raw_file(
        &format!(
            r#"{{{},"layers.0.weight":{{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]}},
               "film.0.weight":{{"dtype":"F32","shape":[2,1],"data_offsets":[4,12]}}}}"#,
            meta(film)
        ),
        &le(&[1.0, 1.0, 0.0]),
    );
    reject(
        &no_film_bias,
        "no-film-bias",
        fk_status::FK_ERR_CORRUPT_FILE,
        ErrorKind::CorruptFile,
        "film.0.bias",
    );
}

/// Malformed architecture text: not JSON, not an object, a layer width that
/// is not an integer, a hash-grid table size outside 4..=24 (2^64 rows would
/// overflow the shape) are `CorruptFile`; a header that is not UTF-8 too.
#[test]
fn malformed_architecture_and_header_are_corrupt_file() {
    let data = le(&[2.0, 0.5]);
    let tensors = r#""layers.0.weight":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},
           "layers.0.bias":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}"#;
    for (tag, arch, mentions) in [
        ("not-json", "{\"in_dim\": 1,", "not valid JSON"),
        ("not-object", "[1, 2]", "JSON object"),
        (
            "width-float",
            r#"{"in_dim":1,"encoding":{"type":"identity"},"layers":[{"out_dim":1.5,"activation":"identity"}]}"#,
            "out_dim",
        ),
    ] {
        let f = raw_file(&format!("{{{},{tensors}}}", meta(arch)), &data);
        reject(
            &f,
            tag,
            fk_status::FK_ERR_CORRUPT_FILE,
            ErrorKind::CorruptFile,
            mentions,
        );
    }
    for log2 in [3u32, 25, 63, 64, 100] {
        let arch = format!(
            r#"{{"in_dim":1,"encoding":{{"type":"hash_grid","levels":1,"features":0,"log2_table":{log2},
                "base_resolution":2,"growth":1.5}},"layers":[{{"out_dim":1,"activation":"identity"}}]}}"#
        );
        let f = raw_file(&format!("{{{},{tensors}}}", meta(&arch)), &data);
        reject(
            &f,
            &format!("log2-{log2}"),
            fk_status::FK_ERR_CORRUPT_FILE,
            ErrorKind::CorruptFile,
            "log2_table",
        );
    }
    let mut bad_utf8 = linear_ok();
    bad_utf8[9] = 0xFF; // inside the header text
    reject(
        &bad_utf8,
        "utf8",
        fk_status::FK_ERR_CORRUPT_FILE,
        ErrorKind::CorruptFile,
        "header",
    );
}

/// The width bound is inclusive: `out_dim = MAX_WIDTH` loads (one past it
/// is rejected in `huge_widths_in_zero_byte_tensors_are_invalid_size_not_overflow`).
#[test]
fn width_equal_to_max_width_loads() {
    const MAX: usize = fieldkern::nf::model::MAX_WIDTH;
    let max = MAX;
    let arch = format!(
        r#"{{"in_dim":1,"encoding":{{"type":"identity"}},
            "layers":[{{"out_dim":{max},"activation":"identity","bias":false}}]}}"#
    );
    let f = raw_file(
        &format!(
            r#"{{{},"layers.0.weight":{{"dtype":"F32","shape":[{max},1],"data_offsets":[0,{}]}}}}"#,
            meta(&arch),
            4 * max
        ),
        &le(&[1.0; MAX]),
    );
    let m = model_from_safetensors(&f, 1).unwrap();
    assert_eq!(m.out_dim(), max);
}

/// Architecture errors found when the model is built keep their status
/// through the loader: `skip_layer` equal to the layer count, and a layer
/// FiLM-conditioned twice, are `OutOfRange`.
#[test]
fn skip_layer_past_the_end_and_duplicate_film_are_out_of_range() {
    let skip = r#"{"in_dim":1,"encoding":{"type":"identity"},"skip_layer":2,
        "layers":[{"out_dim":1,"activation":"identity","bias":false},
                  {"out_dim":1,"activation":"identity","bias":false}]}"#;
    let f = raw_file(
        &format!(
            r#"{{{},"layers.0.weight":{{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]}},
               "layers.1.weight":{{"dtype":"F32","shape":[1,1],"data_offsets":[4,8]}}}}"#,
            meta(skip)
        ),
        &le(&[1.0, 1.0]),
    );
    reject(
        &f,
        "skip",
        fk_status::FK_ERR_OUT_OF_RANGE,
        ErrorKind::OutOfRange,
        "skip_layer",
    );
    let film = r#"{"in_dim":1,"encoding":{"type":"identity"},"latent_dim":1,
        "film":[{"layer":0},{"layer":0}],
        "layers":[{"out_dim":1,"activation":"identity","bias":false}]}"#;
    let f = raw_file(
        &format!(
            r#"{{{},"layers.0.weight":{{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]}},
               "film.0.weight":{{"dtype":"F32","shape":[2,1],"data_offsets":[4,12]}},
               "film.0.bias":{{"dtype":"F32","shape":[2],"data_offsets":[12,20]}},
               "film.1.weight":{{"dtype":"F32","shape":[2,1],"data_offsets":[20,28]}},
               "film.1.bias":{{"dtype":"F32","shape":[2],"data_offsets":[28,36]}}}}"#,
            meta(film)
        ),
        &le(&[1.0; 9]),
    );
    reject(
        &f,
        "film-twice",
        fk_status::FK_ERR_OUT_OF_RANGE,
        ErrorKind::OutOfRange,
        "film[1]",
    );
}

/// `count` contiguous U8 tensors of 2^61 - 1 bytes each (the largest a
/// 64-bit bit count allows per tensor) and no data: eight declare data up to
/// byte 2^64 - 8 of the data section, a file far shorter than its ranges, so
/// `TruncatedFile`.
fn huge_ranges_file(count: u64) -> Vec<u8> {
    let size: u64 = (1 << 61) - 1;
    let entries: Vec<String> = (0..count)
        .map(|k| {
            format!(
                r#""t{k}":{{"dtype":"U8","shape":[{size}],"data_offsets":[{},{}]}}"#,
                k * size,
                (k + 1) * size
            )
        })
        .collect();
    raw_file(&format!("{{{},{}}}", meta(LINEAR), entries.join(",")), &[])
}

/// Seven such tensors end below 2^64 - 8 - header: classified normally.
#[test]
fn huge_declared_ranges_below_the_address_limit_are_truncated_file() {
    let f = huge_ranges_file(7);
    reject(
        &f,
        "seven-huge",
        fk_status::FK_ERR_TRUNCATED_FILE,
        ErrorKind::TruncatedFile,
        "ends before",
    );
}

/// Regression (found by a mutation audit, 2026-11-29): safetensors 0.6.2's
/// `SafeTensors::read_metadata` (src/tensor.rs:380, `buffer_end + N_LEN + n
/// != buffer_len`) overflows for declared ranges ending at 2^64 - 8. With
/// overflow checks on (the test and dev profiles, fuzz builds) the loader
/// panicked and `fk_nf_model_load` returned FK_ERR_INTERNAL instead of
/// FK_ERR_TRUNCATED_FILE. The loader now checks the declared end itself
/// first. The test profile has overflow checks, so this test sees the panic
/// if the check goes.
#[test]
fn ranges_ending_at_the_address_limit_are_truncated_file_not_a_panic() {
    let f = huge_ranges_file(8);
    let kind = std::panic::catch_unwind(|| model_from_safetensors(&f, 0).map(|_| ()))
        .map(|r| r.unwrap_err().kind);
    assert_eq!(
        kind.ok(),
        Some(ErrorKind::TruncatedFile),
        "panicked or wrong kind"
    );
    reject(
        &f,
        "eight-huge",
        fk_status::FK_ERR_TRUNCATED_FILE,
        ErrorKind::TruncatedFile,
        "ends before",
    );
}

/// The documented activation defaults: `leaky_relu` without `param` has
/// slope 0.01, `sine` omega_0 = 30; a given `param` is used. One unit,
/// weight 1, no bias: y = a(x). Tolerance 1e-6: the slope cases are exact
/// (x = -2 times the f32 slope), sin(0.3) is a few ulp from the f64 value.
#[test]
fn activation_parameter_defaults_are_the_documented_ones() {
    for (act, x, want) in [
        (r#""activation":"leaky_relu""#, -2.0f32, -0.02f64),
        (r#""activation":"leaky_relu","param":0.2"#, -2.0, -0.4),
        (r#""activation":"sine""#, 0.01, 0.3f64.sin()),
        (r#""activation":"sine","param":2.0"#, 0.25, 0.5f64.sin()),
    ] {
        let arch = format!(
            r#"{{"in_dim":1,"encoding":{{"type":"identity"}},
                "layers":[{{"out_dim":1,{act},"bias":false}}]}}"#
        );
        let f = raw_file(
            &format!(
                r#"{{{},"layers.0.weight":{{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]}}}}"#,
                meta(&arch)
            ),
            &le(&[1.0]),
        );
        let y = f64::from(eval_1d(&f, x));
        assert!((y - want).abs() < 1e-6, "{act}: a({x}) = {y}, want {want}");
    }
}

/// A header length above the safetensors limit (100 MB) is `CorruptFile`
/// whatever the file's length (the documented class: no valid file has such
/// a header, so a short file is not merely truncated).
#[test]
fn a_header_length_above_the_format_limit_is_corrupt_file() {
    for declared in [100_000_001u64, 1 << 40, u64::MAX] {
        let mut f = declared.to_le_bytes().to_vec();
        f.extend_from_slice(br#"{"__metadata__":{}}"#);
        reject(
            &f,
            "huge header length",
            fk_status::FK_ERR_CORRUPT_FILE,
            ErrorKind::CorruptFile,
            "header",
        );
    }
}
