//! Opaque handles with a type tag: a handle is a boxed `Tagged<T>` whose
//! first field is a per-type magic number, checked on every call, so a NULL,
//! foreign or destroyed handle gives `FK_ERR_WRONG_HANDLE` (or
//! `FK_ERR_NULL_POINTER`) where the library can tell. Destroy overwrites the
//! tag before freeing.

use crate::error::{Error, ErrorKind, Result};

/// Written over the tag by destroy.
const DEAD: u64 = 0xDEAD_DEAD_DEAD_DEAD;

#[repr(C)]
pub(crate) struct Tagged<T> {
    magic: u64,
    pub value: T,
}

/// Boxes `value` behind an opaque handle pointer `*mut O`.
pub(crate) fn into_raw<O, T>(magic: u64, value: T) -> *mut O {
    Box::into_raw(Box::new(Tagged { magic, value })) as *mut O
}

/// # Safety
/// `ptr` must be NULL or point to at least 8 readable, 8-aligned bytes.
unsafe fn check<O>(ptr: *const O, magic: u64, arg: &str, kind: &str) -> Result<()> {
    if ptr.is_null() {
        return Err(Error::new(
            ErrorKind::NullPointer,
            format!("handle `{arg}` is NULL"),
        ));
    }
    if !(ptr as *const u64).is_aligned() {
        return Err(Error::new(
            ErrorKind::WrongHandle,
            format!("`{arg}` = {ptr:p} is not a {kind} handle (misaligned)"),
        ));
    }
    // SAFETY: non-NULL and aligned; the caller promises 8 readable bytes, and
    // every fieldkern handle starts with its u64 tag.
    let tag = unsafe { *(ptr as *const u64) };
    if tag != magic {
        let what = if tag == DEAD {
            "a destroyed handle"
        } else {
            "not a"
        };
        return Err(Error::new(
            ErrorKind::WrongHandle,
            format!("`{arg}` = {ptr:p} is {what} {kind} handle"),
        ));
    }
    Ok(())
}

/// Borrows the value behind a handle after checking its tag.
///
/// # Safety
/// `ptr` must be NULL or point to 8 readable bytes; if the tag matches, it
/// must be a live handle created by `into_raw::<O, T>` with that magic, not
/// used by anyone else during `'a`.
pub(crate) unsafe fn get_mut<'a, O, T>(
    ptr: *mut O,
    magic: u64,
    arg: &str,
    kind: &str,
) -> Result<&'a mut T> {
    // SAFETY: forwarded contract.
    unsafe { check(ptr, magic, arg, kind) }?;
    // SAFETY: the tag identifies a live `Tagged<T>` made by `into_raw`.
    Ok(unsafe { &mut (*(ptr as *mut Tagged<T>)).value })
}

/// Shared borrow; same contract as [`get_mut`] for shared access.
///
/// # Safety
/// As [`get_mut`], with no concurrent mutation during `'a`.
pub(crate) unsafe fn get<'a, O, T>(
    ptr: *const O,
    magic: u64,
    arg: &str,
    kind: &str,
) -> Result<&'a T> {
    // SAFETY: forwarded contract.
    unsafe { check(ptr, magic, arg, kind) }?;
    // SAFETY: the tag identifies a live `Tagged<T>` made by `into_raw`.
    Ok(unsafe { &(*(ptr as *const Tagged<T>)).value })
}

/// Frees a handle: NULL is a no-op; a handle with the wrong tag is left
/// alone and reported as an error.
///
/// # Safety
/// As [`get_mut`]; after success the pointer is dangling.
pub(crate) unsafe fn destroy<O, T>(ptr: *mut O, magic: u64, arg: &str, kind: &str) -> Result<()> {
    if ptr.is_null() {
        return Ok(());
    }
    // SAFETY: forwarded contract.
    unsafe { check(ptr, magic, arg, kind) }?;
    let tagged = ptr as *mut Tagged<T>;
    // SAFETY: a live handle made by `into_raw` (tag checked); overwrite the
    // tag so a later use of the dangling pointer is likely detected, then
    // free it exactly once.
    unsafe {
        (*tagged).magic = DEAD;
        drop(Box::from_raw(tagged));
    }
    Ok(())
}
