//! Network buffers lent to the host (`mb_buffer`) and their return (`mb_buffer_recycle*`).
//!
//! A lent buffer is named by a lease of its segment (`leases.rs`): lending stores the buffer's
//! raw token in the lease, recycling checks the id against the lease's count with one
//! compare-and-swap and turns the token back into the buffer, which drops into its pool. No
//! registry entry is made or removed per buffer.

use crate::error::{Error, MB_ERR_CONFIG};
use crate::leases::{Exhausted, Lease, Leases, MAX_LEASES};
use crate::panic::boundary;
use crate::registry::Lookup;
use core::ffi::c_void;
use core::ptr::NonNull;
use membudget_bufferpool::Buffer;
use std::sync::atomic::{AtomicPtr, Ordering};

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
/// registering thread if a buffer was available at once; it must not block. Callbacks its own
/// calls make due (e.g. by recycling its buffer) run after it returns, not inside it, so a
/// chain of callbacks of any length never deepens the stack.
pub type mb_buffer_callback =
    Option<unsafe extern "C" fn(ctx: *mut c_void, status: i32, buffer: *const mb_buffer)>;

/// The leases of every runtime's network segments (see `leases.rs`).
static LEASES: Leases = Leases::new();

/// How the host names the buffers of one network pool: each segment's lease. Held by the
/// runtime, its local pools and their pending callbacks — everything that can lend; when the
/// last of them goes, lending ends and the leases return for reuse (lent ones when recycled).
#[derive(Debug)]
pub(crate) struct Lending {
    /// Lease of each segment (in `LEASES`), by segment index. Changed only when a lease is
    /// exhausted, by the thread holding that segment's buffer.
    leases: Box<[AtomicPtr<Lease>]>,
}

impl Lending {
    /// Leases for a network pool of `segments` segments.
    ///
    /// # Errors
    /// `MB_ERR_CONFIG` when the live runtimes' network buffers would exceed what buffer ids
    /// can name.
    pub(crate) fn new(segments: usize) -> Result<Lending, Error> {
        let leases = LEASES.reserve(segments).ok_or_else(|| {
            Error::new(
                MB_ERR_CONFIG,
                format!(
                    "mb_runtime_new: {segments} network buffers do not fit in the buffer ids \
                     left: the runtimes of a process can lend at most {MAX_LEASES} network \
                     buffers in all; decrease 'taskmanager.memory.network.max' (or increase \
                     'taskmanager.memory.segment-size'), or free other runtimes"
                ),
            )
        })?;
        Ok(Lending {
            leases: leases.into_iter().map(lease_ptr).collect(),
        })
    }

    /// Lends `buffer` (just taken from a pool of this network) to the host.
    ///
    /// # Errors
    /// Hands the buffer back with `MB_ERR_INVALID_ARGUMENT` if it is shared or read-only
    /// (never one a pool hands out) or of another network, or if no buffer id is left.
    #[inline(always)]
    pub(crate) fn lend(&self, buffer: Buffer) -> Result<mb_buffer, (Error, Buffer)> {
        let capacity = buffer.capacity() as u64;
        let index = buffer.segment_index() as usize;
        let (token, ptr) = match buffer.into_raw() {
            Ok(raw) => raw,
            Err(b) => return Err((not_lendable(), b)),
        };
        let Some(slot) = self.leases.get(index) else {
            return Err(not_lent(token));
        };
        // Relaxed: written only by the holder of this segment's buffer (us now), ordered
        // before us by the buffer's way through its pool.
        let lease = slot.load(Ordering::Relaxed);
        // SAFETY: a lease of `LEASES` (from `reserve`), which never frees one.
        let lease = unsafe { &*lease };
        // SAFETY: this segment's lease is not lent (the segment's buffer was with its pool
        // until now) and we hold the buffer `token` stands for.
        let id = match unsafe { lease.lend(token) } {
            Ok(id) => id,
            Err(Exhausted) => self.renew(slot, token)?,
        };
        Ok(mb_buffer {
            ptr: ptr.as_ptr(),
            capacity,
            id,
        })
    }

