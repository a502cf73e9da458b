//! The provider is found through inventory and routes a request end to end, against the
//! Echo simulator (`tests/common`).

mod common;

use genmux_core::{GenerationRequest, ProviderSettings, TaskStatus};
use genmux_router::{Router, WaitOptions};

#[tokio::test]
async fn found_by_discovery_and_serves_a_request() {
    genmux_example_custom_provider::link();
    let sim = common::EchoSim::start().await;
    let router = Router::builder()
        .discover(
            ProviderSettings::new()
                .set(genmux_example_custom_provider::TOKEN_SETTING, common::TOKEN)
                .set(
                    genmux_example_custom_provider::BASE_URL_SETTING,
                    sim.base_url(),
                ),
        )
        .build()
        .unwrap();
    assert!(router.provider("echo").is_some());
    let handle = router
        .generate(GenerationRequest {
            model: "kling-2.5-turbo".into(),
            prompt: Some("a paper boat on a puddle".into()),
            duration: Some(5),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(handle.task.provider, "echo");
    assert_eq!(handle.task.provider_model, "echo-video-1");
    // The simulated render takes 11 s of its clock.
    sim.advance(std::time::Duration::from_secs(12));
    let options = WaitOptions {
        initial_interval: std::time::Duration::from_millis(1),
        max_interval: std::time::Duration::from_millis(2),
        ..Default::default()
    };
    let done = router.wait(&handle, options).await.unwrap();
    assert_eq!(done.status, TaskStatus::Succeeded);
    assert!(
        done.assets[0]
            .url
            .starts_with(&format!("{}/media/", sim.base_url())),
        "{:?}",
        done.assets
    );
    assert_eq!(done.usage, Some(serde_json::json!({"credits_charged": 10})));
}

#[tokio::test]
async fn without_its_setting_it_is_not_built_and_its_limits_are_enforced() {
    let router = Router::builder()
        .discover(ProviderSettings::new())
        .build()
        .unwrap();
    assert!(router.provider("echo").is_none());

    let router = Router::builder()
        .discover(ProviderSettings::new().set(genmux_example_custom_provider::TOKEN_SETTING, "t"))
        .build()
        .unwrap();
    // The offering only does 5 s clips: a 10 s request is refused before any call.
    let err = router
        .generate(GenerationRequest {
            model: "kling-2.5-turbo".into(),
            prompt: Some("a paper boat on a puddle".into()),
            duration: Some(10),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), genmux_core::ErrorKind::Unsupported);
    assert!(
        err.message().contains("echo/echo-video-1: duration: 10"),
        "{err}"
    );
}

/// The declared settings are what an application resolves: the token from the environment
/// (or a file) configures the provider; none leaves it unconfigured; a flag cannot carry it.
#[test]
fn its_declared_settings_resolve_from_the_environment_and_never_from_a_flag() {
    use genmux_core::settings::{ProviderState, SettingSources};
    genmux_example_custom_provider::link();
    let reg = genmux_core::registrations()
        .find(|r| r.id == "echo")
        .expect("registered");
    let sources = SettingSources::default();
    let unset = sources.resolve(reg, &|_| None).unwrap();
    assert_eq!(unset.state(), ProviderState::NotConfigured);
    assert_eq!(unset.missing()[0].env, "ECHO_TOKEN");
    let set = sources
        .resolve(reg, &|k| (k == "ECHO_TOKEN").then(|| "t".to_string()))
        .unwrap();
    let settings = set.check().unwrap().expect("configured");
    assert!((reg.build)(&settings, genmux_core::Catalog::builtin())
        .unwrap()
        .is_some());
    let mut flags = SettingSources::default();
    flags.add_flag("echo.token=t").unwrap();
    let e = flags.resolve(reg, &|_| None).unwrap_err();
    assert!(e.message().contains("never taken from a flag"), "{e}");
}
