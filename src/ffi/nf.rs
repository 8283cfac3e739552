//! Header section "Neural fields": fused SIMD forward passes of trained MLP
//! fields (encoding + dense stack), their input gradients and Jacobians.
//!
//! A model is built from a description with caller-owned weights
//! (`fk_nf_model_create`). Inputs are row-major `[n][in_dim]`, outputs
//! `[n][out_dim]`, computed in `float`; the `_f64` entry points convert per
//! tile (no allocation). Calls are parallel on the library's pool and
//! bitwise identical for any thread count and any split of the batch.
//! NaN inputs are not rejected: they propagate to NaN outputs of that point
//! only (checking every input would cost a pass over the batch).

use std::ffi::{c_char, CStr};
use std::os::unix::ffi::OsStrExt;

use super::boundary::{guard, guard_value, slice, slice_mut};
use super::handle::{self, Opaque, Params};
use super::status::fk_status;
use crate::error::{Error, ErrorKind, Result};
use crate::nf::egnn::{Egnn, EgnnSpec};
use crate::nf::hashgrid::HashGrid;
use crate::nf::model::FilmSpec;
use crate::nf::model::{layer_input_dims, MAX_LAYERS, MAX_WIDTH};
use crate::nf::render::{RenderParams, Renderer};
use crate::nf::{Activation, Encoding, LayerSpec, Model, ModelSpec, Scalar};

/// Activation `a(z) = z`.
pub const FK_NF_ACT_IDENTITY: i32 = 0;
/// `max(z, 0)`.
pub const FK_NF_ACT_RELU: i32 = 1;
/// `z >= 0 ? z : slope z`, slope = `activation_param` (PyTorch default 0.01).
pub const FK_NF_ACT_LEAKY_RELU: i32 = 2;
/// SiLU: `z / (1 + e^-z)`.
pub const FK_NF_ACT_SILU: i32 = 3;
/// GELU, tanh form: `0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))`.
pub const FK_NF_ACT_GELU_TANH: i32 = 4;
/// `tanh z`.
pub const FK_NF_ACT_TANH: i32 = 5;
/// `1 / (1 + e^-z)`.
pub const FK_NF_ACT_SIGMOID: i32 = 6;
/// `ln(1 + e^z)` (`z` for `z > 20`, as PyTorch's Softplus).
pub const FK_NF_ACT_SOFTPLUS: i32 = 7;
/// SIREN: `sin(omega_0 z)`, omega_0 = `activation_param` (SIREN uses 30).
pub const FK_NF_ACT_SINE: i32 = 8;

/// Encoding `gamma(x) = x`.
pub const FK_NF_ENC_IDENTITY: i32 = 0;
/// Fourier features `[sin(2 pi B x), cos(2 pi B x)]`, `B` = `fourier_b`
/// (`[n_frequencies][in_dim]`), width `2 n_frequencies`.
pub const FK_NF_ENC_FOURIER: i32 = 1;
/// NeRF positional encoding with `L = n_frequencies` octaves:
/// `[x (if include_input), sin(2^0 pi x), cos(2^0 pi x), ..., cos(2^(L-1) pi x)]`,
/// each a block of `in_dim` entries; width `in_dim (2L + include_input)`.
pub const FK_NF_ENC_POSITIONAL: i32 = 2;
/// Multiresolution hash grid (Instant-NGP), `in_dim` 2 or 3, inputs in
/// `[0, 1]^d`: `hash_levels` levels of `hash_features` features, tables of
/// `2^hash_log2_table` entries, resolutions `floor(hash_base_resolution *
/// hash_growth^l)`; width `hash_levels * hash_features`.
pub const FK_NF_ENC_HASH_GRID: i32 = 3;

/// FiLM conditioning of one dense layer by the latent code `z` (width
/// `latent_dim`): `[gamma; beta] = weight z + bias`, applied as
/// `gamma * (W h + b) + beta` before the layer's activation.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fk_nf_film {
    /// Index of the conditioned dense layer.
    pub layer: usize,
    /// `[2 out_dim][latent_dim]` row-major, gamma rows first (copied at create).
    pub weight: *const f32,
    /// `[2 out_dim]`, or NULL for zero (copied at create).
    pub bias: *const f32,
}

/// One dense layer `h' = a(W h + b)` of a model description.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fk_nf_layer {
    /// Output width (rows of `weight`).
    pub out_dim: usize,
    /// One of `FK_NF_ACT_*`.
    pub activation: i32,
    /// Leaky-ReLU slope or SIREN omega_0; ignored by the other activations.
    pub activation_param: f32,
    /// `[out_dim][in_dim]` row-major, as PyTorch's `nn.Linear.weight`;
    /// `in_dim` is the previous layer's `out_dim` (the encoding width for
    /// layer 0), plus the encoding width for the skip layer. Borrowed for the
    /// model's lifetime (see `fk_nf_model_create`).
    pub weight: *const f32,
    /// `[out_dim]`, or NULL for no bias. Borrowed like `weight`.
    pub bias: *const f32,
}

