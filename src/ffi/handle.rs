//! Common machinery of opaque handles: a type tag (`u64` magic) in front of
//! every handle's value, checked on every call and overwritten on destroy, so
//! a wrong or destroyed handle gives `FK_ERR_WRONG_HANDLE` where detectable;
//! boxing into and out of raw pointers; reading versioned params structs.

use crate::error::{Error, ErrorKind, Result};

/// Magic written over a destroyed handle's tag.
const DESTROYED: u64 = 0xDEAD_DEAD_DEAD_DEAD;

/// The allocation behind every handle pointer: tag first (`repr(C)`), so the
/// tag of any handle kind can be read at offset 0.
#[repr(C)]
struct Tagged<T> {
    magic: u64,
    value: T,
}

/// An opaque C handle type (`fk_<x>`) and the Rust value it stands for.
pub(crate) trait Opaque {
    type Value;
    /// Distinct per handle kind.
    const MAGIC: u64;
    /// The C type name, for error messages.
    const KIND: &'static str;
}

/// Boxes `value` and returns it as an opaque handle pointer.
pub(crate) fn into_raw<H: Opaque>(value: H::Value) -> *mut H {
    Box::into_raw(Box::new(Tagged {
        magic: H::MAGIC,
        value,
    })) as *mut H
}

fn check_tag<H: Opaque>(ptr: *const H, name: &str) -> Result<()> {
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
    // SAFETY: non-NULL and aligned; the caller promises a pointer returned by
    // some fieldkern create function, whose allocation starts with the u64 tag.
    let magic = unsafe { *ptr.cast::<u64>() };
    if magic != H::MAGIC {
        return Err(Error::new(
            ErrorKind::WrongHandle,
            format!(
                "`{name}` = {ptr:p} is not a live {} handle (wrong kind or destroyed)",
                H::KIND
            ),
        ));
    }
    Ok(())
}

/// The value behind a handle, mutably, after checking NULL and the tag.
///
/// # Safety
/// `ptr` must be NULL or a pointer returned by a fieldkern create function
/// (of any kind) not yet freed, and not used by another thread during `'a`.
pub(crate) unsafe fn value_mut<'a, H: Opaque>(ptr: *mut H, name: &str) -> Result<&'a mut H::Value> {
    check_tag(ptr, name)?;
    // SAFETY: the tag says this is a live `Tagged<H::Value>` made by `into_raw`.
    Ok(unsafe { &mut (*(ptr as *mut Tagged<H::Value>)).value })
}

/// The value behind a handle, shared; same checks as [`value_mut`].
///
/// # Safety
/// As for [`value_mut`], for shared access.
pub(crate) unsafe fn value_ref<'a, H: Opaque>(ptr: *const H, name: &str) -> Result<&'a H::Value> {
    check_tag(ptr, name)?;
    // SAFETY: the tag says this is a live `Tagged<H::Value>` made by `into_raw`.
    Ok(unsafe { &(*(ptr as *const Tagged<H::Value>)).value })
}

/// Frees a handle. NULL is a no-op; a pointer whose tag is wrong is left
/// alone (reported as an error, never freed).
///
/// # Safety
/// As for [`value_mut`]; the handle must not be used afterwards.
pub(crate) unsafe fn destroy<H: Opaque>(ptr: *mut H, name: &str) -> Result<()> {
    if ptr.is_null() {
        return Ok(());
    }
    check_tag(ptr, name)?;
    let tagged = ptr as *mut Tagged<H::Value>;
    // SAFETY: a live `Tagged<H::Value>` made by `Box::into_raw` in `into_raw`;
    // the tag is overwritten first so a later use of the dangling pointer is
    // likely (not guaranteed: the memory is freed) to be reported.
    unsafe {
        (*tagged).magic = DESTROYED;
        drop(Box::from_raw(tagged));
    }
    Ok(())
}

/// Writes a new handle to `*out` (checked non-NULL by the caller first).
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
/// # Safety
/// `Self` must be `repr(C)`, `Copy`, valid for any bit pattern of its fields
/// that C can write, with `struct_size: u32` at offset 0.
pub(crate) unsafe trait Params: Copy {
    const NAME: &'static str;
}

/// Reads a params struct after checking NULL, alignment and `struct_size`
/// (must be at least the size this library knows; larger, newer structs are
/// read up to the fields this version knows).
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
    if size < std::mem::size_of::<P>() {
        return Err(Error::new(
            ErrorKind::StructSize,
            format!(
                "{}.struct_size = {size}, this library needs at least {} (initialise with {}_default())",
                P::NAME,
                std::mem::size_of::<P>(),
                P::NAME
            ),
        ));
    }
    // SAFETY: at least size_of::<P>() readable bytes (struct_size checked).
    Ok(unsafe { *p })
}
