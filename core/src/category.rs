//! The five memory categories a plan splits a process into.

use core::fmt;

/// A memory category. The numeric codes are stable: the C ABI passes them as integers.
///
/// Which configuration keys size a category depends on the process: see [`IncreaseHint`](crate::IncreaseHint).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Category {
    /// Framework heap + task heap (JobManager: JVM heap). Default for every Rust allocation.
    Heap = 0,
    /// Framework off-heap + task off-heap (JobManager: off-heap): explicit direct buffers.
    Direct = 1,
    /// Managed memory: `MemoryManager` pages and byte reservations.
    Managed = 2,
    /// Network memory: `NetworkBufferPool` segments.
    Network = 3,
    /// JVM metaspace + JVM overhead: runtime, stacks, code, fragmentation.
    Overhead = 4,
}

impl Category {
    /// Number of categories.
    pub const COUNT: usize = 5;

    /// All categories in code order.
    pub const ALL: [Category; Category::COUNT] = [
        Category::Heap,
        Category::Direct,
        Category::Managed,
        Category::Network,
        Category::Overhead,
    ];

    /// The stable numeric code (0..=4) used by the C ABI.
    #[inline]
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The index of this category in per-category arrays (same as [`code`](Self::code)).
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The category with the given code, or `None` if the code is not one of 0..=4.
    #[inline]
    pub const fn from_code(code: u32) -> Option<Category> {
        match code {
            0 => Some(Category::Heap),
            1 => Some(Category::Direct),
            2 => Some(Category::Managed),
            3 => Some(Category::Network),
            4 => Some(Category::Overhead),
            _ => None,
        }
    }

    /// Lower-case name, as used in JSON plans, metrics labels and environment variables.
    pub const fn name(self) -> &'static str {
        match self {
            Category::Heap => "heap",
            Category::Direct => "direct",
            Category::Managed => "managed",
            Category::Network => "network",
            Category::Overhead => "overhead",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_stable() {
        for (i, c) in Category::ALL.iter().enumerate() {
            assert_eq!(c.code() as usize, i);
            assert_eq!(Category::from_code(i as u32), Some(*c));
        }
        assert_eq!(Category::from_code(5), None);
        assert_eq!(Category::from_code(u32::MAX), None);
        assert_eq!(Category::Network.code(), 3);
    }
}
