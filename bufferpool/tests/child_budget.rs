//! A `NetworkBufferPool` made against a consumer of a child budget charges that budget (the
//! pool's segments, up front), is refused by its limit, and gives everything back.

use membudget_allocator::{Budget, Category, ChildLimits, Quotas, SharedBudget};
use membudget_bufferpool::{BufferPoolError, NetworkBufferPool};

const SEG: usize = 4096;

#[test]
fn a_network_pool_charges_its_child_budget() {
    let process = SharedBudget::from(Budget::new(
        Quotas::unlimited().with(Category::Network, 1 << 20),
    ));
    let tm = process
        .child(
            "shuffle",
            ChildLimits::unlimited().with(Category::Network, 64 * SEG as u64),
        )
        .unwrap();
    let pool =
        NetworkBufferPool::new(32, SEG, SharedBudget::from(tm.consumer("network-pool"))).unwrap();
    assert_eq!(tm.used(Category::Network), 32 * SEG as u64);
    let local = pool.create_buffer_pool(1, 4).unwrap();
    let buffer = local.request_buffer().unwrap().expect("a buffer");
    drop(buffer);
    drop(local);
    // A second pool past the child's limit is refused by that limit, naming the first.
    match NetworkBufferPool::new(33, SEG, SharedBudget::from(tm.consumer("too-big"))) {
        Err(e) => {
            let text = e.to_string();
            assert!(text.contains("in budget 'shuffle'"), "{text}");
            assert!(text.contains("'shuffle/network-pool' 131072"), "{text}");
            assert!(!matches!(e, BufferPoolError::PoolDestroyed), "{e:?}");
        }
        Ok(_) => panic!("33 segments more do not fit under 64"),
    }
    drop(pool);
    assert_eq!(tm.used(Category::Network), 0);
    drop(tm);
    assert_eq!(process.used(Category::Network), 0);
}

// ---- A LocalBufferPool charging its own consumer -------------------------------------------

use membudget_allocator::{BudgetHandle, MemoryConsumer};
use membudget_bufferpool::{Buffer, BufferPoolConfig, LocalBufferPool};
use proptest::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

const NET: Category = Category::Network;

fn segs(n: usize) -> u64 {
    (n * SEG) as u64
}

/// A process budget holding a network pool of `n` segments, and the separate attribution
/// budget (network quota = the pool's size) whose children divide those segments.
fn setup(n: usize) -> (SharedBudget, NetworkBufferPool, SharedBudget) {
    let process = SharedBudget::from(Budget::new(
        Quotas::unlimited().with(Category::Network, segs(n)),
    ));
    let network = NetworkBufferPool::new(n, SEG, process.clone()).unwrap();
    let attribution = SharedBudget::from(Budget::new(
        Quotas::unlimited().with(Category::Network, network.total_memory()),
    ));
    (process, network, attribution)
}

fn job(attribution: &SharedBudget, name: &str, limit_segments: usize) -> BudgetHandle {
    attribution
        .child(
            name,
            ChildLimits::unlimited().with(Category::Network, segs(limit_segments)),
        )
        .unwrap()
}

/// The consumer holds exactly the pool's segments (at a quiescent point).
#[track_caller]
fn assert_exact(pool: &LocalBufferPool, consumer: &MemoryConsumer) {
    assert_eq!(
        consumer.used(NET),
        segs(pool.requested_segments()),
        "consumer {} vs pool {pool:?}",
        consumer.name()
    );
}

