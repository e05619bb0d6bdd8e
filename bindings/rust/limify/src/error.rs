//! limify's errors as a Rust error type: the C API's status code and the
//! message it wrote (which names the JSON path, the plugin file or the
//! argument at fault).

use std::ffi::CStr;
use std::fmt;

use limify_sys as sys;

/// What kind of failure, from the C API's `limify_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// A bad argument: a NUL byte in a string, a cost too large, ...
    InvalidArgument,
    /// The configuration is invalid; the message names the JSON path.
    Config,
    /// A plugin failed to load or misbehaved; the message names the file.
    Plugin,
    /// The storage is unreachable or failing, and the failure policy could not hide it.
    Storage,
    /// The storage did not answer in time.
    Timeout,
    /// No such rule, or no such configuration file.
    NotFound,
    /// A bug in limify: please report it.
    Internal,
    /// An output buffer was too small (the binding retries; not normally seen).
    BufferTooSmall,
    /// Not possible in this state: moving a clock that is not manual, or
    /// changing hooks from inside a hook.
    FailedPrecondition,
    /// A code this binding does not know (a newer library).
    Unknown(i32),
}

impl ErrorCode {
    pub(crate) fn from_status(status: sys::limify_status) -> ErrorCode {
        match status {
            sys::LIMIFY_INVALID_ARGUMENT => ErrorCode::InvalidArgument,
            sys::LIMIFY_CONFIG_ERROR => ErrorCode::Config,
            sys::LIMIFY_PLUGIN_ERROR => ErrorCode::Plugin,
            sys::LIMIFY_STORAGE_ERROR => ErrorCode::Storage,
            sys::LIMIFY_TIMEOUT => ErrorCode::Timeout,
            sys::LIMIFY_NOT_FOUND => ErrorCode::NotFound,
            sys::LIMIFY_INTERNAL => ErrorCode::Internal,
            sys::LIMIFY_BUFFER_TOO_SMALL => ErrorCode::BufferTooSmall,
            sys::LIMIFY_FAILED_PRECONDITION => ErrorCode::FailedPrecondition,
            other => ErrorCode::Unknown(other),
        }
    }

    /// The C API's `limify_status` value.
    pub fn status(self) -> i32 {
        match self {
            ErrorCode::InvalidArgument => sys::LIMIFY_INVALID_ARGUMENT,
            ErrorCode::Config => sys::LIMIFY_CONFIG_ERROR,
            ErrorCode::Plugin => sys::LIMIFY_PLUGIN_ERROR,
            ErrorCode::Storage => sys::LIMIFY_STORAGE_ERROR,
            ErrorCode::Timeout => sys::LIMIFY_TIMEOUT,
            ErrorCode::NotFound => sys::LIMIFY_NOT_FOUND,
            ErrorCode::Internal => sys::LIMIFY_INTERNAL,
            ErrorCode::BufferTooSmall => sys::LIMIFY_BUFFER_TOO_SMALL,
            ErrorCode::FailedPrecondition => sys::LIMIFY_FAILED_PRECONDITION,
            ErrorCode::Unknown(code) => code,
        }
    }

    /// The library's short name for the code: "config_error", "not_found", ...
    pub fn name(self) -> &'static str {
        // SAFETY: limify_status_name returns a static NUL-terminated string.
        unsafe { CStr::from_ptr(sys::limify_status_name(self.status())) }.to_str().unwrap_or("unknown")
    }
}

/// An error from limify: a code and a message naming what and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    message: String,
}

impl Error {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error { code, message: message.into() }
    }

    /// The error the C API reported: `status` returned, `err` filled in.
    pub(crate) fn from_c(status: sys::limify_status, err: &sys::limify_error) -> Error {
        let code = ErrorCode::from_status(if err.code != sys::LIMIFY_OK { err.code } else { status });
        // SAFETY: the library always NUL-terminates the message within the buffer.
        let message = unsafe { CStr::from_ptr(err.message.as_ptr()) }.to_string_lossy().into_owned();
        let message = if message.is_empty() { code.name().to_string() } else { message };
        Error { code, message }
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "limify: {} ({})", self.message, self.code.name())
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Turns a status and its error into a Result.
pub(crate) fn check(status: sys::limify_status, err: &sys::limify_error) -> Result<()> {
    if status == sys::LIMIFY_OK {
        Ok(())
    } else {
        Err(Error::from_c(status, err))
    }
}
