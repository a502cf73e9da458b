//! `genmux serve` configuration. Precedence, highest first (issue 14 point 8): flags, then
//! environment variables, then the TOML file, then defaults. Provider settings follow the
//! same order but are declared by each provider crate ([`genmux_core::settings`]); this
//! module only carries the file's `[providers.<id>]` sections and the flags to them.
//! A bad value is an error naming the key.

use crate::exit::CliError;
use genmux_core::settings::SettingSources;
use serde::Deserialize;
use std::collections::BTreeMap;
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
    /// Serve `GET /unified-{video,image}/models` without a key (public forms); off by
    /// default, as the seed requires Authorization there.
    pub models_public: Option<bool>,
    /// Seconds a submission of unknown outcome to a provider that cannot look tasks up
    /// (the unified API) keeps its hold before it is voided (default 86400).
    pub unknown_deadline_secs: Option<u64>,
    /// An operator catalog override file (replace, add or disable models).
    pub catalog_override: Option<PathBuf>,
    /// `pretty` or `json` logs.
    pub log_format: Option<String>,
    /// Master key for outbound callback secrets (Base64, ≥ 32 bytes). Replicas sharing a
    /// database must share it (default: generated once into data_dir/webhook.key).
    pub webhook_signing_key: Option<String>,
    /// Provider settings, one section per provider id (`[providers.<id>]`) holding the
    /// keys that provider's crate declares (`genmux providers` lists them). Checked against
    /// the registrations when the gateway starts.
    #[serde(default)]
    pub providers: BTreeMap<String, toml::Table>,
    /// Limits.
    #[serde(default)]
    pub limits: LimitsSection,
    /// Routing.
    #[serde(default)]
    pub routing: RoutingSection,
    /// Telemetry.
    #[serde(default)]
    pub telemetry: TelemetrySection,
    /// Sandbox (in-process simulators when no provider settings and no database are set).
    #[serde(default)]
    pub sandbox: SandboxSection,
    /// Results kept by the gateway (issue 18, docs/assets.md).
    #[serde(default)]
    pub assets: AssetsSection,
    /// Where this config was read from, for messages (not a key of the file).
    #[serde(skip)]
    pub path: Option<PathBuf>,
    /// `--provider-setting <id>.<key>=<value>` flags (not a key of the file).
    #[serde(skip)]
    pub provider_flags: Vec<String>,
    /// The environment variables the linked providers declare (`NAME`, and `NAME_FILE` for
    /// secrets), as read when the config was resolved (not a key of the file). `demo`
    /// leaves it empty: its sandbox ignores the shell's credentials.
    #[serde(skip)]
    pub provider_env: BTreeMap<String, String>,
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

