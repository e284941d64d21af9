//! Soak test (opt-in): mixed global-allocator, network-pool and managed-memory traffic across 8
//! threads, with 0.1% of the direct, managed, network and overhead requests failed on purpose,
//! for `MEMBUDGET_SOAK_SECS` seconds (default 300). At the end every non-heap category is
//! exactly 0, the heap category is back where it started (the test harness's own allocations
//! aside), every network segment and managed page is back, nothing broke an invariant, and the
//! RSS is within a few MiB of where it started.
//!
//! ```text
//! MEMBUDGET_SOAK_SECS=300 cargo test --release -p membudget-bufferpool --test soak -- --ignored --nocapture
//! ```
//!
//! Heap allocations get no injected failures: the standard library's infallible collections
//! (and the test harness) abort on a refused heap allocation, by design.

use membudget_allocator::{
    process_rss, with_category, Budget, Category, QuotaAllocator, Quotas, SharedBudget,
};
use membudget_bufferpool::{
    invariant_violations, Buffer, BufferPoolConfig, BufferPoolError, NetworkBufferPool,
};
use membudget_segments::{MemoryAllocationError, MemoryManager, MemorySegment, OwnerId};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[global_allocator]
static A: QuotaAllocator = QuotaAllocator::new();

const THREADS: u64 = 8;
const SEG: usize = 32 * 1024;
const SEGMENTS: usize = 1024; // 32 MiB of network buffers
const MANAGED: u64 = 64 << 20;
const PAGE: usize = 32 * 1024;
const MIB: u64 = 1 << 20;
const FAULTED: [Category; 4] = [
    Category::Direct,
    Category::Managed,
    Category::Network,
    Category::Overhead,
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Work handed to another thread to finish (frees and recycles on a thread that did not
/// allocate).
enum Handoff {
    Block(Vec<u8>),
    Buffer(Buffer),
    Pages(Vec<MemorySegment>),
}

#[derive(Default)]
struct Counts {
    ops: AtomicU64,
    refused: AtomicU64,
}

fn soak_secs() -> u64 {
    std::env::var("MEMBUDGET_SOAK_SECS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(300)
}

#[test]
#[ignore = "soak test: run with --ignored (MEMBUDGET_SOAK_SECS, default 300)"]
fn mixed_traffic_with_injected_failures_leaves_nothing_behind() {
    let budget = Budget::global();
    let rss_start = process_rss().expect("RSS is readable");
    let heap_start = budget.used(Category::Heap);
    budget.set_quotas(
        Quotas::unlimited()
            .with(Category::Network, (SEGMENTS * SEG) as u64)
            .with(Category::Managed, MANAGED)
            .with(Category::Direct, 64 * MIB)
            .with(Category::Overhead, 16 * MIB),
    );
    let seed = std::env::var("MEMBUDGET_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x50a6);
    budget.set_fault_seed(seed);
    for c in FAULTED {
        budget.set_fault_probability(c, 0.001);
    }
    let secs = soak_secs();
    let deadline = Instant::now() + Duration::from_secs(secs);
    // Creating the pools charges the budget too, so an injected failure may refuse them.
    let net = loop {
        match NetworkBufferPool::new(SEGMENTS, SEG, SharedBudget::global()) {
            Ok(n) => break n,
            Err(BufferPoolError::OutOfMemory { .. }) => continue,
            Err(e) => panic!("{e}"),
        }
    };
    let mm = MemoryManager::new(MANAGED, PAGE, SharedBudget::global()).unwrap();
    let counts = Counts::default();
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..THREADS).map(|_| mpsc::channel::<Handoff>()).unzip();
    std::thread::scope(|s| {
        for (t, rx) in (0..THREADS).zip(rxs) {
            let (net, mm, counts) = (&net, &mm, &counts);
            let txs = txs.clone();
            s.spawn(move || {
                worker(t, net, mm, counts, deadline, &txs, rx);
            });
        }
        drop(txs);
    });
    let ops = counts.ops.load(Ordering::Relaxed);
    let refused = counts.refused.load(Ordering::Relaxed);
    let injected: u64 = FAULTED.iter().map(|&c| budget.injected_failures(c)).sum();
    for c in FAULTED {
        budget.set_fault_probability(c, 0.0);
    }
    assert_eq!(
        net.available_segments(),
        SEGMENTS,
        "every network segment is back (pools {}, required {}, invariant violations {}, \
         network used {} bytes)",
        net.registered_pools(),
        net.required_segments(),
        invariant_violations(),
        budget.used(Category::Network)
    );
    assert_eq!(net.registered_pools(), 0);
    assert_eq!(net.required_segments(), 0);
    assert!(mm.verify_empty(), "every managed byte is back");
    assert_eq!(
        mm.page_source().pages_outstanding(),
        0,
        "every page is back"
    );
    drop(net);
    drop(mm);
    let heap_end = budget.used(Category::Heap);
    for c in FAULTED {
        assert_eq!(budget.used(c), 0, "{c} is exactly 0");
        assert_eq!(
            budget.release_errors(c),
            0,
            "{c}: no release larger than its charge"
        );
    }
    assert_eq!(invariant_violations(), 0);
    budget.set_quotas(Quotas::unlimited());
    // mimalloc returns freed pages after a delay; ask for them now.
    membudget_allocator::Mimalloc.collect();
    let rss_end = process_rss().unwrap();
    println!(
        "soak: {secs} s, {THREADS} threads, {ops} operations, {refused} refused ({injected} \
         injected failures), heap {heap_start} -> {heap_end} bytes, RSS {rss_start} -> {rss_end}"
    );
    assert!(injected > 0, "failures were injected");
    assert!(
        heap_end.abs_diff(heap_start) < MIB,
        "heap use {heap_start} -> {heap_end}"
    );
    assert!(
        rss_end < rss_start + 8 * MIB,
        "RSS {rss_end} is not within 8 MiB of {rss_start}"
    );
}

fn worker(
    t: u64,
    net: &NetworkBufferPool,
    mm: &MemoryManager,
    counts: &Counts,
    deadline: Instant,
    txs: &[mpsc::Sender<Handoff>],
    rx: mpsc::Receiver<Handoff>,
) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (t + 1));
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    let mut pages: Vec<MemorySegment> = Vec::new();
    let mut buffers: Vec<Buffer> = Vec::new();
    let owner = OwnerId(t);
    let mut pool = None;
    let (mut ops, mut refused) = (0u64, 0u64);
    while Instant::now() < deadline {
        // Finish what other threads handed over.
        while let Ok(h) = rx.try_recv() {
            match h {
                Handoff::Block(v) => assert_eq!(v.len(), 1, "a block handed over intact"),
                Handoff::Buffer(b) => assert_eq!(b.size(), 8, "a buffer handed over intact"),
                Handoff::Pages(p) => assert!(!p.is_empty()),
            }
        }
        ops += 1;
        match rng.below(10) {
            // Global allocator: blocks of any size and alignment in a non-heap category.
            0..=2 => {
                let c = FAULTED[rng.below(4) as usize];
                let size = 1 + rng.below(256 << 10) as usize;
                let mut v: Vec<u8> = Vec::new();
                match with_category(c, || v.try_reserve_exact(size)) {
                    Ok(()) => {
                        v.push(t as u8);
                        blocks.push(v);
                    }
                    Err(_) => refused += 1,
                }
                if blocks.len() > 16 {
                    let v = blocks.swap_remove(rng.below(blocks.len() as u64) as usize);
                    let to = rng.below(THREADS) as usize;
                    let _ = txs[to].send(Handoff::Block(v));
                }
            }
            // Network buffers through a local pool that comes and goes.
            3..=5 => {
                if pool.is_none() || rng.below(200) == 0 {
                    buffers.clear();
                    pool = None;
                    let config = BufferPoolConfig::new(1 + rng.below(4) as usize, 64)
                        .with_overdraft(rng.below(3) as usize);
                    match net.create_buffer_pool_with(config) {
                        Ok(p) => pool = Some(p),
                        Err(BufferPoolError::InsufficientBuffers { .. }) => refused += 1,
                        Err(e) => panic!("{e}"),
                    }
                }
                if let Some(p) = &pool {
                    // One buffer, or a batch (`request_buffers`, through the thread's stash).
                    let mut got = Vec::new();
                    if rng.below(4) == 0 {
                        p.request_buffers(1 + rng.below(4) as usize, &mut got)
                            .unwrap();
                    } else {
                        got.extend(p.request_buffer().unwrap());
                    }
                    if got.is_empty() {
                        refused += 1;
                    }
                    for mut b in got {
                        b.append(&t.to_le_bytes());
                        if rng.below(2) == 0 {
                            let to = rng.below(THREADS) as usize;
                            let _ = txs[to].send(Handoff::Buffer(b));
                        } else {
                            buffers.push(b);
                        }
                    }
                    if buffers.len() > 8 {
                        // One by one, or as a batch (`recycle_all`).
                        if rng.below(2) == 0 {
                            Buffer::recycle_all(buffers.drain(..4));
                        } else {
                            buffers.drain(..4);
                        }
                    }
                }
                if rng.below(50) == 0 {
                    match net.request_unpooled(1 + rng.below(2) as usize, Duration::from_millis(1))
                    {
                        Ok(v) => drop(v),
                        Err(
                            BufferPoolError::Timeout { .. }
                            | BufferPoolError::InsufficientBuffers { .. },
                        ) => refused += 1,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            // Managed pages and byte reservations.
            _ => match rng.below(4) {
                0 | 1 => match mm.allocate_pages(owner, 1 + rng.below(8) as usize) {
                    Ok(mut got) => {
                        for p in &mut got {
                            p.put_u64(0, t);
                        }
                        if rng.below(3) == 0 {
                            let to = rng.below(THREADS) as usize;
                            let _ = txs[to].send(Handoff::Pages(got));
                        } else {
                            pages.extend(got);
                        }
                    }
                    Err(
                        MemoryAllocationError::InsufficientPages { .. }
                        | MemoryAllocationError::Source(_),
                    ) => refused += 1,
                    Err(e) => panic!("{e}"),
                },
                2 => {
                    let n = rng.below(pages.len() as u64 + 1) as usize;
                    mm.release_many(pages.drain(..n));
                    let bytes = rng.below(64 << 10);
                    match mm.reserve_memory(owner, bytes) {
                        Ok(()) => mm.release_memory(owner, rng.below(bytes + 1)),
                        Err(_) => refused += 1,
                    }
                }
                _ => {
                    if rng.below(20) == 0 {
                        drop(std::mem::take(&mut pages));
                        mm.release_owner(owner);
                    }
                }
            },
        }
    }
    drop((blocks, pages, buffers, pool));
    mm.release_owner(owner);
    counts.ops.fetch_add(ops, Ordering::Relaxed);
    counts.refused.fetch_add(refused, Ordering::Relaxed);
    // Whatever others still send is dropped when `rx` goes (on this thread).
}
