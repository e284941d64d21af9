//! Child budgets: a tree of per-category limits below a [`Budget`].
//!
//! A [`BudgetHandle`] is one node of the tree (process → job → slot → operator …). Each node
//! holds, per category, bytes *claimed* from its parent (for a top-level child: from the
//! budget's quota), and spends them on its consumers and children:
//!
//! ```text
//!   claimed(n) = Σ consumers(n) + Σ claimed(children) + unspent(n)    (exact)
//!   claimed(n) ≤ limit(n)                                              (checked CAS on growth)
//!   claimed(n) ≥ reserved(n)                                           (held from creation)
//! ```
//!
//! So every level's limit bounds the use of its whole subtree, and a charge is counted against
//! every ancestor. A charge that fits the node's unspent bytes is one atomic on the node (the
//! common path, like the global allocator's per-thread allowances); only when they run short
//! does the node claim more from its parent — a quantum more than needed, so the next charges
//! are local again — and only then are the parents' limits checked. A release puts bytes back
//! into `unspent` and returns what passes two quanta to the parent. Before any refusal, every
//! node under the refusing limit gives its unspent bytes back, so a request is refused only
//! when used bytes (not slack) leave no room. Dropping a node (after its consumers and
//! children) returns everything it claimed: the parent is exactly as before.

use crate::budget::Budget;
use crate::budget_path;
use crate::consumer::{ConsumerCore, MemoryConsumer};
use crate::reclaim::ReclaimSettings;
use crate::report::{BudgetReport, CategoryReport};
use crate::slack::Slack;
use crate::{Category, Limit, QuotaExceeded, SharedBudget};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

/// Smallest quantum a node claims beyond a request.
const QUANTUM_MIN: u64 = 16 << 10;
/// Largest quantum.
const QUANTUM_MAX: u64 = 1 << 20;
/// A quantum is this fraction of the node's limit.
const QUANTUM_SHARE: u64 = 32;

/// Per-category limits of a child budget, and the minimum it holds from its parent.
///
/// # Examples
/// ```
/// use membudget_allocator::{Category, ChildLimits};
/// let l = ChildLimits::unlimited()
///     .with(Category::Managed, 64 << 20)
///     .with_reserved(Category::Managed, 8 << 20);
/// assert_eq!((l.limit(Category::Managed), l.reserved(Category::Managed)), (64 << 20, 8 << 20));
/// assert_eq!(l.limit(Category::Heap), u64::MAX);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildLimits {
    limits: [u64; Category::COUNT],
    reserved: [u64; Category::COUNT],
}

impl ChildLimits {
    /// No limit of its own in any category (the ancestors' still apply), nothing reserved.
    pub const fn unlimited() -> ChildLimits {
        ChildLimits {
            limits: [u64::MAX; Category::COUNT],
            reserved: [0; Category::COUNT],
        }
    }

    /// The same limits with `category` limited to `bytes`.
    #[must_use]
    pub const fn with(mut self, category: Category, bytes: u64) -> ChildLimits {
        self.limits[category.index()] = bytes;
        self
    }

    /// The same limits with `bytes` of `category` reserved: claimed from the parent when the
    /// child is made (which fails if the parent cannot give them) and held until it is dropped,
    /// so the child can always use that much.
    #[must_use]
    pub const fn with_reserved(mut self, category: Category, bytes: u64) -> ChildLimits {
        self.reserved[category.index()] = bytes;
        self
    }

    /// The limit of `category` (`u64::MAX` = none of its own).
    pub const fn limit(&self, category: Category) -> u64 {
        self.limits[category.index()]
    }

    /// The reserved minimum of `category`.
    pub const fn reserved(&self, category: Category) -> u64 {
        self.reserved[category.index()]
    }
}

impl Default for ChildLimits {
    fn default() -> Self {
        ChildLimits::unlimited()
    }
}

/// Where a node claims from.
pub(crate) enum Parent {
    Budget(SharedBudget),
    Node(Arc<Node>),
}