/// Description of a neural field for `fk_nf_model_create`. Get defaults from
/// `fk_nf_params_default()`, then set the fields.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fk_nf_params {
    /// `sizeof(fk_nf_params)`, set by `fk_nf_params_default`.
    pub struct_size: u32,
    /// Input dimension `d` (coordinates per point).
    pub in_dim: usize,
    /// One of `FK_NF_ENC_*` (default `FK_NF_ENC_IDENTITY`).
    pub encoding: i32,
    /// Fourier: rows of `B`; positional: octaves `L`; else ignored.
    pub n_frequencies: usize,
    /// Fourier matrix `B`, `[n_frequencies][in_dim]` row-major (copied at create).
    pub fourier_b: *const f32,
    /// Positional encoding: 1 to include `x` itself (default 1).
    pub include_input: i32,
    /// 0: no skip connection; `k >= 1`: layer `k`'s input is
    /// `[gamma(x), h_{k-1}]` (encoded input first, as in NeRF).
    pub skip_layer: usize,
    /// Number of dense layers (the last one's `out_dim` is the field's output).
    pub n_layers: usize,
    /// `n_layers` layer descriptions (the array is copied at create; the
    /// weights it points to are borrowed).
    pub layers: *const fk_nf_layer,
    /// Workspaces = most tasks one call is split into; 0 = default (16), at
    /// most 64. More slots than threads balance load; results do not depend on it.
    pub task_slots: usize,
    /// Latent code width `K` (default 0): each input point is then
    /// `[x (in_dim), z (K)]` and the evaluation calls take
    /// `in_dim + latent_dim` inputs per point (derivatives cover both).
    pub latent_dim: usize,
    /// 1: concatenate `z` to the encoded input (`[gamma(x), z]`, for layer 0
    /// and the skip layer, whose weights widen by `latent_dim` columns).
    pub latent_concat: i32,
    /// Number of FiLM-conditioned layers (`film` entries).
    pub n_film: usize,
    /// `n_film` FiLM descriptions, or NULL when `n_film = 0`.
    pub film: *const fk_nf_film,
    /// Hash grid (`FK_NF_ENC_HASH_GRID` only): levels (default 16).
    pub hash_levels: usize,
    /// Features per level (default 2).
    pub hash_features: usize,
    /// log2 of the entries per level (default 19).
    pub hash_log2_table: u32,
    /// Coarsest resolution (default 16).
    pub hash_base_resolution: u32,
    /// Per-level growth factor (default 1.447, Instant-NGP's 16 -> 2048).
    pub hash_growth: f32,
    /// `[hash_levels][2^hash_log2_table][hash_features]` (copied at create).
    pub hash_table: *const f32,
}

/// A neural-field model (opaque). Create with `fk_nf_model_create`, free
/// with `fk_nf_model_destroy`.
#[allow(non_camel_case_types)]
pub struct fk_nf_model {
    _opaque: [u8; 0],
}

impl Opaque for fk_nf_model {
    type Value = NfModel;
    const MAGIC: u64 = u64::from_le_bytes(*b"fkNFMOD1");
    const KIND: &'static str = "fk_nf_model";
}

// SAFETY: repr(C), Copy, `struct_size: u32` first; every field is an integer
// or a raw pointer, valid for any bit pattern C can write.
unsafe impl Params for fk_nf_params {
    const NAME: &'static str = "fk_nf_params";
    fn defaults() -> Self {
        fk_nf_params_default()
    }
}

pub(crate) struct NfModel {
    pub(crate) model: Model,
    /// The caller's layer descriptions (borrowed weights), for
    /// `fk_nf_model_update_weights`; empty for models that own their weights.
    borrowed: Vec<fk_nf_layer>,
}

/// Default parameters: `struct_size` set, identity encoding, no layers,
/// `include_input = 1`, no skip connection, default task slots.
#[no_mangle]
pub extern "C" fn fk_nf_params_default() -> fk_nf_params {
    guard_value("fk_nf_params_default", default_params(), default_params)
}

fn default_params() -> fk_nf_params {
    fk_nf_params {
        struct_size: std::mem::size_of::<fk_nf_params>() as u32,
        in_dim: 0,
        encoding: FK_NF_ENC_IDENTITY,
        n_frequencies: 0,
        fourier_b: std::ptr::null(),
        include_input: 1,
        skip_layer: 0,
        n_layers: 0,
        layers: std::ptr::null(),
        task_slots: 0,
        latent_dim: 0,
        latent_concat: 0,
        n_film: 0,
        film: std::ptr::null(),
        hash_levels: 16,
        hash_features: 2,
        hash_log2_table: 19,
        hash_base_resolution: 16,
        hash_growth: 1.447,
        hash_table: std::ptr::null(),
    }
}

/// Layer specs from the caller's layer array.
///
/// # Safety
/// Every non-NULL weight/bias pointer must point to the sizes the layer
/// description implies.
unsafe fn layer_specs<'a>(
    layers: &[fk_nf_layer],
    enc_dim: usize,
    skip_layer: Option<usize>,
) -> Result<Vec<LayerSpec<'a>>> {
    let outs: Vec<usize> = layers.iter().map(|l| l.out_dim).collect();
    let ins = layer_input_dims(enc_dim, skip_layer, &outs);
    let mut specs = Vec::with_capacity(layers.len());
    for (l, (layer, &in_dim)) in layers.iter().zip(&ins).enumerate() {
        let activation = Activation::from_code(layer.activation, layer.activation_param)
            .map_err(|e| Error::new(e.kind, format!("layers[{l}]: {}", e.message)))?;
        let count = layer.out_dim.checked_mul(in_dim).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidSize,
                format!("layers[{l}]: size overflow"),
            )
        })?;
        if count == 0 {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!("layers[{l}]: out_dim = {} must be >= 1", layer.out_dim),
            ));
        }
        // SAFETY: the caller provides out_dim * in_dim floats at `weight`.
        let weight = unsafe { slice(layer.weight, count, &format!("layers[{l}].weight")) }?;
        let bias = if layer.bias.is_null() {
            None
        } else {
            // SAFETY: the caller provides out_dim floats at a non-NULL `bias`.
            Some(unsafe { slice(layer.bias, layer.out_dim, &format!("layers[{l}].bias")) }?)
        };
        specs.push(LayerSpec {
            out_dim: layer.out_dim,
            activation,
            weight,
            bias,
        });
    }
    Ok(specs)
}

