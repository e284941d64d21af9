//! Network buffers: local buffer pools (`mb_local_pool_*`) and the buffers they lend
//! (`mb_buffer_*`), after Flink's `LocalBufferPool`.

use crate::error::{
    Error, MB_ERR_DESTROYED, MB_ERR_INVALID_ARGUMENT, MB_ERR_OUT_OF_MEMORY, MB_ERR_QUOTA_EXCEEDED,
    MB_ERR_TIMEOUT, MB_ERR_UNAVAILABLE, MB_OK,
};
use crate::panic::boundary;
use crate::registry::{Cached, Guard, LocalFree, Registry};
use crate::runtime::{mb_runtime, runtime, Runtime};
use core::ffi::c_void;
use membudget_bufferpool::{Buffer, BufferListener, BufferPoolError, LocalBufferPool, UNBOUNDED};
use std::cell::RefCell;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// An opaque local buffer pool handle (a generation-checked token, not an address).
pub struct mb_local_pool {
    _private: [u8; 0],
}

/// A network buffer lent to the host: `capacity` writable bytes at `ptr`, until
/// `mb_buffer_recycle(id)`. Ids carry a generation: recycling twice is an error.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mb_buffer {
    /// First byte of the buffer's memory segment.
    pub ptr: *mut u8,
    /// Bytes the buffer holds (the plan's segment size).
    pub capacity: u64,
    /// Generation-checked id for `mb_buffer_recycle`.
    pub id: u64,
}

/// Called once by `mb_local_pool_on_available`: with `MB_OK` and a buffer the callee now owns
/// (recycle it with `mb_buffer_recycle`), or with `MB_ERR_DESTROYED` and NULL if the pool was
/// freed first. Runs on the thread that recycled the buffer (or freed the pool), or on the
/// registering thread if a buffer was available at once; it must not block.
pub type mb_buffer_callback =
    Option<unsafe extern "C" fn(ctx: *mut c_void, status: i32, buffer: *const mb_buffer)>;

/// `timeout_ms` value that waits without a time limit.
pub const MB_WAIT_FOREVER: u32 = u32::MAX;
/// `max_buffers` value for a pool with no upper bound.
pub const MB_UNBOUNDED: u32 = u32::MAX;

static POOLS: Registry<Pool> = Registry::new(2);
static BUFFERS: Registry<Buffer> =
    Registry::with_local_free(3, &BUFFER_SLOTS, &BUFFER_SLOTS_SHARED);
static BUFFER_SLOTS_SHARED: Mutex<Vec<u32>> = Mutex::new(Vec::new());
thread_local! {
    static BUFFER_SLOTS: RefCell<LocalFree> = const { RefCell::new(LocalFree::new()) };
    static POOL_CACHE: Cached<Pool> = const { RefCell::new(None) };
}
const POOL_KIND: &str = "local pool handle";
const BUFFER_KIND: &str = "buffer id";

/// A local pool and the runtime it draws from (kept alive as long as the pool).
struct Pool {
    local: LocalBufferPool,
    _runtime: Arc<Runtime>,
}

#[inline]
fn pool_ref(p: *const mb_local_pool, function: &str) -> Result<Guard<'static, Pool>, Error> {
    if p.is_null() {
        return Err(Error::null(function, "pool"));
    }
    let id = p as usize as u64;
    POOLS
        .get(id)
        .map_err(|why| Error::handle(POOL_KIND, id, why))
}

#[cold]
fn pool_error(function: &str, e: BufferPoolError) -> Error {
    let status = match &e {
        BufferPoolError::PoolDestroyed | BufferPoolError::NetworkPoolDestroyed => MB_ERR_DESTROYED,
        BufferPoolError::InsufficientBuffers { .. } => MB_ERR_QUOTA_EXCEEDED,
        BufferPoolError::Timeout { .. } => MB_ERR_TIMEOUT,
        BufferPoolError::OutOfMemory { .. } => MB_ERR_OUT_OF_MEMORY,
        _ => MB_ERR_INVALID_ARGUMENT,
    };
    Error::new(status, format!("{function}: {e}"))
}

/// Registers `buffer` and describes it for the host.
#[inline]
fn publish(mut buffer: Buffer) -> Result<mb_buffer, Error> {
    let capacity = buffer.capacity() as u64;
    let Some(bytes) = buffer.as_mut_slice() else {
        return Err(Error::invalid(
            "a shared or read-only buffer cannot be lent",
        ));
    };
    let ptr = bytes.as_mut_ptr();
    let id = BUFFERS
        .insert(buffer)
        .map_err(|_| Error::invalid("too many live buffer ids"))?;
    Ok(mb_buffer { ptr, capacity, id })
}

