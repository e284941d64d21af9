//! `Registry`: generation-checked ids for values handed across the C boundary.
//!
//! A host never sees a Rust address. Every handle (runtime, local pool) and every segment id
//! is a 64-bit token that names a slot of a registry:
//!
//! ```text
//!  63                 32 31  28 27                       0
//! +---------------------+------+--------------------------+
//! |     generation      | tag  |        slot index + 1    |
//! +---------------------+------+--------------------------+
//! ```
//!
//! The tag says which registry issued the id (a segment id passed where a runtime handle is
//! expected is refused; tag 3 is the buffer ids' of `leases.rs`); the generation is bumped
//! every time a slot is emptied, so a stale or repeated free finds a different generation and
//! is refused instead of freeing twice. A forged id at worst names a slot that exists: it is
//! checked, never dereferenced blindly.
//!
//! **Generations never wrap.** A slot whose generation reaches `u32::MAX` is retired when it
//! is emptied: it is never reused, so no id can ever become valid again. The values kept here
//! (runtimes, local pools, managed pages) are created and freed at most a few million times a
//! second, so a slot is retired at the earliest after ~2^32 uses of that one slot, and the
//! 2^28 slots last for millennia of such use; each retired slot costs its few bytes.
//!
//! Each slot has one atomic state word: `generation << 32 | refs << 1 | live`. Lookups take a
//! counted reference (one compare-and-swap) that keeps the value alive while in use;
//! [`Registry::remove`] clears `live` once (a second remove finds it cleared) and whoever drops
//! the last reference after that drops the value, bumps the generation and puts the slot on the
//! free list. Slots live in [`Buckets`], never moved or freed while the registry lives, so a
//! lookup needs no lock.

use crate::buckets::Buckets;
use crate::sync::{fence, AtomicU32, AtomicU64, Mutex, Ordering, UnsafeCell};
use core::mem::MaybeUninit;
use core::ops::Deref;
use core::ptr;

const INDEX_BITS: u32 = 28;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
const TAG_SHIFT: u32 = 28;
const TAG_MASK: u64 = 0xF;
const GEN_SHIFT: u32 = 32;
/// Most slots a registry can hand out at once (the index + 1 must fit in 28 bits).
pub(crate) const MAX_SLOTS: u32 = (1 << INDEX_BITS) - 1;
/// The last generation a slot is used with; it is retired after it.
const LAST_GENERATION: u32 = u32::MAX;

const LIVE: u64 = 1;
const REF: u64 = 2;
const REF_MASK: u64 = 0xFFFF_FFFE;

/// log2 of the first bucket's length (small under loom to keep the model small).
const FIRST_LOG2: u32 = if cfg!(membudget_loom) { 1 } else { 5 };

/// Why an id was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Zero, or issued by a different registry (a segment id used as a runtime handle, say),
    /// or garbage.
    Foreign,
    /// Issued by this registry but no longer valid: already freed/recycled, or never issued.
    Stale,
    /// The registry is full (268 million live ids) or a value has too many concurrent users.
    Exhausted,
}

struct Slot<T> {
    state: AtomicU64,
    value: UnsafeCell<MaybeUninit<T>>,
}

impl<T> Slot<T> {
    fn empty() -> Self {
        Slot {
            state: AtomicU64::new(0),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }
}

/// A successful state change of a live slot (see `Registry::update`).
struct Transition<'a, T> {
    slot: &'a Slot<T>,
    index: u32,
    generation: u32,
    /// The state the change replaced.
    before: u64,
}

/// A table of values addressed by generation-checked 64-bit ids. See the module docs.
pub(crate) struct Registry<T> {
    tag: u64,
    slots: Buckets<Slot<T>, FIRST_LOG2>,
    next: AtomicU32,
    free: Mutex<Vec<u32>>,
}

// SAFETY: values are moved in and out across threads (needs `T: Send`); shared access to a
// value (`get`) is only offered when `T: Sync`. Slot states are atomics; the free list is a mutex.
unsafe impl<T: Send> Sync for Registry<T> {}
// SAFETY: as above, the registry owns its values like a `Vec<T>` would.
unsafe impl<T: Send> Send for Registry<T> {}

