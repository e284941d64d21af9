//! One category of one child budget: bytes claimed from the parent and the unspent part of
//! them, lock-free. The tree (`child.rs`) calls these with closures that reach the parent, so
//! the same code runs under loom (`tests/loom.rs`, module `child_slack`).
//!
//! ```text
//!   claimed = (bytes given to consumers and children) + unspent      exact, whatever interleaving
//!   reserved ≤ claimed ≤ limit                                        checked CAS / floor on return
//! ```
//!
//! A charge takes from `unspent` (one CAS, the common path); short of it, it takes what is
//! there and claims the rest plus a quantum from the parent (the claim is raised first, within
//! the limit, then the parent is charged; on the parent's refusal the claim is lowered again),
//! so `claimed` never passes `limit` and the parent never holds less than `claimed`.

use crate::sync::{AtomicU64, Ordering};

/// The counters of one category of one budget.
pub struct Slack {
    pub(crate) limit: u64,
    pub(crate) reserved: u64,
    /// What a charge claims beyond its need, and half of what stays unspent at most.
    pub(crate) quantum: u64,
    claimed: AtomicU64,
    unspent: AtomicU64,
    peak: AtomicU64,
}

/// Takes up to `want` from `a`; returns what it took.
fn take_up_to(a: &AtomicU64, want: u64) -> u64 {
    // Relaxed: the counters are the only shared state (no memory is published through them),
    // and every RMW sees the latest value in the modification order.
    let mut cur = a.load(Ordering::Relaxed);
    loop {
        let take = cur.min(want);
        if take == 0 {
            return 0;
        }
        // `take ≤ cur`: no wrap.
        match a.compare_exchange_weak(
            cur,
            cur.wrapping_sub(take),
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(_) => return take,
            Err(actual) => cur = actual,
        }
    }
}

impl Slack {
    /// Counters of a budget limited to `limit` that claims `quantum` beyond a request.
    pub fn new(limit: u64, quantum: u64) -> Slack {
        Slack {
            limit,
            reserved: 0,
            quantum,
            claimed: AtomicU64::new(0),
            unspent: AtomicU64::new(0),
            peak: AtomicU64::new(0),
        }
    }

    /// Bytes held from the parent.
    pub fn claimed(&self) -> u64 {
        self.claimed.load(Ordering::Relaxed)
    }

