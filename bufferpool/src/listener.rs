//! `BufferListener`: a callback that receives the next recycled buffer of an exhausted pool.

use crate::Buffer;

/// Notified when an exhausted [`LocalBufferPool`](crate::LocalBufferPool) gets a buffer back
/// (registered with [`LocalBufferPool::add_buffer_listener`](crate::LocalBufferPool::add_buffer_listener)).
///
/// A listener is notified once and then forgotten; it registers again if it wants more.
/// Notifications run outside every pool lock, on the thread that recycled the buffer.
pub trait BufferListener: Send + Sync {
    /// Offers `buffer`. Return `Err(buffer)` to decline it; it then goes to the next listener
    /// or back to the pool.
    fn notify_buffer_available(&self, buffer: Buffer) -> Result<(), Buffer>;

    /// The pool was destroyed while this listener waited.
    fn notify_buffer_destroyed(&self);
}
