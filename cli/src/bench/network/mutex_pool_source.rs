//! Baseline: Flink's locking `LocalBufferPool` design — a deque of preallocated segments and
//! per-subpartition counts behind one lock, a condition variable for blocked requesters.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use super::source::{BufferSource, RecordBuffer};
use crate::bench::BenchError;

/// A fixed set of segments behind a `Mutex<VecDeque>`.
#[derive(Debug)]
pub struct MutexPoolSource {
    state: Mutex<State>,
    available: Condvar,
    capacity: usize,
}

#[derive(Debug)]
struct State {
    free: VecDeque<Box<[u8]>>,
    subpartition_buffers: Vec<usize>,
    waiters: usize,
    aborted: bool,
}

impl MutexPoolSource {
    /// `capacity` segments of `segment_size` bytes, allocated now, for `subpartitions`.
    pub fn new(capacity: usize, segment_size: usize, subpartitions: usize) -> MutexPoolSource {
        let free = (0..capacity)
            .map(|_| vec![0u8; segment_size].into_boxed_slice())
            .collect();
        MutexPoolSource {
            state: Mutex::new(State {
                free,
                subpartition_buffers: vec![0; subpartitions],
                waiters: 0,
                aborted: false,
            }),
            available: Condvar::new(),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; a poisoned one is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn take(&self, state: &mut State, subpartition: usize) -> Option<MutexPoolBuffer<'_>> {
        if state.aborted {
            return None;
        }
        let segment = state.free.pop_front()?;
        state.subpartition_buffers[subpartition] += 1;
        Some(MutexPoolBuffer {
            segment,
            len: 0,
            subpartition,
            pool: self,
        })
    }

    fn recycle(&self, segment: Box<[u8]>, subpartition: usize) {
        let wake = {
            let mut state = self.lock();
            state.free.push_back(segment);
            state.subpartition_buffers[subpartition] -= 1;
            state.waiters > 0
        };
        if wake {
            self.available.notify_one();
        }
    }
}

impl BufferSource for MutexPoolSource {
    type Buffer<'a> = MutexPoolBuffer<'a>;

    #[inline]
    fn try_request(&self, subpartition: usize) -> Result<Option<MutexPoolBuffer<'_>>, BenchError> {
        let mut state = self.lock();
        Ok(self.take(&mut state, subpartition))
    }

    fn request_blocking(&self, subpartition: usize) -> Result<MutexPoolBuffer<'_>, BenchError> {
        let mut state = self.lock();
        loop {
            if let Some(b) = self.take(&mut state, subpartition) {
                return Ok(b);
            }
            if state.aborted {
                return Err(aborted());
            }
            state.waiters += 1;
            state = self
                .available
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.waiters -= 1;
        }
    }

    fn outstanding(&self) -> usize {
        self.capacity - self.lock().free.len()
    }

    fn held(&self) -> usize {
        self.capacity
    }

    fn abort(&self) {
        self.lock().aborted = true;
        self.available.notify_all();
    }
}

fn aborted() -> BenchError {
    BenchError::Failed("the Mutex<VecDeque> pool was aborted".to_owned())
}

/// A segment lent by a [`MutexPoolSource`]; dropping it puts it back.
#[derive(Debug)]
pub struct MutexPoolBuffer<'a> {
    segment: Box<[u8]>,
    len: usize,
    subpartition: usize,
    pool: &'a MutexPoolSource,
}

impl RecordBuffer for MutexPoolBuffer<'_> {
    #[inline]
    fn append(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.segment.len() - self.len);
        self.segment[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
        n
    }

    #[inline]
    fn is_full(&self) -> bool {
        self.len == self.segment.len()
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn bytes(&self) -> &[u8] {
        &self.segment[..self.len]
    }
}

impl Drop for MutexPoolBuffer<'_> {
    fn drop(&mut self) {
        self.pool
            .recycle(std::mem::take(&mut self.segment), self.subpartition);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lends_at_most_its_capacity_and_takes_everything_back() {
        let pool = MutexPoolSource::new(2, 64, 1);
        let mut a = pool.try_request(0).unwrap().unwrap();
        assert_eq!(a.append(&[1; 100]), 64);
        assert!(a.is_full());
        let b = pool.try_request(0).unwrap().unwrap();
        assert!(pool.try_request(0).unwrap().is_none());
        assert_eq!(pool.outstanding(), 2);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| pool.request_blocking(0).map(|b| b.is_empty()));
            std::thread::sleep(std::time::Duration::from_millis(20));
            drop(a);
            assert!(waiter.join().unwrap().unwrap());
        });
        drop(b);
        assert_eq!(pool.outstanding(), 0);
        assert_eq!(pool.lock().subpartition_buffers, [0]);
    }
}
