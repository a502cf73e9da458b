//! Every simulator at once, each described as the stand-in for one provider's upstream:
//! which provider it plays and the provider settings (by their declared environment
//! names) that point the provider at it. `genmux serve`'s sandbox and `genmux sim` start
//! the simulators through this module, so neither names a provider (issue 14 point 2):
//! a new simulator is added here, next to its wire.
//!
//! ```no_run
//! # async fn demo() -> Result<(), genmux_sim::sandbox::StartError> {
//! use genmux_sim::sandbox::{SimulatorOptions, Simulators};
//! let sims = Simulators::start(SimulatorOptions::sandbox(20.0)).await?;
//! for up in sims.upstreams() {
//!     println!("{} simulator at {} stands in for provider {}", up.name, up.base_url, up.provider);
//! }
//! sims.shutdown().await;
//! # Ok(()) }
//! ```

use crate::clock::ClockMode;
use crate::fault::{FaultPlan, Faults};
use crate::framework::{Sim, SimConfig, Wire};
use crate::kling::{KlingSim, KlingSimConfig};
use crate::samples::SampleServer;
use crate::unified::Unified;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// The simulators, by the name `genmux sim --listen NAME=ADDR` takes: the two older ones,
/// then every framework simulator of `FRAMEWORK` in its order.
pub const NAMES: &[&str] = &["kling", "unified", "runway", "xai", "minimax", "seedance"];

/// A framework simulator starting.
type Starting<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = crate::Result<Box<dyn StandIn>>> + Send + 'a>,
>;

/// Starts one framework simulator as a stand-in.
type Starter = fn(&SimulatorOptions, SocketAddr) -> Starting<'_>;

/// The simulators built on [`crate::framework`], by name: adding one is one line here and
/// its name in [`NAMES`].
const FRAMEWORK: &[(&str, Starter)] = &[
    ("unified", start_framework::<Unified>),
    ("runway", start_framework::<crate::runway::RunwayWire>),
    ("xai", start_framework::<crate::xai::XaiWire>),
    ("minimax", start_framework::<crate::minimax::MiniMaxWire>),
    (
        crate::seedance::SeedanceWire::NAME,
        start_framework::<crate::seedance::SeedanceWire>,
    ),
];

/// A running framework simulator, as the sandbox sees it.
pub trait StandIn: Send + Sync {
    /// It as the stand-in for its provider.
    fn upstream(&self) -> SimulatedUpstream;
    /// Stops it.
    fn stop(self: Box<Self>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
}

impl<W: Wire> StandIn for Sim<W> {
    fn upstream(&self) -> SimulatedUpstream {
        let settings = W::provider_settings(self);
        let settings_json: serde_json::Map<String, Value> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
            .collect();
        SimulatedUpstream {
            name: W::NAME,
            provider: W::PROVIDER,
            base_url: self.base_url().to_string(),
            info: json!({
                "provider": W::PROVIDER,
                "baseUrl": self.base_url(),
                "apiKey": self.api_key(),
                "settings": settings_json,
            }),
            settings,
        }
    }

    fn stop(self: Box<Self>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(self.shutdown())
    }
}

/// Starts framework simulator `W` with the sandbox's options on `addr` (a [`Starter`]).
fn start_framework<W: Wire>(options: &SimulatorOptions, addr: SocketAddr) -> Starting<'_> {
    Box::pin(async move {
        let mut config = SimConfig::<W>::default();
        let s = &mut config.settings;
        s.addr = addr;
        s.seed = options.seed;
        s.clock = ClockMode::RealTime {
            speed: options.speed,
        };
        s.failure_rate = options.failure_rate;
        s.faults = Faults {
            default: options.faults.clone(),
            per_endpoint: Default::default(),
        };
        if let Some(n) = options.concurrency {
            s.concurrency = Some(n);
        }
        W::for_sandbox(&mut config);
        let sim = Sim::<W>::start(config).await?;
        Ok(Box::new(sim) as Box<dyn StandIn>)
    })
}

/// How to start the simulators.
#[derive(Clone, Debug)]
pub struct SimulatorOptions {
    /// Simulated seconds per real second.
    pub speed: f64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Share of tasks that fail (0–1).
    pub failure_rate: f64,
    /// Faults injected on every endpoint.
    pub faults: FaultPlan,
    /// Where each simulator listens, by name ([`NAMES`]); absent: a free loopback port.
    pub listen: BTreeMap<String, SocketAddr>,
    /// Concurrent tasks per account on simulators that limit them (Kling: 5 video and 9
    /// image by default; beyond it the simulator answers 1303).
    pub concurrency: Option<u32>,
}

