//! The `/quote` and `/generate` body → a priced [`GenerationRequest`] of the right kind,
//! with field-named errors. One function, [`validate_generation`], so both routes read a
//! body the same way and quote refuses exactly what generate refuses (issue 13 point 9).

use super::error::ApiError;
use super::json::parse_json;
use crate::AppState;
use genmux_core::{GenerationRequest, MediaInput, MediaKind, Quote};
use serde_json::Value;

/// Why [`validate_generation`] refused a body.
#[derive(Debug)]
pub(crate) struct Refusal {
    /// The answer.
    pub error: ApiError,
    /// The model, when the body parsed but the catalog refuses to price its combination
    /// (`/quote` answers those with `success: false` and the model, `spec/unified-api.md`).
    pub model: Option<String>,
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        Refusal { error, model: None }
    }
}

/// Everything `/quote` and `/generate` check before anything is written: the body against
/// the catalog (fields, values, rules, kind of model), its price, and every URL in it —
/// `callbackUrl` and each media URL are parsed, resolved and refused if any address is
/// blocked (`design/RELIABILITY.md` "SSRF"). Media URLs are fetched by the upstream, not by
/// us, but a private or metadata address there would make the upstream fetch (or reveal)
/// what it must not.
pub(crate) async fn validate_generation(
    state: &AppState,
    kind: MediaKind,
    body: &[u8],
) -> Result<Quote, Refusal> {
    let req = parse_generation(state, kind, body)?;
    let quote = state.router().catalog().quote(&req).map_err(|e| Refusal {
        error: ApiError::from(e),
        model: Some(req.model.clone()),
    })?;
    check_served(state, &quote).map_err(|error| Refusal {
        error,
        model: Some(quote.model.clone()),
    })?;
    check_urls(state, &quote.request).await?;
    Ok(quote)
}

/// Every URL of a request with its JSON path: `callbackUrl`, then the media URLs.
pub(crate) fn request_urls(req: &GenerationRequest) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(url) = &req.callback_url {
        out.push(("callbackUrl".to_string(), url.clone()));
    }
    out.extend(media_urls(req));
    out
}

/// Resolves and checks every URL of `req` at once, within the configured
/// `url_check_timeout`; the first refused URL (in [`request_urls`] order) answers 400
/// naming its JSON path, the host and why.
async fn check_urls(state: &AppState, req: &GenerationRequest) -> Result<(), ApiError> {
    let urls = request_urls(req);
    if urls.is_empty() {
        return Ok(());
    }
    let raws: Vec<&str> = urls.iter().map(|(_, u)| u.as_str()).collect();
    let results = state
        .guard()
        .check_all(&raws, state.config().url_check_timeout)
        .await;
    for ((path, _), result) in urls.iter().zip(results) {
        if let Err(e) = result {
            return Err(ApiError::bad_request(format!("{path}: {e}")));
        }
    }
    Ok(())
}

/// The path prefix of a kind of model.
pub(crate) fn prefix(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Video => "/unified-video",
        MediaKind::Image => "/unified-image",
    }
}

/// Parses a raw body against the catalog; the model must be of `kind`.
pub(crate) fn parse_generation(
    state: &AppState,
    kind: MediaKind,
    bytes: &[u8],
) -> Result<GenerationRequest, ApiError> {
    let value: Value = parse_json(bytes)?;
    let catalog = state.router().catalog();
    let req = catalog.parse_request(&value).map_err(|e| {
        // The catalog names known fields itself; a serde error it could only pass through
        // gets the JSON path from serde_path_to_error instead.
        if e.message().starts_with("request: ") {
            match serde_path_to_error::deserialize::<_, GenerationRequest>(&value) {
                Err(pe) => ApiError::bad_request(format!("{}: {}", pe.path(), pe.inner())),
                Ok(_) => ApiError::bad_request(e.message()),
            }
        } else {
            ApiError::from(e)
        }
    })?;
    if let Some(spec) = catalog.model(&req.model) {
        if spec.kind != kind {
            return Err(ApiError::bad_request(format!(
                "model: `{}` is {} model; send it to {}/…",
                req.model,
                match spec.kind {
                    MediaKind::Video => "a video",
                    MediaKind::Image => "an image",
                },
                prefix(spec.kind)
            )));
        }
    }
    Ok(req)
}

/// Refuses, before any hold, a request that no configured provider could serve — a model
/// none of them offers, or an option (`cameraControl`, `generateAudio`, …) none of the
/// model's providers takes — with a 422 naming the model or field (issue 13).
pub(crate) fn check_served(state: &AppState, quote: &genmux_core::Quote) -> Result<(), ApiError> {
    state.router().check_served(quote).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            e.message().to_string(),
        )
    })
}

/// Every media URL of a request with its field path, for the SSRF guard.
pub(crate) fn media_urls(req: &GenerationRequest) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut add = |path: String, m: &'_ MediaInput| {
        if let Some(u) = m.url() {
            out.push((path, u.to_string()));
        }
    };
    for (i, m) in req.images.iter().enumerate() {
        add(format!("images[{i}]"), m);
    }
    if let Some(m) = &req.end_image {
        add("endImage".into(), m);
    }
    for (i, m) in req.reference_video_urls.iter().enumerate() {
        add(format!("referenceVideoUrls[{i}]"), m);
    }
    if let Some(m) = &req.static_mask {
        add("staticMask".into(), m);
    }
    for (i, d) in req.dynamic_masks.iter().enumerate() {
        add(format!("dynamicMasks[{i}].mask"), &d.mask);
    }
    for (g, group) in req.kling_elements.iter().enumerate() {
        for (i, m) in group.images.iter().enumerate() {
            add(format!("klingElements[{g}].images[{i}]"), m);
        }
    }
    if let Some(m) = &req.motion_video {
        add("motionVideo".into(), m);
    }
    if let Some(m) = &req.video_url {
        add("videoUrl".into(), m);
    }
    if let Some(m) = &req.sound_file {
        add("soundFile".into(), m);
    }
    out
}
