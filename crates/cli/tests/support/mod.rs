//! Shared by the CLI test binaries: a real `genmux serve` child process on a free loopback
//! port with a temp data dir, the real `genmux` binary for client commands, and an MP4
//! box check.
//!
//! Teardown kills ONLY the child this module spawned, through `Child::kill` (never the
//! `kill` program and never a process group: procps-ng's `kill -KILL -<pgid>` once turned
//! into kill(-1) and ended every process on the machine).

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use genmux_core::{Catalog, GenerationRequest};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// The binary under test.
pub const GENMUX: &str = env!("CARGO_BIN_EXE_genmux");

/// Environment that would change what `genmux` does; removed from every child so the
/// tests see the zero-config sandbox whatever the developer's shell exports. Every
/// provider setting the linked provider crates declare (and its `_FILE` form) is removed
/// too (see [`command`]).
const SCRUBBED_ENV: &[&str] = &[
    "GENMUX_URL",
    "GENMUX_API_KEY",
    "GENMUX_CONFIG",
    "GENMUX_LISTEN",
    "GENMUX_PUBLIC_URL",
    "GENMUX_DATA_DIR",
    "GENMUX_WEBHOOK_KEY",
    "GENMUX_REDIS_URL",
    "GENMUX_ASSETS_STORE",
    "DATABASE_URL",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "RUST_LOG",
];

/// Every environment variable a linked provider declares, with its `_FILE` form.
pub fn provider_env_names() -> Vec<String> {
    genmux::link_providers();
    genmux_core::registrations()
        .flat_map(|r| r.settings.iter())
        .flat_map(|s| [s.env.to_string(), s.env_file()])
        .collect()
}

/// How long `genmux serve` may take to print its URL.
const STARTUP: Duration = Duration::from_secs(60);

/// What the catalog charges for `body`: the gateway must quote and charge exactly this.
pub fn expected_points(body: Value) -> i64 {
    let req: GenerationRequest = serde_json::from_value(body.clone()).expect("request body");
    Catalog::builtin()
        .quote(&req)
        .unwrap_or_else(|e| panic!("{body}: {e}"))
        .points
}

/// A `genmux` command with a clean environment.
pub fn command() -> Command {
    let mut cmd = Command::new(GENMUX);
    for k in SCRUBBED_ENV {
        cmd.env_remove(k);
    }
    for k in provider_env_names() {
        cmd.env_remove(k);
    }
    cmd.stdin(Stdio::null());
    cmd
}

/// A finished command: exit code and both streams as text.
#[derive(Debug)]
pub struct Run {
    /// The exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    fn from_output(args: &[&str], out: Output) -> Run {
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        eprintln!(
            "$ genmux {}\n-> exit {}\n{}{}",
            args.join(" "),
            run.code,
            run.stdout,
            run.stderr
        );
        run
    }

    /// Panics unless the command exited 0.
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        self
    }

    /// Panics unless the command exited with `code`.
    pub fn exits(self, code: i32) -> Run {
        assert_eq!(self.code, code, "expected exit {code}: {self:#?}");
        self
    }

    /// Stdout parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

/// How long a client command (or `demo`) may run before the test gives up on it.
const COMMAND_DEADLINE: Duration = Duration::from_secs(180);

/// Runs `genmux args…` in `cwd` with `env` and waits for it (killing it, and only it,
/// if it outlives [`COMMAND_DEADLINE`], so a command that wrongly keeps running fails the
/// test instead of hanging it).
pub fn run_in(cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let out_dir = tempfile::tempdir().expect("temp dir");
    let out_path = out_dir.path().join("stdout");
    let err_path = out_dir.path().join("stderr");
    let mut cmd = command();
    cmd.current_dir(cwd)
        .args(args)
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {GENMUX}: {e}"));
    let deadline = Instant::now() + COMMAND_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for genmux") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "genmux {} still running after {COMMAND_DEADLINE:?}\nstdout:\n{}\nstderr:\n{}",
                args.join(" "),
                std::fs::read_to_string(&out_path).unwrap_or_default(),
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = Output {
        status,
        stdout: std::fs::read(&out_path).unwrap_or_default(),
        stderr: std::fs::read(&err_path).unwrap_or_default(),
    };
    Run::from_output(args, out)
}

/// A `genmux serve` child process: sandbox simulators, SQLite in a temp dir, the
/// bootstrap admin key. Killed (only it) on drop.
pub struct Gateway {
    child: Child,
    /// `http://127.0.0.1:<port>` as printed on stdout's first line.
    pub url: String,
    /// The bootstrap admin key (from `--bootstrap-key-file`).
    pub key: String,
    /// Everything `serve` printed on stdout.
    pub banner: String,
    dir: tempfile::TempDir,
}

impl Gateway {
    /// Starts `genmux serve` with the sandbox clock at 30× and `extra` flags.
    pub fn start(extra: &[&str]) -> Gateway {
        Gateway::start_env(extra, &[])
    }

