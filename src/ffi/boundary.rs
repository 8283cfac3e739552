//! The one boundary every export goes through: panic guard, error-to-status
//! mapping, the thread-local last-error message, and argument checks that turn
//! raw pointers into slices.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::status::fk_status;
use crate::error::{Error, ErrorKind, Result};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: String) {
    // Interior NULs cannot appear in a C string; replace them.
    let message = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = message);
}

/// Pointer to the calling thread's last error message (empty if none). Valid
/// until the next failing fieldkern call on this thread.
pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR.with(|slot| slot.borrow().as_ptr())
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "non-string panic payload"
    }
}

/// Runs the body of a fallible export: `Ok` gives `FK_OK`; an error sets the
/// thread's last-error message (prefixed by the function name) and returns its
/// status; a panic is caught (never unwinds into C) and returns
/// `FK_ERR_INTERNAL`.
pub(crate) fn guard(function: &'static str, body: impl FnOnce() -> Result<()>) -> fk_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => fk_status::FK_OK,
        Ok(Err(e)) => {
            set_last_error(format!("{function}: {}", e.message));
            e.kind.into()
        }
        Err(payload) => {
            set_last_error(format!(
                "{function}: internal error (Rust panic: {}); please report it",
                panic_message(payload.as_ref())
            ));
            fk_status::FK_ERR_INTERNAL
        }
    }
}

/// Runs the body of an infallible export (getters); a panic returns
/// `fallback` and sets the last-error message.
pub(crate) fn guard_value<T>(function: &'static str, fallback: T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(v) => v,
        Err(payload) => {
            set_last_error(format!(
                "{function}: internal error (Rust panic: {})",
                panic_message(payload.as_ref())
            ));
            fallback
        }
    }
}

fn check_pointer<T>(ptr: *const T, n: usize, name: &str) -> Result<()> {
    if ptr.is_null() {
        return Err(Error::new(
            ErrorKind::NullPointer,
            format!("argument `{name}` is NULL but n = {n}"),
        ));
    }
    if !ptr.is_aligned() {
        return Err(Error::new(
            ErrorKind::Misaligned,
            format!(
                "argument `{name}` = {ptr:p} is not aligned to {} bytes",
                std::mem::align_of::<T>()
            ),
        ));
    }
    if n.checked_mul(std::mem::size_of::<T>())
        .is_none_or(|b| b > isize::MAX as usize)
    {
        return Err(Error::new(
            ErrorKind::InvalidSize,
            format!("argument `{name}`: n = {n} elements exceed the address space"),
        ));
    }
    Ok(())
}

/// Borrows `n` elements at `ptr` mutably. `n = 0` gives an empty slice
/// whatever `ptr` is; otherwise NULL and misaligned pointers are errors.
///
/// # Safety
/// If `n > 0` and `ptr` is non-NULL, `ptr` must point to `n` initialised `T`
/// that nothing else accesses for the lifetime `'a` (the call).
pub(crate) unsafe fn slice_mut<'a, T>(ptr: *mut T, n: usize, name: &str) -> Result<&'a mut [T]> {
    if n == 0 {
        return Ok(&mut []);
    }
    check_pointer(ptr, n, name)?;
    // SAFETY: non-NULL, aligned, size fits isize (checked above); validity and
    // exclusivity for `n` elements are the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, n) })
}

/// Borrows `n` elements at `ptr` immutably; same rules as [`slice_mut`].
///
/// # Safety
/// If `n > 0` and `ptr` is non-NULL, `ptr` must point to `n` initialised `T`
/// not mutated for the lifetime `'a` (the call).
#[allow(dead_code)]
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, n: usize, name: &str) -> Result<&'a [T]> {
    if n == 0 {
        return Ok(&[]);
    }
    check_pointer(ptr, n, name)?;
    // SAFETY: as in `slice_mut`, for shared access.
    Ok(unsafe { std::slice::from_raw_parts(ptr, n) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last_error() -> String {
        // SAFETY: the pointer is to this thread's live CString.
        unsafe { CStr::from_ptr(last_error_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_inside_an_export_becomes_fk_err_internal_with_a_message() {
        let status = guard("fk_test_panics", || panic!("deliberate test panic"));
        assert_eq!(status, fk_status::FK_ERR_INTERNAL);
        let msg = last_error();
        assert!(
            msg.contains("fk_test_panics") && msg.contains("deliberate test panic"),
            "{msg}"
        );
    }

    #[test]
    fn an_error_sets_status_and_message_naming_the_function() {
        let status = guard("fk_test_fails", || {
            Err(Error::new(
                ErrorKind::OutOfRange,
                "argument `dt` = -1 must be > 0",
            ))
        });
        assert_eq!(status, fk_status::FK_ERR_OUT_OF_RANGE);
        assert_eq!(
            last_error(),
            "fk_test_fails: argument `dt` = -1 must be > 0"
        );
    }

    #[test]
    fn guard_value_returns_the_fallback_on_panic() {
        assert_eq!(guard_value("fk_test_getter", -1, || panic!("x")), -1);
    }

    #[test]
    fn null_and_misaligned_pointers_are_rejected_and_zero_length_is_fine() {
        // SAFETY: n = 0 never dereferences.
        assert!(unsafe { slice_mut::<f64>(std::ptr::null_mut(), 0, "out") }.is_ok());
        // SAFETY: a NULL pointer is rejected before any dereference.
        let e = unsafe { slice_mut::<f64>(std::ptr::null_mut(), 3, "out") }.unwrap_err();
        assert_eq!(e.kind, ErrorKind::NullPointer);
        assert!(e.message.contains("`out`"));
        let mut buf = [0u64; 4];
        let odd = (buf.as_mut_ptr() as *mut u8).wrapping_add(1) as *mut f64;
        // SAFETY: a misaligned pointer is rejected before any dereference.
        let e = unsafe { slice_mut::<f64>(odd, 2, "out") }.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Misaligned);
    }
}
