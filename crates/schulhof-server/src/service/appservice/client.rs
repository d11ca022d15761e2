//! The calls the homeserver makes to an appservice (Application Service API): pushing a
//! transaction, the ping, and asking whether a user or room alias exists. Every call carries
//! the registration's `hs_token` as `Authorization: Bearer`.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use schulhof_store::{AppserviceOutboxRow, OUTBOX_EPHEMERAL};

use super::Registration;

/// How long a transaction may take before it counts as failed (and is retried).
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the ping and the user and alias queries may take: a client waits for them.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a call to an appservice did not succeed (mapped to the ping's errcodes in
/// `error.rs`).
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The registration has no `url`.
    #[error("the appservice has no URL")]
    UrlNotSet,
    /// No answer in time.
    #[error("the appservice did not answer in time")]
    Timeout,
    /// No connection (refused, unreachable, TLS failed).
    #[error("no connection to the appservice: {0}")]
    Connection(String),
    /// It answered with a status other than the expected one.
    #[error("the appservice answered with status {status}")]
    BadStatus {
        /// The HTTP status.
        status: u16,
        /// The response body (shortened).
        body: String,
    },
}

/// The HTTP client the server calls appservices with (one connection pool for all).
#[derive(Debug, Clone, Default)]
pub struct AppserviceClient {
    http: reqwest::Client,
}

impl AppserviceClient {
    /// Pushes transaction `txn_id` with `rows` (`PUT /_matrix/app/v1/transactions/{txnId}`);
    /// `Ok` only if the appservice answered 200. Ephemeral rows go to `ephemeral` (and the
    /// MSC2409 name older appservices read) when the appservice asked for them.
    pub async fn send_transaction(
        &self,
        registration: &Registration,
        txn_id: i64,
        rows: &[AppserviceOutboxRow],
    ) -> Result<(), CallError> {
        let list = |ephemeral: bool| {
            let items: Vec<&str> = rows
                .iter()
                .filter(|r| (r.kind == OUTBOX_EPHEMERAL) == ephemeral)
                .map(|r| r.json.as_str())
                .collect();
            format!("[{}]", items.join(","))
        };
        let mut body = format!("{{\"events\":{}", list(false));
        if registration.receive_ephemeral && rows.iter().any(|r| r.kind == OUTBOX_EPHEMERAL) {
            let ephemeral = list(true);
            body.push_str(&format!(
                ",\"ephemeral\":{ephemeral},\"de.sorunome.msc2409.ephemeral\":{ephemeral}"
            ));
        }
        body.push('}');
        let txn = txn_id.to_string();
        let response = self
            .call(
                registration,
                Method::PUT,
                &["transactions", &txn],
                body,
                TRANSACTION_TIMEOUT,
            )
            .await?;
        expect_ok(response).await
    }

    /// Pings the appservice (`POST /_matrix/app/v1/ping`) and returns how long it took.
    pub async fn ping(
        &self,
        registration: &Registration,
        transaction_id: Option<&str>,
    ) -> Result<Duration, CallError> {
        let body = match transaction_id {
            Some(id) => serde_json::json!({ "transaction_id": id }),
            None => serde_json::json!({}),
        };
        let started = Instant::now();
        let response = self
            .call(
                registration,
                Method::POST,
                &["ping"],
                body.to_string(),
                QUERY_TIMEOUT,
            )
            .await?;
        let duration = started.elapsed();
        expect_ok(response).await?;
        Ok(duration)
    }

    /// Asks the appservice whether `user_id` exists (`GET /_matrix/app/v1/users/{userId}`):
    /// `true` if it answered 200 (it has created the user).
    pub async fn query_user(
        &self,
        registration: &Registration,
        user_id: &str,
    ) -> Result<bool, CallError> {
        self.query(registration, &["users", user_id]).await
    }

    /// Asks the appservice whether room `alias` exists (`GET /_matrix/app/v1/rooms/{alias}`):
    /// `true` if it answered 200 (it has created the room and alias).
    pub async fn query_alias(
        &self,
        registration: &Registration,
        alias: &str,
    ) -> Result<bool, CallError> {
        self.query(registration, &["rooms", alias]).await
    }

    async fn query(&self, registration: &Registration, path: &[&str]) -> Result<bool, CallError> {
        let response = self
            .call(
                registration,
                Method::GET,
                path,
                String::new(),
                QUERY_TIMEOUT,
            )
            .await?;
        match response.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => expect_ok(response).await.map(|()| false),
        }
    }

    /// Calls `{url}/_matrix/app/v1/{path…}` (each segment percent-encoded).
    async fn call(
        &self,
        registration: &Registration,
        method: Method,
        path: &[&str],
        body: String,
        timeout: Duration,
    ) -> Result<reqwest::Response, CallError> {
        let base = registration.url.as_deref().ok_or(CallError::UrlNotSet)?;
        let mut url =
            reqwest::Url::parse(base).map_err(|e| CallError::Connection(e.to_string()))?;
        url.path_segments_mut()
            .map_err(|()| CallError::Connection("the URL cannot have a path".into()))?
            .pop_if_empty()
            .extend(["_matrix", "app", "v1"])
            .extend(path);
        let mut request = self
            .http
            .request(method.clone(), url)
            .bearer_auth(&registration.hs_token)
            .timeout(timeout);
        if method != Method::GET {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        request.send().await.map_err(|e| {
            if e.is_timeout() {
                CallError::Timeout
            } else {
                CallError::Connection(without_url(&e))
            }
        })
    }
}

/// `Ok` for a 200, else [`CallError::BadStatus`] with (the start of) the body.
async fn expect_ok(response: reqwest::Response) -> Result<(), CallError> {
    let status = response.status();
    if status == StatusCode::OK {
        return Ok(());
    }
    let mut body = response.text().await.unwrap_or_default();
    if body.len() > 1000 {
        let mut end = 1000;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        body.truncate(end);
    }
    Err(CallError::BadStatus {
        status: status.as_u16(),
        body,
    })
}

/// A transport error's text without the URL (which may carry IDs of people).
fn without_url(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    if let Some(url) = err.url() {
        text = text.replace(url.as_str(), "…");
    }
    text
}
