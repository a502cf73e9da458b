//! Settings a provider crate declares (issue 14 point 2): each [`SettingSpec`] names the
//! environment variable, the key in the `[providers.<id>]` section of a config file, whether
//! the value is a secret, its default, whether the provider needs it to count as
//! configured, and how its value is checked.
//!
//! An application never lists a provider's settings itself: it hands its inputs (config
//! file sections, `--provider-setting` flags, the environment) to [`SettingSources`], which
//! resolves every linked [`ProviderRegistration`] the same way:
//!
//! - precedence, highest first: a flag, the environment (`NAME`, or for a secret
//!   `NAME_FILE` naming a file that holds it), the config file (`key`, or for a secret
//!   `key_file`), the declared default;
//! - a secret is never taken from a flag (flags show in `ps`);
//! - `NAME` and `NAME_FILE` (or `key` and `key_file`) both set is an error, as is a key the
//!   provider does not declare or a section for a provider that is not linked;
//! - a value that fails its [`SettingKind`] check is an error naming the setting, where it
//!   came from and what is allowed (a secret's value is never repeated).
//!
//! ```
//! use genmux_core::settings::{SettingKind, SettingSpec};
//! const SETTINGS: &[SettingSpec] = &[
//!     SettingSpec::new("ACME_API_KEY", "api_key", "API key of the Acme account").secret().required(),
//!     SettingSpec::new("ACME_BASE_URL", "base_url", "Acme API base URL")
//!         .kind(SettingKind::Url)
//!         .default_value("https://api.acme.example"),
//! ];
//! # assert!(SETTINGS[0].secret && SETTINGS[0].required);
//! ```

use crate::error::{Error, Result};
use crate::provider::{ProviderRegistration, ProviderSettings};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How a setting's value is checked.
#[derive(Clone, Copy, Debug)]
pub enum SettingKind {
    /// Any non-empty text.
    Text,
    /// An `http` or `https` URL with a host.
    Url,
    /// A whole number ≥ 1 (counts, seconds).
    PositiveInteger,
    /// A decimal number ≥ 0 (prices, rates).
    NonNegativeNumber,
    /// A Standard Webhooks secret, `whsec_<Base64>`.
    WebhookSecret,
    /// Checked by the provider crate: `Err` says what is allowed (without repeating the
    /// value, which may be a secret).
    Custom(fn(&str) -> std::result::Result<(), String>),
}

impl SettingKind {
    /// Checks `value`; the error says what is allowed.
    pub fn check(&self, value: &str) -> std::result::Result<(), String> {
        let v = value.trim();
        match self {
            SettingKind::Text => Ok(()),
            SettingKind::Url => match url::Url::parse(v) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
                _ => {
                    Err("allowed: an http(s) URL with a host, e.g. https://api.example.com".into())
                }
            },
            SettingKind::PositiveInteger => match v.parse::<u64>() {
                Ok(n) if n >= 1 => Ok(()),
                _ => Err("allowed: a whole number ≥ 1".into()),
            },
            SettingKind::NonNegativeNumber => match v.parse::<f64>() {
                Ok(x) if x.is_finite() && x >= 0.0 => Ok(()),
                _ => Err("allowed: a number ≥ 0".into()),
            },
            SettingKind::WebhookSecret => crate::webhook::WebhookSecret::parse(v)
                .map(|_| ())
                .map_err(|_| "allowed: a Standard Webhooks secret, whsec_<Base64>".into()),
            SettingKind::Custom(check) => check(v),
        }
    }
}

/// One setting a provider crate declares.
#[derive(Clone, Copy, Debug)]
pub struct SettingSpec {
    /// The environment variable, and the name the provider's `build` reads from
    /// [`ProviderSettings`] (`KLING_ACCESS_KEY`).
    pub env: &'static str,
    /// The key in the config file's `[providers.<id>]` section (`access_key`).
    pub key: &'static str,
    /// One line for `genmux providers` and docs.
    pub help: &'static str,
    /// Never printed, never taken from a flag; may come from a file (`NAME_FILE`,
    /// `key_file`).
    pub secret: bool,
    /// The provider counts as configured only when every required setting is set (of one
    /// [`SettingSpec::alternative`], where the provider declares several).
    pub required: bool,
    /// For a provider that takes one of several sets of credentials (Kling: AccessKey +
    /// SecretKey, or a static API key): the name of the set this required setting belongs
    /// to. The provider is configured when every required setting of one set is set;
    /// `None` is the one default set. Whether two complete sets may be given together is
    /// the provider's `build` to say.
    pub alternative: Option<&'static str>,
    /// The value when nothing sets it.
    pub default: Option<&'static str>,
    /// How the value is checked.
    pub kind: SettingKind,
}

impl SettingSpec {
    /// An optional, non-secret text setting without a default.
    pub const fn new(env: &'static str, key: &'static str, help: &'static str) -> Self {
        SettingSpec {
            env,
            key,
            help,
            secret: false,
            required: false,
            alternative: None,
            default: None,
            kind: SettingKind::Text,
        }
    }

