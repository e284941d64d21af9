//! `NetworkBufferPool`: the fixed set of network segments of one worker, and the factory of
//! [`LocalBufferPool`]s.

use crate::availability::{Availability, AvailableFuture};
use crate::blocking::wait_available;
use crate::config::BufferPoolConfig;
use crate::error::BufferPoolError;
use crate::local_pool::{LocalBufferPool, LocalInner};
use crate::pool_charge::PoolCharge;
use crate::queue::IndexQueue;
use crate::redistribute::{redistribute, PoolShape};
use crate::slot::{Owner, Slot};
use crate::sync::{fence, fence_after_rmw, lock, AtomicBool, AtomicUsize, Mutex, Ordering};
use crate::violation::report;
use crate::Buffer;
#[cfg(not(membudget_loom))]
use membudget_allocator::MemoryConsumer;
use membudget_allocator::{Budget, SharedBudget};
use membudget_core::{Category, MemorySize};
use membudget_segments::{MemorySegment, PageSource, PageSourceConfig};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Default timeout of exclusive and reserved segment requests (Flink's
/// `taskmanager.network.memory.exclusive-buffers-request-timeout-ms`).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_millis(30_000);

/// Usage (requested / total) from which a warning is logged, in percent.
const USAGE_WARNING_THRESHOLD: usize = 100;

/// The segments a pool is built from and how long segment requests may block.
#[derive(Debug)]
#[non_exhaustive]
pub struct NetworkBufferPoolConfig {
    /// Number of segments (network memory / segment size).
    pub num_segments: usize,
    /// Bytes per segment (power of two, ≥ 4 KiB; Flink's `taskmanager.memory.segment-size`).
    pub segment_size: usize,
    /// Budget charged: every segment counts against [`Category::Network`].
    pub budget: SharedBudget,
    /// Timeout of exclusive and reserved segment requests.
    pub request_timeout: Duration,
}

impl NetworkBufferPoolConfig {
    /// `num_segments` × `segment_size` charged to `budget`, default request timeout.
    pub fn new(num_segments: usize, segment_size: usize, budget: SharedBudget) -> Self {
        NetworkBufferPoolConfig {
            num_segments,
            segment_size,
            budget,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// The state shared by the pool handle, its local pools and its exclusive buffers.
pub(crate) struct GlobalInner {
    pub(crate) slots: Box<[Slot]>,
    free: IndexQueue,
    pub(crate) availability: Availability,
    destroyed: AtomicBool,
    segment_size: usize,
    request_timeout: Duration,
    factory: Mutex<Factory>,
    next_pool_id: AtomicUsize,
    /// The address of the budget at the top of the tree charged for every segment when the
    /// pool was made (`None` for segments allocated elsewhere): a local pool's consumer must
    /// not count them again. An address, not a handle: a handle would keep a consumer (and
    /// its child budget's claim) alive as long as any local pool. It stays valid while the
    /// pool is not destroyed: the segments' page source holds the budget.
    budget_root: Option<usize>,
}

/// Everything guarded by the factory lock (never taken on the request/recycle path).
struct Factory {
    pools: Vec<Registered>,
    /// Σ minimums of registered pools + exclusive segments out.
    required: usize,
    last_usage: usize,
}

struct Registered {
    id: usize,
    pool: Weak<LocalInner>,
    config: BufferPoolConfig,
}

impl GlobalInner {
    #[inline]
    pub(crate) fn slot(&self, index: u32) -> &Slot {
        &self.slots[index as usize]
    }

    pub(crate) fn total(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn segment_size(&self) -> usize {
        self.segment_size
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    pub(crate) fn is_destroyed(&self) -> bool {
        self.destroyed.load(Ordering::Acquire)
    }

    /// Takes one free segment, if any. The slot's owner is `Free`; the caller sets it.
    #[inline]
    pub(crate) fn request_pooled(&self) -> Option<u32> {
        match self.free.pop() {
            Some(i) => {
                if self.free.is_empty() {
                    self.mark_unavailable();
                }
                Some(i)
            }
            None => {
                self.mark_unavailable();
                None
            }
        }
    }

    #[cold]
    fn mark_unavailable(&self) {
        self.availability.set_unavailable();
        // SeqCst fence: pairs with the fence in `recycle_pooled` (availability protocol).
        fence(Ordering::SeqCst);
        if !self.free.is_empty() {
            self.availability.set_available();
        }
    }

    /// Returns a segment whose owner is already `Free` to the free list (or frees it when the
    /// pool was destroyed).
    #[inline]
    pub(crate) fn recycle_pooled(&self, index: u32) {
        if self.destroyed.load(Ordering::Acquire) {
            // SAFETY: we hold the segment exclusively and no handle to it exists.
            unsafe { self.slot(index).free_segment() };
            return;
        }
        if let Err(i) = self.free.push(index) {
            report(format_args!(
                "global free list overflow with segment {i}: a segment was recycled twice"
            ));
            return;
        }
        // Orders the push before the SeqCst loads below; pairs with the fences in
        // `mark_unavailable` and `destroy`.
        fence_after_rmw();
        if self.destroyed.load(Ordering::SeqCst) {
            self.free_idle_segments();
        } else if !self.availability.is_available() {
            self.availability.set_available();
        }
    }

    fn free_idle_segments(&self) {
        while let Some(i) = self.free.pop() {
            // SAFETY: popped from the free list: we hold it exclusively, no handle exists.
            unsafe { self.slot(i).free_segment() };
        }
    }

    /// Takes `n` segments, waiting until `deadline`; gives everything back on failure.
    pub(crate) fn take_blocking(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<u32>, BufferPoolError> {
        // A timeout too long to be a deadline (e.g. `Duration::MAX`) waits without one.
        let deadline = Instant::now().checked_add(timeout);
        // `n ≤ total` (checked by the callers), so this reservation is small.
        let mut got = Vec::with_capacity(n);
        let result = loop {
            if got.len() >= n {
                break Ok(());
            }
            if self.is_destroyed() {
                break Err(BufferPoolError::NetworkPoolDestroyed);
            }
            if let Some(i) = self.request_pooled() {
                got.push(i);
                continue;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break Err(BufferPoolError::Timeout {
                    timeout,
                    total: self.total(),
                    segment_size: self.segment_size,
                });
            }
            wait_available(&self.availability, deadline);
        };
        match result {
            Ok(()) => Ok(got),
            Err(e) => {
                for i in got {
                    self.recycle_pooled(i);
                }
                Err(e)
            }
        }
    }

    /// `required + n`, or the "insufficient buffers" error if that passes the total (or
    /// overflows).
    fn require_more(&self, f: &Factory, n: usize) -> Result<usize, BufferPoolError> {
        let total = self.total();
        match f.required.checked_add(n) {
            Some(r) if r <= total => Ok(r),
            _ => Err(BufferPoolError::InsufficientBuffers {
                required: n,
                available: total.saturating_sub(f.required),
                total,
                segment_size: self.segment_size,
            }),
        }
    }

    /// Bytes of `n` segments (segments are below 4 GiB and fewer than 2³², so no overflow).
    fn bytes(&self, n: usize) -> u64 {
        (n as u64).saturating_mul(self.segment_size as u64)
    }

    /// Gives back `n` exclusive segments' worth of requirement and redistributes.
    pub(crate) fn revert_required(&self, n: usize) {
        let touched = {
            let mut f = lock(&self.factory);
            // `n` was added by the caller's successful request: no wrap.
            f.required = f.required.saturating_sub(n);
            self.redistribute_locked(&mut f)
        };
        reconcile_all(touched);
    }

    /// Unregisters pool `id` (its `lazy_destroy`) and redistributes.
    pub(crate) fn destroy_buffer_pool(&self, id: usize) {
        let touched = {
            let mut f = lock(&self.factory);
            let Some(pos) = f.pools.iter().position(|r| r.id == id) else {
                return;
            };
            let r = f.pools.remove(pos);
            f.required = f.required.saturating_sub(r.config.min);
            self.redistribute_locked(&mut f)
        };
        reconcile_all(touched);
    }

    /// Sets every resizable pool's size (under the factory lock); the returned pools must then
    /// be reconciled outside the lock so no waker or listener runs under it.
    fn redistribute_locked(&self, f: &mut Factory) -> Vec<Arc<LocalInner>> {
        let resizable: Vec<(&Registered, Arc<LocalInner>)> = f
            .pools
            .iter()
            .filter(|r| r.config.min < r.config.max)
            .filter_map(|r| r.pool.upgrade().map(|p| (r, p)))
            .collect();
        let shapes: Vec<PoolShape> = resizable
            .iter()
            .map(|(r, _)| PoolShape {
                min: r.config.min,
                expected: r.config.expected,
                max: r.config.max,
            })
            .collect();
        let sizes = redistribute(self.total().saturating_sub(f.required), &shapes);
        resizable
            .into_iter()
            .zip(sizes)
            .map(|((_, p), size)| {
                p.set_size_for_redistribution(size);
                p
            })
            .collect()
    }

    fn usage_percent_locked(&self, f: &Factory) -> usize {
        let total = if self.is_destroyed() { 0 } else { self.total() };
        if total == 0 {
            return 0;
        }
        let requested: u128 = f
            .pools
            .iter()
            .map(|r| r.config.estimated_requested() as u128)
            .sum();
        // `requested ≤ pools × usize::MAX`, far below `u128::MAX / 100`.
        (requested.saturating_mul(100))
            .checked_div(total as u128)
            .unwrap_or(0)
            .min(usize::MAX as u128) as usize
    }
}

/// Segment indices are `u32`, with `u32::MAX` reserved.
fn check_segment_count(n: usize) -> Result<(), BufferPoolError> {
    if n >= u32::MAX as usize {
        return Err(BufferPoolError::InvalidArgument(format!(
            "Number of network buffers ({n}) must be less than {}.",
            u32::MAX
        )));
    }
    Ok(())
}

fn reconcile_all(pools: Vec<Arc<LocalInner>>) {
    for p in pools {
        p.reconcile();
    }
}

/// The network buffers of one worker: `N` equal segments allocated up front and charged to the
/// network category, lent to [`LocalBufferPool`]s (pooled) or as exclusive segments (unpooled).
///
/// Requesting and recycling pooled segments is lock-free; a separate factory lock guards pool
/// creation, destruction and redistribution only. Dropping the pool destroys every local pool
/// and frees the idle segments; segments still lent out are freed when their last
/// [`Buffer`] drops.
///
/// # Examples
/// ```
/// use membudget_allocator::{Budget, Category, Quotas, SharedBudget};
/// use membudget_bufferpool::NetworkBufferPool;
///
/// let budget = SharedBudget::from(Budget::new(Quotas::unlimited().with(Category::Network, 1 << 20)));
/// let network = NetworkBufferPool::new(16, 4096, budget.clone())?;
/// assert_eq!(budget.used(Category::Network), 16 * 4096);
/// let pool = network.create_buffer_pool(2, 8)?;
/// let mut buffer = pool.request_buffer()?.expect("a buffer");
/// buffer.append(b"hello");
/// assert_eq!(buffer.as_slice(), b"hello");
/// drop(buffer); // back to `pool`
/// drop(pool);
/// assert_eq!(network.available_segments(), 16);
/// # Ok::<(), membudget_bufferpool::BufferPoolError>(())
/// ```
pub struct NetworkBufferPool {
    pub(crate) inner: Arc<GlobalInner>,
}

impl NetworkBufferPool {
    /// `num_segments` segments of `segment_size` bytes from a page source charged to
    /// `budget`'s network category.
    ///
    /// # Errors
    /// [`BufferPoolError::OutOfMemory`] if the budget or the OS refuses the memory (nothing
    /// stays allocated); [`BufferPoolError::InvalidArgument`] for a bad segment size or count.
    pub fn new(
        num_segments: usize,
        segment_size: usize,
        budget: SharedBudget,
    ) -> Result<Self, BufferPoolError> {
        Self::with_config(NetworkBufferPoolConfig::new(
            num_segments,
            segment_size,
            budget,
        ))
    }

    /// A pool as described by `config`.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_config(config: NetworkBufferPoolConfig) -> Result<Self, BufferPoolError> {
        check_segment_count(config.num_segments)?;
        let required = (config.num_segments as u64)
            .checked_mul(config.segment_size as u64)
            .ok_or_else(|| {
                BufferPoolError::InvalidArgument(format!(
                    "Network memory of {} segments of {} bytes each overflows 64 bits.",
                    config.num_segments, config.segment_size
                ))
            })?;
        let mut source_config = PageSourceConfig::new(
            config.segment_size,
            Category::Network,
            config.budget.clone(),
        );
        // Segments are taken once, up front, and come back only when the pool is destroyed:
        // then their memory goes straight back to the OS instead of being kept for reuse.
        source_config.retain_bytes = 0;
        let source = PageSource::new(source_config)
            .map_err(|e| BufferPoolError::InvalidArgument(e.to_string()))?;
        let segments = source.try_allocate_many(config.num_segments).map_err(|e| {
            BufferPoolError::OutOfMemory {
                required,
                allocated: 0,
                cause: e.to_string(),
            }
        })?;
        Self::build(
            segments,
            config.segment_size,
            config.request_timeout,
            Some(core::ptr::from_ref::<Budget>(&config.budget) as usize),
        )
    }

    /// A pool over segments allocated elsewhere (all the same size); whatever they are charged
    /// to is credited when the pool frees them.
    ///
    /// # Errors
    /// [`BufferPoolError::InvalidArgument`] if there are more than `u32::MAX - 1` segments or
    /// their sizes differ.
    pub fn from_segments(
        segments: Vec<MemorySegment>,
        request_timeout: Duration,
    ) -> Result<Self, BufferPoolError> {
        let segment_size = segments.first().map_or(0, |s| s.size());
        Self::build(segments, segment_size, request_timeout, None)
    }

    /// A pool over `segments`, each `segment_size` bytes (also when there are none).
    fn build(
        segments: Vec<MemorySegment>,
        segment_size: usize,
        request_timeout: Duration,
        budget_root: Option<usize>,
    ) -> Result<Self, BufferPoolError> {
        check_segment_count(segments.len())?;
        if let Some(bad) = segments.iter().find(|s| s.size() != segment_size) {
            return Err(BufferPoolError::InvalidArgument(format!(
                "All network segments must have the same size: found {} and {} bytes.",
                segment_size,
                bad.size()
            )));
        }
        if segment_size > u32::MAX as usize {
            return Err(BufferPoolError::InvalidArgument(format!(
                "Network segments must be smaller than 4 GiB: found {segment_size} bytes."
            )));
        }
        let n = segments.len();
        let free = IndexQueue::new(n);
        // `n < u32::MAX` (checked above), so every index fits.
        let slots: Box<[Slot]> = (0..=u32::MAX)
            .zip(segments)
            .map(|(i, s)| Slot::new(i, s))
            .collect();
        for i in (0..=u32::MAX).take(n) {
            let _ = free.push(i);
        }
        Ok(NetworkBufferPool {
            inner: Arc::new(GlobalInner {
                slots,
                free,
                availability: Availability::new(n > 0),
                destroyed: AtomicBool::new(false),
                segment_size,
                request_timeout,
                factory: Mutex::new(Factory {
                    pools: Vec::new(),
                    required: 0,
                    last_usage: 0,
                }),
                next_pool_id: AtomicUsize::new(0),
                budget_root,
            }),
        })
    }

    /// A pool of `min..=max` buffers (expected = `min`). See
    /// [`create_buffer_pool_with`](Self::create_buffer_pool_with).
    ///
    /// # Errors
    /// As [`create_buffer_pool_with`](Self::create_buffer_pool_with).
    pub fn create_buffer_pool(
        &self,
        min: usize,
        max: usize,
    ) -> Result<LocalBufferPool, BufferPoolError> {
        self.create_buffer_pool_with(BufferPoolConfig::new(min, max))
    }

    /// Registers a local pool guaranteed `config.min` buffers and redistributes the rest.
    ///
    /// # Errors
    /// [`BufferPoolError::NetworkPoolDestroyed`]; [`BufferPoolError::InsufficientBuffers`] when
    /// the minimums would exceed the total; [`BufferPoolError::InvalidArgument`] for a bad
    /// config.
    pub fn create_buffer_pool_with(
        &self,
        config: BufferPoolConfig,
    ) -> Result<LocalBufferPool, BufferPoolError> {
        self.register(config, PoolCharge::none())
    }

    /// A pool of `min..=max` buffers (expected = `min`) whose segments are charged to
    /// `consumer`. See [`create_buffer_pool_with_consumer`](Self::create_buffer_pool_with_consumer).
    ///
    /// # Errors
    /// As [`create_buffer_pool_with_consumer`](Self::create_buffer_pool_with_consumer).
    #[cfg(not(membudget_loom))]
    pub fn create_buffer_pool_for(
        &self,
        consumer: MemoryConsumer,
        min: usize,
        max: usize,
    ) -> Result<LocalBufferPool, BufferPoolError> {
        self.create_buffer_pool_with_consumer(BufferPoolConfig::new(min, max), consumer)
    }

    /// As [`create_buffer_pool_with`](Self::create_buffer_pool_with), charging `consumer`
    /// [`Category::Network`] bytes for every segment the pool holds — idle, lent out or in a
    /// thread's stash — from when it leaves this network pool until it comes back (the pool
    /// shrinks, is destroyed, or a buffer is recycled while it is over its size). Requests and
    /// recycles within the pool charge nothing. After the pool is destroyed and its buffers
    /// are recycled, the consumer holds none of its bytes.
    ///
    /// **Attribution, not a second quota.** This network pool's segments were charged in full
    /// to its budget when it was made; `consumer` says *which job or slot* holds them. Root
    /// its budget tree at a separate attribution [`Budget`](membudget_allocator::Budget) whose
    /// network quota is [`total_memory`](Self::total_memory) — under it, child limits
    /// divide the network buffers among jobs and slots, and reports name who holds them. A
    /// consumer rooted at the budget this pool charged would count every byte twice: that is
    /// refused (a pool made [`from_segments`](Self::from_segments) does not know what its
    /// segments were charged to; there the caller keeps the two apart).
    ///
    /// When `consumer` refuses a segment (its budget's limit, even after reclaim), the pool
    /// behaves as if the network pool had none to give: a request returns `None` (a blocking
    /// one waits, retrying every few milliseconds since nothing signals room in a budget), the
    /// segment goes back to the network pool, and the pool stops prefetching until a request
    /// succeeds in growing it; `reserve_segments` fails with
    /// [`BufferPoolError::BudgetRefused`], naming the refusal. Only a recycle into the pool
    /// wakes its [`available`](LocalBufferPool::available) futures and buffer listeners, so
    /// while [`is_refused_by_budget`](LocalBufferPool::is_refused_by_budget) they should
    /// request again now and then, as the blocking requests do. The charge runs outside every
    /// lock of the pools, so the consumers' reclaimers may recycle this pool's buffers or
    /// resize it.
    ///
    /// # Errors
    /// As [`create_buffer_pool_with`](Self::create_buffer_pool_with);
    /// [`BufferPoolError::InvalidArgument`] if `consumer`'s tree is rooted at the budget this
    /// pool charged.
    ///
    /// # Examples
    /// ```
    /// use membudget_allocator::{Budget, Category, ChildLimits, Quotas, SharedBudget};
    /// use membudget_bufferpool::{BufferPoolConfig, NetworkBufferPool};
    ///
    /// let process = SharedBudget::from(Budget::new(Quotas::unlimited()));
    /// let network = NetworkBufferPool::new(16, 4096, process)?;
    /// // Attribution of the network memory already charged above, divided among jobs.
    /// let attribution = SharedBudget::from(Budget::new(
    ///     Quotas::unlimited().with(Category::Network, network.total_memory()),
    /// ));
    /// let job = attribution
    ///     .child("job-1", ChildLimits::unlimited().with(Category::Network, 4 * 4096))
    ///     .unwrap();
    /// let gate = job.consumer("input-gate");
    /// let pool = network.create_buffer_pool_with_consumer(BufferPoolConfig::new(1, 8), gate.clone())?;
    /// let held: Vec<_> = (0..4).map(|_| pool.request_buffer().unwrap().unwrap()).collect();
    /// assert_eq!(gate.used(Category::Network), 4 * 4096);
    /// assert!(pool.request_buffer()?.is_none(), "job-1's limit: as if no segment were free");
    /// drop(held);
    /// drop(pool);
    /// assert_eq!(gate.used(Category::Network), 0);
    /// # Ok::<(), membudget_bufferpool::BufferPoolError>(())
    /// ```
    #[cfg(not(membudget_loom))]
    pub fn create_buffer_pool_with_consumer(
        &self,
        config: BufferPoolConfig,
        consumer: MemoryConsumer,
    ) -> Result<LocalBufferPool, BufferPoolError> {
        if self.inner.is_destroyed() {
            return Err(BufferPoolError::NetworkPoolDestroyed);
        }
        if let Some(root) = self.inner.budget_root {
            if root == core::ptr::from_ref::<Budget>(consumer.root()) as usize {
                return Err(BufferPoolError::InvalidArgument(format!(
                    "The memory consumer {consumer:?} of a LocalBufferPool is in a budget tree \
                     rooted at the budget its NetworkBufferPool charged for all {} bytes of \
                     network memory: its segments would count twice. Root the consumer's \
                     budget at a separate attribution Budget whose network quota is the \
                     network pool's size.",
                    self.total_memory()
                )));
            }
        }
        self.register(config, PoolCharge::new(consumer, self.inner.segment_size))
    }

    /// Registers a local pool charging `charge` (see `create_buffer_pool_with`).
    fn register(
        &self,
        config: BufferPoolConfig,
        charge: PoolCharge,
    ) -> Result<LocalBufferPool, BufferPoolError> {
        config.validate()?;
        let (pool, touched) = {
            let mut f = lock(&self.inner.factory);
            if self.inner.is_destroyed() {
                return Err(BufferPoolError::NetworkPoolDestroyed);
            }
            f.required = self.inner.require_more(&f, config.min)?;
            let id = self.inner.next_pool_id.fetch_add(1, Ordering::Relaxed);
            let inner = LocalInner::new(self.inner.clone(), id, config, charge);
            f.pools.push(Registered {
                id,
                pool: Arc::downgrade(&inner),
                config,
            });
            let mut touched = self.inner.redistribute_locked(&mut f);
            if config.min >= config.max {
                touched.push(inner.clone());
            }
            (inner, touched)
        };
        reconcile_all(touched);
        Ok(LocalBufferPool::from_inner(pool))
    }

    /// Takes `n` exclusive segments (e.g. a remote input channel's credits), waiting up to
    /// `timeout` for them; they count against the minimums like a pool's and return to this
    /// pool when their [`Buffer`]s drop (or through [`recycle_unpooled`](Self::recycle_unpooled)).
    ///
    /// # Errors
    /// [`BufferPoolError::NetworkPoolDestroyed`]; [`BufferPoolError::InsufficientBuffers`] if
    /// the requirement cannot be met; [`BufferPoolError::Timeout`] (naming
    /// `taskmanager.network.memory.exclusive-buffers-request-timeout-ms`). On every failure
    /// the segments already taken go back and the requirement is rolled back.
    pub fn request_unpooled(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<Buffer>, BufferPoolError> {
        let touched = {
            let mut f = lock(&self.inner.factory);
            if self.inner.is_destroyed() {
                return Err(BufferPoolError::NetworkPoolDestroyed);
            }
            if n == 0 {
                return Ok(Vec::new());
            }
            f.required = self.inner.require_more(&f, n)?;
            self.inner.redistribute_locked(&mut f)
        };
        reconcile_all(touched);
        match self.inner.take_blocking(n, timeout) {
            Ok(indices) => Ok(indices
                .into_iter()
                .map(|i| {
                    let slot = self.inner.slot(i);
                    // SAFETY: just popped from the free list: we hold it exclusively.
                    unsafe { slot.set_owner(Owner::Exclusive(self.inner.clone())) };
                    Buffer::from_slot(slot, crate::slot::NO_CHANNEL)
                })
                .collect()),
            Err(e) => {
                self.inner.revert_required(n);
                Err(e)
            }
        }
    }

    /// Returns exclusive segments (dropping them does the same, one redistribution each).
    pub fn recycle_unpooled(&self, buffers: Vec<Buffer>) {
        drop(buffers);
    }

    /// Marks the pool destroyed and frees its idle segments; segments still out are freed when
    /// they come back. Counts read 0 afterwards.
    pub fn destroy(&self) {
        {
            let _f = lock(&self.inner.factory);
            self.inner.destroyed.store(true, Ordering::SeqCst);
        }
        // SeqCst fence: pairs with `recycle_pooled`'s, so a concurrent recycle either sees the
        // flag or its segment is drained here.
        fence(Ordering::SeqCst);
        self.inner.free_idle_segments();
        // Wake exclusive requesters so they see the destruction.
        self.inner.availability.set_available();
    }

    /// Whether [`destroy`](Self::destroy) was called.
    pub fn is_destroyed(&self) -> bool {
        self.inner.is_destroyed()
    }

    /// Lazily destroys every local pool, then checks that no requirement is left.
    ///
    /// # Errors
    /// [`BufferPoolError::NotEmpty`] if exclusive segments are still out.
    pub fn destroy_all_buffer_pools(&self) -> Result<(), BufferPoolError> {
        let pools: Vec<Arc<LocalInner>> = lock(&self.inner.factory)
            .pools
            .iter()
            .filter_map(|r| r.pool.upgrade())
            .collect();
        for p in pools {
            p.lazy_destroy();
        }
        let mut f = lock(&self.inner.factory);
        // Pools whose handles and buffers were all gone could not be upgraded above.
        let dead = f
            .pools
            .iter()
            .filter(|r| r.pool.strong_count() == 0)
            .fold(0usize, |a, r| a.saturating_add(r.config.min));
        f.pools.retain(|r| r.pool.strong_count() > 0);
        f.required = f.required.saturating_sub(dead);
        if !f.pools.is_empty() || f.required > 0 {
            return Err(BufferPoolError::NotEmpty {
                pools: f.pools.len(),
                required: f.required,
            });
        }
        Ok(())
    }

    /// Segments of the pool (0 once destroyed).
    pub fn total_segments(&self) -> usize {
        if self.is_destroyed() {
            0
        } else {
            self.inner.total()
        }
    }

    /// Bytes per segment.
    pub fn segment_size(&self) -> usize {
        self.inner.segment_size
    }

    /// Segments in the global free list now.
    pub fn available_segments(&self) -> usize {
        self.inner.free.len()
    }

    /// Segments not in the global free list (lent to pools or exclusive).
    pub fn used_segments(&self) -> usize {
        self.total_segments()
            .saturating_sub(self.available_segments())
    }

    /// Total bytes.
    pub fn total_memory(&self) -> u64 {
        self.inner.bytes(self.total_segments())
    }

    /// Free bytes.
    pub fn available_memory(&self) -> u64 {
        self.inner.bytes(self.available_segments())
    }

    /// Used bytes.
    pub fn used_memory(&self) -> u64 {
        self.inner.bytes(self.used_segments())
    }

    /// Local pools registered.
    pub fn registered_pools(&self) -> usize {
        lock(&self.inner.factory).pools.len()
    }

    /// Σ minimums of the registered pools plus exclusive segments out.
    pub fn required_segments(&self) -> usize {
        lock(&self.inner.factory).required
    }

    /// Σ current sizes of the registered pools.
    pub fn count_buffers(&self) -> usize {
        lock(&self.inner.factory)
            .pools
            .iter()
            .filter_map(|r| r.pool.upgrade())
            .map(|p| p.num_buffers())
            .sum()
    }

    /// Σ over pools of `max` (or `expected` for unbounded pools): what the pools would like.
    pub fn estimated_requested_segments(&self) -> usize {
        lock(&self.inner.factory)
            .pools
            .iter()
            .map(|r| r.config.estimated_requested())
            .fold(0usize, usize::saturating_add)
    }

    /// [`estimated_requested_segments`](Self::estimated_requested_segments) / total, in percent.
    pub fn estimated_requested_usage_percent(&self) -> usize {
        let f = lock(&self.inner.factory);
        self.inner.usage_percent_locked(&f)
    }

    /// The usage warning to log now, if usage crossed 100% (or came back below it) since the
    /// last check; repeated checks at the same usage say nothing.
    pub fn usage_warning(&self) -> Option<String> {
        let mut f = lock(&self.inner.factory);
        let usage = self.inner.usage_percent_locked(&f);
        let last = f.last_usage;
        f.last_usage = usage;
        if usage >= USAGE_WARNING_THRESHOLD && usage != last {
            let total = self.total_memory();
            let requested = f
                .pools
                .iter()
                .map(|r| r.config.estimated_requested() as u64)
                .fold(0u64, u64::saturating_add)
                .saturating_mul(self.inner.segment_size as u64);
            Some(format!(
                "Memory usage [{usage}%] is too high to satisfy all of the requests. This can \
                 severely impact network throughput. Please consider increasing available \
                 network memory, or decreasing configured size of network buffer pools. \
                 (totalMemory={}, requestedMemory={}, missingMemory={})",
                MemorySize::new(total).to_human_readable(),
                MemorySize::new(requested).to_human_readable(),
                MemorySize::new(requested.saturating_sub(total)).to_human_readable()
            ))
        } else if usage < USAGE_WARNING_THRESHOLD && last >= USAGE_WARNING_THRESHOLD {
            Some(format!("Memory usage [{usage}%] went back to normal"))
        } else {
            None
        }
    }

    /// Logs [`usage_warning`](Self::usage_warning) at `warn` level, if any. Call it after
    /// setting up a batch of pools (Flink's shuffle environment does so after creating a task's
    /// gates and partitions).
    pub fn maybe_log_usage_warning(&self) {
        if let Some(w) = self.usage_warning() {
            log::warn!("{w}");
        }
    }

    /// Waiters registered for a free pooled segment now: threads blocked in
    /// [`request_unpooled`](Self::request_unpooled) or a local pool's `reserve_segments`,
    /// pending [`available`](Self::available) futures, and local pools subscribed to refill
    /// themselves. For tests and diagnostics.
    pub fn num_waiters(&self) -> usize {
        self.inner.availability.waiter_count()
    }

    /// Whether a pooled segment is free now (one load).
    pub fn is_available(&self) -> bool {
        self.inner.availability.is_available()
    }

    /// Completes when a pooled segment is free (a hint: another taker may be faster).
    pub fn available(&self) -> AvailableFuture<'_> {
        AvailableFuture::new(&self.inner.availability)
    }
}

impl Drop for NetworkBufferPool {
    fn drop(&mut self) {
        let _ = self.destroy_all_buffer_pools();
        self.destroy();
    }
}

impl core::fmt::Debug for NetworkBufferPool {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NetworkBufferPool")
            .field("total_segments", &self.total_segments())
            .field("segment_size", &self.inner.segment_size)
            .field("available_segments", &self.available_segments())
            .field("destroyed", &self.is_destroyed())
            .finish()
    }
}
