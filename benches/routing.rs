//! Routing costs: the pick step among 10, 100 and 1000 offerings, candidate selection plus
//! pick, and a whole in-process submit / generate through the router to an in-memory
//! provider. Goals (issue 4): pick among 100 < 1 µs; whole generate < 5 µs.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use genmux::core::pricing::{PriceUnit, Rate};
use genmux::core::{
    async_trait, Capability, Catalog, GenerationRequest, Offering, Operation, PriceRule, Provider,
    Result, SecondsSet, Submission, SubmitRequest, TaskRef, TaskSnapshot, TaskStatus,
    VideoProvider,
};
use genmux::router::{Candidate, HealthSnapshot, PickRequest, Picker, PriceFirst};
use genmux::Router;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

const MODEL: &str = "kling-2.5-turbo";

struct Mem {
    id: String,
    offerings: Vec<Offering>,
}

#[async_trait]
impl VideoProvider for Mem {
    fn id(&self) -> &str {
        &self.id
    }
    fn offerings(&self) -> &[Offering] {
        &self.offerings
    }
    async fn submit(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        Ok(Submission {
            provider_task_id: "t-1".into(),
            provider_model: req.offering.provider_model.clone(),
            status: TaskStatus::Submitted,
            estimated_time_sec: None,
        })
    }
    async fn status(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        Ok(TaskSnapshot {
            provider_task_id: task.provider_task_id.clone(),
            status: TaskStatus::Succeeded,
            assets: Vec::new(),
            error: None,
            usage: None,
            billed_usd_micros: None,
        })
    }
}

fn offering(i: usize) -> Offering {
    Offering {
        model: MODEL.into(),
        provider_model: format!("m{i}"),
        capability: Capability {
            text_to_video: true,
            durations: Some(SecondsSet::of(&[5, 10])),
            ..Default::default()
        },
        cost: PriceRule {
            unit: PriceUnit::Second,
            offset: 0,
            billing_increment: 1,
            audio_percent: 100,
            rates: vec![Rate {
                // A spread of prices, cheapest somewhere in the middle.
                per_unit: 0.05 + ((i * 7919) % 1000) as f64 / 10_000.0,
                ..Default::default()
            }],
            source: None,
        },
    }
}

fn request() -> GenerationRequest {
    GenerationRequest {
        model: MODEL.into(),
        prompt: Some("a red fox running through snow".into()),
        duration: Some(10),
        ..Default::default()
    }
}

/// A router over `n` providers with one offering each.
fn router(n: usize) -> Router {
    let mut b = Router::builder();
    for i in 0..n {
        b = b.provider(Provider::video(Arc::new(Mem {
            id: format!("p{i}"),
            offerings: vec![offering(i)],
        })));
    }
    b.build().expect("bench router")
}

fn pick(c: &mut Criterion) {
    let req = request();
    let pr = PickRequest {
        request: &req,
        operation: Operation::TextToVideo,
    };
    let mut group = c.benchmark_group("pick");
    for n in [10usize, 100, 1000] {
        let offerings: Vec<Offering> = (0..n).map(offering).collect();
        let ids: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
        let inputs = genmux::core::catalog::price_inputs(&req, Operation::TextToVideo);
        let candidates: Vec<Candidate<'_>> = offerings
            .iter()
            .zip(&ids)
            .map(|(o, id)| Candidate {
                provider: id,
                offering: o,
                cost_micros: o.cost_micros(&inputs),
                health: HealthSnapshot {
                    error_rate: 0.0,
                    latency: Duration::from_millis(100),
                },
            })
            .collect();
        group.bench_with_input(BenchmarkId::new("price_first", n), &candidates, |b, c| {
            b.iter(|| PriceFirst.pick(black_box(&pr), black_box(c)))
        });
        let r = router(n);
        let quote = r.catalog().quote(&req).expect("valid request");
        group.bench_with_input(BenchmarkId::new("select_and_pick", n), &quote, |b, q| {
            b.iter(|| r.pick_first(black_box(q)).map(|(p, _)| p.len()))
        });
    }
    group.finish();
}

fn generate(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let r = router(2);
    let quote = r.catalog().quote(&request()).expect("valid request");
    let mut group = c.benchmark_group("in_process");
    group.bench_function("quote", |b| {
        b.iter(|| Catalog::builtin().quote(black_box(&request())))
    });
    group.bench_function("submit", |b| {
        b.to_async(&rt)
            .iter(|| async { r.submit(black_box(&quote), &|_| None).await })
    });
    group.bench_function("generate", |b| {
        b.to_async(&rt)
            .iter(|| async { r.generate(black_box(request())).await })
    });
    group.finish();
}

criterion_group!(benches, pick, generate);
criterion_main!(benches);
