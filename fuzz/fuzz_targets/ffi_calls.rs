//! Drives random sequences of C-ABI calls — including bogus and stale ids, NULLs, double
//! recycles and frees, wrong categories, batch requests and recycles, torn `struct_size`s in
//! option and statistics structs, child budgets (nested, limited, freed under live children,
//! made with a wrong runtime or name), budget reports — against a simple model of what the host holds, and checks:
//! no crash (torn structs live in heap blocks of exactly `struct_size` bytes, so AddressSanitizer
//! catches a read or write past them), every status is the one the model predicts for the
//! obviously-wrong calls, `mb_usage` agrees with the model after every step, and once everything
//! is given back the accounting is exactly balanced.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use membudget::*;
use std::ffi::{c_char, CStr};
use std::ptr::{null, null_mut};

const SEG: u64 = 32 * 1024;

#[derive(Arbitrary, Debug)]
enum Op {
    Reserve { category: u8, kib: u16 },
    Release { category: u8, kib: u16 },
    Alloc { category: u8, size: u16, align_log2: u8 },
    Free { pick: u8 },
    FreeBogus { addr: usize },
    PoolNew { min: u8, max: u8 },
    PoolFree { pick: u8 },
    Request { pick: u8, timeout: bool },
    Recycle { pick: u8 },
    RecycleStale { pick: u8 },
    RecycleBogus { id: u64 },
    Managed { owner: u8, n: u8 },
    ManagedRelease { pick: u8 },
    ManagedReleaseAll { owner: u8 },
    BogusRuntime { handle: usize },
    BogusPool { handle: usize },
    NullOut,
    RequestMany { pick: u8, n: u8 },
    RecycleMany { picks: Vec<u8>, stale: bool },
    Stats { pick: u8, size: u16 },
    TornOptions { size: u16, tail: u8 },
    TornUsage { category: u8, size: u16 },
    ChildNew { parent: Option<u8>, limit_kib: Option<u16>, rt: ChildRuntime, name: u8 },
    ChildReserve { pick: u8, category: u8, kib: u16 },
    ChildRelease { pick: u8, category: u8, kib: u16 },
    ChildFree { pick: u8 },
    ChildStale { pick: u8 },
    Report { pick: Option<u8>, len: u16 },
}

/// What `mb_budget_child_new` gets as `rt`.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum ChildRuntime {
    Null,
    Own,
    Bogus(usize),
}

/// Names `mb_budget_child_new` is given: good ones, and the two it must refuse.
const CHILD_NAMES: [&CStr; 5] = [c"job", c"slot-0", c"window-agg", c"", c"a/b"];

/// A child budget the host made: its handle (kept once freed, to be refused), its parent's
/// index, its limit per category (`u64::MAX`: none of its own) and what the host reserved
/// through it.
struct ModelChild {
    handle: *mut mb_budget_child,
    live: bool,
    parent: Option<usize>,
    limits: [u64; 5],
    own: [u64; 5],
}

/// Where `struct_size` may end in `mb_runtime_options`: at a field's end (ABI 1.0 ended at 40;
/// 1.1 added the plan options up to 80).
const OPTION_FIELD_ENDS: [usize; 17] =
    [4, 8, 16, 24, 28, 32, 36, 40, 48, 52, 56, 60, 64, 68, 72, 76, 80];
/// Where `struct_size` may end in `mb_category_usage`.
const USAGE_FIELD_ENDS: [usize; 11] = [4, 8, 16, 24, 32, 40, 48, 56, 64, 68, 72];
/// Where `struct_size` may end in `mb_pool_stats`.
const STATS_FIELD_ENDS: [usize; 8] = [4, 8, 16, 24, 32, 40, 48, 56];

// Each list ends at its struct's size, so a struct that grows fails to build here instead of
// making the oracle wrong (the options list once stopped at ABI 1.0's 40 bytes).
const _: () = {
    assert!(OPTION_FIELD_ENDS[OPTION_FIELD_ENDS.len() - 1] == size_of::<mb_runtime_options>());
    assert!(USAGE_FIELD_ENDS[USAGE_FIELD_ENDS.len() - 1] == size_of::<mb_category_usage>());
    assert!(STATS_FIELD_ENDS[STATS_FIELD_ENDS.len() - 1] == size_of::<mb_pool_stats>());
};

