//! Parking a thread until an [`Availability`] flag is set (no busy spinning).

use crate::availability::Availability;
use crate::sync::{current, park, Thread};
use core::task::{Context, Poll, Waker};
use std::sync::Arc;
use std::task::Wake;
use std::time::Instant;

/// Wakes a parked thread.
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Parks the calling thread until `availability` is set, or until `deadline`. Returns whether
/// it became available.
pub(crate) fn wait_available(availability: &Availability, deadline: Option<Instant>) -> bool {
    let waker = Waker::from(Arc::new(ThreadWaker(current())));
    let mut cx = Context::from_waker(&waker);
    let mut slot = None;
    let ready = loop {
        if let Poll::Ready(()) = availability.poll_wait(&mut slot, &mut cx) {
            break true;
        }
        match deadline {
            None => park(),
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    break false;
                }
                park_timeout(d.saturating_duration_since(now));
            }
        }
    };
    availability.forget(&mut slot);
    ready
}

#[cfg(not(membudget_loom))]
fn park_timeout(d: std::time::Duration) {
    std::thread::park_timeout(d);
}

#[cfg(membudget_loom)]
fn park_timeout(_: std::time::Duration) {
    // Loom has no timed park; the model tests never use deadlines.
    park();
}
