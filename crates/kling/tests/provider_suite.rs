//! `KlingProvider` passes the provider conformance suite (`genmux-conformance`, issue 14
//! point 1) against the Kling simulator: every offered operation to a real file, unsigned
//! callbacks (hints), maybe-accepted submissions found by external id (or in the lip-sync list),
//! each class of Kling's error table, and `final_unit_deduction` as the billed cost.
//!
//! The client-level checks of every endpoint stay in `tests/conformance.rs`.

use genmux_conformance::{Billed, Call, Callbacks, ErrorClass, Fault, Harness, RETRY_AFTER};
use genmux_core::{async_trait, Catalog, GenerationRequest, Offering, Operation, Provider};
use genmux_kling::wire::Text2VideoRequest;
use genmux_kling::{KlingConfig, KlingProvider, KlingTimeouts};
use genmux_sim::fault::FaultPlan;
use genmux_sim::kling::{Endpoint, Feature, KlingAccount, KlingSim, KlingSimConfig};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// The provider gives up on an answer after this long; a stalled answer comes later.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

struct KlingHarness {
    sim: KlingSim,
    kling: Arc<KlingProvider>,
    provider: Provider,
    /// A finished video of this simulator (its id and URL), for extend and lip sync.
    video: OnceCell<(String, String)>,
}

impl KlingHarness {
    async fn start() -> KlingHarness {
        // A pack large enough that the suite's tasks never meet the concurrency limit
        // (1303 is injected as its own class).
        let mut account = KlingAccount::new("ak-conformance", "sk-conformance");
        account.video_concurrency = 1000;
        account.image_concurrency = 1000;
        let sim = KlingSim::start(KlingSimConfig::default().with_accounts(vec![account]))
            .await
            .expect("the Kling simulator starts");
        let config = KlingConfig::new(sim.access_key(), sim.secret_key())
            .with_base_url(sim.base_url())
            .with_timeouts(KlingTimeouts {
                connect: Duration::from_secs(5),
                request: REQUEST_TIMEOUT,
            });
        let kling =
            Arc::new(KlingProvider::new(config, Catalog::builtin()).expect("provider builds"));
        let provider = Provider::both(kling.clone(), kling.clone()).expect("one id");
        KlingHarness {
            sim,
            kling,
            provider,
            video: OnceCell::new(),
        }
    }

    /// A 5 s text-to-video made on this simulator.
    async fn video(&self) -> &(String, String) {
        self.video
            .get_or_init(|| async {
                let client = self.kling.client();
                let t = client
                    .create_text2video(&Text2VideoRequest {
                        model_name: Some("kling-v2-5-turbo".into()),
                        prompt: Some("a lighthouse in the fog".into()),
                        ..Default::default()
                    })
                    .await
                    .expect("a source video is created");
                self.sim.advance(Duration::from_secs(61)).await;
                let done = client.get_text2video(&t.task_id).await.unwrap();
                let v = &done.task_result.expect("the source video finished").videos[0];
                (v.id.clone(), v.url.clone())
            })
            .await
    }

    fn endpoints(call: Call) -> Vec<Endpoint> {
        Feature::ALL
            .into_iter()
            .map(|f| match call {
                Call::Submit => Endpoint::Create(f),
                Call::Status => Endpoint::Query(f),
            })
            .collect()
    }
}

/// A fault plan answering Kling `code` (HTTP status from the spec's table) to every call.
fn code(code: u32) -> FaultPlan {
    FaultPlan {
        error: 1.0,
        error_code: code,
        ..FaultPlan::none()
    }
}

#[async_trait]
impl Harness for KlingHarness {
    fn provider(&self) -> &Provider {
        &self.provider
    }

    async fn advance(&self, by: Duration) {
        self.sim.advance(by).await;
    }

    async fn inject(&self, call: Call, fault: Fault) {
        // spec/kling-api.md "Errors, limits, callbacks": one code per class.
        let plan = match fault {
            Fault::Error(ErrorClass::Auth) => code(1004),
            Fault::Error(ErrorClass::Account) => code(1102),
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
                stall: REQUEST_TIMEOUT + Duration::from_secs(3),
                ..FaultPlan::none()
            },
        };
        for endpoint in Self::endpoints(call) {
            self.sim.set_faults(endpoint, plan.clone()).unwrap();
        }
    }

    async fn clear_faults(&self) {
        self.sim.set_all_faults(FaultPlan::none()).unwrap();
    }

    /// spec "Errors, limits, callbacks": Kling does not sign its callbacks.
    fn callbacks(&self) -> Callbacks {
        Callbacks::Unsigned
    }

    async fn request_for(&self, offering: &Offering, op: Operation) -> Option<GenerationRequest> {
        let body = match op {
            Operation::VideoExtend => {
                let (id, _) = self.video().await;
                json!({"videoId": id, "prompt": "The camera keeps rising"})
            }
            Operation::LipSync => {
                let (id, _) = self.video().await;
                json!({"videoId": id, "soundFile": "https://example.com/voice.mp3",
                    "soundStartTime": 0, "soundEndTime": 3000, "soundInsertTime": 0})
            }
            _ => return None,
        };
        let mut body = body;
        body["model"] = json!(offering.model);
        Some(serde_json::from_value(body).expect("a valid request"))
    }

    async fn billed(&self, provider_task_id: &str) -> Option<Billed> {
        let task = self
            .sim
            .state()
            .tasks()
            .into_iter()
            .find(|t| t.task_id == provider_task_id)?;
        Some(Billed {
            pointer: "/final_unit_deduction".into(),
            amount: if task.task_status == "failed" {
                0.0
            } else {
                task.units
            },
        })
    }
}

genmux_conformance::provider_suite!(KlingHarness::start().await);