    /// The segment's lease was lent its last time: lend through a fresh one from now on.
    #[cold]
    #[inline(never)]
    fn renew(&self, slot: &AtomicPtr<Lease>, token: NonNull<()>) -> Result<u64, (Error, Buffer)> {
        let fresh = LEASES.reserve(1).and_then(|l| l.first().copied());
        let lent = fresh.and_then(|lease| {
            slot.store((lease as *const Lease).cast_mut(), Ordering::Relaxed);
            // SAFETY: a lease just reserved is not lent; we hold the buffer.
            unsafe { lease.lend(token) }.ok()
        });
        lent.ok_or_else(|| {
            let e = Error::invalid(format!(
                "no buffer id is left to lend a buffer under ({MAX_LEASES} in use)"
            ));
            // SAFETY: `token` came from `into_raw` and was not lent: turned back once, here.
            (e, unsafe { Buffer::from_raw(token) })
        })
    }
}

fn lease_ptr(lease: &'static Lease) -> AtomicPtr<Lease> {
    AtomicPtr::new((lease as *const Lease).cast_mut())
}

impl Drop for Lending {
    fn drop(&mut self) {
        let leases = self.leases.iter_mut().map(|l| {
            // SAFETY: leases of `LEASES` (from `reserve`), which never frees one.
            unsafe { &*(*l.get_mut()) }
        });
        // SAFETY: they came from `LEASES.reserve`, and lending through them has ended: every
        // lend goes through `&self`.
        unsafe { LEASES.retire(leases) };
    }
}

#[cold]
fn not_lendable() -> Error {
    Error::invalid("a shared, read-only or foreign buffer cannot be lent")
}

/// A buffer of another network: given back, refused.
#[cold]
#[inline(never)]
fn not_lent(token: NonNull<()>) -> (Error, Buffer) {
    // SAFETY: `token` came from `into_raw` and was not lent: turned back once, here.
    (not_lendable(), unsafe { Buffer::from_raw(token) })
}

/// Takes back the buffer lent under `id` (it drops into its pool when the caller drops it).
///
/// # Errors
/// `MB_ERR_INVALID_HANDLE` for a stale, repeated, forged or foreign id.
#[inline]
fn take(id: u64) -> Result<Buffer, Error> {
    let token = LEASES.take(id).map_err(|why| refused(id, why))?;
    // SAFETY: `take` hands out each token lent under a lease exactly once, and tokens come from
    // `Buffer::into_raw` in `Lending::lend`.
    Ok(unsafe { Buffer::from_raw(token) })
}

#[cold]
#[inline(never)]
fn refused(id: u64, why: Lookup) -> Error {
    Error::handle("buffer id", id, why)
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
    boundary("mb_buffer_recycle", |_| take(buffer_id).map(drop))
}

/// Gives back the `n` buffers whose ids are `ids[0..n]`, as `mb_buffer_recycle` does for each
/// (one call instead of `n`). Every valid id is recycled even if others are refused.
/// Never blocks.
///
/// Returns `MB_OK` (all recycled), `MB_ERR_INVALID_HANDLE` (some id was stale, repeated or
/// forged: the message names the first and how many; the others were recycled),
/// `MB_ERR_NULL_POINTER` (`ids` NULL with `n > 0`).
///
/// # Safety
/// `ids` is valid for reads of `n` `uint64_t`s (or NULL when `n` is 0). The host must not
/// touch the recycled buffers' memory afterwards.
#[no_mangle]
pub unsafe extern "C" fn mb_buffer_recycle_many(ids: *const u64, n: u32) -> i32 {
    boundary("mb_buffer_recycle_many", |call| {
        if n == 0 {
            return Ok(());
        }
        if ids.is_null() {
            return Err(call.null("ids"));
        }
        // SAFETY: `ids` is valid for `n` reads per the contract; we only read.
        let ids = unsafe { core::slice::from_raw_parts(ids, n as usize) };
        let mut first_refused: Option<(usize, Error)> = None;
        let mut refusals = 0usize;
        // One batch per run of buffers of one pool (this thread's stash and the pool's idle
        // list take each run at once), as dropping them one by one would, only cheaper.
        Buffer::recycle_all(
            ids.iter()
                .enumerate()
                .filter_map(|(i, &id)| match take(id) {
                    Ok(buffer) => Some(buffer),
                    Err(e) => {
                        refusals += 1;
                        first_refused.get_or_insert((i, e));
                        None
                    }
                }),
        );
        match first_refused {
            None => Ok(()),
            Some((i, e)) => Err(call.error(
                e.status(),
                format_args!(
                    "{refusals} of {n} ids refused (the others were recycled); the first, \
                     ids[{i}]: {e}"
                ),
            )),
        }
    })
}
