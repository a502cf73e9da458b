//! `RunwayProvider` passes the provider conformance suite (`genmux-conformance`) against
//! the Runway simulator (`genmux_sim::runway`): every offered operation to a real MP4, poll
//! only (no callbacks), maybe-accepted submissions that are not findable (the hold is
//! kept), and each class of its error table.
//!
//! The provider is built as `genmux serve` builds it: from its registration's declared
//! settings (`RUNWAYML_API_SECRET`, `RUNWAY_BASE_URL`, `RUNWAY_TIMEOUT_SECS`).
//!
//! Runway's error table has no account/balance class and no content-policy answer at
//! submission (spec/upstreams.md: HTTP 400, 401, 403, 404, 429, 5xx; content refusals come
//! as a `FAILED` task with `SAFETY.*`, held to in `tests/sim_rules.rs` and the gateway
//! tests), so those two classes are not injected.

use genmux_conformance::{Call, ErrorClass, Fault, Harness, RETRY_AFTER};
use genmux_core::settings::SettingSources;
use genmux_core::{async_trait, Catalog, Provider};
use genmux_sim::fault::FaultPlan;
use genmux_sim::framework::SimConfig;
use genmux_sim::runway::{Endpoint, RunwaySim};
use std::time::Duration;

/// `RUNWAY_TIMEOUT_SECS` of the provider under test; a stalled answer comes later.
const TIMEOUT_SECS: u64 = 5;

struct RunwayHarness {
    sim: RunwaySim,
    provider: Provider,
}

impl RunwayHarness {
    async fn start() -> RunwayHarness {
        let sim = RunwaySim::start(SimConfig::default())
            .await
            .expect("the Runway simulator starts");
        genmux_runway::link();
        let registration = genmux_core::registrations()
            .find(|r| r.id == "runway")
            .expect("runway is registered");
        let env = [
            ("RUNWAY_BASE_URL", sim.base_url().to_string()),
            ("RUNWAYML_API_SECRET", sim.api_key().to_string()),
            ("RUNWAY_TIMEOUT_SECS", TIMEOUT_SECS.to_string()),
        ];
        let settings = SettingSources::default()
            .resolve(registration, &|k: &str| {
                env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
            })
            .expect("the settings resolve")
            .check()
            .expect("the settings are valid")
            .expect("the settings configure runway");
        let provider = (registration.build)(&settings, Catalog::builtin())
            .expect("the provider builds")
            .expect("a secret given");
        RunwayHarness { sim, provider }
    }

    fn endpoints(call: Call) -> &'static [Endpoint] {
        match call {
            Call::Submit => &[Endpoint::ImageToVideo, Endpoint::TextToVideo],
            Call::Status => &[Endpoint::GetTask],
        }
    }
}

/// A fault plan answering the HTTP status that travels with `code` in the simulators'
/// shared table (1004 → 401, 1201 → 400, 5001 → 503, 5002 → 504).
fn code(code: u32) -> FaultPlan {
    FaultPlan {
        error: 1.0,
        error_code: code,
        ..FaultPlan::none()
    }
}

#[async_trait]
impl Harness for RunwayHarness {
    fn provider(&self) -> &Provider {
        &self.provider
    }

    async fn advance(&self, by: Duration) {
        self.sim.advance(by).await;
    }

    fn step(&self) -> Duration {
        // spec: poll no more than every 5 s.
        Duration::from_secs(5)
    }

    async fn inject(&self, call: Call, fault: Fault) {
        let plan = match fault {
            Fault::Error(ErrorClass::Auth) => code(1004),
            Fault::Error(ErrorClass::Validation) => code(1201),
            Fault::Error(ErrorClass::RateLimited) => FaultPlan {
                rate_limit: 1.0,
                retry_after: RETRY_AFTER,
                ..FaultPlan::none()
            },
            Fault::Error(ErrorClass::Upstream5xx) => code(5001),
            Fault::Error(ErrorClass::Timeout) => code(5002),
            Fault::Error(class @ (ErrorClass::Account | ErrorClass::ContentPolicy)) => {
                panic!("Runway's error table has no {class} answer at submission")
            }
            Fault::Dropped => FaultPlan {
                drop_connection: 1.0,
                ..FaultPlan::none()
            },
            Fault::Stalled => FaultPlan {
                stall: Duration::from_secs(TIMEOUT_SECS + 3),
                ..FaultPlan::none()
            },
        };
        for e in Self::endpoints(call) {
            self.sim.set_faults(*e, plan.clone()).unwrap();
        }
    }

    async fn clear_faults(&self) {
        self.sim.set_all_faults(FaultPlan::none()).unwrap();
    }

    fn error_classes(&self) -> Vec<ErrorClass> {
        vec![
            ErrorClass::Auth,
            ErrorClass::RateLimited,
            ErrorClass::Validation,
            ErrorClass::Upstream5xx,
            ErrorClass::Timeout,
        ]
    }
}

genmux_conformance::provider_suite!(RunwayHarness::start().await);
