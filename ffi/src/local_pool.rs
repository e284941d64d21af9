//! Local buffer pools (`mb_local_pool_*`) and the requests made through them
//! (`mb_buffer_request*`), after Flink's `LocalBufferPool`.

use crate::buffer::{mb_buffer, mb_buffer_callback, Lending};
use crate::call::Call;
use crate::error::{
    Error, MB_ERR_DESTROYED, MB_ERR_INVALID_ARGUMENT, MB_ERR_OUT_OF_MEMORY, MB_ERR_QUOTA_EXCEEDED,
    MB_ERR_TIMEOUT, MB_ERR_UNAVAILABLE, MB_OK,
};
use crate::handle::{Cache, Handle, Handles};
use crate::out::Out;
use crate::panic::boundary;
use crate::refusal::Refusal;
use crate::runtime::{mb_runtime, RUNTIMES};
use crate::struct_size::{fields, Fields};
use core::ffi::c_void;
use core::ptr::NonNull;
use membudget_allocator::{Category, Role};
use membudget_bufferpool::{Buffer, BufferListener, BufferPoolError, LocalBufferPool, UNBOUNDED};
use std::sync::Arc;
use std::thread::LocalKey;
use std::time::Duration;

/// An opaque local buffer pool handle (a generation-checked token, not an address).
pub struct mb_local_pool {
    _private: [u8; 0],
}

/// `timeout_ms` value that waits without a time limit.
pub const MB_WAIT_FOREVER: u32 = u32::MAX;
/// `max_buffers` value for a pool with no upper bound.
pub const MB_UNBOUNDED: u32 = u32::MAX;

/// Live local pools.
static POOLS: Handles<Pool> = Handles::new(2);
thread_local! {
    static POOL_CACHE: Cache<Pool> = const { Cache::new() };
}

/// A local pool and how the host names its buffers.
struct Pool {
    local: LocalBufferPool,
    lending: Arc<Lending>,
}

impl Pool {
    /// Lends a buffer the pool has now to the host, through `out`; `Ok(false)` when none is
    /// free now (backpressure).
    ///
    /// # Errors
    /// `MB_ERR_DESTROYED`, or a lending refusal.
    #[inline(always)]
    fn lend_one(&self, call: Call, out: Out<mb_buffer>) -> Result<bool, Error> {
        match self.local.request_buffer() {
            Ok(Some(b)) => match self.lending.lend(b) {
                Ok(b) => {
                    out.write(b);
                    Ok(true)
                }
                Err((e, _)) => Err(e),
            },
            Ok(None) => Ok(false),
            Err(e) => Err(pool_error(call, e)),
        }
    }
}

impl Handle for Pool {
    type C = mb_local_pool;
    const KIND: &'static str = "local pool handle";
    const PLURAL: &'static str = "local pools";
    const ARG: &'static str = "pool";

    fn cache() -> &'static LocalKey<Cache<Self>> {
        &POOL_CACHE
    }

    /// Wakes waiters and callbacks now, even if a thread still holds the pool.
    fn shut_down(&self) {
        self.local.lazy_destroy();
    }
}

/// Lends the buffers of a batch request as they come, into `out[0..n]` (`Extend` is how
/// `LocalBufferPool::request_buffers` hands them over). After the first lending refusal (no
/// buffer id left) the rest go back to the pool: the batch stops there.
struct LendInto<'a> {
    lending: &'a Lending,
    /// Valid for `n` writes (the entry point's contract).
    out: NonNull<mb_buffer>,
    n: u32,
    taken: u32,
    refused: Option<Error>,
}

impl Extend<Buffer> for LendInto<'_> {
    fn extend<I: IntoIterator<Item = Buffer>>(&mut self, buffers: I) {
        for buffer in buffers {
            if self.refused.is_some() || self.taken >= self.n {
                // Dropped: back to its pool.
                continue;
            }
            match self.lending.lend(buffer) {
                Ok(lent) => {
                    // SAFETY: `taken < n` and `out` is valid for `n` writes.
                    let at = unsafe { self.out.add(self.taken as usize) };
                    // SAFETY: as above: valid for one write.
                    unsafe { Out::new(at) }.write(lent);
                    // `taken < n ≤ u32::MAX`.
                    self.taken += 1;
                }
                // The buffer handed back drops into its pool.
                Err((e, _)) => self.refused = Some(e),
            }
        }
    }
}

