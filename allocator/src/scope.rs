//! Category scopes: which category the calling thread's allocations are charged to.

use crate::local::LOCAL;
use crate::Category;
use core::marker::PhantomData;

/// Restores the previous category of the calling thread when dropped. Made by
/// [`CategoryScope::enter`]; not `Send`, since it belongs to the thread that entered.
#[must_use = "the scope ends when the guard is dropped"]
#[derive(Debug)]
pub struct CategoryGuard {
    previous: Category,
    _not_send: PhantomData<*const ()>,
}

/// Category scopes for [`Category`] (a trait because `Category` is vocabulary from
/// `membudget-core`, while scopes are this crate's machinery): `Category::Network.enter()`.
pub trait CategoryScope {
    /// Charges the calling thread's allocations through the global
    /// [`QuotaAllocator`](crate::QuotaAllocator) to `self` until the guard drops. Guards nest.
    ///
    /// # Examples
    /// ```
    /// use membudget_allocator::{current_category, Category, CategoryScope};
    /// {
    ///     let _g = Category::Network.enter();
    ///     assert_eq!(current_category(), Category::Network);
    ///     {
    ///         let _g = Category::Direct.enter();
    ///         assert_eq!(current_category(), Category::Direct);
    ///     }
    ///     assert_eq!(current_category(), Category::Network);
    /// }
    /// assert_eq!(current_category(), Category::Heap);
    /// ```
    fn enter(self) -> CategoryGuard;
}

impl CategoryScope for Category {
    fn enter(self) -> CategoryGuard {
        let previous = LOCAL
            .try_with(|l| l.set_category(self))
            .unwrap_or(Category::Heap);
        CategoryGuard {
            previous,
            _not_send: PhantomData,
        }
    }
}

impl Drop for CategoryGuard {
    fn drop(&mut self) {
        let _ = LOCAL.try_with(|l| l.set_category(self.previous));
    }
}

/// Runs `f` with the calling thread's allocations charged to `category`.
///
/// # Examples
/// ```
/// use membudget_allocator::{with_category, Category};
/// let v: Vec<u8> = with_category(Category::Direct, || Vec::with_capacity(64));
/// # drop(v);
/// ```
pub fn with_category<R>(category: Category, f: impl FnOnce() -> R) -> R {
    let _g = category.enter();
    f()
}
