//! Pure mappings between genmux's normalized types and a remote unified API
//! (`spec/unified-api.md`), with no I/O: the request body for `/generate`, the parsing of
//! `/generate` and `/status` answers (also the body of its callbacks), and the one table
//! that turns an upstream HTTP failure into an [`Error`].

use genmux_core::{
    Asset, Error, ErrorKind, MediaKind, Result, Submission, SubmitRequest, TaskSnapshot, TaskStatus,
};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::time::Duration;

/// The provider id of a unified-API upstream.
pub const PROVIDER_ID: &str = "midsync";

/// The path prefix of a kind of model: `/unified-video` or `/unified-image`.
pub fn kind_prefix(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Video => "unified-video",
        MediaKind::Image => "unified-image",
    }
}

/// The upstream `/generate` body for a submission: the validated request in its camelCase
/// wire form — catalog fields only — with the upstream's model name, the gateway's inbound
/// callback URL in place of the caller's, and the gateway's minted id as `externalTaskId`.
/// The caller's own `projectId` and `externalTaskId` are its handles on our side and never
/// reach the upstream (`design/RELIABILITY.md` X1, X3).
pub fn generate_body(req: &SubmitRequest<'_>) -> Result<Value> {
    let value = serde_json::to_value(req.request)
        .map_err(|e| Error::internal(format!("serializing the request: {e}")))?;
    let Value::Object(mut body) = value else {
        return Err(Error::internal("a request did not serialize to an object"));
    };
    body.insert(
        "model".into(),
        Value::String(req.offering.provider_model.clone()),
    );
    // The caller's callbackUrl is ours to deliver (signed, retried); the upstream reports to
    // the gateway's per-task inbound URL instead.
    body.remove("callbackUrl");
    if let Some(url) = req.callback_url {
        body.insert("callbackUrl".into(), Value::String(url.to_string()));
    }
    body.remove("projectId");
    body.insert(
        "externalTaskId".into(),
        Value::String(req.external_id.to_string()),
    );
    Ok(Value::Object(body))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpstreamGenerate {
    success: Option<bool>,
    task_id: Option<String>,
    // spec/unified-api.md: some per-model pages of the seed answer `videoId` or `jobId`.
    video_id: Option<String>,
    job_id: Option<String>,
    status: Option<String>,
    estimated_time_sec: Option<u32>,
    error: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpstreamStatus {
    success: Option<bool>,
    task_id: Option<String>,
    status: Option<String>,
    #[serde(default)]
    assets: Vec<Value>,
    output: Option<Value>,
    error: Option<Value>,
    usage: Option<Value>,
    /// What the upstream charged its account for the task (`spec/unified-api.md`
    /// status: `pointsCharged`; 0 once failed). Kept only when it is a number: an odd
    /// value must not make the whole status unreadable.
    points_charged: Option<Value>,
}

/// The key of [`TaskSnapshot::usage`] carrying the upstream's own charge for the task:
/// the billed cost read from the provider's figures (issue 14 point 1), kept apart from
/// the points this gateway charges its caller.
pub const USAGE_UPSTREAM_POINTS: &str = "upstreamPointsCharged";

fn error_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string()),
        other => other.to_string(),
    }
}

fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8], what: &str) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        Error::new(
            ErrorKind::Internal,
            format!("upstream {what} answer is not the unified shape: {e}"),
        )
        .with_provider(PROVIDER_ID)
    })
}

/// Maps an upstream status word to a [`TaskStatus`]; the seed's pages use several spellings.
pub fn parse_status_word(s: &str) -> Option<TaskStatus> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "submitted" | "queued" | "pending" | "created" | "waiting" => TaskStatus::Submitted,
        "processing" | "running" | "in_progress" | "generating" | "started" => {
            TaskStatus::Processing
        }
        "succeeded" | "success" | "succeed" | "completed" | "complete" | "done" | "finished" => {
            TaskStatus::Succeeded
        }
        "failed" | "failure" | "error" | "rejected" | "expired" => TaskStatus::Failed,
        // A unified upstream (another genmux gateway, say) reports a task cancelled there:
        // final, refunded, as our own cancelled tasks (issue 13 point 5).
        "cancelled" | "canceled" => TaskStatus::Cancelled,
        "unknown" => TaskStatus::Unknown,
        _ => return None,
    })
}