#[cold]
fn pool_error(call: Call, e: BufferPoolError) -> Error {
    let status = match &e {
        BufferPoolError::PoolDestroyed | BufferPoolError::NetworkPoolDestroyed => MB_ERR_DESTROYED,
        BufferPoolError::InsufficientBuffers { .. } | BufferPoolError::BudgetRefused { .. } => {
            MB_ERR_QUOTA_EXCEEDED
        }
        BufferPoolError::Timeout { .. } => MB_ERR_TIMEOUT,
        BufferPoolError::OutOfMemory { .. } => MB_ERR_OUT_OF_MEMORY,
        _ => MB_ERR_INVALID_ARGUMENT,
    };
    let refusal = match &e {
        BufferPoolError::InsufficientBuffers {
            required,
            available,
            total,
            segment_size,
        } => {
            let bytes = |n: usize| (n as u64).saturating_mul(*segment_size as u64);
            Some(Refusal::of_pool(
                Category::Network,
                bytes(*required),
                bytes(total.saturating_sub(*available)),
                bytes(*total),
                Role::TaskManager, // only a TaskManager has network buffers
            ))
        }
        _ => None,
    };
    let error = call.error(status, e);
    match refusal {
        Some(r) => error.with_refusal(r),
        None => error,
    }
}

/// Creates a local pool on the runtime's network buffers, guaranteed `min_buffers` and holding
/// at most `max_buffers` (`MB_UNBOUNDED` for no bound); buffers beyond the minimums are shared
/// out among pools like Flink does. Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_QUOTA_EXCEEDED` (the minimums exceed the network buffers: the
/// message names the keys), `MB_ERR_INVALID_ARGUMENT` (`min > max`), `MB_ERR_UNAVAILABLE` (the
/// plan has no network memory, e.g. a JobManager), `MB_ERR_NULL_POINTER`,
/// `MB_ERR_INVALID_HANDLE`, `MB_ERR_DESTROYED` (the runtime was freed by another thread
/// meanwhile).
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
    boundary("mb_local_pool_new", |call| {
        // SAFETY: `out` is valid for a write per this function's contract.
        let out = unsafe { call.out(out, "out") }?;
        let r = RUNTIMES.get(call, rt)?;
        let max = if max_buffers == MB_UNBOUNDED {
            UNBOUNDED
        } else {
            max_buffers as usize
        };
        let (local, lending) =
            r.create_local_pool(call, min_buffers as usize, max, |e| pool_error(call, e))?;
        let pool = Pool { local, lending };
        POOLS.insert(call, pool).map(|handle| out.write(handle))
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
    boundary("mb_local_pool_free", |_| POOLS.free(pool))
}

/// Takes a buffer if the pool has one now; never blocks. `MB_ERR_UNAVAILABLE` means the pool
/// is at its size (backpressure): wait with `mb_buffer_request_timeout` or
/// `mb_local_pool_on_available`.
///
/// Returns `MB_OK`, `MB_ERR_UNAVAILABLE`, `MB_ERR_DESTROYED` (the pool's runtime was freed),
/// `MB_ERR_NULL_POINTER`, `MB_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `out` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mb_buffer_request(pool: *const mb_local_pool, out: *mut mb_buffer) -> i32 {
    boundary("mb_buffer_request", |call| {
        // SAFETY: `out` is valid for a write per this function's contract.
        let out = unsafe { call.out(out, "out") }?;
        POOLS.with(call, pool, move |call, p| match p.lend_one(call, out)? {
            true => Ok(()),
            false => Err(unavailable(call, &p.local, pool)),
        })
    })
}

