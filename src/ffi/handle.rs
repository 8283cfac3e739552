//! The one implementation of opaque C handles used by every header section.
//!
//! * A type tag (`u64` magic, first field, `repr(C)`) checked on every call, so
//!   a handle of the wrong kind or a destroyed one gives `FK_ERR_WRONG_HANDLE`
//!   (a destroyed handle is detected as long as its memory was not reused).
//! * A busy flag claimed for the duration of each call, so one handle used by
//!   two threads at once gives `FK_ERR_BUSY` instead of a data race.
//! * Boxing into and out of raw pointers, output-slot checks, and reading
//!   versioned parameter structs (`struct_size` first).

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::error::{Error, ErrorKind, Result};

/// Tag written over a destroyed handle.
const DESTROYED: u64 = 0xDEAD_DEAD_DEAD_DEAD;

/// The allocation behind every handle pointer: tag first, so the tag of any
/// handle kind can be read at offset 0 before the pointer is trusted.
#[repr(C)]
struct Tagged<T> {
    magic: AtomicU64,
    busy: AtomicBool,
    value: UnsafeCell<T>,
}

/// An opaque C handle type (`fk_<x>`, a Rust struct cbindgen emits as an
/// incomplete type) and the Rust value it stands for.
pub(crate) trait Opaque {
    type Value;
    /// Distinct per handle kind (eight ASCII bytes, e.g. "fkSANDP1").
    const MAGIC: u64;
    /// The C type name, for error messages.
    const KIND: &'static str;
}

/// Boxes `value` and returns it as an opaque handle pointer.
pub(crate) fn into_raw<H: Opaque>(value: H::Value) -> *mut H {
    Box::into_raw(Box::new(Tagged {
        magic: AtomicU64::new(H::MAGIC),
        busy: AtomicBool::new(false),
        value: UnsafeCell::new(value),
    })) as *mut H
}

/// Checks NULL, alignment and the tag; returns the allocation.
///
/// # Safety
/// `ptr` must be NULL or a pointer returned by a fieldkern create function (of
/// any kind), so that at least its first 8 bytes are readable.
unsafe fn tagged<'a, H: Opaque>(ptr: *const H, name: &str) -> Result<&'a Tagged<H::Value>> {
    if ptr.is_null() {
        return Err(Error::new(
            ErrorKind::NullPointer,
            format!("handle `{name}` is NULL"),
        ));
    }
    if !ptr.cast::<u64>().is_aligned() {
        return Err(Error::new(
            ErrorKind::WrongHandle,
            format!("`{name}` = {ptr:p} is not a {} handle", H::KIND),
        ));
    }
    // SAFETY: non-NULL and aligned; every fieldkern handle starts with the
    // atomic u64 tag (repr(C) `Tagged`), which is all we read before checking it.
    let magic = unsafe { &*ptr.cast::<AtomicU64>() }.load(Ordering::Acquire);
    if magic != H::MAGIC {
        let why = if magic == DESTROYED {
            "it was destroyed"
        } else {
            "wrong handle kind"
        };
        return Err(Error::new(
            ErrorKind::WrongHandle,
            format!(
                "`{name}` = {ptr:p} is not a live {} handle ({why})",
                H::KIND
            ),
        ));
    }
    // SAFETY: the tag says this is a live `Tagged<H::Value>` made by `into_raw`.
    Ok(unsafe { &*(ptr as *const Tagged<H::Value>) })
}

/// Exclusive access to a handle's value for the duration of one call; the busy
/// flag is released when the guard drops.
pub(crate) struct Guard<'a, T> {
    busy: &'a AtomicBool,
    value: &'a mut T,
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value
    }
}

impl<T> DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value
    }
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        self.busy.store(false, Ordering::Release);
    }
}

fn claim<'a, T>(t: &'a Tagged<T>, kind: &str) -> Result<Guard<'a, T>> {
    if t.busy
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        return Err(Error::new(
            ErrorKind::Busy,
            format!(
                "this {kind} is being used by another thread (one handle, one thread at a time)"
            ),
        ));
    }
    // SAFETY: the busy flag was false and is now ours, so no other guard (hence
    // no other reference to the value) exists until this one drops.
    let value = unsafe { &mut *t.value.get() };
    Ok(Guard {
        busy: &t.busy,
        value,
    })
}

/// The value behind a handle, exclusively for one call, after checking NULL,
/// the tag and the busy flag.
///
/// # Safety
/// `ptr` must be NULL or a pointer returned by a fieldkern create function (of
/// any kind) and not yet freed.
pub(crate) unsafe fn value_mut<'a, H: Opaque>(
    ptr: *mut H,
    name: &str,
) -> Result<Guard<'a, H::Value>> {
    // SAFETY: forwarded contract.
    claim(unsafe { tagged(ptr, name) }?, H::KIND)
}

