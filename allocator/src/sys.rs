//! The few libc calls the allocator makes outside its backings: environment look-ups, the
//! pthread key whose destructor returns a thread's allowances, and anonymous mappings (the
//! allowance registry's added segments, the mimalloc backing's arena region). None of them
//! calls the Rust allocator, so they are safe inside `GlobalAlloc` methods.
#![allow(clippy::disallowed_methods)]

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

/// `len` bytes of zeroed, readable and writable, page-aligned memory from the OS, or `None`.
pub(crate) fn map_zeroed(len: usize) -> Option<*mut u8> {
    map(len, libc::PROT_READ | libc::PROT_WRITE, 0)
}

/// `len` bytes of address space, reserved but inaccessible and not counted against the
/// commit limit (`PROT_NONE`, `MAP_NORESERVE`), at `hint` if that range is free (else where
/// the OS chooses), or `None`.
#[cfg_attr(not(feature = "mimalloc"), allow(dead_code))]
pub(crate) fn reserve(len: usize, hint: usize) -> Option<*mut u8> {
    map_at(hint, len, libc::PROT_NONE, libc::MAP_NORESERVE)
}

fn map(len: usize, prot: libc::c_int, flags: libc::c_int) -> Option<*mut u8> {
    map_at(0, len, prot, flags)
}

fn map_at(hint: usize, len: usize, prot: libc::c_int, flags: libc::c_int) -> Option<*mut u8> {
    if len == 0 {
        return None;
    }
    // SAFETY: a fresh private anonymous mapping (without MAP_FIXED, so the hint never replaces
    // an existing mapping); no existing memory is affected.
    let p = unsafe {
        libc::mmap(
            hint as *mut c_void,
            len,
            prot,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | flags,
            -1,
            0,
        )
    };
    (p != libc::MAP_FAILED).then_some(p.cast::<u8>())
}

/// Unmaps `len` bytes at `addr`.
///
/// # Safety
/// `addr..addr + len` lies in mappings made here, and nothing uses that memory any more.
pub(crate) unsafe fn unmap(addr: *mut u8, len: usize) {
    // SAFETY: forwarded contract. A failure leaves the range mapped (a leak, never unsafety).
    unsafe { libc::munmap(addr.cast::<c_void>(), len) };
}
