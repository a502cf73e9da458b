//! Shared simulator state: configuration, clock, faults, the store, the task lifecycle
//! and callback delivery.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{json, Value};

use super::auth::encode_token;
use super::config::{AuthClock, Endpoint, Feature, KlingSimConfig};
use super::envelope::KlingError;
use super::store::{
    units_string, Face, Output, PendingCallback, Session, Status, Store, Task, VideoRecord,
    RETENTION_MS,
};
use super::validate::{self, Ctx, FaceSource, Measured, IDENTIFY_FACE_UNITS, OUTSIDE_VIDEO_MS};
use crate::clock::{wall_ms, SimClock};
use crate::error::{Error, Result};
use crate::fault::{FaultInjector, FaultPlan};
use crate::media;

/// One callback the simulator attempted.
#[derive(Clone, Debug, PartialEq)]
pub struct CallbackRecord {
    /// The task it reported.
    pub task_id: String,
    /// The `task_status` in the body.
    pub task_status: String,
    /// Where it was sent.
    pub url: String,
    /// The exact body sent (the bare task object).
    pub body: Value,
    /// HTTP status the receiver answered; `None` when lost or unreachable.
    pub response_status: Option<u16>,
    /// Dropped on purpose by a `lost_callback` fault.
    pub lost: bool,
}

struct Inner {
    config: KlingSimConfig,
    base_url: String,
    clock: SimClock,
    faults: FaultInjector<Endpoint>,
    store: Mutex<Store>,
    callbacks: Mutex<Vec<CallbackRecord>>,
    /// Held across a whole settle (transitions and deliveries), so a test's `advance`
    /// returns only after every due callback went out, even if the ticker started first.
    settling: tokio::sync::Mutex<()>,
    http: reqwest::Client,
}

/// The simulator's shared state; cheap to clone.
#[derive(Clone)]
pub struct KlingState {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for KlingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KlingState")
            .field("base_url", &self.inner.base_url)
            .finish()
    }
}