/// Parses a `/generate` answer (HTTP 2xx) into a [`Submission`].
pub fn parse_generate(body: &[u8], provider_model: &str) -> Result<Submission> {
    let g: UpstreamGenerate = parse_json(body, "generate")?;
    if g.success == Some(false) {
        let msg = g
            .error
            .as_ref()
            .map(error_text)
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| "upstream refused the generate request without a reason".into());
        return Err(classify_message(ErrorKind::InvalidRequest, &msg)
            .with_provider(PROVIDER_ID)
            .with_retryable(false));
    }
    let id = g
        .task_id
        .or(g.video_id)
        .or(g.job_id)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            // The task exists upstream (2xx) but we cannot name it: reconcile, never resubmit.
            Error::internal("upstream generate answer has no taskId")
                .with_provider(PROVIDER_ID)
                .with_maybe_accepted()
        })?;
    let status = g
        .status
        .as_deref()
        .and_then(parse_status_word)
        .unwrap_or(TaskStatus::Submitted);
    Ok(Submission {
        provider_task_id: id,
        provider_model: provider_model.to_string(),
        status,
        estimated_time_sec: g.estimated_time_sec,
    })
}

fn asset_from(kind: MediaKind, index: u32, v: &Value) -> Option<Asset> {
    if let Ok(a) = serde_json::from_value::<Asset>(v.clone()) {
        return Some(a);
    }
    let url = match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => o.get("url").and_then(Value::as_str)?.to_string(),
        _ => return None,
    };
    Some(Asset {
        kind,
        url,
        id: v.get("id").and_then(Value::as_str).map(str::to_string),
        duration_secs: v
            .get("durationSecs")
            .or_else(|| v.get("duration"))
            .and_then(Value::as_f64),
        index,
        size_bytes: None,
    })
}

fn assets_from_output(output: &Map<String, Value>, default_kind: MediaKind) -> Vec<Asset> {
    let mut urls: Vec<(MediaKind, String)> = Vec::new();
    let mut take = |key: &str, kind: MediaKind| match output.get(key) {
        Some(Value::String(s)) => urls.push((kind, s.clone())),
        Some(Value::Array(a)) => {
            for s in a.iter().filter_map(Value::as_str) {
                urls.push((kind, s.to_string()));
            }
        }
        _ => {}
    };
    take("videoUrls", MediaKind::Video);
    take("videoUrl", MediaKind::Video);
    take("imageUrls", MediaKind::Image);
    take("imageUrl", MediaKind::Image);
    take("urls", default_kind);
    take("url", default_kind);
    urls.into_iter()
        .enumerate()
        .map(|(i, (kind, url))| Asset {
            kind,
            url,
            id: None,
            duration_secs: None,
            index: u32::try_from(i).unwrap_or(u32::MAX),
            size_bytes: None,
        })
        .collect()
}

/// Parses a `/status` answer, or the body of an upstream callback (the same shape), into a
/// [`TaskSnapshot`]. `provider_task_id` is the id we asked about (used when the body omits it).
pub fn parse_status(body: &[u8], provider_task_id: &str, kind: MediaKind) -> Result<TaskSnapshot> {
    let s: UpstreamStatus = parse_json(body, "status")?;
    if s.success == Some(false) && s.status.is_none() {
        let msg = s.error.as_ref().map(error_text).unwrap_or_default();
        return Err(Error::new(
            ErrorKind::ProviderUnavailable,
            format!("upstream status query failed: {msg}"),
        )
        .with_provider(PROVIDER_ID));
    }
    let word = s.status.unwrap_or_default();
    let status = parse_status_word(&word).ok_or_else(|| {
        Error::internal(format!(
            "upstream status `{word}` is not a known task status"
        ))
        .with_provider(PROVIDER_ID)
    })?;
    let mut assets: Vec<Asset> = s
        .assets
        .iter()
        .enumerate()
        .filter_map(|(i, v)| asset_from(kind, u32::try_from(i).unwrap_or(u32::MAX), v))
        .collect();
    if assets.is_empty() {
        if let Some(Value::Object(o)) = &s.output {
            assets = assets_from_output(o, kind);
        }
    }
    // An asset without a URL is no asset: a `succeeded` task made only of them would be
    // charged for nothing (found by the V4 property test). A negative or non-finite duration
    // is dropped rather than passed on.
    assets.retain(|a| !a.url.trim().is_empty());
    for a in &mut assets {
        a.duration_secs = a.duration_secs.filter(|d| d.is_finite() && *d >= 0.0);
    }
    if status == TaskStatus::Succeeded && assets.is_empty() {
        return Err(
            Error::internal("upstream reports the task succeeded but gives no asset URL")
                .with_provider(PROVIDER_ID),
        );
    }
    Ok(TaskSnapshot {
        provider_task_id: s
            .task_id
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| provider_task_id.to_string()),
        status,
        assets,
        error: s.error.as_ref().map(error_text),
        usage: match (s.usage, s.points_charged.filter(Value::is_number)) {
            (usage, None) => usage,
            (Some(Value::Object(mut u)), Some(points)) => {
                u.insert(USAGE_UPSTREAM_POINTS.into(), points);
                Some(Value::Object(u))
            }
            (Some(other), Some(_)) => Some(other),
            (None, Some(points)) => {
                let mut u = Map::new();
                u.insert(USAGE_UPSTREAM_POINTS.into(), points);
                Some(Value::Object(u))
            }
        },
        billed_usd_micros: None,
    })
}

