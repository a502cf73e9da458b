//! The registry: inventory registrations plus explicit ones; duplicates and unknown ids.

mod support;

use genmux_core::{
    inventory, Catalog, ErrorKind, Provider, ProviderRegistration, ProviderSettings, Result,
};
use genmux_router::{Registry, Router};
use support::*;

fn build_listed(settings: &ProviderSettings, _: &Catalog) -> Result<Option<Provider>> {
    // Like a real provider crate: no credentials, no provider.
    Ok(settings
        .get("LISTED_API_KEY")
        .map(|_| MemProvider::serving("listed", 0.01).provider()))
}

inventory::submit!(ProviderRegistration {
    id: "listed",
    description: "an in-memory provider registered with inventory",
    settings: &[
        genmux_core::SettingSpec::new("LISTED_API_KEY", "api_key", "API key")
            .secret()
            .required()
    ],
    build: build_listed,
});

#[test]
fn inventory_registrations_are_linked_and_built_with_credentials() {
    assert!(
        Registry::linked().contains(&("listed", "an in-memory provider registered with inventory"))
    );
    let without = Registry::from_inventory(&ProviderSettings::new(), Catalog::builtin()).unwrap();
    assert!(without.get("listed").is_none());
    let with = Registry::from_inventory(
        &ProviderSettings::new().set("LISTED_API_KEY", "k"),
        Catalog::builtin(),
    )
    .unwrap();
    assert_eq!(with.ids().collect::<Vec<_>>(), ["listed"]);
}

#[tokio::test]
async fn discovered_and_explicit_providers_route_together() {
    let explicit = MemProvider::serving("explicit", 0.50);
    let router = Router::builder()
        .discover(ProviderSettings::new().set("LISTED_API_KEY", "k"))
        .provider(explicit.provider())
        .build()
        .unwrap();
    assert_eq!(
        router.provider_ids().collect::<Vec<_>>(),
        ["listed", "explicit"]
    );
    // The discovered provider is cheaper.
    let r = router.submit(&quote(), &no_callback).await.unwrap();
    assert_eq!(r.provider, "listed");
    assert!(router.provider("explicit").is_some());
}

#[test]
fn a_duplicate_id_is_an_error() {
    let mut reg = Registry::new();
    reg.register(MemProvider::serving("a", 0.1).provider())
        .unwrap();
    let err = reg
        .register(MemProvider::serving("a", 0.2).provider())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.message().contains("`a` is already registered"), "{err}");

    let err = Router::builder()
        .provider(MemProvider::serving("b", 0.1).provider())
        .provider(MemProvider::serving("b", 0.2).provider())
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);

    // An explicit provider clashing with a discovered one.
    let err = Router::builder()
        .discover(ProviderSettings::new().set("LISTED_API_KEY", "k"))
        .provider(MemProvider::serving("listed", 0.2).provider())
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
}

#[test]
fn an_unknown_id_lists_the_available_ones() {
    let mut reg = Registry::new();
    reg.register(MemProvider::serving("kling", 0.1).provider())
        .unwrap();
    reg.register(MemProvider::serving("midsync", 0.1).provider())
        .unwrap();
    let err = reg.require("runway").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("available: kling, midsync"), "{err}");
}

#[test]
fn out_of_range_settings_are_refused_naming_the_field() {
    let err = Router::builder()
        .retry(genmux_router::RetryConfig {
            max_attempts: 0,
            ..Default::default()
        })
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidRequest);
    assert!(err.message().contains("max_attempts: 0"), "{err}");
}
