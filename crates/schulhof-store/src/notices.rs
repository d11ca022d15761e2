//! Server notices: each person's notices room, and when they last got a notice of a kind
//! (so a refusal repeated by a client's retries is told once per period, also after a
//! restart).

use crate::{execute, scalar, Db, Result};

impl Db {
    /// The notices room of `user_id`, if one was created.
    pub async fn notice_room(&self, user_id: &str) -> Result<Option<String>> {
        let sql = "SELECT room_id FROM server_notice_rooms WHERE user_id = $1";
        Ok(scalar!(self, fetch_optional, sql, [user_id])?)
    }

    /// Records `room_id` as the notices room of `user_id` (replacing an earlier one).
    pub async fn set_notice_room(&self, user_id: &str, room_id: &str) -> Result<()> {
        let sql = "INSERT INTO server_notice_rooms (user_id, room_id) VALUES ($1, $2)
                   ON CONFLICT (user_id) DO UPDATE SET room_id = $2";
        execute!(self, sql, [user_id, room_id])?;
        Ok(())
    }

    /// Claims the notice of `kind` for `user_id` at `now`: `true` (and recorded) if the last
    /// one of that kind was sent before `not_since`, or never; `false` if one was sent since.
    /// One statement, so two requests at once cannot both claim it.
    pub async fn claim_notice(
        &self,
        user_id: &str,
        kind: &str,
        now: i64,
        not_since: i64,
    ) -> Result<bool> {
        let sql = "INSERT INTO notices_sent (user_id, kind, sent_ts) VALUES ($1, $2, $3)
                   ON CONFLICT (user_id, kind) DO UPDATE SET sent_ts = $3
                   WHERE notices_sent.sent_ts < $4";
        Ok(execute!(self, sql, [user_id, kind, now, not_since])? == 1)
    }
}
