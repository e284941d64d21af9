//! Property test: random sequences of `Reservation` operations agree with a simple model of a
//! budget (sizes held, quota, failures).

use membudget_allocator::{Budget, Category, Quotas, Reservation};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Reserve(u64),
    Grow(usize, u64),
    Shrink(usize, u64),
    Resize(usize, u64),
    Split(usize, u64),
    Free(usize),
    Drop(usize),
    SetQuota(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u64..400).prop_map(Op::Reserve),
        (any::<usize>(), 0u64..400).prop_map(|(i, n)| Op::Grow(i, n)),
        (any::<usize>(), 0u64..400).prop_map(|(i, n)| Op::Shrink(i, n)),
        (any::<usize>(), 0u64..600).prop_map(|(i, n)| Op::Resize(i, n)),
        (any::<usize>(), 0u64..400).prop_map(|(i, n)| Op::Split(i, n)),
        any::<usize>().prop_map(Op::Free),
        any::<usize>().prop_map(Op::Drop),
        (0u64..1200).prop_map(Op::SetQuota),
        Just(Op::Grow(0, u64::MAX)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        // Miri has no file system access for the regression file.
        failure_persistence: if cfg!(miri) { None } else { ProptestConfig::default().failure_persistence },
        ..ProptestConfig::default()
    })]

    #[test]
    fn reservations_match_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        let c = Category::Managed;
        let budget = Budget::new(Quotas::unlimited().with(c, 1000));
        let mut quota = 1000u64;
        let mut failures = 0u64;
        let mut held: Vec<Reservation<'_>> = Vec::new();
        let mut model: Vec<u64> = Vec::new();
        for op in ops {
            let used: u64 = model.iter().sum();
            match op {
                Op::Reserve(n) => match budget.try_reserve(c, n) {
                    Ok(r) => {
                        prop_assert!(used + n <= quota);
                        held.push(r);
                        model.push(n);
                    }
                    Err(e) => {
                        prop_assert!(used + n > quota);
                        prop_assert_eq!((e.requested, e.used, e.quota), (n, used, quota));
                        failures += 1;
                    }
                },
                Op::Grow(i, n) if !held.is_empty() => {
                    let i = i % held.len();
                    let fits = used.checked_add(n).is_some_and(|t| t <= quota);
                    let r = held[i].try_grow(n);
                    prop_assert_eq!(r.is_ok(), fits);
                    if fits { model[i] += n } else { failures += 1 }
                }
                Op::Shrink(i, n) if !held.is_empty() => {
                    let i = i % held.len();
                    let r = held[i].try_shrink(n);
                    if n <= model[i] {
                        prop_assert!(r.is_ok());
                        model[i] -= n;
                    } else {
                        prop_assert_eq!(r, Err(model[i]));
                    }
                }
                Op::Resize(i, n) if !held.is_empty() => {
                    let i = i % held.len();
                    let fits = n <= model[i] || used - model[i] + n <= quota;
                    prop_assert_eq!(held[i].try_resize(n).is_ok(), fits);
                    if fits { model[i] = n } else { failures += 1 }
                }
                Op::Split(i, n) if !held.is_empty() => {
                    let i = i % held.len();
                    let n = n.min(model[i]);
                    let s = held[i].split(n);
                    prop_assert_eq!(s.size(), n);
                    model[i] -= n;
                    held.push(s);
                    model.push(n);
                }
                Op::Free(i) if !held.is_empty() => {
                    let i = i % held.len();
                    prop_assert_eq!(held[i].free(), model[i]);
                    model[i] = 0;
                }
                Op::Drop(i) if !held.is_empty() => {
                    let i = i % held.len();
                    drop(held.swap_remove(i));
                    model.swap_remove(i);
                }
                Op::SetQuota(q) => {
                    budget.set_quotas(Quotas::unlimited().with(c, q));
                    quota = q;
                }
                _ => {}
            }
            for (r, m) in held.iter().zip(&model) {
                prop_assert_eq!(r.size(), *m);
            }
            prop_assert_eq!(budget.used(c), model.iter().sum::<u64>());
            prop_assert_eq!(budget.failures(c), failures);
        }
        drop(held);
        prop_assert_eq!(budget.used(c), 0);
        prop_assert_eq!(budget.total_used(), 0);
    }
}