/// Creates a local pool on the runtime's network buffers, guaranteed `min_buffers` and holding
/// at most `max_buffers` (`MB_UNBOUNDED` for no bound); buffers beyond the minimums are shared
/// out among pools like Flink does. Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_QUOTA_EXCEEDED` (the minimums exceed the network buffers: the
/// message names the keys), `MB_ERR_INVALID_ARGUMENT` (`min > max`), `MB_ERR_UNAVAILABLE` (the
/// plan has no network memory, e.g. a JobManager), `MB_ERR_NULL_POINTER`,
/// `MB_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `out` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mb_local_pool_new(
    rt: *const mb_runtime,
    min_buffers: u32,
    max_buffers: u32,
    out: *mut *mut mb_local_pool,
) -> i32 {
    boundary("mb_local_pool_new", || {
        if out.is_null() {
            return Err(Error::null("mb_local_pool_new", "out"));
        }
        let r = runtime(rt, "mb_local_pool_new")?;
        let Some(network) = r.network() else {
            return Err(Error::new(
                MB_ERR_UNAVAILABLE,
                "mb_local_pool_new: the plan has no network buffers (a JobManager plan, or \
                 'taskmanager.memory.network.max' is 0)",
            ));
        };
        let max = if max_buffers == MB_UNBOUNDED {
            UNBOUNDED
        } else {
            max_buffers as usize
        };
        let local = network
            .create_buffer_pool(min_buffers as usize, max)
            .map_err(|e| pool_error("mb_local_pool_new", e))?;
        let p = Pool {
            local,
            _runtime: Arc::clone(&r),
        };
        let id = POOLS
            .insert(p)
            .map_err(|_| Error::invalid("mb_local_pool_new: too many live local pools"))?;
        // SAFETY: `out` is non-null and valid for a write per the contract.
        unsafe { out.write(id as usize as *mut mb_local_pool) };
        Ok(())
    })
}

/// Destroys a local pool: its idle buffers go back to the network pool, threads waiting in
/// `mb_buffer_request_timeout` wake with `MB_ERR_DESTROYED`, pending `on_available` callbacks
/// run with `MB_ERR_DESTROYED`. Buffers still lent out stay valid; recycling them returns them
/// to the network pool. `mb_local_pool_free(NULL)` does nothing. Never blocks.
///
/// Returns `MB_OK` or `MB_ERR_INVALID_HANDLE` (already freed: a double free is refused).
///
/// # Safety
/// None: the handle is checked.
#[no_mangle]
pub unsafe extern "C" fn mb_local_pool_free(pool: *mut mb_local_pool) -> i32 {
    boundary("mb_local_pool_free", || {
        if pool.is_null() {
            return Ok(());
        }
        let id = pool as usize as u64;
        let p = POOLS
            .get(id)
            .map_err(|why| Error::handle(POOL_KIND, id, why))?;
        let removed = POOLS
            .remove(id)
            .map_err(|why| Error::handle(POOL_KIND, id, why))?;
        // Wake waiters now even if one of them still holds the pool (it drops it on return).
        p.local.lazy_destroy();
        drop(p);
        drop(removed);
        POOLS.forget_cached(&POOL_CACHE, id);
        Ok(())
    })
}

/// Takes a buffer if the pool has one now; never blocks. `MB_ERR_UNAVAILABLE` means the pool
/// is at its size (backpressure): wait with `mb_buffer_request_timeout` or
/// `mb_local_pool_on_available`.
///
/// Returns `MB_OK`, `MB_ERR_UNAVAILABLE`, `MB_ERR_DESTROYED`, `MB_ERR_NULL_POINTER`,
/// `MB_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `out` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mb_buffer_request(pool: *const mb_local_pool, out: *mut mb_buffer) -> i32 {
    boundary("mb_buffer_request", || {
        if out.is_null() {
            return Err(Error::null("mb_buffer_request", "out"));
        }
        if pool.is_null() {
            return Err(Error::null("mb_buffer_request", "pool"));
        }
        let id = pool as usize as u64;
        let buf = POOLS
            .with_cached(&POOL_CACHE, id, |p| match p.local.request_buffer() {
                Ok(Some(b)) => publish(b),
                Ok(None) => Err(unavailable(&p.local, pool)),
                Err(e) => Err(pool_error("mb_buffer_request", e)),
            })
            .map_err(|why| Error::handle(POOL_KIND, id, why))??;
        // SAFETY: `out` is non-null and valid for a write per the contract.
        unsafe { out.write(buf) };
        Ok(())
    })
}

