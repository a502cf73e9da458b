//! `genmux tasks` and `genmux cancel` (issue 13 point 5), run as the real binary:
//! - against `genmux serve` (sandbox simulators: neither Kling nor the unified API can
//!   cancel, so `cancel` exits 3 saying why);
//! - against a gateway in this process whose only provider declares `cancel`, to see a
//!   cancellation through (no shipped provider has one yet).

mod support;

use genmux_core::pricing::{PriceUnit, Rate};
use genmux_core::{
    async_trait, Capability, Offering, PriceRule, Provider, Result, SecondsSet, Submission,
    SubmitRequest, TaskRef, TaskSnapshot, TaskStatus, VideoProvider,
};
use serde_json::Value;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::{run_in, Gateway};

const PROMPT: &str = "A red fox trotting through fresh snow";

/// The first column of a table's body rows (after the header and the dashes).
fn first_column(table: &str) -> Vec<String> {
    table
        .lines()
        .skip_while(|l| !l.starts_with("---"))
        .skip(1)
        .take_while(|l| !l.starts_with('('))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

fn created_id(gw: &Gateway, args: &[&str]) -> String {
    let mut all = vec!["--json", "generate"];
    all.extend_from_slice(args);
    let created = gw.run(&all).ok().json();
    created["taskId"].as_str().expect("taskId").to_string()
}

fn listed(gw: &Gateway, args: &[&str]) -> Vec<String> {
    let mut all = vec!["--json", "tasks"];
    all.extend_from_slice(args);
    let out = gw.run(&all).ok().json();
    out["tasks"]
        .as_array()
        .unwrap_or_else(|| panic!("no tasks: {out}"))
        .iter()
        .map(|t| t["taskId"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn tasks_lists_newest_first_and_cancel_says_why_not() {
    // Its own gateway: the listing must hold exactly what this test created.
    let gw = Gateway::start(&[]);
    let a = created_id(&gw, &["-m", "kling-2.5-turbo", "-p", PROMPT, "-d", "5"]);
    let img = created_id(&gw, &["-m", "kling-image", "-p", PROMPT]);
    let c = created_id(&gw, &["-m", "kling-2.6-t2v", "-p", PROMPT, "-d", "5"]);

    // The table: video and image tasks together, newest first.
    let table = gw.run(&["tasks"]).ok().stdout;
    assert!(
        table.starts_with("TASK") && table.contains("PROMPT"),
        "{table}"
    );
    assert_eq!(
        first_column(&table),
        [c.as_str(), img.as_str(), a.as_str()],
        "{table}"
    );
    assert!(table.contains(PROMPT), "{table}");

    // --json: the same, with each task's details.
    let out = gw.run(&["--json", "tasks"]).ok().json();
    assert_eq!(out["total"], 3, "{out}");
    let items = out["tasks"].as_array().unwrap();
    assert!(
        items
            .iter()
            .all(|t| t["prompt"] == PROMPT && t["cancellable"] == false),
        "{out}"
    );
    assert_eq!(items[1]["kind"], "image");

    // Filters and pages.
    assert_eq!(listed(&gw, &["--kind", "image"]), [img.as_str()]);
    assert_eq!(listed(&gw, &["--model", "kling-2.6-t2v"]), [c.as_str()]);
    assert_eq!(listed(&gw, &["--date-range", "today"]).len(), 3);
    assert_eq!(
        listed(&gw, &["--limit", "1", "--page", "2"]),
        [img.as_str()]
    );
    assert_eq!(
        listed(&gw, &["--kind", "video", "--limit", "1", "--page", "2"]),
        [a.as_str()]
    );
    let first = gw.run(&["tasks", "--limit", "1"]).ok().stdout;
    assert_eq!(first_column(&first), [c.as_str()]);
    assert!(
        first.contains("(1 of 3 tasks shown; next: --page 2)"),
        "{first}"
    );

    // A bad filter: the gateway's 400 (exit 3) names it; a bad flag is exit 2.
    let bad = gw.run(&["tasks", "--status", "done"]).exits(3);
    assert!(
        bad.stderr.contains("status: `done` is not allowed"),
        "{}",
        bad.stderr
    );
    let bad = gw.run(&["tasks", "--model", "no-such-model"]).exits(3);
    assert!(
        bad.stderr
            .contains("model: `no-such-model` is not a video model"),
        "{}",
        bad.stderr
    );
    let bad = gw.run(&["tasks", "--limit", "0"]).exits(2);
    assert!(
        bad.stderr.contains("--limit: 0 is not allowed"),
        "{}",
        bad.stderr
    );
    let bad = gw.run(&["tasks", "--limit", "600", "--page", "2"]).exits(2);
    assert!(bad.stderr.contains("--kind"), "{}", bad.stderr);

    // Neither sandbox provider can cancel: exit 3 with the reason; the task runs on.
    let refused = gw.run(&["cancel", &a]).exits(3);
    assert!(
        refused.stderr.contains("HTTP 409")
            && refused
                .stderr
                .contains(&format!("task `{a}` is not cancellable"))
            && refused.stderr.contains("offers no way to cancel them"),
        "{}",
        refused.stderr
    );
    let missing = gw.run(&["cancel", "task_nope"]).exits(3);
    assert!(
        missing.stderr.contains("HTTP 404")
            && missing.stderr.contains("task `task_nope` not found"),
        "{}",
        missing.stderr
    );
    let bad_id = gw.run(&["cancel", "../v1/keys"]).exits(2);
    assert!(bad_id.stderr.contains("TASK_ID"), "{}", bad_id.stderr);

    // Once finished: 409 naming the status.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let s = gw.run(&["--json", "status", &a]).ok().json();
        if s["status"] == "succeeded" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{s}\n{}", gw.logs());
        std::thread::sleep(Duration::from_millis(200));
    }
    let done = gw.run(&["cancel", &a]).exits(3);
    assert!(
        done.stderr.contains("it is already succeeded"),
        "{}",
        done.stderr
    );
    assert!(listed(&gw, &["--status", "succeeded", "--kind", "video"]).contains(&a));
}

/// A provider whose `kling-2.5-turbo` offering declares `cancel`: tasks stay `processing`
/// until cancelled.
struct Cancelling {
    offerings: Vec<Offering>,
    n: AtomicU32,
    cancelled: std::sync::Mutex<Vec<String>>,
}

#[async_trait]
impl VideoProvider for Cancelling {
    fn id(&self) -> &str {
        "cancelling"
    }
    fn offerings(&self) -> &[Offering] {
        &self.offerings
    }
    async fn submit(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        Ok(Submission {
            provider_task_id: format!("cx-{}", self.n.fetch_add(1, Ordering::SeqCst)),
            provider_model: req.offering.provider_model.clone(),
            status: TaskStatus::Submitted,
            estimated_time_sec: None,
        })
    }
    async fn status(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        let cancelled = self
            .cancelled
            .lock()
            .unwrap()
            .contains(&task.provider_task_id);
        Ok(TaskSnapshot {
            provider_task_id: task.provider_task_id.clone(),
            status: if cancelled {
                TaskStatus::Cancelled
            } else {
                TaskStatus::Processing
            },
            assets: Vec::new(),
            error: None,
            usage: None,
            billed_usd_micros: None,
        })
    }
    async fn cancel(&self, task: &TaskRef) -> Result<()> {
        self.cancelled
            .lock()
            .unwrap()
            .push(task.provider_task_id.clone());
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_through_a_provider_that_can_prints_the_refund() {
    use genmux_midsync::{app, AppState, GatewayConfig};
    let dir = tempfile::tempdir().unwrap();
    let store = genmux_store::Store::open(&format!(
        "sqlite://{}",
        dir.path().join("genmux.db").display()
    ))
    .await
    .unwrap();
    let provider = Arc::new(Cancelling {
        offerings: vec![Offering {
            model: "kling-2.5-turbo".into(),
            provider_model: "cx-turbo".into(),
            capability: Capability {
                text_to_video: true,
                unknown_lookup: genmux_core::UnknownLookup::ExternalIdQuery,
                cancel: true,
                durations: Some(SecondsSet::of(&[5, 10])),
                ..Default::default()
            },
            cost: PriceRule {
                unit: PriceUnit::Second,
                offset: 0,
                billing_increment: 1,
                audio_percent: 100,
                rates: vec![Rate {
                    per_unit: 0.05,
                    ..Default::default()
                }],
                source: None,
            },
        }],
        n: AtomicU32::new(1),
        cancelled: std::sync::Mutex::new(Vec::new()),
    });
    let router = genmux_router::Router::builder()
        .provider(Provider::video(provider.clone()))
        .build()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = GatewayConfig::new(base.clone(), b"cli test master key".to_vec());
    config.poll.first_delay = Duration::from_secs(3600);
    let state = AppState::new(config, store.clone(), Arc::new(router));
    let server = tokio::spawn(async move {
        axum::serve(listener, app(state)).await.unwrap();
    });
    store.ledger.create_account("acct_cli").await.unwrap();
    store.ledger.top_up("acct_cli", 1000).await.unwrap();
    let key = store
        .keys
        .create(genmux_store::NewKey {
            account_id: "acct_cli".into(),
            name: "cli".into(),
            scopes: vec![
                genmux_store::Scope::ApiGenerate,
                genmux_store::Scope::ApiRead,
            ],
            expires_at: None,
        })
        .await
        .unwrap()
        .plaintext;

    let cwd = dir.path().to_path_buf();
    let run = move |args: Vec<String>| {
        let (cwd, base, key) = (cwd.clone(), base.clone(), key.clone());
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_in(
                &cwd,
                &[
                    ("GENMUX_URL", base.as_str()),
                    ("GENMUX_API_KEY", key.as_str()),
                ],
                &args,
            )
        })
    };
    let strings = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let created: Value = run(strings(&[
        "--json",
        "generate",
        "-m",
        "kling-2.5-turbo",
        "-p",
        PROMPT,
        "-d",
        "5",
    ]))
    .await
    .unwrap()
    .ok()
    .json();
    let id = created["taskId"].as_str().unwrap().to_string();
    let points = created["pointsCharged"].as_i64().unwrap();
    assert_eq!(
        store.ledger.balance("acct_cli").await.unwrap(),
        1000 - points
    );

    let listed = run(strings(&["tasks"])).await.unwrap().ok().stdout;
    let row = listed
        .lines()
        .find(|l| l.starts_with(&id))
        .expect("the task's row");
    assert!(row.contains(" yes "), "cancellable: {listed}");

    let cancelled = run(strings(&["cancel", &id])).await.unwrap().ok().stdout;
    assert_eq!(
        cancelled.trim(),
        format!("task {id} cancelled (0 points charged; the hold was refunded)")
    );
    assert_eq!(store.ledger.balance("acct_cli").await.unwrap(), 1000);
    let again = run(strings(&["--json", "cancel", &id]))
        .await
        .unwrap()
        .exits(3);
    // Under --json the error is a JSON object on stdout.
    let err = again.json();
    assert_eq!(err["error"]["exitCode"], 3, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("already cancelled"),
        "{err}"
    );
    let out: Value = run(strings(&["--json", "tasks", "--status", "cancelled"]))
        .await
        .unwrap()
        .ok()
        .json();
    assert_eq!(out["tasks"][0]["taskId"], id.as_str(), "{out}");
    assert_eq!(out["tasks"][0]["pointsCharged"], 0);
    server.abort();
}
