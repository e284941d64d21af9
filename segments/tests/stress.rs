//! Concurrency stress: threads allocate and release random page counts and byte reservations,
//! hand pages to other threads, and release owners while their pages are alive. At the end
//! every byte is back: `managed` used is 0, the page source holds every page, `verify_empty`.

use membudget_allocator::{Budget, Category, Quotas, SharedBudget};
use membudget_segments::{MemoryAllocationError, MemoryManager, MemorySegment, OwnerId};
use std::sync::mpsc;

const PAGE: usize = 4096;
const PAGES: u64 = 64;

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn many_threads_allocate_and_release_and_everything_comes_back() {
    let threads: u64 = if cfg!(miri) { 2 } else { 4 };
    let rounds: u64 = if cfg!(miri) { 30 } else { 20_000 };
    let budget = SharedBudget::from(Budget::new(
        Quotas::unlimited().with(Category::Managed, PAGES * PAGE as u64),
    ));
    let mm = MemoryManager::new(PAGES * PAGE as u64, PAGE, budget.clone()).unwrap();
    let (tx, rx) = mpsc::channel::<Vec<MemorySegment>>();
    std::thread::scope(|s| {
        // A thread that drops pages allocated elsewhere.
        s.spawn(move || {
            for pages in rx {
                for p in &pages {
                    assert_eq!(p.get_u64(0), p.as_ptr() as u64, "page content intact");
                }
            }
        });
        for t in 0..threads {
            let mm = mm.clone();
            let tx = tx.clone();
            let budget = budget.clone();
            s.spawn(move || {
                let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ (t + 1));
                let mut held: Vec<MemorySegment> = Vec::new();
                for round in 0..rounds {
                    let owner = OwnerId(t * 1_000_000 + round % 7);
                    match rng.below(6) {
                        0 | 1 => match mm.allocate_pages(owner, rng.below(9) as usize) {
                            Ok(mut pages) => {
                                for p in &mut pages {
                                    let addr = p.as_ptr() as u64;
                                    p.put_u64(0, addr);
                                }
                                held.extend(pages);
                            }
                            Err(MemoryAllocationError::InsufficientPages { .. }) => {}
                            Err(e) => panic!("unexpected: {e}"),
                        },
                        2 => {
                            let n = rng.below(held.len() as u64 + 1) as usize;
                            mm.release_many(held.drain(..n));
                        }
                        3 => {
                            let n = rng.below(held.len() as u64 + 1) as usize;
                            let _ = tx.send(held.split_off(held.len() - n));
                        }
                        4 => {
                            let bytes = rng.below(3 * PAGE as u64);
                            if mm.reserve_memory(owner, bytes).is_ok() {
                                mm.release_memory(owner, rng.below(bytes + 1));
                            }
                        }
                        _ => {
                            // Owner released with pages possibly still alive in `held`.
                            mm.release_all(owner);
                            mm.release_all_memory(owner);
                        }
                    }
                    assert!(budget.used(Category::Managed) <= PAGES * PAGE as u64);
                }
                drop(held);
                for o in 0..7 {
                    mm.release_owner(OwnerId(t * 1_000_000 + o));
                }
            });
        }
        drop(tx);
    });
    assert_eq!(budget.used(Category::Managed), 0);
    assert!(mm.verify_empty(), "available {}", mm.available_memory());
    let source = mm.page_source();
    assert_eq!(source.pages_outstanding(), 0);
    assert_eq!(source.pages_idle(), source.pages_total());
    assert!(source.pages_total() as u64 >= PAGES.min(8));
}
