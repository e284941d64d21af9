//! The allocation workloads of `membudget_benches::alloc_workloads` under `QuotaAllocator`
//! installed as the global allocator (see `benches/callgrind-alloc.sh`).

use membudget_allocator::QuotaAllocator;

#[global_allocator]
static A: QuotaAllocator = QuotaAllocator::new();

fn main() {
    membudget_benches::alloc_workloads::run_from_args("quota");
}
