//! Property test: random reservations in a three-level tree of child budgets (process → job →
//! two slots, with limits and reserved minimums) agree with a simple model at every level, and
//! dropping everything leaves the process budget exactly as before.

use membudget_allocator::{
    Budget, BudgetHandle, Category, ChildLimits, ConsumerReservation, MemoryConsumer, Quotas,
    SharedBudget,
};
use proptest::prelude::*;

const C: Category = Category::Managed;
const K: u64 = 1 << 10;

#[derive(Clone, Debug)]
enum Op {
    Reserve(usize, u64),
    Grow(usize, u64),
    Shrink(usize, u64),
    Drop(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..5, 0u64..300 * K).prop_map(|(c, n)| Op::Reserve(c, n)),
        (any::<usize>(), 0u64..100 * K).prop_map(|(i, n)| Op::Grow(i, n)),
        (any::<usize>(), 0u64..100 * K).prop_map(|(i, n)| Op::Shrink(i, n)),
        any::<usize>().prop_map(Op::Drop),
    ]
}

/// Limits and reserved minimums: process quota, job, slot a, slot b.
#[derive(Clone, Debug)]
struct Shape {
    quota: u64,
    limits: [u64; 3],
    reserved: [u64; 3],
}

fn shape() -> impl Strategy<Value = Shape> {
    (
        0u64..2000 * K,
        [0u64..1500 * K, 0u64..900 * K, 0u64..900 * K],
        [0u64..200 * K, 0u64..200 * K, 0u64..200 * K],
    )
        .prop_map(|(quota, limits, reserved)| Shape {
            quota,
            limits,
            reserved,
        })
}

/// The model: bytes each node's own consumers hold; a node holds `max(reserved, own +
/// children)` from its parent.
struct Model {
    shape: Shape,
    own: [u64; 3],
}

impl Model {
    fn claimed(&self, own: [u64; 3]) -> [u64; 3] {
        let a = own[1].max(self.shape.reserved[1]);
        let b = own[2].max(self.shape.reserved[2]);
        let job = (own[0] + a + b).max(self.shape.reserved[0]);
        [job, a, b]
    }

    fn fits(&self, own: [u64; 3]) -> bool {
        let c = self.claimed(own);
        (0..3).all(|i| c[i] <= self.shape.limits[i]) && c[0] <= self.shape.quota
    }

    /// Used per node, subtree included.
    fn used(&self) -> [u64; 3] {
        [
            self.own[0] + self.own[1] + self.own[2],
            self.own[1],
            self.own[2],
        ]
    }
}

fn limits(s: &Shape, i: usize) -> ChildLimits {
    ChildLimits::unlimited()
        .with(C, s.limits[i])
        .with_reserved(C, s.reserved[i])
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: if cfg!(miri) { None } else { ProptestConfig::default().failure_persistence },
        ..ProptestConfig::default()
    })]

    #[test]
    fn child_budgets_match_the_model(s in shape(), ops in proptest::collection::vec(op(), 1..60)) {
        let process = SharedBudget::from(Budget::new(Quotas::unlimited().with(C, s.quota)));
        let mut model = Model { shape: s.clone(), own: [0; 3] };
        // Creation: a reserved minimum above its limit, or one the parents cannot give, fails.
        let job_ok = s.reserved[0] <= s.limits[0] && s.reserved[0] <= s.quota;
        let job = process.child("job", limits(&s, 0));
        prop_assert_eq!(job.is_ok(), job_ok, "{:?}", job.as_ref().err().map(ToString::to_string));
        let Ok(job) = job else {
            prop_assert_eq!(process.used(C), 0);
            return Ok(());
        };
        let mut slots: Vec<BudgetHandle> = Vec::new();
        // Slots not made yet reserve nothing.
        model.shape.reserved[1] = 0;
        model.shape.reserved[2] = 0;
        for (i, name) in [(1, "slot-a"), (2, "slot-b")] {
            model.shape.reserved[i] = s.reserved[i];
            let ok = s.reserved[i] <= s.limits[i] && model.fits(model.own);
            let slot = job.child(name, limits(&s, i));
            prop_assert_eq!(slot.is_ok(), ok, "{} {:?}", name, slot.as_ref().err().map(ToString::to_string));
            match slot {
                Ok(slot) => slots.push(slot),
                Err(_) => model.shape.reserved[i] = 0,
            }
        }
        let slot_a = slots.iter().find(|h| h.name() == "slot-a").cloned();
        let slot_b = slots.iter().find(|h| h.name() == "slot-b").cloned();
        // Consumers: one in the job, two in each slot (node index 0, 1, 1, 2, 2).
        let mut consumers: Vec<(usize, MemoryConsumer)> = vec![(0, job.consumer("own"))];
        for (i, slot) in [(1, &slot_a), (2, &slot_b)] {
            if let Some(h) = slot {
                consumers.push((i, h.consumer("x")));
                consumers.push((i, h.consumer("y")));
            }
        }
        let mut held: Vec<(usize, ConsumerReservation)> = Vec::new();
        for op in ops {
            match op {
                Op::Reserve(c, n) => {
                    let (node, consumer) = &consumers[c % consumers.len()];
                    let mut own = model.own;
                    own[*node] += n;
                    let r = consumer.try_reserve_owned(C, n);
                    prop_assert_eq!(r.is_ok(), model.fits(own), "reserve {} at {}", n, node);
                    if let Ok(r) = r {
                        model.own = own;
                        held.push((*node, r));
                    }
                }
                Op::Grow(i, n) if !held.is_empty() => {
                    let i = i % held.len();
                    let node = held[i].0;
                    let mut own = model.own;
                    own[node] += n;
                    let ok = held[i].1.try_grow(n).is_ok();
                    prop_assert_eq!(ok, model.fits(own));
                    if ok { model.own = own; }
                }
                Op::Shrink(i, n) if !held.is_empty() => {
                    let i = i % held.len();
                    let node = held[i].0;
                    let ok = held[i].1.try_shrink(n).is_ok();
                    prop_assert_eq!(ok, n <= held[i].1.size() + if ok { n } else { 0 });
                    if ok { model.own[node] -= n; }
                }
                Op::Drop(i) if !held.is_empty() => {
                    let (node, r) = held.swap_remove(i % held.len());
                    model.own[node] -= r.size();
                }
                _ => {}
            }
            let used = model.used();
            prop_assert_eq!(job.used(C), used[0]);
            for (i, slot) in [(1, &slot_a), (2, &slot_b)] {
                if let Some(h) = slot {
                    prop_assert_eq!(h.used(C), used[i]);
                    prop_assert!(h.claimed(C) <= h.limit(C));
                    prop_assert!(h.claimed(C) >= model.shape.reserved[i]);
                }
            }
            prop_assert!(job.claimed(C) <= s.limits[0]);
            prop_assert!(process.used(C) <= s.quota);
            prop_assert!(process.used(C) >= model.claimed(model.own)[0]);
            let report = process.report();
            prop_assert_eq!(report.child("job").unwrap().category(C).unwrap().used, used[0]);
        }
        drop(held);
        prop_assert_eq!(job.used(C), 0);
        drop((consumers, slots, slot_a, slot_b, job));
        prop_assert_eq!(process.used(C), 0, "dropping the tree returns everything");
        prop_assert_eq!(process.release_errors(C), 0);
    }
}
