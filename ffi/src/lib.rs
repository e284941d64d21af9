//! The C ABI of membudget: JVM, .NET, C and Python hosts run atop the same enforced budgets.
//!
//! Hosts load one shared library (`libmembudget.so`, or link `libmembudget.a`) and call the
//! functions declared in `include/membudget.h`, which is generated from this crate by
//! cbindgen and checked by `tests/header.rs`.
//!
//! # Conventions
//! - Every function returns an `int32_t` status: `MB_OK` (0) or a negative `MB_ERR_*` code;
//!   the thread's last error message (`mb_last_error_message`) then says what was wrong, with
//!   the value, the limit and the key to change. The only exception is `mb_abi_version`.
//! - Handles (`mb_runtime *`, `mb_local_pool *`) and ids (buffers, segments) are
//!   generation-checked tokens, never addresses: using a freed, recycled or forged one returns
//!   `MB_ERR_INVALID_HANDLE`; a double free or a double recycle is an error, never a double
//!   free. Generations never wrap (a slot or lease that used its last one is retired), so a
//!   stale id never becomes valid again. `_free(NULL)` is a no-op.
//! - Freeing a runtime shuts down everything made from it: its local pools answer
//!   `MB_ERR_DESTROYED`, its memory goes back to the OS (lent buffers when recycled), and no
//!   thread that used it keeps that memory alive.
//! - No Rust panic crosses the boundary: each entry point catches it (`MB_ERR_PANIC`).
//! - Integers are fixed-width; option and statistics structs start with `struct_size`, and
//!   only whole fields are ever copied (a size that cuts a field is `MB_ERR_INVALID_ARGUMENT`).
//! - All functions are thread-safe. Only `mb_buffer_request_timeout` blocks (up to its
//!   timeout); `mb_runtime_new` reads files. Everything else returns promptly.
//! - Hot paths cost no more than they must: each thread caches a counted reference to its last
//!   runtime and pool (a hit is an id compare plus one load to see the handle was not freed, no
//!   atomic read-modify-write); a buffer id is checked against its segment's lease with one
//!   compare-and-swap; `mb_buffer_request_many`/`mb_buffer_recycle_many` move many buffers per
//!   call. `benches/callgrind-ffi.sh` counts the instructions of each round trip beside Rust.
//!
//! # Examples
//! The C ABI called from Rust exactly as a C host calls it:
//! ```
//! use membudget::*;
//! use std::ptr::null_mut;
//!
//! let props = [c"taskmanager.memory.process.size=1g".as_ptr()];
//! let opts = mb_runtime_options {
//!     properties: props.as_ptr(),
//!     properties_len: 1,
//!     ignore_container: 1,
//!     ..Default::default()
//! };
//! let (mut rt, mut pool) = (null_mut(), null_mut());
//! let mut buf = mb_buffer { ptr: null_mut(), capacity: 0, id: 0 };
//! // SAFETY: valid options, handles and out-pointers.
//! unsafe {
//!     assert_eq!(mb_runtime_new(&opts, &mut rt), MB_OK);
//!     assert_eq!(mb_reserve(rt, MB_CATEGORY_DIRECT, 1 << 30), MB_ERR_QUOTA_EXCEEDED);
//!     assert_eq!(mb_local_pool_new(rt, 1, 4, &mut pool), MB_OK);
//!     assert_eq!(mb_buffer_request(pool, &mut buf), MB_OK);
//!     buf.ptr.write_bytes(0, buf.capacity as usize);
//!     assert_eq!(mb_buffer_recycle(buf.id), MB_OK);
//!     assert_eq!(mb_buffer_recycle(buf.id), MB_ERR_INVALID_HANDLE); // never a double free
//!     assert_eq!(mb_local_pool_free(pool), MB_OK);
//!     assert_eq!(mb_runtime_free(rt), MB_OK);
//! }
//! ```
//!
//! ```text
//!   host ──mb_*──► boundary (catch_unwind, status + last error; names the entry point once)
//!                    │
//!                    ├─ RUNTIMES handles ─► Runtime { budget, plan, host memory, managed, network }
//!                    ├─ POOLS    handles ─► LocalBufferPool + Lending
//!                    ├─ LEASES   ids     ─► Buffer        (id = count|tag|count|lease)
//!                    └─ SEGMENTS ids     ─► MemorySegment
//! ```
//!
//! Every handle and segment id goes through one mechanism (`handle.rs`: lookup, per-thread
//! cache, free with shutdown) over one generation-checked registry (`registry.rs`); buffer ids
//! are leases of their segments (`leases.rs`), so lending and recycling a buffer makes no
//! registry entry. Each handle type has its own module (`runtime.rs`, `local_pool.rs`,
//! `buffer.rs`, `managed.rs`).
#![deny(unsafe_op_in_unsafe_fn)]
#![allow(non_camel_case_types)]

// cbindgen writes the header's items in module declaration order: the groups below keep
// include/membudget.h in the order hosts know it.
#[cfg(not(membudget_loom))]
mod budget;
#[cfg(not(membudget_loom))]
mod budget_child;
#[cfg(not(membudget_loom))]
mod category;
#[cfg(not(membudget_loom))]
mod error;
#[cfg(not(membudget_loom))]
mod managed;
#[cfg(not(membudget_loom))]
mod managed_memory;
#[cfg(not(membudget_loom))]
mod refusal;

