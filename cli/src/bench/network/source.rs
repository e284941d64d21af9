//! Where a writer's buffers come from. The pipeline is generic over [`BufferSource`], so the
//! LocalBufferPool and the baselines run through exactly the same writer and reader code; only
//! the buffer source is swapped.

use serde::Serialize;

use crate::bench::BenchError;

/// A per-writer source of buffers. Dropping a buffer returns it (recycles it to its pool, or
/// frees it).
pub trait BufferSource: Sync {
    /// The buffers it lends.
    type Buffer<'a>: RecordBuffer + Send
    where
        Self: 'a;

    /// A buffer for `subpartition`, if one is free now.
    ///
    /// # Errors
    /// The source failed (e.g. its pool was destroyed).
    fn try_request(&self, subpartition: usize) -> Result<Option<Self::Buffer<'_>>, BenchError>;

    /// A buffer for `subpartition`, waiting (not spinning, never allocating past the source's
    /// limit) until one is returned.
    ///
    /// # Errors
    /// As [`try_request`](Self::try_request).
    fn request_blocking(&self, subpartition: usize) -> Result<Self::Buffer<'_>, BenchError>;

    /// Buffers lent out and not yet returned.
    fn outstanding(&self) -> usize;

    /// Buffers whose memory the source holds now (taken from its budget, or allocated).
    fn held(&self) -> usize;

    /// Ends the source: a writer waiting in [`request_blocking`](Self::request_blocking)
    /// returns an error (later requests may fail too). For a run that stalled.
    fn abort(&self);
}

/// A buffer records are serialized into and read from.
pub trait RecordBuffer {
    /// Copies as much of `bytes` as fits; returns how much.
    fn append(&mut self, bytes: &[u8]) -> usize;
    /// Whether nothing more fits.
    fn is_full(&self) -> bool;
    /// Whether nothing was written.
    fn is_empty(&self) -> bool;
    /// The written bytes.
    fn bytes(&self) -> &[u8];
}

/// The buffer sources compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// membudget's `LocalBufferPool` over a `NetworkBufferPool` charged to the network quota.
    LocalBufferPool,
    /// A `Mutex<VecDeque>` of preallocated segments with a `Condvar` (Flink's locking design).
    MutexVecDeque,
    /// A `Vec<u8>` allocated per buffer and freed when consumed.
    Vec,
}

impl SourceKind {
    /// The name shown in tables and plots.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::LocalBufferPool => "LocalBufferPool",
            SourceKind::MutexVecDeque => "Mutex<VecDeque>",
            SourceKind::Vec => "Vec<u8>",
        }
    }

    /// The memory category the source's buffers are charged to.
    pub fn memory(self) -> &'static str {
        match self {
            SourceKind::LocalBufferPool => "network",
            SourceKind::MutexVecDeque | SourceKind::Vec => "heap",
        }
    }
}
