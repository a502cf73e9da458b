//! `GET /unified-video/{taskId}/status` (and `/unified-image/...`): the stored task. The
//! callback is the primary completion path; this is the fallback (`spec/unified-api.md`).

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use crate::wire::StatusResponse;
use crate::AppState;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use genmux_store::Scope;

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/unified-video/{task_id}/status", get(video_status))
        .route("/unified-image/{task_id}/status", get(image_status))
}

async fn status(
    state: AppState,
    caller: Caller,
    task_id: String,
) -> ApiResult<Json<StatusResponse>> {
    caller.require_any(&[Scope::ApiRead, Scope::ApiGenerate])?;
    let store = state.store();
    let account = caller.account_id();
    // Another account's task answers exactly like a missing one. The caller's own
    // externalTaskId is accepted in place of the taskId, within its account (issue 13).
    let task = match store.tasks.get(&task_id).await? {
        Some(t) if t.account_id == account => Some(t),
        _ => {
            store
                .tasks
                .find_by_caller_external_id(account, &task_id)
                .await?
        }
    };
    match task {
        Some(t) => Ok(Json(StatusResponse::from_record(&t))),
        None => Err(ApiError::not_found(format!(
            "task `{task_id}` not found for this account (neither a taskId nor an externalTaskId of it)"
        ))),
    }
}

/// A video task's status.
#[utoipa::path(get, path = "/unified-video/{taskId}/status", tag = "tasks",
    params(("taskId" = String, Path, description = "the taskId returned by /generate, or the caller's own externalTaskId")),
    responses((status = 200, body = StatusResponse), (status = 404, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn video_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(task_id): Path<String>,
) -> ApiResult<Json<StatusResponse>> {
    status(state, caller, task_id).await
}

/// An image task's status.
#[utoipa::path(get, path = "/unified-image/{taskId}/status", tag = "tasks",
    params(("taskId" = String, Path)),
    responses((status = 200, body = StatusResponse), (status = 404, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn image_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(task_id): Path<String>,
) -> ApiResult<Json<StatusResponse>> {
    status(state, caller, task_id).await
}
