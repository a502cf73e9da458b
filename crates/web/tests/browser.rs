//! The page in headless Chromium against a small fake unified API (this file only): sign in
//! (a wrong key first), the form rendered from the catalog for every model, the quote
//! following duration, submit, the finished video playing, usage; a screenshot is saved
//! to `target/web-test-artifacts/web-page.png`.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fantoccini::{Client, Locator};
use genmux_core::{Catalog, GenerationRequest, MediaKind};
use genmux_web::testing::{save_screenshot, start_chromedriver, wait_until};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KEY: &str = "gmx_test_0123456789abcdef";
const WAIT: Duration = Duration::from_secs(30);
const MODEL: &str = "kling-2.5-turbo";

struct Task {
    id: String,
    model: String,
    points: i64,
    polls: u32,
}

#[derive(Default)]
struct Fake {
    base: String,
    tasks: Vec<Task>,
    /// (Idempotency-Key, body) of every generate call.
    generated: Vec<(String, Value)>,
    usage_ranges: Vec<String>,
}

type Shared = Arc<Mutex<Fake>>;

fn unauthorized(headers: &HeaderMap) -> Option<Response> {
    let ok = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {KEY}"));
    (!ok).then(|| {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({"success": false, "error": "invalid API key"})),
        )
            .into_response()
    })
}

fn quote(body: &Value) -> Result<(String, i64), String> {
    let req: GenerationRequest = serde_json::from_value(body.clone()).map_err(|e| e.to_string())?;
    let q = Catalog::builtin().quote(&req).map_err(|e| e.to_string())?;
    Ok((q.model, q.points))
}

async fn models(headers: HeaderMap) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    Json(Catalog::builtin().models_document(Some(MediaKind::Video))).into_response()
}

async fn quote_route(headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    match quote(&body) {
        Ok((model, points)) => {
            Json(json!({"success": true, "model": model, "pointsCharged": points})).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"success": false, "error": e})),
        )
            .into_response(),
    }
}

async fn generate(
    State(s): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let (model, points) = match quote(&body) {
        Ok(q) => q,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"success": false, "error": e})),
            )
                .into_response()
        }
    };
    let mut fake = s.lock().unwrap();
    fake.generated.push((key, body));
    let id = format!("task-{}", fake.tasks.len() + 1);
    fake.tasks.push(Task {
        id: id.clone(),
        model: model.clone(),
        points,
        polls: 0,
    });
    Json(json!({
        "success": true, "taskId": id, "providerTaskId": format!("up-{id}"), "model": model,
        "providerModel": "kling-v2-5-turbo", "pointsCharged": points, "status": "submitted",
        "estimatedTimeSec": 150,
    }))
    .into_response()
}

/// `processing` on the first poll, then `succeeded` with the MP4's URL.
async fn status(State(s): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    let mut fake = s.lock().unwrap();
    let base = fake.base.clone();
    let Some(task) = fake.tasks.iter_mut().find(|t| t.id == id) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"success": false, "error": "no such task"})),
        )
            .into_response();
    };
    task.polls += 1;
    if task.polls < 2 {
        return Json(json!({"success": true, "taskId": id, "status": "processing"}))
            .into_response();
    }
    Json(json!({
        "success": true, "taskId": id, "status": "succeeded",
        "assets": [{"kind": "video", "url": format!("{base}/media/{id}.mp4"), "index": 0, "durationSecs": 2.0}],
    }))
    .into_response()
}

async fn media() -> Response {
    // A real 128×96, 2 s H.264 MP4: the same file the simulators serve.
    let mp4 = genmux_sim::media::mp4(128, 96, 2_000, 0);
    ([(header::CONTENT_TYPE, "video/mp4")], mp4).into_response()
}

async fn summary(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    let mut fake = s.lock().unwrap();
    fake.usage_ranges
        .push(q.get("date_range").cloned().unwrap_or_default());
    let mut by: BTreeMap<String, (i64, u32)> = BTreeMap::new();
    for t in &fake.tasks {
        let e = by.entry(t.model.clone()).or_default();
        e.0 += t.points;
        e.1 += 1;
    }
    let by_model: serde_json::Map<String, Value> = by
        .into_iter()
        .map(|(m, (p, r))| {
            (
                m,
                json!({"pointsCharged": p, "requests": r, "inputTokens": 0, "outputTokens": 0}),
            )
        })
        .collect();
    Json(json!({
        "totalPointsCharged": fake.tasks.iter().map(|t| t.points).sum::<i64>(),
        "totalRequests": fake.tasks.len(),
        "totalInputTokens": 0, "totalOutputTokens": 0, "byModel": by_model,
    }))
    .into_response()
}

