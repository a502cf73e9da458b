//! Every `genmux` command, run as the real binary against a `genmux serve` child process
//! on loopback (sandbox simulators, SQLite in a temp dir), asserting what a user sees:
//! tables, `--json`, downloaded files and exit codes (crates/cli/src/exit.rs).

mod support;

use genmux_core::Catalog;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};
use support::{assert_mp4, expected_points, run_in, shared, Gateway, Sim};

const PROMPT: &str = "A red fox trotting through fresh snow";

/// The first column of a table's body rows (after the header and the dashes).
fn first_column(table: &str) -> Vec<String> {
    table
        .lines()
        .skip_while(|l| !l.starts_with("---"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

fn catalog_ids() -> BTreeSet<String> {
    Catalog::builtin().ids().map(str::to_string).collect()
}

/// Polls `genmux status --json` until the task is final.
fn wait_final(gw: &Gateway, task_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = gw.run(&["--json", "status", task_id]).ok().json();
        if s["status"] == "succeeded" || s["status"] == "failed" {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "task {task_id} not final: {s}\n{}",
            gw.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn created_key(gw: &Gateway, name: &str, scopes: &[&str]) -> (String, String) {
    let mut args = vec!["--json", "keys", "create", "--name", name];
    for s in scopes {
        args.extend(["--scope", s]);
    }
    let k = gw.run(&args).ok().json();
    let id = k["id"].as_str().expect("key id").to_string();
    let key = k["key"].as_str().expect("key plaintext").to_string();
    assert!(key.starts_with(&format!("gmx_{id}_")), "{k}");
    (id, key)
}

#[test]
fn models_table_and_json_list_every_catalog_model() {
    let gw = shared();
    let table = gw.run(&["models"]).ok();
    let header = table.stdout.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("MODEL") && header.contains("EXAMPLE POINTS"),
        "{header}"
    );
    let listed: BTreeSet<String> = first_column(&table.stdout).into_iter().collect();
    assert_eq!(listed, catalog_ids());
    // Each row shows the model's kind from the catalog.
    for line in table.stdout.lines().skip(2) {
        let mut cols = line.split_whitespace();
        let (id, kind) = (cols.next().unwrap(), cols.next().unwrap());
        let spec = Catalog::builtin().model(id).unwrap();
        assert_eq!(
            json!(kind),
            serde_json::to_value(spec.kind).unwrap(),
            "{line}"
        );
    }

    let doc = gw.run(&["--json", "models"]).ok().json();
    let ids: BTreeSet<String> = doc["models"]
        .as_array()
        .expect("models array")
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, catalog_ids());
    for id in catalog_ids() {
        assert!(
            doc["modelParams"][&id]["fields"].is_array(),
            "no fields for {id}"
        );
    }
}

#[test]
fn quote_equals_the_catalog_price_and_a_bad_duration_names_the_allowed_values() {
    let gw = shared();
    for (model, duration) in [
        ("kling-2.5-turbo", 5),
        ("kling-2.5-turbo", 10),
        ("kling-2.6-t2v", 10),
        ("grok-video", 10),
    ] {
        let want = expected_points(json!({"model": model, "prompt": PROMPT, "duration": duration}));
        let d = duration.to_string();
        let run = gw.run(&["quote", "-m", model, "-p", PROMPT, "-d", &d]).ok();
        assert_eq!(run.stdout.trim(), format!("{model}: {want} points"));
        let j = gw
            .run(&["--json", "quote", "-m", model, "-p", PROMPT, "-d", &d])
            .ok()
            .json();
        assert_eq!(j["pointsCharged"], want, "{j}");
        assert_eq!(j["model"], model, "{j}");
    }
    // The same request as a --body file, with a flag overriding one field.
    let body = gw.scratch("quote-body").join("body.json");
    std::fs::write(
        &body,
        json!({"model": "ignored", "prompt": PROMPT, "duration": 5}).to_string(),
    )
    .unwrap();
    let run = gw
        .run(&[
            "quote",
            "-m",
            "kling-2.5-turbo",
            "--body",
            body.to_str().unwrap(),
            "-d",
            "10",
        ])
        .ok();
    let want =
        expected_points(json!({"model": "kling-2.5-turbo", "prompt": PROMPT, "duration": 10}));
    assert_eq!(run.stdout.trim(), format!("kling-2.5-turbo: {want} points"));

    let bad = gw
        .run(&["quote", "-m", "kling-2.5-turbo", "-p", PROMPT, "-d", "7"])
        .exits(3);
    assert!(bad.stdout.is_empty(), "{bad:?}");
    for part in ["duration", "7", "5", "10"] {
        assert!(
            bad.stderr.contains(part),
            "`{part}` missing: {}",
            bad.stderr
        );
    }
    assert!(bad.stderr.contains("allowed"), "{}", bad.stderr);
}

#[test]
fn generate_status_and_usage_agree() {
    // Its own gateway: the usage totals must equal exactly what this test generated.
    let gw = Gateway::start(&[]);
    let a_body = json!({"model": "kling-2.5-turbo", "prompt": PROMPT, "duration": 5});
    let b_body = json!({"model": "kling-2.5-turbo", "prompt": PROMPT, "duration": 10});
    let c_body = json!({"model": "kling-2.6-t2v", "prompt": PROMPT, "duration": 5});
    let (a_pts, b_pts, c_pts) = (
        expected_points(a_body),
        expected_points(b_body),
        expected_points(c_body),
    );

    // Without --wait: the task id and the points, at once.
    let a = gw
        .run(&["generate", "-m", "kling-2.5-turbo", "-p", PROMPT, "-d", "5"])
        .ok();
    let line = a.stdout.trim();
    assert!(
        line.starts_with("task task_") && line.ends_with(&format!("({a_pts} points charged)")),
        "{line}"
    );
    let a_id = line.split_whitespace().nth(1).unwrap().to_string();

    // --wait --download: a real MP4 on disk.
    let dir = gw.scratch("downloads");
    let b = gw
        .run(&[
            "generate",
            "-m",
            "kling-2.5-turbo",
            "-p",
            PROMPT,
            "-d",
            "10",
            "--wait",
            "--download",
            dir.to_str().unwrap(),
        ])
        .ok();
    assert!(
        b.stderr.contains(&format!("{b_pts} points charged")),
        "{}",
        b.stderr
    );
    assert!(
        b.stdout.lines().any(|l| l.trim() == "status  succeeded"),
        "{}",
        b.stdout
    );
    let b_id = b
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("task    "))
        .expect("task line")
        .trim()
        .to_string();
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        files[0].file_name().unwrap().to_str().unwrap(),
        format!("{b_id}-0.mp4")
    );
    assert_mp4(&files[0]);
    let size = std::fs::metadata(&files[0]).unwrap().len();
    assert!(
        b.stdout
            .contains(&format!("saved {} ({size} bytes)", files[0].display())),
        "{}",
        b.stdout
    );

    // --json --wait --download: the final status plus the downloads.
    let dir2 = gw.scratch("downloads-json");
    let c = gw
        .run(&[
            "--json",
            "generate",
            "-m",
            "kling-2.6-t2v",
            "-p",
            PROMPT,
            "-d",
            "5",
            "--wait",
            "--download",
            dir2.to_str().unwrap(),
        ])
        .ok()
        .json();
    assert_eq!(c["status"], "succeeded", "{c}");
    assert_eq!(c["pointsCharged"], c_pts, "{c}");
    let downloads = c["downloads"].as_array().expect("downloads");
    assert_eq!(downloads.len(), 1, "{c}");
    let path = Path::new(downloads[0]["path"].as_str().unwrap());
    assert!(path.starts_with(&dir2), "{}", path.display());
    assert_mp4(path);
    assert_eq!(
        downloads[0]["bytes"],
        std::fs::metadata(path).unwrap().len(),
        "{c}"
    );
    let c_id = c["taskId"].as_str().unwrap().to_string();

    // status: the task submitted without --wait finishes, with a video asset.
    let a_final = wait_final(&gw, &a_id);
    assert_eq!(a_final["status"], "succeeded", "{a_final}");
    let table = gw.run(&["status", &a_id]).ok();
    assert!(
        table.stdout.contains(&format!("task    {a_id}"))
            && table.stdout.contains("status  succeeded"),
        "{}",
        table.stdout
    );
    let video_row = table
        .stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("video"))
        .unwrap_or_else(|| panic!("no video row: {}", table.stdout));
    // Issue 18: the result the gateway keeps, at its own URL.
    assert!(
        video_row.contains(&format!("{}/v1/assets/ast_", gw.url)),
        "{video_row}"
    );
    // An unknown task is a rejected request (exit 3) naming the id.
    let missing = gw.run(&["status", "task_doesnotexist"]).exits(3);
    assert!(
        missing.stderr.contains("task_doesnotexist"),
        "{}",
        missing.stderr
    );

    // usage summary: totals and per-model groups equal what was generated.
    let total = a_pts + b_pts + c_pts;
    let s = gw.run(&["--json", "usage", "summary"]).ok().json();
    assert_eq!(s["totalPointsCharged"], total, "{s}");
    assert_eq!(s["totalRequests"], 3, "{s}");
    assert_eq!(
        s["byModel"]["kling-2.5-turbo"]["pointsCharged"],
        a_pts + b_pts
    );
    assert_eq!(s["byModel"]["kling-2.5-turbo"]["requests"], 2);
    assert_eq!(s["byModel"]["kling-2.6-t2v"]["pointsCharged"], c_pts);
    let table = gw.run(&["usage", "summary"]).ok().stdout;
    assert!(
        table
            .lines()
            .next()
            .unwrap()
            .starts_with(&format!("points {total}  requests 3")),
        "{table}"
    );
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip_while(|l| !l.starts_with("---"))
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let turbo = (a_pts + b_pts).to_string();
    let t2v = c_pts.to_string();
    assert!(
        rows.contains(&vec!["kling-2.5-turbo", turbo.as_str(), "2"]),
        "{table}"
    );
    assert!(
        rows.contains(&vec!["kling-2.6-t2v", t2v.as_str(), "1"]),
        "{table}"
    );

    // usage logs: one row per task, the same points.
    let logs = gw.run(&["--json", "usage", "logs"]).ok().json();
    let entries = logs["logs"].as_array().expect("logs");
    assert_eq!(entries.len(), 3, "{logs}");
    let mut points: Vec<i64> = entries
        .iter()
        .map(|l| l["pointsCharged"].as_i64().unwrap())
        .collect();
    points.sort_unstable();
    let mut want = vec![a_pts, b_pts, c_pts];
    want.sort_unstable();
    assert_eq!(points, want, "{logs}");
    let table = gw.run(&["usage", "logs"]).ok().stdout;
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip_while(|l| !l.starts_with("---"))
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 3, "{table}");
    // CREATED, TASK, MODEL, …
    let mut models: Vec<&str> = rows.iter().map(|r| r[2]).collect();
    models.sort_unstable();
    assert_eq!(
        models,
        ["kling-2.5-turbo", "kling-2.5-turbo", "kling-2.6-t2v"]
    );
    let filtered = gw
        .run(&["--json", "usage", "logs", "--model", "kling-2.6-t2v"])
        .ok()
        .json();
    let filtered = filtered["logs"].as_array().unwrap();
    assert_eq!(filtered.len(), 1);
    assert_eq!(filtered[0]["pointsCharged"], c_pts);
    let _ = c_id;
}