/// The limit a charge ran into, before it becomes a [`QuotaExceeded`].
pub(crate) enum Refused {
    /// A child budget's limit: `used` is its claimed bytes when refused.
    Node {
        node: Arc<Node>,
        used: u64,
        limit: u64,
    },
    /// The budget at the top: its category quota, process total, or an injected fault.
    Root {
        budget: SharedBudget,
        used: u64,
        quota: u64,
        limit: Limit,
    },
}

/// A node of the budget tree (shared by its handle, consumers and children).
pub(crate) struct Node {
    name: String,
    path: String,
    pub(crate) parent: Parent,
    accounts: [Slack; Category::COUNT],
    children: Mutex<Vec<Weak<Node>>>,
    consumers: Mutex<Vec<Weak<ConsumerCore>>>,
    /// The consumer the global allocator charges for blocks allocated while this budget is
    /// current (`attribution.rs`), while one lives: its blocks and the guards of threads that
    /// entered the budget keep it alive.
    pub(crate) allocations: Mutex<Weak<ConsumerCore>>,
    pub(crate) reclaim: ReclaimSettings,
}

/// Locks `m`, ignoring poison: the lists behind these locks stay consistent whatever a
/// panicking holder did (a push or a retain).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Node {
    fn account(&self, category: Category) -> &Slack {
        &self.accounts[category.index()]
    }

    /// The node's path from the top, names joined by `/` (see `budget_path`).
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// The budget at the top of the tree (never a [`SharedBudget::Consumer`]: see
    /// [`SharedBudget::child`]).
    pub(crate) fn root_budget(&self) -> &SharedBudget {
        match &self.parent {
            Parent::Budget(b) => b,
            Parent::Node(p) => p.root_budget(),
        }
    }

    /// Charges `bytes` of `category` to this node (and, as needed, its ancestors), or says which
    /// limit refused. Nothing is charged on failure.
    #[inline]
    pub(crate) fn charge(self: &Arc<Self>, category: Category, bytes: u64) -> Result<(), Refused> {
        if self.account(category).take(bytes) {
            return Ok(());
        }
        self.charge_slow(category, bytes)
    }

    #[cold]
    #[inline(never)]
    fn charge_slow(self: &Arc<Self>, category: Category, bytes: u64) -> Result<(), Refused> {
        let a = self.account(category);
        let claimed = a.charge_slow(
            bytes,
            |b, exact| charge_parent(&self.parent, category, b, exact),
            |claimed| Refused::Node {
                node: Arc::clone(self),
                used: claimed,
                limit: a.limit,
            },
        )?;
        crate::reclaim::note_growth(self, category, claimed, a.limit);
        Ok(())
    }

    /// Credits `bytes` of `category` back to this node; returns what passes two quanta of
    /// unspent bytes to the parent.
    #[inline]
    pub(crate) fn release(&self, category: Category, bytes: u64) {
        self.account(category)
            .release(bytes, |b| release_parent(&self.parent, category, b));
    }

    /// Gives every unspent byte of `category` in this subtree back (children first), so a
    /// refusal sees use, not slack.
    pub(crate) fn drain(&self, category: Category) {
        for child in self.live_children() {
            child.drain(category);
        }
        self.account(category)
            .drain(|b| release_parent(&self.parent, category, b));
    }

    /// Live children, in creation order.
    pub(crate) fn live_children(&self) -> Vec<Arc<Node>> {
        let mut list = lock(&self.children);
        list.retain(|w| w.strong_count() > 0);
        list.iter().filter_map(Weak::upgrade).collect()
    }

    /// Live consumers charging this node directly, in creation order.
    pub(crate) fn live_consumers(&self) -> Vec<Arc<ConsumerCore>> {
        let mut list = lock(&self.consumers);
        list.retain(|w| w.strong_count() > 0);
        list.iter().filter_map(Weak::upgrade).collect()
    }

    pub(crate) fn register_consumer(&self, consumer: &Arc<ConsumerCore>) {
        lock(&self.consumers).push(Arc::downgrade(consumer));
    }

    /// Bytes of `category` in use in this subtree: every consumer's and child's, exactly
    /// (a read racing with charges may see some of them and not others).
    pub(crate) fn used(&self, category: Category) -> u64 {
        let own: u64 = self
            .live_consumers()
            .iter()
            .map(|c| c.used(category))
            .fold(0, u64::saturating_add);
        self.live_children()
            .iter()
            .map(|c| c.used(category))
            .fold(own, u64::saturating_add)
    }

    /// Bytes of `category` held from the parent.
    pub(crate) fn claimed(&self, category: Category) -> u64 {
        self.account(category).claimed()
    }

    pub(crate) fn limit(&self, category: Category) -> u64 {
        self.account(category).limit
    }

    /// This subtree as a report.
    pub(crate) fn report(&self) -> BudgetReport {
        let consumers = self.live_consumers();
        let children: Vec<BudgetReport> = self.live_children().iter().map(|c| c.report()).collect();
        let mut categories = Vec::new();
        for c in Category::ALL {
            let a = self.account(c);
            let own: u64 = consumers
                .iter()
                .map(|k| k.used(c))
                .fold(0, u64::saturating_add);
            let used = children
                .iter()
                .filter_map(|r| r.category(c))
                .map(|r| r.used)
                .fold(own, u64::saturating_add);
            let claimed = a.claimed();
            if a.limit != u64::MAX || a.reserved > 0 || claimed > 0 || used > 0 {
                categories.push(CategoryReport::new(
                    c,
                    used,
                    claimed.saturating_sub(used),
                    a.limit,
                    a.reserved,
                    a.peak(),
                ));
            }
        }
        BudgetReport::new(
            self.name.clone(),
            categories,
            consumers.iter().map(|c| c.report()).collect(),
            children,
        )
    }
}

