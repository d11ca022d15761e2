//! Pushers: the push gateways a user's phone apps register (`/pushers`, `/pushers/set`).
//!
//! Only `http` pushers are accepted, and only for the gateway URLs the admin allows
//! (`[push] gateways`). A pusher belongs to the device whose access token registered it and
//! is deleted with that device (logout, device deletion, password change with logout); it is
//! personal data and erased with the person. No school policy applies: a pusher only
//! concerns the user's own notifications, which the policy already decided on per event.

use ruma::{OwnedDeviceId, UserId};
use schulhof_store::PusherRow;
use serde_json::{json, Map, Value};

use crate::config::{PushConfig, PUSH_NOTIFY_PATH};
use crate::error::Text;
use crate::state::AppState;
use crate::{Error, Result};

/// The longest app ID the spec allows (characters).
const MAX_APP_ID_CHARS: usize = 64;
/// The longest pushkey the spec allows (bytes).
const MAX_PUSHKEY_BYTES: usize = 512;
/// The longest display name, language or profile tag stored (characters).
const MAX_TEXT_CHARS: usize = 256;

/// What a `/pushers/set` request asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum SetPusher {
    /// Create or update this pusher (`kind: "http"`); with `append`, other users keep the
    /// same app ID and pushkey.
    Set {
        /// The pusher (its `pushkey_ts` is set when stored).
        pusher: Box<PusherRow>,
        /// The request's `append`.
        append: bool,
    },
    /// Delete the pusher with this app ID and pushkey (`kind: null`).
    Delete {
        /// Its app ID.
        app_id: String,
        /// Its pushkey.
        pushkey: String,
    },
}

fn invalid(de: String, en: String) -> Error {
    Error::InvalidParam(Text::new(de, en))
}

/// A string field: `None` if absent, 400 `M_INVALID_PARAM` if not a string.
fn string_field<'a>(body: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>> {
    match body.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(
            format!("`{name}` muss eine Zeichenkette sein."),
            format!("`{name}` must be a string."),
        )),
    }
}

/// Reads and checks the body of `POST /pushers/set` for the device `device_id` of
/// `user_id`: missing fields are 400 `M_MISSING_PARAM` (all named at once), wrong ones
/// 400 `M_INVALID_PARAM` with a German text naming the field.
pub fn parse_set(
    config: &PushConfig,
    user_id: &UserId,
    device_id: &OwnedDeviceId,
    body: &Value,
) -> Result<SetPusher> {
    let Some(body) = body.as_object() else {
        return Err(Error::bad_json(
            "Die Anfrage muss ein JSON-Objekt sein.",
            "The request must be a JSON object.",
        ));
    };
    let mut missing: Vec<&str> = ["kind", "app_id", "pushkey"]
        .into_iter()
        .filter(|name| !body.contains_key(*name))
        .collect();
    let kind = match body.get("kind") {
        None | Some(Value::Null) => None,
        Some(Value::String(kind)) => Some(kind.as_str()),
        Some(_) => {
            return Err(invalid(
                "`kind` muss \"http\" oder null sein.".into(),
                "`kind` must be \"http\" or null.".into(),
            ))
        }
    };
    if kind.is_some() {
        missing.extend(
            ["app_display_name", "device_display_name", "lang", "data"]
                .into_iter()
                .filter(|name| !body.contains_key(*name)),
        );
    }
    if !missing.is_empty() {
        let names = missing.join(", ");
        return Err(Error::MissingParam(crate::text!(
            "Es fehlen Angaben: {}",
            "Missing parameters: {}",
            names
        )));
    }
    let app_id = string_field(body, "app_id")?.unwrap_or_default();
    if app_id.is_empty() || app_id.chars().count() > MAX_APP_ID_CHARS {
        return Err(invalid(
            format!("`app_id` muss 1 bis {MAX_APP_ID_CHARS} Zeichen lang sein."),
            format!("`app_id` must be 1 to {MAX_APP_ID_CHARS} characters long."),
        ));
    }
    let pushkey = string_field(body, "pushkey")?.unwrap_or_default();
    if pushkey.is_empty() || pushkey.len() > MAX_PUSHKEY_BYTES {
        return Err(invalid(
            format!("`pushkey` muss 1 bis {MAX_PUSHKEY_BYTES} Bytes lang sein."),
            format!("`pushkey` must be 1 to {MAX_PUSHKEY_BYTES} bytes long."),
        ));
    }
    let Some(kind) = kind else {
        return Ok(SetPusher::Delete {
            app_id: app_id.to_owned(),
            pushkey: pushkey.to_owned(),
        });
    };
    match kind {
        "http" => {}
        "email" => {
            return Err(invalid(
                "E-Mail-Benachrichtigungen bietet dieser Server nicht an (`kind: \"email\"`); \
                 Benachrichtigungen gibt es nur über die App."
                    .into(),
                "This server does not send email notifications (`kind: \"email\"`); \
                 notifications are sent to apps only."
                    .into(),
            ))
        }
        other => {
            return Err(invalid(
                format!("Unbekannte Art von Pusher: {other:?} (erlaubt: \"http\")."),
                format!("Unknown pusher kind: {other:?} (allowed: \"http\")."),
            ))
        }
    }
    let text = |name: &str| -> Result<String> {
        let value = string_field(body, name)?.unwrap_or_default();
        if value.chars().count() > MAX_TEXT_CHARS {
            return Err(invalid(
                format!("`{name}` ist zu lang (höchstens {MAX_TEXT_CHARS} Zeichen)."),
                format!("`{name}` is too long (at most {MAX_TEXT_CHARS} characters)."),
            ));
        }
        Ok(value.to_owned())
    };
    let app_display_name = text("app_display_name")?;
    let device_display_name = text("device_display_name")?;
    let lang = text("lang")?;
    let profile_tag = match body.contains_key("profile_tag") {
        true => Some(text("profile_tag")?),
        false => None,
    };
    let append = match body.get("append") {
        None => false,
        Some(Value::Bool(append)) => *append,
        Some(_) => {
            return Err(invalid(
                "`append` muss true oder false sein.".into(),
                "`append` must be true or false.".into(),
            ))
        }
    };
    let (url, data) = gateway_data(config, body.get("data"))?;
    Ok(SetPusher::Set {
        pusher: Box::new(PusherRow {
            user_id: user_id.to_string(),
            app_id: app_id.to_owned(),
            pushkey: pushkey.to_owned(),
            device_id: device_id.to_string(),
            kind: kind.to_owned(),
            app_display_name,
            device_display_name,
            profile_tag,
            lang,
            url,
            data,
            pushkey_ts: 0,
        }),
        append,
    })
}