/// Whether a host struct of `size` bytes is accepted: at least its first two fields, ending on
/// a field (or past the library's struct), and at most 4096 bytes.
fn accepted(size: usize, ends: &[usize]) -> bool {
    let full = *ends.last().unwrap();
    size >= ends[1] && size <= 4096 && (size >= full || ends.contains(&size))
}

/// `bytes` in a heap block of exactly their length (at least 4: the `struct_size` field).
fn exact(bytes: &[u8]) -> Box<[u8]> {
    bytes.to_vec().into_boxed_slice()
}

struct Host {
    rt: *mut mb_runtime,
    reserved: [u64; 5],
    allocs: Vec<(*mut u8, u32, u64)>,
    pools: Vec<*mut mb_local_pool>,
    freed_pools: Vec<*mut mb_local_pool>,
    buffers: Vec<mb_buffer>,
    recycled: Vec<u64>,
    pages: Vec<(u64, u64)>,
    children: Vec<ModelChild>,
}

/// The calling thread's last error message (for assertion messages).
fn last_error() -> String {
    let mut buf = [0u8; 1024];
    let mut needed = 0;
    // SAFETY: a buffer of its own length and a valid out-pointer.
    unsafe { mb_last_error_message(buf.as_mut_ptr().cast(), buf.len(), &mut needed) };
    CStr::from_bytes_until_nul(&buf).map_or_else(|_| String::new(), |s| s.to_string_lossy().into_owned())
}

fn pick<T>(v: &[T], i: u8) -> Option<usize> {
    (!v.is_empty()).then(|| i as usize % v.len())
}

fn usage(rt: *const mb_runtime, category: u32) -> mb_category_usage {
    let mut u = mb_category_usage {
        struct_size: std::mem::size_of::<mb_category_usage>() as u32,
        ..Default::default()
    };
    // SAFETY: a valid out struct.
    assert_eq!(unsafe { mb_usage(rt, category, &mut u) }, MB_OK);
    u
}

fn runtime() -> *mut mb_runtime {
    let props: [*const c_char; 4] = [
        c"taskmanager.memory.process.size=1g".as_ptr(),
        c"taskmanager.memory.network.min=1m".as_ptr(),
        c"taskmanager.memory.network.max=1m".as_ptr(),
        c"taskmanager.memory.managed.size=4m".as_ptr(),
    ];
    let opts = mb_runtime_options {
        properties: props.as_ptr(),
        properties_len: props.len() as u32,
        ignore_container: 1,
        ..Default::default()
    };
    let mut rt = null_mut();
    // SAFETY: valid options and out-pointer.
    assert_eq!(unsafe { mb_runtime_new(&opts, &mut rt) }, MB_OK);
    rt
}

impl Host {
    fn check_usage(&self) {
        for c in 0..5u32 {
            let u = usage(self.rt, c);
            assert_eq!(u.host_reserved, self.reserved[c as usize]);
            let allocated: u64 = self.allocs.iter().filter(|a| a.1 == c).map(|a| a.2).sum();
            assert_eq!(u.host_allocated, allocated);
            let children: u64 = (0..self.children.len())
                .filter(|&i| self.children[i].parent.is_none())
                .map(|i| self.child_used(i, c as usize))
                .sum();
            let expected = match c {
                MB_CATEGORY_NETWORK => u.host_reserved + allocated + 32 * SEG,
                MB_CATEGORY_MANAGED => u.host_reserved + allocated + self.pages.len() as u64 * SEG,
                _ => u.host_reserved + allocated,
            } + children;
            // Child budgets claim from the runtime's budget in quanta and keep what they have not
            // spent (at most two quanta of 1 MiB each), so the runtime counts up to that more.
            assert!(
                u.used >= expected && u.used - expected <= self.slack_bound(),
                "category {c}: used {} for {expected} (+ at most {} unspent)",
                u.used,
                self.slack_bound()
            );
            assert!(u.used <= u.quota || u.enforced == 0);
            for (i, child) in self.children.iter().enumerate().filter(|(_, ch)| ch.live) {
                let mut used = u64::MAX;
                // SAFETY: a live child handle and a valid out-pointer.
                assert_eq!(unsafe { mb_budget_child_used(child.handle, c, &mut used) }, MB_OK);
                assert_eq!(used, self.child_used(i, c as usize), "child {i}, category {c}");
            }
        }
    }

