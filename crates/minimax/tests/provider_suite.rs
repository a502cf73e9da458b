//! `MiniMaxProvider` passes the provider conformance suite (`genmux-conformance`) against
//! the MiniMax simulator: hailuo-2.3-standard to a real MP4 (query, then files/retrieve),
//! challenge-first callbacks read as a handshake and hints, maybe-accepted submissions
//! (NotFindable: named later by their callback), and each class of MiniMax's error table
//! as the simulator answers it (HTTP 200 with `base_resp` codes, or a 5xx from the HTTP
//! layer).

use genmux_conformance::{Call, Callbacks, ErrorClass, Fault, Harness, RETRY_AFTER};
use genmux_core::{async_trait, Catalog, Provider};
use genmux_minimax::{MiniMaxConfig, MiniMaxProvider, MiniMaxTimeouts};
use genmux_sim::fault::FaultPlan;
use genmux_sim::framework::SimConfig;
use genmux_sim::minimax::{Endpoint, MiniMaxSim};
use std::time::Duration;

/// The provider gives up on an answer after this long; a stalled answer comes later.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

struct MiniMaxHarness {
    sim: MiniMaxSim,
    provider: Provider,
}

impl MiniMaxHarness {
    async fn start() -> MiniMaxHarness {
        let sim = MiniMaxSim::start(SimConfig::default())
            .await
            .expect("the MiniMax simulator starts");
        let config = MiniMaxConfig::new(sim.api_key())
            .with_base_url(sim.base_url())
            .with_timeouts(MiniMaxTimeouts {
                connect: Duration::from_secs(5),
                request: REQUEST_TIMEOUT,
            });
        let provider = MiniMaxProvider::new(config, Catalog::builtin())
            .expect("provider builds")
            .into_provider();
        MiniMaxHarness { sim, provider }
    }
}

/// A fault plan answering `code` (Kling-numbered: the simulator answers its MiniMax
/// equivalent, `genmux_sim::minimax::wire::MiniMaxError::from_fault`) to every call.
fn code(code: u32) -> FaultPlan {
    FaultPlan {
        error: 1.0,
        error_code: code,
        ..FaultPlan::none()
    }
}

#[async_trait]
impl Harness for MiniMaxHarness {
    fn provider(&self) -> &Provider {
        &self.provider
    }

    async fn advance(&self, by: Duration) {
        self.sim.advance(by).await;
    }

    async fn inject(&self, call: Call, fault: Fault) {
        // spec/upstreams.md, MiniMax "Errors": one code per class.
        let plan = match fault {
            Fault::Error(ErrorClass::Auth) => code(1004), // → 1004 authentication failed
            Fault::Error(ErrorClass::Account) => code(1101), // → 1008 insufficient balance
            Fault::Error(ErrorClass::RateLimited) => FaultPlan {
                rate_limit: 1.0, // → 1002 with Retry-After
                retry_after: RETRY_AFTER,
                ..FaultPlan::none()
            },
            Fault::Error(ErrorClass::Validation) => code(1201), // → 2013 invalid params
            Fault::Error(ErrorClass::ContentPolicy) => code(1301), // → 1026 sensitive input
            Fault::Error(ErrorClass::Upstream5xx) => code(5001), // → HTTP 503
            Fault::Error(ErrorClass::Timeout) => code(5002),    // → 1001 timeout
            Fault::Dropped => FaultPlan {
                drop_connection: 1.0,
                ..FaultPlan::none()
            },
            Fault::Stalled => FaultPlan {
                stall: REQUEST_TIMEOUT + Duration::from_secs(2),
                ..FaultPlan::none()
            },
        };
        let endpoints: &[Endpoint] = match call {
            Call::Submit => &[Endpoint::Create],
            Call::Status => &[Endpoint::Query, Endpoint::Retrieve],
        };
        for endpoint in endpoints {
            self.sim.set_faults(*endpoint, plan.clone()).unwrap();
        }
    }

    async fn clear_faults(&self) {
        self.sim.set_all_faults(FaultPlan::none()).unwrap();
    }

    fn callbacks(&self) -> Callbacks {
        Callbacks::Unsigned
    }
}

genmux_conformance::provider_suite!(MiniMaxHarness::start().await);
