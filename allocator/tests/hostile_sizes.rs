//! Hostile sizes: `0`, `1`, `u64::MAX` (and random values) in every public size argument of
//! `Budget` and `Reservation`. Each call answers a typed error or a correct result — never a
//! panic — and the budget is unchanged once what succeeded is released.

use membudget_allocator::{Budget, Category, Limit, Quotas};
use proptest::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

const EDGES: [u64; 6] = [0, 1, 2, u64::MAX - 1, u64::MAX, usize::MAX as u64];

/// Every category's used bytes and the total.
fn state(b: &Budget) -> Vec<u64> {
    let mut v: Vec<u64> = Category::ALL.iter().map(|&c| b.used(c)).collect();
    v.push(b.total_used());
    v
}

fn budgets(v: u64) -> Vec<Budget> {
    vec![
        Budget::unlimited(),
        Budget::new(Quotas::unlimited().with(Category::Network, v)),
        Budget::new(Quotas::unlimited().with_total(v)),
        Budget::new(Quotas::unlimited().with(Category::Managed, 1 << 20)),
    ]
}

/// Runs `f`, failing the test with `what` if it panics.
fn no_panic<R>(what: &str, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| panic!("{what} panicked"))
}

fn exercise(b: &Budget, c: Category, v: u64) {
    let before = state(b);
    // try_reserve: a reservation that releases on drop, or a typed refusal naming the request.
    match no_panic("try_reserve", || b.try_reserve(c, v)) {
        Ok(r) => {
            assert_eq!(r.size(), v);
            drop(r);
        }
        Err(e) => {
            assert_eq!((e.category, e.requested), (c, v));
            assert!(matches!(e.limit, Limit::Category | Limit::Process));
            assert!(e
                .to_string()
                .starts_with(&format!("Cannot reserve {v} bytes of {c} memory")));
        }
    }
    assert_eq!(state(b), before, "try_reserve({c}, {v})");
    // try_charge / release.
    if no_panic("try_charge", || b.try_charge(c, v)).is_ok() {
        no_panic("release", || b.release(c, v));
    }
    assert_eq!(state(b), before, "try_charge/release({c}, {v})");
    // Releasing what was never charged changes nothing.
    let errors = b.release_errors(c);
    no_panic("release", || b.release(c, v));
    assert_eq!(state(b), before, "release({c}, {v}) of nothing");
    assert_eq!(b.release_errors(c), errors + u64::from(v > 0));
    // A reservation resized, grown, shrunk and split by `v`.
    if let Ok(mut r) = b.try_reserve(c, 1) {
        let _ = no_panic("try_grow", || r.try_grow(v));
        let _ = no_panic("try_shrink", || r.try_shrink(v));
        let _ = no_panic("try_resize", || r.try_resize(v));
        let size = r.size();
        match no_panic("try_split", || r.try_split(v)) {
            Ok(part) => assert_eq!(part.size() + r.size(), size),
            Err(held) => assert_eq!(held, size),
        }
        no_panic("free", || r.free());
    }
    assert_eq!(state(b), before, "reservation ops with {v}");
}

#[test]
fn edge_sizes_in_every_argument() {
    for v in EDGES {
        for b in budgets(v) {
            for c in Category::ALL {
                exercise(&b, c, v);
            }
        }
    }
}

#[test]
fn hostile_fault_probabilities_are_clamped() {
    let b = Budget::unlimited();
    for p in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -1.0,
        2.0,
        f64::MIN_POSITIVE,
    ] {
        no_panic("set_fault_probability", || {
            b.set_fault_probability(Category::Direct, p)
        });
        let f = b.fault_probability(Category::Direct);
        assert!((0.0..=1.0).contains(&f), "{p} -> {f}");
    }
    b.set_fault_probability(Category::Direct, 0.0);
    for seed in [0, 1, u64::MAX] {
        b.set_fault_seed(seed);
    }
    assert_eq!(state(&b), vec![0; 6]);
}

proptest! {
    #[test]
    fn random_sizes_in_every_argument(v in any::<u64>(), quota in any::<u64>(), c in 0usize..5) {
        let c = Category::ALL[c];
        for b in budgets(quota) {
            exercise(&b, c, v);
        }
    }
}
