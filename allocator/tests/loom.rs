//! Loom model checks of the budget's concurrent charge/release
//! (`RUSTFLAGS="--cfg membudget_loom" cargo test --release -p membudget-allocator --test loom`).
//!
//! What is modelled: the shipped `Budget` counters (checked CAS charges, releases), and the
//! shipped per-thread allowance code (`Budget::charge_local`/`credit_local`/`retire` — what the
//! global allocator calls on allocation, free and thread exit) over loom atomics and cells,
//! including the epoch and the voiding of slots that make quota changes apply to allowances
//! already drawn, and the registry's growth (segments added concurrently, the loser of the
//! race dropping its own; the shipped code maps segments from the OS, loom boxes them). Not modelled: the thread-local and pthread-key
//! plumbing in `local.rs` that finds a thread's slot (plain per-thread state, no atomics), and
//! the mimalloc backing (C).
#![cfg(membudget_loom)]

use loom::sync::Arc;
use loom::thread;
use membudget_allocator::{Budget, Category, Quotas};

#[test]
fn concurrent_charges_never_pass_the_quota() {
    loom::model(|| {
        let b = Arc::new(Budget::new(
            Quotas::unlimited().with(Category::Network, 100),
        ));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let b = b.clone();
                thread::spawn(move || b.try_charge(Category::Network, 60).is_ok())
            })
            .collect();
        let ok = hs
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|x| *x)
            .count();
        assert_eq!(ok, 1);
        assert_eq!(b.used(Category::Network), 60);
    });
}

mod allowances {
    use loom::sync::Arc;
    use loom::thread;
    use membudget_allocator::loom_support::{
        self as ls, budget_with_registry, Registry, RegistryForTests, Slot,
    };
    use membudget_allocator::{Budget, Category, Quotas};

