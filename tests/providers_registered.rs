//! Every provider crate enabled by a feature is registered, and nothing else is.

#[test]
fn exactly_the_enabled_provider_crates_are_registered() {
    genmux::link_providers();
    let mut linked: Vec<&str> = genmux::router::Registry::linked()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    linked.sort_unstable();
    let mut enabled: Vec<&str> = Vec::new();
    if cfg!(feature = "kling") {
        enabled.push("kling");
    }
    if cfg!(feature = "midsync") {
        enabled.push("midsync");
    }
    if cfg!(feature = "minimax") {
        enabled.push("minimax");
    }
    if cfg!(feature = "runway") {
        enabled.push("runway");
    }
    if cfg!(feature = "seedance") {
        enabled.push("seedance");
    }
    if cfg!(feature = "xai") {
        enabled.push("xai");
    }
    enabled.sort_unstable();
    assert_eq!(linked, enabled, "registered providers vs enabled features");
}
