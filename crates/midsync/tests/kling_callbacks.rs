//! Kling callbacks through the gateway (issue 15 point 1): Kling does not sign its
//! callbacks (spec/kling-api.md "Errors, limits, callbacks"), so the gateway treats one as
//! a hint and settles what a status query confirms. The per-task URL token is the only
//! secret.

mod common;

use common::*;
use genmux_sim::kling::{Endpoint, Feature};
use genmux_sim::FaultPlan;
use serde_json::json;
use std::time::Duration;

/// A forged body claiming success for a task Kling is still running settles nothing: no
/// post, no assets, the task stays running; Kling's own callbacks later settle it with
/// Kling's assets.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_forged_success_callback_does_not_settle_a_running_task() {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(Db::sqlite(), vec![kling], |c| {
        c.poll.first_delay = Duration::from_secs(3600)
    })
    .await;
    let created = gw
        .post("/unified-video/generate", &gw.key, &kling_body(), None)
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let task_id = created.body["taskId"].as_str().unwrap().to_string();
    let upstream_id = created.body["providerTaskId"].as_str().unwrap().to_string();
    let points = created.body["pointsCharged"].as_i64().unwrap();

    // Kling reports `processing`: its callback carries no signature headers, and it is
    // the only way to learn the task's callback URL from outside.
    sim.advance(Duration::from_secs(2)).await;
    let first = sim.callbacks().pop().expect("the processing callback");
    assert_eq!(first.task_status, "processing");
    assert_eq!(first.response_status, Some(200));
    let token = first.url.rsplit('/').next().unwrap();
    assert!(
        token.len() >= 32 && token.chars().all(|c| c.is_ascii_alphanumeric()),
        "the callback URL carries an unguessable token: {}",
        first.url
    );

    let forged = json!({
        "task_id": upstream_id, "task_status": "succeed", "task_status_msg": "",
        "task_info": {}, "created_at": 1, "updated_at": 2, "final_unit_deduction": "0",
        "task_result": {"videos": [{"id": "forged", "url": "https://attacker.example/v.mp4", "duration": "5"}]}
    });
    let answer = gw.send(gw.http.post(&first.url).json(&forged)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body["status"], "processing",
        "the query's state, not the body's"
    );
    let status = gw
        .get(&format!("/unified-video/{task_id}/status"), &gw.key)
        .await;
    assert_eq!(status.body["status"], "processing", "{}", status.body);
    assert!(status.body["assets"]
        .as_array()
        .is_none_or(|a| a.is_empty()));
    assert_eq!(gw.balance().await, BALANCE - points, "still only held");
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold"]);

    // A forged body naming another upstream task is refused outright.
    let mut other = forged.clone();
    other["task_id"] = json!("someone-elses-task");
    let answer = gw.send(gw.http.post(&first.url).json(&other)).await;
    assert_eq!(answer.status, 400, "{}", answer.body);

    // Kling finishes; its real callback is confirmed by the query and settles the task.
    sim.advance(Duration::from_secs(120)).await;
    let done = gw
        .get(&format!("/unified-video/{task_id}/status"), &gw.key)
        .await;
    assert_eq!(done.body["status"], "succeeded", "{}", done.body);
    let url = done.body["assets"][0]["url"].as_str().unwrap();
    assert!(!url.contains("attacker.example"), "{url}");
    assert_eq!(gw.entry_kinds().await, vec!["top_up", "hold", "post"]);
    sim.shutdown().await;
}

/// A submission of unknown outcome (its answer was lost) cannot be attached to another
/// upstream task by a callback: the gateway confirms it by the external id it sent, so a
/// body naming someone else's finished task settles nothing and binds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_callback_cannot_attach_another_task_to_an_unknown_submission() {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(Db::sqlite(), vec![kling], |c| {
        c.poll.first_delay = Duration::from_secs(3600)
    })
    .await;
    // Task A finishes normally.
    let a = gw
        .post("/unified-video/generate", &gw.key, &kling_body(), None)
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a_upstream = a.body["providerTaskId"].as_str().unwrap().to_string();
    sim.advance(Duration::from_secs(120)).await;
    let a_task = sim
        .state()
        .tasks()
        .into_iter()
        .find(|t| t.task_id == a_upstream)
        .unwrap();
    assert_eq!(a_task.task_status, "succeed");
    // Task B's answer is lost (Kling ran it), and so are its callbacks.
    sim.set_faults(
        Endpoint::Create(Feature::Text2Video),
        FaultPlan {
            drop_connection: 1.0,
            lost_callback: 1.0,
            ..FaultPlan::default()
        },
    )
    .unwrap();
    let b = gw
        .post("/unified-video/generate", &gw.key, &kling_body(), None)
        .await;
    assert_eq!(b.body["status"], "unknown", "{}", b.body);
    let b_id = b.body["taskId"].as_str().unwrap().to_string();
    sim.advance(Duration::from_secs(2)).await;
    let b_record = sim
        .callbacks()
        .into_iter()
        .find(|c| c.task_id != a_upstream)
        .expect("B's (lost) processing callback");
    // The forger knows B's URL and sends A's finished task object.
    let a_object = sim
        .callbacks()
        .into_iter()
        .rfind(|c| c.task_id == a_upstream && c.task_status == "succeed")
        .unwrap()
        .body;
    let answer = gw.send(gw.http.post(&b_record.url).json(&a_object)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["status"], "processing", "{}", answer.body);
    let b_row = gw.store.tasks.get(&b_id).await.unwrap().unwrap();
    assert_eq!(
        b_row.provider_task_id.as_deref(),
        Some(b_record.task_id.as_str()),
        "B learnt its own upstream id, found by the external id we sent"
    );
    assert_ne!(b_row.status, genmux_core::TaskStatus::Succeeded);
    sim.shutdown().await;
}

/// A callback URL whose token no task has finds nothing (the token is the secret).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_guessed_callback_url_finds_no_task() {
    let (sim, kling) = kling_sim(sim_config()).await;
    let gw = gateway(Db::sqlite(), vec![kling], |_| {}).await;
    let body = json!({"task_id": "t", "task_status": "succeed", "created_at": 1, "updated_at": 2});
    let answer = gw
        .send(
            gw.http
                .post(format!(
                    "{}/callbacks/kling/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                    gw.base
                ))
                .json(&body),
        )
        .await;
    assert_eq!(answer.status, 404, "{}", answer.body);
    sim.shutdown().await;
}
