//! Provider settings declared by the provider crates (issue 14 point 2), configuration
//! precedence (flags > environment > file, issue 14 point 8) and the sandbox rules (issue 13
//! point 6), run as the real `genmux` binary: banners, `/healthz`, the models document,
//! `genmux providers` and exit codes.

mod support;

use serde_json::Value;
use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};
use support::{run_in, Gateway, Sim};

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// `GET path` on a gateway over a plain socket: (status, JSON body).
fn http_get(base: &str, path: &str) -> (u16, Value) {
    let addr = base.strip_prefix("http://").expect("http URL");
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the gateway");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read the answer");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    let json = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
    (status, json)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
    out
}

/// Each linked provider's required settings, by provider id, as its crate declares them.
fn required_settings() -> Vec<(&'static str, String)> {
    genmux::link_providers();
    genmux_core::registrations()
        .map(|r| {
            (
                r.id,
                genmux_core::settings::alternatives_text(r.settings.iter().filter(|s| s.required)),
            )
        })
        .collect()
}

/// A fresh PostgreSQL database on the server of `GENMUX_TEST_PG`, dropped at the end.
struct PgDb {
    admin: String,
    name: String,
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

impl PgDb {
    fn new() -> PgDb {
        use sqlx::Connection as _;
        let admin = std::env::var("GENMUX_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.into());
        let name = format!("genmux_cli_{}", uuid::Uuid::new_v4().simple());
        block_on(async {
            let mut c = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL tests need a server at {admin}: {e}"));
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut c)
                .await
                .expect("create the scratch database");
        });
        PgDb { admin, name }
    }

    fn url(&self) -> String {
        let mut u = url::Url::parse(&self.admin).expect("GENMUX_TEST_PG is a URL");
        u.set_path(&self.name);
        u.to_string()
    }

    /// How many API keys the database holds (0 when it has no schema yet).
    fn key_count(&self) -> i64 {
        use sqlx::Connection as _;
        block_on(async {
            let mut c = sqlx::PgConnection::connect(&self.url()).await.unwrap();
            let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass('api_keys')::text")
                .fetch_one(&mut c)
                .await
                .unwrap();
            match exists {
                Some(_) => sqlx::query_scalar("SELECT count(*) FROM api_keys")
                    .fetch_one(&mut c)
                    .await
                    .unwrap(),
                None => 0,
            }
        })
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        use sqlx::Connection as _;
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            block_on(async {
                if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut c)
                        .await;
                }
            })
        })
        .join();
    }
}

#[test]
fn serve_with_nothing_set_runs_the_sandbox_and_says_so_everywhere() {
    let gw = Gateway::start(&[]);
    // The banner says why, and which provider each simulator plays.
    assert!(
        gw.banner.contains(
            "sandbox: no provider credential and no database_url is set, so every provider is simulated in this process"
        ),
        "{}",
        gw.banner
    );
    for (id, _) in required_settings() {
        assert!(
            gw.banner
                .contains(&format!("sandbox:   provider {id} -> the ")),
            "{id} not in the banner: {}",
            gw.banner
        );
    }
    // The models document and /healthz say it.
    let models = gw.run(&["--json", "models"]).ok().json();
    assert_eq!(models["sandbox"], true, "{models}");
    let (status, health) = http_get(&gw.url, "/healthz");
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["sandbox"], true, "{health}");
    assert_eq!(health["database"], "sqlite", "{health}");
    // Loopback callbacks are admitted in the sandbox: the task is created.
    let created = gw
        .run(&[
            "--json",
            "generate",
            "-m",
            "kling-2.5-turbo",
            "-p",
            "a lighthouse in fog",
            "--callback-url",
            "http://127.0.0.1:9/hook",
        ])
        .ok()
        .json();
    assert!(created["taskId"].is_string(), "{created}");
}

