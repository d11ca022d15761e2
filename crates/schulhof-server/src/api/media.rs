//! The content repository: upload, download, thumbnails, configuration and (disabled) URL
//! previews, under both `/_matrix/client/v1/media/*` (authenticated) and the legacy
//! `/_matrix/media/v3/*`.
//!
//! The legacy download and thumbnail routes are frozen as Matrix 1.11 describes: they serve,
//! without authentication, only media uploaded before the freeze (links in old messages
//! keep working); everything uploaded since answers 404 there and is served to logged-in
//! users through the authenticated endpoints only, as Synapse does with authenticated media.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::MethodFilter;
use bytes::Bytes;
use http::header::{CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue};
use http_body::{Frame, SizeHint};
use ruma::api::client::authenticated_media as v1;
use ruma::api::client::media as legacy;
use ruma::api::{IncomingRequest, Metadata};
use ruma::http_headers::{ContentDisposition, ContentDispositionType};
use ruma::media::Method;
use ruma::{OwnedServerName, UInt};
use serde_json::json;
use tokio::io::{AsyncRead, ReadBuf};

use super::{Json, JsonResult};
use crate::router::{RoutePaths, Routes};
use crate::ruma_wrapper::{read_body, AuthRequirement, Authenticated, Ruma};
use crate::service::media::{self, ThumbnailMethod, DEFAULT_CONTENT_TYPE};
use crate::state::AppState;
use crate::{Error, Result};

/// Sandboxes user content opened directly in a browser (the policy Synapse sends).
const CONTENT_POLICY: &str =
    "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; object-src 'self';";

/// Bytes read from disk per chunk of a download.
const CHUNK_SIZE: usize = 256 * 1024;

/// Registers one generic handler for the authenticated (v1) and the legacy (v3) endpoint.
macro_rules! v1_and_legacy {
    ($routes:expr, $handler:ident, $v1:ty, $legacy:ty) => {
        $routes
            .endpoint::<$v1, _, _>($handler::<$v1>)
            .endpoint::<$legacy, _, _>($handler::<$legacy>)
    };
}

#[allow(deprecated)]
pub(super) fn routes(routes: Routes) -> Routes {
    let routes = v1_and_legacy!(
        routes,
        download,
        v1::get_content::v1::Request,
        legacy::get_content::v3::Request
    );
    let routes = v1_and_legacy!(
        routes,
        download,
        v1::get_content_as_filename::v1::Request,
        legacy::get_content_as_filename::v3::Request
    );
    let routes = v1_and_legacy!(
        routes,
        thumbnail,
        v1::get_content_thumbnail::v1::Request,
        legacy::get_content_thumbnail::v3::Request
    );
    let routes = v1_and_legacy!(
        routes,
        config,
        v1::get_media_config::v1::Request,
        legacy::get_media_config::v3::Request
    );
    let mut routes = v1_and_legacy!(
        routes,
        preview_url,
        v1::get_media_preview::v1::Request,
        legacy::get_media_preview::v3::Request
    );
    // The upload body is the file itself, not JSON, and may be far larger than a JSON request:
    // it bypasses the `Ruma` extractor and its body limit.
    for path in legacy::create_content::v3::Request::PATH_BUILDER.paths() {
        routes = routes.raw_with(path, MethodFilter::POST, upload);
    }
    routes
}

/// `POST /_matrix/media/v3/upload?filename=`: stores the body as a new file.
async fn upload(
    State(state): State<Arc<AppState>>,
    Authenticated(session): Authenticated,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Body,
) -> JsonResult {
    state.rate_limiter.check_request(session.user_id.as_str())?;
    let limit = usize::try_from(state.config.limits.max_upload_bytes).unwrap_or(usize::MAX);
    let bytes = read_body(body, limit).await?;
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let filename = query.as_deref().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "filename")
            .map(|(_, v)| v.into_owned())
    });
    let filename = filename.filter(|f| !f.is_empty());
    let content_uri = media::upload(
        &state,
        &session.user_id,
        content_type,
        filename.as_deref(),
        &bytes,
    )
    .await?;
    Ok(Json(json!({ "content_uri": content_uri })))
}

/// A download request of either API version.
trait DownloadRequest: IncomingRequest<Authentication: AuthRequirement> + Send + 'static {
    /// A frozen legacy endpoint (see the module docs).
    const LEGACY: bool;

    /// Server name, media ID and the file name asked for in the path, if any.
    fn into_parts(self) -> (OwnedServerName, String, Option<String>);
}

impl DownloadRequest for v1::get_content::v1::Request {
    const LEGACY: bool = false;

    fn into_parts(self) -> (OwnedServerName, String, Option<String>) {
        (self.server_name, self.media_id, None)
    }
}

impl DownloadRequest for v1::get_content_as_filename::v1::Request {
    const LEGACY: bool = false;

    fn into_parts(self) -> (OwnedServerName, String, Option<String>) {
        (self.server_name, self.media_id, Some(self.filename))
    }
}

#[allow(deprecated)]
impl DownloadRequest for legacy::get_content::v3::Request {
    const LEGACY: bool = true;

    fn into_parts(self) -> (OwnedServerName, String, Option<String>) {
        (self.server_name, self.media_id, None)
    }
}

#[allow(deprecated)]
impl DownloadRequest for legacy::get_content_as_filename::v3::Request {
    const LEGACY: bool = true;

    fn into_parts(self) -> (OwnedServerName, String, Option<String>) {
        (self.server_name, self.media_id, Some(self.filename))
    }
}

