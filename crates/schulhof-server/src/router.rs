//! The axum router: every Client-Server API route, CORS, and the JSON 404/405 fallbacks.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::Router;
use http::{HeaderValue, Method, StatusCode};
use ruma::api::path_builder::{SinglePath, VersionHistory};
use ruma::api::IncomingRequest;

use crate::api;
use crate::error::render_errors;
use crate::state::AppState;
use crate::Error;

/// The paths an endpoint is served at.
pub trait RoutePaths {
    /// Every path (stable and unstable) in axum's `{param}` syntax.
    fn paths(&self) -> Vec<&'static str>;
}

impl RoutePaths for VersionHistory {
    fn paths(&self) -> Vec<&'static str> {
        self.unstable_paths()
            .map(|(_, p)| p)
            .chain(self.stable_paths().map(|(_, p)| p))
            .collect()
    }
}

impl RoutePaths for SinglePath {
    fn paths(&self) -> Vec<&'static str> {
        vec![self.path()]
    }
}

/// Adds routes to a router, one typed ruma endpoint at a time.
pub struct Routes(Router<Arc<AppState>>);

impl Routes {
    /// Serves the endpoint `Req` with `handler` at all of its paths.
    pub fn endpoint<Req, H, T>(self, handler: H) -> Self
    where
        Req: IncomingRequest,
        Req::PathBuilder: RoutePaths,
        H: Handler<T, Arc<AppState>>,
        T: 'static,
    {
        let filter =
            MethodFilter::try_from(Req::METHOD).expect("ruma endpoints use standard methods");
        let mut router = self.0;
        for path in Req::PATH_BUILDER.paths() {
            router = router.route(path, on(filter, handler.clone()));
        }
        Self(router)
    }

    /// Adds a plain axum route (for endpoints ruma does not model).
    pub fn raw_with<H, T>(self, path: &str, method: MethodFilter, handler: H) -> Self
    where
        H: Handler<T, Arc<AppState>>,
        T: 'static,
    {
        Self(self.0.route(path, on(method, handler)))
    }
}

/// Builds the whole application.
pub fn build(state: Arc<AppState>) -> Router {
    let routes = crate::web::routes(api::routes(Routes(Router::new())));
    let routes = api::test_clock::routes(routes, state.clock.is_movable());
    routes
        .0
        .fallback(unrecognized)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(complete_writes))
        .layer(middleware::from_fn(catch_panics))
        .layer(middleware::from_fn_with_state(state.clone(), render_errors))
        .layer(middleware::from_fn(cors))
        .with_state(state)
}

async fn unrecognized() -> Error {
    Error::Unrecognized(StatusCode::NOT_FOUND)
}

async fn method_not_allowed() -> Error {
    Error::Unrecognized(StatusCode::METHOD_NOT_ALLOWED)
}

/// Runs a request that may write to its end even when the client goes away. The HTTP server
/// drops a request's future when its connection closes; a write dropped while its transaction
/// commits would leave the commit unannounced: the writer would hand its stream positions out
/// again (every later write then collides with the committed rows) and the in-memory room
/// state would stay behind the database. Reads stay cancellable, so an abandoned long poll
/// (`GET /sync`, the sliding-sync `POST`) ends at once.
async fn complete_writes(request: Request, next: Next) -> Response {
    if only_reads(&request) {
        return next.run(request).await;
    }
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        // A panic goes on to `catch_panics`, which answers it.
        Err(failed) => match failed.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(failed) => Error::Internal(failed.to_string()).into_response(),
        },
    }
}

/// Whether a request only reads: safe methods, and the sliding-sync long poll.
fn only_reads(request: &Request) -> bool {
    matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) || request
        .uri()
        .path()
        .ends_with("/org.matrix.simplified_msc3575/sync")
}

/// Turns a panic anywhere in a request into 500 `M_UNKNOWN` (with the panic in the log)
/// instead of a dropped connection.
async fn catch_panics(request: Request, next: Next) -> Response {
    CatchUnwind(Box::pin(next.run(request)))
        .await
        .unwrap_or_else(|panic| panic_response(panic.as_ref()))
}

/// The 500 `M_UNKNOWN` for a request that panicked; the panic goes to the log.
fn panic_response(panic: &(dyn std::any::Any + Send)) -> Response {
    Error::Internal(format!(
        "request panicked: {}",
        crate::ruma_wrapper::panic_message(panic)
    ))
    .into_response()
}

/// A future that returns a panic of the future it polls as an error.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = std::thread::Result<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// Adds the CORS headers the spec requires to every response and answers preflights.
async fn cors(request: Request, next: Next) -> Response {
    let mut response = if request.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET, HEAD, POST, PUT, DELETE, OPTIONS"),
    );
    headers.insert(
        "access-control-allow-headers",
        HeaderValue::from_static("X-Requested-With, Content-Type, Authorization"),
    );
    response
}

/// Handler state shorthand.
pub type AppStateArg = State<Arc<AppState>>;

#[cfg(test)]
mod tests {
    use super::*;

    /// A handler that takes a while, then counts its completion.
    fn slow_counting(done: Arc<std::sync::atomic::AtomicUsize>) -> Router {
        let handler = move || {
            let done = done.clone();
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                StatusCode::OK
            }
        };
        Router::new()
            .route("/write", axum::routing::put(handler.clone()))
            .route("/read", axum::routing::get(handler))
            .layer(middleware::from_fn(complete_writes))
    }

    #[tokio::test]
    async fn a_write_runs_to_its_end_when_the_client_goes_away_and_a_read_does_not() {
        use tokio::io::AsyncWriteExt;
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = slow_counting(done.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        for request in ["PUT /write", "GET /read"] {
            let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
            let head = format!("{request} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
            client.write_all(head.as_bytes()).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            // The client hangs up while the handler still runs.
            drop(client);
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(
            done.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "the write finished, the abandoned read was dropped"
        );
    }

    #[tokio::test]
    async fn a_panicking_request_becomes_a_500() {
        let panicked = CatchUnwind(Box::pin(async { panic!("kaputt") }))
            .await
            .expect_err("the panic is caught");
        assert_eq!(
            crate::ruma_wrapper::panic_message(panicked.as_ref()),
            "kaputt"
        );
        let response = panic_response(panicked.as_ref());
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let fine = CatchUnwind(Box::pin(async { 7 })).await;
        assert_eq!(fine.ok(), Some(7));
    }
}
