//! A reverse proxy that validates every response it forwards.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::SpecValidator;

/// Largest request or response body forwarded.
const MAX_BODY: usize = 128 * 1024 * 1024;

/// Connection-level headers that must not be forwarded (RFC 9110 section 7.6.1).
const HOP_BY_HOP: [HeaderName; 5] = [
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// A reverse proxy on `127.0.0.1:0` in front of an upstream homeserver that forwards every
/// request unchanged (bodies are buffered, up to 128 MiB), validates every response with a
/// [`SpecValidator`] and records the results. It stops accepting connections when dropped.
pub struct ValidatingProxy {
    addr: SocketAddr,
    state: Arc<State>,
    accept_loop: JoinHandle<()>,
}

/// Shared by all connections of one proxy.
struct State {
    /// `scheme://authority` of the upstream, without a trailing slash.
    upstream: String,
    validator: Arc<SpecValidator>,
    client: Client<HttpConnector, Full<Bytes>>,
    violations: Mutex<Vec<String>>,
    endpoints: Mutex<BTreeSet<String>>,
}

impl ValidatingProxy {
    /// Starts the proxy in front of `upstream` (e.g. `http://127.0.0.1:PORT`) on the
    /// current tokio runtime.
    pub async fn start(upstream: &str, validator: Arc<SpecValidator>) -> std::io::Result<Self> {
        let upstream = upstream.trim_end_matches('/').to_owned();
        upstream.parse::<Uri>().map_err(|error| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("bad upstream {upstream:?}: {error}"),
            )
        })?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            upstream,
            validator,
            client: Client::builder(TokioExecutor::new()).build_http(),
            violations: Mutex::new(Vec::new()),
            endpoints: Mutex::new(BTreeSet::new()),
        });
        let accept_loop = tokio::spawn(accept(listener, state.clone()));
        Ok(Self {
            addr,
            state,
            accept_loop,
        })
    }

    /// The proxy's base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// All spec violations found so far, in the order the responses arrived.
    pub fn violations(&self) -> Vec<String> {
        lock(&self.state.violations).clone()
    }

    /// The operations whose responses were checked against a spec schema so far (whether
    /// or not they passed), as sorted, deduplicated `METHOD template status` strings such
    /// as `GET /_matrix/client/v3/sync 200`, for reporting coverage.
    pub fn validated_endpoints(&self) -> Vec<String> {
        lock(&self.state.endpoints).iter().cloned().collect()
    }
}

impl Drop for ValidatingProxy {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn accept(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request| forward(state.clone(), request));
            // A client hanging up mid-request is not the proxy's concern.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Forwards one request, then validates and records the upstream's response.
async fn forward(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (mut parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(error) => {
            return Ok(plain(
                StatusCode::BAD_REQUEST,
                format!("proxy: request body: {error}"),
            ))
        }
    };
    let method = parts.method.to_string();
    let path = parts.uri.path().to_owned();
    let extended = changed_by_an_msc(parts.uri.query());
    let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    parts.uri = match format!("{}{path_and_query}", state.upstream).parse() {
        Ok(uri) => uri,
        Err(error) => {
            return Ok(plain(
                StatusCode::BAD_REQUEST,
                format!("proxy: bad URI: {error}"),
            ))
        }
    };
    strip_hop_by_hop(&mut parts.headers);

    let response = match state
        .client
        .request(Request::from_parts(parts, Full::new(body)))
        .await
    {
        Ok(response) => response,
        Err(error) => {
            return Ok(plain(
                StatusCode::BAD_GATEWAY,
                format!("proxy: upstream: {error}"),
            ))
        }
    };
    let (mut parts, body) = response.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(error) => {
            return Ok(plain(
                StatusCode::BAD_GATEWAY,
                format!("proxy: response body: {error}"),
            ))
        }
    };
    strip_hop_by_hop(&mut parts.headers);

