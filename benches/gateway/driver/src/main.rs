//! gateway-bench: the load driver of the gateway benchmark (benches/gateway/run.sh).
//!
//! - `load`: closed-loop HTTP/1.1 keep-alive load on one target (1 connection for
//!   sequential latency, N connections for throughput), with a unique `{n}` per request,
//!   `{id}` from a list (status polls), latency percentiles, and the CPU time and RSS of
//!   the target's process tree over the measured window. Prints one JSON object. With
//!   `--rate`, an open loop instead: requests scheduled at fixed intervals, latency from
//!   the scheduled time, one JSON line per `--report-every` interval before the totals.
//! - `startup`: starts a command, polls a URL until the first HTTP answer, and reports the
//!   time from spawn to that answer and the idle RSS after it.
//! - `jwt`: prints a Kling API token (for calling the Kling simulator directly).
//!
//! Runs on a current-thread runtime by default: one core drives, the other core is the
//! target's (the machine has two).

mod http;
mod jwt;
mod load;
mod openloop;
mod procstat;
mod sim;

use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

#[derive(Parser)]
#[command(name = "gateway-bench", about = "Load driver of the gateway benchmark")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    // Boxed: its many flags would make every variant as large as this one.
    /// Drive load at one endpoint and print the figures as JSON.
    Load(Box<LoadArgs>),
    /// Time a server from spawn to first answered request; report idle RSS.
    Startup(StartupArgs),
    /// Run the Kling and unified simulators standalone (faults off, Kling account
    /// concurrency lifted); prints one JSON line with their URLs and credentials.
    Sim {
        /// Kling simulator address.
        #[arg(long, default_value = "127.0.0.1:0")]
        kling_listen: String,
        /// Unified API simulator address.
        #[arg(long, default_value = "127.0.0.1:0")]
        unified_listen: String,
        /// Simulated seconds per real second.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Seed of every random choice.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Print a Kling API token (HS256 JWT) for ACCESS_KEY:SECRET_KEY.
    Jwt {
        /// "AccessKey:SecretKey"
        keys: String,
    },
}