/// Checks a pusher's `data`: an object with the gateway `url` (on the admin's list, with the
/// spec's path) and an optional `format` (`event_id_only`). Returns the URL and the rest of
/// `data` as JSON text (what the gateway gets back).
fn gateway_data(config: &PushConfig, data: Option<&Value>) -> Result<(String, String)> {
    let Some(Value::Object(data)) = data else {
        return Err(invalid(
            "`data` muss ein JSON-Objekt sein.".into(),
            "`data` must be a JSON object.".into(),
        ));
    };
    let Some(url) = string_field(data, "url")? else {
        return Err(Error::MissingParam(crate::text!(
            "Es fehlt `data.url`, die Adresse des Push-Gateways.",
            "Missing `data.url`, the push gateway's URL."
        )));
    };
    let parsed = url::Url::parse(url).map_err(|_| {
        invalid(
            format!("`data.url` ist keine gültige Adresse: {url:?}"),
            format!("`data.url` is not a valid URL: {url:?}"),
        )
    })?;
    if parsed.path() != PUSH_NOTIFY_PATH {
        return Err(invalid(
            format!("`data.url` muss auf {PUSH_NOTIFY_PATH} enden: {url:?}"),
            format!("`data.url` must end with {PUSH_NOTIFY_PATH}: {url:?}"),
        ));
    }
    if !gateway_allowed(config, &parsed) {
        return Err(invalid(
            format!(
                "Dieses Push-Gateway ist an dieser Schule nicht freigegeben: {url:?}. \
                 Die Schul-IT kann es in der Konfiguration (Abschnitt [push], gateways) erlauben."
            ),
            format!(
                "This push gateway is not allowed on this server: {url:?}. The school's admins \
                 can allow it in the configuration (section [push], gateways)."
            ),
        ));
    }
    match data.get("format") {
        None => {}
        Some(Value::String(format)) if format == "event_id_only" => {}
        Some(other) => {
            return Err(invalid(
                format!("`data.format` muss \"event_id_only\" sein oder fehlen, nicht {other}."),
                format!("`data.format` must be \"event_id_only\" or absent, not {other}."),
            ))
        }
    }
    let mut rest = data.clone();
    rest.remove("url");
    Ok((parsed.to_string(), Value::Object(rest).to_string()))
}

/// Whether `url` is one of the gateways the admin allows (`[push] gateways`).
pub fn gateway_allowed(config: &PushConfig, url: &url::Url) -> bool {
    config
        .gateways
        .iter()
        .filter_map(|g| url::Url::parse(g).ok())
        .any(|g| &g == url)
}

