//! The one mechanism behind every handle (`mb_runtime *`, `mb_local_pool *`) and every id
//! (buffers, segments) the C ABI hands out.
//!
//! ```text
//!   id (u64) ──────────► Ids<T>      a generation-checked registry slot; a refused id is
//!                          ▲         MB_ERR_INVALID_HANDLE naming the kind and the id
//!   handle (T::C *) ──► Handles<T>   + the NULL check naming the argument, handle ⇄ id,
//!                                      this thread's cache of its last lookup (hot calls),
//!                                      free = invalidate once, then shut down at once
//! ```
//!
//! A handle module declares its table and its per-thread cache and implements [`Handle`]
//! (the names its messages use, what freeing shuts down); a lookup or a free is then one call.
//! (Buffer ids are not handles: they are leases of their segments, `leases.rs`.)
//!
//! Freeing a handle shuts its value down at once, but the value's memory may outlive the free:
//! another thread may be inside a call with it, or hold it in its per-thread cache until that
//! thread looks up another value of the table or exits. So a value releases what it lends out
//! (memory, pools, waiters) in [`Handle::shut_down`], never only in `Drop`. How a cache holds
//! its reference is private to [`Handles`]: changing how long a freed value may linger there
//! touches this module only.

use crate::call::Call;
use crate::error::Error;
use crate::registry::{Guard, Lookup, Registry};
use core::cell::{Cell, UnsafeCell};
use core::ptr::NonNull;
use std::thread::LocalKey;

// A handle is an id cast to a pointer and back; the generation sits in the id's high half, so
// a pointer must carry all 64 bits (on a 32-bit target a reused slot's id would be cut short).
const _: () = assert!(usize::BITS == u64::BITS, "handles carry 64-bit ids");

/// A value the host holds through an opaque handle.
pub(crate) trait Handle: Send + Sync + Sized + 'static {
    /// The opaque C type the handle points to.
    type C;
    /// What messages call a handle, e.g. "runtime handle".
    const KIND: &'static str;
    /// What messages call several values, e.g. "runtimes".
    const PLURAL: &'static str;
    /// The C argument that passes the handle, e.g. "rt".
    const ARG: &'static str;

    /// This type's per-thread lookup cache (a `thread_local!` of the handle's module). A
    /// function rather than a field of [`Handles`] so the hot path knows it at compile time.
    fn cache() -> &'static LocalKey<Cache<Self>>;

    /// Releases everything the value lends out, at once, when its handle is freed (see the
    /// module docs). Runs once per handle, on the thread that freed it.
    fn shut_down(&self);
}

/// Values the host names by 64-bit ids: a registry whose refusals become
/// `MB_ERR_INVALID_HANDLE` errors naming the kind of id.
pub(crate) struct Ids<T> {
    registry: Registry<T>,
    kind: &'static str,
}

impl<T> Ids<T> {
    /// An empty table of ids carrying `tag` (1..=15, one per table), called `kind` in messages.
    pub(crate) const fn new(tag: u8, kind: &'static str) -> Self {
        Ids {
            registry: Registry::new(tag),
            kind,
        }
    }

    /// Stores `value` and returns its id; hands the value back when the table is full.
    #[inline]
    pub(crate) fn insert(&self, value: T) -> Result<u64, T> {
        self.registry.insert(value)
    }

    /// A counted reference to the value of `id`.
    ///
    /// # Errors
    /// `MB_ERR_INVALID_HANDLE` for a stale, foreign or forged id.
    #[inline]
    pub(crate) fn get(&self, id: u64) -> Result<Guard<'_, T>, Error>
    where
        T: Sync,
    {
        self.registry.get(id).map_err(|why| self.refused(id, why))
    }

    /// Invalidates `id`; returns the value unless a lookup still holds it (it drops it then).
    ///
    /// # Errors
    /// `MB_ERR_INVALID_HANDLE` for a stale (e.g. already removed), foreign or forged id.
    #[inline]
    pub(crate) fn remove(&self, id: u64) -> Result<Option<T>, Error> {
        self.registry
            .remove(id)
            .map_err(|why| self.refused(id, why))
    }