/// Creates a model from `params`: validates the description, packs the
/// weights into SIMD panels and allocates one workspace per task slot (all
/// allocation happens here).
///
/// Ownership: the `layers` array and `fourier_b` are copied; the dense
/// weights and biases are **borrowed for the model's lifetime**: they are
/// packed now and read again by `fk_nf_model_update_weights`, so keep them
/// alive (and unchanged, unless you call that function) until
/// `fk_nf_model_destroy`.
///
/// Errors (nothing is created, `*out` untouched): `FK_ERR_NULL_POINTER`
/// (`params`, `out`, `layers`, a weight, or `fourier_b` for Fourier
/// features), `FK_ERR_STRUCT_SIZE`, `FK_ERR_INVALID_SIZE` (zero widths,
/// `in_dim`, `latent_dim` or a layer's `out_dim` above 4096, no layers or
/// more than 64), `FK_ERR_UNKNOWN_ENUM` (activation or encoding code),
/// `FK_ERR_OUT_OF_RANGE` (skip_layer, octaves, task_slots),
/// `FK_ERR_NON_FINITE` (a weight, bias, `B` entry or activation parameter).
///
/// # Safety
/// `params` must point to a valid `fk_nf_params` whose pointers satisfy the
/// sizes above; `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn fk_nf_model_create(
    params: *const fk_nf_params,
    out: *mut *mut fk_nf_model,
) -> fk_status {
    guard("fk_nf_model_create", || {
        handle::check_out(out)?;
        // SAFETY: `params` is NULL or points to a caller's fk_nf_params.
        let p = unsafe { handle::read_params(params) }?;
        // Bound every width before any size arithmetic (widths above
        // MAX_WIDTH would overflow it; the loader applies the same limits).
        if p.in_dim == 0 || p.in_dim > MAX_WIDTH || p.latent_dim > MAX_WIDTH {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "in_dim = {} must be in 1..={MAX_WIDTH}, latent_dim = {} at most {MAX_WIDTH}",
                    p.in_dim, p.latent_dim
                ),
            ));
        }
        if p.n_layers > MAX_LAYERS {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!("n_layers = {} exceeds {MAX_LAYERS}", p.n_layers),
            ));
        }
        let b = if p.encoding == FK_NF_ENC_FOURIER {
            let count = p.n_frequencies.saturating_mul(p.in_dim);
            // SAFETY: the caller provides n_frequencies * in_dim floats at fourier_b.
            Some(unsafe { slice(p.fourier_b, count, "fourier_b") }?)
        } else {
            None
        };
        let encoding = if p.encoding == FK_NF_ENC_HASH_GRID {
            let count = p
                .hash_levels
                .saturating_mul(1usize.checked_shl(p.hash_log2_table).unwrap_or(usize::MAX))
                .saturating_mul(p.hash_features);
            if !(4..=24).contains(&p.hash_log2_table) {
                return Err(Error::new(
                    ErrorKind::OutOfRange,
                    format!("hash_log2_table = {} must be in 4..=24", p.hash_log2_table),
                ));
            }
            // SAFETY: the caller provides the documented table size at hash_table.
            let table = unsafe { slice(p.hash_table, count, "hash_table") }?;
            Encoding::HashGrid(Box::new(HashGrid::new(
                p.in_dim,
                p.hash_levels,
                p.hash_features,
                p.hash_log2_table,
                p.hash_base_resolution,
                p.hash_growth,
                table,
            )?))
        } else {
            Encoding::from_code(
                p.encoding,
                p.in_dim,
                p.n_frequencies,
                b,
                p.include_input != 0,
            )?
        };
        if p.n_layers == 0 {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                "n_layers = 0: a model needs >= 1 layer",
            ));
        }
        // SAFETY: the caller provides n_layers descriptions at `layers`.
        let layers = unsafe { slice(p.layers, p.n_layers, "layers") }?;
        if let Some((l, layer)) = layers
            .iter()
            .enumerate()
            .find(|(_, l)| l.out_dim > MAX_WIDTH)
        {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "layers[{l}].out_dim = {} exceeds {MAX_WIDTH}",
                    layer.out_dim
                ),
            ));
        }
        let skip_layer = (p.skip_layer != 0).then_some(p.skip_layer);
        let latent_concat = p.latent_concat != 0;
        let enc_dim = encoding.output_dim(p.in_dim) + if latent_concat { p.latent_dim } else { 0 };
        // SAFETY: the weight pointers satisfy the sizes their description implies.
        let specs = unsafe { layer_specs(layers, enc_dim, skip_layer) }?;
        // SAFETY: the caller provides n_film descriptions at `film`.
        let films = unsafe { slice(p.film, p.n_film, "film") }?;
        let mut film = Vec::with_capacity(films.len());
        for (k, f) in films.iter().enumerate() {
            let out = specs.get(f.layer).map_or(0, |l| l.out_dim);
            if out == 0 {
                return Err(Error::new(
                    ErrorKind::OutOfRange,
                    format!(
                        "film[{k}].layer = {} is not a layer index (< {})",
                        f.layer,
                        specs.len()
                    ),
                ));
            }
            let count = (2 * out).saturating_mul(p.latent_dim);
            // SAFETY: the caller provides 2 out_dim * latent_dim floats at `weight`.
            let weight = unsafe { slice(f.weight, count, &format!("film[{k}].weight")) }?;
            let bias = if f.bias.is_null() {
                None
            } else {
                // SAFETY: the caller provides 2 out_dim floats at a non-NULL `bias`.
                Some(unsafe { slice(f.bias, 2 * out, &format!("film[{k}].bias")) }?)
            };
            film.push(FilmSpec {
                layer: f.layer,
                weight,
                bias,
            });
        }
        let model = Model::new(&ModelSpec {
            in_dim: p.in_dim,
            encoding,
            skip_layer,
            layers: specs,
            task_slots: p.task_slots,
            latent_dim: p.latent_dim,
            latent_concat,
            film,
        })?;
        let value = NfModel {
            model,
            borrowed: layers.to_vec(),
        };
        // SAFETY: `out` was checked by `check_out` and is writable (caller contract).
        unsafe { handle::publish(out, value) };
        Ok(())
    })
}

