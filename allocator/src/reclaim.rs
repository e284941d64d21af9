//! The reclaim protocol: before a child budget refuses, ask consumers to give memory back.
//!
//! When a charge does not fit under some limit (a child budget's, or the process quota above
//! the tree), the charging thread:
//!
//! 1. gives back every unspent byte under that limit and retries (slack never causes a
//!    refusal);
//! 2. asks the [`Reclaimer`]s under that limit — the requester's siblings (consumers of its own
//!    budget) first, then the rest of the subtree, each group largest first, and the requester
//!    itself last and only if it opted in ([`MemoryConsumer::reclaim_for_own_requests`]) —
//!    retrying after each answer;
//! 3. if a reclaimer was asked, waits for asynchronous reclaimers, retrying with short pauses,
//!    at most the budget's reclaim wait ([`BudgetHandle::set_reclaim_wait`], default
//!    [`DEFAULT_RECLAIM_WAIT`]);
//! 4. then refuses with a [`QuotaExceeded`] that names the limit, the top three consumers of the
//!    category, what reclaim freed and how long it waited, and carries the whole tree's report.
//!
//! Free of deadlock by construction: no lock of the tree is held while a reclaimer runs (the
//! candidates are collected first), charges and releases are lock-free, and a charge made
//! *inside* a reclaimer on the same thread never reclaims or waits itself (it fails at once
//! if it does not fit), so reclaimers may allocate, release, drop consumers and reservations.
//! A reclaimer that panics counts as having freed nothing.
//!
//! A *soft watermark* ([`BudgetHandle::set_soft_watermark`]) starts reclaim earlier, from a
//! background thread: when a budget's claim grows past the fraction of a limit, the thread
//! asks its consumers (largest first) to bring use back under it, so requests rarely wait.
//! Growth is only checked when a budget claims from its parent, never per charge.
//!
//! [`MemoryConsumer::reclaim_for_own_requests`]: crate::MemoryConsumer::reclaim_for_own_requests
//! [`BudgetHandle::set_reclaim_wait`]: crate::BudgetHandle::set_reclaim_wait
//! [`BudgetHandle::set_soft_watermark`]: crate::BudgetHandle::set_soft_watermark

use crate::child::{live_top_level, Node, Refused};
use crate::consumer::ConsumerCore;
use crate::error::{ConsumerUsage, ReclaimOutcome};
use crate::{BudgetHandle, Category, Limit, QuotaExceeded};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

/// How long a request waits for asynchronous reclaimers unless its budget says otherwise.
pub const DEFAULT_RECLAIM_WAIT: Duration = Duration::from_millis(100);

/// Longest pause between two retries while waiting.
const MAX_PAUSE: Duration = Duration::from_millis(10);

/// Something that can give memory back when asked: spill to disk, drop a cache, shrink a
/// buffer. Registered on a consumer with
/// [`MemoryConsumer::set_reclaimer`](crate::MemoryConsumer::set_reclaimer).
///
/// `reclaim` is called on the thread whose request did not fit, outside any lock of the
/// budget tree. It should release what it can of `category` (at least `bytes` if it can) —
/// dropping reservations or calling `release` — and return how many bytes it freed. It may
/// also start freeing asynchronously and return 0: the requester waits up to its budget's
/// reclaim wait. It may allocate and charge budgets; such charges never reclaim themselves.
///
/// A reclaimer runs on the requesting thread: a consumer must not charge while holding a lock
/// its own (or a sibling's) reclaimer takes — reserve first, then lock (see the
/// `windowed_aggregation` example).
pub trait Reclaimer: Send + Sync {
    /// Frees up to (about) `bytes` of `category`; returns the bytes freed now.
    fn reclaim(&self, category: Category, bytes: u64) -> u64;
}

impl<F: Fn(Category, u64) -> u64 + Send + Sync> Reclaimer for F {
    fn reclaim(&self, category: Category, bytes: u64) -> u64 {
        self(category, bytes)
    }
}

/// A budget's reclaim settings (inherited by its children when they are made).
pub(crate) struct ReclaimSettings {
    wait_nanos: AtomicU64,
    /// Soft watermark in thousandths of the limit; 0 = off.
    watermark_permille: AtomicU32,
    /// A background reclaim of this budget is queued or running.
    pending: AtomicBool,
}

