//! Every catalog example runs (issue 20 point 3): a real `genmux serve` sandbox over
//! loopback lists each model's examples (`GET …/models`, media URLs pointing at the
//! sandbox's sample files), and each one is quoted at its listed price and generated to
//! `succeeded`. An example that needs an earlier result (`needs`) gets the id of a result
//! of the producing model's first example, run first. Where the catalog prices by the
//! second, the video the task returns lasts the billed seconds (motion control: its
//! motion video; lip sync: the video the audio goes into).

mod support;

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::Gateway;

/// How long one task may take to finish (the sandbox clock runs 30× real time; the
/// slowest simulated task takes about a minute of simulated time).
const TASK_DEADLINE: Duration = Duration::from_secs(120);

/// The families and their path prefixes.
const FAMILIES: [&str; 2] = ["/unified-video", "/unified-image"];

struct Walk {
    http: reqwest::Client,
    gw: Gateway,
    /// The finished task of a model's first example, by model: (base, status body).
    produced: BTreeMap<String, Value>,
    /// Every model's examples as the sandbox lists them: (base, example).
    examples: BTreeMap<String, (String, Vec<Value>)>,
}

impl Walk {
    async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.gw.url))
            .bearer_auth(&self.gw.key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = r.status();
        let body: Value = r.json().await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert!(status.is_success(), "GET {path}: {status} {body}");
        body
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.gw.url))
            .bearer_auth(&self.gw.key)
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = r.status().as_u16();
        let body: Value = r
            .json()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        (status, body)
    }

    /// Quotes and generates `request` on `base`, waits for the end and returns the status
    /// body; panics naming the model and example unless it succeeded at the listed price.
    async fn run(&self, base: &str, what: &str, request: &Value, listed_points: &Value) -> Value {
        let (code, quote) = self.post(&format!("{base}/quote"), request).await;
        assert!(
            code == 200 && quote["success"] == true,
            "{what}: the quote refused {request}: {code} {quote}\n{}",
            self.gw.logs()
        );
        assert_eq!(
            &quote["pointsCharged"], listed_points,
            "{what}: quoted {quote} but the models document lists {listed_points}"
        );
        let (code, created) = self.post(&format!("{base}/generate"), request).await;
        assert!(
            (200..300).contains(&code),
            "{what}: generate refused {request}: {code} {created}\n{}",
            self.gw.logs()
        );
        let task = created["taskId"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no taskId in {created}"));
        let deadline = Instant::now() + TASK_DEADLINE;
        loop {
            let status = self.get(&format!("{base}/{task}/status")).await;
            match status["status"].as_str() {
                Some("succeeded") => {
                    let mut status = status;
                    status["billedUnits"] = quote["billedUnits"].clone();
                    return status;
                }
                Some("submitted" | "processing" | "unknown") => {}
                _ => panic!(
                    "{what}: task {task} ended {status} for {request}\n{}",
                    self.gw.logs()
                ),
            }
            assert!(
                Instant::now() < deadline,
                "{what}: task {task} not finished after {TASK_DEADLINE:?}: {status}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The finished task of `model`'s first example (run once).
    async fn produced_by(&mut self, model: &str) -> Value {
        if let Some(done) = self.produced.get(model) {
            return done.clone();
        }
        let (base, examples) = self
            .examples
            .get(model)
            .unwrap_or_else(|| panic!("the sandbox lists no model {model}"))
            .clone();
        let first = &examples[0];
        assert!(
            first.get("needs").is_none(),
            "{model}'s first example needs an earlier result itself: {first}"
        );
        let done = self
            .run(
                &base,
                &format!("{model} example 1 (producing)"),
                &first["request"],
                &first["pointsCharged"],
            )
            .await;
        self.produced.insert(model.to_string(), done.clone());
        done
    }
}

/// The length of the MP4 at `url`, in whole seconds (rounded), from its `mvhd`. The
/// gateway keeps results (issue 18): `url` is its `/v1/assets/…`, read with the owner's key.
async fn video_seconds(http: &reqwest::Client, url: &str, key: &str) -> u64 {
    let bytes = http
        .get(url)
        .bearer_auth(key)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let facts = genmux_sim::media::mp4_facts(&bytes)
        .unwrap_or_else(|| panic!("{url} is no MP4 ({} bytes)", bytes.len()));
    (facts.duration_ms + 500) / 1000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_of_every_model_runs_in_the_sandbox() {
    let gw = Gateway::start(&["--starter-points", "1000000"]);
    let mut walk = Walk {
        http: reqwest::Client::new(),
        gw,
        produced: BTreeMap::new(),
        examples: BTreeMap::new(),
    };
    let catalog = genmux_core::Catalog::builtin();
    for base in FAMILIES {
        let doc = walk.get(&format!("{base}/models")).await;
        assert_eq!(doc["sandbox"], true, "{doc}");
        for (model, hints) in doc["pricingHints"]["models"].as_object().unwrap() {
            let examples = hints["examples"].as_array().cloned().unwrap_or_default();
            walk.examples
                .insert(model.clone(), (base.to_string(), examples));
        }
    }
    // The sandbox serves every model of the catalog, and lists every example of each.
    for m in catalog.models() {
        let (_, listed) = walk
            .examples
            .get(&m.id)
            .unwrap_or_else(|| panic!("the sandbox does not list {}", m.id));
        assert_eq!(listed.len(), m.examples.len(), "{}: {listed:?}", m.id);
        assert!(!listed.is_empty(), "{} has no example", m.id);
    }
    let text = serde_json::to_string(&walk.examples).unwrap();
    assert!(
        !text.contains("https://example.com/"),
        "an example media URL has no sample in the catalog's [samples] table: {text}"
    );

    let models: Vec<String> = walk.examples.keys().cloned().collect();
    let mut ran = 0;
    for model in models {
        let (base, examples) = walk.examples[&model].clone();
        let spec = catalog.model(&model).unwrap();
        for (i, ex) in examples.iter().enumerate() {
            let what = format!("{model} example {}", i + 1);
            let mut request = ex["request"].clone();
            // A field standing for an earlier result gets the id of a real one.
            for need in ex["needs"].as_array().into_iter().flatten() {
                let field = need["field"].as_str().unwrap();
                let from = need["from"].as_str().unwrap();
                let kind = need["kind"].as_str().unwrap();
                let done = walk.produced_by(from).await;
                let id = done["assets"]
                    .as_array()
                    .and_then(|a| a.iter().find(|x| x["kind"] == kind))
                    .and_then(|a| a["id"].as_str())
                    .unwrap_or_else(|| panic!("{what}: {from}'s result has no {kind} id: {done}"));
                request[field] = json!(id);
            }
            let done = if i == 0 && ex.get("needs").is_none() {
                walk.produced_by(&model).await
            } else {
                walk.run(&base, &what, &request, &ex["pointsCharged"]).await
            };
            let assets = done["assets"].as_array().cloned().unwrap_or_default();
            let kind = if base == "/unified-video" {
                "video"
            } else {
                "image"
            };
            assert!(
                !assets.is_empty() && assets.iter().all(|a| a["kind"] == kind),
                "{what}: assets {done}"
            );
            // Priced by the second: the video lasts what was billed.
            if spec.price.unit == genmux_core::pricing::PriceUnit::Second {
                let billed = done["billedUnits"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("{what}: no billed units: {done}"));
                let url = assets[0]["url"].as_str().unwrap();
                let secs = video_seconds(&walk.http, url, &walk.gw.key).await;
                assert_eq!(
                    secs, billed,
                    "{what}: billed {billed} s, but the video at {url} lasts {secs} s ({request})"
                );
                eprintln!("{what}: succeeded, billed {billed} s, the video lasts {secs} s");
            } else {
                eprintln!("{what}: succeeded, {} {kind}(s)", assets.len());
            }
            ran += 1;
        }
    }
    let total: usize = catalog.models().map(|m| m.examples.len()).sum();
    assert_eq!(ran, total, "every example ran");
}
