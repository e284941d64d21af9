//! Redistribution of the buffers beyond the pools' minimums (Flink's current algorithm).
//!
//! `avail = total − required` (required = Σ minimums + exclusive segments). If nothing is
//! available every resizable pool gets its minimum. Otherwise `R = avail + Σ min` is shared in
//! proportion to each pool's expected size, clamped to `[min, max]`; the difference the
//! clamping caused is then handed out to (or taken back from) pools with room, again in
//! proportion to expected size, until nothing is left or no pool can move.
//!
//! Overflow review (this module is exempt from `clippy::arithmetic_side_effects`, which the
//! other size-handling modules deny): every quantity is computed in `u128`/`i128` from `usize`
//! inputs. Sums run over fewer than 2³² pools of values below 2⁶⁴, so they stay below 2⁹⁶ and
//! their differences fit in `i128`; the two products (`expected × to_share` and
//! `want × expected`, up to 2⁶⁴ × 2⁹⁶) could pass `u128`, so they saturate; a saturated share is
//! clamped to the pool's max anyway. Narrowing casts clamp to `usize::MAX`.

/// The sizing-relevant shape of one resizable pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PoolShape {
    pub(crate) min: usize,
    pub(crate) expected: usize,
    pub(crate) max: usize,
}

/// New sizes for `pools` (same order), given `available` = total − required segments.
///
/// Guarantees: `min ≤ size ≤ max` for every pool, and `Σ size ≤ available + Σ min`.
pub(crate) fn redistribute(available: usize, pools: &[PoolShape]) -> Vec<usize> {
    if pools.is_empty() {
        return Vec::new();
    }
    let mins = pools.iter().map(|p| p.min);
    if available == 0 {
        return mins.collect();
    }
    let to_share = available as u128 + pools.iter().map(|p| p.min as u128).sum::<u128>();
    let total_weight: u128 = pools.iter().map(|p| p.expected as u128).sum();
    let mut sizes: Vec<usize> = pools
        .iter()
        .map(|p| {
            let share = (p.expected as u128)
                .saturating_mul(to_share)
                .checked_div(total_weight)
                .unwrap_or(0);
            (share.min(usize::MAX as u128) as usize).clamp(p.min, p.max)
        })
        .collect();
    let allocated: u128 = sizes.iter().map(|&s| s as u128).sum();
    let mut delta = to_share as i128 - allocated as i128;
    while delta != 0 {
        let remaining = settle(delta, pools, &mut sizes);
        if remaining == delta {
            break;
        }
        delta = remaining;
    }
    sizes
}

/// One pass handing out (`delta > 0`) or taking back (`delta < 0`) buffers among pools that
/// can still move, weighted by expected size. Returns what is left of `delta`.
fn settle(delta: i128, pools: &[PoolShape], sizes: &mut [usize]) -> i128 {
    let grow = delta > 0;
    let movable = |sizes: &[usize], i: usize| {
        if grow {
            sizes[i] < pools[i].max
        } else {
            sizes[i] > pools[i].min
        }
    };
    let weight: u128 = (0..pools.len())
        .filter(|&i| movable(sizes, i))
        .map(|i| pools[i].expected as u128)
        .sum();
    if weight == 0 {
        return delta;
    }
    let want = delta.unsigned_abs();
    let mut moved: u128 = 0;
    for i in 0..pools.len() {
        if !movable(sizes, i) {
            continue;
        }
        // ceil(want * expected / weight), at most what is still to move.
        let piece = want
            .saturating_mul(pools[i].expected as u128)
            .div_ceil(weight);
        let piece = piece.min(want - moved);
        let cur = sizes[i] as u128;
        let new = if grow {
            (cur + piece).min(pools[i].max as u128)
        } else {
            cur.saturating_sub(piece).max(pools[i].min as u128)
        };
        moved += cur.abs_diff(new);
        sizes[i] = new as usize;
        if moved == want {
            break;
        }
    }
    if grow {
        delta - moved as i128
    } else {
        delta + moved as i128
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shape(min: usize, expected: usize, max: usize) -> PoolShape {
        PoolShape { min, expected, max }
    }

    #[test]
    fn nothing_available_gives_every_pool_its_minimum() {
        let pools = [shape(1, 5, 10), shape(3, 3, 8)];
        assert_eq!(redistribute(0, &pools), vec![1, 3]);
    }

    #[test]
    fn three_buffers_two_unbounded_pools_share_all_three() {
        // Flink's testUniformDistributionBounded shape: (1, 10) pools over 3 buffers, 2 mins
        // already required → 1 available.
        let pools = [shape(1, 1, 10), shape(1, 1, 10)];
        let s = redistribute(1, &pools);
        assert_eq!(s.iter().sum::<usize>(), 3);
        assert!(s.iter().all(|&x| (1..3).contains(&x)), "{s:?}");
    }

    #[test]
    fn weights_follow_expected_sizes() {
        let pools = [shape(1, 1, 100), shape(1, 3, 100)];
        // 100 to share in total: 98 available + 2 mins.
        assert_eq!(redistribute(98, &pools), vec![25, 75]);
    }

    #[test]
    fn capped_pools_pass_their_share_on() {
        let pools = [shape(1, 1, 2), shape(1, 1, 100)];
        assert_eq!(redistribute(50, &pools), vec![2, 50]);
    }

    #[test]
    fn unbounded_max_does_not_overflow() {
        let pools = [
            shape(1, usize::MAX / 2, usize::MAX),
            shape(2, 2, usize::MAX),
        ];
        let s = redistribute(1000, &pools);
        assert!(s.iter().sum::<usize>() <= 1003);
        assert!(s[0] >= 1 && s[1] >= 2);
    }

    proptest! {
        #[test]
        fn sizes_respect_bounds_and_total(
            available in 0usize..500,
            raw in proptest::collection::vec((1usize..20, 0usize..30, 0usize..60), 1..8),
        ) {
            let pools: Vec<PoolShape> = raw
                .iter()
                .map(|&(min, e, m)| {
                    let expected = min + e;
                    shape(min, expected, expected + m)
                })
                .collect();
            let sizes = redistribute(available, &pools);
            let budget = available + pools.iter().map(|p| p.min).sum::<usize>();
            prop_assert!(sizes.iter().sum::<usize>() <= budget);
            for (s, p) in sizes.iter().zip(&pools) {
                prop_assert!(*s >= p.min && *s <= p.max, "{} not in [{}, {}]", s, p.min, p.max);
            }
            // Nothing is left idle while some pool still has room.
            let max_room: usize = pools.iter().map(|p| p.max).sum();
            prop_assert_eq!(sizes.iter().sum::<usize>(), budget.min(max_room));
        }
    }
}