#[test]
fn with_a_real_provider_nothing_says_sandbox_and_loopback_callbacks_are_refused() {
    let sim = Sim::start(&["--speed", "30"]);
    let kling = &sim.info["kling"]["settings"];
    let env: Vec<(&str, &str)> = kling
        .as_object()
        .expect("kling settings")
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
        .collect();
    let gw = Gateway::start_env(&[], &env);
    assert!(!gw.banner.contains("sandbox"), "{}", gw.banner);
    assert!(gw.banner.contains("providers: kling)"), "{}", gw.banner);
    let models = gw.run(&["--json", "models"]).ok().json();
    assert_eq!(models["sandbox"], false, "{models}");
    let (status, health) = http_get(&gw.url, "/healthz");
    assert_eq!(
        (status, &health["sandbox"]),
        (200, &Value::Bool(false)),
        "{health}"
    );
    let r = gw
        .run(&[
            "generate",
            "-m",
            "kling-2.5-turbo",
            "-p",
            "a lighthouse in fog",
            "--callback-url",
            "http://127.0.0.1:9/hook",
        ])
        .exits(3);
    assert!(r.stderr.contains("callbackUrl"), "{}", r.stderr);
}

#[test]
fn a_database_url_without_providers_exits_2_naming_the_missing_settings() {
    let pg = PgDb::new();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let sqlite = format!("sqlite://{}", dir.path().join("explicit.db").display());
    let data_arg = data.to_str().unwrap();
    for (db, how) in [
        (pg.url(), "flag"),
        (sqlite.clone(), "flag"),
        (pg.url(), "env"),
    ] {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--data-dir", data_arg];
        let mut env = vec![];
        if how == "flag" {
            args.extend(["--database-url", db.as_str()]);
        } else {
            env.push(("DATABASE_URL", db.as_str()));
        }
        let r = run_in(dir.path(), &env, &args).exits(2);
        assert!(
            r.stderr
                .contains("database_url is set, so the sandbox does not start by itself"),
            "{}",
            r.stderr
        );
        for (id, names) in required_settings() {
            let want = format!("{id}: {names}");
            assert!(r.stderr.contains(&want), "{want} not named: {}", r.stderr);
        }
        assert!(r.stderr.contains("--sandbox"), "{}", r.stderr);
        assert!(r.stdout.is_empty(), "{r:?}");
    }
    // Refused before the database was touched.
    assert_eq!(pg.key_count(), 0);
    assert!(!dir.path().join("explicit.db").exists());

    // --sandbox with the database: runs, says so, and uses that database.
    let gw = Gateway::start(&["--database-url", &pg.url(), "--sandbox"]);
    assert!(
        gw.banner
            .contains("sandbox: --sandbox: every provider is simulated"),
        "{}",
        gw.banner
    );
    assert!(gw.banner.contains("(postgres database;"), "{}", gw.banner);
    let (_, health) = http_get(&gw.url, "/healthz");
    assert_eq!(health["sandbox"], true, "{health}");
    assert_eq!(health["database"], "postgres", "{health}");
    assert_eq!(pg.key_count(), 1);
    drop(gw);
    let gw = Gateway::start(&["--database-url", &sqlite, "--sandbox"]);
    assert!(gw.banner.contains("(sqlite database;"), "{}", gw.banner);
    assert!(dir.path().join("explicit.db").exists());
}

#[test]
fn sandbox_with_real_credentials_is_refused_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("sk");
    std::fs::write(&secret, "do-not-print-me\n").unwrap();
    let r = run_in(
        dir.path(),
        &[
            ("KLING_ACCESS_KEY", "ak-do-not-print"),
            ("KLING_SECRET_KEY_FILE", secret.to_str().unwrap()),
        ],
        &["serve", "--listen", "127.0.0.1:0", "--sandbox"],
    )
    .exits(2);
    for part in [
        "--sandbox ([sandbox] enabled): refused because provider credentials are set",
        "KLING_ACCESS_KEY (from environment KLING_ACCESS_KEY)",
        &format!(
            "KLING_SECRET_KEY (from file {} (KLING_SECRET_KEY_FILE))",
            secret.display()
        ),
    ] {
        assert!(r.stderr.contains(part), "{part}: {}", r.stderr);
    }
    assert!(
        !r.stderr.contains("do-not-print"),
        "a secret was printed: {}",
        r.stderr
    );
    // Nothing was started: no data dir.
    assert!(!dir.path().join("genmux-data").exists());
}

