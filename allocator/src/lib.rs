//! Per-category memory budgets for membudget, and a global allocator that enforces them.
//!
//! A [`Budget`] holds one quota per [`Category`] (heap, direct, managed, network, overhead) plus
//! a process total, and counts exactly what each category uses. Callers that manage memory
//! themselves take a RAII [`Reservation`]; pools that hand out fixed-size pages charge and
//! release raw byte counts through a [`SharedBudget`] handle they own. [`Category`], [`Quotas`]
//! and [`Role`] are `membudget-core`'s, re-exported here; quotas made from a `MemoryPlan` carry
//! its role, so a refusal ([`QuotaExceeded`]) names the keys of that process
//! (`jobmanager.memory.*` for a JobManager plan).
//!
//! ```
//! use membudget_allocator::{Budget, Category, Quotas};
//!
//! let budget = Budget::new(Quotas::unlimited().with(Category::Network, 1 << 20));
//! let r = budget.try_reserve(Category::Network, 4096).unwrap();
//! assert_eq!(budget.used(Category::Network), 4096);
//! assert!(budget.try_reserve(Category::Network, 1 << 20).is_err());
//! drop(r);
//! assert_eq!(budget.used(Category::Network), 0);
//! ```
//!
//! # Child budgets
//!
//! [`Budget::child`] / [`SharedBudget::child`] make a [`BudgetHandle`]: a node of a tree of
//! per-category limits (process → job → slot → operator) whose charges count against every
//! ancestor, charged by named [`MemoryConsumer`]s. A refusal names the top consumers of the
//! refused category; before refusing, the [`Reclaimer`]s of other consumers under the refusing
//! limit are asked to give memory back. [`Budget::report`] gives the tree ([`BudgetReport`]).
//! [`in_category`] keeps an async task's allocations in its category on any worker thread.
//! Child budgets are charged by reservations and pools made with a consumer, and by the global
//! allocator while one is the thread's current budget ([`BudgetHandle::enter`],
//! [`Track::in_budget`]): each block is then charged to it and credited back when freed, on any
//! thread.
//!
//! # The global allocator
//!
//! ```no_run
//! use membudget_allocator::{install, Budget, Category, CategoryScope, QuotaAllocator, Quotas};
//!
//! #[global_allocator]
//! static A: QuotaAllocator = QuotaAllocator::new();
//!
//! fn main() -> Result<(), membudget_allocator::InstallError> {
//!     install(Quotas::unlimited().with(Category::Network, 64 << 20))?; // or plan.quotas()
//!     let buf: Vec<u8> = {
//!         let _g = Category::Network.enter(); // allocations here are network memory
//!         Vec::with_capacity(1 << 20)
//!     };
//!     assert!(Budget::global().used(Category::Network) >= 1 << 20);
//!     drop(buf); // credited to network, whichever thread or scope drops it
//!     Ok(())
//! }
//! ```
//!
//! [`QuotaAllocator`] charges every block to the calling thread's category ([`Category::Heap`]
//! unless a [`CategoryScope::enter`] guard or [`with_category`] says otherwise) in the process
//! budget [`Budget::global`], and returns null when that would pass the category's quota or the process
//! total — so `Vec::try_reserve` gets an `Err` and infallible collections reach
//! `handle_alloc_error`. Before quotas are installed it only tracks. It never panics and never
//! allocates on its own path, and works before `main` and in thread-local destructors.
//!
//! [`install`] puts a plan's quotas into the process budget (checking that the `QuotaAllocator`
//! is the global allocator and that nothing already uses more than its quota);
//! [`install_from_env`] takes them from the `MEMBUDGET_QUOTA_*` variables `membudget plan
//! --format env` exports. After a refusal, [`last_refusal`] says which category and quota said
//! no (std's `TryReserveError` cannot), and [`report_refusals`] (or
//! `MEMBUDGET_REPORT_REFUSALS=1`) writes each refusal to stderr as it happens, so a process that
//! aborts on an infallible allocation says which quota killed it.
//!
//! ## Exact attribution without a header
//!
//! A free must be credited to the category the block was *charged to*, not to whatever the
//! freeing thread's scope is. The default backing, [`Mimalloc`], finds that category from the
//! block's address: the heap category uses mimalloc's normal heaps; each other category gets a
//! mimalloc heap bound to its own *exclusive arenas* (memory no other heap uses, and outside
//! of which that heap never allocates), all carved from one virtual reservation, the region,
//! so one compare tells a heap block from the rest and a table of a byte per GiB of region
//! names the category:
//!
//! ```text
//!   address space:  [ region: direct arena | network arena | ... ]  ...heap blocks...
//!   free(p):        p in the region? -> the category of its arena : heap      (no header)
//! ```
//!
//! Verified by this crate's tests on this mimalloc (v3): blocks of 1 B … 64 MiB allocated on one
//! thread and freed on another, reallocations across sizes and scopes, and arena growth (a full
//! arena gets a twice larger successor; older blocks are still found by address). The region
//! (address space only: 1 TiB, less if the OS refuses) is reserved on the allocator's first
//! use; arenas within it are sized at least `2 × quota` and committed on demand; quotas are
//! enforced by the counters, never by arena exhaustion. [`std::alloc::System`] also works as backing (`QuotaAllocator<System>`), with a
//! small per-block tag since its addresses cannot be partitioned (see [`Backing`]).
//!
//! ## Cheap, exact accounting: per-thread allowances
//!
//! Atomics on every allocation would double mimalloc's cost, so each thread draws *allowances*
//! from the budget in quanta (1 MiB, shrinking to a 32nd of what is left of the quota near it,
//! at least 16 KiB) and charges blocks against its allowance with a thread-local load and store.
//! Every thread gets such an allowance slot, however many threads there are: the registry of
//! slots grows in segments mapped from the OS (it never allocates through itself), and a slot
//! is reused after its thread exits.
//! For every category `c`:
//!
//! ```text
//!   claimed(c) = explicit charges + Σ allowances granted − Σ returned    (one shared atomic)
//!   held_t(c)  = thread t's unspent allowance                            (written only by t)
//!   used(c)    = claimed(c) − Σ_t held_t(c)                              (what Budget::used returns)
//!   invariant:  used(c) + Σ_t held_t(c) = claimed(c) ≤ quota(c)          (the grant is a checked CAS)
//! ```
//!
//! An allocation moves bytes from `held` into use; a free moves them back into the *freeing*
//! thread's `held` (returning anything past a cap of two quanta), so `used` falls by exactly the
//! block size whoever frees it — when every block of a category is freed, its `used` is exactly
//! its explicit charges again. Explicit [`Budget::try_charge`]/[`Budget::release`] change
//! `claimed` directly and are visible in `used` at once. Threads return their allowances at
//! exit. A read racing with other threads may see an in-between value, but never one above
//! `claimed`, hence never above an enforced quota. Only when its allowance runs short does a
//! thread touch the shared counter; a request fails only when it does not fit next to what is
//! used and what *other* threads hold unspent (at most two quanta each, and quanta shrink near
//! the quota). The process budget's [`Budget::peak`] is the high-water mark of `claimed` (used
//! plus allowances at that moment).
//!
//! Quota changes apply at once, also to allowances already drawn: [`Budget::set_quotas`] and
//! [`Budget::set_mode`] start a new *epoch* and *void* every thread's slot, and a thread whose
//! slot is void returns allowances of an older epoch before its next charge. Arming fault
//! injection voids the slots too, so neither check costs the allocation path anything: it reads
//! its allowance through the slot's one pointer, which a void slot points at an allowance of 0.
//! A free keeps its bytes as allowance even in a void slot (they stay claimed, so quotas only
//! get stricter meanwhile); the thread's next allocation returns them if they are from an older
//! epoch. While a category is over a lowered quota, bytes freed by a thread whose allowances
//! are current go back to the shared counter instead of becoming allowance, so no request
//! succeeds until use is below the quota.
//!
//! ## Testing hosts
//!
//! [`Budget::set_fault_probability`] (or `MEMBUDGET_FAULT_PROBABILITY=network=0.001,heap=0`,
//! seeded by `MEMBUDGET_FAULT_SEED`) fails a fraction of a category's requests, deterministically.
//! [`Budget::snapshot`] reports every category plus RSS and the memory no category accounts for.
//! With feature `metrics`, `record_metrics` exports gauges through the `metrics` facade.
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(not(membudget_loom))]
#[deny(clippy::arithmetic_side_effects)]
mod allocator;
#[deny(clippy::arithmetic_side_effects)]
mod allowance;
#[cfg(not(membudget_loom))]
#[deny(clippy::arithmetic_side_effects)]
mod attribution;
#[cfg(not(membudget_loom))]
mod backing;
#[deny(clippy::arithmetic_side_effects)]
mod budget;
#[cfg(not(membudget_loom))]
mod budget_path;
#[cfg(not(membudget_loom))]
#[deny(clippy::arithmetic_side_effects)]
mod child;
#[cfg(not(membudget_loom))]
#[deny(clippy::arithmetic_side_effects)]
mod consumer;
mod error;
#[deny(clippy::arithmetic_side_effects)]
mod fault;
#[cfg(not(membudget_loom))]
mod install;
#[cfg(not(membudget_loom))]
#[deny(clippy::arithmetic_side_effects)]
mod local;
#[cfg(all(feature = "metrics", not(membudget_loom)))]
mod metrics;
#[cfg(all(feature = "mimalloc", not(membudget_loom)))]
#[deny(clippy::arithmetic_side_effects)]
mod mimalloc;
#[cfg(not(membudget_loom))]
#[deny(clippy::arithmetic_side_effects)]
mod reclaim;
mod refusal;
#[deny(clippy::arithmetic_side_effects)]
mod report;
#[deny(clippy::arithmetic_side_effects)]
mod reservation;
#[cfg(not(membudget_loom))]
mod scope;
mod shared;
#[deny(clippy::arithmetic_side_effects)]
mod slack;
#[cfg(not(membudget_loom))]
#[deny(clippy::arithmetic_side_effects)]
mod snapshot;
mod sync;
#[cfg(not(membudget_loom))]
mod sys;
#[cfg(not(membudget_loom))]
#[deny(clippy::arithmetic_side_effects)]
mod system;
#[cfg(not(membudget_loom))]
mod track;

