//! Error classes of the safe core. Each class maps one-to-one onto an
//! `fk_status` value of the C ABI (`src/ffi/status.rs`); the message says which
//! argument, which index and which value was wrong.

use std::fmt;

/// One value per failure class. The C status code of each class is fixed in
/// `src/ffi/status.rs` and never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A required pointer argument was NULL.
    NullPointer,
    /// A pointer not aligned to its element type.
    Misaligned,
    /// A size was zero where that is not allowed, or sizes disagree.
    InvalidSize,
    /// NaN or infinity where a finite value is required.
    NonFinite,
    /// A value outside its documented range (negative time step, T <= 0, ...).
    OutOfRange,
    /// An enum argument with a value the library does not know.
    UnknownEnum,
    /// A handle of the wrong kind, or one already destroyed.
    WrongHandle,
    /// A parameter struct whose `struct_size` this library cannot read.
    StructSize,
    /// A handle used by two threads at once.
    Busy,
    /// Reserved capacity (neighbour lists, stacks) exceeded.
    Capacity,
    /// Memory could not be obtained at create time.
    OutOfMemory,
    /// A file could not be opened or read.
    Io,
    /// A file is malformed.
    CorruptFile,
    /// A file ends before its declared contents.
    TruncatedFile,
    /// A tensor has the wrong element type.
    WrongDtype,
    /// A tensor has the wrong shape.
    WrongShape,
    /// A model file's schema version is unknown.
    UnknownSchema,
    /// A user callback returned non-zero.
    Callback,
    /// The thread pool could not be started.
    Threads,
    /// A bug in fieldkern (a caught panic).
    Internal,
}

/// An error of the safe core: a class plus a human-readable message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// `n` default values (zeros), or `OutOfMemory` naming `what` instead of
/// aborting when the allocation fails (for create-time reservations).
pub(crate) fn zeros<T: Copy + Default>(n: usize, what: &str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        Error::new(
            ErrorKind::OutOfMemory,
            format!("cannot allocate the {what} ({n} elements)"),
        )
    })?;
    v.resize(n, T::default());
    Ok(v)
}