/// The link page of a result an upstream genmux gateway keeps (issue 18): for an asset URL
/// `{base}/v1/assets/{id}` (same origin and path prefix as `base`, no query), the URL of
/// `GET …/link`, which answers a signed link that loads without the key. `None` for any
/// other URL (a provider's CDN, an already signed link).
pub fn kept_asset_link_url(base: &url::Url, asset_url: &str) -> Option<url::Url> {
    let u = url::Url::parse(asset_url).ok()?;
    if u.origin() != base.origin() || u.query().is_some() {
        return None;
    }
    let prefix = format!("{}/v1/assets/", base.path().trim_end_matches('/'));
    let id = u.path().strip_prefix(&prefix)?;
    if id.is_empty() || id.contains('/') {
        return None;
    }
    let mut link = u.clone();
    link.set_path(&format!("{}/link", u.path()));
    link.set_query(Some("ttl=86400"));
    Some(link)
}

/// What the upstream charged for a finished task, in micro-USD: the `pointsCharged` of its
/// status (or callback) body × what one of its points costs this account. `None` while
/// the task is unfinished, for a refunded task, or when the body has no such figure.
pub fn billed_usd_micros(body: &[u8], usd_per_point: f64) -> Option<i64> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let status = parse_status_word(v.get("status")?.as_str()?)?;
    if status != TaskStatus::Succeeded {
        return None;
    }
    let points = v.get("pointsCharged")?.as_f64()?;
    let micros = (points * usd_per_point * 1e6).round();
    (micros.is_finite() && micros >= 0.0 && micros < i64::MAX as f64).then_some(micros as i64)
}

/// Content-policy refusals arrive as 400s; their words tell them apart.
fn classify_message(kind: ErrorKind, message: &str) -> Error {
    let lower = message.to_ascii_lowercase();
    let policy = [
        "content policy",
        "nsfw",
        "safety",
        "moderation",
        "sensitive",
        "inappropriate",
    ];
    let kind = if kind == ErrorKind::InvalidRequest && policy.iter().any(|w| lower.contains(w)) {
        ErrorKind::ContentRejected
    } else {
        kind
    };
    Error::new(kind, message.to_string())
}

