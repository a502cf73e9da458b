//! V4 (`design/RELIABILITY.md` "Input"): the Kling response parsers on arbitrary input.
//! Whatever Kling (or something pretending to be Kling) sends — a query answer, a create
//! answer or a callback body — parsing answers a task snapshot or an error with a kind and
//! the provider named; it never panics, and a `succeed` snapshot always carries an asset.
//!
//! Proptest on stable Rust; the coverage-guided targets of the same functions are in
//! `fuzz/` (see `fuzz/README.md`).

use genmux_core::{ErrorKind, TaskStatus};
use genmux_kling::callback::parse_task;
use genmux_kling::error::{api_error, parse_retry_after};
use genmux_kling::mapping::snapshot;
use genmux_kling::wire::{Envelope, Task};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Any JSON value, nested a few levels, with the numbers and strings that break parsers
/// (negative, huge, fractional, empty, non-ASCII).
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("succeed"),
            Just("failed"),
            Just("processing"),
            Just("5.1"),
            Just("")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Field names of the task object (so objects often come close to a real task) and others.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "task_id", "task_status", "task_status_msg", "task_info", "task_result",
            "created_at", "updated_at", "final_unit_deduction", "videos", "images", "id",
            "url", "duration", "index", "external_task_id", "parent_video", "code",
            "message", "request_id", "data",
        ])
        .prop_map(String::from),
        1 => "[a-z_]{1,8}",
    ]
}

/// A task object with every field present but each value possibly of the wrong type.
fn task_like() -> impl Strategy<Value = Value> {
    let status = prop_oneof![
        prop::sample::select(vec!["submitted", "processing", "succeed", "failed"])
            .prop_map(|s| json!(s)),
        any_json(),
    ];
    let video = (
        any_json(),
        ".{0,10}",
        prop::option::of(prop_oneof![
            "[0-9.eE+-]{0,8}".prop_map(Value::String),
            any_json(),
        ]),
    )
        .prop_map(|(id, url, d)| {
            let mut m = Map::new();
            m.insert("id".into(), if id.is_string() { id } else { json!("v1") });
            m.insert("url".into(), json!(url));
            if let Some(d) = d {
                m.insert("duration".into(), d);
            }
            Value::Object(m)
        });
    let image = (any::<i64>(), ".{0,10}").prop_map(|(i, url)| json!({"index": i, "url": url}));
    (
        ".{0,12}",
        status,
        prop::option::of(any_json()),
        prop::collection::vec(video, 0..3),
        prop::collection::vec(image, 0..3),
        any::<i64>(),
        prop::option::of(prop_oneof![
            any_json(),
            "[0-9.]{0,6}".prop_map(Value::String)
        ]),
    )
        .prop_map(|(id, status, msg, videos, images, ts, units)| {
            let mut m = Map::new();
            m.insert("task_id".into(), json!(id));
            m.insert("task_status".into(), status);
            if let Some(msg) = msg {
                m.insert("task_status_msg".into(), msg);
            }
            m.insert(
                "task_result".into(),
                json!({"videos": videos, "images": images}),
            );
            m.insert("created_at".into(), json!(ts));
            m.insert("updated_at".into(), json!(ts));
            if let Some(u) = units {
                m.insert("final_unit_deduction".into(), u);
            }
            Value::Object(m)
        })
}

/// The checks every parsed task must pass: a snapshot with consistent status and assets,
/// or an error with a kind and the provider named.
fn check_task(task: &Task) -> Result<(), TestCaseError> {
    match snapshot(task) {
        Ok(snap) => {
            prop_assert_eq!(&snap.provider_task_id, &task.task_id);
            if snap.status == TaskStatus::Succeeded {
                prop_assert!(
                    !snap.assets.is_empty(),
                    "succeeded without assets: {:?}",
                    snap
                );
            } else {
                prop_assert!(
                    snap.assets.is_empty(),
                    "assets on an unfinished task: {:?}",
                    snap
                );
            }
            if snap.status == TaskStatus::Failed {
                prop_assert!(snap.error.as_deref().is_some_and(|e| !e.trim().is_empty()));
            }
            for a in &snap.assets {
                if let Some(d) = a.duration_secs {
                    prop_assert!(d.is_finite() && d >= 0.0, "duration {}", d);
                }
            }
        }
        Err(e) => {
            prop_assert_eq!(e.provider(), Some("kling"));
            prop_assert!(!e.message().is_empty());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// Callback bodies as arbitrary bytes: a task, or 400-kind error naming the body.
    #[test]
    fn callback_bytes_parse_or_fail_with_a_kind(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        match parse_task(&bytes) {
            Ok(task) => check_task(&task)?,
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::InvalidRequest);
                prop_assert_eq!(e.provider(), Some("kling"));
                prop_assert!(e.message().starts_with("callback body: "), "{}", e.message());
            }
        }
    }

    /// Callback bodies as arbitrary JSON and near-tasks with wrong-typed fields.
    #[test]
    fn callback_json_parses_or_fails_with_a_kind(v in prop_oneof![any_json(), task_like()]) {
        let bytes = serde_json::to_vec(&v).expect("a Value serializes");
        match parse_task(&bytes) {
            Ok(task) => check_task(&task)?,
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::InvalidRequest);
                prop_assert!(e.message().starts_with("callback body: "), "{}", e.message());
            }
        }
    }

    /// Query and create answers: the envelope around an arbitrary `data`.
    #[test]
    fn envelopes_parse_or_fail(code in prop_oneof![Just(json!(0)), any_json()],
                               data in prop_oneof![task_like(), any_json()],
                               message in any_json()) {
        let body = json!({"code": code, "message": message, "request_id": "r", "data": data});
        let bytes = serde_json::to_vec(&body).expect("a Value serializes");
        if let Ok(env) = serde_json::from_slice::<Envelope<Task>>(&bytes) {
            if let Some(task) = &env.data {
                check_task(task)?;
            }
        }
        let _ = serde_json::from_slice::<Envelope<Vec<Task>>>(&bytes);
    }

    /// The error table on arbitrary HTTP statuses, codes and messages always yields a kind,
    /// with the provider named.
    #[test]
    fn any_error_answer_has_a_kind(status in any::<u16>(), code in prop::option::of(any::<i64>()),
                                   message in ".{0,40}", request_id in prop::option::of(".{0,10}"),
                                   retry in prop::option::of(".{0,30}")) {
        let retry_after = retry.as_deref().and_then(|r| parse_retry_after(r, 1_700_000_000));
        let e = api_error(status, code, &message, request_id.as_deref(), retry_after);
        prop_assert_eq!(e.provider(), Some("kling"));
        if let Some(c) = code {
            prop_assert!(e.message().contains(&c.to_string()), "{} lacks code {}", e.message(), c);
        }
    }
}
