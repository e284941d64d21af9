//! Quota changes take effect at once, also for allowances threads drew before the change:
//! lowering a quota, or switching a category from tracking to enforcing, refuses the next
//! request even when the thread still holds allowance, and under load from several threads
//! `used` never rises above the new quota once it dropped below it.

use membudget_allocator::{with_category, Budget, Category, QuotaAllocator, QuotaMode, Quotas};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};

#[global_allocator]
static A: QuotaAllocator = QuotaAllocator::new();

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const MIB: usize = 1 << 20;

#[test]
fn lowering_a_quota_voids_allowances_already_drawn() {
    let _s = serial();
    let b = Budget::global();
    b.set_quotas(Quotas::unlimited());
    std::thread::spawn(move || {
        let big: Vec<u8> = with_category(Category::Managed, || Vec::with_capacity(4 * MIB));
        // 100 B draws a per-thread allowance (1 MiB while far from any quota).
        let small: Vec<u8> = with_category(Category::Managed, || Vec::with_capacity(100));
        assert!(
            b.usage(Category::Managed).allowances > 1000,
            "an allowance is held"
        );
        let used = b.used(Category::Managed);
        b.set_quotas(Quotas::unlimited().with(Category::Managed, MIB as u64));
        let mut v: Vec<u8> = Vec::new();
        let failures = b.failures(Category::Managed);
        let e = with_category(Category::Managed, || v.try_reserve_exact(1000));
        assert!(e.is_err(), "a request over the lowered quota must fail");
        assert_eq!(
            b.failures(Category::Managed),
            failures + 1,
            "refused by the quota"
        );
        assert_eq!(b.used(Category::Managed), used, "nothing was charged");
        drop(big);
        // Use is below the quota again: requests succeed.
        with_category(Category::Managed, || v.try_reserve_exact(1000)).unwrap();
        drop((small, v));
    })
    .join()
    .unwrap();
    b.set_quotas(Quotas::unlimited());
    assert_eq!(b.used(Category::Managed), 0);
}

#[test]
fn switching_from_track_to_enforce_applies_at_once() {
    let _s = serial();
    let b = Budget::global();
    b.set_quotas(Quotas::unlimited().with(Category::Overhead, MIB as u64));
    b.set_mode(Category::Overhead, QuotaMode::Track);
    std::thread::spawn(move || {
        let over: Vec<u8> = with_category(Category::Overhead, || Vec::with_capacity(2 * MIB));
        let small: Vec<u8> = with_category(Category::Overhead, || Vec::with_capacity(100));
        let used = b.used(Category::Overhead);
        b.set_mode(Category::Overhead, QuotaMode::Enforce);
        let mut v: Vec<u8> = Vec::new();
        let failures = b.failures(Category::Overhead);
        assert!(with_category(Category::Overhead, || v.try_reserve_exact(64)).is_err());
        assert_eq!(
            b.failures(Category::Overhead),
            failures + 1,
            "refused by the quota"
        );
        // Freeing while over the quota keeps nothing back for later requests.
        drop(small);
        assert!(with_category(Category::Overhead, || v.try_reserve_exact(64)).is_err());
        assert_eq!(b.used(Category::Overhead), used - 100);
        drop(over);
        with_category(Category::Overhead, || v.try_reserve_exact(64)).unwrap();
    })
    .join()
    .unwrap();
    b.set_quotas(Quotas::unlimited());
    assert_eq!(b.used(Category::Overhead), 0);
}

/// Four threads allocate and free network memory under a 64 MiB quota; the quota drops to
/// 4 MiB while they run. A sampler checks that once `used` is at or below the new quota it never
/// rises above it again, and every worker checks that no request past the new quota succeeds.
#[test]
fn lowering_a_quota_under_load_holds_at_once() {
    let _s = serial();
    let b = Budget::global();
    let high = 64 * MIB as u64;
    let low = 4 * MIB as u64;
    b.set_quotas(Quotas::unlimited().with(Category::Network, high));
    let lowered = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let violations = Arc::new(AtomicU64::new(0));
    let start = Arc::new(Barrier::new(6));
    let workers: Vec<_> = (0..4u64)
        .map(|t| {
            let (lowered, stop, start) = (lowered.clone(), stop.clone(), start.clone());
            std::thread::spawn(move || {
                let mut rng = (t + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                let mut live: Vec<Vec<u8>> = Vec::new();
                let (mut ok_after, mut refused_after) = (0u64, 0u64);
                start.wait();
                while !stop.load(Ordering::Relaxed) {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    if (live.len() >= 24 || rng % 3 == 0) && !live.is_empty() {
                        let i = (rng as usize / 3) % live.len();
                        live.swap_remove(i);
                        continue;
                    }
                    let size = 1 + (rng % (MIB as u64)) as usize;
                    let after = lowered.load(Ordering::Acquire);
                    let mut v: Vec<u8> = Vec::new();
                    let r = with_category(Category::Network, || v.try_reserve_exact(size));
                    if after {
                        match r {
                            Ok(()) => ok_after += 1,
                            Err(_) => refused_after += 1,
                        }
                    }
                    if r.is_ok() {
                        live.push(v);
                    }
                }
                // A request larger than the new quota is refused whatever the thread holds.
                let mut v: Vec<u8> = Vec::new();
                let r = with_category(Category::Network, || v.try_reserve_exact(low as usize + 1));
                assert!(r.is_err(), "a request past the lowered quota succeeded");
                (ok_after, refused_after)
            })
        })
        .collect();
    let sampler = {
        let (lowered, stop, violations, start) = (
            lowered.clone(),
            stop.clone(),
            violations.clone(),
            start.clone(),
        );
        std::thread::spawn(move || {
            start.wait();
            let mut below = false;
            let mut samples = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let u = Budget::global().used(Category::Network);
                if lowered.load(Ordering::Acquire) {
                    if u <= low {
                        below = true;
                    } else if below {
                        violations.fetch_add(1, Ordering::Relaxed);
                    }
                    samples += 1;
                }
            }
            (below, samples)
        })
    };
    start.wait();
    std::thread::sleep(std::time::Duration::from_millis(200));
    b.set_quotas(Quotas::unlimited().with(Category::Network, low));
    lowered.store(true, Ordering::Release);
    std::thread::sleep(std::time::Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let (mut ok, mut refused) = (0, 0);
    for w in workers {
        let (o, r) = w.join().unwrap();
        ok += o;
        refused += r;
    }
    let (below, samples) = sampler.join().unwrap();
    b.set_quotas(Quotas::unlimited());
    assert!(below && samples > 0, "use dropped below the new quota");
    assert!(
        ok > 0 && refused > 0,
        "ok {ok}, refused {refused} after lowering"
    );
    assert_eq!(
        violations.load(Ordering::Relaxed),
        0,
        "used rose above the lowered quota after dropping below it"
    );
    assert_eq!(b.used(Category::Network), 0);
}
