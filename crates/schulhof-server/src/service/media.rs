//! Uploaded files: storage on disk and thumbnails.
//!
//! Layout under `media_path`: `files/<first two characters>/<media_id>` holds the uploads and
//! `thumbnails/<first two characters>/<media_id>-<width>x<height>-<method>` the cached
//! thumbnails. Every file is written to a temporary name in its final directory, synced and then
//! renamed into place, so a crash never leaves a half-written file under a final name. The
//! database row of an upload is inserted only after its file is in place: every row has its file
//! (a crash in between leaves at most an unreferenced file).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};
use rand::distributions::{Alphanumeric, DistString};
use ruma::api::client::media::is_safe_inline_content_type;
use ruma::http_headers::{ContentDisposition, ContentDispositionType};
use ruma::{ServerName, UserId};
use schulhof_store::MediaRow;
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

use crate::state::AppState;
use crate::{Error, Result};

/// Length of the media IDs this server hands out (random alphanumeric characters from the
/// operating system's seeded CSPRNG: 24 × log2(62) ≈ 143 bits, so a file's URL cannot be
/// guessed, only be given).
const MEDIA_ID_LEN: usize = 24;

/// Largest image (in pixels) that is decoded for a thumbnail; bigger ones are refused.
const MAX_THUMBNAIL_PIXELS: u64 = 40_000_000;

/// Largest allocation the image decoder may make (40 megapixels at 8 bytes per pixel, plus room).
const MAX_DECODE_ALLOC: u64 = 400 * 1024 * 1024;

/// Quality of JPEG thumbnails.
const JPEG_QUALITY: u8 = 85;

/// Thumbnails rendered at the same time; decoding is memory- and CPU-hungry.
static THUMBNAIL_SLOTS: Semaphore = Semaphore::const_new(2);

/// MIME type of uploads sent without a `Content-Type`.
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// How a thumbnail is fitted to the requested size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThumbnailMethod {
    /// Keep the aspect ratio and fit inside the requested box.
    Scale,
    /// Fill the requested box and cut off what sticks out, centered.
    Crop,
}

impl ThumbnailMethod {
    /// The name used in the API and in cache file names.
    fn as_str(self) -> &'static str {
        match self {
            ThumbnailMethod::Scale => "scale",
            ThumbnailMethod::Crop => "crop",
        }
    }
}

/// How to turn an image into a thumbnail: resize it, then cut a centered box out of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Size after resizing.
    pub resized: (u32, u32),
    /// Size of the centered box kept from the resized image (equal to `resized` for `scale`).
    pub cropped: (u32, u32),
}

/// Computes the thumbnail geometry for an image of size `original` and a requested box.
///
/// `scale` fits the image inside the box keeping its aspect ratio; `crop` fills the box and cuts
/// off the overhang. Images are never enlarged: when the original is too small to fill the box,
/// `crop` keeps the largest centered part with the requested aspect ratio. Sizes must be non-zero.
pub fn thumbnail_geometry(
    original: (u32, u32),
    requested: (u32, u32),
    method: ThumbnailMethod,
) -> Geometry {
    let (ow, oh) = (f64::from(original.0), f64::from(original.1));
    let (rw, rh) = (f64::from(requested.0), f64::from(requested.1));
    match method {
        ThumbnailMethod::Scale => {
            let resized = scaled(original, (rw / ow).min(rh / oh).min(1.0));
            Geometry {
                resized,
                cropped: resized,
            }
        }
        ThumbnailMethod::Crop => {
            let factor = (rw / ow).max(rh / oh);
            if factor < 1.0 {
                let resized = scaled(original, factor);
                Geometry {
                    resized,
                    cropped: (requested.0.min(resized.0), requested.1.min(resized.1)),
                }
            } else {
                let cropped = if ow * rh > oh * rw {
                    (rounded(oh * rw / rh, original.0), original.1)
                } else {
                    (original.0, rounded(ow * rh / rw, original.1))
                };
                Geometry {
                    resized: original,
                    cropped,
                }
            }
        }
    }
}

/// `size` multiplied by `factor`, each side at least 1.
fn scaled(size: (u32, u32), factor: f64) -> (u32, u32) {
    (
        rounded(f64::from(size.0) * factor, size.0),
        rounded(f64::from(size.1) * factor, size.1),
    )
}

