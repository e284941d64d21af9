//! A plan's quotas installed in a budget: refusals name the configuration keys of the plan's
//! own process (JobManager plans `jobmanager.memory.*`, TaskManager plans
//! `taskmanager.memory.*`).

use membudget_allocator::{Budget, Category, Limit, Role};
use membudget_model::{derive, Configuration, MemoryPlan};

fn plan(role: Role, key: &str, size: &str) -> MemoryPlan {
    let config: Configuration = [(key, size)].into_iter().collect();
    derive(role, &config).unwrap()
}

#[test]
fn jobmanager_plan_refusals_name_jobmanager_keys() {
    let plan = plan(Role::JobManager, "jobmanager.memory.process.size", "1600m");
    let budget = Budget::new(plan.quotas());
    assert_eq!(budget.role(), Role::JobManager);

    let heap = budget.quota(Category::Heap);
    let e = budget.try_charge(Category::Heap, heap + 1).unwrap_err();
    assert_eq!(e.limit, Limit::Category);
    assert_eq!(
        e.to_string(),
        format!(
            "Cannot reserve {} bytes of heap memory (used: 0, quota: 1073741824). Increase \
             'jobmanager.memory.heap.size' (or 'jobmanager.memory.process.size').",
            heap + 1
        )
    );
    let e = budget.try_charge(Category::Network, 4096).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Cannot reserve 4096 bytes of network memory (used: 0, quota: 0). A JobManager has no \
         network memory: use off-heap memory and increase 'jobmanager.memory.off-heap.size'."
    );
    for c in Category::ALL {
        let e = budget.try_charge(c, u64::MAX / 2).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("'jobmanager.memory."), "{text}");
        assert!(!text.contains("taskmanager"), "{text}");
    }
}

#[test]
fn jobmanager_plan_process_total_names_the_jobmanager_process_size() {
    let plan = plan(Role::JobManager, "jobmanager.memory.process.size", "1600m");
    let quotas = plan.quotas();
    // Leave the categories unlimited so that the process total is what refuses.
    let budget = Budget::new(
        membudget_allocator::Quotas::unlimited()
            .with_total(quotas.total())
            .with_role(quotas.role()),
    );
    let e = budget
        .try_charge(Category::Direct, quotas.total() + 1)
        .unwrap_err();
    assert_eq!(e.limit, Limit::Process);
    assert!(
        e.to_string()
            .ends_with("Increase 'jobmanager.memory.process.size'."),
        "{e}"
    );
}

#[test]
fn taskmanager_plan_refusals_name_taskmanager_keys() {
    let plan = plan(
        Role::TaskManager,
        "taskmanager.memory.process.size",
        "1728m",
    );
    let budget = Budget::new(plan.quotas());
    assert_eq!(budget.role(), Role::TaskManager);

    let network = budget.quota(Category::Network);
    budget.try_charge(Category::Network, network).unwrap();
    let e = budget.try_charge(Category::Network, 4194304).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "Cannot reserve 4194304 bytes of network memory (used: {network}, quota: {network}). \
             Increase 'taskmanager.memory.network.fraction' (or .min/.max)."
        )
    );
    budget.release(Category::Network, network);
    for c in Category::ALL {
        let text = budget.try_charge(c, u64::MAX / 2).unwrap_err().to_string();
        assert!(text.contains("'taskmanager.memory."), "{text}");
        assert!(!text.contains("jobmanager"), "{text}");
    }
}
