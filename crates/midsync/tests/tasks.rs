//! Tasks of an account (issue 13 point 5), over real HTTP on both store backends:
//! `GET /unified-video/tasks` (and `/unified-image/tasks`) and
//! `POST /unified-video/{taskId}/cancel` (and image).
//!
//! No shipped provider can cancel (neither Kling `/v1` nor the unified API has a cancel
//! endpoint), so cancellation is driven through [`Cancelling`], a test provider whose
//! offerings declare `cancel`; the Kling and midsync simulators show the 409 everyone
//! else gets.

mod common;

use common::*;
use genmux_core::pricing::{PriceUnit, Rate};
use genmux_core::{
    async_trait, Asset, Capability, Error, ErrorKind, ImageProvider, MediaKind, Offering,
    PriceRule, Provider, Result, SecondsSet, Submission, SubmitRequest, TaskRef, TaskSnapshot,
    TaskStatus, VideoProvider,
};
use genmux_midsync::engine::{delivery, poller, settle};
use genmux_sim::unified::{UnifiedSim, UnifiedSimConfig};
use genmux_store::Scope;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// Runs a scenario on both backends.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name(super::Db::sqlite()).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name(super::Db::postgres().await).await
            }
        }
    )*};
}

on_both_backends!(
    the_list_is_the_accounts_own_newest_first_filtered_and_paged,
    bad_list_filters_name_the_parameter_the_value_and_what_is_allowed,
    cancel_voids_the_hold_once_and_calls_back,
    cancel_refusals_leave_the_task_and_its_hold_alone,
    a_cancel_racing_a_settlement_keeps_the_first,
    kling_and_midsync_tasks_are_not_cancellable,
    a_task_its_provider_reports_cancelled_is_refunded,
);

/// What the next `cancel` call of a [`Cancelling`] provider does.
enum CancelAct {
    /// The upstream refuses: the task finished meanwhile (`Conflict`).
    Refuse,
    /// The upstream cannot be reached.
    Unavailable,
    /// Signals `entered`, waits for `proceed`, then accepts.
    Pause {
        entered: oneshot::Sender<()>,
        proceed: oneshot::Receiver<()>,
    },
}

/// A provider whose offerings (`kling-2.5-turbo` video, `kling-image` image) declare
/// `cancel`: it accepts every submission, reports tasks `processing` until [`finish`]ed
/// (`succeeded` with a video) or cancelled (`cancelled`), and cancels unless scripted
/// otherwise.
///
/// [`finish`]: Cancelling::finish
struct Cancelling {
    video: Vec<Offering>,
    image: Vec<Offering>,
    tasks: Mutex<HashMap<String, TaskStatus>>,
    script: Mutex<VecDeque<CancelAct>>,
    submits: AtomicU32,
    cancel_calls: AtomicU32,
}

const PROVIDER: &str = "cancelling";

fn per_second(usd: f64) -> PriceRule {
    PriceRule {
        unit: PriceUnit::Second,
        offset: 0,
        billing_increment: 1,
        audio_percent: 100,
        rates: vec![Rate {
            per_unit: usd,
            ..Default::default()
        }],
        source: None,
    }
}

impl Cancelling {
    fn new() -> Arc<Self> {
        Arc::new(Cancelling {
            video: vec![Offering {
                model: "kling-2.5-turbo".into(),
                provider_model: "cx-turbo".into(),
                capability: Capability {
                    text_to_video: true,
                    image_to_video: true,
                    start_end_frame: true,
                    negative_prompt: true,
                    cfg_scale: true,
                    unknown_lookup: genmux_core::UnknownLookup::ExternalIdQuery,
                    cancel: true,
                    durations: Some(SecondsSet::of(&[5, 10])),
                    ..Default::default()
                },
                cost: per_second(0.05),
            }],
            image: vec![Offering {
                model: "kling-image".into(),
                provider_model: "cx-image".into(),
                capability: Capability {
                    text_to_image: true,
                    negative_prompt: true,
                    unknown_lookup: genmux_core::UnknownLookup::ExternalIdQuery,
                    cancel: true,
                    ..Default::default()
                },
                cost: per_second(0.01),
            }],
            tasks: Mutex::new(HashMap::new()),
            script: Mutex::new(VecDeque::new()),
            submits: AtomicU32::new(0),
            cancel_calls: AtomicU32::new(0),
        })
    }