    /// Starts `genmux serve` with `extra` flags and `env` set.
    pub fn start_env(extra: &[&str], env: &[(&str, &str)]) -> Gateway {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let key_file = dir.path().join("key");
        let stdout_path = dir.path().join("stdout.txt");
        let stderr_path = dir.path().join("stderr.txt");
        // Files, not pipes: a pipe nobody drains would block the server once its logs
        // filled the buffer.
        let stdout = std::fs::File::create(&stdout_path).expect("stdout file");
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        let mut cmd = command();
        cmd.current_dir(dir.path())
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&data)
            .arg("--bootstrap-key-file")
            .arg(&key_file)
            .args(["--sandbox-speed", "30"])
            .args(extra)
            .envs(env.iter().copied())
            .stdout(stdout)
            .stderr(stderr);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {GENMUX} serve: {e}"));
        let mut gw = Gateway {
            child,
            url: String::new(),
            key: String::new(),
            banner: String::new(),
            dir,
        };
        let deadline = Instant::now() + STARTUP;
        loop {
            let text = std::fs::read_to_string(&stdout_path).unwrap_or_default();
            // The key file is written before the banner, so both are there once the
            // banner's key line is.
            if text.contains("export GENMUX_API_KEY=") {
                let first = text.lines().next().unwrap_or_default();
                let url = first
                    .strip_prefix("genmux gateway on ")
                    .and_then(|rest| rest.split_whitespace().next())
                    .unwrap_or_else(|| panic!("unexpected first line: {first:?}"));
                gw.url = url.to_string();
                gw.key = std::fs::read_to_string(&key_file)
                    .expect("bootstrap key file")
                    .trim()
                    .to_string();
                gw.banner = text;
                return gw;
            }
            if let Ok(Some(status)) = gw.child.try_wait() {
                panic!(
                    "genmux serve exited with {status} before listening\nstdout:\n{text}\nstderr:\n{}",
                    std::fs::read_to_string(&stderr_path).unwrap_or_default()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "genmux serve printed no URL within {STARTUP:?}\nstdout:\n{text}\nstderr:\n{}",
                    std::fs::read_to_string(&stderr_path).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs a client command against this gateway with `key` (None: no key at all).
    pub fn run_with_key(&self, key: Option<&str>, args: &[&str]) -> Run {
        let mut env = vec![("GENMUX_URL", self.url.as_str())];
        if let Some(k) = key {
            env.push(("GENMUX_API_KEY", k));
        }
        run_in(self.dir.path(), &env, args)
    }

    /// Runs a client command against this gateway with the bootstrap admin key.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_key(Some(&self.key), args)
    }

    /// A fresh empty directory inside this gateway's temp dir.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::create_dir_all(&p).expect("scratch dir");
        p
    }

    /// The `--bootstrap-key-file` this gateway wrote.
    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("key")
    }

    /// The `--data-dir` (SQLite database, callback master key).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// What the server logged so far (for failure messages).
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.txt")).unwrap_or_default()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        // Only our own child, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `genmux sim --json` child process (every simulator standalone). Killed (only it) on
/// drop.
pub struct Sim {
    child: Child,
    /// The JSON line it printed: per simulator `{"provider", "baseUrl", "settings", …}`.
    pub info: Value,
    _dir: tempfile::TempDir,
}

impl Sim {
    /// Starts `genmux --json sim` on a free port with `extra` flags.
    pub fn start(extra: &[&str]) -> Sim {
        let dir = tempfile::tempdir().expect("temp dir");
        let stdout_path = dir.path().join("stdout.txt");
        let stderr_path = dir.path().join("stderr.txt");
        let mut cmd = command();
        cmd.current_dir(dir.path())
            .args(["--json", "sim"])
            .args(extra)
            .stdout(std::fs::File::create(&stdout_path).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr_path).expect("stderr file"));
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {GENMUX} sim: {e}"));
        let mut sim = Sim {
            child,
            info: Value::Null,
            _dir: dir,
        };
        let deadline = Instant::now() + STARTUP;
        loop {
            let text = std::fs::read_to_string(&stdout_path).unwrap_or_default();
            if let Some(line) = text.lines().next().filter(|_| text.contains('\n')) {
                sim.info = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("sim printed non-JSON ({e}): {line}"));
                return sim;
            }
            if let Ok(Some(status)) = sim.child.try_wait() {
                panic!(
                    "genmux sim exited with {status}\nstdout:\n{text}\nstderr:\n{}",
                    std::fs::read_to_string(&stderr_path).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "genmux sim printed nothing");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        // Only our own child, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

static SHARED: Mutex<Weak<Gateway>> = Mutex::new(Weak::new());

/// One gateway shared by the tests of a binary that run at the same time, for tests that
/// do not depend on the account's totals. It is killed when the last test holding it
/// ends (a static would never be dropped and would leak the process).
pub fn shared() -> Arc<Gateway> {
    let mut slot = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(gw) = slot.upgrade() {
        return gw;
    }
    let gw = Arc::new(Gateway::start(&[]));
    *slot = Arc::downgrade(&gw);
    gw
}

/// The top-level ISO BMFF boxes of `bytes` as (type, size); panics unless they tile the
/// file exactly.
pub fn mp4_boxes(bytes: &[u8]) -> Vec<(String, u64)> {
    let mut boxes = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        assert!(at + 8 <= bytes.len(), "truncated box header at {at}");
        let size32 = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as u64;
        let kind = String::from_utf8_lossy(&bytes[at + 4..at + 8]).into_owned();
        let size = match size32 {
            0 => (bytes.len() - at) as u64,
            1 => u64::from_be_bytes(bytes[at + 8..at + 16].try_into().unwrap()),
            n => n,
        };
        assert!(size >= 8, "box `{kind}` at {at} has size {size}");
        assert!(
            at as u64 + size <= bytes.len() as u64,
            "box `{kind}` at {at} (size {size}) runs past the end ({} bytes)",
            bytes.len()
        );
        boxes.push((kind, size));
        at += size as usize;
    }
    boxes
}

/// Panics unless `path` is a non-empty MP4: `ftyp` first, `moov` and `mdat` present.
pub fn assert_mp4(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(!bytes.is_empty(), "{} is empty", path.display());
    let boxes = mp4_boxes(&bytes);
    let kinds: Vec<&str> = boxes.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds.first(),
        Some(&"ftyp"),
        "{}: {kinds:?}",
        path.display()
    );
    assert!(
        kinds.contains(&"moov") && kinds.contains(&"mdat"),
        "{}: {kinds:?}",
        path.display()
    );
}
