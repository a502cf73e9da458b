//! The echo provider passes the provider conformance suite (`genmux-conformance`, issue 14
//! point 1) against its simulator (`tests/common`): its operation to a real MP4 with the
//! credits the API billed, maybe-accepted submissions found again by `client_ref`, every
//! class of its error table. This file is all a provider crate adds to run the suite.

mod common;

use common::{EchoSim, Route, SimFault, TOKEN};
use genmux_conformance::{Billed, Call, ErrorClass, Fault, Harness, RETRY_AFTER};
use genmux_core::{async_trait, Catalog, Provider, ProviderSettings};
use std::time::Duration;

/// `ECHO_TIMEOUT_SECS` of the provider under test; a stalled answer comes later.
const TIMEOUT_SECS: u64 = 3;

struct EchoHarness {
    sim: EchoSim,
    provider: Provider,
}

impl EchoHarness {
    async fn start() -> EchoHarness {
        let sim = EchoSim::start().await;
        // Built as `genmux serve` builds it: the registration's build from its settings.
        let settings = ProviderSettings::new()
            .set(genmux_example_custom_provider::TOKEN_SETTING, TOKEN)
            .set(
                genmux_example_custom_provider::BASE_URL_SETTING,
                sim.base_url(),
            )
            .set(
                genmux_example_custom_provider::TIMEOUT_SETTING,
                TIMEOUT_SECS.to_string(),
            );
        let provider = genmux_example_custom_provider::build(&settings, Catalog::builtin())
            .expect("builds")
            .expect("configured");
        EchoHarness { sim, provider }
    }
}

fn error(status: u16, kind: &'static str) -> SimFault {
    SimFault::Error {
        status,
        kind,
        retry_after: None,
    }
}

#[async_trait]
impl Harness for EchoHarness {
    fn provider(&self) -> &Provider {
        &self.provider
    }

    async fn advance(&self, by: Duration) {
        self.sim.advance(by);
    }

    fn step(&self) -> Duration {
        Duration::from_secs(2)
    }

    async fn inject(&self, call: Call, fault: Fault) {
        let route = match call {
            Call::Submit => Route::Create,
            Call::Status => Route::Read,
        };
        // Echo API §Errors, one row per class.
        let fault = match fault {
            Fault::Error(ErrorClass::Auth) => error(401, "auth"),
            Fault::Error(ErrorClass::Account) => error(402, "insufficient_credit"),
            Fault::Error(ErrorClass::RateLimited) => SimFault::Error {
                status: 429,
                kind: "rate_limit",
                retry_after: Some(RETRY_AFTER.as_secs()),
            },
            Fault::Error(ErrorClass::Validation) => error(400, "invalid_request"),
            Fault::Error(ErrorClass::ContentPolicy) => error(400, "content_policy"),
            Fault::Error(ErrorClass::Upstream5xx) => error(503, "server_error"),
            Fault::Error(ErrorClass::Timeout) => error(504, "timeout"),
            Fault::Dropped => SimFault::Drop,
            Fault::Stalled => SimFault::Stall(Duration::from_secs(TIMEOUT_SECS + 2)),
        };
        self.sim.set_fault(route, fault);
    }

    async fn clear_faults(&self) {
        self.sim.clear();
    }

    async fn billed(&self, provider_task_id: &str) -> Option<Billed> {
        Some(Billed {
            pointer: format!(
                "/{}",
                genmux_example_custom_provider::provider::USAGE_CREDITS
            ),
            amount: f64::from(self.sim.credits(provider_task_id)?),
        })
    }
}

genmux_conformance::provider_suite!(EchoHarness::start().await);
