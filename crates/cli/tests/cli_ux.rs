//! The CLI as a user meets it (issue 20 point 2): one model in full, asset ids in
//! `status`, readable usage logs, `--download` that waits, a distinct exit for giving up,
//! JSON errors under `--json`, the missing key named, a URL that is not genmux, shell
//! completions and the man page.

mod support;

use std::io::{Read, Write};
use support::{assert_mp4, run_in, shared};

const PROMPT: &str = "A red fox trotting through fresh snow at golden hour";

#[test]
fn models_with_an_id_shows_fields_allowed_values_defaults_and_the_price_rule() {
    let gw = shared();
    let r = gw.run(&["models", "kling-2.5-turbo"]).ok();
    let out = &r.stdout;
    for needle in [
        "kling-2.5-turbo",
        "FIELD",
        "ALLOWED",
        "DEFAULT",
        "duration",
        "5, 10",
        "aspectRatio",
        "16:9",
        "price (second)",
        "points",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
    // The listing names each model's fields too.
    let list = gw.run(&["models"]).ok().stdout;
    assert!(list.contains("FIELDS") && list.contains("prompt"), "{list}");
    // An unknown id is refused naming the models there are.
    let r = gw.run(&["models", "no-such-model"]).exits(3);
    assert!(
        r.stderr.contains("no-such-model") && r.stderr.contains("kling-2.5-turbo"),
        "{}",
        r.stderr
    );
    // An example standing on an earlier result says what to give instead of its
    // placeholder; in the sandbox, example media point at its sample files.
    let out = gw.run(&["models", "kling-video-extend"]).ok().stdout;
    assert!(
        out.contains("videoId: give the id of one of your videos")
            && out.contains("a kling-2.5-turbo task makes one"),
        "{out}"
    );
    let out = gw.run(&["models", "kling-motion-control"]).ok().stdout;
    assert!(
        out.contains("/samples/video/720x1280/8/dance.mp4") && !out.contains("example.com"),
        "{out}"
    );
    let j = gw.run(&["--json", "models", "grok-video"]).ok().json();
    assert_eq!(j["model"]["id"], "grok-video");
    assert!(
        j["params"]["fields"].is_array() && j["price"]["rates"].is_array(),
        "{j}"
    );
}

#[test]
fn download_waits_status_shows_asset_ids_and_usage_logs_read_as_words() {
    let gw = shared();
    let dir = gw.scratch("download-implies-wait");
    let done = gw
        .run(&[
            "--json",
            "generate",
            "-m",
            "kling-2.5-turbo",
            "-p",
            PROMPT,
            "--download",
            dir.to_str().unwrap(),
        ])
        .ok()
        .json();
    assert_eq!(done["status"], "succeeded", "{done}");
    let path = done["downloads"][0]["path"].as_str().expect("a download");
    assert_mp4(std::path::Path::new(path));
    let task = done["taskId"].as_str().unwrap();
    let asset_id = done["assets"][0]["id"].as_str().expect("an asset id");
    let status = gw.run(&["status", task]).ok().stdout;
    assert!(
        status.contains("ASSET ID") && status.contains(asset_id),
        "{status}"
    );
    let logs = gw
        .run(&["usage", "logs", "--date-range", "today", "--limit", "100"])
        .ok()
        .stdout;
    let row = logs
        .lines()
        .find(|l| l.contains(task))
        .unwrap_or_else(|| panic!("no row for {task}:\n{logs}"));
    assert!(
        row.contains("text to video") && row.contains("5 s"),
        "{row}"
    );
    assert!(
        !logs.contains("final_unit_deduction") && !logs.contains('{'),
        "{logs}"
    );
}

#[test]
fn giving_up_waiting_exits_9_and_json_errors_are_json() {
    let gw = shared();
    let r = gw
        .run(&[
            "generate",
            "-m",
            "kling-2.5-turbo",
            "-p",
            PROMPT,
            "--wait",
            "--timeout",
            "0",
        ])
        .exits(9);
    assert!(
        r.stderr.contains("gave up waiting") && r.stderr.contains("genmux status"),
        "{}",
        r.stderr
    );
    let r = gw
        .run(&[
            "--json",
            "quote",
            "-m",
            "kling-2.5-turbo",
            "-p",
            PROMPT,
            "-d",
            "7",
        ])
        .exits(3);
    let j = r.json();
    assert_eq!(j["success"], false);
    assert_eq!(j["error"]["exitCode"], 3);
    assert_eq!(j["error"]["kind"], "rejected");
    assert!(
        j["error"]["message"].as_str().unwrap().contains("duration"),
        "{j}"
    );
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}

#[test]
fn a_missing_key_is_named_and_a_url_that_is_not_genmux_is_reported() {
    let gw = shared();
    let r = gw.run_with_key(None, &["usage", "summary"]).exits(4);
    assert!(r.stderr.contains("GENMUX_API_KEY"), "{}", r.stderr);
    // A web server that answers every request with an HTML page.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten().take(4) {
            let mut stream = stream;
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = "<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let r = run_in(
        dir.path(),
        &[("GENMUX_API_KEY", "gmx_x_y")],
        &["--url", &url, "models"],
    )
    .exits(7);
    assert!(
        r.stderr.contains("does not look like a genmux gateway")
            && r.stderr.contains("text/html")
            && !r.stderr.contains("nginx"),
        "{}",
        r.stderr
    );
}

#[test]
fn completions_and_the_man_page_are_generated() {
    let dir = tempfile::tempdir().unwrap();
    let bash = run_in(dir.path(), &[], &["completions", "bash"])
        .ok()
        .stdout;
    assert!(
        bash.contains("_genmux()") && bash.contains("generate") && bash.contains("--download"),
        "{bash}"
    );
    let zsh = run_in(dir.path(), &[], &["completions", "zsh"]).ok().stdout;
    assert!(zsh.starts_with("#compdef genmux"), "{zsh}");
    let man = run_in(dir.path(), &[], &["man"]).ok().stdout;
    assert!(
        man.contains(".TH genmux") && man.contains("generate"),
        "{man}"
    );
    let bad = run_in(dir.path(), &[], &["completions", "cmd.exe"]).exits(2);
    assert!(bad.stderr.contains("cmd.exe"), "{}", bad.stderr);
}
