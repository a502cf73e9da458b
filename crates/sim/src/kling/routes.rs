//! The HTTP surface: paths of spec/kling-api.md mapped to handlers.

use axum::response::IntoResponse;
use axum::Router;

use super::envelope::KlingError;
use super::state::KlingState;

/// The router over `state`.
pub(crate) fn router(state: KlingState) -> Router {
    Router::new()
        .fallback(|| async {
            KlingError::new(
                1202,
                "no such path; see spec/kling-api.md for the /v1 endpoints",
            )
            .into_response()
        })
        .with_state(state)
}
