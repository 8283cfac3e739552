//! `fk_status`: the return code of every fallible export.

use crate::error::ErrorKind;

/// Status returned by every fallible fieldkern function. `FK_OK` is 0; every
/// failure class has its own value, fixed forever (never reused). In C the type
/// is `int32_t`; `fk_status_str` names a value and `fk_last_error` explains the
/// last failure on the calling thread.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum fk_status {
    /// Success.
    FK_OK = 0,
    /// A required pointer argument was NULL.
    FK_ERR_NULL_POINTER = 1,
    /// A size was zero where not allowed, or sizes disagree.
    FK_ERR_INVALID_SIZE = 2,
    /// NaN or infinity where a finite value is required.
    FK_ERR_NON_FINITE = 3,
    /// A value outside its documented range (negative dt, T <= 0, thread count < 1, ...).
    FK_ERR_OUT_OF_RANGE = 4,
    /// An enum argument with an unknown value.
    FK_ERR_UNKNOWN_ENUM = 5,
    /// A handle of the wrong kind, or one already destroyed.
    FK_ERR_WRONG_HANDLE = 6,
    /// A parameter struct whose struct_size this library version cannot read.
    FK_ERR_STRUCT_SIZE = 7,
    /// A handle used by two threads at once.
    FK_ERR_BUSY = 8,
    /// Capacity reserved at create time was exceeded.
    FK_ERR_CAPACITY = 9,
    /// Memory could not be allocated (create/reserve calls only).
    FK_ERR_OUT_OF_MEMORY = 10,
    /// A file could not be opened or read.
    FK_ERR_IO = 11,
    /// A file is malformed.
    FK_ERR_CORRUPT_FILE = 12,
    /// A file ends before its declared contents.
    FK_ERR_TRUNCATED_FILE = 13,
    /// A tensor has the wrong element type.
    FK_ERR_WRONG_DTYPE = 14,
    /// A tensor has the wrong shape.
    FK_ERR_WRONG_SHAPE = 15,
    /// A model file's schema version is unknown.
    FK_ERR_UNKNOWN_SCHEMA = 16,
    /// A user callback returned non-zero.
    FK_ERR_CALLBACK = 17,
    /// Worker threads could not be started.
    FK_ERR_THREADS = 18,
    /// A pointer is not aligned to its element type.
    FK_ERR_MISALIGNED = 19,
    /// A bug in fieldkern (a Rust panic caught at the boundary).
    FK_ERR_INTERNAL = 99,
}

impl From<ErrorKind> for fk_status {
    fn from(kind: ErrorKind) -> Self {
        use fk_status::*;
        match kind {
            ErrorKind::NullPointer => FK_ERR_NULL_POINTER,
            ErrorKind::Misaligned => FK_ERR_MISALIGNED,
            ErrorKind::InvalidSize => FK_ERR_INVALID_SIZE,
            ErrorKind::NonFinite => FK_ERR_NON_FINITE,
            ErrorKind::OutOfRange => FK_ERR_OUT_OF_RANGE,
            ErrorKind::UnknownEnum => FK_ERR_UNKNOWN_ENUM,
            ErrorKind::WrongHandle => FK_ERR_WRONG_HANDLE,
            ErrorKind::StructSize => FK_ERR_STRUCT_SIZE,
            ErrorKind::Busy => FK_ERR_BUSY,
            ErrorKind::Capacity => FK_ERR_CAPACITY,
            ErrorKind::OutOfMemory => FK_ERR_OUT_OF_MEMORY,
            ErrorKind::Io => FK_ERR_IO,
            ErrorKind::CorruptFile => FK_ERR_CORRUPT_FILE,
            ErrorKind::TruncatedFile => FK_ERR_TRUNCATED_FILE,
            ErrorKind::WrongDtype => FK_ERR_WRONG_DTYPE,
            ErrorKind::WrongShape => FK_ERR_WRONG_SHAPE,
            ErrorKind::UnknownSchema => FK_ERR_UNKNOWN_SCHEMA,
            ErrorKind::Callback => FK_ERR_CALLBACK,
            ErrorKind::Threads => FK_ERR_THREADS,
            ErrorKind::Internal => FK_ERR_INTERNAL,
        }
    }
}

impl fk_status {
    /// Every status, for tests and `fk_status_str`.
    pub const ALL: [fk_status; 21] = {
        use fk_status::*;
        [
            FK_OK,
            FK_ERR_NULL_POINTER,
            FK_ERR_INVALID_SIZE,
            FK_ERR_NON_FINITE,
            FK_ERR_OUT_OF_RANGE,
            FK_ERR_UNKNOWN_ENUM,
            FK_ERR_WRONG_HANDLE,
            FK_ERR_STRUCT_SIZE,
            FK_ERR_BUSY,
            FK_ERR_CAPACITY,
            FK_ERR_OUT_OF_MEMORY,
            FK_ERR_IO,
            FK_ERR_CORRUPT_FILE,
            FK_ERR_TRUNCATED_FILE,
            FK_ERR_WRONG_DTYPE,
            FK_ERR_WRONG_SHAPE,
            FK_ERR_UNKNOWN_SCHEMA,
            FK_ERR_CALLBACK,
            FK_ERR_THREADS,
            FK_ERR_MISALIGNED,
            FK_ERR_INTERNAL,
        ]
    };

    /// The status's name as a NUL-terminated string.
    pub fn name(self) -> &'static std::ffi::CStr {
        use fk_status::*;
        match self {
            FK_OK => c"FK_OK",
            FK_ERR_NULL_POINTER => c"FK_ERR_NULL_POINTER",
            FK_ERR_INVALID_SIZE => c"FK_ERR_INVALID_SIZE",
            FK_ERR_NON_FINITE => c"FK_ERR_NON_FINITE",
            FK_ERR_OUT_OF_RANGE => c"FK_ERR_OUT_OF_RANGE",
            FK_ERR_UNKNOWN_ENUM => c"FK_ERR_UNKNOWN_ENUM",
            FK_ERR_WRONG_HANDLE => c"FK_ERR_WRONG_HANDLE",
            FK_ERR_STRUCT_SIZE => c"FK_ERR_STRUCT_SIZE",
            FK_ERR_BUSY => c"FK_ERR_BUSY",
            FK_ERR_CAPACITY => c"FK_ERR_CAPACITY",
            FK_ERR_OUT_OF_MEMORY => c"FK_ERR_OUT_OF_MEMORY",
            FK_ERR_IO => c"FK_ERR_IO",
            FK_ERR_CORRUPT_FILE => c"FK_ERR_CORRUPT_FILE",
            FK_ERR_TRUNCATED_FILE => c"FK_ERR_TRUNCATED_FILE",
            FK_ERR_WRONG_DTYPE => c"FK_ERR_WRONG_DTYPE",
            FK_ERR_WRONG_SHAPE => c"FK_ERR_WRONG_SHAPE",
            FK_ERR_UNKNOWN_SCHEMA => c"FK_ERR_UNKNOWN_SCHEMA",
            FK_ERR_CALLBACK => c"FK_ERR_CALLBACK",
            FK_ERR_THREADS => c"FK_ERR_THREADS",
            FK_ERR_MISALIGNED => c"FK_ERR_MISALIGNED",
            FK_ERR_INTERNAL => c"FK_ERR_INTERNAL",
        }
    }
}
