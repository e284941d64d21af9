//! The runtime handle: one memory plan, the budget it installs, and the pools that charge it.

use crate::buffer::Lending;
use crate::call::Call;
use crate::error::{
    Error, MB_ERR_BUFFER_TOO_SMALL, MB_ERR_CONFIG, MB_ERR_DESTROYED, MB_ERR_OUT_OF_MEMORY,
    MB_ERR_UNAVAILABLE,
};
use crate::handle::{Cache, Handle, Handles};
use crate::host_memory::HostMemory;
use crate::managed_memory::ManagedMemory;
use crate::options::{mb_runtime_options, RuntimeOptions};
use crate::panic::boundary;
use crate::plan::PlanOutput;
use core::ffi::c_char;
use membudget_allocator::{Budget, SharedBudget};
use membudget_bufferpool::{BufferPoolError, LocalBufferPool, NetworkBufferPool};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::LocalKey;

/// An opaque runtime handle. Its value is a generation-checked token, not an address: a freed
/// or forged handle is refused with `MB_ERR_INVALID_HANDLE`, never dereferenced.
#[allow(non_camel_case_types)]
pub struct mb_runtime {
    _private: [u8; 0],
}

/// Live runtimes.
pub(crate) static RUNTIMES: Handles<Runtime> = Handles::new(1);
thread_local! {
    static RUNTIME_CACHE: Cache<Runtime> = const { Cache::new() };
}

impl Handle for Runtime {
    type C = mb_runtime;
    const KIND: &'static str = "runtime handle";
    const PLURAL: &'static str = "runtimes";
    const ARG: &'static str = "rt";

    fn cache() -> &'static LocalKey<Cache<Self>> {
        &RUNTIME_CACHE
    }

    fn shut_down(&self) {
        Runtime::shut_down(self);
    }
}

/// One plan and everything that charges its budget.
///
/// Shutting down takes out and drops everything that holds memory (the network pool with its
/// segments, the managed memory with its page source, the host's blocks), so a reference that
/// outlives the handle (another thread's lookup cache) pins only this small struct.
#[derive(Debug)]
pub(crate) struct Runtime {
    network: Mutex<Network>,
    managed: ManagedMemory,
    host: HostMemory,
    /// `None`: quotas from the environment, no plan.
    plan_json: Option<String>,
    jvm_args: Option<String>,
    budget: SharedBudget,
    /// Held while this runtime's plan is the process-wide budget's (`MB_RUNTIME_GLOBAL_BUDGET`);
    /// let go when the runtime is freed.
    global: Mutex<Option<GlobalClaim>>,
}

/// Whether a live runtime's quotas are installed in the process-wide budget.
static GLOBAL_TAKEN: AtomicBool = AtomicBool::new(false);

/// The process-wide budget taken by one runtime: a second would silently replace the first's
/// quotas (its pools sized by one plan, its budget enforcing another), so it is refused.
#[derive(Debug)]
pub(crate) struct GlobalClaim;

impl GlobalClaim {
    /// Takes the process-wide budget for a new runtime.
    ///
    /// # Errors
    /// `MB_ERR_INVALID_ARGUMENT` while another live runtime holds it.
    fn take(call: Call) -> Result<GlobalClaim, Error> {
        // Acquire/Release: the claim orders one runtime's use of the process-wide budget
        // before the next one's quotas.
        GLOBAL_TAKEN
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| GlobalClaim)
            .map_err(|_| {
                call.invalid(
                    "options->flags has MB_RUNTIME_GLOBAL_BUDGET, but another live runtime's \
                     plan already enforces the process-wide budget, and installing this one \
                     would silently replace its quotas; free that runtime first, or leave the \
                     flag unset for an isolated budget",
                )
            })
    }
}

impl Drop for GlobalClaim {
    fn drop(&mut self) {
        GLOBAL_TAKEN.store(false, Ordering::Release);
    }
}

/// A runtime's network buffers.
#[derive(Debug)]
enum Network {
    /// The plan has no network memory (a JobManager, or a network max of 0).
    None,
    /// The pool, and how the host names its buffers.
    Live {
        pool: NetworkBufferPool,
        lending: Arc<Lending>,
    },
    /// The runtime was freed.
    ShutDown,
}

impl Runtime {
    /// A runtime over `budget` for a plan rendered as `plan`.
    pub(crate) fn new(
        budget: SharedBudget,
        global: Option<GlobalClaim>,
        plan: PlanOutput,
    ) -> Result<Runtime, Error> {
        // The process-wide budget's quotas before ours: put back if this runtime is not made,
        // so a failed mb_runtime_new changes nothing (its pools would have charged under them).
        let previous = global.as_ref().map(|_| budget.quotas());
        budget.set_quotas(plan.quotas);
        let pools = Self::make_pools(&budget, &plan);
        let (managed, network) = match pools {
            Ok(pools) => pools,
            Err(e) => {
                if let Some(quotas) = previous {
                    budget.set_quotas(quotas);
                }
                return Err(e);
            }
        };
        Ok(Runtime {
            network: Mutex::new(network),
            managed,
            host: HostMemory::default(),
            plan_json: plan.json,
            jvm_args: plan.jvm_args,
            budget,
            global: Mutex::new(global),
        })
    }