/// `GET .../download/{serverName}/{mediaId}[/{fileName}]`: streams the file.
async fn download<R: DownloadRequest>(
    State(state): State<Arc<AppState>>,
    req: Ruma<R>,
) -> Result<Response> {
    let (server_name, media_id, filename) = req.body.into_parts();
    if R::LEGACY {
        media::require_legacy_access(&state, &media_id).await?;
    }
    let stored = media::open(&state, &server_name, &media_id).await?;
    let disposition =
        media::content_disposition(&stored.meta.content_type, filename.or(stored.meta.filename));
    let body = FileBody {
        file: stored.file,
        remaining: stored.len,
        buf: vec![0; CHUNK_SIZE].into_boxed_slice(),
    };
    Ok(media_response(
        &stored.meta.content_type,
        &disposition,
        Body::new(body),
    ))
}

/// A thumbnail request of either API version.
trait ThumbnailRequest: IncomingRequest<Authentication: AuthRequirement> + Send + 'static {
    /// A frozen legacy endpoint (see the module docs).
    const LEGACY: bool;

    /// Server name, media ID, requested width and height, and method.
    fn into_parts(self) -> (OwnedServerName, String, UInt, UInt, Option<Method>);
}

impl ThumbnailRequest for v1::get_content_thumbnail::v1::Request {
    const LEGACY: bool = false;

    fn into_parts(self) -> (OwnedServerName, String, UInt, UInt, Option<Method>) {
        (
            self.server_name,
            self.media_id,
            self.width,
            self.height,
            self.method,
        )
    }
}

#[allow(deprecated)]
impl ThumbnailRequest for legacy::get_content_thumbnail::v3::Request {
    const LEGACY: bool = true;

    fn into_parts(self) -> (OwnedServerName, String, UInt, UInt, Option<Method>) {
        (
            self.server_name,
            self.media_id,
            self.width,
            self.height,
            self.method,
        )
    }
}

/// `GET .../thumbnail/{serverName}/{mediaId}?width&height&method`: a scaled-down image.
///
/// `animated` is ignored: thumbnails are never animated, which the spec allows for any value.
async fn thumbnail<R: ThumbnailRequest>(
    State(state): State<Arc<AppState>>,
    req: Ruma<R>,
) -> Result<Response> {
    let (server_name, media_id, width, height, method) = req.body.into_parts();
    if R::LEGACY {
        media::require_legacy_access(&state, &media_id).await?;
    }
    let requested = (dimension(width)?, dimension(height)?);
    let method = match method {
        None | Some(Method::Scale) => ThumbnailMethod::Scale,
        Some(Method::Crop) => ThumbnailMethod::Crop,
        Some(_) => {
            return Err(Error::invalid_param(
                "Die Methode muss „scale“ oder „crop“ sein.",
                "The method must be `scale` or `crop`.",
            ))
        }
    };
    let thumbnail = media::thumbnail(&state, &server_name, &media_id, requested, method).await?;
    let name = if thumbnail.content_type == "image/png" {
        "thumbnail.png"
    } else {
        "thumbnail.jpg"
    };
    let disposition = ContentDisposition::new(ContentDispositionType::Inline)
        .with_filename(Some(name.to_owned()));
    Ok(media_response(
        thumbnail.content_type,
        &disposition,
        Body::from(thumbnail.bytes),
    ))
}

/// A requested thumbnail side: a positive pixel count.
fn dimension(value: UInt) -> Result<u32> {
    u32::try_from(u64::from(value))
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| {
            Error::invalid_param(
                "Breite und Höhe müssen positive ganze Zahlen sein.",
                "Width and height must be positive integers.",
            )
        })
}

/// `GET .../media/config`: the upload limit.
async fn config<R>(State(state): State<Arc<AppState>>, _: Ruma<R>) -> JsonResult
where
    R: IncomingRequest<Authentication: AuthRequirement> + Send + 'static,
{
    Ok(Json(
        json!({ "m.upload.size": state.config.limits.max_upload_bytes }),
    ))
}

/// `GET .../media/preview_url`: URL previews are switched off.
///
/// Fetching arbitrary URLs on behalf of users would let the server be used to probe the school
/// network and leak which links pupils open. The spec has no error for a disabled feature;
/// 404 `M_NOT_FOUND` is what Element treats as "no preview" without showing an error, and the
/// message tells administrators why.
async fn preview_url<R>(_: Ruma<R>) -> JsonResult
where
    R: IncomingRequest<Authentication: AuthRequirement> + Send + 'static,
{
    Err(Error::not_found(
        "Linkvorschauen sind abgeschaltet.",
        "URL previews are disabled.",
    ))
}

/// A response carrying user content, with the headers that keep browsers from running it.
fn media_response(content_type: &str, disposition: &ContentDisposition, body: Body) -> Response {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    let content_type = HeaderValue::from_str(content_type)
        .unwrap_or_else(|_| HeaderValue::from_static(DEFAULT_CONTENT_TYPE));
    let disposition = HeaderValue::from_str(&disposition.to_string())
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    headers.insert(CONTENT_TYPE, content_type);
    headers.insert(CONTENT_DISPOSITION, disposition);
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_POLICY),
    );
    headers.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("cross-origin"),
    );
    response
}

/// A response body that streams an open file chunk by chunk instead of loading it into memory.
struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
    buf: Box<[u8]>,
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<Frame<Bytes>>>> {
        let FileBody {
            file,
            remaining,
            buf,
        } = &mut *self;
        if *remaining == 0 {
            return Poll::Ready(None);
        }
        let want = buf
            .len()
            .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
        let mut read = ReadBuf::new(&mut buf[..want]);
        ready!(Pin::new(file).poll_read(cx, &mut read))?;
        let chunk = read.filled();
        if chunk.is_empty() {
            return Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "media file shrank",
            ))));
        }
        *remaining -= chunk.len() as u64;
        Poll::Ready(Some(Ok(Frame::data(Bytes::copy_from_slice(chunk)))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}
