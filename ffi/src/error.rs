//! Status codes, the error type behind them, and the thread's last error message.
//!
//! Every `mb_*` function returns an `int32_t` status: [`MB_OK`] (0) or one of the negative
//! `MB_ERR_*` codes below. On failure the thread's last error message is set to a sentence
//! that names the thing, the value, the limit and the key to change; read it with
//! [`mb_last_error_message`]. Successful calls leave the message alone (like `errno`).

use crate::refusal::Refusal;
use crate::registry::Lookup;
use core::ffi::c_char;
use core::fmt;
use membudget_allocator::QuotaExceeded;
use std::cell::RefCell;

/// Success.
pub const MB_OK: i32 = 0;
/// A quota (a category's, or the process total) would be exceeded.
pub const MB_ERR_QUOTA_EXCEEDED: i32 = -1;
/// An argument is out of range (category code, size, alignment, count, UTF-8, ...).
pub const MB_ERR_INVALID_ARGUMENT: i32 = -2;
/// A required pointer argument is NULL.
pub const MB_ERR_NULL_POINTER: i32 = -3;
/// A handle or id is invalid: already freed or recycled, forged, or of another type.
pub const MB_ERR_INVALID_HANDLE: i32 = -4;
/// The object was destroyed (e.g. the local pool was freed while a request waited).
pub const MB_ERR_DESTROYED: i32 = -5;
/// A blocking call timed out.
pub const MB_ERR_TIMEOUT: i32 = -6;
/// Nothing is available right now (a non-blocking request found no buffer).
pub const MB_ERR_UNAVAILABLE: i32 = -7;
/// The memory configuration is invalid (bad key or value, sizes that do not add up, ...).
pub const MB_ERR_CONFIG: i32 = -8;
/// A panic was caught at the C boundary; the message says where. The runtime stays usable.
pub const MB_ERR_PANIC: i32 = -9;
/// An output buffer is too small; `*needed` says how many bytes it must have.
pub const MB_ERR_BUFFER_TOO_SMALL: i32 = -10;
/// The operating system refused memory (mmap/malloc failed) although the quota allowed it.
pub const MB_ERR_OUT_OF_MEMORY: i32 = -11;

/// An error on its way to the C caller: a status code and its message. Boxed, so the
/// `Result<(), Error>` every entry point passes around is one word and the success path
/// copies nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Error(Box<ErrorInner>);

#[derive(Clone, Debug, PartialEq, Eq)]
struct ErrorInner {
    status: i32,
    message: String,
    /// What refused, for `MB_ERR_QUOTA_EXCEEDED` (`mb_last_refusal`).
    refusal: Option<Refusal>,
}

const _: () = assert!(core::mem::size_of::<Result<(), Error>>() == 8);

impl Error {
    /// An error with `status` and `message`.
    #[cold]
    pub(crate) fn new(status: i32, message: impl Into<String>) -> Self {
        Error(Box::new(ErrorInner {
            status,
            message: message.into(),
            refusal: None,
        }))
    }

    /// The same error carrying what refused (for `mb_last_refusal`).
    #[must_use]
    pub(crate) fn with_refusal(mut self, refusal: Refusal) -> Self {
        self.0.refusal = Some(refusal);
        self
    }

    /// `MB_ERR_INVALID_ARGUMENT` with `message`.
    #[cold]
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::new(MB_ERR_INVALID_ARGUMENT, message)
    }

    /// `MB_ERR_NULL_POINTER` for argument `arg` of `function`.
    #[cold]
    pub(crate) fn null(function: &str, arg: &str) -> Self {
        Error::new(
            MB_ERR_NULL_POINTER,
            format!("{function}: argument '{arg}' is NULL"),
        )
    }

    /// `MB_ERR_INVALID_HANDLE` for a `kind` handle/id `id` the registry refused.
    #[cold]
    pub(crate) fn handle(kind: &str, id: u64, why: Lookup) -> Self {
        let message = match why {
            Lookup::Stale => format!(
                "invalid {kind} {id:#x}: it was already freed or recycled (or never issued)"
            ),
            Lookup::Foreign => format!(
                "invalid {kind} {id:#x}: not a {kind} (zero, garbage, or a value of another type)"
            ),
            Lookup::Exhausted => format!(
                "{kind} {id:#x}: too many live {kind}s or concurrent users (limit {})",
                crate::registry::MAX_SLOTS
            ),
        };
        Error::new(MB_ERR_INVALID_HANDLE, message)
    }

    /// The status code.
    pub(crate) fn status(&self) -> i32 {
        self.0.status
    }

    /// The message.
    pub(crate) fn message(&self) -> &str {
        &self.0.message
    }

    /// Stores the message as the thread's last error and returns the status.
    #[cold]
    #[inline(never)]
    pub(crate) fn record(self) -> i32 {
        let ErrorInner {
            status,
            message,
            refusal,
        } = *self.0;
        set_last_error(&message);
        if status == MB_ERR_QUOTA_EXCEEDED {
            crate::refusal::set_last(refusal, &message);
        }
        status
    }
}

impl From<QuotaExceeded> for Error {
    #[cold]
    fn from(e: QuotaExceeded) -> Self {
        Error::new(MB_ERR_QUOTA_EXCEEDED, e.to_string()).with_refusal(Refusal::of_budget(&e))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_last_error(message: &str) {
    // `try_with`: during thread teardown the message is dropped instead of panicking.
    let _ = LAST_ERROR.try_with(|m| {
        if let Ok(mut m) = m.try_borrow_mut() {
            m.clear();
            m.push_str(message);
        }
    });
}

/// The calling thread's last error message (empty if no call failed on this thread yet).
pub(crate) fn last_error() -> String {
    LAST_ERROR
        .try_with(|m| m.borrow().clone())
        .unwrap_or_default()
}

/// Copies the calling thread's last error message, NUL-terminated, into `buf`.
///
/// `*needed` (if `needed` is not NULL) receives the size the message needs including its NUL.
/// Pass `buf = NULL, len = 0` to ask for the size only. If the message does not fit it is
/// truncated (still NUL-terminated when `len > 0`). This call never changes the last error.
///
/// Returns `MB_OK`, `MB_ERR_BUFFER_TOO_SMALL` (truncated, or size query), or
/// `MB_ERR_NULL_POINTER` (`buf` NULL with `len > 0`). Never blocks.
///
/// # Safety
/// `buf` must be NULL or valid for writes of `len` bytes; `needed` NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mb_last_error_message(
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> i32 {
    let message = last_error();
    // SAFETY: forwarded from this function's contract.
    match unsafe { crate::out::copy_str(&message, buf, len, needed) } {
        Ok(()) => MB_OK,
        Err(e) => e.status(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_errors_name_kind_and_id() {
        let e = Error::handle("buffer", 0x1234, Lookup::Stale);
        assert_eq!(e.status(), MB_ERR_INVALID_HANDLE);
        assert_eq!(
            e.message(),
            "invalid buffer 0x1234: it was already freed or recycled (or never issued)"
        );
    }

    #[test]
    fn record_sets_thread_local_message() {
        assert_eq!(
            Error::invalid("bad thing 7").record(),
            MB_ERR_INVALID_ARGUMENT
        );
        assert_eq!(last_error(), "bad thing 7");
        std::thread::spawn(|| assert_eq!(last_error(), ""))
            .join()
            .unwrap();
    }
}
