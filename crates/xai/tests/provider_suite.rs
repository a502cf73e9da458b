//! `XaiProvider` passes the provider conformance suite (`genmux-conformance`) against the
//! xAI simulator (`genmux_sim::xai`): the offered operation to a real MP4, poll only (no
//! callbacks), maybe-accepted submissions that cannot be looked up (NotFindable: the hold
//! is kept), each class of xAI's error table, and `usage.cost_in_usd_ticks` as the billed
//! cost.
//!
//! The provider is built as `genmux serve` builds it: from its registration's declared
//! settings (`XAI_API_KEY`, `XAI_BASE_URL`, `XAI_TIMEOUT_SECS`).

use genmux_conformance::{Billed, Call, ErrorClass, Fault, Harness, RETRY_AFTER};
use genmux_core::settings::SettingSources;
use genmux_core::{async_trait, Catalog, Provider};
use genmux_sim::fault::FaultPlan;
use genmux_sim::xai::{XaiEndpoint, XaiSim, XaiSimConfig};
use genmux_xai::mapping::USAGE_COST_TICKS;
use std::time::Duration;

/// `XAI_TIMEOUT_SECS` of the provider under test; a stalled answer comes later.
const TIMEOUT_SECS: u64 = 5;

struct XaiHarness {
    sim: XaiSim,
    provider: Provider,
}

impl XaiHarness {
    async fn start() -> XaiHarness {
        let sim = XaiSim::start(XaiSimConfig::default())
            .await
            .expect("the xAI simulator starts");
        genmux_xai::link();
        let registration = genmux_core::registrations()
            .find(|r| r.id == "xai")
            .expect("xai is registered");
        let env = [
            ("XAI_API_KEY", sim.api_key().to_string()),
            ("XAI_BASE_URL", sim.base_url().to_string()),
            ("XAI_TIMEOUT_SECS", TIMEOUT_SECS.to_string()),
        ];
        let settings = SettingSources::default()
            .resolve(registration, &|k: &str| {
                env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
            })
            .expect("the settings resolve")
            .check()
            .expect("the settings are valid")
            .expect("the settings configure xai");
        let provider = (registration.build)(&settings, Catalog::builtin())
            .expect("the provider builds")
            .expect("a key given");
        XaiHarness { sim, provider }
    }

    fn endpoint(call: Call) -> XaiEndpoint {
        match call {
            Call::Submit => XaiEndpoint::Create,
            Call::Status => XaiEndpoint::Get,
        }
    }
}

/// A fault plan answering the HTTP status that travels with `code` in the simulators'
/// shared table (1000 → 401, 1201 → 400, 5001 → 503, 5002 → 504), in xAI's
/// `{"error":"…"}` shape.
fn code(code: u32) -> FaultPlan {
    FaultPlan {
        error: 1.0,
        error_code: code,
        ..FaultPlan::none()
    }
}

#[async_trait]
impl Harness for XaiHarness {
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
                // The team's credits are spent: xAI answers 403 to a create.
                assert_eq!(call, Call::Submit, "only a generation spends credits");
                self.sim.handle().set_balance(0, Some(0));
                return;
            }
            Fault::Error(ErrorClass::RateLimited) => FaultPlan {
                rate_limit: 1.0,
                retry_after: RETRY_AFTER,
                ..FaultPlan::none()
            },
            Fault::Error(ErrorClass::Validation) => code(1201),
            Fault::Error(ErrorClass::ContentPolicy) => {
                panic!("xAI's error table has no content-policy answer to a create (spec/upstreams.md): a refusal shows on the task")
            }
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
        self.sim.handle().set_balance(0, None);
    }

    /// Every class but content policy: the spec gives xAI's create no distinct refusal
    /// for content (a 400 is a bad parameter); a refused video ends `failed` or `done`
    /// with `respect_moderation: false`, which the mapping reports as a content refusal.
    fn error_classes(&self) -> Vec<ErrorClass> {
        ErrorClass::ALL
            .into_iter()
            .filter(|c| *c != ErrorClass::ContentPolicy)
            .collect()
    }

    async fn billed(&self, provider_task_id: &str) -> Option<Billed> {
        let task = self
            .sim
            .tasks()
            .into_iter()
            .find(|t| t.id == provider_task_id)?;
        Some(Billed {
            pointer: format!("/{USAGE_COST_TICKS}"),
            amount: task.data.job.cost_in_usd_ticks() as f64,
        })
    }
}

genmux_conformance::provider_suite!(XaiHarness::start().await);
