//! A slot's managed memory divided by `taskmanager.memory.managed.consumer-weights`, checked
//! against the real Flink 1.20.5: `fixtures/consumer_weights.tsv` holds what its
//! `ManagedMemoryUtils.convertToFractionOfSlot` and `MemoryManager.computeMemorySize` give for
//! a grid of weights, use-case sets and slot sizes (regenerate with
//! `scripts/flink-consumer-weights`).

use membudget_model::{compute_memory_size, ConsumerWeights, ManagedMemoryUseCase};

const SLOT_SIZES: [u64; 6] = [1 << 28, 178_956_973, 1_000_000_007, 1, 0, 123_456_789_012];

fn use_case(name: &str) -> ManagedMemoryUseCase {
    ManagedMemoryUseCase::ALL
        .into_iter()
        .find(|u| u.name() == name)
        .unwrap_or_else(|| panic!("unknown use case {name}"))
}

#[test]
fn fractions_and_bytes_equal_flinks() {
    let fixture = include_str!("fixtures/consumer_weights.tsv");
    let mut rows = 0;
    for line in fixture.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [weights, backend, present, case, fraction, bytes @ ..] = cols.as_slice() else {
            panic!("malformed fixture line {line:?}");
        };
        let weights = ConsumerWeights::parse(weights).unwrap();
        let present: Vec<_> = present.split(',').map(use_case).collect();
        let backend: bool = backend.parse().unwrap();
        let got = weights.fraction_of_slot(use_case(case), &present, backend);
        // Java prints a double with enough digits to read back the same double.
        let flink: f64 = fraction.parse().unwrap();
        assert_eq!(got.to_bits(), flink.to_bits(), "fraction {got}, {line}");
        for (slot, want) in SLOT_SIZES.iter().zip(bytes) {
            assert_eq!(
                compute_memory_size(*slot, got).to_string(),
                *want,
                "bytes of a {slot}-byte slot, {line}"
            );
        }
        rows += 1;
    }
    assert_eq!(rows, 84);
}