impl Default for ReclaimSettings {
    fn default() -> Self {
        ReclaimSettings {
            wait_nanos: AtomicU64::new(duration_nanos(DEFAULT_RECLAIM_WAIT)),
            watermark_permille: AtomicU32::new(0),
            pending: AtomicBool::new(false),
        }
    }
}

fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl ReclaimSettings {
    pub(crate) fn inherit(&self) -> ReclaimSettings {
        ReclaimSettings {
            wait_nanos: AtomicU64::new(self.wait_nanos.load(Ordering::Relaxed)),
            watermark_permille: AtomicU32::new(self.watermark_permille.load(Ordering::Relaxed)),
            pending: AtomicBool::new(false),
        }
    }

    fn wait(&self) -> Duration {
        Duration::from_nanos(self.wait_nanos.load(Ordering::Relaxed))
    }
}

/// Error of [`BudgetHandle::set_soft_watermark`]: the fraction is not in (0, 1].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WatermarkError(pub f64);

impl core::fmt::Display for WatermarkError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Invalid soft watermark {}: expected a fraction of the limit above 0 and at most 1 \
             (e.g. 0.9), or none.",
            self.0
        )
    }
}

impl std::error::Error for WatermarkError {}

impl BudgetHandle {
    /// How long a request of this budget waits for asynchronous reclaimers before it is
    /// refused (default [`DEFAULT_RECLAIM_WAIT`]; children made later inherit it).
    pub fn set_reclaim_wait(&self, wait: Duration) {
        self.node
            .reclaim
            .wait_nanos
            .store(duration_nanos(wait), Ordering::Relaxed);
    }

    /// The reclaim wait of this budget.
    pub fn reclaim_wait(&self) -> Duration {
        self.node.reclaim.wait()
    }

    /// Reclaims in the background once this budget holds more than `fraction` of a limit
    /// (e.g. `Some(0.9)`), asking its consumers to bring use back under it; `None` turns it
    /// off. Children made later inherit it.
    ///
    /// # Errors
    /// [`WatermarkError`] unless `fraction` is above 0 and at most 1.
    pub fn set_soft_watermark(&self, fraction: Option<f64>) -> Result<(), WatermarkError> {
        let permille = match fraction {
            None => 0,
            Some(f) if f > 0.0 && f <= 1.0 => {
                // In (0, 1000] after rounding up to a thousandth, so never 0 ("off").
                let p = (f * 1000.0).ceil();
                if p < 1.0 {
                    1
                } else {
                    p as u32
                }
            }
            Some(f) => return Err(WatermarkError(f)),
        };
        self.node
            .reclaim
            .watermark_permille
            .store(permille, Ordering::Relaxed);
        Ok(())
    }
}

thread_local! {
    /// Whether this thread is inside a reclaimer called by [`resolve`] or the background thread.
    static IN_RECLAIM: Cell<bool> = const { Cell::new(false) };
}

/// Marks the thread as reclaiming until dropped.
struct Reclaiming(bool);

impl Reclaiming {
    fn enter() -> Reclaiming {
        Reclaiming(IN_RECLAIM.with(|r| r.replace(true)))
    }
}

impl Drop for Reclaiming {
    fn drop(&mut self) {
        IN_RECLAIM.with(|r| r.set(self.0));
    }
}

/// Where a refusal's limit applies: the consumers that can help.
fn scope(refused: &Refused) -> Vec<Arc<Node>> {
    match refused {
        Refused::Node { node, .. } => vec![Arc::clone(node)],
        Refused::Root { budget, .. } => live_top_level(budget),
    }
}

/// Every consumer in the subtrees of `nodes`.
fn consumers_under(nodes: &[Arc<Node>]) -> Vec<Arc<ConsumerCore>> {
    let mut out = Vec::new();
    let mut stack: Vec<Arc<Node>> = nodes.to_vec();
    while let Some(n) = stack.pop() {
        out.extend(n.live_consumers());
        stack.extend(n.live_children());
    }
    out
}

/// Gives back the unspent bytes under the refusing limit.
fn drain(scope: &[Arc<Node>], category: Category) {
    for n in scope {
        n.drain(category);
    }
}

/// Bytes the refusing limit lacks for `bytes` more (at least 1).
fn shortfall(refused: &Refused, bytes: u64) -> u64 {
    let (used, limit) = match refused {
        Refused::Node { used, limit, .. } => (*used, *limit),
        Refused::Root { used, quota, .. } => (*used, *quota),
    };
    used.saturating_add(bytes).saturating_sub(limit).max(1)
}

