//! `BufferPoolError`: every way a pool operation can fail, with Flink's texts.

use std::time::Duration;

use membudget_core::keys::{
    TM_NETWORK_EXCLUSIVE_BUFFERS_REQUEST_TIMEOUT,
    TM_NETWORK_MEMORY_FRACTION as NETWORK_FRACTION_KEY, TM_NETWORK_MEMORY_MAX as NETWORK_MAX_KEY,
    TM_NETWORK_MEMORY_MIN as NETWORK_MIN_KEY,
};

/// The key of the exclusive-buffer request timeout (`membudget_core::keys`' constant, kept
/// under the name this crate has always exported).
pub const EXCLUSIVE_BUFFERS_REQUEST_TIMEOUT_KEY: &str =
    TM_NETWORK_EXCLUSIVE_BUFFERS_REQUEST_TIMEOUT;

/// An error from a [`NetworkBufferPool`](crate::NetworkBufferPool) or
/// [`LocalBufferPool`](crate::LocalBufferPool) operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BufferPoolError {
    /// The minimums (plus exclusive segments) would exceed the pool's segments.
    #[error(
        "Insufficient number of network buffers: required {required}, but only {available} \
         available. The total number of network buffers is currently set to {total} of \
         {segment_size} bytes each. You can increase this number by setting the configuration \
         keys '{NETWORK_FRACTION_KEY}', '{NETWORK_MIN_KEY}', and '{NETWORK_MAX_KEY}'."
    )]
    InsufficientBuffers {
        /// Segments asked for.
        required: usize,
        /// Segments not yet required by any pool or exclusive request.
        available: usize,
        /// Total segments of the network buffer pool.
        total: usize,
        /// Bytes per segment.
        segment_size: usize,
    },
    /// Exclusive segments did not become free within the timeout.
    #[error(
        "Timeout triggered when requesting exclusive buffers: The total number of network \
         buffers is currently set to {total} of {segment_size} bytes each. You can increase this \
         number by setting the configuration keys '{NETWORK_FRACTION_KEY}', '{NETWORK_MIN_KEY}', \
         and '{NETWORK_MAX_KEY}', or you may increase the timeout which is {}ms by setting the \
         key '{EXCLUSIVE_BUFFERS_REQUEST_TIMEOUT_KEY}'.",
        timeout.as_millis()
    )]
    Timeout {
        /// The timeout that expired.
        timeout: Duration,
        /// Total segments of the network buffer pool.
        total: usize,
        /// Bytes per segment.
        segment_size: usize,
    },
    /// The network buffer pool was destroyed.
    #[error("Network buffer pool has already been destroyed.")]
    NetworkPoolDestroyed,
    /// The local buffer pool was destroyed.
    #[error("Buffer pool has already been destroyed.")]
    PoolDestroyed,
    /// `set_num_buffers` below the pool's minimum.
    #[error("Buffer pool needs at least {min} buffers, but tried to set to {requested}")]
    BelowMinimum {
        /// The pool's minimum.
        min: usize,
        /// The size asked for.
        requested: usize,
    },
    /// An argument is out of range; the text names it and its value.
    #[error("{0}")]
    InvalidArgument(String),
    /// The network memory could not be allocated (budget or OS).
    #[error(
        "Could not allocate enough memory segments for NetworkBufferPool (required (in bytes): \
         {required}, allocated (in bytes): {allocated}, missing (in bytes): {}). Cause: {cause}",
        required - allocated
    )]
    OutOfMemory {
        /// Bytes needed for all segments.
        required: u64,
        /// Bytes that could be allocated.
        allocated: u64,
        /// What refused the rest.
        cause: String,
    },
    /// The [`MemoryConsumer`](membudget_allocator::MemoryConsumer) of a local pool refused
    /// the segments it was to take from the network pool (its child budget's limit, even
    /// after reclaim); the segments went back to the network pool.
    #[error(
        "Could not take {segments} network segments of {segment_size} bytes each into the \
         buffer pool: its memory consumer refused them. Cause: {cause}"
    )]
    BudgetRefused {
        /// Segments asked for.
        segments: usize,
        /// Bytes per segment.
        segment_size: usize,
        /// The consumer's refusal ([`QuotaExceeded`](membudget_allocator::QuotaExceeded)'s
        /// text: the limit, the top consumers, what reclaim did).
        cause: String,
    },
    /// `destroy_all_buffer_pools` left bookkeeping behind (exclusive segments still out).
    #[error(
        "NetworkBufferPool is not empty after destroying all LocalBufferPools \
         (pools: {pools}, required buffers: {required})"
    )]
    NotEmpty {
        /// Pools still registered.
        pools: usize,
        /// Segments still required (exclusive segments not recycled).
        required: usize,
    },
}