    fn registry(n: usize) -> &'static Registry {
        let slots: &'static [Slot] = Box::leak((0..n).map(|_| Slot::new()).collect());
        Box::leak(Box::new(Registry::new(slots)))
    }

    // In every model below a slot is used by one thread at a time: the thread that acquired
    // it, or the one it was handed to through `spawn`, `join` or a channel (which order the
    // hand-over), and nobody uses it after `retire`.
    fn charge(b: &Budget, slot: &Slot, c: Category, n: u64) -> bool {
        // SAFETY: see above.
        unsafe { ls::charge(b, slot, c, n) }
    }

    fn credit(b: &Budget, slot: &Slot, c: Category, n: u64) {
        // SAFETY: see above.
        unsafe { ls::credit(b, slot, c, n) }
    }

    fn retire(b: &Budget, slot: &Slot) {
        // SAFETY: see above.
        unsafe { ls::retire(b, slot) }
    }

    const KIB: u64 = 1024;

    /// Two threads charging through allowances never get more than the quota between them,
    /// a reader never sees `used` above it, and once their slots retire nothing is claimed.
    #[test]
    fn allowance_grants_respect_the_quota() {
        loom::model(|| {
            let quota = 64 * KIB;
            let b = Arc::new(budget_with_registry(
                Quotas::unlimited().with(Category::Network, quota),
                registry(2),
            ));
            let slots = [
                b.registry_for_tests().acquire().unwrap(),
                b.registry_for_tests().acquire().unwrap(),
            ];
            let hs: Vec<_> = slots
                .iter()
                .map(|&slot| {
                    let b = b.clone();
                    thread::spawn(move || charge(&b, slot, Category::Network, 40 * KIB))
                })
                .collect();
            let u = b.used(Category::Network);
            assert!(u <= quota, "reader saw {u}");
            let ok: Vec<bool> = hs.into_iter().map(|h| h.join().unwrap()).collect();
            assert_eq!(ok.iter().filter(|x| **x).count(), 1, "{ok:?}");
            assert_eq!(b.used(Category::Network), 40 * KIB);
            for (slot, ok) in slots.iter().zip(ok) {
                if ok {
                    credit(&b, slot, Category::Network, 40 * KIB);
                }
                retire(&b, slot);
            }
            assert_eq!(b.used(Category::Network), 0);
            assert_eq!(b.available(Category::Network), quota);
        });
    }

    /// A block charged on one thread and credited on another leaves `used` exactly 0, and an
    /// explicit charge racing with them stays exact.
    #[test]
    fn cross_thread_credit_is_exact() {
        loom::model(|| {
            let b = Arc::new(budget_with_registry(Quotas::unlimited(), registry(2)));
            let (tx, rx) = loom::sync::mpsc::channel();
            let producer = {
                let b = b.clone();
                let slot = b.registry_for_tests().acquire().unwrap();
                thread::spawn(move || {
                    assert!(charge(&b, slot, Category::Direct, 100));
                    tx.send(100u64).unwrap();
                    retire(&b, slot);
                })
            };
            let consumer = {
                let b = b.clone();
                let slot = b.registry_for_tests().acquire().unwrap();
                thread::spawn(move || {
                    let n = rx.recv().unwrap();
                    credit(&b, slot, Category::Direct, n);
                    retire(&b, slot);
                })
            };
            b.try_charge(Category::Direct, 7).unwrap();
            producer.join().unwrap();
            consumer.join().unwrap();
            assert_eq!(b.used(Category::Direct), 7);
            b.release(Category::Direct, 7);
            assert_eq!(b.used(Category::Direct), 0);
            assert_eq!(b.total_used(), 0);
        });
    }

    /// A quota lowered on one thread applies to allowances another thread drew before: a
    /// charge that happens after the change (here: after a message sent once it returned) is
    /// refused although the thread still holds unspent allowance, and a free while over the
    /// quota keeps nothing back; a racing reader never sees `used` above what was claimed.
    #[test]
    fn lowered_quota_voids_allowances_drawn_before() {
        loom::model(|| {
            let b = Arc::new(budget_with_registry(
                Quotas::unlimited().with(Category::Managed, 1 << 20),
                registry(2),
            ));
            let slot = b.registry_for_tests().acquire().unwrap();
            // 1 KiB draws a 32 KiB allowance (1 MiB / 32).
            assert!(charge(&b, slot, Category::Managed, KIB));
            assert!(b.allowances(Category::Managed) > 8 * KIB);
            let (tx, rx) = loom::sync::mpsc::channel();
            let worker = {
                let b = b.clone();
                thread::spawn(move || {
                    rx.recv().unwrap();
                    let ok = charge(&b, slot, Category::Managed, 4 * KIB);
                    credit(&b, slot, Category::Managed, KIB);
                    let again = charge(&b, slot, Category::Managed, KIB);
                    retire(&b, slot);
                    (ok, again)
                })
            };
            let reader = {
                let b = b.clone();
                thread::spawn(move || b.used(Category::Managed) <= 64 * KIB)
            };
            b.set_quotas(Quotas::unlimited().with(Category::Managed, 512));
            tx.send(()).unwrap();
            let (ok, again) = worker.join().unwrap();
            assert!(reader.join().unwrap());
            assert!(
                !ok,
                "a charge after the quota was lowered used an old allowance"
            );
            assert!(
                !again,
                "a byte freed while over the quota was kept as allowance"
            );
            assert_eq!(b.used(Category::Managed), 0);
            assert_eq!(b.allowances(Category::Managed), 0);
        });
    }

    /// Two threads find the registry full at once and both add a segment: one links its own,
    /// the other drops its segment and takes a slot of the winner's. Each thread gets its own
    /// slot, the registry grew by exactly one segment, and the accounting through the new
    /// slots is exact.
    #[test]
    fn growing_the_registry_hands_out_distinct_slots() {
        loom::model(|| {
            let b = Arc::new(budget_with_registry(Quotas::unlimited(), registry(1)));
            let first = b.registry_for_tests().acquire().unwrap();
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let b = b.clone();
                    thread::spawn(move || {
                        let slot = b.registry_for_tests().acquire().unwrap();
                        assert!(charge(&b, slot, Category::Network, 100));
                        slot as *const Slot as usize
                    })
                })
                .collect();
            let slots: Vec<usize> = hs.into_iter().map(|h| h.join().unwrap()).collect();
            assert_ne!(slots[0], slots[1], "two threads got the same slot");
            assert_ne!(slots[0], first as *const Slot as usize);
            // 1 slot, then one segment of 2.
            assert_eq!(b.registry_for_tests().capacity(), 3);
            assert_eq!(b.used(Category::Network), 200);
            for &s in &slots {
                // SAFETY: `s` came from a `&'static Slot` above; the threads that used it have
                // been joined.
                let slot = unsafe { &*(s as *const Slot) };
                credit(&b, slot, Category::Network, 100);
                retire(&b, slot);
            }
            retire(&b, first);
            assert_eq!(b.used(Category::Network), 0);
            assert_eq!(b.allowances(Category::Network), 0);
        });
    }

    /// A quota lowered while another thread is adding a segment to the registry, taking a
    /// slot of it and drawing an allowance still applies to that allowance: once the change
    /// has returned (and the thread was told so), the thread's next charge is checked against
    /// the new quota.
    #[test]
    fn voiding_reaches_a_slot_of_a_segment_added_concurrently() {
        loom::model(|| {
            let b = Arc::new(budget_with_registry(
                Quotas::unlimited().with(Category::Managed, 1 << 20),
                registry(1),
            ));
            // The only slot of the first segment is taken: the worker's acquire must grow.
            let first = b.registry_for_tests().acquire().unwrap();
            let (tx, rx) = loom::sync::mpsc::channel();
            let worker = {
                let b = b.clone();
                thread::spawn(move || {
                    let slot = b.registry_for_tests().acquire().unwrap();
                    // 1 KiB draws a 32 KiB allowance while the quota is 1 MiB.
                    let first_ok = charge(&b, slot, Category::Managed, KIB);
                    rx.recv().unwrap();
                    let after = charge(&b, slot, Category::Managed, 4 * KIB);
                    if first_ok {
                        credit(&b, slot, Category::Managed, KIB);
                    }
                    retire(&b, slot);
                    after
                })
            };
            b.set_quotas(Quotas::unlimited().with(Category::Managed, 2 * KIB));
            tx.send(()).unwrap();
            let after = worker.join().unwrap();
            assert!(
                !after,
                "a charge after the quota was lowered used an allowance drawn before"
            );
            retire(&b, first);
            assert_eq!(b.used(Category::Managed), 0);
            assert_eq!(b.allowances(Category::Managed), 0);
        });
    }
}

