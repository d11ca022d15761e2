//! The `Ruma<T>` extractor: turns an HTTP request into a typed ruma request plus the session of
//! the user asking, and `RumaResponse<T>` turns a typed ruma response back into HTTP.
//!
//! Handlers never parse tokens: the extractor authenticates according to the endpoint's
//! authentication scheme and applies the per-user rate limit to rate-limited endpoints.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, RawPathParams, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::BodyExt;
use ruma::api::auth_scheme::{
    AccessToken, AccessTokenOptional, AppserviceToken, AppserviceTokenOptional, NoAccessToken,
    NoAuthentication,
};
use ruma::api::{IncomingRequest, OutgoingResponse, OutgoingResponseExt};
use ruma::{OwnedDeviceId, OwnedUserId};

use crate::auth::token_hash;
use crate::service::school::directory as school;
use crate::state::AppState;
use crate::{Error, Result};

/// The authenticated user and device behind a request.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who is asking (for an appservice: the user it asserts to act as).
    pub user_id: OwnedUserId,
    /// With which device.
    pub device_id: OwnedDeviceId,
    /// The appservice that made the request with its `as_token`, if one did.
    pub appservice: Option<String>,
}

/// The device an appservice session uses when it names none of the user's devices.
pub const APPSERVICE_DEVICE: &str = "APPSERVICE";

/// A typed request with the session of the user who sent it.
pub struct Ruma<T> {
    /// The parsed request.
    pub body: T,
    /// The session; always present for endpoints that require an access token.
    session: Option<Session>,
    /// The raw JSON body, for endpoints that need fields ruma does not model.
    pub json_body: Option<serde_json::Value>,
    /// The client's address (from `X-Forwarded-For` when the peer is a trusted proxy).
    pub client_ip: Option<IpAddr>,
}

impl<T> Ruma<T> {
    /// The session of an authenticated request.
    ///
    /// Panics only on a programming error: calling it for an endpoint without required auth.
    pub fn session(&self) -> &Session {
        self.session
            .as_ref()
            .expect("endpoint requires authentication")
    }

    /// The session, if the client sent a valid token.
    pub fn optional_session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The authenticated user's ID.
    pub fn user_id(&self) -> &OwnedUserId {
        &self.session().user_id
    }
}

/// How an endpoint's ruma authentication scheme translates to our token check.
pub trait AuthRequirement {
    /// `Some(true)`: token required; `Some(false)`: token optional; `None`: no token used.
    const TOKEN: Option<bool>;
}

impl AuthRequirement for AccessToken {
    const TOKEN: Option<bool> = Some(true);
}
impl AuthRequirement for AccessTokenOptional {
    const TOKEN: Option<bool> = Some(false);
}
impl AuthRequirement for AppserviceToken {
    const TOKEN: Option<bool> = Some(true);
}
impl AuthRequirement for AppserviceTokenOptional {
    const TOKEN: Option<bool> = Some(false);
}
impl AuthRequirement for NoAuthentication {
    const TOKEN: Option<bool> = None;
}
impl AuthRequirement for NoAccessToken {
    const TOKEN: Option<bool> = None;
}

/// The client's address: the TCP peer, or the last `X-Forwarded-For` entry when the peer is
/// one of the trusted reverse proxies.
pub fn client_ip(parts: &http::request::Parts, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())?;
    if !trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let forwarded = parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    forwarded
        .and_then(|v| v.rsplit(',').next())
        .and_then(|ip| ip.trim().parse().ok())
        .or(Some(peer))
}

/// Extracts the access token from the `Authorization` header or the deprecated query parameter.
fn access_token(parts: &http::request::Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(http::header::AUTHORIZATION) {
        return value
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")
            .map(str::to_owned);
    }
    query_param(parts, "access_token")
}

/// The value of one query parameter.
fn query_param(parts: &http::request::Parts, name: &str) -> Option<String> {
    parts.uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    })
}