impl<T> Registry<T> {
    /// An empty registry whose ids carry `tag` (1..=15).
    #[cfg(not(membudget_loom))]
    pub(crate) const fn new(tag: u8) -> Self {
        assert!(tag >= 1 && tag as u64 <= TAG_MASK);
        Registry {
            tag: tag as u64,
            slots: Buckets::new(),
            next: AtomicU32::new(0),
            free: Mutex::new(Vec::new()),
        }
    }

    /// An empty registry whose ids carry `tag` (1..=15).
    #[cfg(membudget_loom)]
    pub(crate) fn new(tag: u8) -> Self {
        assert!(tag >= 1 && tag as u64 <= TAG_MASK);
        Registry {
            tag: tag as u64,
            slots: Buckets::new(),
            next: AtomicU32::new(0),
            free: Mutex::new(Vec::new()),
        }
    }

    #[inline]
    fn make_id(&self, index: u32, generation: u32) -> u64 {
        (u64::from(generation) << GEN_SHIFT) | (self.tag << TAG_SHIFT) | (u64::from(index) + 1)
    }

    #[inline]
    fn decode(&self, id: u64) -> Result<(u32, u32), Lookup> {
        let low = id & INDEX_MASK;
        if low == 0 || (id >> TAG_SHIFT) & TAG_MASK != self.tag {
            return Err(Lookup::Foreign);
        }
        Ok(((low - 1) as u32, (id >> GEN_SHIFT) as u32))
    }

    /// Stores `value` and returns its id, or hands the value back when the registry is full.
    pub(crate) fn insert(&self, value: T) -> Result<u64, T> {
        let index = match lock(&self.free).pop() {
            Some(i) => i,
            None => match self
                .next
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    (n < MAX_SLOTS).then_some(n + 1)
                }) {
                Ok(i) => i,
                Err(_) => return Err(value),
            },
        };
        let Some(slot) = self.slots.get_or_allocate(index, Slot::empty) else {
            return Err(value);
        };
        // Relaxed: the slot is ours alone (fresh, or popped off the free list under its mutex,
        // which orders us after the finalize that emptied it); nobody else writes its state
        // while it is neither live nor referenced.
        let generation = (slot.state.load(Ordering::Relaxed) >> GEN_SHIFT) as u32;
        slot.value.with_mut(|p| {
            // SAFETY: the slot is empty (not live, no references) and exclusively ours.
            unsafe { p.cast::<T>().write(value) };
        });
        // Release: publishes the value to the Acquire CAS in `get`/`remove`.
        slot.state.store(
            (u64::from(generation) << GEN_SHIFT) | LIVE,
            Ordering::Release,
        );
        Ok(self.make_id(index, generation))
    }

    /// A counted reference to the value of `id`; the value stays alive until it drops, even if
    /// `id` is removed meanwhile.
    ///
    /// # Errors
    /// [`Lookup`] if `id` is foreign, stale or the value has 2^30 references.
    #[inline]
    pub(crate) fn get(&self, id: u64) -> Result<Guard<'_, T>, Lookup>
    where
        T: Sync,
    {
        // Acquire: pairs with the Release store in `insert`, so the value is initialised.
        let t = self.update(id, Ordering::Acquire, |state| {
            if state & REF_MASK == REF_MASK {
                Err(Lookup::Exhausted)
            } else {
                Ok(state + REF)
            }
        })?;
        Ok(Guard {
            registry: self,
            slot: t.slot,
            index: t.index,
            generation: t.generation,
        })
    }

    /// Invalidates `id`. Returns the value if nobody holds a [`Guard`] on it (the caller drops
    /// it), else `None`: the last guard drops it.
    ///
    /// # Errors
    /// [`Lookup`] if `id` is foreign or stale, e.g. already removed: removing twice is an
    /// error, never a double free.
    pub(crate) fn remove(&self, id: u64) -> Result<Option<T>, Lookup> {
        // AcqRel: Acquire pairs with the Release decrements of guards that ended before, so
        // their uses of the value happen before we drop it; Release orders our own earlier
        // uses before whoever drops the value if that is a guard.
        let t = self.update(id, Ordering::AcqRel, |state| Ok(state & !LIVE))?;
        if t.before & REF_MASK == 0 {
            Ok(Some(self.finalize(t.index, t.slot, t.generation)))
        } else {
            Ok(None)
        }
    }

    /// Moves the state of `id`'s live slot to `step(state)` with one compare-and-swap of
    /// ordering `success`, refusing a foreign or stale id (the one check `get` and `remove`
    /// share).
    #[inline]
    fn update(
        &self,
        id: u64,
        success: Ordering,
        step: impl Fn(u64) -> Result<u64, Lookup>,
    ) -> Result<Transition<'_, T>, Lookup> {
        let (index, generation) = self.decode(id)?;
        let slot = self.slots.get(index).ok_or(Lookup::Stale)?;
        // Relaxed: only compared; the compare-and-swap below carries the ordering.
        let mut before = slot.state.load(Ordering::Relaxed);
        loop {
            if (before >> GEN_SHIFT) as u32 != generation || before & LIVE == 0 {
                return Err(Lookup::Stale);
            }
            match slot.state.compare_exchange_weak(
                before,
                step(before)?,
                success,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Ok(Transition {
                        slot,
                        index,
                        generation,
                        before,
                    })
                }
                Err(actual) => before = actual,
            }
        }
    }

    /// Empties a slot that is not live and has no references: takes the value out, bumps the
    /// generation and frees the slot — or retires it after its last generation.
    fn finalize(&self, index: u32, slot: &Slot<T>, generation: u32) -> T {
        let value = slot.value.with_mut(|p| {
            // SAFETY: the caller observed `live == 0 && refs == 0` for `generation`, after
            // which nobody else can reach the value; it was written by `insert` and not yet
            // read out (only the one transition to that state finalizes).
            unsafe { p.cast::<T>().read() }
        });
        if generation == LAST_GENERATION {
            // Retired: the state stays "not live, last generation" forever, refusing every id,
            // and the slot never returns to the free list.
            return value;
        }
        // Relaxed: the next owner of the slot is ordered after us by the free-list mutex;
        // lookups that see the new generation only compare it.
        slot.state
            .store(u64::from(generation + 1) << GEN_SHIFT, Ordering::Relaxed);
        lock(&self.free).push(index);
        value
    }
}

