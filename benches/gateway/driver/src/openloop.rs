//! Open-loop load at a fixed rate (the soak of issue 21): request k is *scheduled* at
//! `start + k / rate`, whatever happened to the requests before it, and any of a pool of
//! keep-alive connections that is free takes the next scheduled request. Latency is
//! measured from the scheduled time, not from the moment the request was written, so a
//! stalled target is charged for the requests it kept waiting ("coordinated omission",
//! as wrk2 corrects it): a closed loop would simply send fewer requests while the target
//! stalls and report only the fast ones.
//!
//! The figures are kept per interval (by scheduled time) so a long run shows drift: one
//! [`IntervalReport`] per `--report-every` seconds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::http::Conn;
use crate::load::{accepted, percentiles, Percentiles, Raw, Template};

/// A request that takes longer than this is counted as a transport error and its
/// connection dropped: without a bound one hung request would hold a connection for the
/// rest of the run.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Options of one open-loop run.
pub struct OpenLoop {
    /// The request to send.
    pub template: Template,
    /// Connection pool size: the most requests in flight at once.
    pub connections: usize,
    /// Requests per second.
    pub rate: f64,
    /// How long requests are scheduled for.
    pub duration: Duration,
    /// Length of one reporting interval.
    pub every: Duration,
    /// Accepted status codes; empty means any 2xx.
    pub accept: Vec<u16>,
    /// Start value of the `{n}` counter.
    pub counter: Arc<AtomicU64>,
    /// Collect this top-level JSON string field from every accepted answer.
    pub collect_field: Option<String>,
}

/// What one interval (by scheduled time) measured.
#[derive(Default, Clone)]
struct Bucket {
    scheduled: u64,
    lat_ns: Vec<u64>,
    bad_status: u64,
    io_errors: u64,
    /// Requests that left later than 1 ms after their scheduled time (all connections
    /// were busy): the share of the load the pool could not keep on schedule.
    late: u64,
}

/// One interval's figures, printed as a JSON line.
#[derive(Serialize)]
pub struct IntervalReport {
    /// Label of the run.
    pub label: String,
    /// Interval number from 0 (by scheduled time).
    pub interval: usize,
    /// Scheduled time of the interval's first request, seconds from the start.
    pub from_s: f64,
    /// Requests scheduled in the interval.
    pub scheduled: u64,
    /// Accepted answers.
    pub ok: u64,
    /// Answers whose status was not accepted.
    pub bad_status: u64,
    /// Transport errors and timeouts.
    pub io_errors: u64,
    /// Requests sent more than 1 ms after their scheduled time.
    pub late_starts: u64,
    /// Latency of the accepted answers from their scheduled time, microseconds.
    pub latency_us: Percentiles,
}

/// The result: the run's totals (as the closed loop reports them) and the intervals.
pub struct OpenLoopResult {
    /// Totals over the whole run (latency from scheduled time).
    pub raw: Raw,
    /// Requests scheduled.
    pub scheduled: u64,
    /// Requests that left late (see [`IntervalReport::late_starts`]).
    pub late_starts: u64,
    /// Per-interval figures.
    pub intervals: Vec<IntervalReport>,
}

/// `field` of a JSON object body, when it is a string.
fn field_of(body: &[u8], field: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get(field)?.as_str().map(str::to_string)
}

/// Index of the interval holding scheduled offset `at`.
fn bucket_of(at: Duration, every: Duration) -> usize {
    (at.as_nanos() / every.as_nanos().max(1)) as usize
}

/// Scheduled offset of request `k` at `rate` per second.
fn scheduled_at(k: u64, rate: f64) -> Duration {
    Duration::from_secs_f64(k as f64 / rate)
}