/// `value` rounded to a pixel count between 1 and `max`.
fn rounded(value: f64, max: u32) -> u32 {
    (value.round() as u32).clamp(1, max.max(1))
}

/// The `Content-Disposition` for serving a file: `inline` only for the content types the spec
/// lists as safe to display, `attachment` for everything else.
pub fn content_disposition(content_type: &str, filename: Option<String>) -> ContentDisposition {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let kind = if is_safe_inline_content_type(&essence) {
        ContentDispositionType::Inline
    } else {
        ContentDispositionType::Attachment
    };
    ContentDisposition::new(kind).with_filename(filename)
}

/// An uploaded file opened for download.
pub struct StoredFile {
    /// Its metadata.
    pub meta: MediaRow,
    /// The open file.
    pub file: tokio::fs::File,
    /// Its length in bytes.
    pub len: u64,
}

/// A rendered thumbnail.
pub struct Thumbnail {
    /// The encoded image.
    pub bytes: Vec<u8>,
    /// Its MIME type (`image/png` or `image/jpeg`).
    pub content_type: &'static str,
}

/// Stores an upload and returns its `mxc://` URI.
pub async fn upload(
    state: &AppState,
    uploader: &UserId,
    content_type: Option<&str>,
    filename: Option<&str>,
    bytes: &[u8],
) -> Result<String> {
    let media_id = Alphanumeric.sample_string(&mut rand::thread_rng(), MEDIA_ID_LEN);
    let path = file_path(&state.config.media_path, &media_id);
    write_atomically(&path, bytes).await?;
    let row = MediaRow {
        media_id,
        content_type: content_type.unwrap_or(DEFAULT_CONTENT_TYPE).to_owned(),
        filename: filename.map(str::to_owned),
        size: bytes.len() as i64,
        uploader: uploader.to_string(),
    };
    if let Err(err) = state.db.create_media(&row, state.clock.now_ms()).await {
        let _ = tokio::fs::remove_file(&path).await;
        return Err(err.into());
    }
    Ok(format!("mxc://{}/{}", state.server_name, row.media_id))
}

/// Deletes an upload's file and its cached thumbnails (once its row is gone).
pub async fn delete_files(root: &Path, media_id: &str) -> std::io::Result<()> {
    if !is_media_id(media_id) {
        return Ok(());
    }
    match tokio::fs::remove_file(file_path(root, media_id)).await {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
        _ => {}
    }
    let Ok(mut thumbnails) =
        tokio::fs::read_dir(root.join("thumbnails").join(&media_id[..2])).await
    else {
        return Ok(());
    };
    let prefix = format!("{media_id}-");
    while let Some(entry) = thumbnails.next_entry().await? {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            tokio::fs::remove_file(entry.path()).await?;
        }
    }
    Ok(())
}

/// 404 `M_NOT_FOUND` unless `media_id` may be served by the unauthenticated (legacy)
/// endpoints: only media uploaded before they were frozen (`AppState::media_freeze_ts`, the
/// first start of a version with authenticated media), as Matrix 1.11 describes and Synapse
/// does. Everything uploaded since is served to logged-in users only.
pub async fn require_legacy_access(state: &AppState, media_id: &str) -> Result<()> {
    match state.db.media_uploaded_ts(media_id).await? {
        Some(uploaded) if uploaded < state.media_freeze_ts => Ok(()),
        _ => Err(not_found()),
    }
}

/// Opens an uploaded file; unknown media and media of other servers are 404.
pub async fn open(
    state: &AppState,
    server_name: &ServerName,
    media_id: &str,
) -> Result<StoredFile> {
    let meta = metadata(state, server_name, media_id).await?;
    let file = tokio::fs::File::open(file_path(&state.config.media_path, media_id))
        .await
        .map_err(file_error)?;
    let len = file.metadata().await.map_err(file_error)?.len();
    Ok(StoredFile { meta, file, len })
}