    /// Marks the setting required as part of the alternative set of credentials `set`
    /// (see [`SettingSpec::alternative`]).
    pub const fn required_in(mut self, set: &'static str) -> Self {
        self.required = true;
        self.alternative = Some(set);
        self
    }

    /// Marks the setting secret.
    pub const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    /// Marks the setting required for the provider to count as configured.
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Sets the default value.
    pub const fn default_value(mut self, value: &'static str) -> Self {
        self.default = Some(value);
        self
    }

    /// Sets how the value is checked.
    pub const fn kind(mut self, kind: SettingKind) -> Self {
        self.kind = kind;
        self
    }

    /// The environment variable naming a file that holds this (secret) setting.
    pub fn env_file(&self) -> String {
        format!("{}_FILE", self.env)
    }

    /// The config key naming a file that holds this (secret) setting.
    pub fn key_file(&self) -> String {
        format!("{}_file", self.key)
    }
}

/// Where a setting's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettingSource {
    /// `--provider-setting <id>.<key>=…`.
    Flag,
    /// The environment variable `NAME`.
    Env,
    /// The file named by the environment variable `NAME_FILE`.
    EnvFile(PathBuf),
    /// `key` in the config file's `[providers.<id>]`.
    ConfigFile,
    /// The file named by `key_file` in the config file's `[providers.<id>]`.
    ConfigFileRef(PathBuf),
    /// The declared default.
    Default,
    /// A simulator the sandbox started.
    Sandbox,
}

impl SettingSource {
    /// Where the value came from, for messages: `environment KLING_ACCESS_KEY`, `file
    /// /run/secrets/sk (KLING_SECRET_KEY_FILE)`, …
    pub fn describe(&self, provider: &str, spec: &SettingSpec) -> String {
        match self {
            SettingSource::Flag => format!("flag --provider-setting {provider}.{}", spec.key),
            SettingSource::Env => format!("environment {}", spec.env),
            SettingSource::EnvFile(p) => format!("file {} ({})", p.display(), spec.env_file()),
            SettingSource::ConfigFile => format!("config [providers.{provider}] {}", spec.key),
            SettingSource::ConfigFileRef(p) => format!(
                "file {} ([providers.{provider}] {})",
                p.display(),
                spec.key_file()
            ),
            SettingSource::Default => "default".into(),
            SettingSource::Sandbox => "sandbox simulator".into(),
        }
    }
}

/// One setting after resolution.
#[derive(Clone, Debug)]
pub struct ResolvedSetting {
    /// The declaration.
    pub spec: &'static SettingSpec,
    /// The value (a default included); `None` when unset.
    pub value: Option<String>,
    /// Where the value came from; `None` when unset.
    pub source: Option<SettingSource>,
}

impl ResolvedSetting {
    /// Whether something other than the default set it.
    pub fn is_set(&self) -> bool {
        matches!(&self.source, Some(s) if *s != SettingSource::Default)
    }

    /// The value as it may be shown: a secret is only `set`.
    pub fn shown_value(&self) -> Option<String> {
        match &self.value {
            Some(_) if self.spec.secret => Some("set".into()),
            other => other.clone(),
        }
    }
}

/// Whether a provider's settings let it run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderState {
    /// Every required setting is set.
    Configured,
    /// Some required settings are set and others are not: a mistake, refused by `serve`.
    Incomplete,
    /// No required setting is set.
    NotConfigured,
}

/// A provider's settings after resolution.
#[derive(Clone, Debug)]
pub struct ResolvedProvider {
    /// The provider's registration.
    pub registration: &'static ProviderRegistration,
    /// One entry per declared setting, in declaration order.
    pub settings: Vec<ResolvedSetting>,
}