/// Runs the schedule to its end and waits for the last answers.
pub async fn run(o: OpenLoop, label: &str) -> OpenLoopResult {
    let o = Arc::new(o);
    let total = (o.duration.as_secs_f64() * o.rate).floor() as u64;
    let n_buckets = bucket_of(o.duration, o.every) + 1;
    let buckets = Arc::new(Mutex::new(vec![Bucket::default(); n_buckets]));
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..o.connections {
        let (o, buckets, next) = (o.clone(), buckets.clone(), next.clone());
        handles.push(tokio::spawn(async move {
            let mut conn: Option<Conn> = None;
            let mut first_error: Option<String> = None;
            let mut collected = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= total {
                    break;
                }
                let offset = scheduled_at(k, o.rate);
                let due = start + offset;
                tokio::time::sleep_until(due.into()).await;
                let late = Instant::now().duration_since(due) > Duration::from_millis(1);
                let n = o.counter.fetch_add(1, Ordering::Relaxed);
                let req = o.template.render(n, None);
                let outcome = async {
                    if conn.is_none() {
                        conn = Some(
                            Conn::connect(&o.template.host)
                                .await
                                .map_err(|e| format!("connect: {e}"))?,
                        );
                    }
                    let c = conn.as_mut().expect("connected above");
                    c.round_trip(&req)
                        .await
                        .map_err(|e| format!("request: {e}"))
                };
                let result = tokio::time::timeout(REQUEST_TIMEOUT, outcome).await;
                let dt = due.elapsed().as_nanos() as u64;
                let mut b = buckets.lock().expect("no worker panics holding the lock");
                let bucket = &mut b[bucket_of(offset, o.every)];
                bucket.scheduled += 1;
                bucket.late += late as u64;
                match result {
                    Ok(Ok(resp)) => {
                        if accepted(&o.accept, resp.status) {
                            bucket.lat_ns.push(dt);
                            if let Some(f) = &o.collect_field {
                                collected.extend(field_of(&resp.body, f));
                            }
                        } else {
                            bucket.bad_status += 1;
                            first_error.get_or_insert_with(|| {
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
                    Ok(Err(e)) => {
                        bucket.io_errors += 1;
                        first_error.get_or_insert(e);
                        conn = None;
                    }
                    Err(_) => {
                        bucket.io_errors += 1;
                        first_error.get_or_insert_with(|| {
                            format!("request: no answer within {REQUEST_TIMEOUT:?}")
                        });
                        conn = None;
                    }
                }
            }
            (first_error, collected)
        }));
    }
    let mut first_error = None;
    let mut collected = Vec::new();
    for h in handles {
        if let Ok((e, c)) = h.await {
            if let Some(e) = e {
                first_error.get_or_insert(e);
            }
            collected.extend(c);
        }
    }
    let elapsed = start.elapsed();
    let buckets = std::mem::take(&mut *buckets.lock().expect("workers are done"));
    let mut raw = Raw {
        first_error,
        collected,
        elapsed,
        ..Raw::default()
    };
    let mut late_starts = 0;
    let mut intervals = Vec::new();
    for (i, mut b) in buckets.into_iter().enumerate() {
        let from = o.every * i as u32;
        if b.scheduled == 0 {
            continue;
        }
        raw.bad_status += b.bad_status;
        raw.io_errors += b.io_errors;
        late_starts += b.late;
        intervals.push(IntervalReport {
            label: label.to_string(),
            interval: i,
            from_s: from.as_secs_f64(),
            scheduled: b.scheduled,
            ok: b.lat_ns.len() as u64,
            bad_status: b.bad_status,
            io_errors: b.io_errors,
            late_starts: b.late,
            latency_us: percentiles(&mut b.lat_ns),
        });
        raw.lat_ns.extend(b.lat_ns);
    }
    OpenLoopResult {
        raw,
        scheduled: total,
        late_starts,
        intervals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    #[test]
    fn schedule_and_buckets() {
        assert_eq!(scheduled_at(1500, 1000.0), Duration::from_millis(1500));
        let every = Duration::from_secs(60);
        assert_eq!(bucket_of(Duration::from_millis(59_999), every), 0);
        assert_eq!(bucket_of(Duration::from_secs(60), every), 1);
    }

    /// A server that answers each request after `delay`, one connection at a time per
    /// accepted socket; counts requests.
    async fn slow_server(delay: Duration) -> (String, Arc<AtomicU64>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let count = Arc::new(AtomicU64::new(0));
        let c = count.clone();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = l.accept().await.unwrap();
                let c = c.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut have = Vec::new();
                    loop {
                        let Ok(n) = s.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        have.extend_from_slice(&buf[..n]);
                        while let Some(p) = have.windows(4).position(|w| w == b"\r\n\r\n") {
                            have.drain(..p + 4);
                            c.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(delay).await;
                            let _ = s
                                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                                .await;
                        }
                    }
                });
            }
        });
        (addr, count)
    }

    fn template(host: &str) -> Template {
        Template {
            method: "GET".into(),
            path: "/x/{n}".into(),
            headers: vec![],
            body: None,
            host: host.into(),
        }
    }

    /// The schedule, not the answers, sets how many requests are sent: a target slower
    /// than the pool can hide still gets every scheduled request, and the waiting shows
    /// in the latency (measured from the scheduled time) rather than in a lower count.
    #[tokio::test]
    async fn a_slow_target_gets_every_scheduled_request_and_pays_the_queueing() {
        let (addr, count) = slow_server(Duration::from_millis(50)).await;
        let r = run(
            OpenLoop {
                template: template(&addr),
                connections: 1,
                rate: 100.0,
                duration: Duration::from_millis(300),
                every: Duration::from_millis(100),
                accept: vec![],
                counter: Arc::new(AtomicU64::new(0)),
                collect_field: None,
            },
            "t",
        )
        .await;
        assert_eq!(r.scheduled, 30);
        assert_eq!(count.load(Ordering::SeqCst), 30);
        assert_eq!(r.raw.lat_ns.len(), 30);
        assert_eq!(r.intervals.len(), 3);
        assert!(r.intervals.iter().all(|i| i.scheduled == 10 && i.ok == 10));
        // One connection at 50 ms per answer serves 20/s of the 100/s scheduled: the last
        // request waits for the 29 before it (≥ 29 × 50 ms from its schedule at 290 ms).
        let max_ms = r.raw.lat_ns.iter().max().unwrap() / 1_000_000;
        assert!(max_ms >= 29 * 50 - 290, "max latency {max_ms} ms");
        assert!(r.late_starts >= 20, "late starts {}", r.late_starts);
    }

    #[tokio::test]
    async fn refused_connections_count_as_transport_errors() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        drop(l);
        let r = run(
            OpenLoop {
                template: template(&addr),
                connections: 2,
                rate: 100.0,
                duration: Duration::from_millis(100),
                every: Duration::from_secs(1),
                accept: vec![],
                counter: Arc::new(AtomicU64::new(0)),
                collect_field: None,
            },
            "t",
        )
        .await;
        assert_eq!(r.raw.io_errors, 10);
        assert!(r.raw.first_error.unwrap().starts_with("connect:"));
    }
}
