//! Slot budgets from a plan, by Flink's rules: managed memory ÷ slots, then consumer weights;
//! the numbers are Flink's (`MemorySize.divide`, `getFractionRoundedDown`,
//! `computeMemorySize`).

use membudget_allocator::{Budget, Category, ChildLimits, Role, SharedBudget};
use membudget_model::{derive, Configuration, ConsumerWeights, ManagedMemoryUseCase};

#[test]
fn slot_budgets_follow_flinks_division_and_weights() {
    let config: Configuration = [
        ("taskmanager.memory.process.size", "1728m"),
        ("taskmanager.numberOfTaskSlots", "3"),
        (
            "taskmanager.memory.managed.consumer-weights",
            "OPERATOR:1,STATE_BACKEND:2,PYTHON:3",
        ),
    ]
    .into_iter()
    .collect();
    let plan = derive(Role::TaskManager, &config).unwrap();
    let tm = plan.as_taskmanager().unwrap();
    // Flink prints managed = 536870920 bytes for 1728m; ÷ 3 slots, rounded down.
    assert_eq!(tm.managed, 536870920);
    assert_eq!(tm.slot_managed_memory(), 178956973);
    let weights = ConsumerWeights::from_configuration(&config).unwrap();
    let all = ManagedMemoryUseCase::ALL;
    let shares = tm.slot_managed_memory_by_use_case(&weights, &all, true);
    let bytes: Vec<u64> = shares.iter().map(|(_, b)| *b).collect();
    assert_eq!(bytes, [29826162, 59652324, 89478486]);

    // The tree: process → slot (managed ÷ slots) → one child per use case.
    let process = SharedBudget::from(Budget::new(plan.quotas()));
    let slots: Vec<_> = (0..3)
        .map(|i| {
            process
                .child(
                    &format!("slot-{i}"),
                    ChildLimits::unlimited().with(Category::Managed, tm.slot_managed_memory()),
                )
                .unwrap()
        })
        .collect();
    for slot in &slots {
        for (use_case, bytes) in &shares {
            let child = slot
                .child(
                    use_case.name(),
                    ChildLimits::unlimited().with(Category::Managed, *bytes),
                )
                .unwrap();
            let c = child.consumer("op");
            let r = c.try_reserve(Category::Managed, *bytes).unwrap();
            assert!(c.try_reserve(Category::Managed, 1).is_err());
            drop(r);
        }
    }
    // Slots keep a quantum or two unspent for their next charges: not use.
    let report = process.report();
    assert_eq!(report.category(Category::Managed).unwrap().used, 0);
    drop(slots);
    assert_eq!(process.used(Category::Managed), 0);
}