/// Charges `bytes` of `category` to `parent` (`exact`: the request itself, which may hit an
/// injected fault, not one with slack).
fn charge_parent(
    parent: &Parent,
    category: Category,
    bytes: u64,
    exact: bool,
) -> Result<(), Refused> {
    match parent {
        Parent::Node(p) => p.charge(category, bytes),
        Parent::Budget(b) => {
            if exact && b.faults_armed() && b.inject_fault(category) {
                return Err(Refused::Root {
                    budget: b.clone(),
                    used: b.claimed(category),
                    quota: b.quota(category),
                    limit: Limit::Injected,
                });
            }
            b.claim(category, bytes)
                .map_err(|(used, quota, limit)| Refused::Root {
                    budget: b.clone(),
                    used,
                    quota,
                    limit,
                })
        }
    }
}

/// Credits `bytes` of `category` to `parent`.
fn release_parent(parent: &Parent, category: Category, bytes: u64) {
    if bytes == 0 {
        return;
    }
    match parent {
        Parent::Node(p) => p.release(category, bytes),
        Parent::Budget(b) => b.release_claim(category, bytes),
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Every consumer and child holds an `Arc` of this node, so all are gone and everything
        // they charged is back in `unspent`: `claimed` is exactly what to return.
        for c in Category::ALL {
            let claimed = self.account(c).take_all();
            release_parent(&self.parent, c, claimed);
        }
    }
}

