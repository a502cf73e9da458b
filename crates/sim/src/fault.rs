//! Seeded, deterministic fault injection.
//!
//! Every endpoint has its own random stream seeded from `(seed, endpoint)`, so the faults
//! one endpoint sees do not depend on how calls to other endpoints interleave: the same
//! seed and the same sequence of calls to an endpoint give the same faults.
//!
//! One uniform draw per request picks at most one fault, in this order of ranges:
//! `error`, `rate_limit`, `server_error`, `drop_connection`, `malformed_json` (so their sum
//! must be ≤ 1). `latency` is added to every request of the endpoint.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What can go wrong at one endpoint. All rates are probabilities in `[0, 1]`.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultPlan {
    /// Share of requests rejected with [`FaultPlan::error_code`] before any processing.
    pub error: f64,
    /// The Kling code (and its HTTP status from the spec's table) used by `error`;
    /// default 1300 (400, platform policy).
    pub error_code: u32,
    /// Share of requests answered 429 / code 1302 with a `Retry-After` header.
    pub rate_limit: f64,
    /// Seconds sent in `Retry-After` with `rate_limit` faults.
    pub retry_after: Duration,
    /// Share of requests answered 500/5000, 503/5001 or 504/5002 (one of the three,
    /// drawn from the same seeded stream), before any processing.
    pub server_error: f64,
    /// Share of requests whose connection is closed without a response **after** the
    /// request was processed (a create did create its task): the "maybe accepted" case.
    pub drop_connection: f64,
    /// Share of requests answered 200 with a truncated JSON body after processing.
    pub malformed_json: f64,
    /// Real time added before answering each request.
    pub latency: Duration,
    /// Real time waited **after** a request was processed, before its answer is written:
    /// a client that gives up first may have created a task without hearing of it (the
    /// "timeout after the body was sent" of `design/RELIABILITY.md` R1, issue 14).
    pub stall: Duration,
    /// Share of callbacks (of tasks created at this endpoint) that are never sent.
    pub lost_callback: f64,
}

impl Default for FaultPlan {
    fn default() -> Self {
        FaultPlan {
            error: 0.0,
            error_code: 1300,
            rate_limit: 0.0,
            retry_after: Duration::from_secs(1),
            server_error: 0.0,
            drop_connection: 0.0,
            malformed_json: 0.0,
            latency: Duration::ZERO,
            stall: Duration::ZERO,
            lost_callback: 0.0,
        }
    }
}

impl FaultPlan {
    /// No faults at all.
    pub fn none() -> Self {
        FaultPlan::default()
    }

    /// Checks that every rate is in `[0, 1]` and that the request faults sum to ≤ 1.
    pub fn validate(&self) -> Result<(), String> {
        let rates = [
            ("error", self.error),
            ("rate_limit", self.rate_limit),
            ("server_error", self.server_error),
            ("drop_connection", self.drop_connection),
            ("malformed_json", self.malformed_json),
            ("lost_callback", self.lost_callback),
        ];
        for (name, r) in rates {
            if !(0.0..=1.0).contains(&r) {
                return Err(format!("fault rate {name} = {r} is outside [0, 1]"));
            }
        }
        let sum = self.error
            + self.rate_limit
            + self.server_error
            + self.drop_connection
            + self.malformed_json;
        if sum > 1.0 + 1e-9 {
            return Err(format!(
                "fault rates error + rate_limit + server_error + drop_connection + malformed_json = {sum} exceed 1"
            ));
        }
        Ok(())
    }
}

/// The fault plans of a simulator: one default and per-endpoint overrides.
#[derive(Clone, Debug)]
pub struct Faults<E> {
    /// Plan for endpoints without an override.
    pub default: FaultPlan,
    /// Per-endpoint overrides.
    pub per_endpoint: HashMap<E, FaultPlan>,
}

impl<E> Default for Faults<E> {
    fn default() -> Self {
        Faults {
            default: FaultPlan::default(),
            per_endpoint: HashMap::new(),
        }
    }
}