/// Loads a model from a safetensors file written with the fieldkern schema
/// (metadata `format = "fieldkern.nf"`, `schema_version = "1"`, an
/// `architecture` JSON description, F32 tensors `encoding.B`,
/// `layers.{l}.weight`, `layers.{l}.bias`; documented in `src/nf/load.rs`
/// and written by `examples/python/export_torch.py`). The model owns its
/// weights (the file is not kept open). `task_slots` as in `fk_nf_params`
/// (0 = default). Allocates; thread-safe (no shared state).
///
/// Errors (`*out` untouched): `FK_ERR_NULL_POINTER` (`path`, `out`),
/// `FK_ERR_IO` (cannot read), `FK_ERR_TRUNCATED_FILE` (ends inside its
/// header or data), `FK_ERR_CORRUPT_FILE` (malformed header or architecture,
/// missing tensor, trailing bytes), `FK_ERR_UNKNOWN_SCHEMA` (not a fieldkern
/// file, unknown schema version, activation or encoding name),
/// `FK_ERR_WRONG_DTYPE` (a tensor not F32), `FK_ERR_WRONG_SHAPE`, and the
/// `fk_nf_model_create` errors for an invalid architecture.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_nf_model_load(
    path: *const c_char,
    task_slots: usize,
    out: *mut *mut fk_nf_model,
) -> fk_status {
    guard("fk_nf_model_load", || {
        handle::check_out(out)?;
        if path.is_null() {
            return Err(Error::new(
                ErrorKind::NullPointer,
                "argument `path` is NULL",
            ));
        }
        // SAFETY: non-NULL and NUL-terminated (caller contract).
        let bytes = unsafe { CStr::from_ptr(path) }.to_bytes();
        let path = std::path::Path::new(std::ffi::OsStr::from_bytes(bytes));
        let model = crate::nf::load::load_model(path, task_slots)?;
        let value = NfModel {
            model,
            borrowed: Vec::new(),
        };
        // SAFETY: `out` was checked by `check_out` and is writable (caller contract).
        unsafe { handle::publish(out, value) };
        Ok(())
    })
}

/// Frees a model. NULL is a no-op (FK_OK). A pointer that is not a live model
/// is left alone and reported (`FK_ERR_WRONG_HANDLE`; `FK_ERR_BUSY` if in use
/// on another thread). Not thread-safe with other calls on the same model.
///
/// # Safety
/// `model` must be NULL or a handle from `fk_nf_model_create`/`_load`.
#[no_mangle]
pub unsafe extern "C" fn fk_nf_model_destroy(model: *mut fk_nf_model) -> fk_status {
    guard("fk_nf_model_destroy", || {
        // SAFETY: caller contract; the tag is checked first.
        unsafe { handle::destroy::<fk_nf_model>(model, "model") }
    })
}

/// Re-reads the borrowed dense weights and biases of a model made by
/// `fk_nf_model_create` (e.g. after the caller updated them in place) and
/// re-packs them. Allocates nothing. All values are checked first: on error
/// (`FK_ERR_NON_FINITE`) the model keeps its previous weights.
/// `FK_ERR_INVALID_SIZE` for a model that owns its weights (loaded).
///
/// # Safety
/// `model` must be a live model whose borrowed weights are still valid.
#[no_mangle]
pub unsafe extern "C" fn fk_nf_model_update_weights(model: *mut fk_nf_model) -> fk_status {
    guard("fk_nf_model_update_weights", || {
        // SAFETY: caller contract; the tag is checked.
        let mut h = unsafe { handle::value_mut(model, "model") }?;
        if h.borrowed.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                "this model owns its weights (loaded from a file); nothing is borrowed",
            ));
        }
        let (enc_dim, skip) = (h.model.encoded_dim(), h.model.skip_layer());
        // SAFETY: the weights were valid at create and the caller keeps them alive.
        let specs = unsafe { layer_specs(&h.borrowed, enc_dim, skip) }?;
        h.model.set_weights(&specs)
    })
}

