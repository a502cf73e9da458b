//! genmux-web: the gateway's web page, as static files embedded in the binary.
//!
//! The page (plain ES modules and CSS under `crates/web/assets/`, no build step) signs in
//! with an API key, renders the generation form from `GET /unified-video/models`
//! (`spec/unified-api.md`: the models document is "the source of truth a front end renders
//! its form from"), quotes, generates, follows tasks, and shows usage. It only talks to
//! the unified API on the same origin, so the server that merges [`router`] serves both.
//!
//! ```
//! let app: axum::Router = genmux_web::router();
//! // The API server merges it: `api_routes.merge(genmux_web::router())`.
//! # let _ = app;
//! ```
//!
//! With the `testing` feature, the `testing` module starts ChromeDriver and headless Chromium for
//! browser tests of the page.
#![warn(missing_docs)]

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::RustEmbed;

#[cfg(feature = "testing")]
pub mod testing;

#[derive(RustEmbed)]
#[folder = "assets/"]
struct Assets;

/// The embedded file served at `/`.
pub const INDEX: &str = "index.html";

/// Every embedded file's path (relative to `/assets/`), e.g. `app.js`, `style.css`.
pub fn asset_names() -> impl Iterator<Item = String> {
    Assets::iter().map(|p| p.into_owned())
}

/// The `Content-Type` of an embedded file, by extension. JavaScript is `text/javascript`
/// (RFC 9239), which module scripts require to be a JavaScript MIME type.
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

// The asset URLs carry no content hash (module imports are plain `./api.js`), so a long
// max-age would keep a stale page after an upgrade. `no-cache` lets the browser keep a copy
// and revalidate it with the ETag: a 304 costs one round trip and never serves old code.
const CACHE_CONTROL: &str = "no-cache";

// The page only calls the API on its own origin; generated media come from provider CDNs,
// hence http(s) sources for img/media. No inline script or style is used anywhere.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' https: http: data: blob:; \
     media-src 'self' https: http: data: blob:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The router serving the page: `GET /` (index.html) and `GET /assets/{path}` (JS, CSS,
/// icons), each with its `Content-Type`, `Cache-Control: no-cache` and an `ETag`
/// (`If-None-Match` answers 304). Unknown assets answer 404. Generic over the state so
/// the API server can merge it into its own `Router<AppState>`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|headers: HeaderMap| async move { serve(INDEX, &headers) }))
        .route(
            "/assets/{*path}",
            get(|Path(path): Path<String>, headers: HeaderMap| async move {
                serve(&path, &headers)
            }),
        )
}

fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(file) = Assets::get(path) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!(
                "no asset `{path}` (assets: {})",
                asset_names().collect::<Vec<_>>().join(", ")
            ),
        )
            .into_response();
    };
    let hash = file.metadata.sha256_hash();
    let etag = format!(
        "\"{}\"",
        hash[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let matches = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        });
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    if path == INDEX {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    if matches {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    (headers, file.data.into_owned()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_file_has_a_known_content_type() {
        let names: Vec<String> = asset_names().collect();
        assert!(
            names.iter().any(|n| n == INDEX),
            "index.html is embedded: {names:?}"
        );
        for name in names {
            assert_ne!(
                content_type(&name),
                "application/octet-stream",
                "{name} would be served without a real content type"
            );
        }
    }

    #[test]
    fn javascript_is_served_as_javascript() {
        assert_eq!(content_type("app.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("STYLE.CSS"), "text/css; charset=utf-8");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }
}
