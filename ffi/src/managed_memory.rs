//! `ManagedMemory`: a runtime's managed memory and the pages it lends to the host by id.
//!
//! The runtime's `MemoryManager` allocates the pages; each lent page is registered under a
//! generation-checked segment id and recorded in a per-owner ledger, so one page or all pages
//! of an owner can be returned, and everything comes back when the runtime shuts down.

use crate::call::Call;
use crate::error::{
    Error, MB_ERR_CONFIG, MB_ERR_DESTROYED, MB_ERR_INVALID_ARGUMENT, MB_ERR_OUT_OF_MEMORY,
    MB_ERR_QUOTA_EXCEEDED,
};
use crate::handle::Ids;
use crate::refusal::Refusal;
use membudget_allocator::{Category, Role, SharedBudget};
use membudget_segments::{MemoryAllocationError, MemoryManager, MemorySegment, SegmentError};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

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

/// A runtime's managed memory: the manager and the ledger of lent pages.
#[derive(Debug)]
pub(crate) struct ManagedMemory {
    manager: MemoryManager,
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
            manager,
            ledger: Arc::default(),
            role,
        })
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
        let pages = self
            .manager
            .allocate_pages(owner, n)
            .map_err(|e| self.allocation_error(call, e))?;
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
    /// page of another runtime).
    pub(crate) fn release(&self, call: Call, segment_id: u64) -> Result<(), Error> {
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
    pub(crate) fn release_owner(&self, owner: u64) {
        let ids = self.ledger.lock().remove(&owner).unwrap_or_default();
        for id in ids {
            // Stale only if a concurrent mb_managed_release got there first: fine.
            let _ = SEGMENTS.remove(id);
        }
        self.manager.release_all(owner);
    }

    /// Returns every lent page and refuses new allocations.
    pub(crate) fn shut_down(&self) {
        self.release_everything();
        self.manager.shutdown();
    }

    fn release_everything(&self) {
        let owners: Vec<u64> = self.ledger.lock().keys().copied().collect();
        for owner in owners {
            self.release_owner(owner);
        }
    }
}

impl Drop for ManagedMemory {
    fn drop(&mut self) {
        self.release_everything();
    }
}

impl ManagedMemory {
    #[cold]
    fn allocation_error(&self, call: Call, e: MemoryAllocationError) -> Error {
        let refusal = self.refusal(&e);
        let error = allocation_error(call, e);
        match refusal {
            Some(r) => error.with_refusal(r),
            None => error,
        }
    }

    /// What refused a request that failed with `e`, for `mb_last_refusal`.
    fn refusal(&self, e: &MemoryAllocationError) -> Option<Refusal> {
        let page = self.manager.page_size() as u64;
        let total = self.manager.total_memory();
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
            MemoryAllocationError::TooManyPages { requested, .. } => Some(pool(
                requested.saturating_mul(page),
                self.manager.available_memory(),
            )),
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
