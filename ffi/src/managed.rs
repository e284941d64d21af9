//! Managed memory pages (`mb_managed_*`): `MemoryManager` pages lent to a host by id.

use crate::error::{
    Error, MB_ERR_DESTROYED, MB_ERR_INVALID_ARGUMENT, MB_ERR_OUT_OF_MEMORY, MB_ERR_QUOTA_EXCEEDED,
};
use crate::panic::boundary;
use crate::registry::Registry;
use crate::runtime::{mb_runtime, runtime};
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

/// Largest page count one `mb_managed_allocate_pages` call accepts.
const MAX_PAGES_PER_CALL: u32 = 1 << 24;

static SEGMENTS: Registry<Page> = Registry::new(4);
const KIND: &str = "segment id";

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
pub(crate) struct Managed {
    manager: MemoryManager,
    ledger: Arc<Ledger>,
}

impl Managed {
    /// `total` bytes of managed memory in pages of `page_size`, charged to `budget`.
    pub(crate) fn new(
        total: u64,
        page_size: u64,
        budget: membudget_allocator::SharedBudget,
    ) -> Result<Managed, Error> {
        let page_size = usize::try_from(page_size)
            .map_err(|_| Error::invalid(format!("segment size {page_size} is too large")))?;
        let manager = MemoryManager::new(total, page_size, budget)
            .map_err(|e| Error::new(crate::error::MB_ERR_CONFIG, e.to_string()))?;
        Ok(Managed {
            manager,
            ledger: Arc::default(),
        })
    }

    fn release_owner(&self, owner: u64) {
        let ids = self.ledger.lock().remove(&owner).unwrap_or_default();
        for id in ids {
            // Stale only if a concurrent mb_managed_release got there first: fine.
            let _ = SEGMENTS.remove(id);
        }
        self.manager.release_all(owner);
    }
}

impl Managed {
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

impl Drop for Managed {
    fn drop(&mut self) {
        self.release_everything();
    }
}

#[cold]
fn allocation_error(e: MemoryAllocationError) -> Error {
    let status = match &e {
        MemoryAllocationError::ShutDown { .. } => MB_ERR_DESTROYED,
        MemoryAllocationError::TooManyPages { .. }
        | MemoryAllocationError::InsufficientPages { .. }
        | MemoryAllocationError::InsufficientBytes { .. }
        | MemoryAllocationError::Source(SegmentError::Quota(_)) => MB_ERR_QUOTA_EXCEEDED,
        MemoryAllocationError::Source(SegmentError::Os { .. }) => MB_ERR_OUT_OF_MEMORY,
        _ => MB_ERR_INVALID_ARGUMENT,
    };
    Error::new(status, format!("mb_managed_allocate_pages: {e}"))
}

/// Allocates `n` managed pages for `owner` (any number the host uses to group pages, e.g. an
/// operator id), all or nothing, and writes them to `segments_out[0..n]`. Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_QUOTA_EXCEEDED` (not enough managed memory: the message names the
/// key to increase), `MB_ERR_INVALID_ARGUMENT`, `MB_ERR_NULL_POINTER`, `MB_ERR_INVALID_HANDLE`,
/// `MB_ERR_OUT_OF_MEMORY`.
///
/// # Safety
/// `segments_out` is valid for writes of `n` `mb_segment`s.
#[no_mangle]
pub unsafe extern "C" fn mb_managed_allocate_pages(
    rt: *const mb_runtime,
    owner: u64,
    n: u32,
    segments_out: *mut mb_segment,
) -> i32 {
    boundary("mb_managed_allocate_pages", || {
        let r = runtime(rt, "mb_managed_allocate_pages")?;
        if n == 0 {
            return Ok(());
        }
        if segments_out.is_null() {
            return Err(Error::null("mb_managed_allocate_pages", "segments_out"));
        }
        if n > MAX_PAGES_PER_CALL {
            return Err(Error::invalid(format!(
                "mb_managed_allocate_pages: n is {n}; at most {MAX_PAGES_PER_CALL} pages per call"
            )));
        }
        let m = r.managed();
        let pages = m
            .manager
            .allocate_pages(owner, n as usize)
            .map_err(allocation_error)?;
        let mut out = Vec::with_capacity(pages.len());
        let mut ledger = m.ledger.lock();
        for mut segment in pages {
            let seg = mb_segment {
                ptr: segment.as_mut_ptr(),
                size: segment.size() as u64,
                id: 0,
            };
            let page = Page {
                segment,
                owner,
                ledger: m.ledger.clone(),
            };
            match SEGMENTS.insert(page) {
                Ok(id) => {
                    ledger.entry(owner).or_default().insert(id);
                    out.push(mb_segment { id, ..seg });
                }
                Err(_) => {
                    drop(ledger);
                    for s in &out {
                        m.ledger.forget(owner, s.id);
                        let _ = SEGMENTS.remove(s.id);
                    }
                    return Err(Error::invalid(
                        "mb_managed_allocate_pages: too many live segment ids",
                    ));
                }
            }
        }
        drop(ledger);
        // SAFETY: `segments_out` is valid for `n == out.len()` writes per the contract; `out`
        // is ours, so they do not overlap.
        unsafe { core::ptr::copy_nonoverlapping(out.as_ptr(), segments_out, out.len()) };
        Ok(())
    })
}

/// Returns one page (by its id) to the runtime's managed memory. Releasing it again, or an id
/// of another runtime, is refused. Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_INVALID_HANDLE` (stale, repeated or forged id),
/// `MB_ERR_INVALID_ARGUMENT` (the page belongs to another runtime), `MB_ERR_NULL_POINTER`.
///
/// # Safety
/// None: every argument is checked. The page must no longer be used by the host.
#[no_mangle]
pub unsafe extern "C" fn mb_managed_release(rt: *const mb_runtime, segment_id: u64) -> i32 {
    boundary("mb_managed_release", || {
        let r = runtime(rt, "mb_managed_release")?;
        let ledger = r.managed().ledger.clone();
        let owner = {
            let page = SEGMENTS
                .get(segment_id)
                .map_err(|why| Error::handle(KIND, segment_id, why))?;
            if !Arc::ptr_eq(&page.ledger, &ledger) {
                return Err(Error::invalid(format!(
                    "mb_managed_release: segment {segment_id:#x} belongs to another runtime"
                )));
            }
            page.owner
        };
        let page = SEGMENTS
            .remove(segment_id)
            .map_err(|why| Error::handle(KIND, segment_id, why))?;
        ledger.forget(owner, segment_id);
        drop(page);
        Ok(())
    })
}

/// Returns every page `owner` holds (like Flink's `MemoryManager.releaseAll(owner)`); their
/// ids become invalid. An owner with no pages is fine. Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_NULL_POINTER`, `MB_ERR_INVALID_HANDLE`.
///
/// # Safety
/// None: every argument is checked. The pages must no longer be used by the host.
#[no_mangle]
pub unsafe extern "C" fn mb_managed_release_all(rt: *const mb_runtime, owner: u64) -> i32 {
    boundary("mb_managed_release_all", || {
        let r = runtime(rt, "mb_managed_release_all")?;
        r.managed().release_owner(owner);
        Ok(())
    })
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
