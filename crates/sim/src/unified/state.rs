//! Shared state of the unified simulator: keys and balances, tasks, lifecycle, callbacks.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use genmux_core::{Asset, Catalog, MediaKind, TaskStatus};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::config::{UnifiedEndpoint, UnifiedSimConfig};
use crate::clock::{wall_ms, SimClock};
use crate::error::{Error, Result};
use crate::fault::{FaultInjector, FaultPlan};
use crate::media;

/// One callback the unified simulator attempted.
#[derive(Clone, Debug, PartialEq)]
pub struct UnifiedCallbackRecord {
    /// The task it reported.
    pub task_id: String,
    /// `succeeded` or `failed`.
    pub status: String,
    /// Where it was sent.
    pub url: String,
    /// The exact body sent (the status body).
    pub body: Value,
    /// HTTP status the receiver answered; `None` when lost or unreachable.
    pub response_status: Option<u16>,
    /// Dropped on purpose by a `lost_callback` fault.
    pub lost: bool,
}

/// A rejection: HTTP status and the `error` text of `{success: false, error}`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Rejection {
    pub status: u16,
    pub error: String,
    pub retry_after: Option<u64>,
}

impl Rejection {
    pub fn new(status: u16, error: impl Into<String>) -> Self {
        Rejection {
            status,
            error: error.into(),
            retry_after: None,
        }
    }
}

struct Task {
    id: String,
    key: usize,
    kind: MediaKind,
    model: String,
    points: i64,
    status: TaskStatus,
    error: Option<String>,
    created_at: i64,
    processing_at: i64,
    finish_at: i64,
    will_fail: bool,
    callback_url: Option<String>,
    project_id: Option<String>,
    /// Seconds of each video / number of images.
    seconds: u32,
    images: u32,
    aspect: String,
    assets: Vec<Asset>,
}

struct Pending {
    task_id: String,
    status: TaskStatus,
    url: String,
    body: Value,
}

struct Store {
    tasks: Vec<Task>,
    /// Task id → index in `tasks`.
    by_id: HashMap<String, usize>,
    /// Unfinished tasks by the time of their next transition (ms, index): a request
    /// advances only what is due, not every task ever created.
    due: BinaryHeap<Reverse<(i64, usize)>>,
    balances: Vec<Option<i64>>,
    outbox: Vec<Pending>,
    ids: StdRng,
    outcomes: StdRng,
}

struct Inner {
    config: UnifiedSimConfig,
    base_url: String,
    clock: SimClock,
    faults: FaultInjector<UnifiedEndpoint>,
    store: Mutex<Store>,
    callbacks: Mutex<Vec<UnifiedCallbackRecord>>,
    settling: tokio::sync::Mutex<()>,
    http: reqwest::Client,
}