    fn provider(self: &Arc<Self>) -> Provider {
        let video: Arc<dyn VideoProvider> = self.clone();
        let image: Arc<dyn ImageProvider> = self.clone();
        Provider::both(video, image).unwrap()
    }

    /// The upstream finishes this task.
    fn finish(&self, provider_task_id: &str) {
        self.tasks
            .lock()
            .unwrap()
            .insert(provider_task_id.to_string(), TaskStatus::Succeeded);
    }

    /// The upstream cancels this task on its own (an operator there, say).
    fn cancel_upstream(&self, provider_task_id: &str) {
        self.tasks
            .lock()
            .unwrap()
            .insert(provider_task_id.to_string(), TaskStatus::Cancelled);
    }

    fn then(&self, act: CancelAct) {
        self.script.lock().unwrap().push_back(act);
    }

    fn cancel_calls(&self) -> u32 {
        self.cancel_calls.load(Ordering::SeqCst)
    }

    fn accept(&self, req: &SubmitRequest<'_>) -> Submission {
        let n = self.submits.fetch_add(1, Ordering::SeqCst) + 1;
        let id = format!("cx-{n}");
        self.tasks
            .lock()
            .unwrap()
            .insert(id.clone(), TaskStatus::Submitted);
        Submission {
            provider_task_id: id,
            provider_model: req.offering.provider_model.clone(),
            status: TaskStatus::Submitted,
            estimated_time_sec: Some(30),
        }
    }

    fn snapshot(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        let status = self
            .tasks
            .lock()
            .unwrap()
            .get(&task.provider_task_id)
            .copied()
            .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such task"))?;
        let status = match status {
            TaskStatus::Submitted => TaskStatus::Processing,
            s => s,
        };
        Ok(TaskSnapshot {
            provider_task_id: task.provider_task_id.clone(),
            status,
            assets: if status == TaskStatus::Succeeded {
                vec![Asset {
                    kind: task.operation.output(),
                    url: format!("https://cdn.example/{}.mp4", task.provider_task_id),
                    id: Some(format!("asset-{}", task.provider_task_id)),
                    duration_secs: Some(5.0),
                    index: 0,
                    size_bytes: Some(2048),
                }]
            } else {
                Vec::new()
            },
            error: None,
            usage: None,
            billed_usd_micros: None,
        })
    }

    async fn cancel_task(&self, task: &TaskRef) -> Result<()> {
        self.cancel_calls.fetch_add(1, Ordering::SeqCst);
        let act = self.script.lock().unwrap().pop_front();
        match act {
            Some(CancelAct::Refuse) => {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    "upstream: task already finished",
                ))
            }
            Some(CancelAct::Unavailable) => {
                return Err(Error::new(
                    ErrorKind::ProviderUnavailable,
                    "HTTP 503: service unavailable",
                ))
            }
            Some(CancelAct::Pause { entered, proceed }) => {
                let _ = entered.send(());
                let _ = proceed.await;
            }
            None => {}
        }
        self.tasks
            .lock()
            .unwrap()
            .insert(task.provider_task_id.clone(), TaskStatus::Cancelled);
        Ok(())
    }
}

#[async_trait]
impl VideoProvider for Cancelling {
    fn id(&self) -> &str {
        PROVIDER
    }
    fn offerings(&self) -> &[Offering] {
        &self.video
    }
    async fn submit(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        Ok(self.accept(&req))
    }
    async fn status(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        self.snapshot(task)
    }
    async fn cancel(&self, task: &TaskRef) -> Result<()> {
        self.cancel_task(task).await
    }
}

#[async_trait]
impl ImageProvider for Cancelling {
    fn id(&self) -> &str {
        PROVIDER
    }
    fn offerings(&self) -> &[Offering] {
        &self.image
    }
    async fn submit(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        Ok(self.accept(&req))
    }
    async fn status(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        self.snapshot(task)
    }
    async fn cancel(&self, task: &TaskRef) -> Result<()> {
        self.cancel_task(task).await
    }
}

/// A gateway over [`Cancelling`] that only polls when a test says so.
async fn cancelling_gateway(db: Db) -> (Gateway, Arc<Cancelling>) {
    let p = Cancelling::new();
    let gw = gateway(db, vec![p.provider()], |c| {
        c.poll.first_delay = Duration::from_secs(3600)
    })
    .await;
    (gw, p)
}