#[cfg(unix)]
#[test]
fn serve_writes_its_secrets_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let gw = shared();
    for path in [gw.key_file(), gw.data_dir().join("webhook.key")] {
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{} is {mode:o}", path.display());
    }
}

#[test]
fn image_models_generate_through_the_image_api() {
    let gw = shared();
    let dir = gw.scratch("images");
    let want = expected_points(json!({"model": "kling-image", "prompt": PROMPT}));
    let done = gw
        .run(&[
            "--json",
            "generate",
            "-m",
            "kling-image",
            "-p",
            PROMPT,
            "--wait",
            "--download",
            dir.to_str().unwrap(),
        ])
        .ok()
        .json();
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["pointsCharged"], want, "{done}");
    let path = done["downloads"][0]["path"].as_str().expect("a download");
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{path} is not a PNG"
    );
    // `status` finds image tasks too.
    let id = done["taskId"].as_str().unwrap();
    let s = gw.run(&["status", id]).ok().stdout;
    assert!(
        s.lines()
            .any(|l| l.split_whitespace().nth(1) == Some("image")),
        "{s}"
    );
}

#[test]
fn keys_create_list_revoke() {
    let gw = shared();
    let (id, key) = created_key(&gw, "keys-test", &[]);
    let want =
        expected_points(json!({"model": "kling-2.5-turbo", "prompt": PROMPT, "duration": 5}));

    // The new key works.
    let q = gw
        .run_with_key(
            Some(&key),
            &["quote", "-m", "kling-2.5-turbo", "-p", PROMPT, "-d", "5"],
        )
        .ok();
    assert_eq!(q.stdout.trim(), format!("kling-2.5-turbo: {want} points"));

    // The table create prints shows the key once.
    let t = gw.run(&["keys", "create", "--name", "keys-table"]).ok();
    assert!(t.stdout.contains("key     gmx_"), "{}", t.stdout);
    assert!(t.stdout.contains("shown once"), "{}", t.stdout);

    // list: the key by id, name and masked display; never the plaintext.
    let secret = key.rsplit('_').next().unwrap();
    let list = gw.run(&["keys", "list"]).ok().stdout;
    let row = list
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{id} not listed: {list}"));
    assert!(row.contains("keys-test"), "{row}");
    assert!(row.contains(&key[key.len() - 4..]), "{row}");
    assert!(
        row.split_whitespace().last() == Some("-"),
        "not revoked yet: {row}"
    );
    for out in [list, gw.run(&["--json", "keys", "list"]).ok().stdout] {
        assert!(!out.contains(&key), "plaintext key listed: {out}");
        assert!(!out.contains(secret), "secret listed: {out}");
        assert!(!out.contains(&gw.key), "admin key listed: {out}");
    }

    // revoke: the key stops working (exit 4) and list shows when it was revoked.
    let r = gw.run(&["keys", "revoke", &id]).ok();
    assert_eq!(r.stdout.trim(), format!("revoked {id}"));
    let denied = gw
        .run_with_key(
            Some(&key),
            &["quote", "-m", "kling-2.5-turbo", "-p", PROMPT, "-d", "5"],
        )
        .exits(4);
    assert!(denied.stderr.contains("revoked"), "{}", denied.stderr);
    let listed = gw.run(&["--json", "keys", "list"]).ok().json();
    let entry = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .cloned()
        .expect("revoked key still listed");
    assert!(entry["revokedAt"].is_string(), "{entry}");
    // Revoking an unknown id is a rejected request naming it.
    let unknown = gw.run(&["keys", "revoke", "nosuchkeyid"]).exits(3);
    assert!(unknown.stderr.contains("nosuchkeyid"), "{}", unknown.stderr);
}

