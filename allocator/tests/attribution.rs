//! The global allocator charging the current child budget: blocks allocated while a budget is
//! entered are charged to it (and its ancestors), refused over any level's limit, credited back
//! exactly on any thread, keep their budget through reallocation and outlive its handle.
//!
//! Every measurement is taken outside the guards (measuring allocates too), and each test uses
//! budgets of its own, so tests running in parallel do not disturb each other.

use membudget_allocator::{
    in_category, last_refusal, take_last_refusal, with_category, Budget, BudgetHandle, Category,
    CategoryScope, ChildLimits, Limit, QuotaAllocator, Quotas, SharedBudget, ALLOCATIONS_CONSUMER,
};
use std::future::Future;
use std::task::{Context, Poll, Waker};

#[global_allocator]
static A: QuotaAllocator = QuotaAllocator::new();

const KIB: usize = 1 << 10;

fn job(name: &str, limits: ChildLimits) -> BudgetHandle {
    Budget::global().child(name, limits).unwrap()
}

#[test]
fn blocks_are_charged_to_the_entered_budget_and_credited_on_any_thread() {
    let job = job("charged", ChildLimits::unlimited());
    let v: Vec<u8> = {
        let _g = job.enter();
        vec![7u8; 256 * KIB]
    };
    assert_eq!(job.used(Category::Heap), (256 * KIB) as u64);
    assert_eq!(
        job.report()
            .consumer_bytes(ALLOCATIONS_CONSUMER, Category::Heap),
        Some((256 * KIB) as u64)
    );
    // Freed on another thread, in another scope: still credited to the job, exactly.
    std::thread::spawn(move || with_category(Category::Network, || drop(v)))
        .join()
        .unwrap();
    assert_eq!(job.used(Category::Heap), 0);
}

#[test]
fn the_thread_category_is_kept_and_every_level_counts() {
    let parent = job("levels", ChildLimits::unlimited());
    let child = parent.child("operator", ChildLimits::unlimited()).unwrap();
    let v: Vec<u8> = {
        let _g = child.enter();
        let _n = Category::Network.enter();
        Vec::with_capacity(100 * KIB)
    };
    assert_eq!(child.used(Category::Network), (100 * KIB) as u64);
    assert_eq!(parent.used(Category::Network), (100 * KIB) as u64);
    assert_eq!(child.used(Category::Heap), 0);
    assert!(Budget::global().used(Category::Network) >= (100 * KIB) as u64);
    drop(v);
    assert_eq!(parent.used(Category::Network), 0);
}

#[test]
fn an_allocation_over_a_limit_of_any_level_fails_and_charges_nothing() {
    let parent = job(
        "limited",
        ChildLimits::unlimited().with(Category::Direct, 512 * KIB as u64),
    );
    let child = parent
        .child(
            "op",
            ChildLimits::unlimited().with(Category::Direct, 1024 * KIB as u64),
        )
        .unwrap();
    let mut v: Vec<u8> = Vec::new();
    let _ = take_last_refusal();
    let refused = {
        let _g = child.enter();
        let _d = Category::Direct.enter();
        v.try_reserve_exact(600 * KIB).is_err()
    };
    assert!(refused, "600 KiB passes the parent's 512 KiB");
    let e = last_refusal().expect("the refusal is kept");
    assert_eq!(
        (e.category, e.limit, e.quota),
        (Category::Direct, Limit::Budget, 512 * KIB as u64)
    );
    assert_eq!(child.used(Category::Direct), 0);
    let fits = {
        let _g = child.enter();
        let _d = Category::Direct.enter();
        v.try_reserve_exact(400 * KIB).is_ok()
    };
    assert!(fits);
    assert_eq!(parent.used(Category::Direct), (400 * KIB) as u64);
    drop(v);
    assert_eq!(parent.used(Category::Direct), 0);
}