/// Takes up to `n` buffers the pool has now, into `out[0..n]`, as `mb_buffer_request` does
/// for each (one call instead of `n`); `*got` receives how many. Stops at the first buffer not
/// available at once; never blocks.
///
/// Returns `MB_OK` (`*got` ≥ 1, or `n` was 0), `MB_ERR_UNAVAILABLE` (none now, `*got` = 0),
/// `MB_ERR_DESTROYED` (the pool's runtime was freed, `*got` = 0), `MB_ERR_NULL_POINTER`,
/// `MB_ERR_INVALID_HANDLE`. `*got` is written on every status but `MB_ERR_NULL_POINTER`;
/// the buffers in `out[0..*got]` are the host's.
///
/// # Safety
/// `out` is valid for writes of `n` `mb_buffer`s (or NULL when `n` is 0); `got` is valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn mb_buffer_request_many(
    pool: *const mb_local_pool,
    n: u32,
    out: *mut mb_buffer,
    got: *mut u32,
) -> i32 {
    boundary("mb_buffer_request_many", |call| {
        // SAFETY: `got` is valid for a write per this function's contract.
        let got = unsafe { call.out(got, "got") }?;
        let out = match NonNull::new(out) {
            Some(out) => out,
            None if n == 0 => NonNull::dangling(),
            None => return Err(call.null("out")),
        };
        let taken = POOLS.with(call, pool, move |call, p| {
            if n == 0 {
                return Ok(0);
            }
            // The pool hands over what it has now in as few operations as fit (this thread's
            // stash, then its idle list in batches); each buffer is lent as it comes.
            let mut lent = LendInto {
                lending: &p.lending,
                out,
                n,
                taken: 0,
                refused: None,
            };
            let requested = p.local.request_buffers(n as usize, &mut lent);
            match (lent.taken, requested, lent.refused) {
                // Some were lent: the host has them (a later refusal stops the batch there).
                (taken @ 1.., _, _) => Ok(taken),
                (0, Err(e), _) => Err(pool_error(call, e)),
                (0, Ok(_), Some(e)) => Err(e),
                (0, Ok(_), None) => Err(unavailable(call, &p.local, pool)),
            }
        });
        got.write(*taken.as_ref().unwrap_or(&0));
        taken.map(drop)
    })
}

#[cold]
#[inline(never)]
fn unavailable(call: Call, local: &LocalBufferPool, handle: *const mb_local_pool) -> Error {
    call.error(
        MB_ERR_UNAVAILABLE,
        format_args!(
            "local pool {:#x} has no buffer available ({} of {} in use); wait with \
             mb_buffer_request_timeout or mb_local_pool_on_available",
            handle.addr(),
            local.used_buffers(),
            local.num_buffers()
        ),
    )
}

/// Takes a buffer, waiting up to `timeout_ms` milliseconds (`MB_WAIT_FOREVER`: no limit) for
/// one to be recycled. **Blocks** the calling thread (parked, no spinning).
///
/// Returns `MB_OK`, `MB_ERR_TIMEOUT`, `MB_ERR_DESTROYED` (the pool or its runtime was freed,
/// also while waiting), `MB_ERR_NULL_POINTER`, `MB_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `out` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mb_buffer_request_timeout(
    pool: *const mb_local_pool,
    timeout_ms: u32,
    out: *mut mb_buffer,
) -> i32 {
    boundary("mb_buffer_request_timeout", |call| {
        // SAFETY: `out` is valid for a write per this function's contract.
        let out = unsafe { call.out(out, "out") }?;
        // Not through the cache: the wait may be long, and the pool may be freed meanwhile.
        let p = POOLS.get(call, pool)?;
        let got = if timeout_ms == MB_WAIT_FOREVER {
            p.local.request_buffer_blocking().map(Some)
        } else {
            let timeout = Duration::from_millis(u64::from(timeout_ms));
            p.local.request_buffer_timeout(timeout)
        };
        let buffer = got
            .map_err(|e| pool_error(call, e))?
            .ok_or_else(|| timed_out(call, timeout_ms))?;
        out.write(p.lending.lend(buffer).map_err(|(e, _)| e)?);
        Ok(())
    })
}

#[cold]
fn timed_out(call: Call, timeout_ms: u32) -> Error {
    call.error(
        MB_ERR_TIMEOUT,
        format_args!(
            "no buffer was recycled within {timeout_ms} ms; the pool stays at its size until \
             buffers are recycled"
        ),
    )
}

/// A host callback waiting for a buffer.
struct Callback {
    f: unsafe extern "C" fn(*mut c_void, i32, *const mb_buffer),
    ctx: *mut c_void,
    lending: Arc<Lending>,
    /// Whether the callback ran (it runs once).
    done: std::sync::atomic::AtomicBool,
}