/// The unified simulator's shared state; cheap to clone.
#[derive(Clone)]
pub struct UnifiedState {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for UnifiedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnifiedState")
            .field("base_url", &self.inner.base_url)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update under these locks is a single assignment or push: still consistent
    // after a panicking holder.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// RFC 3339 (UTC, seconds) of Unix milliseconds.
fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl Task {
    fn status_json(&self) -> Value {
        let mut v = json!({
            "success": true,
            "taskId": self.id,
            "status": self.status.as_str(),
            "model": self.model,
            "pointsCharged": if self.status == TaskStatus::Failed { 0 } else { self.points },
            "createdAt": rfc3339(self.created_at),
        });
        if let Some(p) = &self.project_id {
            v["projectId"] = json!(p);
        }
        if self.status == TaskStatus::Succeeded {
            let urls: Vec<&str> = self.assets.iter().map(|a| a.url.as_str()).collect();
            v["output"] = match self.kind {
                MediaKind::Video => json!({"videoUrls": urls}),
                MediaKind::Image => json!({"imageUrls": urls}),
            };
            v["assets"] = serde_json::to_value(&self.assets).unwrap_or(Value::Null);
        }
        if let Some(e) = &self.error {
            v["error"] = json!(e);
        }
        v
    }
}

impl UnifiedState {
    /// State for `config`, with result URLs under `base_url`.
    pub fn new(config: UnifiedSimConfig, base_url: String) -> Result<Self> {
        config.validate().map_err(Error::Config)?;
        let clock = SimClock::new(config.clock, config.clock_start_ms.unwrap_or_else(wall_ms));
        let faults =
            FaultInjector::new(config.seed, config.faults.clone()).map_err(Error::Config)?;
        let http = reqwest::Client::builder()
            .timeout(config.callback_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the callback HTTP client: {e}")))?;
        let store = Store {
            tasks: Vec::new(),
            by_id: HashMap::new(),
            due: BinaryHeap::new(),
            balances: config.keys.iter().map(|k| k.balance).collect(),
            outbox: Vec::new(),
            ids: StdRng::seed_from_u64(config.seed ^ 0x0001_D50F_7A5D),
            outcomes: StdRng::seed_from_u64(config.seed ^ 0x0000_5EED_0002),
        };
        Ok(UnifiedState {
            inner: Arc::new(Inner {
                store: Mutex::new(store),
                config,
                base_url: base_url.trim_end_matches('/').to_string(),
                clock,
                faults,
                callbacks: Mutex::new(Vec::new()),
                settling: tokio::sync::Mutex::new(()),
                http,
            }),
        })
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &UnifiedSimConfig {
        &self.inner.config
    }

    /// The simulated clock.
    pub fn clock(&self) -> SimClock {
        self.inner.clock.clone()
    }

    /// Replaces one endpoint's fault plan.
    pub fn set_faults(&self, endpoint: UnifiedEndpoint, plan: FaultPlan) -> Result<()> {
        self.inner.faults.set(endpoint, plan).map_err(Error::Config)
    }

    /// Replaces every endpoint's fault plan.
    pub fn set_all_faults(&self, plan: FaultPlan) -> Result<()> {
        self.inner.faults.set_all(plan).map_err(Error::Config)
    }

    pub(crate) fn faults(&self) -> &FaultInjector<UnifiedEndpoint> {
        &self.inner.faults
    }

    /// Every callback attempted so far.
    pub fn callbacks(&self) -> Vec<UnifiedCallbackRecord> {
        lock(&self.inner.callbacks).clone()
    }

    /// Points left for `key` (`None` when unknown or unlimited).
    pub fn balance(&self, key: &str) -> Option<i64> {
        let idx = self.inner.config.keys.iter().position(|k| k.key == key)?;
        lock(&self.inner.store).balances[idx]
    }

    /// Sets the points left for `key` (`None` = unlimited); `false` when the key is
    /// unknown. A key whose balance cannot cover a generation is answered 402, as an
    /// upstream account out of credit is.
    pub fn set_balance(&self, key: &str, balance: Option<i64>) -> bool {
        let Some(idx) = self.inner.config.keys.iter().position(|k| k.key == key) else {
            return false;
        };
        lock(&self.inner.store).balances[idx] = balance;
        true
    }

    /// The points a task is charged (its `pointsCharged`: 0 once it failed), or `None` for
    /// an unknown task id.
    pub fn points_charged(&self, task_id: &str) -> Option<i64> {
        let mut store = self.store();
        self.advance_tasks(&mut store);
        let t = &store.tasks[*store.by_id.get(task_id)?];
        Some(if t.status == TaskStatus::Failed {
            0
        } else {
            t.points
        })
    }

    /// The key index of a `Bearer` header.
    pub(crate) fn authenticate(
        &self,
        header: Option<&str>,
    ) -> std::result::Result<usize, Rejection> {
        let token = header
            .and_then(|h| h.trim().strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Rejection::new(
                    401,
                    "missing API key: send `Authorization: Bearer <api key>`",
                )
            })?;
        self.inner
            .config
            .keys
            .iter()
            .position(|k| k.key == token)
            .ok_or_else(|| Rejection::new(401, "invalid API key"))
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.inner.store)
    }

    /// Validates and prices a body as `/quote` and `/generate` do.
    fn price(
        &self,
        kind: MediaKind,
        body: &Value,
    ) -> std::result::Result<genmux_core::Quote, Rejection> {
        let catalog = Catalog::builtin();
        let req = catalog
            .parse_request(body)
            .map_err(|e| Rejection::new(400, e.message()))?;
        let spec = catalog
            .require(&req.model)
            .map_err(|e| Rejection::new(400, e.message()))?;
        if spec.kind != kind {
            let (is, path) = match spec.kind {
                MediaKind::Video => ("a video", "/unified-video"),
                MediaKind::Image => ("an image", "/unified-image"),
            };
            return Err(Rejection::new(
                400,
                format!("model: {} is {is} model; use {path}", spec.id),
            ));
        }
        catalog
            .quote(&req)
            .map_err(|e| Rejection::new(400, e.message()))
    }

