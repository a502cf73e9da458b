//! The tasks of the caller's account (issue 13 point 5):
//! - `GET /unified-video/tasks` and `GET /unified-image/tasks` (scope `api.read`): newest
//!   first, paged with `page` / `limit` like `/v1/usage/logs`, filtered by `status`,
//!   `model` and `date_range` (the usage logs' syntax, on the creation time);
//! - `POST /unified-video/{taskId}/cancel` and `POST /unified-image/{taskId}/cancel` (scope
//!   `api.generate`): cancels an unfinished task through the provider that created it,
//!   when that provider's offering declares `cancel`; the task becomes `cancelled` and its
//!   hold is voided by the engine's settlement (`engine::settle::cancelled`), which also
//!   queues the caller's callback.
//!
//! Another account's task answers exactly like a missing one (404), as in the status route.

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::usage::{date_range, number, params};
use crate::engine::settle;
use crate::wire::{StatusResponse, TaskItem, TaskListResponse};
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use genmux_core::{Error, ErrorKind, MediaKind, TaskRef, TaskStatus};
use genmux_store::{Page, Scope, TaskQuery, TaskRecord};

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/unified-video/tasks", get(video_tasks))
        .route("/unified-image/tasks", get(image_tasks))
        .route("/unified-video/{task_id}/cancel", post(video_cancel))
        .route("/unified-image/{task_id}/cancel", post(image_cancel))
}

/// The listing's default page size (as `/v1/usage/logs`; at most `Page::MAX_LIMIT`).
const DEFAULT_LIMIT: u32 = 20;

/// The query parameters the listing knows.
const LIST_PARAMS: [&str; 5] = ["page", "limit", "status", "model", "date_range"];