async fn logs(State(s): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    let fake = s.lock().unwrap();
    let logs: Vec<Value> = fake
        .tasks
        .iter()
        .map(|t| json!({"model": t.model, "pointsCharged": t.points, "usage": {"duration": 10}, "createdAt": "2026-01-02T03:04:05Z"}))
        .collect();
    Json(json!({"logs": logs, "page": 1, "limit": 20, "total": logs.len()})).into_response()
}

async fn start_app() -> (String, Shared) {
    let shared: Shared = Arc::default();
    let api = Router::new()
        .route("/unified-video/models", get(models))
        .route("/unified-video/quote", post(quote_route))
        .route("/unified-video/generate", post(generate))
        .route("/unified-video/{task_id}/status", get(status))
        .route("/media/{file}", get(media))
        .route("/v1/usage/summary", get(summary))
        .route("/v1/usage/logs", get(logs));
    // The page is merged the way the gateway merges it.
    let app = api.merge(genmux_web::router()).with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    shared.lock().unwrap().base = base.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, shared)
}

async fn text(c: &Client, css: &str) -> Result<String, fantoccini::error::CmdError> {
    c.find(Locator::Css(css)).await?.text().await
}

/// Waits until the element's text equals `want`; the panic says what it read instead.
async fn wait_text(c: &Client, css: &str, want: &str) {
    let what = format!("`{css}` to read `{want}`");
    let r = wait_until(&what, WAIT, || async {
        Ok((text(c, css).await? == want).then_some(()))
    })
    .await;
    if let Err(e) = r {
        let _ = save_screenshot(c, "web-page-failure").await;
        let got = text(c, css).await.unwrap_or_default();
        panic!("{e}; it read `{got}`");
    }
}

