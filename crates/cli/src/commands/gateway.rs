//! Client commands against a running gateway.

use super::{GenerateArgs, KeysAction, RequestArgs, TasksArgs, UsageView};
use crate::client::GatewayClient;
use crate::exit::CliError;
use crate::output::{cell, print_json, table};
use genmux_core::{Catalog, MediaKind};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

/// What every client command needs.
pub struct Ctx {
    /// The HTTP client.
    pub(crate) client: GatewayClient,
    /// Print JSON instead of tables.
    pub(crate) json: bool,
}

impl Ctx {
    /// A context for `url` with an optional key.
    pub fn new(url: &str, key: Option<String>, json: bool) -> Result<Self, CliError> {
        Ok(Ctx {
            client: GatewayClient::new(url, key)?,
            json,
        })
    }
}

/// `/unified-video` or `/unified-image`, by the model's kind in the catalog.
fn api_prefix(model: &str) -> &'static str {
    match Catalog::builtin().model(model).map(|m| m.kind) {
        Some(MediaKind::Image) => "/unified-image",
        _ => "/unified-video",
    }
}

/// Sets `value` at a dotted `path` inside `obj`, creating objects on the way.
fn set_path(obj: &mut Map<String, Value>, path: &str, value: Value) -> Result<(), CliError> {
    let mut parts = path.split('.').peekable();
    let mut cur = obj;
    while let Some(part) = parts.next() {
        if part.is_empty() {
            return Err(CliError::Usage(format!(
                "--set: `{path}` has an empty field name"
            )));
        }
        if parts.peek().is_none() {
            cur.insert(part.to_string(), value);
            return Ok(());
        }
        let entry = cur
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        cur = entry.as_object_mut().ok_or_else(|| {
            CliError::Usage(format!("--set: `{part}` in `{path}` is not an object"))
        })?;
    }
    Ok(())
}

/// Builds the JSON body of quote/generate from flags.
pub fn request_body(r: &RequestArgs) -> Result<Value, CliError> {
    let mut body = match &r.body {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Usage(format!("--body {}: {e}", path.display())))?;
            match serde_json::from_str(&text) {
                Ok(Value::Object(o)) => o,
                Ok(_) => {
                    return Err(CliError::Usage(format!(
                        "--body {}: not a JSON object",
                        path.display()
                    )))
                }
                Err(e) => return Err(CliError::Usage(format!("--body {}: {e}", path.display()))),
            }
        }
        None => Map::new(),
    };
    body.insert("model".into(), json!(r.model));
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            body.insert(k.into(), v);
        }
    };
    put("prompt", r.prompt.clone().map(Value::from));
    put("duration", r.duration.map(Value::from));
    put("resolution", r.resolution.clone().map(Value::from));
    put("aspectRatio", r.aspect_ratio.clone().map(Value::from));
    put("mode", r.mode.clone().map(Value::from));
    put("quality", r.quality.clone().map(Value::from));
    put("generateAudio", r.audio.then_some(Value::Bool(true)));
    put("callbackUrl", r.callback_url.clone().map(Value::from));
    if !r.images.is_empty() {
        put("images", Some(json!(r.images)));
    }
    for kv in &r.set {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| CliError::Usage(format!("--set: `{kv}` is not FIELD=VALUE")))?;
        let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
        set_path(&mut body, k.trim(), value)?;
    }
    Ok(Value::Object(body))
}

/// The models document of `/unified-video/models` and `/unified-image/models`, merged.
async fn models_document(ctx: &Ctx) -> Result<Value, CliError> {
    let mut doc = ctx.client.get("/unified-video/models", &[]).await?;
    // Image models are listed separately; a gateway without them answers 404.
    if let Ok(images) = ctx.client.get("/unified-image/models", &[]).await {
        if let (Some(v), Some(i)) = (doc["models"].as_array_mut(), images["models"].as_array()) {
            v.extend(i.iter().cloned());
        }
        if let (Some(v), Some(i)) = (
            doc["modelParams"].as_object_mut(),
            images["modelParams"].as_object(),
        ) {
            v.extend(i.clone());
        }
        if let (Some(v), Some(i)) = (
            doc["pricingHints"]["models"].as_object_mut(),
            images["pricingHints"]["models"].as_object(),
        ) {
            v.extend(i.clone());
        }
    }
    Ok(doc)
}