/// Returns a thumbnail of an uploaded image, rendering and caching it on first request.
pub async fn thumbnail(
    state: &AppState,
    server_name: &ServerName,
    media_id: &str,
    requested: (u32, u32),
    method: ThumbnailMethod,
) -> Result<Thumbnail> {
    metadata(state, server_name, media_id).await?;
    let cache = thumbnail_path(&state.config.media_path, media_id, requested, method);
    if let Ok(bytes) = tokio::fs::read(&cache).await {
        if let Some(content_type) = thumbnail_content_type(&bytes) {
            return Ok(Thumbnail {
                bytes,
                content_type,
            });
        }
    }
    let original = tokio::fs::read(file_path(&state.config.media_path, media_id))
        .await
        .map_err(file_error)?;
    let _slot = THUMBNAIL_SLOTS
        .acquire()
        .await
        .map_err(|e| Error::Internal(format!("thumbnail slots: {e}")))?;
    let thumbnail =
        tokio::task::spawn_blocking(move || render_thumbnail(&original, requested, method))
            .await
            .map_err(|e| Error::Internal(format!("thumbnail task: {e}")))??;
    if let Err(err) = write_atomically(&cache, &thumbnail.bytes).await {
        tracing::warn!(%err, path = %cache.display(), "cannot cache thumbnail");
    }
    Ok(thumbnail)
}

/// Decodes an image (PNG, JPEG or WebP), applies its EXIF orientation and renders a thumbnail:
/// PNG for images with transparency and WebP sources, JPEG otherwise.
pub fn render_thumbnail(
    bytes: &[u8],
    requested: (u32, u32),
    method: ThumbnailMethod,
) -> Result<Thumbnail> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| not_thumbnailable())?;
    let format = reader
        .format()
        .filter(|f| matches!(f, ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP));
    let format = format.ok_or_else(not_thumbnailable)?;
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(image_error)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_THUMBNAIL_PIXELS {
        return Err(Error::TooLarge);
    }
    let orientation = decoder.orientation().map_err(image_error)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(image_error)?;
    image.apply_orientation(orientation);
    if image.width() == 0 || image.height() == 0 {
        return Err(not_thumbnailable());
    }
    let geometry = thumbnail_geometry((image.width(), image.height()), requested, method);
    let image = cut(image, geometry);
    encode(
        &image,
        format == ImageFormat::WebP || image.color().has_alpha(),
    )
}

/// Resizes and crops an image according to `geometry`.
fn cut(image: DynamicImage, geometry: Geometry) -> DynamicImage {
    let (rw, rh) = geometry.resized;
    let image = if (image.width(), image.height()) == (rw, rh) {
        image
    } else {
        image.resize_exact(rw, rh, FilterType::Triangle)
    };
    let (cw, ch) = geometry.cropped;
    if (cw, ch) == (rw, rh) {
        image
    } else {
        image.crop_imm((rw - cw) / 2, (rh - ch) / 2, cw, ch)
    }
}

/// Encodes a thumbnail as 8-bit PNG or as JPEG.
fn encode(image: &DynamicImage, as_png: bool) -> Result<Thumbnail> {
    let mut bytes = Vec::new();
    let written = if as_png && image.color().has_alpha() {
        image
            .to_rgba8()
            .write_with_encoder(PngEncoder::new(&mut bytes))
    } else if as_png {
        image
            .to_rgb8()
            .write_with_encoder(PngEncoder::new(&mut bytes))
    } else {
        image
            .to_rgb8()
            .write_with_encoder(JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY))
    };
    written.map_err(|e| Error::Internal(format!("encoding thumbnail: {e}")))?;
    let content_type = if as_png { "image/png" } else { "image/jpeg" };
    Ok(Thumbnail {
        bytes,
        content_type,
    })
}

/// The MIME type of a cached thumbnail, recognised by its first bytes.
fn thumbnail_content_type(bytes: &[u8]) -> Option<&'static str> {
    match image::guess_format(bytes).ok()? {
        ImageFormat::Png => Some("image/png"),
        ImageFormat::Jpeg => Some("image/jpeg"),
        _ => None,
    }
}

/// The stored metadata of a local upload, or 404.
async fn metadata(state: &AppState, server_name: &ServerName, media_id: &str) -> Result<MediaRow> {
    if server_name != state.server_name || !is_media_id(media_id) {
        return Err(not_found());
    }
    state.db.media(media_id).await?.ok_or_else(not_found)
}