#[test]
fn missing_or_under_scoped_keys_exit_4() {
    let gw = shared();
    let (_, read_only) = created_key(&gw, "read-only", &["api.read"]);
    let g = gw
        .run_with_key(
            Some(&read_only),
            &["generate", "-m", "kling-2.5-turbo", "-p", PROMPT],
        )
        .exits(4);
    assert!(g.stderr.contains("api.generate"), "{}", g.stderr);
    // It may still read: quote works.
    gw.run_with_key(
        Some(&read_only),
        &["quote", "-m", "kling-2.5-turbo", "-p", PROMPT],
    )
    .ok();
    // Key management needs admin.
    gw.run_with_key(Some(&read_only), &["keys", "list"])
        .exits(4);
    // No key at all.
    gw.run_with_key(None, &["quote", "-m", "kling-2.5-turbo", "-p", PROMPT])
        .exits(4);
    // A made-up key.
    gw.run_with_key(
        Some("gmx_AAAAAAAAAAAAAAAA_notarealsecretnotarealsecret00"),
        &["usage", "summary"],
    )
    .exits(4);
}

#[test]
fn insufficient_points_exit_5() {
    let gw = Gateway::start(&["--starter-points", "1"]);
    let want =
        expected_points(json!({"model": "kling-2.5-turbo", "prompt": PROMPT, "duration": 5}));
    let run = gw
        .run(&["generate", "-m", "kling-2.5-turbo", "-p", PROMPT, "-d", "5"])
        .exits(5);
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(
        run.stderr.contains("insufficient points") && run.stderr.contains(&want.to_string()),
        "{}",
        run.stderr
    );
    // Nothing was charged.
    let s = gw.run(&["--json", "usage", "summary"]).ok().json();
    assert_eq!(s["totalPointsCharged"], 0, "{s}");
}