fn lock<V>(m: &Mutex<V>) -> crate::sync::MutexGuard<'_, V> {
    // A panic while the free list is locked cannot leave it inconsistent (push/pop only).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T> Drop for Registry<T> {
    fn drop(&mut self) {
        self.slots.for_each_mut(|slot| {
            if slot.state.load(Ordering::Relaxed) & LIVE != 0 {
                slot.value.with_mut(|v| {
                    // SAFETY: a live slot holds an initialised value nobody else can reach
                    // (`&mut self`).
                    unsafe { ptr::drop_in_place(v.cast::<T>()) };
                });
            }
        });
    }
}

/// A counted reference to a registered value (see [`Registry::get`]).
pub(crate) struct Guard<'a, T> {
    registry: &'a Registry<T>,
    slot: &'a Slot<T>,
    index: u32,
    generation: u32,
}

impl<T> Guard<'_, T> {
    /// Whether the id this guard was taken for is still valid (not removed): one load.
    #[inline]
    pub(crate) fn is_live(&self) -> bool {
        // Relaxed: only compares; the value itself is kept alive by our reference.
        let s = self.slot.state.load(Ordering::Relaxed);
        s & LIVE != 0 && (s >> GEN_SHIFT) as u32 == self.generation
    }
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        self.slot.value.with(|p| {
            // SAFETY: our reference keeps the value from being finalized; it was initialised
            // before `get` acquired it.
            unsafe { &*p.cast::<T>() }
        })
    }
}

impl<T> Drop for Guard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Release: orders our uses of the value before whoever finalizes it.
        let prev = self.slot.state.fetch_sub(REF, Ordering::Release);
        if prev & REF_MASK == REF && prev & LIVE == 0 {
            // Acquire: pairs with the Release decrements of the other guards and the remover.
            fence(Ordering::Acquire);
            let generation = (prev >> GEN_SHIFT) as u32;
            drop(self.registry.finalize(self.index, self.slot, generation));
        }
    }
}