async fn generate(gw: &Gateway, path: &str, body: Value) -> (String, i64) {
    let created = gw.post(path, &gw.key, &body, None).await;
    assert_eq!(created.status, 200, "{}", created.body);
    (
        created.body["taskId"].as_str().unwrap().to_string(),
        created.body["pointsCharged"].as_i64().unwrap(),
    )
}

fn video_body(prompt: &str, duration: u32) -> Value {
    json!({"model": "kling-2.5-turbo", "prompt": prompt, "duration": duration})
}

async fn upstream_id(gw: &Gateway, task_id: &str) -> String {
    gw.store
        .tasks
        .get(task_id)
        .await
        .unwrap()
        .unwrap()
        .provider_task_id
        .unwrap()
}

fn ids(list: &Answer) -> Vec<String> {
    list.body["tasks"]
        .as_array()
        .unwrap_or_else(|| panic!("no tasks array: {}", list.body))
        .iter()
        .map(|t| t["taskId"].as_str().unwrap().to_string())
        .collect()
}

/// The listing: only the caller's account, newest first, each item with what the status
/// route shows; filters and pages narrow it and its total.
async fn the_list_is_the_accounts_own_newest_first_filtered_and_paged(db: Db) {
    let (gw, p) = cancelling_gateway(db).await;
    let (a, a_pts) = generate(&gw, "/unified-video/generate", video_body("first fox", 5)).await;
    let (b, _) = generate(&gw, "/unified-video/generate", video_body("second fox", 10)).await;
    let (c, c_pts) = generate(
        &gw,
        "/unified-video/generate",
        json!({"model": "kling-2.5-turbo", "prompt": "third fox", "duration": 5, "projectId": "proj-9"}),
    )
    .await;
    let (img, _) = generate(
        &gw,
        "/unified-image/generate",
        json!({"model": "kling-image", "prompt": "a fox portrait"}),
    )
    .await;
    // Another account on the same gateway: never listed here.
    let other = "acct_other_tasks";
    gw.store.ledger.create_account(other).await.unwrap();
    gw.store.ledger.top_up(other, BALANCE).await.unwrap();
    let other_key = new_key(&gw.store, other, &[Scope::ApiGenerate, Scope::ApiRead]).await;
    let theirs = gw
        .post(
            "/unified-video/generate",
            &other_key,
            &video_body("their fox", 5),
            None,
        )
        .await;
    assert_eq!(theirs.status, 200, "{}", theirs.body);

    // `a` succeeds (the poll settles it), `b` is cancelled.
    p.finish(&upstream_id(&gw, &a).await);
    force_due(&gw, &a).await;
    poller::poll_due(&gw.state).await.unwrap();
    let cancelled = gw
        .post(
            &format!("/unified-video/{b}/cancel"),
            &gw.key,
            &json!({}),
            None,
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);

    let list = gw.get("/unified-video/tasks", &gw.key).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["success"], true);
    assert_eq!(
        ids(&list),
        [c.clone(), b.clone(), a.clone()],
        "newest first"
    );
    assert_eq!(
        (&list.body["total"], &list.body["page"], &list.body["limit"]),
        (&json!(3), &json!(1), &json!(20))
    );
    let items = list.body["tasks"].as_array().unwrap();
    let (ci, bi, ai) = (&items[0], &items[1], &items[2]);
    assert_eq!(ci["prompt"], "third fox");
    assert_eq!(ci["projectId"], "proj-9");
    assert_eq!(ci["status"], "submitted");
    assert_eq!(ci["pointsCharged"], c_pts);
    assert_eq!(ci["cancellable"], true);
    assert_eq!(
        (&ci["kind"], &ci["operation"]),
        (&json!("video"), &json!("text_to_video"))
    );
    assert_eq!(ci["model"], "kling-2.5-turbo");
    assert!(ci["createdAt"].as_str().unwrap().contains('T'), "{ci}");
    assert!(
        ci.get("assets").is_none() && ci.get("error").is_none(),
        "{ci}"
    );

    assert_eq!(bi["status"], "cancelled");
    assert_eq!(bi["pointsCharged"], 0, "a cancelled task is refunded");
    assert_eq!(bi["error"], "cancelled at the caller's request");
    assert_eq!(bi["cancellable"], false);
    assert!(bi["updatedAt"].as_str().unwrap() >= bi["createdAt"].as_str().unwrap());

    assert_eq!(ai["status"], "succeeded");
    assert_eq!(ai["pointsCharged"], a_pts);
    assert_eq!(ai["prompt"], "first fox");
    assert_eq!(ai["cancellable"], false);
    // The assets exactly as the status route shows them.
    let status = gw.get(&format!("/unified-video/{a}/status"), &gw.key).await;
    assert_eq!(status.status, 200);
    assert_eq!(ai["assets"], status.body["assets"]);
    assert_eq!(ai["output"], status.body["output"]);
    assert_eq!(
        ai["assets"][0]["url"],
        format!("https://cdn.example/{}.mp4", upstream_id(&gw, &a).await)
    );

    // The image family lists the image task only.
    let images = gw.get("/unified-image/tasks", &gw.key).await;
    assert_eq!(images.status, 200, "{}", images.body);
    assert_eq!(ids(&images), [img.as_str()]);
    assert_eq!(images.body["tasks"][0]["kind"], "image");
    assert_eq!(images.body["tasks"][0]["prompt"], "a fox portrait");

    // The other account sees its own task only.
    let theirs_list = gw.get("/unified-video/tasks", &other_key).await;
    assert_eq!(ids(&theirs_list), [theirs.body["taskId"].as_str().unwrap()]);

    // Filters.
    let gw = &gw;
    let q = |query: &str| {
        let path = format!("/unified-video/tasks?{query}");
        async move { gw.get(&path, &gw.key).await }
    };
    let r = q("status=succeeded").await;
    assert_eq!((ids(&r), &r.body["total"]), (vec![a.clone()], &json!(1)));
    let r = q("status=submitted,cancelled").await;
    assert_eq!(ids(&r), [c.clone(), b.clone()]);
    let r = q("status=processing").await;
    assert_eq!((ids(&r).len(), &r.body["total"]), (0, &json!(0)));
    let r = q("model=kling-2.5-turbo").await;
    assert_eq!(ids(&r).len(), 3);
    let r = q("model=kling-2.6-t2v").await;
    assert_eq!(ids(&r).len(), 0);
    let r = q("date_range=today").await;
    assert_eq!(ids(&r).len(), 3);
    let r = q("date_range=last_7_days&status=cancelled").await;
    assert_eq!(ids(&r), [b.as_str()]);
    let r = q("date_range=2020-01-01_2020-01-31").await;
    assert_eq!((ids(&r).len(), &r.body["total"]), (0, &json!(0)));
    // Pages.
    let r = q("limit=2").await;
    assert_eq!(
        (ids(&r), &r.body["total"]),
        (vec![c.clone(), b.clone()], &json!(3))
    );
    let r = q("limit=2&page=2").await;
    assert_eq!(
        (ids(&r), &r.body["page"], &r.body["limit"]),
        (vec![a.clone()], &json!(2), &json!(2))
    );
    let r = q("limit=2&page=3").await;
    assert_eq!((ids(&r).len(), &r.body["total"]), (0, &json!(3)));

    // Usage log rows carry the task id: the succeeded task is billed, the cancelled one is
    // not.
    let logs = gw
        .get("/v1/usage/logs?date_range=last_7_days", &gw.key)
        .await;
    assert_eq!(logs.status, 200, "{}", logs.body);
    assert_eq!(logs.body["total"], 1);
    assert_eq!(logs.body["logs"][0]["taskId"], a.as_str());
    assert_eq!(logs.body["logs"][0]["pointsCharged"], a_pts);

    // The listing needs api.read.
    let generate_only = new_key(&gw.store, &gw.account, &[Scope::ApiGenerate]).await;
    let r = gw.get("/unified-video/tasks", &generate_only).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.error().contains("api.read"), "{}", r.error());
    let r = gw.get("/unified-video/tasks", "gmx_nope_nope").await;
    assert_eq!(r.status, 401);
}

