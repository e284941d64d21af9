//! `Track`: a future that charges its allocations to a category (and names a child budget)
//! whichever thread polls it.
//!
//! A category scope is per thread, but an async task moves between the worker threads of a
//! runtime, and a worker runs many tasks: a guard held across an `.await` would charge other
//! tasks' allocations, and a task resumed elsewhere would lose its scope. [`Track`] enters the
//! scope around each poll instead and leaves it before the poll returns, so exactly the task's
//! own work is charged to its category.

use crate::attribution::{self, AttributionGuard};
use crate::{BudgetHandle, Category, CategoryScope, MemoryConsumer};
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::cell::RefCell;

thread_local! {
    /// The child budget the current task (or scope) works for.
    static CURRENT: RefCell<Option<BudgetHandle>> = const { RefCell::new(None) };
}

/// Runs `future` with its allocations charged to `category` on every poll, on any thread.
///
/// # Examples
/// ```
/// use membudget_allocator::{current_category, in_category, Category};
/// use std::future::Future;
/// # let waker = std::task::Waker::noop();
/// # let mut cx = std::task::Context::from_waker(&waker);
/// let mut f = std::pin::pin!(in_category(Category::Network, async { current_category() }));
/// assert_eq!(f.as_mut().poll(&mut cx), std::task::Poll::Ready(Category::Network));
/// assert_eq!(current_category(), Category::Heap);
/// ```
pub fn in_category<F: Future>(category: Category, future: F) -> Track<F> {
    Track {
        future,
        category,
        budget: None,
    }
}

/// The budget a [`Track`] works for, and the consumer its allocations are charged to.
#[derive(Debug)]
struct TrackedBudget {
    handle: BudgetHandle,
    allocations: MemoryConsumer,
}

/// A future run in a category scope (and, with [`in_budget`](Self::in_budget), for a child
/// budget) on every poll. Made by [`in_category`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Track<F> {
    future: F,
    category: Category,
    budget: Option<TrackedBudget>,
}

impl<F> Track<F> {
    /// The same future, also making `budget` the [`BudgetHandle::current`] budget while it is
    /// polled: code inside the task finds the budget it works for without passing it along,
    /// and what the task allocates through the [`QuotaAllocator`](crate::QuotaAllocator) is
    /// charged to `budget` (see [`BudgetHandle::enter`]).
    pub fn in_budget(mut self, budget: BudgetHandle) -> Track<F> {
        let allocations = MemoryConsumer::allocations(&budget.node);
        self.budget = Some(TrackedBudget {
            handle: budget,
            allocations,
        });
        self
    }
}

/// Restores the thread's current budget when dropped (also when a poll panics).
struct CurrentBudget(Option<BudgetHandle>);

impl Drop for CurrentBudget {
    fn drop(&mut self) {
        let previous = self.0.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
    }
}

impl<F: Future> Future for Track<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is structurally pinned: it is never moved out of `self`, and `Track`
        // has no `Drop` impl and no `Unpin` impl of its own that would allow moving it.
        let this = unsafe { self.get_unchecked_mut() };
        let _restore = this.budget.as_ref().map(|b| {
            (
                CurrentBudget(
                    CURRENT
                        .try_with(|c| c.borrow_mut().replace(b.handle.clone()))
                        .ok()
                        .flatten(),
                ),
                attribution::enter(b.allocations.core()),
            )
        });
        let _scope = this.category.enter();
        // SAFETY: as above, `future` stays pinned where it is.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        future.poll(cx)
    }
}

impl BudgetHandle {
    /// The child budget the calling task works for: set by [`Track::in_budget`] during each
    /// poll, or by [`BudgetHandle::enter`].
    pub fn current() -> Option<BudgetHandle> {
        CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
    }

    /// Makes this budget the thread's [`current`](Self::current) one until the guard drops,
    /// and charges to it what the thread allocates meanwhile through the
    /// [`QuotaAllocator`](crate::QuotaAllocator) (in the thread's category, to this budget's
    /// consumer named [`ALLOCATIONS_CONSUMER`](crate::ALLOCATIONS_CONSUMER)): an allocation
    /// that would break this budget's or an ancestor's limit fails. Each such block is
    /// credited back to this budget when freed, on any thread, and keeps the budget alive
    /// until then. Guards nest.
    ///
    /// # Examples
    /// ```
    /// use membudget_allocator::{Budget, Category, ChildLimits, QuotaAllocator};
    ///
    /// #[global_allocator]
    /// static A: QuotaAllocator = QuotaAllocator::new();
    ///
    /// let limits = ChildLimits::unlimited().with(Category::Heap, 1 << 20);
    /// let job = Budget::global().child("job-7", limits)?;
    /// let v: Vec<u8> = {
    ///     let _g = job.enter();
    ///     let mut v = Vec::new();
    ///     assert!(v.try_reserve_exact(2 << 20).is_err(), "over the job's 1 MiB");
    ///     v.reserve_exact(512 << 10);
    ///     v
    /// };
    /// assert!(job.used(Category::Heap) >= 512 << 10);
    /// drop(v); // freed outside the guard: still credited to the job
    /// assert_eq!(job.used(Category::Heap), 0);
    /// # Ok::<(), membudget_allocator::QuotaExceeded>(())
    /// ```
    pub fn enter(&self) -> BudgetGuard {
        let allocations = MemoryConsumer::allocations(&self.node);
        let previous = CURRENT
            .try_with(|c| c.borrow_mut().replace(self.clone()))
            .ok()
            .flatten();
        BudgetGuard {
            _attribution: attribution::enter(allocations.core()),
            _restore: CurrentBudget(previous),
            _not_send: core::marker::PhantomData,
        }
    }
}

/// Restores the previous [`BudgetHandle::current`] when dropped; made by
/// [`BudgetHandle::enter`].
#[must_use = "the budget is current only until the guard drops"]
pub struct BudgetGuard {
    // Dropped first: the attribution ends before the current budget changes back.
    _attribution: AttributionGuard,
    _restore: CurrentBudget,
    _not_send: core::marker::PhantomData<*const ()>,
}

impl core::fmt::Debug for BudgetGuard {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BudgetGuard").finish_non_exhaustive()
    }
}