#[cfg(all(test, not(membudget_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    #[test]
    fn insert_get_remove_and_stale_ids() {
        let r = Registry::new(3);
        let a = r.insert(String::from("a")).unwrap();
        let b = r.insert(String::from("b")).unwrap();
        assert_ne!(a, b);
        assert_eq!(&*r.get(a).unwrap(), "a");
        assert_eq!(r.remove(a).unwrap().as_deref(), Some("a"));
        assert_eq!(r.get(a).err(), Some(Lookup::Stale));
        assert_eq!(
            r.remove(a).err(),
            Some(Lookup::Stale),
            "second remove is refused"
        );
        // The slot is reused with a new generation; the old id stays dead.
        let c = r.insert(String::from("c")).unwrap();
        assert_eq!(c & INDEX_MASK, a & INDEX_MASK);
        assert_ne!(c, a);
        assert_eq!(r.get(a).err(), Some(Lookup::Stale));
        assert_eq!(&*r.get(c).unwrap(), "c");
        assert_eq!(&*r.get(b).unwrap(), "b");
    }

    #[test]
    fn a_slot_is_retired_after_its_last_generation_never_wrapped() {
        let r = Registry::new(6);
        let first = r.insert(1u32).unwrap();
        let index = (first & INDEX_MASK) as u32 - 1;
        assert_eq!(r.remove(first), Ok(Some(1)));
        // Fast-forward the free slot to its last generation (2^32 uses of it would take long).
        r.slots
            .get(index)
            .unwrap()
            .state
            .store(u64::from(LAST_GENERATION) << GEN_SHIFT, Ordering::Relaxed);
        let last = r.insert(2).unwrap();
        assert_eq!(last & INDEX_MASK, first & INDEX_MASK, "the slot is reused");
        assert_eq!(last >> GEN_SHIFT, u64::from(LAST_GENERATION));
        assert_eq!(r.remove(last), Ok(Some(2)));
        // Retired: the next value gets another slot, and no id of the old one is ever valid.
        let next = r.insert(3).unwrap();
        assert_ne!(next & INDEX_MASK, first & INDEX_MASK);
        for generation in [0, 1, LAST_GENERATION - 1, LAST_GENERATION] {
            let old = r.make_id(index, generation);
            assert_eq!(
                r.get(old).err(),
                Some(Lookup::Stale),
                "generation {generation}"
            );
            assert_eq!(r.remove(old).err(), Some(Lookup::Stale));
        }
        assert!(
            lock(&r.free).is_empty(),
            "a retired slot never returns to the free list"
        );
        assert_eq!(*r.get(next).unwrap(), 3);
    }

    #[test]
    fn forged_ids_are_refused() {
        let r: Registry<u32> = Registry::new(2);
        let other: Registry<u32> = Registry::new(5);
        let id = r.insert(7).unwrap();
        let foreign = other.insert(7).unwrap();
        for bad in [
            0,
            u64::MAX,
            1,
            foreign,
            id ^ (1 << 40),
            id + 1,
            (2 << 28) | INDEX_MASK,
        ] {
            assert!(r.get(bad).is_err(), "{bad:#x}");
            assert!(r.remove(bad).is_err(), "{bad:#x}");
        }
        assert_eq!(r.get(foreign).err(), Some(Lookup::Foreign));
        assert_eq!(*r.get(id).unwrap(), 7);
    }

    #[test]
    fn value_outlives_remove_while_guarded() {
        struct Tracked(Arc<AtomicUsize>);
        impl Drop for Tracked {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let drops = Arc::new(AtomicUsize::new(0));
        let r = Registry::new(1);
        let id = r.insert(Tracked(drops.clone())).map_err(|_| ()).unwrap();
        let g = r.get(id).unwrap();
        assert!(r.remove(id).unwrap().is_none(), "deferred to the guard");
        assert!(r.get(id).is_err());
        assert_eq!(drops.load(Ordering::Relaxed), 0);
        drop(g);
        assert_eq!(drops.load(Ordering::Relaxed), 1);
        // Dropping the registry drops what is still live.
        r.insert(Tracked(drops.clone())).map_err(|_| ()).unwrap();
        drop(r);
        assert_eq!(drops.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn many_slots_across_buckets_and_threads() {
        let r = Arc::new(Registry::new(4));
        let n = if cfg!(miri) { 50 } else { 5_000 };
        let hs: Vec<_> = (0..4)
            .map(|t| {
                let r = r.clone();
                std::thread::spawn(move || {
                    let ids: Vec<u64> = (0..n).map(|i| r.insert(t * n + i).unwrap()).collect();
                    for (i, id) in ids.iter().enumerate() {
                        assert_eq!(*r.get(*id).unwrap(), t * n + i as u64);
                    }
                    for id in &ids {
                        assert!(r.remove(*id).unwrap().is_some());
                        assert!(r.remove(*id).is_err());
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    }
}

/// Loom model checks of the slot protocol: a removal racing lookups, double removals, and slot
/// reuse never free twice, leak, or hand out a dead value
/// (`RUSTFLAGS="--cfg membudget_loom" cargo test --release -p membudget-ffi --lib loom`).
/// They run the shipped registry (slots, buckets and free list over loom's primitives); the
/// per-thread lookup caches of `handle.rs` are not modelled.
#[cfg(all(test, membudget_loom))]
mod loom_tests {
    use super::Registry;
    use loom::sync::atomic::{AtomicUsize, Ordering};
    use loom::sync::Arc;
    use loom::thread;

    struct Tracked(Arc<AtomicUsize>, u32);

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A registry (ids tagged `tag`) holding `value`: its drop counter, the registry, the id.
    fn holding(tag: u8, value: u32) -> (Arc<AtomicUsize>, Arc<Registry<Tracked>>, u64) {
        let drops = Arc::new(AtomicUsize::new(0));
        let r = Arc::new(Registry::new(tag));
        let id = r.insert(Tracked(drops.clone(), value)).ok().unwrap();
        (drops, r, id)
    }

    fn dropped(drops: &AtomicUsize) -> usize {
        drops.load(Ordering::SeqCst)
    }

    #[test]
    fn remove_racing_get_drops_exactly_once() {
        loom::model(|| {
            let (drops, r, id) = holding(1, 7);
            let r2 = r.clone();
            let reader = thread::spawn(move || match r2.get(id) {
                Ok(g) => {
                    assert_eq!(g.1, 7, "a guard never sees a dropped value");
                    true
                }
                Err(_) => false,
            });
            let removed = r.remove(id).unwrap();
            drop(removed);
            reader.join().unwrap();
            assert_eq!(dropped(&drops), 1);
            assert!(r.get(id).is_err());
        });
    }

    #[test]
    fn concurrent_double_remove_succeeds_once() {
        loom::model(|| {
            let (drops, r, id) = holding(2, 1);
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let r = r.clone();
                    thread::spawn(move || r.remove(id).is_ok())
                })
                .collect();
            let removed: usize = hs.into_iter().map(|h| usize::from(h.join().unwrap())).sum();
            assert_eq!(removed, 1);
            assert_eq!(dropped(&drops), 1);
        });
    }

    /// The per-thread handle cache revalidates its guard with `is_live`: a removal on another
    /// thread must show, and the value must stay until the guard drops.
    #[test]
    fn a_held_guard_sees_its_id_removed_and_keeps_the_value() {
        loom::model(|| {
            let (drops, r, id) = holding(4, 5);
            let g = r.get(id).unwrap();
            let r2 = r.clone();
            let t = thread::spawn(move || {
                assert!(r2.remove(id).unwrap().is_none(), "deferred to the guard");
            });
            let _racing = g.is_live();
            t.join().unwrap();
            assert!(!g.is_live());
            assert_eq!(g.1, 5);
            assert_eq!(dropped(&drops), 0);
            drop(g);
            assert_eq!(dropped(&drops), 1);
            assert!(r.get(id).is_err());
        });
    }

    #[test]
    fn stale_id_never_reaches_the_slots_next_value() {
        loom::model(|| {
            let (drops, r, old) = holding(3, 1);
            let r2 = r.clone();
            let d2 = drops.clone();
            let t = thread::spawn(move || {
                drop(r2.remove(old).unwrap());
                r2.insert(Tracked(d2, 2)).ok().unwrap()
            });
            if let Ok(g) = r.get(old) {
                assert_eq!(g.1, 1);
            }
            let new = t.join().unwrap();
            assert!(r.get(old).is_err());
            assert!(r.remove(old).is_err());
            assert_eq!(r.get(new).unwrap().1, 2);
            assert_eq!(dropped(&drops), 1);
        });
    }
}
