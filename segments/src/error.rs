//! Errors of the page source, of segment accesses and of the [`MemoryManager`](crate::MemoryManager).

use crate::OwnerId;
use membudget_allocator::QuotaExceeded;
use membudget_core::keys::{TM_MANAGED_MEMORY_FRACTION, TM_MANAGED_MEMORY_SIZE};
use membudget_core::Category;
use std::io;
use thiserror::Error;

/// An error of the page source or of a [`MemorySegment`](crate::MemorySegment) access.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SegmentError {
    /// An access of `len` bytes at `index` does not fit in a segment of `size` bytes.
    #[error("index {index} + {len} bytes is out of bounds for a memory segment of {size} bytes")]
    OutOfBounds {
        /// First byte of the access.
        index: usize,
        /// Bytes accessed.
        len: usize,
        /// Size of the segment.
        size: usize,
    },
    /// Two ranges of one segment that must not overlap do.
    #[error("ranges of {len} bytes at {offset1} and {offset2} overlap within one memory segment")]
    Overlap {
        /// Start of the first range.
        offset1: usize,
        /// Start of the second range.
        offset2: usize,
        /// Length of each range.
        len: usize,
    },
    /// The budget refused to charge the pages.
    #[error(transparent)]
    Quota(#[from] QuotaExceeded),
    /// The operating system refused to map more memory.
    #[error(
        "Could not map {bytes} bytes of {category} memory from the operating system: {source}"
    )]
    Os {
        /// The category the pages were for.
        category: Category,
        /// Bytes asked of the OS.
        bytes: usize,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// More pages were requested at once than the address space can hold.
    #[error(
        "Cannot take {requested} pages of {page_size} bytes: together they would exceed the \
         address space. Request fewer pages."
    )]
    TooManyPages {
        /// Pages requested.
        requested: usize,
        /// Bytes per page.
        page_size: usize,
    },
    /// A configuration value is out of range.
    #[error("Invalid {what}: {value}. {requirement}")]
    InvalidConfig {
        /// The setting (e.g. `page size`, or a config key).
        what: &'static str,
        /// The value given.
        value: u64,
        /// What is required instead.
        requirement: &'static str,
    },
}

/// A fraction passed to the [`MemoryManager`](crate::MemoryManager) was outside `(0, 1]`.
#[derive(Clone, Copy, Debug, PartialEq, Error)]
#[error("The fraction of memory to allocate should be within (0, 1], was: {fraction}")]
pub struct InvalidFraction {
    /// The fraction given.
    pub fraction: f64,
}

/// A [`MemoryManager`](crate::MemoryManager) request for pages or bytes was refused; nothing was
/// allocated.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MemoryAllocationError {
    /// The manager was shut down.
    #[error(
        "The memory manager has been shut down; owner {owner} cannot allocate any more memory."
    )]
    ShutDown {
        /// Who asked.
        owner: OwnerId,
    },
    /// More pages were requested than the manager has in total.
    #[error(
        "Cannot allocate more segments {requested} than the max number {max} for owner {owner}. \
         Increase '{TM_MANAGED_MEMORY_FRACTION}' (or '{TM_MANAGED_MEMORY_SIZE}')."
    )]
    TooManyPages {
        /// Who asked.
        owner: OwnerId,
        /// Pages requested.
        requested: u64,
        /// Pages the manager has in total.
        max: u64,
    },
    /// Not enough managed memory is left for the pages.
    #[error(
        "Could not allocate {requested} pages for owner {owner}: only {available_pages} pages \
         ({available} bytes) of {total} bytes of managed memory are available. \
         Increase '{TM_MANAGED_MEMORY_FRACTION}' (or '{TM_MANAGED_MEMORY_SIZE}'), or release memory first."
    )]
    InsufficientPages {
        /// Who asked.
        owner: OwnerId,
        /// Pages requested.
        requested: u64,
        /// Whole pages that were available.
        available_pages: u64,
        /// Bytes that were available.
        available: u64,
        /// The manager's total bytes.
        total: u64,
    },
    /// Not enough managed memory is left for a byte reservation.
    #[error(
        "Could not reserve {requested} bytes of managed memory for owner {owner}: only {available} \
         of {total} bytes are remaining. Increase '{TM_MANAGED_MEMORY_FRACTION}' \
         (or '{TM_MANAGED_MEMORY_SIZE}'), or release memory first."
    )]
    InsufficientBytes {
        /// Who asked.
        owner: OwnerId,
        /// Bytes requested.
        requested: u64,
        /// Bytes that were available.
        available: u64,
        /// The manager's total bytes.
        total: u64,
    },
    /// The manager was shut down before a shared resource was created.
    #[error("The memory manager has been shut down; the shared memory resource '{kind}' cannot be created.")]
    ShutDownShared {
        /// The resource type string.
        kind: String,
    },
    /// Not enough managed memory is left for a shared resource.
    #[error(
        "Could not reserve {requested} bytes of managed memory for the shared resource '{kind}': \
         only {available} of {total} bytes are remaining. Increase \
         '{TM_MANAGED_MEMORY_FRACTION}' (or '{TM_MANAGED_MEMORY_SIZE}'), or lower the resource's fraction."
    )]
    InsufficientShared {
        /// The resource type string.
        kind: String,
        /// Bytes requested.
        requested: u64,
        /// Bytes that were available.
        available: u64,
        /// The manager's total bytes.
        total: u64,
    },
    /// The fraction of a shared resource was outside `(0, 1]`.
    #[error(transparent)]
    InvalidFraction(#[from] InvalidFraction),
    /// The page source failed (budget quota or OS).
    #[error(transparent)]
    Source(#[from] SegmentError),
}

/// Getting a shared resource failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SharedResourceError<E> {
    /// Reserving its memory failed.
    #[error(transparent)]
    Allocation(#[from] MemoryAllocationError),
    /// The initializer failed; its memory was given back.
    #[error("Could not initialize the shared memory resource '{kind}': {source}")]
    Init {
        /// The resource type string.
        kind: String,
        /// The initializer's error.
        #[source]
        source: E,
    },
    /// `kind`'s initializer asked for `kind` itself (it would wait for itself forever).
    #[error(
        "The shared memory resource '{kind}' was requested by its own initializer; an \
         initializer may only get resources of other types."
    )]
    Reentrant {
        /// The resource type string.
        kind: String,
    },
    /// `kind` is being initialized on another thread whose initializer waits (maybe through
    /// others) for a resource this thread's initializer is creating: waiting would deadlock.
    #[error(
        "The shared memory resource '{kind}' is being initialized by another thread that waits \
         for a resource this thread's initializer is creating: waiting for it would deadlock. \
         Initializers must not get each other's types."
    )]
    WouldDeadlock {
        /// The resource type string.
        kind: String,
    },
    /// A resource of this type string exists with a different Rust type.
    #[error(
        "The shared memory resource '{kind}' exists with type {existing}, but {requested} was requested."
    )]
    TypeMismatch {
        /// The resource type string.
        kind: String,
        /// The Rust type of the existing resource.
        existing: &'static str,
        /// The Rust type requested.
        requested: &'static str,
    },
}
