//! Fault injection: refuse a chosen fraction of each category's requests, deterministically.
//!
//! The decision for a request is a hash of (seed, category, the category's request number while
//! faults are armed), so a single-threaded sequence of requests fails at the same places in every
//! run with the same seed. Injected refusals count as failures and, separately, as `injected`.

use crate::sync::Ordering;
use crate::{Budget, Category, FaultSpecError};

/// The seed used until [`Budget::set_fault_seed`] or `MEMBUDGET_FAULT_SEED` sets another.
pub(crate) const DEFAULT_SEED: u64 = 0x6d62_5f66_6175_6c74;

/// The environment variable with per-category probabilities: `network=0.001,heap=0`.
pub const FAULT_ENV: &str = membudget_core::FAULT_PROBABILITY_ENV;
/// The environment variable with the seed (a decimal `u64`).
pub const FAULT_SEED_ENV: &str = membudget_core::FAULT_SEED_ENV;

#[inline]
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// `p` in `0.0..=1.0` scaled to a `u64` threshold; 0 is off, `u64::MAX` always fails.
fn threshold(p: f64) -> u64 {
    if p.is_nan() || p <= 0.0 {
        0
    } else if p >= 1.0 {
        u64::MAX
    } else {
        // The product is below 2^64; the cast saturates anyway. At least 1 so `p > 0` arms.
        ((p * 18_446_744_073_709_551_616.0) as u64).max(1)
    }
}

/// Parses `heap=0,network=0.001` (whitespace around items is ignored; later items win) into
/// per-category probabilities, without allocating. `Err` carries the offending item.
pub(crate) fn parse_spec(spec: &str) -> Result<[Option<f64>; Category::COUNT], &str> {
    let mut out = [None; Category::COUNT];
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, value) = item.split_once('=').ok_or(item)?;
        let c = Category::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name.trim()))
            .ok_or(item)?;
        let p: f64 = value.trim().parse().map_err(|_| item)?;
        if !(0.0..=1.0).contains(&p) {
            return Err(item);
        }
        out[c.index()] = Some(p);
    }
    Ok(out)
}

impl Budget {
    /// Whether any category has a fault probability above zero.
    #[inline]
    pub(crate) fn faults_armed(&self) -> bool {
        self.gate.load(Ordering::Relaxed) & crate::budget::FAULT_MASK != 0
    }

    /// Decides whether to fail this request of `category` on purpose.
    pub(crate) fn inject_fault(&self, category: Category) -> bool {
        let counter = &self.categories[category.index()];
        let t = counter.fault_threshold.load(Ordering::Relaxed);
        if t == 0 {
            return false;
        }
        if t == u64::MAX {
            return true;
        }
        let i = counter.fault_seq.fetch_add(1, Ordering::Relaxed);
        let seed = self.fault_seed.load(Ordering::Relaxed);
        splitmix64(seed ^ ((category.code() as u64) << 58) ^ i) < t
    }

    /// Makes a fraction `probability` (clamped to `0.0..=1.0`) of `category`'s requests fail
    /// as if over quota — explicit charges and the global allocator's requests alike — to test
    /// how a host copes. `0.0` turns it off. Injected refusals count in
    /// [`failures`](Self::failures) and [`injected_failures`](Self::injected_failures).
    ///
    /// # Examples
    /// ```
    /// use membudget_allocator::{Budget, Category};
    /// let b = Budget::unlimited();
    /// b.set_fault_probability(Category::Network, 1.0);
    /// assert!(b.try_charge(Category::Network, 1).is_err());
    /// assert!(b.try_charge(Category::Heap, 1).is_ok());
    /// assert_eq!(b.injected_failures(Category::Network), 1);
    /// ```
    pub fn set_fault_probability(&self, category: Category, probability: f64) {
        let t = threshold(probability);
        self.categories[category.index()]
            .fault_threshold
            .store(t, Ordering::Relaxed);
        let bit = 1u64 << category.code();
        // A request racing with the change may or may not be subject to it; one made after this
        // returns is. Disarming needs no voiding: threads find out on their next slow path.
        if t == 0 {
            self.gate.fetch_and(!bit, Ordering::Relaxed);
        } else {
            // Release: the threshold is visible with the bit. Then the voider's half of the
            // protocol in `crate::allowance`.
            self.gate.fetch_or(bit, Ordering::Release);
            self.void_allowances();
        }
    }

    /// The fault probability of `category` (approximately what was set).
    pub fn fault_probability(&self, category: Category) -> f64 {
        let t = self.categories[category.index()]
            .fault_threshold
            .load(Ordering::Relaxed);
        t as f64 / 18_446_744_073_709_551_616.0
    }

