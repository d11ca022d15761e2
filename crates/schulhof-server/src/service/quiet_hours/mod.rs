//! Quiet hours (Ruhezeiten) in the server: which schedule applies to whom, which events are
//! held for which recipient ([`hold`]), and their release when the quiet period ends
//! ([`release`]). The decisions themselves are pure (`schulhof_quiet_hours`); this module
//! keeps their inputs current and stores the outcome through the one commit path.
//!
//! A held event is stored and delivered to everyone else at once. For a recipient in quiet
//! hours a row in `quiet_holds` hides it (the room reader's exclusions); at release the
//! recipient gets a stream position of their own for it, so it reaches their next `/sync` as a
//! new, unread event, in the original order.

pub mod hold;
pub mod personal;
pub mod release;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use schulhof_quiet_hours::{QuietHours, Schedule, DEFAULT_QUIET_HOURS_TOML};
use schulhof_store::Db;

use crate::config::QuietHoursConfig;
use crate::{Error, Result};

/// The quiet hours of this deployment.
pub struct QuietHoursService {
    enabled: bool,
    rules: RwLock<Arc<QuietHours>>,
    /// Compiled schedules of the people who have their own (admin-set or moved window).
    personal: RwLock<HashMap<String, Arc<Schedule>>>,
    /// `(recipient, room)` with waiting holds → the latest release time (ms). Changed only by
    /// the commit path (under the writer lock), after its transaction committed.
    waiting: Mutex<HashMap<(String, String), i64>>,
    /// Wakes the release job when a hold was stored (its release may be the next one).
    held: tokio::sync::Notify,
}

impl QuietHoursService {
    /// Loads the configured quiet hours (the built-in defaults when the file does not exist),
    /// the personal schedules and the waiting holds.
    pub async fn load(config: &QuietHoursConfig, db: &Db) -> Result<QuietHoursService> {
        let rules = read_rules(config).map_err(Error::Internal)?;
        let service = QuietHoursService {
            enabled: config.enabled,
            rules: RwLock::new(Arc::new(rules)),
            personal: RwLock::default(),
            waiting: Mutex::default(),
            held: tokio::sync::Notify::new(),
        };
        personal::load_all(&service, db).await?;
        let waiting = db.waiting_holds().await?;
        *service.waiting.lock().expect("waiting lock") = waiting
            .into_iter()
            .map(|(recipient, room, release)| ((recipient, room), release))
            .collect();
        Ok(service)
    }

    /// Whether messages are held at all.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The school's quiet-hours rules in force.
    pub fn rules(&self) -> Arc<QuietHours> {
        self.rules.read().expect("rules lock").clone()
    }

    /// The schedule of `user_id`: their own if they have one, else `None` (the school's).
    pub fn personal_schedule(&self, user_id: &str) -> Option<Arc<Schedule>> {
        self.personal
            .read()
            .expect("personal lock")
            .get(user_id)
            .cloned()
    }

    /// Replaces (or with `None` removes) the personal schedule of `user_id`.
    pub fn set_personal_schedule(&self, user_id: &str, schedule: Option<Arc<Schedule>>) {
        let mut personal = self.personal.write().expect("personal lock");
        match schedule {
            Some(schedule) => personal.insert(user_id.to_owned(), schedule),
            None => personal.remove(user_id),
        };
    }

    /// Replaces every personal schedule at once (after a reload); returns the ones before.
    pub fn replace_personal_schedules(
        &self,
        schedules: HashMap<String, Arc<Schedule>>,
    ) -> HashMap<String, Arc<Schedule>> {
        std::mem::replace(
            &mut *self.personal.write().expect("personal lock"),
            schedules,
        )
    }

    /// The latest release time of the holds waiting for `recipient` in `room_id`, if any.
    pub fn waiting_until(&self, recipient: &str, room_id: &str) -> Option<i64> {
        self.waiting
            .lock()
            .expect("waiting lock")
            .get(&(recipient.to_owned(), room_id.to_owned()))
            .copied()
    }

    /// Records holds that committed (called by the commit path's effects).
    pub(crate) fn record_waiting(&self, holds: &[(String, String, i64)]) {
        if holds.is_empty() {
            return;
        }
        let mut waiting = self.waiting.lock().expect("waiting lock");
        for (recipient, room, release) in holds {
            let latest = waiting
                .entry((recipient.clone(), room.clone()))
                .or_insert(*release);
            *latest = (*latest).max(*release);
        }
        drop(waiting);
        self.held.notify_one();
    }

    /// Forgets the waiting holds released, withdrawn or dropped up to `now` (called by the
    /// commit path's effects after a release committed).
    pub(crate) fn forget_released(&self, now: i64) {
        self.waiting
            .lock()
            .expect("waiting lock")
            .retain(|_, release| *release > now);
    }
}

/// The quiet hours from the configured file and holiday directory, or the built-in defaults
/// (with the holidays of the directory, if it has any) when the file does not exist.
fn read_rules(config: &QuietHoursConfig) -> std::result::Result<QuietHours, String> {
    if config.file.exists() {
        return QuietHours::load(&config.file, &config.holidays_dir).map_err(|e| e.to_string());
    }
    QuietHours::from_texts("quiet-hours (built-in)", DEFAULT_QUIET_HOURS_TOML, &[])
        .map_err(|e| e.to_string())
}
