//! Common machinery of opaque C handles: a type tag checked on every call
//! (so a wrong or destroyed handle gives `FK_ERR_WRONG_HANDLE` where the
//! memory still holds the tag), a busy flag (so one handle used by two threads
//! at once gives `FK_ERR_BUSY` instead of a data race), and boxing to and from
//! raw pointers.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::error::{Error, ErrorKind, Result};

/// Tag written over a destroyed handle.
const DESTROYED: u64 = 0xDEAD_DEAD_DEAD_DEAD;

/// A value behind a C handle, with its type tag and busy flag. `repr(C)` keeps
/// the tag at offset 0, so a foreign pointer is read only in its first 8 bytes
/// before it is rejected.
#[repr(C)]
pub(crate) struct Handle<T> {
    magic: AtomicU64,
    busy: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through `acquire`, whose busy flag gives
// one thread at a time exclusive access; `T: Send` lets it move between them.
unsafe impl<T: Send> Sync for Handle<T> {}

impl<T> Handle<T> {
    pub(crate) fn new(magic: u64, value: T) -> Self {
        Self {
            magic: AtomicU64::new(magic),
            busy: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Exclusive access for one call: checks the tag, then claims the busy
    /// flag (released when the guard drops).
    pub(crate) fn acquire(&self, magic: u64, kind: &str) -> Result<Guard<'_, T>> {
        let found = self.magic.load(Ordering::Acquire);
        if found != magic {
            return Err(Error::new(
                ErrorKind::WrongHandle,
                if found == DESTROYED {
                    format!("handle is not a live {kind}: it was destroyed")
                } else {
                    format!("handle is not a {kind} (wrong handle type or corrupt)")
                },
            ));
        }
        if self
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return Err(Error::new(
                ErrorKind::Busy,
                format!("this {kind} is being used by another thread"),
            ));
        }
        // SAFETY: the busy flag was false and is now ours, so no other guard
        // (hence no other reference to the value) exists until ours drops.
        let value = unsafe { &mut *self.value.get() };
        Ok(Guard {
            busy: &self.busy,
            value,
        })
    }

    /// Whether the tag says this is a live handle of kind `magic`.
    pub(crate) fn is(&self, magic: u64) -> bool {
        self.magic.load(Ordering::Acquire) == magic
    }

    /// Overwrites the tag (before the memory is freed).
    pub(crate) fn mark_destroyed(&self) {
        self.magic.store(DESTROYED, Ordering::Release);
    }
}

/// Exclusive access to a handle's value for the duration of one call.
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

/// Checks a params-struct pointer and its `struct_size` (first field, `u32`)
/// against the size this library knows, then returns a copy.
///
/// # Safety
/// `params`, if non-NULL, must point to a readable struct whose first field is
/// a `u32` size and that is at least as large as that size claims.
pub(crate) unsafe fn read_params<P: Copy>(params: *const P, name: &str) -> Result<P> {
    if params.is_null() {
        return Err(Error::new(
            ErrorKind::NullPointer,
            format!("argument `{name}` is NULL"),
        ));
    }
    // SAFETY: non-NULL; the caller guarantees at least the leading u32 is readable.
    let size = unsafe { std::ptr::read_unaligned(params as *const u32) } as usize;
    if size != std::mem::size_of::<P>() {
        return Err(Error::new(
            ErrorKind::StructSize,
            format!(
                "`{name}->struct_size` = {size}, this library reads {} bytes: \
                 initialise the struct with the matching _params_default()",
                std::mem::size_of::<P>()
            ),
        ));
    }
    // SAFETY: the struct claims exactly size_of::<P>() bytes (checked above).
    Ok(unsafe { std::ptr::read_unaligned(params) })
}

/// A C handle type: an opaque struct holding one [`Handle`].
pub(crate) trait CHandle: Sized {
    type Inner;
    /// Type tag of live handles.
    const MAGIC: u64;
    /// The C type name, for messages.
    const KIND: &'static str;
    fn handle(&self) -> &Handle<Self::Inner>;
}

/// Exclusive access, for one call, to the value behind a C handle pointer:
/// NULL, a wrong or destroyed handle (where the memory still holds a tag) and
/// a handle busy on another thread are errors.
///
/// # Safety
/// `ptr` is NULL or a pointer returned by the matching create function.
pub(crate) unsafe fn acquire_ptr<'a, H: CHandle + 'a>(
    ptr: *const H,
) -> Result<Guard<'a, H::Inner>> {
    let Some(h) = std::ptr::NonNull::new(ptr as *mut H) else {
        return Err(Error::new(
            ErrorKind::NullPointer,
            "argument `handle` is NULL",
        ));
    };
    // SAFETY: non-NULL and, by the caller's contract, from the create function.
    let h: &'a H = unsafe { h.as_ref() };
    h.handle().acquire(H::MAGIC, H::KIND)
}

/// Frees a handle made by `Box::into_raw`. NULL is a no-op; a pointer that
/// is not a live handle of this kind is left alone and the calling thread's
/// last error says so (destroy functions return nothing).
///
/// # Safety
/// `ptr` is NULL or a pointer returned by the matching create function, not
/// used again after this call.
pub(crate) unsafe fn destroy_ptr<H: CHandle>(ptr: *mut H, function: &'static str) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: non-NULL pointer from the create function (caller's contract).
    let live = unsafe { (*ptr).handle().is(H::MAGIC) };
    if !live {
        let _ = super::boundary::guard(function, || {
            Err(Error::new(
                ErrorKind::WrongHandle,
                format!("handle is not a live {}; not freed", H::KIND),
            ))
        });
        return;
    }
    // SAFETY: a live handle created by Box::into_raw; the tag is overwritten
    // before the memory is freed.
    unsafe {
        (*ptr).handle().mark_destroyed();
        drop(Box::from_raw(ptr));
    }
}