#[test]
fn a_block_keeps_its_budget_when_it_grows_or_shrinks_elsewhere() {
    let job = job("realloc", ChildLimits::unlimited());
    let mut v: Vec<u8> = {
        let _g = job.enter();
        let mut v = Vec::with_capacity(10 * KIB);
        v.extend_from_slice(b"attributed");
        v
    };
    // Grown outside the guard, on another thread: charged to the job.
    let mut v = std::thread::spawn(move || {
        v.reserve_exact(90 * KIB);
        v
    })
    .join()
    .unwrap();
    assert_eq!(&v[..10], b"attributed", "contents survive");
    assert_eq!(job.used(Category::Heap), v.capacity() as u64);
    v.shrink_to(20);
    assert_eq!(job.used(Category::Heap), v.capacity() as u64);
    // A block made outside stays outside, even grown while the job is entered.
    let mut plain: Vec<u8> = Vec::with_capacity(KIB);
    {
        let _g = job.enter();
        plain.reserve_exact(64 * KIB);
    }
    assert_eq!(job.used(Category::Heap), v.capacity() as u64);
    drop((v, plain));
    assert_eq!(job.used(Category::Heap), 0);
}

#[test]
fn blocks_keep_their_budget_alive_after_its_handle_is_dropped() {
    // Under a budget of its own, whose use says what the whole tree still claims.
    let root = SharedBudget::from(Budget::new(Quotas::unlimited()));
    let parent = root.child("outlived", ChildLimits::unlimited()).unwrap();
    let child = parent.child("short", ChildLimits::unlimited()).unwrap();
    let v: Vec<u8> = {
        let _g = child.enter();
        vec![1u8; 64 * KIB]
    };
    drop(child);
    assert_eq!(
        parent.used(Category::Heap),
        (64 * KIB) as u64,
        "the block holds its budget"
    );
    drop(v);
    assert_eq!(parent.used(Category::Heap), 0);
    drop(parent);
    assert_eq!(
        root.used(Category::Heap),
        0,
        "every level returned its claim"
    );
}

#[test]
fn a_tree_of_another_budget_is_charged_besides_the_process() {
    let accounts = SharedBudget::from(Budget::new(Quotas::unlimited()));
    let tenant = accounts.child("tenant", ChildLimits::unlimited()).unwrap();
    let before = Budget::global().used(Category::Overhead);
    let v: Vec<u8> = {
        let _g = tenant.enter();
        let _o = Category::Overhead.enter();
        Vec::with_capacity(128 * KIB)
    };
    assert_eq!(tenant.used(Category::Overhead), (128 * KIB) as u64);
    // The tenant's claim on its budget: its use and at most a quantum unspent.
    assert!(accounts.used(Category::Overhead) >= (128 * KIB) as u64);
    assert!(Budget::global().used(Category::Overhead) >= before + (128 * KIB) as u64);
    drop(v);
    assert_eq!(tenant.used(Category::Overhead), 0);
    drop(tenant);
    assert_eq!(accounts.used(Category::Overhead), 0);
}

#[test]
fn over_aligned_and_zeroed_blocks_are_attributed_too() {
    use std::alloc::{GlobalAlloc, Layout};
    let job = job("aligned", ChildLimits::unlimited());
    let layouts = [
        Layout::from_size_align(24, 128 * KIB).unwrap(),
        Layout::from_size_align(3 * KIB, 2 << 20).unwrap(),
        Layout::from_size_align(1, 1).unwrap(),
    ];
    let mut blocks: Vec<usize> = Vec::with_capacity(layouts.len());
    {
        let _g = job.enter();
        blocks.extend(layouts.iter().map(|&l| {
            // SAFETY: non-zero sizes.
            let p = unsafe { A.alloc_zeroed(l) };
            assert!(!p.is_null());
            assert_eq!(p as usize % l.align(), 0);
            // SAFETY: `l.size()` zeroed bytes at `p`.
            assert!(unsafe { std::slice::from_raw_parts(p, l.size()) }
                .iter()
                .all(|&b| b == 0));
            p as usize
        }));
    }
    let total: u64 = layouts.iter().map(|l| l.size() as u64).sum();
    assert_eq!(job.used(Category::Heap), total);
    for (p, l) in blocks.into_iter().zip(layouts) {
        // SAFETY: live blocks of these layouts.
        unsafe { A.dealloc(p as *mut u8, l) };
    }
    assert_eq!(job.used(Category::Heap), 0);
}

