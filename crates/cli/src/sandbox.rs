//! The sandbox: the upstream simulators in this process on loopback, each standing in for
//! the provider whose upstream it plays (`genmux_sim::sandbox`), so `genmux serve` and
//! `genmux demo` work with no credentials at all. It is never silent (issue 13 point 6):
//! `serve` prints a banner, `/healthz` and `/unified-video/models` say `"sandbox": true`,
//! and the web page shows it.

use crate::exit::CliError;
use genmux_sim::sandbox::{SimulatedUpstream, SimulatorOptions, Simulators};

/// Simulators started for a sandboxed gateway.
pub struct Sandbox {
    sims: Simulators,
}

impl Sandbox {
    /// Starts the simulators with a clock running `speed` times faster than real time.
    pub async fn start(speed: f64) -> Result<Sandbox, CliError> {
        if !(speed.is_finite() && speed > 0.0) {
            return Err(CliError::Usage(format!(
                "sandbox.speed: {speed} is not allowed (allowed: a number > 0)"
            )));
        }
        let sims = Simulators::start(SimulatorOptions::sandbox(speed))
            .await
            .map_err(|e| CliError::Other(format!("starting the sandbox: {e}")))?;
        Ok(Sandbox { sims })
    }

    /// Each simulator, the provider it plays and the settings pointing that provider at it.
    pub fn upstreams(&self) -> Vec<SimulatedUpstream> {
        self.sims.upstreams()
    }

    /// The base URL of the sample media standing for the catalog examples' media URLs.
    pub fn samples_url(&self) -> &str {
        self.sims.samples_url()
    }

    /// Stops the simulators.
    pub async fn shutdown(self) {
        self.sims.shutdown().await;
    }
}