#[test]
fn local_pools_charge_their_consumers_exactly_under_an_attribution_budget() {
    let (process, network, attribution) = setup(32);
    assert_eq!(process.used(NET), segs(32));
    let job1 = job(&attribution, "job-1", 16);
    let job2 = job(&attribution, "job-2", 32);
    let gate = job1.consumer("gate");
    let partition = job2.consumer("partition");
    let a = network.create_buffer_pool_for(gate.clone(), 2, 8).unwrap();
    let b = network
        .create_buffer_pool_with_consumer(BufferPoolConfig::new(2, 8), partition.clone())
        .unwrap();
    let free = network.create_buffer_pool(1, 4).unwrap();
    assert_eq!(a.consumer().map(MemoryConsumer::name), Some("gate"));
    assert!(free.consumer().is_none());
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(a.request_buffer().unwrap().expect("a buffer"));
    }
    for _ in 0..3 {
        held.push(b.request_buffer().unwrap().expect("a buffer"));
    }
    held.push(free.request_buffer().unwrap().expect("a buffer"));
    assert!(a.requested_segments() >= 5 && b.requested_segments() >= 3);
    assert_exact(&a, &gate);
    assert_exact(&b, &partition);
    // The jobs together hold exactly the charged pools' segments; the uncharged pool's are
    // in no job; the process budget counted every segment once, when the network pool was made.
    assert_eq!(
        job1.used(NET) + job2.used(NET),
        segs(a.requested_segments() + b.requested_segments())
    );
    assert_eq!(process.used(NET), segs(32));
    // Idle, lent or stashed: recycling within the pool charges nothing.
    let before = gate.used(NET);
    let x = held.remove(0);
    drop(x);
    let again = a.request_buffer().unwrap().expect("the recycled one");
    assert_eq!(gate.used(NET), before);
    held.push(again);
    drop(held);
    assert_exact(&a, &gate);
    drop((a, b, free));
    assert_eq!(gate.used(NET), 0);
    assert_eq!(partition.used(NET), 0);
    assert_eq!((job1.used(NET), job2.used(NET)), (0, 0));
    assert_eq!(network.available_segments(), 32);
    assert_eq!(process.used(NET), segs(32));
}

#[test]
fn a_consumer_rooted_at_the_network_pools_own_budget_is_refused() {
    let process = SharedBudget::from(Budget::new(Quotas::unlimited()));
    let network = NetworkBufferPool::new(8, SEG, process.clone()).unwrap();
    let job = process.child("job", ChildLimits::unlimited()).unwrap();
    match network.create_buffer_pool_for(job.consumer("gate"), 1, 4) {
        Err(BufferPoolError::InvalidArgument(text)) => {
            assert!(text.contains("job/gate"), "{text}");
            assert!(text.contains("count twice"), "{text}");
            assert!(text.contains("separate attribution Budget"), "{text}");
        }
        other => panic!("double counting accepted: {other:?}"),
    }
    assert_eq!(network.registered_pools(), 0);
    // A network pool charged through a consumer: another consumer of the same tree also.
    let shuffle = process.child("shuffle", ChildLimits::unlimited()).unwrap();
    let charged = NetworkBufferPool::new(8, SEG, SharedBudget::from(shuffle.consumer("net")));
    let charged = charged.unwrap();
    assert!(matches!(
        charged.create_buffer_pool_for(job.consumer("gate"), 1, 4),
        Err(BufferPoolError::InvalidArgument(_))
    ));
    // A separate attribution budget is the intended use.
    let attribution = SharedBudget::from(Budget::new(Quotas::unlimited()));
    let other = attribution.child("job", ChildLimits::unlimited()).unwrap();
    assert!(network
        .create_buffer_pool_for(other.consumer("gate"), 1, 4)
        .is_ok());
}

