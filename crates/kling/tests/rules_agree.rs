//! Client, catalog and simulator agree on every Kling model's rules (issue 14 point 7).
//!
//! The client states each model's rules once (`genmux_kling::rules`); the catalog
//! (`crates/core/catalog.toml`) states what genmux sells; the simulator plays Kling with
//! its own implementation of `spec/kling-api.md`. For every Kling catalog model and each
//! of its operations, every value of every rule dimension — duration, mode, aspect ratio,
//! generated audio (with each mode), resolution and image count, kling-v3 shots — is tried
//! three ways:
//!
//! - **catalog**: `Catalog::quote` of the request with that value;
//! - **client**: the offering's capability and the mapping (which reads the table);
//! - **simulator**: the body the client sends (when it accepts), or the base body with the
//!   value in its wire field (when it refuses), created on the simulator.
//!
//! and must satisfy: what the catalog accepts, the client offers and the simulator
//! accepts; the client accepts exactly what the simulator accepts; and the catalog refuses
//! what the client would take only where [`NARROWINGS`] says why. The simulator also bills
//! the table's units for every task it accepts.

use genmux_core::catalog::price_inputs;
use genmux_core::{Catalog, GenerationRequest, MediaInput, Offering, Operation, ShotPrompt};
use genmux_kling::mapping::{plan, Plan};
use genmux_kling::rules::{self, aspect_ratio_on_wire, ModelRules, Sound};
use genmux_kling::wire::Text2VideoRequest;
use genmux_kling::{KlingConfig, KlingProvider};
use genmux_sim::kling::{KlingAccount, KlingSim, KlingSimConfig};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// Where the catalog deliberately sells less than Kling takes, and why: (catalog model,
/// operation, dimension, value). Every entry must still be a real narrowing (the test
/// fails on a stale one).
const NARROWINGS: &[(&str, Operation, &str, &str, &str)] = &[
    (
        "kling-2.6-i2v",
        Operation::ImageToVideo,
        "mode",
        "pro",
        "no mode field, as kling-2.6-t2v: std without audio, pro with it",
    ),
    (
        "kling-2.6-i2v",
        Operation::ImageToVideo,
        "mode",
        "std",
        "no mode field: std is what is sent without audio",
    ),
    (
        "kling-2.6-i2v",
        Operation::ImageToVideo,
        "generateAudio+mode",
        "pro",
        "no mode field: audio is sent in pro by itself",
    ),
    (
        "kling-2.6-i2v",
        Operation::StartEndFrame,
        "mode",
        "pro",
        "no mode field, as kling-2.6-t2v: std without audio, pro with it",
    ),
    (
        "kling-2.6-i2v",
        Operation::StartEndFrame,
        "mode",
        "std",
        "no mode field: std is what is sent without audio",
    ),
    (
        "kling-2.6-i2v",
        Operation::StartEndFrame,
        "generateAudio+mode",
        "pro",
        "no mode field: audio is sent in pro by itself",
    ),
    (
        "kling-2.5-turbo",
        Operation::TextToVideo,
        "aspectRatio",
        "1:1",
        "the unified API (midsync serves this model too) lists 16:9 and 9:16 only",
    ),
    (
        "kling-2.5-turbo",
        Operation::TextToVideo,
        "mode",
        "pro",
        "the catalog sells kling-2.5-turbo in std only (no mode field, as the unified API)",
    ),
    (
        "kling-2.5-turbo",
        Operation::TextToVideo,
        "mode",
        "std",
        "no mode field: std is what is sent anyway",
    ),
    (
        "kling-2.5-turbo",
        Operation::ImageToVideo,
        "mode",
        "pro",
        "the catalog sells kling-2.5-turbo in std only",
    ),
    (
        "kling-2.5-turbo",
        Operation::ImageToVideo,
        "mode",
        "std",
        "no mode field: std is what is sent anyway",
    ),
    (
        "kling-2.5-turbo",
        Operation::StartEndFrame,
        "mode",
        "pro",
        "the catalog sells kling-2.5-turbo in std only",
    ),
    (
        "kling-2.5-turbo",
        Operation::StartEndFrame,
        "mode",
        "std",
        "no mode field: std is what is sent anyway",
    ),
    (
        "kling-2.6-t2v",
        Operation::TextToVideo,
        "mode",
        "pro",
        "the catalog has no mode for kling-2.6-t2v: std without audio, pro with it",
    ),
    (
        "kling-2.6-t2v",
        Operation::TextToVideo,
        "mode",
        "std",
        "no mode field: std is what is sent without audio",
    ),
    (
        "kling-2.6-t2v",
        Operation::TextToVideo,
        "generateAudio+mode",
        "pro",
        "no mode field: audio is sent in pro by itself",
    ),
    (
        "kling-3.0",
        Operation::TextToVideo,
        "multiPrompt",
        "13+2",
        "the unified API takes shots of 1-12 s; Kling states no per-shot limit",
    ),
];