#[test]
fn bad_set_exits_2_naming_the_argument() {
    let gw = shared();
    let r = gw
        .run(&[
            "quote",
            "-m",
            "kling-2.5-turbo",
            "-p",
            PROMPT,
            "--set",
            "novalue",
        ])
        .exits(2);
    assert!(
        r.stderr.contains("novalue") && r.stderr.contains("FIELD=VALUE"),
        "{}",
        r.stderr
    );
    let r = gw
        .run(&[
            "quote",
            "-m",
            "kling-2.5-turbo",
            "-p",
            PROMPT,
            "--set",
            "a..b=1",
        ])
        .exits(2);
    assert!(r.stderr.contains("a..b"), "{}", r.stderr);
    // A well-formed --set reaches the gateway: a nested field is validated there.
    let ok = gw
        .run(&[
            "--json",
            "quote",
            "-m",
            "kling-2.5-turbo",
            "-p",
            PROMPT,
            "--set",
            "cfgScale=0.5",
        ])
        .ok()
        .json();
    assert!(ok["pointsCharged"].is_i64(), "{ok}");
}

#[test]
fn unreachable_gateway_exits_7() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let r = run_in(
        dir.path(),
        &[("GENMUX_API_KEY", "gmx_x_y")],
        &["--url", &url, "models"],
    )
    .exits(7);
    assert!(
        r.stderr.contains("cannot reach the gateway") && r.stderr.contains(&port.to_string()),
        "{}",
        r.stderr
    );
    let r = run_in(dir.path(), &[("GENMUX_URL", &url)], &["usage", "summary"]).exits(7);
    assert!(r.stderr.contains(&url), "{}", r.stderr);
}

