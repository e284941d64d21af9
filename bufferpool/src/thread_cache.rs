//! `ThreadCache`: this thread's [`Stash`]es and the local pools whose segments they hold.
//!
//! A thread keeps a few stashes ([`STASHES`]), each bound to one pool at a time: registered in
//! that pool's list of stashes (so the pool's cold paths can take its segments back) and
//! holding a strong reference to it (so a recycle that stashed a segment can still read the
//! pool's flags while another thread moves the segment on). A thread that works with several
//! pools — a Flink task requests from its output partition's pool and recycles into its input
//! gates' pools — so has a stash for each of them. A stash is bound to another pool only while
//! it is empty; with every stash holding segments of other pools, a thread hands a further
//! pool's segments to its idle list directly. When the thread exits, its stashes go back to
//! their pools.
//!
//! Nothing here runs code of the host (listeners, wakers): callers run the pool's cold paths
//! after leaving [`with`], through a strong reference of their own, so a host callback that
//! recycles or requests buffers on this thread finds the cache consistent (and the bound pools
//! alive even if a binding changes under it).

use crate::local_pool::LocalInner;
use crate::stash::Stash;
use core::cell::Cell;
use std::sync::Arc;

/// Stashes per thread: one per pool a thread works with at once, for the pools a thread
/// typically serves (an output partition and a few input gates).
pub(crate) const STASHES: usize = 4;

/// One stash and the pool it is bound to.
struct Entry {
    stash: Arc<Stash>,
    /// The pool `stash` is bound to (and registered with), or null.
    bound: Cell<*const LocalInner>,
    /// Keeps `bound` alive while bound.
    pool: Cell<Option<Arc<LocalInner>>>,
    /// Whether a request filled the stash from the idle list since it last overflowed (see
    /// [`Bound::refilled`]).
    refilled: Cell<bool>,
}

/// See the module docs.
pub(crate) struct ThreadCache {
    entries: [Entry; STASHES],
}

/// A stash of this thread bound to a pool.
pub(crate) struct Bound<'a> {
    entry: &'a Entry,
    pool: &'a LocalInner,
}

impl<'a> Bound<'a> {
    /// The stash (its segments belong to [`pool`](Self::pool)).
    #[inline]
    pub(crate) fn stash(&self) -> &'a Stash {
        &self.entry.stash
    }

    /// The pool the stash is bound to.
    #[inline]
    pub(crate) fn pool(&self) -> &'a LocalInner {
        self.pool
    }

    /// Notes that a request filled the stash from the pool's idle list.
    #[inline]
    pub(crate) fn mark_refilled(&self) {
        self.entry.refilled.set(true);
    }

    /// Whether a request filled the stash since the last call (which clears the mark): a full
    /// stash that a request filled belongs to a thread that both requests and recycles, which
    /// keeps half of it when it overflows (`LocalInner::recycle_shared`).
    #[inline]
    pub(crate) fn refilled(&self) -> bool {
        self.entry.refilled.replace(false)
    }

    /// A strong reference to the pool (for cold paths that may run host code).
    pub(crate) fn pool_arc(&self) -> Option<Arc<LocalInner>> {
        let p = self.entry.pool.take();
        let clone = p.clone();
        self.entry.pool.set(p);
        clone
    }
}

#[cfg(not(membudget_loom))]
thread_local! {
    static CACHE: ThreadCache = ThreadCache::new();
}

// Under loom, the same cache in loom's thread-local storage: one per model thread, dropped when
// that thread ends, so the shipped stash logic is modelled.
#[cfg(membudget_loom)]
loom::thread_local! {
    static CACHE: ThreadCache = ThreadCache::new();
}

/// Runs `f` with this thread's cache; `None` while the thread is being torn down (its cache
/// is gone: callers use the pool's shared idle list then).
#[inline]
pub(crate) fn with<R>(f: impl FnOnce(&ThreadCache) -> R) -> Option<R> {
    CACHE.try_with(f).ok()
}

impl ThreadCache {
    fn new() -> ThreadCache {
        ThreadCache {
            entries: core::array::from_fn(|_| Entry {
                stash: Arc::new(Stash::new()),
                bound: Cell::new(core::ptr::null()),
                pool: Cell::new(None),
                refilled: Cell::new(false),
            }),
        }
    }

    /// This thread's stash bound to `pool`, if any.
    #[inline]
    pub(crate) fn bound_to(&self, pool: *const LocalInner) -> Option<Bound<'_>> {
        if pool.is_null() {
            return None;
        }
        let entry = self
            .entries
            .iter()
            .find(|e| core::ptr::eq(e.bound.get(), pool))?;
        // SAFETY: `entry.pool` holds a strong reference to `pool` for as long as it is bound,
        // and only this thread changes the binding (`bind`, never while a `Bound` borrowed
        // from `self` is used for it: callers leave `with` before running host code).
        let pool = unsafe { &*pool };
        Some(Bound { entry, pool })
    }

    /// Whether a stash of this thread is bound to `pool` or could be (it is empty).
    #[inline]
    pub(crate) fn can_stash(&self, pool: *const LocalInner) -> bool {
        self.entries
            .iter()
            .any(|e| core::ptr::eq(e.bound.get(), pool) || e.stash.len() == 0)
    }

    /// The stash bound to `pool`, binding an empty one to it if none is (an unbound one
    /// first). Returns the binding, if any, and the reference to the pool the stash was bound
    /// to before, which the caller drops after leaving [`with`] (dropping a pool may run host
    /// code).
    pub(crate) fn bind(
        &self,
        pool: &Arc<LocalInner>,
    ) -> (Option<Bound<'_>>, Option<Arc<LocalInner>>) {
        if let Some(b) = self.bound_to(Arc::as_ptr(pool)) {
            return (Some(b), None);
        }
        if pool.is_destroyed() {
            return (None, None);
        }
        let free = self
            .entries
            .iter()
            .find(|e| e.bound.get().is_null())
            .or_else(|| self.entries.iter().find(|e| e.stash.len() == 0));
        let Some(entry) = free else {
            return (None, None);
        };
        let old = entry.pool.take();
        if let Some(old) = &old {
            old.unregister_stash(&entry.stash);
        }
        pool.register_stash(&entry.stash);
        entry.refilled.set(false);
        entry.bound.set(Arc::as_ptr(pool));
        entry.pool.set(Some(Arc::clone(pool)));
        let bound = Bound {
            entry,
            // SAFETY: the strong reference just stored keeps it alive (see `bound_to`).
            pool: unsafe { &*Arc::as_ptr(pool) },
        };
        (Some(bound), old)
    }
}

impl Drop for ThreadCache {
    /// The thread exits: its stashed segments go back to their pools, which then forget the
    /// stashes (this runs host code, e.g. wakers: the cache is already gone, so any buffer the
    /// host recycles meanwhile goes to its pool's idle list directly).
    fn drop(&mut self) {
        for entry in &self.entries {
            entry.bound.set(core::ptr::null());
            if let Some(pool) = entry.pool.take() {
                pool.retire_stash(&entry.stash);
            }
        }
    }
}
