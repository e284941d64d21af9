//! The few libc calls the allocator makes outside its backings: environment look-ups and the
//! pthread key whose destructor returns a thread's allowances. None of them calls the Rust
//! allocator, so they are safe inside `GlobalAlloc` methods.

use core::ffi::{c_void, CStr};
use core::sync::atomic::{AtomicU32, AtomicU8, Ordering};

/// The environment variable `name` as UTF-8, without allocating; `None` if unset or not UTF-8.
pub(crate) fn env_str(name: &CStr) -> Option<&'static str> {
    // SAFETY: `name` is NUL-terminated. `getenv` returns null or a pointer into the process
    // environment; the crate never calls `setenv`, and the value is read at once.
    let p = unsafe { libc::getenv(name.as_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: `p` is a non-null NUL-terminated string owned by the environment.
    unsafe { CStr::from_ptr(p) }.to_str().ok()
}

const KEY_NONE: u8 = 0;
const KEY_CREATING: u8 = 1;
const KEY_READY: u8 = 2;
const KEY_FAILED: u8 = 3;

static KEY_STATE: AtomicU8 = AtomicU8::new(KEY_NONE);
static KEY: AtomicU32 = AtomicU32::new(0);

/// The destructor type of the thread-exit key.
pub(crate) type ExitFn = unsafe extern "C" fn(*mut c_void);

/// Arranges for `dtor(value)` to run when the calling thread exits (a pthread key destructor;
/// the main thread's never runs, as its process ends). Returns `false` if that is impossible.
/// All calls must pass the same `dtor`.
pub(crate) fn on_thread_exit(value: *mut c_void, dtor: ExitFn) -> bool {
    let key = loop {
        match KEY_STATE.load(Ordering::Acquire) {
            // Acquire: pairs with the Release below that published KEY.
            KEY_READY => break KEY.load(Ordering::Relaxed),
            KEY_FAILED => return false,
            KEY_NONE => {
                if KEY_STATE
                    .compare_exchange(KEY_NONE, KEY_CREATING, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    let mut key: libc::pthread_key_t = 0;
                    // SAFETY: `key` is a valid out-pointer; `dtor` is an `extern "C"` fn that
                    // lives for the whole program.
                    let rc = unsafe { libc::pthread_key_create(&mut key, Some(dtor)) };
                    if rc != 0 {
                        KEY_STATE.store(KEY_FAILED, Ordering::Release);
                        return false;
                    }
                    KEY.store(key, Ordering::Relaxed);
                    // Release: publishes KEY to the Acquire loads above.
                    KEY_STATE.store(KEY_READY, Ordering::Release);
                }
            }
            _ => std::thread::yield_now(),
        }
    };
    // SAFETY: `key` was created by `pthread_key_create` and is never deleted.
    unsafe { libc::pthread_setspecific(key, value) == 0 }
}
