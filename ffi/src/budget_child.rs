//! Child budgets (`mb_budget_child_*`): per-category limits below a runtime's budget (job →
//! slot → operator), charged by the host, with a reclaim callback and a JSON report.
//!
//! A child handle is a child budget plus one consumer named `host` that the handle's
//! `mb_budget_child_reserve`/`_release` charge: the report and refusals name it by the
//! child's path (`job-1/slot-0/host`). Freeing the handle releases what it still holds; the
//! budget itself lives on while child handles made under it do, and gives everything back to
//! its parent when the last of them is freed.

use crate::call::Call;
use crate::category::category;
use crate::error::{Error, MB_ERR_DESTROYED};
use crate::handle::{Cache, Handle, Handles};
use crate::panic::boundary;
use crate::runtime::{copy_out, mb_runtime, RUNTIMES};
use core::ffi::{c_char, c_void, CStr};
use membudget_allocator::{BudgetHandle, Category, ChildLimits, MemoryConsumer, Reclaimer};
use std::sync::Mutex;
use std::thread::LocalKey;
use std::time::Duration;

/// An opaque child budget handle (a generation-checked token, not an address).
pub struct mb_budget_child {
    _private: [u8; 0],
}

/// A reclaim callback: asked to free about `bytes` of `category` (`MB_CATEGORY_*`) held by the
/// child it was registered on; returns the bytes it freed now (it may also free later, from
/// any thread, with `mb_budget_child_release`). Called on the thread whose request did not fit,
/// outside any lock; it may call any `mb_*` function. It must not unwind (throw) into the
/// library.
pub type mb_reclaim_callback =
    Option<unsafe extern "C" fn(ctx: *mut c_void, category: u32, bytes: u64) -> u64>;

/// Live child budgets.
static CHILDREN: Handles<Child> = Handles::new(5);
thread_local! {
    static CHILD_CACHE: Cache<Child> = const { Cache::new() };
}

/// A child budget and the consumer its handle charges (`None` once freed), and the runtime it
/// belongs to (its handle's address).
struct Child(Mutex<Option<(BudgetHandle, MemoryConsumer)>>, usize);

impl Child {
    /// The budget and consumer, or `MB_ERR_DESTROYED` if the handle or its runtime was freed
    /// meanwhile.
    fn parts(&self, call: Call) -> Result<(BudgetHandle, MemoryConsumer), Error> {
        let rt = core::ptr::without_provenance::<mb_runtime>(self.1);
        if RUNTIMES.get(call, rt).is_err() {
            return Err(call.error(
                MB_ERR_DESTROYED,
                "the runtime this child budget belongs to was freed",
            ));
        }
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or_else(|| call.error(MB_ERR_DESTROYED, "the child budget was freed"))
    }

    /// Whether neither the handle nor its runtime was freed (polled by a request waiting for
    /// reclaim, which stops waiting once they are).
    fn alive(&self, call: Call) -> bool {
        let rt = core::ptr::without_provenance::<mb_runtime>(self.1);
        RUNTIMES.get(call, rt).is_ok()
            && self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .is_some()
    }
}

impl Handle for Child {
    type C = mb_budget_child;
    const KIND: &'static str = "child budget handle";
    const PLURAL: &'static str = "child budgets";
    const ARG: &'static str = "child";

    fn cache() -> &'static LocalKey<Cache<Self>> {
        &CHILD_CACHE
    }

    /// Drops the handle's consumer (releasing what it holds) and its reference to the budget.
    fn shut_down(&self) {
        let parts = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        drop(parts);
    }
}

/// The host's reclaim callback and its context.
struct HostReclaimer {
    callback: unsafe extern "C" fn(*mut c_void, u32, u64) -> u64,
    ctx: *mut c_void,
}

// SAFETY: `mb_budget_on_reclaim`'s contract: the callback may be called from any thread with
// `ctx`, so the pair may be sent and shared.
unsafe impl Send for HostReclaimer {}
// SAFETY: as above.
unsafe impl Sync for HostReclaimer {}