/// Makes a task due for polling now.
async fn force_due(gw: &Gateway, task_id: &str) {
    let task = gw.store.tasks.get(task_id).await.unwrap().unwrap();
    let worker = "test-force-due";
    // Lease everything due far in the future, then hand this one back due now.
    let leased = gw
        .store
        .tasks
        .lease_due(
            worker,
            gw.state.clock().now() + Duration::from_secs(7200),
            1000,
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    for t in leased {
        let next = if t.id == task.id {
            Some(gw.state.clock().now())
        } else {
            t.next_poll_at
        };
        gw.store
            .tasks
            .reschedule(&t.id, worker, next)
            .await
            .unwrap();
    }
}

/// Every bad filter is a 400 naming the parameter, the value and what is allowed.
async fn bad_list_filters_name_the_parameter_the_value_and_what_is_allowed(db: Db) {
    let (gw, _p) = cancelling_gateway(db).await;
    let cases: &[(&str, &[&str])] = &[
        (
            "status=done",
            &[
                "status: `done` is not allowed",
                "submitted",
                "cancelled",
                "comma-separated",
            ],
        ),
        (
            "status=succeeded,Failed",
            &["status: `Failed` is not allowed"],
        ),
        ("status=", &["status: `` is not allowed"]),
        ("model=", &["model: `` is not a video model"]),
        (
            "model=nope",
            &["model: `nope` is not a video model", "kling-2.5-turbo"],
        ),
        (
            "model=kling-image",
            &["model: `kling-image` is not a video model"],
        ),
        (
            "date_range=yesterday",
            &[
                "date_range: `yesterday` is not allowed",
                "last_7_days",
                "YYYY-MM-DD_YYYY-MM-DD",
            ],
        ),
        (
            "date_range=2025-03-02_2025-03-01",
            &["date_range: `2025-03-02_2025-03-01` ends before it starts"],
        ),
        ("limit=0", &["limit: `0` is not allowed", "1 to 1000"]),
        ("limit=1001", &["limit: `1001` is not allowed", "1 to 1000"]),
        ("limit=ten", &["limit: `ten` is not allowed"]),
        ("page=0", &["page: `0` is not allowed"]),
        (
            "cursor=abc",
            &[
                "query parameter `cursor` is not known here",
                "page, limit, status, model, date_range",
            ],
        ),
    ];
    for (query, wants) in cases {
        let r = gw
            .get(&format!("/unified-video/tasks?{query}"), &gw.key)
            .await;
        assert_eq!(r.status, 400, "{query}: {}", r.body);
        assert_eq!(r.body["success"], false);
        for want in *wants {
            assert!(
                r.error().contains(want),
                "{query}: `{}` lacks `{want}`",
                r.error()
            );
        }
    }
    let r = gw
        .get("/unified-image/tasks?model=kling-2.5-turbo", &gw.key)
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.error()
            .starts_with("model: `kling-2.5-turbo` is not an image model"),
        "{}",
        r.error()
    );
    assert!(r.error().contains("kling-image"), "{}", r.error());
}

