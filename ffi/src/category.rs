//! Category codes as the C ABI passes them.

use crate::error::Error;
use membudget_allocator::Category;

/// Heap: framework + task heap (a host reports its GC heap growth here).
pub const MB_CATEGORY_HEAP: u32 = 0;
/// Direct: framework + task off-heap (host direct buffers, `mb_alloc`).
pub const MB_CATEGORY_DIRECT: u32 = 1;
/// Managed memory (`mb_managed_*` pages).
pub const MB_CATEGORY_MANAGED: u32 = 2;
/// Network memory (`mb_local_pool_*` buffers).
pub const MB_CATEGORY_NETWORK: u32 = 3;
/// JVM metaspace + overhead.
pub const MB_CATEGORY_OVERHEAD: u32 = 4;

const _: () = assert!(MB_CATEGORY_HEAP == Category::Heap as u32);
const _: () = assert!(MB_CATEGORY_DIRECT == Category::Direct as u32);
const _: () = assert!(MB_CATEGORY_MANAGED == Category::Managed as u32);
const _: () = assert!(MB_CATEGORY_NETWORK == Category::Network as u32);
const _: () = assert!(MB_CATEGORY_OVERHEAD == Category::Overhead as u32);

/// The category with C code `code`.
///
/// # Errors
/// `MB_ERR_INVALID_ARGUMENT` naming the function, the code and the valid ones.
#[inline]
pub(crate) fn category(function: &str, code: u32) -> Result<Category, Error> {
    Category::from_code(code).ok_or_else(|| {
        Error::invalid(format!(
            "{function}: category {code} is not one of 0 (heap), 1 (direct), 2 (managed), \
             3 (network), 4 (overhead)"
        ))
    })
}
