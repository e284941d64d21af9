//! The runtime handle: one memory plan, the budget it installs, and the pools that charge it.

use crate::error::{Error, MB_ERR_BUFFER_TOO_SMALL, MB_ERR_CONFIG, MB_ERR_OUT_OF_MEMORY};
use crate::host_memory::HostMemory;
use crate::managed::Managed;
use crate::options::{mb_runtime_options, RuntimeOptions};
use crate::panic::boundary;
use crate::plan::PlanOutput;
use crate::registry::{Cached, Guard, Registry};
use core::ffi::c_char;
use membudget_allocator::{Budget, SharedBudget};
use membudget_bufferpool::{BufferPoolError, NetworkBufferPool};
use std::cell::RefCell;
use std::sync::Arc;

/// An opaque runtime handle. Its value is a generation-checked token, not an address: a freed
/// or forged handle is refused with `MB_ERR_INVALID_HANDLE`, never dereferenced.
#[allow(non_camel_case_types)]
pub struct mb_runtime {
    _private: [u8; 0],
}

static RUNTIMES: Registry<Arc<Runtime>> = Registry::new(1);
thread_local! {
    static CACHE: Cached<Arc<Runtime>> = const { RefCell::new(None) };
}
const KIND: &str = "runtime handle";

/// One plan and everything that charges its budget.
#[derive(Debug)]
pub(crate) struct Runtime {
    network: Option<NetworkBufferPool>,
    managed: Managed,
    host: HostMemory,
    plan_json: String,
    jvm_args: String,
    budget: SharedBudget,
}

impl Runtime {
    /// A runtime over `budget` for a plan rendered as `plan`.
    pub(crate) fn new(budget: SharedBudget, plan: PlanOutput) -> Result<Runtime, Error> {
        budget.set_quotas(plan.quotas);
        let managed = Managed::new(plan.managed, plan.segment_size, budget.clone())?;
        let network = if plan.network_buffers == 0 {
            None
        } else {
            let n = usize::try_from(plan.network_buffers).map_err(|_| {
                Error::new(
                    MB_ERR_CONFIG,
                    format!(
                        "{} network buffers do not fit the address space",
                        plan.network_buffers
                    ),
                )
            })?;
            let network = NetworkBufferPool::new(n, plan.segment_size as usize, budget.clone())
                .map_err(|e| {
                    let status = match e {
                        BufferPoolError::OutOfMemory { .. } => MB_ERR_OUT_OF_MEMORY,
                        _ => MB_ERR_CONFIG,
                    };
                    Error::new(status, format!("mb_runtime_new: {e}"))
                })?;
            Some(network)
        };
        Ok(Runtime {
            network,
            managed,
            host: HostMemory::default(),
            plan_json: plan.json,
            jvm_args: plan.jvm_args,
            budget,
        })
    }

    /// The budget every allocation of this runtime charges.
    #[inline]
    pub(crate) fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The network buffer pool (`None` when the plan has no network memory).
    #[inline]
    pub(crate) fn network(&self) -> Option<&NetworkBufferPool> {
        self.network.as_ref()
    }

    /// Managed memory.
    #[inline]
    pub(crate) fn managed(&self) -> &Managed {
        &self.managed
    }

    /// The host's reservations and direct allocations.
    #[inline]
    pub(crate) fn host(&self) -> &HostMemory {
        &self.host
    }
}

impl Runtime {
    /// Releases everything the runtime lends out, at once: host reservations and blocks,
    /// managed pages (their ids become invalid), and the network pool (its local pools then
    /// report `MB_ERR_DESTROYED`; buffers still lent out return when recycled).
    fn shut_down(&self) {
        self.host.release_everything(&self.budget);
        self.managed.shut_down();
        if let Some(n) = &self.network {
            n.destroy();
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.host.release_everything(&self.budget);
    }
}

/// Runs `f` on the runtime behind `rt`, through this thread's handle cache (the hot path of
/// the budget calls).
///
/// # Errors
/// `MB_ERR_NULL_POINTER` for NULL, `MB_ERR_INVALID_HANDLE` for a freed or forged handle, and
/// whatever `f` returns.
#[inline]
pub(crate) fn with_runtime<R>(
    rt: *const mb_runtime,
    function: &str,
    f: impl FnOnce(&Runtime) -> Result<R, Error>,
) -> Result<R, Error> {
    if rt.is_null() {
        return Err(Error::null(function, "rt"));
    }
    let id = rt as usize as u64;
    RUNTIMES
        .with_cached(&CACHE, id, |r| f(r))
        .map_err(|why| Error::handle(KIND, id, why))?
}

/// Looks up the runtime behind `rt` for `function`.
///
/// # Errors
/// `MB_ERR_NULL_POINTER` for NULL, `MB_ERR_INVALID_HANDLE` for a freed or forged handle.
#[inline]
pub(crate) fn runtime(
    rt: *const mb_runtime,
    function: &str,
) -> Result<Guard<'static, Arc<Runtime>>, Error> {
    if rt.is_null() {
        return Err(Error::null(function, "rt"));
    }
    let id = rt as usize as u64;
    RUNTIMES.get(id).map_err(|why| Error::handle(KIND, id, why))
}

