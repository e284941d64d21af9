//! `BufferListener`: a callback that receives the next recycled buffer of an exhausted pool.

use crate::Buffer;
use std::sync::Arc;

/// Notified when an exhausted [`LocalBufferPool`](crate::LocalBufferPool) gets a buffer back
/// (registered with [`LocalBufferPool::add_buffer_listener`](crate::LocalBufferPool::add_buffer_listener)).
///
/// A listener is notified once and then forgotten; it registers again if it wants more.
/// Notifications run outside every pool lock, on the thread that recycled the buffer; one made
/// due inside another (its listener recycled a buffer) runs after that one returns, so a chain
/// of listeners never deepens the stack.
pub trait BufferListener: Send + Sync {
    /// Offers `buffer`. Return `Err(buffer)` to decline it; it then goes to the next listener
    /// or back to the pool.
    fn notify_buffer_available(&self, buffer: Buffer) -> Result<(), Buffer>;

    /// The pool was destroyed while this listener waited.
    fn notify_buffer_destroyed(&self);
}

/// Offers `buffer` to `listener` (see [`BufferListener::notify_buffer_available`]), unless this
/// thread is inside such a notification already: then the listener is owed the buffer and the
/// outermost notification on this thread offers it once its listener returns. A listener that
/// recycles its buffer into a pool with waiting listeners (or registers again and recycles, as
/// an async consumer's loop does) thus never nests the next notification inside itself: a
/// chain of any length takes constant stack (nested, 100 000 of them overflowed it).
///
/// An owed buffer its listener declines is dropped, which recycles it to its pool like any
/// buffer: the pool offers it to its next listener, or keeps it.
///
/// # Errors
/// Hands `buffer` back if the listener declined it (only when offered now).
pub(crate) fn offer(listener: Arc<dyn BufferListener>, buffer: Buffer) -> Result<(), Buffer> {
    #[cfg(not(membudget_loom))]
    {
        owed::offer(listener, buffer)
    }
    // Loom models no thread-local state: offered at once.
    #[cfg(membudget_loom)]
    {
        listener.notify_buffer_available(buffer)
    }
}

#[cfg(not(membudget_loom))]
mod owed {
    use super::{Arc, Buffer, BufferListener};
    use core::cell::{Cell, RefCell};
    use std::collections::VecDeque;

    thread_local! {
        /// Whether this thread is inside a notification, and what it owes meanwhile.
        static NOTIFYING: Cell<bool> = const { Cell::new(false) };
        static OWED: RefCell<VecDeque<(Arc<dyn BufferListener>, Buffer)>> =
            const { RefCell::new(VecDeque::new()) };
    }

    /// Clears `NOTIFYING` when the outermost notification ends, unwinding included.
    struct Outermost;

    impl Drop for Outermost {
        fn drop(&mut self) {
            let _ = NOTIFYING.try_with(|n| n.set(false));
        }
    }

    pub(super) fn offer(listener: Arc<dyn BufferListener>, buffer: Buffer) -> Result<(), Buffer> {
        match NOTIFYING.try_with(|n| n.replace(true)) {
            Ok(false) => {}
            Ok(true) => {
                let mut owed = Some((listener, buffer));
                let _ = OWED.try_with(|o| o.borrow_mut().extend(owed.take()));
                // Unless the thread is exiting (its queue is gone): then offered now.
                return match owed {
                    Some((listener, buffer)) => listener.notify_buffer_available(buffer),
                    None => Ok(()),
                };
            }
            // The thread is exiting: offered now.
            Err(_) => return listener.notify_buffer_available(buffer),
        }
        let _outermost = Outermost;
        let first = listener.notify_buffer_available(buffer);
        drop(listener);
        while let Some((listener, buffer)) =
            OWED.try_with(|o| o.borrow_mut().pop_front()).ok().flatten()
        {
            // Declined: recycled to its pool, which offers it to its next listener (owed to
            // this loop again) or keeps it.
            drop(listener.notify_buffer_available(buffer));
        }
        first
    }
}
