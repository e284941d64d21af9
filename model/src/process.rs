//! The JVM part shared by TaskManager and JobManager (Flink's `ProcessMemoryUtils`): JVM
//! metaspace and overhead, from the Total Process Memory or from the Total Flink Memory.

use crate::error::{ConfigError, ConfigErrorKind};
use crate::options::ConfigOption;
use crate::range_fraction::{
    derive_with_fraction, derive_with_inverse_fraction, read_range_fraction, sum, RangeFraction,
};
use crate::reader::Reader;
use crate::MemorySize;
use membudget_core::java_num::java_double_to_string;

/// The options of one role's process-level memory.
pub(crate) struct ProcessOptions {
    /// The fine-grained options that together select path A (all must be configured).
    pub(crate) required_fine_grained: &'static [&'static ConfigOption],
    pub(crate) total_flink: &'static ConfigOption,
    pub(crate) total_process: &'static ConfigOption,
    pub(crate) metaspace: &'static ConfigOption,
    pub(crate) overhead_min: &'static ConfigOption,
    pub(crate) overhead_max: &'static ConfigOption,
    pub(crate) overhead_fraction: &'static ConfigOption,
}

/// Which of Flink's three derivations applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    /// The required fine-grained options are configured.
    FineGrained,
    /// Total Flink Memory is configured.
    TotalFlink,
    /// Total Process Memory is configured.
    TotalProcess,
}

/// JVM metaspace and overhead sizes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct JvmMetaspaceAndOverhead {
    pub(crate) metaspace: MemorySize,
    pub(crate) overhead: MemorySize,
}

impl ProcessOptions {
    /// Flink's `memoryProcessSpecFromConfig` branch selection; E0 when nothing is configured.
    pub(crate) fn path(&self, r: &Reader<'_>) -> Result<Path, ConfigError> {
        if self.required_fine_grained.iter().all(|o| r.contains(o)) {
            Ok(Path::FineGrained)
        } else if r.contains(self.total_flink) {
            Ok(Path::TotalFlink)
        } else if r.contains(self.total_process) {
            Ok(Path::TotalProcess)
        } else {
            let fine: Vec<&str> = self.required_fine_grained.iter().map(|o| o.key).collect();
            Err(ConfigError::new(
                ConfigErrorKind::MissingRequired,
                format!(
                    "Either required fine-grained memory ({}), or Total Flink Memory size ({}), or Total Process Memory size ({}) need to be configured explicitly.",
                    fine.join(" and "),
                    self.total_flink.key,
                    self.total_process.key
                ),
            )
            .with_keys([self.total_process.key, self.total_flink.key])
            .with_keys(fine))
        }
    }

    fn overhead_range(&self, r: &mut Reader<'_>) -> Result<RangeFraction, ConfigError> {
        read_range_fraction(
            r,
            Some((self.overhead_min, self.overhead_max)),
            self.overhead_fraction,
        )
    }

    /// Path C: metaspace as configured, overhead as a capped fraction of the process; E7 when
    /// they exceed the process.
    pub(crate) fn jvm_from_total_process(
        &self,
        r: &mut Reader<'_>,
        total_process: MemorySize,
    ) -> Result<JvmMetaspaceAndOverhead, ConfigError> {
        let metaspace = r.memory(self.metaspace)?;
        let range = self.overhead_range(r)?;
        let overhead = derive_with_fraction(r, "jvm overhead memory", total_process, &range)?;
        let keys = [
            self.total_process.key,
            self.metaspace.key,
            self.overhead_fraction.key,
            self.overhead_min.key,
            self.overhead_max.key,
        ];
        let both = sum(&[metaspace, overhead], &keys)?;
        if both > total_process {
            return Err(ConfigError::new(
                ConfigErrorKind::Inconsistent,
                format!(
                    "Sum of configured JVM Metaspace ({}) and JVM Overhead ({}) exceed configured Total Process Memory ({}).",
                    metaspace.to_human_readable(),
                    overhead.to_human_readable(),
                    total_process.to_human_readable()
                ),
            )
            .with_keys(keys));
        }
        Ok(JvmMetaspaceAndOverhead {
            metaspace,
            overhead,
        })
    }

    /// Paths A and B: with Total Process Memory configured the overhead is the rest (E8, E9);
    /// otherwise it is the capped inverse fraction of Total Flink Memory + metaspace.
    /// `flink_keys` name what sized the Total Flink Memory, for error messages.
    pub(crate) fn jvm_from_total_flink(
        &self,
        r: &mut Reader<'_>,
        total_flink: MemorySize,
        flink_keys: &[&str],
    ) -> Result<JvmMetaspaceAndOverhead, ConfigError> {
        let metaspace = r.memory(self.metaspace)?;
        let mut keys = vec![self.total_process.key];
        keys.extend_from_slice(flink_keys);
        keys.push(self.metaspace.key);
        let flink_and_metaspace = sum(&[total_flink, metaspace], &keys)?;
        if r.contains(self.total_process) {
            let total_process = r.memory(self.total_process)?;
            if total_process < flink_and_metaspace {
                return Err(ConfigError::new(
                    ConfigErrorKind::Inconsistent,
                    format!(
                        "The configured Total Process Memory size ({}) is less than the sum of the derived Total Flink Memory size ({}) and the configured or default JVM Metaspace size ({}).",
                        total_process.to_human_readable(),
                        total_flink.to_human_readable(),
                        metaspace.to_human_readable()
                    ),
                )
                .with_keys(keys));
            }
            let overhead = MemorySize::new(total_process.bytes() - flink_and_metaspace.bytes());
            self.sanity_check_overhead(r, overhead, total_process, flink_keys)?;
            Ok(JvmMetaspaceAndOverhead {
                metaspace,
                overhead,
            })
        } else {
            let range = self.overhead_range(r)?;
            let overhead = derive_with_inverse_fraction(
                r,
                "jvm overhead memory",
                flink_and_metaspace,
                &range,
            )?;
            sum(&[flink_and_metaspace, overhead], &range.keys())?;
            Ok(JvmMetaspaceAndOverhead {
                metaspace,
                overhead,
            })
        }
    }

    fn sanity_check_overhead(
        &self,
        r: &mut Reader<'_>,
        overhead: MemorySize,
        total_process: MemorySize,
        flink_keys: &[&str],
    ) -> Result<(), ConfigError> {
        let range = self.overhead_range(r)?;
        if overhead > range.max || overhead < range.min {
            let mut keys = vec![
                self.overhead_min.key,
                self.overhead_max.key,
                self.total_process.key,
            ];
            keys.extend_from_slice(flink_keys);
            keys.push(self.metaspace.key);
            return Err(ConfigError::new(
                ConfigErrorKind::Inconsistent,
                format!(
                    "Derived JVM Overhead size ({}) is not in configured JVM Overhead range [{}, {}].",
                    overhead.to_human_readable(),
                    range.min.to_human_readable(),
                    range.max.to_human_readable()
                ),
            )
            .with_keys(keys));
        }
        if r.contains(self.overhead_fraction)
            && total_process.checked_multiply(range.fraction) != Some(overhead)
        {
            r.warn(format!(
                "The derived JVM Overhead size ({}) does not match the configured or default JVM Overhead fraction ({}) from the configured Total Process Memory size ({}). The derived JVM Overhead size will be used.",
                overhead.to_human_readable(),
                java_double_to_string(range.fraction),
                total_process.to_human_readable()
            ));
        }
        Ok(())
    }
}