/// Creates a runtime: derives the memory plan from `options` (see `mb_runtime_options`; NULL
/// means all defaults), installs its quotas into the runtime's budget and sets up the managed
/// memory and network buffer pools sized by the plan. `*out` receives the handle.
///
/// Returns `MB_OK`, `MB_ERR_CONFIG` (the message is the same as the CLI's),
/// `MB_ERR_INVALID_ARGUMENT`, `MB_ERR_NULL_POINTER`. May block briefly reading the config file
/// and cgroup files.
///
/// # Safety
/// `options` is NULL or a valid `mb_runtime_options` of `options->struct_size` bytes whose
/// strings are NUL-terminated; `out` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mb_runtime_new(
    options: *const mb_runtime_options,
    out: *mut *mut mb_runtime,
) -> i32 {
    boundary("mb_runtime_new", || {
        if out.is_null() {
            return Err(Error::null("mb_runtime_new", "out"));
        }
        // SAFETY: forwarded from this function's contract.
        let opts = unsafe { RuntimeOptions::read(options) }?;
        let plan = crate::plan::make(&opts)?;
        let budget = if opts.global_budget {
            SharedBudget::global()
        } else {
            SharedBudget::from(Budget::unlimited())
        };
        let runtime = Arc::new(Runtime::new(budget, plan)?);
        let id = RUNTIMES
            .insert(runtime)
            .map_err(|_| Error::invalid("mb_runtime_new: too many live runtimes"))?;
        // SAFETY: `out` is non-null (checked) and valid for a write per the contract.
        unsafe { out.write(id as usize as *mut mb_runtime) };
        Ok(())
    })
}

/// Frees a runtime handle and shuts the runtime down at once: everything the host still holds
/// through `mb_reserve`/`mb_alloc` is released and freed, managed pages are returned (their
/// ids become invalid), and the network pool is destroyed: its local pools then answer
/// `MB_ERR_DESTROYED` (free them as usual), buffers still lent out stay valid until recycled.
/// `mb_runtime_free(NULL)` does nothing. Never blocks.
///
/// Returns `MB_OK` or `MB_ERR_INVALID_HANDLE` (already freed: a double free is refused).
///
/// # Safety
/// None beyond passing a value `mb_runtime_new` returned (any value is checked).
#[no_mangle]
pub unsafe extern "C" fn mb_runtime_free(rt: *mut mb_runtime) -> i32 {
    boundary("mb_runtime_free", || {
        if rt.is_null() {
            return Ok(());
        }
        let id = rt as usize as u64;
        let r = RUNTIMES
            .get(id)
            .map_err(|why| Error::handle(KIND, id, why))?;
        let removed = RUNTIMES
            .remove(id)
            .map_err(|why| Error::handle(KIND, id, why))?;
        r.shut_down();
        drop(r);
        drop(removed);
        RUNTIMES.forget_cached(&CACHE, id);
        Ok(())
    })
}

/// Copies the plan as JSON (exactly what `membudget plan --format json` prints) into `buf`,
/// NUL-terminated. `*needed` receives the size needed including the NUL; call with
/// `buf = NULL, len = 0` to learn it. Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_BUFFER_TOO_SMALL` (truncated; `*needed` says how much),
/// `MB_ERR_NULL_POINTER`, `MB_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `buf` is NULL or valid for writes of `len` bytes; `needed` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mb_plan_json(
    rt: *const mb_runtime,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> i32 {
    boundary("mb_plan_json", || {
        let r = runtime(rt, "mb_plan_json")?;
        // SAFETY: forwarded from this function's contract.
        unsafe { copy_out("mb_plan_json", "plan JSON", &r.plan_json, buf, len, needed) }
    })
}

/// Copies the JVM arguments of the plan (`-Xmx… -Xms… -XX:MaxDirectMemorySize=…
/// -XX:MaxMetaspaceSize=…`) into `buf`, NUL-terminated; sizes as for `mb_plan_json`.
/// Never blocks.
///
/// # Safety
/// As `mb_plan_json`.
#[no_mangle]
pub unsafe extern "C" fn mb_jvm_args(
    rt: *const mb_runtime,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> i32 {
    boundary("mb_jvm_args", || {
        let r = runtime(rt, "mb_jvm_args")?;
        // SAFETY: forwarded from this function's contract.
        unsafe {
            copy_out(
                "mb_jvm_args",
                "JVM arguments",
                &r.jvm_args,
                buf,
                len,
                needed,
            )
        }
    })
}

/// # Safety
/// As `crate::out::copy_str`.
unsafe fn copy_out(
    function: &str,
    what: &str,
    s: &str,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> Result<(), Error> {
    // SAFETY: forwarded from this function's contract.
    unsafe { crate::out::copy_str(s, buf, len, needed) }.map_err(|e| {
        if e.status() == MB_ERR_BUFFER_TOO_SMALL {
            Error::new(
                MB_ERR_BUFFER_TOO_SMALL,
                format!(
                    "{function}: a buffer of {len} bytes is too small for the {what}: {} bytes \
                     needed (see *needed)",
                    s.len() + 1
                ),
            )
        } else {
            Error::new(e.status(), format!("{function}: {}", e.message()))
        }
    })
}