    #[cold]
    #[inline(never)]
    fn refused(&self, id: u64, why: Lookup) -> Error {
        Error::handle(self.kind, id, why)
    }
}

/// A thread's counted reference to the value it looked up last in one [`Handles`] table.
///
/// `id` is the entry's id while no call on this thread runs on it, and 0 while one does (or the
/// cache is empty): a call re-entered from a host callback then misses, takes its own counted
/// reference, and leaves the entry alone. No id is 0, so a hit is one load and one compare.
pub(crate) struct Cache<T: 'static> {
    id: Cell<u64>,
    /// The cached reference. Touched only by this thread, and never while a call uses it.
    entry: UnsafeCell<Option<Guard<'static, T>>>,
}

impl<T> Cache<T> {
    /// An empty cache (for a `thread_local!` initialiser).
    pub(crate) const fn new() -> Self {
        Cache {
            id: Cell::new(0),
            entry: UnsafeCell::new(None),
        }
    }

    /// The cached value of `id` if it is still valid and no call uses it; marks it in use
    /// (until [`InUse`] drops).
    #[inline]
    fn enter(&self, id: u64) -> Option<InUse<T>> {
        if self.id.get() != id {
            return None;
        }
        // SAFETY: only this thread touches `entry`, and `id` is not 0 (the caller refused a
        // NULL handle), so no call uses the entry now: nothing else borrows it.
        let guard = unsafe { &*self.entry.get() }.as_ref()?;
        if !guard.is_live() {
            return None;
        }
        self.id.set(0);
        Some(InUse {
            value: NonNull::from(&**guard),
            cache: NonNull::from(self),
            id,
        })
    }

    /// Whether a call on this thread is running on the entry (then nobody may replace it).
    #[inline]
    fn in_use(&self) -> bool {
        // SAFETY: only this thread touches `entry`; we only read whether it is set.
        self.id.get() == 0 && unsafe { &*self.entry.get() }.is_some()
    }

    /// Caches `guard` for `id` in place of the entry (unless a call uses the entry) and enters
    /// it; otherwise hands it back.
    fn refill(&self, id: u64, guard: Guard<'static, T>) -> Result<InUse<T>, Guard<'static, T>> {
        if self.in_use() {
            return Err(guard);
        }
        // SAFETY: only this thread touches `entry`, and no call uses it (checked above).
        let entry = unsafe { &mut *self.entry.get() };
        let old = entry.replace(guard);
        let Some(value) = entry.as_deref().map(NonNull::from) else {
            unreachable!("just cached")
        };
        // In use from here on: dropping `old` below may drop a freed value (its last
        // reference), whose drop may call back into the library; such a call must not touch
        // the entry we just filled. (Made before that drop, so even its unwinding puts the
        // entry back.)
        self.id.set(0);
        let hit = InUse {
            value,
            cache: NonNull::from(self),
            id,
        };
        drop(old);
        Ok(hit)
    }

    /// Takes the entry out if it is for `id` (`None` for any `id`) and no call uses it.
    fn take(&self, id: Option<u64>) -> Option<Guard<'static, T>> {
        if self.in_use() || id.is_some_and(|id| self.id.get() != id) {
            return None;
        }
        self.id.set(0);
        // SAFETY: only this thread touches `entry`, and no call uses it (checked above).
        unsafe { &mut *self.entry.get() }.take()
    }
}

/// A call running on a cached value: puts the entry back (usable by the next call) when it
/// drops, unwinding included.
struct InUse<T: 'static> {
    value: NonNull<T>,
    /// This thread's cache (a thread-local: valid until the thread exits, which it cannot do
    /// while this call runs).
    cache: NonNull<Cache<T>>,
    id: u64,
}

impl<T> Drop for InUse<T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the cache is this thread's and outlives the call (see the field).
        unsafe { self.cache.as_ref() }.id.set(self.id);
    }
}

/// The values behind one type of handle, with each thread's cache of its last lookup
/// ([`Handle::cache`]).
pub(crate) struct Handles<T: Handle> {
    ids: Ids<T>,
}