#[cfg(not(membudget_loom))]
pub use allocator::{DefaultBacking, QuotaAllocator};
#[cfg(not(membudget_loom))]
pub use backing::Backing;
pub use budget::{Budget, CategoryUsage, QuotaMode};
#[cfg(not(membudget_loom))]
pub use child::{BudgetHandle, ChildLimits};
#[cfg(not(membudget_loom))]
pub use consumer::{ConsumerReservation, MemoryConsumer, ALLOCATIONS_CONSUMER};
pub use error::{ConsumerUsage, FaultSpecError, Limit, QuotaExceeded, ReclaimOutcome};
pub use fault::{FAULT_ENV, FAULT_SEED_ENV};
#[cfg(not(membudget_loom))]
pub use install::{install, install_from_env, InstallError};
#[cfg(not(membudget_loom))]
pub use local::current_category;
/// The vocabulary shared with the plan: re-exported so budgets are usable with this crate alone.
pub use membudget_core::{Category, Quotas, Role};
#[cfg(all(feature = "metrics", not(membudget_loom)))]
pub use metrics::record_metrics;
#[cfg(all(feature = "mimalloc", not(membudget_loom)))]
pub use mimalloc::{Mimalloc, MAX_ARENAS};
#[cfg(not(membudget_loom))]
pub use reclaim::{Reclaimer, WatermarkError, DEFAULT_RECLAIM_WAIT};
pub use refusal::{last_refusal, report_refusals, reporting_refusals, take_last_refusal};
pub use report::{BudgetReport, CategoryBytes, CategoryReport, ConsumerReport};
pub use reservation::Reservation;
#[cfg(not(membudget_loom))]
pub use scope::{with_category, CategoryGuard, CategoryScope};
pub use shared::SharedBudget;
#[cfg(not(membudget_loom))]
pub use snapshot::{process_rss, UsageSnapshot};
#[cfg(not(membudget_loom))]
pub use track::{in_category, BudgetGuard, Track};

/// Crate internals for the loom model checks in `tests/loom.rs` (only with
/// `--cfg membudget_loom`).
#[cfg(membudget_loom)]
#[doc(hidden)]
pub mod loom_support;
