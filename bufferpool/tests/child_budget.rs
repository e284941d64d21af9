//! A `NetworkBufferPool` made against a consumer of a child budget charges that budget (the
//! pool's segments, up front), is refused by its limit, and gives everything back.

use membudget_allocator::{Budget, Category, ChildLimits, Quotas, SharedBudget};
use membudget_bufferpool::{BufferPoolError, NetworkBufferPool};

const SEG: usize = 4096;

#[test]
fn a_network_pool_charges_its_child_budget() {
    let process = SharedBudget::from(Budget::new(
        Quotas::unlimited().with(Category::Network, 1 << 20),
    ));
    let tm = process
        .child(
            "shuffle",
            ChildLimits::unlimited().with(Category::Network, 64 * SEG as u64),
        )
        .unwrap();
    let pool =
        NetworkBufferPool::new(32, SEG, SharedBudget::from(tm.consumer("network-pool"))).unwrap();
    assert_eq!(tm.used(Category::Network), 32 * SEG as u64);
    let local = pool.create_buffer_pool(1, 4).unwrap();
    let buffer = local.request_buffer().unwrap().expect("a buffer");
    drop(buffer);
    drop(local);
    // A second pool past the child's limit is refused by that limit, naming the first.
    match NetworkBufferPool::new(33, SEG, SharedBudget::from(tm.consumer("too-big"))) {
        Err(e) => {
            let text = e.to_string();
            assert!(text.contains("in budget 'shuffle'"), "{text}");
            assert!(text.contains("'shuffle/network-pool' 131072"), "{text}");
            assert!(!matches!(e, BufferPoolError::PoolDestroyed), "{e:?}");
        }
        Ok(_) => panic!("33 segments more do not fit under 64"),
    }
    drop(pool);
    assert_eq!(tm.used(Category::Network), 0);
    drop(tm);
    assert_eq!(process.used(Category::Network), 0);
}
