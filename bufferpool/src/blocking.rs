//! Blocking a thread until an [`Availability`] flag is set (no busy spinning).
//!
//! The blocked thread waits on a condition variable its waker signals, not on its thread
//! handle: `std::thread::current()` would give every host thread that ever waited (threads
//! the library did not start, e.g. a C host's main thread) a handle that outlives it.

use crate::availability::Availability;
use crate::sync::{lock, Condvar, Mutex};
use core::task::{Context, Poll, Waker};
use std::sync::Arc;
use std::task::Wake;
use std::time::Instant;

/// Wakes the thread blocked in [`wait_available`]: a "woken" flag and a condition variable.
#[derive(Default)]
struct Wakeup {
    woken: Mutex<bool>,
    signal: Condvar,
}

impl Wake for Wakeup {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Set under the lock the waiter checks it under: a wake before the wait is not lost.
        *lock(&self.woken) = true;
        self.signal.notify_one();
    }
}

/// Blocks the calling thread until `availability` is set, or until `deadline`. Returns
/// whether it became available. The waiter registered meanwhile is gone on return.
pub(crate) fn wait_available(availability: &Availability, deadline: Option<Instant>) -> bool {
    let wakeup = Arc::new(Wakeup::default());
    let waker = Waker::from(wakeup.clone());
    let mut cx = Context::from_waker(&waker);
    let mut slot = None;
    let ready = loop {
        if let Poll::Ready(()) = availability.poll_wait(&mut slot, &mut cx) {
            break true;
        }
        let mut woken = wakeup.woken.lock().unwrap_or_else(|e| e.into_inner());
        while !*woken {
            match deadline {
                None => {
                    woken = wakeup.signal.wait(woken).unwrap_or_else(|e| e.into_inner());
                }
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break;
                    }
                    // (Loom has no timed wait: there this waits for the wake; the model tests'
                    // deadlines lie far in the future.)
                    woken = match wakeup
                        .signal
                        .wait_timeout(woken, d.saturating_duration_since(now))
                    {
                        Ok((g, _)) => g,
                        Err(e) => e.into_inner().0,
                    };
                }
            }
        }
        if !*woken {
            break false; // the deadline passed
        }
        *woken = false;
    };
    availability.forget(&mut slot);
    ready
}
