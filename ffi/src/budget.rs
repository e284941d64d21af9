//! Budget calls: memory the host manages itself (`mb_reserve`/`mb_release`), direct memory
//! from the runtime (`mb_alloc`/`mb_free`) and usage counters (`mb_usage`).

use crate::panic::boundary;
use crate::runtime::{mb_runtime, RUNTIMES};
use crate::struct_size::{fields, Fields};
use membudget_allocator::QuotaMode;

/// One category's counters (`mb_usage`). Set `struct_size` before the call; fields past it are
/// not written (so the struct can grow). It must end on a field; bytes past this library's
/// struct (a newer host's fields) are written as zero.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct mb_category_usage {
    /// `sizeof(mb_category_usage)` as the host knows it (left unchanged by the call).
    pub struct_size: u32,
    /// The category (`MB_CATEGORY_*`).
    pub category: u32,
    /// Bytes charged now.
    pub used: u64,
    /// Highest `used` seen.
    pub peak: u64,
    /// The quota (`UINT64_MAX` = none).
    pub quota: u64,
    /// Bytes that may still be charged before the quota (or the process total) refuses.
    pub available: u64,
    /// Requests refused so far.
    pub failures: u64,
    /// Of `used`: bytes the host holds through `mb_reserve`.
    pub host_reserved: u64,
    /// Of `used`: bytes the host holds through `mb_alloc`.
    pub host_allocated: u64,
    /// 1 if the category enforces its quota, 0 if it only tracks.
    pub enforced: u32,
    /// Reserved, always 0.
    pub reserved: u32,
}

/// The fields of `mb_category_usage`, in order (checked to tile the struct).
const USAGE_FIELDS: &Fields = fields!(mb_category_usage {
    struct_size,
    category,
    used,
    peak,
    quota,
    available,
    failures,
    host_reserved,
    host_allocated,
    enforced,
    reserved,
});

/// Charges `bytes` of `category` for memory the host allocates itself (e.g. a .NET host
/// reporting GC heap growth). Give it back with `mb_release`. Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_QUOTA_EXCEEDED` (nothing charged; the message names used, quota
/// and the key to increase), `MB_ERR_INVALID_ARGUMENT` (category), `MB_ERR_NULL_POINTER`,
/// `MB_ERR_INVALID_HANDLE`, `MB_ERR_DESTROYED` (the runtime was freed by another thread
/// meanwhile; nothing charged).
///
/// # Safety
/// None: every argument is checked.
#[no_mangle]
pub unsafe extern "C" fn mb_reserve(rt: *const mb_runtime, category: u32, bytes: u64) -> i32 {
    boundary("mb_reserve", |call| {
        let c = crate::category::category(call.name(), category)?;
        RUNTIMES.with(call, rt, move |call, r| {
            r.host().reserve(call, r.budget(), c, bytes)
        })
    })
}

/// Gives back `bytes` of `category` reserved with `mb_reserve`. Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_INVALID_ARGUMENT` (bad category, or more than the host holds
/// reserved: nothing is released then), `MB_ERR_NULL_POINTER`, `MB_ERR_INVALID_HANDLE`,
/// `MB_ERR_DESTROYED` (the runtime was freed by another thread meanwhile: it released
/// everything).
///
/// # Safety
/// None: every argument is checked.
#[no_mangle]
pub unsafe extern "C" fn mb_release(rt: *const mb_runtime, category: u32, bytes: u64) -> i32 {
    boundary("mb_release", |call| {
        let c = crate::category::category(call.name(), category)?;
        RUNTIMES.with(call, rt, move |call, r| {
            r.host().release(call, r.budget(), c, bytes)
        })
    })
}

