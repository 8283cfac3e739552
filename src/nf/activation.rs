//! Pointwise activations of the dense layers, evaluated on whole SIMD lanes,
//! with their derivatives for the input-gradient (backward) pass.
//!
//! Conventions follow PyTorch's `torch.nn` modules so exported models evaluate
//! identically: `GELU(approximate="tanh")`, `Softplus(beta=1, threshold=20)`,
//! `LeakyReLU(negative_slope)`, and SIREN's `sin(omega_0 z)` (Sitzmann et al.
//! 2020, "Implicit Neural Representations with Periodic Activation Functions").
//! NaN inputs propagate to NaN outputs (no clamping hides them).

use crate::error::{Error, ErrorKind, Result};
use crate::simd::f32x16;

/// C codes of the activations (`FK_NF_ACT_*` in the header). Fixed forever.
pub mod code {
    pub const IDENTITY: i32 = 0;
    pub const RELU: i32 = 1;
    pub const LEAKY_RELU: i32 = 2;
    pub const SILU: i32 = 3;
    pub const GELU_TANH: i32 = 4;
    pub const TANH: i32 = 5;
    pub const SIGMOID: i32 = 6;
    pub const SOFTPLUS: i32 = 7;
    pub const SINE: i32 = 8;
}

/// One activation function `a(z)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `a(z) = z`.
    Identity,
    /// `a(z) = max(z, 0)`; `a'(0) = 0` as in PyTorch.
    Relu,
    /// `a(z) = z` for `z >= 0`, `slope * z` otherwise (PyTorch default slope 0.01).
    LeakyRelu(f32),
    /// SiLU / swish: `a(z) = z sigmoid(z)`.
    Silu,
    /// GELU, tanh form: `0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))`.
    GeluTanh,
    /// `a(z) = tanh z`.
    Tanh,
    /// `a(z) = 1 / (1 + e^-z)`.
    Sigmoid,
    /// `a(z) = ln(1 + e^z)`, and `z` itself for `z > 20` (PyTorch's threshold).
    Softplus,
    /// SIREN: `a(z) = sin(omega_0 z)`.
    Sine(f32),
}

const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const GELU_CUBIC: f32 = 0.044_715;
const SOFTPLUS_THRESHOLD: f32 = 20.0;

impl Activation {
    /// The activation for C code `code` with its parameter (leaky slope or
    /// SIREN omega_0; ignored by the others).
    pub fn from_code(code: i32, param: f32) -> Result<Activation> {
        let needs_finite = |name: &str| -> Result<f32> {
            if param.is_finite() {
                Ok(param)
            } else {
                Err(Error::new(
                    ErrorKind::NonFinite,
                    format!("{name} parameter = {param} must be finite"),
                ))
            }
        };
        Ok(match code {
            code::IDENTITY => Activation::Identity,
            code::RELU => Activation::Relu,
            code::LEAKY_RELU => Activation::LeakyRelu(needs_finite("leaky relu slope")?),
            code::SILU => Activation::Silu,
            code::GELU_TANH => Activation::GeluTanh,
            code::TANH => Activation::Tanh,
            code::SIGMOID => Activation::Sigmoid,
            code::SOFTPLUS => Activation::Softplus,
            code::SINE => Activation::Sine(needs_finite("sine omega_0")?),
            other => {
                return Err(Error::new(
                    ErrorKind::UnknownEnum,
                    format!("activation = {other} is not a known FK_NF_ACT_* value (0..=8)"),
                ))
            }
        })
    }

    /// The C code and parameter of this activation.
    pub fn code(self) -> (i32, f32) {
        match self {
            Activation::Identity => (code::IDENTITY, 0.0),
            Activation::Relu => (code::RELU, 0.0),
            Activation::LeakyRelu(s) => (code::LEAKY_RELU, s),
            Activation::Silu => (code::SILU, 0.0),
            Activation::GeluTanh => (code::GELU_TANH, 0.0),
            Activation::Tanh => (code::TANH, 0.0),
            Activation::Sigmoid => (code::SIGMOID, 0.0),
            Activation::Softplus => (code::SOFTPLUS, 0.0),
            Activation::Sine(w) => (code::SINE, w),
        }
    }

    /// `a(z)` on 16 lanes.
    #[inline(always)]
    pub fn value(self, z: f32x16) -> f32x16 {
        match self {
            Activation::Identity => z,
            // `z < 0 ? 0 : z` keeps NaN (a max() could drop it).
            Activation::Relu => z.simd_lt(f32x16::ZERO).select(f32x16::ZERO, z),
            Activation::LeakyRelu(s) => z.simd_lt(f32x16::ZERO).select(z * s, z),
            Activation::Silu => z * sigmoid(z),
            Activation::GeluTanh => {
                let t = gelu_inner(z).tanh();
                f32x16::splat(0.5) * z * (f32x16::ONE + t)
            }
            Activation::Tanh => z.tanh(),
            Activation::Sigmoid => sigmoid(z),
            Activation::Softplus => softplus(z),
            Activation::Sine(w) => (z * w).sin_cos().0,
        }
    }

    /// `(a(z), a'(z))` on 16 lanes.
    #[inline(always)]
    pub fn value_and_derivative(self, z: f32x16) -> (f32x16, f32x16) {
        let one = f32x16::ONE;
        match self {
            Activation::Identity => (z, one),
            Activation::Relu => {
                let pos = z.simd_gt(f32x16::ZERO);
                (
                    z.simd_lt(f32x16::ZERO).select(f32x16::ZERO, z),
                    pos.select(one, f32x16::ZERO),
                )
            }
            Activation::LeakyRelu(s) => {
                let neg = z.simd_lt(f32x16::ZERO);
                (neg.select(z * s, z), neg.select(f32x16::splat(s), one))
            }
            Activation::Silu => {
                let s = sigmoid(z);
                (z * s, s * (one + z * (one - s)))
            }
            Activation::GeluTanh => {
                let t = gelu_inner(z).tanh();
                let half = f32x16::splat(0.5);
                let du =
                    f32x16::splat(SQRT_2_OVER_PI) * (one + f32x16::splat(3.0 * GELU_CUBIC) * z * z);
                (
                    half * z * (one + t),
                    half * (one + t) + half * z * (one - t * t) * du,
                )
            }
            Activation::Tanh => {
                let t = z.tanh();
                (t, one - t * t)
            }
            Activation::Sigmoid => {
                let s = sigmoid(z);
                (s, s * (one - s))
            }
            Activation::Softplus => {
                let big = z.simd_gt(f32x16::splat(SOFTPLUS_THRESHOLD));
                (softplus(z), big.select(one, sigmoid(z)))
            }
            Activation::Sine(w) => {
                let (s, c) = (z * w).sin_cos();
                (s, c * w)
            }
        }
    }
}

#[inline(always)]
fn sigmoid(z: f32x16) -> f32x16 {
    f32x16::ONE / (f32x16::ONE + (-z).exp())
}

#[inline(always)]
fn gelu_inner(z: f32x16) -> f32x16 {
    f32x16::splat(SQRT_2_OVER_PI) * (z + f32x16::splat(GELU_CUBIC) * z * z * z)
}

#[inline(always)]
fn softplus(z: f32x16) -> f32x16 {
    let big = z.simd_gt(f32x16::splat(SOFTPLUS_THRESHOLD));
    // ln(1 + e^z); lanes above the threshold (where e^z may overflow) take z.
    let small = z.exp().ln_1p();
    big.select(z, small)
}