    /// `POST /unified-*/quote`.
    pub(crate) fn quote(
        &self,
        kind: MediaKind,
        body: &Value,
    ) -> std::result::Result<Value, Rejection> {
        let q = self.price(kind, body)?;
        Ok(json!({
            "success": true,
            "model": q.model,
            "pointsCharged": q.points,
            "billedUnits": q.billed_units,
        }))
    }

    /// `POST /unified-*/generate`.
    pub(crate) fn generate(
        &self,
        key: usize,
        kind: MediaKind,
        body: &Value,
    ) -> std::result::Result<Value, Rejection> {
        let q = self.price(kind, body)?;
        if let Some(url) = &q.request.callback_url {
            let ok = url::Url::parse(url)
                .map(|u| matches!(u.scheme(), "http" | "https"))
                .unwrap_or(false);
            if !ok {
                return Err(Rejection::new(
                    400,
                    format!("callbackUrl: {url:?} is not an http(s) URL"),
                ));
            }
        }
        let cfg = &self.inner.config;
        let mut store = self.store();
        if let Some(balance) = store.balances[key] {
            if balance < q.points {
                return Err(Rejection::new(
                    402,
                    format!(
                        "insufficient points: this generation costs {} points, {balance} left",
                        q.points
                    ),
                ));
            }
            store.balances[key] = Some(balance - q.points);
        }
        let now = self.inner.clock.now_ms();
        let processing_at = now + cfg.queue.as_millis() as i64;
        let id_bytes: [u8; 12] = store.ids.random();
        let id = format!("usim_{}", B64URL.encode(id_bytes));
        let will_fail = store.outcomes.random::<f64>() < cfg.failure_rate;
        let req = &q.request;
        let task = Task {
            id: id.clone(),
            key,
            kind,
            model: q.model.clone(),
            points: q.points,
            status: TaskStatus::Submitted,
            error: None,
            created_at: now,
            processing_at,
            finish_at: processing_at + cfg.render.as_millis() as i64,
            will_fail,
            callback_url: req.callback_url.clone(),
            project_id: req.project_id.clone(),
            seconds: req
                .multi_shot_seconds()
                .or(req.duration)
                .or(req.lip_sync_seconds())
                .unwrap_or(5)
                .max(1),
            images: req.n.unwrap_or(1).max(1),
            aspect: req.aspect_ratio.clone().unwrap_or_else(|| "16:9".into()),
            assets: Vec::new(),
        };
        let index = store.tasks.len();
        store.due.push(Reverse((task.processing_at, index)));
        store.by_id.insert(task.id.clone(), index);
        store.tasks.push(task);
        Ok(json!({
            "success": true,
            "taskId": id,
            "providerTaskId": id,
            "model": q.model,
            "providerModel": q.model,
            "pointsCharged": q.points,
            "status": "submitted",
            "estimatedTimeSec": (cfg.queue + cfg.render).as_secs(),
        }))
    }

    /// `GET /unified-*/{taskId}/status`.
    pub(crate) fn status(
        &self,
        key: usize,
        kind: MediaKind,
        id: &str,
    ) -> std::result::Result<Value, Rejection> {
        let mut store = self.store();
        self.advance_tasks(&mut store);
        store
            .by_id
            .get(id)
            .map(|&i| &store.tasks[i])
            .filter(|t| t.key == key && t.kind == kind)
            .map(Task::status_json)
            .ok_or_else(|| Rejection::new(404, format!("task {id:?} not found")))
    }