/// Read access for one call (getters); same checks as [`value_mut`], and the
/// same exclusivity (a getter racing a step on another thread is reported).
///
/// # Safety
/// As for [`value_mut`].
pub(crate) unsafe fn value_ref<'a, H: Opaque>(
    ptr: *const H,
    name: &str,
) -> Result<Guard<'a, H::Value>> {
    // SAFETY: forwarded contract.
    claim(unsafe { tagged(ptr, name) }?, H::KIND)
}

/// Frees a handle. NULL is a no-op; a pointer whose tag is wrong, or a handle
/// in use by another thread, is left alone and reported.
///
/// # Safety
/// As for [`value_mut`]; the handle must not be used afterwards.
pub(crate) unsafe fn destroy<H: Opaque>(ptr: *mut H, name: &str) -> Result<()> {
    if ptr.is_null() {
        return Ok(());
    }
    // SAFETY: forwarded contract.
    let t = unsafe { tagged(ptr, name) }?;
    drop(claim(t, H::KIND)?);
    t.magic.store(DESTROYED, Ordering::Release);
    // SAFETY: a live `Tagged<H::Value>` made by `Box::into_raw` in `into_raw`,
    // not in use (busy flag was free); the tag was overwritten first so a later
    // use of the dangling pointer is likely (not guaranteed) to be reported.
    drop(unsafe { Box::from_raw(ptr as *mut Tagged<H::Value>) });
    Ok(())
}

/// Writes a new handle to `*out` (checked with [`check_out`] first).
///
/// # Safety
/// `out` must be non-NULL and point to writable `*mut H` storage.
pub(crate) unsafe fn publish<H: Opaque>(out: *mut *mut H, value: H::Value) {
    // SAFETY: the caller checked `out` and owns the storage.
    unsafe { *out = into_raw::<H>(value) };
}

/// Checks an output handle slot before anything is created.
pub(crate) fn check_out<H>(out: *mut *mut H) -> Result<()> {
    if out.is_null() {
        return Err(Error::new(
            ErrorKind::NullPointer,
            "argument `out` (where the new handle is written) is NULL",
        ));
    }
    if !out.is_aligned() {
        return Err(Error::new(
            ErrorKind::Misaligned,
            "argument `out` is not aligned to a pointer",
        ));
    }
    Ok(())
}

/// A params struct whose first field is `uint32_t struct_size`.
///
/// Versioning (ABI.md: later versions add fields without breaking callers):
/// fields are only ever appended, and `FIRST_SIZE` stays the size of the
/// struct's first published layout. A caller compiled against an older
/// header passes a smaller `struct_size`; the fields it does not know take
/// their `defaults()`.
///
/// # Safety
/// `Self` must be `repr(C)`, `Copy`, valid for any bit pattern of its fields
/// that C can write, with `struct_size: u32` at offset 0, and `FIRST_SIZE`
/// must end on a field boundary of its layout.
pub(crate) unsafe trait Params: Copy {
    const NAME: &'static str;
    /// Size of the first published layout (every field added since lies
    /// beyond it).
    const FIRST_SIZE: usize = std::mem::size_of::<Self>();
    /// The values `fk_x_params_default()` returns.
    fn defaults() -> Self;
}

