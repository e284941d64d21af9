//! Child budgets: refusal texts naming top consumers, reports, reclaim (enough, timing out,
//! reclaimers that allocate), soft watermarks, and a stress test of every level's limit.

use membudget_allocator::{
    Budget, Category, ChildLimits, ConsumerReservation, Limit, MemoryConsumer, Quotas, SharedBudget,
};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const C: Category = Category::Managed;

fn process(quota: u64) -> SharedBudget {
    SharedBudget::from(Budget::new(Quotas::unlimited().with(C, quota)))
}

#[test]
fn a_refusal_names_the_limit_and_the_top_three_consumers() {
    let p = process(1 << 30);
    let slot = p
        .child("slot-0", ChildLimits::unlimited().with(C, 1000))
        .unwrap();
    let names = ["a", "b", "c", "d"];
    let consumers: Vec<MemoryConsumer> = names.iter().map(|n| slot.consumer(n)).collect();
    let mut held = Vec::new();
    for (c, n) in consumers.iter().zip([100, 400, 50, 300]) {
        held.push(c.try_reserve_owned(C, n).unwrap());
    }
    let e = consumers[0].try_reserve_owned(C, 200).unwrap_err();
    assert_eq!(e.limit, Limit::Budget);
    assert_eq!((e.requested, e.used, e.quota), (200, 850, 1000));
    assert_eq!(e.budget_name(), Some("slot-0"));
    assert_eq!(
        e.to_string(),
        "Cannot reserve 200 bytes of managed memory in budget 'slot-0' (used: 850, limit: 1000; \
         top consumers: 'slot-0/b' 400, 'slot-0/d' 300, 'slot-0/a' 100). Raise the managed \
         limit of budget 'slot-0' or register reclaimers that spill."
    );
    let report = e.report().expect("a refusal carries the tree");
    assert_eq!(
        report.child("slot-0").unwrap().consumer_bytes("b", C),
        Some(400)
    );
    // The process quota refusing a child's charge names the keys and the consumers too.
    let p = process(500);
    let job = p.child("job", ChildLimits::unlimited()).unwrap();
    let op = job.consumer("op");
    let _r = op.try_reserve_owned(C, 400).unwrap();
    let e = op.try_reserve_owned(C, 200).unwrap_err();
    assert_eq!(e.limit, Limit::Category);
    assert_eq!(
        e.to_string(),
        "Cannot reserve 200 bytes of managed memory (used: 400, quota: 500; top consumers: \
         'job/op' 400). Increase 'taskmanager.memory.managed.fraction' (or \
         'taskmanager.memory.managed.size')."
    );
}

