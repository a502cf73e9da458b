//! `SeedanceProvider` passes the provider conformance suite (`genmux-conformance`, issue 14
//! point 1) against the Seedance simulator: every offered operation (text to video, first
//! frame, first + last frame) to a real MP4, unsigned callbacks parsed to the task's
//! state, maybe-accepted submissions (Ark has no lookup by our id: `NotFindable`, found by
//! the callback), each class of Ark's error table, and `usage.completion_tokens` as the
//! billed cost.

use genmux_conformance::{Billed, Call, Callbacks, ErrorClass, Fault, Harness, RETRY_AFTER};
use genmux_core::{async_trait, Catalog, Provider};
use genmux_seedance::{ArkConfig, ArkTimeouts, SeedanceProvider};
use genmux_sim::fault::FaultPlan;
use genmux_sim::seedance::{SeedanceEndpoint, SeedanceSim, SeedanceSimConfig};
use std::time::Duration;

/// The provider gives up on an answer after this long; a stalled answer comes later.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

struct SeedanceHarness {
    sim: SeedanceSim,
    provider: Provider,
}

impl SeedanceHarness {
    async fn start() -> SeedanceHarness {
        // No concurrency limit: the suite's tasks never meet it (the 429 is injected as
        // its own class).
        let sim = SeedanceSim::start_seedance(SeedanceSimConfig::default(), |s| s)
            .await
            .expect("the Seedance simulator starts");
        let config = ArkConfig::new(sim.api_key())
            .with_base_url(sim.ark_base_url())
            .with_timeouts(ArkTimeouts {
                connect: Duration::from_secs(5),
                request: REQUEST_TIMEOUT,
            });
        let provider = SeedanceProvider::new(config, 1.2, Catalog::builtin())
            .expect("provider builds")
            .into_provider();
        SeedanceHarness { sim, provider }
    }

    fn endpoint(call: Call) -> SeedanceEndpoint {
        match call {
            Call::Submit => SeedanceEndpoint::Create,
            Call::Status => SeedanceEndpoint::Query,
        }
    }
}

#[async_trait]
impl Harness for SeedanceHarness {
    fn provider(&self) -> &Provider {
        &self.provider
    }

    async fn advance(&self, by: Duration) {
        self.sim.advance(by).await;
    }

    async fn inject(&self, call: Call, fault: Fault) {
        let endpoint = Self::endpoint(call);
        // spec/upstreams.md, Seedance "Errors": one Ark answer per class, asked of the
        // simulator by the framework's fault codes (the simulator answers each with
        // Ark's code at its status).
        let code = |error_code: u32| FaultPlan {
            error: 1.0,
            error_code,
            ..FaultPlan::none()
        };
        let plan = match fault {
            // 401 AuthenticationError.
            Fault::Error(ErrorClass::Auth) => code(1004),
            // 429 QuotaExceeded.
            Fault::Error(ErrorClass::Account) => code(1102),
            // 429 RateLimitExceeded.EndpointRPMExceeded with Retry-After.
            Fault::Error(ErrorClass::RateLimited) => FaultPlan {
                rate_limit: 1.0,
                retry_after: RETRY_AFTER,
                ..FaultPlan::none()
            },
            // 400 InvalidParameter.
            Fault::Error(ErrorClass::Validation) => code(1201),
            // 400 InputTextSensitiveContentDetected.
            Fault::Error(ErrorClass::ContentPolicy) => code(1301),
            // 500 InternalServiceError.
            Fault::Error(ErrorClass::Upstream5xx) => code(5000),
            // A gateway in front of Ark timing out (504): the spec lists no Ark code for it.
            Fault::Error(ErrorClass::Timeout) => code(5002),
            Fault::Dropped => FaultPlan {
                drop_connection: 1.0,
                ..FaultPlan::none()
            },
            Fault::Stalled => FaultPlan {
                stall: REQUEST_TIMEOUT + Duration::from_secs(3),
                ..FaultPlan::none()
            },
        };
        self.sim.set_faults(endpoint, plan).unwrap();
    }

    async fn clear_faults(&self) {
        self.sim.set_all_faults(FaultPlan::none()).unwrap();
    }

    fn callbacks(&self) -> Callbacks {
        Callbacks::Unsigned
    }

    async fn billed(&self, provider_task_id: &str) -> Option<Billed> {
        let tokens = self.sim.billed_tokens(provider_task_id)?;
        Some(Billed {
            pointer: "/completion_tokens".into(),
            amount: tokens as f64,
        })
    }
}

genmux_conformance::provider_suite!(SeedanceHarness::start().await);
