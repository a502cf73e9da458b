//! `genmux serve` configuration: a TOML file, then environment variables, then flags.
//! A bad value is an error naming the key.

use crate::exit::CliError;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The config file (`--config genmux.toml` or `GENMUX_CONFIG`). Every key is optional.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Address to listen on, e.g. `127.0.0.1:8080`.
    pub listen: Option<String>,
    /// Public base URL upstream callbacks are sent to (default `http://<listen>`).
    pub public_url: Option<String>,
    /// Where the SQLite database and the callback key live (default `./genmux-data`).
    pub data_dir: Option<PathBuf>,
    /// `postgres://…` to share one database between replicas (default: SQLite in data_dir).
    pub database_url: Option<String>,
    /// Points given to the first account on first start.
    pub starter_points: Option<i64>,
    /// Also write the first admin key to this file (it is printed once either way).
    pub bootstrap_key_file: Option<PathBuf>,
    /// Admit loopback callbackUrls (tests and sandboxes).
    pub allow_loopback_callbacks: Option<bool>,
    /// An operator catalog override file (replace, add or disable models).
    pub catalog_override: Option<PathBuf>,
    /// `pretty` or `json` logs.
    pub log_format: Option<String>,
    /// Master key for outbound callback secrets (Base64, ≥ 32 bytes). Replicas sharing a
    /// database must share it (default: generated once into data_dir/webhook.key).
    pub webhook_signing_key: Option<String>,
    /// Kling credentials.
    #[serde(default)]
    pub kling: KlingSection,
    /// Upstream unified-API credentials.
    #[serde(default)]
    pub midsync: MidsyncSection,
    /// Limits.
    #[serde(default)]
    pub limits: LimitsSection,
    /// Telemetry.
    #[serde(default)]
    pub telemetry: TelemetrySection,
    /// Sandbox (in-process simulators when no provider credentials are set).
    #[serde(default)]
    pub sandbox: SandboxSection,
}

/// `[kling]`
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct KlingSection {
    /// AccessKey (`KLING_ACCESS_KEY`).
    pub access_key: Option<String>,
    /// SecretKey (`KLING_SECRET_KEY`).
    pub secret_key: Option<String>,
    /// Base URL (`KLING_BASE_URL`).
    pub base_url: Option<String>,
    /// Callback signing secret (`KLING_WEBHOOK_SECRET`).
    pub webhook_secret: Option<String>,
}

/// `[midsync]`
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct MidsyncSection {
    /// API key (`MIDSYNC_API_KEY`).
    pub api_key: Option<String>,
    /// Base URL (`MIDSYNC_BASE_URL`).
    pub base_url: Option<String>,
}

/// `[limits]`
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    /// Requests per minute per API key.
    pub key_rpm: Option<u32>,
    /// Burst per API key.
    pub key_burst: Option<u32>,
    /// Requests per second to each provider.
    pub provider_rps: Option<u32>,
    /// Tasks in flight per provider.
    pub provider_concurrency: Option<u32>,
    /// Largest request body in bytes.
    pub body_limit: Option<usize>,
    /// Seconds a successful API-key authentication is reused (0: no cache).
    pub auth_cache_ttl_secs: Option<u64>,
    /// A Redis where the per-key rate is counted, shared by every replica
    /// (`GENMUX_REDIS_URL`).
    pub redis_url: Option<String>,
}

/// `[telemetry]`
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySection {
    /// OTLP/HTTP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`); nothing is exported without it.
    pub otlp_endpoint: Option<String>,
    /// Record prompts on spans (off by default).
    pub record_prompts: Option<bool>,
}

/// `[sandbox]`
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct SandboxSection {
    /// Force the sandbox on or off (default: on when no provider credentials are set).
    pub enabled: Option<bool>,
    /// Simulated seconds per real second (default 20: a 5 s video is ready in ~2 s).
    pub speed: Option<f64>,
}

impl FileConfig {
    /// Reads and parses a config file; errors name the file, the key and the line.
    pub fn load(path: &Path) -> Result<FileConfig, CliError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::Usage(format!("config {}: {e}", path.display())))?;
        FileConfig::parse(&text)
            .map_err(|e| CliError::Usage(format!("config {}: {e}", path.display())))
    }

    /// Parses config TOML.
    pub fn parse(text: &str) -> Result<FileConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim().replace('\n', " "))
    }

    /// Fills unset keys from the environment (`KLING_*`, `MIDSYNC_*`, `DATABASE_URL`,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`, `GENMUX_*`).
    pub fn overlay_env(&mut self, env: &dyn Fn(&str) -> Option<String>) {
        fn fill<T>(slot: &mut Option<T>, v: Option<T>) {
            if slot.is_none() {
                *slot = v;
            }
        }
        let s = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        fill(&mut self.kling.access_key, s("KLING_ACCESS_KEY"));
        fill(&mut self.kling.secret_key, s("KLING_SECRET_KEY"));
        fill(&mut self.kling.base_url, s("KLING_BASE_URL"));
        fill(&mut self.kling.webhook_secret, s("KLING_WEBHOOK_SECRET"));
        fill(&mut self.midsync.api_key, s("MIDSYNC_API_KEY"));
        fill(&mut self.midsync.base_url, s("MIDSYNC_BASE_URL"));
        fill(&mut self.database_url, s("DATABASE_URL"));
        fill(
            &mut self.telemetry.otlp_endpoint,
            s("OTEL_EXPORTER_OTLP_ENDPOINT"),
        );
        fill(&mut self.listen, s("GENMUX_LISTEN"));
        fill(&mut self.public_url, s("GENMUX_PUBLIC_URL"));
        fill(&mut self.data_dir, s("GENMUX_DATA_DIR").map(PathBuf::from));
        fill(&mut self.webhook_signing_key, s("GENMUX_WEBHOOK_KEY"));
        fill(&mut self.limits.redis_url, s("GENMUX_REDIS_URL"));
    }

    /// Whether any real provider is configured.
    pub fn has_provider_credentials(&self) -> bool {
        self.kling.access_key.is_some()
            || self.kling.secret_key.is_some()
            || self.midsync.api_key.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_named() {
        let e = FileConfig::parse("listen = \"127.0.0.1:1\"\n[kling]\naccess_kye = \"x\"\n")
            .unwrap_err();
        assert!(e.contains("access_kye"), "{e}");
        assert!(e.contains("line 3"), "{e}");
    }

    #[test]
    fn wrong_type_is_named() {
        let e = FileConfig::parse("starter_points = \"many\"").unwrap_err();
        assert!(e.contains("starter_points") || e.contains("line 1"), "{e}");
    }

    #[test]
    fn env_fills_only_unset_keys() {
        let mut c = FileConfig::parse("[kling]\naccess_key = \"from-file\"").unwrap();
        let env = |k: &str| match k {
            "KLING_ACCESS_KEY" => Some("from-env".to_string()),
            "KLING_SECRET_KEY" => Some("sk".to_string()),
            "DATABASE_URL" => Some("postgres://x".to_string()),
            _ => None,
        };
        c.overlay_env(&env);
        assert_eq!(c.kling.access_key.as_deref(), Some("from-file"));
        assert_eq!(c.kling.secret_key.as_deref(), Some("sk"));
        assert_eq!(c.database_url.as_deref(), Some("postgres://x"));
        assert!(c.has_provider_credentials());
    }
}
