//! Stream positions: handed out under one lock, visible to readers only once committed.
//!
//! Readers never look past [`Stream::current`], so they cannot see a gap that a slower
//! transaction fills later.

use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::{Mutex, MutexGuard};

/// Stream position allocator and the position visible to readers.
pub(super) struct Stream {
    /// Newest position handed out and committed; the lock serialises writers.
    last: Mutex<i64>,
    /// Newest committed position, read without locking.
    current: AtomicI64,
}

/// Exclusive right to write the next stream positions.
pub(super) struct WriteGuard<'a> {
    stream: &'a Stream,
    last: MutexGuard<'a, i64>,
    next: i64,
}

impl Stream {
    /// A stream whose newest stored position is `pos`.
    pub(super) fn new(pos: i64) -> Self {
        Self {
            last: Mutex::new(pos),
            current: AtomicI64::new(pos),
        }
    }

    /// The newest committed position.
    pub(super) fn current(&self) -> i64 {
        self.current.load(Ordering::Acquire)
    }

    /// Waits for the write lock.
    pub(super) async fn lock(&self) -> WriteGuard<'_> {
        let last = self.last.lock().await;
        let next = *last;
        WriteGuard {
            stream: self,
            last,
            next,
        }
    }
}

impl WriteGuard<'_> {
    /// The next position for this write.
    pub(super) fn next_pos(&mut self) -> i64 {
        self.next += 1;
        self.next
    }

    /// The newest position handed out so far (the committed one if none was).
    pub(super) fn last_assigned(&self) -> i64 {
        self.next
    }

    /// Marks every position handed out by this guard as committed and visible. Dropping the
    /// guard without calling this (after a failed transaction) discards the positions, which
    /// are then reused.
    pub(super) fn publish(&mut self) {
        *self.last = self.next;
        self.stream.current.store(self.next, Ordering::Release);
    }
}