/// An endpoint that can carry its own [`FaultPlan`]; `stable_id` seeds its stream.
pub trait FaultKey: Copy + Eq + Hash + std::fmt::Debug + Send + Sync + 'static {
    /// A number that never changes between builds for this endpoint.
    fn stable_id(&self) -> u64;
}

/// What a request should suffer.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultAction {
    /// Nothing: answer normally.
    None,
    /// Answer this Kling code (HTTP status from the spec's table) without processing.
    Error {
        /// HTTP status.
        status: u16,
        /// Envelope code.
        code: u32,
        /// `Retry-After` seconds, for 429s.
        retry_after: Option<u64>,
    },
    /// Process the request, then close the connection without a response.
    Drop,
    /// Process the request, then answer 200 with a truncated JSON body.
    Malformed,
}

/// The decision for one request.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultDecision {
    /// Added latency.
    pub latency: Duration,
    /// Wait after processing, before answering.
    pub stall: Duration,
    /// The fault, if any.
    pub action: FaultAction,
}

/// HTTP status that travels with a Kling envelope code (spec/kling-api.md, errors table).
pub fn status_for_code(code: u32) -> u16 {
    match code {
        0 => 200,
        1000..=1004 => 401,
        1100..=1102 => 429,
        1103 => 403,
        1200 | 1201 => 400,
        1202 | 1203 => 404,
        1300 | 1301 => 400,
        1302..=1304 => 429,
        5001 => 503,
        5002 => 504,
        _ => 500,
    }
}

struct Streams {
    requests: StdRng,
    callbacks: StdRng,
}

/// The running fault injector: plans plus one seeded stream per endpoint.
pub struct FaultInjector<E: FaultKey> {
    inner: Mutex<InjectorState<E>>,
}

struct InjectorState<E> {
    seed: u64,
    config: Faults<E>,
    streams: HashMap<E, Streams>,
}

fn streams_for(seed: u64, id: u64) -> Streams {
    // Distinct, fixed derivations so request and callback streams never share draws.
    let base = seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    Streams {
        requests: StdRng::seed_from_u64(base),
        callbacks: StdRng::seed_from_u64(base ^ 0xC0FF_EE00_DEAD_BEEF),
    }
}