/// Every aspect ratio any Kling endpoint or catalog model names, plus two none does.
const ASPECTS: &[&str] = &[
    "16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9", "auto", "5:4", "",
];

struct Env {
    sim: KlingSim,
    provider: KlingProvider,
    video_id: String,
    video_url: String,
}

impl Env {
    async fn start() -> Env {
        let mut account = KlingAccount::new("ak-rules", "sk-rules");
        account.video_concurrency = 100_000;
        account.image_concurrency = 100_000;
        let sim = KlingSim::start(KlingSimConfig::default().with_accounts(vec![account]))
            .await
            .unwrap();
        let provider = KlingProvider::new(
            KlingConfig::new(sim.access_key(), sim.secret_key()).with_base_url(sim.base_url()),
            Catalog::builtin(),
        )
        .unwrap();
        let t = provider
            .client()
            .create_text2video(&Text2VideoRequest {
                model_name: Some("kling-v2-5-turbo".into()),
                prompt: Some("a lighthouse".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        sim.advance(Duration::from_secs(61)).await;
        let done = provider.client().get_text2video(&t.task_id).await.unwrap();
        let v = done.task_result.unwrap().videos[0].clone();
        Env {
            sim,
            provider,
            video_id: v.id,
            video_url: v.url,
        }
    }

    fn offerings(&self) -> Vec<Offering> {
        self.provider
            .video_offerings()
            .iter()
            .chain(self.provider.image_offerings())
            .cloned()
            .collect()
    }

    /// A catalog-valid request for `op` on `model`, quoted (defaults applied).
    fn base(&self, model: &str, op: Operation) -> GenerationRequest {
        let img = |i: usize| MediaInput::Url(format!("https://example.com/frame-{i}.png"));
        let mut req = GenerationRequest {
            model: model.into(),
            ..Default::default()
        };
        match op {
            Operation::TextToVideo | Operation::TextToImage => {
                req.prompt = Some("a quiet harbour at dusk".into())
            }
            Operation::ImageToVideo => {
                req.prompt = Some("the boat drifts".into());
                req.images = vec![img(0)];
            }
            Operation::StartEndFrame => {
                req.prompt = Some("the boat drifts".into());
                req.images = vec![img(0), img(1)];
            }
            Operation::MultiImageToVideo => {
                req.prompt = Some("they shake hands".into());
                req.images = vec![img(0), img(1)];
            }
            Operation::MotionControl => {
                // A 5 s video of this simulator, so its billed length is known.
                req.images = vec![img(0)];
                req.motion_video = Some(MediaInput::Url(self.video_url.clone()));
                req.character_orientation = Some("video".into());
                req.mode = Some("std".into());
                req.duration = Some(5);
            }
            Operation::VideoExtend => {
                req.video_id = Some(self.video_id.clone());
                req.prompt = Some("keep rising".into());
            }
            Operation::LipSync => {
                req.video_id = Some(self.video_id.clone());
                req.sound_file = Some(MediaInput::Url("https://example.com/voice.mp3".into()));
                req.sound_start_time = Some(0);
                req.sound_end_time = Some(3000);
                req.sound_insert_time = Some(0);
            }
            Operation::ImageToImage => {
                req.prompt = Some("as an astronaut".into());
                req.images = vec![img(0)];
                req.image_reference = Some("face".into());
            }
            Operation::OmniImage => {
                req.prompt = Some("put <<<image_1>>> on a beach".into());
                req.images = vec![img(0)];
            }
        }
        let q = Catalog::builtin()
            .quote(&req)
            .unwrap_or_else(|e| panic!("{model} {op}: the base request is refused: {e}"));
        assert_eq!(q.operation, op, "{model}: the base request is for {op}");
        q.request
    }
}

/// One value of one rule dimension.
struct Case {
    dim: &'static str,
    value: String,
    /// The request with the value.
    req: GenerationRequest,
    /// The wire fields that carry it, set over the base body when the client refuses
    /// (`None`: the value does not reach the wire, so the simulator is not asked).
    wire: Option<Map<String, Value>>,
}

fn wire(pairs: &[(&str, Value)]) -> Option<Map<String, Value>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

fn cases(base: &GenerationRequest, op: Operation, r: &ModelRules) -> Vec<Case> {
    let spec = Catalog::builtin().model(&base.model).unwrap();
    let has = |f: &str| spec.field(f).is_some();
    let mut out = Vec::new();
    let case = |dim: &'static str, value: String, req: GenerationRequest, w| Case {
        dim,
        value,
        req,
        wire: w,
    };
    if has("duration") || r.durations.is_some() {
        for d in 0..=31u32 {
            let req = GenerationRequest {
                duration: Some(d),
                ..base.clone()
            };
            let w = r
                .duration_on_wire
                .then(|| wire(&[("duration", json!(d.to_string()))]))
                .flatten();
            out.push(case("duration", d.to_string(), req, w));
        }
    }
    if has("mode") || !r.modes.is_empty() {
        for m in ["std", "pro", "turbo"] {
            let req = GenerationRequest {
                mode: Some(m.into()),
                ..base.clone()
            };
            out.push(case("mode", m.into(), req, wire(&[("mode", json!(m))])));
        }
    }
    if aspect_ratio_on_wire(op) {
        for a in ASPECTS {
            let req = GenerationRequest {
                aspect_ratio: Some(a.to_string()),
                ..base.clone()
            };
            out.push(case(
                "aspectRatio",
                a.to_string(),
                req,
                wire(&[("aspect_ratio", json!(a))]),
            ));
        }
    }
    if matches!(op.output(), genmux_core::MediaKind::Image) {
        for res in ["1k", "2k", "4k"] {
            let req = GenerationRequest {
                resolution: Some(res.into()),
                ..base.clone()
            };
            out.push(case(
                "resolution",
                res.into(),
                req,
                wire(&[("resolution", json!(res))]),
            ));
        }
        for n in 0..=10u32 {
            let req = GenerationRequest {
                n: Some(n),
                ..base.clone()
            };
            out.push(case("n", n.to_string(), req, wire(&[("n", json!(n))])));
        }
    }
    let takes_sound_field = matches!(
        op,
        Operation::TextToVideo | Operation::ImageToVideo | Operation::StartEndFrame
    );
    if takes_sound_field && (has("generateAudio") || r.sound != Sound::No) {
        let mut modes: Vec<Option<&str>> = vec![None];
        if has("mode") || !r.modes.is_empty() {
            modes.extend([Some("std"), Some("pro")]);
        }
        for m in modes {
            let req = GenerationRequest {
                generate_audio: Some(true),
                mode: m.map(str::to_string).or(base.mode.clone()),
                ..base.clone()
            };
            let mut w = vec![("sound", json!("on"))];
            if let Some(m) = req.mode.as_deref() {
                w.push(("mode", json!(m)));
            }
            let (dim, value) = match m {
                None => ("generateAudio", "true".to_string()),
                Some(m) => ("generateAudio+mode", m.to_string()),
            };
            out.push(case(dim, value, req, wire(&w)));
        }
    }
    if (r.multi_shot.is_some() || has("multiShots")) && op == Operation::TextToVideo {
        let shot_sets: &[&[u32]] = &[
            &[3, 4],
            &[5, 5, 5],
            &[1, 1],
            &[12, 4],
            &[12, 3],
            &[13, 2],
            &[0, 5],
            &[1, 1, 1, 1, 1, 1],
            &[1, 1, 1, 1, 1, 1, 1],
        ];
        for shots in shot_sets {
            let total: u32 = shots.iter().sum();
            let req = GenerationRequest {
                prompt: None,
                multi_shots: Some(true),
                multi_prompt: shots
                    .iter()
                    .enumerate()
                    .map(|(i, d)| ShotPrompt {
                        prompt: format!("shot {}", i + 1),
                        duration: *d,
                    })
                    .collect(),
                duration: Some(total),
                ..base.clone()
            };
            let multi_prompt: Vec<Value> = shots
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    json!({"index": i + 1, "prompt": format!("shot {}", i + 1), "duration": d.to_string()})
                })
                .collect();
            let value = shots
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join("+");
            out.push(case(
                "multiPrompt",
                value,
                req,
                wire(&[
                    ("multi_shot", json!(true)),
                    ("shot_type", json!("customize")),
                    ("multi_prompt", Value::Array(multi_prompt)),
                    ("duration", json!(total.to_string())),
                ]),
            ));
        }
    }
    out
}

