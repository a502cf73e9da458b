//! Building and running a gateway in this process: used by `genmux serve` and
//! `genmux demo`.

use crate::config::FileConfig;
use crate::exit::CliError;
use crate::providers::{self, SandboxMode};
use crate::sandbox::Sandbox;
use base64::Engine as _;
use genmux_core::settings::ResolvedProvider;
use genmux_core::Catalog;
use genmux_midsync::{AppState, Engine, GatewayConfig, KeyRate};
use genmux_router::{Limits, ProviderLimit, Router, Telemetry};
use genmux_store::{Actor, NewKey, Scope, Store};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The account created on first start.
pub const DEFAULT_ACCOUNT: &str = "default";
/// Points the first account starts with unless configured.
pub const DEFAULT_STARTER_POINTS: i64 = 1_000;

/// A gateway running in this process.
pub struct RunningGateway {
    /// `http://<bound address>`.
    pub url: String,
    /// The admin key created by this start (first start only).
    pub bootstrap_key: Option<String>,
    /// The database in use (`sqlite` or `postgres`).
    pub backend: &'static str,
    /// Simulators started for the sandbox, if any.
    pub sandbox: Option<Sandbox>,
    /// Whether the sandbox runs, and why.
    pub sandbox_mode: SandboxMode,
    /// Provider ids the router serves.
    pub providers: Vec<String>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    engine: Engine,
    store: Store,
}

/// Longest auth cache TTL `serve` takes: a day. Longer would only widen the window in
/// which a key revoked while the revocation feed is down keeps working.
const MAX_AUTH_CACHE_TTL_SECS: u64 = 86_400;
/// Longest operator deadline for submissions of unknown outcome: 30 days (Kling keeps
/// results that long; past it nobody can reconcile the task anyway).
const MAX_UNKNOWN_DEADLINE_SECS: u64 = 30 * 24 * 3600;

fn usage(key: &str, msg: impl std::fmt::Display) -> CliError {
    CliError::Usage(format!("{key}: {msg}"))
}

/// Reads or creates the master key for outbound callback secrets.
fn webhook_key(cfg: &FileConfig, data_dir: &Path) -> Result<Vec<u8>, CliError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    if let Some(k) = &cfg.webhook_signing_key {
        let bytes = b64
            .decode(k.trim())
            .map_err(|e| usage("webhook_signing_key", format!("not Base64 ({e})")))?;
        if bytes.len() < 32 {
            return Err(usage(
                "webhook_signing_key",
                format!("{} bytes; at least 32 are needed", bytes.len()),
            ));
        }
        return Ok(bytes);
    }
    let path = data_dir.join("webhook.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return b64
            .decode(text.trim())
            .map_err(|e| CliError::Other(format!("{}: not Base64 ({e})", path.display())));
    }
    let key: [u8; 32] = rand_bytes();
    write_secret(&path, b64.encode(key).as_bytes())
        .map_err(|e| CliError::Other(format!("writing {}: {e}", path.display())))?;
    Ok(key.to_vec())
}

/// Writes a secret (the bootstrap admin key, the callback master key) readable by its
/// owner only: with the default umask these files were created 0644, so any local user
/// could read the admin key.
fn write_secret(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        options.mode(0o600);
        let mut file = options.open(path)?;
        // `mode` applies only to a file this call creates; an existing one is tightened.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(contents)
    }
    #[cfg(not(unix))]
    {
        options.open(path)?.write_all(contents)
    }
}