/// Writes the model's input and output dimensions.
///
/// # Safety
/// `model` must be a live model; `out_in_dim`, `out_out_dim` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_nf_model_dims(
    model: *const fk_nf_model,
    out_in_dim: *mut usize,
    out_out_dim: *mut usize,
) -> fk_status {
    guard("fk_nf_model_dims", || {
        // SAFETY: caller contract; the tag is checked.
        let h = unsafe { handle::value_ref(model, "model") }?;
        // SAFETY: one writable element each (checked for NULL).
        let a = unsafe { slice_mut(out_in_dim, 1, "out_in_dim") }?;
        // SAFETY: as above.
        let b = unsafe { slice_mut(out_out_dim, 1, "out_out_dim") }?;
        a[0] = h.model.in_dim();
        b[0] = h.model.out_dim();
        Ok(())
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Call {
    Forward,
    Gradient,
    Jacobian,
}

/// The common body of the evaluation exports.
///
/// # Safety
/// Pointers as documented on the exports.
#[allow(clippy::too_many_arguments)]
unsafe fn evaluate<T: Scalar>(
    call: Call,
    model: *mut fk_nf_model,
    n: usize,
    in_dim: usize,
    input: *const T,
    out_dim: usize,
    out: *mut T,
    deriv: *mut T,
) -> Result<()> {
    // SAFETY: caller contract; the tag is checked.
    let mut h = unsafe { handle::value_mut(model, "model") }?;
    let (md, mo) = (h.model.in_dim(), h.model.out_dim());
    if in_dim != md || out_dim != mo {
        return Err(Error::new(
            ErrorKind::InvalidSize,
            format!("in_dim = {in_dim}, out_dim = {out_dim} but the model maps R^{md} -> R^{mo}"),
        ));
    }
    let len = |per: usize, name: &str| {
        n.checked_mul(per).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidSize,
                format!("n = {n} times the `{name}` width overflows"),
            )
        })
    };
    // SAFETY: the caller provides n * in_dim readable elements at `x`.
    let input = unsafe { slice(input, len(md, "x")?, "x") }?;
    // SAFETY: the caller provides n * out_dim writable elements at `out`,
    // not overlapping `x`.
    let out = unsafe { slice_mut(out, len(mo, "out")?, "out") }?;
    match call {
        Call::Forward => h.model.forward(input, out),
        Call::Gradient | Call::Jacobian => {
            let name = if call == Call::Gradient {
                "grad"
            } else {
                "jac"
            };
            // SAFETY: the caller provides n * out_dim * in_dim writable elements.
            let deriv = unsafe { slice_mut(deriv, len(md * mo, name)?, name) }?;
            if call == Call::Gradient {
                h.model.gradient(input, out, deriv)
            } else {
                h.model.jacobian(input, out, deriv)
            }
        }
    }
}

/// Evaluates the field at `n` points: `out[p][o] = f_o(x[p])`; `x` is
/// `[n][in_dim]`, `out` `[n][out_dim]`, row-major `float`. `in_dim` and
/// `out_dim` must equal the model's (a check on the caller's layout).
///
/// Parallel on the library's pool; allocates nothing; bitwise identical for
/// any thread count and any split of the batch into calls. NaN inputs
/// propagate to that point's outputs. One model must not be used by two
/// threads at once (`FK_ERR_BUSY`); distinct models may.
///
/// `n = 0` is a no-op. Errors (outputs untouched): `FK_ERR_NULL_POINTER`,
/// `FK_ERR_WRONG_HANDLE`, `FK_ERR_INVALID_SIZE` (dimension mismatch),
/// `FK_ERR_MISALIGNED`, `FK_ERR_BUSY`.
///
/// # Safety
/// `x` readable and `out` writable for the sizes above, not overlapping.
#[no_mangle]
pub unsafe extern "C" fn fk_nf_forward(
    model: *mut fk_nf_model,
    n: usize,
    in_dim: usize,
    x: *const f32,
    out_dim: usize,
    out: *mut f32,
) -> fk_status {
    guard("fk_nf_forward", || {
        // SAFETY: forwarded header contract.
        unsafe {
            evaluate(
                Call::Forward,
                model,
                n,
                in_dim,
                x,
                out_dim,
                out,
                std::ptr::null_mut(),
            )
        }
    })
}

/// `fk_nf_forward` for `double` arrays: inputs are rounded to `float`, the
/// field is evaluated in `float`, outputs are widened. Same rules.
///
/// # Safety
/// As `fk_nf_forward`.
#[no_mangle]
pub unsafe extern "C" fn fk_nf_forward_f64(
    model: *mut fk_nf_model,
    n: usize,
    in_dim: usize,
    x: *const f64,
    out_dim: usize,
    out: *mut f64,
) -> fk_status {
    guard("fk_nf_forward_f64", || {
        // SAFETY: forwarded header contract.
        unsafe {
            evaluate(
                Call::Forward,
                model,
                n,
                in_dim,
                x,
                out_dim,
                out,
                std::ptr::null_mut(),
            )
        }
    })
}

/// Value and input gradient of a scalar field (`out_dim == 1`), fused with
/// the forward pass: `value[p] = f(x[p])`, `grad[p][d] = df/dx_d (x[p])`,
/// `grad` `[n][in_dim]`. For a potential U, forces are `-grad`. Costs about
/// two forward passes. Same threading, determinism and error rules as
/// `fk_nf_forward`; `FK_ERR_INVALID_SIZE` if the model's `out_dim != 1`.
///
/// # Safety
/// `x` readable, `value` and `grad` writable for the sizes above.
#[no_mangle]
pub unsafe extern "C" fn fk_nf_gradient(
    model: *mut fk_nf_model,
    n: usize,
    in_dim: usize,
    x: *const f32,
    value: *mut f32,
    grad: *mut f32,
) -> fk_status {
    guard("fk_nf_gradient", || {
        // SAFETY: forwarded header contract.
        unsafe { evaluate(Call::Gradient, model, n, in_dim, x, 1, value, grad) }
    })
}

/// `fk_nf_gradient` for `double` arrays (evaluated in `float`).
///
/// # Safety
/// As `fk_nf_gradient`.
#[no_mangle]
pub unsafe extern "C" fn fk_nf_gradient_f64(
    model: *mut fk_nf_model,
    n: usize,
    in_dim: usize,
    x: *const f64,
    value: *mut f64,
    grad: *mut f64,
) -> fk_status {
    guard("fk_nf_gradient_f64", || {
        // SAFETY: forwarded header contract.
        unsafe { evaluate(Call::Gradient, model, n, in_dim, x, 1, value, grad) }
    })
}

