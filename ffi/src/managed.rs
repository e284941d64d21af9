//! Managed memory pages (`mb_managed_*`): `MemoryManager` pages lent to a host by id.

use crate::managed_memory::mb_segment;
use crate::panic::boundary;
use crate::runtime::{mb_runtime, RUNTIMES};

/// Largest page count one `mb_managed_allocate_pages` call accepts.
const MAX_PAGES_PER_CALL: u32 = 1 << 24;

/// Allocates `n` managed pages for `owner` (any number the host uses to group pages, e.g. an
/// operator id), all or nothing, and writes them to `segments_out[0..n]`. Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_QUOTA_EXCEEDED` (not enough managed memory: the message names the
/// key to increase), `MB_ERR_INVALID_ARGUMENT`, `MB_ERR_NULL_POINTER`, `MB_ERR_INVALID_HANDLE`,
/// `MB_ERR_OUT_OF_MEMORY`, `MB_ERR_DESTROYED` (the runtime was freed by another thread
/// meanwhile).
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
    boundary("mb_managed_allocate_pages", |call| {
        let r = RUNTIMES.get(call, rt)?;
        if n == 0 {
            return Ok(());
        }
        if segments_out.is_null() {
            return Err(call.null("segments_out"));
        }
        if n > MAX_PAGES_PER_CALL {
            return Err(call.invalid(format_args!(
                "n is {n}; at most {MAX_PAGES_PER_CALL} pages per call"
            )));
        }
        let out = r.managed().allocate(call, owner, n as usize)?;
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
/// `MB_ERR_INVALID_ARGUMENT` (the page belongs to another runtime), `MB_ERR_NULL_POINTER`,
/// `MB_ERR_DESTROYED` (the runtime was freed by another thread meanwhile: every page was
/// returned).
///
/// # Safety
/// None: every argument is checked. The page must no longer be used by the host.
#[no_mangle]
pub unsafe extern "C" fn mb_managed_release(rt: *const mb_runtime, segment_id: u64) -> i32 {
    boundary("mb_managed_release", |call| {
        RUNTIMES.get(call, rt)?.managed().release(call, segment_id)
    })
}

/// Returns every page `owner` holds (like Flink's `MemoryManager.releaseAll(owner)`); their
/// ids become invalid. An owner with no pages is fine. Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_NULL_POINTER`, `MB_ERR_INVALID_HANDLE`, `MB_ERR_DESTROYED` (the
/// runtime was freed by another thread meanwhile: every page was returned).
///
/// # Safety
/// None: every argument is checked. The pages must no longer be used by the host.
#[no_mangle]
pub unsafe extern "C" fn mb_managed_release_all(rt: *const mb_runtime, owner: u64) -> i32 {
    boundary("mb_managed_release_all", |call| {
        RUNTIMES.get(call, rt)?.managed().release_owner(call, owner)
    })
}
