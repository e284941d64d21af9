//! The `catch_unwind` boundary every `mb_*` entry point goes through.

use crate::call::Call;
use crate::error::{Error, MB_ERR_PANIC, MB_OK};
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f` for the entry point `function` (its only mention: `f` gets it as a [`Call`]),
/// turning its error or panic into a status code and the thread's last error message. No
/// unwind ever crosses the C boundary.
///
/// `AssertUnwindSafe` is sound here: state shared across calls lives in registries and atomics
/// whose invariants hold between any two operations, and mutexes recover from poisoning.
#[inline]
pub(crate) fn boundary(function: &'static str, f: impl FnOnce(Call) -> Result<(), Error>) -> i32 {
    match catch_unwind(AssertUnwindSafe(|| f(Call::new(function)))) {
        Ok(Ok(())) => MB_OK,
        Ok(Err(e)) => e.record(),
        Err(payload) => panicked(function, payload),
    }
}

#[cold]
#[inline(never)]
fn panicked(function: &'static str, payload: Box<dyn Any + Send>) -> i32 {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_string());
    // Dropping the payload could itself panic; forget it rather than risk unwinding here.
    std::mem::forget(payload);
    Error::new(
        MB_ERR_PANIC,
        format!("{function}: internal panic caught at the C boundary: {what}"),
    )
    .record()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{last_error, MB_ERR_INVALID_ARGUMENT};

    #[test]
    fn panics_and_errors_become_statuses() {
        assert_eq!(boundary("t", |_| Ok(())), MB_OK);
        assert_eq!(
            boundary("t", |_| Err(Error::invalid("nope"))),
            MB_ERR_INVALID_ARGUMENT
        );
        assert_eq!(last_error(), "nope");
        assert_eq!(
            boundary("mb_test", |call| Err(call.invalid("bad 7"))),
            MB_ERR_INVALID_ARGUMENT
        );
        assert_eq!(last_error(), "mb_test: bad 7");
        assert_eq!(boundary("mb_test", |_| panic!("boom {}", 1)), MB_ERR_PANIC);
        assert_eq!(
            last_error(),
            "mb_test: internal panic caught at the C boundary: boom 1"
        );
    }
}
