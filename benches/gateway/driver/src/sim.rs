//! `gateway-bench sim`: the genmux simulators (crate genmux-sim) started standalone the
//! way the benchmark needs them — the Kling native API and the unified API, faults off,
//! and the Kling account's concurrency lifted (its default of 5 tasks answers 1303 beyond,
//! which would measure rejections, not the request path). Used when `genmux sim` lacks
//! `--unified-listen` or a concurrency flag; prints the same JSON line shape.

use std::net::SocketAddr;

use genmux_sim::kling::{KlingAccount, KlingSim, KlingSimConfig};
use genmux_sim::unified::{UnifiedSim, UnifiedSimConfig};

/// Starts both simulators, prints one JSON line, runs until SIGTERM/SIGINT.
pub async fn run(
    kling_listen: &str,
    unified_listen: &str,
    speed: f64,
    seed: u64,
) -> Result<(), String> {
    let kling_addr: SocketAddr = kling_listen
        .parse()
        .map_err(|e| format!("--kling-listen {kling_listen:?} is not host:port ({e})"))?;
    let unified_addr: SocketAddr = unified_listen
        .parse()
        .map_err(|e| format!("--unified-listen {unified_listen:?} is not host:port ({e})"))?;
    if !(speed.is_finite() && speed > 0.0) {
        return Err(format!("--speed {speed}: must be a number > 0"));
    }
    let mut account = KlingAccount::new("sim-access-key", "sim-secret-key");
    account.video_concurrency = u32::MAX;
    account.image_concurrency = u32::MAX;
    let kling = KlingSim::start(
        KlingSimConfig::default()
            .with_addr(kling_addr)
            .with_seed(seed)
            .with_speed(speed)
            .with_accounts(vec![account]),
    )
    .await
    .map_err(|e| format!("starting the Kling simulator on {kling_addr}: {e}"))?;
    let mut unified_cfg = UnifiedSimConfig::default()
        .with_seed(seed)
        .with_speed(speed);
    unified_cfg.addr = unified_addr;
    let unified = UnifiedSim::start(unified_cfg)
        .await
        .map_err(|e| format!("starting the unified simulator on {unified_addr}: {e}"))?;
    let info = serde_json::json!({
        "kling": {
            "baseUrl": kling.base_url(),
            "accessKey": kling.access_key(),
            "secretKey": kling.secret_key(),
        },
        "unified": {"baseUrl": unified.base_url(), "apiKey": unified.api_key()},
    });
    println!("{info}");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("installing the SIGTERM handler: {e}"))?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    kling.shutdown().await;
    unified.shutdown().await;
    Ok(())
}
