//! Results served by the gateway (issue 18): `GET`/`HEAD /v1/assets/{assetId}` with the
//! owner's key or a signed link, HTTP range requests (what `<video>` seeking sends), `ETag`
//! and the stored `Content-Type`; `GET /v1/assets/{assetId}/link` makes a signed link;
//! `GET /v1/assets/{assetId}/upstream` shows operators where the provider served it.

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use crate::assets::links::{self, LinkError};
use crate::assets::range::{parse_range, RangeAnswer};
use crate::wire::rfc3339;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use genmux_store::{AssetRecord, AssetState, Scope, StoredBlob};
use object_store::{GetOptions, GetRange};
use serde_json::json;
use std::collections::HashMap;

/// Longest life of a signed link (`ttl` of `/link`).
const MAX_LINK_TTL_SECS: i64 = 7 * 86_400;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/assets/{asset_id}", get(serve))
        .route("/v1/assets/{asset_id}/link", get(link))
        .route("/v1/assets/{asset_id}/upstream", get(upstream))
}

fn not_found(asset_id: &str) -> ApiError {
    ApiError::not_found(format!("asset `{asset_id}` not found for this account"))
}

/// The asset if `caller` may read it: its own account's, or any for an operator. Another
/// account's asset answers exactly like a missing one.
async fn owned(state: &AppState, caller: &Caller, asset_id: &str) -> ApiResult<AssetRecord> {
    caller.require_any(&[Scope::ApiRead, Scope::ApiGenerate, Scope::Operator])?;
    match state.store().assets.asset(asset_id).await? {
        Some(a) if a.account_id == caller.account_id() || caller.key.allows(Scope::Operator) => {
            Ok(a)
        }
        _ => Err(not_found(asset_id)),
    }
}

/// The blob of a readable asset, or why there is none (`404` still copying, `410` expired).
fn stored(a: &AssetRecord) -> ApiResult<&StoredBlob> {
    match (a.state, &a.blob) {
        (AssetState::Stored, Some(b)) => Ok(b),
        (AssetState::Expired, b) => Err(ApiError::new(
            StatusCode::GONE,
            format!(
                "asset `{}` expired{}: results are kept for a limited time and its file was \
                 deleted; generate again",
                a.id,
                b.as_ref()
                    .map(|b| format!(" at {}", rfc3339(b.expires_at)))
                    .unwrap_or_default()
            ),
        )),
        _ => Err(ApiError::not_found(format!(
            "asset `{}` is not stored yet: its task's results are still being copied",
            a.id
        ))),
    }
}

/// The file name extension of a stored media type (`.bin` for an unknown one).
pub fn extension(content_type: &str) -> &'static str {
    match content_type {
        "video/mp4" => ".mp4",
        "video/webm" => ".webm",
        "video/quicktime" => ".mov",
        "image/png" => ".png",
        "image/jpeg" => ".jpg",
        "image/webp" => ".webp",
        "image/gif" => ".gif",
        _ => ".bin",
    }
}

fn query_i64(q: &HashMap<String, String>, name: &str) -> ApiResult<Option<i64>> {
    q.get(name)
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                ApiError::bad_request(format!(
                    "query parameter `{name}` = `{v}` is not a whole number of seconds"
                ))
            })
        })
        .transpose()
}

/// `GET`/`HEAD /v1/assets/{assetId}`: the stored file, whole or a byte range.
#[utoipa::path(get, path = "/v1/assets/{assetId}", tag = "assets",
    params(("assetId" = String, Path), ("expires" = Option<i64>, Query, description = "signed links: Unix seconds"),
        ("sig" = Option<String>, Query, description = "signed links: the signature")),
    responses((status = 200, description = "the file"), (status = 206, description = "a byte range"),
        (status = 304), (status = 404, body = crate::wire::ErrorBody), (status = 410, body = crate::wire::ErrorBody),
        (status = 416, body = crate::wire::ErrorBody)),
    security(("bearer" = []), ()))]
