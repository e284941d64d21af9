//! `ManagedMemory`: a runtime's managed memory and the pages it lends to the host by id.
//!
//! The runtime's `MemoryManager` allocates the pages; each lent page is registered under a
//! generation-checked segment id and recorded in a per-owner ledger, so one page or all pages
//! of an owner can be returned, and everything comes back when the runtime shuts down: then
//! the manager itself is dropped, and with it the page source's memory (a reference to the
//! runtime kept elsewhere pins none of it). Calls hold the manager under a read lock, so a
//! shutdown never interleaves with an allocation half registered.

use crate::call::Call;
use crate::error::{
    Error, MB_ERR_CONFIG, MB_ERR_DESTROYED, MB_ERR_INVALID_ARGUMENT, MB_ERR_OUT_OF_MEMORY,
    MB_ERR_QUOTA_EXCEEDED,
};
use crate::handle::Ids;
use crate::refusal::Refusal;
use crate::runtime::freed_meanwhile;
use membudget_allocator::{Category, Role, SharedBudget};
use membudget_segments::{MemoryAllocationError, MemoryManager, MemorySegment, SegmentError};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

/// One managed page lent to the host: write through `ptr` (`size` bytes) until it is released
/// with `mb_managed_release(rt, id)` or `mb_managed_release_all(rt, owner)`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mb_segment {
    /// First byte of the page.
    pub ptr: *mut u8,
    /// Bytes in the page (the plan's segment size).
    pub size: u64,
    /// Generation-checked id for `mb_managed_release`.
    pub id: u64,
}

/// Pages lent to hosts, by segment id.
static SEGMENTS: Ids<Page> = Ids::new(4, "segment id");

/// A page in the registry, remembering who holds it.
struct Page {
    segment: MemorySegment,
    owner: u64,
    ledger: Arc<Ledger>,
}

/// Which segment ids each owner of one runtime holds.
#[derive(Debug, Default)]
struct Ledger {
    owners: Mutex<HashMap<u64, HashSet<u64>>>,
}

impl Ledger {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, HashSet<u64>>> {
        // Insert/remove only: a panic cannot leave the map half-updated.
        self.owners.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn forget(&self, owner: u64, id: u64) {
        let mut owners = self.lock();
        if let Some(ids) = owners.get_mut(&owner) {
            ids.remove(&id);
            if ids.is_empty() {
                owners.remove(&owner);
            }
        }
    }
}

/// A runtime's managed memory: the manager (`None` once shut down) and the ledger of lent
/// pages.
#[derive(Debug)]
pub(crate) struct ManagedMemory {
    manager: RwLock<Option<MemoryManager>>,
    ledger: Arc<Ledger>,
    /// Whose keys a refusal names (the role of the runtime's quotas).
    role: Role,
}

impl ManagedMemory {
    /// `total` bytes of managed memory in pages of `page_size`, charged to `budget`.
    pub(crate) fn new(
        total: u64,
        page_size: u64,
        budget: SharedBudget,
    ) -> Result<ManagedMemory, Error> {
        let page_size = usize::try_from(page_size)
            .map_err(|_| Error::invalid(format!("segment size {page_size} is too large")))?;
        let role = budget.role();
        let manager = MemoryManager::new(total, page_size, budget)
            .map_err(|e| Error::new(MB_ERR_CONFIG, e.to_string()))?;
        Ok(ManagedMemory {
            manager: RwLock::new(Some(manager)),
            ledger: Arc::default(),
            role,
        })
    }

    /// The manager, read-locked for the call.
    ///
    /// # Errors
    /// `MB_ERR_DESTROYED` once the runtime shut down.
    fn manager(&self, call: Call) -> Result<RwLockReadGuard<'_, Option<MemoryManager>>, Error> {
        // A panic cannot leave the `Option` half-written.
        let m = self.manager.read().unwrap_or_else(|e| e.into_inner());
        if m.is_none() {
            return Err(freed_meanwhile(call));
        }
        Ok(m)
    }

    /// Allocates `n` pages for `owner`, all or nothing, each registered under a new segment
    /// id.
    ///
    /// # Errors
    /// `MB_ERR_QUOTA_EXCEEDED` (not enough managed memory), `MB_ERR_DESTROYED` (shut down),
    /// `MB_ERR_OUT_OF_MEMORY`, `MB_ERR_INVALID_ARGUMENT`.
    pub(crate) fn allocate(
        &self,
        call: Call,
        owner: u64,
        n: usize,
    ) -> Result<Vec<mb_segment>, Error> {
        // Held until every page is registered: a shutdown then finds and returns them all.
        let manager = self.manager(call)?;
        let Some(m) = manager.as_ref() else {
            return Err(freed_meanwhile(call));
        };
        let pages = m
            .allocate_pages(owner, n)
            .map_err(|e| self.allocation_error(m, call, e))?;
        let mut out = Vec::with_capacity(pages.len());
        let mut ledger = self.ledger.lock();
        for mut segment in pages {
            let seg = mb_segment {
                ptr: segment.as_mut_ptr(),
                size: segment.size() as u64,
                id: 0,
            };
            let page = Page {
                segment,
                owner,
                ledger: self.ledger.clone(),
            };
            match SEGMENTS.insert(page) {
                Ok(id) => {
                    ledger.entry(owner).or_default().insert(id);
                    out.push(mb_segment { id, ..seg });
                }
                Err(_) => {
                    drop(ledger);
                    for s in &out {
                        self.ledger.forget(owner, s.id);
                        let _ = SEGMENTS.remove(s.id);
                    }
                    return Err(call.invalid("too many live segment ids"));
                }
            }
        }
        Ok(out)
    }

