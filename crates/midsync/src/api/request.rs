//! The `/quote` and `/generate` body → a [`GenerationRequest`] of the right kind, with
//! field-named errors (one function, so both routes read a body the same way).

use super::error::ApiError;
use super::json::parse_json;
use crate::AppState;
use genmux_core::{GenerationRequest, MediaInput, MediaKind};
use serde_json::Value;

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
