//! Providers as `serve` and `genmux providers` see them: every linked registration's
//! declared settings resolved from flags, environment and config file (issue 14 point 2),
//! the sandbox decision (issue 13 point 6), and building the configured providers. No
//! provider is named here: what a provider reads is what its crate declares.

use crate::config::FileConfig;
use crate::exit::CliError;
use crate::output::{print_json, table};
use genmux_core::settings::{ProviderState, ResolvedProvider, SettingSources};
use genmux_core::{
    catalog::price_inputs, Catalog, GenerationRequest, MediaKind, Offering, Provider,
};
use serde_json::{json, Value};

fn usage(e: genmux_core::Error) -> CliError {
    CliError::Usage(e.message().to_string())
}

/// Every linked provider with its settings resolved from `cfg`: flags, then the
/// environment captured in `cfg.provider_env`, then `[providers.<id>]`, then defaults.
pub fn resolve(cfg: &FileConfig) -> Result<Vec<ResolvedProvider>, CliError> {
    genmux::link_providers();
    let sources: SettingSources = cfg.setting_sources()?;
    let env = |name: &str| cfg.provider_env.get(name).cloned();
    // By id: `inventory` does not define an order, and the banner, the listing and the
    // router's registration order should not change from build to build.
    let mut registrations: Vec<_> = genmux_core::registrations().collect();
    registrations.sort_by_key(|r| r.id);
    sources.resolve_all(registrations, &env).map_err(usage)
}

/// Whether the simulators run, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SandboxMode {
    /// Real providers only.
    Off,
    /// Asked for with `--sandbox` or `[sandbox] enabled = true`.
    Asked,
    /// Started by itself: no provider setting and no `database_url` is set.
    Auto,
}

/// The settings set by something other than a default (`credentials_only`: only the
/// secret or required ones), as `NAME (from …)`.
fn set_settings(resolved: &[ResolvedProvider], credentials_only: bool) -> Vec<String> {
    resolved
        .iter()
        .flat_map(|p| {
            p.explicitly_set()
                .filter(move |s| !credentials_only || s.spec.secret || s.spec.required)
                .map(move |s| {
                    let from = s
                        .source
                        .as_ref()
                        .map(|src| src.describe(p.id(), s.spec))
                        .unwrap_or_default();
                    format!("{} (from {from})", s.spec.env)
                })
        })
        .collect()
}

/// `acme: ACME_API_KEY + ACME_ACCOUNT; other: …`: what each provider that is not
/// configured needs.
fn missing_per_provider(resolved: &[ResolvedProvider]) -> String {
    let parts: Vec<String> = resolved
        .iter()
        .filter(|p| p.state() != ProviderState::Configured)
        .map(|p| format!("{}: {}", p.id(), p.missing_text()))
        .collect();
    if parts.is_empty() {
        "no provider is linked into this binary".into()
    } else {
        parts.join("; ")
    }
}

/// Decides the sandbox (issue 13 point 6). Provider credentials are the settings a
/// provider declares secret or required (keys, a base URL it cannot do without):
/// - `--sandbox` with any provider credential set is refused, naming them (the sandbox
///   simulates every provider, so it would silently ignore them);
/// - without `--sandbox`/`--no-sandbox` the sandbox starts only when no provider
///   credential and no `database_url` is set.
pub fn decide_sandbox(
    cfg: &FileConfig,
    resolved: &[ResolvedProvider],
) -> Result<SandboxMode, CliError> {
    let set = set_settings(resolved, true);
    match cfg.sandbox.enabled {
        Some(true) if !set.is_empty() => Err(CliError::Usage(format!(
            "--sandbox ([sandbox] enabled): refused because provider credentials are set: {}. \
             The sandbox simulates every provider and would ignore them; unset them to use the sandbox, \
             or drop --sandbox to use the real providers",
            set.join(", ")
        ))),
        Some(true) => Ok(SandboxMode::Asked),
        Some(false) => Ok(SandboxMode::Off),
        None if set.is_empty() && cfg.database_url.is_none() => Ok(SandboxMode::Auto),
        None => Ok(SandboxMode::Off),
    }
}