#[cfg(not(membudget_loom))]
mod local_pool;

#[cfg(not(membudget_loom))]
mod buffer;
#[cfg(not(membudget_loom))]
mod options;
#[cfg(not(membudget_loom))]
mod runtime;
#[cfg(not(membudget_loom))]
mod version;

#[cfg(not(membudget_loom))]
mod call;
#[cfg(not(membudget_loom))]
mod handle;
#[cfg(not(membudget_loom))]
mod host_memory;
#[cfg(not(membudget_loom))]
mod out;
#[cfg(not(membudget_loom))]
mod panic;
#[cfg(not(membudget_loom))]
mod plan;
#[cfg(not(membudget_loom))]
mod struct_size;
// Under loom only the registry's and the leases' model checks are built.
#[cfg(any(not(membudget_loom), test))]
mod buckets;
#[cfg(any(not(membudget_loom), test))]
mod leases;
#[cfg(any(not(membudget_loom), test))]
mod registry;
#[cfg(any(not(membudget_loom), test))]
mod sync;
#[cfg(not(membudget_loom))]
mod sys;

#[cfg(not(membudget_loom))]
pub use budget::{mb_alloc, mb_category_usage, mb_free, mb_release, mb_reserve, mb_usage};
#[cfg(not(membudget_loom))]
pub use budget_child::{
    mb_budget_child, mb_budget_child_free, mb_budget_child_new, mb_budget_child_release,
    mb_budget_child_reserve, mb_budget_child_used, mb_budget_on_reclaim, mb_budget_report_json,
    mb_budget_set_reclaim_wait, mb_reclaim_callback,
};
#[cfg(not(membudget_loom))]
pub use buffer::{mb_buffer, mb_buffer_callback, mb_buffer_recycle, mb_buffer_recycle_many};
#[cfg(not(membudget_loom))]
pub use category::{
    MB_CATEGORY_DIRECT, MB_CATEGORY_HEAP, MB_CATEGORY_MANAGED, MB_CATEGORY_NETWORK,
    MB_CATEGORY_OVERHEAD,
};
#[cfg(not(membudget_loom))]
pub use error::{
    mb_last_error_message, MB_ERR_BUFFER_TOO_SMALL, MB_ERR_CONFIG, MB_ERR_DESTROYED,
    MB_ERR_INVALID_ARGUMENT, MB_ERR_INVALID_HANDLE, MB_ERR_NULL_POINTER, MB_ERR_OUT_OF_MEMORY,
    MB_ERR_PANIC, MB_ERR_QUOTA_EXCEEDED, MB_ERR_TIMEOUT, MB_ERR_UNAVAILABLE, MB_OK,
};
#[cfg(not(membudget_loom))]
pub use local_pool::{
    mb_buffer_request, mb_buffer_request_many, mb_buffer_request_timeout, mb_local_pool,
    mb_local_pool_free, mb_local_pool_new, mb_local_pool_on_available, mb_local_pool_stats,
    mb_pool_stats, MB_UNBOUNDED, MB_WAIT_FOREVER,
};
#[cfg(not(membudget_loom))]
pub use managed::{mb_managed_allocate_pages, mb_managed_release, mb_managed_release_all};
#[cfg(not(membudget_loom))]
pub use managed_memory::mb_segment;
#[cfg(not(membudget_loom))]
pub use options::{
    mb_runtime_options, MB_CONFIG_FORMAT_AUTO, MB_CONFIG_FORMAT_CONFIG_YAML,
    MB_CONFIG_FORMAT_FLINK_CONF, MB_CONFIG_FORMAT_JSON, MB_DEPLOYMENT_KUBERNETES,
    MB_DEPLOYMENT_STANDALONE, MB_DEPLOYMENT_YARN, MB_FLINK_1_20, MB_FLINK_2, MB_HOST_DOTNET,
    MB_HOST_JVM, MB_HOST_NATIVE, MB_QUOTAS_FROM_ENVIRONMENT, MB_QUOTAS_FROM_PLAN,
    MB_ROLE_JOBMANAGER, MB_ROLE_TASKMANAGER, MB_RUNTIME_GLOBAL_BUDGET,
};
#[cfg(not(membudget_loom))]
pub use refusal::{
    mb_last_refusal, mb_refusal, mb_report_refusals, MB_LIMIT_BUDGET, MB_LIMIT_CATEGORY,
    MB_LIMIT_INJECTED, MB_LIMIT_POOL, MB_LIMIT_PROCESS, MB_REFUSAL_KEY_LEN, MB_REFUSAL_MESSAGE_LEN,
};
#[cfg(not(membudget_loom))]
pub use runtime::{mb_jvm_args, mb_plan_json, mb_runtime, mb_runtime_free, mb_runtime_new};
#[cfg(not(membudget_loom))]
pub use version::{mb_abi_version, MB_ABI_VERSION};
