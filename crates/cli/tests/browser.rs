//! Issue 7's browser end-to-end test: a real `genmux serve` (sandbox simulators, SQLite in a
//! temp dir) and its page at `/` in headless Chromium. Sign in with the bootstrap key, pick
//! kling-2.5-turbo, watch the quote follow duration 5 → 10, submit, see pointsCharged, watch
//! the finished video load and play, open the usage dashboard and see the total. The
//! screenshot is saved to `target/web-test-artifacts/gateway-e2e.png`.
//!
//! The page is driven through JavaScript in the page (`genmux_web::testing::eval`): values
//! are set and the same `input`/`change`/`click` events a user's actions fire are
//! dispatched, and every check reads what the page shows.

mod support;

use genmux_core::Catalog;
use genmux_web::testing::{eval, save_screenshot, start_chromedriver, wait_until};
use serde_json::{json, Value};
use std::time::Duration;
use support::{expected_points, mp4_boxes, Gateway};

const MODEL: &str = "kling-2.5-turbo";
const PROMPT: &str = "A lighthouse at dawn, waves rolling in";
/// Waits for the page (quotes, sign-in, usage).
const WAIT: Duration = Duration::from_secs(30);
/// Waits for a sandbox task to finish and its video to play.
const TASK_WAIT: Duration = Duration::from_secs(90);

/// Runs `$script` in the page with `$args` and returns its JSON value (`?` on errors).
macro_rules! js {
    ($c:expr, $script:expr $(, $arg:expr)* $(,)?) => {
        eval($c, $script, vec![$(json!($arg)),*])
            .await
            .map_err(|e| format!("script failed: {e}\n{}", $script))?
    };
}

/// Waits until the script's value satisfies `$ok`, returning that value; the error names
/// what was awaited and the last value read.
macro_rules! wait_js {
    ($c:expr, $what:expr, $timeout:expr, $script:expr, [$($arg:expr),*], $ok:expr) => {{
        let last = std::sync::Mutex::new(Value::Null);
        let ok = $ok;
        let found = wait_until($what, $timeout, || async {
            let v = eval($c, $script, vec![$(json!($arg)),*]).await?;
            let pass = ok(&v);
            *last.lock().unwrap() = v.clone();
            Ok(pass.then_some(v))
        })
        .await;
        found.map_err(|e| format!("{e}; last read: {}", last.lock().unwrap()))?
    }};
}

const TEXT_OF: &str =
    "const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null;";

