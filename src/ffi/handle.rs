//! Common machinery of opaque handles: a type tag (`u64` magic) checked on
//! every call and overwritten by destroy, so a wrong or destroyed handle is
//! reported as `FK_ERR_WRONG_HANDLE` wherever the memory is still readable.
//!
//! Every handle type is a newtype around [`Tagged<T>`] (`#[repr(C)]`, magic
//! first), so the tag sits at offset 0 of every handle.

use crate::error::{Error, ErrorKind, Result};

/// Tag written over a destroyed handle's magic.
const DEAD: u64 = 0xDEAD_DEAD_DEAD_DEAD;

/// A value with its type tag first.
#[repr(C)]
pub(crate) struct Tagged<T> {
    magic: u64,
    pub(crate) inner: T,
}

impl<T> Tagged<T> {
    pub(crate) fn new(magic: u64, inner: T) -> Self {
        Self { magic, inner }
    }
}

/// A handle type: a newtype around `Tagged<Inner>` with a unique magic.
pub(crate) trait Handle: Sized {
    type Inner;
    const MAGIC: u64;
    const NAME: &'static str;
    fn tagged(&mut self) -> &mut Tagged<Self::Inner>;
    fn wrap(t: Tagged<Self::Inner>) -> Self;
}

/// Boxes `inner` into a new handle and returns the raw pointer for C.
pub(crate) fn into_raw<H: Handle>(inner: H::Inner) -> *mut H {
    Box::into_raw(Box::new(H::wrap(Tagged::new(H::MAGIC, inner))))
}

/// Borrows the handle at `ptr` after checking NULL and its tag.
///
/// # Safety
/// `ptr` must be NULL or point to readable memory of at least 8 bytes; if its
/// tag matches, it must be a live `H` created by [`into_raw`] not used
/// elsewhere during the call.
pub(crate) unsafe fn get<'a, H: Handle + 'a>(ptr: *mut H, arg: &str) -> Result<&'a mut H::Inner> {
    if ptr.is_null() {
        return Err(Error::new(
            ErrorKind::NullPointer,
            format!("handle `{arg}` is NULL"),
        ));
    }
    // SAFETY: every handle starts with a u64 tag (Tagged is repr(C) and the
    // newtype has a single field); the caller guarantees readability.
    let magic = unsafe { (ptr as *const u64).read() };
    if magic != H::MAGIC {
        let what = if magic == DEAD {
            "was already destroyed"
        } else {
            "is not one"
        };
        return Err(Error::new(
            ErrorKind::WrongHandle,
            format!("handle `{arg}` {what} ({} expected)", H::NAME),
        ));
    }
    // SAFETY: the tag matches, so this is a live H from `into_raw`, exclusively
    // ours for the call (header contract: one thread per handle).
    Ok(unsafe { &mut (*ptr).tagged().inner })
}

/// Frees a handle (NULL is a no-op); a wrong or destroyed handle is an error.
///
/// # Safety
/// As for [`get`]; after success the pointer is dangling.
pub(crate) unsafe fn destroy<H: Handle>(ptr: *mut H, arg: &str) -> Result<()> {
    if ptr.is_null() {
        return Ok(());
    }
    // SAFETY: same contract as `get`.
    unsafe { get::<H>(ptr, arg) }?;
    // SAFETY: the tag matched: `ptr` came from Box::into_raw in `into_raw`.
    let mut b = unsafe { Box::from_raw(ptr) };
    // Overwrite the tag before freeing: a later call with this dangling
    // pointer usually still reads DEAD (the allocator rarely reuses the first
    // word at once), which gives a clear error instead of silent corruption.
    b.tagged().magic = DEAD;
    drop(b);
    Ok(())
}

/// Checks the `struct_size` of a params struct: at least the size of the
/// first version, at most this library's.
pub(crate) fn check_struct_size(got: u32, current: usize, name: &str) -> Result<()> {
    if got as usize != current {
        return Err(Error::new(
            ErrorKind::StructSize,
            format!(
                "{name}.struct_size = {got} but this library expects {current}; \
                 initialise it with {name}_default()"
            ),
        ));
    }
    Ok(())
}
