//! QuotaAllocator against its baselines, side by side in one run: alloc+free pairs of 16 B to
//! 64 KiB on one and two threads, a larson-style churn (random sizes, ~10 MB live, blocks
//! freed by the other thread), and 64 B pairs on the 1st, 600th and 2000th live thread. Every allocator is a `static` called through the same generic
//! function, so all share one binary (whose own global allocator is the system one).
//!
//! `cargo bench -p membudget-benches --bench allocator -- --warm-up-time 1 --measurement-time 3`
use cap::Cap;
use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use membudget_allocator::QuotaAllocator;
use membudget_benches::BareMimalloc;
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

static QUOTA_MIMALLOC: QuotaAllocator = QuotaAllocator::new();
static MIMALLOC: BareMimalloc = BareMimalloc;
static SYSTEM: System = System;
static QUOTA_SYSTEM: QuotaAllocator<System> = QuotaAllocator::with_backing(System);
static CAP: Cap<System> = Cap::new(System, usize::MAX);

const SIZES: [usize; 5] = [16, 64, 256, 4096, 65536];

#[inline]
fn pairs<A: GlobalAlloc>(a: &A, layout: Layout, n: u64) {
    for _ in 0..n {
        // SAFETY: non-zero layout.
        let p = unsafe { a.alloc(layout) };
        black_box(p);
        if !p.is_null() {
            // SAFETY: `p` was just allocated by `a` with `layout`.
            unsafe { a.dealloc(p, layout) };
        }
    }
}

fn pairs_threads<A: GlobalAlloc + Sync>(
    a: &'static A,
    layout: Layout,
    iters: u64,
    threads: usize,
) -> Duration {
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    pairs(a, layout, 1000); // registers the thread, warms its heap
                    barrier.wait();
                    let t = Instant::now();
                    pairs(a, layout, iters);
                    t.elapsed()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).max().unwrap()
    })
}

fn alloc_free(c: &mut Criterion) {
    for threads in [1usize, 2] {
        let mut g = c.benchmark_group(format!("alloc_free_{threads}t"));
        for size in SIZES {
            let layout = Layout::from_size_align(size, 8).unwrap();
            g.throughput(Throughput::Elements(threads as u64));
            macro_rules! bench {
                ($name:literal, $a:expr) => {
                    g.bench_with_input(BenchmarkId::new($name, size), &layout, |b, &l| {
                        if threads == 1 {
                            b.iter(|| pairs($a, l, 1))
                        } else {
                            b.iter_custom(|iters| pairs_threads($a, l, iters, threads))
                        }
                    });
                };
            }
            bench!("quota_mimalloc", &QUOTA_MIMALLOC);
            bench!("mimalloc", &MIMALLOC);
            bench!("quota_system", &QUOTA_SYSTEM);
            bench!("system", &SYSTEM);
            bench!("cap_system", &CAP);
        }
        g.finish();
    }
}

/// Live blocks per array; 2 arrays × 5000 × ~1 KiB average ≈ 10 MB.
const LARSON_BLOCKS: usize = 5000;
const LARSON_BATCH: u64 = 20_000;

struct Blocks(Vec<(usize, usize)>);

fn larson_size(rng: &mut u64) -> usize {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    16 + (*rng % 2033) as usize
}

