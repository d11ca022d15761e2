//! A push gateway on loopback for the push scenarios: an HTTP server speaking the Push
//! Gateway API (`POST /_matrix/push/v1/notify`) that records every call and answers as the
//! scenario sets it: accept, fail (HTTP 500), or reject the pushkeys (`rejected`).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The path of the Push Gateway API's notify endpoint.
pub const NOTIFY_PATH: &str = "/_matrix/push/v1/notify";

/// How the gateway answers a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayAnswer {
    /// HTTP 200 with `rejected: []`.
    Accept,
    /// HTTP 500: the homeserver must try again later.
    Fail,
    /// HTTP 200 listing every pushkey of the request in `rejected`.
    Reject,
}

/// One request the gateway received.
#[derive(Debug, Clone)]
pub struct GatewayCall {
    /// When it arrived.
    pub at: Instant,
    /// The request path.
    pub path: String,
    /// The JSON body (`Value::Null` if it was not JSON).
    pub body: Value,
    /// How the gateway answered it.
    pub answer: GatewayAnswer,
}

impl GatewayCall {
    /// The `notification` object of the body.
    pub fn notification(&self) -> &Value {
        &self.body["notification"]
    }
}

struct Shared {
    calls: Mutex<Vec<GatewayCall>>,
    answer: Mutex<GatewayAnswer>,
}

/// A running push gateway; stops when dropped.
pub struct PushGateway {
    port: u16,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl PushGateway {
    /// Starts a gateway on a free loopback port that accepts every notification.
    pub async fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            calls: Mutex::default(),
            answer: Mutex::new(GatewayAnswer::Accept),
        });
        let server = tokio::spawn({
            let shared = shared.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |req| answer(shared.clone(), req));
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        });
        Ok(Self {
            port,
            shared,
            server,
        })
    }

    /// The notify URL to register in pushers and allow in the server's `[push] gateways`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}{NOTIFY_PATH}", self.port)
    }

    /// How the gateway answers from now on.
    pub fn answer_with(&self, answer: GatewayAnswer) {
        *self.shared.answer.lock().expect("gateway lock") = answer;
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<GatewayCall> {
        self.shared.calls.lock().expect("gateway lock").clone()
    }

    /// Waits up to `within` until at least `n` calls arrived; returns all calls.
    pub async fn wait_for_calls(&self, n: usize, within: Duration) -> Result<Vec<GatewayCall>> {
        let deadline = Instant::now() + within;
        loop {
            let calls = self.calls();
            if calls.len() >= n {
                return Ok(calls);
            }
            if Instant::now() > deadline {
                bail!(
                    "the push gateway got {} call(s), not {n}, within {within:?}",
                    calls.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for PushGateway {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn answer(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let pushkeys: Vec<Value> = body["notification"]["devices"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| d["pushkey"].clone())
        .collect();
    let mode = *shared.answer.lock().expect("gateway lock");
    shared
        .calls
        .lock()
        .expect("gateway lock")
        .push(GatewayCall {
            at: Instant::now(),
            path,
            body,
            answer: mode,
        });
    let (status, reply) = match mode {
        GatewayAnswer::Accept => (StatusCode::OK, json!({ "rejected": [] })),
        GatewayAnswer::Fail => (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "errcode": "M_UNKNOWN", "error": "gateway down" }),
        ),
        GatewayAnswer::Reject => (StatusCode::OK, json!({ "rejected": pushkeys })),
    };
    let mut response = Response::new(Full::new(Bytes::from(reply.to_string())));
    *response.status_mut() = status;
    Ok(response)
}