#[tokio::test]
async fn client_catalog_and_simulator_agree_on_every_kling_models_rules() {
    let env = Env::start().await;
    let catalog = Catalog::builtin();
    let mut narrowings_seen = Vec::new();
    let mut checked = 0usize;
    let mut problems = Vec::new();
    for offering in env.offerings() {
        let r = rules::rules(&offering.provider_model)
            .unwrap_or_else(|| panic!("{}: offered without rules", offering.provider_model));
        for op in Operation::ALL {
            if !offering.capability.has_operation(op) {
                continue;
            }
            let base = env.base(&offering.model, op);
            let endpoint = genmux_kling::mapping::endpoint_for(op);
            // The base body, when the operation is one create call.
            let base_body = match plan(&base, op, &offering.provider_model, None, None) {
                Ok(Plan::Create(n)) => Some(n.body),
                Ok(Plan::IdentifyFaceThenLipSync(_)) => None,
                Err(e) => panic!("{} {op}: the base request is refused: {e}", offering.model),
            };
            for c in cases(&base, op, r) {
                checked += 1;
                let label = format!(
                    "{} ({}) {op} {}={:?}",
                    offering.model, offering.provider_model, c.dim, c.value
                );
                let catalog_ok = catalog.quote(&c.req).is_ok();
                let client = offering
                    .capability
                    .supports(&c.req, op)
                    .map_err(|e| e.to_string())
                    .and_then(|()| {
                        plan(&c.req, op, &offering.provider_model, None, None)
                            .map_err(|e| e.to_string())
                    });
                let client_ok = client.is_ok();
                // The simulator: the client's own body when it accepts, else the base body
                // with the value on its wire field.
                let sim_body = match (&client, &base_body, &c.wire) {
                    (Ok(Plan::Create(n)), _, _) => Some(n.body.clone()),
                    (Err(_), Some(body), Some(w)) => {
                        let mut b = body.clone();
                        for (k, v) in w {
                            b.insert(k.clone(), v.clone());
                        }
                        Some(b)
                    }
                    _ => None,
                };
                let sim = match sim_body {
                    Some(body) => Some(env.provider.client().create(endpoint, &body).await),
                    None => None,
                };
                if catalog_ok && !client_ok {
                    problems.push(format!(
                        "{label}: the catalog sells it, the client refuses: {}",
                        client.as_ref().err().cloned().unwrap_or_default()
                    ));
                }
                match (&sim, client_ok) {
                    (Some(Ok(_)), false) => problems.push(format!(
                        "{label}: the simulator (Kling) takes it, the client refuses: {}",
                        client.as_ref().err().cloned().unwrap_or_default()
                    )),
                    (Some(Err(e)), true) => problems.push(format!(
                        "{label}: the client sends it, the simulator (Kling) refuses: {e}"
                    )),
                    _ => {}
                }
                if client_ok && !catalog_ok {
                    match NARROWINGS
                        .iter()
                        .find(|n| n.0 == offering.model && n.1 == op && n.2 == c.dim && n.3 == c.value)
                    {
                        Some(n) => narrowings_seen.push((n.0, n.1, n.2, n.3)),
                        None => problems.push(format!(
                            "{label}: the client and Kling take it, the catalog refuses it, and NARROWINGS does not say why"
                        )),
                    }
                }
                // The simulator bills what the table says. A value that is not on the wire
                // (motion control's declared length) does not change what Kling measures
                // and bills, so only values on the wire are priced.
                if let (Some(Ok(task)), Some(_)) = (&sim, &c.wire) {
                    if client_ok {
                        let want = r.units(&price_inputs(&c.req, op));
                        let billed = env
                            .sim
                            .state()
                            .tasks()
                            .into_iter()
                            .find(|t| t.task_id == task.task_id)
                            .map(|t| t.units);
                        if let (Some(want), Some(billed)) = (want, billed) {
                            if (want - billed).abs() > 1e-6 {
                                problems.push(format!(
                                    "{label}: the table prices it {want} units, the simulator bills {billed}"
                                ));
                            }
                        } else if want.is_none() {
                            problems.push(format!("{label}: accepted but the table has no price"));
                        }
                    }
                }
            }
        }
    }
    for n in NARROWINGS {
        assert!(
            narrowings_seen.contains(&(n.0, n.1, n.2, n.3)),
            "NARROWINGS entry {:?} is stale: the catalog and the client now agree there",
            (n.0, n.1, n.2, n.3)
        );
    }
    assert!(checked > 400, "only {checked} cases checked");
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The catalog's own examples of every Kling model go through the client and the
/// simulator (the kling-3.0 multi-shot example was refused before, issue 14).
#[tokio::test]
async fn every_catalog_example_of_a_kling_model_runs_on_the_simulator() {
    let env = Env::start().await;
    let catalog = Catalog::builtin();
    let kling = std::sync::Arc::new(
        KlingProvider::new(
            KlingConfig::new(env.sim.access_key(), env.sim.secret_key())
                .with_base_url(env.sim.base_url()),
            catalog,
        )
        .unwrap(),
    );
    // Through the router's view of a provider: both halves, one client.
    let provider = genmux_core::Provider::both(kling.clone(), kling).unwrap();
    let mut ran = 0;
    for offering in env.offerings() {
        let spec = catalog.model(&offering.model).unwrap();
        for ex in &spec.examples {
            let mut body = ex.clone();
            body.insert("model".into(), json!(spec.id));
            let req = catalog.parse_request(&Value::Object(body)).unwrap();
            let q = catalog.quote(&req).unwrap();
            if !offering.capability.has_operation(q.operation) {
                continue;
            }
            let mut req = q.request;
            // Examples name placeholder videos; use one this simulator made.
            if req.video_id.is_some() {
                req.video_id = Some(env.video_id.clone());
            }
            if req.motion_video.is_some() {
                req.motion_video = Some(MediaInput::Url(env.video_url.clone()));
                req.duration = Some(5);
            }
            if req.video_url.is_some() {
                req.video_url = Some(MediaInput::Url(env.video_url.clone()));
            }
            let sub = provider
                .submit(genmux_core::SubmitRequest {
                    request: &req,
                    operation: q.operation,
                    offering: &offering,
                    callback_url: None,
                    external_id: &format!("example-{ran}"),
                })
                .await;
            assert!(
                sub.is_ok(),
                "{} example {ex:?}: {}",
                offering.model,
                sub.unwrap_err()
            );
            ran += 1;
        }
    }
    assert!(ran >= 10, "only {ran} examples ran");
}
