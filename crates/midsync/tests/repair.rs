//! The repair sweep (R4): a hold whose request died before it recorded its task is voided
//! once older than the unknown grace; holds of recorded tasks are left to settlement.

mod common;

use common::*;
use genmux_midsync::engine::repair::repair_pass;
use genmux_store::HoldState;
use std::time::Duration;

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::Db::sqlite()).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::Db::postgres().await).await
            }
        }
    )*};
}

on_both_backends!(orphan_holds_are_voided_once);

async fn orphan_holds_are_voided_once(db: Db) {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(db, vec![kling], |c| {
        c.poll.unknown_grace = Duration::ZERO;
        c.poll.first_delay = Duration::from_secs(3600);
    })
    .await;
    // A recorded task keeps its hold; an orphan hold (no task row) is refunded.
    let created = gw
        .post("/unified-video/generate", &gw.key, &kling_body(), None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    gw.store
        .ledger
        .hold(&gw.account, "task_orphan", 7)
        .await
        .unwrap();
    let before = gw.balance().await;
    assert_eq!(repair_pass(&gw.state).await.unwrap(), 1);
    assert_eq!(
        gw.balance().await,
        before + 7,
        "the orphan hold is refunded"
    );
    let orphan = gw
        .store
        .ledger
        .get_hold("task_orphan")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(orphan.state, HoldState::Voided);
    let kept = gw.store.ledger.get_hold(&task_id).await.unwrap().unwrap();
    assert_eq!(
        kept.state,
        HoldState::Held,
        "a recorded task's hold is not touched"
    );
    assert_eq!(repair_pass(&gw.state).await.unwrap(), 0, "voided once");
    sim.shutdown().await;
}
