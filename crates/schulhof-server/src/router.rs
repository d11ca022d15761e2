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