/// Allocates `size` bytes aligned to `align` (a power of two up to 65536), charged to
/// `category`; `*out` receives the block. Free it with `mb_free` on the same runtime (blocks
/// still held when the runtime is freed are freed with it). Never blocks (beyond `malloc`).
///
/// Returns `MB_OK`, `MB_ERR_QUOTA_EXCEEDED`, `MB_ERR_INVALID_ARGUMENT` (category, zero size,
/// alignment), `MB_ERR_OUT_OF_MEMORY`, `MB_ERR_NULL_POINTER`, `MB_ERR_INVALID_HANDLE`,
/// `MB_ERR_DESTROYED` (the runtime was freed by another thread meanwhile; nothing allocated).
///
/// # Safety
/// `out` is valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mb_alloc(
    rt: *const mb_runtime,
    category: u32,
    size: u64,
    align: u64,
    out: *mut *mut u8,
) -> i32 {
    boundary("mb_alloc", |call| {
        // SAFETY: `out` is valid for a write per this function's contract.
        let out = unsafe { call.out(out, "out") }?;
        let c = crate::category::category(call.name(), category)?;
        out.write(RUNTIMES.with(call, rt, |call, r| {
            r.host().alloc(call, r.budget(), c, size, align)
        })?);
        Ok(())
    })
}

/// Frees a block from `mb_alloc` and credits its category. `mb_free(rt, NULL)` does nothing.
/// Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_INVALID_ARGUMENT` (not a live block of this runtime: a double free
/// or a foreign pointer is refused and nothing is freed), `MB_ERR_NULL_POINTER` (rt),
/// `MB_ERR_INVALID_HANDLE`, `MB_ERR_DESTROYED` (the runtime was freed by another thread
/// meanwhile: it freed every block).
///
/// # Safety
/// None: the pointer is looked up, never dereferenced, unless it is a live block.
#[no_mangle]
pub unsafe extern "C" fn mb_free(rt: *const mb_runtime, ptr: *mut u8) -> i32 {
    boundary("mb_free", |call| {
        RUNTIMES.with(call, rt, |call, r| {
            if ptr.is_null() {
                return Ok(());
            }
            r.host().free(call, r.budget(), ptr)
        })
    })
}

/// Fills `*usage` (up to `usage->struct_size` bytes, which must be at least 8 and end on a
/// field) with the counters of `category`. Never blocks.
///
/// Returns `MB_OK`, `MB_ERR_INVALID_ARGUMENT` (category, struct_size),
/// `MB_ERR_NULL_POINTER`, `MB_ERR_INVALID_HANDLE`.
///
/// # Safety
/// `usage` is valid for reads and writes of `usage->struct_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn mb_usage(
    rt: *const mb_runtime,
    category: u32,
    usage: *mut mb_category_usage,
) -> i32 {
    boundary("mb_usage", |call| {
        if usage.is_null() {
            return Err(call.null("usage"));
        }
        // SAFETY: non-null; the leading u32 is readable per the contract.
        let size = unsafe { usage.cast::<u32>().read_unaligned() } as usize;
        let n = USAGE_FIELDS.known_bytes(call, "usage", size, 2)?;
        let c = crate::category::category(call.name(), category)?;
        let r = RUNTIMES.get(call, rt)?;
        let u = r.budget().usage(c);
        let out = mb_category_usage {
            struct_size: size as u32,
            category,
            used: u.used,
            peak: u.peak,
            quota: u.quota,
            available: r.budget().available(c),
            failures: u.failures,
            host_reserved: r.host().reserved(c),
            host_allocated: r.host().allocated(c),
            enforced: u32::from(u.mode == QuotaMode::Enforce),
            reserved: 0,
        };
        // SAFETY: `usage` is valid for `size >= n` bytes of writes; `out` is a local. `n` ends
        // on a field: whole fields only.
        unsafe {
            core::ptr::copy_nonoverlapping(
                (&out as *const mb_category_usage).cast::<u8>(),
                usage.cast::<u8>(),
                n,
            )
        };
        if size > n {
            // SAFETY: `usage` is valid for `size > n` bytes of writes.
            let tail = unsafe { usage.cast::<u8>().add(n) };
            // SAFETY: as above, `size - n` bytes from `n` on; a newer host's fields read 0.
            unsafe { tail.write_bytes(0, size - n) };
        }
        Ok(())
    })
}
