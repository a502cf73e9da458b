//! `MidsyncProvider` — the only path to four of the seven seed models — passes the provider
//! conformance suite (`genmux-conformance`, issue 14 point 1) against the unified-API
//! simulator (`genmux_sim::unified`): every offered operation to a real file, signed
//! callbacks, maybe-accepted submissions (not findable: the callback names them), each
//! class of its error table, and the upstream's `pointsCharged` as the billed cost.
//!
//! The provider is built as `genmux serve` builds it: from its registration's declared
//! settings (`MIDSYNC_BASE_URL`, `MIDSYNC_API_KEY`, `MIDSYNC_WEBHOOK_SECRET`,
//! `MIDSYNC_TIMEOUT_SECS`).

use genmux_conformance::{Billed, Call, Callbacks, ErrorClass, Fault, Harness, RETRY_AFTER};
use genmux_core::settings::SettingSources;
use genmux_core::webhook::WebhookSecret;
use genmux_core::{async_trait, Catalog, Provider};
use genmux_midsync::mapping::USAGE_UPSTREAM_POINTS;
use genmux_sim::unified::{UnifiedEndpoint, UnifiedSim, UnifiedSimConfig};
use genmux_sim::FaultPlan;
use std::time::Duration;

/// `MIDSYNC_TIMEOUT_SECS` of the provider under test; a stalled answer comes later.
const TIMEOUT_SECS: u64 = 5;

struct MidsyncHarness {
    sim: UnifiedSim,
    provider: Provider,
}

impl MidsyncHarness {
    async fn start() -> MidsyncHarness {
        let secret = WebhookSecret::from_bytes(b"genmux conformance: unified callbacks");
        let sim =
            UnifiedSim::start(UnifiedSimConfig::default().with_webhook_secret(secret.clone()))
                .await
                .expect("the unified simulator starts");
        genmux_midsync::link();
        let registration = genmux_core::registrations()
            .find(|r| r.id == "midsync")
            .expect("midsync is registered");
        let env = [
            ("MIDSYNC_BASE_URL", sim.base_url().to_string()),
            ("MIDSYNC_API_KEY", sim.api_key().to_string()),
            ("MIDSYNC_WEBHOOK_SECRET", secret.to_whsec()),
            ("MIDSYNC_TIMEOUT_SECS", TIMEOUT_SECS.to_string()),
        ];
        let settings = SettingSources::default()
            .resolve(registration, &|k: &str| {
                env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
            })
            .expect("the settings resolve")
            .check()
            .expect("the settings are valid")
            .expect("the settings configure midsync");
        let provider = (registration.build)(&settings, Catalog::builtin())
            .expect("the provider builds")
            .expect("credentials given");
        MidsyncHarness { sim, provider }
    }

    fn endpoint(call: Call) -> UnifiedEndpoint {
        match call {
            Call::Submit => UnifiedEndpoint::Generate,
            Call::Status => UnifiedEndpoint::Status,
        }
    }
}

/// A fault plan answering the HTTP status that travels with `code` in the simulators'
/// shared table (1000 → 401, 1201 → 400, 1301 → 400 "content policy", 5001 → 503,
/// 5002 → 504).
fn code(code: u32) -> FaultPlan {
    FaultPlan {
        error: 1.0,
        error_code: code,
        ..FaultPlan::none()
    }
}

#[async_trait]
impl Harness for MidsyncHarness {
    fn provider(&self) -> &Provider {
        &self.provider
    }

    async fn advance(&self, by: Duration) {
        self.sim.advance(by).await;
    }

    async fn inject(&self, call: Call, fault: Fault) {
        let plan = match fault {
            Fault::Error(ErrorClass::Auth) => code(1000),
            Fault::Error(ErrorClass::Account) => {
                // An upstream account out of points answers 402 (spec/unified-api.md).
                assert_eq!(call, Call::Submit, "only a generation spends points");
                assert!(self.sim.set_balance(self.sim.api_key(), Some(0)));
                return;
            }
            Fault::Error(ErrorClass::RateLimited) => FaultPlan {
                rate_limit: 1.0,
                retry_after: RETRY_AFTER,
                ..FaultPlan::none()
            },
            Fault::Error(ErrorClass::Validation) => code(1201),
            Fault::Error(ErrorClass::ContentPolicy) => code(1301),
            Fault::Error(ErrorClass::Upstream5xx) => code(5001),
            Fault::Error(ErrorClass::Timeout) => code(5002),
            Fault::Dropped => FaultPlan {
                drop_connection: 1.0,
                ..FaultPlan::none()
            },
            Fault::Stalled => FaultPlan {
                stall: Duration::from_secs(TIMEOUT_SECS + 3),
                ..FaultPlan::none()
            },
        };
        self.sim.set_faults(Self::endpoint(call), plan).unwrap();
    }

    async fn clear_faults(&self) {
        self.sim.set_all_faults(FaultPlan::none()).unwrap();
        assert!(self.sim.set_balance(self.sim.api_key(), None));
    }

    fn callbacks(&self) -> Callbacks {
        Callbacks::Signed
    }

    async fn billed(&self, provider_task_id: &str) -> Option<Billed> {
        Some(Billed {
            pointer: format!("/{USAGE_UPSTREAM_POINTS}"),
            amount: self.sim.points_charged(provider_task_id)? as f64,
        })
    }
}

genmux_conformance::provider_suite!(MidsyncHarness::start().await);