/// The settings of each configured provider, or the error `serve` exits 2 with: a
/// provider set up halfway, or none configured (naming what each one needs; with a
/// `database_url`, saying that the sandbox does not start by itself then).
pub fn configured(
    cfg: &FileConfig,
    resolved: &[ResolvedProvider],
) -> Result<
    Vec<(
        &'static genmux_core::ProviderRegistration,
        genmux_core::ProviderSettings,
    )>,
    CliError,
> {
    let mut out = Vec::new();
    for p in resolved {
        if let Some(settings) = p.check().map_err(usage)? {
            out.push((p.registration, settings));
        }
    }
    if out.is_empty() {
        let set = set_settings(resolved, false);
        let set_note = if set.is_empty() {
            String::new()
        } else {
            format!(" (set but not enough: {})", set.join(", "))
        };
        let why = if cfg.database_url.is_some() {
            "database_url is set, so the sandbox does not start by itself, and no provider is configured"
        } else {
            "no provider is configured"
        };
        return Err(CliError::Usage(format!(
            "providers: {why}{set_note}; set the settings of at least one provider in the environment \
             (a secret may come from NAME_FILE, a file holding it) or in [providers.<id>] of the config file — {}; \
             `genmux providers` lists every setting. Or pass --sandbox to run the simulators instead",
            missing_per_provider(resolved)
        )));
    }
    Ok(out)
}

/// Builds a provider from its resolved settings; its `build` refusing them exits 2.
pub fn build(
    registration: &'static genmux_core::ProviderRegistration,
    settings: &genmux_core::ProviderSettings,
    catalog: &Catalog,
) -> Result<Provider, CliError> {
    match (registration.build)(settings, catalog) {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(CliError::Other(format!(
            "provider {}: its declared settings are complete but its build made no provider (a bug in the provider crate)",
            registration.id
        ))),
        Err(e) => Err(CliError::Usage(format!(
            "provider {}: {}",
            registration.id,
            e.message()
        ))),
    }
}

/// The upstream cost (USD) and the catalog price (points) of the model's first catalog
/// example, as the offering would serve it.
fn example_cost(catalog: &Catalog, offering: &Offering) -> Option<(Value, f64, i64)> {
    let spec = catalog.model(&offering.model)?;
    let example = spec.priced_examples(catalog).into_iter().next()?;
    let req: GenerationRequest = serde_json::from_value(example["request"].clone()).ok()?;
    let quote = catalog.quote(&req).ok()?;
    let micros = offering
        .cost
        .amount_micros(&price_inputs(&quote.request, quote.operation))
        .ok()?;
    Some((
        example["request"].clone(),
        micros as f64 / 1e6,
        quote.points,
    ))
}

fn offerings_json(provider: &Provider, catalog: &Catalog) -> Vec<Value> {
    provider
        .offerings()
        .into_iter()
        .map(|(kind, o)| {
            let cost = example_cost(catalog, o);
            json!({
                "model": o.model,
                "providerModel": o.provider_model,
                "kind": match kind { MediaKind::Video => "video", MediaKind::Image => "image" },
                "example": cost.as_ref().map(|c| c.0.clone()),
                "upstreamCostUsd": cost.as_ref().map(|c| c.1),
                "pricePoints": cost.as_ref().map(|c| c.2),
            })
        })
        .collect()
}