/// The error table: an upstream HTTP failure (status + body) → an [`Error`] of the right
/// kind. `submit` marks answers after which the upstream may still have created the task
/// (a 504 from a proxy in front of it) as maybe-accepted, so they are never resubmitted.
pub fn error_from_response(
    status: u16,
    body: &[u8],
    retry_after: Option<Duration>,
    submit: bool,
) -> Error {
    let text = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").map(error_text))
        .unwrap_or_else(|| {
            let s = String::from_utf8_lossy(body);
            s.chars().take(300).collect()
        });
    let text = if text.trim().is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {text}")
    };
    let (kind, retryable) = match status {
        400 | 413 | 422 => (ErrorKind::InvalidRequest, false),
        401 => (ErrorKind::Unauthenticated, false),
        // The upstream account is out of points: no retry helps, failover may.
        402 => (ErrorKind::InsufficientPoints, false),
        403 => (ErrorKind::PermissionDenied, false),
        404 => (ErrorKind::NotFound, false),
        409 => (ErrorKind::Conflict, false),
        429 => (ErrorKind::RateLimited, true),
        504 => (ErrorKind::Timeout, true),
        500..=599 => (ErrorKind::ProviderUnavailable, true),
        _ => (ErrorKind::Internal, false),
    };
    let mut err = classify_message(kind, &text)
        .with_provider(PROVIDER_ID)
        .with_retryable(retryable);
    if let Some(after) = retry_after {
        if retryable {
            err = err.with_retry_after(after);
        }
    }
    if submit && status == 504 {
        err = err.with_maybe_accepted();
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;
    use genmux_core::{Capability, GenerationRequest, Offering, Operation, PriceRule};
    use serde_json::json;

    fn offering() -> Offering {
        Offering {
            model: "seedance-1.5-pro".into(),
            provider_model: "seedance-1.5-pro-upstream".into(),
            capability: Capability::default(),
            cost: PriceRule::default(),
        }
    }

    #[test]
    fn body_uses_upstream_model_inbound_callback_and_our_id() {
        let req = GenerationRequest {
            model: "seedance-1.5-pro".into(),
            prompt: Some("a beach at dusk".into()),
            duration: Some(8),
            callback_url: Some("https://caller.example/hook".into()),
            external_task_id: Some("callers-own-id".into()),
            project_id: Some("callers-project".into()),
            ..Default::default()
        };
        let off = offering();
        let body = generate_body(&SubmitRequest {
            request: &req,
            operation: Operation::TextToVideo,
            offering: &off,
            callback_url: Some("https://gw.example/callbacks/midsync/tok"),
            external_id: "task_0193",
        })
        .unwrap();
        // The caller's externalTaskId and projectId stay with us (X3).
        assert_eq!(
            body,
            json!({
                "model": "seedance-1.5-pro-upstream",
                "prompt": "a beach at dusk",
                "duration": 8,
                "callbackUrl": "https://gw.example/callbacks/midsync/tok",
                "externalTaskId": "task_0193"
            })
        );
    }

    /// X1 (`design/RELIABILITY.md`): for every catalog model and every example of it, the
    /// upstream body holds only catalog fields the model declares (validated, defaulted and
    /// priced by the catalog) plus the three the gateway sets — which keep the gateway's
    /// values whatever the caller sent in `projectId`, `callbackUrl` or `externalTaskId`.
    #[test]
    fn every_upstream_field_is_gateway_or_catalog_controlled() {
        let catalog = genmux_core::Catalog::builtin();
        let mut walked = 0;
        for m in catalog.models() {
            for ex in &m.examples {
                let mut body = ex.clone();
                body.insert("model".into(), json!(m.id));
                body.insert("externalTaskId".into(), json!("tenant-order-1"));
                body.insert("projectId".into(), json!("tenant-project"));
                body.insert("callbackUrl".into(), json!("https://tenant.example/hook"));
                let req: GenerationRequest = serde_json::from_value(Value::Object(body)).unwrap();
                let q = catalog
                    .quote(&req)
                    .unwrap_or_else(|e| panic!("{}: example refused: {e}", m.id));
                let off = Offering {
                    model: m.id.clone(),
                    provider_model: format!("{}-upstream", m.id),
                    capability: Capability::default(),
                    cost: PriceRule::default(),
                };
                let sent = generate_body(&SubmitRequest {
                    request: &q.request,
                    operation: q.operation,
                    offering: &off,
                    callback_url: Some("https://gw.example/callbacks/midsync/tok"),
                    external_id: "task_0193",
                })
                .unwrap();
                let Value::Object(sent) = sent else {
                    panic!("{}: body is not an object", m.id)
                };
                for (field, value) in &sent {
                    match field.as_str() {
                        "model" => assert_eq!(value, &json!(off.provider_model)),
                        "callbackUrl" => {
                            assert_eq!(value, "https://gw.example/callbacks/midsync/tok")
                        }
                        "externalTaskId" => assert_eq!(value, "task_0193"),
                        other => assert!(
                            m.field(other).is_some(),
                            "{}: `{other}` reaches the upstream but is no catalog field of the model",
                            m.id
                        ),
                    }
                }
                let text = serde_json::to_string(&sent).unwrap();
                for caller_value in ["tenant-order-1", "tenant-project", "tenant.example"] {
                    assert!(
                        !text.contains(caller_value),
                        "{}: {caller_value} reached the upstream",
                        m.id
                    );
                }
                walked += 1;
            }
        }
        assert!(walked >= 10, "walked only {walked} examples");
    }

    #[test]
    fn generate_answer_shapes() {
        let s = parse_generate(
            br#"{"success":true,"taskId":"t1","status":"submitted","estimatedTimeSec":90}"#,
            "m",
        )
        .unwrap();
        assert_eq!(s.provider_task_id, "t1");
        assert_eq!(s.estimated_time_sec, Some(90));
        let v = parse_generate(br#"{"success":true,"videoId":"v9"}"#, "m").unwrap();
        assert_eq!(v.provider_task_id, "v9");
        assert_eq!(v.status, TaskStatus::Submitted);
        let none = parse_generate(br#"{"success":true}"#, "m").unwrap_err();
        assert!(none.maybe_accepted(), "{none}");
        let refused =
            parse_generate(br#"{"success":false,"error":"prompt: too short"}"#, "m").unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::InvalidRequest);
        assert!(refused.message().contains("prompt: too short"));
    }

    #[test]
    fn status_answer_shapes() {
        let a = parse_status(
            br#"{"success":true,"taskId":"t1","status":"succeeded","assets":[{"kind":"video","url":"https://cdn/x.mp4","index":0,"durationSecs":5.0}]}"#,
            "t1",
            MediaKind::Video,
        )
        .unwrap();
        assert_eq!(a.status, TaskStatus::Succeeded);
        assert_eq!(a.assets[0].url, "https://cdn/x.mp4");
        assert_eq!(a.assets[0].duration_secs, Some(5.0));
        let o = parse_status(
            br#"{"success":true,"status":"completed","output":{"videoUrl":"https://cdn/y.mp4"}}"#,
            "t2",
            MediaKind::Video,
        )
        .unwrap();
        assert_eq!(o.provider_task_id, "t2");
        assert_eq!(o.assets[0].url, "https://cdn/y.mp4");
        let f = parse_status(
            br#"{"success":true,"status":"failed","error":{"message":"upstream exploded"}}"#,
            "t3",
            MediaKind::Video,
        )
        .unwrap();
        assert_eq!(f.status, TaskStatus::Failed);
        assert_eq!(f.error.as_deref(), Some("upstream exploded"));
        // A task cancelled upstream (a genmux gateway's `cancelled`) stays cancelled here.
        for word in ["cancelled", "canceled"] {
            let body = format!(r#"{{"success":true,"status":"{word}"}}"#);
            let c = parse_status(body.as_bytes(), "t6", MediaKind::Video).unwrap();
            assert_eq!(c.status, TaskStatus::Cancelled, "{word}");
        }
        // The upstream's own charge is kept in usage, apart from what we charge.
        let charged = parse_status(
            br#"{"success":true,"taskId":"t6","status":"succeeded","pointsCharged":17,"output":{"videoUrls":["https://cdn/z.mp4"]}}"#,
            "t6",
            MediaKind::Video,
        )
        .unwrap();
        assert_eq!(
            charged.usage,
            Some(serde_json::json!({ USAGE_UPSTREAM_POINTS: 17 }))
        );
        let odd = parse_status(
            br#"{"success":true,"status":"processing","pointsCharged":"a lot","usage":{"seconds":5}}"#,
            "t7",
            MediaKind::Video,
        )
        .unwrap();
        assert_eq!(odd.usage, Some(serde_json::json!({"seconds": 5})));
        let bad = parse_status(br#"{"status":"sleeping"}"#, "t4", MediaKind::Video).unwrap_err();
        assert!(bad.message().contains("sleeping"));
        let empty = parse_status(br#"{"status":"succeeded"}"#, "t5", MediaKind::Video).unwrap_err();
        assert!(empty.message().contains("no asset"));
    }

    #[test]
    fn error_table() {
        let cases: &[(u16, &str, ErrorKind, bool)] = &[
            (
                400,
                r#"{"error":"duration: 7 is not allowed"}"#,
                ErrorKind::InvalidRequest,
                false,
            ),
            (
                400,
                r#"{"error":"prompt violates content policy"}"#,
                ErrorKind::ContentRejected,
                false,
            ),
            (
                401,
                r#"{"error":"bad key"}"#,
                ErrorKind::Unauthenticated,
                false,
            ),
            (
                402,
                r#"{"error":"not enough points"}"#,
                ErrorKind::InsufficientPoints,
                false,
            ),
            (403, "", ErrorKind::PermissionDenied, false),
            (404, "", ErrorKind::NotFound, false),
            (409, "", ErrorKind::Conflict, false),
            (422, "", ErrorKind::InvalidRequest, false),
            (429, "", ErrorKind::RateLimited, true),
            (500, "oops", ErrorKind::ProviderUnavailable, true),
            (503, "", ErrorKind::ProviderUnavailable, true),
            (504, "", ErrorKind::Timeout, true),
            (302, "", ErrorKind::Internal, false),
        ];
        for (status, body, kind, retryable) in cases {
            let e = error_from_response(*status, body.as_bytes(), None, false);
            assert_eq!(e.kind(), *kind, "{status} {body}");
            assert_eq!(e.is_retryable(), *retryable, "{status} {body}");
            assert_eq!(e.provider(), Some(PROVIDER_ID));
            assert!(e.message().starts_with(&format!("HTTP {status}")));
        }
        let limited = error_from_response(429, b"", Some(Duration::from_secs(7)), true);
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
        assert!(!limited.maybe_accepted());
        let gw = error_from_response(504, b"", None, true);
        assert!(gw.maybe_accepted() && !gw.is_retryable());
    }

    /// What the router does after each answer of this table (issue 14 point 3): our
    /// account refused or out of points, or the upstream rejecting a request the catalog
    /// accepted → the next provider; 429 and 5xx → this provider again later; a policy
    /// refusal or a conflict → stop; a 504 after the body left → never resent.
    #[test]
    fn each_answer_has_its_failover_class() {
        use genmux_router::{recovery, Recovery, RetryConfig};
        let cap = RetryConfig::default().max_retry_after;
        let cases: &[(u16, &str, bool, Recovery)] = &[
            (
                400,
                r#"{"error":"duration: 7 is not allowed"}"#,
                false,
                Recovery::NextProvider,
            ),
            (400, r#"{"error":"nsfw content"}"#, false, Recovery::Stop),
            (401, "", false, Recovery::NextProvider),
            (402, "", false, Recovery::NextProvider),
            (403, "", false, Recovery::NextProvider),
            (404, "", false, Recovery::NextProvider),
            (409, "", false, Recovery::Stop),
            (413, "", false, Recovery::NextProvider),
            (422, "", false, Recovery::NextProvider),
            (429, "", false, Recovery::RetrySame),
            (500, "", false, Recovery::RetrySame),
            (503, "", false, Recovery::RetrySame),
            (504, "", false, Recovery::RetrySame),
            (504, "", true, Recovery::Stop),
            (302, "", false, Recovery::NextProvider),
        ];
        for (status, body, submit, want) in cases {
            let e = error_from_response(*status, body.as_bytes(), None, *submit);
            assert_eq!(recovery(&e, cap), *want, "{status} {body} submit={submit}");
        }
        let patient = error_from_response(429, b"", Some(Duration::from_secs(3600)), true);
        assert_eq!(recovery(&patient, cap), Recovery::NextProvider);
    }

    #[test]
    fn kept_asset_urls_of_the_upstream_gateway_get_their_link_page() {
        let base = url::Url::parse("https://up.example/gw").unwrap();
        assert_eq!(
            kept_asset_link_url(&base, "https://up.example/gw/v1/assets/ast_1")
                .map(|u| u.to_string()),
            Some("https://up.example/gw/v1/assets/ast_1/link?ttl=86400".into())
        );
        for other in [
            "https://cdn.example/gw/v1/assets/ast_1",
            "https://up.example/gw/v1/assets/ast_1?expires=1&sig=x",
            "https://up.example/other/v1/assets/ast_1",
            "https://up.example/gw/v1/assets/ast_1/link",
            "not a url",
        ] {
            assert_eq!(kept_asset_link_url(&base, other), None, "{other}");
        }
    }
}
