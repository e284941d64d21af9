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
use std::cell::{RefCell, RefMut};
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
pub(crate) struct Cache<T: 'static>(RefCell<Option<(u64, Guard<'static, T>)>>);

impl<T> Cache<T> {
    /// An empty cache (for a `thread_local!` initialiser).
    pub(crate) const fn new() -> Self {
        Cache(RefCell::new(None))
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
    /// thread's cache: calling again with the same handle costs one load instead of two atomic
    /// read-modify-writes (the hot calls).
    ///
    /// # Errors
    /// As [`get`](Self::get), and whatever `f` returns.
    #[inline]
    pub(crate) fn with<R>(
        &'static self,
        call: Call,
        handle: *const T::C,
        f: impl FnOnce(&T) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let id = Self::id(call, handle)?;
        let mut f = Some(f);
        let fast = T::cache()
            .try_with(|c| {
                // Re-entered from inside `f` (a host callback): take the slow path.
                let cached = c.0.try_borrow_mut().ok()?;
                if !matches!(&*cached, Some((cid, g)) if *cid == id && g.is_live()) {
                    return Some(self.refill(cached, id, &mut f));
                }
                let g = &cached.as_ref()?.1;
                Some((f.take()?)(g))
            })
            .ok()
            .flatten();
        match (fast, f) {
            (Some(r), _) => r,
            (None, Some(f)) => f(&*self.ids.get(id)?),
            (None, None) => unreachable!("`f` is only taken on the fast path's success"),
        }
    }

    /// The cache misses: looks `id` up, caches it in place of the old entry and runs `f`.
    #[cold]
    #[inline(never)]
    fn refill<R>(
        &'static self,
        mut cached: RefMut<'_, Option<(u64, Guard<'static, T>)>>,
        id: u64,
        f: &mut Option<impl FnOnce(&T) -> Result<R, Error>>,
    ) -> Result<R, Error> {
        let (old, r) = match self.ids.get(id) {
            Ok(g) => {
                let old = cached.replace((id, g));
                let r = match (cached.as_ref(), f.take()) {
                    (Some((_, g)), Some(f)) => f(g),
                    _ => unreachable!("just cached, and `f` not taken yet"),
                };
                (old, r)
            }
            Err(e) => (cached.take(), Err(e)),
        };
        drop(cached);
        // May drop a freed value (its last reference): after our borrow ends, so its drop may
        // call back into the library.
        drop(old);
        r
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
        let old = T::cache()
            .try_with(|c| {
                let mut c = c.0.try_borrow_mut().ok()?;
                if matches!(c.as_ref(), Some((cid, _)) if *cid == id) {
                    c.take()
                } else {
                    None
                }
            })
            .ok()
            .flatten();
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
        THINGS.with(CALL, h, |t| Ok(t.value))
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
            THINGS.with(CALL, forged, |_| Ok(())).unwrap_err().status(),
            MB_ERR_INVALID_HANDLE
        );
        let (h, _, _) = thing(1);
        let e = THINGS
            .with(CALL, h, |_| Err::<(), _>(CALL.invalid("no")))
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
    fn lookups_reentered_from_a_callback_take_the_slow_path() {
        let (a, _, _) = thing(1);
        let (b, _, _) = thing(2);
        let inner = THINGS.with(CALL, a, |x| {
            Ok(x.value * 10 + value(b).unwrap() * 100 + value(a).unwrap())
        });
        assert_eq!(inner.unwrap(), 211);
        assert_eq!(value(a).unwrap(), 1);
        THINGS.free(a).unwrap();
        THINGS.free(b).unwrap();
    }
}