/// Cancel: status `cancelled`, the hold voided once (the balance back whole), the caller's
/// callback sent once, nothing billed; a second cancel is a 409 naming the status and
/// changes nothing.
async fn cancel_voids_the_hold_once_and_calls_back(db: Db) {
    let (gw, p) = cancelling_gateway(db).await;
    let hook = receiver(vec![]).await;
    let mut body = video_body("a fox to cancel", 10);
    body["callbackUrl"] = json!(hook.url);
    let (task, points) = generate(&gw, "/unified-video/generate", body).await;
    assert_eq!(gw.balance().await, BALANCE - points);

    let r = gw
        .post(
            &format!("/unified-video/{task}/cancel"),
            &gw.key,
            &json!({}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["taskId"], task.as_str());
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(r.body["pointsCharged"], 0);
    assert_eq!(r.body["error"], "cancelled at the caller's request");
    assert_eq!(p.cancel_calls(), 1);
    assert_eq!(gw.balance().await, BALANCE, "the hold was voided");
    assert_eq!(gw.entry_kinds().await, ["top_up", "hold", "void"]);

    let status = gw
        .get(&format!("/unified-video/{task}/status"), &gw.key)
        .await;
    assert_eq!(status.body["status"], "cancelled");
    assert_eq!(status.body["pointsCharged"], 0);

    // Again: 409 naming the status; nothing reaches the provider or the ledger.
    let again = gw
        .post(
            &format!("/unified-video/{task}/cancel"),
            &gw.key,
            &json!({}),
            None,
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(
        again.error().contains("not cancellable") && again.error().contains("already cancelled"),
        "{}",
        again.error()
    );
    assert_eq!(p.cancel_calls(), 1);

    // The poller has nothing left to do with it, and the provider's later report does not
    // move it.
    assert_eq!(poller::poll_due(&gw.state).await.unwrap(), 0);
    let row = gw.store.tasks.get(&task).await.unwrap().unwrap();
    assert_eq!(row.next_poll_at, None);
    settle::settle(
        &gw.state,
        &row,
        TaskSnapshot {
            provider_task_id: row.provider_task_id.clone().unwrap(),
            status: TaskStatus::Succeeded,
            assets: Vec::new(),
            error: None,
            usage: None,
            billed_usd_micros: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        gw.store.tasks.get(&task).await.unwrap().unwrap().status,
        TaskStatus::Cancelled
    );
    assert_eq!(gw.entry_kinds().await, ["top_up", "hold", "void"]);
    assert_eq!(gw.balance().await, BALANCE);

    // The caller's callback: once, the cancelled status body.
    assert_eq!(delivery::deliver_due(&gw.state).await.unwrap(), 1);
    assert_eq!(delivery::deliver_due(&gw.state).await.unwrap(), 0);
    assert_eq!(hook.count(), 1);
    let sent: Value = serde_json::from_slice(&hook.hits.lock().unwrap()[0].1).unwrap();
    assert_eq!(sent["taskId"], task.as_str());
    assert_eq!(sent["status"], "cancelled");
    assert_eq!(sent["pointsCharged"], 0);

    // Nothing billed.
    let logs = gw.get("/v1/usage/logs?date_range=today", &gw.key).await;
    assert_eq!(logs.body["total"], 0, "{}", logs.body);

    // An image task is cancelled on the image route.
    let (img, _) = generate(
        &gw,
        "/unified-image/generate",
        json!({"model": "kling-image", "prompt": "a fox portrait"}),
    )
    .await;
    let r = gw
        .post(
            &format!("/unified-image/{img}/cancel"),
            &gw.key,
            &json!({}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(gw.balance().await, BALANCE);
    assert_eq!(
        gw.entry_kinds().await,
        ["top_up", "hold", "void", "hold", "void"]
    );
}

/// What cannot be cancelled is refused without touching the task or its hold: another
/// account's or a missing task (404), a finished one (409 naming its status), a key without
/// `api.generate` (403), a provider that refuses (409) or cannot be reached (5xx, and a
/// retry then works).
async fn cancel_refusals_leave_the_task_and_its_hold_alone(db: Db) {
    let (gw, p) = cancelling_gateway(db).await;
    let (task, points) = generate(&gw, "/unified-video/generate", video_body("a fox", 5)).await;

    // Another account: exactly like a missing task.
    let other = "acct_other_cancel";
    gw.store.ledger.create_account(other).await.unwrap();
    let other_key = new_key(&gw.store, other, &[Scope::ApiGenerate, Scope::ApiRead]).await;
    let theirs = gw
        .post(
            &format!("/unified-video/{task}/cancel"),
            &other_key,
            &json!({}),
            None,
        )
        .await;
    assert_eq!(theirs.status, 404, "{}", theirs.body);
    assert_eq!(
        theirs.error(),
        format!("task `{task}` not found for this account")
    );
    let missing = gw
        .post(
            "/unified-video/task_missing/cancel",
            &gw.key,
            &json!({}),
            None,
        )
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.error(),
        "task `task_missing` not found for this account"
    );
    // Read-only keys cannot cancel.
    let read_only = new_key(&gw.store, &gw.account, &[Scope::ApiRead]).await;
    let r = gw
        .post(
            &format!("/unified-video/{task}/cancel"),
            &read_only,
            &json!({}),
            None,
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.error().contains("api.generate"), "{}", r.error());
    assert_eq!(p.cancel_calls(), 0);

    // The provider refuses (it finished meanwhile): 409, the task and its hold stay.
    p.then(CancelAct::Refuse);
    let r = gw
        .post(
            &format!("/unified-video/{task}/cancel"),
            &gw.key,
            &json!({}),
            None,
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.error().contains("not cancellable")
            && r.error()
                .contains("provider cancelling reports it can no longer be cancelled"),
        "{}",
        r.error()
    );
    // The provider cannot be reached: 502, nothing changes, the caller may retry.
    p.then(CancelAct::Unavailable);
    let r = gw
        .post(
            &format!("/unified-video/{task}/cancel"),
            &gw.key,
            &json!({}),
            None,
        )
        .await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(p.cancel_calls(), 2);
    let row = gw.store.tasks.get(&task).await.unwrap().unwrap();
    assert_eq!(row.status, TaskStatus::Submitted);
    assert_eq!(gw.balance().await, BALANCE - points);
    assert_eq!(gw.entry_kinds().await, ["top_up", "hold"]);

    // A submission whose outcome is still unknown (no upstream id yet): 409, it cannot be
    // found upstream to cancel; its hold stays for the reconciliation.
    let unknown = genmux_store::NewTask {
        id: "task_unconfirmed".into(),
        account_id: gw.account.clone(),
        api_key_id: None,
        model: "kling-2.5-turbo".into(),
        operation: genmux_core::Operation::TextToVideo,
        provider: PROVIDER.into(),
        provider_task_id: None,
        provider_model: None,
        status: TaskStatus::Unknown,
        points: 7,
        request: video_body("an unconfirmed fox", 5),
        callback_url: None,
        callback_token: None,
        project_id: None,
        external_task_id: None,
        caller_external_id: None,
        created_at: gw.state.clock().now(),
        next_poll_at: None,
        trace_context: None,
    };
    gw.store.tasks.insert_with_hold(unknown).await.unwrap();
    let r = gw
        .post(
            "/unified-video/task_unconfirmed/cancel",
            &gw.key,
            &json!({}),
            None,
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(
        r.error(),
        "task `task_unconfirmed` is not cancellable: its submission to provider cancelling is not confirmed yet (status unknown); retry once it is submitted"
    );
    let listed = gw.get("/unified-video/tasks?status=unknown", &gw.key).await;
    assert_eq!(listed.body["tasks"][0]["taskId"], "task_unconfirmed");
    assert_eq!(listed.body["tasks"][0]["cancellable"], false);
    assert_eq!(p.cancel_calls(), 2);
    assert_eq!(gw.balance().await, BALANCE - points - 7);
    gw.store.ledger.void("task_unconfirmed").await.unwrap();

    // A finished task: 409 naming its status, the charge stands.
    p.finish(&upstream_id(&gw, &task).await);
    force_due(&gw, &task).await;
    poller::poll_due(&gw.state).await.unwrap();
    let r = gw
        .post(
            &format!("/unified-video/{task}/cancel"),
            &gw.key,
            &json!({}),
            None,
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(
        r.error(),
        format!(
            "task `{task}` is not cancellable: it is already succeeded (only an unfinished task can be cancelled)"
        )
    );
    assert_eq!(p.cancel_calls(), 2);
    assert_eq!(gw.balance().await, BALANCE - points);
    assert_eq!(
        gw.entry_kinds().await,
        ["top_up", "hold", "hold", "void", "post"]
    );
}

/// The task succeeds (settled by a poll or a provider callback) while its cancellation is
/// on the way to the provider: the first settlement stands — charged once, never also
/// refunded — and the cancel answers 409 naming the status it finished with.
async fn a_cancel_racing_a_settlement_keeps_the_first(db: Db) {
    let (gw, p) = cancelling_gateway(db).await;
    let hook = receiver(vec![]).await;
    let mut body = video_body("a racing fox", 5);
    body["callbackUrl"] = json!(hook.url);
    let (task, points) = generate(&gw, "/unified-video/generate", body).await;
    let (entered_tx, entered) = oneshot::channel();
    let (proceed, proceed_rx) = oneshot::channel();
    p.then(CancelAct::Pause {
        entered: entered_tx,
        proceed: proceed_rx,
    });
    let path = format!("/unified-video/{task}/cancel");
    let cancel = {
        let http = gw.http.clone();
        let url = format!("{}{path}", gw.base);
        let key = gw.key.clone();
        tokio::spawn(async move {
            let resp = http.post(url).bearer_auth(key).send().await.unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap();
            (status, body)
        })
    };
    entered.await.unwrap();
    // Meanwhile the provider reports the task succeeded.
    let row = gw.store.tasks.get(&task).await.unwrap().unwrap();
    let snap = TaskSnapshot {
        provider_task_id: row.provider_task_id.clone().unwrap(),
        status: TaskStatus::Succeeded,
        assets: vec![Asset {
            kind: MediaKind::Video,
            url: "https://cdn.example/raced.mp4".into(),
            id: None,
            duration_secs: Some(5.0),
            index: 0,
            size_bytes: None,
        }],
        error: None,
        usage: None,
        billed_usd_micros: None,
    };
    settle::settle(&gw.state, &row, snap).await.unwrap();
    proceed.send(()).unwrap();
    let (status, body) = cancel.await.unwrap();
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["error"],
        format!(
            "task `{task}` is not cancellable: it finished as succeeded before the cancellation took effect"
        )
    );
    assert_eq!(gw.entry_kinds().await, ["top_up", "hold", "post"]);
    assert_eq!(gw.balance().await, BALANCE - points);
    let s = gw
        .get(&format!("/unified-video/{task}/status"), &gw.key)
        .await;
    assert_eq!(s.body["status"], "succeeded");
    assert_eq!(s.body["pointsCharged"], points);
    // One callback, saying what happened.
    assert_eq!(delivery::deliver_due(&gw.state).await.unwrap(), 1);
    let sent: Value = serde_json::from_slice(&hook.hits.lock().unwrap()[0].1).unwrap();
    assert_eq!(sent["status"], "succeeded");
}

/// Kling `/v1` and the unified API have no cancel endpoint: their tasks answer 409 "not
/// cancellable" naming the provider, and keep running (and are billed) as usual.
async fn kling_and_midsync_tasks_are_not_cancellable(db: Db) {
    let (kling_sim, kling) = kling_sim(sim_config()).await;
    let unified = UnifiedSim::start(UnifiedSimConfig::default())
        .await
        .unwrap();
    let midsync = genmux_midsync::MidsyncProvider::new(
        genmux_midsync::MidsyncConfig::new(unified.base_url(), unified.api_key()),
        genmux_core::Catalog::builtin(),
    )
    .unwrap()
    .into_provider();
    let gw = gateway(db, vec![kling, midsync], |c| {
        c.poll.first_delay = Duration::from_secs(3600)
    })
    .await;
    for (path, body, provider) in [
        (
            "/unified-image",
            json!({"model": "kling-image", "prompt": "a fox portrait"}),
            "kling",
        ),
        (
            "/unified-video",
            json!({"model": "grok-video", "prompt": "a fox in the snow"}),
            "midsync",
        ),
    ] {
        let (task, points) = generate(&gw, &format!("{path}/generate"), body).await;
        let row = gw.store.tasks.get(&task).await.unwrap().unwrap();
        assert_eq!(row.provider, provider);
        let balance = gw.balance().await;
        let r = gw
            .post(&format!("{path}/{task}/cancel"), &gw.key, &json!({}), None)
            .await;
        assert_eq!(r.status, 409, "{provider}: {}", r.body);
        let want = format!("task `{task}` is not cancellable: provider {provider} cannot cancel");
        assert!(r.error().starts_with(&want), "{provider}: {}", r.error());
        assert!(
            r.error().contains("its API offers no way to cancel them"),
            "{}",
            r.error()
        );
        // Untouched: still running, still held.
        let row = gw.store.tasks.get(&task).await.unwrap().unwrap();
        assert!(!row.status.is_final(), "{provider}: {}", row.status);
        assert_eq!(gw.balance().await, balance);
        assert!(points > 0);
        let list = gw.get(&format!("{path}/tasks"), &gw.key).await;
        assert_eq!(list.status, 200, "{}", list.body);
        let item = list.body["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["taskId"] == task.as_str())
            .cloned()
            .unwrap();
        assert_eq!(item["cancellable"], false, "{item}");
    }
    assert_eq!(
        gw.entry_kinds().await,
        ["top_up", "hold", "hold"],
        "nothing refunded"
    );
    kling_sim.shutdown().await;
    unified.shutdown().await;
}

/// A provider that reports a task cancelled (not by our caller): the poll settles it
/// `cancelled`, refunded once, with an error saying who cancelled it.
async fn a_task_its_provider_reports_cancelled_is_refunded(db: Db) {
    let (gw, p) = cancelling_gateway(db).await;
    let (task, _) = generate(&gw, "/unified-video/generate", video_body("a fox", 5)).await;
    p.cancel_upstream(&upstream_id(&gw, &task).await);
    force_due(&gw, &task).await;
    assert_eq!(poller::poll_due(&gw.state).await.unwrap(), 1);
    let s = gw
        .get(&format!("/unified-video/{task}/status"), &gw.key)
        .await;
    assert_eq!(s.body["status"], "cancelled", "{}", s.body);
    assert_eq!(s.body["pointsCharged"], 0);
    assert_eq!(s.body["error"], "the provider reported the task cancelled");
    assert_eq!(gw.balance().await, BALANCE);
    assert_eq!(gw.entry_kinds().await, ["top_up", "hold", "void"]);
    assert_eq!(p.cancel_calls(), 0);
}
