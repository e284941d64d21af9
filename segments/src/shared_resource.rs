//! Shared memory resources: one per type string, created once from a fraction of managed
//! memory, lease-counted, freed when the last lease closes.
//!
//! The initializer runs with no lock held (Flink runs it under a re-entrant lock): while it
//! runs, the table holds an "initializing" entry for its type, so other callers of that type
//! wait for it (on a condition variable) instead of creating a second one, callers of other
//! types are not held up, and an initializer may itself get resources of other types. An
//! initializer that asks for its own type gets [`SharedResourceError::Reentrant`] instead of a
//! deadlock, and one that would wait for a type whose initializer waits (maybe through others)
//! for a type it is creating gets [`SharedResourceError::WouldDeadlock`].

use crate::manager::{validate_fraction, ManagerInner, TakeError};
use crate::sync::{current_thread, Condvar, Mutex, MutexGuard, ThreadId};
use crate::{MemoryAllocationError, MemoryManager, SharedResourceError};
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

/// A shared resource in the manager's table.
pub(crate) enum SharedSlot {
    /// Being created by `init` on thread `by`; callers of the type wait.
    Initializing {
        /// The thread running the initializer.
        by: ThreadId,
    },
    /// Created; `leases` handles are open.
    Ready {
        resource: Arc<dyn Any + Send + Sync>,
        type_name: &'static str,
        leases: usize,
        bytes: u64,
    },
}

/// The table of shared resources, and the condition its waiters wait on.
#[derive(Default)]
pub(crate) struct SharedTable {
    slots: Mutex<HashMap<String, SharedSlot>>,
    changed: Condvar,
    /// The type each waiting thread waits for. Changed only with `slots` locked (then this,
    /// never the other way round), so the two agree.
    waits: Mutex<HashMap<ThreadId, String>>,
}

impl SharedTable {
    /// Whether waiting for `kind` (being initialized by another thread) would close a cycle
    /// back to `me`: its initializer waits, maybe through others, for a type `me` initializes.
    /// Called with `slots` locked.
    fn would_deadlock(
        &self,
        slots: &HashMap<String, SharedSlot>,
        kind: &str,
        me: ThreadId,
    ) -> bool {
        let waits = self.waits.lock().unwrap_or_else(|e| e.into_inner());
        let mut kind = kind;
        // Each step follows a different waiting thread: at most `waits.len()` steps.
        for _ in 0..=waits.len() {
            let Some(SharedSlot::Initializing { by }) = slots.get(kind) else {
                return false;
            };
            if *by == me {
                return true;
            }
            match waits.get(by) {
                Some(next) => kind = next,
                None => return false,
            }
        }
        false
    }

    /// Records (`Some`) or clears (`None`) what `me` waits for. Called with `slots` locked.
    fn set_wait(&self, me: ThreadId, kind: Option<&str>) {
        let mut waits = self.waits.lock().unwrap_or_else(|e| e.into_inner());
        match kind {
            Some(k) => waits.insert(me, k.to_owned()),
            None => waits.remove(&me),
        };
    }
}

/// A lease on a shared memory resource (Flink's `OpaqueMemoryResource`). Dereferences to the
/// resource. Closing (or dropping) the last lease of a type drops the resource and releases its
/// managed memory — the memory is released even if dropping the resource panics. A lease closes
/// once: [`close`](Self::close) consumes it.
pub struct SharedResourceLease<T: Send + Sync + 'static> {
    resource: Option<Arc<T>>,
    kind: String,
    bytes: u64,
    manager: Arc<ManagerInner>,
}

