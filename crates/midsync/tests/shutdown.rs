//! Graceful shutdown: the engine runs while serving (a lost callback is settled by the
//! background poller), and after the signal the server stops accepting and returns.

mod common;

use common::*;
use genmux_sim::kling::{Endpoint, Feature};
use genmux_sim::FaultPlan;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_the_engine_and_stops_on_signal() {
    let (sim, kling) = kling_sim(sim_config()).await;
    sim.set_faults(
        Endpoint::Create(Feature::Text2Video),
        FaultPlan {
            lost_callback: 1.0,
            ..FaultPlan::default()
        },
    )
    .unwrap();
    // The harness gateway only provides the store and keys; a second server over the same
    // state is started through `shutdown::serve`, with the engine.
    let gw = gateway(Db::sqlite(), vec![kling], |c| {
        c.poll.tick = Duration::from_millis(20);
        c.delivery.tick = Duration::from_millis(20);
    })
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(genmux_midsync::shutdown::serve(
        listener,
        gw.state.clone(),
        async move {
            let _ = stop_rx.await;
        },
    ));
    let created = gw
        .send(
            gw.http
                .post(format!("{base}/unified-video/generate"))
                .bearer_auth(&gw.key)
                .json(&kling_body()),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    sim.advance(Duration::from_secs(120)).await;
    // The background poller settles the task (its callback was lost); bounded wait.
    let mut status = String::new();
    for _ in 0..500 {
        let s = gw
            .get(&format!("/unified-video/{task_id}/status"), &gw.key)
            .await;
        status = s.body["status"].as_str().unwrap_or("").to_string();
        if status == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, "succeeded");

    stop_tx.send(()).unwrap();
    server.await.unwrap().expect("serve returns cleanly");
    let after = reqwest::Client::new()
        .get(format!("{base}/unified-video/models"))
        .send()
        .await;
    assert!(after.is_err(), "no longer accepting connections");
    sim.shutdown().await;
}