    /// Sets the seed of the fault decisions and restarts every category's request numbering,
    /// so the same sequence of requests fails at the same places again.
    pub fn set_fault_seed(&self, seed: u64) {
        self.fault_seed.store(seed, Ordering::Relaxed);
        for c in &self.categories {
            c.fault_seq.store(0, Ordering::Relaxed);
        }
    }

    /// Applies a spec such as `network=0.001,heap=0` (the format of
    /// `MEMBUDGET_FAULT_PROBABILITY`). Categories it does not name keep their probability.
    ///
    /// # Errors
    /// [`FaultSpecError`] naming the malformed item; then nothing is changed.
    pub fn apply_fault_spec(&self, spec: &str) -> Result<(), FaultSpecError> {
        let parsed = parse_spec(spec).map_err(FaultSpecError::new)?;
        self.apply_parsed(parsed);
        Ok(())
    }

    fn apply_parsed(&self, parsed: [Option<f64>; Category::COUNT]) {
        for c in Category::ALL {
            if let Some(p) = parsed[c.index()] {
                self.set_fault_probability(c, p);
            }
        }
    }

    /// Applies `MEMBUDGET_FAULT_PROBABILITY` and `MEMBUDGET_FAULT_SEED` from the environment.
    /// The [`QuotaAllocator`](crate::QuotaAllocator) does this for the process budget on its
    /// first use (ignoring a malformed value, since it cannot report it); call this to see the
    /// error. Returns whether the probability variable was set.
    ///
    /// # Errors
    /// [`FaultSpecError`] if a variable is malformed; then nothing is changed.
    pub fn apply_fault_env(&self) -> Result<bool, FaultSpecError> {
        let seed = match std::env::var(FAULT_SEED_ENV) {
            Ok(s) => Some(
                s.trim()
                    .parse::<u64>()
                    .map_err(|_| FaultSpecError::seed(&s))?,
            ),
            Err(_) => None,
        };
        let spec = std::env::var(FAULT_ENV).ok();
        if let Some(spec) = &spec {
            let parsed = parse_spec(spec).map_err(FaultSpecError::new)?;
            self.apply_parsed(parsed);
        }
        if let Some(seed) = seed {
            self.set_fault_seed(seed);
        }
        Ok(spec.is_some())
    }

    /// [`apply_fault_env`](Self::apply_fault_env) without allocating, for the allocator's first
    /// use; malformed values are ignored.
    #[cfg(not(membudget_loom))]
    pub(crate) fn apply_fault_env_quietly(&self) {
        if let Some(seed) = crate::sys::env_str(c"MEMBUDGET_FAULT_SEED") {
            if let Ok(seed) = seed.trim().parse::<u64>() {
                self.set_fault_seed(seed);
            }
        }
        if let Some(spec) = crate::sys::env_str(c"MEMBUDGET_FAULT_PROBABILITY") {
            if let Ok(parsed) = parse_spec(spec) {
                self.apply_parsed(parsed);
            }
        }
    }
}

#[cfg(all(test, not(membudget_loom)))]
mod tests {
    use super::*;

    #[test]
    fn spec_parses_and_rejects() {
        let p = parse_spec(" network=0.001, heap=0 ,").unwrap();
        assert_eq!(p[Category::Network.index()], Some(0.001));
        assert_eq!(p[Category::Heap.index()], Some(0.0));
        assert_eq!(p[Category::Direct.index()], None);
        assert_eq!(parse_spec("network=2"), Err("network=2"));
        assert_eq!(parse_spec("netwrk=0.1"), Err("netwrk=0.1"));
        assert_eq!(parse_spec("network"), Err("network"));
        let e = Budget::unlimited().apply_fault_spec("heap=x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid MEMBUDGET_FAULT_PROBABILITY item 'heap=x': expected <category>=<probability \
             from 0 to 1>, category one of heap, direct, managed, network, overhead \
             (e.g. 'network=0.001,heap=0')."
        );
    }

    #[test]
    fn injection_is_seeded_deterministic_and_counted() {
        let b = Budget::unlimited();
        b.apply_fault_spec("managed=0.25").unwrap();
        let run = |b: &Budget| -> Vec<bool> {
            b.set_fault_seed(42);
            (0..4000)
                .map(|_| b.try_charge(Category::Managed, 1).is_ok())
                .collect()
        };
        let first = run(&b);
        let second = run(&b);
        assert_eq!(first, second);
        let failed = first.iter().filter(|ok| !**ok).count() as u64;
        assert!((800..1200).contains(&failed), "{failed} of 4000 failed");
        assert_eq!(b.injected_failures(Category::Managed), 2 * failed);
        assert_eq!(b.failures(Category::Managed), 2 * failed);
        assert_eq!(b.used(Category::Managed), 2 * (4000 - failed));
        b.set_fault_probability(Category::Managed, 0.0);
        assert!(!b.faults_armed());
        assert!(b.try_charge(Category::Heap, 1).is_ok());
    }
}