    /// Most bytes of a category the child budgets can hold claimed and unspent: two quanta of
    /// 1 MiB per budget (a freed one lives on while budgets under it do).
    fn slack_bound(&self) -> u64 {
        self.children.len() as u64 * (2 << 20)
    }

    /// Bytes of category `c` the model's child `i` and everything under it hold.
    fn child_used(&self, i: usize, c: usize) -> u64 {
        let below: u64 = (0..self.children.len())
            .filter(|&j| self.children[j].parent == Some(i))
            .map(|j| self.child_used(j, c))
            .sum();
        self.children[i].own[c] + below
    }

    /// Whether `bytes` more of category `c` fit every limit from child `i` up.
    fn child_fits(&self, i: usize, c: usize, bytes: u64) -> bool {
        let mut at = Some(i);
        while let Some(n) = at {
            if self.child_used(n, c).saturating_add(bytes) > self.children[n].limits[c] {
                return false;
            }
            at = self.children[n].parent;
        }
        true
    }

    // SAFETY (for the whole function): every call passes either live values the model tracks
    // or deliberately bogus ones the library must refuse without touching memory.
    #[allow(clippy::undocumented_unsafe_blocks, clippy::multiple_unsafe_ops_per_block)]
    fn step(&mut self, op: Op) {
        let rt = self.rt;
        unsafe {
            match op {
                Op::Reserve { category, kib } => {
                    let bytes = u64::from(kib) * 1024;
                    let rc = mb_reserve(rt, u32::from(category), bytes);
                    if category >= 5 {
                        assert_eq!(rc, MB_ERR_INVALID_ARGUMENT);
                    } else if rc == MB_OK {
                        self.reserved[category as usize] += bytes;
                    } else {
                        assert_eq!(rc, MB_ERR_QUOTA_EXCEEDED);
                    }
                }
                Op::Release { category, kib } => {
                    let bytes = u64::from(kib) * 1024;
                    let rc = mb_release(rt, u32::from(category), bytes);
                    if category >= 5 || bytes > self.reserved[category as usize] {
                        assert_eq!(rc, MB_ERR_INVALID_ARGUMENT);
                    } else {
                        assert_eq!(rc, MB_OK);
                        self.reserved[category as usize] -= bytes;
                    }
                }
                Op::Alloc { category, size, align_log2 } => {
                    let align = 1u64 << (align_log2 % 20);
                    let mut p = null_mut();
                    let rc = mb_alloc(rt, u32::from(category), u64::from(size), align, &mut p);
                    if category >= 5 || size == 0 || align > 65536 {
                        assert_eq!(rc, MB_ERR_INVALID_ARGUMENT);
                    } else if rc == MB_OK {
                        assert_eq!(p as u64 % align, 0);
                        p.write_bytes(0xA5, size as usize);
                        self.allocs.push((p, u32::from(category), u64::from(size)));
                    } else {
                        assert_eq!(rc, MB_ERR_QUOTA_EXCEEDED);
                    }
                }
                Op::Free { pick: i } => {
                    if let Some(i) = pick(&self.allocs, i) {
                        let (p, ..) = self.allocs.swap_remove(i);
                        assert_eq!(mb_free(rt, p), MB_OK);
                        assert_eq!(mb_free(rt, p), MB_ERR_INVALID_ARGUMENT, "double free");
                    }
                }
                Op::FreeBogus { addr } => {
                    if addr != 0 && !self.allocs.iter().any(|a| a.0 as usize == addr) {
                        assert_eq!(mb_free(rt, addr as *mut u8), MB_ERR_INVALID_ARGUMENT);
                    }
                }
                Op::PoolNew { min, max } => {
                    let mut pool = null_mut();
                    let (min, max) = (u32::from(min % 40), u32::from(max % 40));
                    let rc = mb_local_pool_new(rt, min, max, &mut pool);
                    if rc == MB_OK {
                        self.pools.push(pool);
                    } else {
                        assert!(rc == MB_ERR_INVALID_ARGUMENT || rc == MB_ERR_QUOTA_EXCEEDED);
                    }
                }
                Op::PoolFree { pick: i } => {
                    if let Some(i) = pick(&self.pools, i) {
                        let p = self.pools.swap_remove(i);
                        assert_eq!(mb_local_pool_free(p), MB_OK);
                        assert_eq!(mb_local_pool_free(p), MB_ERR_INVALID_HANDLE);
                        self.freed_pools.push(p);
                    } else if let Some(i) = pick(&self.freed_pools, i) {
                        let mut b = std::mem::zeroed();
                        assert_eq!(mb_buffer_request(self.freed_pools[i], &mut b), MB_ERR_INVALID_HANDLE);
                    }
                }
                Op::Request { pick: i, timeout } => {
                    if let Some(i) = pick(&self.pools, i) {
                        let mut b = std::mem::zeroed::<mb_buffer>();
                        let rc = if timeout {
                            mb_buffer_request_timeout(self.pools[i], 0, &mut b)
                        } else {
                            mb_buffer_request(self.pools[i], &mut b)
                        };
                        if rc == MB_OK {
                            assert_eq!(b.capacity, SEG);
                            b.ptr.write_bytes(0x5A, SEG as usize);
                            self.buffers.push(b);
                        } else {
                            assert!(rc == MB_ERR_UNAVAILABLE || rc == MB_ERR_TIMEOUT, "{rc}");
                        }
                    }
                }
                Op::Recycle { pick: i } => {
                    if let Some(i) = pick(&self.buffers, i) {
                        let b = self.buffers.swap_remove(i);
                        assert_eq!(mb_buffer_recycle(b.id), MB_OK);
                        self.recycled.push(b.id);
                    }
                }
                Op::RecycleStale { pick: i } => {
                    if let Some(i) = pick(&self.recycled, i) {
                        assert_eq!(mb_buffer_recycle(self.recycled[i]), MB_ERR_INVALID_HANDLE);
                    }
                }
                Op::RecycleBogus { id } => {
                    if !self.buffers.iter().any(|b| b.id == id) {
                        assert_eq!(mb_buffer_recycle(id), MB_ERR_INVALID_HANDLE);
                    }
                }
                Op::Managed { owner, n } => {
                    let n = u32::from(n % 64);
                    let mut segs = vec![std::mem::zeroed::<mb_segment>(); n as usize];
                    let rc = mb_managed_allocate_pages(rt, u64::from(owner % 4), n, segs.as_mut_ptr());
                    if rc == MB_OK {
                        for s in segs {
                            s.ptr.write_bytes(1, s.size as usize);
                            self.pages.push((u64::from(owner % 4), s.id));
                        }
                    } else {
                        assert_eq!(rc, MB_ERR_QUOTA_EXCEEDED);
                    }
                }
                Op::ManagedRelease { pick: i } => {
                    if let Some(i) = pick(&self.pages, i) {
                        let (_, id) = self.pages.swap_remove(i);
                        assert_eq!(mb_managed_release(rt, id), MB_OK);
                        assert_eq!(mb_managed_release(rt, id), MB_ERR_INVALID_HANDLE);
                    }
                }
                Op::ManagedReleaseAll { owner } => {
                    let owner = u64::from(owner % 4);
                    assert_eq!(mb_managed_release_all(rt, owner), MB_OK);
                    self.pages.retain(|p| p.0 != owner);
                }
                Op::BogusRuntime { handle } => {
                    if handle != rt as usize && handle != 0 {
                        let h = handle as *mut mb_runtime;
                        let rc = mb_reserve(h, 0, 1);
                        assert_eq!(rc, MB_ERR_INVALID_HANDLE);
                    }
                }
                Op::BogusPool { handle } => {
                    if handle != 0 && !self.pools.iter().any(|p| *p as usize == handle) {
                        let mut b = std::mem::zeroed();
                        assert_eq!(mb_buffer_request(handle as *const mb_local_pool, &mut b), MB_ERR_INVALID_HANDLE);
                    }
                }
                Op::RequestMany { pick: i, n } => {
                    if let Some(i) = pick(&self.pools, i) {
                        let n = u32::from(n % 40);
                        let mut bufs = vec![std::mem::zeroed::<mb_buffer>(); n as usize];
                        let mut got = u32::MAX;
                        let rc = mb_buffer_request_many(self.pools[i], n, bufs.as_mut_ptr(), &mut got);
                        if rc == MB_OK {
                            assert!(got <= n && (got > 0 || n == 0), "{got} of {n}");
                        } else {
                            assert_eq!(rc, MB_ERR_UNAVAILABLE);
                            assert_eq!(got, 0);
                        }
                        for b in &bufs[..got as usize] {
                            assert_eq!(b.capacity, SEG);
                            b.ptr.write_bytes(0x3C, SEG as usize);
                            self.buffers.push(*b);
                        }
                    }
                }
                Op::RecycleMany { picks, stale } => {
                    let mut ids = Vec::new();
                    for p in picks.into_iter().take(40) {
                        if let Some(i) = pick(&self.buffers, p) {
                            ids.push(self.buffers.swap_remove(i).id);
                        }
                    }
                    let valid = ids.len();
                    if stale {
                        if let Some(i) = pick(&self.recycled, valid as u8) {
                            ids.push(self.recycled[i]);
                        }
                    }
                    let rc = mb_buffer_recycle_many(ids.as_ptr(), ids.len() as u32);
                    if ids.len() > valid {
                        assert_eq!(rc, MB_ERR_INVALID_HANDLE);
                    } else {
                        assert_eq!(rc, MB_OK);
                    }
                    // Every valid id was recycled, once.
                    for id in &ids[..valid] {
                        assert_eq!(mb_buffer_recycle(*id), MB_ERR_INVALID_HANDLE);
                    }
                    self.recycled.extend_from_slice(&ids[..valid]);
                }
                Op::Stats { pick: i, size } => {
                    let size = usize::from(size % 80).max(4);
                    if let Some(i) = pick(&self.pools, i) {
                        let mut bytes = vec![0xEEu8; size];
                        bytes[..4].copy_from_slice(&(size as u32).to_ne_bytes());
                        let mut block = exact(&bytes);
                        let rc = mb_local_pool_stats(self.pools[i], block.as_mut_ptr().cast());
                        if accepted(size, &STATS_FIELD_ENDS) {
                            assert_eq!(rc, MB_OK);
                            assert_eq!(&block[4..8], &[0, 0, 0, 0], "not destroyed");
                        } else {
                            assert_eq!(rc, MB_ERR_INVALID_ARGUMENT);
                            assert!(block[4..].iter().all(|&b| b == 0xEE), "nothing written");
                        }
                    }
                }
                Op::TornOptions { size, tail } => {
                    let size = usize::from(size % 72).max(4);
                    let props: [*const c_char; 3] = [
                        c"taskmanager.memory.process.size=1g".as_ptr(),
                        c"taskmanager.memory.network.min=1m".as_ptr(),
                        c"taskmanager.memory.network.max=1m".as_ptr(),
                    ];
                    let opts = mb_runtime_options {
                        properties: props.as_ptr(),
                        properties_len: props.len() as u32,
                        ignore_container: 1,
                        ..Default::default()
                    };
                    let full = std::mem::size_of::<mb_runtime_options>();
                    let whole = std::slice::from_raw_parts((&opts as *const mb_runtime_options).cast::<u8>(), full);
                    let mut bytes = vec![tail; size];
                    let n = size.min(full);
                    bytes[..n].copy_from_slice(&whole[..n]);
                    bytes[..4].copy_from_slice(&(size as u32).to_ne_bytes());
                    let block = exact(&bytes);
                    let mut made = null_mut();
                    let rc = mb_runtime_new(block.as_ptr().cast(), &mut made);
                    let zero_tail = size <= full || tail == 0;
                    if accepted(size, &OPTION_FIELD_ENDS) && zero_tail {
                        // Fields past the size keep their defaults: a plan without the
                        // properties is a configuration error; with them, a runtime.
                        assert!(rc == MB_OK || rc == MB_ERR_CONFIG, "size {size}: {rc}");
                        if size >= 32 {
                            assert_eq!(rc, MB_OK, "size {size}");
                        }
                        if rc == MB_OK {
                            assert_eq!(mb_runtime_free(made), MB_OK);
                        }
                    } else {
                        assert_eq!(rc, MB_ERR_INVALID_ARGUMENT, "size {size}");
                    }
                }
                Op::TornUsage { category, size } => {
                    let size = usize::from(size % 100).max(4);
                    let mut bytes = vec![0xEEu8; size];
                    bytes[..4].copy_from_slice(&(size as u32).to_ne_bytes());
                    let mut block = exact(&bytes);
                    let category = u32::from(category % 6);
                    let rc = mb_usage(rt, category, block.as_mut_ptr().cast());
                    if !accepted(size, &USAGE_FIELD_ENDS) || category >= 5 {
                        assert_eq!(rc, MB_ERR_INVALID_ARGUMENT, "size {size}");
                        assert!(block[4..].iter().all(|&b| b == 0xEE), "nothing written");
                    } else {
                        assert_eq!(rc, MB_OK);
                        assert_eq!(u32::from_ne_bytes(block[4..8].try_into().unwrap()), category);
                        assert!(block[72.min(size)..].iter().all(|&b| b == 0), "zeros past ours");
                    }
                }
                Op::ChildNew { parent, limit_kib, rt: given, name } => {
                    let parent_index = parent.and_then(|p| pick(&self.children, p));
                    // A freed parent's handle is refused (its budget may live on for its
                    // children).
                    let parent_live = parent_index.map(|i| self.children[i].live);
                    let parent_handle = parent_index.map_or(null_mut(), |i| self.children[i].handle);
                    let name = CHILD_NAMES[name as usize % CHILD_NAMES.len()];
                    // Limits on heap, direct and managed; network and overhead none of their own.
                    let mut limits = [u64::MAX; 5];
                    for c in [MB_CATEGORY_HEAP, MB_CATEGORY_DIRECT, MB_CATEGORY_MANAGED] {
                        limits[c as usize] = limit_kib.map_or(u64::MAX, |k| u64::from(k) * 1024);
                    }
                    let rt_arg = match given {
                        ChildRuntime::Null => null(),
                        ChildRuntime::Own => rt.cast_const(),
                        ChildRuntime::Bogus(h) => h as *const mb_runtime,
                    };
                    let bogus_rt = !rt_arg.is_null() && rt_arg != rt.cast_const();
                    let mut out = null_mut();
                    let rc = mb_budget_child_new(
                        rt_arg,
                        parent_handle,
                        name.as_ptr(),
                        limits.as_ptr(),
                        null(),
                        &mut out,
                    );
                    let bad_name = name.to_bytes().is_empty() || name.to_bytes().contains(&b'/');
                    match parent_live {
                        Some(false) => assert!(
                            rc == MB_ERR_INVALID_HANDLE || (bad_name && rc == MB_ERR_INVALID_ARGUMENT),
                            "freed parent: {rc}"
                        ),
                        _ if bad_name => assert_eq!(rc, MB_ERR_INVALID_ARGUMENT),
                        None if rt_arg.is_null() => assert_eq!(rc, MB_ERR_NULL_POINTER),
                        None if bogus_rt => assert_eq!(rc, MB_ERR_INVALID_HANDLE),
                        Some(true) if bogus_rt => assert_eq!(rc, MB_ERR_INVALID_ARGUMENT),
                        _ => {
                            assert_eq!(rc, MB_OK, "{}", last_error());
                            // No reclaimers: a refused request needs no wait.
                            assert_eq!(mb_budget_set_reclaim_wait(out, 0), MB_OK);
                            self.children.push(ModelChild {
                                handle: out,
                                live: true,
                                parent: parent_index,
                                limits,
                                own: [0; 5],
                            });
                        }
                    }
                    if rc != MB_OK {
                        assert!(out.is_null(), "nothing made");
                    }
                }
                Op::ChildReserve { pick: i, category, kib } => {
                    if let Some(i) = pick(&self.children, i) {
                        let h = self.children[i].handle;
                        let bytes = u64::from(kib) * 1024;
                        let c = u32::from(category % 6);
                        let room = if c < 5 { usage(rt, c).available } else { 0 };
                        let rc = mb_budget_child_reserve(h, c, bytes);
                        if c >= 5 {
                            // The category is checked before the handle.
                            assert_eq!(rc, MB_ERR_INVALID_ARGUMENT);
                        } else if !self.children[i].live {
                            assert_eq!(rc, MB_ERR_INVALID_HANDLE);
                        } else if !self.child_fits(i, c as usize, bytes) {
                            // Limits count used bytes: slack is given back before a refusal.
                            assert_eq!(rc, MB_ERR_QUOTA_EXCEEDED);
                        } else {
                            // The runtime's room counts the children's slack as used, and
                            // they give it back before a refusal: above the room, either.
                            if bytes <= room {
                                assert_eq!(rc, MB_OK, "{}", last_error());
                            } else {
                                assert!(rc == MB_OK || rc == MB_ERR_QUOTA_EXCEEDED, "{rc}");
                            }
                            if rc == MB_OK {
                                self.children[i].own[c as usize] += bytes;
                            }
                        }
                    }
                }
                Op::ChildRelease { pick: i, category, kib } => {
                    if let Some(i) = pick(&self.children, i) {
                        let h = self.children[i].handle;
                        let bytes = u64::from(kib) * 1024;
                        let c = u32::from(category % 6);
                        let rc = mb_budget_child_release(h, c, bytes);
                        if c >= 5 {
                            // The category is checked before the handle.
                            assert_eq!(rc, MB_ERR_INVALID_ARGUMENT);
                        } else if !self.children[i].live {
                            assert_eq!(rc, MB_ERR_INVALID_HANDLE);
                        } else if bytes > self.children[i].own[c as usize] {
                            assert_eq!(rc, MB_ERR_INVALID_ARGUMENT);
                        } else {
                            assert_eq!(rc, MB_OK);
                            self.children[i].own[c as usize] -= bytes;
                        }
                    }
                }
                Op::ChildFree { pick: i } => {
                    if let Some(i) = pick(&self.children, i) {
                        let child = &mut self.children[i];
                        if child.live {
                            // What it reserved is released; children made under it stay.
                            assert_eq!(mb_budget_child_free(child.handle), MB_OK);
                            child.live = false;
                            child.own = [0; 5];
                        } else {
                            assert_eq!(mb_budget_child_free(child.handle), MB_ERR_INVALID_HANDLE);
                        }
                    }
                }
                Op::ChildStale { pick: i } => {
                    if let Some(i) = pick(&self.children, i).filter(|&i| !self.children[i].live) {
                        let h = self.children[i].handle;
                        let mut used = 0;
                        assert_eq!(mb_budget_child_used(h, 0, &mut used), MB_ERR_INVALID_HANDLE);
                        assert_eq!(mb_budget_set_reclaim_wait(h, 5), MB_ERR_INVALID_HANDLE);
                    }
                }
                Op::Report { pick: i, len } => {
                    let child = i.and_then(|i| pick(&self.children, i));
                    let handle = child.map_or(null(), |i| self.children[i].handle.cast_const());
                    let mut needed = 0usize;
                    let mut buf = vec![0xEEu8; usize::from(len % 4096)];
                    let rc = mb_budget_report_json(rt, handle, buf.as_mut_ptr().cast(), buf.len(), &mut needed);
                    if child.is_some_and(|i| !self.children[i].live) {
                        assert_eq!(rc, MB_ERR_INVALID_HANDLE);
                    } else if needed <= buf.len() {
                        assert_eq!(rc, MB_OK);
                        assert_eq!(buf[needed - 1], 0, "NUL-terminated");
                        let json = std::str::from_utf8(&buf[..needed - 1]).expect("UTF-8");
                        assert!(json.starts_with('{') && json.ends_with('}'), "{json}");
                    } else {
                        assert_eq!(rc, MB_ERR_BUFFER_TOO_SMALL);
                    }
                }
                Op::NullOut => {
                    assert_eq!(mb_alloc(rt, 0, 8, 8, null_mut()), MB_ERR_NULL_POINTER);
                    assert_eq!(mb_usage(rt, 0, null_mut()), MB_ERR_NULL_POINTER);
                    assert_eq!(mb_reserve(null(), 0, 1), MB_ERR_NULL_POINTER);
                    assert_eq!(mb_local_pool_new(rt, 0, 1, null_mut()), MB_ERR_NULL_POINTER);
                    assert_eq!(mb_managed_allocate_pages(rt, 0, 1, null_mut()), MB_ERR_NULL_POINTER);
                    if let Some(p) = self.pools.first() {
                        assert_eq!(mb_buffer_request(*p, null_mut()), MB_ERR_NULL_POINTER);
                    }
                }
            }
        }
        self.check_usage();
    }