/// The counters of a child budget (`slack.rs`, what `BudgetHandle` runs per category): two
/// threads charge and release through one budget of limit 60 (quantum 20) below a parent of
/// 100. Whatever the interleaving, the claim never passes the limit, the parent holds exactly
/// the claim, and once everything is released and drained both are 0.
mod child_slack {
    use loom::sync::atomic::{AtomicU64, Ordering};
    use loom::sync::Arc;
    use loom::thread;
    use membudget_allocator::loom_support::Slack;

    const LIMIT: u64 = 60;
    const PARENT: u64 = 100;

    fn parent_charge(parent: &AtomicU64, bytes: u64) -> Result<(), ()> {
        let mut cur = parent.load(Ordering::Relaxed);
        loop {
            let new = cur + bytes;
            if new > PARENT {
                return Err(());
            }
            match parent.compare_exchange(cur, new, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Ok(()),
                Err(a) => cur = a,
            }
        }
    }

    fn charge(s: &Slack, parent: &AtomicU64, bytes: u64) -> bool {
        s.take(bytes)
            || s.charge_slow(bytes, |b, _| parent_charge(parent, b), |_| ())
                .is_ok()
    }

    fn release(s: &Slack, parent: &AtomicU64, bytes: u64) {
        s.release(bytes, |b| {
            parent.fetch_sub(b, Ordering::Relaxed);
        });
    }

    #[test]
    fn claims_stay_within_the_limit_and_return_exactly() {
        loom::model(|| {
            let slack = Arc::new(Slack::new(LIMIT, 20));
            let parent = Arc::new(AtomicU64::new(0));
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let (s, p) = (slack.clone(), parent.clone());
                    thread::spawn(move || {
                        let ok = charge(&s, &p, 30);
                        assert!(s.claimed() <= LIMIT);
                        if ok {
                            release(&s, &p, 30);
                        }
                        ok
                    })
                })
                .collect();
            let oks = hs
                .into_iter()
                .map(|h| h.join().unwrap())
                .filter(|ok| *ok)
                .count();
            // The first claim always fits; the second may be refused while the first holds a
            // quantum it has not published as unspent yet (the tree drains and retries, then
            // reclaims, before it refuses: `reclaim.rs`).
            assert!(oks >= 1);
            assert!(slack.claimed() <= LIMIT);
            assert_eq!(
                parent.load(Ordering::Relaxed),
                slack.claimed(),
                "the parent holds the claim"
            );
            slack.drain(|b| {
                parent.fetch_sub(b, Ordering::Relaxed);
            });
            assert_eq!((slack.claimed(), parent.load(Ordering::Relaxed)), (0, 0));
        });
    }
}
