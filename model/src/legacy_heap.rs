//! Flink 1.x heap options mapped onto the memory model, the same way for both roles (Flink's
//! `MemoryBackwardsCompatibilityUtils.getConfWithLegacyHeapSizeMappedToNewConfigOption`).

use crate::error::{ConfigError, ConfigErrorKind};
use crate::options::ConfigOption;
use crate::reader::Reader;
use crate::{MemorySize, Source};

/// One role's legacy heap options and the option they stand for.
pub(crate) struct LegacyHeap {
    /// The option a legacy heap value sets when it is not configured itself (TaskManager: Total
    /// Flink Memory; JobManager: JVM heap).
    pub(crate) target: &'static ConfigOption,
    /// The legacy size option (`*.heap.size`; the `FLINK_*_HEAP` variable arrives under it with
    /// an [`Env`](Source::Env) source).
    pub(crate) heap: &'static ConfigOption,
    /// The legacy MiB option (`*.heap.mb`), read when `heap` is not set.
    pub(crate) heap_mb: &'static ConfigOption,
}

impl LegacyHeap {
    /// Unless `target` is configured, sets it (on the reader's private copy of the
    /// configuration) from `heap`, else from `heap_mb`, with a warning in Flink's words and the
    /// legacy value's source. Nothing happens when neither legacy option is set.
    pub(crate) fn map(&self, r: &mut Reader<'_>) -> Result<(), ConfigError> {
        let LegacyHeap {
            target,
            heap,
            heap_mb,
        } = *self;
        if r.contains(target) {
            // Flink maps the legacy heap only when the target is not set, without a word.
            let ignored: Vec<_> = [heap, heap_mb]
                .into_iter()
                .filter(|o| r.contains(o))
                .collect();
            for legacy in ignored {
                r.warn(format!(
                    "'{}' is NOT applied: '{}' is set, and Flink maps the deprecated heap size \
                     only when it is not. Remove '{}'.",
                    legacy.key, target.key, legacy.key
                ));
            }
            return Ok(());
        }
        if r.contains(heap) && r.contains(heap_mb) {
            r.warn(format!(
                "'{}' is NOT applied: '{}' is set too and Flink reads it first. Remove '{}'.",
                heap_mb.key, heap.key, heap_mb.key
            ));
        }
        let (size, source, from_key) = if r.contains(heap) {
            let entry = r
                .config()
                .lookup(heap)
                .map(|l| (l.value.to_owned(), l.source));
            let Some((value, source)) = entry else {
                return Ok(());
            };
            let size = match (&source, MemorySize::parse(&value)) {
                (_, Ok(size)) => size,
                (Source::Env(name), Err(e)) => {
                    return Err(ConfigError::new(
                        ConfigErrorKind::InvalidValue,
                        format!(
                            "Cannot read total process memory size from environment variable value {value}."
                        ),
                    )
                    .with_cause(format!("{name}: {e}"))
                    .with_keys([name.clone(), target.key.to_owned()])
                    .illegal_configuration())
                }
                (_, Err(_)) => r.memory(heap)?, // produces Flink's "Cannot read memory size" error
            };
            (size, source, heap.key)
        } else if r.contains(heap_mb) {
            let mb = r.integer(heap_mb)?;
            if mb < 0 {
                return Err(ConfigError::new(
                    ConfigErrorKind::InvalidValue,
                    format!(
                        "Configured total process memory size ({mb}MB) must not be less than 0."
                    ),
                )
                .with_keys([heap_mb.key])
                .illegal_configuration());
            }
            let source = r
                .config()
                .lookup(heap_mb)
                .map(|l| l.source)
                .unwrap_or(Source::Default);
            (MemorySize::of_mebibytes(mb as u64), source, heap_mb.key)
        } else {
            return Ok(());
        };
        r.warn(format!(
            "'{}' is not specified, use the configured deprecated task manager heap value ({}) for it.",
            target.key,
            size.to_human_readable()
        ));
        let named = match &source {
            Source::Env(var) if !var.starts_with("MEMBUDGET_") && var != "FLINK_PROPERTIES" => {
                var.clone()
            }
            _ => format!("'{from_key}'"),
        };
        r.warn(format!(
            "{named} is applied as Flink 1.20 does (as '{}'); Flink 2.x no longer reads it and \
             would ignore it (plan with --flink-version 2 to see that).",
            target.key
        ));
        r.sources.insert(from_key.to_owned(), source.clone());
        r.set(target.key, format!("{}b", size.bytes()), source);
        Ok(())
    }
}