    if extended && parts.status.is_success() {
        return Ok(Response::from_parts(parts, Full::new(body)));
    }
    let (endpoint, result) = state
        .validator
        .check(&method, &path, parts.status.as_u16(), &body);
    if let Some(endpoint) = endpoint {
        lock(&state.endpoints).insert(endpoint);
    }
    if let Err(violations) = result {
        lock(&state.violations).extend(violations);
    }
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// Query parameters of unstable MSCs that turn a spec endpoint into something else: a
/// successful response follows the MSC, not the spec, so it is not validated (MSC4140's delay
/// on `/send` and `/state` answers with a `delay_id` instead of an `event_id`); errors still
/// must be standard error responses.
const MSC_PARAMETERS: [&str; 1] = ["org.matrix.msc4140.delay"];

/// Whether a request's query names one of [`MSC_PARAMETERS`].
fn changed_by_an_msc(query: Option<&str>) -> bool {
    query.unwrap_or_default().split('&').any(|pair| {
        let name = pair.split('=').next().unwrap_or_default();
        MSC_PARAMETERS.contains(&name)
    })
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

/// A plain-text response for failures of the proxy itself.
fn plain(status: StatusCode, message: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message)));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msc4140_delays_are_not_validated_against_the_spec() {
        assert!(changed_by_an_msc(Some("org.matrix.msc4140.delay=3600000")));
        assert!(changed_by_an_msc(Some("ts=1&org.matrix.msc4140.delay=5")));
        assert!(!changed_by_an_msc(Some("org.matrix.msc4140.delay_id=x")));
        assert!(!changed_by_an_msc(None));
    }

    /// Serves a broken `/versions` body and answers everything else with a standard error
    /// echoing the request it received.
    async fn upstream() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let service = hyper::service::service_fn(|request: Request<Incoming>| async move {
                    let uri = request.uri().clone();
                    let method = request.method().clone();
                    let body = request.into_body().collect().await?.to_bytes();
                    let (status, body) = if uri.path() == "/_matrix/client/versions" {
                        (StatusCode::OK, r#"{"versions":"v1.11"}"#.to_owned())
                    } else {
                        let echo = format!("{method} {uri} {}", String::from_utf8_lossy(&body));
                        let body = serde_json::json!({"errcode": "M_UNRECOGNIZED", "error": echo});
                        (StatusCode::NOT_FOUND, body.to_string())
                    };
                    let mut response = Response::new(Full::new(Bytes::from(body)));
                    *response.status_mut() = status;
                    Ok::<_, hyper::Error>(response)
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        addr
    }

    #[tokio::test]
    async fn records_violations_of_forwarded_responses() {
        let validator = SpecValidator::load_default().unwrap_or_else(|e| panic!("{e}"));
        let validator = Arc::new(validator);
        let proxy = ValidatingProxy::start(&format!("http://{}", upstream().await), validator)
            .await
            .unwrap();
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let send = |method: &str, path: &str, body: &'static str| {
            let request = Request::builder()
                .method(method)
                .uri(format!("{}{path}", proxy.url()))
                .body(Full::new(Bytes::from(body)))
                .unwrap();
            let response = client.request(request);
            async move {
                let response = response.await.unwrap();
                let status = response.status();
                (
                    status,
                    response.into_body().collect().await.unwrap().to_bytes(),
                )
            }
        };

        let (status, body) = send("GET", "/_matrix/client/versions", "").await;
        assert_eq!(
            (status, &body[..]),
            (StatusCode::OK, &br#"{"versions":"v1.11"}"#[..])
        );
        let (status, body) = send("POST", "/_matrix/client/v3/nothing?x=%201", "hello").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body["error"],
            "POST /_matrix/client/v3/nothing?x=%201 hello"
        );

        let violations = proxy.violations();
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert!(violations[0].contains("at /versions"), "{violations:?}");
        assert_eq!(
            proxy.validated_endpoints(),
            ["GET /_matrix/client/versions 200"]
        );
    }
}