/// The session of a request's token: a user's access token, or an appservice's `as_token`
/// with the identity it asserts (`user_id` and `device_id` query parameters, spec "Identity
/// assertion"). Tokens of people the directory refuses (restricted, locked, deactivated) are
/// refused on every request, whatever the rights or the directory changed since they were
/// issued.
pub async fn authenticate_request(
    state: &AppState,
    parts: &http::request::Parts,
    token: &str,
) -> Result<Session> {
    let hash = token_hash(token);
    let Some(registration) = state.appservices.by_token_hash(&hash) else {
        let session = user_session(state, hash).await?;
        school::refuse_session(state, &session.user_id)?;
        return Ok(session);
    };
    let user_id = crate::service::appservice::asserted_user(
        registration,
        &state.server_name,
        query_param(parts, "user_id").as_deref(),
    )?;
    if state.db.user(user_id.as_str()).await?.is_none() {
        return Err(Error::forbidden(
            "Diesen Benutzer gibt es nicht.",
            "This user does not exist.",
        ));
    }
    let device_id = match query_param(parts, "device_id") {
        Some(device) => {
            let devices = state.db.devices(user_id.as_str()).await?;
            if !devices.iter().any(|d| d.device_id == device) {
                return Err(Error::forbidden(
                    "Dieses Gerät gibt es nicht.",
                    "This device does not exist.",
                ));
            }
            device.into()
        }
        None => APPSERVICE_DEVICE.into(),
    };
    school::refuse_session(state, &user_id)?;
    Ok(Session {
        user_id,
        device_id,
        appservice: Some(registration.id.clone()),
    })
}

/// Looks up the session for the hash of a user's access token.
async fn user_session(state: &AppState, hash: String) -> Result<Session> {
    if let Some(session) = state.tokens.get(&hash) {
        return Ok(session);
    }
    let row = state.db.token(&hash).await?.ok_or(Error::UnknownToken)?;
    let session = Session {
        user_id: row.user_id.try_into().map_err(|_| Error::UnknownToken)?,
        device_id: row.device_id.into(),
        appservice: None,
    };
    state.tokens.insert(hash, session.clone());
    Ok(session)
}

impl<T> FromRequest<Arc<AppState>> for Ruma<T>
where
    T: IncomingRequest + Send,
    T::Authentication: AuthRequirement,
{
    type Rejection = Error;

    async fn from_request(request: Request, state: &Arc<AppState>) -> Result<Self> {
        let (mut parts, body) = request.into_parts();
        let client_ip = client_ip(&parts, &state.config.trusted_proxies);
        let path_params = RawPathParams::from_request_parts(&mut parts, state)
            .await
            .map_err(|_| Error::Unrecognized(http::StatusCode::NOT_FOUND))?;
        let path_args: Vec<String> = path_params.iter().map(|(_, v)| v.to_owned()).collect();

        let session = match (T::Authentication::TOKEN, access_token(&parts)) {
            (Some(true), None) => return Err(Error::MissingToken),
            (Some(_), Some(token)) => Some(authenticate_request(state, &parts, &token).await?),
            _ => None,
        };
        let appservice_unlimited = session
            .as_ref()
            .and_then(|s| s.appservice.as_deref())
            .and_then(|id| state.appservices.all().iter().find(|r| r.id == id))
            .is_some_and(|r| !r.rate_limited);
        if T::RATE_LIMITED && !appservice_unlimited {
            let key = match (&session, client_ip) {
                (Some(s), _) => s.user_id.to_string(),
                (None, Some(ip)) => ip.to_string(),
                (None, None) => String::new(),
            };
            state.rate_limiter.check_request(&key)?;
        }

        let limit = state.config.limits.max_request_bytes as usize;
        let bytes = json_request_body(&parts.method, read_body(body, limit).await?)?;
        let json_body: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
        let http_request = http::Request::from_parts(parts, bytes.as_ref());
        let args: Vec<&str> = path_args.iter().map(String::as_str).collect();
        // ruma's parsers are not meant to panic, but one does on some bodies (a login without
        // `type`); a body that makes the parser panic is a malformed request, not a fault.
        let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            T::try_from_http_request_inner(http_request, &args)
        }));
        let body = match parsed {
            Ok(parsed) => parsed.map_err(|err| deserialization_error(err, json_body.as_ref()))?,
            Err(panic) => {
                tracing::error!(
                    panic = panic_message(panic.as_ref()),
                    endpoint = std::any::type_name::<T>(),
                    "request parser panicked"
                );
                return Err(Error::bad_json(
                    "Die Anfrage ist fehlerhaft.",
                    "Malformed request.",
                ));
            }
        };
        Ok(Ruma {
            body,
            session,
            json_body,
            client_ip,
        })
    }
}

/// Reads a request body up to `limit` bytes; larger bodies are refused with 413.
pub async fn read_body(body: axum::body::Body, limit: usize) -> Result<Bytes> {
    let limited = http_body_util::Limited::new(body, limit);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err)
            if err
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(Error::TooLarge)
        }
        Err(err) => Err(Error::bad_json(
            format!("Anfrage nicht lesbar: {err}"),
            format!("Unreadable request: {err}"),
        )),
    }
}