impl<T: Send + Sync + 'static> SharedResourceLease<T> {
    /// The resource type string.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Bytes of managed memory the resource was given.
    pub fn size(&self) -> u64 {
        self.bytes
    }

    /// Closes this lease; if it was the last, drops the resource and releases its memory.
    pub fn close(mut self) {
        self.close_inner();
    }

    fn close_inner(&mut self) {
        let Some(mine) = self.resource.take() else {
            return;
        };
        let last = {
            let mut table = self.manager.shared_table();
            match table.get_mut(&self.kind) {
                Some(SharedSlot::Ready { leases, .. }) if *leases > 1 => {
                    *leases = leases.saturating_sub(1);
                    None
                }
                Some(SharedSlot::Ready { .. }) => table.remove(&self.kind),
                _ => None,
            }
        };
        if let Some(SharedSlot::Ready {
            resource, bytes, ..
        }) = last
        {
            // Releases the memory when this scope ends, even if dropping the resource panics.
            let _release = ReleaseOnDrop {
                manager: &self.manager,
                bytes,
            };
            drop(mine);
            drop(resource);
        }
    }
}

impl<T: Send + Sync + 'static> core::ops::Deref for SharedResourceLease<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.resource
            .as_deref()
            .expect("a lease holds its resource until it is closed")
    }
}

impl<T: Send + Sync + 'static> Drop for SharedResourceLease<T> {
    fn drop(&mut self) {
        self.close_inner();
    }
}

impl<T: Send + Sync + 'static> core::fmt::Debug for SharedResourceLease<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SharedResourceLease")
            .field("kind", &self.kind)
            .field("bytes", &self.bytes)
            .finish()
    }
}

struct ReleaseOnDrop<'a> {
    manager: &'a ManagerInner,
    bytes: u64,
}

impl Drop for ReleaseOnDrop<'_> {
    fn drop(&mut self) {
        self.manager.give_bytes(self.bytes);
    }
}

/// Removes an "initializing" entry whose initializer failed or panicked, gives its memory back
/// and wakes the waiters (one of them then initializes).
struct AbandonOnDrop<'a> {
    manager: &'a ManagerInner,
    kind: &'a str,
    bytes: u64,
}

impl Drop for AbandonOnDrop<'_> {
    fn drop(&mut self) {
        self.manager.shared_table().remove(self.kind);
        self.manager.shared.changed.notify_all();
        self.manager.give_bytes(self.bytes);
    }
}