/// Carries out a checked `/pushers/set` request.
pub async fn set(state: &AppState, user_id: &UserId, request: SetPusher) -> Result<()> {
    match request {
        SetPusher::Set { mut pusher, append } => {
            pusher.pushkey_ts = state.clock.now_ms();
            state.db.set_pusher(&pusher, append).await?;
            tracing::info!(app_id = %pusher.app_id, "pusher set");
        }
        SetPusher::Delete { app_id, pushkey } => {
            // Deleting a pusher that does not exist is no error: the result is the same.
            if state
                .db
                .delete_pusher(user_id.as_str(), &app_id, &pushkey)
                .await?
            {
                tracing::info!(%app_id, "pusher deleted");
            }
        }
    }
    Ok(())
}

/// The user's pushers as `GET /pushers` answers them.
pub async fn list(state: &AppState, user_id: &UserId) -> Result<Value> {
    let pushers: Vec<Value> = state
        .db
        .pushers(user_id.as_str())
        .await?
        .into_iter()
        .map(|p| {
            let mut data: Map<String, Value> = serde_json::from_str(&p.data).unwrap_or_default();
            data.insert("url".into(), Value::String(p.url));
            let mut pusher = json!({
                "pushkey": p.pushkey,
                "kind": p.kind,
                "app_id": p.app_id,
                "app_display_name": p.app_display_name,
                "device_display_name": p.device_display_name,
                "lang": p.lang,
                "data": data,
            });
            if let Some(tag) = p.profile_tag {
                pusher["profile_tag"] = Value::String(tag);
            }
            pusher
        })
        .collect();
    Ok(json!({ "pushers": pushers }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ruma::{owned_device_id, user_id};

    const GATEWAY: &str = "https://push.schule.test/_matrix/push/v1/notify";

    fn config() -> PushConfig {
        PushConfig {
            gateways: vec![GATEWAY.into()],
            ..PushConfig::default()
        }
    }

    fn parse(body: Value) -> Result<SetPusher> {
        parse_set(
            &config(),
            user_id!("@anna:schule.test"),
            &owned_device_id!("PHONE"),
            &body,
        )
    }

    fn http(data: Value) -> Value {
        json!({
            "kind": "http", "app_id": "de.schule.app", "pushkey": "k1",
            "app_display_name": "App", "device_display_name": "Telefon", "lang": "de",
            "data": data,
        })
    }

    #[test]
    fn an_http_pusher_keeps_its_data_without_the_url() {
        let Ok(SetPusher::Set { pusher, append }) = parse(http(
            json!({ "url": GATEWAY, "format": "event_id_only", "x": 1 }),
        )) else {
            panic!("not a set");
        };
        assert!(!append);
        assert_eq!(pusher.url, GATEWAY);
        assert_eq!(
            serde_json::from_str::<Value>(&pusher.data).unwrap(),
            json!({ "format": "event_id_only", "x": 1 })
        );
        assert_eq!(pusher.device_id, "PHONE");
    }

    #[test]
    fn kind_null_deletes() {
        let request = parse(json!({ "kind": null, "app_id": "de.schule.app", "pushkey": "k1" }));
        assert_eq!(
            request.unwrap(),
            SetPusher::Delete {
                app_id: "de.schule.app".into(),
                pushkey: "k1".into()
            }
        );
    }

    #[test]
    fn bad_requests_name_what_is_wrong() {
        let errcode = |body: Value| parse(body).unwrap_err().errcode();
        assert_eq!(
            errcode(json!({ "app_id": "a", "pushkey": "k" })),
            "M_MISSING_PARAM"
        );
        assert_eq!(
            errcode(json!({ "kind": "http", "app_id": "a", "pushkey": "k" })),
            "M_MISSING_PARAM"
        );
        assert_eq!(errcode(http(json!({}))), "M_MISSING_PARAM");
        for data in [
            json!({ "url": "https://evil.test/_matrix/push/v1/notify" }),
            json!({ "url": "https://push.schule.test/anders" }),
            json!({ "url": GATEWAY, "format": "full" }),
            json!("text"),
        ] {
            assert_eq!(errcode(http(data.clone())), "M_INVALID_PARAM", "{data}");
        }
        let mut email = http(json!({ "url": GATEWAY }));
        email["kind"] = json!("email");
        let err = parse(email).unwrap_err();
        assert_eq!(err.errcode(), "M_INVALID_PARAM");
        assert!(err.to_string().contains("email"));
        let mut long = http(json!({ "url": GATEWAY }));
        long["app_id"] = json!("a".repeat(65));
        assert_eq!(errcode(long), "M_INVALID_PARAM");
        let mut long = http(json!({ "url": GATEWAY }));
        long["pushkey"] = json!("k".repeat(513));
        assert_eq!(errcode(long), "M_INVALID_PARAM");
    }
}
