//! Network buffers lent to the host (`mb_buffer`) and their return (`mb_buffer_recycle`):
//! each lent buffer is registered under a generation-checked id until it is recycled.

use crate::error::Error;
use crate::handle::Ids;
use crate::panic::boundary;
use crate::registry::LocalFree;
use core::ffi::c_void;
use membudget_bufferpool::Buffer;
use std::cell::RefCell;
use std::sync::Mutex;

/// A network buffer lent to the host: `capacity` writable bytes at `ptr`, until
/// `mb_buffer_recycle(id)`. Ids carry a generation: recycling twice is an error.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mb_buffer {
    /// First byte of the buffer's memory segment.
    pub ptr: *mut u8,
    /// Bytes the buffer holds (the plan's segment size).
    pub capacity: u64,
    /// Generation-checked id for `mb_buffer_recycle`.
    pub id: u64,
}

/// Called once by `mb_local_pool_on_available`: with `MB_OK` and a buffer the callee now owns
/// (recycle it with `mb_buffer_recycle`), or with `MB_ERR_DESTROYED` and NULL if the pool was
/// freed first. Runs on the thread that recycled the buffer (or freed the pool), or on the
/// registering thread if a buffer was available at once; it must not block.
pub type mb_buffer_callback =
    Option<unsafe extern "C" fn(ctx: *mut c_void, status: i32, buffer: *const mb_buffer)>;

/// Lent buffers by id; a slot freed on a thread is reused by that thread's next buffer.
static BUFFERS: Ids<Buffer> = Ids::with_local_free(3, "buffer id", &BUFFER_SLOTS, &SPILLED);
static SPILLED: Mutex<Vec<u32>> = Mutex::new(Vec::new());
thread_local! {
    static BUFFER_SLOTS: RefCell<LocalFree> = const { RefCell::new(LocalFree::new()) };
}

/// Registers `buffer` and describes it for the host.
///
/// # Errors
/// `MB_ERR_INVALID_ARGUMENT` for a shared or read-only buffer, or when 268 million buffer ids
/// are live.
#[inline]
pub(crate) fn publish(mut buffer: Buffer) -> Result<mb_buffer, Error> {
    let capacity = buffer.capacity() as u64;
    let Some(bytes) = buffer.as_mut_slice() else {
        return Err(Error::invalid(
            "a shared or read-only buffer cannot be lent",
        ));
    };
    let ptr = bytes.as_mut_ptr();
    let id = BUFFERS
        .insert(buffer)
        .map_err(|_| Error::invalid("too many live buffer ids"))?;
    Ok(mb_buffer { ptr, capacity, id })
}

/// Gives a buffer back (to its local pool, or to the network pool if that was freed). The id
/// is invalid afterwards: recycling it again, or a forged id, is refused and never frees
/// twice. May run `on_available` callbacks of other threads' pools on this thread. Never
/// blocks.
///
/// Returns `MB_OK` or `MB_ERR_INVALID_HANDLE`.
///
/// # Safety
/// None: the id is checked. The host must not touch the buffer's memory afterwards.
#[no_mangle]
pub unsafe extern "C" fn mb_buffer_recycle(buffer_id: u64) -> i32 {
    boundary("mb_buffer_recycle", |_| BUFFERS.remove(buffer_id).map(drop))
}
