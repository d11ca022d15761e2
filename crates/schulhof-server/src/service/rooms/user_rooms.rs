//! Each user's memberships (room, membership, position), cached per user so an incremental
//! `/sync` does not read them from the database every time. The commit path drops a user's
//! entry when a member event about them commits.

use std::sync::Arc;

use ruma::UserId;
use schulhof_store::MembershipRow;

use crate::service::user::user_cache::UserCache;
use crate::state::AppState;
use crate::Result;

/// Cache of every user's current memberships.
#[derive(Default)]
pub struct UserRooms {
    users: UserCache<Vec<MembershipRow>>,
}

impl UserRooms {
    /// The current memberships of `user_id` (every room they have a member event in).
    pub async fn of(state: &AppState, user_id: &UserId) -> Result<Arc<Vec<MembershipRow>>> {
        state
            .user_rooms
            .users
            .get_or_load(user_id.as_str(), async {
                Ok(state.db.memberships(user_id.as_str()).await?)
            })
            .await
    }

    /// Forgets the memberships of `user_id` after a member event about them.
    pub fn invalidate(&self, user_id: &str) {
        self.users.invalidate(user_id);
    }
}