/// A charge of `bytes` by `requester` was refused (`first`): drain, reclaim, wait, retry, while
/// `keep_waiting` answers `true`; the charge is made when this returns `Ok`.
#[cold]
#[inline(never)]
pub(crate) fn resolve(
    requester: &Arc<ConsumerCore>,
    category: Category,
    bytes: u64,
    first: Refused,
    keep_waiting: &dyn Fn() -> bool,
) -> Result<(), QuotaExceeded> {
    let node = &requester.node;
    let mut last = first;
    let mut nodes = scope(&last);
    drain(&nodes, category);
    match node.charge(category, bytes) {
        Ok(()) => return Ok(()),
        Err(r) => last = r,
    }
    if IN_RECLAIM.with(Cell::get)
        || matches!(
            last,
            Refused::Root {
                limit: Limit::Injected,
                ..
            }
        )
    {
        return Err(refusal(last, category, bytes, None));
    }
    let _reclaiming = Reclaiming::enter();
    let start = Instant::now();
    let mut freed = 0u64;
    nodes = scope(&last);
    let candidates = candidates(requester, &nodes, category);
    if candidates.is_empty() {
        return Err(refusal(last, category, bytes, None));
    }
    for (consumer, reclaimer) in candidates {
        if !keep_waiting() {
            break;
        }
        if consumer.used(category) == 0 {
            continue;
        }
        let want = shortfall(&last, bytes);
        let got = catch_unwind(AssertUnwindSafe(|| reclaimer.reclaim(category, want))).unwrap_or(0);
        freed = freed.saturating_add(got);
        drain(&nodes, category);
        match node.charge(category, bytes) {
            Ok(()) => return Ok(()),
            Err(r) => last = r,
        }
    }
    // Asynchronous reclaimers: retry until the wait is over.
    let wait = node.reclaim.wait();
    let mut pause = Duration::from_millis(1);
    loop {
        let elapsed = start.elapsed();
        let Some(left) = wait.checked_sub(elapsed).filter(|l| !l.is_zero()) else {
            break;
        };
        if !keep_waiting() {
            break;
        }
        std::thread::sleep(pause.min(left));
        pause = pause.saturating_mul(2).min(MAX_PAUSE);
        drain(&nodes, category);
        match node.charge(category, bytes) {
            Ok(()) => return Ok(()),
            Err(r) => last = r,
        }
    }
    let waited_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    Err(refusal(
        last,
        category,
        bytes,
        Some(ReclaimOutcome { freed, waited_ms }),
    ))
}

/// The consumers to ask, in order: siblings of `requester` largest first, then the rest of the
/// scope largest first, then `requester` if it opted in; only those with a reclaimer.
fn candidates(
    requester: &Arc<ConsumerCore>,
    scope: &[Arc<Node>],
    category: Category,
) -> Vec<(Arc<ConsumerCore>, Arc<dyn Reclaimer>)> {
    let all = consumers_under(scope);
    let (mut siblings, mut others): (Vec<_>, Vec<_>) = all
        .into_iter()
        .filter(|c| !Arc::ptr_eq(c, requester))
        .partition(|c| Arc::ptr_eq(&c.node, &requester.node));
    siblings.sort_by_key(|c| core::cmp::Reverse(c.used(category)));
    others.sort_by_key(|c| core::cmp::Reverse(c.used(category)));
    let mut order = siblings;
    order.extend(others);
    if requester.reclaim_self.load(Ordering::Relaxed) {
        order.push(Arc::clone(requester));
    }
    order
        .into_iter()
        .filter_map(|c| {
            let r = c.reclaimer()?;
            Some((c, r))
        })
        .collect()
}

/// The largest three consumers of `category` under `scope`.
fn top_consumers(scope: &[Arc<Node>], category: Category) -> Vec<ConsumerUsage> {
    let mut all: Vec<ConsumerUsage> = consumers_under(scope)
        .iter()
        .map(|c| ConsumerUsage {
            name: c.path(),
            bytes: c.used(category),
        })
        .filter(|u| u.bytes > 0)
        .collect();
    all.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
    all.truncate(3);
    all
}

