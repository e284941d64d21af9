//! Enforcement by the global allocator: requests over a quota get null (`try_reserve` → `Err`),
//! succeed again once memory is freed, and a multi-threaded hammer never sees `used` above the
//! quota. Also: track mode, injected faults, and frees from thread-local destructors.

use membudget_allocator::{with_category, Budget, Category, QuotaAllocator, QuotaMode, Quotas};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

#[global_allocator]
static A: QuotaAllocator = QuotaAllocator::new();

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const MIB: usize = 1 << 20;

#[test]
fn try_reserve_over_quota_fails_then_succeeds_after_freeing() {
    let _s = serial();
    let b = Budget::global();
    b.set_quotas(Quotas::unlimited().with(Category::Direct, 8 * MIB as u64));
    let failures_before = b.failures(Category::Direct);
    std::thread::spawn(move || {
        with_category(Category::Direct, || {
            let mut big: Vec<u8> = Vec::new();
            assert!(
                big.try_reserve_exact(16 * MIB).is_err(),
                "16 MiB > 8 MiB quota"
            );
            let mut a: Vec<u8> = Vec::new();
            a.try_reserve_exact(5 * MIB).unwrap();
            let mut c: Vec<u8> = Vec::new();
            let failures = Budget::global().failures(Category::Direct);
            let e = c.try_reserve_exact(4 * MIB).unwrap_err();
            assert!(format!("{e:?}").contains("AllocError"), "{e:?}");
            assert_eq!(
                Budget::global().failures(Category::Direct),
                failures + 1,
                "5 + 4 MiB > 8 MiB: refused by the quota"
            );
            drop(a);
            c.try_reserve_exact(4 * MIB).unwrap();
            c.try_reserve_exact(8 * MIB).unwrap(); // exactly the quota, through realloc
            let refused = c.try_reserve_exact(8 * MIB + 1).is_err();
            let capacity = c.capacity();
            drop(c);
            assert!(refused, "realloc over quota");
            assert_eq!(capacity, 8 * MIB, "a refused realloc keeps the block");
        });
    })
    .join()
    .unwrap();
    assert_eq!(b.used(Category::Direct), 0);
    assert_eq!(b.failures(Category::Direct) - failures_before, 3);
    assert_eq!(b.peak(Category::Direct), 8 * MIB as u64);
    b.set_quotas(Quotas::unlimited());
}

#[test]
fn process_total_is_enforced_too() {
    let _s = serial();
    let b = Budget::global();
    let heap_now = b.total_used();
    b.set_quotas(Quotas::unlimited().with_total(heap_now + 64 * MIB as u64));
    std::thread::spawn(|| {
        let mut v: Vec<u8> = Vec::new();
        let failures = Budget::global().failures(Category::Network);
        let r = with_category(Category::Network, || v.try_reserve_exact(128 * MIB));
        assert!(format!("{:?}", r.unwrap_err()).contains("AllocError"));
        assert_eq!(
            Budget::global().failures(Category::Network),
            failures + 1,
            "refused by the process total"
        );
    })
    .join()
    .unwrap();
    b.set_quotas(Quotas::unlimited());
    assert_eq!(b.used(Category::Network), 0);
}

