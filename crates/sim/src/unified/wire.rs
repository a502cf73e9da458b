//! The unified API's wire on the simulator framework: `/unified-video` and
//! `/unified-image` (`models`, `quote`, `generate`, `{taskId}/status`), camelCase bodies,
//! `{success: false, error}` rejections, catalog validation and prices, points balances
//! and Standard Webhooks-signed callbacks when a task ends.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use genmux_core::webhook::WebhookSecret;
use genmux_core::{Asset, Catalog, MediaKind};
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use super::config::UnifiedEndpoint;
use crate::clock::wall_ms;
use crate::framework::{
    guarded, json_ok, read_json, AuthFailure, InjectedFault, MediaSpec, Outgoing, OverConcurrency,
    Phase, Record, Refusal, Sim, SimConfig, SimHandle, Wire, WireError,
};
use crate::media;

/// How long result links stay valid: the unified API keeps results for as long as its
/// tasks (spec/unified-api.md names no expiry); 30 days, as Kling's. The same in tests and
/// in the sandbox (`genmux sim`), where the framework's default of 24 h expired links 86 s
/// after their task at 1,000× and failed the copies of a gateway running behind.
pub(crate) const MEDIA_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// Largest body read (Base64 images travel inline).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// The unified API as a framework simulator.
#[derive(Debug)]
pub struct Unified;

/// The unified simulator's own configuration.
#[derive(Clone, Debug)]
pub struct UnifiedWire {
    /// `error` of failed tasks.
    pub failure_message: String,
    /// When set, callbacks carry Standard Webhooks signature headers.
    pub webhook_secret: Option<WebhookSecret>,
}

impl Default for UnifiedWire {
    fn default() -> Self {
        UnifiedWire {
            failure_message: "generation failed: the simulator's configured failure share".into(),
            webhook_secret: None,
        }
    }
}

/// What the unified simulator keeps of a generation.
#[derive(Clone, Debug)]
pub struct UnifiedTask {
    kind: MediaKind,
    model: String,
    points: i64,
    project_id: Option<String>,
    /// Seconds of the video.
    seconds: u32,
    /// Number of images.
    images: u32,
    aspect: String,
}

/// A rejection: HTTP status and the `error` text of `{success: false, error}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    status: u16,
    error: String,
    retry_after: Option<u64>,
}

impl Rejection {
    fn new(status: u16, error: impl Into<String>) -> Self {
        Rejection {
            status,
            error: error.into(),
            retry_after: None,
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = (
            status,
            axum::Json(json!({"success": false, "error": self.error})),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(http::header::RETRY_AFTER, v);
            }
        }
        r
    }
}

impl WireError for Rejection {
    /// The plan's code picks the class where the status alone does not tell it:
    /// 1300/1301 are content-policy refusals, which the unified API words as such (a 400
    /// that says "content policy"), so a client can tell them from an invalid request.
    fn from_fault(fault: InjectedFault) -> Self {
        let error = if fault.is_content_policy() {
            "content policy: the request was refused by the safety system (injected fault)"
        } else {
            match fault.status {
                429 => "rate limited: retry after the Retry-After delay",
                503 => "service unavailable",
                504 => "upstream timeout",
                500 => "internal error",
                _ => "request refused (injected fault)",
            }
        };
        Rejection {
            status: fault.status,
            error: error.into(),
            retry_after: fault.retry_after,
        }
    }
}

/// RFC 3339 (UTC, seconds) of Unix milliseconds.
pub(crate) fn rfc3339(ms: i64) -> String {
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

/// The unified status word of a phase (spec/unified-api.md: submitted, processing,
/// succeeded, failed).
fn status_word(phase: Phase) -> &'static str {
    match phase {
        Phase::Queued | Phase::Throttled => "submitted",
        Phase::Running => "processing",
        Phase::Succeeded => "succeeded",
        Phase::Failed | Phase::Cancelled | Phase::Expired => "failed",
    }
}

/// The status body of `task` as of `phase`.
fn status_json(task: &Record<Unified>, phase: Phase, config: &UnifiedWire) -> Value {
    let t = &task.data;
    let failed = status_word(phase) == "failed";
    let mut v = json!({
        "success": true,
        "taskId": task.id,
        "status": status_word(phase),
        "model": t.model,
        "pointsCharged": if failed { 0 } else { t.points },
        "createdAt": rfc3339(task.created_ms),
    });
    if let Some(p) = &t.project_id {
        v["projectId"] = json!(p);
    }
    if phase == Phase::Succeeded {
        let assets: Vec<Asset> = task
            .outputs
            .iter()
            .enumerate()
            .map(|(i, link)| Asset {
                kind: t.kind,
                url: link.url.clone(),
                id: Some(format!("{}-{i}", task.id)),
                duration_secs: (t.kind == MediaKind::Video).then_some(f64::from(t.seconds)),
                index: i as u32,
                size_bytes: None,
            })
            .collect();
        let urls: Vec<&str> = assets.iter().map(|a| a.url.as_str()).collect();
        v["output"] = match t.kind {
            MediaKind::Video => json!({"videoUrls": urls}),
            MediaKind::Image => json!({"imageUrls": urls}),
        };
        v["assets"] = serde_json::to_value(&assets).unwrap_or(Value::Null);
    }
    if failed {
        v["error"] = json!(config.failure_message);
    }
    v
}

