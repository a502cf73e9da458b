//! Usage rows, one per settled task, and the queries behind `GET /v1/usage/logs` and
//! `GET /v1/usage/summary` (`spec/unified-api.md`).

use async_trait::async_trait;
use genmux_core::Result;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// What a settled task used.
#[derive(Clone, Debug, PartialEq)]
pub struct UsageRecord {
    /// The task (one usage row per task).
    pub task_id: String,
    /// The paying account.
    pub account_id: String,
    /// The API key that created the task, if any.
    pub api_key_id: Option<String>,
    /// The catalog model id.
    pub model: String,
    /// Points charged (`pointsCharged`, an integer).
    pub points: i64,
    /// The `usage` object, e.g. `{"duration":10,"resolution":"720p"}` or token counts.
    pub usage: serde_json::Value,
    /// Input tokens, for token-metered models (0 otherwise).
    pub input_tokens: i64,
    /// Output tokens, for token-metered models (0 otherwise).
    pub output_tokens: i64,
    /// When the task was settled (`createdAt`).
    pub created_at: OffsetDateTime,
    /// The caller's own `externalTaskId` of the task, if it gave one.
    pub caller_external_id: Option<String>,
    /// What the upstream billed for the task in micro-USD, from the provider's own figures
    /// (`None` when it reports none). For operators only.
    pub upstream_cost_micros: Option<i64>,
    /// The charged points in micro-USD minus `upstream_cost_micros`. For operators only.
    pub margin_micros: Option<i64>,
}

/// A `GET /v1/usage/logs` query. The range is half-open: `from <= created_at < to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageQuery {
    /// The account.
    pub account_id: String,
    /// Range start (inclusive).
    pub from: OffsetDateTime,
    /// Range end (exclusive).
    pub to: OffsetDateTime,
    /// Only this model, if given.
    pub model: Option<String>,
    /// Which page.
    pub page: crate::Page,
}

/// One page of usage rows, newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct UsageLogs {
    /// The rows of this page.
    pub logs: Vec<UsageRecord>,
    /// Rows matching the query over all pages.
    pub total: u64,
}

/// Totals for one model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelUsage {
    /// Sum of points.
    pub points_charged: i64,
    /// Number of settled tasks.
    pub requests: i64,
    /// Sum of input tokens.
    pub input_tokens: i64,
    /// Sum of output tokens.
    pub output_tokens: i64,
}

/// `GET /v1/usage/summary`: totals and per-model groups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageSummary {
    /// Totals over all models.
    pub total: ModelUsage,
    /// Per model id.
    pub by_model: BTreeMap<String, ModelUsage>,
}

/// Usage accounting.
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Appends the row for a settled task. Returns `false` (and writes nothing) if the task
    /// already has one, so settling twice never double-counts.
    async fn append(&self, record: &UsageRecord) -> Result<bool>;

    /// Rows of an account in a range, optionally one model, newest first.
    async fn logs(&self, query: &UsageQuery) -> Result<UsageLogs>;

    /// Totals and per-model groups of an account in `from <= created_at < to`.
    async fn summary(
        &self,
        account_id: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<UsageSummary>;
}