/// Two threads each replace random blocks of an array; after every batch they swap arrays, so
/// each frees blocks the other allocated.
fn larson<A: GlobalAlloc + Sync>(a: &'static A, iters: u64) -> Duration {
    let alloc = |size: usize| {
        // SAFETY: non-zero size, alignment 8.
        let p = unsafe { a.alloc(Layout::from_size_align(size, 8).unwrap()) };
        assert!(!p.is_null());
        (p as usize, size)
    };
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let arrays: [Mutex<Blocks>; 2] = core::array::from_fn(|_| {
        Mutex::new(Blocks(
            (0..LARSON_BLOCKS)
                .map(|_| alloc(larson_size(&mut rng)))
                .collect(),
        ))
    });
    let batches = iters.div_ceil(LARSON_BATCH);
    let barrier = Barrier::new(2);
    let elapsed = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2usize)
            .map(|t| {
                let (arrays, barrier) = (&arrays, &barrier);
                s.spawn(move || {
                    let mut rng = 0x9e37_79b9_7f4a_7c15_u64 ^ (t as u64 + 1);
                    barrier.wait();
                    let start = Instant::now();
                    for batch in 0..batches {
                        let mut blocks = arrays[(t + batch as usize) % 2].lock().unwrap();
                        for _ in 0..LARSON_BATCH {
                            let i = (larson_size(&mut rng) * 7919) % LARSON_BLOCKS;
                            let (p, size) = blocks.0[i];
                            // SAFETY: `p` was allocated by `a` with this layout.
                            unsafe {
                                a.dealloc(p as *mut u8, Layout::from_size_align(size, 8).unwrap())
                            };
                            blocks.0[i] = alloc(larson_size(&mut rng));
                        }
                        drop(blocks);
                        barrier.wait();
                    }
                    start.elapsed()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).max().unwrap()
    });
    for m in arrays {
        for (p, size) in m.into_inner().unwrap().0 {
            // SAFETY: as above.
            unsafe { a.dealloc(p as *mut u8, Layout::from_size_align(size, 8).unwrap()) };
        }
    }
    // Per replacement per thread, as criterion divides by `iters`.
    elapsed.mul_f64(iters as f64 / (batches * LARSON_BATCH) as f64)
}

fn churn(c: &mut Criterion) {
    let mut g = c.benchmark_group("larson_2t");
    g.throughput(Throughput::Elements(2));
    g.bench_function("quota_mimalloc", |b| {
        b.iter_custom(|n| larson(&QUOTA_MIMALLOC, n))
    });
    g.bench_function("mimalloc", |b| b.iter_custom(|n| larson(&MIMALLOC, n)));
    g.bench_function("quota_system", |b| {
        b.iter_custom(|n| larson(&QUOTA_SYSTEM, n))
    });
    g.bench_function("system", |b| b.iter_custom(|n| larson(&SYSTEM, n)));
    g.bench_function("cap_system", |b| b.iter_custom(|n| larson(&CAP, n)));
    g.finish();
}

/// `n` threads that each made one allocation through [`QUOTA_MIMALLOC`] (so each holds an
/// allowance slot of the process budget) and then wait, alive, until the crowd is dropped.
struct Crowd {
    release: std::sync::Arc<(Mutex<bool>, std::sync::Condvar)>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Crowd {
    fn new(n: usize) -> Crowd {
        let release = std::sync::Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let started = std::sync::Arc::new(Barrier::new(n + 1));
        let threads = (0..n)
            .map(|_| {
                let (release, started) = (release.clone(), started.clone());
                std::thread::Builder::new()
                    .stack_size(64 << 10)
                    .spawn(move || {
                        pairs(&QUOTA_MIMALLOC, Layout::from_size_align(64, 8).unwrap(), 1);
                        started.wait();
                        let (lock, cv) = &*release;
                        let mut go = lock.lock().unwrap();
                        while !*go {
                            go = cv.wait(go).unwrap();
                        }
                    })
                    .expect("spawn a crowd thread")
            })
            .collect();
        started.wait();
        Crowd { release, threads }
    }
}

impl Drop for Crowd {
    fn drop(&mut self) {
        *self.release.0.lock().unwrap() = true;
        self.release.1.notify_all();
        for t in self.threads.drain(..) {
            t.join().unwrap();
        }
    }
}

/// 64 B pairs on a thread started after `live - 1` others that hold allowance slots: the
/// `live`-th live thread. Before the allowance registry grew, threads past the 512th charged
/// the shared counters on every allocation (issue: "no cliff past 512 threads").
fn live_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("alloc_free_64B_nth_live_thread");
    g.throughput(Throughput::Elements(1));
    let layout = Layout::from_size_align(64, 8).unwrap();
    for live in [1usize, 600, 2000] {
        let crowd = Crowd::new(live - 1);
        macro_rules! bench {
            ($name:literal, $a:expr) => {
                g.bench_with_input(BenchmarkId::new($name, live), &layout, |b, &l| {
                    b.iter_custom(|iters| pairs_threads($a, l, iters, 1))
                });
            };
        }
        bench!("quota_mimalloc", &QUOTA_MIMALLOC);
        bench!("mimalloc", &MIMALLOC);
        drop(crowd);
    }
    g.finish();
}

/// Runs every group (a plain function instead of `criterion_group!`, which generates an
/// undocumented public item).
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    alloc_free(&mut c);
    churn(&mut c);
    live_threads(&mut c);
}

criterion_main!(benches);
