//! Result codes, the last error's message, and the guard every exported function runs in:
//! no Rust panic crosses into C.
//!
//! Every fallible function returns an [`ArrowResult`]: [`ARROW_OK`] or one of the
//! `ARROW_ERROR_*` codes, and on failure keeps a message for the calling thread that
//! [`arrow_last_error_message`] copies out (until the next failing call on that thread).

use std::any::Any;
use std::cell::RefCell;
use std::ffi::c_char;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The result of a call: `ARROW_OK` (0) or an `ARROW_ERROR_*` code (positive). Later
/// versions may add codes: treat any other non-zero value as a failure.
pub type ArrowResult = i32;

/// Success.
pub const ARROW_OK: ArrowResult = 0;
/// A pointer argument that must not be NULL was NULL.
pub const ARROW_ERROR_NULL_POINTER: ArrowResult = 1;
/// An argument is not valid: text that is not UTF-8, a malformed address, URL or PEM, an
/// unknown kind or level.
pub const ARROW_ERROR_INVALID_ARGUMENT: ArrowResult = 2;
/// The configuration cannot run: no CA, neither a state directory nor storage (or both),
/// a CA file that cannot be read.
pub const ARROW_ERROR_CONFIG: ArrowResult = 3;
/// The state directory cannot be used (created, read or written).
pub const ARROW_ERROR_STATE: ArrowResult = 4;
/// Another client runs on the same state directory.
pub const ARROW_ERROR_STATE_LOCKED: ArrowResult = 5;
/// A storage callback failed or gave back something that is not an identity.
pub const ARROW_ERROR_STORAGE: ArrowResult = 6;
/// The output buffer is too small (the message says how large it must be).
pub const ARROW_ERROR_BUFFER_TOO_SMALL: ArrowResult = 7;
/// `arrow_client_scan_now` on a client whose discovery is off.
pub const ARROW_ERROR_DISCOVERY_OFF: ArrowResult = 8;
/// A call that would wait for the callback thread, made from a callback.
pub const ARROW_ERROR_WRONG_THREAD: ArrowResult = 9;
/// The client stopped with an error (refused, an unsupported protocol version, ...): from
/// `arrow_client_stop`.
pub const ARROW_ERROR_CLIENT: ArrowResult = 10;
/// The library could not start its threads or runtime.
pub const ARROW_ERROR_RUNTIME: ArrowResult = 11;
/// An index past the end (`arrow_service_table_get`).
pub const ARROW_ERROR_OUT_OF_RANGE: ArrowResult = 12;
/// A bug in the library (a Rust panic, caught at the boundary): please report it.
pub const ARROW_ERROR_PANIC: ArrowResult = 13;