impl Wire for Unified {
    const NAME: &'static str = "unified";
    const PROVIDER: &'static str = "midsync";
    const OVER_CONCURRENCY: OverConcurrency = OverConcurrency::Throttle;
    const MEDIA_ENDPOINT: UnifiedEndpoint = UnifiedEndpoint::Media;
    type Endpoint = UnifiedEndpoint;
    type Data = UnifiedTask;
    type Error = Rejection;
    type Config = UnifiedWire;

    fn routes() -> axum::Router<SimHandle<Self>> {
        let mut r = axum::Router::new();
        for (prefix, kind) in [
            ("/unified-video", MediaKind::Video),
            ("/unified-image", MediaKind::Image),
        ] {
            r = r
                .route(
                    &format!("{prefix}/models"),
                    get(move |st: State<SimHandle<Unified>>, req: Request| models(st, kind, req)),
                )
                .route(
                    &format!("{prefix}/quote"),
                    post(move |st: State<SimHandle<Unified>>, req: Request| quote(st, kind, req)),
                )
                .route(
                    &format!("{prefix}/generate"),
                    post(move |st: State<SimHandle<Unified>>, req: Request| {
                        generate(st, kind, req)
                    }),
                )
                .route(
                    &format!("{prefix}/{{task_id}}/status"),
                    get(
                        move |st: State<SimHandle<Unified>>,
                              Path(id): Path<String>,
                              req: Request| status(st, kind, id, req),
                    ),
                );
        }
        r.method_not_allowed_fallback(|req: Request| async move {
            Rejection::new(
                405,
                format!(
                    "method {} is not allowed on {}",
                    req.method(),
                    req.uri().path()
                ),
            )
            .into_response()
        })
        .fallback(|req: Request| async move {
            Rejection::new(
                404,
                format!("no endpoint {} {}", req.method(), req.uri().path()),
            )
            .into_response()
        })
    }

    fn task_id(rng: &mut StdRng) -> String {
        let bytes: [u8; 12] = rng.random();
        format!("usim_{}", B64URL.encode(bytes))
    }

    fn outputs(task: &Record<Self>) -> Vec<MediaSpec> {
        let t = &task.data;
        match t.kind {
            MediaKind::Video => vec![MediaSpec::video_for_aspect(
                &t.aspect,
                u64::from(t.seconds) * 1000,
            )],
            MediaKind::Image => {
                let (width, height) = media::size_for_aspect(&t.aspect);
                (0..t.images)
                    .map(|_| MediaSpec::Image { width, height })
                    .collect()
            }
        }
    }

    /// spec/unified-api.md: `callbackUrl` receives the status body once the task is final.
    fn callbacks(
        task: &Record<Self>,
        phase: Phase,
        _at_ms: i64,
        config: &SimConfig<Self>,
    ) -> Vec<Outgoing> {
        if !phase.is_final() {
            return Vec::new();
        }
        let Some(url) = &task.callback_url else {
            return Vec::new();
        };
        let body = status_json(task, phase, &config.wire);
        let webhook_id = format!("msg_{}_{}", task.id, status_word(phase));
        let headers = match &config.wire.webhook_secret {
            Some(secret) => secret
                .headers(
                    &webhook_id,
                    wall_ms().div_euclid(1000),
                    body.to_string().as_bytes(),
                )
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            None => vec![(genmux_core::webhook::HEADER_ID.to_string(), webhook_id)],
        };
        vec![Outgoing {
            headers,
            ..Outgoing::json(&task.id, url, body)
        }]
    }

    /// The sandbox signs callbacks as a production upstream would, with a fresh secret it
    /// hands the provider.
    fn for_sandbox(config: &mut SimConfig<Self>) {
        config.settings.media_ttl = MEDIA_TTL;
        let mut key = [0u8; 24];
        rand::rng().fill(&mut key);
        config.wire.webhook_secret = Some(WebhookSecret::from_bytes(&key));
    }

    fn provider_settings(sim: &Sim<Self>) -> Vec<(&'static str, String)> {
        let mut s = vec![
            ("MIDSYNC_API_KEY", sim.api_key().to_string()),
            ("MIDSYNC_BASE_URL", sim.base_url().to_string()),
        ];
        if let Some(secret) = &sim.handle().config().wire.webhook_secret {
            s.push(("MIDSYNC_WEBHOOK_SECRET", secret.to_whsec()));
        }
        s
    }
}

