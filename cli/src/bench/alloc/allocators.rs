//! The allocators compared, as statics called through `GlobalAlloc` directly (none of them is
//! this process's global allocator), each dispatched once per batch so the measured loops are
//! monomorphized and equal.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;

use membudget_allocator::QuotaAllocator;
use serde::Serialize;

use super::workload::{churn, pairs, ChurnSetup};

/// Bare mimalloc, called as the `mimalloc` crate calls it.
#[derive(Debug)]
pub struct BareMimalloc;

// SAFETY: forwards to mimalloc, which honours size and alignment.
unsafe impl GlobalAlloc for BareMimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: a non-zero size and a power-of-two alignment (GlobalAlloc contract).
        unsafe { libmimalloc_sys::mi_malloc_aligned(layout.size(), layout.align()).cast() }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from mimalloc (GlobalAlloc contract: allocated by `self`).
        unsafe { libmimalloc_sys::mi_free(ptr.cast()) }
    }
}

static QUOTA: QuotaAllocator = QuotaAllocator::new();
static MIMALLOC: BareMimalloc = BareMimalloc;
static SYSTEM: System = System;

/// An allocator under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Allocator {
    /// membudget's `QuotaAllocator` over mimalloc (accounting every block to a category).
    #[serde(rename = "quota_allocator")]
    Quota,
    /// mimalloc without accounting.
    Mimalloc,
    /// The system allocator (glibc malloc on Linux).
    System,
}

impl Allocator {
    /// All three, the measured one first.
    pub const ALL: [Allocator; 3] = [Allocator::Quota, Allocator::Mimalloc, Allocator::System];

    /// The name shown.
    pub fn name(self) -> &'static str {
        match self {
            Allocator::Quota => "QuotaAllocator",
            Allocator::Mimalloc => "mimalloc",
            Allocator::System => "System",
        }
    }

    /// Runs `n` alloc+free pairs of `layout`; returns how many allocations returned null.
    pub fn pairs(self, layout: Layout, n: u64) -> u64 {
        match self {
            Allocator::Quota => pairs(&QUOTA, layout, n),
            Allocator::Mimalloc => pairs(&MIMALLOC, layout, n),
            Allocator::System => pairs(&SYSTEM, layout, n),
        }
    }

    /// Runs the churn workload; returns (pairs done, nanoseconds of wall time, nulls).
    pub fn churn(self, setup: ChurnSetup) -> (u64, u64, u64) {
        match self {
            Allocator::Quota => churn(&QUOTA, setup),
            Allocator::Mimalloc => churn(&MIMALLOC, setup),
            Allocator::System => churn(&SYSTEM, setup),
        }
    }
}

/// Keeps the optimizer from removing an allocation.
#[inline]
pub fn keep(p: *mut u8) -> *mut u8 {
    black_box(p)
}
