//! Commands that run things in this process: `serve`, `demo`, `sim`.

use super::gateway::{assets, wait_for, Ctx};
use super::{DemoArgs, ProvidersArgs, ServeArgs, SimArgs};
use crate::config::FileConfig;
use crate::exit::CliError;
use crate::gateway;
use crate::output::{cell, print_json, table};
use crate::providers::SandboxMode;
use genmux_sim::sandbox::{SimulatorOptions, Simulators};
use genmux_sim::FaultPlan;
use serde_json::{json, Value};
use std::time::Duration;

use crate::observability::init_logs;

/// Resolves the serve config. Precedence, highest first (issue 14 point 8): flags, the
/// environment, the config file, defaults. Provider settings follow the same order
/// (resolved later from what each provider crate declares: `crate::providers`).
pub fn resolve(
    args: &ServeArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<FileConfig, CliError> {
    let mut cfg = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    cfg.overlay_env(env);
    fn flag<T: Clone>(slot: &mut Option<T>, v: &Option<T>) {
        if v.is_some() {
            *slot = v.clone();
        }
    }
    flag(&mut cfg.listen, &args.listen);
    flag(&mut cfg.public_url, &args.public_url);
    flag(&mut cfg.data_dir, &args.data_dir);
    flag(&mut cfg.database_url, &args.database_url);
    flag(&mut cfg.starter_points, &args.starter_points);
    flag(&mut cfg.bootstrap_key_file, &args.bootstrap_key_file);
    flag(&mut cfg.limits.provider_rps, &args.provider_rps);
    flag(
        &mut cfg.limits.provider_concurrency,
        &args.provider_concurrency,
    );
    flag(&mut cfg.limits.key_rpm, &args.key_rpm);
    flag(&mut cfg.limits.redis_url, &args.redis_url);
    flag(&mut cfg.sandbox.speed, &args.sandbox_speed);
    flag(&mut cfg.log_format, &args.log_format);
    cfg.provider_flags = args.provider_settings.clone();
    if args.sandbox {
        cfg.sandbox.enabled = Some(true);
    }
    if args.no_sandbox {
        cfg.sandbox.enabled = Some(false);
    }
    if args.allow_loopback_callbacks {
        cfg.allow_loopback_callbacks = Some(true);
    }
    Ok(cfg)
}

/// `genmux providers`.
pub fn providers(args: ProvidersArgs, json_out: bool) -> Result<(), CliError> {
    let serve = ServeArgs {
        config: args.config,
        database_url: args.database_url,
        provider_settings: args.provider_settings,
        sandbox: args.sandbox,
        ..ServeArgs::default()
    };
    let cfg = resolve(&serve, &|k| std::env::var(k).ok())?;
    crate::providers::list(&cfg, json_out)
}

/// `genmux serve`.
pub async fn serve(args: ServeArgs) -> Result<(), CliError> {
    let cfg = resolve(&args, &|k| std::env::var(k).ok())?;
    let observability = crate::observability::init(
        cfg.log_format.as_deref(),
        "info,sqlx=warn",
        cfg.telemetry.otlp_endpoint.as_deref(),
    )?;
    let gw = gateway::start_observed(&cfg, Some(observability.prometheus.clone())).await?;
    tracing::info!(
        url = %gw.url,
        database = gw.backend,
        providers = ?gw.providers,
        sandbox = gw.sandbox.is_some(),
        "genmux gateway listening"
    );
    println!(
        "genmux gateway on {} ({} database; providers: {})",
        gw.url,
        gw.backend,
        gw.providers.join(", ")
    );
    if let Some(s) = &gw.sandbox {
        // Issue 13 point 6: the sandbox is never silent.
        let why = match gw.sandbox_mode {
            SandboxMode::Auto => "no provider credential and no database_url is set, so",
            _ => "--sandbox:",
        };
        println!(
            "sandbox: {why} every provider is simulated in this process; no real upstream is called or billed, and loopback callbackUrls are admitted"
        );
        for up in s.upstreams() {
            println!(
                "sandbox:   provider {} -> the {} simulator at {}",
                up.provider, up.name, up.base_url
            );
            tracing::warn!(provider = up.provider, simulator = up.name, url = %up.base_url, "sandbox: provider simulated");
        }
    }
    if let Some(key) = &gw.bootstrap_key {
        println!(
            "first start: created account `{}` and its operator key (scopes admin and operator; shown once):",
            gateway::DEFAULT_ACCOUNT
        );
        println!("  {key}");
        println!("  export GENMUX_API_KEY={key}");
    }
    let result = gw
        .run_until(genmux_midsync::shutdown::ctrl_c_or_term())
        .await;
    observability.shutdown();
    result
}

/// `genmux demo`.
pub async fn demo(args: DemoArgs, json_out: bool) -> Result<(), CliError> {
    init_logs(None, "warn")?;
    let data_dir =
        std::env::temp_dir().join(format!("genmux-demo-{}", uuid::Uuid::new_v4().simple()));
    let cfg = FileConfig {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(data_dir.clone()),
        sandbox: crate::config::SandboxSection {
            enabled: Some(true),
            speed: Some(30.0),
        },
        ..FileConfig::default()
    };
    let gw = gateway::start(&cfg).await?;
    let result = run_demo(&gw, &args, json_out).await;
    gw.shutdown().await;
    let _ = std::fs::remove_dir_all(&data_dir);
    result
}

async fn run_demo(
    gw: &gateway::RunningGateway,
    args: &DemoArgs,
    json_out: bool,
) -> Result<(), CliError> {
    let key = gw
        .bootstrap_key
        .clone()
        .ok_or_else(|| CliError::Other("the demo gateway created no key".into()))?;
    let ctx = Ctx::new(&gw.url, Some(key), json_out)?;
    if !json_out {
        println!(
            "genmux demo: gateway {} with the in-process simulators",
            gw.url
        );
    }
    let body = json!({"model": args.model, "prompt": args.prompt, "duration": args.duration});
    let prefix = "/unified-video";
    let quote = ctx
        .client
        .post(&format!("{prefix}/quote"), &body, None)
        .await?;
    let created = ctx
        .client
        .post(
            &format!("{prefix}/generate"),
            &body,
            Some(&uuid::Uuid::new_v4().to_string()),
        )
        .await?;
    let task_id = created["taskId"].as_str().unwrap_or_default().to_string();
    if !json_out {
        println!(
            "quoted {} points; task {task_id} created, {} points charged",
            cell(quote.get("pointsCharged")),
            cell(created.get("pointsCharged"))
        );
    }
    // The sandbox's clock runs faster than the estimate's: a spinner, not a bar.
    let done = wait_for(
        &ctx,
        prefix,
        &task_id,
        Duration::from_secs(120),
        None,
        !json_out,
    )
    .await?;
    if done["status"] != "succeeded" {
        return Err(CliError::TaskFailed(format!(
            "task {task_id} {}: {}",
            cell(done.get("status")),
            cell(done.get("error"))
        )));
    }
    let mut saved = Vec::new();
    for (i, asset) in assets(&done).iter().enumerate() {
        let Some(url) = asset["url"].as_str() else {
            continue;
        };
        let path = args.out.join(format!("{task_id}-{i}.mp4"));
        let bytes = ctx.client.download(url, &path).await?;
        saved.push(json!({"path": path.display().to_string(), "bytes": bytes}));
    }
    if saved.is_empty() {
        return Err(CliError::Other(format!(
            "task {task_id} succeeded without a video"
        )));
    }
    let summary = ctx
        .client
        .get(
            "/v1/usage/summary",
            &[
                ("date_range", "last_7_days".into()),
                ("groupBy", "model".into()),
            ],
        )
        .await?;
    if json_out {
        print_json(&json!({"task": done, "saved": saved, "usage": summary}));
        return Ok(());
    }
    for f in &saved {
        println!(
            "saved {} ({} bytes)",
            cell(f.get("path")),
            cell(f.get("bytes"))
        );
    }
    println!("\nusage summary (last 7 days)");
    let rows: Vec<Vec<String>> = summary["byModel"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v): (&String, &Value)| {
                    vec![
                        k.clone(),
                        cell(v.get("pointsCharged")),
                        cell(v.get("requests")),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    println!("{}", table(&["MODEL", "POINTS", "REQUESTS"], &rows));
    println!(
        "total: {} points, {} requests",
        cell(summary.get("totalPointsCharged")),
        cell(summary.get("totalRequests"))
    );
    Ok(())
}

/// `genmux sim`: every simulator, each printed with the provider settings that point
/// its provider at it.
pub async fn sim(args: SimArgs, json_out: bool) -> Result<(), CliError> {
    init_logs(None, "info")?;
    if !(0.0..=1.0).contains(&args.failure_rate) {
        return Err(CliError::Usage(format!(
            "--failure-rate: {} is not allowed (allowed: 0 to 1)",
            args.failure_rate
        )));
    }
    let plan = FaultPlan {
        error: args.error_rate,
        latency: Duration::from_millis(args.latency_ms),
        ..FaultPlan::none()
    };
    plan.validate()
        .map_err(|e| CliError::Usage(format!("--error-rate: {e}")))?;
    let mut listen = std::collections::BTreeMap::new();
    for entry in &args.listen {
        let (name, addr) = entry.split_once('=').ok_or_else(|| {
            CliError::Usage(format!(
                "--listen: `{entry}` is not NAME=HOST:PORT (names: {})",
                genmux_sim::sandbox::NAMES.join(", ")
            ))
        })?;
        let addr = addr.parse().map_err(|e| {
            CliError::Usage(format!("--listen {name}: {addr:?} is not host:port ({e})"))
        })?;
        listen.insert(name.to_string(), addr);
    }
    let sims = Simulators::start(SimulatorOptions {
        speed: args.speed,
        seed: args.seed,
        failure_rate: args.failure_rate,
        faults: plan,
        listen,
        concurrency: args.concurrency,
    })
    .await
    .map_err(|e| CliError::Usage(format!("--listen {}: {e}", e.simulator)))?;
    let upstreams = sims.upstreams();
    if json_out {
        let info: serde_json::Map<String, Value> = upstreams
            .iter()
            .map(|u| (u.name.to_string(), u.info.clone()))
            .collect();
        println!("{}", Value::Object(info));
    } else {
        for up in &upstreams {
            println!(
                "{} simulator on {} (plays provider {})",
                up.name, up.base_url, up.provider
            );
            let env: Vec<String> = up
                .settings
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            println!("  {}", env.join(" "));
        }
        println!("Ctrl-C to stop.");
    }
    genmux_midsync::shutdown::ctrl_c_or_term().await;
    sims.shutdown().await;
    Ok(())
}
