//! `OwnerId`: who holds managed memory.

use core::fmt;

/// Identifies an owner of managed memory (a task, an operator, a slot). Any `u64` the caller
/// chooses; the `MemoryManager` tracks pages and bytes per owner.
///
/// # Examples
/// ```
/// use membudget_segments::OwnerId;
/// let owner = OwnerId::from(7);
/// assert_eq!(owner.to_string(), "#7");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OwnerId(pub u64);

impl From<u64> for OwnerId {
    fn from(v: u64) -> Self {
        OwnerId(v)
    }
}

impl fmt::Display for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Hashes an [`OwnerId`] with one multiplication (Fibonacci hashing): owner ids are chosen by
/// the caller, not by an attacker, and the owner table is on the allocation path.
#[derive(Default)]
pub(crate) struct OwnerHasher(u64);

impl core::hash::Hasher for OwnerHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Builds [`OwnerHasher`]s.
pub(crate) type BuildOwnerHasher = core::hash::BuildHasherDefault<OwnerHasher>;
