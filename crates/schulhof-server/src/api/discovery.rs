//! `/versions`, `/.well-known/matrix/client`, `/capabilities` and other discovery endpoints.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::MethodFilter;
use ruma::api::client::discovery::{get_capabilities, get_supported_versions};
use serde_json::json;

use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::Ruma;
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .endpoint::<get_supported_versions::Request, _, _>(versions)
        .endpoint::<get_capabilities::v3::Request, _, _>(capabilities)
        .raw_with("/.well-known/matrix/client", MethodFilter::GET, well_known)
}

async fn versions(_: Ruma<get_supported_versions::Request>) -> JsonResult {
    Ok(Json(json!({
        "versions": ["r0.6.1", "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11", "v1.12"],
        "unstable_features": {
            "org.matrix.e2e_cross_signing": true,
            "org.matrix.msc3916.stable": true,
            "org.matrix.msc2285.stable": true,
            "org.matrix.label_based_filtering": true,
        }
    })))
}

async fn well_known(State(state): State<Arc<AppState>>) -> Json {
    let mut body = json!({ "m.homeserver": { "base_url": state.config.public_baseurl } });
    if !state.config.encryption.allow {
        // Element reads this and neither offers nor defaults to encryption.
        body["io.element.e2ee"] = json!({ "default": false, "force_disable": true });
    }
    Json(body)
}

async fn capabilities(
    State(_state): State<Arc<AppState>>,
    _: Ruma<get_capabilities::v3::Request>,
) -> JsonResult {
    Ok(Json(json!({
        "capabilities": {
            "m.change_password": { "enabled": true },
            "m.room_versions": {
                "default": "10",
                "available": { "10": "stable", "11": "stable" }
            },
            "m.set_displayname": { "enabled": true },
            "m.set_avatar_url": { "enabled": true },
            "m.3pid_changes": { "enabled": false },
            "m.get_login_token": { "enabled": false }
        }
    })))
}