/// Whether `id` has the shape of the media IDs this server hands out (which also makes it safe
/// to use in a file path).
fn is_media_id(id: &str) -> bool {
    id.len() == MEDIA_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Where an upload is stored.
fn file_path(root: &Path, media_id: &str) -> PathBuf {
    root.join("files").join(&media_id[..2]).join(media_id)
}

/// Where a thumbnail is cached.
fn thumbnail_path(
    root: &Path,
    media_id: &str,
    (width, height): (u32, u32),
    method: ThumbnailMethod,
) -> PathBuf {
    let name = format!("{media_id}-{width}x{height}-{}", method.as_str());
    root.join("thumbnails").join(&media_id[..2]).join(name)
}

/// Writes `bytes` to `path` through a synced temporary file in the same directory, so the final
/// name only ever holds complete content.
async fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::Internal(format!("no directory in {}", path.display())))?;
    let temp = dir.join(format!(
        ".{}.tmp",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 12)
    ));
    let written = async {
        tokio::fs::create_dir_all(dir).await?;
        let mut file = tokio::fs::File::create(&temp).await?;
        file.write_all(bytes).await?;
        file.sync_all().await?;
        tokio::fs::rename(&temp, path).await?;
        // Make the rename itself durable.
        tokio::fs::File::open(dir).await?.sync_all().await
    }
    .await;
    if let Err(err) = written {
        let _ = tokio::fs::remove_file(&temp).await;
        return Err(Error::Internal(format!(
            "writing {}: {err}",
            path.display()
        )));
    }
    Ok(())
}

/// A stored file that cannot be opened: gone from disk (404) or unreadable (500).
fn file_error(err: std::io::Error) -> Error {
    if err.kind() == std::io::ErrorKind::NotFound {
        not_found()
    } else {
        Error::Internal(format!("reading media file: {err}"))
    }
}

/// Maps a decoder failure: over the limits is 413, anything else cannot be thumbnailed.
fn image_error(err: ImageError) -> Error {
    match err {
        ImageError::Limits(_) => Error::TooLarge,
        _ => not_thumbnailable(),
    }
}

fn not_found() -> Error {
    Error::not_found("Diese Datei gibt es nicht.", "There is no such file.")
}

