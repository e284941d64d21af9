//! Criterion benchmarks for membudget-segments, each side by side with its baseline:
//! page allocation (MemoryManager / PageSource vs `Vec<u8>` vs one `mmap` per page; one page
//! alone and lists of 1 and 64), typed accessor sweeps and `compare` vs plain slice code, bulk
//! copy vs `memcpy`.
//!
//! `cargo bench -p membudget-benches --bench segments -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_main, BenchmarkId, Criterion, Throughput};
use membudget_allocator::{Budget, Category, SharedBudget};
use membudget_segments::{MemoryManager, MemorySegment, OwnerId, PageSource, PageSourceConfig};
use std::hint;

const PAGE: usize = 32 * 1024;

fn budget() -> SharedBudget {
    SharedBudget::from(Budget::unlimited())
}

fn allocate_release(c: &mut Criterion) {
    let mm = MemoryManager::new(256 * PAGE as u64, PAGE, budget()).unwrap();
    let source = PageSource::new(PageSourceConfig::new(PAGE, Category::Network, budget())).unwrap();
    // Warm both so chunks are mapped and pages resident: steady state.
    drop(mm.allocate_pages(OwnerId(1), 128).unwrap());
    drop(source.try_allocate_many(128).unwrap());

    // One page at a time, with no list: the cheapest way to take and give back a page, beside
    // one `Vec<u8>` of the same size (the global allocator here is the system's).
    let mut g = c.benchmark_group("segments/allocate_release/one_32KiB_page");
    g.throughput(Throughput::Elements(1));
    g.bench_function("MemoryManager::allocate_page", |b| {
        b.iter(|| drop(black_box(mm.allocate_page(OwnerId(1)).unwrap())))
    });
    g.bench_function("PageSource::try_allocate", |b| {
        b.iter(|| drop(black_box(source.try_allocate().unwrap())))
    });
    g.bench_function("Vec<u8>", |b| {
        b.iter(|| drop(black_box(Vec::<u8>::with_capacity(black_box(PAGE)))))
    });
    g.finish();

    for n in [1usize, 64] {
        let mut g = c.benchmark_group(format!("segments/allocate_release/{n}x32KiB"));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function("MemoryManager", |b| {
            b.iter(|| {
                let pages = mm.allocate_pages(OwnerId(1), black_box(n)).unwrap();
                mm.release_many(black_box(pages));
            })
        });
        g.bench_function("MemoryManager_drop_each", |b| {
            b.iter(|| {
                drop(black_box(
                    mm.allocate_pages(OwnerId(1), black_box(n)).unwrap(),
                ))
            })
        });
        g.bench_function("PageSource", |b| {
            b.iter(|| {
                let pages = source.try_allocate_many(black_box(n)).unwrap();
                source.release_many(black_box(pages));
            })
        });
        g.bench_function("Vec<u8>", |b| {
            b.iter(|| {
                let pages: Vec<Vec<u8>> = (0..black_box(n))
                    .map(|_| Vec::<u8>::with_capacity(PAGE))
                    .collect();
                black_box(&pages);
                drop(pages);
            })
        });
        g.bench_function("mmap_per_page", |b| {
            b.iter(|| {
                let pages: Vec<memmap2::MmapMut> = (0..black_box(n))
                    .map(|_| memmap2::MmapMut::map_anon(PAGE).unwrap())
                    .collect();
                black_box(&pages);
                drop(pages);
            })
        });
        g.finish();
    }
}

fn filled(size: usize) -> (MemorySegment, Vec<u8>) {
    let v: Vec<u8> = (0..size).map(|i| (i * 31 + 7) as u8).collect();
    (MemorySegment::wrap(v.clone()), v)
}

fn page_segment(source: &PageSource) -> MemorySegment {
    let mut s = source.try_allocate().unwrap();
    for (i, b) in s.as_mut_slice().iter_mut().enumerate() {
        *b = (i * 31 + 7) as u8;
    }
    s
}