#[test]
fn a_bad_config_file_makes_serve_exit_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    for (toml, key) in [
        (
            "listen = \"127.0.0.1:0\"\n[limits]\nkey_rmp = 5\n",
            "key_rmp",
        ),
        (
            "listen = \"127.0.0.1:0\"\nstarter_pointz = 5\n",
            "starter_pointz",
        ),
        (
            "listen = \"127.0.0.1:0\"\nlog_format = \"xml\"\n",
            "log_format",
        ),
        (
            "listen = \"127.0.0.1:0\"\n[limits]\nkey_rpm = 60\nredis_url = \"http://cache:6379\"\n",
            "redis_url",
        ),
        (
            "listen = \"127.0.0.1:0\"\n[limits]\nredis_url = \"redis://127.0.0.1:6379/\"\n",
            "key_rpm",
        ),
        (
            "listen = \"127.0.0.1:0\"\n[limits]\nauth_cache_ttl_secs = 18446744073709551615\n",
            "auth_cache_ttl_secs",
        ),
    ] {
        let path = dir.path().join("genmux.toml");
        std::fs::write(&path, toml).unwrap();
        let r = run_in(
            dir.path(),
            &[],
            &[
                "serve",
                "--config",
                path.to_str().unwrap(),
                "--data-dir",
                data,
            ],
        )
        .exits(2);
        assert!(r.stderr.contains(key), "{key} not named: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{r:?}");
    }
}

