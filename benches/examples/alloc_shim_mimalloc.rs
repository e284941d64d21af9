//! The allocation workloads of `membudget_benches::alloc_workloads` under bare mimalloc
//! installed as the global allocator: the baseline of `benches/callgrind-alloc.sh`.

use membudget_benches::BareMimalloc;

#[global_allocator]
static A: BareMimalloc = BareMimalloc;

fn main() {
    membudget_benches::alloc_workloads::run_from_args("mimalloc");
}
