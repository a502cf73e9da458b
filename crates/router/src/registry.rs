//! The provider registry: providers found through `inventory` registrations plus those
//! registered explicitly (for targets where `inventory` cannot run, and for tests).

use genmux_core::{Catalog, Error, ErrorKind, Provider, ProviderSettings, Result};

/// Providers by id, in registration order.
///
/// ```
/// use genmux_router::Registry;
/// let registry = Registry::new();
/// let err = registry.require("kling").unwrap_err();
/// assert!(err.message().contains("no provider `kling`"), "{err}");
/// ```
#[derive(Clone, Debug, Default)]
pub struct Registry {
    providers: Vec<Provider>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds every provider registered with `inventory` in this binary. A registration
    /// whose builder returns `Ok(None)` (no credentials in `settings`) is skipped; a builder
    /// error, or two registrations with one id, is an error.
    pub fn from_inventory(settings: &ProviderSettings, catalog: &Catalog) -> Result<Self> {
        let mut registry = Registry::new();
        let mut seen: Vec<&'static str> = Vec::new();
        for reg in genmux_core::registrations() {
            if seen.contains(&reg.id) {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "provider registration: id `{}` is registered by two crates",
                        reg.id
                    ),
                ));
            }
            seen.push(reg.id);
            // A malformed settings declaration is the crate's bug; say so before building.
            genmux_core::settings::check_declaration(reg)?;
            if let Some(p) = (reg.build)(settings, catalog)? {
                if p.id() != reg.id {
                    return Err(Error::internal(format!(
                        "provider registration `{}` built a provider with id `{}`",
                        reg.id,
                        p.id()
                    )));
                }
                registry.register(p)?;
            }
        }
        Ok(registry)
    }

    /// The ids and descriptions of every `inventory` registration linked into this binary,
    /// whether or not it has credentials.
    pub fn linked() -> Vec<(&'static str, &'static str)> {
        genmux_core::registrations()
            .map(|r| (r.id, r.description))
            .collect()
    }

    /// Adds a provider; an id already present is a `Conflict`.
    pub fn register(&mut self, provider: Provider) -> Result<()> {
        if self.get(provider.id()).is_some() {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "provider: `{}` is already registered (registered: {})",
                    provider.id(),
                    self.ids().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        self.providers.push(provider);
        Ok(())
    }

    /// A provider by id.
    pub fn get(&self, id: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.id() == id)
    }

    /// A provider by id, or `NotFound` listing the registered ids.
    pub fn require(&self, id: &str) -> Result<&Provider> {
        self.get(id).ok_or_else(|| {
            let ids = self.ids().collect::<Vec<_>>();
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "provider: no provider `{id}` is registered (available: {})",
                    if ids.is_empty() {
                        "none".to_string()
                    } else {
                        ids.join(", ")
                    }
                ),
            )
        })
    }

    /// Every provider id, in registration order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.providers.iter().map(|p| p.id())
    }

    /// Every provider, in registration order.
    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }

    /// How many providers are registered.
    pub fn len(&self) -> usize {
        self.providers.len()
    }

    /// Whether no provider is registered.
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    pub(crate) fn into_providers(self) -> Vec<Provider> {
        self.providers
    }
}
