//! Network buffers for membudget: a lock-free [`NetworkBufferPool`] with min/max-bounded
//! [`LocalBufferPool`]s and backpressure, after Apache Flink's network stack.
//!
//! ```text
//!   NetworkBufferPool  (N segments, charged to the network category up front)
//!   ├── slots[N]        one header per segment: refcount, owner, subpartition
//!   ├── free list       lock-free queue of slot indices (batch push and pop)
//!   ├── factory lock    pool creation/destruction, redistribution — never on the fast path
//!   └── LocalBufferPool × k   size ∈ [min, max], idle list (lock-free), atomics
//!         ├── stashes   per thread (up to 4 pools): up to 14 idle segments each, one cache line
//!         └── Buffer    RAII handle: drop of the last handle recycles the segment
//! ```
//!
//! The request/recycle fast path pops or pushes a `u32` on the calling thread's stash of the
//! pool (one compare-and-swap on a cache line no other thread writes) plus a few atomic loads;
//! stashes exchange segments with the pool's idle list a batch at a time, so buffers that one
//! thread requests and another recycles cross between cores in batches. Availability is one
//! flag, so checking it is one load. Wakers (`available()` futures, blocked threads,
//! listeners) are fired only by the thread that flips a pool from unavailable to available,
//! after it released every lock.
//!
//! Buffers beyond the pools' minimums are redistributed among resizable pools in proportion to
//! their expected sizes (capped at each max) whenever pools come and go or exclusive segments
//! are taken or returned. An exhausted pool hands out nothing more — its writer waits
//! (backpressure) instead of allocating.
//!
//! ```
//! use membudget_allocator::{Budget, Category, Quotas, SharedBudget};
//! use membudget_bufferpool::NetworkBufferPool;
//!
//! let budget = SharedBudget::from(Budget::new(Quotas::unlimited().with(Category::Network, 1 << 20)));
//! let network = NetworkBufferPool::new(8, 4096, budget.clone())?;
//! let a = network.create_buffer_pool(1, 8)?;
//! let b = network.create_buffer_pool(1, 8)?;
//! assert_eq!(a.num_buffers() + b.num_buffers(), 8);
//! let mut buf = a.request_buffer()?.expect("a has buffers");
//! buf.append(&[1, 2, 3]);
//! drop((buf, a, b));
//! assert_eq!(network.available_segments(), 8);
//! drop(network);
//! assert_eq!(budget.used(Category::Network), 0);
//! # Ok::<(), membudget_bufferpool::BufferPoolError>(())
//! ```
#![deny(unsafe_op_in_unsafe_fn)]

#[deny(clippy::arithmetic_side_effects)]
mod availability;
#[deny(clippy::arithmetic_side_effects)]
mod blocking;
#[deny(clippy::arithmetic_side_effects)]
mod buffer;
#[deny(clippy::arithmetic_side_effects)]
mod config;
mod error;
mod listener;
#[deny(clippy::arithmetic_side_effects)]
mod local_pool;
#[deny(clippy::arithmetic_side_effects)]
mod network_pool;
#[deny(clippy::arithmetic_side_effects)]
mod pool_charge;
#[deny(clippy::arithmetic_side_effects)]
mod queue;
mod redistribute;
#[deny(clippy::arithmetic_side_effects)]
mod slot;
#[deny(clippy::arithmetic_side_effects)]
mod stash;
mod sync;
#[deny(clippy::arithmetic_side_effects)]
mod thread_cache;
mod violation;

pub use availability::AvailableFuture;
pub use buffer::Buffer;
pub use config::{BufferPoolConfig, UNBOUNDED};
pub use error::{BufferPoolError, EXCLUSIVE_BUFFERS_REQUEST_TIMEOUT_KEY};
pub use listener::BufferListener;
pub use local_pool::LocalBufferPool;
pub use network_pool::{NetworkBufferPool, NetworkBufferPoolConfig, DEFAULT_REQUEST_TIMEOUT};
pub use violation::invariant_violations;