impl ManagerInner {
    fn shared_table(&self) -> MutexGuard<'_, HashMap<String, SharedSlot>> {
        // The table is consistent across a panic: every update is one insert or remove.
        self.shared.slots.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl MemoryManager {
    /// Gets the shared resource of type string `kind`, creating it on first use with
    /// `init(bytes)`, where `bytes` = [`compute_memory_size`](Self::compute_memory_size)
    /// `(fraction)` is reserved for it. Every call returns a new lease; the resource and its
    /// memory are released when the last lease closes. Later calls ignore `fraction` and `init`.
    ///
    /// `init` runs without any lock of the manager held, so it may get shared resources of
    /// other types; concurrent callers of the same type wait for it and then share its result
    /// (or, if it fails, one of them initializes next).
    ///
    /// # Errors
    /// - [`SharedResourceError::Allocation`] if the manager is shut down, `fraction` is not in
    ///   `(0, 1]`, or the memory cannot be reserved;
    /// - [`SharedResourceError::Init`] if `init` fails (its reservation is undone);
    /// - [`SharedResourceError::TypeMismatch`] if `kind` exists with another Rust type;
    /// - [`SharedResourceError::Reentrant`] if called for `kind` from `kind`'s own `init`.
    /// - [`SharedResourceError::WouldDeadlock`] if called from an `init` for a `kind` another
    ///   thread is initializing whose `init` waits for this one's resource.
    ///
    /// # Examples
    /// ```
    /// use membudget_allocator::{Budget, SharedBudget};
    /// use membudget_segments::MemoryManager;
    ///
    /// let mm = MemoryManager::new(1 << 20, 4096, SharedBudget::from(Budget::unlimited()))?;
    /// let cache = |bytes: u64| Ok::<_, std::io::Error>(vec![0u8; bytes as usize]);
    /// let a = mm.get_shared_memory_resource("rocksdb-cache", 0.5, cache)?;
    /// let b = mm.get_shared_memory_resource("rocksdb-cache", 0.5, cache)?; // same resource
    /// assert_eq!(a.len(), 1 << 19);
    /// assert_eq!(mm.available_memory(), 1 << 19);
    /// drop(a);
    /// b.close();
    /// assert!(mm.verify_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_shared_memory_resource<T, E, F>(
        &self,
        kind: &str,
        fraction: f64,
        init: F,
    ) -> Result<SharedResourceLease<T>, SharedResourceError<E>>
    where
        T: Send + Sync + 'static,
        F: FnOnce(u64) -> Result<T, E>,
    {
        let inner = &self.inner;
        let me = current_thread();
        let mut table = inner.shared_table();
        loop {
            match table.get_mut(kind) {
                Some(SharedSlot::Ready {
                    resource,
                    type_name,
                    leases,
                    bytes,
                }) => {
                    let resource = resource.clone().downcast::<T>().map_err(|_| {
                        SharedResourceError::TypeMismatch {
                            kind: kind.to_owned(),
                            existing: type_name,
                            requested: std::any::type_name::<T>(),
                        }
                    })?;
                    *leases = leases.saturating_add(1);
                    return Ok(SharedResourceLease {
                        resource: Some(resource),
                        kind: kind.to_owned(),
                        bytes: *bytes,
                        manager: inner.clone(),
                    });
                }
                Some(SharedSlot::Initializing { by }) if *by == me => {
                    return Err(SharedResourceError::Reentrant {
                        kind: kind.to_owned(),
                    });
                }
                Some(SharedSlot::Initializing { .. }) => {
                    // Its initializer may be waiting, through others, for one this thread's
                    // initializer is creating: waiting would close the circle.
                    if inner.shared.would_deadlock(&table, kind, me) {
                        return Err(SharedResourceError::WouldDeadlock {
                            kind: kind.to_owned(),
                        });
                    }
                    inner.shared.set_wait(me, Some(kind));
                    table = inner
                        .shared
                        .changed
                        .wait(table)
                        .unwrap_or_else(|e| e.into_inner());
                    inner.shared.set_wait(me, None);
                }
                None => break,
            }
        }
        if inner.is_shut_down() {
            return Err(MemoryAllocationError::ShutDownShared {
                kind: kind.to_owned(),
            }
            .into());
        }
        validate_fraction(fraction).map_err(MemoryAllocationError::from)?;
        let bytes = self
            .compute_memory_size(fraction)
            .map_err(MemoryAllocationError::from)?;
        inner.take_bytes(bytes).map_err(|e| match e {
            TakeError::Capacity { available } => MemoryAllocationError::InsufficientShared {
                kind: kind.to_owned(),
                requested: bytes,
                available,
                total: inner.capacity.total(),
            },
            TakeError::Budget(e) => MemoryAllocationError::Source(e),
        })?;
        table.insert(kind.to_owned(), SharedSlot::Initializing { by: me });
        drop(table);
        // `init` runs with no lock held. If it fails or panics, the guard removes the entry,
        // gives the memory back and wakes the waiters.
        let abandon = AbandonOnDrop {
            manager: inner,
            kind,
            bytes,
        };
        let resource = match init(bytes) {
            Ok(r) => Arc::new(r),
            Err(source) => {
                return Err(SharedResourceError::Init {
                    kind: kind.to_owned(),
                    source,
                });
            }
        };
        core::mem::forget(abandon);
        inner.shared_table().insert(
            kind.to_owned(),
            SharedSlot::Ready {
                resource: resource.clone(),
                type_name: std::any::type_name::<T>(),
                leases: 1,
                bytes,
            },
        );
        inner.shared.changed.notify_all();
        Ok(SharedResourceLease {
            resource: Some(resource),
            kind: kind.to_owned(),
            bytes,
            manager: inner.clone(),
        })
    }
}
