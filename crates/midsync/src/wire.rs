//! Wire types of the unified API (`spec/unified-api.md`), camelCase, as the gateway answers
//! them. The request body of `/quote` and `/generate` is [`genmux_core::GenerationRequest`]
//! itself (camelCase, unknown fields refused), so it is not restated here.

use genmux_core::{Asset, TaskStatus};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The body of every error answer: `{"success": false, "error": "..."}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    /// What went wrong, naming the field, the value and what is allowed.
    pub error: String,
}

/// `POST /unified-video/quote` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuoteResponse {
    /// The estimation succeeded.
    pub success: bool,
    /// The model id used.
    pub model: String,
    /// Estimated points; equal to what `/generate` charges for the same body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points_charged: Option<i64>,
    /// Billed units (seconds, images or 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billed_units: Option<u32>,
    /// Why the combination is invalid, when `success` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For operator keys only: the providers the router would try, in order, with each
    /// one's upstream cost and the margin left at this price (issue 14 point 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<Routing>,
}

/// The routing preview of a quote (operator keys).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Routing {
    /// The quoted points in USD (at the catalog's points per USD).
    pub price_usd: f64,
    /// Candidates in the order they would be tried.
    pub candidates: Vec<RoutingCandidate>,
}

/// One provider of a routing preview.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoutingCandidate {
    /// The provider id.
    pub provider: String,
    /// The upstream's model name.
    pub provider_model: String,
    /// What the upstream charges for this request, in USD; absent when its cost table has
    /// no row for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_cost_usd: Option<f64>,
    /// `priceUsd − upstreamCostUsd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin_usd: Option<f64>,
}

/// `POST /unified-video/generate` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenerateResponse {
    /// The task was created.
    pub success: bool,
    /// Our task id, for `GET /unified-video/{taskId}/status`.
    pub task_id: String,
    /// The upstream provider's task id.
    pub provider_task_id: String,
    /// The catalog model id.
    pub model: String,
    /// The upstream's own model name.
    pub provider_model: String,
    /// Points held for this task (posted on success, refunded on failure).
    pub points_charged: i64,
    /// Initial status, usually `submitted` (`unknown` when the upstream's acceptance is
    /// being reconciled).
    #[schema(value_type = String, example = "submitted")]
    pub status: TaskStatus,
    /// Expected seconds to completion, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_time_sec: Option<u32>,
}

/// The result of a finished task: the asset URLs in a flat shape.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskOutput {
    /// Video URLs, in asset order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub video_urls: Vec<String>,
    /// Image URLs, in asset order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_urls: Vec<String>,
}

/// `GET /unified-video/{taskId}/status` answer; also the body POSTed to a caller's
/// `callbackUrl` when the task finishes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusResponse {
    /// The query succeeded.
    pub success: bool,
    /// The task.
    pub task_id: String,
    /// `submitted`, `processing`, `succeeded`, `failed`, `cancelled` or `unknown`.
    #[schema(value_type = String, example = "succeeded")]
    pub status: TaskStatus,
    /// The catalog model id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Points held or charged for the task (0 once it failed or was cancelled: refunded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points_charged: Option<i64>,
    /// The results, when succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<TaskOutput>,
    /// The generated files with their details, when succeeded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub assets: Vec<Asset>,
    /// Failure information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The caller's own tracking id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// The caller's own `externalTaskId`, if it gave one (the status route accepts it in
    /// place of `taskId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_task_id: Option<String>,
    /// When the task was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

impl TaskOutput {
    /// The flat URL lists of `assets`.
    pub fn from_assets(assets: &[Asset]) -> Option<TaskOutput> {
        if assets.is_empty() {
            return None;
        }
        let mut out = TaskOutput::default();
        for a in assets {
            match a.kind {
                genmux_core::MediaKind::Video => out.video_urls.push(a.url.clone()),
                genmux_core::MediaKind::Image => out.image_urls.push(a.url.clone()),
            }
        }
        Some(out)
    }
}

/// One task of `GET /unified-video/tasks` (issue 13 point 5): what the caller asked, where
/// it stands, and its results in the status route's shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskItem {
    /// The task.
    pub task_id: String,
    /// The catalog model id.
    pub model: String,
    /// `video` or `image`.
    #[schema(value_type = String, example = "video")]
    pub kind: genmux_core::MediaKind,
    /// What was asked (`text_to_video`, `image_to_video`, …).
    #[schema(value_type = String, example = "text_to_video")]
    pub operation: genmux_core::Operation,
    /// `submitted`, `processing`, `succeeded`, `failed`, `cancelled` or `unknown`.
    #[schema(value_type = String, example = "succeeded")]
    pub status: TaskStatus,
    /// Points held or charged (0 once it failed or was cancelled: refunded).
    pub points_charged: i64,
    /// The prompt (for a multi-shot request, the shots' prompts joined with ` / `).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// The caller's own tracking id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// The caller's own `externalTaskId`, if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_task_id: Option<String>,
    /// When the task was created (RFC 3339).
    pub created_at: String,
    /// When it last changed (RFC 3339).
    pub updated_at: String,
    /// The results as flat URL lists, when succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<TaskOutput>,
    /// The generated files with their details, when succeeded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub assets: Vec<Asset>,
    /// Failure information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether `POST …/{taskId}/cancel` can cancel it now: unfinished, confirmed by its
    /// provider, and that provider offers cancel for the model.
    pub cancellable: bool,
}

