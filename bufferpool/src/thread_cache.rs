//! `ThreadCache`: this thread's [`Stash`] and the local pool whose segments it holds.
//!
//! A thread's stash is bound to one pool at a time: registered in that pool's list of stashes
//! (so the pool's cold paths can take its segments back) and holding a strong reference to it
//! (so a recycle that stashed a segment can still read the pool's flags while another thread
//! moves the segment on). The binding moves to another pool only while the stash is empty; a
//! thread that works with several pools stashes for the one it bound first and hands the
//! others' segments to their idle lists directly. When the thread exits, its stash goes back
//! to its pool.
//!
//! Nothing here runs code of the host (listeners, wakers): callers run the pool's cold paths
//! after leaving [`with`], through a strong reference of their own, so a host callback that
//! recycles or requests buffers on this thread finds the cache consistent (and the bound pool
//! alive even if the binding changes under it).

use crate::local_pool::LocalInner;
use crate::stash::Stash;
use core::cell::Cell;
use std::sync::Arc;

/// See the module docs.
pub(crate) struct ThreadCache {
    stash: Arc<Stash>,
    /// The pool `stash` is bound to (and registered with), or null.
    bound: Cell<*const LocalInner>,
    /// Keeps `bound` alive while bound.
    pool: Cell<Option<Arc<LocalInner>>>,
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
            stash: Arc::new(Stash::new()),
            bound: Cell::new(core::ptr::null()),
            pool: Cell::new(None),
        }
    }

    /// The pool this thread's stash holds segments of, if it is `pool`.
    #[inline]
    pub(crate) fn bound_to(&self, pool: *const LocalInner) -> Option<&LocalInner> {
        let bound = self.bound.get();
        if bound.is_null() || !core::ptr::eq(bound, pool) {
            return None;
        }
        // SAFETY: `pool` holds a strong reference to `bound` for as long as it is bound, and
        // only this thread changes the binding (`bind`, never while this borrow of `self` is
        // used for it: callers leave `with` before running host code).
        Some(unsafe { &*bound })
    }

    /// This thread's stash (its segments belong to the bound pool).
    #[inline]
    pub(crate) fn stash(&self) -> &Stash {
        &self.stash
    }

    /// A strong reference to the bound pool (for cold paths that may run host code).
    pub(crate) fn bound_pool(&self) -> Option<Arc<LocalInner>> {
        let p = self.pool.take();
        let clone = p.clone();
        self.pool.set(p);
        clone
    }

    /// Binds the stash to `pool` if it is empty (it holds no other pool's segments then):
    /// unregisters it from the pool it was bound to and registers it with `pool`. Returns
    /// whether the stash is bound to `pool` now, and the old pool's reference, which the
    /// caller drops after leaving [`with`] (dropping a pool may run host code).
    pub(crate) fn bind(&self, pool: &Arc<LocalInner>) -> (bool, Option<Arc<LocalInner>>) {
        if core::ptr::eq(self.bound.get(), Arc::as_ptr(pool)) {
            return (true, None);
        }
        if self.stash.len() != 0 || pool.is_destroyed() {
            return (false, None);
        }
        let old = self.pool.take();
        if let Some(old) = &old {
            old.unregister_stash(&self.stash);
        }
        pool.register_stash(&self.stash);
        self.bound.set(Arc::as_ptr(pool));
        self.pool.set(Some(Arc::clone(pool)));
        (true, old)
    }
}

impl Drop for ThreadCache {
    /// The thread exits: its stashed segments go back to their pool, which then forgets the
    /// stash (this runs host code, e.g. wakers: the cache is already gone, so any buffer the
    /// host recycles meanwhile goes to its pool's idle list directly).
    fn drop(&mut self) {
        self.bound.set(core::ptr::null());
        if let Some(pool) = self.pool.take() {
            pool.retire_stash(&self.stash);
        }
    }
}
