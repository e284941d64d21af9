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
