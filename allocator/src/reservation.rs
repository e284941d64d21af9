//! `Reservation`: RAII bytes held from a [`Budget`].

use crate::{Budget, Category, QuotaExceeded};

/// The consumer of a child budget a reservation charges instead of its budget directly.
#[cfg(not(membudget_loom))]
type Via<'a> = Option<&'a crate::MemoryConsumer>;
/// (No child budgets in loom builds.)
#[cfg(membudget_loom)]
type Via<'a> = Option<&'a core::convert::Infallible>;

/// Bytes of one category held from a [`Budget`]; released when dropped.
///
/// In the spirit of DataFusion's `MemoryReservation`: grow it as a consumer's memory grows,
/// shrink or split it as parts are handed off.
#[must_use = "dropping a Reservation releases it at once"]
#[derive(Debug)]
pub struct Reservation<'a> {
    budget: &'a Budget,
    category: Category,
    size: u64,
    via: Via<'a>,
}

impl<'a> Reservation<'a> {
    pub(crate) fn new(budget: &'a Budget, category: Category, size: u64) -> Self {
        Reservation {
            budget,
            category,
            size,
            via: None,
        }
    }

    /// A reservation held through `consumer` of a child budget whose top is `budget`.
    #[cfg(not(membudget_loom))]
    pub(crate) fn through(
        budget: &'a Budget,
        consumer: &'a crate::MemoryConsumer,
        category: Category,
        size: u64,
    ) -> Self {
        Reservation {
            budget,
            category,
            size,
            via: Some(consumer),
        }
    }

    fn charge(&self, bytes: u64) -> Result<(), QuotaExceeded> {
        match self.via {
            None => self.budget.try_charge(self.category, bytes),
            #[cfg(not(membudget_loom))]
            Some(c) => c.try_charge(self.category, bytes),
            #[cfg(membudget_loom)]
            Some(never) => match *never {},
        }
    }

    fn release(&self, bytes: u64) {
        match self.via {
            None => self.budget.release(self.category, bytes),
            #[cfg(not(membudget_loom))]
            // The reservation holds `bytes` of the consumer's.
            Some(c) => c.release_reserved(self.category, bytes),
            #[cfg(membudget_loom)]
            Some(never) => match *never {},
        }
    }

    /// Bytes held.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The category charged.
    pub fn category(&self) -> Category {
        self.category
    }

    /// The budget charged (for a reservation through a child budget's consumer: the budget at
    /// the top of its tree).
    pub fn budget(&self) -> &'a Budget {
        self.budget
    }

    /// Grows the reservation by `bytes`.
    ///
    /// # Errors
    /// [`QuotaExceeded`] if the budget cannot hold `bytes` more (then the size is unchanged).
    pub fn try_grow(&mut self, bytes: u64) -> Result<(), QuotaExceeded> {
        // The budget's checked counter holds at least `size`, so a successful charge means
        // `size + bytes` cannot overflow; an overflowing request is refused (and counted) there.
        self.charge(bytes)?;
        self.size = self.size.saturating_add(bytes);
        Ok(())
    }

    /// Gives back `bytes` of the reservation to the budget.
    ///
    /// # Panics
    /// If `bytes` is more than the reservation holds (see [`try_shrink`](Self::try_shrink)).
    pub fn shrink(&mut self, bytes: u64) {
        if let Err(size) = self.try_shrink(bytes) {
            panic!("cannot shrink a reservation of {size} bytes by {bytes} bytes");
        }
    }

    /// Gives back `bytes` of the reservation, or returns `Err(size)` unchanged if it holds
    /// fewer than `bytes`.
    pub fn try_shrink(&mut self, bytes: u64) -> Result<(), u64> {
        let Some(rest) = self.size.checked_sub(bytes) else {
            return Err(self.size);
        };
        self.size = rest;
        self.release(bytes);
        Ok(())
    }

    /// Sets the size to `bytes`, growing or shrinking.
    ///
    /// # Errors
    /// [`QuotaExceeded`] if growing fails (the size is then unchanged).
    pub fn try_resize(&mut self, bytes: u64) -> Result<(), QuotaExceeded> {
        match bytes.checked_sub(self.size) {
            // The same size: nothing to charge, even while the category is over its quota.
            Some(0) => Ok(()),
            Some(more) => self.try_grow(more),
            None => {
                // `bytes < size`: no wrap.
                let less = self.size.wrapping_sub(bytes);
                self.size = bytes;
                self.release(less);
                Ok(())
            }
        }
    }

    /// Moves `bytes` of this reservation into a new one of the same budget and category.
    ///
    /// # Panics
    /// If `bytes` is more than the reservation holds (see [`try_split`](Self::try_split)).
    pub fn split(&mut self, bytes: u64) -> Reservation<'a> {
        match self.try_split(bytes) {
            Ok(r) => r,
            Err(size) => panic!("cannot split {bytes} bytes off a reservation of {size} bytes"),
        }
    }

    /// Moves `bytes` of this reservation into a new one, or returns `Err(size)` unchanged if it
    /// holds fewer than `bytes`.
    pub fn try_split(&mut self, bytes: u64) -> Result<Reservation<'a>, u64> {
        let rest = self.size.checked_sub(bytes).ok_or(self.size)?;
        self.size = rest;
        Ok(Reservation {
            budget: self.budget,
            category: self.category,
            size: bytes,
            via: self.via,
        })
    }

    /// Releases everything held and returns how many bytes that was; the reservation stays
    /// usable (with size 0).
    pub fn free(&mut self) -> u64 {
        let size = core::mem::take(&mut self.size);
        if size > 0 {
            self.release(size);
        }
        size
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.free();
    }
}

#[cfg(all(test, not(membudget_loom)))]
mod tests {
    use crate::{Budget, Category, Quotas};

    #[test]
    fn grow_shrink_split_free() {
        let b = Budget::new(Quotas::unlimited().with(Category::Managed, 100));
        let mut r = b.try_reserve(Category::Managed, 10).unwrap();
        r.try_grow(80).unwrap();
        assert!(r.try_grow(11).is_err());
        assert_eq!(r.size(), 90);
        let s = r.split(30);
        assert_eq!((r.size(), s.size()), (60, 30));
        assert_eq!(b.used(Category::Managed), 90);
        drop(s);
        assert_eq!(b.used(Category::Managed), 60);
        r.shrink(10);
        assert_eq!(r.try_shrink(51), Err(50));
        assert_eq!(r.free(), 50);
        assert_eq!(b.used(Category::Managed), 0);
        drop(r);
        assert_eq!(b.used(Category::Managed), 0);
    }
}