/// A short snapshot of a task, for tests and demos.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskSummary {
    /// Task id.
    pub task_id: String,
    /// Which endpoint created it.
    pub feature: Feature,
    /// `submitted`, `processing`, `succeed` or `failed`.
    pub task_status: String,
    /// Index of the owning account in the configuration.
    pub account: usize,
    /// The `external_task_id` the creator sent, if any.
    pub external_task_id: Option<String>,
    /// The units this task is charged once it succeeds (its `final_unit_deduction`; a
    /// failed task is charged nothing).
    pub units: f64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data stays consistent even if a holder panicked mid-way: every update
    // is a single assignment or push.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl KlingState {
    /// State for `config`, with result URLs under `base_url`.
    pub fn new(config: KlingSimConfig, base_url: String) -> Result<Self> {
        config.validate().map_err(Error::Config)?;
        let clock = SimClock::new(config.clock, config.clock_start_ms.unwrap_or_else(wall_ms));
        let faults =
            FaultInjector::new(config.seed, config.faults.clone()).map_err(Error::Config)?;
        let http = reqwest::Client::builder()
            .timeout(config.callback_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the callback HTTP client: {e}")))?;
        Ok(KlingState {
            inner: Arc::new(Inner {
                store: Mutex::new(Store::new(config.seed)),
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
    pub fn config(&self) -> &KlingSimConfig {
        &self.inner.config
    }

    /// The base of result URLs.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The simulated clock.
    pub fn clock(&self) -> SimClock {
        self.inner.clock.clone()
    }

    /// Seconds on the clock that JWTs and `webhook-timestamp` use.
    pub(crate) fn real_world_now(&self) -> i64 {
        match self.inner.config.auth_clock {
            AuthClock::Wall => wall_ms().div_euclid(1000),
            AuthClock::Sim => self.inner.clock.now_secs(),
        }
    }

    /// A valid token for account `idx`.
    pub(crate) fn valid_token(&self, idx: usize) -> String {
        let a = &self.inner.config.accounts[idx];
        let now = self.real_world_now();
        encode_token(&a.access_key, &a.secret_key, now + 1800, now - 5)
    }

    pub(crate) fn faults(&self) -> &FaultInjector<Endpoint> {
        &self.inner.faults
    }

    /// Replaces one endpoint's fault plan.
    pub fn set_faults(&self, endpoint: Endpoint, plan: FaultPlan) -> Result<()> {
        self.inner.faults.set(endpoint, plan).map_err(Error::Config)
    }

    /// Replaces every endpoint's fault plan.
    pub fn set_all_faults(&self, plan: FaultPlan) -> Result<()> {
        self.inner.faults.set_all(plan).map_err(Error::Config)
    }

    /// Every callback attempted so far.
    pub fn callbacks(&self) -> Vec<CallbackRecord> {
        lock(&self.inner.callbacks).clone()
    }

    /// Every task, oldest first, after applying the transitions due now.
    pub fn tasks(&self) -> Vec<TaskSummary> {
        let mut store = self.store();
        self.advance_tasks(&mut store);
        store
            .tasks
            .iter()
            .map(|t| TaskSummary {
                task_id: t.task_id.clone(),
                feature: t.feature,
                task_status: t.status.as_str().to_string(),
                account: t.account,
                external_task_id: t.plan.external_task_id.clone(),
                units: t.plan.units,
            })
            .collect()
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.inner.store)
    }

    /// Applies every transition due at the current clock and queues its callbacks.
    /// Transitions carry their scheduled time as `updated_at`, so results do not depend
    /// on when the ticker or a request happened to look.
    fn advance_tasks(&self, store: &mut Store) {
        let now = self.inner.clock.now_ms();
        let base = self.inner.base_url.clone();
        let mut events: Vec<PendingCallback> = Vec::new();
        let mut new_videos: Vec<VideoRecord> = Vec::new();
        for i in 0..store.tasks.len() {
            let t = &store.tasks[i];
            let video_done =
                !t.status.is_final() && now >= t.finish_at && !t.will_fail && !t.feature.is_image();
            let video_id = if video_done {
                Some(store.new_uuid())
            } else {
                None
            };
            let t = &mut store.tasks[i];
            if t.status == Status::Submitted && now >= t.processing_at {
                t.status = Status::Processing;
                t.updated_at = t.processing_at;
                if let Some(url) = &t.plan.callback_url {
                    events.push(PendingCallback {
                        at: t.updated_at,
                        task_id: t.task_id.clone(),
                        feature: t.feature,
                        status: t.status,
                        url: url.clone(),
                        body: t.json(),
                    });
                }
            }
            if t.status == Status::Processing && now >= t.finish_at {
                t.updated_at = t.finish_at;
                if t.will_fail {
                    t.status = Status::Failed;
                    t.status_msg = self.inner.config.failure_message.clone();
                } else {
                    t.status = Status::Succeed;
                    match &t.plan.output {
                        Output::Video {
                            duration_ms,
                            aspect,
                        } => {
                            let id = video_id
                                .clone()
                                .unwrap_or_else(|| format!("{}-video", t.task_id));
                            let rec = VideoRecord {
                                url: format!("{base}/media/videos/{id}.mp4"),
                                id,
                                account: t.account,
                                duration_ms: *duration_ms,
                                aspect: aspect.clone(),
                                created_at: t.finish_at,
                                source: Some(t.feature),
                                model: t.plan.model.clone(),
                                mode: t.plan.mode.clone(),
                            };
                            t.videos = vec![rec.clone()];
                            new_videos.push(rec);
                        }
                        Output::Images { n, .. } => {
                            t.images = (0..*n)
                                .map(|k| format!("{base}/media/images/{}/{k}.png", t.task_id))
                                .collect();
                        }
                    }
                }
                if let Some(url) = &t.plan.callback_url {
                    events.push(PendingCallback {
                        at: t.updated_at,
                        task_id: t.task_id.clone(),
                        feature: t.feature,
                        status: t.status,
                        url: url.clone(),
                        body: t.json(),
                    });
                }
            }
        }
        for v in new_videos {
            store.videos.insert(v.id.clone(), v);
        }
        // Callbacks go out in the order their status changes happened.
        events.sort_by_key(|e| e.at);
        store.outbox.extend(events);
    }

    /// Moves due tasks and delivers pending callbacks; returns when all were attempted.
    /// Callbacks of different tasks go out at once (up to
    /// [`crate::framework::CALLBACKS_IN_FLIGHT`]), as Kling's do; one task's keep their
    /// order (issue 21: sent one after another, they held the sandbox to the pace of one
    /// receiver's answers).
    pub async fn settle(&self) {
        let _one_at_a_time = self.inner.settling.lock().await;
        let pending = {
            let mut store = self.store();
            self.advance_tasks(&mut store);
            std::mem::take(&mut store.outbox)
        };
        let mut per_task: Vec<Vec<(PendingCallback, bool)>> = Vec::new();
        let mut slot: std::collections::HashMap<String, usize> = Default::default();
        for cb in pending {
            // Drawn in queue order, so a seed loses the same callbacks however the sends
            // interleave.
            let lost = self
                .inner
                .faults
                .lose_callback(Endpoint::Create(cb.feature));
            let i = *slot.entry(cb.task_id.clone()).or_insert_with(|| {
                per_task.push(Vec::new());
                per_task.len() - 1
            });
            per_task[i].push((cb, lost));
        }
        let mut sending = tokio::task::JoinSet::new();
        for calls in per_task {
            if sending.len() >= crate::framework::CALLBACKS_IN_FLIGHT {
                sending.join_next().await;
            }
            let sim = self.clone();
            sending.spawn(async move {
                for (cb, lost) in calls {
                    sim.deliver(cb, lost).await;
                }
            });
        }
        while sending.join_next().await.is_some() {}
    }

    async fn deliver(&self, cb: PendingCallback, lost: bool) {
        let mut record = CallbackRecord {
            task_id: cb.task_id.clone(),
            task_status: cb.status.as_str().to_string(),
            url: cb.url.clone(),
            body: cb.body.clone(),
            response_status: None,
            lost,
        };
        if !lost {
            let body = cb.body.to_string().into_bytes();
            // spec "Errors, limits, callbacks": the bare task object, no headers beyond the
            // HTTP basics; Kling does not sign its callbacks.
            let req = self
                .inner
                .http
                .post(&cb.url)
                .header(http::header::CONTENT_TYPE, "application/json");
            match req.body(body).send().await {
                Ok(resp) => record.response_status = Some(resp.status().as_u16()),
                Err(e) => {
                    tracing::debug!(url = %cb.url, error = %e, "simulator callback not delivered")
                }
            }
        }
        lock(&self.inner.callbacks).push(record);
    }

    fn ctx<'a>(
        &'a self,
        store: &'a Store,
        account: usize,
        measured: Option<&'a Measured>,
    ) -> Ctx<'a> {
        Ctx {
            store,
            account,
            now: self.inner.clock.now_ms(),
            strict: self.inner.config.strict_fields,
            base_url: &self.inner.base_url,
            measured,
        }
    }

    /// Downloads and measures the body's `video_url` when it is under one of the
    /// configured `measured_media` prefixes (Kling reads the video it is given: its length
    /// decides a motion-control output and a lip-sync session). Done before validation,
    /// outside the store's lock.
    pub(crate) async fn measure(&self, body: &Value) -> Option<Measured> {
        let url = body.get("video_url")?.as_str()?.trim();
        if !self
            .inner
            .config
            .measured_media
            .iter()
            .any(|prefix| !prefix.is_empty() && url.starts_with(prefix.as_str()))
        {
            return None;
        }
        let facts = async {
            let resp = self
                .inner
                .http
                .get(url)
                .send()
                .await
                .map_err(|e| format!("download failed: {e}"))?;
            if !resp.status().is_success() {
                return Err(format!("download answered HTTP {}", resp.status()));
            }
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| format!("download failed: {e}"))?;
            media::mp4_facts(&bytes).ok_or_else(|| "no moov/mvhd/tkhd boxes".to_string())
        }
        .await;
        Some(Measured {
            url: url.to_string(),
            facts,
        })
    }

    /// `POST <feature path>`: validate, check access, safety, uniqueness and concurrency,
    /// then create the task.
    pub(crate) fn create(
        &self,
        account: usize,
        feature: Feature,
        body: &Value,
        measured: Option<&Measured>,
    ) -> std::result::Result<Value, KlingError> {
        let cfg = &self.inner.config;
        let mut store = self.store();
        self.advance_tasks(&mut store);
        let plan = validate::plan(feature, body, &self.ctx(&store, account, measured))?;
        if let Some(allowed) = &cfg.accounts[account].allowed_models {
            if !allowed.contains(&plan.model) {
                return Err(KlingError::new(
                    1103,
                    format!("this account has no access to model {:?}", plan.model),
                ));
            }
        }
        for text in &plan.texts {
            let lower = text.to_lowercase();
            if let Some(w) = cfg
                .blocked_words
                .iter()
                .find(|w| !w.is_empty() && lower.contains(&w.to_lowercase()))
            {
                return Err(KlingError::new(
                    1301,
                    format!("the prompt failed the content safety check (contains {w:?})"),
                ));
            }
        }
        if let Some(ext) = &plan.external_task_id {
            if let Some(&i) = store.by_external.get(&(account, ext.clone())) {
                return Err(KlingError::invalid_param(format!(
                    "external_task_id {ext:?} is already used by task {}; it must be unique",
                    store.tasks[i].task_id
                )));
            }
        }
        // spec, errors: concurrency per account and pack (video, image); an image task
        // holds n slots; a task holds its slots until it ends.
        let image = feature.is_image();
        let limit = if image {
            cfg.accounts[account].image_concurrency
        } else {
            cfg.accounts[account].video_concurrency
        };
        let used = store.slots_in_use(account, image);
        let slots = plan.slots();
        if used + slots > limit {
            return Err(KlingError::new(
                1303,
                format!(
                    "concurrency over the resource pack limit: {used} of {limit} {} slots in use, this task needs {slots}",
                    if image { "image" } else { "video" }
                ),
            ));
        }
        let now = self.inner.clock.now_ms();
        let t = &cfg.timings;
        let processing_at = now + t.queue.as_millis() as i64;
        let render = if image { t.image } else { t.video };
        let will_fail = store.draw_failure(cfg.failure_rate);
        let task = Task {
            feature,
            account,
            task_id: store.new_id(),
            status: Status::Submitted,
            status_msg: String::new(),
            created_at: now,
            updated_at: now,
            processing_at,
            finish_at: processing_at + render.as_millis() as i64,
            will_fail,
            videos: Vec::new(),
            images: Vec::new(),
            plan,
        };
        let out = task.created_json();
        let idx = store.tasks.len();
        store.by_id.insert(task.task_id.clone(), idx);
        if let Some(ext) = &task.plan.external_task_id {
            store.by_external.insert((account, ext.clone()), idx);
        }
        store.tasks.push(task);
        Ok(out)
    }

    /// `GET <feature path>/{id}`.
    pub(crate) fn query(
        &self,
        account: usize,
        feature: Feature,
        id: &str,
    ) -> std::result::Result<Value, KlingError> {
        let mut store = self.store();
        self.advance_tasks(&mut store);
        store
            .find(account, feature, id)
            .map(Task::json)
            .ok_or_else(|| {
                KlingError::new(
                    1203,
                    format!(
                        "task {id:?} not found at {}{}",
                        feature.path(),
                        if feature.query_accepts_external_id() {
                            " (looked up as task_id and as external_task_id)"
                        } else {
                            " (this endpoint looks up task_id only)"
                        }
                    ),
                )
            })
    }

    /// `GET <feature path>?pageNum&pageSize`: newest first.
    pub(crate) fn list(&self, account: usize, feature: Feature, page: u32, size: u32) -> Value {
        let mut store = self.store();
        self.advance_tasks(&mut store);
        let items: Vec<Value> = store
            .tasks
            .iter()
            .rev()
            .filter(|t| t.account == account && t.feature == feature)
            .skip(((page - 1) * size) as usize)
            .take(size as usize)
            .map(Task::json)
            .collect();
        Value::Array(items)
    }

    /// `POST /v1/videos/identify-face`.
    pub(crate) fn identify_face(
        &self,
        account: usize,
        body: &Value,
        measured: Option<&Measured>,
    ) -> std::result::Result<Value, KlingError> {
        let mut store = self.store();
        self.advance_tasks(&mut store);
        let source = validate::identify_face(body, &self.ctx(&store, account, measured))?;
        let now = self.inner.clock.now_ms();
        let video = match source {
            FaceSource::Known(v) => v,
            FaceSource::Outside(url, measured) => {
                let id = store.new_uuid();
                // The lip-synced video is as long as this one (spec §1: the audio is
                // placed into it at sound_insert_time).
                let (duration_ms, aspect) =
                    measured.unwrap_or((OUTSIDE_VIDEO_MS, "16:9".to_string()));
                let rec = VideoRecord {
                    id: id.clone(),
                    url,
                    account,
                    duration_ms,
                    aspect,
                    created_at: now,
                    source: None,
                    model: String::new(),
                    mode: String::new(),
                };
                store.videos.insert(id, rec.clone());
                rec
            }
        };
        let session_id = store.new_id();
        // One face, visible the whole video (the simulator's "face detector").
        let faces = vec![Face {
            face_id: "0".into(),
            start_ms: 0,
            end_ms: video.duration_ms,
        }];
        let base = &self.inner.base_url;
        let face_data: Vec<Value> = faces
            .iter()
            .map(|f| {
                json!({
                    "face_id": f.face_id,
                    "face_image": format!("{base}/media/faces/{session_id}/{}.png", f.face_id),
                    "start_time": f.start_ms,
                    "end_time": f.end_ms,
                })
            })
            .collect();
        store.sessions.insert(
            session_id.clone(),
            Session {
                account,
                video,
                faces,
                created_at: now,
            },
        );
        // Issue 15 point 5: identify-face answers with its own final_unit_deduction.
        Ok(json!({"session_id": session_id, "face_data": face_data,
            "final_unit_deduction": units_string(IDENTIFY_FACE_UNITS)}))
    }

    /// The bytes and content type behind a `/media/...` path, if it exists and is
    /// younger than 30 days.
    pub(crate) fn media(&self, path: &str) -> Option<(&'static str, Vec<u8>)> {
        let mut store = self.store();
        self.advance_tasks(&mut store);
        let now = self.inner.clock.now_ms();
        let seed_of = |s: &str| {
            s.bytes()
                .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64))
        };
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match parts.as_slice() {
            ["videos", file] => {
                let id = file.strip_suffix(".mp4")?;
                let v = store.videos.get(id).filter(|v| v.source.is_some())?;
                if now - v.created_at > RETENTION_MS {
                    return None;
                }
                let (w, h) = media::size_for_aspect(&v.aspect);
                Some(("video/mp4", media::mp4(w, h, v.duration_ms, seed_of(id))))
            }
            ["images", task_id, file] => {
                let k: usize = file.strip_suffix(".png")?.parse().ok()?;
                let t = &store.tasks[*store.by_id.get(*task_id)?];
                if t.images.len() <= k || now - t.finish_at > RETENTION_MS {
                    return None;
                }
                let aspect = match &t.plan.output {
                    Output::Images { aspect, .. } => aspect.as_str(),
                    Output::Video { .. } => return None,
                };
                let (w, h) = media::size_for_aspect(aspect);
                Some((
                    "image/png",
                    media::png(w, h, seed_of(task_id).wrapping_add(k as u64)),
                ))
            }
            ["faces", session_id, file] => {
                let face = file.strip_suffix(".png")?;
                let s = store.sessions.get(*session_id)?;
                s.faces.iter().find(|f| f.face_id == face)?;
                Some(("image/png", media::png(64, 64, seed_of(session_id))))
            }
            _ => None,
        }
    }
}

impl crate::running::SimState for KlingState {
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
