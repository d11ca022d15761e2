//! Wakes the `/sync` long-polls of the users a change concerns.
//!
//! A waiting request subscribes *before* it reads the database and then waits; a change
//! committed in between still wakes it, because the watch channel remembers it was changed.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::watch;

/// Per-user wake-up channels.
#[derive(Default)]
pub struct Notifier {
    users: Mutex<HashMap<String, watch::Sender<i64>>>,
}

impl Notifier {
    /// A receiver that fires at the next change for `user_id`.
    pub fn subscribe(&self, user_id: &str) -> watch::Receiver<i64> {
        let mut users = self.users.lock().expect("notifier lock");
        let sender = users
            .entry(user_id.to_owned())
            .or_insert_with(|| watch::channel(0).0);
        let mut receiver = sender.subscribe();
        receiver.mark_unchanged();
        receiver
    }

    /// Wakes every waiting request of the given users.
    pub fn notify<'a>(&self, user_ids: impl IntoIterator<Item = &'a str>, pos: i64) {
        let mut users = self.users.lock().expect("notifier lock");
        for user_id in user_ids {
            if let Some(sender) = users.get(user_id) {
                if sender.receiver_count() == 0 {
                    users.remove(user_id);
                } else {
                    sender.send_replace(pos);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_change_between_subscribe_and_wait_is_not_lost() {
        let n = Notifier::default();
        let mut rx = n.subscribe("@a:x");
        n.notify(["@a:x"], 5);
        tokio::time::timeout(std::time::Duration::from_millis(100), rx.changed())
            .await
            .expect("woken")
            .unwrap();
        assert_eq!(*rx.borrow(), 5);
    }

    #[tokio::test]
    async fn other_users_are_not_woken() {
        let n = Notifier::default();
        let mut rx = n.subscribe("@a:x");
        n.notify(["@b:x"], 5);
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), rx.changed())
                .await
                .is_err()
        );
    }
}