/// A child budget: per-category limits (and reserved minimums) whose charges also count
/// against every ancestor. Cloning gives another handle to the same budget; it is dropped —
/// returning everything it holds to its parent — when its last handle, consumer and child
/// are gone.
///
/// # Examples
/// ```
/// use membudget_allocator::{Budget, Category, ChildLimits, Quotas, SharedBudget};
///
/// let process = SharedBudget::from(Budget::new(Quotas::unlimited().with(Category::Managed, 1000)));
/// let job = process.child("job-1", ChildLimits::unlimited().with(Category::Managed, 600)).unwrap();
/// let slot = job.child("slot-0", ChildLimits::unlimited().with(Category::Managed, 400)).unwrap();
/// let window = slot.consumer("window");
/// let r = window.try_reserve(Category::Managed, 300).unwrap();
/// assert_eq!(job.used(Category::Managed), 300);
/// let e = window.try_reserve(Category::Managed, 200).unwrap_err();
/// assert_eq!(e.budget_name(), Some("job-1/slot-0"));
/// assert!(e.to_string().contains("top consumers: 'job-1/slot-0/window' 300"), "{e}");
/// drop(r);
/// drop((window, slot, job));
/// assert_eq!(process.used(Category::Managed), 0);
/// ```
#[derive(Clone)]
pub struct BudgetHandle {
    pub(crate) node: Arc<Node>,
}

impl BudgetHandle {
    fn new(
        name: &str,
        parent: Parent,
        limits: ChildLimits,
        reclaim: ReclaimSettings,
    ) -> Result<BudgetHandle, QuotaExceeded> {
        let path = match &parent {
            Parent::Node(p) => budget_path::join(&p.path, name),
            Parent::Budget(_) => budget_path::top(name),
        };
        let accounts = Category::ALL.map(|c| {
            Slack::new(
                limits.limit(c),
                (limits.limit(c) / QUANTUM_SHARE).clamp(QUANTUM_MIN, QUANTUM_MAX),
            )
        });
        let mut node = Arc::new(Node {
            name: name.to_owned(),
            path,
            parent,
            accounts,
            children: Mutex::new(Vec::new()),
            consumers: Mutex::new(Vec::new()),
            allocations: Mutex::new(Weak::new()),
            reclaim,
        });
        // Claim the reserved minimums before anyone can see the node; on failure, dropping
        // `node` returns what it claimed so far.
        {
            let Some(n) = Arc::get_mut(&mut node) else {
                unreachable!("the node is not shared yet")
            };
            for c in Category::ALL {
                let reserved = limits.reserved(c);
                if reserved == 0 {
                    continue;
                }
                let path = n.path.clone();
                let refused_here = |_| {
                    QuotaExceeded::new(c, reserved, 0, limits.limit(c), Limit::Budget)
                        .in_budget(path)
                };
                if reserved > limits.limit(c) {
                    return Err(refused_here(0));
                }
                let parent = &n.parent;
                n.accounts[c.index()].reserve(
                    reserved,
                    |b, exact| {
                        charge_parent(parent, c, b, exact)
                            .map_err(|r| crate::reclaim::refusal(r, c, reserved, None))
                    },
                    refused_here,
                )?;
            }
        }
        match &node.parent {
            Parent::Node(p) => lock(&p.children).push(Arc::downgrade(&node)),
            Parent::Budget(b) => lock(&b.children).push(Arc::downgrade(&node)),
        }
        Ok(BudgetHandle { node })
    }

    pub(crate) fn top_level(
        budget: SharedBudget,
        name: &str,
        limits: ChildLimits,
    ) -> Result<BudgetHandle, QuotaExceeded> {
        BudgetHandle::new(
            name,
            Parent::Budget(budget),
            limits,
            ReclaimSettings::default(),
        )
    }

    /// A child of this budget with its own `limits` (and reserved minimums), e.g. a slot of a
    /// job. Its charges count against this budget and every ancestor.
    ///
    /// # Errors
    /// [`QuotaExceeded`] if a reserved minimum is above its limit or the ancestors cannot give
    /// it (nothing stays charged then).
    pub fn child(&self, name: &str, limits: ChildLimits) -> Result<BudgetHandle, QuotaExceeded> {
        BudgetHandle::new(
            name,
            Parent::Node(Arc::clone(&self.node)),
            limits,
            self.node.reclaim.inherit(),
        )
    }