impl Reclaimer for HostReclaimer {
    fn reclaim(&self, category: Category, bytes: u64) -> u64 {
        // SAFETY: the host registered `callback` for `ctx` and promised it may be called from
        // any thread and does not unwind.
        unsafe { (self.callback)(self.ctx, u32::from(category.code()), bytes) }
    }
}

/// Reads `n` per-category values (`MB_CATEGORY_*` order), or `default` for each if `p` is NULL.
///
/// # Safety
/// `p` is NULL or valid for reads of 5 `u64`s.
unsafe fn per_category(p: *const u64, default: u64) -> [u64; Category::COUNT] {
    if p.is_null() {
        return [default; Category::COUNT];
    }
    let mut out = [default; Category::COUNT];
    for (i, v) in out.iter_mut().enumerate() {
        // SAFETY: `p` is valid for 5 reads (contract) and `i < 5`: in bounds.
        let at = unsafe { p.add(i) };
        // SAFETY: as above; unaligned reads are fine for any host array.
        *v = unsafe { at.read_unaligned() };
    }
    out
}

/// Creates a child budget named `name` (UTF-8, no `/`) under `parent` (then `rt` is NULL or the
/// runtime `parent` was made under), or under the runtime's budget when `parent` is NULL. Once
/// the runtime is freed, every call on its child budgets but `mb_budget_child_free` answers
/// `MB_ERR_DESTROYED`. `limits` and `reserved` are NULL or arrays of 5 byte counts
/// indexed by `MB_CATEGORY_*`: each category's limit (`UINT64_MAX` = none of its own) and the
/// minimum the child holds from its parent from now on. Its charges count against every
/// ancestor. Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_QUOTA_EXCEEDED` (a reserved minimum above its limit or more than
/// the ancestors can give: nothing is held), `MB_ERR_INVALID_ARGUMENT` (name; `rt` not
/// `parent`'s runtime),
/// `MB_ERR_NULL_POINTER`, `MB_ERR_INVALID_HANDLE`, `MB_ERR_DESTROYED`.
///
/// # Safety
/// `name` is NUL-terminated; `limits`, `reserved` NULL or valid for reads of 5 `uint64_t`;
/// `out` valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mb_budget_child_new(
    rt: *const mb_runtime,
    parent: *const mb_budget_child,
    name: *const c_char,
    limits: *const u64,
    reserved: *const u64,
    out: *mut *mut mb_budget_child,
) -> i32 {
    boundary("mb_budget_child_new", |call| {
        // SAFETY: `out` is valid for a write per this function's contract.
        let out = unsafe { call.out(out, "out") }?;
        if name.is_null() {
            return Err(call.null("name"));
        }
        // SAFETY: `name` is NUL-terminated per the contract.
        let name = unsafe { CStr::from_ptr(name) }.to_str().map_err(|e| {
            call.invalid(format_args!(
                "name is not UTF-8 (at byte {})",
                e.valid_up_to()
            ))
        })?;
        if name.is_empty() || name.contains('/') {
            return Err(call.invalid(format_args!(
                "name '{name}' must be non-empty and without '/' (it is a path segment)"
            )));
        }
        // SAFETY: NULL or valid for 5 reads per the contract.
        let limits = unsafe { per_category(limits, u64::MAX) };
        // SAFETY: as above.
        let reserved = unsafe { per_category(reserved, 0) };
        let mut l = ChildLimits::unlimited();
        for c in Category::ALL {
            l = l
                .with(c, limits[c.index()])
                .with_reserved(c, reserved[c.index()]);
        }
        let (handle, runtime) = if parent.is_null() {
            (
                RUNTIMES.get(call, rt)?.shared_budget().child(name, l)?,
                rt.addr(),
            )
        } else {
            let p = CHILDREN.get(call, parent)?;
            if !rt.is_null() && rt.addr() != p.1 {
                // A runtime given beside a parent must be the parent's: a host that passes
                // another (or a freed or forged one) is told, not served under the parent.
                return Err(call.invalid(format_args!(
                    "rt {rt:p} is not the runtime parent {parent:p} was made under; pass NULL or \
                     that runtime"
                )));
            }
            (p.parts(call)?.0.child(name, l)?, p.1)
        };
        let consumer = handle.consumer("host");
        let child = Child(Mutex::new(Some((handle, consumer))), runtime);
        CHILDREN.insert(call, child).map(|h| out.write(h))
    })
}

