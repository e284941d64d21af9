//! The allocator works before `main`: a constructor in `.init_array` allocates in a category
//! scope, and the block is attributed and credited exactly afterwards.
#![cfg(target_os = "linux")]

use membudget_allocator::{with_category, Budget, Category, QuotaAllocator};
use std::sync::atomic::{AtomicPtr, Ordering};

#[global_allocator]
static A: QuotaAllocator = QuotaAllocator::new();

static EARLY: AtomicPtr<Vec<u8>> = AtomicPtr::new(std::ptr::null_mut());

extern "C" fn before_main() {
    let v: Box<Vec<u8>> = with_category(Category::Overhead, || Box::new(Vec::with_capacity(4096)));
    EARLY.store(Box::into_raw(v), Ordering::Release);
}

#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn() = before_main;

#[test]
fn blocks_allocated_before_main_are_charged_and_credited() {
    let b = Budget::global();
    let p = EARLY.swap(std::ptr::null_mut(), Ordering::Acquire);
    assert!(!p.is_null(), "the constructor ran");
    let expected = 4096 + core::mem::size_of::<Vec<u8>>() as u64;
    assert_eq!(b.used(Category::Overhead), expected);
    // SAFETY: `p` came from `Box::into_raw` in `before_main` and is taken exactly once.
    drop(unsafe { Box::from_raw(p) });
    assert_eq!(b.used(Category::Overhead), 0);
}
