//! The hold decision: which joined members of a room must not see a new event yet, and until
//! when. Pure apart from reading the caches it is given; the commit path stores the outcome.

use chrono::{DateTime, Utc};
use ruma::UserId;
use schulhof_directory::{DirectoryIndex, Person, Role};
use schulhof_quiet_hours::{chrono, QuietHours};

use super::QuietHoursService;
use crate::service::rooms::pdu::Pdu;
use crate::service::rooms::RoomSnapshot;

/// One recipient who sees an event only at `release_ts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold<'a> {
    /// The recipient in quiet hours.
    pub recipient: &'a UserId,
    /// When their quiet period ends (ms since the epoch).
    pub release_ts: i64,
    /// Whether sender and recipient share a group of the school directory now.
    pub shared_group: bool,
}

/// Whether two people share a group of the school directory (a class, a parents' group, a
/// conference).
pub fn share_group(a: &Person, b: &Person) -> bool {
    a.groups.intersection(&b.groups).next().is_some()
}

impl QuietHoursService {
    /// The recipients among `room`'s joined members who must not see `pdu` from `sender`
    /// sent at `now_ms` yet. State events are never held (a room's state stays whole), nor
    /// is anything from the server itself or from senders whose role is not held (admins
    /// never are). A recipient who still waits for earlier held events of this room gets the
    /// new one held as well, so a release that is due but not yet done keeps the order.
    pub fn holds<'r>(
        &self,
        directory: &DirectoryIndex,
        room: &'r RoomSnapshot,
        sender: &UserId,
        pdu: &Pdu,
        now_ms: i64,
    ) -> Vec<Hold<'r>> {
        if !self.enabled || pdu.state_key.is_some() {
            return Vec::new();
        }
        let rules = self.rules();
        let Some(sender_person) = held_sender(&rules, directory, sender) else {
            return Vec::new();
        };
        let Some(at) = DateTime::<Utc>::from_timestamp_millis(now_ms) else {
            return Vec::new();
        };
        let mut holds = Vec::new();
        for (member, _) in room.joined_members() {
            if member == sender {
                continue;
            }
            let Some(person) = directory.person(member.localpart()) else {
                continue;
            };
            let scheduled = self.quiet_until(&rules, sender_person, member, person, at);
            let waiting = self.waiting_until(member.as_str(), room.room_id.as_str());
            if let Some(release_ts) = scheduled.max(waiting) {
                holds.push(Hold {
                    recipient: member,
                    release_ts,
                    shared_group: share_group(sender_person, person),
                });
            }
        }
        holds
    }

    /// Whether `recipient` is in quiet hours for what `sender` does at `now_ms`: their typing
    /// notifications are not shown to the recipient then, as their messages would wait.
    pub fn silences(
        &self,
        directory: &DirectoryIndex,
        sender: &UserId,
        recipient: &UserId,
        now_ms: i64,
    ) -> bool {
        if !self.enabled || sender == recipient {
            return false;
        }
        let rules = self.rules();
        let (Some(sender_person), Some(person), Some(at)) = (
            held_sender(&rules, directory, sender),
            directory.person(recipient.localpart()),
            DateTime::<Utc>::from_timestamp_millis(now_ms),
        ) else {
            return false;
        };
        self.quiet_until(&rules, sender_person, recipient, person, at)
            .is_some()
    }

    /// The end of `recipient`'s quiet period at `at` if it holds what `sender` sends, by their
    /// personal schedule or the school's.
    fn quiet_until(
        &self,
        rules: &QuietHours,
        sender: &Person,
        recipient_id: &UserId,
        recipient: &Person,
        at: DateTime<Utc>,
    ) -> Option<i64> {
        if !rules.config().quiet_recipients.contains(&recipient.role) {
            return None;
        }
        let personal = self.personal_schedule(recipient_id.as_str());
        let schedule = personal.as_deref().unwrap_or(rules.school_schedule());
        rules
            .holds(Some(sender.role), Some(recipient.role), schedule, at)
            .map(|release| release.timestamp_millis())
    }
}

/// The sender's directory entry if their role is held (admins never are).
fn held_sender<'d>(
    rules: &QuietHours,
    directory: &'d DirectoryIndex,
    sender: &UserId,
) -> Option<&'d Person> {
    directory
        .person(sender.localpart())
        .filter(|p| p.role != Role::Admin && rules.config().held_senders.contains(&p.role))
}
