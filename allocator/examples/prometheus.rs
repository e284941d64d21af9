//! Exports the process budget in Prometheus text format through `metrics-exporter-prometheus`
//! (`cargo run -p membudget-allocator --example prometheus --features metrics`).
use membudget_allocator::{
    record_metrics, with_category, Budget, Category, QuotaAllocator, Quotas,
};
use metrics_exporter_prometheus::PrometheusBuilder;

#[global_allocator]
static A: QuotaAllocator = QuotaAllocator::new();

fn main() {
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .expect("no other metrics recorder is installed");
    Budget::global().set_quotas(
        Quotas::unlimited()
            .with(Category::Network, 64 << 20)
            .with(Category::Direct, 32 << 20),
    );
    let network: Vec<u8> = with_category(Category::Network, || vec![1u8; 8 << 20]);
    // A request over the quota is refused and counted.
    let mut big: Vec<u8> = Vec::new();
    let refused = with_category(Category::Direct, || big.try_reserve(64 << 20).is_err());
    assert!(refused);
    record_metrics(Budget::global());
    print!("{}", handle.render());
    drop(network);
}
