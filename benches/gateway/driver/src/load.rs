//! Closed-loop load: C connections, each sending its next request as soon as the previous
//! answer is read (like wrk). Latency is measured per request from the first byte written
//! to the last byte read. (The open loop at a fixed rate is `openloop`.)

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::http::Conn;

/// A request with `{n}` (a run-wide unique counter) and `{id}` (the next id from a list)
/// placeholders in its path and body.
#[derive(Clone)]
pub struct Template {
    /// "POST", "GET", …
    pub method: String,
    /// Path with optional placeholders.
    pub path: String,
    /// Extra header lines, "Name: value".
    pub headers: Vec<String>,
    /// Body with optional placeholders; None for no body.
    pub body: Option<String>,
    /// host:port, also sent as Host.
    pub host: String,
}

impl Template {
    pub(crate) fn render(&self, n: u64, id: Option<&str>) -> Vec<u8> {
        let fill = |s: &str| {
            let mut out = s.replace("{n}", &n.to_string());
            if let Some(id) = id {
                out = out.replace("{id}", id);
            }
            out
        };
        let path = fill(&self.path);
        let mut req = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\n",
            self.method, path, self.host
        );
        for h in &self.headers {
            req.push_str(h);
            req.push_str("\r\n");
        }
        match &self.body {
            Some(b) => {
                let body = fill(b);
                req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
                req.push_str(&body);
            }
            None => req.push_str("\r\n"),
        }
        req.into_bytes()
    }
}

/// When a phase ends.
#[derive(Clone, Copy)]
pub enum Stop {
    /// After this many requests in total over all connections.
    Requests(u64),
    /// After this much time.
    Time(Duration),
}

/// What one phase measured.
#[derive(Default)]
pub struct Raw {
    /// Latency of every 2xx/expected answer, nanoseconds.
    pub lat_ns: Vec<u64>,
    /// Answers whose status was not accepted.
    pub bad_status: u64,
    /// Transport errors (connect/read/write/parse).
    pub io_errors: u64,
    /// First rejected answer or transport error, for the report.
    pub first_error: Option<String>,
    /// Values collected from answers (see `collect_field`).
    pub collected: Vec<String>,
    /// Wall time of the phase.
    pub elapsed: Duration,
}

/// Options shared by every connection of a phase.
pub struct Phase {
    /// The request to send.
    pub template: Template,
    /// Number of concurrent connections.
    pub connections: usize,
    /// When to stop.
    pub stop: Stop,
    /// Ids for `{id}`, used round-robin.
    pub ids: Arc<Vec<String>>,
    /// Collect this top-level JSON string field from every accepted answer.
    pub collect_field: Option<String>,
    /// Accepted status codes; empty means any 2xx.
    pub accept: Vec<u16>,
    /// Start value of the `{n}` counter (kept unique across phases).
    pub counter: Arc<AtomicU64>,
}

pub(crate) fn accepted(accept: &[u16], status: u16) -> bool {
    if accept.is_empty() {
        (200..300).contains(&status)
    } else {
        accept.contains(&status)
    }
}