// SAFETY: the host promises (see `mb_local_pool_on_available`) that `f` may be called with
// `ctx` from any thread; we never dereference `ctx`.
unsafe impl Send for Callback {}
// SAFETY: as above; the callback is called at most once through `&self`.
unsafe impl Sync for Callback {}

impl Callback {
    /// Runs the callback, once: later calls do nothing.
    fn call(&self, status: i32, buffer: Option<&mb_buffer>) {
        use std::sync::atomic::Ordering;
        // Relaxed: the pool hands a listener one notification; this only keeps a second
        // (which would be a pool bug) from reaching the host.
        if self.done.swap(true, Ordering::Relaxed) {
            return;
        }
        run_or_defer(HostCall {
            f: self.f,
            ctx: self.ctx,
            status,
            buffer: buffer.copied(),
        });
    }
}

/// One call of a host's `mb_buffer_callback`, owed by this thread.
struct HostCall {
    f: unsafe extern "C" fn(*mut c_void, i32, *const mb_buffer),
    ctx: *mut c_void,
    status: i32,
    buffer: Option<mb_buffer>,
}

impl HostCall {
    fn run(&self) {
        let p = self
            .buffer
            .as_ref()
            .map_or(core::ptr::null(), |b| b as *const mb_buffer);
        // SAFETY: the host registered `f` for exactly this call with `ctx` (`Callback::call`
        // makes it once); `p` is NULL or points to a live `mb_buffer` for the duration of the
        // call.
        unsafe { (self.f)(self.ctx, self.status, p) };
    }
}

thread_local! {
    /// Whether this thread is running host callbacks (`run_or_defer`), and the calls it owes
    /// meanwhile.
    static CALLING: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
    static OWED: core::cell::RefCell<std::collections::VecDeque<HostCall>> =
        const { core::cell::RefCell::new(std::collections::VecDeque::new()) };
}

/// Runs `call` now, unless this thread is inside a host callback already: then the outermost
/// one runs it when that returns (still on this thread, before the `mb_*` call that ran it
/// returns). A callback that recycles its buffer into a pool with waiting callbacks thus runs
/// the next one after it, not inside it: a chain of any length takes constant stack (nested,
/// a thousand callbacks overflowed it).
fn run_or_defer(call: HostCall) {
    let outermost = CALLING.try_with(|c| !c.replace(true));
    let call = match outermost {
        Ok(true) => call,
        // Inside a callback: owed to the outermost.
        Ok(false) => {
            let mut owed = Some(call);
            let _ = OWED.try_with(|o| o.borrow_mut().extend(owed.take()));
            // Unless the thread is exiting (its queue is gone): then it runs now.
            if let Some(call) = owed {
                call.run();
            }
            return;
        }
        // The thread is exiting: no callback of it runs now.
        Err(_) => return call.run(),
    };
    /// Clears `CALLING` when the outermost call ends, unwinding included.
    struct Outermost;
    impl Drop for Outermost {
        fn drop(&mut self) {
            let _ = CALLING.try_with(|c| c.set(false));
        }
    }
    let _outermost = Outermost;
    call.run();
    while let Some(next) = OWED.try_with(|o| o.borrow_mut().pop_front()).ok().flatten() {
        next.run();
    }
}

impl BufferListener for Callback {
    fn notify_buffer_available(&self, buffer: Buffer) -> Result<(), Buffer> {
        match self.lending.lend(buffer) {
            Ok(b) => {
                self.call(MB_OK, Some(&b));
                Ok(())
            }
            // Only when no buffer id is left (16 million buffers lent at once): the host hears
            // the refusal instead of waiting forever, and the buffer goes on to the next
            // listener or back to the pool.
            Err((e, buffer)) => {
                self.call(e.status(), None);
                Err(buffer)
            }
        }
    }

    fn notify_buffer_destroyed(&self) {
        self.call(MB_ERR_DESTROYED, None);
    }
}

