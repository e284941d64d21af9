//! A toy windowed aggregation under one slot budget: two operators share the slot's managed
//! memory. `window-agg` keeps per-key state and, when asked to reclaim, spills its largest
//! keys to a temp file (merging them back when the window fires); `join-buffer` buffers
//! records and cannot spill. Their peak demand is more than the slot's limit: with reclaim the
//! job runs within budget; without it `join-buffer` is refused. The program checks both and
//! exits non-zero if either claim does not hold (`scripts/test` runs it).
//!
//! ```text
//! cargo run -p membudget-allocator --example windowed_aggregation
//! ```

use membudget_allocator::{
    Budget, Category, ChildLimits, ConsumerReservation, QuotaExceeded, Quotas, SharedBudget,
};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

const M: Category = Category::Managed;
const SLOT_LIMIT: u64 = 4 << 20;
const KEYS: u64 = 64;
const EVENTS: u64 = 20_000;
const EVENT_BYTES: usize = 256;

/// `window-agg`'s state: per key, the bytes of its partial aggregate and the memory it holds;
/// spilled keys live in a temp file until the window fires.
struct WindowState {
    keys: BTreeMap<u64, (Vec<u8>, ConsumerReservation)>,
    spill: std::fs::File,
    spilled: Vec<(u64, u64, u64)>, // (key, offset, len)
    spilled_bytes: u64,
}

impl WindowState {
    /// Spills the largest keys until `want` bytes are released; returns how many were.
    fn spill(&mut self, want: u64) -> u64 {
        let mut freed = 0;
        while freed < want {
            let Some((&key, _)) = self.keys.iter().max_by_key(|(_, (v, _))| v.len()) else {
                break;
            };
            let (data, reservation) = self.keys.remove(&key).expect("just found");
            let offset = self.spill.seek(SeekFrom::End(0)).expect("temp file");
            self.spill.write_all(&data).expect("temp file");
            self.spilled.push((key, offset, data.len() as u64));
            self.spilled_bytes += data.len() as u64;
            freed += reservation.size();
            drop((data, reservation)); // the reservation gives its bytes back
        }
        freed
    }
}

/// Runs the job; `Ok((spilled bytes, checksum))` or the refusal that stopped it.
fn run(reclaim: bool) -> Result<(u64, u64), QuotaExceeded> {
    let process = SharedBudget::from(Budget::new(Quotas::unlimited().with(M, 64 << 20)));
    let slot = process.child("slot-0", ChildLimits::unlimited().with(M, SLOT_LIMIT))?;
    let agg = slot.consumer("window-agg");
    let join = slot.consumer("join-buffer");
    let state = Arc::new(Mutex::new(WindowState {
        keys: BTreeMap::new(),
        spill: tempfile::tempfile().expect("temp file"),
        spilled: Vec::new(),
        spilled_bytes: 0,
    }));
    if reclaim {
        let s = Arc::clone(&state);
        agg.set_reclaimer(move |_category, bytes| s.lock().expect("state").spill(bytes));
        // window-agg may spill for its own growth too (it reserves before taking its lock).
        agg.reclaim_for_own_requests(true);
    }
    let mut join_buffer: Vec<(Vec<u8>, ConsumerReservation)> = Vec::new();
    let mut checksum = 0u64;
    for event in 0..EVENTS {
        let key = event * 2654435761 % KEYS;
        let payload = [(event % 251) as u8; EVENT_BYTES];
        // window-agg: append the event to its key's partial aggregate. Reserve first, without
        // holding the state's lock: reclaim may call the spiller, which takes it.
        let reservation = agg.try_reserve_owned(M, EVENT_BYTES as u64)?;
        {
            let mut s = state.lock().expect("state");
            match s.keys.get_mut(&key) {
                Some((data, held)) => {
                    data.extend_from_slice(&payload);
                    held.merge(reservation).expect("same consumer and category");
                }
                None => {
                    s.keys.insert(key, (payload.to_vec(), reservation));
                }
            }
        }
        // join-buffer: holds the last 8000 events for a join it cannot spill.
        join_buffer.push((
            payload.to_vec(),
            join.try_reserve_owned(M, EVENT_BYTES as u64)?,
        ));
        if join_buffer.len() > 8000 {
            drop(join_buffer.remove(0)); // the oldest record leaves the join window
        }
    }
    // The window fires: fold the in-memory keys and let their memory go, then read the spilled
    // ones back chunk by chunk (without holding the state's lock: reading back is charged, and
    // a refusal may ask the spiller).
    let (mut spill, spilled, spilled_bytes) = {
        let mut s = state.lock().expect("state");
        for (data, _) in std::mem::take(&mut s.keys).into_values() {
            checksum = data
                .iter()
                .fold(checksum, |c, b| c.wrapping_add(u64::from(*b)));
        }
        let file = s.spill.try_clone().expect("temp file");
        (file, std::mem::take(&mut s.spilled), s.spilled_bytes)
    };
    drop(join_buffer);
    for (_key, offset, len) in spilled {
        let _r = agg.try_reserve_owned(M, len)?;
        let mut chunk = vec![0u8; len as usize];
        spill.seek(SeekFrom::Start(offset)).expect("temp file");
        spill.read_exact(&mut chunk).expect("temp file");
        checksum = chunk
            .iter()
            .fold(checksum, |c, b| c.wrapping_add(u64::from(*b)));
    }
    let peak = slot.report().category(M).map_or(0, |c| c.peak);
    assert!(peak <= SLOT_LIMIT, "the slot stayed within its limit");
    Ok((spilled_bytes, checksum))
}

fn main() {
    let expected: u64 = (0..EVENTS).map(|e| (e % 251) * EVENT_BYTES as u64).sum();
    match run(true) {
        Ok((spilled, checksum)) => {
            assert_eq!(checksum, expected, "every event aggregated once");
            assert!(spilled > 0, "window-agg spilled when asked");
            println!(
                "with reclaim: ran within {SLOT_LIMIT} bytes, window-agg spilled {spilled} bytes"
            );
        }
        Err(e) => {
            eprintln!("with reclaim the job should run within its budget, but: {e}");
            std::process::exit(1);
        }
    }
    match run(false) {
        Ok(_) => {
            eprintln!("without reclaim the job should not fit in {SLOT_LIMIT} bytes, but it did");
            std::process::exit(1);
        }
        Err(e) => println!("without reclaim: {e}"),
    }
}