impl ResolvedProvider {
    /// The provider id.
    pub fn id(&self) -> &'static str {
        self.registration.id
    }

    /// Whether the provider can run.
    pub fn state(&self) -> ProviderState {
        let required: Vec<&ResolvedSetting> =
            self.settings.iter().filter(|s| s.spec.required).collect();
        let complete = |set: Option<&str>| {
            required
                .iter()
                .filter(|s| s.spec.alternative == set)
                .all(|s| s.value.is_some())
        };
        // A provider that requires nothing is configured by its defaults; one with
        // alternative sets, by any complete one.
        if required.is_empty() || required.iter().any(|s| complete(s.spec.alternative)) {
            ProviderState::Configured
        } else if required.iter().any(|s| s.value.is_some()) {
            ProviderState::Incomplete
        } else {
            ProviderState::NotConfigured
        }
    }

    /// The required settings that are not set: of the sets begun (some of their settings
    /// set) when any is, else of every set.
    pub fn missing(&self) -> Vec<&'static SettingSpec> {
        let begun: Vec<Option<&str>> = self
            .settings
            .iter()
            .filter(|s| s.spec.required && s.value.is_some())
            .map(|s| s.spec.alternative)
            .collect();
        self.settings
            .iter()
            .filter(|s| s.spec.required && s.value.is_none())
            .filter(|s| begun.is_empty() || begun.contains(&s.spec.alternative))
            .map(|s| s.spec)
            .collect()
    }

    /// [`ResolvedProvider::missing`] in words: `A + B`, alternatives as `A + B, or C`.
    pub fn missing_text(&self) -> String {
        alternatives_text(self.missing())
    }

    /// The settings set by something other than a default.
    pub fn explicitly_set(&self) -> impl Iterator<Item = &ResolvedSetting> {
        self.settings.iter().filter(|s| s.is_set())
    }

    /// The credentials set by something other than a default: the explicitly set
    /// settings that are secret or required (an API key, a base URL the provider cannot do
    /// without). An optional setting such as a base URL with a default is not one.
    pub fn credentials_set(&self) -> impl Iterator<Item = &ResolvedSetting> {
        self.explicitly_set()
            .filter(|s| s.spec.secret || s.spec.required)
    }

    /// Every value (defaults included) by environment name, for the provider's `build`.
    pub fn provider_settings(&self) -> ProviderSettings {
        self.settings
            .iter()
            .filter_map(|s| s.value.as_ref().map(|v| (s.spec.env, v)))
            .fold(ProviderSettings::new(), |acc, (k, v)| acc.set(k, v.clone()))
    }

    /// The settings to build the provider from: `Some` when configured, `None` when not
    /// configured at all, an error naming the missing and the set settings when
    /// incomplete.
    pub fn check(&self) -> Result<Option<ProviderSettings>> {
        match self.state() {
            ProviderState::Configured => Ok(Some(self.provider_settings())),
            ProviderState::NotConfigured => Ok(None),
            ProviderState::Incomplete => {
                let missing: Vec<String> = self
                    .missing()
                    .iter()
                    .map(|s| format!("{} ([providers.{}] {})", s.env, self.id(), s.key))
                    .collect();
                let set: Vec<String> = self
                    .settings
                    .iter()
                    .filter(|s| s.spec.required && s.value.is_some())
                    .map(|s| {
                        let from = s
                            .source
                            .as_ref()
                            .map(|src| src.describe(self.id(), s.spec))
                            .unwrap_or_default();
                        format!("{} (from {from})", s.spec.env)
                    })
                    .collect();
                Err(Error::invalid(format!(
                    "provider {}: {} not set, but {} {} set; set the missing settings or unset the others",
                    self.id(),
                    missing.join(", "),
                    set.join(", "),
                    if set.len() == 1 { "is" } else { "are" },
                ))
                .with_provider(self.id()))
            }
        }
    }

    /// The provider as a simulator configures it: `values` (environment name → value)
    /// with source [`SettingSource::Sandbox`], the declared defaults for the rest. A name
    /// the provider does not declare is an error (the simulator and the provider crate
    /// disagree).
    pub fn sandboxed(
        registration: &'static ProviderRegistration,
        values: &[(&str, String)],
    ) -> Result<ResolvedProvider> {
        for (name, _) in values {
            if !registration.settings.iter().any(|s| s.env == *name) {
                return Err(Error::internal(format!(
                    "sandbox: the simulator of provider {} sets {name}, which the provider does not declare (declared: {})",
                    registration.id,
                    names(registration.settings.iter().map(|s| s.env))
                )));
            }
        }
        let mut settings = Vec::with_capacity(registration.settings.len());
        for spec in registration.settings {
            let (value, source) = match values.iter().find(|(n, _)| *n == spec.env) {
                Some((_, v)) => {
                    spec.kind.check(v).map_err(|allowed| {
                        Error::internal(format!(
                            "sandbox: {} from the simulator is not valid ({allowed})",
                            spec.env
                        ))
                    })?;
                    (Some(v.clone()), Some(SettingSource::Sandbox))
                }
                None => match spec.default {
                    Some(d) => (Some(d.to_string()), Some(SettingSource::Default)),
                    None => (None, None),
                },
            };
            settings.push(ResolvedSetting {
                spec,
                value,
                source,
            });
        }
        Ok(ResolvedProvider {
            registration,
            settings,
        })
    }
}

fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = it.collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// Required settings in words, grouped by [`SettingSpec::alternative`] in declaration
/// order: `KLING_ACCESS_KEY + KLING_SECRET_KEY, or KLING_API_KEY`.
pub fn alternatives_text<'a>(specs: impl IntoIterator<Item = &'a SettingSpec>) -> String {
    let mut groups: Vec<(Option<&str>, Vec<&str>)> = Vec::new();
    for s in specs {
        match groups.iter_mut().find(|(set, _)| *set == s.alternative) {
            Some((_, names)) => names.push(s.env),
            None => groups.push((s.alternative, vec![s.env])),
        }
    }
    groups
        .iter()
        .map(|(_, names)| names.join(" + "))
        .collect::<Vec<_>>()
        .join(", or ")
}

