//! The server's one clock. Everything that asks "what time is it" (event timestamps, expiry,
//! retention, and later quiet hours) reads it here, so tests can move time.
//!
//! A movable clock exists only when the configuration asks for it (`[testing] movable_clock`),
//! which a release build refuses (`config.rs`): production always runs on the system clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

/// Wall-clock time in milliseconds since the Unix epoch, optionally shifted by tests.
pub struct Clock {
    /// Milliseconds added to the system time; only ever non-zero on a movable clock.
    offset_ms: AtomicI64,
    movable: bool,
    /// Bumped whenever a test moves the clock, so sleepers recompute their deadline.
    moved: watch::Sender<u64>,
}

/// The system time in milliseconds since the Unix epoch.
pub fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Clock {
    /// The system clock, which cannot be moved.
    pub fn system() -> Self {
        Self {
            offset_ms: AtomicI64::new(0),
            movable: false,
            moved: watch::channel(0).0,
        }
    }

    /// A clock tests can move (only built from a test configuration).
    pub fn movable() -> Self {
        Self {
            offset_ms: AtomicI64::new(0),
            movable: true,
            moved: watch::channel(0).0,
        }
    }

    /// Whether tests may move this clock.
    pub fn is_movable(&self) -> bool {
        self.movable
    }

    /// Now, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        system_now_ms() + self.offset_ms.load(Ordering::Acquire)
    }

    /// Moves a movable clock so that it reads `now_ms` now (and runs on from there);
    /// `false` on the system clock, which stays where it is.
    pub fn set(&self, now_ms: i64) -> bool {
        if !self.movable {
            return false;
        }
        self.offset_ms
            .store(now_ms - system_now_ms(), Ordering::Release);
        self.moved.send_modify(|n| *n += 1);
        true
    }

    /// Returns once this clock reads `at_ms` or later; a test moving the clock meanwhile
    /// is noticed at once.
    pub async fn sleep_until(&self, at_ms: i64) {
        let mut moved = self.moved.subscribe();
        loop {
            let left = at_ms - self.now_ms();
            if left <= 0 {
                return;
            }
            let wait = Duration::from_millis(left as u64);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = moved.changed() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_cannot_be_moved() {
        let clock = Clock::system();
        assert!(!clock.set(0));
        assert!((clock.now_ms() - system_now_ms()).abs() < 1_000);
    }

    #[test]
    fn a_movable_clock_runs_on_from_where_it_was_set() {
        let clock = Clock::movable();
        let friday_evening = 1_790_000_000_000;
        assert!(clock.set(friday_evening));
        let now = clock.now_ms();
        assert!((friday_evening..friday_evening + 1_000).contains(&now));
    }

    #[tokio::test]
    async fn a_sleeper_wakes_when_the_clock_is_moved_past_its_deadline() {
        let clock = std::sync::Arc::new(Clock::movable());
        let deadline = clock.now_ms() + 3_600_000;
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(deadline).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!sleeper.is_finished(), "woke an hour early");
        clock.set(deadline + 1);
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("the sleeper noticed the move")
            .unwrap();
    }
}