    #[allow(clippy::undocumented_unsafe_blocks, clippy::multiple_unsafe_ops_per_block)]
    fn give_everything_back(mut self) {
        unsafe {
            for b in self.buffers.drain(..) {
                assert_eq!(mb_buffer_recycle(b.id), MB_OK);
            }
            for p in self.pools.drain(..) {
                assert_eq!(mb_local_pool_free(p), MB_OK);
            }
            for (p, ..) in self.allocs.drain(..) {
                assert_eq!(mb_free(self.rt, p), MB_OK);
            }
            for (c, r) in self.reserved.iter_mut().enumerate() {
                assert_eq!(mb_release(self.rt, c as u32, *r), MB_OK);
                *r = 0;
            }
            for owner in 0..4 {
                assert_eq!(mb_managed_release_all(self.rt, owner), MB_OK);
            }
            self.pages.clear();
            for child in self.children.iter_mut().filter(|c| c.live) {
                assert_eq!(mb_budget_child_free(child.handle), MB_OK);
                child.live = false;
                child.own = [0; 5];
            }
            // Every child budget is gone: what they claimed is back, slack included.
            self.children.clear();
            self.check_usage();
            for c in [MB_CATEGORY_HEAP, MB_CATEGORY_DIRECT, MB_CATEGORY_MANAGED, MB_CATEGORY_OVERHEAD] {
                assert_eq!(usage(self.rt, c).used, 0, "category {c} balanced");
            }
            assert_eq!(usage(self.rt, MB_CATEGORY_NETWORK).used, 32 * SEG);
            assert_eq!(mb_runtime_free(self.rt), MB_OK);
            assert_eq!(mb_runtime_free(self.rt), MB_ERR_INVALID_HANDLE);
        }
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let mut host = Host {
        rt: runtime(),
        reserved: [0; 5],
        allocs: Vec::new(),
        pools: Vec::new(),
        freed_pools: Vec::new(),
        buffers: Vec::new(),
        recycled: Vec::new(),
        pages: Vec::new(),
        children: Vec::new(),
    };
    for op in ops.into_iter().take(256) {
        host.step(op);
    }
    host.give_everything_back();
});