#[test]
fn a_path_names_one_budget_and_a_refusal_stays_on_one_line() {
    let p = process(1 << 30);
    // A child named "a/b" and a child "b" of a child "a": two budgets, two paths.
    let slashed = p.child("a/b", ChildLimits::unlimited()).unwrap();
    let a = p.child("a", ChildLimits::unlimited()).unwrap();
    let b = a.child("b", ChildLimits::unlimited()).unwrap();
    assert_eq!((slashed.name(), slashed.path()), ("a/b", r#""a/b""#));
    assert_eq!((b.name(), b.path()), ("b", "a/b"));
    // Names that are empty, quoted or hold a line break are quoted too, consumers' included.
    let odd = b
        .child("line\nbreak", ChildLimits::unlimited().with(C, 100))
        .unwrap();
    assert_eq!(odd.path(), r#"a/b/"line\nbreak""#);
    let op = odd.consumer("");
    let _held = op.try_reserve_owned(C, 60).unwrap();
    let e = op.try_reserve_owned(C, 60).unwrap_err();
    assert_eq!(e.budget_name(), Some(r#"a/b/"line\nbreak""#));
    let message = e.to_string();
    assert!(!message.contains('\n'), "{message}");
    assert!(
        message.contains(r#"top consumers: 'a/b/"line\nbreak"/""' 60"#),
        "{message}"
    );
}

#[test]
fn slack_never_causes_a_refusal() {
    // Two slots share a job of 64 KiB; quanta of unspent bytes in one slot are given back
    // before the other is refused.
    let p = process(1 << 30);
    let job = p
        .child("job", ChildLimits::unlimited().with(C, 64 << 10))
        .unwrap();
    let a = job
        .child("a", ChildLimits::unlimited())
        .unwrap()
        .consumer("x");
    let b = job
        .child("b", ChildLimits::unlimited())
        .unwrap()
        .consumer("y");
    let ra = a.try_reserve_owned(C, 1).unwrap();
    drop(ra); // slot a keeps the unspent quantum
    let rb = b.try_reserve_owned(C, 64 << 10).unwrap();
    assert_eq!(job.used(C), 64 << 10);
    drop(rb);
}

#[test]
fn a_reserved_minimum_is_held_and_above_its_limit_is_an_error() {
    let p = process(1000);
    let job = p
        .child(
            "job",
            ChildLimits::unlimited().with(C, 800).with_reserved(C, 300),
        )
        .unwrap();
    assert_eq!(p.used(C), 300);
    let e = p
        .child("other", ChildLimits::unlimited().with_reserved(C, 701))
        .unwrap_err();
    assert_eq!(e.limit, Limit::Category);
    assert_eq!(p.used(C), 300, "a failed child holds nothing");
    let e = job
        .child(
            "bad",
            ChildLimits::unlimited().with(C, 10).with_reserved(C, 11),
        )
        .unwrap_err();
    assert_eq!(e.budget_name(), Some("job/bad"));
    let c = job.consumer("c");
    let r = c.try_reserve_owned(C, 200).unwrap();
    assert_eq!(
        p.used(C),
        300,
        "use within the reserved minimum takes nothing more"
    );
    drop((r, c, job));
    assert_eq!(p.used(C), 0);
}

/// A consumer holding reservations that it drops when asked.
struct Spiller {
    held: Mutex<Vec<ConsumerReservation>>,
    asked: AtomicU64,
}

impl Spiller {
    fn new() -> Arc<Spiller> {
        Arc::new(Spiller {
            held: Mutex::new(Vec::new()),
            asked: AtomicU64::new(0),
        })
    }

    fn reclaim(&self, _: Category, bytes: u64) -> u64 {
        self.asked.fetch_add(1, Ordering::Relaxed);
        let mut held = self.held.lock().unwrap();
        let mut freed = 0;
        while freed < bytes {
            let Some(r) = held.pop() else { break };
            freed += r.size();
        }
        freed
    }
}

#[test]
fn reclaim_frees_enough_for_a_request_siblings_first_largest_first() {
    let p = process(1 << 30);
    let job = p
        .child("job", ChildLimits::unlimited().with(C, 1000))
        .unwrap();
    let slot = job.child("slot", ChildLimits::unlimited()).unwrap();
    let other = job.child("other", ChildLimits::unlimited()).unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut spillers = Vec::new();
    for (budget, name, size) in [
        (&slot, "small", 100),
        (&slot, "big", 300),
        (&other, "far", 500),
    ] {
        let c = budget.consumer(name);
        let s = Spiller::new();
        s.held
            .lock()
            .unwrap()
            .push(c.try_reserve_owned(C, size).unwrap());
        let (s2, o, n) = (Arc::clone(&s), Arc::clone(&order), name.to_owned());
        c.set_reclaimer(move |cat, bytes| {
            o.lock().unwrap().push(n.clone());
            s2.reclaim(cat, bytes)
        });
        spillers.push((c, s));
    }
    let me = slot.consumer("me");
    // 900 used: 450 more needs 350 freed: the sibling "big" (300) then "small" (100).
    let r = me.try_reserve_owned(C, 450).unwrap();
    assert_eq!(*order.lock().unwrap(), ["big", "small"]);
    assert_eq!(job.used(C), 950);
    drop(r);
    // The requester is not asked unless it opted in.
    let mine = Spiller::new();
    let m2 = Arc::clone(&mine);
    me.set_reclaimer(move |c, b| m2.reclaim(c, b));
    mine.held
        .lock()
        .unwrap()
        .push(me.try_reserve_owned(C, 400).unwrap());
    // 900 used: 200 more needs 100; the sibling "small" and "big" hold nothing now, so the
    // cousin "far" is asked, not "me".
    let _r = me.try_reserve_owned(C, 200).unwrap();
    assert_eq!(*order.lock().unwrap(), ["big", "small", "far"]);
    assert_eq!(mine.asked.load(Ordering::Relaxed), 0);
    // Opted in, the requester is asked last.
    me.reclaim_for_own_requests(true);
    let _r2 = me.try_reserve_owned(C, 500).unwrap();
    assert_eq!(mine.asked.load(Ordering::Relaxed), 1);
}

#[test]
fn reclaim_that_frees_too_little_times_out_with_a_clear_error() {
    let p = process(1 << 30);
    let slot = p
        .child("slot", ChildLimits::unlimited().with(C, 1000))
        .unwrap();
    slot.set_reclaim_wait(Duration::from_millis(30));
    let stubborn = slot.consumer("stubborn");
    let _r = stubborn.try_reserve_owned(C, 900).unwrap();
    stubborn.set_reclaimer(|_, _| 0);
    let me = slot.consumer("me");
    let start = Instant::now();
    let e = me.try_reserve_owned(C, 200).unwrap_err();
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(30), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    let o = e.reclaim().unwrap();
    assert_eq!(o.freed, 0);
    assert!(o.waited_ms >= 30);
    let text = e.to_string();
    assert!(
        text.starts_with(
            "Cannot reserve 200 bytes of managed memory in budget 'slot' (used: 900, limit: \
             1000; top consumers: 'slot/stubborn' 900). Reclaim freed 0 bytes in "
        ),
        "{text}"
    );
    assert!(text.ends_with(" ms, not enough. Raise the managed limit of budget 'slot' or register reclaimers that spill."), "{text}");
    // Without any reclaimer there is nothing to wait for: refused at once.
    stubborn.clear_reclaimer();
    let e = me.try_reserve_owned(C, 200).unwrap_err();
    assert_eq!(e.reclaim(), None);
}

#[test]
fn a_wait_for_reclaim_ends_when_the_caller_stops_waiting() {
    let p = process(1 << 30);
    let slot = p
        .child("slot", ChildLimits::unlimited().with(C, 1000))
        .unwrap();
    slot.set_reclaim_wait(Duration::from_secs(60));
    let stubborn = slot.consumer("stubborn");
    let held = stubborn.try_reserve_owned(C, 900).unwrap();
    stubborn.set_reclaimer(|_, _| 0);
    let me = slot.consumer("me");
    let stop = Arc::new(AtomicBool::new(false));
    let stopper = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            stop.store(true, Ordering::Relaxed);
        })
    };
    let start = Instant::now();
    let e = me
        .try_charge_while(C, 200, &|| !stop.load(Ordering::Relaxed))
        .unwrap_err();
    let waited = start.elapsed();
    stopper.join().unwrap();
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    assert_eq!(e.reclaim().unwrap().freed, 0);
    assert_eq!((me.used(C), slot.used(C)), (0, 900), "nothing charged");
    // Told to stop before it starts: no reclaimer is asked, no wait.
    let asked = Arc::new(AtomicU64::new(0));
    let a2 = Arc::clone(&asked);
    stubborn.set_reclaimer(move |_, _| {
        a2.fetch_add(1, Ordering::Relaxed);
        0
    });
    let start = Instant::now();
    assert!(me.try_charge_while(C, 200, &|| false).is_err());
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(asked.load(Ordering::Relaxed), 0);
    // Waiting allowed, memory freed: charged.
    stubborn.clear_reclaimer();
    drop(held);
    me.try_charge_while(C, 200, &|| true).unwrap();
    assert_eq!(slot.used(C), 200);
    assert!(me.release(C, 200));
}

#[test]
fn an_asynchronous_reclaimer_is_waited_for() {
    let p = process(1 << 30);
    let slot = p
        .child("slot", ChildLimits::unlimited().with(C, 1000))
        .unwrap();
    let c = slot.consumer("async");
    let held = Arc::new(Mutex::new(Some(c.try_reserve_owned(C, 900).unwrap())));
    let h = Arc::clone(&held);
    c.set_reclaimer(move |_, _| {
        let h = Arc::clone(&h);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            h.lock().unwrap().take();
        });
        0
    });
    let r = slot.consumer("me").try_reserve_owned(C, 500).unwrap();
    assert_eq!(r.size(), 500);
}

#[test]
fn reclaimers_that_charge_release_and_panic_do_not_deadlock() {
    let p = process(1 << 30);
    let slot = p
        .child("slot", ChildLimits::unlimited().with(C, 1000))
        .unwrap();
    let spill = slot.consumer("spill");
    let held = Arc::new(Mutex::new(vec![spill.try_reserve_owned(C, 600).unwrap()]));
    let (h, s2) = (Arc::clone(&held), spill.clone());
    spill.set_reclaimer(move |c, _| {
        // Allocates, charges the same budget (too much: refused at once, no recursion), then
        // releases.
        let scratch = vec![0u8; 4096];
        assert!(s2.try_reserve_owned(c, 10_000).is_err());
        let freed = h.lock().unwrap().drain(..).map(|r| r.size()).sum();
        drop(scratch);
        freed
    });
    let panicky = slot.consumer("panicky");
    let _p = panicky.try_reserve_owned(C, 100).unwrap();
    panicky.set_reclaimer(|_, _| panic!("reclaimer bug"));
    let r = slot.consumer("me").try_reserve_owned(C, 800).unwrap();
    assert_eq!(slot.used(C), 900);
    drop(r);
}

#[test]
fn a_soft_watermark_reclaims_in_the_background() {
    let p = process(1 << 30);
    let slot = p
        .child("slot", ChildLimits::unlimited().with(C, 1 << 20))
        .unwrap();
    slot.set_soft_watermark(Some(0.5)).unwrap();
    assert!(slot.set_soft_watermark(Some(1.5)).is_err());
    assert!(slot.set_soft_watermark(Some(0.0)).is_err());
    let c = slot.consumer("cache");
    let s = Spiller::new();
    for _ in 0..12 {
        s.held
            .lock()
            .unwrap()
            .push(c.try_reserve_owned(C, 64 << 10).unwrap());
    }
    let s2 = Arc::clone(&s);
    c.set_reclaimer(move |cat, b| s2.reclaim(cat, b));
    // 768 KiB used, above 512 KiB: the next claim from the parent wakes the background thread.
    let _more = c.try_reserve_owned(C, 200 << 10).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while slot.used(C) > 512 << 10 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(slot.used(C) <= 512 << 10, "used {}", slot.used(C));
    assert!(s.asked.load(Ordering::Relaxed) >= 1);
}

#[test]
fn stress_every_level_stays_within_its_limit() {
    let p = process(4 << 20);
    let job = p
        .child("job", ChildLimits::unlimited().with(C, 3 << 20))
        .unwrap();
    let slots: Vec<_> = (0..3)
        .map(|i| {
            job.child(
                &format!("slot-{i}"),
                ChildLimits::unlimited()
                    .with(C, 1536 << 10)
                    .with_reserved(C, if i == 0 { 256 << 10 } else { 0 }),
            )
            .unwrap()
        })
        .collect();
    for s in &slots {
        s.set_reclaim_wait(Duration::from_millis(2));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for t in 0..4 {
        let consumer = slots[t % 3].consumer(&format!("t{t}"));
        let spill = Spiller::new();
        let s2 = Arc::clone(&spill);
        consumer.set_reclaimer(move |c, b| s2.reclaim(c, b));
        let stop = Arc::clone(&stop);
        threads.push(std::thread::spawn(move || {
            let mut x = t as u64 + 1;
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) || i < 2000 {
                i += 1;
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let size = (x % 96 + 1) << 10;
                if x % 3 == 0 {
                    spill.held.lock().unwrap().pop();
                } else if let Ok(r) = consumer.try_reserve_owned(C, size) {
                    spill.held.lock().unwrap().push(r);
                }
                if i > 20_000 {
                    break;
                }
            }
            spill.held.lock().unwrap().clear();
            drop(consumer);
        }));
    }
    let deadline = Instant::now() + Duration::from_millis(300);
    let mut checks = 0;
    while Instant::now() < deadline {
        assert!(p.used(C) <= 4 << 20);
        assert!(job.claimed(C) <= 3 << 20);
        for s in &slots {
            // `used ≤ claimed` holds by construction (a consumer counts bytes only after its
            // budget claimed them), so the claims are what to check.
            assert!(s.claimed(C) <= 1536 << 10);
        }
        checks += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    assert!(checks > 10);
    assert_eq!(job.used(C), 0);
    drop((slots, job));
    assert_eq!(p.used(C), 0);
    assert_eq!(p.release_errors(C), 0);
}