fn rand_bytes() -> [u8; 32] {
    let mut out = [0u8; 32];
    for chunk in out.chunks_mut(16) {
        chunk.copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    out
}

fn nonzero(key: &str, v: u32) -> Result<NonZeroU32, CliError> {
    NonZeroU32::new(v).ok_or_else(|| usage(key, "0 is not allowed (allowed: at least 1)"))
}

/// Creates the first account and admin key when the store has none. The key holds every
/// scope, `operator` included: it is the operator's key, which creates the other accounts
/// and their keys (issue 13 point 4). The account, its starter points and the key are
/// written with account audit rows naming no key (the gateway did it).
async fn bootstrap(store: &Store, starter_points: i64) -> Result<Option<String>, CliError> {
    let internal = |e: genmux_core::Error| CliError::Other(format!("bootstrap: {e}"));
    let existing = store.keys.list(DEFAULT_ACCOUNT).await.map_err(internal)?;
    if !existing.is_empty() {
        return Ok(None);
    }
    if starter_points > 0 {
        // Checked before anything is written: a refused top-up after the account exists
        // would leave it without its starter points on the next start.
        genmux_store::accounts::check_top_up_points("starter_points", starter_points)
            .map_err(|e| CliError::Usage(e.message().to_string()))?;
    }
    let system = Actor::system();
    let created = match store.accounts.create(DEFAULT_ACCOUNT, &system).await {
        Ok(_) => true,
        // A start that stopped before creating the key: the account is there already.
        Err(e) if e.kind() == genmux_core::ErrorKind::Conflict => false,
        Err(e) => return Err(internal(e)),
    };
    if created && starter_points > 0 {
        store
            .accounts
            .top_up(
                DEFAULT_ACCOUNT,
                starter_points,
                "starter points (first start)",
                &system,
            )
            .await
            .map_err(internal)?;
    }
    let created = store
        .accounts
        .create_key(
            NewKey {
                account_id: DEFAULT_ACCOUNT.into(),
                name: "admin (bootstrap)".into(),
                scopes: Scope::ALL.to_vec(),
                expires_at: None,
            },
            &system,
        )
        .await
        .map_err(internal)?;
    Ok(Some(created.plaintext))
}

/// Starts a gateway from a resolved config: store, catalog, providers (or the sandbox),
/// router, engine and the HTTP server with the web page.
///
/// Providers come from the settings their crates declare; the sandbox starts by itself
/// only when no provider credential and no `database_url` is set, `--sandbox` with
/// provider credentials is refused, and a `database_url` without providers exits 2 naming
/// the missing settings (issue 13 point 6).
pub async fn start(cfg: &FileConfig) -> Result<RunningGateway, CliError> {
    start_observed(cfg, None).await
}

/// [`start`], serving `GET /metrics` from `prometheus` when given (issue 19).
pub async fn start_observed(
    cfg: &FileConfig,
    prometheus: Option<genmux_midsync::telemetry::Prometheus>,
) -> Result<RunningGateway, CliError> {
    // Providers: each linked crate's declared settings, resolved from flags, environment
    // and config file. Decided before anything is created or opened, so a deployment missing
    // its provider settings exits 2 without touching its data dir or database.
    let resolved = providers::resolve(cfg)?;
    let sandbox_mode = providers::decide_sandbox(cfg, &resolved)?;
    let real = match sandbox_mode {
        SandboxMode::Off => providers::configured(cfg, &resolved)?,
        SandboxMode::Asked | SandboxMode::Auto => Vec::new(),
    };

    let data_dir = cfg
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("genmux-data"));
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| usage("data_dir", format!("{}: {e}", data_dir.display())))?;

    let db_url = match &cfg.database_url {
        Some(u) => u.clone(),
        None => format!("sqlite://{}", data_dir.join("genmux.db").display()),
    };
    let store = Store::open(&db_url)
        .await
        .map_err(|e| usage("database_url", e))?;

    let mut catalog = Catalog::builtin().clone();
    if let Some(path) = &cfg.catalog_override {
        let text = std::fs::read_to_string(path)
            .map_err(|e| usage("catalog_override", format!("{}: {e}", path.display())))?;
        catalog = catalog
            .with_override_toml(&text)
            .map_err(|e| usage("catalog_override", e))?;
    }

    let listen: SocketAddr = cfg
        .listen
        .as_deref()
        .unwrap_or("127.0.0.1:8080")
        .parse()
        .map_err(|e| {
            usage(
                "listen",
                format!(
                    "{:?} is not host:port ({e})",
                    cfg.listen.as_deref().unwrap_or_default()
                ),
            )
        })?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| usage("listen", format!("cannot bind {listen}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| CliError::Other(e.to_string()))?;
    let url = format!("http://{bound}");
    let public_url = cfg.public_url.clone().unwrap_or_else(|| url.clone());

    // The simulators stand in for every provider (never silently: issue 13 point 6).
    let (sandbox, to_build) = match sandbox_mode {
        SandboxMode::Off => (None, real),
        SandboxMode::Asked | SandboxMode::Auto => {
            let sandbox = Sandbox::start(cfg.sandbox.speed.unwrap_or(20.0)).await?;
            let mut to_build = Vec::new();
            for up in sandbox.upstreams() {
                let registration = genmux_core::registrations()
                    .find(|r| r.id == up.provider)
                    .ok_or_else(|| {
                        CliError::Other(format!(
                            "sandbox: the {} simulator plays provider {}, which is not linked into this binary",
                            up.name, up.provider
                        ))
                    })?;
                let simulated = ResolvedProvider::sandboxed(registration, &up.settings)
                    .and_then(|p| p.check())
                    .map_err(|e| CliError::Other(e.message().to_string()))?
                    .ok_or_else(|| {
                        CliError::Other(format!(
                            "sandbox: the {} simulator leaves provider {} unconfigured",
                            up.name, up.provider
                        ))
                    })?;
                to_build.push((registration, simulated));
            }
            (Some(sandbox), to_build)
        }
    };
    let sandbox_on = sandbox.is_some();

    let mut limits = Limits::new();
    if cfg.limits.provider_rps.is_some() || cfg.limits.provider_concurrency.is_some() {
        limits = limits.default_provider(ProviderLimit {
            requests_per_second: cfg
                .limits
                .provider_rps
                .map(|v| nonzero("limits.provider_rps", v))
                .transpose()?,
            burst: None,
            max_in_flight: cfg.limits.provider_concurrency,
        });
    }
    let mut builder = Router::builder();
    for (registration, settings) in &to_build {
        builder = builder.provider(providers::build(registration, settings, &catalog)?);
    }
    // Among offerings of equal upstream cost, the operator's order, then health, then the
    // provider id — never registration order (issue 14 point 4).
    let order = &cfg.routing.provider_order;
    for (i, id) in order.iter().enumerate() {
        if genmux_core::registrations().all(|r| r.id != id.as_str()) {
            return Err(usage(
                "routing.provider_order",
                format!(
                    "[{i}] = `{id}` is no provider of this binary (linked: {})",
                    genmux_core::registrations()
                        .map(|r| r.id)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    builder = builder.picker(genmux_router::PriceThenOrder::new(order.iter().cloned()));
    let router = builder
        .catalog(catalog)
        .limits(limits)
        .telemetry(
            Telemetry::global().record_prompts(cfg.telemetry.record_prompts.unwrap_or(false)),
        )
        .build()
        .map_err(|e| usage("providers", e))?;
    let providers: Vec<String> = router.provider_ids().map(str::to_string).collect();

    let mut gw = GatewayConfig::new(public_url, webhook_key(cfg, &data_dir)?);
    // Loopback callbackUrls only with the sandbox (asked for, or started by itself when
    // nothing is configured) or when the operator says so (issue 13 point 6).
    gw.allow_loopback_callbacks = cfg.allow_loopback_callbacks.unwrap_or(sandbox_on);
    gw.sandbox = sandbox_on;
    // The sandbox lists the catalog examples with its own sample media (issue 20 point 3).
    gw.sample_media = sandbox.as_ref().map(|s| s.samples_url().to_string());
    gw.models_public = cfg.models_public.unwrap_or(false);
    if let Some(secs) = cfg.unknown_deadline_secs {
        if secs == 0 || secs > MAX_UNKNOWN_DEADLINE_SECS {
            return Err(usage(
                "unknown_deadline_secs",
                format!("{secs} is out of range (allowed: 1–{MAX_UNKNOWN_DEADLINE_SECS} seconds)"),
            ));
        }
        gw.poll.unknown_deadline = std::time::Duration::from_secs(secs);
    }
    if let Some(limit) = cfg.limits.body_limit {
        gw.body_limit = limit;
    }
    if let Some(url) = &cfg.limits.redis_url {
        if cfg.limits.key_rpm.is_none() {
            return Err(usage(
                "limits.redis_url",
                "set limits.key_rpm (--key-rpm) too: the Redis counts the per-key rate, and none is set",
            ));
        }
        gw.key_rate_redis = Some(
            genmux_midsync::RedisUrl::parse(url)
                .map_err(|e| CliError::Usage(e.message().to_string()))?,
        );
    }
    if let Some(secs) = cfg.limits.auth_cache_ttl_secs {
        if secs > MAX_AUTH_CACHE_TTL_SECS {
            return Err(usage(
                "limits.auth_cache_ttl_secs",
                format!("{secs} is too long (allowed: 0–{MAX_AUTH_CACHE_TTL_SECS} seconds)"),
            ));
        }
        gw.auth_cache_ttl = std::time::Duration::from_secs(secs);
    }
    if let Some(rps) = cfg.limits.key_rpm {
        let per_minute = nonzero("limits.key_rpm", rps)?;
        let burst = nonzero(
            "limits.key_burst",
            cfg.limits.key_burst.unwrap_or(rps.div_ceil(6).max(1)),
        )?;
        gw.key_rate = Some(KeyRate { per_minute, burst });
    }

    let blobs = assets(cfg, &data_dir, &mut gw.assets)?;

    let bootstrap_key =
        bootstrap(&store, cfg.starter_points.unwrap_or(DEFAULT_STARTER_POINTS)).await?;
    if let (Some(key), Some(path)) = (&bootstrap_key, &cfg.bootstrap_key_file) {
        write_secret(path, key.as_bytes())
            .map_err(|e| usage("bootstrap_key_file", format!("{}: {e}", path.display())))?;
    }

    let mut state = AppState::new(gw, store.clone(), Arc::new(router)).with_blobs(blobs);
    if let Some(p) = prometheus {
        state = state.with_prometheus(p);
    }
    let engine = Engine::spawn(state.clone());
    let app = genmux_midsync::app(state).merge(genmux_web::router());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(RunningGateway {
        url,
        bootstrap_key,
        backend: store.backend(),
        sandbox,
        sandbox_mode,
        providers,
        stop: Some(stop),
        server: Some(server),
        engine,
        store,
    })
}

/// Longest retention in days (ten years).
const MAX_RETENTION_DAYS: u64 = 3650;

/// Days as a duration, checked against `1..=MAX_RETENTION_DAYS`; `key` names the setting.
fn retention_days(key: &str, days: u64) -> Result<std::time::Duration, CliError> {
    if days == 0 || days > MAX_RETENTION_DAYS {
        return Err(usage(
            key,
            format!("{days} is out of range (allowed: 1–{MAX_RETENTION_DAYS} days)"),
        ));
    }
    Ok(std::time::Duration::from_secs(days * 86_400))
}

/// The blob store of results (issue 18: `genmux serve` always keeps them) and the
/// `[assets]` settings applied to `out`.
fn assets(
    cfg: &FileConfig,
    data_dir: &Path,
    out: &mut genmux_midsync::AssetsConfig,
) -> Result<genmux_midsync::assets::Blobs, CliError> {
    let a = &cfg.assets;
    if let Some(n) = a.max_bytes {
        if n == 0 {
            return Err(usage(
                "assets.max_bytes",
                "0 is out of range (allowed: 1 or more bytes)",
            ));
        }
        out.max_bytes = n;
    }
    if let Some(d) = a.retention_days {
        out.retention = retention_days("assets.retention_days", d)?;
    }
    for (account, d) in &a.retention_days_by_account {
        let key = format!("assets.retention_days_by_account.{account}");
        out.retention_by_account
            .insert(account.clone(), retention_days(&key, *d)?);
    }
    if let Some(secs) = a.copy_deadline_secs {
        if secs == 0 || secs > 7 * 86_400 {
            return Err(usage(
                "assets.copy_deadline_secs",
                format!("{secs} is out of range (allowed: 1–604800 seconds)"),
            ));
        }
        out.copy_deadline = std::time::Duration::from_secs(secs);
    }
    if let Some(mib) = a.copy_memory_mib {
        // At least one copy's worth (three 8 MiB parts), at most 64 GiB.
        if !(24..=65_536).contains(&mib) {
            return Err(usage(
                "assets.copy_memory_mib",
                format!("{mib} is out of range (allowed: 24–65536 MiB)"),
            ));
        }
        out.copy_buffer_bytes = mib * 1024 * 1024;
    }
    if let Some(secs) = a.link_ttl_secs {
        if secs == 0 || secs > 7 * 86_400 {
            return Err(usage(
                "assets.link_ttl_secs",
                format!("{secs} is out of range (allowed: 1–604800 seconds)"),
            ));
        }
        out.link_ttl = std::time::Duration::from_secs(secs);
    }
    let settings = genmux_midsync::assets::BlobSettings {
        store: a.store.clone().unwrap_or_else(|| {
            let dir = data_dir.join("assets");
            // A relative data_dir still names one directory after a `cd`.
            std::path::absolute(&dir)
                .unwrap_or(dir)
                .display()
                .to_string()
        }),
        endpoint: a.endpoint.clone(),
        region: a.region.clone(),
        access_key_id: a.access_key_id.clone(),
        secret_access_key: a.secret_access_key.clone(),
        allow_http: a.allow_http.unwrap_or(false),
    };
    genmux_midsync::assets::Blobs::open(&settings).map_err(|e| usage("assets.store", e.message()))
}

impl RunningGateway {
    /// Runs until `signal` resolves or the server fails, then shuts down gracefully.
    pub async fn run_until(
        mut self,
        signal: impl std::future::Future<Output = ()>,
    ) -> Result<(), CliError> {
        let mut failed = None;
        if let Some(server) = self.server.as_mut() {
            tokio::select! {
                _ = signal => {}
                ended = server => {
                    self.server = None;
                    failed = Some(match ended {
                        Ok(Ok(())) => "the server stopped".to_string(),
                        Ok(Err(e)) => format!("the server failed: {e}"),
                        Err(e) => format!("the server task failed: {e}"),
                    });
                }
            }
        }
        self.shutdown().await;
        match failed {
            Some(msg) => Err(CliError::Other(msg)),
            None => Ok(()),
        }
    }

    /// Stops taking requests, lets in-flight ones finish, stops the engine after its current
    /// pass (leases left behind expire), closes the database and stops the simulators.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            match server.await {
                Ok(Err(e)) => tracing::error!(error = %e, "server ended with an error"),
                Err(e) => tracing::error!(error = %e, "server task failed"),
                Ok(Ok(())) => {}
            }
        }
        self.engine.shutdown().await;
        self.store.close().await;
        if let Some(s) = self.sandbox.take() {
            s.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_memory_budget_is_read_and_bounded() {
        let dir = std::env::temp_dir().join(format!("genmux-cfg-{}", uuid::Uuid::new_v4()));
        let mut out = genmux_midsync::AssetsConfig::default();
        let cfg = FileConfig::parse("[assets]\ncopy_memory_mib = 64\n").unwrap();
        assets(&cfg, &dir, &mut out).unwrap();
        assert_eq!(out.copy_buffer_bytes, 64 * 1024 * 1024);
        for bad in [0, 23, 65_537] {
            let cfg = FileConfig::parse(&format!("[assets]\ncopy_memory_mib = {bad}\n")).unwrap();
            let e = assets(&cfg, &dir, &mut out).unwrap_err().to_string();
            assert!(
                e.contains("assets.copy_memory_mib")
                    && e.contains(&bad.to_string())
                    && e.contains("24–65536 MiB"),
                "{e}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
