//! `Catalog::quote` (validate + defaults + price) and `Catalog::parse_request` costs on
//! representative requests. `quote` runs inside every POST /quote and /generate and inside
//! `Router::generate`, whose whole in-process goal is < 5 µs (issue 4); the gateway's quote
//! target is 20,000 requests/s on 2 cores.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use genmux::core::{Catalog, GenerationRequest};
use serde_json::{json, Value};
use std::hint::black_box;

/// The raw bodies, as a client sends them.
fn bodies() -> Vec<(&'static str, Value)> {
    vec![
        (
            "kling-2.5-turbo/text",
            json!({"model": "kling-2.5-turbo", "prompt": "A red fox running through snow", "duration": 5}),
        ),
        (
            "kling-3.0/multi-shot",
            json!({"model": "kling-3.0", "multiShots": true, "multiPrompt": [
                {"prompt": "A door opens", "duration": 3},
                {"prompt": "A cat walks in", "duration": 4}
            ]}),
        ),
        (
            "kling-image/image",
            json!({"model": "kling-image", "prompt": "The same person as an astronaut",
                   "images": ["https://example.com/face.png"], "imageReference": "subject",
                   "humanFidelity": 0.6, "n": 2}),
        ),
        (
            "grok-video/text",
            json!({"model": "grok-video", "prompt": "A golden retriever runs toward the camera",
                   "duration": 10, "resolution": "720p"}),
        ),
    ]
}

fn quote(c: &mut Criterion) {
    let catalog = Catalog::builtin();
    let mut g = c.benchmark_group("quote");
    for (name, body) in bodies() {
        let req: GenerationRequest = serde_json::from_value(body.clone()).expect("valid body");
        assert!(catalog.quote(&req).is_ok(), "{name} is rejected");
        g.bench_with_input(BenchmarkId::from_parameter(name), &req, |b, req| {
            b.iter(|| catalog.quote(black_box(req)))
        });
    }
    g.finish();
}

fn parse_request(c: &mut Criterion) {
    let catalog = Catalog::builtin();
    let mut g = c.benchmark_group("parse_request");
    for (name, body) in bodies() {
        assert!(catalog.parse_request(&body).is_ok(), "{name} is rejected");
        g.bench_with_input(BenchmarkId::from_parameter(name), &body, |b, body| {
            b.iter(|| catalog.parse_request(black_box(body)))
        });
    }
    g.finish();
    // The gateway's whole catalog step for one POST /quote body.
    let mut g = c.benchmark_group("parse_and_quote");
    for (name, body) in bodies() {
        g.bench_with_input(BenchmarkId::from_parameter(name), &body, |b, body| {
            b.iter(|| {
                catalog
                    .parse_request(black_box(body))
                    .and_then(|req| catalog.quote(&req))
            })
        });
    }
    g.finish();
}

fn invalid(c: &mut Criterion) {
    // Rejections build their message; they must stay cheap enough not to matter.
    let catalog = Catalog::builtin();
    let req = GenerationRequest {
        model: "kling-2.5-turbo".into(),
        prompt: Some("A red fox".into()),
        duration: Some(7),
        ..Default::default()
    };
    assert!(catalog.quote(&req).is_err());
    c.bench_function("quote/rejected-duration", |b| {
        b.iter(|| catalog.quote(black_box(&req)))
    });
}

criterion_group!(benches, quote, parse_request, invalid);
criterion_main!(benches);
