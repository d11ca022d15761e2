//! Plain HTTP requests to the server (for what a Matrix client library would not send, and for
//! checking status codes and error codes exactly).

use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::Value;

/// A reqwest client bound to one server URL and, optionally, one access token.
#[derive(Clone)]
pub struct RawApi {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// A response: status, headers, the body parsed as JSON (`Value::Null` if it is not JSON)
/// and how long the request took.
#[derive(Debug)]
pub struct RawResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body as JSON, or `Value::Null`.
    pub body: Value,
    /// Time from sending the request until the whole body arrived.
    pub elapsed: Duration,
}

impl RawResponse {
    /// The `errcode` of a Matrix error response, or `""`.
    pub fn errcode(&self) -> &str {
        self.body["errcode"].as_str().unwrap_or("")
    }

    /// Fails unless the status is 200; returns the body.
    pub fn ok(self) -> Result<Value> {
        ensure!(
            self.status == 200,
            "expected 200, got {} {}",
            self.status,
            self.body
        );
        Ok(self.body)
    }

    /// Fails unless this is 403 `M_FORBIDDEN` whose `error` is exactly `text` (what the person
    /// refused reads).
    pub fn expect_forbidden(&self, text: &str) -> Result<()> {
        self.expect_error(&[403], &["M_FORBIDDEN"])?;
        let error = self.body["error"].as_str().unwrap_or_default();
        ensure!(error == text, "error text {error:?}, expected {text:?}");
        Ok(())
    }

    /// Fails unless the status is one of `statuses` and the errcode one of `errcodes`.
    pub fn expect_error(&self, statuses: &[u16], errcodes: &[&str]) -> Result<()> {
        ensure!(
            statuses.contains(&self.status) && errcodes.contains(&self.errcode()),
            "expected status {statuses:?} with errcode {errcodes:?}, got {} {}",
            self.status,
            self.body
        );
        Ok(())
    }
}

/// The body of a raw request.
pub enum Body {
    /// No body.
    Empty,
    /// A JSON value.
    Json(Value),
    /// Raw bytes sent as `application/json` (for malformed JSON).
    Bytes(Vec<u8>),
}

impl RawApi {
    /// A client for the server at `base` (no trailing slash needed).
    pub fn new(base: &str, token: Option<String>) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            token,
        }
    }

    /// The same server with another access token (or none).
    pub fn with_token(&self, token: Option<&str>) -> Self {
        Self {
            token: token.map(str::to_owned),
            ..self.clone()
        }
    }

    /// Sends a request to `path` (starting with `/_matrix/...`).
    pub async fn request(&self, method: Method, path: &str, body: Body) -> Result<RawResponse> {
        self.send(method, path, body, &[]).await
    }

    /// Like [`RawApi::request`] with extra request headers.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Body,
        headers: &[(&str, &str)],
    ) -> Result<RawResponse> {
        let mut request = self.builder(method, path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        execute(request, body).await
    }

    /// `GET path` with query parameters (encoded here).
    pub async fn get_query(&self, path: &str, query: &[(&str, &str)]) -> Result<RawResponse> {
        execute(self.builder(Method::GET, path).query(query), Body::Empty).await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Result<RawResponse> {
        self.request(Method::GET, path, Body::Empty).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Result<RawResponse> {
        self.request(Method::POST, path, Body::Json(body)).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, body: Value) -> Result<RawResponse> {
        self.request(Method::PUT, path, Body::Json(body)).await
    }

    fn builder(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }
}

/// Sends a prepared request with `body` and collects the response.
async fn execute(request: RequestBuilder, body: Body) -> Result<RawResponse> {
    let request = match body {
        Body::Empty => request,
        Body::Json(value) => request.json(&value),
        Body::Bytes(bytes) => request
            .header("content-type", "application/json")
            .body(bytes),
    };
    let started = Instant::now();
    let response = request.send().await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await?;
    Ok(RawResponse {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        elapsed: started.elapsed(),
    })
}

/// `POST /createRoom` with `body`; the raw response.
pub async fn create_room(api: &RawApi, body: Value) -> Result<RawResponse> {
    api.post("/_matrix/client/v3/createRoom", body).await
}

/// The `createRoom` body of a direct chat with `localpart`, as Element sends it (no
/// `initial_state`).
pub fn direct_chat(localpart: &str) -> Value {
    serde_json::json!({
        "is_direct": true,
        "preset": "trusted_private_chat",
        "invite": [crate::user_id_of(localpart)],
    })
}