#[derive(Args)]
struct LoadArgs {
    /// Label copied into the output.
    #[arg(long, default_value = "")]
    label: String,
    /// Base URL, http://127.0.0.1:PORT (plain HTTP on loopback only).
    #[arg(long)]
    url: String,
    /// HTTP method.
    #[arg(long, default_value = "GET")]
    method: String,
    /// Path; `{n}` becomes a run-wide unique number, `{id}` the next id from --ids.
    #[arg(long)]
    path: String,
    /// Extra header "Name: value" (repeatable).
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
    /// Request body (same placeholders as --path); sets Content-Type: application/json
    /// unless a Content-Type header is given.
    #[arg(long)]
    body: Option<String>,
    /// Read the body template from a file instead.
    #[arg(long, conflicts_with = "body")]
    body_file: Option<PathBuf>,
    /// Add `Authorization: Bearer <Kling JWT>` minted from `AccessKey:SecretKey`.
    #[arg(long)]
    kling_keys: Option<String>,
    /// Concurrent keep-alive connections.
    #[arg(long, short = 'c', default_value_t = 1)]
    connections: usize,
    /// Measured run length in seconds (closed loop; with --rate, how long requests are
    /// scheduled for).
    #[arg(long, conflicts_with = "requests")]
    duration: Option<f64>,
    /// Open loop: schedule this many requests per second (needs --duration); a free
    /// connection of the -c pool takes each request at its scheduled time, and latency
    /// is measured from that time (no coordinated omission). Without it: closed loop.
    #[arg(long, requires = "duration", conflicts_with = "ids")]
    rate: Option<f64>,
    /// With --rate: seconds per reported interval (one JSON line each).
    #[arg(long, default_value_t = 60.0, requires = "rate")]
    report_every: f64,
    /// Measured run length in requests.
    #[arg(long)]
    requests: Option<u64>,
    /// Warm-up before measuring: seconds (with --duration) or requests (with --requests).
    #[arg(long, default_value_t = 0.0)]
    warmup: f64,
    /// File of ids (one a line) for `{id}`.
    #[arg(long)]
    ids: Option<PathBuf>,
    /// Collect this top-level JSON string field of every answer into --collect-out.
    #[arg(long, requires = "collect_out")]
    collect_field: Option<String>,
    /// Where collected values go (one a line).
    #[arg(long)]
    collect_out: Option<PathBuf>,
    /// Accepted status codes (comma-separated); default any 2xx.
    #[arg(long, value_delimiter = ',')]
    accept: Vec<u16>,
    /// Target process whose tree's CPU time and RSS are measured.
    #[arg(long)]
    pid: Option<u32>,
    /// First value of `{n}` (use different starts to keep bodies unique across runs).
    #[arg(long, default_value_t = 0)]
    counter_start: u64,
    /// Worker threads of the driver (1 = current-thread runtime).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Append the JSON result as one line to this file as well.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct StartupArgs {
    /// Label copied into the output.
    #[arg(long, default_value = "")]
    label: String,
    /// URL polled until it answers (any HTTP status counts as answered).
    #[arg(long)]
    url: String,
    /// Extra header for the poll request (repeatable).
    #[arg(long = "header", short = 'H')]
    headers: Vec<String>,
    /// Seconds to wait after the first answer before reading idle RSS.
    #[arg(long, default_value_t = 2.0)]
    idle_wait: f64,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Append the JSON result as one line to this file as well.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The command to start, after `--`.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

#[derive(Serialize)]
struct LoadReport {
    label: String,
    method: String,
    path: String,
    connections: usize,
    seconds: f64,
    ok: u64,
    bad_status: u64,
    io_errors: u64,
    rps: f64,
    latency_us: load::Percentiles,
    cpu_seconds: Option<f64>,
    cpu_us_per_request: Option<f64>,
    rss_kib: Option<u64>,
    first_error: Option<String>,
    /// Open loop only: the scheduled rate, requests scheduled and those sent late.
    #[serde(skip_serializing_if = "Option::is_none")]
    target_rps: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    late_starts: Option<u64>,
}

#[derive(Serialize)]
struct StartupReport {
    label: String,
    start_to_first_answer_ms: f64,
    first_status: u16,
    idle_rss_kib: u64,
}

fn split_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("--url {url:?}: only http:// URLs are supported"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if host.is_empty() {
        return Err(format!("--url {url:?} has no host:port"));
    }
    let host = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:80")
    };
    Ok((host, path.to_string()))
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn emit(json: &str, out: &Option<PathBuf>) -> Result<(), String> {
    println!("{json}");
    if let Some(path) = out {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("--out {}: {e}", path.display()))?;
        writeln!(f, "{json}").map_err(|e| format!("--out {}: {e}", path.display()))?;
    }
    Ok(())
}

