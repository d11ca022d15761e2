//! `GET /sync`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use ruma::api::client::filter::FilterDefinition;
use ruma::api::client::sync::sync_events;

use super::RawJson;
use crate::router::Routes;
use crate::ruma_wrapper::{Ruma, RumaResponse};
use crate::service::sync::{self, sliding, SinceToken, SyncParams};
use crate::service::user::account_data::load_filter;
use crate::state::AppState;

/// Longest long-poll the server holds open.
const MAX_TIMEOUT: Duration = Duration::from_secs(60);

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .endpoint::<sync_events::v3::Request, _, _>(sync_handler)
        .endpoint::<sync_events::v5::Request, _, _>(sliding_sync_handler)
}

/// `POST /_matrix/client/unstable/org.matrix.simplified_msc3575/sync` (MSC4186).
async fn sliding_sync_handler(
    State(state): State<Arc<AppState>>,
    req: Ruma<sync_events::v5::Request>,
) -> crate::Result<RumaResponse<sync_events::v5::Response>> {
    let response = sliding::sync(&state, req.session(), &req.body).await?;
    Ok(RumaResponse(response))
}

async fn sync_handler(
    State(state): State<Arc<AppState>>,
    req: Ruma<sync_events::v3::Request>,
) -> crate::Result<RawJson> {
    let session = req.session();
    let b = &req.body;
    let filter = match &b.filter {
        Some(sync_events::v3::Filter::FilterDefinition(f)) => f.clone(),
        Some(sync_events::v3::Filter::FilterId(id)) => {
            load_filter(&state, &session.user_id, id).await?
        }
        Some(_) | None => FilterDefinition::default(),
    };
    let params = SyncParams {
        since: b.since.as_deref().map(SinceToken::parse).transpose()?,
        full_state: b.full_state,
        timeout: b.timeout.unwrap_or_default().min(MAX_TIMEOUT),
        filter,
    };
    Ok(RawJson(sync::sync(&state, session, params).await?))
}