fn authenticate(sim: &SimHandle<Unified>, req: &Request) -> Result<usize, Rejection> {
    sim.account_for(req).map_err(|e| match e {
        AuthFailure::Missing => Rejection::new(
            401,
            "missing API key: send `Authorization: Bearer <api key>`",
        ),
        AuthFailure::Unknown | AuthFailure::Disabled => Rejection::new(401, "invalid API key"),
    })
}

async fn body_json(req: Request) -> Result<Value, Rejection> {
    read_json(req, MAX_BODY).await.map_err(|e| match e {
        crate::framework::BodyError::TooLarge(n) => {
            Rejection::new(413, format!("request body is larger than {n} bytes"))
        }
        crate::framework::BodyError::NotJson(m) => {
            Rejection::new(400, format!("request body is not valid JSON: {m}"))
        }
    })
}

/// Validates and prices a body as `/quote` and `/generate` do.
fn price(kind: MediaKind, body: &Value) -> Result<genmux_core::Quote, Rejection> {
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

async fn models(State(sim): State<SimHandle<Unified>>, kind: MediaKind, req: Request) -> Response {
    let s = sim.clone();
    guarded(&sim, UnifiedEndpoint::Models, req, async move |req| {
        authenticate(&s, &req)?;
        let mut doc = Catalog::builtin().models_document(Some(kind));
        if let Some(obj) = doc.as_object_mut() {
            obj.insert("success".into(), json!(true));
        }
        Ok(json_ok(doc))
    })
    .await
}

async fn quote(State(sim): State<SimHandle<Unified>>, kind: MediaKind, req: Request) -> Response {
    let s = sim.clone();
    guarded(&sim, UnifiedEndpoint::Quote, req, async move |req| {
        authenticate(&s, &req)?;
        let q = price(kind, &body_json(req).await?)?;
        Ok(json_ok(json!({
            "success": true,
            "model": q.model,
            "pointsCharged": q.points,
            "billedUnits": q.billed_units,
        })))
    })
    .await
}

async fn generate(
    State(sim): State<SimHandle<Unified>>,
    kind: MediaKind,
    req: Request,
) -> Response {
    let s = sim.clone();
    guarded(&sim, UnifiedEndpoint::Generate, req, async move |req| {
        let account = authenticate(&s, &req)?;
        let q = price(kind, &body_json(req).await?)?;
        let r = &q.request;
        if let Some(url) = &r.callback_url {
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
        let data = UnifiedTask {
            kind,
            model: q.model.clone(),
            points: q.points,
            project_id: r.project_id.clone(),
            seconds: r
                .multi_shot_seconds()
                .or(r.duration)
                .or(r.lip_sync_seconds())
                .unwrap_or(5)
                .max(1),
            images: r.n.unwrap_or(1).max(1),
            aspect: r.aspect_ratio.clone().unwrap_or_else(|| "16:9".into()),
        };
        let task = s
            .create(
                account,
                UnifiedEndpoint::Generate,
                r.callback_url.clone(),
                data,
                q.points,
            )
            .map_err(|e| match e {
                Refusal::Insufficient { balance, needed } => Rejection::new(
                    402,
                    format!(
                        "insufficient points: this generation costs {needed} points, {balance} left"
                    ),
                ),
                Refusal::OverLimit(o) => Rejection::new(
                    429,
                    format!("too many tasks in progress: {} of {}", o.used, o.limit),
                ),
            })?;
        let st = s.settings();
        Ok(json_ok(json!({
            "success": true,
            "taskId": task.id,
            "providerTaskId": task.id,
            "model": q.model,
            "providerModel": q.model,
            "pointsCharged": q.points,
            "status": "submitted",
            "estimatedTimeSec": (st.queue + st.render).as_secs(),
        })))
    })
    .await
}

async fn status(
    State(sim): State<SimHandle<Unified>>,
    kind: MediaKind,
    id: String,
    req: Request,
) -> Response {
    let s = sim.clone();
    guarded(&sim, UnifiedEndpoint::Status, req, async move |req| {
        let account = authenticate(&s, &req)?;
        let wire = &s.config().wire;
        s.with_tasks(|b| {
            b.tasks
                .get_owned(account, &id)
                .filter(|t| t.data.kind == kind)
                .map(|t| json_ok(status_json(t, t.phase, wire)))
                .ok_or_else(|| Rejection::new(404, format!("task {id:?} not found")))
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::{rfc3339, SimConfig, Unified, Wire, MEDIA_TTL};

    #[test]
    fn sandbox_results_live_as_long_as_a_configured_simulators() {
        let mut sandbox = SimConfig::<Unified>::default();
        Unified::for_sandbox(&mut sandbox);
        assert_eq!(sandbox.settings.media_ttl, MEDIA_TTL);
        let configured = crate::unified::UnifiedSimConfig::default().into_framework();
        assert_eq!(configured.settings.media_ttl, MEDIA_TTL);
    }

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_649_367_553_000), "2022-04-07T21:39:13Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}