/// `GET /unified-video/tasks` (and `/unified-image/tasks`) answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskListResponse {
    /// The query succeeded.
    pub success: bool,
    /// The page of tasks, newest first.
    pub tasks: Vec<TaskItem>,
    /// The page number, from 1.
    pub page: u32,
    /// Tasks per page.
    pub limit: u32,
    /// Tasks matching the filters over all pages.
    pub total: u64,
}

/// The prompt of a stored request: `prompt`, or the shots of `multiPrompt` joined.
pub fn prompt_of(request: &serde_json::Value) -> Option<String> {
    if let Some(p) = request.get("prompt").and_then(|p| p.as_str()) {
        return Some(p.to_string());
    }
    let shots: Vec<&str> = request
        .get("multiPrompt")
        .and_then(|m| m.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.get("prompt").and_then(|p| p.as_str()))
                .collect()
        })
        .unwrap_or_default();
    (!shots.is_empty()).then(|| shots.join(" / "))
}

impl TaskItem {
    /// The listing entry of a stored task; `cancellable` is decided by the caller (it
    /// needs the router).
    pub fn from_record(r: &genmux_store::TaskRecord, cancellable: bool) -> Self {
        TaskItem {
            task_id: r.id.clone(),
            model: r.model.clone(),
            kind: r.operation.output(),
            operation: r.operation,
            status: r.status,
            points_charged: if r.status.is_refunded() { 0 } else { r.points },
            prompt: prompt_of(&r.request),
            external_task_id: r.caller_external_id.clone(),
            project_id: r.project_id.clone(),
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
            output: TaskOutput::from_assets(&r.assets),
            assets: r.assets.clone(),
            error: r.error.clone(),
            cancellable,
        }
    }
}

/// One row of `GET /v1/usage/logs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageLog {
    /// The task that was billed.
    pub task_id: String,
    /// The caller's own `externalTaskId` of that task, if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_task_id: Option<String>,
    /// Operator keys only: what the upstream billed for the task, in USD, from the
    /// provider's own figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_cost_usd: Option<f64>,
    /// Operator keys only: the charged points in USD minus the upstream cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin_usd: Option<f64>,
    /// The model id.
    pub model: String,
    /// Points charged (integer).
    pub points_charged: i64,
    /// What was metered, e.g. `{"duration":10,"resolution":"720p"}`.
    #[schema(value_type = Object)]
    pub usage: serde_json::Value,
    /// When the task was billed (RFC 3339).
    pub created_at: String,
}

/// `GET /v1/usage/logs` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageLogsResponse {
    /// The query succeeded.
    pub success: bool,
    /// The page of rows, newest first.
    pub logs: Vec<UsageLog>,
    /// The page number, from 1.
    pub page: u32,
    /// Rows per page.
    pub limit: u32,
    /// Rows matching the filters over all pages.
    pub total: u64,
}

/// Per-model totals of `GET /v1/usage/summary`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModelUsage {
    /// Points charged.
    pub points_charged: i64,
    /// Billed requests.
    pub requests: u64,
    /// Input tokens (token-metered models).
    pub input_tokens: u64,
    /// Output tokens (token-metered models).
    pub output_tokens: u64,
}

/// `GET /v1/usage/summary` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageSummaryResponse {
    /// The query succeeded.
    pub success: bool,
    /// Points charged over the range.
    pub total_points_charged: i64,
    /// Billed requests over the range.
    pub total_requests: u64,
    /// Input tokens over the range.
    pub total_input_tokens: u64,
    /// Output tokens over the range.
    pub total_output_tokens: u64,
    /// The same totals per model.
    pub by_model: BTreeMap<String, ModelUsage>,
    /// The account's balance now: points it can still spend (held points already taken
    /// out), whatever the range.
    pub balance: i64,
    /// Points held now for the account's running tasks.
    pub held_points: i64,
    /// Results the gateway keeps for the account now (issue 18), whatever the range.
    #[serde(default)]
    pub stored_assets: u64,
    /// Their size in bytes.
    #[serde(default)]
    pub stored_bytes: u64,
}

/// RFC 3339 text of a time (empty if it cannot be formatted, which `time` only does for
/// years beyond 9999).
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl StatusResponse {
    /// The status body of a stored task (also the outbound callback body).
    pub fn from_record(r: &genmux_store::TaskRecord) -> Self {
        StatusResponse {
            success: true,
            task_id: r.id.clone(),
            status: r.status,
            model: Some(r.model.clone()),
            points_charged: Some(if r.status.is_refunded() { 0 } else { r.points }),
            output: TaskOutput::from_assets(&r.assets),
            assets: r.assets.clone(),
            error: r.error.clone(),
            project_id: r.project_id.clone(),
            external_task_id: r.caller_external_id.clone(),
            created_at: Some(rfc3339(r.created_at)),
        }
    }
}