/// `genmux providers`: what is linked, what is configured (secrets shown only as `set`),
/// each configured provider's offerings with their upstream cost, and what `serve` would
/// do about the sandbox.
pub fn list(cfg: &FileConfig, json_out: bool) -> Result<(), CliError> {
    let resolved = resolve(cfg)?;
    let mut catalog = Catalog::builtin().clone();
    if let Some(path) = &cfg.catalog_override {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::Usage(format!("catalog_override: {}: {e}", path.display())))?;
        catalog = catalog
            .with_override_toml(&text)
            .map_err(|e| CliError::Usage(format!("catalog_override: {e}")))?;
    }
    let mut providers = Vec::new();
    for p in &resolved {
        let state = p.state();
        let offerings = match p.check() {
            Ok(Some(settings)) => {
                offerings_json(&build(p.registration, &settings, &catalog)?, &catalog)
            }
            _ => Vec::new(),
        };
        let settings: Vec<Value> = p
            .settings
            .iter()
            .map(|s| {
                json!({
                    "env": s.spec.env,
                    "key": s.spec.key,
                    "help": s.spec.help,
                    "secret": s.spec.secret,
                    "required": s.spec.required,
                    "default": s.spec.default,
                    "value": s.shown_value(),
                    "source": s.source.as_ref().map(|src| src.describe(p.id(), s.spec)),
                })
            })
            .collect();
        providers.push(json!({
            "id": p.id(),
            "description": p.registration.description,
            "state": match state {
                ProviderState::Configured => "configured",
                ProviderState::Incomplete => "incomplete",
                ProviderState::NotConfigured => "not configured",
            },
            "missing": p.missing().iter().map(|s| s.env).collect::<Vec<_>>(),
            "settings": settings,
            "offerings": offerings,
        }));
    }
    let serve = match decide_sandbox(cfg, &resolved) {
        Ok(SandboxMode::Auto) => json!({"sandbox": "auto", "message":
            "starts the sandbox by itself (no provider credential and no database_url is set): every provider is simulated"}),
        Ok(SandboxMode::Asked) => json!({"sandbox": "asked", "message":
            "runs the sandbox (--sandbox): every provider is simulated"}),
        Ok(SandboxMode::Off) => match configured(cfg, &resolved) {
            Ok(c) => json!({"sandbox": "off", "message": format!(
                "uses the real providers: {}",
                c.iter().map(|(r, _)| r.id).collect::<Vec<_>>().join(", ")
            )}),
            Err(e) => json!({"sandbox": "off", "error": e.to_string()}),
        },
        Err(e) => json!({"sandbox": "refused", "error": e.to_string()}),
    };
    let doc = json!({"providers": providers, "serve": serve});
    if json_out {
        print_json(&doc);
        return Ok(());
    }
    print_text(&doc);
    Ok(())
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn print_text(doc: &Value) {
    let empty = Vec::new();
    let providers = doc["providers"].as_array().unwrap_or(&empty);
    let rows: Vec<Vec<String>> = providers
        .iter()
        .map(|p| {
            let mut state = text(&p["state"]);
            if let Some(m) = p["missing"].as_array().filter(|m| !m.is_empty()) {
                let names: Vec<String> = m.iter().map(text).collect();
                state = format!("{state} (needs {})", names.join(", "));
            }
            vec![text(&p["id"]), state, text(&p["description"])]
        })
        .collect();
    println!("{}", table(&["PROVIDER", "STATE", "DESCRIPTION"], &rows));
    for p in providers {
        println!("\n[providers.{}] settings", text(&p["id"]));
        let rows: Vec<Vec<String>> = p["settings"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .map(|s| {
                let mut flags = Vec::new();
                if s["required"] == true {
                    flags.push("required");
                }
                if s["secret"] == true {
                    flags.push("secret");
                }
                let value = match (&s["value"], &s["source"]) {
                    (Value::Null, _) => "not set".to_string(),
                    (v, src) => format!("{} ({})", text(v), text(src)),
                };
                vec![
                    text(&s["env"]),
                    text(&s["key"]),
                    flags.join(", "),
                    value,
                    text(&s["help"]),
                ]
            })
            .collect();
        println!(
            "{}",
            table(&["ENVIRONMENT", "KEY", "", "VALUE", "WHAT IT IS"], &rows)
        );
        let offerings = p["offerings"].as_array().unwrap_or(&empty);
        if offerings.is_empty() {
            continue;
        }
        println!("\n{} offerings", text(&p["id"]));
        let rows: Vec<Vec<String>> = offerings
            .iter()
            .map(|o| {
                vec![
                    text(&o["model"]),
                    text(&o["providerModel"]),
                    text(&o["kind"]),
                    o["upstreamCostUsd"]
                        .as_f64()
                        .map(|c| format!("${c:.4}"))
                        .unwrap_or_else(|| "—".into()),
                    text(&o["pricePoints"]),
                    text(&o["example"]),
                ]
            })
            .collect();
        println!(
            "{}",
            table(
                &[
                    "MODEL",
                    "PROVIDER MODEL",
                    "KIND",
                    "UPSTREAM COST",
                    "PRICE (POINTS)",
                    "FOR THE CATALOG EXAMPLE"
                ],
                &rows
            )
        );
    }
    let serve = &doc["serve"];
    match serve.get("error") {
        Some(e) => println!("\nserve: would exit 2: {}", text(e)),
        None => println!("\nserve: {}", text(&serve["message"])),
    }
}
