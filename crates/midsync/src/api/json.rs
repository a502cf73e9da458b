//! `ApiJson<T>`: the JSON body extractor. Its rejections are API errors that name what is
//! wrong and where (`design/RELIABILITY.md` V2: "unknown field or wrong type → 400 naming the
//! JSON path"; V1: an over-long body → 413).

use super::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

/// A JSON request body of type `T`.
#[derive(Clone, Debug)]
pub struct ApiJson<T>(pub T);

/// The error a body read fails with when it exceeds the limit.
pub(crate) fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body is larger than the limit of {limit} bytes"),
    )
}

/// Reads the whole body; an over-long one is 413.
pub(crate) async fn read_body<S: Send + Sync>(
    req: Request,
    state: &S,
    limit: usize,
) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(limit)
        } else {
            ApiError::bad_request(format!("request body could not be read: {}", e.body_text()))
        }
    })
}

/// Parses `bytes` as `T`, naming the JSON path of the first problem.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "request body is empty; send a JSON object",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::bad_request(format!("request body is not valid JSON: {inner}"))
        } else if path == "." {
            ApiError::bad_request(format!("request body: {inner}"))
        } else {
            ApiError::bad_request(format!("{path}: {inner}"))
        }
    })?;
    de.end()
        .map_err(|e| ApiError::bad_request(format!("request body has trailing data: {e}")))?;
    Ok(value)
}

fn check_content_type(req: &Request) -> Result<(), ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json") {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Type must be application/json (got `{}`)",
                if ct.is_empty() { "none" } else { ct }
            ),
        ))
    }
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync + HasBodyLimit,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        check_content_type(&req)?;
        let bytes = read_body(req, state, state.body_limit()).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A raw JSON body (bytes), after the Content-Type and size checks.
#[derive(Clone, Debug)]
pub struct RawJson(pub Bytes);

impl<S> FromRequest<S> for RawJson
where
    S: Send + Sync + HasBodyLimit,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        check_content_type(&req)?;
        read_body(req, state, state.body_limit()).await.map(RawJson)
    }
}

/// State that knows the body limit (for the 413 message).
pub trait HasBodyLimit {
    /// The limit in bytes.
    fn body_limit(&self) -> usize;
}

impl HasBodyLimit for crate::AppState {
    fn body_limit(&self) -> usize {
        self.config().body_limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
    }
    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Inner {
        list: Vec<Item>,
    }
    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        n: u32,
    }

    #[test]
    fn errors_name_the_path() {
        let e = parse_json::<Outer>(br#"{"inner":{"list":[{"n":1},{"n":"x"}]}}"#).unwrap_err();
        assert!(
            e.message.starts_with("inner.list[1].n: invalid type"),
            "{}",
            e.message
        );
        let e = parse_json::<Outer>(br#"{"inner":{"list":[],"extra":1}}"#).unwrap_err();
        assert!(
            e.message.starts_with("inner.extra: unknown field `extra`"),
            "{}",
            e.message
        );
        let e = parse_json::<Outer>(br#"{"inner":"#).unwrap_err();
        assert!(
            e.message.starts_with("request body is not valid JSON"),
            "{}",
            e.message
        );
        let e = parse_json::<Outer>(b"  ").unwrap_err();
        assert_eq!(e.message, "request body is empty; send a JSON object");
        assert_eq!(e.status, 400);
    }
}
