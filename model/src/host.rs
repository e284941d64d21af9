//! `HostProfile`: how the five quotas are drawn from Flink's components for the runtime that
//! enforces them.

use core::fmt;
use core::str::FromStr;

use membudget_core::{Category, Quotas, Role};

/// The runtime a plan's quotas are for. Flink's components (heap, off-heap, managed, network,
/// metaspace, overhead) never change with the host; only how they are drawn into the five
/// quotas, and what the `env` output exports:
///
/// | host | heap quota | overhead quota | `env` exports |
/// |---|---|---|---|
/// | `jvm` | JVM heap | JVM metaspace + JVM overhead | `JVM_ARGS` |
/// | `dotnet` | JVM heap, as the GC heap's hard limit | JVM metaspace + JVM overhead: the CLR's own runtime share (type loader and JIT code heaps take metaspace's place; stacks, GC bookkeeping and fragmentation the JVM overhead's) | `DOTNET_GCHeapHardLimit` (hexadecimal) |
/// | `native` | JVM heap + JVM metaspace (a Rust or C++ process has no class metadata, so that share becomes heap) | JVM overhead only (stacks, runtime, fragmentation) | nothing else |
///
/// Direct, managed and network quotas are the same for every host, and the five quotas always
/// add up to the Total Process Memory.
///
/// # Examples
///
/// ```
/// use membudget_model::{derive, Category, Configuration, HostProfile, Role};
///
/// let config: Configuration = [("taskmanager.memory.process.size", "1g")].into_iter().collect();
/// let plan = derive(Role::TaskManager, &config).unwrap();
/// let jvm = plan.quotas();
/// let native = plan.clone().with_host(HostProfile::Native).quotas();
/// assert_eq!(native.get(Category::Heap), jvm.get(Category::Heap) + (256 << 20));
/// assert_eq!(native.get(Category::Overhead), jvm.get(Category::Overhead) - (256 << 20));
/// assert_eq!(native.total(), jvm.total());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum HostProfile {
    /// A JVM (Flink itself, Java or Scala hosts).
    #[default]
    Jvm,
    /// A .NET runtime (Flink.NET and C# hosts).
    Dotnet,
    /// A native process (Rust, C, C++).
    Native,
}

/// A plan's components, as the host profiles draw them into quotas.
pub(crate) struct Components {
    pub(crate) heap: u64,
    pub(crate) direct: u64,
    pub(crate) managed: u64,
    pub(crate) network: u64,
    pub(crate) metaspace: u64,
    pub(crate) overhead: u64,
    pub(crate) total: u64,
    pub(crate) role: Role,
}

impl HostProfile {
    /// Every profile.
    pub const ALL: [HostProfile; 3] = [HostProfile::Jvm, HostProfile::Dotnet, HostProfile::Native];

    /// The name used on the command line and in JSON plans.
    pub const fn name(self) -> &'static str {
        match self {
            HostProfile::Jvm => "jvm",
            HostProfile::Dotnet => "dotnet",
            HostProfile::Native => "native",
        }
    }

    /// The five quotas of `c` for this host (saturating, so hand-built plans never overflow).
    pub(crate) fn quotas(self, c: &Components) -> Quotas {
        let (heap, overhead) = match self {
            HostProfile::Jvm | HostProfile::Dotnet => {
                (c.heap, c.metaspace.saturating_add(c.overhead))
            }
            HostProfile::Native => (c.heap.saturating_add(c.metaspace), c.overhead),
        };
        let mut per = [0u64; Category::COUNT];
        per[Category::Heap.index()] = heap;
        per[Category::Direct.index()] = c.direct;
        per[Category::Managed.index()] = c.managed;
        per[Category::Network.index()] = c.network;
        per[Category::Overhead.index()] = overhead;
        Quotas::new(per).with_total(c.total).with_role(c.role)
    }
}

impl fmt::Display for HostProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HostProfile {
    type Err = ParseHostProfileError;

    /// `jvm`, `dotnet` or `native`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HostProfile::ALL
            .into_iter()
            .find(|h| h.name() == s)
            .ok_or_else(|| ParseHostProfileError(s.to_owned()))
    }
}

/// A text that names no [`HostProfile`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseHostProfileError(String);

impl fmt::Display for ParseHostProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Unknown host profile '{}': expected 'jvm', 'dotnet' or 'native'.",
            self.0
        )
    }
}

impl std::error::Error for ParseHostProfileError {}