/// Values and full Jacobian of a vector field: `out[p][o] = f_o(x[p])`,
/// `jac[p][o][d] = df_o/dx_d (x[p])`, `jac` `[n][out_dim][in_dim]` (e.g. the
/// derivatives of a metric field). One forward and `out_dim` backward passes
/// per tile. Same rules as `fk_nf_forward`.
///
/// # Safety
/// `x` readable, `out` and `jac` writable for the sizes above.
#[no_mangle]
pub unsafe extern "C" fn fk_nf_jacobian(
    model: *mut fk_nf_model,
    n: usize,
    in_dim: usize,
    x: *const f32,
    out_dim: usize,
    out: *mut f32,
    jac: *mut f32,
) -> fk_status {
    guard("fk_nf_jacobian", || {
        // SAFETY: forwarded header contract.
        unsafe { evaluate(Call::Jacobian, model, n, in_dim, x, out_dim, out, jac) }
    })
}

/// `fk_nf_jacobian` for `double` arrays (evaluated in `float`).
///
/// # Safety
/// As `fk_nf_jacobian`.
#[no_mangle]
pub unsafe extern "C" fn fk_nf_jacobian_f64(
    model: *mut fk_nf_model,
    n: usize,
    in_dim: usize,
    x: *const f64,
    out_dim: usize,
    out: *mut f64,
    jac: *mut f64,
) -> fk_status {
    guard("fk_nf_jacobian_f64", || {
        // SAFETY: forwarded header contract.
        unsafe { evaluate(Call::Jacobian, model, n, in_dim, x, out_dim, out, jac) }
    })
}

/// Settings of a ray renderer (`fk_nf_renderer_create`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fk_nf_render_params {
    /// `sizeof(fk_nf_render_params)`, set by `fk_nf_render_params_default`.
    pub struct_size: u32,
    /// Samples per ray (default 64), one per equal bin of `[near, far]`.
    pub samples: usize,
    /// Rays per batched field evaluation (default 64).
    pub rays_per_batch: usize,
    /// 1: stratified jitter within each bin from Philox `(seed, stream)`;
    /// 0 (default): bin midpoints.
    pub jitter: i32,
    /// Jitter key.
    pub seed: u64,
    /// Jitter stream (< 2^48).
    pub stream: u64,
    /// 1 (default): colours through a sigmoid (NeRF); 0: as the field gives them.
    pub colour_sigmoid: i32,
}

/// A ray renderer with its sample buffers (opaque).
#[allow(non_camel_case_types)]
pub struct fk_nf_renderer {
    _opaque: [u8; 0],
}

impl Opaque for fk_nf_renderer {
    type Value = Renderer;
    const MAGIC: u64 = u64::from_le_bytes(*b"fkNFREN1");
    const KIND: &'static str = "fk_nf_renderer";
}

// SAFETY: repr(C), Copy, `struct_size: u32` first; integer fields only.
unsafe impl Params for fk_nf_render_params {
    const NAME: &'static str = "fk_nf_render_params";
    fn defaults() -> Self {
        fk_nf_render_params_default()
    }
}

fn default_render_params() -> fk_nf_render_params {
    fk_nf_render_params {
        struct_size: std::mem::size_of::<fk_nf_render_params>() as u32,
        samples: 64,
        rays_per_batch: 64,
        jitter: 0,
        seed: 0,
        stream: 0,
        colour_sigmoid: 1,
    }
}

/// Default renderer settings: 64 samples per ray, 64 rays per batch,
/// midpoint sampling, sigmoid colours.
#[no_mangle]
pub extern "C" fn fk_nf_render_params_default() -> fk_nf_render_params {
    guard_value(
        "fk_nf_render_params_default",
        default_render_params(),
        default_render_params,
    )
}

/// Creates a renderer: allocates the sample buffers (`rays_per_batch *
/// samples * 8` floats). Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_STRUCT_SIZE`,
/// `FK_ERR_OUT_OF_RANGE` (samples not in 1..=65536, rays_per_batch 0 or
/// `rays_per_batch * samples > 2^24`, stream >= 2^48).
///
/// # Safety
/// `params` must point to a valid `fk_nf_render_params`; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_nf_renderer_create(
    params: *const fk_nf_render_params,
    out: *mut *mut fk_nf_renderer,
) -> fk_status {
    guard("fk_nf_renderer_create", || {
        handle::check_out(out)?;
        // SAFETY: `params` is NULL or points to a caller's struct.
        let p = unsafe { handle::read_params(params) }?;
        if p.stream >= 1 << 48 {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("stream = {} must be < 2^48", p.stream),
            ));
        }
        let renderer = Renderer::new(RenderParams {
            samples: p.samples,
            rays_per_batch: p.rays_per_batch,
            jitter: (p.jitter != 0).then_some((p.seed, p.stream)),
            colour_sigmoid: p.colour_sigmoid != 0,
        })?;
        // SAFETY: `out` checked by `check_out`.
        unsafe { handle::publish(out, renderer) };
        Ok(())
    })
}

/// Frees a renderer; NULL is a no-op; a pointer that is not a live renderer
/// is left alone and reported (`FK_ERR_WRONG_HANDLE`).
///
/// # Safety
/// `renderer` must be NULL or a live renderer.
#[no_mangle]
pub unsafe extern "C" fn fk_nf_renderer_destroy(renderer: *mut fk_nf_renderer) -> fk_status {
    guard("fk_nf_renderer_destroy", || {
        // SAFETY: caller contract; the tag is checked first.
        unsafe { handle::destroy::<fk_nf_renderer>(renderer, "renderer") }
    })
}