/// What went wrong in a call, with the code C sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FfiError {
    /// A NULL pointer where one is needed; names the argument.
    #[error("{0} is NULL")]
    Null(&'static str),
    /// A bad argument.
    #[error("{0}")]
    Invalid(String),
    /// An unusable configuration.
    #[error("{0}")]
    Config(String),
    /// The state directory.
    #[error("{0}")]
    State(String),
    /// The state directory is locked by another client.
    #[error("{0}")]
    StateLocked(String),
    /// The storage callbacks.
    #[error("storage: {0}")]
    Storage(String),
    /// A buffer of `len` bytes where `needed` are needed.
    #[error("the buffer holds {len} bytes, {needed} are needed")]
    BufferTooSmall {
        /// Bytes given.
        len: usize,
        /// Bytes needed (with the terminating NUL for text).
        needed: usize,
    },
    /// Discovery is off.
    #[error("discovery is off: turn it on with arrow_config_set_discovery before starting")]
    DiscoveryOff,
    /// Called from the callback thread.
    #[error("{0} cannot be called from a callback (it waits for the callback thread)")]
    WrongThread(&'static str),
    /// The client ended with an error.
    #[error("{0}")]
    Client(String),
    /// Threads or the runtime could not start.
    #[error("{0}")]
    Runtime(String),
    /// An index past the end.
    #[error("index {index} is out of range (the table has {len} services)")]
    OutOfRange {
        /// The index given.
        index: usize,
        /// The table's length.
        len: usize,
    },
    /// A caught panic, with its message.
    #[error("internal error: {0} (a bug in arrow-client-ffi: please report it)")]
    Panic(String),
}

impl FfiError {
    /// The code C sees.
    pub(crate) fn code(&self) -> ArrowResult {
        match self {
            FfiError::Null(_) => ARROW_ERROR_NULL_POINTER,
            FfiError::Invalid(_) => ARROW_ERROR_INVALID_ARGUMENT,
            FfiError::Config(_) => ARROW_ERROR_CONFIG,
            FfiError::State(_) => ARROW_ERROR_STATE,
            FfiError::StateLocked(_) => ARROW_ERROR_STATE_LOCKED,
            FfiError::Storage(_) => ARROW_ERROR_STORAGE,
            FfiError::BufferTooSmall { .. } => ARROW_ERROR_BUFFER_TOO_SMALL,
            FfiError::DiscoveryOff => ARROW_ERROR_DISCOVERY_OFF,
            FfiError::WrongThread(_) => ARROW_ERROR_WRONG_THREAD,
            FfiError::Client(_) => ARROW_ERROR_CLIENT,
            FfiError::Runtime(_) => ARROW_ERROR_RUNTIME,
            FfiError::OutOfRange { .. } => ARROW_ERROR_OUT_OF_RANGE,
            FfiError::Panic(_) => ARROW_ERROR_PANIC,
        }
    }
}

/// The client library's errors, sorted by what a C caller can do about them.
impl From<arrow_client::Error> for FfiError {
    fn from(e: arrow_client::Error) -> Self {
        use arrow_client::Error as E;
        let text = e.to_string();
        match e {
            E::Config(_) | E::ConfigFile(_) | E::KeyExposed { .. } => FfiError::Config(text),
            E::State { .. } => FfiError::State(text),
            E::StateLocked { .. } => FfiError::StateLocked(text),
            _ => FfiError::Client(text),
        }
    }
}

thread_local! {
    /// The last failure on this thread.
    static LAST_ERROR: RefCell<Option<FfiError>> = const { RefCell::new(None) };
}

/// Keeps `error` as this thread's last one and returns its code.
pub(crate) fn fail(error: FfiError) -> ArrowResult {
    let code = error.code();
    LAST_ERROR.with(|last| *last.borrow_mut() = Some(error));
    code
}

/// Runs the body of an exported function: its error becomes the thread's last error and a
/// code, and a panic becomes `ARROW_ERROR_PANIC` instead of unwinding into C.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), FfiError>) -> ArrowResult {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => ARROW_OK,
        Ok(Err(e)) => fail(e),
        Err(panic) => fail(FfiError::Panic(panic_message(panic.as_ref()))),
    }
}

/// Runs a body that cannot report an error (the `_free` functions, getters of a count): a
/// panic gives `fallback` and is kept as the last error.
pub(crate) fn guard_or<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        fail(FfiError::Panic(panic_message(panic.as_ref())));
        fallback
    })
}

/// The text of a panic's payload.
pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Copies the message of the last failed call on this thread into `buf` (`len` bytes),
/// truncated if need be and always NUL-terminated when `len > 0`, like `snprintf`.
/// Returns the message's length in bytes (without the NUL): a value `>= len` means it was
/// cut. `buf` may be NULL when `len` is 0, to ask for the length. With no failure yet on
/// this thread the message is empty.
///
/// Messages are for people (logs, a console): match on the codes, never on the text.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn arrow_last_error_message(buf: *mut c_char, len: usize) -> usize {
    guard_or(0, || {
        let text = LAST_ERROR.with(|last| {
            last.borrow()
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default()
        });
        // SAFETY: the caller gives NULL or `len` writable bytes.
        unsafe { copy_to_buffer(&text, buf, len) }
    })
}