#[tokio::test(flavor = "multi_thread")]
async fn gateway_page_signs_in_quotes_generates_plays_and_shows_usage() {
    let gw = Gateway::start(&[]);
    let driver = start_chromedriver().await.expect("chromedriver starts");
    let client = driver
        .new_client()
        .await
        .expect("headless Chromium session");
    let c = &client;

    let at5 = expected_points(json!({"model": MODEL, "prompt": PROMPT, "duration": 5}));
    let at10 = expected_points(json!({"model": MODEL, "prompt": PROMPT, "duration": 10}));
    assert_ne!(at5, at10, "the test needs a price that depends on duration");

    let result: Result<(), String> = async {
        c.goto(&format!("{}/", gw.url))
            .await
            .map_err(|e| format!("opening {}: {e}", gw.url))?;

        // Sign in with the bootstrap key.
        wait_js!(
            c,
            "the sign-in form",
            WAIT,
            "const s = document.getElementById('signin-section'); return !!s && !s.hidden;",
            [],
            |v: &Value| *v == json!(true)
        );
        js!(
            c,
            "const k = document.getElementById('api-key'); k.value = arguments[0];
             k.dispatchEvent(new Event('input', {bubbles: true}));
             document.getElementById('sign-in').click();",
            gw.key
        );
        wait_js!(
            c,
            "the page to load the models after sign-in",
            WAIT,
            "return document.body.dataset.ready === 'true';",
            [],
            |v: &Value| *v == json!(true)
        );
        let options = js!(
            c,
            "return [...document.querySelectorAll('#model option')].map(o => o.value);"
        );
        let options: Vec<String> = serde_json::from_value(options).map_err(|e| e.to_string())?;
        let mut catalog: Vec<String> = Catalog::builtin().ids().map(str::to_string).collect();
        let mut listed = options.clone();
        catalog.sort();
        listed.sort();
        if listed != catalog {
            return Err(format!("model picker {options:?} ≠ catalog {catalog:?}"));
        }

        // Pick kling-2.5-turbo and type a prompt.
        js!(
            c,
            "const m = document.getElementById('model'); m.value = arguments[0];
             m.dispatchEvent(new Event('change', {bubbles: true}));",
            MODEL
        );
        wait_js!(
            c,
            "the duration field of kling-2.5-turbo",
            WAIT,
            "const d = document.querySelector(\"#fields [data-field='duration']\");
             return d ? [...d.options].map(o => o.value).filter(v => v !== '') : null;",
            [],
            |v: &Value| *v == json!(["5", "10"])
        );
        // Issue 20: the form fits — advanced options collapsed, the empty required prompt
        // not red before anything is typed, the price and Generate in view at the top.
        let layout = js!(
            c,
            "window.scrollTo(0, 0);
             document.getElementById('generate-section').scrollIntoView({block: 'start'});
             const adv = document.querySelector('#fields details[data-advanced]');
             const b = document.getElementById('submit').getBoundingClientRect();
             const q = document.getElementById('quote-points').getBoundingClientRect();
             const p = document.querySelector(\"#fields [data-field='prompt']\");
             return {advancedOpen: adv ? adv.open : null,
                     cameraInsideAdvanced: !!document.querySelector(\"#fields details[data-advanced] [data-field='cameraControl.cameraMotion']\"),
                     submitInView: b.top >= 0 && b.bottom <= window.innerHeight,
                     priceInView: q.top >= 0 && q.bottom <= window.innerHeight,
                     promptRed: p.matches(':user-invalid'),
                     promptLabel: document.querySelector(`label[for='${p.id}']`).textContent.trim()};"
        );
        if layout != json!({"advancedOpen": false, "cameraInsideAdvanced": true, "submitInView": true,
                            "priceInView": true, "promptRed": false, "promptLabel": "Prompt *"}) {
            return Err(format!("form layout: {layout}"));
        }
        js!(
            c,
            "const p = document.querySelector(\"#fields [data-field='prompt']\");
             p.value = arguments[0];
             p.dispatchEvent(new Event('input', {bubbles: true}));",
            PROMPT
        );
        // Duration 5 (the catalog default, picked explicitly) is quoted ...
        js!(
            c,
            "const d = document.querySelector(\"#fields [data-field='duration']\");
             d.value = '5';
             d.dispatchEvent(new Event('change', {bubbles: true}));"
        );
        wait_js!(
            c,
            "the quote for 5 s",
            WAIT,
            "const q = document.getElementById('quote-points');
             return [q.dataset.state, q.textContent.trim()];",
            [],
            |v: &Value| *v == json!(["ok", at5.to_string()])
        );

        // ... and 5 → 10 changes the quote.
        js!(
            c,
            "const d = document.querySelector(\"#fields [data-field='duration']\");
             d.value = '10';
             d.dispatchEvent(new Event('change', {bubbles: true}));"
        );
        wait_js!(
            c,
            "the quote for 10 s",
            WAIT,
            "const q = document.getElementById('quote-points');
             return [q.dataset.state, q.textContent.trim()];",
            [],
            |v: &Value| *v == json!(["ok", at10.to_string()])
        );
        let quote_error = js!(c, TEXT_OF, "#quote-error");
        if quote_error != json!("") {
            return Err(format!("quote error shown: {quote_error}"));
        }

        // Submit: pointsCharged and the task id appear.
        js!(c, "document.getElementById('submit').click();");
        wait_js!(
            c,
            "pointsCharged after submit",
            WAIT,
            TEXT_OF,
            ["#points-charged"],
            |v: &Value| *v == json!(at10.to_string())
        );
        let task_id = js!(c, TEXT_OF, "#task-id");
        let task_id = task_id
            .as_str()
            .filter(|t| t.starts_with("task_"))
            .ok_or_else(|| format!("no task id shown: {task_id}"))?
            .to_string();
        let submit_error = js!(c, TEXT_OF, "#submit-error");
        if submit_error != json!("") {
            return Err(format!("submit error shown: {submit_error}"));
        }

        // The task card turns succeeded and shows a video.
        let card = format!(".task[data-task-id='{task_id}']");
        wait_js!(
            c,
            "the task to succeed in the task list",
            TASK_WAIT,
            "const t = document.querySelector(arguments[0]); return t ? t.dataset.status : null;",
            [card],
            |v: &Value| *v == json!("succeeded")
        );
        let video = format!("{card} .previews video");
        let src = wait_js!(
            c,
            "the finished video element with a src",
            WAIT,
            "const v = document.querySelector(arguments[0]); return v ? v.getAttribute('src') : null;",
            [video],
            |v: &Value| v.as_str().is_some_and(|s| !s.is_empty())
        );
        let src = src.as_str().unwrap_or_default().to_string();

        // The src serves a real MP4 ...
        let resp = reqwest::get(&src)
            .await
            .map_err(|e| format!("GET {src}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("GET {src}: HTTP {}", resp.status()));
        }
        let bytes = resp.bytes().await.map_err(|e| format!("GET {src}: {e}"))?;
        let boxes = mp4_boxes(&bytes);
        if boxes.first().map(|(k, _)| k.as_str()) != Some("ftyp") {
            return Err(format!("{src} is not an MP4: boxes {boxes:?}"));
        }

        // ... which the browser loads and plays.
        let played = wait_js!(
            c,
            "the video to load and play",
            TASK_WAIT,
            "const v = document.querySelector(arguments[0]);
             if (!v) return {missing: true};
             if (v.error) return {error: v.error.code, message: v.error.message};
             if (v.readyState >= 2 && v.paused && v.currentTime === 0) { v.muted = true; v.play().catch(() => {}); }
             return {ready: v.readyState, time: v.currentTime, duration: v.duration,
                     width: v.videoWidth, height: v.videoHeight};",
            [video],
            |v: &Value| {
                v.get("error").is_some()
                    || (v["ready"].as_i64().unwrap_or(0) >= 2
                        && v["time"].as_f64().unwrap_or(0.0) > 0.0)
            }
        );
        if played.get("error").is_some() {
            return Err(format!("the video failed in the browser: {played}"));
        }
        if played["width"].as_i64().unwrap_or(0) <= 0 {
            return Err(format!("the video has no picture: {played}"));
        }

        // The usage dashboard: open it from the nav and see the total points.
        js!(
            c,
            "document.querySelector(\"#nav a[href='#usage-section']\").click();
             document.getElementById('usage-refresh').click();"
        );
        wait_js!(
            c,
            "the usage total to show the charge",
            WAIT,
            "const e = document.getElementById('usage-total-points');
             if (e.dataset.value !== String(arguments[0])) document.getElementById('usage-refresh').click();
             return [e.dataset.value, e.textContent.trim()];",
            [at10],
            |v: &Value| *v == json!([at10.to_string(), at10.to_string()])
        );
        let bar = js!(
            c,
            "const b = document.querySelector(`#usage-chart svg .bar[data-label='${arguments[0]}']`);
             return b ? b.dataset.value : null;",
            MODEL
        );
        if bar != json!(at10.to_string()) {
            return Err(format!("chart bar for {MODEL}: {bar}, want {at10}"));
        }
        let rows = js!(
            c,
            "return document.querySelectorAll('#usage-logs tbody tr.log-row').length;"
        );
        if rows != json!(1) {
            return Err(format!("usage log rows: {rows}, want 1"));
        }

        // Usage cards fit video: seconds generated, no token cards; the API's ranges.
        let cards = wait_js!(
            c,
            "the seconds-of-video card",
            WAIT,
            "return {seconds: document.getElementById('usage-video-seconds').dataset.value,
                     images: document.getElementById('usage-images').dataset.value,
                     tokensHidden: document.getElementById('usage-tokens-card').hidden,
                     ranges: [...document.querySelectorAll('#usage-range option')].map(o => o.value),
                     taskInLog: document.querySelector('#usage-logs tbody tr.log-row .log-task')?.textContent};",
            [],
            |v: &Value| v["seconds"] == json!("10")
        );
        if cards
            != json!({"seconds": "10", "images": "0", "tokensHidden": true,
                      "ranges": ["today", "last_7_days", "last_30_days", "last_90_days", "custom"],
                      "taskInLog": task_id})
        {
            return Err(format!("usage cards: {cards}"));
        }

        // kling-video-extend offers the account's own video as its videoId, in a one-line
        // input with a picker.
        js!(
            c,
            "const m = document.getElementById('model'); m.value = 'kling-video-extend';
             m.dispatchEvent(new Event('change', {bubbles: true}));"
        );
        let picker = wait_js!(
            c,
            "the video picker of kling-video-extend",
            WAIT,
            "const i = document.querySelector(\"#fields [data-field='videoId']\");
             const l = document.querySelector(\"#fields datalist[data-picks='videoId']\");
             return i && l ? {tag: i.tagName, list: i.getAttribute('list') === l.id,
                              options: [...l.options].map(o => o.value)} : null;",
            [],
            |v: &Value| v["options"].as_array().is_some_and(|o| !o.is_empty())
        );
        if picker["tag"] != json!("INPUT") || picker["list"] != json!(true) {
            return Err(format!("video picker: {picker}"));
        }
        let status: Value = reqwest::Client::new()
            .get(format!("{}/unified-video/{task_id}/status", gw.url))
            .bearer_auth(&gw.key)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let asset_id = status["assets"][0]["id"].clone();
        if !picker["options"].as_array().unwrap().contains(&asset_id) {
            return Err(format!("picker {picker} lacks the task's video {asset_id}"));
        }
        // Its catalog example shows no placeholder id: it points at the picker (the
        // catalog's `needs`, issue 20 point 3).
        let listed = js!(
            c,
            "return document.getElementById('price-examples-list').textContent;"
        );
        let listed = listed.as_str().unwrap_or_default();
        if listed.contains("vid_example") || !listed.contains("pick it above") {
            return Err(format!("kling-video-extend's examples: {listed:?}"));
        }
        // Back to the first model for the artifacts below.
        js!(
            c,
            "const m = document.getElementById('model'); m.value = arguments[0];
             m.dispatchEvent(new Event('change', {bubbles: true}));",
            MODEL
        );

        // The artifact: the finished task in view.
        js!(
            c,
            "document.querySelector(arguments[0]).scrollIntoView({block: 'center'});",
            card
        );
        let shot = save_screenshot(c, "gateway-e2e")
            .await
            .map_err(|e| e.to_string())?;
        let size = std::fs::metadata(&shot).map_err(|e| e.to_string())?.len();
        if size <= 1000 {
            return Err(format!("{} is only {size} bytes", shot.display()));
        }

        // Signing out leaves nothing of this key on screen.
        js!(c, "document.getElementById('sign-out').click();");
        let after = wait_js!(
            c,
            "the page to clear on sign-out",
            WAIT,
            "return {signin: !document.getElementById('signin-section').hidden,
                     result: document.getElementById('submit-result').hidden,
                     taskId: document.getElementById('task-id').textContent,
                     tasks: document.querySelectorAll('#task-list li').length,
                     points: document.getElementById('usage-total-points').textContent,
                     logs: document.querySelectorAll('#usage-logs tbody tr').length,
                     balance: document.getElementById('balance').textContent};",
            [],
            |v: &Value| v["signin"] == json!(true)
        );
        if after
            != json!({"signin": true, "result": true, "taskId": "", "tasks": 0, "points": "—",
                      "logs": 0, "balance": after["balance"]})
            || after["balance"].as_str().is_some_and(|b| !b.is_empty() && b != "—")
        {
            return Err(format!("after sign-out: {after}"));
        }
        Ok(())
    }
    .await;

    if result.is_err() {
        let _ = save_screenshot(c, "gateway-e2e-failure").await;
    }
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = result {
        panic!("{e}\n--- gateway log ---\n{}", gw.logs());
    }
}

/// Issue 13 point 6: the page shows the sandbox banner when `/healthz` says the providers
/// are simulators, before anyone signs in, and hides it for a gateway with a real provider.
#[tokio::test(flavor = "multi_thread")]
async fn the_page_shows_the_sandbox_banner_only_in_the_sandbox() {
    let sandboxed = Gateway::start(&[]);
    let sim = support::Sim::start(&["--speed", "30"]);
    let env: Vec<(String, String)> = sim.info["kling"]["settings"]
        .as_object()
        .expect("kling settings")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let real = Gateway::start_env(&[], &env);
    let driver = start_chromedriver().await.expect("chromedriver starts");
    let client = driver
        .new_client()
        .await
        .expect("headless Chromium session");
    let c = &client;
    const BANNER: &str = "const b = document.getElementById('sandbox-banner');
        return {sandbox: document.body.dataset.sandbox || null,
                visible: !!b && !b.hidden && getComputedStyle(b).display !== 'none' && b.offsetHeight > 0,
                text: b ? b.textContent.replace(/\\s+/g, ' ').trim() : null};";
    let result: Result<(), String> = async {
        c.goto(&format!("{}/", sandboxed.url))
            .await
            .map_err(|e| e.to_string())?;
        let v = wait_js!(c, "the sandbox banner", WAIT, BANNER, [], |v: &Value| v
            ["sandbox"]
            == "true");
        if v["visible"] != true
            || !v["text"]
                .as_str()
                .unwrap_or("")
                .contains("every provider is simulated")
        {
            return Err(format!("the sandbox banner is not shown: {v}"));
        }
        c.goto(&format!("{}/", real.url))
            .await
            .map_err(|e| e.to_string())?;
        let v = wait_js!(
            c,
            "the page of a gateway with a real provider",
            WAIT,
            BANNER,
            [],
            |v: &Value| v["sandbox"] == "false"
        );
        if v["visible"] != false {
            return Err(format!("the sandbox banner shows on a real gateway: {v}"));
        }
        Ok(())
    }
    .await;
    let _ = client.close().await;
    if let Err(e) = result {
        panic!("{e}");
    }
}
