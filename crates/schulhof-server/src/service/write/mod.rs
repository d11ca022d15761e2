//! The one commit path: everything `/sync` delivers is written here.
//!
//! A write takes the writer lock ([`Writer::lock`]), may prepare under it (build events on the
//! room snapshot, check the policy), then runs its writes in one database transaction
//! ([`Locked::commit`]) at stream positions handed out by [`Commit::next_pos`]. After the
//! transaction commits, the [`Effects`] the writes declared are applied in a fixed order while
//! the lock is still held — in-memory room state and activity first, then the new position is
//! published to readers, then the affected users' `/sync` requests are woken. Nothing else
//! assigns stream positions, so in-memory state can never run ahead of or behind the database.
//!
//! **Outbox seam.** Work that must leave the server because of a write (appservice
//! transactions, push notifications) is recorded as outbox rows through [`Commit::tx`] in the
//! same transaction as the events it comes from, so a crash either keeps both or neither; the
//! job that sends them is woken like a user, after the commit
//! ([`Effects::wake_sender`]). The push outbox is `service::push::outbox`.

pub mod activity;
mod effects;
pub mod notifier;
mod stream;

use schulhof_store::Tx;

pub use effects::Effects;
use stream::{Stream, WriteGuard};

use crate::state::AppState;
use crate::Result;

/// The single writer of the server's stream.
pub struct Writer {
    stream: Stream,
}

/// The writer lock, held while a write prepares and commits.
pub struct Locked<'a> {
    guard: WriteGuard<'a>,
}

/// One open write: its transaction, its stream positions and the effects to apply after commit.
pub struct Commit<'g, 's> {
    tx: Tx,
    guard: &'g mut WriteGuard<'s>,
    effects: Effects,
}

impl Writer {
    /// A writer for a database whose newest stored stream position is `pos`.
    pub fn new(pos: i64) -> Self {
        Self {
            stream: Stream::new(pos),
        }
    }

    /// The newest committed stream position: readers never look past it.
    pub fn current(&self) -> i64 {
        self.stream.current()
    }

    /// Waits for the writer lock.
    pub async fn lock(&self) -> Locked<'_> {
        Locked {
            guard: self.stream.lock().await,
        }
    }

    /// Takes the lock and commits `work` (see [`Locked::commit`]).
    pub async fn commit<T>(
        &self,
        state: &AppState,
        work: impl AsyncFnOnce(&mut Commit<'_, '_>) -> Result<T>,
    ) -> Result<T> {
        self.lock().await.commit(state, work).await
    }
}

impl Locked<'_> {
    /// Runs `work` in one transaction and commits it. If `work` fails, the transaction is
    /// rolled back, its positions are discarded and no effect is applied. After the commit the
    /// effects are applied and the lock is released.
    pub async fn commit<T>(
        mut self,
        state: &AppState,
        work: impl AsyncFnOnce(&mut Commit<'_, '_>) -> Result<T>,
    ) -> Result<T> {
        let tx = state.db.begin().await?;
        let mut commit = Commit {
            tx,
            guard: &mut self.guard,
            effects: Effects::default(),
        };
        let value = work(&mut commit).await?;
        let Commit {
            tx, mut effects, ..
        } = commit;
        tx.commit().await?;
        let pos = self.guard.last_assigned();
        // In-memory state first, so a reader that sees `pos` also sees what it changed.
        effects.apply_state(state, pos);
        self.guard.publish();
        effects.notify_users(state, pos);
        Ok(value)
    }
}

impl Commit<'_, '_> {
    /// The open transaction.
    pub fn tx(&mut self) -> &mut Tx {
        &mut self.tx
    }

    /// The next stream position for a row of this write.
    pub fn next_pos(&mut self) -> i64 {
        self.guard.next_pos()
    }

    /// What to apply after the commit.
    pub fn effects(&mut self) -> &mut Effects {
        &mut self.effects
    }
}
