//! Allocations the OS refuses leave the accounting exact: with the address space capped
//! (`RLIMIT_AS`), heap blocks are taken until mimalloc returns null, on the allowance fast path
//! and the slow path alike; every refused request is credited back, so `used` is exactly the
//! blocks alive. One test per binary: it caps the whole process.
#![cfg(all(target_os = "linux", feature = "mimalloc"))]

use membudget_allocator::{Budget, Category, QuotaAllocator};
use std::alloc::{GlobalAlloc, Layout};

#[global_allocator]
static A: QuotaAllocator = QuotaAllocator::new();

/// Half of a 1 MiB quantum: every other block comes from the allowance without a refill.
const BLOCK: usize = 512 << 10;

fn vm_size() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmSize:"))
        .expect("VmSize");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmSize in kB");
    kib * 1024
}

fn set_address_space_limit(bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: a valid rlimit for this process.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) }, 0);
}

#[test]
fn allocations_the_os_refuses_are_credited_back() {
    let b = Budget::global();
    let layout = Layout::from_size_align(BLOCK, 16).unwrap();
    // Room for the pointers, taken before the cap.
    let mut blocks: Vec<usize> = Vec::with_capacity(1 << 16);
    let before = b.used(Category::Heap);
    // Untouched blocks cost address space only: cap it a little above what is mapped now.
    set_address_space_limit(vm_size() + (64 << 20));
    let mut refused = 0;
    while refused < 8 && blocks.len() < blocks.capacity() {
        // SAFETY: a non-zero size.
        let p = unsafe { A.alloc(layout) };
        if p.is_null() {
            refused += 1;
        } else {
            blocks.push(p as usize);
        }
    }
    let used = b.used(Category::Heap);
    set_address_space_limit(libc::RLIM_INFINITY);
    assert_eq!(refused, 8, "the cap made mimalloc refuse");
    assert!(!blocks.is_empty());
    // The harness's own threads may allocate a little meanwhile (`used` is the process's); a
    // refused block left charged would be 512 KiB.
    let blocks_bytes = (blocks.len() * BLOCK) as u64;
    assert!(
        used.abs_diff(before + blocks_bytes) < BLOCK as u64 / 16,
        "refused allocations left a charge behind: used grew by {} for {blocks_bytes} bytes \
         of live blocks",
        i128::from(used) - i128::from(before)
    );
    assert_eq!(
        b.failures(Category::Heap),
        0,
        "refused by the OS, not the budget"
    );
    for p in blocks.drain(..) {
        // SAFETY: a live block of `A` with `layout`.
        unsafe { A.dealloc(p as *mut u8, layout) };
    }
    assert!(
        b.used(Category::Heap).abs_diff(before) < BLOCK as u64 / 16,
        "freeing every block brought heap back to where it started"
    );
}