    /// Returns the page `segment_id` to the manager.
    ///
    /// # Errors
    /// `MB_ERR_INVALID_HANDLE` (stale, repeated or forged id), `MB_ERR_INVALID_ARGUMENT` (a
    /// page of another runtime), `MB_ERR_DESTROYED` (shut down meanwhile).
    pub(crate) fn release(&self, call: Call, segment_id: u64) -> Result<(), Error> {
        let _manager = self.manager(call)?;
        let owner = {
            let page = SEGMENTS.get(segment_id)?;
            if !Arc::ptr_eq(&page.ledger, &self.ledger) {
                return Err(call.invalid(format_args!(
                    "segment {segment_id:#x} belongs to another runtime"
                )));
            }
            page.owner
        };
        let page = SEGMENTS.remove(segment_id)?;
        self.ledger.forget(owner, segment_id);
        drop(page);
        Ok(())
    }

    /// Returns every page `owner` holds.
    ///
    /// # Errors
    /// `MB_ERR_DESTROYED` (shut down meanwhile: every page was returned).
    pub(crate) fn release_owner(&self, call: Call, owner: u64) -> Result<(), Error> {
        let manager = self.manager(call)?;
        self.forget_owner(owner);
        if let Some(m) = manager.as_ref() {
            m.release_all(owner);
        }
        Ok(())
    }

    /// Unregisters (and so drops) every page `owner` holds.
    fn forget_owner(&self, owner: u64) {
        let ids = self.ledger.lock().remove(&owner).unwrap_or_default();
        for id in ids {
            // Stale only if a concurrent mb_managed_release got there first: fine.
            let _ = SEGMENTS.remove(id);
        }
    }

    /// Returns every lent page, refuses everything from now on and drops the manager, so its
    /// page source gives its memory back to the OS. Idempotent.
    pub(crate) fn shut_down(&self) {
        let manager = {
            let mut m = self.manager.write().unwrap_or_else(|e| e.into_inner());
            let owners: Vec<u64> = self.ledger.lock().keys().copied().collect();
            for owner in owners {
                self.forget_owner(owner);
            }
            m.take()
        };
        if let Some(m) = manager {
            m.shutdown();
        }
    }
}

impl Drop for ManagedMemory {
    fn drop(&mut self) {
        self.shut_down();
    }
}

impl ManagedMemory {
    #[cold]
    fn allocation_error(&self, m: &MemoryManager, call: Call, e: MemoryAllocationError) -> Error {
        let refusal = self.refusal(m, &e);
        let error = allocation_error(call, e);
        match refusal {
            Some(r) => error.with_refusal(r),
            None => error,
        }
    }

    /// What refused a request that failed with `e`, for `mb_last_refusal`.
    fn refusal(&self, m: &MemoryManager, e: &MemoryAllocationError) -> Option<Refusal> {
        let page = m.page_size() as u64;
        let total = m.total_memory();
        let pool = |requested: u64, available: u64| {
            Refusal::of_pool(
                Category::Managed,
                requested,
                total.saturating_sub(available),
                total,
                self.role,
            )
        };
        match e {
            MemoryAllocationError::TooManyPages { requested, .. } => {
                Some(pool(requested.saturating_mul(page), m.available_memory()))
            }
            MemoryAllocationError::InsufficientPages {
                requested,
                available,
                ..
            } => Some(pool(requested.saturating_mul(page), *available)),
            MemoryAllocationError::InsufficientBytes {
                requested,
                available,
                ..
            } => Some(pool(*requested, *available)),
            MemoryAllocationError::Source(SegmentError::Quota(q)) => Some(Refusal::of_budget(q)),
            _ => None,
        }
    }
}

#[cold]
fn allocation_error(call: Call, e: MemoryAllocationError) -> Error {
    let status = match &e {
        MemoryAllocationError::ShutDown { .. } => MB_ERR_DESTROYED,
        MemoryAllocationError::TooManyPages { .. }
        | MemoryAllocationError::InsufficientPages { .. }
        | MemoryAllocationError::InsufficientBytes { .. }
        | MemoryAllocationError::Source(SegmentError::Quota(_)) => MB_ERR_QUOTA_EXCEEDED,
        MemoryAllocationError::Source(SegmentError::Os { .. }) => MB_ERR_OUT_OF_MEMORY,
        _ => MB_ERR_INVALID_ARGUMENT,
    };
    call.error(status, e)
}

// Keeps the segment's field "used" for readers of `Page`: the page lives as long as its entry.
impl core::fmt::Debug for Page {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Page")
            .field("size", &self.segment.size())
            .field("owner", &self.owner)
            .finish()
    }
}