impl<T: Handle> Handles<T> {
    /// An empty table whose handles carry `tag` (1..=15, one per table).
    pub(crate) const fn new(tag: u8) -> Self {
        Handles {
            ids: Ids::new(tag, T::KIND),
        }
    }

    /// Stores `value`; returns the handle for the host.
    ///
    /// # Errors
    /// `MB_ERR_INVALID_ARGUMENT` when 268 million handles of this type are live (`value` is
    /// dropped).
    pub(crate) fn insert(&self, call: Call, value: T) -> Result<*mut T::C, Error> {
        match self.ids.insert(value) {
            // A token, never dereferenced: no provenance.
            Ok(id) => Ok(core::ptr::without_provenance_mut(id as usize)),
            Err(_) => Err(call.invalid(format_args!("too many live {}", T::PLURAL))),
        }
    }

    /// The id behind `handle`.
    #[inline]
    fn id(call: Call, handle: *const T::C) -> Result<u64, Error> {
        if handle.is_null() {
            return Err(call.null(T::ARG));
        }
        Ok(handle.addr() as u64)
    }

    /// A counted reference to the value behind `handle`, bypassing the cache: for calls that
    /// block or run host callbacks, and for values kept beyond the call.
    ///
    /// # Errors
    /// `MB_ERR_NULL_POINTER` for NULL, `MB_ERR_INVALID_HANDLE` for a freed or forged handle.
    #[inline]
    pub(crate) fn get(
        &'static self,
        call: Call,
        handle: *const T::C,
    ) -> Result<Guard<'static, T>, Error> {
        self.ids.get(Self::id(call, handle)?)
    }

    /// Runs `f` on the value behind `handle`, keeping a counted reference to it in this
    /// thread's cache: calling again with the same handle costs two loads and two compares
    /// (the id, and whether the handle was freed) instead of two atomic read-modify-writes
    /// (the hot calls). `f` gets `call` back rather than capturing it, so a closure of at most
    /// two words is passed in registers (the cache miss takes it by value).
    ///
    /// # Errors
    /// As [`get`](Self::get), and whatever `f` returns.
    #[inline]
    pub(crate) fn with<R>(
        &'static self,
        call: Call,
        handle: *const T::C,
        f: impl FnOnce(Call, &T) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let id = Self::id(call, handle)?;
        match T::cache().try_with(|c| c.enter(id)) {
            Ok(Some(hit)) => {
                // SAFETY: the entry's counted reference keeps the value alive, and nothing
                // replaces the entry while `hit` marks it in use.
                let r = f(call, unsafe { hit.value.as_ref() });
                drop(hit);
                r
            }
            _ => self.with_slow(call, id, f),
        }
    }

    /// The cache misses: looks `id` up, caches it in place of the old entry (unless a call on
    /// this thread is using that, or the thread is exiting: then the reference is the call's
    /// own) and runs `f`. A failed lookup lets go of the old entry.
    #[cold]
    #[inline(never)]
    fn with_slow<R>(
        &'static self,
        call: Call,
        id: u64,
        f: impl FnOnce(Call, &T) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let guard = match self.ids.get(id) {
            Ok(g) => g,
            Err(e) => {
                // May drop a freed value (its last reference), after the cache is consistent.
                let old = T::cache().try_with(|c| c.take(None)).ok().flatten();
                drop(old);
                return Err(e);
            }
        };
        let mut own = None;
        let cached = T::cache()
            .try_with(|c| match c.refill(id, guard) {
                Ok(hit) => Some(hit),
                Err(g) => {
                    own = Some(g);
                    None
                }
            })
            .ok()
            .flatten();
        match (cached, own) {
            (Some(hit), _) => {
                // SAFETY: as in `with`.
                let r = f(call, unsafe { hit.value.as_ref() });
                drop(hit);
                r
            }
            (None, Some(g)) => f(call, &g),
            // The thread is exiting (its cache is gone; `guard` went with the closure).
            (None, None) => f(call, &*self.ids.get(id)?),
        }
    }

    /// Frees `handle`: invalidates it (a second free is refused), shuts the value down at once
    /// and drops this thread's cached reference to it. NULL is a no-op.
    ///
    /// # Errors
    /// `MB_ERR_INVALID_HANDLE` for a freed (double free) or forged handle.
    pub(crate) fn free(&'static self, handle: *mut T::C) -> Result<(), Error> {
        if handle.is_null() {
            return Ok(());
        }
        let id = handle.addr() as u64;
        let value = self.ids.get(id)?;
        // Only the caller whose remove succeeds shuts down: a racing double free is refused.
        let removed = self.ids.remove(id)?;
        // Through our own reference: the value may still be in use on other threads.
        value.shut_down();
        drop(value);
        drop(removed);
        self.forget_cached(id);
        Ok(())
    }

    /// Drops this thread's cached reference if it is for `id`.
    fn forget_cached(&'static self, id: u64) {
        let old = T::cache().try_with(|c| c.take(Some(id))).ok().flatten();
        drop(old);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{MB_ERR_INVALID_ARGUMENT, MB_ERR_INVALID_HANDLE, MB_ERR_NULL_POINTER};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A handle type that counts its shutdowns and drops.
    struct Thing {
        value: u32,
        shut_downs: &'static AtomicUsize,
        drops: &'static AtomicUsize,
    }

    struct thing_t;

    impl Handle for Thing {
        type C = thing_t;
        const KIND: &'static str = "thing handle";
        const PLURAL: &'static str = "things";
        const ARG: &'static str = "thing";

        fn cache() -> &'static LocalKey<Cache<Self>> {
            &THING_CACHE
        }

        fn shut_down(&self) {
            self.shut_downs.fetch_add(1, Ordering::Relaxed);
        }
    }

    impl Drop for Thing {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::Relaxed);
        }
    }

    static THINGS: Handles<Thing> = Handles::new(9);
    thread_local! {
        static THING_CACHE: Cache<Thing> = const { Cache::new() };
    }
    const CALL: Call = Call::new("mb_thing");

    fn thing(value: u32) -> (*mut thing_t, &'static AtomicUsize, &'static AtomicUsize) {
        let shut_downs: &'static AtomicUsize = Box::leak(Box::default());
        let drops: &'static AtomicUsize = Box::leak(Box::default());
        let t = Thing {
            value,
            shut_downs,
            drops,
        };
        (THINGS.insert(CALL, t).unwrap(), shut_downs, drops)
    }

    fn value(h: *const thing_t) -> Result<u32, Error> {
        THINGS.with(CALL, h, |_, t| Ok(t.value))
    }

    #[test]
    fn lookups_name_the_argument_and_the_kind() {
        let e = value(core::ptr::null()).unwrap_err();
        assert_eq!(e.status(), MB_ERR_NULL_POINTER);
        assert_eq!(e.message(), "mb_thing: argument 'thing' is NULL");
        let forged = core::ptr::without_provenance::<thing_t>(0x1234);
        let e = THINGS.get(CALL, forged).err().unwrap();
        assert_eq!(e.status(), MB_ERR_INVALID_HANDLE);
        assert_eq!(
            e.message(),
            "invalid thing handle 0x1234: not a thing handle (zero, garbage, or a value of \
             another type)"
        );
        assert_eq!(
            THINGS
                .with(CALL, forged, |_, _| Ok(()))
                .unwrap_err()
                .status(),
            MB_ERR_INVALID_HANDLE
        );
        let (h, _, _) = thing(1);
        let e = THINGS
            .with(CALL, h, |call, _| Err::<(), _>(call.invalid("no")))
            .unwrap_err();
        assert_eq!(
            (e.status(), e.message()),
            (MB_ERR_INVALID_ARGUMENT, "mb_thing: no")
        );
        THINGS.free(h).unwrap();
    }

    #[test]
    fn free_shuts_down_once_and_refuses_a_second_free() {
        let (h, shut_downs, drops) = thing(7);
        assert_eq!(value(h).unwrap(), 7);
        assert_eq!(value(h).unwrap(), 7, "cached");
        assert_eq!(THINGS.get(CALL, h).unwrap().value, 7);
        THINGS.free(h).unwrap();
        assert_eq!(shut_downs.load(Ordering::Relaxed), 1);
        assert_eq!(drops.load(Ordering::Relaxed), 1, "our cache let go of it");
        let e = THINGS.free(h).unwrap_err();
        assert_eq!(e.status(), MB_ERR_INVALID_HANDLE);
        assert!(e.message().contains("already freed"), "{}", e.message());
        assert_eq!(value(h).unwrap_err().status(), MB_ERR_INVALID_HANDLE);
        assert_eq!(shut_downs.load(Ordering::Relaxed), 1);
        assert_eq!(THINGS.free(core::ptr::null_mut()), Ok(()));
    }

    #[test]
    fn a_handle_freed_elsewhere_is_refused_here_and_dropped_with_the_cache() {
        let (h, shut_downs, drops) = thing(3);
        assert_eq!(value(h).unwrap(), 3, "now in this thread's cache");
        let addr = h.addr();
        std::thread::spawn(move || {
            THINGS
                .free(core::ptr::without_provenance_mut(addr))
                .unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(shut_downs.load(Ordering::Relaxed), 1, "shut down at once");
        assert_eq!(
            drops.load(Ordering::Relaxed),
            0,
            "kept by this thread's cache"
        );
        assert_eq!(value(h).unwrap_err().status(), MB_ERR_INVALID_HANDLE);
        assert_eq!(drops.load(Ordering::Relaxed), 1, "the failed lookup let go");
    }

    #[test]
    fn a_value_in_use_outlives_its_free_from_inside_the_call() {
        let (a, shut_downs, drops) = thing(5);
        let (b, _, _) = thing(6);
        let r = THINGS.with(CALL, a, |_, x| {
            // A host callback frees the handle in use and looks up another one.
            THINGS.free(a).unwrap();
            assert_eq!(value(b).unwrap(), 6);
            assert_eq!(value(a).unwrap_err().status(), MB_ERR_INVALID_HANDLE);
            assert_eq!(drops.load(Ordering::Relaxed), 0, "still in use");
            Ok(x.value)
        });
        assert_eq!(r.unwrap(), 5);
        assert_eq!(shut_downs.load(Ordering::Relaxed), 1);
        assert_eq!(value(b).unwrap(), 6, "b is cached now");
        assert_eq!(
            drops.load(Ordering::Relaxed),
            1,
            "dropped with the cache entry"
        );
        assert_eq!(value(a).unwrap_err().status(), MB_ERR_INVALID_HANDLE);
        THINGS.free(b).unwrap();
    }

    #[test]
    fn a_panic_inside_the_call_leaves_the_cache_usable() {
        let (a, _, drops) = thing(8);
        assert_eq!(value(a).unwrap(), 8);
        let caught = std::panic::catch_unwind(|| {
            THINGS.with(CALL, a, |_, _| -> Result<(), Error> { panic!("boom") })
        });
        assert!(caught.is_err());
        assert_eq!(value(a).unwrap(), 8);
        // Were the entry still marked in use, the free could not let go of it.
        THINGS.free(a).unwrap();
        assert_eq!(
            drops.load(Ordering::Relaxed),
            1,
            "the cache let go at the free"
        );
        assert_eq!(value(a).unwrap_err().status(), MB_ERR_INVALID_HANDLE);
    }

    #[test]
    fn lookups_reentered_from_a_callback_take_the_slow_path() {
        let (a, _, _) = thing(1);
        let (b, _, _) = thing(2);
        let inner = THINGS.with(CALL, a, |_, x| {
            Ok(x.value * 10 + value(b).unwrap() * 100 + value(a).unwrap())
        });
        assert_eq!(inner.unwrap(), 211);
        assert_eq!(value(a).unwrap(), 1);
        THINGS.free(a).unwrap();
        THINGS.free(b).unwrap();
    }
}
