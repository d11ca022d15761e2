//! Where the per-user streams last changed, so `/sync` skips database reads that cannot return
//! anything new. Unknown keys (e.g. after a restart) always count as changed; positions only
//! ever grow.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::RwLock;

/// Last stream positions of per-user data and of global membership/device-list changes.
pub struct Activity {
    users: RwLock<HashMap<String, i64>>,
    device_lists: AtomicI64,
    memberships: AtomicI64,
}

/// The kinds of per-user data tracked.
#[derive(Debug, Clone, Copy)]
pub enum UserStream {
    /// Global and room account data.
    AccountData,
    /// To-device messages for any of the user's devices.
    ToDevice,
}

fn key(stream: UserStream, user_id: &str) -> String {
    match stream {
        UserStream::AccountData => format!("ad {user_id}"),
        UserStream::ToDevice => format!("td {user_id}"),
    }
}

impl Activity {
    /// A tracker for a server whose newest stored position is `pos`: everything before it
    /// counts as possibly changed.
    pub fn new(pos: i64) -> Self {
        Self {
            users: RwLock::default(),
            device_lists: AtomicI64::new(pos),
            memberships: AtomicI64::new(pos),
        }
    }

    /// Records a change of `user_id`'s `stream` at `pos`.
    pub fn record(&self, stream: UserStream, user_id: &str, pos: i64) {
        let mut users = self.users.write().expect("activity lock");
        let entry = users.entry(key(stream, user_id)).or_insert(pos);
        *entry = (*entry).max(pos);
    }

    /// Whether `user_id`'s `stream` may hold anything after `since`.
    pub fn may_have_changed(&self, stream: UserStream, user_id: &str, since: i64) -> bool {
        self.users
            .read()
            .expect("activity lock")
            .get(&key(stream, user_id))
            .is_none_or(|pos| *pos > since)
    }

    /// Records a device list change at `pos`.
    pub fn record_device_list(&self, pos: i64) {
        self.device_lists.fetch_max(pos, Ordering::AcqRel);
    }

    /// Records a membership change at `pos`.
    pub fn record_membership(&self, pos: i64) {
        self.memberships.fetch_max(pos, Ordering::AcqRel);
    }

    /// Whether any device list or membership changed after `since` (device lists in sync
    /// depend on both).
    pub fn device_lists_may_have_changed(&self, since: i64) -> bool {
        self.device_lists.load(Ordering::Acquire) > since
            || self.memberships.load(Ordering::Acquire) > since
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_users_count_as_changed_until_recorded() {
        let a = Activity::new(10);
        assert!(a.may_have_changed(UserStream::ToDevice, "@a:x", 50));
        a.record(UserStream::ToDevice, "@a:x", 20);
        assert!(!a.may_have_changed(UserStream::ToDevice, "@a:x", 20));
        assert!(a.may_have_changed(UserStream::ToDevice, "@a:x", 19));
        a.record(UserStream::ToDevice, "@a:x", 5);
        assert!(
            !a.may_have_changed(UserStream::ToDevice, "@a:x", 20),
            "positions never go back"
        );
        assert!(a.may_have_changed(UserStream::AccountData, "@a:x", 20));
    }

    #[test]
    fn device_lists_follow_memberships_too() {
        let a = Activity::new(10);
        assert!(a.device_lists_may_have_changed(9));
        assert!(!a.device_lists_may_have_changed(10));
        a.record_membership(12);
        assert!(a.device_lists_may_have_changed(11));
        a.record_device_list(15);
        assert!(a.device_lists_may_have_changed(14));
        assert!(!a.device_lists_may_have_changed(15));
    }
}