    /// A named consumer charging this budget: every reservation belongs to one, and refusals
    /// and reports name it.
    pub fn consumer(&self, name: &str) -> MemoryConsumer {
        MemoryConsumer::new(Arc::clone(&self.node), name)
    }

    /// The budget's name.
    pub fn name(&self) -> &str {
        &self.node.name
    }

    /// The budget's path from the top (names joined by `/`), as refusals name it. A name that
    /// is empty or holds a `/`, a `"` or a control character is written quoted, as `{:?}`
    /// writes it, so a path names one budget and stays on one line: a child named `a/b` is
    /// `"a/b"`, a child `b` of a child `a` is `a/b`.
    pub fn path(&self) -> &str {
        &self.node.path
    }

    /// Bytes of `category` used by this budget's consumers and all its descendants', exactly
    /// (slack held for speed is not counted).
    pub fn used(&self, category: Category) -> u64 {
        self.node.used(category)
    }

    /// Bytes of `category` this budget holds from its parent: use plus reserved and unspent
    /// bytes. Never above [`limit`](Self::limit).
    pub fn claimed(&self, category: Category) -> u64 {
        self.node.claimed(category)
    }

    /// The limit of `category` (`u64::MAX` = none of its own).
    pub fn limit(&self, category: Category) -> u64 {
        self.node.limit(category)
    }

    /// This budget and its descendants, with their consumers.
    pub fn report(&self) -> BudgetReport {
        self.node.report()
    }

    /// The process (or isolated) budget at the top of the tree.
    pub fn root(&self) -> &Budget {
        self.node.root_budget()
    }
}

impl core::fmt::Debug for BudgetHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BudgetHandle")
            .field("path", &self.node.path)
            .finish_non_exhaustive()
    }
}

impl Budget {
    /// A top-level child budget of this `'static` budget (usually [`Budget::global`]); for an
    /// isolated budget use [`SharedBudget::child`].
    ///
    /// # Errors
    /// As [`BudgetHandle::child`].
    pub fn child(
        &'static self,
        name: &str,
        limits: ChildLimits,
    ) -> Result<BudgetHandle, QuotaExceeded> {
        BudgetHandle::top_level(SharedBudget::Static(self), name, limits)
    }

    /// The budget and its child budgets, with their named consumers: used, limit and peak per
    /// budget and category.
    pub fn report(&self) -> BudgetReport {
        let children: Vec<BudgetReport> = live_top_level(self).iter().map(|c| c.report()).collect();
        let mut categories = Vec::new();
        for c in Category::ALL {
            let used = self.used(c);
            let in_children: u64 = children
                .iter()
                .filter_map(|r| r.category(c))
                .map(|r| r.unspent)
                .fold(0, u64::saturating_add);
            let quota = self.quota(c);
            if quota != u64::MAX || used > 0 {
                let unspent_here = self.allowances(c);
                categories.push(CategoryReport::new(
                    c,
                    used.saturating_sub(in_children),
                    unspent_here.saturating_add(in_children),
                    quota,
                    0,
                    self.peak(c),
                ));
            }
        }
        BudgetReport::new("process".to_owned(), categories, Vec::new(), children)
    }
}

/// The live top-level children of `budget`.
pub(crate) fn live_top_level(budget: &Budget) -> Vec<Arc<Node>> {
    let mut list = lock(&budget.children);
    list.retain(|w| w.strong_count() > 0);
    list.iter().filter_map(Weak::upgrade).collect()
}

impl SharedBudget {
    /// A top-level child budget of this budget.
    ///
    /// # Errors
    /// As [`BudgetHandle::child`].
    /// For a [`SharedBudget::Consumer`] the child is one of the consumer's budget.
    pub fn child(&self, name: &str, limits: ChildLimits) -> Result<BudgetHandle, QuotaExceeded> {
        match self {
            SharedBudget::Consumer(c) => c.budget().child(name, limits),
            _ => BudgetHandle::top_level(self.clone(), name, limits),
        }
    }
}
