//! The server's error type and its one mapping to Matrix error responses.
//!
//! Every error carries its user-facing text in German and English; [`render_errors`] picks the
//! configured language when the response leaves the server. Internal errors are logged with
//! their details and reach the client only as a generic `M_UNKNOWN`.

use std::borrow::Cow;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{json, Map, Value};

use crate::config::Language;
use crate::state::AppState;

/// A user-facing text in both languages.
#[derive(Debug, Clone)]
pub struct Text {
    /// German text (default).
    pub de: Cow<'static, str>,
    /// English text.
    pub en: Cow<'static, str>,
}

impl Text {
    /// A text in German and English.
    pub fn new(de: impl Into<Cow<'static, str>>, en: impl Into<Cow<'static, str>>) -> Self {
        Self {
            de: de.into(),
            en: en.into(),
        }
    }

    /// The text in the given language.
    pub fn get(&self, lang: Language) -> &str {
        match lang {
            Language::De => &self.de,
            Language::En => &self.en,
        }
    }
}

/// Builds a [`Text`] from a German and an English format string with the same arguments.
#[macro_export]
macro_rules! text {
    ($de:literal, $en:literal $(,)?) => {
        $crate::error::Text::new($de, $en)
    };
    ($de:literal, $en:literal, $($arg:tt)+) => {
        $crate::error::Text::new(format!($de, $($arg)+), format!($en, $($arg)+))
    };
}

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 403 `M_FORBIDDEN`.
    #[error("forbidden: {}", .0.en)]
    Forbidden(Text),
    /// 403 `M_FORBIDDEN`: an event the Matrix authorization rules of the room refuse.
    #[error("refused by the authorization rules: {}", .0.en)]
    AuthRules(Text),
    /// 404 `M_NOT_FOUND`.
    #[error("not found: {}", .0.en)]
    NotFound(Text),
    /// 401 `M_MISSING_TOKEN`.
    #[error("missing access token")]
    MissingToken,
    /// 401 `M_UNKNOWN_TOKEN`.
    #[error("unknown access token")]
    UnknownToken,
    /// 400 `M_BAD_JSON`.
    #[error("bad json: {}", .0.en)]
    BadJson(Text),
    /// 400 `M_NOT_JSON`.
    #[error("not json")]
    NotJson,
    /// 400 `M_MISSING_PARAM`.
    #[error("missing parameter: {}", .0.en)]
    MissingParam(Text),
    /// 400 `M_INVALID_PARAM`.
    #[error("invalid parameter: {}", .0.en)]
    InvalidParam(Text),
    /// 404 or 405 `M_UNRECOGNIZED`.
    #[error("unrecognized request")]
    Unrecognized(StatusCode),
    /// 429 `M_LIMIT_EXCEEDED`.
    #[error("rate limited for {retry_after_ms} ms")]
    LimitExceeded {
        /// How long the client should wait.
        retry_after_ms: u64,
    },
    /// 413 `M_TOO_LARGE`.
    #[error("too large")]
    TooLarge,
    /// 400 `M_USER_IN_USE` and friends: a name that is taken.
    #[error("in use: {}", .1.en)]
    InUse(&'static str, Text),
    /// 400 `M_UNSUPPORTED_ROOM_VERSION`.
    #[error("unsupported room version")]
    UnsupportedRoomVersion,
    /// 400 `M_INVALID_ROOM_STATE`: `createRoom` asked for state the room cannot be created
    /// with (e.g. power levels that leave the creator unable to send the rest).
    #[error("invalid room state: {}", .0.en)]
    InvalidRoomState(Text),
    /// 403 `M_WRONG_ROOM_KEYS_VERSION`: keys uploaded to a backup version that is not the
    /// current one (which is given).
    #[error("wrong room keys version, current is {0}")]
    WrongRoomKeysVersion(String),
    /// 403 `M_USER_DEACTIVATED`.
    #[error("user deactivated")]
    UserDeactivated,
    /// 401 `M_USER_LOCKED` (with `soft_logout: false`): an admin locked the account.
    #[error("user locked")]
    UserLocked,
    /// 401 user-interactive authentication needed or failed (body is the UIA state).
    #[error("user-interactive authentication required")]
    Uiaa(Box<Value>),
    /// 400 `M_WEAK_PASSWORD`: the new password does not satisfy the password rule.
    #[error("weak password: {}", .0.en)]
    WeakPassword(Text),
    /// 400 `M_INVALID_PARAM`: an invalid quiet-hours setting (a schedule, a personal window);
    /// the text names the field.
    #[error("invalid quiet-hours setting: {0}")]
    QuietHoursField(#[from] schulhof_quiet_hours::FieldError),
    /// 400 `M_UNKNOWN_POS` (MSC4186): a sliding-sync position the server no longer knows.
    #[error("unknown sliding sync position")]
    UnknownPos,
    /// 400 `M_UNKNOWN`: a request that cannot be carried out.
    #[error("bad request: {}", .0.en)]
    BadRequest(Text),
    /// 409 `M_UNKNOWN`: a request that contradicts what already happened (e.g. sending a
    /// delayed event that was cancelled).
    #[error("conflict: {}", .0.en)]
    Conflict(Text),
    /// 400 `M_MAX_DELAY_EXCEEDED` (MSC4140): a delayed event asked for a longer delay than the
    /// server allows (`max_delay_ms`, also named with the MSC's unstable prefix).
    #[error("delay longer than {max_delay_ms} ms")]
    MaxDelayExceeded {
        /// The longest delay allowed, in ms.
        max_delay_ms: i64,
    },
    /// 405 `M_BAD_JSON`: data that only the server may change (e.g. `m.fully_read`).
    #[error("server-controlled: {}", .0.en)]
    ServerControlled(Text),
    /// 400 `M_EXCLUSIVE`: a user ID or room alias an application service reserved.
    #[error("reserved by an application service: {}", .0.en)]
    Exclusive(Text),
    /// A call to an application service failed (the ping's errcodes): 400 `M_URL_NOT_SET`,
    /// 504 `M_CONNECTION_TIMEOUT`, 502 `M_CONNECTION_FAILED` or 502 `M_BAD_STATUS` (with
    /// `status` and `body`).
    #[error(transparent)]
    Appservice(#[from] crate::service::appservice::client::CallError),
    /// 500 `M_UNKNOWN`: a fault on our side.
    #[error("internal error: {0}")]
    Internal(String),
    /// 500 from the database.
    #[error(transparent)]
    Store(#[from] schulhof_store::StoreError),
}

/// Result type of request handlers and services.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error response waiting for its body in the configured language.
#[derive(Clone)]
struct PendingError {
    errcode: &'static str,
    text: Text,
    extra: Map<String, Value>,
}

impl Error {
    fn parts(&self) -> (StatusCode, &'static str, Text, Map<String, Value>) {
        let none = Map::new();
        match self {
            Error::Forbidden(t) | Error::AuthRules(t) => {
                (StatusCode::FORBIDDEN, "M_FORBIDDEN", t.clone(), none)
            }
            Error::NotFound(t) => (StatusCode::NOT_FOUND, "M_NOT_FOUND", t.clone(), none),
            Error::MissingToken => (
                StatusCode::UNAUTHORIZED,
                "M_MISSING_TOKEN",
                text!("Kein Zugangstoken angegeben.", "Missing access token."),
                none,
            ),
            Error::UnknownToken => {
                let mut extra = Map::new();
                extra.insert("soft_logout".into(), Value::Bool(false));
                (
                    StatusCode::UNAUTHORIZED,
                    "M_UNKNOWN_TOKEN",
                    text!(
                        "Die Anmeldung ist abgelaufen. Bitte neu anmelden.",
                        "Unknown or expired access token. Please log in again."
                    ),
                    extra,
                )
            }
            Error::BadJson(t) => (StatusCode::BAD_REQUEST, "M_BAD_JSON", t.clone(), none),
            Error::NotJson => (
                StatusCode::BAD_REQUEST,
                "M_NOT_JSON",
                text!(
                    "Die Anfrage enthält kein gültiges JSON.",
                    "The request body is not valid JSON."
                ),
                none,
            ),
            Error::UnknownPos => (
                StatusCode::BAD_REQUEST,
                "M_UNKNOWN_POS",
                text!(
                    "Diese Sync-Position ist nicht mehr bekannt. Bitte neu synchronisieren.",
                    "Unknown sync position. Please start a new sync."
                ),
                none,
            ),
            Error::MissingParam(t) => (StatusCode::BAD_REQUEST, "M_MISSING_PARAM", t.clone(), none),
            Error::InvalidParam(t) => (StatusCode::BAD_REQUEST, "M_INVALID_PARAM", t.clone(), none),
            Error::Unrecognized(status) => (
                *status,
                "M_UNRECOGNIZED",
                text!("Unbekannte Anfrage.", "Unrecognized request."),
                none,
            ),
            Error::LimitExceeded { retry_after_ms } => {
                let mut extra = Map::new();
                extra.insert("retry_after_ms".into(), json!(retry_after_ms));
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    "M_LIMIT_EXCEEDED",
                    text!(
                        "Zu viele Anfragen. Bitte einen Moment warten.",
                        "Too many requests. Please wait a moment."
                    ),
                    extra,
                )
            }
            Error::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "M_TOO_LARGE",
                text!("Die Anfrage ist zu groß.", "The request is too large."),
                none,
            ),
            Error::InUse(code, t) => (StatusCode::BAD_REQUEST, code, t.clone(), none),
            Error::UnsupportedRoomVersion => (
                StatusCode::BAD_REQUEST,
                "M_UNSUPPORTED_ROOM_VERSION",
                text!(
                    "Diese Raumversion wird nicht unterstützt (möglich: 10, 11).",
                    "This room version is not supported (supported: 10, 11)."
                ),
                none,
            ),
            Error::InvalidRoomState(t) => (
                StatusCode::BAD_REQUEST,
                "M_INVALID_ROOM_STATE",
                t.clone(),
                none,
            ),
            Error::WrongRoomKeysVersion(current) => {
                let mut extra = Map::new();
                extra.insert("current_version".into(), json!(current));
                (
                    StatusCode::FORBIDDEN,
                    "M_WRONG_ROOM_KEYS_VERSION",
                    text!(
                        "Diese Version der Schlüsselsicherung ist nicht mehr aktuell.",
                        "Wrong backup version."
                    ),
                    extra,
                )
            }
            Error::UserDeactivated => (
                StatusCode::FORBIDDEN,
                "M_USER_DEACTIVATED",
                text!(
                    "Dieses Konto ist deaktiviert.",
                    "This account has been deactivated."
                ),
                none,
            ),
            Error::UserLocked => {
                let mut extra = Map::new();
                extra.insert("soft_logout".into(), Value::Bool(false));
                (
                    StatusCode::UNAUTHORIZED,
                    "M_USER_LOCKED",
                    text!(
                        "Dieses Konto ist gesperrt. Das Sekretariat kann es wieder freigeben.",
                        "This account is locked. The school office can unlock it."
                    ),
                    extra,
                )
            }
            Error::Uiaa(body) => {
                let extra = body.as_object().cloned().unwrap_or_default();
                let errcode = if extra.contains_key("errcode") {
                    "M_FORBIDDEN"
                } else {
                    ""
                };
                (
                    StatusCode::UNAUTHORIZED,
                    errcode,
                    text!(
                        "Bitte mit dem Passwort bestätigen.",
                        "Please confirm with your password."
                    ),
                    extra,
                )
            }
            Error::WeakPassword(t) => (StatusCode::BAD_REQUEST, "M_WEAK_PASSWORD", t.clone(), none),
            Error::QuietHoursField(e) => (
                StatusCode::BAD_REQUEST,
                "M_INVALID_PARAM",
                Text::new(
                    format!("Feld „{}“: {}", e.field, e.message_de),
                    format!("Field `{}`: {}", e.field, e.message_en),
                ),
                none,
            ),
            Error::BadRequest(t) => (StatusCode::BAD_REQUEST, "M_UNKNOWN", t.clone(), none),
            Error::Conflict(t) => (StatusCode::CONFLICT, "M_UNKNOWN", t.clone(), none),
            Error::MaxDelayExceeded { max_delay_ms } => {
                let mut extra = Map::new();
                extra.insert("max_delay".into(), json!(max_delay_ms));
                extra.insert("org.matrix.msc4140.max_delay".into(), json!(max_delay_ms));
                extra.insert(
                    "org.matrix.msc4140.errcode".into(),
                    json!("M_MAX_DELAY_EXCEEDED"),
                );
                let days = max_delay_ms / (24 * 3600 * 1000);
                (
                    StatusCode::BAD_REQUEST,
                    "M_MAX_DELAY_EXCEEDED",
                    text!(
                        "So weit im Voraus lässt sich nichts planen (höchstens {} Tage).",
                        "The requested delay exceeds the allowed maximum ({} days).",
                        days
                    ),
                    extra,
                )
            }
            Error::ServerControlled(t) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "M_BAD_JSON",
                t.clone(),
                none,
            ),
            Error::Exclusive(t) => (StatusCode::BAD_REQUEST, "M_EXCLUSIVE", t.clone(), none),
            Error::Appservice(err) => appservice_call_parts(err),
            Error::Internal(_) | Error::Store(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "M_UNKNOWN",
                text!("Interner Serverfehler.", "Internal server error."),
                none,
            ),
        }
    }

    /// Shorthand for a 403 with the given texts.
    pub fn forbidden(de: impl Into<Cow<'static, str>>, en: impl Into<Cow<'static, str>>) -> Self {
        Error::Forbidden(Text::new(de, en))
    }

    /// Shorthand for a 404 with the given texts.
    pub fn not_found(de: impl Into<Cow<'static, str>>, en: impl Into<Cow<'static, str>>) -> Self {
        Error::NotFound(Text::new(de, en))
    }

    /// Shorthand for a 400 `M_INVALID_PARAM`.
    pub fn invalid_param(
        de: impl Into<Cow<'static, str>>,
        en: impl Into<Cow<'static, str>>,
    ) -> Self {
        Error::InvalidParam(Text::new(de, en))
    }

    /// Shorthand for a 400 `M_BAD_JSON`.
    pub fn bad_json(de: impl Into<Cow<'static, str>>, en: impl Into<Cow<'static, str>>) -> Self {
        Error::BadJson(Text::new(de, en))
    }

    /// The Matrix errcode this error maps to (empty for a UIA challenge without error).
    pub fn errcode(&self) -> &'static str {
        self.parts().1
    }

    /// The HTTP status this error maps to.
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    /// The user-facing text of this error (generic for internal errors).
    pub fn text(&self) -> Text {
        self.parts().2
    }
}