impl SimulatorOptions {
    /// What the gateway's sandbox uses: free loopback ports, no faults, clock at `speed`.
    pub fn sandbox(speed: f64) -> Self {
        SimulatorOptions {
            speed,
            seed: 0,
            failure_rate: 0.0,
            faults: FaultPlan::none(),
            listen: BTreeMap::new(),
            concurrency: None,
        }
    }
}

/// One running simulator as the stand-in for a provider's upstream.
#[derive(Clone, Debug)]
pub struct SimulatedUpstream {
    /// The simulator's name ([`NAMES`]).
    pub name: &'static str,
    /// The id of the provider whose upstream it plays.
    pub provider: &'static str,
    /// Its base URL.
    pub base_url: String,
    /// The provider settings, by environment name, that point the provider at it
    /// (credentials, base URL, the secret its callbacks are signed with).
    pub settings: Vec<(&'static str, String)>,
    /// What `genmux sim --json` prints for it.
    pub info: Value,
}

/// A simulator that could not start.
#[derive(Debug, thiserror::Error)]
#[error("the {simulator} simulator: {error}")]
pub struct StartError {
    /// Which one ([`NAMES`], or the unknown name given).
    pub simulator: String,
    /// Why.
    pub error: crate::Error,
}

/// Every simulator, running, and the sample media they measure.
pub struct Simulators {
    kling: KlingSim,
    others: Vec<Box<dyn StandIn>>,
    samples: SampleServer,
}

impl std::fmt::Debug for Simulators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulators")
            .field("kling", &self.kling.base_url())
            .field(
                "others",
                &self
                    .others
                    .iter()
                    .map(|o| o.upstream().base_url)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Simulators {
    /// Starts every simulator; an unknown name in `listen` or a bad value is an error
    /// naming it.
    pub async fn start(options: SimulatorOptions) -> Result<Simulators, StartError> {
        for name in options.listen.keys() {
            if !NAMES.contains(&name.as_str()) {
                return Err(StartError {
                    simulator: name.clone(),
                    error: crate::Error::Config(format!(
                        "no simulator is called `{name}` (allowed: {})",
                        NAMES.join(", ")
                    )),
                });
            }
        }
        if !(options.speed.is_finite() && options.speed > 0.0) {
            return Err(StartError {
                simulator: NAMES.join(", "),
                error: crate::Error::Config(format!(
                    "speed = {} is not allowed (allowed: a number > 0)",
                    options.speed
                )),
            });
        }
        let addr = |name: &str| {
            options
                .listen
                .get(name)
                .copied()
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
        };
        // The catalog examples' media, served for real so every example runs (issue 20
        // point 3); the Kling simulator measures the videos it is given from here.
        let samples = SampleServer::start(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|error| StartError {
                simulator: "samples".into(),
                error,
            })?;
        let mut kling = KlingSimConfig {
            addr: addr("kling"),
            seed: options.seed,
            clock: ClockMode::RealTime {
                speed: options.speed,
            },
            failure_rate: options.failure_rate,
            faults: Faults {
                default: options.faults.clone(),
                per_endpoint: Default::default(),
            },
            measured_media: vec![format!("{}/", samples.base_url())],
            ..KlingSimConfig::default()
        };
        if let Some(n) = options.concurrency {
            for account in &mut kling.accounts {
                account.video_concurrency = n;
                account.image_concurrency = n;
            }
        }
        let kling = match KlingSim::start(kling).await {
            Ok(k) => k,
            Err(error) => {
                samples.shutdown().await;
                return Err(StartError {
                    simulator: "kling".into(),
                    error,
                });
            }
        };
        let mut others: Vec<Box<dyn StandIn>> = Vec::new();
        for (name, start) in FRAMEWORK {
            match start(&options, addr(name)).await {
                Ok(sim) => others.push(sim),
                Err(error) => {
                    kling.shutdown().await;
                    samples.shutdown().await;
                    for o in others {
                        o.stop().await;
                    }
                    return Err(StartError {
                        simulator: name.to_string(),
                        error,
                    });
                }
            }
        }
        Ok(Simulators {
            kling,
            others,
            samples,
        })
    }

    /// Each simulator with the provider it plays and that provider's settings.
    ///
    /// The environment names are the ones the provider crates declare
    /// (`genmux_kling::provider::SETTINGS`, `genmux_midsync::provider::SETTINGS`, …; a
    /// framework simulator's come from [`Wire::provider_settings`]); the gateway refuses a
    /// name its provider does not declare, so a rename shows at once.
    pub fn upstreams(&self) -> Vec<SimulatedUpstream> {
        let k = &self.kling;
        let kling_settings = vec![
            ("KLING_ACCESS_KEY", k.access_key().to_string()),
            ("KLING_SECRET_KEY", k.secret_key().to_string()),
            ("KLING_BASE_URL", k.base_url().to_string()),
        ];
        let settings_json = |s: &[(&str, String)]| {
            Value::Object(
                s.iter()
                    .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
                    .collect(),
            )
        };
        let mut all = vec![SimulatedUpstream {
            name: "kling",
            provider: "kling",
            base_url: k.base_url().to_string(),
            info: json!({
                "provider": "kling",
                "baseUrl": k.base_url(),
                "accessKey": k.access_key(),
                "secretKey": k.secret_key(),
                "settings": settings_json(&kling_settings),
            }),
            settings: kling_settings,
        }];
        all.extend(self.others.iter().map(|o| o.upstream()));
        all
    }

    /// The base URL of the sample media standing for the catalog examples' media URLs
    /// ([`crate::samples`]): `<base>/<SampleMedia::path>`.
    pub fn samples_url(&self) -> &str {
        self.samples.base_url()
    }

    /// Stops every simulator.
    pub async fn shutdown(self) {
        self.samples.shutdown().await;
        self.kling.shutdown().await;
        for o in self.others {
            o.stop().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genmux_core::webhook::WebhookSecret;

    #[tokio::test]
    async fn every_simulator_starts_and_describes_its_provider_settings() {
        let sims = Simulators::start(SimulatorOptions::sandbox(10.0))
            .await
            .unwrap();
        let ups = sims.upstreams();
        let names: Vec<_> = ups.iter().map(|u| u.name).collect();
        assert_eq!(names, NAMES);
        for up in &ups {
            assert!(up.base_url.starts_with("http://127.0.0.1:"), "{up:?}");
            assert!(!up.base_url.ends_with(":0"), "{up:?}");
            // A simulator that signs its callbacks hands the provider a valid secret; Kling
            // signs none (spec/kling-api.md "Errors, limits, callbacks"), so it has none.
            if up.provider == "kling" {
                assert!(
                    !up.settings
                        .iter()
                        .any(|(k, _)| k.ends_with("_WEBHOOK_SECRET")),
                    "{up:?}"
                );
            }
            for (_, secret) in up
                .settings
                .iter()
                .filter(|(k, _)| k.ends_with("_WEBHOOK_SECRET"))
            {
                assert!(WebhookSecret::parse(secret).is_ok(), "{up:?}");
            }
            // And points the provider at itself.
            assert!(
                up.settings
                    .iter()
                    .any(|(k, v)| k.ends_with("_BASE_URL") && *v == up.base_url),
                "{up:?}"
            );
            assert_eq!(
                up.info["settings"].as_object().unwrap().len(),
                up.settings.len()
            );
        }
        // Runway is poll only: its provider is handed its key and URL, no webhook secret.
        let runway = ups.iter().find(|u| u.name == "runway").unwrap();
        let keys: Vec<_> = runway.settings.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["RUNWAY_BASE_URL", "RUNWAYML_API_SECRET"]);
        sims.shutdown().await;
    }

    #[tokio::test]
    async fn an_unknown_simulator_or_a_bad_speed_is_named() {
        let mut o = SimulatorOptions::sandbox(1.0);
        o.listen
            .insert("nosuch".into(), "127.0.0.1:0".parse().unwrap());
        let e = Simulators::start(o).await.unwrap_err();
        assert!(
            e.to_string().contains(&format!(
                "no simulator is called `nosuch` (allowed: {})",
                NAMES.join(", ")
            )),
            "{e}"
        );
        let e = Simulators::start(SimulatorOptions::sandbox(0.0))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("speed = 0 is not allowed"), "{e}");
    }
}
