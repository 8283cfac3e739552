//! Header section "Runtime": version, status names, last error, SIMD level,
//! thread count.

use std::ffi::c_char;

use super::boundary::{guard, guard_value, last_error_ptr};
use super::status::fk_status;
use crate::error::{Error, ErrorKind};

/// SIMD capabilities compiled into this build of the library (`fk_simd_info`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct fk_simd_capabilities {
    /// Size of this struct in bytes, so later versions can append fields.
    pub struct_size: u32,
    /// Lanes of the native f32 vector (16 for AVX-512, 8 for AVX2).
    pub f32_lanes: u32,
    /// Lanes of the native f64 vector (8 for AVX-512, 4 for AVX2).
    pub f64_lanes: u32,
    /// 1 if fused multiply-add instructions were compiled in, else 0.
    pub fma: u32,
    /// "avx512", "avx2", "sse2" or "scalar"; a static string, never freed.
    pub level: *const c_char,
}

/// Version of the library actually loaded, as
/// `MAJOR * 10000 + MINOR * 100 + PATCH`. Compare with `FK_VERSION_NUMBER`
/// from the header to detect a header/library mismatch. Thread-safe.
#[no_mangle]
pub extern "C" fn fk_version() -> u32 {
    guard_value("fk_version", 0, crate::version_number)
}

/// Version of the library actually loaded as "MAJOR.MINOR.PATCH"; a static
/// string, never freed. Thread-safe.
#[no_mangle]
pub extern "C" fn fk_version_string() -> *const c_char {
    guard_value("fk_version_string", c"".as_ptr(), || {
        crate::VERSION_CSTR.as_ptr()
    })
}

/// Name of a status value ("FK_OK", "FK_ERR_NULL_POINTER", ...), or
/// "FK_UNKNOWN_STATUS" for a value no fieldkern version defines. Static
/// string, never freed. Thread-safe.
#[no_mangle]
pub extern "C" fn fk_status_str(status: i32) -> *const c_char {
    guard_value("fk_status_str", c"FK_UNKNOWN_STATUS".as_ptr(), || {
        fk_status::ALL
            .iter()
            .find(|s| **s as i32 == status)
            .map_or(c"FK_UNKNOWN_STATUS".as_ptr(), |s| s.name().as_ptr())
    })
}

/// Human-readable message for the last failed fieldkern call on the calling
/// thread: the function, the argument, the index and the value at fault.
/// Empty string if no call has failed on this thread. Successful calls do not
/// clear it. The pointer stays valid until the next failing call on this
/// thread; the library owns it (do not free).
#[no_mangle]
pub extern "C" fn fk_last_error() -> *const c_char {
    guard_value("fk_last_error", c"".as_ptr(), last_error_ptr)
}

/// SIMD level and lane widths compiled into this build. Thread-safe.
#[no_mangle]
pub extern "C" fn fk_simd_info() -> fk_simd_capabilities {
    guard_value(
        "fk_simd_info",
        fk_simd_capabilities {
            struct_size: std::mem::size_of::<fk_simd_capabilities>() as u32,
            f32_lanes: 1,
            f64_lanes: 1,
            fma: 0,
            level: c"scalar".as_ptr(),
        },
        || {
            let caps = crate::simd::capabilities();
            let level = match caps.level {
                "avx512" => c"avx512",
                "avx2" => c"avx2",
                "sse2" => c"sse2",
                _ => c"scalar",
            };
            fk_simd_capabilities {
                struct_size: std::mem::size_of::<fk_simd_capabilities>() as u32,
                f32_lanes: caps.f32_lanes,
                f64_lanes: caps.f64_lanes,
                fma: u32::from(caps.fma),
                level: level.as_ptr(),
            }
        },
    )
}

/// Sets the number of threads of the library's own pool (the calling thread
/// counts as one). 1 starts no worker threads, for MPI codes that own their
/// cores. Default: the `FK_NUM_THREADS` environment variable if it holds an
/// integer in 1..=4096, else the CPUs available to the process. Results are
/// bitwise identical for any thread count.
///
/// Thread-safety: may be called at any time; kernels already running finish
/// on the previous pool.
///
/// Errors: `FK_ERR_OUT_OF_RANGE` if `threads` is not in 1..=4096;
/// `FK_ERR_THREADS` if the operating system refuses to start threads (the
/// previous pool stays in place).
#[no_mangle]
pub extern "C" fn fk_set_num_threads(threads: i32) -> fk_status {
    guard("fk_set_num_threads", || {
        let threads = usize::try_from(threads)
            .ok()
            .filter(|&t| (1..=crate::parallel::MAX_THREADS).contains(&t))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::OutOfRange,
                    format!(
                        "argument `threads` = {threads} must be in 1..={}",
                        crate::parallel::MAX_THREADS
                    ),
                )
            })?;
        crate::parallel::set_num_threads(threads)
    })
}

/// Number of threads of the library's pool (starting it with the default if it
/// does not exist yet). Thread-safe.
#[no_mangle]
pub extern "C" fn fk_get_num_threads() -> i32 {
    guard_value("fk_get_num_threads", 1, || {
        crate::parallel::num_threads() as i32
    })
}
