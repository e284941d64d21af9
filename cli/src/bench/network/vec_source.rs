//! Baseline: a `Vec<u8>` allocated for every buffer (the process allocator) and freed when the
//! reader is done with it. A counting limit keeps as many buffers in flight as the pool would,
//! so backpressure works the same and memory stays bounded.
//!
//! The limit is lock-free until a writer has to wait. A waiter registers (`waiters`, SeqCst)
//! before it retries under the lock; a returner gives its permit back (`outstanding`, SeqCst)
//! before it reads `waiters`. In the single order of SeqCst operations, either the retry sees
//! the permit or the returner sees the waiter — and then takes the lock, which it can only get
//! once the waiter sleeps on the condition variable, so the notification is not lost.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};

use super::source::{BufferSource, RecordBuffer};
use crate::bench::BenchError;

/// Allocates a buffer per request, at most `limit` at a time.
#[derive(Debug)]
pub struct VecSource {
    segment_size: usize,
    limit: usize,
    outstanding: AtomicUsize,
    waiters: AtomicUsize,
    aborted: AtomicBool,
    lock: Mutex<()>,
    returned: Condvar,
}

impl VecSource {
    /// Buffers of `segment_size` bytes, at most `limit` lent out.
    pub fn new(limit: usize, segment_size: usize) -> VecSource {
        VecSource {
            segment_size,
            limit,
            outstanding: AtomicUsize::new(0),
            waiters: AtomicUsize::new(0),
            aborted: AtomicBool::new(false),
            lock: Mutex::new(()),
            returned: Condvar::new(),
        }
    }

    #[inline]
    fn try_acquire(&self) -> bool {
        self.outstanding
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .is_ok()
    }

    #[inline]
    fn buffer(&self) -> VecBuffer<'_> {
        VecBuffer {
            data: Vec::with_capacity(self.segment_size),
            capacity: self.segment_size,
            source: self,
        }
    }

    fn release(&self) {
        // SeqCst: ordered before the `waiters` load below (see the module docs).
        self.outstanding.fetch_sub(1, Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.returned.notify_all();
        }
    }
}

impl BufferSource for VecSource {
    type Buffer<'a> = VecBuffer<'a>;

    #[inline]
    fn try_request(&self, _subpartition: usize) -> Result<Option<VecBuffer<'_>>, BenchError> {
        Ok(self.try_acquire().then(|| self.buffer()))
    }

    fn request_blocking(&self, _subpartition: usize) -> Result<VecBuffer<'_>, BenchError> {
        let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        // SeqCst: ordered before the retry's `outstanding` update (see the module docs).
        self.waiters.fetch_add(1, Ordering::SeqCst);
        while !self.try_acquire() {
            if self.aborted.load(Ordering::SeqCst) {
                self.waiters.fetch_sub(1, Ordering::SeqCst);
                return Err(BenchError::Failed(
                    "the Vec<u8> source was aborted".to_owned(),
                ));
            }
            guard = self
                .returned
                .wait(guard)
                .unwrap_or_else(PoisonError::into_inner);
        }
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        drop(guard);
        Ok(self.buffer())
    }

    fn outstanding(&self) -> usize {
        self.outstanding.load(Ordering::SeqCst)
    }

    fn held(&self) -> usize {
        self.outstanding()
    }

    fn abort(&self) {
        // Set under the lock, so a waiter either sees it before sleeping or is woken here.
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.aborted.store(true, Ordering::SeqCst);
        self.returned.notify_all();
    }
}

/// A freshly allocated buffer; dropping it frees the memory and returns the permit.
#[derive(Debug)]
pub struct VecBuffer<'a> {
    data: Vec<u8>,
    capacity: usize,
    source: &'a VecSource,
}

impl RecordBuffer for VecBuffer<'_> {
    #[inline]
    fn append(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.capacity - self.data.len());
        self.data.extend_from_slice(&bytes[..n]);
        n
    }

    #[inline]
    fn is_full(&self) -> bool {
        self.data.len() == self.capacity
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    #[inline]
    fn bytes(&self) -> &[u8] {
        &self.data
    }
}

impl Drop for VecBuffer<'_> {
    fn drop(&mut self) {
        drop(std::mem::take(&mut self.data));
        self.source.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_buffers_in_flight_and_wakes_a_waiter() {
        let source = VecSource::new(1, 16);
        let mut a = source.try_request(0).unwrap().unwrap();
        assert_eq!(a.append(b"0123456789abcdefXYZ"), 16);
        assert!(a.is_full());
        assert!(source.try_request(0).unwrap().is_none());
        std::thread::scope(|s| {
            let waiter = s.spawn(|| source.request_blocking(0).map(|b| b.is_empty()));
            std::thread::sleep(std::time::Duration::from_millis(20));
            drop(a);
            assert!(waiter.join().unwrap().unwrap());
        });
        assert_eq!(source.outstanding(), 0);
    }
}
