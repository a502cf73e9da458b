//! `POST /callbacks/{provider}/{token}`: a provider reports a task's status. The token (a
//! per-task secret in the URL we gave the upstream) finds the task; the provider's own
//! `parse_callback` verifies its signature where it signs; settlement is idempotent, so
//! duplicated, concurrent or late callbacks change nothing twice (W3, W4).

use super::error::{ApiError, ApiResult};
use crate::engine::settle::settle;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use genmux_core::{ErrorKind, TaskRef, TaskSnapshot};
use genmux_store::TaskRecord;
use serde_json::{json, Value};

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/callbacks/{provider}/{token}", post(inbound))
}

/// An upstream provider's status callback.
#[utoipa::path(post, path = "/callbacks/{provider}/{token}", tag = "callbacks",
    params(("provider" = String, Path), ("token" = String, Path)),
    request_body(content = Object, description = "the provider's own callback body"),
    responses((status = 200, description = "accepted", body = Object),
        (status = 401, description = "bad signature", body = crate::wire::ErrorBody),
        (status = 404, description = "unknown callback URL", body = crate::wire::ErrorBody)))]
pub async fn inbound(
    State(state): State<AppState>,
    Path((provider, token)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let unknown = || ApiError::not_found("no task has this callback URL");
    let task = state
        .store()
        .tasks
        .find_by_callback_token(&token)
        .await?
        .filter(|t| t.provider == provider)
        .ok_or_else(unknown)?;
    let p = state.router().provider(&provider).ok_or_else(unknown)?;
    let snap = p
        .parse_callback(task.operation, &headers, &body)
        .map_err(|e| match e.kind() {
            ErrorKind::Unauthenticated | ErrorKind::PermissionDenied => ApiError::new(
                StatusCode::UNAUTHORIZED,
                format!("callback refused: {}", e.message()),
            ),
            ErrorKind::Internal => ApiError::from(e),
            _ => ApiError::bad_request(format!("callback body: {}", e.message())),
        })?;
    if let Some(known) = &task.provider_task_id {
        if !snap.provider_task_id.is_empty() && &snap.provider_task_id != known {
            return Err(ApiError::bad_request(format!(
                "callback is about upstream task `{}`, but this URL belongs to `{known}`",
                snap.provider_task_id
            )));
        }
    }
    let snap = if p.callbacks_need_confirmation(task.operation) {
        confirmed(&state, &task, &snap).await?
    } else {
        snap
    };
    let outcome = settle(&state, &task, snap).await?;
    Ok(Json(json!({
        "success": true,
        "taskId": task.id,
        "status": outcome.record().status,
    })))
}

/// An unsigned callback is a hint (`VideoProvider::callbacks_need_confirmation`): the task
/// is settled from the provider's answer to a status query of the task — the one this URL
/// belongs to, or, for a submission of unknown outcome, the one the callback names — never
/// from the body. A failed query answers an error, so the provider calls back again (Ark
/// retries a callback not answered 2xx).
async fn confirmed(
    state: &AppState,
    task: &TaskRecord,
    hint: &TaskSnapshot,
) -> ApiResult<TaskSnapshot> {
    let upstream_id = task
        .provider_task_id
        .clone()
        .unwrap_or_else(|| hint.provider_task_id.clone());
    if upstream_id.trim().is_empty() {
        return Err(ApiError::bad_request(
            "callback body: it names no upstream task".to_string(),
        ));
    }
    let tref = TaskRef {
        provider: task.provider.clone(),
        provider_task_id: upstream_id,
        model: task.model.clone(),
        provider_model: task.provider_model.clone().unwrap_or_default(),
        operation: task.operation,
    };
    state.router().status(&tref).await.map_err(|e| {
        tracing::warn!(task = %task.id, provider = %task.provider, error = %e,
            "confirming a callback by a status query failed; the provider will call again");
        ApiError::from(e)
    })
}
