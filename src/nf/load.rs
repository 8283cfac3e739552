//! Loading neural-field models from safetensors files
//! (<https://github.com/huggingface/safetensors>: an 8-byte little-endian
//! header length, a JSON header naming every tensor's dtype, shape and byte
//! range, then the raw data), parsed with the `safetensors` crate, whose
//! parser is fuzzed upstream and bounds-checks every offset (except one sum
//! near the address limit, checked here first: see
//! [`model_from_safetensors`]).
//!
//! # Architecture schema, version 1
//! The header's `__metadata__` map (string values) must hold:
//! * `"format": "fieldkern.nf"` and `"schema_version": "1"`;
//! * `"architecture"`: a JSON object
//!   ```json
//!   {"in_dim": 3,
//!    "encoding": {"type": "fourier", "n_frequencies": 48},
//!    "skip_layer": 0,
//!    "layers": [{"out_dim": 64, "activation": "silu"},
//!               {"out_dim": 64, "activation": "sine", "param": 30.0},
//!               {"out_dim": 1, "activation": "identity", "bias": true}]}
//!   ```
//!   `encoding.type` is `identity`, `fourier` (`n_frequencies` = rows of B),
//!   `positional` (`octaves`, optional `include_input`, default true) or
//!   `hash_grid` (`levels`, `features`, `log2_table`, `base_resolution`,
//!   `growth`; tensor `encoding.table` `[levels, 2^log2_table, features]`);
//!   optional `latent_dim` (default 0), `latent_concat` (default false) and
//!   `film`: `[{"layer": l}, ...]` with tensors `film.{k}.weight`
//!   `[2 out_l, latent_dim]` (gamma rows first) and `film.{k}.bias` `[2 out_l]`;
//!   `skip_layer` 0 or absent means none; `activation` is one of `identity`,
//!   `relu`, `leaky_relu`, `silu`, `gelu_tanh`, `tanh`, `sigmoid`,
//!   `softplus`, `sine`; `param` is the leaky slope or SIREN omega_0
//!   (default 0.01 for leaky_relu, 30 for sine); `bias` defaults to true.
//!
//! Tensors, all `F32`: `encoding.B` `[n_frequencies, in_dim]` (Fourier
//! only), `layers.{l}.weight` `[out_dim, in_dim_l]` (PyTorch `nn.Linear`
//! layout), `layers.{l}.bias` `[out_dim]`. Other tensors are ignored.
//!
//! # Errors, one class per failure
//! Unreadable file: `Io`. Shorter than its header or data ranges declare:
//! `TruncatedFile`. Malformed header, a header length above the format's
//! 100 MB limit (whatever the file's length), trailing bytes, missing or
//! malformed architecture, missing tensor: `CorruptFile`. Missing format / unknown
//! schema version / unknown activation or encoding name: `UnknownSchema`.
//! A tensor of another dtype: `WrongDtype`; of another shape: `WrongShape`.
//! A width (`in_dim`, `n_frequencies`, `octaves`, `levels`, `features`,
//! `out_dim`, `latent_dim`) above [`MAX_WIDTH`] or more than [`MAX_LAYERS`]
//! layers: `InvalidSize`, checked before any tensor is read (such a model
//! could not be created anyway, and the bound keeps every derived size, e.g.
//! `2 n_frequencies` or FiLM's `2 out_dim`, far from overflow: a zero-width
//! tensor like `[2^63, 0]` holds no bytes, so the file size bounds nothing).

use safetensors::tensor::{Dtype, Metadata, SafeTensorError};
use safetensors::SafeTensors;
use serde_json::Value;

use super::activation::Activation;
use super::encode::Encoding;
use super::hashgrid::HashGrid;
use super::model::{
    layer_input_dims, FilmSpec, LayerSpec, Model, ModelSpec, MAX_LAYERS, MAX_WIDTH,
};
use crate::error::{Error, ErrorKind, Result};

/// The `format` metadata value of fieldkern neural-field files.
pub const FORMAT: &str = "fieldkern.nf";
/// The schema versions this library reads.
pub const SCHEMA_VERSION: &str = "1";

fn corrupt(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::CorruptFile, msg)
}

/// Parsed description plus owned f32 tensors, from which a model is built.
struct Parsed {
    in_dim: usize,
    encoding_kind: String,
    n_frequencies: usize,
    include_input: bool,
    /// Hash grid: levels, features, log2 table size, base resolution, growth.
    hash: (usize, usize, u32, u32, f32),
    skip_layer: Option<usize>,
    layers: Vec<(usize, Activation, bool)>,
    latent_dim: usize,
    latent_concat: bool,
    /// FiLM-conditioned layer indices, in `film.{k}` order.
    film_layers: Vec<usize>,
}

