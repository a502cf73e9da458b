//! `POST /callbacks/{provider}/{token}`: a provider reports a task's status. The token (a
//! per-task secret in the URL we gave the upstream) finds the task; the provider's own
//! `read_callback` verifies its signature where it signs and says what the body asks:
//! a report is settled as is; an unsigned hint is settled only as a status query of the
//! task it names confirms it; a handshake (MiniMax's `{"challenge":…}`) is answered with
//! the provider's body and changes nothing. Settlement is idempotent, so duplicated,
//! concurrent or late callbacks change nothing twice (W3, W4).

use super::error::{ApiError, ApiResult};
use crate::engine::settle::settle;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use genmux_core::{ErrorKind, InboundCallback, TaskRef, TaskSnapshot, TaskStatus};
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
    responses((status = 200, description = "accepted; for a handshake, the provider's answer (MiniMax: the challenge echoed)", body = Object),
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
    let reading = p
        .read_callback(task.operation, &headers, &body)
        .map_err(|e| match e.kind() {
            ErrorKind::Unauthenticated | ErrorKind::PermissionDenied => ApiError::new(
                StatusCode::UNAUTHORIZED,
                format!("callback refused: {}", e.message()),
            ),
            ErrorKind::Internal => ApiError::from(e),
            _ => ApiError::bad_request(format!("callback body: {}", e.message())),
        })?;
    let snap = match reading {
        // Answered at once (MiniMax waits 3 s at most); no task state in it.
        InboundCallback::Handshake(answer) => return Ok(Json(answer)),
        InboundCallback::Report(snap) => {
            same_task(&task, &snap)?;
            snap
        }
        InboundCallback::Hint(hint) => {
            same_task(&task, &hint)?;
            confirmed(&state, &task, hint).await?
        }
    };
    let outcome = settle(&state, &task, snap).await?;
    Ok(Json(json!({
        "success": true,
        "taskId": task.id,
        "status": outcome.record().status,
    })))
}

/// A callback about another upstream task than the one this URL was given for is refused.
fn same_task(task: &TaskRecord, snap: &TaskSnapshot) -> Result<(), ApiError> {
    match &task.provider_task_id {
        Some(known) if !snap.provider_task_id.is_empty() && &snap.provider_task_id != known => {
            Err(ApiError::bad_request(format!(
                "callback is about upstream task `{}`, but this URL belongs to `{known}`",
                snap.provider_task_id
            )))
        }
        _ => Ok(()),
    }
}

/// What a status query of the task a hint names says. When the query fails, only the
/// upstream id is taken from the hint (a submission of unknown outcome learns its id this
/// way, and the poller confirms its status from then on); its status is never settled
/// unconfirmed.
async fn confirmed(
    state: &AppState,
    task: &TaskRecord,
    hint: TaskSnapshot,
) -> Result<TaskSnapshot, ApiError> {
    let upstream_id = task
        .provider_task_id
        .clone()
        .unwrap_or_else(|| hint.provider_task_id.clone());
    if upstream_id.trim().is_empty() {
        return Err(ApiError::bad_request(
            "callback body: names no upstream task, and this URL's task has none yet",
        ));
    }
    let tref = TaskRef {
        provider: task.provider.clone(),
        provider_task_id: upstream_id.clone(),
        model: task.model.clone(),
        provider_model: task.provider_model.clone().unwrap_or_default(),
        operation: task.operation,
    };
    match state.router().status(&tref).await {
        Ok(snap) => Ok(snap),
        Err(e) => {
            tracing::warn!(task = %task.id, provider = %task.provider, upstream = %upstream_id, error = %e,
                hinted = %hint.status, "could not confirm a callback hint by a status query; the poller will");
            Ok(TaskSnapshot {
                provider_task_id: upstream_id,
                status: TaskStatus::Submitted,
                assets: Vec::new(),
                error: None,
                usage: None,
                billed_usd_micros: None,
            })
        }
    }
}
