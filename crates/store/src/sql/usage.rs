// UsageStore over one backend's pool (included by `sqlite.rs` and `postgres.rs`).

use super::{Backend, Db};
use crate::direct::Arg;
use crate::db_error::ctx;
use crate::rows::{UsageRow, USAGE_COLUMNS};
use crate::timestamp::to_micros;
use crate::usage::{ModelUsage, UsageLogs, UsageQuery, UsageRecord, UsageStore, UsageSummary};
use async_trait::async_trait;
use genmux_core::{Error, Result};
use time::OffsetDateTime;

#[derive(sqlx::FromRow)]
struct GroupRow {
    model: String,
    points: i64,
    requests: i64,
    input_tokens: i64,
    output_tokens: i64,
}

fn check_range(from: OffsetDateTime, to: OffsetDateTime) -> Result<()> {
    if from > to {
        return Err(Error::invalid(format!(
            "date range starts ({from}) after it ends ({to})"
        )));
    }
    Ok(())
}

/// A usage row, once per task.
pub(super) const APPEND_SQL: &str =
    "INSERT INTO usage_records (task_id, account_id, api_key_id, model, points, usage, \
     input_tokens, output_tokens, created_at, caller_external_id, upstream_cost_micros, \
     margin_micros) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
     ON CONFLICT (task_id) DO NOTHING";

/// The usage JSON of a row whose counts are ≥ 0.
pub(super) fn checked_usage(r: &UsageRecord) -> Result<String> {
    for (field, v) in [
        ("points", r.points),
        ("input_tokens", r.input_tokens),
        ("output_tokens", r.output_tokens),
    ] {
        if v < 0 {
            return Err(Error::invalid(format!("usage {field} = {v}; must be ≥ 0")));
        }
    }
    serde_json::to_string(&r.usage)
        .map_err(|e| Error::invalid(format!("usage JSON cannot be stored: {e}")))
}

/// The arguments of [`APPEND_SQL`].
pub(super) fn append_args<'a>(r: &'a UsageRecord, usage: &'a String) -> [Arg<'a>; 12] {
    [
        (&r.task_id).into(),
        (&r.account_id).into(),
        (&r.api_key_id).into(),
        (&r.model).into(),
        r.points.into(),
        usage.into(),
        r.input_tokens.into(),
        r.output_tokens.into(),
        to_micros(r.created_at).into(),
        (&r.caller_external_id).into(),
        r.upstream_cost_micros.into(),
        r.margin_micros.into(),
    ]
}

#[async_trait]
impl UsageStore for Backend {
    async fn append(&self, r: &UsageRecord) -> Result<bool> {
        let usage = checked_usage(r)?;
        let n = self
            .write_execute("appending usage", APPEND_SQL, &append_args(r, &usage))
            .await?;
        Ok(n == 1)
    }

    async fn logs(&self, q: &UsageQuery) -> Result<UsageLogs> {
        check_range(q.from, q.to)?;
        let (limit, offset) = q.page.limit_offset()?;
        let filter = "account_id = $1 AND created_at >= $2 AND created_at < $3 \
                      AND ($4 IS NULL OR model = $4)";
        let sql = format!(
            "SELECT {USAGE_COLUMNS} FROM usage_records WHERE {filter} \
             ORDER BY created_at DESC, task_id DESC LIMIT $5 OFFSET $6"
        );
        let rows = sqlx::query_as::<Db, UsageRow>(&sql)
            .bind(&q.account_id)
            .bind(to_micros(q.from))
            .bind(to_micros(q.to))
            .bind(&q.model)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await
            .map_err(ctx("reading usage logs"))?;
        let total = sqlx::query_scalar::<Db, i64>(&format!(
            "SELECT COUNT(*) FROM usage_records WHERE {filter}"
        ))
        .bind(&q.account_id)
        .bind(to_micros(q.from))
        .bind(to_micros(q.to))
        .bind(&q.model)
        .fetch_one(&self.pool)
        .await
        .map_err(ctx("counting usage logs"))?;
        Ok(UsageLogs {
            logs: rows
                .into_iter()
                .map(UsageRecord::try_from)
                .collect::<Result<_>>()?,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    async fn summary(
        &self,
        account_id: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<UsageSummary> {
        check_range(from, to)?;
        // PostgreSQL's SUM(bigint) is numeric: cast back so both backends return BIGINT.
        let groups = sqlx::query_as::<Db, GroupRow>(
            "SELECT model, CAST(SUM(points) AS BIGINT) AS points, CAST(COUNT(*) AS BIGINT) AS requests, \
             CAST(SUM(input_tokens) AS BIGINT) AS input_tokens, \
             CAST(SUM(output_tokens) AS BIGINT) AS output_tokens \
             FROM usage_records WHERE account_id = $1 AND created_at >= $2 AND created_at < $3 \
             GROUP BY model",
        )
        .bind(account_id)
        .bind(to_micros(from))
        .bind(to_micros(to))
        .fetch_all(&self.pool)
        .await
        .map_err(ctx("summarizing usage"))?;
        let mut summary = UsageSummary::default();
        for g in groups {
            let m = ModelUsage {
                points_charged: g.points,
                requests: g.requests,
                input_tokens: g.input_tokens,
                output_tokens: g.output_tokens,
            };
            summary.total.points_charged += m.points_charged;
            summary.total.requests += m.requests;
            summary.total.input_tokens += m.input_tokens;
            summary.total.output_tokens += m.output_tokens;
            summary.by_model.insert(g.model, m);
        }
        Ok(summary)
    }
}