fn not_thumbnailable() -> Error {
    Error::BadRequest(crate::text!(
        "Für diese Datei kann keine Vorschau erzeugt werden.",
        "Cannot generate a thumbnail for this file."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_ids_carry_at_least_128_random_bits() {
        let bits = MEDIA_ID_LEN as f64 * 62f64.log2();
        assert!(bits >= 128.0, "{bits}");
        let id = Alphanumeric.sample_string(&mut rand::thread_rng(), MEDIA_ID_LEN);
        assert!(is_media_id(&id));
    }
    use image::{Rgb, RgbImage, RgbaImage};

    use ThumbnailMethod::{Crop, Scale};

    fn geometry(resized: (u32, u32), cropped: (u32, u32)) -> Geometry {
        Geometry { resized, cropped }
    }

    #[test]
    fn scale_fits_inside_the_box() {
        let g = thumbnail_geometry((800, 600), (320, 240), Scale);
        assert_eq!(g, geometry((320, 240), (320, 240)));
        let g = thumbnail_geometry((1000, 500), (96, 96), Scale);
        assert_eq!(g, geometry((96, 48), (96, 48)));
        let g = thumbnail_geometry((500, 1000), (96, 96), Scale);
        assert_eq!(g, geometry((48, 96), (48, 96)));
    }

    #[test]
    fn scale_never_enlarges() {
        let g = thumbnail_geometry((100, 50), (800, 600), Scale);
        assert_eq!(g, geometry((100, 50), (100, 50)));
    }

    #[test]
    fn crop_fills_the_box() {
        let g = thumbnail_geometry((1000, 500), (96, 96), Crop);
        assert_eq!(g, geometry((192, 96), (96, 96)));
        let g = thumbnail_geometry((500, 1000), (32, 32), Crop);
        assert_eq!(g, geometry((32, 64), (32, 32)));
        let g = thumbnail_geometry((1000, 1000), (300, 100), Crop);
        assert_eq!(g, geometry((300, 300), (300, 100)));
    }

    #[test]
    fn crop_never_enlarges_and_keeps_the_aspect_ratio() {
        let g = thumbnail_geometry((100, 50), (96, 96), Crop);
        assert_eq!(g, geometry((100, 50), (50, 50)));
        let g = thumbnail_geometry((60, 60), (96, 96), Crop);
        assert_eq!(g, geometry((60, 60), (60, 60)));
        let g = thumbnail_geometry((40, 100), (200, 100), Crop);
        assert_eq!(g, geometry((40, 100), (40, 20)));
    }

    #[test]
    fn tiny_sizes_stay_at_least_one_pixel() {
        let g = thumbnail_geometry((10_000, 1), (32, 32), Scale);
        assert_eq!(g, geometry((32, 1), (32, 1)));
        let g = thumbnail_geometry((1, 10_000), (32, 1), Crop);
        assert_eq!(g, geometry((1, 10_000), (1, 1)));
    }

    #[test]
    fn disposition_is_inline_only_for_safe_types() {
        let d = content_disposition("image/png", Some("Klassenfoto.png".into()));
        assert_eq!(d.to_string(), "inline; filename=Klassenfoto.png");
        let d = content_disposition("Text/Plain; charset=utf-8", None);
        assert_eq!(d.to_string(), "inline");
        let d = content_disposition("text/html", Some("seite.html".into()));
        assert_eq!(d.to_string(), "attachment; filename=seite.html");
        let d = content_disposition("application/pdf", Some("Übung 1.pdf".into()));
        assert_eq!(
            d.to_string(),
            "attachment; filename*=utf-8''%C3%9Cbung%201.pdf"
        );
    }

    #[test]
    fn media_ids_are_checked_before_use_in_paths() {
        assert!(is_media_id("abcdefghijklmnopqrstuvwx"));
        assert!(!is_media_id("../../../../../etc/passwd"));
        assert!(!is_media_id("abcdefghijklmnopqrstuvw/"));
        assert!(!is_media_id("short"));
    }

    fn encoded(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut bytes = Cursor::new(Vec::new());
        image.write_to(&mut bytes, format).unwrap();
        bytes.into_inner()
    }

    fn gradient(width: u32, height: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
            Rgb([x as u8, y as u8, 128])
        }))
    }

    fn rendered(
        bytes: &[u8],
        requested: (u32, u32),
        method: ThumbnailMethod,
    ) -> (&'static str, (u32, u32)) {
        let thumb = render_thumbnail(bytes, requested, method).unwrap();
        let image = image::load_from_memory(&thumb.bytes).unwrap();
        assert_eq!(
            thumbnail_content_type(&thumb.bytes),
            Some(thumb.content_type)
        );
        (thumb.content_type, (image.width(), image.height()))
    }

    #[test]
    fn renders_png_and_jpeg_sources() {
        for format in [ImageFormat::Png, ImageFormat::Jpeg] {
            let bytes = encoded(gradient(400, 200), format);
            assert_eq!(rendered(&bytes, (96, 96), Scale), ("image/jpeg", (96, 48)));
            assert_eq!(rendered(&bytes, (96, 96), Crop), ("image/jpeg", (96, 96)));
            assert_eq!(
                rendered(&bytes, (800, 600), Scale),
                ("image/jpeg", (400, 200))
            );
        }
    }

    #[test]
    fn transparent_images_stay_png() {
        let image =
            DynamicImage::ImageRgba8(RgbaImage::from_pixel(64, 64, image::Rgba([0, 0, 0, 0])));
        let bytes = encoded(image, ImageFormat::Png);
        assert_eq!(rendered(&bytes, (32, 32), Crop), ("image/png", (32, 32)));
    }

    #[test]
    fn webp_sources_become_png() {
        let bytes = encoded(gradient(100, 100), ImageFormat::WebP);
        assert_eq!(rendered(&bytes, (32, 32), Scale), ("image/png", (32, 32)));
    }

    #[test]
    fn non_images_cannot_be_thumbnailed() {
        let err = render_thumbnail(b"%PDF-1.7 not an image", (32, 32), Scale)
            .err()
            .unwrap();
        assert_eq!(err.errcode(), "M_UNKNOWN");
        assert!(matches!(err, Error::BadRequest(_)));
    }

    #[test]
    fn huge_images_are_refused_before_decoding() {
        let image = DynamicImage::ImageLuma8(image::GrayImage::new(8000, 6000));
        let bytes = encoded(image, ImageFormat::Png);
        assert!(matches!(
            render_thumbnail(&bytes, (32, 32), Scale),
            Err(Error::TooLarge)
        ));
    }
}
