//! Random sequences of network/local buffer pool operations checked against a simple model:
//! which requests succeed, which pool creations are refused, segment conservation, pool
//! bounds, no segment lent twice, and an exact network budget at the end.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use membudget_allocator::{Budget, Category, Quotas, SharedBudget};
use membudget_bufferpool::{
    Buffer, BufferPoolConfig, BufferPoolError, LocalBufferPool, NetworkBufferPool, UNBOUNDED,
};
use std::collections::HashMap;
use std::time::Duration;

const SEG: usize = 4096;

#[derive(Arbitrary, Debug)]
enum Op {
    Create { min: u8, extra: u8, overdraft: u8, unbounded: bool },
    Destroy(u8),
    Request(u8),
    RequestFor(u8, u8),
    Drop(u8),
    Clone(u8),
    Slice(u8),
    SetNumBuffers(u8, u8),
    Unpooled(u8),
    DropUnpooled,
}

#[derive(Arbitrary, Debug)]
struct Input {
    total: u8,
    ops: Vec<Op>,
}

struct Pool {
    handle: LocalBufferPool,
    config: BufferPoolConfig,
    destroyed: bool,
}

fuzz_target!(|input: Input| {
    let total = 1 + (input.total % 32) as usize;
    let budget = SharedBudget::from(Budget::new(Quotas::unlimited()));
    let net = NetworkBufferPool::new(total, SEG, budget.clone()).unwrap();
    let mut pools: Vec<Pool> = Vec::new();
    let mut held: Vec<Buffer> = Vec::new();
    let mut exclusive: Vec<Vec<Buffer>> = Vec::new();
    let mut required = 0usize; // model: Σ min of live pools + exclusive segments out
    // An explicit `set_num_buffers` may size a pool beyond its share (as in Flink) until the
    // next redistribution (pool created/destroyed, exclusive segments taken/returned).
    let mut resized_by_hand = false;

    for op in input.ops.into_iter().take(200) {
        match &op {
            Op::SetNumBuffers(..) if !pools.is_empty() => resized_by_hand = true,
            _ => {}
        }
        match op {
            Op::Create { min, extra, overdraft, unbounded } => {
                let min = 1 + (min % 6) as usize;
                let max = if unbounded { UNBOUNDED } else { min + (extra % 8) as usize };
                let config = BufferPoolConfig::new(min, max)
                    .with_overdraft((overdraft % 3) as usize)
                    .with_subpartitions(2, 1 + (extra % 4) as usize);
                match net.create_buffer_pool_with(config) {
                    Ok(handle) => {
                        assert!(required + min <= total);
                        required += min;
                        resized_by_hand = false;
                        pools.push(Pool { handle, config, destroyed: false });
                    }
                    Err(BufferPoolError::InsufficientBuffers { required: r, available, .. }) => {
                        assert_eq!(r, min);
                        assert_eq!(available, total - required);
                        assert!(required + min > total);
                    }
                    Err(e) => panic!("unexpected {e}"),
                }
            }
            Op::Destroy(i) if !pools.is_empty() => {
                let n = pools.len();
                let p = &mut pools[i as usize % n];
                if !p.destroyed {
                    p.handle.lazy_destroy();
                    p.destroyed = true;
                    required -= p.config.min;
                    resized_by_hand = false;
                }
            }
            Op::Request(i) | Op::RequestFor(i, _) if !pools.is_empty() => {
                let p = &pools[i as usize % pools.len()];
                let channel = match op {
                    Op::RequestFor(_, c) => Some((c % 2) as usize),
                    _ => None,
                };
                let idle = p.handle.available_segments();
                let requested = p.handle.requested_segments();
                let limit = p.handle.num_buffers() + p.handle.max_overdraft_buffers();
                let can = idle > 0 || (requested < limit && net.available_segments() > 0);
                let r = match channel {
                    Some(c) => p.handle.request_buffer_for(c),
                    None => p.handle.request_buffer(),
                };
                match r {
                    Err(BufferPoolError::PoolDestroyed) => assert!(p.destroyed),
                    Err(e) => panic!("unexpected {e}"),
                    Ok(got) => {
                        assert!(!p.destroyed);
                        assert_eq!(got.is_some(), can, "idle {idle} requested {requested} limit {limit}");
                        held.extend(got);
                    }
                }
            }
            Op::Drop(i) if !held.is_empty() => {
                held.swap_remove(i as usize % held.len());
            }
            Op::Clone(i) if !held.is_empty() => {
                let b = held[i as usize % held.len()].clone();
                held.push(b);
            }
            Op::Slice(i) if !held.is_empty() => {
                let n = held.len();
                let b = &mut held[i as usize % n];
                if b.is_unique() && !b.is_read_only() {
                    b.append(&[i; 16]);
                }
                let s = b.read_only_slice(0, b.size().min(8));
                held.push(s);
            }
            Op::SetNumBuffers(i, n) if !pools.is_empty() => {
                let p = &pools[i as usize % pools.len()];
                let n = n as usize % 12;
                match p.handle.set_num_buffers(n) {
                    Ok(()) => assert!(n >= p.config.min),
                    Err(BufferPoolError::BelowMinimum { min, requested }) => {
                        assert_eq!((min, requested), (p.config.min, n));
                        assert!(n < p.config.min);
                    }
                    Err(e) => panic!("unexpected {e}"),
                }
            }
            Op::Unpooled(n) => {
                let n = (n % 4) as usize;
                match net.request_unpooled(n, Duration::ZERO) {
                    Ok(v) => {
                        assert_eq!(v.len(), n);
                        required += n;
                        resized_by_hand &= n == 0;
                        exclusive.push(v);
                    }
                    Err(BufferPoolError::InsufficientBuffers { .. }) => {
                        assert!(required + n > total)
                    }
                    Err(BufferPoolError::Timeout { .. }) => {}
                    Err(e) => panic!("unexpected {e}"),
                }
            }
            Op::DropUnpooled => {
                if let Some(v) = exclusive.pop() {
                    required -= v.len();
                    resized_by_hand &= v.is_empty();
                    net.recycle_unpooled(v);
                }
            }
            _ => {}
        }

        // Invariants after every operation.
        assert_eq!(net.required_segments(), required);
        let live: Vec<&Pool> = pools.iter().filter(|p| !p.destroyed).collect();
        let sizes: usize = live.iter().map(|p| p.handle.num_buffers()).sum();
        if !resized_by_hand {
            assert!(sizes + exclusive.iter().map(Vec::len).sum::<usize>() <= total, "Σ sizes");
        }
        for p in &live {
            let s = p.handle.num_buffers();
            assert!(s >= p.config.min && s <= p.config.max);
        }
        let in_pools: usize = pools.iter().map(|p| p.handle.requested_segments()).sum();
        let ex: usize = exclusive.iter().map(Vec::len).sum();
        assert_eq!(net.available_segments() + in_pools + ex, total, "conservation");
        // No segment has two owners: every handle of a segment is one of ours and the
        // segment's count equals the number of our handles to it.
        let mut handles: HashMap<u32, usize> = HashMap::new();
        for b in held.iter().chain(exclusive.iter().flatten()) {
            *handles.entry(b.segment_index()).or_default() += 1;
        }
        for b in held.iter().chain(exclusive.iter().flatten()) {
            assert_eq!(b.ref_count(), handles[&b.segment_index()], "segment lent twice");
        }
    }

    drop(held);
    drop(exclusive);
    drop(pools);
    assert_eq!(net.available_segments(), total);
    assert_eq!(budget.used(Category::Network), (total * SEG) as u64);
    drop(net);
    assert_eq!(budget.used(Category::Network), 0);
});
