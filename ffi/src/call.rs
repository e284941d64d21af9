//! `Call`: the entry point being served, named once per `mb_*` function.
//!
//! Every entry point passes its own name to [`boundary`](crate::panic::boundary), which hands
//! it back as a `Call`; argument checks, handle lookups and errors take the `Call` instead of
//! repeating the name as a string literal, so each message names the function the host called.

use crate::error::Error;
use crate::out::Out;
use core::fmt::Display;
use core::ptr::NonNull;

/// The `mb_*` function a call is running in (see the module docs).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Call(&'static str);

impl Call {
    /// The call of entry point `name`.
    #[inline]
    pub(crate) const fn new(name: &'static str) -> Self {
        Call(name)
    }

    /// The entry point's name, e.g. `mb_reserve`.
    #[inline]
    pub(crate) const fn name(self) -> &'static str {
        self.0
    }

    /// `MB_ERR_NULL_POINTER` for argument `arg`.
    #[cold]
    pub(crate) fn null(self, arg: &str) -> Error {
        Error::null(self.0, arg)
    }

    /// An error with `status` whose message is `what`, prefixed with the function's name.
    #[cold]
    pub(crate) fn error(self, status: i32, what: impl Display) -> Error {
        Error::new(status, format!("{}: {what}", self.0))
    }

    /// `MB_ERR_INVALID_ARGUMENT` whose message is `what`, prefixed with the function's name.
    #[cold]
    pub(crate) fn invalid(self, what: impl Display) -> Error {
        self.error(crate::error::MB_ERR_INVALID_ARGUMENT, what)
    }

    /// Checks the out-pointer argument `arg` before the call does anything, so a NULL one is
    /// refused with nothing done (nothing charged, nothing allocated).
    ///
    /// # Errors
    /// `MB_ERR_NULL_POINTER` naming `arg` when `out` is NULL.
    ///
    /// # Safety
    /// `out` is NULL or valid for one write of `T` until the entry point returns (the entry
    /// point's contract).
    #[inline]
    pub(crate) unsafe fn out<T>(self, out: *mut T, arg: &str) -> Result<Out<T>, Error> {
        match NonNull::new(out) {
            // SAFETY: non-null, and valid for one write per this function's contract.
            Some(p) => Ok(unsafe { Out::new(p) }),
            None => Err(self.null(arg)),
        }
    }
}