#[test]
fn secrets_are_refused_as_flags_and_bad_settings_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_in(
        dir.path(),
        &[],
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--provider-setting",
            "kling.secret_key=hunter2",
        ],
    )
    .exits(2);
    assert!(
        r.stderr.contains("--provider-setting kling.secret_key: KLING_SECRET_KEY is a secret and is never taken from a flag"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);

    let config = dir.path().join("genmux.toml");
    for (toml, env, says) in [
        (
            "[providers.kling]\naccess_kee = \"x\"\n",
            vec![],
            "[providers.kling] access_kee: provider kling has no such setting (allowed: access_key, access_key_file,",
        ),
        (
            "[providers.klingg]\n",
            vec![],
            "[providers.klingg]: no provider `klingg` is linked into this binary",
        ),
        (
            "[kling]\naccess_key = \"x\"\n",
            vec![],
            "[kling]: provider settings live in [providers.kling]",
        ),
        (
            "",
            vec![("MIDSYNC_API_KEY", "k"), ("MIDSYNC_BASE_URL", "ftp://x")],
            "MIDSYNC_BASE_URL ([providers.midsync] base_url), from environment MIDSYNC_BASE_URL: `ftp://x` is not allowed (allowed: an http(s) URL",
        ),
        (
            "",
            vec![("MIDSYNC_API_KEY", "k")],
            "provider midsync: MIDSYNC_BASE_URL ([providers.midsync] base_url) not set, but MIDSYNC_API_KEY (from environment MIDSYNC_API_KEY) is set",
        ),
        (
            "[providers.kling]\nsecret_key_file = \"/nonexistent/genmux-sk\"\n",
            vec![],
            "[providers.kling] secret_key_file: cannot read /nonexistent/genmux-sk",
        ),
    ] {
        std::fs::write(&config, toml).unwrap();
        let r = run_in(
            dir.path(),
            &env,
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--config",
                config.to_str().unwrap(),
            ],
        )
        .exits(2);
        assert!(r.stderr.contains(says), "{says}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{r:?}");
    }
}