/// Asks for a buffer without blocking: `callback(ctx, MB_OK, &buffer)` runs once a buffer is
/// available — at once on this thread if the pool has one now, else on the thread that
/// recycles one — and the callee owns that buffer. If the pool (or its runtime) is freed first
/// the callback runs with `MB_ERR_DESTROYED` and NULL. For async hosts (a `CompletableFuture`,
/// a `Task`).
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
    boundary("mb_local_pool_on_available", |call| {
        let Some(f) = callback else {
            return Err(call.null("callback"));
        };
        // Not through the cache: the callback may call back into the library.
        let p = POOLS.get(call, pool)?;
        let cb = Arc::new(Callback {
            f,
            ctx,
            lending: Arc::clone(&p.lending),
            done: std::sync::atomic::AtomicBool::new(false),
        });
        loop {
            match p.local.request_buffer() {
                Ok(Some(b)) => {
                    let buf = p.lending.lend(b).map_err(|(e, _)| e)?;
                    cb.call(MB_OK, Some(&buf));
                    return Ok(());
                }
                Ok(None) => {}
                Err(e) => return Err(pool_error(call, e)),
            }
            if p.local.add_buffer_listener(cb.clone()) {
                return Ok(());
            }
            if p.local.is_destroyed() {
                return Err(pool_error(call, BufferPoolError::PoolDestroyed));
            }
        }
    })
}

/// A local pool's state (`mb_local_pool_stats`), for monitoring and tests. Set `struct_size`
/// before the call; it must end on a field; fields past it are not written, and bytes past
/// this library's struct are written as zero.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct mb_pool_stats {
    /// `sizeof(mb_pool_stats)` as the host knows it (left unchanged by the call).
    pub struct_size: u32,
    /// 1 once the pool is destroyed (freed, or its runtime freed), else 0.
    pub destroyed: u32,
    /// Buffers the pool may hold now (between its minimum and maximum).
    pub num_buffers: u64,
    /// Buffers the pool holds now: idle or lent out.
    pub requested: u64,
    /// Idle buffers: a request takes one without waiting.
    pub available: u64,
    /// Threads blocked in `mb_buffer_request_timeout` on this pool now.
    pub waiters: u64,
    /// The guaranteed minimum.
    pub min_buffers: u64,
    /// The maximum (`UINT64_MAX` for an unbounded pool).
    pub max_buffers: u64,
}

/// The fields of `mb_pool_stats`, in order (checked to tile the struct).
const STATS_FIELDS: &Fields = fields!(mb_pool_stats {
    struct_size,
    destroyed,
    num_buffers,
    requested,
    available,
    waiters,
    min_buffers,
    max_buffers,
});

/// Fills `*stats` (up to `stats->struct_size` bytes, at least 8, ending on a field) with the
/// pool's state; it answers for a destroyed pool too. Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_INVALID_ARGUMENT` (struct_size), `MB_ERR_NULL_POINTER`,
/// `MB_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `stats` is valid for reads and writes of `stats->struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn mb_local_pool_stats(
    pool: *const mb_local_pool,
    stats: *mut mb_pool_stats,
) -> i32 {
    boundary("mb_local_pool_stats", |call| {
        if stats.is_null() {
            return Err(call.null("stats"));
        }
        // SAFETY: non-null; the leading u32 is readable per the contract.
        let size = unsafe { stats.cast::<u32>().read_unaligned() } as usize;
        let n = STATS_FIELDS.known_bytes(call, "stats", size, 2)?;
        let p = POOLS.get(call, pool)?;
        let l = &p.local;
        let max = l.max_buffers();
        let out = mb_pool_stats {
            struct_size: size as u32,
            destroyed: u32::from(l.is_destroyed()),
            num_buffers: l.num_buffers() as u64,
            requested: l.requested_segments() as u64,
            available: l.available_segments() as u64,
            waiters: l.num_waiters() as u64,
            min_buffers: l.min_buffers() as u64,
            max_buffers: if max == UNBOUNDED {
                u64::MAX
            } else {
                max as u64
            },
        };
        // SAFETY: `stats` is valid for `size >= n` bytes of writes; `out` is a local. `n` ends
        // on a field: whole fields only.
        unsafe {
            core::ptr::copy_nonoverlapping(
                (&out as *const mb_pool_stats).cast::<u8>(),
                stats.cast::<u8>(),
                n,
            )
        };
        if size > n {
            // SAFETY: `stats` is valid for `size > n` bytes of writes.
            let tail = unsafe { stats.cast::<u8>().add(n) };
            // SAFETY: as above, `size - n` bytes from `n` on; a newer host's fields read 0.
            unsafe { tail.write_bytes(0, size - n) };
        }
        Ok(())
    })
}
