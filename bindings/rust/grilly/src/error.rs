use grilly_sys as sys;
use std::ffi::CStr;
use std::fmt;

/// The kind of a failure: one per `grl_status` error code of the C ABI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// `GRL_ERROR_INVALID_ARGUMENT`: a value is out of its documented range.
    InvalidArgument,
    /// `GRL_ERROR_NULL_ARGUMENT`: a required handle or pointer is NULL.
    NullArgument,
    /// `GRL_ERROR_SHAPE`: shapes do not fit the op's rule.
    Shape,
    /// `GRL_ERROR_DTYPE`: the op does not take this dtype, or dtypes disagree.
    Dtype,
    /// `GRL_ERROR_DEVICE_MISMATCH`: tensors live on different devices.
    DeviceMismatch,
    /// `GRL_ERROR_INDEX`: an index is out of range (may be reported at the next sync).
    Index,
    /// `GRL_ERROR_OUT_OF_MEMORY`: host or device memory is exhausted.
    OutOfMemory,
    /// `GRL_ERROR_NO_DEVICE`: no Vulkan, or no device matches the request.
    NoDevice,
    /// `GRL_ERROR_DEVICE`: the Vulkan driver failed.
    Device,
    /// `GRL_ERROR_UNSUPPORTED`: a valid request the device or build cannot do.
    Unsupported,
    /// `GRL_ERROR_IO`: a file could not be read or written.
    Io,
    /// `GRL_ERROR_INTERNAL`: a bug in grilly.
    Internal,
    /// A status this version of the binding does not know.
    Other(i32),
}

impl ErrorKind {
    /// The kind for a C status (`None` for `GRL_OK`).
    pub fn from_status(status: sys::grl_status) -> Option<ErrorKind> {
        Some(match status {
            sys::GRL_OK => return None,
            sys::GRL_ERROR_INVALID_ARGUMENT => ErrorKind::InvalidArgument,
            sys::GRL_ERROR_NULL_ARGUMENT => ErrorKind::NullArgument,
            sys::GRL_ERROR_SHAPE => ErrorKind::Shape,
            sys::GRL_ERROR_DTYPE => ErrorKind::Dtype,
            sys::GRL_ERROR_DEVICE_MISMATCH => ErrorKind::DeviceMismatch,
            sys::GRL_ERROR_INDEX => ErrorKind::Index,
            sys::GRL_ERROR_OUT_OF_MEMORY => ErrorKind::OutOfMemory,
            sys::GRL_ERROR_NO_DEVICE => ErrorKind::NoDevice,
            sys::GRL_ERROR_DEVICE => ErrorKind::Device,
            sys::GRL_ERROR_UNSUPPORTED => ErrorKind::Unsupported,
            sys::GRL_ERROR_IO => ErrorKind::Io,
            sys::GRL_ERROR_INTERNAL => ErrorKind::Internal,
            other => ErrorKind::Other(other),
        })
    }

    /// The C status code of this kind.
    pub fn status(self) -> sys::grl_status {
        match self {
            ErrorKind::InvalidArgument => sys::GRL_ERROR_INVALID_ARGUMENT,
            ErrorKind::NullArgument => sys::GRL_ERROR_NULL_ARGUMENT,
            ErrorKind::Shape => sys::GRL_ERROR_SHAPE,
            ErrorKind::Dtype => sys::GRL_ERROR_DTYPE,
            ErrorKind::DeviceMismatch => sys::GRL_ERROR_DEVICE_MISMATCH,
            ErrorKind::Index => sys::GRL_ERROR_INDEX,
            ErrorKind::OutOfMemory => sys::GRL_ERROR_OUT_OF_MEMORY,
            ErrorKind::NoDevice => sys::GRL_ERROR_NO_DEVICE,
            ErrorKind::Device => sys::GRL_ERROR_DEVICE,
            ErrorKind::Unsupported => sys::GRL_ERROR_UNSUPPORTED,
            ErrorKind::Io => sys::GRL_ERROR_IO,
            ErrorKind::Internal => sys::GRL_ERROR_INTERNAL,
            ErrorKind::Other(s) => s,
        }
    }
}

/// A failed grilly call: the status kind and the message the C library set
/// (`grl_last_error_message`), or a message of the binding for checks done in Rust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// An error made on the Rust side (for checks the binding does before calling C).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into() }
    }
    /// The status kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The message: names the function, the argument, what was expected and what was given.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The constant name of the status, e.g. `"GRL_ERROR_SHAPE"` (`grl_status_string`).
    pub fn status_name(&self) -> &'static str {
        // SAFETY: grl_status_string returns a pointer to a static string for any value.
        unsafe { cstr_static(sys::grl_status_string(self.kind.status())) }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status_name(), self.message)
    }
}

impl std::error::Error for Error {}

/// `std::result::Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) unsafe fn cstr_static(p: *const std::os::raw::c_char) -> &'static str {
    if p.is_null() {
        ""
    } else {
        CStr::from_ptr(p).to_str().unwrap_or("?")
    }
}

impl Error {
    /// The error of this thread's last failed grilly call, `None` after a success
    /// (`grl_last_error_status`, `grl_last_error_message`).
    pub fn last() -> Option<Error> {
        check(unsafe { sys::grl_last_error_status() }).err()
    }
}

/// Turns a status into a `Result`, reading this thread's C error message on failure.
pub(crate) fn check(status: sys::grl_status) -> Result<()> {
    match ErrorKind::from_status(status) {
        None => Ok(()),
        Some(kind) => {
            // SAFETY: the message pointer is valid until this thread's next grilly call; we copy it now.
            let message = unsafe {
                let p = sys::grl_last_error_message();
                if p.is_null() { String::new() } else { CStr::from_ptr(p).to_string_lossy().into_owned() }
            };
            Err(Error { kind, message })
        }
    }
}