/// Checks a registration's declarations: environment names upper-case and unique, keys
/// lower-case and unique (and not ending in `_file`, which names a secret's file), a
/// required setting without a default, defaults that pass their own check.
pub fn check_declaration(registration: &ProviderRegistration) -> Result<()> {
    let bad = |msg: String| {
        Err(Error::internal(format!(
            "provider registration {}: {msg}",
            registration.id
        )))
    };
    let id_ok = !registration.id.is_empty()
        && registration
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !id_ok {
        return bad("the id must be lower-case letters, digits, `-` and `_`".into());
    }
    let specs = registration.settings;
    for (i, s) in specs.iter().enumerate() {
        let env_ok = !s.env.is_empty()
            && s.env
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !env_ok {
            return bad(format!(
                "setting {:?}: the environment name must be upper-case letters, digits and `_`",
                s.env
            ));
        }
        let key_ok = !s.key.is_empty()
            && s.key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !key_ok || s.key.ends_with("_file") {
            return bad(format!(
                "setting {}: key {:?} must be lower-case letters, digits and `_`, not ending in `_file`",
                s.env, s.key
            ));
        }
        if specs[..i].iter().any(|o| o.env == s.env || o.key == s.key) {
            return bad(format!("setting {} ({}) is declared twice", s.env, s.key));
        }
        if s.required && s.default.is_some() {
            return bad(format!(
                "setting {} is required and has a default; a default makes it always set",
                s.env
            ));
        }
        if let Some(d) = s.default {
            if let Err(allowed) = s.kind.check(d) {
                return bad(format!(
                    "setting {}: the default fails its check ({allowed})",
                    s.env
                ));
            }
        }
    }
    Ok(())
}

/// The inputs settings are resolved from, besides the environment.
#[derive(Clone, Debug, Default)]
pub struct SettingSources {
    /// The config file's `[providers.<id>]` sections: provider id → key → value as text.
    pub file: BTreeMap<String, BTreeMap<String, String>>,
    /// Where the config file is, for messages (`genmux.toml`).
    pub file_name: Option<PathBuf>,
    /// `--provider-setting <id>.<key>=<value>` flags: provider id → key → value.
    pub flags: BTreeMap<String, BTreeMap<String, String>>,
}

/// Reads a secret from a file: the whole file, surrounding whitespace (the final
/// newline) removed; an empty file is an error.
fn read_secret(path: &Path, named_by: &str) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::invalid(format!("{named_by}: cannot read {}: {e}", path.display())))?;
    let value = text.trim().to_string();
    if value.is_empty() {
        return Err(Error::invalid(format!(
            "{named_by}: {} is empty",
            path.display()
        )));
    }
    Ok(value)
}

impl SettingSources {
    /// Parses `<id>.<key>=<value>` (a `--provider-setting` flag) into [`Self::flags`].
    pub fn add_flag(&mut self, flag: &str) -> Result<()> {
        let usage = || {
            Error::invalid(format!(
                "--provider-setting: `{flag}` is not <provider>.<key>=<value> (e.g. kling.base_url=https://…)"
            ))
        };
        let (name, value) = flag.split_once('=').ok_or_else(usage)?;
        let (id, key) = name.trim().split_once('.').ok_or_else(usage)?;
        if id.is_empty() || key.is_empty() {
            return Err(usage());
        }
        self.flags
            .entry(id.to_string())
            .or_default()
            .insert(key.to_string(), value.to_string());
        Ok(())
    }

    /// Resolves every registration in `registrations`; sections and flags naming a
    /// provider that is not among them are errors.
    pub fn resolve_all(
        &self,
        registrations: impl IntoIterator<Item = &'static ProviderRegistration>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Vec<ResolvedProvider>> {
        let regs: Vec<&'static ProviderRegistration> = registrations.into_iter().collect();
        let ids = || names(regs.iter().map(|r| r.id));
        for id in self.file.keys() {
            if !regs.iter().any(|r| r.id == id) {
                return Err(Error::invalid(format!(
                    "{}[providers.{id}]: no provider `{id}` is linked into this binary (linked: {})",
                    self.file_prefix(),
                    ids()
                )));
            }
        }
        for id in self.flags.keys() {
            if !regs.iter().any(|r| r.id == id) {
                return Err(Error::invalid(format!(
                    "--provider-setting {id}.…: no provider `{id}` is linked into this binary (linked: {})",
                    ids()
                )));
            }
        }
        regs.iter().map(|r| self.resolve(r, env)).collect()
    }

    fn file_prefix(&self) -> String {
        self.file_name
            .as_ref()
            .map(|p| format!("config {}: ", p.display()))
            .unwrap_or_default()
    }

