//! `/sync`: the engine computes typed per-room updates ([`updates`]) through the one room
//! reader; [`v3`] renders them as the v3 JSON, [`sliding`] (MSC4186) picks the rooms of its
//! lists and renders the same updates in its own shape.
//!
//! A sync token `s{pos}_{typing}` names a position in the global stream plus the typing serial.
//! Everything up to `pos` has been delivered; a response covers `(since, now]`.

mod engine;
mod format;
pub mod sliding;
pub mod updates;
pub mod v3;

use std::time::{Duration, Instant};

use ruma::api::client::filter::FilterDefinition;

use crate::ruma_wrapper::Session;
use crate::state::AppState;
use crate::{Error, Result};

pub use engine::compute;
pub use updates::SyncUpdate;

/// Where a previous sync ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SinceToken {
    /// Stream position.
    pub pos: i64,
    /// Typing serial.
    pub typing: u64,
}

impl SinceToken {
    /// Parses `s{pos}_{typing}`.
    pub fn parse(token: &str) -> Result<SinceToken> {
        let invalid = || Error::invalid_param("Ungültiges Sync-Token.", "Invalid sync token.");
        let rest = token.strip_prefix('s').ok_or_else(invalid)?;
        let (pos, typing) = rest.split_once('_').unwrap_or((rest, "0"));
        Ok(SinceToken {
            pos: pos.parse().map_err(|_| invalid())?,
            typing: typing.parse().map_err(|_| invalid())?,
        })
    }

    /// Where the stream stands now: the newest committed position and typing serial.
    fn now(state: &AppState) -> SinceToken {
        SinceToken {
            pos: state.writer.current(),
            typing: state.typing.serial(),
        }
    }

    /// Formats the token.
    pub fn format(&self) -> String {
        format!("s{}_{}", self.pos, self.typing)
    }
}

/// The parameters of one `/sync` request.
pub struct SyncParams {
    /// Previous token, `None` for an initial sync.
    pub since: Option<SinceToken>,
    /// Send full state for every room.
    pub full_state: bool,
    /// Longest wait for news.
    pub timeout: Duration,
    /// The client's filter.
    pub filter: FilterDefinition,
}

/// How many initial or full-state syncs are built at once. They return a room's whole state;
/// a morning login storm of hundreds would otherwise hold hundreds of such responses in memory
/// at the same time. The others wait for a permit, so memory stays bounded by this many.
const CONCURRENT_FULL_SYNCS: usize = 8;

/// Admission of full (initial or full-state) sync builds.
pub struct FullSyncs(tokio::sync::Semaphore);

impl Default for FullSyncs {
    fn default() -> Self {
        Self(tokio::sync::Semaphore::new(CONCURRENT_FULL_SYNCS))
    }
}

/// Answers a `/sync` request with the v3 body, waiting up to `timeout` for something new.
pub async fn sync(state: &AppState, session: &Session, params: SyncParams) -> Result<Vec<u8>> {
    if params.since.is_none() || params.full_state {
        let _permit = state
            .full_syncs
            .0
            .acquire()
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        let update = compute(state, session, &params, SinceToken::now(state)).await?;
        return v3::render(state, session, &update);
    }
    let mut wake = state.notifier.subscribe(session.user_id.as_str());
    let deadline = Instant::now() + params.timeout;
    loop {
        let update = compute(state, session, &params, SinceToken::now(state)).await?;
        let now = Instant::now();
        if update.has_news() || now >= deadline {
            return v3::render(state, session, &update);
        }
        let typing_expiry = state
            .typing
            .next_expiry(update.joined_room_ids.iter().map(String::as_str));
        let wait_until = typing_expiry.map_or(deadline, |t| t.min(deadline)).max(now);
        tokio::select! {
            _ = wake.changed() => {}
            _ = tokio::time::sleep_until(wait_until.into()) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_tokens_round_trip() {
        let t = SinceToken { pos: 12, typing: 3 };
        assert_eq!(SinceToken::parse(&t.format()).unwrap(), t);
        assert_eq!(
            SinceToken::parse("s5").unwrap(),
            SinceToken { pos: 5, typing: 0 }
        );
        assert!(SinceToken::parse("t5").is_err());
        assert!(SinceToken::parse("sx_1").is_err());
    }
}