/// Status, errcode, text and extra fields of a failed call to an appservice (the errcodes of
/// `POST /_matrix/client/v1/appservice/{appserviceId}/ping`).
fn appservice_call_parts(
    err: &crate::service::appservice::client::CallError,
) -> (StatusCode, &'static str, Text, Map<String, Value>) {
    use crate::service::appservice::client::CallError;
    let mut extra = Map::new();
    match err {
        CallError::UrlNotSet => (
            StatusCode::BAD_REQUEST,
            "M_URL_NOT_SET",
            text!(
                "Für diesen Anwendungsdienst ist keine URL eingetragen.",
                "The application service has no URL configured."
            ),
            extra,
        ),
        CallError::Timeout => (
            StatusCode::GATEWAY_TIMEOUT,
            "M_CONNECTION_TIMEOUT",
            text!(
                "Der Anwendungsdienst hat nicht rechtzeitig geantwortet.",
                "The connection to the application service timed out."
            ),
            extra,
        ),
        CallError::Connection(_) => (
            StatusCode::BAD_GATEWAY,
            "M_CONNECTION_FAILED",
            text!(
                "Der Anwendungsdienst ist nicht erreichbar.",
                "The connection to the application service failed."
            ),
            extra,
        ),
        CallError::BadStatus { status, body } => {
            extra.insert("status".into(), json!(status));
            extra.insert("body".into(), json!(body));
            (
                StatusCode::BAD_GATEWAY,
                "M_BAD_STATUS",
                text!(
                    "Der Anwendungsdienst hat mit Status {} geantwortet.",
                    "The application service answered with status {}.",
                    status
                ),
                extra,
            )
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Error::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        if let Error::Store(err) = &self {
            tracing::error!(%err, "database error");
        }
        let (status, errcode, text, extra) = self.parts();
        let mut response = status.into_response();
        response.extensions_mut().insert(PendingError {
            errcode,
            text,
            extra,
        });
        response
    }
}

/// Middleware that writes the JSON body of every error response in the configured language.
pub async fn render_errors(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    if let Some(pending) = response.extensions_mut().remove::<PendingError>() {
        let mut body = pending.extra;
        if !pending.errcode.is_empty() {
            body.insert("errcode".into(), Value::String(pending.errcode.into()));
            body.insert(
                "error".into(),
                Value::String(pending.text.get(state.config.language).to_owned()),
            );
        }
        let (mut parts, _) = response.into_parts();
        parts.headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        parts.headers.remove(http::header::CONTENT_LENGTH);
        response = Response::from_parts(
            parts,
            axum::body::Body::from(Value::Object(body).to_string()),
        );
    }
    response
}