async fn cmd_load(a: LoadArgs) -> Result<(), String> {
    let (host, base_path) = split_url(&a.url)?;
    let base_path = base_path.trim_end_matches('/');
    let mut headers = a.headers.clone();
    if let Some(keys) = &a.kling_keys {
        let (ak, sk) = keys
            .split_once(':')
            .ok_or_else(|| format!("--kling-keys {keys:?}: expected AccessKey:SecretKey"))?;
        headers.push(format!(
            "Authorization: Bearer {}",
            jwt::kling_token(ak, sk, now_unix(), 3600)
        ));
    }
    let body = match (&a.body, &a.body_file) {
        (Some(b), _) => Some(b.clone()),
        (None, Some(p)) => Some(
            std::fs::read_to_string(p).map_err(|e| format!("--body-file {}: {e}", p.display()))?,
        ),
        (None, None) => None,
    };
    if body.is_some()
        && !headers
            .iter()
            .any(|h| h.to_ascii_lowercase().starts_with("content-type:"))
    {
        headers.push("Content-Type: application/json".into());
    }
    let ids = match &a.ids {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| format!("--ids {}: {e}", p.display()))?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_string())
            .collect(),
        None => Vec::new(),
    };
    if a.path.contains("{id}") && ids.is_empty() {
        return Err(format!(
            "--path {:?} uses {{id}} but --ids gave no ids",
            a.path
        ));
    }
    let template = load::Template {
        method: a.method.clone(),
        path: format!("{base_path}{}", a.path),
        headers,
        body,
        host,
    };
    let (stop, warm) = match (a.duration, a.requests) {
        (Some(d), None) if d > 0.0 => (
            load::Stop::Time(Duration::from_secs_f64(d)),
            (a.warmup > 0.0).then(|| load::Stop::Time(Duration::from_secs_f64(a.warmup))),
        ),
        (None, Some(n)) if n > 0 => (
            load::Stop::Requests(n),
            (a.warmup >= 1.0).then_some(load::Stop::Requests(a.warmup as u64)),
        ),
        _ => {
            return Err("give exactly one of --duration SECONDS (> 0) or --requests N (> 0)".into())
        }
    };
    if a.connections == 0 {
        return Err("--connections 0: need at least 1".into());
    }
    let counter = Arc::new(AtomicU64::new(a.counter_start));
    let ids = Arc::new(ids);
    let phase = |stop, collect: bool| load::Phase {
        template: template.clone(),
        connections: a.connections,
        stop,
        ids: ids.clone(),
        collect_field: if collect {
            a.collect_field.clone()
        } else {
            None
        },
        accept: a.accept.clone(),
        counter: counter.clone(),
    };
    if let Some(w) = warm {
        let r = load::run(phase(w, false)).await;
        if r.lat_ns.is_empty() {
            return Err(format!(
                "warm-up got no accepted answer: {}",
                r.first_error.unwrap_or_default()
            ));
        }
    }
    let pids = a.pid.map(procstat::tree);
    let cpu0 = pids.as_ref().map(|p| procstat::cpu_seconds(p));
    let mut open = None;
    let mut raw = match a.rate {
        Some(rate) => {
            let every = a.report_every;
            if !(rate.is_finite() && rate > 0.0) {
                return Err(format!(
                    "--rate {rate}: need a number of requests per second > 0"
                ));
            }
            if !(every.is_finite() && every > 0.0) {
                return Err(format!("--report-every {every}: need seconds > 0"));
            }
            let r = openloop::run(
                openloop::OpenLoop {
                    template: template.clone(),
                    connections: a.connections,
                    rate,
                    duration: Duration::from_secs_f64(a.duration.unwrap_or_default()),
                    every: Duration::from_secs_f64(every),
                    accept: a.accept.clone(),
                    counter: counter.clone(),
                    collect_field: a.collect_field.clone(),
                },
                &a.label,
            )
            .await;
            for line in &r.intervals {
                emit(
                    &serde_json::to_string(line).map_err(|e| e.to_string())?,
                    &a.out,
                )?;
            }
            open = Some((rate, r.scheduled, r.late_starts));
            r.raw
        }
        None => load::run(phase(stop, true)).await,
    };
    let pids_after = a.pid.map(procstat::tree);
    let cpu1 = pids_after.as_ref().map(|p| procstat::cpu_seconds(p));
    let rss = pids_after.as_ref().map(|p| procstat::rss_kib(p));
    let ok = raw.lat_ns.len() as u64;
    let secs = raw.elapsed.as_secs_f64();
    let cpu = match (cpu0, cpu1) {
        (Some(x), Some(y)) => Some(y - x),
        _ => None,
    };
    if let (Some(path), Some(_)) = (&a.collect_out, &a.collect_field) {
        let mut text = raw.collected.join("\n");
        text.push('\n');
        std::fs::write(path, text).map_err(|e| format!("--collect-out {}: {e}", path.display()))?;
    }
    let report = LoadReport {
        label: a.label.clone(),
        method: a.method.clone(),
        path: a.path.clone(),
        connections: a.connections,
        seconds: secs,
        ok,
        bad_status: raw.bad_status,
        io_errors: raw.io_errors,
        rps: if secs > 0.0 { ok as f64 / secs } else { 0.0 },
        latency_us: load::percentiles(&mut raw.lat_ns),
        cpu_seconds: cpu,
        cpu_us_per_request: cpu.filter(|_| ok > 0).map(|c| c * 1e6 / ok as f64),
        rss_kib: rss,
        first_error: raw.first_error,
        target_rps: open.map(|o| o.0),
        scheduled: open.map(|o| o.1),
        late_starts: open.map(|o| o.2),
    };
    let json = serde_json::to_string(&report).map_err(|e| e.to_string())?;
    emit(&json, &a.out)?;
    if ok == 0 {
        return Err(format!("{}: no accepted answer", a.label));
    }
    Ok(())
}