/// `status=a,b`: one or more statuses, each spelled as on the wire.
fn statuses(value: &str) -> ApiResult<Vec<TaskStatus>> {
    let allowed = || {
        TaskStatus::ALL
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = Vec::new();
    for part in value.split(',').map(str::trim) {
        match TaskStatus::parse(part) {
            Some(s) if !out.contains(&s) => out.push(s),
            Some(_) => {}
            None => {
                return Err(ApiError::bad_request(format!(
                    "status: `{part}` is not allowed (allowed: one or more of {}, comma-separated)",
                    allowed()
                )))
            }
        }
    }
    Ok(out)
}

/// `model=…`: a catalog model of this family.
fn model_filter(state: &AppState, kind: MediaKind, value: &str) -> ApiResult<String> {
    let catalog = state.router().catalog();
    match catalog.model(value) {
        Some(m) if m.kind == kind => Ok(value.to_string()),
        _ => {
            let ids: Vec<&str> = catalog
                .models()
                .filter(|m| m.kind == kind)
                .map(|m| m.id.as_str())
                .collect();
            Err(ApiError::bad_request(format!(
                "model: `{value}` is not {} model (allowed: {})",
                match kind {
                    MediaKind::Video => "a video",
                    MediaKind::Image => "an image",
                },
                ids.join(", ")
            )))
        }
    }
}

/// Where a stored task lives upstream, once its provider confirmed it.
fn task_ref(task: &TaskRecord) -> Option<TaskRef> {
    Some(TaskRef {
        provider: task.provider.clone(),
        provider_task_id: task.provider_task_id.clone()?,
        model: task.model.clone(),
        provider_model: task.provider_model.clone().unwrap_or_default(),
        operation: task.operation,
    })
}

/// Why `task` cannot be cancelled now, as a 409 naming the reason; `Ok` with where it
/// lives upstream when it can.
fn check_cancellable(state: &AppState, task: &TaskRecord) -> Result<TaskRef, Error> {
    let refuse = |why: String| {
        Err(Error::new(
            ErrorKind::Conflict,
            format!("task `{}` is not cancellable: {why}", task.id),
        ))
    };
    if task.status.is_final() {
        return refuse(format!(
            "it is already {} (only an unfinished task can be cancelled)",
            task.status
        ));
    }
    let Some(tref) = task_ref(task) else {
        return refuse(format!(
            "its submission to provider {} is not confirmed yet (status {}); retry once it is submitted",
            task.provider, task.status
        ));
    };
    match state.router().cancellable(&tref) {
        Ok(()) => Ok(tref),
        Err(e) if e.kind() == ErrorKind::NotFound => refuse(format!(
            "provider {} is not configured in this gateway",
            task.provider
        )),
        Err(e) => refuse(e.message().to_string()),
    }
}

async fn list(
    state: AppState,
    caller: Caller,
    kind: MediaKind,
    raw: Option<String>,
) -> ApiResult<Json<TaskListResponse>> {
    caller.require_any(&[Scope::ApiRead])?;
    let p = params(raw.as_deref(), &LIST_PARAMS)?;
    // The documented range is OpenAPI's int32, as for /v1/usage/logs.
    let page = number(&p, "page", 1, i32::MAX.unsigned_abs())?;
    let limit = number(&p, "limit", DEFAULT_LIMIT, Page::MAX_LIMIT)?;
    // An empty value is refused like any other value that is not allowed (the documented
    // patterns exclude it): a filter that filters nothing is a mistake worth naming.
    let statuses = match p.get("status") {
        Some(v) => statuses(v)?,
        None => Vec::new(),
    };
    let model = match p.get("model") {
        Some(m) => Some(model_filter(&state, kind, m)?),
        None => None,
    };
    // No date_range: every task, whenever created.
    let (from, to) = match p.get("date_range") {
        Some(v) => {
            let (f, t) = date_range(Some(v), state.clock().now())?;
            (Some(f), Some(t))
        }
        None => (None, None),
    };
    let found = state
        .store()
        .tasks
        .list(&TaskQuery {
            account_id: caller.account_id().to_string(),
            kind: Some(kind),
            statuses,
            model,
            from,
            to,
            page: Page { page, limit },
        })
        .await?;
    Ok(Json(TaskListResponse {
        success: true,
        tasks: found
            .tasks
            .iter()
            .map(|t| TaskItem::from_record(t, check_cancellable(&state, t).is_ok()))
            .collect(),
        page,
        limit,
        total: found.total,
    }))
}

async fn cancel(
    state: AppState,
    caller: Caller,
    task_id: String,
) -> ApiResult<Json<StatusResponse>> {
    caller.require_any(&[Scope::ApiGenerate])?;
    let task = match state.store().tasks.get(&task_id).await? {
        Some(t) if t.account_id == caller.account_id() => t,
        _ => {
            return Err(ApiError::not_found(format!(
                "task `{task_id}` not found for this account"
            )))
        }
    };
    let tref = check_cancellable(&state, &task)?;
    match state.router().cancel(&tref).await {
        Ok(()) => {}
        // The offering changed between the check and the call (a catalog reload).
        Err(e) if e.kind() == ErrorKind::Unsupported => {
            return Err(ApiError::from(Error::new(
                ErrorKind::Conflict,
                format!("task `{task_id}` is not cancellable: {}", e.message()),
            )))
        }
        // The provider says it can no longer be cancelled (it finished meanwhile): the
        // poll or the provider's callback brings its final status.
        Err(e) if e.kind() == ErrorKind::Conflict => {
            tracing::info!(task = %task_id, provider = %task.provider, error = %e, "the provider refused to cancel a task");
            return Err(ApiError::from(Error::new(
                ErrorKind::Conflict,
                format!(
                    "task `{task_id}` is not cancellable: provider {} reports it can no longer be cancelled (it has finished or is finishing); its final status follows shortly",
                    task.provider
                ),
            )));
        }
        // Unreachable, slow or refusing provider: nothing changed here, the caller may
        // retry.
        Err(e) => return Err(ApiError::from(e)),
    }
    tracing::info!(task = %task_id, provider = %task.provider, "task cancelled upstream");
    let outcome = settle::cancelled(&state, &task).await?;
    let record = outcome.record();
    if record.status != TaskStatus::Cancelled {
        // A poll or a provider callback settled it first (say, it succeeded just before the
        // cancellation reached the provider): the first settlement stands.
        return Err(ApiError::from(Error::new(
            ErrorKind::Conflict,
            format!(
                "task `{task_id}` is not cancellable: it finished as {} before the cancellation took effect",
                record.status
            ),
        )));
    }
    Ok(Json(StatusResponse::from_record(record)))
}

/// The caller's video tasks, newest first.
#[utoipa::path(get, path = "/unified-video/tasks", tag = "tasks",
    params(("page" = Option<u32>, Query, minimum = 1, maximum = 2147483647, description = "from 1 (default 1)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "tasks per page (default 20, at most 1000)"),
        ("status" = Option<String>, Query, pattern = r"^(submitted|processing|succeeded|failed|cancelled|unknown)(,(submitted|processing|succeeded|failed|cancelled|unknown))*$",
            description = "one or more statuses, comma-separated"),
        ("model" = Option<String>, Query, description = "a video model id of GET /unified-video/models"),
        ("date_range" = Option<String>, Query, pattern = r"^(today|last_[1-9][0-9]{0,2}_days)$",
            description = "creation time: `today`, `last_N_days`, or `YYYY-MM-DD_YYYY-MM-DD` (both days, UTC); default: every task")),
    responses((status = 200, body = TaskListResponse),
        (status = 400, description = "a query parameter is unknown or its value is not allowed; the message names it", body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn video_tasks(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<TaskListResponse>> {
    list(state, caller, MediaKind::Video, raw).await
}

/// The caller's image tasks, newest first.
#[utoipa::path(get, path = "/unified-image/tasks", tag = "tasks",
    params(("page" = Option<u32>, Query, minimum = 1, maximum = 2147483647),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000),
        ("status" = Option<String>, Query, pattern = r"^(submitted|processing|succeeded|failed|cancelled|unknown)(,(submitted|processing|succeeded|failed|cancelled|unknown))*$"),
        ("model" = Option<String>, Query, description = "an image model id of GET /unified-image/models"),
        ("date_range" = Option<String>, Query, pattern = r"^(today|last_[1-9][0-9]{0,2}_days)$")),
    responses((status = 200, body = TaskListResponse), (status = 400, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn image_tasks(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<TaskListResponse>> {
    list(state, caller, MediaKind::Image, raw).await
}

/// Cancel an unfinished video task (where its provider supports cancel); its points are
/// refunded.
#[utoipa::path(post, path = "/unified-video/{taskId}/cancel", tag = "tasks",
    params(("taskId" = String, Path, description = "the taskId returned by /generate")),
    responses((status = 200, description = "cancelled: the task's status body, `status` = `cancelled`, `pointsCharged` = 0", body = StatusResponse),
        (status = 404, description = "no such task in the caller's account", body = crate::wire::ErrorBody),
        (status = 409, description = "not cancellable: already final (the message names its status), not confirmed by its provider yet, or its provider offers no cancel (the message says why)", body = crate::wire::ErrorBody),
        (status = 502, body = crate::wire::ErrorBody), (status = 503, body = crate::wire::ErrorBody),
        (status = 504, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn video_cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(task_id): Path<String>,
) -> ApiResult<Json<StatusResponse>> {
    cancel(state, caller, task_id).await
}

/// Cancel an unfinished image task (where its provider supports cancel).
#[utoipa::path(post, path = "/unified-image/{taskId}/cancel", tag = "tasks",
    params(("taskId" = String, Path)),
    responses((status = 200, body = StatusResponse), (status = 404, body = crate::wire::ErrorBody),
        (status = 409, body = crate::wire::ErrorBody), (status = 502, body = crate::wire::ErrorBody),
        (status = 503, body = crate::wire::ErrorBody), (status = 504, body = crate::wire::ErrorBody)),
    security(("bearer" = [])))]
pub async fn image_cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(task_id): Path<String>,
) -> ApiResult<Json<StatusResponse>> {
    cancel(state, caller, task_id).await
}

/// Documents the listing's `model` filter as the built-in catalog's model ids of each
/// family, so that schema-valid values are accepted (schemathesis "positive data
/// acceptance"); an operator's `catalog_override` can change the set at run time, which
/// `GET /unified-video/models` always tells exactly.
pub struct ModelFilterEnums;

impl utoipa::Modify for ModelFilterEnums {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
        use utoipa::openapi::RefOr;
        let catalog = genmux_core::Catalog::builtin();
        for (path, kind) in [
            ("/unified-video/tasks", MediaKind::Video),
            ("/unified-image/tasks", MediaKind::Image),
        ] {
            let ids: Vec<String> = catalog
                .models()
                .filter(|m| m.kind == kind)
                .map(|m| m.id.clone())
                .collect();
            let Some(op) = openapi
                .paths
                .paths
                .get_mut(path)
                .and_then(|i| i.get.as_mut())
            else {
                continue;
            };
            for p in op.parameters.iter_mut().flatten() {
                if p.name == "model" {
                    p.schema = Some(RefOr::T(Schema::Object(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .enum_values(Some(ids.clone()))
                            .build(),
                    )));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_filters_parse_and_name_the_allowed_values() {
        assert_eq!(
            statuses("succeeded, cancelled,succeeded").unwrap(),
            [TaskStatus::Succeeded, TaskStatus::Cancelled]
        );
        let e = statuses("succeeded,done").unwrap_err();
        assert_eq!(e.status, 400);
        assert!(
            e.message.starts_with("status: `done` is not allowed"),
            "{}",
            e.message
        );
        assert!(e.message.contains("cancelled"), "{}", e.message);
    }
}