/// The name of a result code, e.g. `"ARROW_ERROR_CONFIG"`, for logs: a static string,
/// never NULL (`"ARROW_ERROR_UNKNOWN"` for a code this version does not know).
#[unsafe(no_mangle)]
pub extern "C" fn arrow_result_name(code: ArrowResult) -> *const c_char {
    let name: &'static std::ffi::CStr = match code {
        ARROW_OK => c"ARROW_OK",
        ARROW_ERROR_NULL_POINTER => c"ARROW_ERROR_NULL_POINTER",
        ARROW_ERROR_INVALID_ARGUMENT => c"ARROW_ERROR_INVALID_ARGUMENT",
        ARROW_ERROR_CONFIG => c"ARROW_ERROR_CONFIG",
        ARROW_ERROR_STATE => c"ARROW_ERROR_STATE",
        ARROW_ERROR_STATE_LOCKED => c"ARROW_ERROR_STATE_LOCKED",
        ARROW_ERROR_STORAGE => c"ARROW_ERROR_STORAGE",
        ARROW_ERROR_BUFFER_TOO_SMALL => c"ARROW_ERROR_BUFFER_TOO_SMALL",
        ARROW_ERROR_DISCOVERY_OFF => c"ARROW_ERROR_DISCOVERY_OFF",
        ARROW_ERROR_WRONG_THREAD => c"ARROW_ERROR_WRONG_THREAD",
        ARROW_ERROR_CLIENT => c"ARROW_ERROR_CLIENT",
        ARROW_ERROR_RUNTIME => c"ARROW_ERROR_RUNTIME",
        ARROW_ERROR_OUT_OF_RANGE => c"ARROW_ERROR_OUT_OF_RANGE",
        ARROW_ERROR_PANIC => c"ARROW_ERROR_PANIC",
        _ => c"ARROW_ERROR_UNKNOWN",
    };
    name.as_ptr()
}

/// Copies `text` into `buf` like `snprintf`: at most `len - 1` bytes and a NUL when
/// `len > 0`; returns the length of `text`. Nothing is written when `buf` is NULL or
/// `len` is 0.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes.
pub(crate) unsafe fn copy_to_buffer(text: &str, buf: *mut c_char, len: usize) -> usize {
    let bytes = text.as_bytes();
    if !buf.is_null() && len > 0 {
        let n = bytes.len().min(len - 1);
        // SAFETY: `n < len` bytes and the NUL fit in the caller's `len` bytes; the source
        // is our own string, which cannot overlap the caller's buffer.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr().cast::<c_char>(), buf, n);
            *buf.add(n) = 0;
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_a_code_and_a_message_not_an_unwind() {
        let code = guard(|| panic!("boom"));
        assert_eq!(code, ARROW_ERROR_PANIC);
        let mut buf = [0 as c_char; 128];
        // SAFETY: a local buffer of its own length.
        let n = unsafe { arrow_last_error_message(buf.as_mut_ptr(), buf.len()) };
        // SAFETY: NUL-terminated by the call.
        let text = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
        assert_eq!(text.to_bytes().len(), n);
        assert!(text.to_str().unwrap().contains("boom"), "{text:?}");
        assert_eq!(guard_or(7, || panic!("again")), 7);
    }

    #[test]
    fn every_code_has_its_own_name() {
        let mut names = std::collections::HashSet::new();
        for code in ARROW_OK..=ARROW_ERROR_PANIC {
            // SAFETY: a static C string.
            let name = unsafe { std::ffi::CStr::from_ptr(arrow_result_name(code)) };
            assert!(names.insert(name.to_str().unwrap().to_string()), "{name:?}");
        }
        // SAFETY: as above.
        let unknown = unsafe { std::ffi::CStr::from_ptr(arrow_result_name(99)) };
        assert_eq!(unknown, c"ARROW_ERROR_UNKNOWN");
    }
}