fn expected_points(body: Value) -> i64 {
    quote(&body).unwrap().1
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_quote_generate_and_watch_the_video() {
    let (base, fake) = start_app().await;
    let driver = start_chromedriver().await.expect("chromedriver starts");
    let c = driver
        .new_client()
        .await
        .expect("headless Chromium session");
    let result = scenario(&c, &base, &fake).await;
    if result.is_err() {
        let _ = save_screenshot(&c, "web-page-failure").await;
    }
    let _ = c.close().await;
    result.unwrap();
}

async fn scenario(c: &Client, base: &str, fake: &Shared) -> Result<(), Box<dyn std::error::Error>> {
    c.goto(&format!("{base}/")).await?;

    // A wrong key comes back to sign-in with the server's message (the 401 path).
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#api-key"))
        .await?;
    c.find(Locator::Css("#api-key"))
        .await?
        .send_keys("gmx_wrong")
        .await?;
    c.find(Locator::Css("#sign-in")).await?.click().await?;
    wait_text(c, "#signin-error", "invalid API key").await;

    c.find(Locator::Css("#api-key"))
        .await?
        .send_keys(KEY)
        .await?;
    c.find(Locator::Css("#sign-in")).await?.click().await?;
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("body[data-ready='true']"))
        .await?;

    // The picker lists exactly the catalog's video models, and each model's form has an
    // input for every field outside list items: nothing is hard-coded in the page.
    let catalog = Catalog::builtin();
    let ids: Vec<String> = catalog
        .models()
        .filter(|m| m.kind == MediaKind::Video)
        .map(|m| m.id.clone())
        .collect();
    let options = c
        .execute(
            "return [...document.querySelectorAll('#model option')].map(o => o.value)",
            vec![],
        )
        .await?;
    assert_eq!(options, json!(ids));
    let model_select = c.find(Locator::Css("#model")).await?;
    for id in &ids {
        model_select.select_by_value(id).await?;
        let rendered = c
            .execute(
                "return [...document.querySelectorAll('#fields [data-field], #fields [data-field-group]')]
                   .map(e => e.dataset.field || e.dataset.fieldGroup)",
                vec![],
            )
            .await?;
        let rendered: BTreeSet<String> = serde_json::from_value(rendered)?;
        for f in &catalog.model(id).unwrap().fields {
            if !f.name.contains("[]") {
                assert!(
                    rendered.contains(&f.name),
                    "{id}: no input for `{}` in {rendered:?}",
                    f.name
                );
            }
        }
    }

    // Pick a model; the default duration is quoted, then the quote follows duration.
    model_select.select_by_value(MODEL).await?;
    let prompt = "A lighthouse at dawn, waves rolling in";
    let prompt_input = c.find(Locator::Css("[data-field='prompt']")).await?;
    prompt_input.send_keys("ab").await?;
    let what = "#quote-error to name the prompt";
    wait_until(what, WAIT, || async {
        Ok(text(c, "#quote-error")
            .await?
            .contains("prompt")
            .then_some(()))
    })
    .await?;
    prompt_input.clear().await?;
    prompt_input.send_keys(prompt).await?;
    let at5 = expected_points(
        json!({"model": MODEL, "prompt": prompt, "duration": 5, "aspectRatio": "16:9"}),
    );
    let at10 = expected_points(
        json!({"model": MODEL, "prompt": prompt, "duration": 10, "aspectRatio": "16:9"}),
    );
    assert_ne!(at5, at10);
    wait_text(c, "#quote-points", &at5.to_string()).await;
    c.find(Locator::Css("[data-field='duration']"))
        .await?
        .select_by_value("10")
        .await?;
    wait_text(c, "#quote-points", &at10.to_string()).await;
    assert_eq!(text(c, "#quote-error").await?, "");

    // Submit: pointsCharged, the task id, and the exact body with an idempotency key.
    c.find(Locator::Css("#submit")).await?.click().await?;
    wait_text(c, "#points-charged", &at10.to_string()).await;
    wait_text(c, "#task-id", "task-1").await;
    {
        let f = fake.lock().unwrap();
        assert_eq!(f.generated.len(), 1, "one submission, one generate call");
        let (key, body) = &f.generated[0];
        assert_eq!(key.len(), 36, "Idempotency-Key is a UUID: {key}");
        assert_eq!(body["model"], MODEL);
        assert_eq!(body["prompt"], prompt);
        assert_eq!(body["duration"], 10);
    }
    assert!(c.find(Locator::Css("#submit")).await?.is_enabled().await?);

    // The task finishes and its video loads and plays.
    let task = ".task[data-task-id='task-1']";
    wait_text(c, &format!("{task} .status"), "succeeded").await;
    let card = text(c, task).await?;
    assert!(
        card.contains(&format!("{at10} points"))
            && !card.contains("null")
            && !card.contains("undefined"),
        "{card}"
    );
    let video = c.find(Locator::Css(&format!("{task} video"))).await?;
    assert_eq!(
        video.attr("src").await?,
        Some(format!("{base}/media/task-1.mp4"))
    );
    let played = wait_until("the video to load and play", WAIT, || async {
        let v = c
            .execute(
                "const v = document.querySelector(arguments[0]);
                 if (v.error) return {error: v.error.code};
                 if (v.readyState >= 2 && v.paused && v.currentTime === 0) { v.muted = true; v.play(); }
                 return {ready: v.readyState, duration: v.duration, time: v.currentTime,
                         width: v.videoWidth, height: v.videoHeight};",
                vec![json!(format!("{task} video"))],
            )
            .await?;
        if v.get("error").is_some() {
            return Err(fantoccini::error::CmdError::NotJson(format!("video error {v}")));
        }
        Ok((v["time"].as_f64().unwrap_or(0.0) > 0.0).then_some(v))
    })
    .await?;
    assert_eq!(played["width"], 128);
    assert_eq!(played["height"], 96);
    assert!(
        (played["duration"].as_f64().unwrap() - 2.0).abs() < 0.01,
        "{played}"
    );

    // Usage: the charge shows in the cards, the chart and the log table.
    let points_card = "#usage-total-points";
    wait_until("the usage card to show the charge", WAIT, || async {
        let v = c
            .find(Locator::Css(points_card))
            .await?
            .attr("data-value")
            .await?;
        Ok((v == Some(at10.to_string())).then_some(()))
    })
    .await?;
    let bar = c
        .find(Locator::Css(&format!(
            "#usage-chart svg .bar[data-label='{MODEL}']"
        )))
        .await?;
    assert_eq!(bar.attr("data-value").await?, Some(at10.to_string()));
    let rows = c
        .find_all(Locator::Css("#usage-logs tbody tr.log-row"))
        .await?;
    assert_eq!(rows.len(), 1);
    assert!(fake
        .lock()
        .unwrap()
        .usage_ranges
        .iter()
        .all(|r| r == "last_7_days"));

    // Scroll the finished task into view for the artifact.
    c.execute(
        "document.querySelector(arguments[0]).scrollIntoView({block: 'center'})",
        vec![json!(task)],
    )
    .await?;
    let shot = save_screenshot(c, "web-page").await?;
    assert!(std::fs::metadata(&shot)?.len() > 1000, "{}", shot.display());
    c.execute(
        "document.getElementById('usage-section').scrollIntoView()",
        vec![],
    )
    .await?;
    save_screenshot(c, "web-page-usage").await?;
    Ok(())
}