impl<E: FaultKey> FaultInjector<E> {
    /// An injector for `config` whose streams derive from `seed`; fails naming the first
    /// invalid plan.
    pub fn new(seed: u64, config: Faults<E>) -> Result<Self, String> {
        config.default.validate()?;
        for (e, p) in &config.per_endpoint {
            p.validate().map_err(|m| format!("{e:?}: {m}"))?;
        }
        Ok(FaultInjector {
            inner: Mutex::new(InjectorState {
                seed,
                config,
                streams: HashMap::new(),
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, InjectorState<E>> {
        // A panic while holding this lock cannot leave it inconsistent (plain data).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the plan of one endpoint and restarts its streams from the seed.
    pub fn set(&self, endpoint: E, plan: FaultPlan) -> Result<(), String> {
        plan.validate()?;
        let mut st = self.lock();
        st.config.per_endpoint.insert(endpoint, plan);
        st.streams.remove(&endpoint);
        Ok(())
    }

    /// Replaces the default plan and every override, restarting all streams.
    pub fn set_all(&self, plan: FaultPlan) -> Result<(), String> {
        plan.validate()?;
        let mut st = self.lock();
        st.config.default = plan;
        st.config.per_endpoint.clear();
        st.streams.clear();
        Ok(())
    }

    /// The plan in force for `endpoint`.
    pub fn plan(&self, endpoint: E) -> FaultPlan {
        let st = self.lock();
        st.config
            .per_endpoint
            .get(&endpoint)
            .unwrap_or(&st.config.default)
            .clone()
    }

    /// Draws the fault for the next request to `endpoint`.
    pub fn decide(&self, endpoint: E) -> FaultDecision {
        let mut st = self.lock();
        let plan = st
            .config
            .per_endpoint
            .get(&endpoint)
            .unwrap_or(&st.config.default)
            .clone();
        let seed = st.seed;
        let s = st
            .streams
            .entry(endpoint)
            .or_insert_with(|| streams_for(seed, endpoint.stable_id()));
        // Always two draws per request, whatever the outcome, so one plan change does not
        // shift the rest of the sequence.
        let r: f64 = s.requests.random();
        let variant: u32 = s.requests.random_range(0..3);
        let mut edge = plan.error;
        let action = if r < edge {
            FaultAction::Error {
                status: status_for_code(plan.error_code),
                code: plan.error_code,
                retry_after: None,
            }
        } else if r < {
            edge += plan.rate_limit;
            edge
        } {
            FaultAction::Error {
                status: 429,
                code: 1302,
                retry_after: Some(plan.retry_after.as_secs().max(1)),
            }
        } else if r < {
            edge += plan.server_error;
            edge
        } {
            let code = 5000 + variant;
            FaultAction::Error {
                status: status_for_code(code),
                code,
                retry_after: None,
            }
        } else if r < {
            edge += plan.drop_connection;
            edge
        } {
            FaultAction::Drop
        } else if r < {
            edge += plan.malformed_json;
            edge
        } {
            FaultAction::Malformed
        } else {
            FaultAction::None
        };
        FaultDecision {
            latency: plan.latency,
            stall: plan.stall,
            action,
        }
    }

    /// Draws whether the next callback of a task created at `endpoint` is lost.
    pub fn lose_callback(&self, endpoint: E) -> bool {
        let mut st = self.lock();
        let rate = st
            .config
            .per_endpoint
            .get(&endpoint)
            .unwrap_or(&st.config.default)
            .lost_callback;
        let seed = st.seed;
        let s = st
            .streams
            .entry(endpoint)
            .or_insert_with(|| streams_for(seed, endpoint.stable_id()));
        let r: f64 = s.callbacks.random();
        r < rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
    struct Ep(u64);
    impl FaultKey for Ep {
        fn stable_id(&self) -> u64 {
            self.0
        }
    }

    fn plan() -> FaultPlan {
        FaultPlan {
            rate_limit: 0.2,
            server_error: 0.2,
            drop_connection: 0.1,
            malformed_json: 0.1,
            ..FaultPlan::default()
        }
    }

    #[test]
    fn same_seed_same_sequence_and_streams_are_per_endpoint() {
        let run = |seed: u64, interleave: bool| {
            let f = FaultInjector::new(
                seed,
                Faults {
                    default: plan(),
                    per_endpoint: HashMap::new(),
                },
            )
            .unwrap();
            (0..50)
                .map(|_| {
                    if interleave {
                        f.decide(Ep(2));
                    }
                    f.decide(Ep(1)).action
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7, false), run(7, false));
        assert_eq!(run(7, false), run(7, true));
        assert_ne!(run(7, false), run(8, false));
        let seq = run(7, false);
        assert!(seq.contains(&FaultAction::None));
        assert!(seq
            .iter()
            .any(|a| matches!(a, FaultAction::Error { code: 1302, .. })));
    }

    #[test]
    fn rates_are_validated() {
        let bad = FaultPlan {
            rate_limit: 0.7,
            server_error: 0.7,
            ..FaultPlan::default()
        };
        assert!(bad.validate().unwrap_err().contains("exceed 1"));
        let neg = FaultPlan {
            lost_callback: -0.1,
            ..FaultPlan::default()
        };
        assert!(neg.validate().unwrap_err().contains("lost_callback"));
    }

    #[test]
    fn codes_map_to_the_spec_statuses() {
        assert_eq!(status_for_code(1004), 401);
        assert_eq!(status_for_code(1303), 429);
        assert_eq!(status_for_code(1203), 404);
        assert_eq!(status_for_code(5001), 503);
        assert_eq!(status_for_code(5002), 504);
        assert_eq!(status_for_code(1103), 403);
    }
}