    /// The highest claim so far.
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    /// Takes exactly `bytes` of the unspent bytes if there are that many (the common path).
    #[inline]
    pub fn take(&self, bytes: u64) -> bool {
        let mut cur = self.unspent.load(Ordering::Relaxed);
        loop {
            let Some(rest) = cur.checked_sub(bytes) else {
                return false;
            };
            match self.unspent.compare_exchange_weak(
                cur,
                rest,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Charges `bytes` when [`take`](Self::take) could not: takes what is unspent and claims
    /// the rest (plus a quantum if that fits) through `grow`, which charges the parent.
    /// `Err(claimed)` when this budget's limit refuses; the parent's refusal is `grow`'s error.
    pub fn charge_slow<E>(
        &self,
        bytes: u64,
        mut charge_parent: impl FnMut(u64, bool) -> Result<(), E>,
        mut refused_here: impl FnMut(u64) -> E,
    ) -> Result<u64, E> {
        let taken = take_up_to(&self.unspent, bytes);
        // `taken ≤ bytes`: no wrap.
        let need = bytes.wrapping_sub(taken);
        let with_slack = need.checked_add(self.quantum);
        let result = match with_slack {
            Some(grow) if need > 0 => match self.grow(grow, false, &mut charge_parent) {
                Ok(new) => {
                    // `grow - need = quantum`.
                    self.unspent.fetch_add(self.quantum, Ordering::Relaxed);
                    Ok(new)
                }
                Err(_) => self.grow(need, true, &mut charge_parent),
            },
            _ => self.grow(need, true, &mut charge_parent),
        };
        let result = result.map_err(|e| match e {
            Grow::Here(claimed) => refused_here(claimed),
            Grow::Parent(e) => e,
        });
        if result.is_err() && taken > 0 {
            self.unspent.fetch_add(taken, Ordering::Relaxed);
        }
        result
    }

    /// Raises the claim by `bytes` within the limit, then charges the parent (`exact`: the
    /// request itself, not one with slack). Returns the new claim.
    fn grow<E>(
        &self,
        bytes: u64,
        exact: bool,
        charge_parent: &mut impl FnMut(u64, bool) -> Result<(), E>,
    ) -> Result<u64, Grow<E>> {
        if bytes == 0 {
            return Ok(self.claimed());
        }
        let mut cur = self.claimed.load(Ordering::Relaxed);
        let new = loop {
            let new = match cur.checked_add(bytes) {
                Some(n) if n <= self.limit => n,
                _ => return Err(Grow::Here(cur)),
            };
            match self
                .claimed
                .compare_exchange_weak(cur, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => break new,
                Err(actual) => cur = actual,
            }
        };
        match charge_parent(bytes, exact) {
            Ok(()) => {
                self.peak.fetch_max(new, Ordering::Relaxed);
                Ok(new)
            }
            Err(e) => {
                // Our own addition is still in `claimed`: no wrap.
                self.claimed.fetch_sub(bytes, Ordering::Relaxed);
                Err(Grow::Parent(e))
            }
        }
    }

    /// Claims the reserved minimum at creation (through `charge_parent`) and keeps it unspent.
    pub fn reserve<E>(
        &mut self,
        reserved: u64,
        mut charge_parent: impl FnMut(u64, bool) -> Result<(), E>,
        refused_here: impl FnOnce(u64) -> E,
    ) -> Result<(), E> {
        self.grow(reserved, true, &mut charge_parent)
            .map_err(|e| match e {
                Grow::Here(claimed) => refused_here(claimed),
                Grow::Parent(e) => e,
            })?;
        self.unspent.fetch_add(reserved, Ordering::Relaxed);
        self.reserved = reserved;
        Ok(())
    }

    /// Credits `bytes`; returns to the parent (through `release_parent`) what passes two
    /// quanta of unspent bytes.
    #[inline]
    pub fn release(&self, bytes: u64, release_parent: impl FnOnce(u64)) {
        let unspent = self
            .unspent
            .fetch_add(bytes, Ordering::Relaxed)
            .saturating_add(bytes);
        if unspent > self.quantum.saturating_mul(2) {
            self.give_back(unspent.saturating_sub(self.quantum), release_parent);
        }
    }

    /// Returns up to `want` unspent bytes to the parent, keeping the reserved minimum.
    pub fn give_back(&self, want: u64, release_parent: impl FnOnce(u64)) {
        let taken = take_up_to(&self.unspent, want);
        let mut cur = self.claimed.load(Ordering::Relaxed);
        let returned = loop {
            let give = cur.saturating_sub(self.reserved).min(taken);
            if give == 0 {
                break 0;
            }
            match self.claimed.compare_exchange_weak(
                cur,
                cur.wrapping_sub(give), // `give ≤ cur`
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break give,
                Err(actual) => cur = actual,
            }
        };
        if taken > returned {
            // `returned ≤ taken`: no wrap.
            self.unspent
                .fetch_add(taken.wrapping_sub(returned), Ordering::Relaxed);
        }
        if returned > 0 {
            release_parent(returned);
        }
    }

    /// Gives every unspent byte above the reserved minimum back.
    pub fn drain(&self, release_parent: impl FnOnce(u64)) {
        let unspent = self.unspent.load(Ordering::Relaxed);
        if unspent > 0 {
            self.give_back(unspent, release_parent);
        }
    }

    /// Everything claimed, zeroed (the budget is dropped: nothing of it is in use).
    pub fn take_all(&self) -> u64 {
        self.unspent.store(0, Ordering::Relaxed);
        self.claimed.swap(0, Ordering::Relaxed)
    }
}

/// Why [`Slack::grow`] failed.
enum Grow<E> {
    Here(u64),
    Parent(E),
}
