//! `POST /_schulhof/test/clock`: moves the server's clock. Routed only when the configuration
//! enables a movable clock (`[testing] movable_clock`, refused by release builds), so a
//! production server has no such endpoint. It needs no access token: the switch is for test
//! servers on loopback and changes no data, only what time the server believes it is.

use axum::extract::State;
use axum::routing::MethodFilter;
use serde::Deserialize;
use serde_json::json;

use super::{Json, JsonResult};
use crate::router::{AppStateArg, Routes};
use crate::Error;

#[derive(Deserialize)]
struct SetClock {
    /// The time the clock shall read now, in milliseconds since the Unix epoch.
    now_ms: i64,
}

async fn set_clock(State(state): AppStateArg, body: axum::body::Bytes) -> JsonResult {
    let request: SetClock = serde_json::from_slice(&body).map_err(|e| {
        Error::bad_json("Ungültige Uhrzeit.", format!("Invalid clock request: {e}"))
    })?;
    if !state.clock.set(request.now_ms) {
        return Err(Error::Unrecognized(http::StatusCode::NOT_FOUND));
    }
    Ok(Json(json!({ "now_ms": state.clock.now_ms() })))
}

/// Routes of this area (only for a movable clock).
pub fn routes(routes: Routes, movable: bool) -> Routes {
    if !movable {
        return routes;
    }
    routes.raw_with("/_schulhof/test/clock", MethodFilter::POST, set_clock)
}
