//! A slot's managed memory and its division among consumers, by Flink's rules.
//!
//! Flink gives each of a TaskManager's `taskmanager.numberOfTaskSlots` slots an equal share of
//! managed memory (`MemorySize.divide`: integer division), then divides a slot's share among
//! the *use cases* present in it by `taskmanager.memory.managed.consumer-weights`
//! (`ManagedMemoryUtils.convertToFractionOfSlot`): a use case gets `weight / Σ weights` of the
//! use cases present, as a `BigDecimal` quotient with 16 decimals rounded down, then turned into
//! a `double`; `STATE_BACKEND` counts (and gets memory) only if the state backend uses managed
//! memory. A fraction becomes bytes as `MemoryManager.computeMemorySize` does:
//! `floor(slot bytes × fraction)` in `double` arithmetic.

use crate::{ConfigError, ConfigErrorKind, Configuration, TaskManagerPlan};
use membudget_core::java_num::java_parse_int;

/// The configuration key of the consumer weights.
pub const CONSUMER_WEIGHTS_KEY: &str = "taskmanager.memory.managed.consumer-weights";

/// Flink's default weights.
pub const DEFAULT_CONSUMER_WEIGHTS: &str = "OPERATOR:70,STATE_BACKEND:70,PYTHON:30";

/// A use of managed memory (Flink's `ManagedMemoryUseCase`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ManagedMemoryUseCase {
    /// Batch operators (sorting, hashing, caching): weight `OPERATOR` (else `DATAPROC`).
    Operator,
    /// A state backend such as RocksDB: weight `STATE_BACKEND` (else `DATAPROC`).
    StateBackend,
    /// Python processes: weight `PYTHON`.
    Python,
}

impl ManagedMemoryUseCase {
    /// Every use case.
    pub const ALL: [ManagedMemoryUseCase; 3] = [
        ManagedMemoryUseCase::Operator,
        ManagedMemoryUseCase::StateBackend,
        ManagedMemoryUseCase::Python,
    ];

    /// The consumer names whose weight applies, in Flink's fallback order.
    pub const fn consumer_names(self) -> &'static [&'static str] {
        match self {
            ManagedMemoryUseCase::Operator => &["OPERATOR", "DATAPROC"],
            ManagedMemoryUseCase::StateBackend => &["STATE_BACKEND", "DATAPROC"],
            ManagedMemoryUseCase::Python => &["PYTHON"],
        }
    }

    /// Flink's name of the use case.
    pub const fn name(self) -> &'static str {
        match self {
            ManagedMemoryUseCase::Operator => "OPERATOR",
            ManagedMemoryUseCase::StateBackend => "STATE_BACKEND",
            ManagedMemoryUseCase::Python => "PYTHON",
        }
    }
}

/// The effective weight of each use case (`None`: not configured, which Flink treats as 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsumerWeights {
    weights: [Option<u32>; 3],
}

fn index(u: ManagedMemoryUseCase) -> usize {
    match u {
        ManagedMemoryUseCase::Operator => 0,
        ManagedMemoryUseCase::StateBackend => 1,
        ManagedMemoryUseCase::Python => 2,
    }
}

