//! Loom model checks of the handle registry's slot protocol: a removal racing lookups, double
//! removals, and slot reuse never free twice, leak, or hand out a dead value
//! (`RUSTFLAGS="--cfg membudget_loom" cargo test --release -p membudget-ffi --test loom`).
#![cfg(membudget_loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use membudget::Registry;

struct Tracked(Arc<AtomicUsize>, u32);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn remove_racing_get_drops_exactly_once() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let r = Arc::new(Registry::new(1));
        let id = r.insert(Tracked(drops.clone(), 7)).ok().unwrap();
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
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert!(r.get(id).is_err());
    });
}

#[test]
fn concurrent_double_remove_succeeds_once() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let r = Arc::new(Registry::new(2));
        let id = r.insert(Tracked(drops.clone(), 1)).ok().unwrap();
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let r = r.clone();
                thread::spawn(move || r.remove(id).is_ok())
            })
            .collect();
        let ok = hs
            .into_iter()
            .filter(|_| true)
            .map(|h| h.join().unwrap())
            .filter(|x| *x)
            .count();
        assert_eq!(ok, 1);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn stale_id_never_reaches_the_slots_next_value() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let r = Arc::new(Registry::new(3));
        let old = r.insert(Tracked(drops.clone(), 1)).ok().unwrap();
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
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}