/// Runs one phase and returns what it measured.
pub async fn run(phase: Phase) -> Raw {
    let phase = Arc::new(phase);
    let remaining = Arc::new(AtomicI64::new(match phase.stop {
        Stop::Requests(n) => n as i64,
        Stop::Time(_) => i64::MAX,
    }));
    let start = Instant::now();
    let deadline = match phase.stop {
        Stop::Time(d) => Some(start + d),
        Stop::Requests(_) => None,
    };
    let mut handles = Vec::new();
    for _ in 0..phase.connections {
        let phase = phase.clone();
        let remaining = remaining.clone();
        handles.push(tokio::spawn(async move {
            let mut raw = Raw::default();
            let mut conn: Option<Conn> = None;
            loop {
                if let Some(d) = deadline {
                    if Instant::now() >= d {
                        break;
                    }
                }
                if remaining.fetch_sub(1, Ordering::Relaxed) <= 0 {
                    break;
                }
                let n = phase.counter.fetch_add(1, Ordering::Relaxed);
                let id = if phase.ids.is_empty() {
                    None
                } else {
                    Some(phase.ids[(n as usize) % phase.ids.len()].as_str())
                };
                let req = phase.template.render(n, id);
                if conn.is_none() {
                    match Conn::connect(&phase.template.host).await {
                        Ok(c) => conn = Some(c),
                        Err(e) => {
                            raw.io_errors += 1;
                            raw.first_error.get_or_insert(format!("connect: {e}"));
                            // A refused connect must not spin: back off a little.
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            continue;
                        }
                    }
                }
                let Some(c) = conn.as_mut() else { continue };
                let t0 = Instant::now();
                match c.round_trip(&req).await {
                    Ok(resp) => {
                        let dt = t0.elapsed().as_nanos() as u64;
                        if accepted(&phase.accept, resp.status) {
                            raw.lat_ns.push(dt);
                            if let Some(field) = &phase.collect_field {
                                if let Ok(v) =
                                    serde_json::from_slice::<serde_json::Value>(&resp.body)
                                {
                                    if let Some(s) = v.get(field).and_then(|x| x.as_str()) {
                                        raw.collected.push(s.to_string());
                                    }
                                }
                            }
                        } else {
                            raw.bad_status += 1;
                            raw.first_error.get_or_insert_with(|| {
                                format!(
                                    "status {}: {}",
                                    resp.status,
                                    String::from_utf8_lossy(&resp.body)
                                        .chars()
                                        .take(300)
                                        .collect::<String>()
                                )
                            });
                        }
                        if resp.close {
                            conn = None;
                        }
                    }
                    Err(e) => {
                        raw.io_errors += 1;
                        raw.first_error.get_or_insert(format!("request: {e}"));
                        conn = None;
                    }
                }
            }
            raw
        }));
    }
    let mut total = Raw::default();
    for h in handles {
        if let Ok(r) = h.await {
            total.lat_ns.extend(r.lat_ns);
            total.bad_status += r.bad_status;
            total.io_errors += r.io_errors;
            total.collected.extend(r.collected);
            if total.first_error.is_none() {
                total.first_error = r.first_error;
            }
        }
    }
    total.elapsed = start.elapsed();
    total
}

/// Latency percentiles in microseconds.
#[derive(Serialize, Default)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Slowest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// Nearest-rank percentiles of `ns` (sorted in place), in microseconds.
pub fn percentiles(ns: &mut [u64]) -> Percentiles {
    if ns.is_empty() {
        return Percentiles::default();
    }
    ns.sort_unstable();
    let at = |q: f64| {
        let rank = ((q * ns.len() as f64).ceil() as usize).clamp(1, ns.len());
        ns[rank - 1] as f64 / 1000.0
    };
    let sum: u128 = ns.iter().map(|&x| x as u128).sum();
    Percentiles {
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        p999: at(0.999),
        max: ns[ns.len() - 1] as f64 / 1000.0,
        mean: (sum as f64 / ns.len() as f64) / 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<u64> = (1..=100).map(|x| x * 1000).collect();
        v.reverse();
        let p = percentiles(&mut v);
        assert_eq!(p.p50, 50.0);
        assert_eq!(p.p99, 99.0);
        assert_eq!(p.max, 100.0);
        assert_eq!(p.mean, 50.5);
    }

    #[test]
    fn template_fills_counter_and_id_and_sets_length() {
        let t = Template {
            method: "POST".into(),
            path: "/t/{id}/status".into(),
            headers: vec!["Authorization: Bearer k".into()],
            body: Some(r#"{"prompt":"fox {n}"}"#.into()),
            host: "127.0.0.1:9".into(),
        };
        let req = String::from_utf8(t.render(42, Some("abc"))).unwrap();
        assert!(req.starts_with("POST /t/abc/status HTTP/1.1\r\nHost: 127.0.0.1:9\r\n"));
        assert!(req.contains("Authorization: Bearer k\r\n"));
        assert!(req.ends_with("Content-Length: 19\r\n\r\n{\"prompt\":\"fox 42\"}"));
    }
}