fn accessors(c: &mut Criterion) {
    let source = PageSource::new(PageSourceConfig::new(PAGE, Category::Network, budget())).unwrap();
    // Both sides work on identical page memory (two pages of the same source).
    let mut seg = page_segment(&source);
    let mut plain_page = page_segment(&source);
    let plain = plain_page.as_mut_slice();
    let words = PAGE / 8;

    let mut g = c.benchmark_group("segments/get_u64_be_sweep_32KiB");
    g.throughput(Throughput::Bytes(PAGE as u64));
    g.bench_function("MemorySegment", |b| {
        b.iter(|| {
            let s = black_box(&seg);
            let mut acc = 0u64;
            for i in 0..words {
                acc = acc.wrapping_add(s.get_u64_be(i * 8));
            }
            acc
        })
    });
    g.bench_function("slice", |b| {
        b.iter(|| {
            let s = black_box(&*plain);
            let mut acc = 0u64;
            for i in 0..words {
                acc = acc.wrapping_add(u64::from_be_bytes(s[i * 8..i * 8 + 8].try_into().unwrap()));
            }
            acc
        })
    });
    g.finish();

    // Unaligned, data-dependent indices defeat vectorisation of both sides alike.
    let idx: Vec<usize> = (0..4096).map(|i| (i * 7919 + 3) % (PAGE - 8)).collect();
    let mut g = c.benchmark_group("segments/get_u64_be_random_4096");
    g.throughput(Throughput::Elements(idx.len() as u64));
    g.bench_function("MemorySegment", |b| {
        b.iter(|| {
            let s = black_box(&seg);
            idx.iter()
                .fold(0u64, |a, &i| a.wrapping_add(s.get_u64_be(i)))
        })
    });
    g.bench_function("slice", |b| {
        b.iter(|| {
            let s = black_box(&*plain);
            idx.iter().fold(0u64, |a, &i| {
                a.wrapping_add(u64::from_be_bytes(s[i..i + 8].try_into().unwrap()))
            })
        })
    });
    g.finish();

    let mut g = c.benchmark_group("segments/put_u64_be_sweep_32KiB");
    g.throughput(Throughput::Bytes(PAGE as u64));
    g.bench_function("MemorySegment", |b| {
        b.iter(|| {
            let s = black_box(&mut seg);
            for i in 0..words {
                s.put_u64_be(i * 8, i as u64);
            }
        })
    });
    g.bench_function("slice", |b| {
        b.iter(|| {
            let s = black_box(&mut *plain);
            for i in 0..words {
                s[i * 8..i * 8 + 8].copy_from_slice(&(i as u64).to_be_bytes());
            }
        })
    });
    g.finish();
}

fn compare(c: &mut Criterion) {
    for len in [16usize, 64, 1024] {
        // Two ranges equal except for the last byte: the whole length is scanned.
        let (mut a, _) = filled(4096);
        let (b_seg, _) = filled(4096);
        a.put_u8(100 + len - 1, 0);
        let (va, vb) = (a.as_slice().to_vec(), b_seg.as_slice().to_vec());
        let mut g = c.benchmark_group("segments/compare");
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_with_input(BenchmarkId::new("MemorySegment", len), &len, |b, &len| {
            b.iter(|| black_box(&a).compare(black_box(&b_seg), 100, 100, len))
        });
        g.bench_with_input(BenchmarkId::new("slice_cmp", len), &len, |b, &len| {
            b.iter(|| black_box(&va[100..100 + len]).cmp(black_box(&vb[100..100 + len])))
        });
        g.finish();
    }
}

fn bulk_copy(c: &mut Criterion) {
    let (src, vsrc) = filled(PAGE);
    let mut dst = MemorySegment::allocate_unpooled(PAGE);
    let mut vdst = vec![0u8; PAGE];
    let mut g = c.benchmark_group("segments/copy_32KiB");
    g.throughput(Throughput::Bytes(PAGE as u64));
    g.bench_function("copy_to", |b| {
        b.iter(|| black_box(&src).copy_to(0, black_box(&mut dst), 0, PAGE))
    });
    g.bench_function("memcpy", |b| {
        b.iter(|| black_box(&mut vdst[..]).copy_from_slice(black_box(&vsrc[..])))
    });
    g.finish();
    hint::black_box((&dst, &vdst));
}

/// Runs every group (a plain function instead of `criterion_group!`, which generates an
/// undocumented public item).
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    allocate_release(&mut c);
    accessors(&mut c);
    compare(&mut c);
    bulk_copy(&mut c);
}

criterion_main!(benches);