    /// The plan's managed memory and network pool over `budget` (its quotas installed).
    fn make_pools(
        budget: &SharedBudget,
        plan: &PlanOutput,
    ) -> Result<(ManagedMemory, Network), Error> {
        let managed = ManagedMemory::new(plan.managed, plan.segment_size, budget.clone())?;
        let network = if plan.network_buffers == 0 {
            Network::None
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
            let lending = Arc::new(Lending::new(n)?);
            let pool = NetworkBufferPool::new(n, plan.segment_size as usize, budget.clone())
                .map_err(|e| {
                    let status = match e {
                        BufferPoolError::OutOfMemory { .. } => MB_ERR_OUT_OF_MEMORY,
                        _ => MB_ERR_CONFIG,
                    };
                    Error::new(status, format!("mb_runtime_new: {e}"))
                })?;
            Network::Live { pool, lending }
        };
        Ok((managed, network))
    }

    /// The budget every allocation of this runtime charges.
    #[inline]
    pub(crate) fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The runtime's budget as an owned handle (child budgets keep one).
    pub(crate) fn shared_budget(&self) -> &SharedBudget {
        &self.budget
    }

    /// Creates a local pool of `min..=max` buffers on the network pool; returns it with the
    /// network's lending.
    ///
    /// # Errors
    /// `MB_ERR_UNAVAILABLE` (the plan has no network memory), `MB_ERR_DESTROYED` (the runtime
    /// was freed meanwhile), or the pool's refusal (`pool_error`).
    pub(crate) fn create_local_pool(
        &self,
        call: Call,
        min: usize,
        max: usize,
        pool_error: impl FnOnce(BufferPoolError) -> Error,
    ) -> Result<(LocalBufferPool, Arc<Lending>), Error> {
        // Held while the pool is made, so shutting down (which takes the network out) destroys
        // it with the others.
        let network = lock(&self.network);
        match &*network {
            Network::Live { pool, lending } => {
                let local = pool.create_buffer_pool(min, max).map_err(pool_error)?;
                Ok((local, Arc::clone(lending)))
            }
            Network::None => Err(call.error(
                MB_ERR_UNAVAILABLE,
                "the plan has no network buffers (a JobManager plan, or \
                 'taskmanager.memory.network.max' is 0)",
            )),
            Network::ShutDown => Err(freed_meanwhile(call)),
        }
    }

    /// Managed memory.
    #[inline]
    pub(crate) fn managed(&self) -> &ManagedMemory {
        &self.managed
    }

    /// The host's reservations and direct allocations.
    #[inline]
    pub(crate) fn host(&self) -> &HostMemory {
        &self.host
    }
}

/// `MB_ERR_DESTROYED` for a call that found its runtime freed by another thread meanwhile.
#[cold]
pub(crate) fn freed_meanwhile(call: Call) -> Error {
    call.error(
        MB_ERR_DESTROYED,
        "the runtime was freed (mb_runtime_free) by another thread during this call",
    )
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The state is replaced whole: a panic cannot leave it half-written.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Runtime {
    /// Releases everything the runtime lends out, at once: host reservations and blocks,
    /// managed pages (their ids become invalid) and the managed page source, and the network
    /// pool (its local pools then answer `MB_ERR_DESTROYED`; its segments go back to the OS,
    /// those still lent out when recycled).
    fn shut_down(&self) {
        self.host.shut_down(&self.budget);
        self.managed.shut_down();
        let network = core::mem::replace(&mut *lock(&self.network), Network::ShutDown);
        // Dropped outside the lock: destroying the local pools runs host callbacks.
        drop(network);
        // Last: the next runtime may take the process-wide budget once this one is done.
        drop(lock(&self.global).take());
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.host.shut_down(&self.budget);
    }
}

/// Creates a runtime: derives the memory plan from `options` (see `mb_runtime_options`; NULL
/// means all defaults) — or, with `MB_QUOTAS_FROM_ENVIRONMENT`, takes the quotas `membudget
/// plan --format env` exported — installs its quotas into the runtime's budget and sets up the
/// managed memory and network buffer pools sized by them. `*out` receives the handle.
///
/// Returns `MB_OK`, `MB_ERR_CONFIG` (the message is the same as the CLI's; with `strict`, also
/// for a value that would not be applied; with quotas from the environment, a malformed or
/// missing `MEMBUDGET_QUOTA_*` variable), `MB_ERR_INVALID_ARGUMENT` (including a `struct_size`
/// that ends inside a field, or a larger one whose unknown bytes are not zero),
/// `MB_ERR_NULL_POINTER`. May block briefly reading the config file and cgroup files.
///
/// # Safety
/// `options` is NULL or a valid `mb_runtime_options` of `options->struct_size` bytes whose
/// strings are NUL-terminated; `out` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mb_runtime_new(
    options: *const mb_runtime_options,
    out: *mut *mut mb_runtime,
) -> i32 {
    boundary("mb_runtime_new", |call| {
        // SAFETY: `out` is valid for a write per this function's contract.
        let out = unsafe { call.out(out, "out") }?;
        // SAFETY: forwarded from this function's contract.
        let opts = unsafe { RuntimeOptions::read(call, options) }?;
        let plan = crate::plan::make(&opts)?;
        let (budget, global) = if opts.global_budget {
            (SharedBudget::global(), Some(GlobalClaim::take(call)?))
        } else {
            (SharedBudget::from(Budget::unlimited()), None)
        };
        let runtime = Runtime::new(budget, global, plan)?;
        RUNTIMES
            .insert(call, runtime)
            .map(|handle| out.write(handle))
    })
}