/// Reads a params struct after checking NULL, alignment and `struct_size`:
/// at least the struct's first published size; fields beyond a smaller
/// `struct_size` (a caller built against an older header) take their
/// defaults, and a larger struct from a newer header is read up to the
/// fields this version knows.
///
/// # Safety
/// `p` must be NULL or point to at least `struct_size` readable bytes.
pub(crate) unsafe fn read_params<P: Params>(p: *const P) -> Result<P> {
    if p.is_null() {
        return Err(Error::new(
            ErrorKind::NullPointer,
            format!("argument `params` ({}) is NULL", P::NAME),
        ));
    }
    if !p.is_aligned() {
        return Err(Error::new(
            ErrorKind::Misaligned,
            format!("argument `params` ({}) is misaligned", P::NAME),
        ));
    }
    // SAFETY: non-NULL, aligned; struct_size is the first field (trait contract).
    let size = unsafe { *p.cast::<u32>() } as usize;
    if size < P::FIRST_SIZE {
        return Err(Error::new(
            ErrorKind::StructSize,
            format!(
                "{}.struct_size = {size}, this library needs at least {} (initialise with {}_default())",
                P::NAME,
                P::FIRST_SIZE,
                P::NAME
            ),
        ));
    }
    let mut v = P::defaults();
    let known = size.min(std::mem::size_of::<P>());
    // SAFETY: `p` has `size >= known` readable bytes (caller contract); `v`
    // is a `P`, plain data valid for any bit pattern of its fields (trait
    // contract), and its first `known` bytes are whole fields of the same
    // layout (fields are only appended; `known >= FIRST_SIZE` ends on a
    // field boundary), so overwriting them with the caller's leaves a valid
    // `P`. The regions are distinct (`v` is a local).
    unsafe {
        std::ptr::copy_nonoverlapping(p.cast::<u8>(), (&raw mut v).cast::<u8>(), known);
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(non_camel_case_types)]
    struct fk_test_a;
    impl Opaque for fk_test_a {
        type Value = Vec<u32>;
        const MAGIC: u64 = u64::from_le_bytes(*b"fkTESTA1");
        const KIND: &'static str = "fk_test_a";
    }
    #[allow(non_camel_case_types)]
    struct fk_test_b;
    impl Opaque for fk_test_b {
        type Value = f64;
        const MAGIC: u64 = u64::from_le_bytes(*b"fkTESTB1");
        const KIND: &'static str = "fk_test_b";
    }

    /// Version 2 of a params struct that gained `added` after `b`: the
    /// first layout ended after `b` (16 bytes).
    #[allow(non_camel_case_types)]
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct fk_test_params {
        struct_size: u32,
        a: u32,
        b: f64,
        added: f64,
    }
    // SAFETY: repr(C), Copy, plain numbers, struct_size: u32 first; 16 is
    // the end of `b`.
    unsafe impl Params for fk_test_params {
        const NAME: &'static str = "fk_test_params";
        const FIRST_SIZE: usize = 16;
        fn defaults() -> Self {
            Self {
                struct_size: 24,
                a: 1,
                b: 2.0,
                added: 3.0,
            }
        }
    }

    /// The caller's layout of version 1 (no `added`).
    #[repr(C)]
    struct OldLayout {
        struct_size: u32,
        a: u32,
        b: f64,
    }

    #[test]
    fn params_from_older_and_newer_headers_are_read() {
        // An older caller: the added field takes its default.
        let old = OldLayout {
            struct_size: 16,
            a: 7,
            b: 8.0,
        };
        // SAFETY: `old` has `struct_size` = 16 readable, aligned bytes.
        let v = unsafe { read_params((&raw const old).cast::<fk_test_params>()) }.unwrap();
        assert_eq!((v.a, v.b, v.added), (7, 8.0, 3.0));
        // The current layout: every field read.
        let cur = fk_test_params {
            struct_size: 24,
            a: 4,
            b: 5.0,
            added: 6.0,
        };
        // SAFETY: a whole, aligned `fk_test_params`.
        let v = unsafe { read_params(&raw const cur) }.unwrap();
        assert_eq!(v, cur);
        // A newer caller with one more field: read up to the known fields.
        let newer: [f64; 4] = [f64::from_bits(32), 9.0, 10.0, 11.0];
        // SAFETY: 32 readable, aligned bytes, struct_size = 32 first.
        let v = unsafe { read_params(newer.as_ptr().cast::<fk_test_params>()) }.unwrap();
        assert_eq!((v.a, v.b, v.added), (0, 9.0, 10.0));
        // Smaller than the first layout: refused.
        let short = OldLayout {
            struct_size: 12,
            a: 7,
            b: 8.0,
        };
        // SAFETY: 16 readable, aligned bytes.
        let e = unsafe { read_params((&raw const short).cast::<fk_test_params>()) }.unwrap_err();
        assert_eq!(e.kind, ErrorKind::StructSize);
        assert!(e.message.contains("at least 16"), "{}", e.message);
    }

    #[test]
    fn wrong_kind_busy_and_null_handles_are_reported() {
        let a = into_raw::<fk_test_a>(vec![1, 2, 3]);
        // SAFETY: `a` is a live handle made by `into_raw`.
        unsafe {
            assert_eq!(value_mut(a, "a").unwrap().len(), 3);
            let e = value_mut(a as *mut fk_test_b, "b").err().unwrap();
            assert_eq!(e.kind, ErrorKind::WrongHandle);
            let held = value_mut(a, "a").unwrap();
            assert_eq!(value_ref(a, "a").err().unwrap().kind, ErrorKind::Busy);
            assert_eq!(destroy(a, "a").unwrap_err().kind, ErrorKind::Busy);
            drop(held);
            assert_eq!(
                value_mut::<fk_test_a>(std::ptr::null_mut(), "a")
                    .err()
                    .unwrap()
                    .kind,
                ErrorKind::NullPointer
            );
            destroy(a, "a").unwrap();
            destroy::<fk_test_a>(std::ptr::null_mut(), "a").unwrap();
        }
    }
}