async fn cmd_startup(a: StartupArgs) -> Result<(), String> {
    let (host, path) = split_url(&a.url)?;
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n");
    for h in &a.headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    let (prog, args) = a
        .command
        .split_first()
        .ok_or_else(|| "startup needs a command after --".to_string())?;
    let t0 = Instant::now();
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting {prog:?}: {e}"))?;
    let pid = child.id();
    let deadline = t0 + Duration::from_secs_f64(a.timeout);
    let result = loop {
        if Instant::now() > deadline {
            break Err(format!(
                "{prog:?} did not answer {} within {} s",
                a.url, a.timeout
            ));
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Err(format!("{prog:?} exited with {status} before answering"));
        }
        if let Ok(mut c) = http::Conn::connect(&host).await {
            if let Ok(r) = c.round_trip(req.as_bytes()).await {
                break Ok((t0.elapsed(), r.status));
            }
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    };
    let outcome = match result {
        Ok((elapsed, status)) => {
            tokio::time::sleep(Duration::from_secs_f64(a.idle_wait)).await;
            let rss = procstat::rss_kib(&procstat::tree(pid));
            let report = StartupReport {
                label: a.label.clone(),
                start_to_first_answer_ms: elapsed.as_secs_f64() * 1000.0,
                first_status: status,
                idle_rss_kib: rss,
            };
            serde_json::to_string(&report)
                .map_err(|e| e.to_string())
                .and_then(|j| emit(&j, &a.out))
        }
        Err(e) => Err(e),
    };
    // SIGTERM first (let it close its database cleanly), SIGKILL after 5 s.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let stop_by = Instant::now() + Duration::from_secs(5);
    while Instant::now() < stop_by {
        if let Ok(Some(_)) = child.try_wait() {
            return outcome;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    outcome
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let threads = match &cli.cmd {
        Cmd::Load(a) => a.threads.max(1),
        // The simulators serve the floor at full speed: give them the runtime's default
        // worker count, as `genmux sim` has.
        Cmd::Sim { .. } => 0,
        _ => 1,
    };
    let rt = if threads == 0 {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gateway-bench: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = rt.block_on(async {
        match cli.cmd {
            Cmd::Load(a) => cmd_load(*a).await,
            Cmd::Startup(a) => cmd_startup(a).await,
            Cmd::Sim {
                kling_listen,
                unified_listen,
                speed,
                seed,
            } => sim::run(&kling_listen, &unified_listen, speed, seed).await,
            Cmd::Jwt { keys } => match keys.split_once(':') {
                Some((ak, sk)) => {
                    println!("{}", jwt::kling_token(ak, sk, now_unix(), 3600));
                    Ok(())
                }
                None => Err(format!("jwt {keys:?}: expected AccessKey:SecretKey")),
            },
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gateway-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_split_defaults_port_and_path() {
        assert_eq!(
            split_url("http://127.0.0.1:8080").unwrap(),
            ("127.0.0.1:8080".to_string(), "/".to_string())
        );
        assert_eq!(
            split_url("http://localhost/v1/x").unwrap(),
            ("localhost:80".to_string(), "/v1/x".to_string())
        );
        assert!(split_url("https://x").unwrap_err().contains("only http://"));
    }
}