/// Volume-renders `n_rays` rays through a radiance field `model` (R^3 ->
/// (sigma, r, g, b)): `rays` is `[n_rays][8]` = origin xyz, direction xyz,
/// near, far (t in units of |direction|); writes `rgb` `[n_rays][3]`,
/// expected termination `depth` `[n_rays]` and `opacity` `[n_rays]`. With
/// `S` samples in equal bins of width `D`: `alpha_i = 1 - exp(-max(sigma_i,
/// 0) D)`, `T_i = prod_{j<i} (1 - alpha_j)`, `rgb = sum T_i alpha_i c_i`,
/// `depth = sum T_i alpha_i t_i`, `opacity = sum T_i alpha_i`. Jitter uses
/// element counter `(counter_offset + ray) S + i` (`counter_offset` = global
/// index of the first ray), so splitting the rays over calls reproduces one
/// call bitwise. Allocates nothing; the field evaluation is parallel;
/// bitwise identical for any thread count.
///
/// Errors (outputs untouched): `FK_ERR_NULL_POINTER`, `FK_ERR_WRONG_HANDLE`,
/// `FK_ERR_BUSY`, `FK_ERR_INVALID_SIZE` (model not R^3 -> R^4),
/// `FK_ERR_NON_FINITE` (a ray entry), `FK_ERR_OUT_OF_RANGE` (far <= near).
///
/// # Safety
/// Live handles; arrays of the sizes above.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn fk_nf_render(
    renderer: *mut fk_nf_renderer,
    model: *mut fk_nf_model,
    n_rays: usize,
    rays: *const f32,
    counter_offset: u64,
    rgb: *mut f32,
    depth: *mut f32,
    opacity: *mut f32,
) -> fk_status {
    guard("fk_nf_render", || {
        // SAFETY: caller contract; tags and busy flags are checked.
        let mut r = unsafe { handle::value_mut(renderer, "renderer") }?;
        // SAFETY: as above.
        let mut m = unsafe { handle::value_mut(model, "model") }?;
        if m.model.in_dim() != 3 || m.model.out_dim() != 4 {
            return Err(Error::new(
                ErrorKind::InvalidSize,
                format!(
                    "a radiance field maps R^3 -> (sigma, r, g, b); this model maps R^{} -> R^{}",
                    m.model.in_dim(),
                    m.model.out_dim()
                ),
            ));
        }
        let len = |k: usize, name: &str| {
            n_rays.checked_mul(k).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidSize,
                    format!("n_rays * {k} overflows (`{name}`)"),
                )
            })
        };
        // SAFETY: the caller provides the documented array sizes.
        let rays = unsafe { slice(rays, len(8, "rays")?, "rays") }?;
        // SAFETY: as above.
        let rgb = unsafe { slice_mut(rgb, len(3, "rgb")?, "rgb") }?;
        // SAFETY: as above.
        let depth = unsafe { slice_mut(depth, n_rays, "depth") }?;
        // SAFETY: as above.
        let opacity = unsafe { slice_mut(opacity, n_rays, "opacity") }?;
        r.render(&mut m.model, rays, counter_offset, rgb, depth, opacity)
    })
}

/// Description of an E(n)-equivariant graph layer (EGNN, Satorras et al.
/// 2021) for `fk_nf_egnn_create`: `m_ij = phi_e(h_i, h_j, |x_i - x_j|^2)`,
/// `x_i' = x_i + coord_scale sum_j (x_i - x_j) phi_x(m_ij)`,
/// `h_i' = phi_h(h_i, sum_j m_ij)` (+ `h_i` with `residual`), over all pairs
/// `j != i` with `|x_i - x_j| <= cutoff`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fk_nf_egnn_params {
    /// `sizeof(fk_nf_egnn_params)`, set by `fk_nf_egnn_params_default`.
    pub struct_size: u32,
    /// Node feature width `F`.
    pub features: usize,
    /// Message width `M`.
    pub message_dim: usize,
    /// Layers of `phi_e` (input `2F + 1`, output `M`).
    pub n_phi_e: usize,
    pub phi_e: *const fk_nf_layer,
    /// Layers of `phi_x` (input `M`, output 1).
    pub n_phi_x: usize,
    pub phi_x: *const fk_nf_layer,
    /// Layers of `phi_h` (input `F + M`, output `F`).
    pub n_phi_h: usize,
    pub phi_h: *const fk_nf_layer,
    /// Interaction cutoff (default: infinity, all pairs).
    pub cutoff: f32,
    /// `C` in the coordinate update (default 1).
    pub coord_scale: f32,
    /// 1 (default): `h' = h + phi_h(...)`.
    pub residual: i32,
    /// Largest node count per call (buffers for all pairs; default 256).
    pub max_nodes: usize,
}

/// An EGNN layer (opaque).
#[allow(non_camel_case_types)]
pub struct fk_nf_egnn {
    _opaque: [u8; 0],
}

impl Opaque for fk_nf_egnn {
    type Value = Egnn;
    const MAGIC: u64 = u64::from_le_bytes(*b"fkNFEGN1");
    const KIND: &'static str = "fk_nf_egnn";
}

// SAFETY: repr(C), Copy, `struct_size: u32` first; integers, floats and pointers.
unsafe impl Params for fk_nf_egnn_params {
    const NAME: &'static str = "fk_nf_egnn_params";
    fn defaults() -> Self {
        fk_nf_egnn_params_default()
    }
}

fn default_egnn_params() -> fk_nf_egnn_params {
    fk_nf_egnn_params {
        struct_size: std::mem::size_of::<fk_nf_egnn_params>() as u32,
        features: 0,
        message_dim: 0,
        n_phi_e: 0,
        phi_e: std::ptr::null(),
        n_phi_x: 0,
        phi_x: std::ptr::null(),
        n_phi_h: 0,
        phi_h: std::ptr::null(),
        cutoff: f32::INFINITY,
        coord_scale: 1.0,
        residual: 1,
        max_nodes: 256,
    }
}

/// Default EGNN settings (no layers: set the three MLPs).
#[no_mangle]
pub extern "C" fn fk_nf_egnn_params_default() -> fk_nf_egnn_params {
    guard_value(
        "fk_nf_egnn_params_default",
        default_egnn_params(),
        default_egnn_params,
    )
}