#[cold]
#[inline(never)]
fn unavailable(local: &LocalBufferPool, handle: *const mb_local_pool) -> Error {
    Error::new(
        MB_ERR_UNAVAILABLE,
        format!(
            "mb_buffer_request: local pool {:#x} has no buffer available ({} of {} in use); \
             wait with mb_buffer_request_timeout or mb_local_pool_on_available",
            handle as usize,
            local.used_buffers(),
            local.num_buffers()
        ),
    )
}

/// Takes a buffer, waiting up to `timeout_ms` milliseconds (`MB_WAIT_FOREVER`: no limit) for
/// one to be recycled. **Blocks** the calling thread (parked, no spinning).
///
/// Returns `MB_OK`, `MB_ERR_TIMEOUT`, `MB_ERR_DESTROYED` (the pool was freed meanwhile),
/// `MB_ERR_NULL_POINTER`, `MB_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `out` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mb_buffer_request_timeout(
    pool: *const mb_local_pool,
    timeout_ms: u32,
    out: *mut mb_buffer,
) -> i32 {
    boundary("mb_buffer_request_timeout", || {
        if out.is_null() {
            return Err(Error::null("mb_buffer_request_timeout", "out"));
        }
        let p = pool_ref(pool, "mb_buffer_request_timeout")?;
        let deadline = (timeout_ms != MB_WAIT_FOREVER)
            .then(|| Instant::now() + Duration::from_millis(u64::from(timeout_ms)));
        let b = request_until(&p.local, deadline)
            .map_err(|e| e.unwrap_or_else(|| timed_out(timeout_ms)))?;
        let buf = publish(b)?;
        // SAFETY: `out` is non-null and valid for a write per the contract.
        unsafe { out.write(buf) };
        Ok(())
    })
}

#[cold]
fn timed_out(timeout_ms: u32) -> Error {
    Error::new(
        MB_ERR_TIMEOUT,
        format!(
            "mb_buffer_request_timeout: no buffer was recycled within {timeout_ms} ms; the pool \
             stays at its size until buffers are recycled"
        ),
    )
}

