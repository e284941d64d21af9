//! Export of the budget's counters through the `metrics` facade (feature `metrics`).

use crate::{Budget, Category};

/// Sets `membudget_memory_used_bytes{category}` and `membudget_memory_quota_bytes{category}`
/// (an unlimited quota is not exported) and brings `membudget_quota_exceeded_total{category}`
/// up to the budget's failure count. Call it periodically, e.g. before each scrape; never from
/// inside an allocator.
///
/// # Examples
/// ```
/// membudget_allocator::record_metrics(membudget_allocator::Budget::global());
/// ```
pub fn record_metrics(budget: &Budget) {
    for c in Category::ALL {
        let u = budget.usage(c);
        metrics::gauge!("membudget_memory_used_bytes", "category" => c.name()).set(u.used as f64);
        if u.quota != u64::MAX {
            metrics::gauge!("membudget_memory_quota_bytes", "category" => c.name())
                .set(u.quota as f64);
        }
        metrics::counter!("membudget_quota_exceeded_total", "category" => c.name())
            .absolute(u.failures);
    }
}