fn get_usize(v: &Value, key: &str, what: &str) -> Result<usize> {
    v.get(key)
        .and_then(Value::as_u64)
        .and_then(|x| usize::try_from(x).ok())
        .ok_or_else(|| {
            corrupt(format!(
                "architecture: {what}.{key} must be a non-negative integer"
            ))
        })
}

/// [`get_usize`] bounded by [`MAX_WIDTH`] (`InvalidSize` above it).
fn get_width(v: &Value, key: &str, what: &str) -> Result<usize> {
    let x = get_usize(v, key, what)?;
    if x > MAX_WIDTH {
        return Err(Error::new(
            ErrorKind::InvalidSize,
            format!("architecture: {what}.{key} = {x} exceeds the largest width {MAX_WIDTH}"),
        ));
    }
    Ok(x)
}

fn parse_architecture(text: &str) -> Result<Parsed> {
    let arch: Value = serde_json::from_str(text)
        .map_err(|e| corrupt(format!("architecture metadata is not valid JSON: {e}")))?;
    if !arch.is_object() {
        return Err(corrupt("architecture metadata must be a JSON object"));
    }
    let in_dim = get_width(&arch, "in_dim", "architecture")?;
    let enc = arch
        .get("encoding")
        .ok_or_else(|| corrupt("architecture: missing `encoding`"))?;
    let encoding_kind = enc
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| corrupt("architecture: encoding.type must be a string"))?
        .to_string();
    let mut hash = (0, 0, 0, 0, 0.0);
    let (n_frequencies, include_input) = match encoding_kind.as_str() {
        "identity" => (0, true),
        "hash_grid" => {
            let growth = enc
                .get("growth")
                .and_then(Value::as_f64)
                .ok_or_else(|| corrupt("architecture: encoding.growth must be a number"))?;
            let small = |key: &str| -> Result<u32> {
                u32::try_from(get_usize(enc, key, "encoding")?)
                    .map_err(|_| corrupt(format!("architecture: encoding.{key} is too large")))
            };
            hash = (
                get_width(enc, "levels", "encoding")?,
                get_width(enc, "features", "encoding")?,
                small("log2_table")?,
                small("base_resolution")?,
                growth as f32,
            );
            (0, true)
        }
        "fourier" => (get_width(enc, "n_frequencies", "encoding")?, true),
        "positional" => (
            get_width(enc, "octaves", "encoding")?,
            match enc.get("include_input") {
                None => true,
                Some(v) => v.as_bool().ok_or_else(|| {
                    corrupt("architecture: encoding.include_input must be a bool")
                })?,
            },
        ),
        other => {
            return Err(Error::new(
                ErrorKind::UnknownSchema,
                format!("encoding type `{other}` is not in schema version {SCHEMA_VERSION}"),
            ))
        }
    };
    let skip_layer = match arch.get("skip_layer") {
        None | Some(Value::Null) => None,
        Some(_) => Some(get_usize(&arch, "skip_layer", "architecture")?).filter(|&k| k != 0),
    };
    let layers_json = arch
        .get("layers")
        .and_then(Value::as_array)
        .ok_or_else(|| corrupt("architecture: `layers` must be an array"))?;
    if layers_json.len() > MAX_LAYERS {
        return Err(Error::new(
            ErrorKind::InvalidSize,
            format!(
                "architecture: {} layers, at most {MAX_LAYERS}",
                layers_json.len()
            ),
        ));
    }
    let mut layers = Vec::with_capacity(layers_json.len());
    for (l, lj) in layers_json.iter().enumerate() {
        let what = format!("layers[{l}]");
        let out_dim = get_width(lj, "out_dim", &what)?;
        let name = lj
            .get("activation")
            .and_then(Value::as_str)
            .ok_or_else(|| corrupt(format!("architecture: {what}.activation must be a string")))?;
        let param =
            match lj.get("param") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_f64().ok_or_else(|| {
                    corrupt(format!("architecture: {what}.param must be a number"))
                })? as f32),
            };
        let activation = match name {
            "identity" => Activation::Identity,
            "relu" => Activation::Relu,
            "leaky_relu" => Activation::LeakyRelu(param.unwrap_or(0.01)),
            "silu" => Activation::Silu,
            "gelu_tanh" => Activation::GeluTanh,
            "tanh" => Activation::Tanh,
            "sigmoid" => Activation::Sigmoid,
            "softplus" => Activation::Softplus,
            "sine" => Activation::Sine(param.unwrap_or(30.0)),
            other => {
                return Err(Error::new(
                    ErrorKind::UnknownSchema,
                    format!(
                        "{what}: activation `{other}` is not in schema version {SCHEMA_VERSION}"
                    ),
                ))
            }
        };
        let (code, p) = activation.code();
        let activation = Activation::from_code(code, p)
            .map_err(|e| Error::new(e.kind, format!("{what}: {}", e.message)))?;
        let bias = match lj.get("bias") {
            None => true,
            Some(v) => v
                .as_bool()
                .ok_or_else(|| corrupt(format!("architecture: {what}.bias must be a bool")))?,
        };
        layers.push((out_dim, activation, bias));
    }
    let latent_dim = match arch.get("latent_dim") {
        None => 0,
        Some(_) => get_width(&arch, "latent_dim", "architecture")?,
    };
    let latent_concat = match arch.get("latent_concat") {
        None => false,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| corrupt("architecture: latent_concat must be a bool"))?,
    };
    let film_layers = match arch.get("film") {
        None => Vec::new(),
        Some(v) => v
            .as_array()
            .ok_or_else(|| corrupt("architecture: `film` must be an array"))?
            .iter()
            .enumerate()
            .map(|(k, f)| get_usize(f, "layer", &format!("film[{k}]")))
            .collect::<Result<Vec<_>>>()?,
    };
    Ok(Parsed {
        in_dim,
        encoding_kind,
        n_frequencies,
        include_input,
        hash,
        skip_layer,
        layers,
        latent_dim,
        latent_concat,
        film_layers,
    })
}

