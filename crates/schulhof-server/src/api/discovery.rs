//! `/versions`, `/.well-known/matrix/client`, `/capabilities` and other discovery endpoints.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::MethodFilter;
use ruma::api::client::discovery::{get_capabilities, get_supported_versions};
use ruma::api::client::room::create_room::v3::RoomPreset;
use schulhof_policy::Action;
use serde_json::json;

use super::{Json, JsonResult};
use crate::router::Routes;
use crate::ruma_wrapper::Ruma;
use crate::service::rooms::create::encrypted_by_default;
use crate::service::school::policy::Context;
use crate::state::AppState;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .endpoint::<get_supported_versions::Request, _, _>(versions)
        .endpoint::<get_capabilities::v3::Request, _, _>(capabilities)
        .raw_with("/.well-known/matrix/client", MethodFilter::GET, well_known)
}

async fn versions(
    State(state): State<Arc<AppState>>,
    _: Ruma<get_supported_versions::Request>,
) -> JsonResult {
    // Element greys out its encryption switch for presets the server encrypts itself.
    let forced = |preset| encrypted_by_default(&state, &preset);
    Ok(Json(json!({
        "versions": ["r0.6.1", "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11", "v1.12"],
        "unstable_features": {
            "org.matrix.e2e_cross_signing": true,
            "org.matrix.msc3916.stable": true,
            "org.matrix.msc2285.stable": true,
            "org.matrix.label_based_filtering": true,
            "org.matrix.msc4140": state.config.delayed_events.enabled,
            "org.matrix.simplified_msc3575": true,
            "io.element.e2ee_forced.public": forced(RoomPreset::PublicChat),
            "io.element.e2ee_forced.private": forced(RoomPreset::PrivateChat),
            "io.element.e2ee_forced.trusted_private": forced(RoomPreset::TrustedPrivateChat),
        }
    })))
}

async fn well_known(State(state): State<Arc<AppState>>) -> Json {
    let mut body = json!({ "m.homeserver": { "base_url": state.config.public_baseurl } });
    // Element reads this: whether it offers encryption and switches it on for new rooms.
    let e2ee = if !state.config.encryption.allow {
        Some(json!({ "default": false, "force_disable": true }))
    } else if !state.policy.rights().allow_encryption {
        // Only admins may encrypt: others' apps must not try (their rooms would be refused).
        Some(json!({ "default": false }))
    } else if encrypted_by_default(&state, &RoomPreset::PrivateChat) {
        Some(json!({ "default": true }))
    } else {
        None
    };
    if let Some(e2ee) = e2ee {
        body["io.element.e2ee"] = e2ee;
    }
    Json(body)
}

/// What the server offers, and what this person may change about their own account: the
/// school's rights decide the display name, picture and password, so apps hide what the
/// person may not change.
async fn capabilities(
    State(state): State<Arc<AppState>>,
    req: Ruma<get_capabilities::v3::Request>,
) -> JsonResult {
    let ctx = Context::now(&state);
    let may = |action| ctx.decide(req.user_id(), &action).is_allowed();
    Ok(Json(json!({
        "capabilities": {
            "m.change_password": { "enabled": may(Action::ChangePassword) },
            "m.room_versions": {
                "default": "10",
                "available": { "10": "stable", "11": "stable" }
            },
            "m.set_displayname": { "enabled": may(Action::ChangeDisplayName) },
            "m.set_avatar_url": { "enabled": may(Action::ChangeAvatar) },
            "m.3pid_changes": { "enabled": false },
            "m.get_login_token": { "enabled": false },
            "org.matrix.msc4140": {
                "enabled": state.config.delayed_events.enabled,
                "max_delay": state.config.delayed_events.max_delay_ms()
            }
        }
    })))
}