fn joined(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// `genmux models`.
pub async fn models(ctx: &Ctx) -> Result<(), CliError> {
    let doc = models_document(ctx).await?;
    if ctx.json {
        print_json(&doc);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = doc["models"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|m| {
            let id = m["id"].as_str().unwrap_or_default();
            let fields: Vec<&str> = doc["modelParams"][id]["fields"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(|f| f["name"].as_str())
                .collect();
            let example = doc["pricingHints"]["models"][id]["examples"][0]["pointsCharged"].clone();
            vec![
                id.to_string(),
                cell(m.get("kind")),
                joined(&m["operations"]),
                fields.join(", "),
                cell(Some(&example)),
            ]
        })
        .collect();
    println!(
        "{}",
        table(
            &["MODEL", "KIND", "OPERATIONS", "FIELDS", "EXAMPLE POINTS"],
            &rows
        )
    );
    // A hint, not data: stderr keeps stdout a table a script can cut.
    eprintln!(
        "(`genmux models <MODEL>` shows a model's fields, allowed values, defaults and price rule)"
    );
    Ok(())
}

/// The allowed values of a field as the models document states them.
fn allowed(f: &Value) -> String {
    if f["enum"].is_array() {
        return joined(&f["enum"]);
    }
    let range = |lo: &str, hi: &str, unit: &str| match (f.get(lo), f.get(hi)) {
        (Some(a), Some(b)) => Some(format!("{a}–{b}{unit}")),
        (Some(a), None) => Some(format!("≥ {a}{unit}")),
        (None, Some(b)) => Some(format!("≤ {b}{unit}")),
        (None, None) => None,
    };
    range("min", "max", "")
        .or_else(|| range("minLength", "maxLength", " characters"))
        .or_else(|| range("minItems", "maxItems", " items"))
        .unwrap_or_default()
}

/// The price rule of a model in words: unit, rates by condition, audio and increments.
fn price_rule(p: &Value) -> Vec<String> {
    let unit = p["unit"].as_str().unwrap_or("request");
    let mut lines = Vec::new();
    for r in p["rates"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let when = r["when"]
            .as_object()
            .filter(|w| !w.is_empty())
            .map(|w| {
                w.iter()
                    .map(|(k, v)| {
                        format!("{k} = {}", v.as_str().map_or(v.to_string(), str::to_string))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|| "always".into());
        let mut parts = Vec::new();
        if let Some(b) = r["base"].as_f64().filter(|b| *b != 0.0) {
            parts.push(format!("{b} points"));
        }
        if let Some(per) = r["perUnit"].as_f64().filter(|x| *x != 0.0) {
            parts.push(format!("{per} points per {unit}"));
        }
        lines.push(format!("{when}: {}", parts.join(" + ")));
    }
    if let Some(a) = p["audioPercent"].as_u64().filter(|a| *a != 100) {
        lines.push(format!("with generateAudio: × {a} %"));
    }
    if let Some(i) = p["billingIncrement"].as_u64().filter(|i| *i > 1) {
        lines.push(format!("billed in steps of {i} {unit}s"));
    }
    lines
}

/// `genmux models <ID>`.
pub async fn model(ctx: &Ctx, id: &str) -> Result<(), CliError> {
    let doc = models_document(ctx).await?;
    let ids: Vec<&str> = doc["models"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    let Some(m) = doc["models"]
        .as_array()
        .and_then(|a| a.iter().find(|m| m["id"] == id))
    else {
        return Err(CliError::Rejected(format!(
            "model `{id}` is not sold by this gateway (models: {})",
            ids.join(", ")
        )));
    };
    let params = &doc["modelParams"][id];
    let price = &doc["pricingHints"]["models"][id];
    if ctx.json {
        print_json(&json!({"model": m, "params": params, "price": price}));
        return Ok(());
    }
    println!("{id} — {} ({})", cell(m.get("name")), cell(m.get("kind")));
    if let Some(d) = m["description"].as_str() {
        println!("{d}");
    }
    println!("operations: {}", joined(&m["operations"]));
    if let Some(t) = m["estimatedTimeSec"].as_u64() {
        println!("typical time: about {t} s");
    }
    let rows: Vec<Vec<String>> = params["fields"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|f| {
            let name = f["name"].as_str().unwrap_or_default();
            vec![
                name.to_string(),
                cell(f.get("type")),
                if f["required"] == Value::Bool(true) {
                    "yes".into()
                } else {
                    "-".into()
                },
                allowed(f),
                params["defaults"]
                    .get(name)
                    .map(|d| cell(Some(d)))
                    .unwrap_or_else(|| "-".into()),
                f["label"]
                    .as_str()
                    .or(f["description"].as_str())
                    .unwrap_or_default()
                    .to_string(),
            ]
        })
        .collect();
    println!();
    println!(
        "{}",
        table(
            &["FIELD", "TYPE", "REQUIRED", "ALLOWED", "DEFAULT", "ABOUT"],
            &rows
        )
    );
    let rules: Vec<String> = params["rules"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r["description"].as_str().map(str::to_string))
        .collect();
    if !rules.is_empty() {
        println!("\nrules:");
        for r in rules {
            println!("  - {r}");
        }
    }
    println!("\nprice ({}):", price["unit"].as_str().unwrap_or("request"));
    for line in price_rule(price) {
        println!("  {line}");
    }
    for ex in price["examples"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        println!(
            "  e.g. {} → {} points",
            ex["request"],
            cell(ex.get("pointsCharged"))
        );
        // The catalog's `needs`: the field's value is a placeholder for an earlier result.
        for need in ex["needs"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            println!(
                "       {}: give the id of one of your {}s (`genmux status <task>` shows it; a {} task makes one)",
                need["field"].as_str().unwrap_or_default(),
                need["kind"].as_str().unwrap_or("result"),
                need["from"].as_str().unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// `genmux quote`.
pub async fn quote(ctx: &Ctx, r: &RequestArgs) -> Result<(), CliError> {
    let body = request_body(r)?;
    let answer = ctx
        .client
        .post(&format!("{}/quote", api_prefix(&r.model)), &body, None)
        .await?;
    if answer["success"] == Value::Bool(false) {
        let msg = cell(answer.get("error"));
        if ctx.json {
            print_json(&answer);
        }
        return Err(CliError::Rejected(msg));
    }
    if ctx.json {
        print_json(&answer);
    } else {
        println!(
            "{}: {} points",
            cell(answer.get("model")),
            cell(answer.get("pointsCharged"))
        );
    }
    Ok(())
}

/// `genmux generate`.
pub async fn generate(ctx: &Ctx, g: &GenerateArgs) -> Result<(), CliError> {
    let body = request_body(&g.request)?;
    let key = g
        .idempotency_key
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let prefix = api_prefix(&g.request.model);
    let created = ctx
        .client
        .post(&format!("{prefix}/generate"), &body, Some(&key))
        .await?;
    let task_id = created["taskId"].as_str().unwrap_or_default().to_string();
    // Saving the assets needs them to exist: --download waits.
    let wait = g.wait || g.download.is_some();
    if !wait {
        if ctx.json {
            print_json(&created);
        } else {
            println!(
                "task {task_id} {} ({} points charged)",
                cell(created.get("status")),
                cell(created.get("pointsCharged"))
            );
        }
        return Ok(());
    }
    if !ctx.json {
        eprintln!(
            "task {task_id}: {} points charged",
            cell(created.get("pointsCharged"))
        );
    }
    let done = wait_for(
        ctx,
        prefix,
        &task_id,
        Duration::from_secs(g.timeout),
        created["estimatedTimeSec"].as_u64().filter(|s| *s > 0),
        !ctx.json,
    )
    .await?;
    let mut files = Vec::new();
    if let Some(dir) = &g.download {
        for (i, asset) in assets(&done).iter().enumerate() {
            let Some(url) = asset["url"].as_str() else {
                continue;
            };
            let ext = if asset["kind"] == "image" {
                "png"
            } else {
                "mp4"
            };
            let path = dir.join(format!("{task_id}-{i}.{ext}"));
            let bytes = ctx.client.download(url, &path).await?;
            files.push(json!({"path": path.display().to_string(), "bytes": bytes}));
        }
    }
    if ctx.json {
        let mut out = done.clone();
        out["downloads"] = Value::Array(files);
        print_json(&out);
    } else {
        print_status(&done);
        for f in &files {
            println!(
                "saved {} ({} bytes)",
                cell(f.get("path")),
                cell(f.get("bytes"))
            );
        }
    }
    if done["status"] == "failed" || done["status"] == "cancelled" {
        return Err(CliError::TaskFailed(format!(
            "task {task_id} {}: {}",
            cell(done.get("status")),
            cell(done.get("error"))
        )));
    }
    Ok(())
}

pub(crate) fn assets(status: &Value) -> Vec<Value> {
    for key in ["assets", "output"] {
        match &status[key] {
            Value::Array(a) => return a.clone(),
            Value::Object(o) => {
                if let Some(Value::Array(a)) = o
                    .get("assets")
                    .or_else(|| o.get("videos"))
                    .or_else(|| o.get("images"))
                {
                    return a.clone();
                }
            }
            _ => {}
        }
    }
    Vec::new()
}

/// The progress display while waiting: a bar over the provider's estimate when there is
/// one (it stops just short of the end until the task is final), else a spinner.
fn progress(show: bool, estimate: Option<u64>) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = match estimate {
        Some(secs) => {
            let bar = ProgressBar::new(secs);
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {elapsed:>4} of about {len} s  {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        }
        None => {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        }
    };
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Polls a task until it is final, with capped backoff and a progress display; gives up
/// after `timeout` ([`CliError::GaveUp`]: the task goes on).
pub(crate) async fn wait_for(
    ctx: &Ctx,
    prefix: &str,
    task_id: &str,
    timeout: Duration,
    estimate: Option<u64>,
    show: bool,
) -> Result<Value, CliError> {
    let bar = progress(show, estimate);
    let start = Instant::now();
    let mut delay = Duration::from_millis(500);
    loop {
        let s = ctx
            .client
            .get(&format!("{prefix}/{task_id}/status"), &[])
            .await?;
        let status = s["status"].as_str().unwrap_or("unknown").to_string();
        bar.set_message(format!("task {task_id}: {status}"));
        if let Some(len) = estimate {
            bar.set_position(start.elapsed().as_secs().min(len.saturating_sub(1)));
        }
        if matches!(status.as_str(), "succeeded" | "failed" | "cancelled") {
            bar.finish_and_clear();
            return Ok(s);
        }
        if start.elapsed() > timeout {
            bar.finish_and_clear();
            return Err(CliError::GaveUp(format!(
                "gave up waiting after {} s: task {task_id} is still {status} and goes on; check later with `genmux status {task_id}`",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

fn print_status(s: &Value) {
    println!("task    {}", cell(s.get("taskId")));
    println!("status  {}", cell(s.get("status")));
    if let Some(e) = s.get("error").filter(|e| !e.is_null()) {
        println!("error   {}", cell(Some(e)));
    }
    // The asset id is what a later request takes (kling-video-extend's videoId, lip
    // sync's video), so it leads.
    let rows: Vec<Vec<String>> = assets(s)
        .iter()
        .map(|a| {
            vec![
                cell(a.get("id")),
                cell(a.get("kind")),
                cell(a.get("durationSecs")),
                cell(a.get("url")),
            ]
        })
        .collect();
    if !rows.is_empty() {
        println!("{}", table(&["ASSET ID", "KIND", "SECONDS", "URL"], &rows));
    }
}

/// `genmux status`.
pub async fn status(ctx: &Ctx, task_id: &str) -> Result<(), CliError> {
    let s = ctx
        .client
        .get(&format!("/unified-video/{task_id}/status"), &[])
        .await?;
    if ctx.json {
        print_json(&s);
    } else {
        print_status(&s);
    }
    Ok(())
}

/// Most tasks one listing request returns (the gateway's `limit` bound).
const MAX_LIMIT: u32 = 1000;

/// A task id as the gateway mints it (`task_<hex>`); anything else would change the URL.
fn check_task_id(task_id: &str) -> Result<(), CliError> {
    let ok = !task_id.is_empty()
        && task_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "TASK_ID: `{task_id}` is not a task id (letters, digits, `_` and `-`, as `generate` prints it)"
        )))
    }
}

/// An RFC 3339 UTC time (`…:SS[.f…]Z`, as the gateway writes it) as a string that sorts
/// in time order: the fraction padded to nine digits.
fn sortable_time(t: &str) -> String {
    let body = t.strip_suffix('Z').unwrap_or(t);
    let (secs, frac) = body.split_once('.').unwrap_or((body, ""));
    format!("{secs}.{frac:0<9}")
}

/// `genmux tasks`: `GET /unified-video/tasks` and/or `/unified-image/tasks`. With both
/// families, page N of the merged list (newest first) is cut from the first N × limit
/// tasks of each.
pub async fn tasks(ctx: &Ctx, t: &TasksArgs) -> Result<(), CliError> {
    if t.page == 0 {
        return Err(CliError::Usage(
            "--page: 0 is not allowed (pages are numbered from 1)".into(),
        ));
    }
    if !(1..=MAX_LIMIT).contains(&t.limit) {
        return Err(CliError::Usage(format!(
            "--limit: {} is not allowed (allowed: 1 to {MAX_LIMIT})",
            t.limit
        )));
    }
    let prefixes: Vec<&str> = match (t.kind.as_deref(), t.model.as_deref()) {
        (Some("image"), _) => vec!["/unified-image"],
        (Some(_), _) => vec!["/unified-video"],
        (None, Some(m)) => vec![api_prefix(m)],
        (None, None) => vec!["/unified-video", "/unified-image"],
    };
    let merged = prefixes.len() > 1;
    let (page, limit) = if merged {
        let span = t
            .page
            .checked_mul(t.limit)
            .filter(|n| *n <= MAX_LIMIT)
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "--page × --limit: {} × {} reaches past the first {MAX_LIMIT} tasks, which is as far as video and image tasks are listed together; add --kind video or --kind image",
                    t.page, t.limit
                ))
            })?;
        (1, span)
    } else {
        (t.page, t.limit)
    };
    let mut query = vec![("page", page.to_string()), ("limit", limit.to_string())];
    if !t.status.is_empty() {
        query.push(("status", t.status.join(",")));
    }
    if let Some(m) = &t.model {
        query.push(("model", m.clone()));
    }
    if let Some(d) = &t.date_range {
        query.push(("date_range", d.clone()));
    }
    let mut items: Vec<Value> = Vec::new();
    let mut total = 0u64;
    for prefix in &prefixes {
        let answer = ctx.client.get(&format!("{prefix}/tasks"), &query).await?;
        total += answer["total"].as_u64().unwrap_or(0);
        items.extend(answer["tasks"].as_array().cloned().unwrap_or_default());
    }
    if merged {
        items.sort_by(|a, b| {
            let key = |v: &Value| {
                (
                    sortable_time(v["createdAt"].as_str().unwrap_or_default()),
                    v["taskId"].as_str().unwrap_or_default().to_string(),
                )
            };
            key(b).cmp(&key(a))
        });
        let skip = ((t.page - 1) * t.limit) as usize;
        items = items
            .into_iter()
            .skip(skip)
            .take(t.limit as usize)
            .collect();
    }
    if ctx.json {
        print_json(&json!({
            "success": true,
            "tasks": items,
            "page": t.page,
            "limit": t.limit,
            "total": total,
        }));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|i| {
            let prompt = cell(i.get("prompt"));
            let prompt = if prompt.chars().count() > 40 {
                format!("{}…", prompt.chars().take(39).collect::<String>())
            } else {
                prompt
            };
            vec![
                cell(i.get("taskId")),
                cell(i.get("createdAt")),
                cell(i.get("model")),
                cell(i.get("status")),
                cell(i.get("pointsCharged")),
                if i["cancellable"] == Value::Bool(true) {
                    "yes".into()
                } else {
                    "-".into()
                },
                prompt,
            ]
        })
        .collect();
    println!(
        "{}",
        table(
            &[
                "TASK",
                "CREATED",
                "MODEL",
                "STATUS",
                "POINTS",
                "CANCELLABLE",
                "PROMPT"
            ],
            &rows
        )
    );
    let first = u64::from(t.page - 1) * u64::from(t.limit);
    if total > first + rows.len() as u64 {
        println!(
            "({} of {total} tasks shown; next: --page {})",
            rows.len(),
            t.page + 1
        );
    }
    Ok(())
}

/// `genmux cancel`: `POST /unified-video/{taskId}/cancel` (the gateway finds image tasks
/// there too).
pub async fn cancel(ctx: &Ctx, task_id: &str) -> Result<(), CliError> {
    check_task_id(task_id)?;
    let s = ctx
        .client
        .post(
            &format!("/unified-video/{task_id}/cancel"),
            &json!({}),
            None,
        )
        .await?;
    if ctx.json {
        print_json(&s);
    } else {
        println!(
            "task {} {} ({} points charged; the hold was refunded)",
            cell(s.get("taskId")),
            cell(s.get("status")),
            cell(s.get("pointsCharged"))
        );
    }
    Ok(())
}

/// `genmux usage`.
pub async fn usage(ctx: &Ctx, view: &UsageView) -> Result<(), CliError> {
    match view {
        UsageView::Summary { date_range } => {
            let s = ctx
                .client
                .get(
                    "/v1/usage/summary",
                    &[
                        ("date_range", date_range.clone()),
                        ("groupBy", "model".into()),
                    ],
                )
                .await?;
            if ctx.json {
                print_json(&s);
                return Ok(());
            }
            print!(
                "points {}  requests {}",
                cell(s.get("totalPointsCharged")),
                cell(s.get("totalRequests")),
            );
            // Token totals only mean something for token-metered models.
            let tokens = |k: &str| s[k].as_i64().unwrap_or(0);
            if tokens("totalInputTokens") + tokens("totalOutputTokens") > 0 {
                print!(
                    "  input tokens {}  output tokens {}",
                    tokens("totalInputTokens"),
                    tokens("totalOutputTokens")
                );
            }
            // Results the gateway keeps for the account (issue 18).
            if s["storedAssets"].as_u64().unwrap_or(0) > 0 {
                print!(
                    "  stored results {} ({} bytes)",
                    cell(s.get("storedAssets")),
                    cell(s.get("storedBytes"))
                );
            }
            println!();
            let rows: Vec<Vec<String>> = s["byModel"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            vec![
                                k.clone(),
                                cell(v.get("pointsCharged")),
                                cell(v.get("requests")),
                            ]
                        })
                        .collect()
                })
                .unwrap_or_default();
            if !rows.is_empty() {
                println!("{}", table(&["MODEL", "POINTS", "REQUESTS"], &rows));
            }
        }
        UsageView::Logs {
            date_range,
            model,
            page,
            limit,
        } => {
            let mut q = vec![
                ("date_range", date_range.clone()),
                ("page", page.to_string()),
                ("limit", limit.to_string()),
            ];
            if let Some(m) = model {
                q.push(("model", m.clone()));
            }
            let s = ctx.client.get("/v1/usage/logs", &q).await?;
            if ctx.json {
                print_json(&s);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = s["logs"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|l| {
                    vec![
                        cell(l.get("createdAt")),
                        cell(l.get("taskId")),
                        cell(l.get("model")),
                        cell(l.get("pointsCharged")),
                        readable_usage(&l["usage"]),
                    ]
                })
                .collect();
            println!(
                "{}",
                table(&["CREATED", "TASK", "MODEL", "POINTS", "USAGE"], &rows)
            );
        }
    }
    Ok(())
}

/// A usage object in words: `text to video · 10 s · 720p · pro · audio`.
fn readable_usage(u: &Value) -> String {
    let Some(o) = u.as_object() else {
        return cell(Some(u));
    };
    let mut parts = Vec::new();
    if let Some(op) = o.get("operation").and_then(Value::as_str) {
        parts.push(op.replace('_', " "));
    }
    if let Some(d) = o.get("duration").and_then(Value::as_f64) {
        parts.push(format!("{d} s"));
    }
    if let Some(n) = o.get("images").and_then(Value::as_u64) {
        parts.push(format!("{n} image{}", if n == 1 { "" } else { "s" }));
    }
    for k in ["resolution", "mode", "quality"] {
        if let Some(v) = o.get(k).and_then(Value::as_str) {
            parts.push(v.to_string());
        }
    }
    if o.get("generateAudio") == Some(&Value::Bool(true)) {
        parts.push("audio".into());
    }
    for (k, label) in [
        ("inputTokens", "input tokens"),
        ("outputTokens", "output tokens"),
    ] {
        if let Some(n) = o.get(k).and_then(Value::as_i64) {
            parts.push(format!("{n} {label}"));
        }
    }
    parts.join(" · ")
}

/// `genmux keys`.
pub async fn keys(ctx: &Ctx, action: &KeysAction) -> Result<(), CliError> {
    match action {
        KeysAction::Create {
            name,
            scopes,
            account,
        } => {
            let mut body = json!({"name": name, "scopes": scopes});
            if let Some(a) = account {
                body["accountId"] = json!(a);
            }
            let k = ctx.client.post("/v1/keys", &body, None).await?;
            if ctx.json {
                print_json(&k);
            } else {
                println!("id      {}", cell(k.get("id")));
                println!("scopes  {}", cell(k.get("scopes")));
                println!("key     {}", cell(k.get("key")));
                println!("(the key is shown once; store it now)");
            }
        }
        KeysAction::List { account } => {
            let query: Vec<(&str, String)> =
                account.iter().map(|a| ("accountId", a.clone())).collect();
            let k = ctx.client.get("/v1/keys", &query).await?;
            if ctx.json {
                print_json(&k);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = k["keys"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|k| {
                    vec![
                        cell(k.get("id")),
                        cell(k.get("name")),
                        cell(k.get("display")),
                        cell(k.get("scopes")),
                        cell(k.get("revokedAt")),
                    ]
                })
                .collect();
            println!(
                "{}",
                table(&["ID", "NAME", "KEY", "SCOPES", "REVOKED"], &rows)
            );
        }
        KeysAction::Revoke { id } => {
            let k = ctx.client.delete(&format!("/v1/keys/{id}")).await?;
            if ctx.json {
                print_json(&k);
            } else {
                println!("revoked {id}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> RequestArgs {
        RequestArgs {
            model: "kling-2.6-t2v".into(),
            prompt: Some("a fox".into()),
            duration: Some(5),
            resolution: None,
            aspect_ratio: Some("16:9".into()),
            mode: None,
            quality: None,
            audio: true,
            images: vec![],
            set: vec![
                "cameraControl.cameraMotion=pan".into(),
                "cameraControl.cameraSpeed=1.5".into(),
                "cfgScale=0.4".into(),
            ],
            body: None,
            callback_url: None,
        }
    }

    #[test]
    fn body_from_flags_builds_nested_fields_and_json_values() {
        let body = request_body(&args()).unwrap();
        assert_eq!(
            body,
            json!({"model":"kling-2.6-t2v","prompt":"a fox","duration":5,"aspectRatio":"16:9","generateAudio":true,
                   "cameraControl":{"cameraMotion":"pan","cameraSpeed":1.5},"cfgScale":0.4})
        );
    }

    #[test]
    fn bad_set_is_a_usage_error() {
        let mut a = args();
        a.set = vec!["novalue".into()];
        let e = request_body(&a).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("novalue"), "{e}");
    }

    #[test]
    fn merged_listings_sort_by_time_whatever_the_fraction() {
        let mut times = vec![
            "2026-01-02T03:04:05Z",
            "2026-01-02T03:04:05.5Z",
            "2026-01-02T03:04:05.123456Z",
            "2026-01-02T03:04:04.9Z",
        ];
        times.sort_by_key(|t| sortable_time(t));
        assert_eq!(
            times,
            [
                "2026-01-02T03:04:04.9Z",
                "2026-01-02T03:04:05Z",
                "2026-01-02T03:04:05.123456Z",
                "2026-01-02T03:04:05.5Z",
            ]
        );
    }

    #[test]
    fn task_ids_that_would_change_the_url_are_usage_errors() {
        assert!(check_task_id("task_0190abc").is_ok());
        for bad in ["", "../v1/keys", "a b", "x?y"] {
            let e = check_task_id(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().starts_with("TASK_ID: "), "{e}");
        }
    }

    #[test]
    fn image_models_use_the_image_api() {
        assert_eq!(api_prefix("kling-image"), "/unified-image");
        assert_eq!(api_prefix("grok-video"), "/unified-video");
    }
}