/// The error for a final refusal `r` of `bytes` of `category` (recorded as the thread's last).
pub(crate) fn refusal(
    r: Refused,
    category: Category,
    bytes: u64,
    outcome: Option<ReclaimOutcome>,
) -> QuotaExceeded {
    let nodes = scope(&r);
    let (e, report) = match &r {
        Refused::Node { node, used, limit } => {
            let in_use = node.used(category);
            let e = QuotaExceeded::new(category, bytes, in_use, *limit, Limit::Budget)
                .with_role(node.root_budget().role())
                // What counts against the limit beyond use: reserved minimums of children.
                .with_allowances(used.saturating_sub(in_use))
                .in_budget(node.path().to_owned());
            crate::refusal::record(&e);
            (e, node.root_budget().report())
        }
        Refused::Root {
            budget,
            used,
            quota,
            limit,
        } => (
            budget.refuse(category, bytes, *used, *quota, *limit),
            budget.report(),
        ),
    };
    let mut e = e
        .with_top_consumers(top_consumers(&nodes, category))
        .with_report(report);
    if let Some(o) = outcome {
        e = e.with_reclaim(o);
    }
    e
}

/// Keeps a refusal of the global allocator's charge to a child budget as the thread's last
/// refusal, without allocating (it runs inside the allocator): the amounts and the limit, not
/// the budget's name or report.
pub(crate) fn record_block_refusal(r: &Refused, category: Category, bytes: u64) {
    match r {
        Refused::Node { node, used, limit } => {
            let e = QuotaExceeded::new(category, bytes, *used, *limit, Limit::Budget)
                .with_role(node.root_budget().role());
            crate::refusal::record(&e);
        }
        // `Budget::refuse` recorded it already (for an injected fault too).
        Refused::Root {
            budget,
            used,
            quota,
            limit,
        } => {
            let _ = budget.refuse(category, bytes, *used, *quota, *limit);
        }
    }
}

/// A background reclaim request: a budget past its soft watermark in a category.
type Job = (Weak<Node>, Category);

/// The background reclaim thread's queue, started on first use; `None` if the thread could
/// not be started (then only requests that do not fit reclaim).
fn queue() -> Option<&'static mpsc::Sender<Job>> {
    static QUEUE: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Job>();
            std::thread::Builder::new()
                .name("membudget-reclaim".to_owned())
                .spawn(move || {
                    while let Ok((node, category)) = rx.recv() {
                        if let Some(node) = node.upgrade() {
                            reclaim_to_watermark(&node, category);
                            node.reclaim.pending.store(false, Ordering::Relaxed);
                        }
                    }
                })
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

/// Called when `node` grew its claim of `category` to `claimed`: queues a background reclaim if
/// that passes its soft watermark.
#[inline]
pub(crate) fn note_growth(node: &Arc<Node>, category: Category, claimed: u64, limit: u64) {
    let permille = node.reclaim.watermark_permille.load(Ordering::Relaxed);
    if permille == 0 || limit == u64::MAX || claimed <= watermark(limit, permille) {
        return;
    }
    if !node.reclaim.pending.swap(true, Ordering::Relaxed) {
        let sent = queue().is_some_and(|q| q.send((Arc::downgrade(node), category)).is_ok());
        if !sent {
            node.reclaim.pending.store(false, Ordering::Relaxed);
        }
    }
}

fn watermark(limit: u64, permille: u32) -> u64 {
    // `permille ≤ 1000`: the product fits in u128 and the quotient in u64.
    let w = u128::from(limit).saturating_mul(u128::from(permille)) / 1000;
    u64::try_from(w).unwrap_or(u64::MAX)
}

/// Asks the consumers under `node` (largest first) to bring its use of `category` under its
/// soft watermark.
fn reclaim_to_watermark(node: &Arc<Node>, category: Category) {
    let permille = node.reclaim.watermark_permille.load(Ordering::Relaxed);
    if permille == 0 {
        return;
    }
    let target = watermark(node.limit(category), permille);
    let _reclaiming = Reclaiming::enter();
    let mut consumers = consumers_under(core::slice::from_ref(node));
    consumers.sort_by_key(|c| core::cmp::Reverse(c.used(category)));
    for c in consumers {
        let used = node.used(category);
        if used <= target {
            break;
        }
        if c.used(category) == 0 {
            continue;
        }
        if let Some(r) = c.reclaimer() {
            let want = used.saturating_sub(target);
            let _ = catch_unwind(AssertUnwindSafe(|| r.reclaim(category, want)));
        }
    }
    node.drain(category);
}