    /// Applies the transitions due now; refunds failed tasks; queues final callbacks.
    fn advance_tasks(&self, store: &mut Store) {
        let now = self.inner.clock.now_ms();
        let base = &self.inner.base_url;
        let mut refunds = Vec::new();
        while let Some(&Reverse((at, i))) = store.due.peek() {
            if at > now {
                break;
            }
            store.due.pop();
            let t = &mut store.tasks[i];
            if t.status == TaskStatus::Submitted && now >= t.processing_at {
                t.status = TaskStatus::Processing;
            }
            if t.status == TaskStatus::Processing && now < t.finish_at {
                store.due.push(Reverse((t.finish_at, i)));
                continue;
            }
            if t.status == TaskStatus::Processing && now >= t.finish_at {
                if t.will_fail {
                    t.status = TaskStatus::Failed;
                    t.error = Some(self.inner.config.failure_message.clone());
                    refunds.push((t.key, t.points));
                } else {
                    t.status = TaskStatus::Succeeded;
                    t.assets = match t.kind {
                        MediaKind::Video => vec![Asset {
                            kind: MediaKind::Video,
                            url: format!("{base}/media/videos/{}/0.mp4", t.id),
                            id: Some(format!("{}-0", t.id)),
                            duration_secs: Some(f64::from(t.seconds)),
                            index: 0,
                            size_bytes: None,
                        }],
                        MediaKind::Image => (0..t.images)
                            .map(|i| Asset {
                                kind: MediaKind::Image,
                                url: format!("{base}/media/images/{}/{i}.png", t.id),
                                id: Some(format!("{}-{i}", t.id)),
                                duration_secs: None,
                                index: i,
                                size_bytes: None,
                            })
                            .collect(),
                    };
                }
                if let Some(url) = &t.callback_url {
                    store.outbox.push(Pending {
                        task_id: t.id.clone(),
                        status: t.status,
                        url: url.clone(),
                        body: t.status_json(),
                    });
                }
            }
        }
        for (key, points) in refunds {
            if let Some(b) = store.balances[key].as_mut() {
                *b += points;
            }
        }
    }

    /// Moves due tasks and delivers pending callbacks; returns when all were attempted.
    pub async fn settle(&self) {
        let _one_at_a_time = self.inner.settling.lock().await;
        let pending = {
            let mut store = self.store();
            self.advance_tasks(&mut store);
            std::mem::take(&mut store.outbox)
        };
        for cb in pending {
            let lost = self.inner.faults.lose_callback(UnifiedEndpoint::Generate);
            let webhook_id = format!("msg_{}_{}", cb.task_id, cb.status.as_str());
            let mut record = UnifiedCallbackRecord {
                task_id: cb.task_id.clone(),
                status: cb.status.as_str().to_string(),
                url: cb.url.clone(),
                body: cb.body.clone(),
                response_status: None,
                lost,
            };
            if !lost {
                let body = cb.body.to_string().into_bytes();
                let mut req = self
                    .inner
                    .http
                    .post(&cb.url)
                    .header(http::header::CONTENT_TYPE, "application/json");
                match &self.inner.config.webhook_secret {
                    Some(secret) => {
                        for (name, value) in
                            secret.headers(&webhook_id, wall_ms().div_euclid(1000), &body)
                        {
                            req = req.header(name, value);
                        }
                    }
                    None => req = req.header(genmux_core::webhook::HEADER_ID, &webhook_id),
                }
                match req.body(body).send().await {
                    Ok(r) => record.response_status = Some(r.status().as_u16()),
                    Err(e) => tracing::debug!(url = %cb.url, error = %e, "callback not delivered"),
                }
            }
            lock(&self.inner.callbacks).push(record);
        }
    }

    /// The bytes behind a `/media/...` path.
    pub(crate) fn media(&self, path: &str) -> Option<(&'static str, Vec<u8>)> {
        let mut store = self.store();
        self.advance_tasks(&mut store);
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let (kind, task_id, file) = match parts.as_slice() {
            [kind, task, file] => (*kind, *task, *file),
            _ => return None,
        };
        let t = store
            .by_id
            .get(task_id)
            .map(|&i| &store.tasks[i])
            .filter(|t| t.status == TaskStatus::Succeeded)?;
        let seed = task_id
            .bytes()
            .fold(11u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        let (w, h) = media::size_for_aspect(&t.aspect);
        match (kind, t.kind) {
            ("videos", MediaKind::Video) if file == "0.mp4" => Some((
                "video/mp4",
                media::mp4(w, h, u64::from(t.seconds) * 1000, seed),
            )),
            ("images", MediaKind::Image) => {
                let i: u32 = file.strip_suffix(".png")?.parse().ok()?;
                (i < t.images).then(|| {
                    (
                        "image/png",
                        media::png(w, h, seed.wrapping_add(u64::from(i))),
                    )
                })
            }
            _ => None,
        }
    }
}

impl crate::running::SimState for UnifiedState {
    fn router(&self) -> axum::Router {
        super::routes::router(self.clone())
    }

    fn clock(&self) -> SimClock {
        self.inner.clock.clone()
    }

    fn tick_interval(&self) -> std::time::Duration {
        self.inner.config.tick_interval
    }

    fn settle_due(&self) -> impl std::future::Future<Output = ()> + Send {
        self.settle()
    }
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_649_367_553_000), "2022-04-07T21:39:13Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}