#[test]
fn guards_nest_and_may_be_dropped_out_of_order() {
    let a = job("nest-a", ChildLimits::unlimited());
    let b = job("nest-b", ChildLimits::unlimited());
    let ga = a.enter();
    let gb = b.enter();
    let in_b: Vec<u8> = Vec::with_capacity(4 * KIB);
    drop(ga);
    // Out of order: `b`'s guard restores `a`, whose guard is gone; `a` stays alive.
    drop(gb);
    let after: Vec<u8> = Vec::with_capacity(8 * KIB);
    drop(a.clone());
    assert_eq!(b.used(Category::Heap), (4 * KIB) as u64);
    assert!(a.used(Category::Heap) >= (8 * KIB) as u64);
    drop((in_b, after));
    assert_eq!(b.used(Category::Heap), 0);
}

#[test]
fn a_tracked_future_charges_its_budget_on_every_poll() {
    let job = job("tracked", ChildLimits::unlimited());
    let mut held = Vec::new();
    let waker = Waker::noop();
    let mut cx = Context::from_waker(waker);
    let mut f = std::pin::pin!(in_category(Category::Managed, async {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(vec![0u8; 16 * KIB]);
            Yield(false).await;
        }
        v
    })
    .in_budget(job.clone()));
    let v = loop {
        match f.as_mut().poll(&mut cx) {
            Poll::Ready(v) => break v,
            // Between polls the thread allocates for itself: not the job's.
            Poll::Pending => held.push(vec![0u8; 32 * KIB]),
        }
    };
    let outer = (v.capacity() * std::mem::size_of::<Vec<u8>>()) as u64;
    assert_eq!(job.used(Category::Managed), 3 * (16 * KIB) as u64 + outer);
    assert_eq!(job.used(Category::Heap), 0);
    drop((v, held));
    assert_eq!(job.used(Category::Managed), 0);
}

/// Pending once, then ready.
struct Yield(bool);

impl Future for Yield {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[test]
fn a_soft_watermark_reclaim_requested_from_inside_the_allocator_does_not_deadlock() {
    let job = job(
        "watermark",
        ChildLimits::unlimited().with(Category::Heap, 4 << 20),
    );
    job.set_soft_watermark(Some(0.5)).unwrap();
    let blocks: Vec<Vec<u8>> = {
        let _g = job.enter();
        (0..6).map(|_| vec![0u8; 512 * KIB]).collect()
    };
    assert!(job.used(Category::Heap) >= 3 << 20);
    drop(blocks);
    assert_eq!(job.used(Category::Heap), 0);
}

#[test]
fn threads_sharing_a_budget_stay_exact_and_within_its_limit() {
    const LIMIT: u64 = 4 << 20;
    let job = job(
        "shared",
        ChildLimits::unlimited().with(Category::Heap, LIMIT),
    );
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let rx = std::sync::Mutex::new(rx);
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (job, tx, rx) = (&job, tx.clone(), &rx);
            s.spawn(move || {
                let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ t;
                for round in 0..200 {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let size = (seed % (64 * KIB as u64)) as usize + 1;
                    let block = {
                        let _g = job.enter();
                        let mut v: Vec<u8> = Vec::new();
                        // Refused when the four threads hold too much: fine, nothing charged.
                        v.try_reserve_exact(size).ok().map(|()| {
                            v.push(t as u8);
                            v
                        })
                    };
                    assert!(job.used(Category::Heap) <= LIMIT);
                    if let Some(b) = block {
                        // Half the blocks are freed by whichever thread takes them.
                        if round % 2 == 0 {
                            tx.send(b).unwrap();
                        }
                    }
                    if let Ok(b) = rx.lock().unwrap().try_recv() {
                        drop(b);
                    }
                }
            });
        }
    });
    drop(tx);
    drop(rx);
    assert_eq!(job.used(Category::Heap), 0);
    let peak = job.report().category(Category::Heap).unwrap().peak;
    assert!(peak > 0 && peak <= LIMIT, "peak {peak}");
}
