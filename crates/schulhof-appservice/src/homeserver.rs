//! The homeserver as the appservice calls it: the Client-Server API with its `as_token`
//! (acting as the bot), Synapse's admin join, Schulhof's admin join of many people and its
//! directory read. Nothing here knows about schools: it sends JSON and returns JSON or the
//! Matrix error.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::service_error::ServiceError;

/// The most people [`Homeserver::admin_join_many`] asks for at once (Schulhof's limit).
pub const MAX_JOINS_AT_ONCE: usize = 100;

/// How long one request may take (the directory's long poll adds its own wait).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How much longer `createRoom` may take for each person it invites: Synapse writes about one
/// membership a second in a large room, so a class of 150 would not fit the usual timeout.
const CREATE_ROOM_TIME_PER_INVITE: Duration = Duration::from_secs(2);

/// A homeserver reached with an appservice's token.
#[derive(Debug, Clone)]
pub struct Homeserver {
    http: reqwest::Client,
    base: url::Url,
    as_token: String,
}

impl Homeserver {
    /// The homeserver at `base` (e.g. `http://127.0.0.1:8008`), called with `as_token`.
    pub fn new(base: &str, as_token: &str) -> Result<Homeserver, ServiceError> {
        let base = url::Url::parse(base)
            .map_err(|e| ServiceError::Setup(format!("homeserver URL {base:?}: {e}")))?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ServiceError::Setup(format!("HTTP client: {e}")))?;
        Ok(Homeserver {
            http,
            base,
            as_token: as_token.to_owned(),
        })
    }

    /// Calls `method` on the path made of `segments` (each percent-encoded) with `query` and
    /// an optional JSON body; returns the JSON answer of a 2xx, else the Matrix error.
    pub async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Value, ServiceError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| ServiceError::Setup("homeserver URL cannot be a base".into()))?
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let request = format!("{method} {}", url.path());
        let http = |message: String| ServiceError::Http {
            request: request.clone(),
            message,
        };
        let mut builder = self
            .http
            .request(method.clone(), url)
            .bearer_auth(&self.as_token)
            .timeout(timeout);
        if let Some(body) = body {
            builder = builder
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = builder.send().await.map_err(|e| http(e.to_string()))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| http(e.to_string()))?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        let text = |field: &str| value[field].as_str().unwrap_or_default().to_owned();
        Err(ServiceError::Matrix {
            request,
            status: status.as_u16(),
            errcode: text("errcode"),
            error: text("error"),
        })
    }

    /// [`Homeserver::call`] on `/_matrix/client/v3/…` with the usual timeout.
    pub async fn client(
        &self,
        method: Method,
        path: &[&str],
        body: Option<&Value>,
    ) -> Result<Value, ServiceError> {
        self.client_within(method, path, body, REQUEST_TIMEOUT)
            .await
    }

    /// [`Homeserver::call`] on `/_matrix/client/v3/…` with `timeout`.
    async fn client_within(
        &self,
        method: Method,
        path: &[&str],
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Value, ServiceError> {
        let segments: Vec<&str> = ["_matrix", "client", "v3"]
            .into_iter()
            .chain(path.iter().copied())
            .collect();
        self.call(method, &segments, &[], body, timeout).await
    }

    /// Who the token acts as (`/account/whoami`): the bot's user ID.
    pub async fn whoami(&self) -> Result<String, ServiceError> {
        let answer = self
            .client(Method::GET, &["account", "whoami"], None)
            .await?;
        answer["user_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ServiceError::Setup(format!("whoami without user_id: {answer}")))
    }

    /// The rooms the bot is joined to.
    pub async fn joined_rooms(&self) -> Result<Vec<String>, ServiceError> {
        let answer = self.client(Method::GET, &["joined_rooms"], None).await?;
        Ok(strings(&answer["joined_rooms"]))
    }

    /// The current state of a room (its state events).
    pub async fn room_state(&self, room_id: &str) -> Result<Vec<Value>, ServiceError> {
        let answer = self
            .client(Method::GET, &["rooms", room_id, "state"], None)
            .await?;
        Ok(answer.as_array().cloned().unwrap_or_default())
    }

    /// One state event's content.
    pub async fn state(&self, room_id: &str, kind: &str, key: &str) -> Result<Value, ServiceError> {
        self.client(Method::GET, &["rooms", room_id, "state", kind, key], None)
            .await
    }

    /// Sets a state event.
    pub async fn put_state(
        &self,
        room_id: &str,
        kind: &str,
        key: &str,
        content: &Value,
    ) -> Result<(), ServiceError> {
        self.client(
            Method::PUT,
            &["rooms", room_id, "state", kind, key],
            Some(content),
        )
        .await
        .map(drop)
    }

    /// Creates a room; returns its ID.
    pub async fn create_room(&self, body: &Value) -> Result<String, ServiceError> {
        let timeout = create_room_timeout(body);
        let answer = self
            .client_within(Method::POST, &["createRoom"], Some(body), timeout)
            .await?;
        answer["room_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ServiceError::Setup(format!("createRoom without room_id: {answer}")))
    }

    /// The room an alias points to, if any.
    pub async fn resolve_alias(&self, alias: &str) -> Result<Option<String>, ServiceError> {
        match self
            .client(Method::GET, &["directory", "room", alias], None)
            .await
        {
            Ok(answer) => Ok(answer["room_id"].as_str().map(str::to_owned)),
            Err(error) if error.errcode() == Some("M_NOT_FOUND") => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Makes `user_id` join `room_id` without an invitation to accept (Synapse's admin API,
    /// which Schulhof offers too).
    pub async fn admin_join(&self, room_id: &str, user_id: &str) -> Result<(), ServiceError> {
        let body = json!({ "user_id": user_id });
        self.call(
            Method::POST,
            &["_synapse", "admin", "v1", "join", room_id],
            &[],
            Some(&body),
            REQUEST_TIMEOUT,
        )
        .await
        .map(drop)
    }

    /// Makes each of `user_ids` join `room_id` in one call (Schulhof's
    /// `POST /_schulhof/admin/v1/rooms/{roomId}/join`, at most [`MAX_JOINS_AT_ONCE`] people);
    /// returns each person's outcome in the order given, or `None` if the homeserver does not
    /// have the call (Synapse: use [`Homeserver::admin_join`] one by one).
    pub async fn admin_join_many(
        &self,
        room_id: &str,
        user_ids: &[String],
    ) -> Result<Option<Vec<Result<(), ServiceError>>>, ServiceError> {
        let body = json!({ "user_ids": user_ids });
        let segments = ["_schulhof", "admin", "v1", "rooms", room_id, "join"];
        let answer = match self
            .call(Method::POST, &segments, &[], Some(&body), REQUEST_TIMEOUT)
            .await
        {
            Ok(answer) => answer,
            Err(error) if unrecognized(&error) => return Ok(None),
            Err(error) => return Err(error),
        };
        let listed = |field: &str, user: &str| {
            answer[field]
                .as_array()
                .is_some_and(|users| users.iter().any(|u| u.as_str() == Some(user)))
        };
        let request = format!("POST /{}", segments.join("/"));
        let outcomes = user_ids
            .iter()
            .map(|user| {
                let refused = &answer["refused"][user.as_str()];
                if refused.is_object() {
                    let text = |field: &str| refused[field].as_str().unwrap_or_default().to_owned();
                    return Err(ServiceError::Refused {
                        request: request.clone(),
                        user: user.clone(),
                        errcode: text("errcode"),
                        error: text("error"),
                    });
                }
                if listed("joined", user) || listed("already_joined", user) {
                    return Ok(());
                }
                Err(ServiceError::Http {
                    request: request.clone(),
                    message: format!("{user} is missing in the answer"),
                })
            })
            .collect();
        Ok(Some(outcomes))
    }

    /// Removes `user_id` from `room_id` (a kick, or a withdrawn invitation) with `reason`.
    pub async fn kick(
        &self,
        room_id: &str,
        user_id: &str,
        reason: &str,
    ) -> Result<(), ServiceError> {
        let body = json!({ "user_id": user_id, "reason": reason });
        self.client(Method::POST, &["rooms", room_id, "kick"], Some(&body))
            .await
            .map(drop)
    }

    /// Joins the bot to a room it was invited to.
    pub async fn join(&self, room_id: &str) -> Result<(), ServiceError> {
        self.client(Method::POST, &["join", room_id], Some(&json!({})))
            .await
            .map(drop)
    }

    /// Sends a message event as the bot; `txn_id` makes a retry send it once.
    pub async fn send(
        &self,
        room_id: &str,
        txn_id: &str,
        content: &Value,
    ) -> Result<(), ServiceError> {
        self.client(
            Method::PUT,
            &["rooms", room_id, "send", "m.room.message", txn_id],
            Some(content),
        )
        .await
        .map(drop)
    }

    /// Schulhof's directory read for the school's appservice: the export if the revision
    /// differs from `since`, else waits up to `wait` and returns `{"revision"}` alone.
    pub async fn directory(
        &self,
        since: Option<i64>,
        wait: Duration,
    ) -> Result<Value, ServiceError> {
        let since = since.map(|s| s.to_string());
        let timeout = wait.as_millis().to_string();
        let mut query = vec![("timeout", timeout.as_str())];
        if let Some(since) = &since {
            query.push(("since", since.as_str()));
        }
        self.call(
            Method::GET,
            &["_schulhof", "appservice", "v1", "directory"],
            &query,
            None,
            REQUEST_TIMEOUT + wait,
        )
        .await
    }
}

/// Whether `error` says the homeserver does not have the called endpoint: 404 or 405 with
/// `M_UNRECOGNIZED` (the spec's answer) or without a Matrix error (a plain 404 page).
fn unrecognized(error: &ServiceError) -> bool {
    matches!(
        error,
        ServiceError::Matrix { status: 404 | 405, errcode, .. }
            if errcode == "M_UNRECOGNIZED" || errcode.is_empty()
    )
}

/// How long a `createRoom` with `body` may take: the usual timeout, plus time for each
/// person it invites.
fn create_room_timeout(body: &Value) -> Duration {
    let invites = body["invite"].as_array().map_or(0, Vec::len);
    REQUEST_TIMEOUT + CREATE_ROOM_TIME_PER_INVITE * u32::try_from(invites).unwrap_or(u32::MAX)
}

/// The strings of a JSON array (others skipped).
fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, errcode: &str) -> ServiceError {
        ServiceError::Matrix {
            request: "POST /_schulhof/admin/v1/rooms/!r:s/join".into(),
            status,
            errcode: errcode.into(),
            error: String::new(),
        }
    }

    #[test]
    fn a_missing_endpoint_is_told_apart_from_a_refusal() {
        assert!(unrecognized(&answer(404, "M_UNRECOGNIZED")));
        assert!(unrecognized(&answer(405, "M_UNRECOGNIZED")));
        assert!(unrecognized(&answer(404, "")), "a plain 404 page");
        assert!(
            !unrecognized(&answer(404, "M_NOT_FOUND")),
            "an unknown room"
        );
        assert!(!unrecognized(&answer(403, "M_FORBIDDEN")));
        assert!(!unrecognized(&answer(400, "M_UNRECOGNIZED")));
    }

    #[test]
    fn creating_a_room_for_a_large_group_may_take_longer() {
        let invites = |n: usize| json!({ "invite": vec!["@p:s"; n] });
        let table = [
            (json!({ "name": "Klasse 8.1" }), 60),
            (invites(0), 60),
            (invites(1), 62),
            (invites(150), 360),
            (json!({ "invite": "not a list" }), 60),
        ];
        for (body, seconds) in table {
            assert_eq!(
                create_room_timeout(&body),
                Duration::from_secs(seconds),
                "{body}"
            );
        }
    }
}
