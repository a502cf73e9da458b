//! Issue 14 point 4: real price decisions. An offering's cost is what its provider charges
//! this account (Kling units × USD per unit, midsync points × USD per point); the router
//! tries the cheaper one first; ties go to the configured order, never registration order;
//! operators see the routing preview beside a quote.

mod common;

use common::*;
use genmux_core::{Catalog, Provider};
use genmux_kling::{KlingConfig, KlingProvider};
use genmux_midsync::{MidsyncConfig, MidsyncProvider};
use genmux_sim::kling::KlingSim;
use genmux_store::Scope;
use serde_json::{json, Value};

/// Kling over its simulator at `usd_per_unit`, and a unified upstream (never reached by a
/// quote) at `usd_per_point`.
async fn two_providers(usd_per_unit: f64, usd_per_point: f64) -> (KlingSim, Vec<Provider>) {
    let sim = KlingSim::start(sim_config())
        .await
        .expect("Kling simulator");
    let mut kc = KlingConfig::new(sim.access_key(), sim.secret_key()).with_base_url(sim.base_url());
    kc.usd_per_unit = usd_per_unit;
    let kling = KlingProvider::new(kc, Catalog::builtin())
        .unwrap()
        .into_provider()
        .unwrap();
    let mut mc = MidsyncConfig::new("http://127.0.0.1:9", "unused");
    mc.usd_per_point = usd_per_point;
    let midsync = MidsyncProvider::new(mc, Catalog::builtin())
        .unwrap()
        .into_provider();
    // Registered midsync first: the order of registration must not decide anything.
    (sim, vec![midsync, kling])
}

fn candidates(quote: &Value) -> Vec<(String, f64, f64)> {
    quote["routing"]["candidates"]
        .as_array()
        .unwrap_or_else(|| panic!("no routing preview: {quote}"))
        .iter()
        .map(|c| {
            (
                c["provider"].as_str().unwrap().to_string(),
                c["upstreamCostUsd"].as_f64().unwrap(),
                c["marginUsd"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cheaper_provider_is_tried_first_and_operators_see_why() {
    // kling-2.5-turbo 5 s std: 1.5 Kling units; the catalog sells it for 11 points.
    for (usd_per_unit, usd_per_point, first) in [
        // Kling's pack is cheap: 1.5 u × $0.10 = $0.15 < 11 points × $0.02 = $0.22.
        (0.10, 0.02, "kling"),
        // The upstream's points are cheap: 11 × $0.01 = $0.11 < 1.5 × $0.14 = $0.21.
        (0.14, 0.01, "midsync"),
    ] {
        let (sim, providers) = two_providers(usd_per_unit, usd_per_point).await;
        let gw = gateway(Db::sqlite(), providers, |_| {}).await;
        let operator = new_key(
            &gw.store,
            &gw.account,
            &[Scope::Operator, Scope::ApiGenerate, Scope::ApiRead],
        )
        .await;
        let q = gw
            .post("/unified-video/quote", &operator, &kling_body(), None)
            .await;
        assert_eq!(q.status, 200, "{}", q.body);
        let points = q.body["pointsCharged"].as_i64().unwrap();
        let price_usd = q.body["routing"]["priceUsd"].as_f64().unwrap();
        assert!(
            (price_usd - points as f64 / 50.0).abs() < 1e-9,
            "{}",
            q.body
        );
        let c = candidates(&q.body);
        assert_eq!(c.len(), 2, "{}", q.body);
        assert_eq!(c[0].0, first, "{}", q.body);
        assert!(c[0].1 < c[1].1, "cheaper first: {c:?}");
        for (_, cost, margin) in &c {
            assert!((price_usd - cost - margin).abs() < 1e-6, "{c:?}");
        }
        // Tenants get the price, not the routing.
        let tenant = gw
            .post("/unified-video/quote", &gw.key, &kling_body(), None)
            .await;
        assert_eq!(tenant.status, 200, "{}", tenant.body);
        assert!(tenant.body.get("routing").is_none(), "{}", tenant.body);
        // And a generate goes where the preview said first.
        if first == "kling" {
            let r = gw
                .post("/unified-video/generate", &gw.key, &kling_body(), None)
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            let task = gw
                .store
                .tasks
                .get(r.body["taskId"].as_str().unwrap())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(task.provider, "kling");
            assert_eq!(sim.state().tasks().len(), 1);
            // Settled: the usage row records what Kling billed (its final_unit_deduction ×
            // this account's $0.10 per unit) and the margin — for operators only.
            sim.advance(std::time::Duration::from_secs(600)).await;
            genmux_midsync::engine::poller::poll_due(&gw.state)
                .await
                .unwrap();
            let ops = gw.get("/v1/usage/logs", &operator).await;
            assert_eq!(ops.status, 200, "{}", ops.body);
            let row = &ops.body["logs"][0];
            let cost = row["upstreamCostUsd"]
                .as_f64()
                .unwrap_or_else(|| panic!("{row}"));
            assert!((cost - 1.5 * 0.10).abs() < 1e-9, "{row}");
            let margin = row["marginUsd"].as_f64().unwrap();
            assert!(
                (margin - (points as f64 / 50.0 - cost)).abs() < 1e-6,
                "{row}"
            );
            let mine = gw.get("/v1/usage/logs", &gw.key).await;
            let row = &mine.body["logs"][0];
            assert!(
                row.get("upstreamCostUsd").is_none() && row.get("marginUsd").is_none(),
                "{row}"
            );
            assert!(row["usage"].get("final_unit_deduction").is_none(), "{row}");
        }
        sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn equal_costs_follow_the_configured_order_not_registration() {
    // At the defaults both cost the same: 1.5 u × $0.14 = the catalog rate (7 points a unit) × $0.02.
    let (sim, providers) = two_providers(0.14, 0.02).await;
    let gw = gateway(Db::sqlite(), providers, |_| {}).await;
    let operator = new_key(
        &gw.store,
        &gw.account,
        &[Scope::Operator, Scope::ApiGenerate, Scope::ApiRead],
    )
    .await;
    let body = json!({"model": "kling-2.5-turbo", "prompt": "A fox", "duration": 5});
    let q = gw
        .post("/unified-video/quote", &operator, &body, None)
        .await;
    let c = candidates(&q.body);
    assert!((c[0].1 - c[1].1).abs() < 1e-6, "a tie: {c:?}");
    // No order configured: the provider id decides (kling < midsync), although midsync was
    // registered first.
    assert_eq!(c[0].0, "kling", "{c:?}");
    sim.shutdown().await;

    // With an order, the order decides.
    let (sim, providers) = two_providers(0.14, 0.02).await;
    let router = {
        let mut b = genmux_router::Router::builder()
            .picker(genmux_router::PriceThenOrder::new(["midsync", "kling"]));
        for p in providers {
            b = b.provider(p);
        }
        b.build().unwrap()
    };
    let quote = Catalog::builtin()
        .quote(&serde_json::from_value(body).unwrap())
        .unwrap();
    let preview = router.route_preview(&quote);
    assert_eq!(preview[0].provider, "midsync", "{preview:?}");
    assert_eq!(preview[1].provider, "kling", "{preview:?}");
    sim.shutdown().await;
}
