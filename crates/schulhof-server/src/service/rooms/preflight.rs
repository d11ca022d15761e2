//! A send checked now but made later: an event that is accepted for later sending (a delayed
//! event, MSC4140) goes through the same checks as [`Rooms::send`](super::Rooms::send) would
//! apply now, and through them again when it is sent.

use ruma::{RoomId, UserId};

use super::{build, EventTemplate, Rooms};
use crate::service::school::policy;
use crate::state::AppState;
use crate::Result;

/// Checks that `sender` could send `template` into `room_id` now, without sending it: the
/// room exists (404), the school's rights allow it (403, counted, audited and told like any
/// refusal of a send) and the event passes the spec's limits and the room's Matrix
/// authorization rules on its current state.
pub async fn check_send(
    state: &AppState,
    room_id: &RoomId,
    sender: &UserId,
    template: &EventTemplate,
) -> Result<()> {
    let room = Rooms::current(state, room_id).await?;
    let ctx = policy::Context::now(state);
    if let Err(denied) = policy::check_event(&ctx, &room, sender, template) {
        return Err(denied.refuse(state, sender).await);
    }
    build::build_and_authorize(
        &room,
        sender,
        template.clone(),
        state.clock.now_ms(),
        state.config.encryption.allow,
    )
    .map(drop)
}