/// The f32 tensor `name` of shape `shape`, copied out (the data section need
/// not be 4-byte aligned).
fn tensor_f32(meta: &Metadata, data: &[u8], name: &str, shape: &[usize]) -> Result<Vec<f32>> {
    let info = meta
        .info(name)
        .ok_or_else(|| corrupt(format!("tensor `{name}` is missing")))?;
    if info.dtype != Dtype::F32 {
        return Err(Error::new(
            ErrorKind::WrongDtype,
            format!("tensor `{name}` has dtype {:?}, expected F32", info.dtype),
        ));
    }
    if info.shape != shape {
        return Err(Error::new(
            ErrorKind::WrongShape,
            format!(
                "tensor `{name}` has shape {:?}, expected {shape:?}",
                info.shape
            ),
        ));
    }
    // read_metadata checked that every range lies inside the data section.
    let (start, end) = info.data_offsets;
    Ok(data[start..end]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// Builds a model from the bytes of a safetensors file (see the module docs
/// for the schema and the error classes).
pub fn model_from_safetensors(bytes: &[u8], task_slots: usize) -> Result<Model> {
    // safetensors 0.6.2's read_metadata adds the declared data end to the
    // header size unchecked (an overflow panic in builds with overflow
    // checks; fixed upstream in safetensors PR #808): a header declaring
    // data beyond the address space is a truncated file, said here first.
    if let Some(end) = declared_end(bytes).filter(|&e| e > usize::MAX as u128) {
        return Err(ends_before_its_data(bytes, end));
    }
    let (header_len, metadata) =
        SafeTensors::read_metadata(bytes).map_err(|e| classify(e, bytes))?;
    let data = &bytes[8 + header_len..];
    let meta = metadata.metadata().as_ref();
    let get = |key: &str| meta.and_then(|m| m.get(key)).map(String::as_str);
    if get("format") != Some(FORMAT) {
        return Err(Error::new(
            ErrorKind::UnknownSchema,
            format!(
                "metadata `format` is {:?}, expected \"{FORMAT}\" (not a fieldkern neural-field file)",
                get("format")
            ),
        ));
    }
    match get("schema_version") {
        Some(SCHEMA_VERSION) => {}
        other => {
            return Err(Error::new(
                ErrorKind::UnknownSchema,
                format!(
                    "schema_version {other:?} is not known to this library (reads \"{SCHEMA_VERSION}\")"
                ),
            ))
        }
    }
    let arch = parse_architecture(
        get("architecture").ok_or_else(|| corrupt("metadata has no `architecture`"))?,
    )?;
    let b = if arch.encoding_kind == "fourier" {
        tensor_f32(
            &metadata,
            data,
            "encoding.B",
            &[arch.n_frequencies, arch.in_dim],
        )?
    } else {
        Vec::new()
    };
    let encoding = match arch.encoding_kind.as_str() {
        "fourier" => Encoding::fourier(&b, arch.n_frequencies, arch.in_dim)?,
        "positional" => Encoding::positional(arch.n_frequencies, arch.include_input)?,
        "hash_grid" => {
            let (levels, features, log2, base, growth) = arch.hash;
            if !(4..=24).contains(&log2) {
                return Err(corrupt(format!(
                    "encoding.log2_table = {log2} must be in 4..=24"
                )));
            }
            let shape = [levels, 1usize << log2, features];
            let table = tensor_f32(&metadata, data, "encoding.table", &shape)?;
            Encoding::HashGrid(Box::new(HashGrid::new(
                arch.in_dim,
                levels,
                features,
                log2,
                base,
                growth,
                &table,
            )?))
        }
        _ => Encoding::Identity,
    };
    let enc_dim = encoding.output_dim(arch.in_dim)
        + if arch.latent_concat {
            arch.latent_dim
        } else {
            0
        };
    let outs: Vec<usize> = arch.layers.iter().map(|l| l.0).collect();
    let ins = layer_input_dims(enc_dim, arch.skip_layer, &outs);
    let mut tensors = Vec::with_capacity(arch.layers.len());
    for (l, (&(out_dim, _, has_bias), &in_dim)) in arch.layers.iter().zip(&ins).enumerate() {
        let w = tensor_f32(
            &metadata,
            data,
            &format!("layers.{l}.weight"),
            &[out_dim, in_dim],
        )?;
        let b = if has_bias {
            Some(tensor_f32(
                &metadata,
                data,
                &format!("layers.{l}.bias"),
                &[out_dim],
            )?)
        } else {
            None
        };
        tensors.push((w, b));
    }
    let mut film_tensors = Vec::with_capacity(arch.film_layers.len());
    for (k, &l) in arch.film_layers.iter().enumerate() {
        let out = outs.get(l).copied().ok_or_else(|| {
            corrupt(format!(
                "architecture: film[{k}].layer = {l} is not a layer index"
            ))
        })?;
        let w = tensor_f32(
            &metadata,
            data,
            &format!("film.{k}.weight"),
            &[2 * out, arch.latent_dim],
        )?;
        let b = tensor_f32(&metadata, data, &format!("film.{k}.bias"), &[2 * out])?;
        film_tensors.push((l, w, b));
    }
    let spec = ModelSpec {
        in_dim: arch.in_dim,
        encoding,
        skip_layer: arch.skip_layer,
        layers: arch
            .layers
            .iter()
            .zip(&tensors)
            .map(|(&(out_dim, activation, _), (w, b))| LayerSpec {
                out_dim,
                activation,
                weight: w,
                bias: b.as_deref(),
            })
            .collect(),
        task_slots,
        latent_dim: arch.latent_dim,
        latent_concat: arch.latent_concat,
        film: film_tensors
            .iter()
            .map(|(l, w, b)| FilmSpec {
                layer: *l,
                weight: w,
                bias: Some(b),
            })
            .collect(),
    };
    Model::new(&spec)
}

/// The end of the data section a well-formed header declares (8-byte
/// length + header + the largest `data_offsets` end), in `u128` so that no
/// declared value can overflow; `None` if the header cannot be read as JSON.
fn declared_end(bytes: &[u8]) -> Option<u128> {
    let header_len = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let header = bytes.get(8..8usize.checked_add(usize::try_from(header_len).ok()?)?)?;
    let h = serde_json::from_str::<Value>(std::str::from_utf8(header).ok()?).ok()?;
    let data_end = h
        .as_object()?
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .filter_map(|(_, t)| t.get("data_offsets")?.get(1)?.as_u64())
        .max()
        .unwrap_or(0);
    Some(u128::from(data_end) + 8 + u128::from(header_len))
}

fn ends_before_its_data(bytes: &[u8], declared_end: u128) -> Error {
    Error::new(
        ErrorKind::TruncatedFile,
        format!(
            "file of {} bytes ends before its tensor data (the header declares {declared_end})",
            bytes.len()
        ),
    )
}

/// The error class of a safetensors parse failure: a file that ends inside
/// its header, or before the data ranges its header declares, is truncated;
/// anything else is corrupt.
fn classify(e: SafeTensorError, bytes: &[u8]) -> Error {
    match e {
        SafeTensorError::HeaderTooSmall | SafeTensorError::InvalidHeaderLength => {
            return Error::new(
                ErrorKind::TruncatedFile,
                format!("file of {} bytes ends inside its header ({e})", bytes.len()),
            )
        }
        SafeTensorError::MetadataIncompleteBuffer => {}
        other => return corrupt(format!("malformed safetensors header: {other}")),
    }
    // The header parsed and validated; only its data length disagrees with
    // the file's. The declared end tells truncation from trailing bytes.
    let declared_end = declared_end(bytes).unwrap_or(0);
    if declared_end > bytes.len() as u128 {
        ends_before_its_data(bytes, declared_end)
    } else {
        corrupt(format!(
            "{} bytes follow the declared tensor data",
            bytes.len() as u128 - declared_end
        ))
    }
}

/// Reads and loads a model file.
pub fn load_model(path: &std::path::Path, task_slots: usize) -> Result<Model> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot read `{}`: {e}", path.display()),
        )
    })?;
    model_from_safetensors(&bytes, task_slots)
}