#[test]
fn demo_saves_an_mp4_and_prints_the_usage_summary() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_in(dir.path(), &[], &["demo"]).ok();
    let out = dir.path().join("genmux-out");
    let files: Vec<_> = std::fs::read_dir(&out)
        .unwrap_or_else(|e| panic!("{}: {e}", out.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().unwrap(), "mp4");
    assert_mp4(&files[0]);

    // The demo's defaults: kling-2.5-turbo, 5 s, its built-in prompt.
    let want = expected_points(json!({
        "model": "kling-2.5-turbo",
        "prompt": "A red fox trotting through fresh snow at golden hour, cinematic",
        "duration": 5,
    }));
    assert!(
        r.stdout.contains(&format!("{want} points charged")),
        "{}",
        r.stdout
    );
    let summary = r
        .stdout
        .split("usage summary")
        .nth(1)
        .unwrap_or_else(|| panic!("no usage summary: {}", r.stdout));
    let row: Vec<&str> = summary
        .lines()
        .find(|l| l.starts_with("kling-2.5-turbo"))
        .unwrap_or_else(|| panic!("no model row: {summary}"))
        .split_whitespace()
        .collect();
    assert_eq!(row, ["kling-2.5-turbo", want.to_string().as_str(), "1"]);
    assert!(
        summary.contains(&format!("total: {want} points, 1 requests")),
        "{summary}"
    );
}

#[test]
fn sim_runs_the_kling_simulator_that_serve_can_use_as_its_provider() {
    let sim = Sim::start(&["--speed", "30"]);
    let kling = &sim.info["kling"];
    let base = kling["baseUrl"].as_str().expect("baseUrl");
    let ak = kling["accessKey"].as_str().expect("accessKey");
    let sk = kling["secretKey"].as_str().expect("secretKey");
    assert!(base.starts_with("http://127.0.0.1:"), "{}", sim.info);
    assert!(!base.ends_with(":0"), "the bound port is printed: {base}");
    let unified = &sim.info["unified"];
    let unified_base = unified["baseUrl"].as_str().expect("unified baseUrl");
    assert!(
        unified_base.starts_with("http://127.0.0.1:") && !unified_base.ends_with(":0"),
        "{}",
        sim.info
    );
    assert!(
        unified["apiKey"].as_str().is_some_and(|k| !k.is_empty()),
        "{}",
        sim.info
    );

    // serve with real-provider settings pointing at it: no sandbox, Kling only. The keys
    // come from the environment (secrets are never flags).
    let gw = Gateway::start_env(
        &["--no-sandbox", "--allow-loopback-callbacks"],
        &[
            ("KLING_BASE_URL", base),
            ("KLING_ACCESS_KEY", ak),
            ("KLING_SECRET_KEY", sk),
        ],
    );
    assert!(
        gw.banner.contains("providers: kling") && !gw.banner.contains("sandbox:"),
        "{}",
        gw.banner
    );
    let dir = gw.scratch("via-sim");
    let done = gw
        .run(&[
            "--json",
            "generate",
            "-m",
            "kling-2.5-turbo",
            "-p",
            PROMPT,
            "--wait",
            "--download",
            dir.to_str().unwrap(),
        ])
        .ok()
        .json();
    assert_eq!(done["status"], "succeeded", "{done}");
    let url = done["assets"][0]["url"].as_str().expect("asset url");
    // Issue 18: copied from the sim into the gateway's store, served at the gateway.
    assert!(
        url.starts_with(&format!("{}/v1/assets/ast_", gw.url)) && !url.starts_with(base),
        "{url} is served by the gateway, not the sim at {base}"
    );
    assert_mp4(Path::new(done["downloads"][0]["path"].as_str().unwrap()));

    // A bad flag value is a usage error naming the flag.
    let dir = tempfile::tempdir().unwrap();
    let r = run_in(dir.path(), &[], &["sim", "--failure-rate", "2"]).exits(2);
    assert!(r.stderr.contains("--failure-rate"), "{}", r.stderr);
}