/// Creates an EGNN layer; the MLP weights are packed (copied) now and not
/// read again. Allocates buffers for `max_nodes (max_nodes - 1)` edges.
/// Errors: `FK_ERR_NULL_POINTER`, `FK_ERR_STRUCT_SIZE`, `FK_ERR_INVALID_SIZE`
/// (widths, an MLP whose output is not `M`, 1 or `F`),
/// `FK_ERR_UNKNOWN_ENUM`, `FK_ERR_NON_FINITE`, `FK_ERR_OUT_OF_RANGE`.
///
/// # Safety
/// `params` valid with its layer arrays and weights; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn fk_nf_egnn_create(
    params: *const fk_nf_egnn_params,
    out: *mut *mut fk_nf_egnn,
) -> fk_status {
    guard("fk_nf_egnn_create", || {
        handle::check_out(out)?;
        // SAFETY: `params` is NULL or points to a caller's struct.
        let p = unsafe { handle::read_params(params) }?;
        let (f, m) = (p.features, p.message_dim);
        // SAFETY: the caller provides n_phi_* layer descriptions.
        let (e, x, h) = unsafe {
            (
                slice(p.phi_e, p.n_phi_e, "phi_e")?,
                slice(p.phi_x, p.n_phi_x, "phi_x")?,
                slice(p.phi_h, p.n_phi_h, "phi_h")?,
            )
        };
        // SAFETY: the weight pointers satisfy the sizes their descriptions imply.
        let (e, x, h) = unsafe {
            (
                layer_specs(e, (2 * f).saturating_add(1), None)?,
                layer_specs(x, m, None)?,
                layer_specs(h, f.saturating_add(m), None)?,
            )
        };
        let egnn = Egnn::new(&EgnnSpec {
            features: f,
            message_dim: m,
            phi_e: e,
            phi_x: x,
            phi_h: h,
            cutoff: p.cutoff,
            coord_scale: p.coord_scale,
            residual: p.residual != 0,
            max_nodes: p.max_nodes,
        })?;
        // SAFETY: `out` checked by `check_out`.
        unsafe { handle::publish(out, egnn) };
        Ok(())
    })
}

/// Frees an EGNN layer; NULL is a no-op; a pointer that is not a live EGNN
/// handle is left alone and reported (`FK_ERR_WRONG_HANDLE`).
///
/// # Safety
/// `egnn` must be NULL or a live EGNN handle.
#[no_mangle]
pub unsafe extern "C" fn fk_nf_egnn_destroy(egnn: *mut fk_nf_egnn) -> fk_status {
    guard("fk_nf_egnn_destroy", || {
        // SAFETY: caller contract; the tag is checked first.
        unsafe { handle::destroy::<fk_nf_egnn>(egnn, "egnn") }
    })
}

/// One EGNN layer on `n` nodes: `x` `[n][3]`, `h` `[n][features]` to `x_out`,
/// `h_out` (same shapes, not overlapping the inputs). Equivariant: rotating,
/// reflecting or translating `x` does the same to `x_out` and leaves `h_out`
/// unchanged (to rounding). Parallel, allocation-free, bitwise identical
/// for any thread count. Errors (outputs untouched): `FK_ERR_NULL_POINTER`,
/// `FK_ERR_WRONG_HANDLE`, `FK_ERR_BUSY`, `FK_ERR_CAPACITY` (`n > max_nodes`),
/// `FK_ERR_NON_FINITE` (an input).
///
/// # Safety
/// Live handle; arrays of the sizes above.
#[no_mangle]
pub unsafe extern "C" fn fk_nf_egnn_forward(
    egnn: *mut fk_nf_egnn,
    n: usize,
    x: *const f32,
    h: *const f32,
    x_out: *mut f32,
    h_out: *mut f32,
) -> fk_status {
    guard("fk_nf_egnn_forward", || {
        // SAFETY: caller contract; tag and busy flag checked.
        let mut g = unsafe { handle::value_mut(egnn, "egnn") }?;
        let nf = n
            .checked_mul(g.features())
            .ok_or_else(|| Error::new(ErrorKind::InvalidSize, format!("n = {n} overflows")))?;
        let n3 = n.saturating_mul(3);
        // SAFETY: the caller provides the documented sizes.
        let (x, h) = unsafe { (slice(x, n3, "x")?, slice(h, nf, "h")?) };
        // SAFETY: as above; outputs do not overlap inputs.
        let (xo, ho) = unsafe {
            (
                slice_mut(x_out, n3, "x_out")?,
                slice_mut(h_out, nf, "h_out")?,
            )
        };
        g.forward(x, h, xo, ho)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nf::{activation, encode};

    #[test]
    fn header_constants_equal_the_core_codes() {
        let act = [
            (FK_NF_ACT_IDENTITY, activation::code::IDENTITY),
            (FK_NF_ACT_RELU, activation::code::RELU),
            (FK_NF_ACT_LEAKY_RELU, activation::code::LEAKY_RELU),
            (FK_NF_ACT_SILU, activation::code::SILU),
            (FK_NF_ACT_GELU_TANH, activation::code::GELU_TANH),
            (FK_NF_ACT_TANH, activation::code::TANH),
            (FK_NF_ACT_SIGMOID, activation::code::SIGMOID),
            (FK_NF_ACT_SOFTPLUS, activation::code::SOFTPLUS),
            (FK_NF_ACT_SINE, activation::code::SINE),
            (FK_NF_ENC_IDENTITY, encode::code::IDENTITY),
            (FK_NF_ENC_FOURIER, encode::code::FOURIER),
            (FK_NF_ENC_POSITIONAL, encode::code::POSITIONAL),
            (FK_NF_ENC_HASH_GRID, encode::code::HASH_GRID),
        ];
        for (c, core) in act {
            assert_eq!(c, core);
        }
    }
}
