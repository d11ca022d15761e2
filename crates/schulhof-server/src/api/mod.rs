//! HTTP handlers, one module per area of the Client-Server API. Handlers are thin: they turn the
//! typed request into service calls and the result into a response.

mod discovery;
mod session;

use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::router::Routes;

/// A JSON response with status 200.
pub struct Json(pub Value);

impl IntoResponse for Json {
    fn into_response(self) -> Response {
        (
            [(http::header::CONTENT_TYPE, "application/json")],
            serde_json::to_vec(&self.0).unwrap_or_default(),
        )
            .into_response()
    }
}

/// Result of a handler answering with plain JSON.
pub type JsonResult = crate::Result<Json>;

/// Registers every route.
pub fn routes(routes: Routes) -> Routes {
    let routes = discovery::routes(routes);
    session::routes(routes)
}