/// `[routing]`
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RoutingSection {
    /// Provider ids, first preferred, deciding between offerings of equal upstream cost
    /// (before health); unlisted providers come after listed ones.
    #[serde(default)]
    pub provider_order: Vec<String>,
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

/// `[assets]`: where results are kept and for how long (docs/assets.md).
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct AssetsSection {
    /// `s3://bucket/prefix` (any S3-compatible store; replicas must share one),
    /// `file:///dir` or an absolute directory (`GENMUX_ASSETS_STORE`; default: the
    /// directory `assets` in data_dir).
    pub store: Option<String>,
    /// S3 endpoint of a non-AWS store (`AWS_ENDPOINT` otherwise).
    pub endpoint: Option<String>,
    /// S3 region (`AWS_REGION` otherwise).
    pub region: Option<String>,
    /// S3 access key id (`AWS_ACCESS_KEY_ID` otherwise).
    pub access_key_id: Option<String>,
    /// S3 secret access key (`AWS_SECRET_ACCESS_KEY` otherwise).
    pub secret_access_key: Option<String>,
    /// Allow a plain-HTTP S3 endpoint.
    pub allow_http: Option<bool>,
    /// Largest result copied, in bytes (default 2 GiB).
    pub max_bytes: Option<u64>,
    /// Days results are kept (default 30).
    pub retention_days: Option<u64>,
    /// Days results of single accounts are kept, by account id.
    #[serde(default)]
    pub retention_days_by_account: BTreeMap<String, u64>,
    /// Seconds transient copy failures are retried before the task fails (default 21600).
    pub copy_deadline_secs: Option<u64>,
    /// Seconds a signed link is valid by default (default 3600).
    pub link_ttl_secs: Option<u64>,
    /// MiB the copies in flight may hold in memory at once (default 256).
    pub copy_memory_mib: Option<u64>,
}

/// `[sandbox]`
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct SandboxSection {
    /// Force the sandbox on or off (default: on when no provider setting and no
    /// `database_url` is set; issue 13 point 6).
    pub enabled: Option<bool>,
    /// Simulated seconds per real second (default 20: a 5 s video is ready in ~2 s).
    pub speed: Option<f64>,
}

impl FileConfig {
    /// Reads and parses a config file; errors name the file, the key and the line.
    pub fn load(path: &Path) -> Result<FileConfig, CliError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::Usage(format!("config {}: {e}", path.display())))?;
        let mut cfg = FileConfig::parse(&text)
            .map_err(|e| CliError::Usage(format!("config {}: {e}", path.display())))?;
        cfg.path = Some(path.to_path_buf());
        Ok(cfg)
    }

    /// Parses config TOML. A top-level section named after a linked provider (where
    /// provider settings used to live) is refused pointing at `[providers.<id>]`.
    pub fn parse(text: &str) -> Result<FileConfig, String> {
        if let Ok(table) = text.parse::<toml::Table>() {
            for reg in genmux_core::registrations() {
                if table.get(reg.id).is_some_and(toml::Value::is_table) {
                    return Err(format!(
                        "[{0}]: provider settings live in [providers.{0}] (see `genmux providers`)",
                        reg.id
                    ));
                }
            }
        }
        toml::from_str(text).map_err(|e| e.to_string().trim().replace('\n', " "))
    }

    /// The inputs of the provider settings: the file's `[providers.<id>]` sections (each
    /// value as text) and the `--provider-setting` flags.
    pub fn setting_sources(&self) -> Result<SettingSources, CliError> {
        let mut sources = SettingSources {
            file_name: self.path.clone(),
            ..Default::default()
        };
        for (id, table) in &self.providers {
            let section = sources.file.entry(id.clone()).or_default();
            for (key, value) in table {
                let text = match value {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(n) => n.to_string(),
                    toml::Value::Float(x) => x.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    other => {
                        return Err(CliError::Usage(format!(
                            "config{}: [providers.{id}] {key}: a value of type {} is not allowed (allowed: text, a number, true or false)",
                            self.path
                                .as_ref()
                                .map(|p| format!(" {}", p.display()))
                                .unwrap_or_default(),
                            other.type_str()
                        )))
                    }
                };
                section.insert(key.clone(), text);
            }
        }
        for flag in &self.provider_flags {
            sources
                .add_flag(flag)
                .map_err(|e| CliError::Usage(e.message().to_string()))?;
        }
        Ok(sources)
    }

    /// Reads the environment variables the linked providers declare into
    /// [`Self::provider_env`].
    pub fn capture_provider_env(&mut self, env: &dyn Fn(&str) -> Option<String>) {
        for reg in genmux_core::registrations() {
            for spec in reg.settings {
                let mut names = vec![spec.env.to_string()];
                if spec.secret {
                    names.push(spec.env_file());
                }
                for name in names {
                    if let Some(v) = env(&name) {
                        self.provider_env.insert(name, v);
                    }
                }
            }
        }
    }

    /// Sets keys from the environment where it has a (non-empty) value, over the file's
    /// (`DATABASE_URL`, `OTEL_EXPORTER_OTLP_ENDPOINT`, `GENMUX_*`); flags are applied
    /// after this and win over both.
    pub fn overlay_env(&mut self, env: &dyn Fn(&str) -> Option<String>) {
        fn fill<T>(slot: &mut Option<T>, v: Option<T>) {
            if v.is_some() {
                *slot = v;
            }
        }
        let s = |k: &str| env(k).filter(|v| !v.trim().is_empty());
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
        fill(&mut self.assets.store, s("GENMUX_ASSETS_STORE"));
        self.capture_provider_env(env);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_named() {
        let e = FileConfig::parse("listen = \"127.0.0.1:1\"\n[limits]\nkey_rmp = 5\n").unwrap_err();
        assert!(e.contains("key_rmp"), "{e}");
        assert!(e.contains("line 3"), "{e}");
    }

    #[test]
    fn wrong_type_is_named() {
        let e = FileConfig::parse("starter_points = \"many\"").unwrap_err();
        assert!(e.contains("starter_points") || e.contains("line 1"), "{e}");
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let mut c =
            FileConfig::parse("listen = \"127.0.0.1:1\"\ndata_dir = \"from-file\"").unwrap();
        let env = |k: &str| match k {
            "GENMUX_LISTEN" => Some("127.0.0.1:2".to_string()),
            "GENMUX_DATA_DIR" => Some(" ".to_string()),
            "DATABASE_URL" => Some("postgres://x".to_string()),
            _ => None,
        };
        c.overlay_env(&env);
        assert_eq!(c.listen.as_deref(), Some("127.0.0.1:2"));
        // An empty variable counts as unset.
        assert_eq!(c.data_dir, Some(PathBuf::from("from-file")));
        assert_eq!(c.database_url.as_deref(), Some("postgres://x"));
    }

    #[test]
    fn provider_sections_become_setting_sources() {
        let c = FileConfig::parse(
            "[providers.acme]\nbase_url = \"https://a.example\"\ntimeout_secs = 30\nverbose = true\n",
        )
        .unwrap();
        let s = c.setting_sources().unwrap();
        let acme = &s.file["acme"];
        assert_eq!(acme["base_url"], "https://a.example");
        assert_eq!(acme["timeout_secs"], "30");
        assert_eq!(acme["verbose"], "true");
        let c = FileConfig::parse("[providers.acme]\nkeys = [\"a\"]\n").unwrap();
        let e = c.setting_sources().unwrap_err().to_string();
        assert!(
            e.contains("[providers.acme] keys: a value of type array is not allowed"),
            "{e}"
        );
    }
}