/// Frees a runtime handle and shuts the runtime down at once: everything the host still holds
/// through `mb_reserve`/`mb_alloc` is released and freed; managed pages are returned (their
/// ids become invalid) and the managed memory goes back to the OS; the network pool is
/// destroyed: its local pools answer `MB_ERR_DESTROYED` to every request from now on (free
/// them as usual), waiting requests wake and pending `on_available` callbacks run with
/// `MB_ERR_DESTROYED`, and its memory goes back to the OS — except buffers still lent out,
/// which stay valid until recycled (`mb_buffer_recycle` then frees them). A call on this
/// runtime racing on another thread answers `MB_ERR_DESTROYED` (`MB_ERR_INVALID_HANDLE` once
/// the free is done) and charges nothing; no thread that used the runtime keeps its memory
/// alive. `mb_runtime_free(NULL)` does nothing. Never blocks (it may run the callbacks).
///
/// Returns `MB_OK` or `MB_ERR_INVALID_HANDLE` (already freed: a double free is refused).
///
/// # Safety
/// None beyond passing a value `mb_runtime_new` returned (any value is checked).
#[no_mangle]
pub unsafe extern "C" fn mb_runtime_free(rt: *mut mb_runtime) -> i32 {
    boundary("mb_runtime_free", |_| RUNTIMES.free(rt))
}

/// Copies the plan as JSON (exactly what `membudget plan --format json` prints) into `buf`,
/// NUL-terminated. `*needed` receives the size needed including the NUL; call with
/// `buf = NULL, len = 0` to learn it. Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_BUFFER_TOO_SMALL` (truncated; `*needed` says how much),
/// `MB_ERR_NULL_POINTER`, `MB_ERR_INVALID_HANDLE`, `MB_ERR_UNAVAILABLE` (the runtime's quotas
/// come from the environment: it has no plan; `*needed` is not written).
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
    boundary("mb_plan_json", |call| {
        let r = RUNTIMES.get(call, rt)?;
        let json = r.plan_json.as_deref().ok_or_else(|| no_plan(call))?;
        // SAFETY: forwarded from this function's contract.
        unsafe { copy_out(call, "plan JSON", json, buf, len, needed) }
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
    boundary("mb_jvm_args", |call| {
        let r = RUNTIMES.get(call, rt)?;
        let args = r.jvm_args.as_deref().ok_or_else(|| no_plan(call))?;
        // SAFETY: forwarded from this function's contract.
        unsafe { copy_out(call, "JVM arguments", args, buf, len, needed) }
    })
}

/// `MB_ERR_UNAVAILABLE`: a runtime whose quotas come from the environment has no plan.
#[cold]
fn no_plan(call: Call) -> Error {
    call.error(
        MB_ERR_UNAVAILABLE,
        "the runtime's quotas come from the environment (MEMBUDGET_QUOTA_*), so it has no plan; \
         mb_usage gives its quotas",
    )
}

/// # Safety
/// As `crate::out::copy_str`.
pub(crate) unsafe fn copy_out(
    call: Call,
    what: &str,
    s: &str,
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> Result<(), Error> {
    // SAFETY: forwarded from this function's contract.
    unsafe { crate::out::copy_str(s, buf, len, needed) }.map_err(|e| {
        if e.status() == MB_ERR_BUFFER_TOO_SMALL {
            call.error(
                MB_ERR_BUFFER_TOO_SMALL,
                format_args!(
                    "a buffer of {len} bytes is too small for the {what}: {} bytes needed (see \
                     *needed)",
                    s.len() + 1
                ),
            )
        } else {
            call.error(e.status(), e.message())
        }
    })
}
