//! Writing results through caller-provided pointers.

use crate::error::{Error, MB_ERR_BUFFER_TOO_SMALL, MB_ERR_NULL_POINTER};
use core::ffi::c_char;
use core::ptr::NonNull;

/// An out-pointer checked by [`Call::out`](crate::call::Call::out): not NULL and valid for one
/// write, which consumes it.
#[derive(Debug)]
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// Wraps `out`.
    ///
    /// # Safety
    /// `out` is valid for one write of `T` (alignment included) while the `Out` lives.
    #[inline]
    pub(crate) unsafe fn new(out: NonNull<T>) -> Self {
        Out(out)
    }

    /// Writes the result.
    #[inline]
    pub(crate) fn write(self, value: T) {
        // SAFETY: valid for one write (`new`'s contract); `self` is consumed, so only once.
        unsafe { self.0.as_ptr().write(value) };
    }
}

/// Copies `s` plus a NUL into `buf` (`len` bytes), truncating if needed; `*needed` gets
/// `s.len() + 1` when `needed` is not NULL. Sets no last-error message.
///
/// # Errors
/// `MB_ERR_BUFFER_TOO_SMALL` when truncated (or `buf` is NULL with `len == 0`: a size query),
/// `MB_ERR_NULL_POINTER` when `buf` is NULL but `len > 0`.
///
/// # Safety
/// `buf` NULL or valid for writes of `len` bytes; `needed` NULL or valid for a write.
pub(crate) unsafe fn copy_str(
    s: &str,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> Result<(), Error> {
    let need = s.len() + 1;
    if !needed.is_null() {
        // SAFETY: non-null and valid for a write by the caller's contract.
        unsafe { needed.write(need) };
    }
    if buf.is_null() {
        return Err(if len == 0 {
            Error::new(MB_ERR_BUFFER_TOO_SMALL, "size query")
        } else {
            Error::new(MB_ERR_NULL_POINTER, "argument 'buf' is NULL")
        });
    }
    if len == 0 {
        return Err(Error::new(MB_ERR_BUFFER_TOO_SMALL, "zero-length buffer"));
    }
    let n = s.len().min(len - 1);
    // SAFETY: `buf` is valid for `len > n` bytes; `s` and `buf` cannot overlap (`s` is ours).
    unsafe { core::ptr::copy_nonoverlapping(s.as_ptr(), buf.cast::<u8>(), n) };
    // SAFETY: `n < len`, so byte `n` is inside `buf`.
    unsafe { buf.wrapping_add(n).write(0) };
    if n < s.len() {
        Err(Error::new(
            MB_ERR_BUFFER_TOO_SMALL,
            format!("buffer of {len} bytes is too small: {need} bytes needed"),
        ))
    } else {
        Ok(())
    }
}