/// Frees a child handle: what it reserved is released, its reclaim callback is dropped (never
/// called after this returns, except by calls already running). Child handles made under it
/// stay valid; the budget returns everything to its parent when the last is freed.
/// `mb_budget_child_free(NULL)` does nothing. Never blocks.
///
/// Returns `MB_OK` or `MB_ERR_INVALID_HANDLE` (already freed: a double free is refused).
///
/// # Safety
/// None: the handle is checked.
#[no_mangle]
pub unsafe extern "C" fn mb_budget_child_free(child: *mut mb_budget_child) -> i32 {
    boundary("mb_budget_child_free", |_| CHILDREN.free(child))
}

/// Charges `bytes` of `category` to the child (and every ancestor). If a limit refuses, the
/// reclaim callbacks of other children under that limit are asked first (largest first), and
/// the call waits up to the child's reclaim wait (`mb_budget_set_reclaim_wait`, default 100
/// ms) for them to free memory; freeing the child or its runtime meanwhile ends the wait.
///
/// Returns `MB_OK`, `MB_ERR_QUOTA_EXCEEDED` (nothing charged; the message names the limit, the
/// top consumers and what reclaim did), `MB_ERR_INVALID_ARGUMENT`, `MB_ERR_NULL_POINTER`,
/// `MB_ERR_INVALID_HANDLE`, `MB_ERR_DESTROYED` (the child or its runtime was freed, also while
/// the request waited; nothing charged).
///
/// # Safety
/// None: every argument is checked.
#[no_mangle]
pub unsafe extern "C" fn mb_budget_child_reserve(
    child: *const mb_budget_child,
    category_code: u32,
    bytes: u64,
) -> i32 {
    boundary("mb_budget_child_reserve", |call| {
        let c = category(call.name(), category_code)?;
        // Not through the lookup cache: reclaim runs host callbacks that may use handles.
        let child = CHILDREN.get(call, child)?;
        let (_, consumer) = child.parts(call)?;
        // A wait for reclaim ends once the handle or its runtime is freed (the refusal then
        // says so): freeing never leaves a thread waiting on a budget nobody can free into.
        match consumer.try_charge_while(c, bytes, &|| child.alive(call)) {
            Ok(()) => Ok(()),
            Err(e) => match child.parts(call) {
                Ok(_) => Err(Error::from(e)),
                Err(destroyed) => Err(destroyed),
            },
        }
    })
}

/// Gives back `bytes` of `category` reserved through this child. Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_INVALID_ARGUMENT` (bad category, or more than the child holds:
/// nothing is released then), `MB_ERR_NULL_POINTER`, `MB_ERR_INVALID_HANDLE`,
/// `MB_ERR_DESTROYED`.
///
/// # Safety
/// None: every argument is checked.
#[no_mangle]
pub unsafe extern "C" fn mb_budget_child_release(
    child: *const mb_budget_child,
    category_code: u32,
    bytes: u64,
) -> i32 {
    boundary("mb_budget_child_release", |call| {
        let c = category(call.name(), category_code)?;
        let (_, consumer) = CHILDREN.get(call, child)?.parts(call)?;
        if consumer.release(c, bytes) {
            Ok(())
        } else {
            Err(call.invalid(format_args!(
                "cannot release {bytes} bytes of {c} memory: the child holds {}",
                consumer.used(c)
            )))
        }
    })
}

/// Bytes of `category` used by the child and everything under it, into `*used`. Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_INVALID_ARGUMENT`, `MB_ERR_NULL_POINTER`, `MB_ERR_INVALID_HANDLE`,
/// `MB_ERR_DESTROYED`.
///
/// # Safety
/// `used` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mb_budget_child_used(
    child: *const mb_budget_child,
    category_code: u32,
    used: *mut u64,
) -> i32 {
    boundary("mb_budget_child_used", |call| {
        // SAFETY: `used` is valid for a write per this function's contract.
        let out = unsafe { call.out(used, "used") }?;
        let c = category(call.name(), category_code)?;
        let (b, _) = CHILDREN.get(call, child)?.parts(call)?;
        out.write(b.used(c));
        Ok(())
    })
}

