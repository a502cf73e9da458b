//! UsageStore: `GET /v1/usage/logs` and `GET /v1/usage/summary` queries.

use super::{expect_kind, uid};
use genmux_core::ErrorKind;
use genmux_store::{ModelUsage, Page, Store, UsageQuery, UsageRecord};
use serde_json::json;
use time::macros::datetime;
use time::OffsetDateTime;

fn row(
    account: &str,
    model: &str,
    points: i64,
    at: OffsetDateTime,
    tokens: (i64, i64),
) -> UsageRecord {
    UsageRecord {
        task_id: uid("task"),
        account_id: account.to_string(),
        api_key_id: Some("key1".into()),
        model: model.into(),
        points,
        usage: if tokens == (0, 0) {
            json!({"duration": 10, "resolution": "720p"})
        } else {
            json!({"inputTokens": tokens.0, "outputTokens": tokens.1})
        },
        input_tokens: tokens.0,
        output_tokens: tokens.1,
        created_at: at,
        caller_external_id: Some(format!("order-{points}")),
        upstream_cost_micros: Some(points * 15_000),
        margin_micros: Some(points * 5_000),
    }
}

pub async fn logs_and_summary_by_range_model_and_page(store: &Store) {
    let a = uid("acct");
    let d1 = datetime!(2026-03-01 10:00 UTC);
    let d2 = datetime!(2026-03-02 10:00 UTC);
    let d3 = datetime!(2026-03-03 10:00 UTC);
    let rows = [
        row(&a, "grok-video", 100, d1, (0, 0)),
        row(&a, "grok-video", 100, d2, (0, 0)),
        row(
            &a,
            "seedance-1.5-pro",
            10,
            d2 + time::Duration::hours(1),
            (0, 0),
        ),
        row(&a, "gpt-mini", 3, d3, (1200, 300)),
        row(&uid("other"), "grok-video", 999, d2, (0, 0)),
    ];
    for r in &rows {
        assert!(store.usage.append(r).await.unwrap());
    }
    // Settling twice never double-counts.
    let mut dup = rows[0].clone();
    dup.points = 5000;
    assert!(!store.usage.append(&dup).await.unwrap());

    let q = |from, to, model: Option<&str>, page, limit| UsageQuery {
        account_id: a.clone(),
        from,
        to,
        model: model.map(String::from),
        page: Page { page, limit },
    };
    let all = store
        .usage
        .logs(&q(d1, d3 + time::Duration::days(1), None, 1, 10))
        .await
        .unwrap();
    assert_eq!(all.total, 4);
    let order: Vec<_> = all.logs.iter().map(|r| r.task_id.clone()).collect();
    let want: Vec<_> = [3, 2, 1, 0]
        .iter()
        .map(|&i| rows[i].task_id.clone())
        .collect();
    assert_eq!(order, want, "newest first");
    assert_eq!(all.logs[3], rows[0], "stored as given, first points kept");
    assert_eq!(
        all.logs[3].usage,
        json!({"duration": 10, "resolution": "720p"})
    );

    // Half-open range: d3 itself is excluded when it is the end.
    let range = store.usage.logs(&q(d1, d3, None, 1, 10)).await.unwrap();
    assert_eq!(range.total, 3);
    let grok = store
        .usage
        .logs(&q(d1, d3, Some("grok-video"), 1, 10))
        .await
        .unwrap();
    assert_eq!(grok.total, 2);
    assert!(grok
        .logs
        .iter()
        .all(|r| r.model == "grok-video" && r.points == 100));
    let p2 = store.usage.logs(&q(d1, d3, None, 2, 2)).await.unwrap();
    assert_eq!((p2.total, p2.logs.len()), (3, 1));
    assert_eq!(p2.logs[0].task_id, rows[0].task_id);
    expect_kind(
        store.usage.logs(&q(d3, d1, None, 1, 10)).await,
        ErrorKind::InvalidRequest,
    );
    expect_kind(
        store.usage.logs(&q(d1, d3, None, 0, 10)).await,
        ErrorKind::InvalidRequest,
    );

    let s = store
        .usage
        .summary(&a, d1, d3 + time::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(
        s.total,
        ModelUsage {
            points_charged: 213,
            requests: 4,
            input_tokens: 1200,
            output_tokens: 300
        }
    );
    assert_eq!(
        s.by_model["grok-video"],
        ModelUsage {
            points_charged: 200,
            requests: 2,
            input_tokens: 0,
            output_tokens: 0
        }
    );
    assert_eq!(s.by_model["gpt-mini"].input_tokens, 1200);
    assert_eq!(s.by_model.len(), 3);
    let s = store.usage.summary(&a, d2, d3).await.unwrap();
    assert_eq!((s.total.points_charged, s.total.requests), (110, 2));
    let empty = store.usage.summary(&uid("acct"), d1, d3).await.unwrap();
    assert_eq!(empty, Default::default());
}
