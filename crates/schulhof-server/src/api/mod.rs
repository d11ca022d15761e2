//! HTTP handlers, one module per area of the Client-Server API. Handlers are thin: they turn the
//! typed request into service calls and the result into a response.

mod account_data;
mod admin_join;
mod appservice;
mod backup;
mod delayed;
mod device;
mod directory;
mod discovery;
mod ephemeral;
mod events;
mod filter;
mod keys;
mod media;
mod membership;
mod misc;
mod presence;
mod profile;
mod push;
mod report;
mod room;
pub(crate) mod session;
mod sync;
mod tag;
pub(crate) mod test_clock;
mod user_directory;

use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::router::Routes;

/// A JSON response with status 200.
pub struct Json(pub Value);

impl IntoResponse for Json {
    fn into_response(self) -> Response {
        RawJson(serde_json::to_vec(&self.0).unwrap_or_default()).into_response()
    }
}

/// A response with status 200 whose body is JSON already rendered to bytes.
pub struct RawJson(pub Vec<u8>);

impl IntoResponse for RawJson {
    fn into_response(self) -> Response {
        ([(http::header::CONTENT_TYPE, "application/json")], self.0).into_response()
    }
}

/// Result of a handler answering with plain JSON.
pub type JsonResult = crate::Result<Json>;

/// Registers every route.
pub fn routes(routes: Routes) -> Routes {
    let mut routes = routes;
    routes = account_data::routes(routes);
    routes = admin_join::routes(routes);
    routes = appservice::routes(routes);
    routes = backup::routes(routes);
    routes = delayed::routes(routes);
    routes = device::routes(routes);
    routes = directory::routes(routes);
    routes = discovery::routes(routes);
    routes = ephemeral::routes(routes);
    routes = events::routes(routes);
    routes = filter::routes(routes);
    routes = keys::routes(routes);
    routes = media::routes(routes);
    routes = membership::routes(routes);
    routes = misc::routes(routes);
    routes = presence::routes(routes);
    routes = profile::routes(routes);
    routes = push::routes(routes);
    routes = report::routes(routes);
    routes = room::routes(routes);
    routes = session::routes(routes);
    routes = sync::routes(routes);
    routes = tag::routes(routes);
    routes = user_directory::routes(routes);
    routes
}