#[test]
fn a_refusing_consumer_reads_as_an_empty_network_pool() {
    let (_process, network, attribution) = setup(16);
    let job = job(&attribution, "job", 3);
    job.set_reclaim_wait(Duration::ZERO);
    let gate = job.consumer("gate");
    let other = job.consumer("other");
    let blocker = other.try_reserve_owned(NET, segs(1)).unwrap();
    let pool = network.create_buffer_pool_for(gate.clone(), 1, 8).unwrap();
    let x = pool.request_buffer().unwrap().expect("a buffer");
    let y = pool.request_buffer().unwrap().expect("a buffer");
    // The job's limit: no third segment, as if the network pool had none; it stays there.
    assert!(pool.request_buffer().unwrap().is_none());
    assert!(pool.is_refused_by_budget());
    assert!(!pool.is_available());
    assert_eq!(pool.requested_segments(), 2);
    assert_eq!(network.available_segments(), 14);
    assert_exact(&pool, &gate);
    assert!(pool
        .request_buffer_timeout(Duration::from_millis(30))
        .unwrap()
        .is_none());
    assert_eq!(pool.num_waiters(), 0);
    // Reserving segments names the refusal.
    let reserving = network.create_buffer_pool_for(job.consumer("reserving"), 2, 2);
    let reserving = reserving.unwrap();
    match reserving.reserve_segments(2) {
        Err(e @ BufferPoolError::BudgetRefused { .. }) => {
            let text = e.to_string();
            assert!(text.contains("memory consumer refused"), "{text}");
            assert!(text.contains("in budget 'job'"), "{text}");
            assert!(text.contains("'job/gate' 8192"), "{text}");
        }
        other => panic!("reserve past the job's limit: {other:?}"),
    }
    assert_eq!(reserving.requested_segments(), 0);
    assert_eq!(network.available_segments(), 14);
    drop(reserving);
    // A blocked request gets the segment once the budget has room, with no recycle.
    std::thread::scope(|s| {
        let waiter = s.spawn(|| pool.request_buffer_timeout(Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(50));
        drop(blocker);
        let got = waiter.join().unwrap().unwrap();
        assert!(got.is_some(), "woken by the budget's room");
    });
    assert_exact(&pool, &gate);
    drop((x, y));
    drop(pool);
    assert_eq!(gate.used(NET), 0);
    assert_eq!(job.used(NET), 0);
    assert_eq!(network.available_segments(), 16);
}

#[test]
fn shrinking_redistribution_and_destroy_credit_the_consumer() {
    let (_process, network, attribution) = setup(16);
    let job = job(&attribution, "job", 16);
    let gate = job.consumer("gate");
    let pool = network.create_buffer_pool_for(gate.clone(), 1, 16).unwrap();
    let mut held: Vec<Buffer> = (0..10)
        .map(|_| pool.request_buffer().unwrap().unwrap())
        .collect();
    assert_eq!(pool.num_buffers(), 16);
    assert_exact(&pool, &gate);
    // Another pool's minimum shrinks this one to 8: excess goes back as it is recycled.
    let other = network.create_buffer_pool(8, 8).unwrap();
    assert_eq!(pool.num_buffers(), 8);
    assert_exact(&pool, &gate);
    held.truncate(4);
    assert_exact(&pool, &gate);
    assert!(pool.requested_segments() <= 8);
    pool.set_num_buffers(2).unwrap();
    assert_exact(&pool, &gate);
    // Destroyed with buffers out: credited as they come back.
    pool.lazy_destroy();
    assert_exact(&pool, &gate);
    assert_eq!(gate.used(NET), segs(4));
    Buffer::recycle_all(held);
    assert_eq!(gate.used(NET), 0);
    drop((pool, other));
    assert_eq!(network.available_segments(), 16);
}

#[test]
fn reclaimers_may_recycle_and_shrink_pools_while_a_pool_charges() {
    let (_process, network, attribution) = setup(32);
    let job = job(&attribution, "job", 8);
    let spilling = job.consumer("spilling");
    let growing = job.consumer("growing");
    let p1 = Arc::new(
        network
            .create_buffer_pool_for(spilling.clone(), 1, 8)
            .unwrap(),
    );
    let p2 = network
        .create_buffer_pool_for(growing.clone(), 1, 8)
        .unwrap();
    let held1 = Arc::new(Mutex::new(Vec::new()));
    while let Some(b) = p1.request_buffer().unwrap() {
        held1.lock().unwrap().push(b);
    }
    assert!(p1.is_refused_by_budget());
    assert_eq!(spilling.used(NET) + growing.used(NET), segs(8));
    let asked = Arc::new(AtomicUsize::new(0));
    {
        let (p1, held1, asked) = (Arc::clone(&p1), Arc::clone(&held1), Arc::clone(&asked));
        // Shrinks its pool and drops its buffers: they go back to the network pool, credited.
        spilling.set_reclaimer(move |_: Category, _: u64| {
            asked.fetch_add(1, Ordering::Relaxed);
            let before = p1.requested_segments();
            p1.set_num_buffers(1).unwrap();
            let spilled = std::mem::take(&mut *held1.lock().unwrap());
            drop(spilled);
            segs(before.saturating_sub(p1.requested_segments()))
        });
    }
    let mut held2 = Vec::new();
    for _ in 0..6 {
        held2.push(p2.request_buffer().unwrap().expect("reclaimed for"));
    }
    assert!(asked.load(Ordering::Relaxed) > 0);
    assert_exact(&p1, &spilling);
    assert_exact(&p2, &growing);
    assert!(job.used(NET) <= segs(8));
    spilling.clear_reclaimer();
    drop(held2);
    drop((p1, p2));
    assert_eq!(job.used(NET), 0);
    assert_eq!(network.available_segments(), 32);
}

#[test]
fn a_pool_reclaiming_from_itself_does_not_deadlock() {
    let (_process, network, attribution) = setup(32);
    let job = job(&attribution, "job", 3);
    job.set_reclaim_wait(Duration::ZERO);
    let gate = job.consumer("gate");
    gate.reclaim_for_own_requests(true);
    let pool = Arc::new(network.create_buffer_pool_for(gate.clone(), 1, 8).unwrap());
    let held = Arc::new(Mutex::new(Vec::new()));
    for _ in 0..3 {
        held.lock()
            .unwrap()
            .push(pool.request_buffer().unwrap().unwrap());
    }
    {
        let (pool, held) = (Arc::clone(&pool), Arc::clone(&held));
        // Recycles a buffer of the very pool whose request is being charged, and shrinks it.
        gate.set_reclaimer(move |_: Category, _: u64| {
            let before = pool.requested_segments();
            pool.set_num_buffers(2).unwrap();
            let b = held.lock().unwrap().pop();
            drop(b);
            segs(before.saturating_sub(pool.requested_segments()))
        });
    }
    let got = pool.request_buffer().unwrap();
    assert!(got.is_some(), "its own reclaimer made room");
    assert_exact(&pool, &gate);
    gate.clear_reclaimer();
    drop(got);
    held.lock().unwrap().clear();
    drop(pool);
    assert_eq!(gate.used(NET), 0);
}

/// One step of the model test.
#[derive(Clone, Debug)]
enum Op {
    Request,
    RequestMany(usize),
    Recycle(usize),
    RecycleAll,
    SetNumBuffers(usize),
    Reserve(usize),
    Overdraft(usize),
    ToggleOther,
    Blocker(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Request),
        2 => (1usize..6).prop_map(Op::RequestMany),
        4 => any::<usize>().prop_map(Op::Recycle),
        1 => Just(Op::RecycleAll),
        2 => (0usize..12).prop_map(Op::SetNumBuffers),
        1 => (0usize..3).prop_map(Op::Reserve),
        1 => (0usize..3).prop_map(Op::Overdraft),
        1 => Just(Op::ToggleOther),
        1 => (0usize..6).prop_map(Op::Blocker),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 128 }))]

    /// At every step the consumer holds exactly the segments the pool holds, the job stays
    /// within its limit, and after destroy and recycle it holds nothing.
    #[test]
    fn the_consumer_always_holds_exactly_the_pools_segments(
        limit in 1usize..12,
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        let (_process, network, attribution) = setup(16);
        let job = job(&attribution, "job", limit);
        job.set_reclaim_wait(Duration::ZERO);
        let gate = job.consumer("gate");
        let rival = job.consumer("rival");
        let mut blocker = None;
        let pool = network.create_buffer_pool_for(gate.clone(), 2, 10).unwrap();
        let mut other = None;
        let mut held: Vec<Buffer> = Vec::new();
        for op in ops {
            match op {
                Op::Request => held.extend(pool.request_buffer().unwrap()),
                Op::RequestMany(n) => {
                    pool.request_buffers(n, &mut held).unwrap();
                }
                Op::Recycle(i) if !held.is_empty() => {
                    let i = i % held.len();
                    drop(held.swap_remove(i));
                }
                Op::Recycle(_) => {}
                Op::RecycleAll => Buffer::recycle_all(std::mem::take(&mut held)),
                Op::SetNumBuffers(n) => {
                    let r = pool.set_num_buffers(n);
                    prop_assert_eq!(r.is_ok(), n >= 2);
                }
                Op::Reserve(n) => match pool.reserve_segments(n) {
                    Ok(()) | Err(BufferPoolError::BudgetRefused { .. }) => {}
                    Err(e) => prop_assert!(false, "reserve {}: {}", n, e),
                },
                Op::Overdraft(n) => pool.set_max_overdraft_buffers(n),
                Op::ToggleOther => {
                    other = match other.take() {
                        Some(p) => { drop::<LocalBufferPool>(p); None }
                        None => network.create_buffer_pool(4, 6).ok(),
                    };
                }
                Op::Blocker(n) => {
                    drop(blocker.take());
                    blocker = rival.try_reserve_owned(NET, segs(n)).ok();
                }
            }
            prop_assert_eq!(gate.used(NET), segs(pool.requested_segments()));
            prop_assert!(job.used(NET) <= segs(limit));
            prop_assert!(pool.requested_segments() >= held.len());
        }
        drop(pool);
        prop_assert_eq!(gate.used(NET), segs(held.len()));
        drop(held);
        drop(other);
        drop(blocker);
        prop_assert_eq!(gate.used(NET), 0);
        prop_assert_eq!(job.used(NET), 0);
        prop_assert_eq!(network.available_segments(), 16);
    }
}