#[test]
fn hammer_never_exceeds_the_quota() {
    let _s = serial();
    let b = Budget::global();
    let quota = 16 * MIB as u64;
    b.set_quotas(Quotas::unlimited().with(Category::Network, quota));
    // Failures are counted for the process's lifetime; other tests of this binary may have
    // refused network requests before (they run in any order).
    let failures_before = b.failures(Category::Network);
    let stop = Arc::new(AtomicBool::new(false));
    let max_seen = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, max_seen) = (stop.clone(), max_seen.clone());
        std::thread::spawn(move || {
            let mut samples = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let u = Budget::global().used(Category::Network);
                assert!(u <= quota, "used {u} > quota {quota}");
                max_seen.fetch_max(u, Ordering::Relaxed);
                samples += 1;
            }
            samples
        })
    };
    let iterations = if cfg!(miri) { 50 } else { 20_000 };
    let workers: Vec<_> = (0..4u64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut rng = t.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                let mut live: Vec<Vec<u8>> = Vec::with_capacity(64);
                let (mut ok, mut refused) = (0u64, 0u64);
                for _ in 0..iterations {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    let size = 1 + (rng % (512 << 10)) as usize;
                    if (live.len() == 64 || rng % 3 == 0) && !live.is_empty() {
                        let i = (rng as usize / 3) % live.len();
                        live.swap_remove(i);
                    }
                    let mut v = Vec::new();
                    match with_category(Category::Network, || v.try_reserve_exact(size)) {
                        Ok(()) => {
                            ok += 1;
                            live.push(v);
                        }
                        Err(_) => refused += 1,
                    }
                }
                (ok, refused, live)
            })
        })
        .collect();
    let mut leftovers = Vec::new();
    let (mut ok, mut refused) = (0, 0);
    for w in workers {
        let (o, r, live) = w.join().unwrap();
        ok += o;
        refused += r;
        leftovers.push(live);
    }
    // Blocks freed here, on another thread and in the heap scope, still credit network.
    drop(leftovers);
    stop.store(true, Ordering::Relaxed);
    let samples = sampler.join().unwrap();
    assert!(samples > 0);
    assert!(ok > 0 && refused > 0, "ok {ok}, refused {refused}");
    assert_eq!(b.used(Category::Network), 0);
    assert!(max_seen.load(Ordering::Relaxed) <= quota);
    assert_eq!(b.failures(Category::Network) - failures_before, refused);
    b.set_quotas(Quotas::unlimited());
}

#[test]
fn track_mode_counts_but_never_refuses() {
    let _s = serial();
    let b = Budget::global();
    b.set_quotas(Quotas::unlimited().with(Category::Overhead, 1024));
    b.set_mode(Category::Overhead, QuotaMode::Track);
    let v: Vec<u8> = with_category(Category::Overhead, || Vec::with_capacity(MIB));
    assert_eq!(b.used(Category::Overhead), MIB as u64);
    drop(v);
    assert_eq!(b.used(Category::Overhead), 0);
    b.set_mode(Category::Overhead, QuotaMode::Enforce);
    b.set_quotas(Quotas::unlimited());
}

#[test]
fn injected_faults_refuse_allocations_and_are_counted() {
    let _s = serial();
    let b = Budget::global();
    b.set_fault_probability(Category::Managed, 1.0);
    let mut v: Vec<u8> = Vec::new();
    let e = with_category(Category::Managed, || v.try_reserve(100)).unwrap_err();
    assert!(format!("{e:?}").contains("AllocError"), "{e:?}");
    assert_eq!(b.injected_failures(Category::Managed), 1);
    b.set_fault_probability(Category::Managed, 0.0);
    assert!(with_category(Category::Managed, || v.try_reserve(100)).is_ok());
    drop(v);
    assert_eq!(b.used(Category::Managed), 0);
}

struct FreeOnExit(Option<Vec<u8>>);

impl Drop for FreeOnExit {
    fn drop(&mut self) {
        // Frees and allocates while the thread's thread-locals are being destroyed.
        let again: Vec<u8> = with_category(Category::Network, || Vec::with_capacity(777));
        drop(again);
        self.0.take();
    }
}

thread_local! {
    static HOLD: std::cell::RefCell<FreeOnExit> = const { std::cell::RefCell::new(FreeOnExit(None)) };
}

#[test]
fn frees_in_thread_local_destructors_are_credited() {
    let _s = serial();
    let b = Budget::global();
    std::thread::spawn(|| {
        let v: Vec<u8> = with_category(Category::Network, || Vec::with_capacity(12345));
        HOLD.with(|h| h.borrow_mut().0 = Some(v));
    })
    .join()
    .unwrap();
    assert_eq!(b.used(Category::Network), 0);
    assert_eq!(b.usage(Category::Network).allowances, 0);
}