/// One provider setting's entry in `genmux --json providers`.
fn setting(doc: &Value, provider: &str, env: &str) -> Value {
    doc["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == provider)
        .unwrap_or_else(|| panic!("{provider} missing: {doc}"))["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["env"] == env)
        .unwrap_or_else(|| panic!("{env} missing: {doc}"))
        .clone()
}

#[test]
fn precedence_is_flags_then_environment_then_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("genmux.toml");
    let db = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    std::fs::write(
        &config,
        format!(
            "database_url = \"{}\"\n[providers.kling]\nbase_url = \"https://file.example\"\n",
            db("file.db")
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();

    // Provider settings, through `genmux providers`.
    let base = |env: &[(&str, &str)], flags: &[&str]| {
        let mut args = vec!["--json", "providers", "--config", cfg];
        args.extend(flags);
        let doc = run_in(dir.path(), env, &args).ok().json();
        let s = setting(&doc, "kling", "KLING_BASE_URL");
        (
            s["value"].as_str().unwrap().to_string(),
            s["source"].as_str().unwrap().to_string(),
        )
    };
    assert_eq!(
        base(&[], &[]),
        (
            "https://file.example".into(),
            "config [providers.kling] base_url".into()
        )
    );
    let env = [("KLING_BASE_URL", "https://env.example")];
    assert_eq!(
        base(&env, &[]),
        (
            "https://env.example".into(),
            "environment KLING_BASE_URL".into()
        )
    );
    assert_eq!(
        base(
            &env,
            &["--provider-setting", "kling.base_url=https://flag.example"]
        ),
        (
            "https://flag.example".into(),
            "flag --provider-setting kling.base_url".into()
        )
    );

    // Serve settings: which database `serve` opens.
    let opened = |env: &[(&str, &str)], flags: &[&str]| {
        let mut args = vec!["--config", cfg, "--sandbox"];
        args.extend(flags);
        let gw = Gateway::start_env(&args, env);
        drop(gw);
        let found: Vec<&str> = ["file.db", "env.db", "flag.db"]
            .into_iter()
            .filter(|f| dir.path().join(f).exists())
            .collect();
        for f in &found {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(dir.path().join(format!("{f}{suffix}")));
            }
        }
        found
    };
    let env_db = db("env.db");
    let flag_db = db("flag.db");
    assert_eq!(opened(&[], &[]), ["file.db"]);
    assert_eq!(opened(&[("DATABASE_URL", &env_db)], &[]), ["env.db"]);
    assert_eq!(
        opened(&[("DATABASE_URL", &env_db)], &["--database-url", &flag_db]),
        ["flag.db"]
    );
}

#[test]
fn providers_lists_registrations_configuration_and_offerings_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let sk = dir.path().join("sk");
    std::fs::write(&sk, "sk-never-shown\n").unwrap();
    let env = [
        ("KLING_ACCESS_KEY", "ak-never-shown"),
        ("KLING_SECRET_KEY_FILE", sk.to_str().unwrap()),
    ];
    let r = run_in(dir.path(), &env, &["providers"]).ok();
    assert!(!r.stdout.contains("never-shown"), "{}", r.stdout);
    let rows: Vec<&str> = r.stdout.lines().collect();
    let row = |id: &str| {
        rows.iter()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no row for {id}: {}", r.stdout))
            .to_string()
    };
    assert!(row("kling").contains("configured"), "{}", r.stdout);
    assert!(
        row("midsync").contains("not configured (needs MIDSYNC_API_KEY, MIDSYNC_BASE_URL)"),
        "{}",
        r.stdout
    );
    for part in [
        "[providers.kling] settings",
        "[providers.midsync] settings",
        &format!("set (file {} (KLING_SECRET_KEY_FILE))", sk.display()),
        "set (environment KLING_ACCESS_KEY)",
        "https://api-singapore.klingai.com (default)",
        "UPSTREAM COST",
        "serve: uses the real providers: kling",
        "kling offerings",
    ] {
        assert!(r.stdout.contains(part), "{part}: {}", r.stdout);
    }
    let offering = rows
        .iter()
        .find(|l| l.starts_with("kling-2.5-turbo "))
        .unwrap_or_else(|| panic!("no kling-2.5-turbo offering: {}", r.stdout));
    assert!(
        offering.contains("kling-v2-5-turbo") && offering.contains('$'),
        "{offering}"
    );

    let doc = run_in(dir.path(), &env, &["--json", "providers"])
        .ok()
        .json();
    assert!(!doc.to_string().contains("never-shown"), "{doc}");
    let kling = doc["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "kling")
        .unwrap();
    assert_eq!(kling["state"], "configured");
    let secret = setting(&doc, "kling", "KLING_SECRET_KEY");
    assert_eq!(secret["value"], "set");
    assert_eq!(secret["secret"], true);
    let turbo = kling["offerings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["model"] == "kling-2.5-turbo")
        .unwrap();
    assert_eq!(turbo["providerModel"], "kling-v2-5-turbo");
    assert!(turbo["upstreamCostUsd"].as_f64().unwrap() > 0.0, "{turbo}");
    assert!(turbo["pricePoints"].as_i64().unwrap() > 0, "{turbo}");

    // Nothing set: nothing configured, and serve would run the sandbox; with a database,
    // serve would exit 2.
    let doc = run_in(dir.path(), &[], &["--json", "providers"])
        .ok()
        .json();
    assert_eq!(doc["serve"]["sandbox"], "auto", "{doc}");
    let doc = run_in(
        dir.path(),
        &[("DATABASE_URL", "postgres://db.invalid/x")],
        &["--json", "providers"],
    )
    .ok()
    .json();
    assert!(
        doc["serve"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("database_url is set")),
        "{doc}"
    );
}

/// Polls `genmux status --json` until the task is final or `limit` passes.
fn final_within(gw: &Gateway, task_id: &str, limit: Duration) -> Option<Value> {
    let deadline = Instant::now() + limit;
    loop {
        let s = gw.run(&["--json", "status", task_id]).ok().json();
        if s["status"] == "succeeded" || s["status"] == "failed" {
            return Some(s);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn settings_env(info: &Value) -> Vec<(String, String)> {
    info["settings"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

/// Secrets read from files reach the providers (the Kling JWT is signed with the SecretKey
/// from `KLING_SECRET_KEY_FILE`, the upstream key comes from `api_key_file` in the config
/// file), and `MIDSYNC_WEBHOOK_SECRET` verifies the upstream's signed callbacks: with the
/// right secret the task settles by callback within seconds (the first poll is 20 s after
/// creation); with a wrong one the callback is refused and the task waits for that poll.
#[test]
fn secrets_from_files_reach_the_providers_and_midsync_callbacks_are_verified() {
    let sim = Sim::start(&["--speed", "30"]);
    let dir = tempfile::tempdir().unwrap();
    let kling = settings_env(&sim.info["kling"]);
    let unified = settings_env(&sim.info["unified"]);
    let get = |s: &[(String, String)], k: &str| s.iter().find(|(n, _)| n == k).unwrap().1.clone();
    let sk_file = dir.path().join("kling-sk");
    std::fs::write(&sk_file, format!("{}\n", get(&kling, "KLING_SECRET_KEY"))).unwrap();
    let api_key_file = dir.path().join("midsync-key");
    std::fs::write(&api_key_file, get(&unified, "MIDSYNC_API_KEY")).unwrap();
    let write_config = |webhook_secret: &str| -> std::path::PathBuf {
        let path = dir
            .path()
            .join(format!("genmux-{}.toml", webhook_secret.len()));
        std::fs::write(
            &path,
            format!(
                "[providers.midsync]\nbase_url = \"{}\"\napi_key_file = \"{}\"\nwebhook_secret = \"{webhook_secret}\"\n",
                get(&unified, "MIDSYNC_BASE_URL"),
                api_key_file.display()
            ),
        )
        .unwrap();
        path
    };
    let env_owned = [
        ("KLING_ACCESS_KEY", get(&kling, "KLING_ACCESS_KEY")),
        ("KLING_SECRET_KEY_FILE", sk_file.display().to_string()),
        ("KLING_BASE_URL", get(&kling, "KLING_BASE_URL")),
    ];
    let env: Vec<(&str, &str)> = env_owned.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let right = write_config(&get(&unified, "MIDSYNC_WEBHOOK_SECRET"));
    // The simulators serve their results on loopback, which the SSRF guard admits only
    // when told (issue 18: results are copied through it).
    let gw = Gateway::start_env(
        &[
            "--config",
            right.to_str().unwrap(),
            "--allow-loopback-callbacks",
        ],
        &env,
    );
    assert!(
        gw.banner.contains("providers: kling, midsync)"),
        "{}",
        gw.banner
    );
    for model in ["kling-2.5-turbo", "seedance-1.5-pro"] {
        let created = gw
            .run(&["--json", "generate", "-m", model, "-p", "a kite over dunes"])
            .ok()
            .json();
        let id = created["taskId"].as_str().unwrap();
        let done = final_within(&gw, id, Duration::from_secs(15))
            .unwrap_or_else(|| panic!("{model}: not final within 15 s\n{}", gw.logs()));
        assert_eq!(done["status"], "succeeded", "{model}: {done}");
    }
    drop(gw);

    // A wrong secret: the upstream's callback is refused, so the task is not final before
    // the first poll.
    let wrong = write_config("whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY");
    let gw = Gateway::start_env(
        &[
            "--config",
            wrong.to_str().unwrap(),
            "--allow-loopback-callbacks",
        ],
        &env,
    );
    let created = gw
        .run(&[
            "--json",
            "generate",
            "-m",
            "seedance-1.5-pro",
            "-p",
            "a kite over dunes",
        ])
        .ok()
        .json();
    let id = created["taskId"].as_str().unwrap();
    assert!(
        final_within(&gw, id, Duration::from_secs(8)).is_none(),
        "a callback signed with another secret settled the task"
    );
}
