//! A refusal by the global allocator tells use apart from the allowances other threads drew
//! and have not spent (both count against the quota; only use is "used").

use membudget_allocator::{with_category, Budget, Category, QuotaAllocator, Quotas};

#[global_allocator]
static A: QuotaAllocator = QuotaAllocator::new();

const MIB: usize = 1 << 20;

#[test]
fn a_refusal_says_how_much_is_unspent_thread_allowance_not_use() {
    let b = Budget::global();
    b.set_quotas(Quotas::unlimited().with(Category::Direct, 8 * MIB as u64));
    // Another thread draws an allowance (a small block leaves most of a quantum unspent) and
    // keeps it while this thread is refused.
    let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let v: Vec<u8> = with_category(Category::Direct, || Vec::with_capacity(64));
        ready_tx.send(()).unwrap();
        hold_rx.recv().unwrap();
        drop(v);
    });
    ready_rx.recv().unwrap();
    let refusal = std::thread::spawn(|| {
        with_category(Category::Direct, || {
            let mut big: Vec<u8> = Vec::new();
            assert!(big.try_reserve_exact(8 * MIB).is_err());
        });
        membudget_allocator::take_last_refusal().unwrap()
    })
    .join()
    .unwrap();
    hold_tx.send(()).unwrap();
    holder.join().unwrap();
    b.set_quotas(Quotas::unlimited());
    // The holder's 64 B are use; the rest of its quantum is allowance, reported apart.
    assert!(refusal.allowances > 0, "{refusal}");
    assert!(refusal.used < refusal.allowances, "{refusal}");
    assert!(
        refusal.to_string().contains(&format!(
            ", unspent thread allowances: {}, quota: {}",
            refusal.allowances,
            8 * MIB
        )),
        "{refusal}"
    );
}