impl ConsumerWeights {
    /// Weights from `(consumer name, weight text)` pairs, as Flink's
    /// `getManagedMemoryUseCaseWeightsFromConfig` reads them.
    ///
    /// # Errors
    /// A weight that is not a Java `int`, or is negative.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Result<ConsumerWeights, ConfigError> {
        let mut weights = [None; 3];
        for u in ManagedMemoryUseCase::ALL {
            for name in u.consumer_names() {
                let Some((_, text)) = pairs.clone().into_iter().find(|(k, _)| k == name) else {
                    continue;
                };
                let weight = java_parse_int(text).ok_or_else(|| {
                    ConfigError::new(
                        ConfigErrorKind::InvalidValue,
                        format!(
                            "Could not parse value '{text}' for key '{CONSUMER_WEIGHTS_KEY}' \
                             (consumer {name}): expected an integer weight."
                        ),
                    )
                })?;
                let weight = u32::try_from(weight).map_err(|_| {
                    ConfigError::new(
                        ConfigErrorKind::Inconsistent,
                        format!(
                            "Managed memory weight should not be negative. Configured weight \
                             for {} is {weight}.",
                            u.name()
                        ),
                    )
                })?;
                weights[index(u)] = Some(weight);
                break;
            }
        }
        Ok(ConsumerWeights { weights })
    }

    /// Weights from Flink's map text, e.g. `OPERATOR:70,STATE_BACKEND:70,PYTHON:30`.
    ///
    /// # Errors
    /// An entry without `:`, or a weight [`from_pairs`](Self::from_pairs) rejects.
    pub fn parse(text: &str) -> Result<ConsumerWeights, ConfigError> {
        let mut pairs = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (k, v) = entry.split_once(':').ok_or_else(|| {
                ConfigError::new(
                    ConfigErrorKind::InvalidValue,
                    format!(
                        "Could not parse value '{text}' for key '{CONSUMER_WEIGHTS_KEY}': \
                         expected 'NAME:weight' entries separated by ',' (e.g. \
                         '{DEFAULT_CONSUMER_WEIGHTS}')."
                    ),
                )
            })?;
            pairs.push((k.trim(), v.trim()));
        }
        ConsumerWeights::from_pairs(pairs.iter().copied())
    }

    /// The weights a configuration sets: the map under [`CONSUMER_WEIGHTS_KEY`], or its
    /// nested keys (`….consumer-weights.OPERATOR`, from a nested YAML file), else Flink's
    /// default.
    ///
    /// # Errors
    /// As [`parse`](Self::parse).
    pub fn from_configuration(config: &Configuration) -> Result<ConsumerWeights, ConfigError> {
        if let Some(e) = config.get_raw(CONSUMER_WEIGHTS_KEY) {
            return ConsumerWeights::parse(&e.value);
        }
        let prefix = format!("{CONSUMER_WEIGHTS_KEY}.");
        let nested: Vec<(&str, &str)> = config
            .iter()
            .filter_map(|(k, e)| Some((k.strip_prefix(&prefix)?, e.value.as_str())))
            .collect();
        if nested.is_empty() {
            ConsumerWeights::parse(DEFAULT_CONSUMER_WEIGHTS)
        } else {
            ConsumerWeights::from_pairs(nested.iter().copied())
        }
    }

    /// The weight of `use_case` (`None` if not configured).
    pub fn weight(&self, use_case: ManagedMemoryUseCase) -> Option<u32> {
        self.weights[index(use_case)]
    }

    /// The fraction of a slot's managed memory `use_case` gets when the slot holds
    /// `use_cases` (Flink's `convertToFractionOfSlot` with a fraction of the use case of 1).
    pub fn fraction_of_slot(
        &self,
        use_case: ManagedMemoryUseCase,
        use_cases: &[ManagedMemoryUseCase],
        state_backend_uses_managed_memory: bool,
    ) -> f64 {
        if use_case == ManagedMemoryUseCase::StateBackend && !state_backend_uses_managed_memory {
            return 0.0;
        }
        let mut seen = Vec::new();
        let total: u64 = use_cases
            .iter()
            .filter(|u| {
                **u != ManagedMemoryUseCase::StateBackend || state_backend_uses_managed_memory
            })
            .filter(|u| {
                // Flink sums over a set: a use case listed twice counts once.
                let new = !seen.contains(*u);
                seen.push(**u);
                new
            })
            .map(|u| u64::from(self.weight(*u).unwrap_or(0)))
            .sum();
        let weight = u64::from(self.weight(use_case).unwrap_or(0));
        if total == 0 {
            0.0
        } else {
            fraction_rounded_down(weight, total)
        }
    }
}

/// Flink's `getFractionRoundedDown`: `dividend / divisor` to 16 decimals, rounded down, as the
/// nearest `double` (Rust's float parsing is correctly rounded, like `BigDecimal.doubleValue`).
pub fn fraction_rounded_down(dividend: u64, divisor: u64) -> f64 {
    const SCALE: u128 = 10_000_000_000_000_000; // 10^16
    let Some(scaled) = u128::from(dividend)
        .checked_mul(SCALE)
        .and_then(|n| n.checked_div(u128::from(divisor)))
    else {
        return 0.0;
    };
    let int = scaled / SCALE;
    let frac = scaled % SCALE;
    format!("{int}.{frac:016}").parse().unwrap_or(0.0)
}

/// Flink's `MemoryManager.computeMemorySize`: `floor(total × fraction)` in `double`.
pub fn compute_memory_size(total: u64, fraction: f64) -> u64 {
    // `as` saturates, like Java's `(long)` cast of a double.
    (total as f64 * fraction).floor() as u64
}

impl TaskManagerPlan {
    /// The managed memory of one slot: managed memory divided by the number of slots, rounded
    /// down (Flink's default slot profile). 0 slots give 0.
    pub fn slot_managed_memory(&self) -> u64 {
        u64::try_from(self.num_task_slots)
            .ok()
            .and_then(|n| self.managed.checked_div(n))
            .unwrap_or(0)
    }