/// Registers `callback` (NULL: removes it) as the child's reclaimer: when another request
/// under a limit this child shares does not fit, it is asked to free memory (see
/// `mb_reclaim_callback`). `ctx` is passed back unchanged. Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_NULL_POINTER`, `MB_ERR_INVALID_HANDLE`, `MB_ERR_DESTROYED`.
///
/// # Safety
/// `callback` may be called with `ctx` from any thread until the child is freed or the
/// callback replaced, and must not unwind.
#[no_mangle]
pub unsafe extern "C" fn mb_budget_on_reclaim(
    child: *const mb_budget_child,
    callback: mb_reclaim_callback,
    ctx: *mut c_void,
) -> i32 {
    boundary("mb_budget_on_reclaim", |call| {
        let (_, consumer) = CHILDREN.get(call, child)?.parts(call)?;
        match callback {
            Some(callback) => consumer.set_reclaimer(HostReclaimer { callback, ctx }),
            None => consumer.clear_reclaimer(),
        }
        Ok(())
    })
}

/// Sets how long a request of this child (and of children made under it later) waits for
/// reclaim before it is refused, in milliseconds. Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_NULL_POINTER`, `MB_ERR_INVALID_HANDLE`, `MB_ERR_DESTROYED`.
///
/// # Safety
/// None: every argument is checked.
#[no_mangle]
pub unsafe extern "C" fn mb_budget_set_reclaim_wait(
    child: *const mb_budget_child,
    wait_ms: u32,
) -> i32 {
    boundary("mb_budget_set_reclaim_wait", |call| {
        let (b, _) = CHILDREN.get(call, child)?.parts(call)?;
        b.set_reclaim_wait(Duration::from_millis(u64::from(wait_ms)));
        Ok(())
    })
}

/// Copies the budget tree as JSON into `buf`, NUL-terminated: the runtime's budget with every
/// child budget and consumer when `child` is NULL, else that child's subtree (then `rt` is NULL
/// or the child's runtime). Each node has `name`, `categories` (`category`, `used`, `unspent`,
/// `limit`, `reserved`, `peak`), `consumers` (`name`, `reclaimable`, `used`) and `children`.
/// `*needed` receives the size needed including the NUL; call with `buf = NULL, len = 0` to
/// learn it. Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_BUFFER_TOO_SMALL`, `MB_ERR_NULL_POINTER`, `MB_ERR_INVALID_HANDLE`,
/// `MB_ERR_INVALID_ARGUMENT` (`rt` is not the child's runtime), `MB_ERR_DESTROYED`.
///
/// # Safety
/// `buf` is NULL or valid for writes of `len` bytes; `needed` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mb_budget_report_json(
    rt: *const mb_runtime,
    child: *const mb_budget_child,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> i32 {
    boundary("mb_budget_report_json", |call| {
        let report = if child.is_null() {
            RUNTIMES.get(call, rt)?.shared_budget().report()
        } else {
            let c = CHILDREN.get(call, child)?;
            let (budget, _) = c.parts(call)?;
            // A runtime handle beside the child must be its own, never silently ignored.
            if !rt.is_null() && rt.addr() != c.1 {
                return Err(call.invalid(format_args!(
                    "child budget {:#x} belongs to runtime {:#x}, not to rt {:#x}; pass its \
                     runtime or NULL",
                    child.addr(),
                    c.1,
                    rt.addr()
                )));
            }
            budget.report()
        };
        let json = serde_json::to_string(&report)
            .map_err(|e| call.invalid(format_args!("cannot render the report: {e}")))?;
        // SAFETY: forwarded from this function's contract.
        unsafe { copy_out(call, "budget report", &json, buf, len, needed) }
    })
}