pub async fn serve(
    State(state): State<AppState>,
    method: Method,
    Path(asset_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    caller: Result<Caller, ApiError>,
) -> ApiResult<Response> {
    let signed = q.contains_key("sig") || q.contains_key("expires");
    let asset = if signed {
        let expires = query_i64(&q, "expires")?
            .ok_or_else(|| ApiError::bad_request("a signed link needs both `expires` and `sig`"))?;
        let sig = q
            .get("sig")
            .ok_or_else(|| ApiError::bad_request("a signed link needs both `expires` and `sig`"))?;
        let now = state.clock().now().unix_timestamp();
        links::verify(&state.asset_link_key(), &asset_id, expires, sig, now).map_err(|e| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                match e {
                    LinkError::Expired(_) => e.to_string(),
                    LinkError::BadSignature => format!("{e}; ask the gateway for a new link"),
                },
            )
        })?;
        state
            .store()
            .assets
            .asset(&asset_id)
            .await?
            .ok_or_else(|| not_found(&asset_id))?
    } else {
        owned(&state, &caller?, &asset_id).await?
    };
    let blob = stored(&asset)?;
    let Some(blobs) = state.blobs() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this gateway has no blob store configured ([assets] store)",
        ));
    };
    let size = u64::try_from(blob.size_bytes).unwrap_or(0);
    let etag = format!("\"{}\"", blob.sha256);
    let mut head = HeaderMap::new();
    let hv = |s: &str| HeaderValue::from_str(s).unwrap_or(HeaderValue::from_static(""));
    head.insert(header::ETAG, hv(&etag));
    head.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    head.insert(header::CONTENT_TYPE, hv(&blob.content_type));
    // Saved under a name with the right extension ("Open video", `curl -OJ`).
    head.insert(
        header::CONTENT_DISPOSITION,
        hv(&format!(
            "inline; filename=\"{}{}\"",
            asset.id,
            extension(&blob.content_type)
        )),
    );
    // The bytes under an ETag never change; a signed link is private to whoever holds it.
    head.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    let header_str = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(inm) = header_str(header::IF_NONE_MATCH) {
        if inm.split(',').any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag
        }) {
            return Ok((StatusCode::NOT_MODIFIED, head).into_response());
        }
    }
    // If-Range: a range only of the very bytes the client has (RFC 9110 §13.1.5).
    let range = match header_str(header::IF_RANGE) {
        Some(tag) if tag.trim() != etag => None,
        _ => header_str(header::RANGE),
    };
    let (status, get_range, length) = match parse_range(range, size) {
        RangeAnswer::Full => (StatusCode::OK, None, size),
        RangeAnswer::Partial { start, end } => {
            head.insert(
                header::CONTENT_RANGE,
                hv(&format!("bytes {start}-{end}/{size}")),
            );
            (
                StatusCode::PARTIAL_CONTENT,
                Some(GetRange::Bounded(start..end + 1)),
                end - start + 1,
            )
        }
        RangeAnswer::Unsatisfiable => {
            let mut resp = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                format!(
                    "Range `{}` starts past the end of the file ({size} bytes)",
                    range.unwrap_or_default()
                ),
            )
            .into_response();
            resp.headers_mut()
                .insert(header::CONTENT_RANGE, hv(&format!("bytes */{size}")));
            return Ok(resp);
        }
    };
    head.insert(header::CONTENT_LENGTH, hv(&length.to_string()));
    if method == Method::HEAD || length == 0 {
        return Ok((status, head, Body::empty()).into_response());
    }
    let key = object_store::path::Path::parse(&blob.blob_key).map_err(|e| {
        genmux_core::Error::internal(format!("stored blob key `{}`: {e}", blob.blob_key))
    })?;
    let got = blobs
        .store()
        .get_opts(
            &key,
            GetOptions {
                range: get_range,
                ..GetOptions::default()
            },
        )
        .await
        .map_err(|e| {
            tracing::error!(asset = %asset.id, key = %blob.blob_key, store = %blobs.location(),
                error = %e, "a stored asset cannot be read from the blob store");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("asset `{}` cannot be read right now; retry", asset.id),
            )
        })?;
    Ok((status, head, Body::from_stream(got.into_stream())).into_response())
}

/// `GET /v1/assets/{assetId}/link?ttl=<seconds>`: a signed link to the asset that loads
/// without a key (for `<video src>`), valid for `ttl` (default `assets.link_ttl`, at most
/// 7 days).
#[utoipa::path(get, path = "/v1/assets/{assetId}/link", tag = "assets",
    params(("assetId" = String, Path), ("ttl" = Option<i64>, Query)),
    responses((status = 200, description = "{url, expiresAt}"), (status = 404, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn link(
    State(state): State<AppState>,
    caller: Caller,
    Path(asset_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<serde_json::Value>> {
    let asset = owned(&state, &caller, &asset_id).await?;
    stored(&asset)?;
    let default_ttl = i64::try_from(state.config().assets.link_ttl.as_secs()).unwrap_or(3600);
    let ttl = query_i64(&q, "ttl")?.unwrap_or(default_ttl);
    if !(1..=MAX_LINK_TTL_SECS).contains(&ttl) {
        return Err(ApiError::bad_request(format!(
            "`ttl` = {ttl} is out of range: 1 to {MAX_LINK_TTL_SECS} seconds"
        )));
    }
    let expires = state.clock().now().unix_timestamp() + ttl;
    let url = links::signed_url(
        &state.config().public_base_url,
        &state.asset_link_key(),
        &asset.id,
        expires,
    );
    let at = time::OffsetDateTime::from_unix_timestamp(expires)
        .map(rfc3339)
        .unwrap_or_default();
    Ok(Json(json!({"success": true, "url": url, "expiresAt": at})))
}

/// `GET /v1/assets/{assetId}/upstream` (operator scope): where the provider served the
/// asset and what was stored. Upstream URLs are for operators only.
#[utoipa::path(get, path = "/v1/assets/{assetId}/upstream", tag = "assets",
    params(("assetId" = String, Path)),
    responses((status = 200, description = "the asset's record"), (status = 403, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn upstream(
    State(state): State<AppState>,
    caller: Caller,
    Path(asset_id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    caller.require_any(&[Scope::Operator])?;
    let a = state
        .store()
        .assets
        .asset(&asset_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("asset `{asset_id}` not found")))?;
    let b = a.blob.as_ref();
    Ok(Json(json!({
        "success": true,
        "assetId": a.id,
        "taskId": a.task_id,
        "accountId": a.account_id,
        "state": a.state.as_str(),
        "upstreamUrl": a.upstream_url,
        "contentType": b.map(|b| b.content_type.clone()),
        "sizeBytes": b.map(|b| b.size_bytes),
        "sha256": b.map(|b| b.sha256.clone()),
        "storedAt": b.map(|b| rfc3339(b.stored_at)),
        "expiresAt": b.map(|b| rfc3339(b.expires_at)),
    })))
}
