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
