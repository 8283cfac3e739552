//! Lane types and vector math. Kernels are written against the aliases here so
//! that one build targets one width: 512-bit lanes when the build enables
//! AVX-512 (`target-cpu=native` on this machine), 256-bit with AVX2, else 128.
//!
//! Results never depend on the width: every lane computes the same elementwise
//! function, and tails are computed as full, padded vectors.

pub mod checkerboard;
pub mod neighbour_scan;
pub mod prefetch;
pub mod rsqrt;
pub mod trig;
pub mod widening;

pub use wide::{f32x16, f32x8, f64x4, f64x8, u32x16, u32x8, u64x4, u64x8};

/// What the build compiled in; see `fk_simd_info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimdCapabilities {
    /// "avx512", "avx2", "sse2" or "scalar".
    pub level: &'static str,
    /// Lanes of the native f32 vector.
    pub f32_lanes: u32,
    /// Lanes of the native f64 vector.
    pub f64_lanes: u32,
    /// Whether fused multiply-add instructions were compiled in.
    pub fma: bool,
}

/// The SIMD level this build was compiled for.
pub const fn capabilities() -> SimdCapabilities {
    let fma = cfg!(target_feature = "fma");
    if cfg!(target_feature = "avx512f") {
        SimdCapabilities {
            level: "avx512",
            f32_lanes: 16,
            f64_lanes: 8,
            fma,
        }
    } else if cfg!(target_feature = "avx2") {
        SimdCapabilities {
            level: "avx2",
            f32_lanes: 8,
            f64_lanes: 4,
            fma,
        }
    } else if cfg!(target_feature = "sse2") {
        SimdCapabilities {
            level: "sse2",
            f32_lanes: 4,
            f64_lanes: 2,
            fma,
        }
    } else {
        SimdCapabilities {
            level: "scalar",
            f32_lanes: 1,
            f64_lanes: 1,
            fma,
        }
    }
}
