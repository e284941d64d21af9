//! Loom model checks of the budget's concurrent charge/release
//! (`RUSTFLAGS="--cfg membudget_loom" cargo test --release -p membudget-allocator --test loom`).
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
