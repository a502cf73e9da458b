//! The page's balance in the header (issue 13 point 4), in headless Chromium against a
//! real `genmux serve` (sandbox, SQLite in a temp dir): after sign-in it shows the
//! account's points from `GET /v1/balance`; after a generate it shows the price taken out
//! and held; once the task finishes the hold is charged and nothing is held any more.

mod support;

use genmux_web::testing::{eval, save_screenshot, start_chromedriver, wait_until};
use serde_json::{json, Value};
use std::time::Duration;
use support::{expected_points, Gateway};

const MODEL: &str = "kling-2.5-turbo";
const PROMPT: &str = "A paper boat drifting down a rain gutter";
const WAIT: Duration = Duration::from_secs(30);
const TASK_WAIT: Duration = Duration::from_secs(90);
const STARTER: i64 = 1000;

/// `[data-value, data-held, text]` of `#balance`, or null while it is hidden.
const BALANCE: &str = "const b = document.getElementById('balance');
    return b && !b.hidden ? [b.dataset.value, b.dataset.held, b.textContent.trim()] : null;";

/// Waits until `$script`'s value equals `$want`; the error names what was awaited and the
/// last value read.
macro_rules! read_until {
    ($c:expr, $what:expr, $timeout:expr, $script:expr, $want:expr $(,)?) => {{
        let want: Value = $want;
        let last = std::sync::Mutex::new(Value::Null);
        let found = wait_until($what, $timeout, || async {
            let v = eval($c, $script, vec![]).await?;
            *last.lock().unwrap() = v.clone();
            Ok((v == want).then_some(v))
        })
        .await;
        found.map_err(|e| format!("{e}; last read: {}", last.lock().unwrap()))
    }};
}

/// Runs `$script` with `$args` in the page.
macro_rules! js {
    ($c:expr, $script:expr, $args:expr $(,)?) => {
        eval($c, $script, $args)
            .await
            .map_err(|e| format!("script failed: {e}\n{}", $script))
    };
}

/// `1,234` as `toLocaleString()` writes it in the en-US headless browser.
fn fmt(n: i64) -> String {
    let digits: Vec<char> = n.to_string().chars().collect();
    let groups: Vec<String> = digits
        .rchunks(3)
        .rev()
        .map(|g| g.iter().collect())
        .collect();
    groups.join(",")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_header_shows_the_balance_and_follows_a_generate() {
    let gw = Gateway::start(&["--starter-points", "1000"]);
    let price = expected_points(json!({"model": MODEL, "prompt": PROMPT, "duration": 5}));
    let driver = start_chromedriver().await.expect("chromedriver starts");
    let client = driver
        .new_client()
        .await
        .expect("headless Chromium session");
    let c = &client;
    let result: Result<(), String> = async {
    c.goto(&format!("{}/", gw.url))
        .await
        .map_err(|e| format!("opening {}: {e}", gw.url))?;
    read_until!(
        c,
        "the sign-in form",
        WAIT,
        "const s = document.getElementById('signin-section'); return !!s && !s.hidden;",
        json!(true),
    )?;
    js!(
        c,
        "const k = document.getElementById('api-key'); k.value = arguments[0];
         k.dispatchEvent(new Event('input', {bubbles: true}));
         document.getElementById('sign-in').click();",
        vec![json!(gw.key)],
    )?;
    read_until!(
        c,
        "the balance after sign-in",
        WAIT,
        BALANCE,
        json!([STARTER.to_string(), "0", "1,000 points"]),
    )?;

    // Generate through the form.
    js!(
        c,
        "const m = document.getElementById('model'); m.value = arguments[0];
         m.dispatchEvent(new Event('change', {bubbles: true}));",
        vec![json!(MODEL)],
    )?;
    read_until!(
        c,
        "the prompt field",
        WAIT,
        "return !!document.querySelector(\"#fields [data-field='prompt']\");",
        json!(true),
    )?;
    js!(
        c,
        "const p = document.querySelector(\"#fields [data-field='prompt']\");
         p.value = arguments[0];
         p.dispatchEvent(new Event('input', {bubbles: true}));
         const d = document.querySelector(\"#fields [data-field='duration']\");
         d.value = '5';
         d.dispatchEvent(new Event('change', {bubbles: true}));",
        vec![json!(PROMPT)],
    )?;
    read_until!(
        c,
        "the quote",
        WAIT,
        "const q = document.getElementById('quote-points'); return [q.dataset.state, q.textContent.trim()];",
        json!(["ok", price.to_string()]),
    )?;
    js!(c, "document.getElementById('submit').click();", vec![])?;
    read_until!(
        c,
        "pointsCharged after submit",
        WAIT,
        "return document.getElementById('points-charged').textContent.trim();",
        json!(price.to_string()),
    )?;

    // The header follows: the price left the balance and is held, then charged for good.
    // (The sandbox may finish the task before the first refresh lands; either reading is
    // right for its moment, and the final one must come.)
    let left = STARTER - price;
    let v = wait_until("the balance after the generate", WAIT, || async {
        let v = eval(c, BALANCE, vec![]).await?;
        let held = json!([left.to_string(), price.to_string(), format!("{} points · {} held", fmt(left), fmt(price))]);
        let done = json!([left.to_string(), "0", format!("{} points", fmt(left))]);
        Ok((v == held || v == done).then_some(v))
    })
    .await
    .map_err(|e| e.to_string())?;
    eprintln!("balance after generate: {v}");
    read_until!(
        c,
        "the balance once the task finished",
        TASK_WAIT,
        BALANCE,
        json!([left.to_string(), "0", format!("{} points", fmt(left))]),
    )?;
    let task_status = js!(
        c,
        "const t = document.querySelector('#task-list .task'); return t ? t.dataset.status : null;",
        vec![],
    )?;
    if task_status != json!("succeeded") {
        return Err(format!("the task is {task_status}, not succeeded"));
    }
    save_screenshot(c, "balance-header")
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
    }
    .await;
    if result.is_err() {
        let _ = save_screenshot(&client, "balance-header-failure").await;
    }
    let _ = client.close().await;
    drop(driver);
    if let Err(e) = result {
        panic!("{e}\n--- gateway log ---\n{}", gw.logs());
    }
}
