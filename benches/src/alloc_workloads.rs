//! Workloads for comparing global allocators by instruction count (`benches/callgrind-alloc.sh`)
//! and wall time: the `alloc_shim_quota` and `alloc_shim_mimalloc` examples install
//! `QuotaAllocator` or bare mimalloc with `#[global_allocator]` and run these, so every
//! allocation goes through the real `__rust_alloc`/`__rust_dealloc` shim as in an application.

use std::alloc::Layout;
use std::collections::BTreeMap;
use std::hint::black_box;

/// `n` alloc+free pairs of `size` bytes (alignment 8) through the global allocator, in a loop
/// the compiler cannot see through (not inlined, pointers passed through `black_box`).
#[inline(never)]
// Calling the global allocator's entry points directly is what is measured here.
#[allow(clippy::disallowed_methods)]
pub fn pairs(size: usize, n: u64) {
    let Ok(layout) = Layout::from_size_align(size.max(1), 8) else {
        return;
    };
    for _ in 0..n {
        // SAFETY: `layout` has a non-zero size.
        let p = unsafe { std::alloc::alloc(black_box(layout)) };
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        // SAFETY: `p` was just allocated with `layout` and is not used afterwards.
        unsafe { std::alloc::dealloc(black_box(p), layout) };
    }
}

/// A JSON document of `records` objects (strings, numbers, arrays, nested objects), the shape
/// of a typical event batch.
pub fn json_document(records: usize) -> String {
    let mut s = String::from("[");
    for i in 0..records {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            "{{\"id\":{i},\"user\":\"user-{u}\",\"event\":\"{e}\",\"ts\":{ts},\
             \"tags\":[\"t{a}\",\"t{b}\",\"region-{r}\"],\
             \"payload\":{{\"bytes\":{bytes},\"ok\":{ok},\"ratio\":{ratio},\"path\":\"/api/v1/items/{i}\"}}}}",
            u = i % 97,
            e = ["click", "view", "purchase", "scroll"][i % 4],
            ts = 1_700_000_000_000u64 + i as u64 * 37,
            a = i % 11,
            b = i % 13,
            r = i % 5,
            bytes = i * 131 % 65_536,
            ok = i % 3 != 0,
            ratio = (i % 1000) as f64 / 7.0,
        ));
    }
    s.push(']');
    s
}

/// `rounds` times: parse `doc` into a `serde_json::Value` tree and serialize it back (every
/// string, array and object is an allocation). Returns the serialized bytes, so nothing is
/// optimised away.
#[inline(never)]
pub fn json_round_trips(doc: &str, rounds: u32) -> usize {
    let mut bytes = 0;
    for _ in 0..rounds {
        let v: serde_json::Value = serde_json::from_str(black_box(doc)).expect("valid JSON");
        bytes += serde_json::to_string(&v).expect("serializable").len();
        drop(black_box(v));
    }
    bytes
}

/// `rounds` times: fill a `BTreeMap<String, Vec<u64>>` with `keys` entries, update and remove
/// half of them, then drop it — node splits and merges, string keys, growing vectors.
#[inline(never)]
pub fn btree_churn(keys: u64, rounds: u32) -> usize {
    let mut sum = 0;
    for _ in 0..rounds {
        let mut m: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for k in 0..keys {
            m.insert(
                format!("key-{:08}", k.wrapping_mul(2_654_435_761) % 1_000_003),
                vec![k],
            );
        }
        for (i, v) in m.values_mut().enumerate() {
            v.extend(0..(i as u64 % 8));
        }
        let victims: Vec<String> = m.keys().step_by(2).cloned().collect();
        for k in &victims {
            m.remove(k);
        }
        sum += m.values().map(Vec::len).sum::<usize>();
        drop(black_box(m));
    }
    sum
}

/// The command line of an `alloc_shim_*` example: runs one workload and prints its wall time per
/// operation (`ns_per_op <f64>`), for the comparison script.
///
/// `pairs <size> <n>` | `json <records> <rounds>` | `btree <keys> <rounds>`
pub fn run_from_args(allocator: &str) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| -> u64 {
        args.get(i)
            .map(|s| {
                s.parse()
                    .unwrap_or_else(|_| panic!("argument {i} '{s}' is not a number"))
            })
            .unwrap_or(default)
    };
    let start;
    let ops;
    match args.first().map(String::as_str) {
        Some("pairs") => {
            let (size, n) = (arg(1, 16) as usize, arg(2, 1_000_000));
            pairs(size, 1000); // the thread's first allocations (registration, warm heap)
            start = std::time::Instant::now();
            pairs(size, n);
            ops = n;
        }
        Some("json") => {
            let (records, rounds) = (arg(1, 1000) as usize, arg(2, 10) as u32);
            let doc = json_document(records);
            start = std::time::Instant::now();
            black_box(json_round_trips(&doc, rounds));
            ops = u64::from(rounds);
        }
        Some("btree") => {
            let (keys, rounds) = (arg(1, 10_000), arg(2, 10) as u32);
            start = std::time::Instant::now();
            black_box(btree_churn(keys, rounds));
            ops = u64::from(rounds);
        }
        _ => {
            eprintln!(
                "usage: alloc_shim_{allocator} pairs <size> <n> | json <records> <rounds> | \
                 btree <keys> <rounds>"
            );
            std::process::exit(2);
        }
    }
    let ns = start.elapsed().as_nanos() as f64 / ops.max(1) as f64;
    println!("ns_per_op {ns:.3}");
}
