//! A headless-Chromium harness for browser tests of the page (feature `testing`).
//!
//! [`start_chromedriver`] runs the Debian `chromedriver` on a free loopback port;
//! [`ChromeDriver::new_client`] opens a headless Chromium session with a fresh profile.
//! Dropping the [`ChromeDriver`] kills chromedriver and every browser it started and
//! deletes the profiles. Binaries: `GENMUX_CHROMEDRIVER` (default `/usr/bin/chromedriver`,
//! else `chromedriver` on `PATH`) and `GENMUX_CHROMIUM` (default `/usr/bin/chromium`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use genmux_web::testing::{start_chromedriver, save_screenshot};
//! let driver = start_chromedriver().await?;
//! let client = driver.new_client().await?;
//! client.goto("http://127.0.0.1:8080/").await?;
//! save_screenshot(&client, "home").await?;
//! client.close().await?;
//! # Ok(()) }
//! ```

use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Map, Value};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long chromedriver may take to listen, and the default for [`wait_until`] callers.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the harness could not do what was asked; the message names the binary, port or
/// path involved.
#[derive(Debug)]
pub struct HarnessError(String);

impl std::fmt::Display for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HarnessError {}

fn err(msg: impl Into<String>) -> HarnessError {
    HarnessError(msg.into())
}

fn binary(env: &str, default: &str, on_path: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let default = PathBuf::from(default);
    if default.exists() {
        return default;
    }
    PathBuf::from(on_path)
}

/// The chromedriver binary: `GENMUX_CHROMEDRIVER`, `/usr/bin/chromedriver` or `PATH`.
pub fn chromedriver_path() -> PathBuf {
    binary(
        "GENMUX_CHROMEDRIVER",
        "/usr/bin/chromedriver",
        "chromedriver",
    )
}

/// The Chromium binary: `GENMUX_CHROMIUM`, `/usr/bin/chromium` or `chromium` on `PATH`.
pub fn chromium_path() -> PathBuf {
    binary("GENMUX_CHROMIUM", "/usr/bin/chromium", "chromium")
}

static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

/// A fresh directory under the system temp dir, unique to this process and call.
fn fresh_temp_dir(what: &str) -> Result<PathBuf, HarnessError> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "genmux-{what}-{}-{}-{nanos}",
        std::process::id(),
        NEXT_DIR.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)
        .map_err(|e| err(format!("cannot create temp dir {}: {e}", dir.display())))?;
    Ok(dir)
}

/// A running chromedriver. Killed (with the browsers it started) on drop.
pub struct ChromeDriver {
    child: Child,
    url: String,
    work_dir: PathBuf,
    profiles: Mutex<Vec<PathBuf>>,
}

/// Starts chromedriver on a free `127.0.0.1` port and waits until it accepts connections.
pub async fn start_chromedriver() -> Result<ChromeDriver, HarnessError> {
    let bin = chromedriver_path();
    let work_dir = fresh_temp_dir("chromedriver")?;
    let log = work_dir.join("chromedriver.log");
    // Ask the OS for a free port, release it, and hand it to chromedriver. Another process
    // could take it in between; the readiness check below then reports the log.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| err(format!("cannot find a free loopback port: {e}")))?
        .port();
    let mut cmd = Command::new(&bin);
    cmd.arg(format!("--port={port}"))
        .arg(format!("--log-path={}", log.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(unix)]
    {
        // Its own process group, so drop can end chromedriver and its browsers together.
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let child = cmd.spawn().map_err(|e| {
        err(format!(
            "cannot start {} (set GENMUX_CHROMEDRIVER or install Debian's chromium-driver): {e}",
            bin.display()
        ))
    })?;
    let mut driver = ChromeDriver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        work_dir,
        profiles: Mutex::new(Vec::new()),
    };
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(driver);
        }
        if let Ok(Some(status)) = driver.child.try_wait() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(err(format!(
                "{} exited with {status} before listening on port {port}; log:\n{text}",
                bin.display()
            )));
        }
        if Instant::now() > deadline {
            return Err(err(format!(
                "{} did not listen on port {port} within {STARTUP_TIMEOUT:?}",
                bin.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl ChromeDriver {
    /// The WebDriver URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The capabilities of a headless Chromium session with its own profile directory.
    pub fn capabilities(profile: &Path) -> Map<String, Value> {
        let args = [
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            // Let a muted test video play without a user gesture.
            "--autoplay-policy=no-user-gesture-required".into(),
            "--window-size=1280,1000".into(),
            format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium_path().display().to_string(),
                "args": args,
            },
        });
        match caps {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// Opens a new headless Chromium session (fresh profile, 1280×1000 window).
    pub async fn new_client(&self) -> Result<Client, HarnessError> {
        let profile = fresh_temp_dir("chromium-profile")?;
        if let Ok(mut p) = self.profiles.lock() {
            p.push(profile.clone());
        }
        ClientBuilder::new(HttpConnector::new())
            .capabilities(Self::capabilities(&profile))
            .connect(&self.url)
            .await
            .map_err(|e| {
                err(format!(
                    "cannot open a Chromium session via {} (browser {}): {e}",
                    self.url,
                    chromium_path().display()
                ))
            })
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            // The whole group: chromedriver and the Chromium processes it started (it was
            // spawned with process_group(0), so its group id is its pid). Called directly:
            // never through the `kill` program, whose procps-ng 4.0.2 turns
            // `kill -KILL -<pgid>` into kill(-1), i.e. every process on the machine.
            if let Ok(pgid) = libc::pid_t::try_from(self.child.id()) {
                if pgid > 1 {
                    // SAFETY: killpg has no memory effects; pgid is our own child's group.
                    unsafe {
                        libc::killpg(pgid, libc::SIGKILL);
                    }
                }
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Ok(p) = self.profiles.lock() {
            for dir in p.iter() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
        let _ = std::fs::remove_dir_all(&self.work_dir);
    }
}

/// Where tests put screenshots: `$CARGO_TARGET_DIR/web-test-artifacts`, else
/// `<workspace>/target/web-test-artifacts`.
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target")
                .to_path_buf()
        });
    target.join("web-test-artifacts")
}

/// Saves a PNG screenshot of the current page as `<artifacts_dir>/<name>.png`.
pub async fn save_screenshot(client: &Client, name: &str) -> Result<PathBuf, HarnessError> {
    let png = client
        .screenshot()
        .await
        .map_err(|e| err(format!("screenshot `{name}` failed: {e}")))?;
    let dir = artifacts_dir();
    std::fs::create_dir_all(&dir)
        .map_err(|e| err(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).map_err(|e| err(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

/// Polls `probe` every 100 ms until it returns `Some`, for at most `timeout`; the error
/// names `what` and the last WebDriver error. For conditions the page reaches
/// asynchronously (a quote arriving, a task finishing).
pub async fn wait_until<T, F, Fut>(
    what: &str,
    timeout: Duration,
    mut probe: F,
) -> Result<T, HarnessError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, CmdError>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = String::new();
    loop {
        match probe().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_error = e.to_string(),
        }
        if Instant::now() > deadline {
            return Err(err(format!(
                "timed out after {timeout:?} waiting for {what}{}",
                if last_error.is_empty() {
                    String::new()
                } else {
                    format!(" (last error: {last_error})")
                }
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `script` (a function body; `arguments` holds `args`) in the page and returns its
/// JSON result. A thin wrapper so callers need not depend on fantoccini's types.
pub async fn eval(client: &Client, script: &str, args: Vec<Value>) -> Result<Value, CmdError> {
    client.execute(script, args).await
}