/// The body of a request to a JSON endpoint, checked: a body that is not JSON is 400
/// `M_NOT_JSON`, whatever its `Content-Type`; so is an empty body on `PUT`, whose endpoints
/// all take a JSON object (an event's content, a setting). Clients may `POST` without a
/// body where every field is optional: that body is `{}`.
fn json_request_body(method: &http::Method, bytes: Bytes) -> Result<Bytes> {
    if bytes.is_empty() {
        return match *method {
            http::Method::PUT => Err(Error::NotJson),
            http::Method::GET | http::Method::HEAD => Ok(bytes),
            _ => Ok(Bytes::from_static(b"{}")),
        };
    }
    let is_json = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok();
    if !is_json && !matches!(*method, http::Method::GET | http::Method::HEAD) {
        return Err(Error::NotJson);
    }
    Ok(bytes)
}

/// The text of a panic's payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// The error for a request ruma cannot parse. A room version the request names
/// (`room_version` of `createRoom`, `new_version` of an upgrade) that is not even a valid
/// room version ID is unsupported, as the spec wants, rather than bad JSON.
fn deserialization_error(
    err: ruma::api::error::DeserializationError,
    body: Option<&serde_json::Value>,
) -> Error {
    use ruma::api::error::DeserializationError as D;
    let invalid_version = ["room_version", "new_version"].iter().any(|field| {
        body.and_then(|b| b.get(field))
            .and_then(serde_json::Value::as_str)
            .is_some_and(|v| ruma::RoomVersionId::try_from(v).is_err())
    });
    if invalid_version {
        return Error::UnsupportedRoomVersion;
    }
    let detail = err.to_string();
    match err {
        D::Json(_) => Error::bad_json(
            format!("Die Anfrage ist fehlerhaft: {detail}"),
            format!("Malformed request: {detail}"),
        ),
        _ => Error::InvalidParam(crate::text!(
            "Ungültige Angabe: {}",
            "Invalid parameter: {}",
            detail
        )),
    }
}

/// A typed ruma response, serialized on the way out.
pub struct RumaResponse<T>(pub T);

impl<T> From<T> for RumaResponse<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T: OutgoingResponse> IntoResponse for RumaResponse<T> {
    fn into_response(self) -> Response {
        match self.0.try_into_http_response::<Vec<u8>>() {
            Ok(response) => response.map(axum::body::Body::from).into_response(),
            Err(err) => Error::Internal(format!("serializing response: {err}")).into_response(),
        }
    }
}

/// Extractor for plain axum handlers (routes ruma does not model): the session of a request
/// that must carry a valid access token.
pub struct Authenticated(pub Session);

impl FromRequestParts<Arc<AppState>> for Authenticated {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        state: &Arc<AppState>,
    ) -> Result<Self> {
        let token = access_token(parts).ok_or(Error::MissingToken)?;
        Ok(Authenticated(
            authenticate_request(state, parts, &token).await?,
        ))
    }
}

/// Extractor for endpoints anyone may call whose answer depends on who asks (profiles): the
/// session if the request carries a valid access token, else `None`.
pub struct MaybeAuthenticated(pub Option<Session>);

impl FromRequestParts<Arc<AppState>> for MaybeAuthenticated {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        state: &Arc<AppState>,
    ) -> Result<Self> {
        let session = match access_token(parts) {
            Some(token) => authenticate_request(state, parts, &token).await.ok(),
            None => None,
        };
        Ok(MaybeAuthenticated(session))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn checked(method: Method, body: &'static [u8]) -> std::result::Result<Bytes, &'static str> {
        json_request_body(&method, Bytes::from_static(body)).map_err(|e| e.errcode())
    }

    #[test]
    fn json_endpoints_refuse_bodies_that_are_not_json() {
        assert_eq!(checked(Method::PUT, b""), Err("M_NOT_JSON"));
        assert_eq!(checked(Method::PUT, b"Hallo"), Err("M_NOT_JSON"));
        assert_eq!(checked(Method::POST, b"{\"a\": "), Err("M_NOT_JSON"));
        assert_eq!(checked(Method::POST, b""), Ok(Bytes::from_static(b"{}")));
        assert_eq!(checked(Method::GET, b""), Ok(Bytes::new()));
        assert_eq!(checked(Method::PUT, b"[1]"), Ok(Bytes::from_static(b"[1]")));
    }

    #[test]
    fn unparseable_room_versions_are_unsupported() {
        let err = |body: serde_json::Value| {
            let json = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
            deserialization_error(json.into(), Some(&body)).errcode()
        };
        assert_eq!(
            err(serde_json::json!({ "room_version": "" })),
            "M_UNSUPPORTED_ROOM_VERSION"
        );
        assert_eq!(
            err(serde_json::json!({ "new_version": "ä" })),
            "M_UNSUPPORTED_ROOM_VERSION"
        );
        assert_eq!(err(serde_json::json!({ "name": 5 })), "M_BAD_JSON");
    }
}