/// A buffer from `local`, waiting for a recycled one until `deadline`. `Err(None)` = timeout.
fn request_until(
    local: &LocalBufferPool,
    deadline: Option<Instant>,
) -> Result<Buffer, Option<Error>> {
    loop {
        match local.request_buffer() {
            Ok(Some(b)) => return Ok(b),
            Ok(None) => {}
            Err(e) => return Err(Some(pool_error("mb_buffer_request_timeout", e))),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            // Timeout 0 (or already past): a poll, so no listener is left behind per call.
            return Err(None);
        }
        let waiter = Arc::new(Waiter::default());
        if !local.add_buffer_listener(waiter.clone()) {
            if local.is_destroyed() {
                return Err(Some(pool_error(
                    "mb_buffer_request_timeout",
                    BufferPoolError::PoolDestroyed,
                )));
            }
            continue; // a buffer came back meanwhile: try again
        }
        let mut s = waiter.lock();
        loop {
            if let Some(b) = s.buffer.take() {
                return Ok(b);
            }
            if s.destroyed {
                return Err(Some(pool_error(
                    "mb_buffer_request_timeout",
                    BufferPoolError::PoolDestroyed,
                )));
            }
            match deadline {
                None => s = waiter.cv.wait(s).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        s.abandoned = true; // later offers are declined
                        return Err(None);
                    }
                    s = waiter
                        .cv
                        .wait_timeout(s, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }
}

/// A thread blocked in `mb_buffer_request_timeout`, registered as a Flink-style listener.
#[derive(Default)]
struct Waiter {
    state: Mutex<WaitState>,
    cv: Condvar,
}

#[derive(Default)]
struct WaitState {
    buffer: Option<Buffer>,
    destroyed: bool,
    abandoned: bool,
}

impl Waiter {
    fn lock(&self) -> std::sync::MutexGuard<'_, WaitState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl BufferListener for Waiter {
    fn notify_buffer_available(&self, buffer: Buffer) -> Result<(), Buffer> {
        let mut s = self.lock();
        if s.abandoned || s.buffer.is_some() {
            return Err(buffer);
        }
        s.buffer = Some(buffer);
        self.cv.notify_one();
        Ok(())
    }

    fn notify_buffer_destroyed(&self) {
        self.lock().destroyed = true;
        self.cv.notify_one();
    }
}

/// A host callback waiting for a buffer.
struct Callback {
    f: unsafe extern "C" fn(*mut c_void, i32, *const mb_buffer),
    ctx: *mut c_void,
}

// SAFETY: the host promises (see `mb_local_pool_on_available`) that `f` may be called with
// `ctx` from any thread; we never dereference `ctx`.
unsafe impl Send for Callback {}
// SAFETY: as above; the callback is called at most once through `&self`.
unsafe impl Sync for Callback {}

impl Callback {
    fn call(&self, status: i32, buffer: Option<&mb_buffer>) {
        let p = buffer.map_or(core::ptr::null(), |b| b as *const mb_buffer);
        // SAFETY: the host registered `f` for exactly this call with `ctx`; `p` is NULL or
        // points to a live `mb_buffer` for the duration of the call.
        unsafe { (self.f)(self.ctx, status, p) };
    }
}

impl BufferListener for Callback {
    fn notify_buffer_available(&self, buffer: Buffer) -> Result<(), Buffer> {
        match publish(buffer) {
            Ok(b) => {
                self.call(MB_OK, Some(&b));
                Ok(())
            }
            // Cannot happen unless 268 million buffer ids are live; the buffer is gone then,
            // and the host learns nothing: report the pool as destroyed instead of hanging.
            Err(_) => {
                self.call(MB_ERR_DESTROYED, None);
                Ok(())
            }
        }
    }

    fn notify_buffer_destroyed(&self) {
        self.call(MB_ERR_DESTROYED, None);
    }
}

/// Asks for a buffer without blocking: `callback(ctx, MB_OK, &buffer)` runs once a buffer is
/// available — at once on this thread if the pool has one now, else on the thread that
/// recycles one — and the callee owns that buffer. If the pool is freed first the callback
/// runs with `MB_ERR_DESTROYED` and NULL. For async hosts (a `CompletableFuture`, a `Task`).
/// Never blocks; the callback must not block either.
///
/// Returns `MB_OK` (the callback ran or is registered), `MB_ERR_DESTROYED`,
/// `MB_ERR_NULL_POINTER` (pool or callback), `MB_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `callback` must be safe to call once with `ctx` from any thread, until it has run.
#[no_mangle]
pub unsafe extern "C" fn mb_local_pool_on_available(
    pool: *const mb_local_pool,
    callback: mb_buffer_callback,
    ctx: *mut c_void,
) -> i32 {
    boundary("mb_local_pool_on_available", || {
        let Some(f) = callback else {
            return Err(Error::null("mb_local_pool_on_available", "callback"));
        };
        let p = pool_ref(pool, "mb_local_pool_on_available")?;
        let cb = Arc::new(Callback { f, ctx });
        loop {
            match p.local.request_buffer() {
                Ok(Some(b)) => {
                    let buf = publish(b)?;
                    cb.call(MB_OK, Some(&buf));
                    return Ok(());
                }
                Ok(None) => {}
                Err(e) => return Err(pool_error("mb_local_pool_on_available", e)),
            }
            if p.local.add_buffer_listener(cb.clone()) {
                return Ok(());
            }
            if p.local.is_destroyed() {
                return Err(pool_error(
                    "mb_local_pool_on_available",
                    BufferPoolError::PoolDestroyed,
                ));
            }
        }
    })
}

/// Gives a buffer back (to its local pool, or to the network pool if that was freed). The id
/// is invalid afterwards: recycling it again, or a forged id, is refused and never frees
/// twice. May run `on_available` callbacks of other threads' pools on this thread. Never
/// blocks.
///
/// Returns `MB_OK` or `MB_ERR_INVALID_HANDLE`.
///
/// # Safety
/// None: the id is checked. The host must not touch the buffer's memory afterwards.
#[no_mangle]
pub unsafe extern "C" fn mb_buffer_recycle(buffer_id: u64) -> i32 {
    boundary("mb_buffer_recycle", || {
        BUFFERS
            .remove(buffer_id)
            .map(drop)
            .map_err(|why| Error::handle(BUFFER_KIND, buffer_id, why))
    })
}