    /// Bytes of a slot's managed memory for each of `use_cases` (in that order), by `weights`.
    pub fn slot_managed_memory_by_use_case(
        &self,
        weights: &ConsumerWeights,
        use_cases: &[ManagedMemoryUseCase],
        state_backend_uses_managed_memory: bool,
    ) -> Vec<(ManagedMemoryUseCase, u64)> {
        let slot = self.slot_managed_memory();
        use_cases
            .iter()
            .map(|u| {
                let f = weights.fraction_of_slot(*u, use_cases, state_backend_uses_managed_memory);
                (*u, compute_memory_size(slot, f))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ManagedMemoryUseCase::{Operator, Python, StateBackend};

    /// Expected values computed with Flink's formulas (BigDecimal quotient to 16 decimals
    /// rounded down, `floor(double × double)`).
    #[test]
    fn fractions_and_bytes_match_flinks_arithmetic() {
        let w = ConsumerWeights::parse(DEFAULT_CONSUMER_WEIGHTS).unwrap();
        let all = [Operator, StateBackend, Python];
        assert_eq!(w.fraction_of_slot(Operator, &all, true), 0.4117647058823529);
        assert_eq!(w.fraction_of_slot(Python, &all, true), 0.1764705882352941);
        let slot = 536870912 / 2;
        assert_eq!(
            compute_memory_size(slot, w.fraction_of_slot(Operator, &all, true)),
            110532246
        );
        assert_eq!(
            compute_memory_size(slot, w.fraction_of_slot(Python, &all, true)),
            47370962
        );
        // Two use cases of equal weight in a third of 512 MiB.
        let two = [Operator, StateBackend];
        assert_eq!(
            compute_memory_size(536870912 / 3, w.fraction_of_slot(StateBackend, &two, true)),
            89478485
        );
        // A state backend without managed memory: it gets nothing and does not count.
        assert_eq!(w.fraction_of_slot(StateBackend, &all, false), 0.0);
        assert_eq!(w.fraction_of_slot(Operator, &all, false), 0.7);
        assert_eq!(compute_memory_size(1 << 28, 0.7), 187904819);
        // Custom weights.
        let w = ConsumerWeights::parse("OPERATOR:1, STATE_BACKEND:2,PYTHON:3").unwrap();
        let slot = 429496730 / 3;
        let got: Vec<u64> = all
            .iter()
            .map(|u| compute_memory_size(slot, w.fraction_of_slot(*u, &all, true)))
            .collect();
        assert_eq!(got, [23860929, 47721858, 71582788]);
    }

    #[test]
    fn dataproc_is_the_fallback_and_bad_weights_are_errors() {
        let w = ConsumerWeights::parse("DATAPROC:20,PYTHON:5").unwrap();
        assert_eq!(w.weight(Operator), Some(20));
        assert_eq!(w.weight(StateBackend), Some(20));
        let w = ConsumerWeights::parse("DATAPROC:20,OPERATOR:7").unwrap();
        assert_eq!(
            (w.weight(Operator), w.weight(StateBackend)),
            (Some(7), Some(20))
        );
        assert_eq!(
            ConsumerWeights::parse("PYTHON:3").unwrap().weight(Operator),
            None
        );
        let e = ConsumerWeights::parse("OPERATOR:-1").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Managed memory weight should not be negative. Configured weight for OPERATOR is -1."
        );
        assert!(ConsumerWeights::parse("OPERATOR:x").is_err());
        assert!(ConsumerWeights::parse("OPERATOR").is_err());
        // No weight for anything present: nothing.
        let w = ConsumerWeights::parse("PYTHON:3").unwrap();
        assert_eq!(w.fraction_of_slot(Operator, &[Operator], true), 0.0);
    }

    #[test]
    fn nested_keys_are_read_and_the_default_applies() {
        let mut c = Configuration::new();
        assert_eq!(
            ConsumerWeights::from_configuration(&c).unwrap(),
            ConsumerWeights::parse(DEFAULT_CONSUMER_WEIGHTS).unwrap()
        );
        c.set(
            format!("{CONSUMER_WEIGHTS_KEY}.OPERATOR"),
            "10",
            crate::Source::Dynamic,
        );
        let w = ConsumerWeights::from_configuration(&c).unwrap();
        assert_eq!((w.weight(Operator), w.weight(Python)), (Some(10), None));
    }
}
