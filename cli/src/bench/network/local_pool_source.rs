//! The measured source: a writer's `LocalBufferPool`, through its public API.

use membudget_bufferpool::{Buffer, LocalBufferPool};

use super::source::{BufferSource, RecordBuffer};
use crate::bench::BenchError;

/// One writer's result-partition pool.
#[derive(Debug)]
pub struct LocalPoolSource {
    pool: LocalBufferPool,
}

impl LocalPoolSource {
    /// Wraps `pool`.
    pub fn new(pool: LocalBufferPool) -> LocalPoolSource {
        LocalPoolSource { pool }
    }

    /// The pool.
    pub fn pool(&self) -> &LocalBufferPool {
        &self.pool
    }
}

fn failed(e: membudget_bufferpool::BufferPoolError) -> BenchError {
    BenchError::Failed(format!("LocalBufferPool request failed: {e}"))
}

impl BufferSource for LocalPoolSource {
    type Buffer<'a> = Buffer;

    #[inline]
    fn try_request(&self, subpartition: usize) -> Result<Option<Buffer>, BenchError> {
        self.pool.request_buffer_for(subpartition).map_err(failed)
    }

    fn request_blocking(&self, subpartition: usize) -> Result<Buffer, BenchError> {
        self.pool
            .request_buffer_blocking_for(subpartition)
            .map_err(failed)
    }

    fn outstanding(&self) -> usize {
        self.pool.used_buffers()
    }

    fn held(&self) -> usize {
        self.pool.requested_segments()
    }

    fn abort(&self) {
        // Wakes blocked requesters with "Buffer pool has already been destroyed."
        self.pool.lazy_destroy();
    }
}

impl RecordBuffer for Buffer {
    #[inline]
    fn append(&mut self, bytes: &[u8]) -> usize {
        Buffer::append(self, bytes)
    }

    #[inline]
    fn is_full(&self) -> bool {
        self.size() == self.capacity()
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.size() == 0
    }

    #[inline]
    fn bytes(&self) -> &[u8] {
        self.as_slice()
    }
}
