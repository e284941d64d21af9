//! Off-heap memory pages for membudget: [`MemorySegment`], the chunked mmap [`PageSource`] and
//! the [`MemoryManager`] that hands managed memory to owners.
//!
//! ```text
//!  Budget (category quota) ◄── charge/credit per page ── PageSource ── chunks (mmap, 4 MiB)
//!                                                            │  carve page-aligned pages
//!                                      MemoryManager ────────┤  hot page + free list
//!                                   (per-owner pages/bytes)  ▼
//!                                                      MemorySegment ── drop returns the page
//! ```
//!
//! A [`PageSource`] obtains page-aligned memory from the OS in large chunks and hands it out one
//! page at a time as [`MemorySegment`]s, charging each page to one category of a
//! [`SharedBudget`](membudget_allocator::SharedBudget) (`network` for the buffer pool, `managed`
//! for the manager). A segment owns its page: dropping it returns the page and credits the
//! budget, so a page can never be used after it went back (use-after-free is impossible in safe
//! code). The [`MemoryManager`] adds Flink's managed-memory rules on top: a fixed total, pages and
//! byte reservations per owner, all-or-nothing allocation, shared resources and leak reports.
//!
//! ```
//! use membudget_allocator::{Budget, Category, Quotas, SharedBudget};
//! use membudget_segments::{PageSource, PageSourceConfig};
//!
//! let budget = SharedBudget::from(Budget::new(Quotas::unlimited().with(Category::Network, 1 << 20)));
//! let source = PageSource::new(PageSourceConfig::new(32 * 1024, Category::Network, budget.clone()))?;
//! let mut pages = source.try_allocate_many(4)?;
//! pages[0].put_u64_be(0, 7);
//! assert_eq!(budget.used(Category::Network), 4 * 32 * 1024);
//! drop(pages);
//! assert_eq!(budget.used(Category::Network), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Managed memory per owner:
//!
//! ```
//! use membudget_allocator::{Budget, Category, Quotas, SharedBudget};
//! use membudget_segments::{MemoryManager, OwnerId};
//!
//! let budget = SharedBudget::from(Budget::new(Quotas::unlimited().with(Category::Managed, 1 << 20)));
//! let mm = MemoryManager::new(1 << 20, 32 * 1024, budget.clone())?;
//! let owner = OwnerId(1);
//! let mut pages = mm.allocate_pages(owner, 4)?;
//! pages[0].put_u64_be(0, 7);
//! mm.reserve_memory(owner, 1000)?;
//! assert_eq!(budget.used(Category::Managed), 4 * 32 * 1024 + 1000);
//! mm.release_many(pages);
//! mm.release_all_memory(owner);
//! assert!(mm.verify_empty());
//! assert_eq!(budget.used(Category::Managed), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(unsafe_op_in_unsafe_fn)]

mod accessors;
mod bulk;
#[deny(clippy::arithmetic_side_effects)]
mod capacity;
mod error;
#[deny(clippy::arithmetic_side_effects)]
mod manager;
#[deny(clippy::arithmetic_side_effects)]
mod owner;
#[deny(clippy::arithmetic_side_effects)]
mod page_source;
#[deny(clippy::arithmetic_side_effects)]
mod segment;
#[deny(clippy::arithmetic_side_effects)]
mod shared_resource;
mod sync;
#[deny(clippy::arithmetic_side_effects)]
mod sys;

pub use error::{InvalidFraction, MemoryAllocationError, SegmentError, SharedResourceError};
pub use manager::{MemoryManager, OwnerUsage};
pub use owner::OwnerId;
pub use page_source::{
    PageSource, PageSourceConfig, DEFAULT_CHUNK_SIZE, DEFAULT_PAGE_SIZE, DEFAULT_RETAIN_BYTES,
    MAX_PAGE_SIZE, MIN_PAGE_SIZE,
};
pub use segment::MemorySegment;
pub use shared_resource::SharedResourceLease;