#[test]
fn buffers_flow_between_threads_with_stashes_and_the_consumers_end_exact() {
    let rounds = if cfg!(miri) { 30 } else { 20_000 };
    let (_process, network, attribution) = setup(64);
    let job = job(&attribution, "job", 24);
    job.set_reclaim_wait(Duration::ZERO);
    let c1 = job.consumer("out");
    let c2 = job.consumer("in");
    let p1 = network.create_buffer_pool_for(c1.clone(), 2, 16).unwrap();
    let p2 = network.create_buffer_pool_for(c2.clone(), 2, 16).unwrap();
    let done = AtomicBool::new(false);
    let over = AtomicBool::new(false);
    let refused = AtomicBool::new(false);
    std::thread::scope(|outer| {
        // Resizer and redistribution: shrinks and grows, other pools come and go.
        outer.spawn(|| {
            let mut i = 0usize;
            while !done.load(Ordering::Relaxed) {
                i += 1;
                let _ = p1.set_num_buffers(2 + i % 15);
                let other = network.create_buffer_pool(1 + i % 8, 10);
                std::thread::yield_now();
                drop(other);
            }
        });
        // The job's limit holds throughout.
        outer.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                if job.used(NET) > segs(24) {
                    over.store(true, Ordering::Relaxed);
                }
                if p1.is_refused_by_budget() || p2.is_refused_by_budget() {
                    refused.store(true, Ordering::Relaxed);
                }
                std::thread::yield_now();
            }
        });
        std::thread::scope(|s| {
            for (pool, seed) in [(&p1, 1u64), (&p2, 2), (&p1, 3), (&p2, 4)] {
                let (tx, rx) = mpsc::sync_channel::<Vec<Buffer>>(4);
                // Producer: requests singly, in batches and with short timeouts.
                s.spawn(move || {
                    let mut r = seed;
                    for _ in 0..rounds {
                        r ^= r << 13;
                        r ^= r >> 7;
                        r ^= r << 17;
                        let mut batch = Vec::new();
                        match r % 3 {
                            0 => batch.extend(pool.request_buffer().unwrap()),
                            1 => {
                                let n = (r % 5) as usize + 1;
                                pool.request_buffers(n, &mut batch).unwrap();
                            }
                            _ => batch.extend(
                                pool.request_buffer_timeout(Duration::from_micros(50))
                                    .unwrap(),
                            ),
                        }
                        if tx.send(batch).is_err() {
                            break;
                        }
                    }
                });
                // Recycler: drops singly or all at once, on its own thread (and stash).
                s.spawn(move || {
                    for (n, batch) in rx.into_iter().enumerate() {
                        if n % 2 == 0 {
                            Buffer::recycle_all(batch);
                        } else {
                            drop(batch);
                        }
                    }
                });
            }
        });
        done.store(true, Ordering::Relaxed);
    });
    assert!(!over.load(Ordering::Relaxed), "the job's limit was passed");
    // The pools together may want 32 segments: the job's limit of 24 refused some.
    assert!(
        cfg!(miri) || refused.load(Ordering::Relaxed),
        "no refusal exercised"
    );
    assert_exact(&p1, &c1);
    assert_exact(&p2, &c2);
    drop((p1, p2));
    assert_eq!(c1.used(NET), 0);
    assert_eq!(c2.used(NET), 0);
    assert_eq!(job.used(NET), 0);
    assert_eq!(network.available_segments(), 64);
}