    /// Resolves one registration's settings: flag > environment > config file > default.
    pub fn resolve(
        &self,
        registration: &'static ProviderRegistration,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ResolvedProvider> {
        check_declaration(registration)?;
        let id = registration.id;
        let specs = registration.settings;
        let empty = BTreeMap::new();
        let section = self.file.get(id).unwrap_or(&empty);
        let flags = self.flags.get(id).unwrap_or(&empty);
        let allowed_keys = || {
            let mut keys = Vec::new();
            for s in specs {
                keys.push(s.key.to_string());
                if s.secret {
                    keys.push(s.key_file());
                }
            }
            names(keys.iter().map(String::as_str))
        };
        for key in section.keys() {
            let known = specs
                .iter()
                .any(|s| s.key == key || (s.secret && s.key_file() == *key));
            if !known {
                return Err(Error::invalid(format!(
                    "{}[providers.{id}] {key}: provider {id} has no such setting (allowed: {})",
                    self.file_prefix(),
                    allowed_keys()
                )));
            }
        }
        for key in flags.keys() {
            match specs.iter().find(|s| s.key == key) {
                None => {
                    return Err(Error::invalid(format!(
                        "--provider-setting {id}.{key}: provider {id} has no such setting (allowed: {})",
                        names(specs.iter().filter(|s| !s.secret).map(|s| s.key))
                    )))
                }
                Some(s) if s.secret => {
                    return Err(Error::invalid(format!(
                        "--provider-setting {id}.{key}: {} is a secret and is never taken from a flag (flags show in `ps`); set {} or {} (a file holding it), or {key} / {} in [providers.{id}] of the config file",
                        s.env,
                        s.env,
                        s.env_file(),
                        s.key_file()
                    )))
                }
                Some(_) => {}
            }
        }
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let mut settings = Vec::with_capacity(specs.len());
        for spec in specs {
            let from_env_file = |name: String| -> Result<Option<(String, SettingSource)>> {
                match env(&name) {
                    Some(path) => {
                        let path = PathBuf::from(path.trim());
                        let v = read_secret(&path, &name)?;
                        Ok(Some((v, SettingSource::EnvFile(path))))
                    }
                    None => Ok(None),
                }
            };
            let env_value = env(spec.env).map(|v| (v, SettingSource::Env));
            let env_file = if spec.secret {
                from_env_file(spec.env_file())?
            } else {
                None
            };
            if env_value.is_some() && env_file.is_some() {
                return Err(Error::invalid(format!(
                    "{} and {} are both set; set one of them",
                    spec.env,
                    spec.env_file()
                )));
            }
            let file_value = section
                .get(spec.key)
                .filter(|v| !v.trim().is_empty())
                .map(|v| (v.clone(), SettingSource::ConfigFile));
            let file_ref = match section.get(&spec.key_file()).filter(|_| spec.secret) {
                Some(path) => {
                    let path = PathBuf::from(path.trim());
                    let named_by = format!("[providers.{id}] {}", spec.key_file());
                    Some((
                        read_secret(&path, &named_by)?,
                        SettingSource::ConfigFileRef(path),
                    ))
                }
                None => None,
            };
            if file_value.is_some() && file_ref.is_some() {
                return Err(Error::invalid(format!(
                    "{}[providers.{id}]: {} and {} are both set; set one of them",
                    self.file_prefix(),
                    spec.key,
                    spec.key_file()
                )));
            }
            let flag = flags
                .get(spec.key)
                .filter(|v| !v.trim().is_empty())
                .map(|v| (v.clone(), SettingSource::Flag));
            let default = spec
                .default
                .map(|d| (d.to_string(), SettingSource::Default));
            let chosen = flag
                .or(env_value)
                .or(env_file)
                .or(file_value)
                .or(file_ref)
                .or(default);
            if let Some((value, source)) = &chosen {
                if let Err(allowed) = spec.kind.check(value) {
                    let shown = if spec.secret {
                        "the value".to_string()
                    } else {
                        format!("`{value}`")
                    };
                    return Err(Error::invalid(format!(
                        "{} ([providers.{id}] {}), from {}: {shown} is not allowed ({allowed})",
                        spec.env,
                        spec.key,
                        source.describe(id, spec)
                    ))
                    .with_provider(id));
                }
            }
            let (value, source) = match chosen {
                Some((v, s)) => (Some(v.trim().to_string()), Some(s)),
                None => (None, None),
            };
            settings.push(ResolvedSetting {
                spec,
                value,
                source,
            });
        }
        Ok(ResolvedProvider {
            registration,
            settings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Catalog, Provider};

    fn build_nothing(_: &ProviderSettings, _: &Catalog) -> Result<Option<Provider>> {
        Ok(None)
    }

    fn no_spaces(v: &str) -> std::result::Result<(), String> {
        if v.contains(' ') {
            Err("allowed: text without spaces".into())
        } else {
            Ok(())
        }
    }

    static ACME_SETTINGS: &[SettingSpec] = &[
        SettingSpec::new("ACME_API_KEY", "api_key", "API key")
            .secret()
            .required(),
        SettingSpec::new("ACME_ACCOUNT", "account", "account name")
            .required()
            .kind(SettingKind::Custom(no_spaces)),
        SettingSpec::new("ACME_BASE_URL", "base_url", "base URL")
            .kind(SettingKind::Url)
            .default_value("https://api.acme.example"),
        SettingSpec::new("ACME_TIMEOUT_SECS", "timeout_secs", "timeout")
            .kind(SettingKind::PositiveInteger),
        SettingSpec::new("ACME_WEBHOOK_SECRET", "webhook_secret", "callback secret")
            .secret()
            .kind(SettingKind::WebhookSecret),
    ];

    static ACME: ProviderRegistration = ProviderRegistration {
        id: "acme",
        description: "a test provider",
        settings: ACME_SETTINGS,
        build: build_nothing,
    };

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn section(pairs: &[(&str, &str)]) -> SettingSources {
        let mut s = SettingSources::default();
        s.file.insert(
            "acme".into(),
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        s
    }

    fn value<'a>(
        p: &'a ResolvedProvider,
        env: &str,
    ) -> (Option<&'a str>, Option<&'a SettingSource>) {
        let s = p.settings.iter().find(|s| s.spec.env == env).unwrap();
        (s.value.as_deref(), s.source.as_ref())
    }

    fn temp_file(name: &str, contents: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("genmux-settings-{}-{}", std::process::id(), name));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("value");
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn the_declaration_is_checked() {
        check_declaration(&ACME).unwrap();
        static TWICE: &[SettingSpec] = &[
            SettingSpec::new("A_KEY", "key", ""),
            SettingSpec::new("A_KEY", "other", ""),
        ];
        static REQUIRED_DEFAULT: &[SettingSpec] = &[SettingSpec::new("A_KEY", "key", "")
            .required()
            .default_value("x")];
        static LOWER_ENV: &[SettingSpec] = &[SettingSpec::new("a_key", "key", "")];
        static FILE_KEY: &[SettingSpec] = &[SettingSpec::new("A_KEY", "key_file", "")];
        static BAD_DEFAULT: &[SettingSpec] = &[SettingSpec::new("A_URL", "url", "")
            .kind(SettingKind::Url)
            .default_value("nope")];
        for (settings, says) in [
            (TWICE, "declared twice"),
            (REQUIRED_DEFAULT, "required and has a default"),
            (LOWER_ENV, "upper-case"),
            (FILE_KEY, "not ending in `_file`"),
            (BAD_DEFAULT, "default fails its check"),
        ] {
            let reg: &'static ProviderRegistration = Box::leak(Box::new(ProviderRegistration {
                id: "a",
                description: "",
                settings,
                build: build_nothing,
            }));
            let e = check_declaration(reg).unwrap_err();
            assert!(e.message().contains(says), "{says}: {e}");
            // Resolution refuses a bad declaration too.
            assert!(SettingSources::default()
                .resolve(reg, &env_of(&[]))
                .is_err());
        }
    }

    #[test]
    fn nothing_set_is_not_configured_and_defaults_apply() {
        let p = SettingSources::default()
            .resolve(&ACME, &env_of(&[]))
            .unwrap();
        assert_eq!(p.state(), ProviderState::NotConfigured);
        assert!(p.check().unwrap().is_none());
        assert_eq!(
            value(&p, "ACME_BASE_URL"),
            (
                Some("https://api.acme.example"),
                Some(&SettingSource::Default)
            )
        );
        assert_eq!(p.explicitly_set().count(), 0);
        let missing: Vec<_> = p.missing().iter().map(|s| s.env).collect();
        assert_eq!(missing, ["ACME_API_KEY", "ACME_ACCOUNT"]);
    }

    #[test]
    fn precedence_is_flag_then_environment_then_file_then_default() {
        let mut sources = section(&[("base_url", "https://file.example"), ("account", "f")]);
        let env = env_of(&[("ACME_BASE_URL", "https://env.example")]);
        let p = sources.resolve(&ACME, &env).unwrap();
        assert_eq!(
            value(&p, "ACME_BASE_URL"),
            (Some("https://env.example"), Some(&SettingSource::Env))
        );
        assert_eq!(
            value(&p, "ACME_ACCOUNT"),
            (Some("f"), Some(&SettingSource::ConfigFile))
        );
        sources
            .add_flag("acme.base_url=https://flag.example")
            .unwrap();
        let p = sources.resolve(&ACME, &env).unwrap();
        assert_eq!(
            value(&p, "ACME_BASE_URL"),
            (Some("https://flag.example"), Some(&SettingSource::Flag))
        );
        // An empty environment value counts as unset.
        let p = section(&[("base_url", "https://file.example")])
            .resolve(&ACME, &env_of(&[("ACME_BASE_URL", " ")]))
            .unwrap();
        assert_eq!(
            value(&p, "ACME_BASE_URL"),
            (
                Some("https://file.example"),
                Some(&SettingSource::ConfigFile)
            )
        );
    }

    #[test]
    fn secrets_come_from_the_environment_or_a_file_never_from_a_flag() {
        let path = temp_file("secret", "s3cret\n");
        let env_file = path.display().to_string();
        let p = SettingSources::default()
            .resolve(
                &ACME,
                &env_of(&[("ACME_API_KEY_FILE", &env_file), ("ACME_ACCOUNT", "a")]),
            )
            .unwrap();
        assert_eq!(
            value(&p, "ACME_API_KEY"),
            (Some("s3cret"), Some(&SettingSource::EnvFile(path.clone())))
        );
        assert_eq!(p.state(), ProviderState::Configured);
        let built = p.check().unwrap().unwrap();
        assert_eq!(built.get("ACME_API_KEY"), Some("s3cret"));
        assert_eq!(built.get("ACME_BASE_URL"), Some("https://api.acme.example"));
        let shown = p
            .settings
            .iter()
            .find(|s| s.spec.env == "ACME_API_KEY")
            .unwrap();
        assert_eq!(shown.shown_value().as_deref(), Some("set"));

        // `api_key_file` in the config file.
        let p = section(&[("api_key_file", &env_file), ("account", "a")])
            .resolve(&ACME, &env_of(&[]))
            .unwrap();
        assert_eq!(
            value(&p, "ACME_API_KEY"),
            (
                Some("s3cret"),
                Some(&SettingSource::ConfigFileRef(path.clone()))
            )
        );
        // The environment beats the config file.
        let p = section(&[("api_key_file", &env_file)])
            .resolve(&ACME, &env_of(&[("ACME_API_KEY", "from-env")]))
            .unwrap();
        assert_eq!(value(&p, "ACME_API_KEY").0, Some("from-env"));

        // A flag for a secret is refused, naming the ways to set it.
        let mut flags = SettingSources::default();
        flags.add_flag("acme.api_key=s3cret").unwrap();
        let e = flags.resolve(&ACME, &env_of(&[])).unwrap_err();
        for part in [
            "acme.api_key",
            "never taken from a flag",
            "ACME_API_KEY_FILE",
        ] {
            assert!(e.message().contains(part), "{part}: {e}");
        }
        assert!(!e.message().contains("s3cret"), "{e}");

        // Both NAME and NAME_FILE, or key and key_file: refused.
        let e = SettingSources::default()
            .resolve(
                &ACME,
                &env_of(&[("ACME_API_KEY", "x"), ("ACME_API_KEY_FILE", &env_file)]),
            )
            .unwrap_err();
        assert!(
            e.message()
                .contains("ACME_API_KEY and ACME_API_KEY_FILE are both set"),
            "{e}"
        );
        let e = section(&[("api_key", "x"), ("api_key_file", &env_file)])
            .resolve(&ACME, &env_of(&[]))
            .unwrap_err();
        assert!(
            e.message()
                .contains("api_key and api_key_file are both set"),
            "{e}"
        );

        // A missing or empty file is named.
        let e = SettingSources::default()
            .resolve(
                &ACME,
                &env_of(&[("ACME_API_KEY_FILE", "/nonexistent/genmux/x")]),
            )
            .unwrap_err();
        assert!(
            e.message()
                .contains("ACME_API_KEY_FILE: cannot read /nonexistent/genmux/x"),
            "{e}"
        );
        let empty = temp_file("empty", "\n");
        let e = section(&[("api_key_file", &empty.display().to_string())])
            .resolve(&ACME, &env_of(&[]))
            .unwrap_err();
        assert!(
            e.message().contains("[providers.acme] api_key_file")
                && e.message().contains("is empty"),
            "{e}"
        );
        // `_FILE` and `_file` exist for secrets only.
        let e = section(&[("base_url_file", "/x")])
            .resolve(&ACME, &env_of(&[]))
            .unwrap_err();
        assert!(
            e.message()
                .contains("base_url_file: provider acme has no such setting"),
            "{e}"
        );
    }

    #[test]
    fn a_bad_value_names_the_setting_its_source_and_what_is_allowed() {
        let e = SettingSources::default()
            .resolve(&ACME, &env_of(&[("ACME_BASE_URL", "ftp://x")]))
            .unwrap_err();
        for part in [
            "ACME_BASE_URL ([providers.acme] base_url)",
            "from environment ACME_BASE_URL",
            "`ftp://x`",
            "allowed: an http(s) URL",
        ] {
            assert!(e.message().contains(part), "{part}: {e}");
        }
        let e = section(&[("timeout_secs", "0")])
            .resolve(&ACME, &env_of(&[]))
            .unwrap_err();
        assert!(e.message().contains("from config [providers.acme] timeout_secs: `0` is not allowed (allowed: a whole number ≥ 1)"), "{e}");
        let e = section(&[("account", "two words")])
            .resolve(&ACME, &env_of(&[]))
            .unwrap_err();
        assert!(e.message().contains("allowed: text without spaces"), "{e}");
        // A secret's value is never repeated.
        let e = SettingSources::default()
            .resolve(
                &ACME,
                &env_of(&[("ACME_WEBHOOK_SECRET", "whsec_!!notbase64")]),
            )
            .unwrap_err();
        assert!(
            e.message().contains("ACME_WEBHOOK_SECRET") && e.message().contains("whsec_<Base64>"),
            "{e}"
        );
        assert!(!e.message().contains("notbase64"), "{e}");
    }

    static PAIR_OR_KEY_SETTINGS: &[SettingSpec] = &[
        SettingSpec::new("DUO_ACCESS_KEY", "access_key", "")
            .secret()
            .required_in("key pair"),
        SettingSpec::new("DUO_SECRET_KEY", "secret_key", "")
            .secret()
            .required_in("key pair"),
        SettingSpec::new("DUO_API_KEY", "api_key", "")
            .secret()
            .required_in("api key"),
    ];

    static PAIR_OR_KEY: ProviderRegistration = ProviderRegistration {
        id: "duo",
        description: "a provider taking a key pair or an API key",
        settings: PAIR_OR_KEY_SETTINGS,
        build: build_nothing,
    };

    /// Alternative sets of credentials: any complete set configures the provider; a set
    /// begun and not finished is incomplete and names only its own missing settings.
    #[test]
    fn any_complete_alternative_configures_the_provider() {
        let state = |pairs: &[(&str, &str)]| {
            let p = SettingSources::default()
                .resolve(&PAIR_OR_KEY, &env_of(pairs))
                .unwrap();
            let missing: Vec<&str> = p.missing().iter().map(|s| s.env).collect();
            (p.state(), missing.join(" "))
        };
        assert_eq!(
            state(&[]),
            (
                ProviderState::NotConfigured,
                "DUO_ACCESS_KEY DUO_SECRET_KEY DUO_API_KEY".into()
            )
        );
        assert_eq!(
            state(&[("DUO_API_KEY", "k")]),
            (ProviderState::Configured, String::new())
        );
        assert_eq!(
            state(&[("DUO_ACCESS_KEY", "a"), ("DUO_SECRET_KEY", "s")]),
            (ProviderState::Configured, String::new())
        );
        assert_eq!(
            state(&[("DUO_ACCESS_KEY", "a")]),
            (ProviderState::Incomplete, "DUO_SECRET_KEY".into())
        );
        let none = SettingSources::default()
            .resolve(&PAIR_OR_KEY, &env_of(&[]))
            .unwrap();
        assert_eq!(
            none.missing_text(),
            "DUO_ACCESS_KEY + DUO_SECRET_KEY, or DUO_API_KEY"
        );
    }

    #[test]
    fn an_incomplete_provider_names_what_is_missing_and_what_is_set() {
        let p = SettingSources::default()
            .resolve(&ACME, &env_of(&[("ACME_API_KEY", "k")]))
            .unwrap();
        assert_eq!(p.state(), ProviderState::Incomplete);
        let e = p.check().unwrap_err();
        assert_eq!(
            e.message(),
            "provider acme: ACME_ACCOUNT ([providers.acme] account) not set, but ACME_API_KEY (from environment ACME_API_KEY) is set; set the missing settings or unset the others"
        );
        // A non-required setting alone does not configure the provider, but counts as set.
        let p = SettingSources::default()
            .resolve(&ACME, &env_of(&[("ACME_TIMEOUT_SECS", "5")]))
            .unwrap();
        assert_eq!(p.state(), ProviderState::NotConfigured);
        assert_eq!(p.explicitly_set().count(), 1);
        assert_eq!(p.credentials_set().count(), 0);
        let p = SettingSources::default()
            .resolve(&ACME, &env_of(&[("ACME_WEBHOOK_SECRET", "whsec_QUJD")]))
            .unwrap();
        assert_eq!(p.credentials_set().count(), 1);
    }

    #[test]
    fn unknown_sections_keys_and_flags_are_named() {
        let regs = [&ACME];
        let mut s = SettingSources {
            file_name: Some("genmux.toml".into()),
            ..Default::default()
        };
        s.file.insert("acmee".into(), BTreeMap::new());
        let e = s.resolve_all(regs, &env_of(&[])).unwrap_err();
        assert_eq!(
            e.message(),
            "config genmux.toml: [providers.acmee]: no provider `acmee` is linked into this binary (linked: acme)"
        );
        let e = section(&[("api_kee", "x")])
            .resolve_all(regs, &env_of(&[]))
            .unwrap_err();
        assert!(e.message().contains("[providers.acme] api_kee: provider acme has no such setting (allowed: api_key, api_key_file, account, base_url, timeout_secs, webhook_secret, webhook_secret_file)"), "{e}");
        let mut f = SettingSources::default();
        f.add_flag("other.base_url=x").unwrap();
        let e = f.resolve_all(regs, &env_of(&[])).unwrap_err();
        assert!(e.message().contains("no provider `other`"), "{e}");
        let mut f = SettingSources::default();
        f.add_flag("acme.colour=red").unwrap();
        let e = f.resolve_all(regs, &env_of(&[])).unwrap_err();
        assert!(e.message().contains("acme.colour: provider acme has no such setting (allowed: account, base_url, timeout_secs)"), "{e}");
        for bad in ["nodot=1", "acme.base_url", ".x=1", "acme.=1"] {
            let e = SettingSources::default().add_flag(bad).unwrap_err();
            assert!(e.message().contains(bad), "{e}");
        }
    }

    #[test]
    fn a_sandboxed_provider_takes_the_simulator_values_and_the_defaults() {
        let p = ResolvedProvider::sandboxed(
            &ACME,
            &[("ACME_API_KEY", "k".into()), ("ACME_ACCOUNT", "sim".into())],
        )
        .unwrap();
        assert_eq!(p.state(), ProviderState::Configured);
        assert_eq!(
            value(&p, "ACME_API_KEY"),
            (Some("k"), Some(&SettingSource::Sandbox))
        );
        assert_eq!(value(&p, "ACME_BASE_URL").1, Some(&SettingSource::Default));
        let e = ResolvedProvider::sandboxed(&ACME, &[("ACME_OTHER", "x".into())]).unwrap_err();
        assert!(
            e.message()
                .contains("ACME_OTHER, which the provider does not declare"),
            "{e}"
        );
    }
}
