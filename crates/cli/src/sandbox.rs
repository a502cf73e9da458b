//! The zero-config sandbox: the upstream simulators in this process on loopback, so
//! `genmux serve` and `genmux demo` work with no credentials at all.

use crate::exit::CliError;
use genmux_core::ProviderSettings;
use genmux_sim::clock::ClockMode;
use genmux_sim::kling::{KlingSim, KlingSimConfig};
use genmux_sim::unified::{UnifiedSim, UnifiedSimConfig};

/// Simulators started for a sandboxed gateway.
pub struct Sandbox {
    kling: KlingSim,
    unified: UnifiedSim,
}

impl Sandbox {
    /// Starts the simulators with a clock running `speed` times faster than real time.
    pub async fn start(speed: f64) -> Result<Sandbox, CliError> {
        if !(speed.is_finite() && speed > 0.0) {
            return Err(CliError::Usage(format!(
                "sandbox.speed: {speed} is not allowed (allowed: a number > 0)"
            )));
        }
        let kling = KlingSim::start(KlingSimConfig {
            clock: ClockMode::RealTime { speed },
            ..KlingSimConfig::default()
        })
        .await
        .map_err(|e| CliError::Other(format!("starting the Kling simulator: {e}")))?;
        // The unified simulator is the upstream of the models Kling does not serve
        // (seedance, runway, hailuo, grok), reached through the midsync provider.
        let unified = UnifiedSim::start(UnifiedSimConfig::default().with_speed(speed))
            .await
            .map_err(|e| CliError::Other(format!("starting the unified simulator: {e}")))?;
        Ok(Sandbox { kling, unified })
    }

    /// Provider settings pointing at the simulators (replacing nothing already set).
    pub fn provider_settings(&self, settings: ProviderSettings) -> ProviderSettings {
        settings
            .set("KLING_ACCESS_KEY", self.kling.access_key())
            .set("KLING_SECRET_KEY", self.kling.secret_key())
            .set("KLING_BASE_URL", self.kling.base_url())
            .set("MIDSYNC_API_KEY", self.unified.api_key())
            .set("MIDSYNC_BASE_URL", self.unified.base_url())
    }

    /// The Kling simulator's base URL.
    pub fn kling_url(&self) -> &str {
        self.kling.base_url()
    }

    /// The unified simulator's base URL.
    pub fn unified_url(&self) -> &str {
        self.unified.base_url()
    }

    /// Stops the simulators.
    pub async fn shutdown(self) {
        self.kling.shutdown().await;
        self.unified.shutdown().await;
    }
}
