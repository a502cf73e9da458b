//! [`EchoProvider`]: genmux's `VideoProvider` over the Echo Video API — its offering, the
//! mapping unified ↔ wire (pure functions, tested without HTTP), and the lookup of a task
//! whose submission outcome is unknown.

use crate::client::EchoClient;
use crate::wire::{CreateVideo, Status, VideoTask};
use crate::ID;
use genmux_core::pricing::{PriceUnit, Rate};
use genmux_core::{
    async_trait, Asset, Capability, Catalog, Error, ErrorKind, GenerationRequest, MediaKind,
    Offering, PriceRule, Result, SecondsSet, Submission, SubmitRequest, TaskRef, TaskSnapshot,
    TaskStatus, UnknownLookup, UnknownTask, VideoProvider,
};

/// The catalog model Echo serves, and the API's name for it.
pub const MODEL: &str = "kling-2.5-turbo";
/// Echo API §Create: the only model.
pub const PROVIDER_MODEL: &str = "echo-video-1";

/// The key of [`TaskSnapshot::usage`] carrying what the API billed (§Task
/// `credits_charged`).
pub const USAGE_CREDITS: &str = "credits_charged";

/// What `echo-video-1` can do, each limit citing the Echo API doc (crate docs).
pub fn capability() -> Capability {
    Capability {
        // §Create: a prompt in, a video out; no image input.
        text_to_video: true,
        // §Find: the create body carries our id (`client_ref`) and the API finds a task by
        // it, so a submission of unknown outcome is found, or proved absent (R1).
        unknown_lookup: UnknownLookup::ExternalIdQuery,
        // §Create: no input images.
        max_images: Some(0),
        // §Create: `seconds` is 5, the only length.
        durations: Some(SecondsSet::of(&[5])),
        // §Create: `prompt` is 1–2500 characters.
        max_prompt_chars: Some(2500),
        ..Default::default()
    }
}

/// §Prices: what one credit costs, in micro-USD ($0.005).
pub const USD_MICROS_PER_CREDIT: i64 = 5_000;

/// What a request costs upstream in USD: §Prices, 2 credits per second at $0.005 a credit.
pub fn cost() -> PriceRule {
    PriceRule {
        unit: PriceUnit::Second,
        offset: 0,
        billing_increment: 1,
        audio_percent: 100,
        rates: vec![Rate {
            per_unit: 2.0 * 0.005,
            ..Default::default()
        }],
        source: Some("Echo API §Prices: 2 credits per second, 1 credit = $0.005".into()),
    }
}

/// §Create body for a (validated, defaulted) request, carrying genmux's minted id as
/// `client_ref`. Every field comes from a catalog field the gateway priced, or from the
/// gateway; nothing the caller sent is copied through unexamined.
pub fn create_body(req: &GenerationRequest, external_id: &str) -> Result<CreateVideo> {
    let prompt = req
        .prompt
        .clone()
        .ok_or_else(|| Error::invalid("prompt: required by the Echo API").with_provider(ID))?;
    let seconds = req.duration.unwrap_or(5);
    let aspect_ratio = match req.aspect_ratio.as_deref() {
        None => None,
        Some(a @ ("16:9" | "9:16")) => Some(a.to_string()),
        Some(other) => {
            return Err(Error::invalid(format!(
                "aspectRatio: `{other}` is not allowed by the Echo API (allowed: 16:9, 9:16)"
            ))
            .with_provider(ID))
        }
    };
    Ok(CreateVideo {
        model: PROVIDER_MODEL.into(),
        prompt,
        seconds,
        aspect_ratio,
        client_ref: Some(external_id.to_string()),
    })
}

/// §Task → a [`TaskSnapshot`]: `done` with its video as an asset (a `done` task without a
/// video is an error, so nobody is charged for nothing), `failed` with its reason, and the
/// credits billed in `usage`.
pub fn snapshot(task: &VideoTask) -> Result<TaskSnapshot> {
    let status = match task.status {
        Status::Queued => TaskStatus::Submitted,
        Status::Running => TaskStatus::Processing,
        Status::Done => TaskStatus::Succeeded,
        Status::Failed => TaskStatus::Failed,
    };
    let assets = match (&task.status, &task.video_url) {
        (Status::Done, Some(url)) => vec![Asset {
            kind: MediaKind::Video,
            url: url.clone(),
            id: Some(task.id.clone()),
            duration_secs: task.seconds.map(f64::from),
            index: 0,
            size_bytes: None,
        }],
        (Status::Done, None) => {
            return Err(Error::internal(format!(
                "Echo task {} is done without a video_url",
                task.id
            ))
            .with_provider(ID))
        }
        _ => Vec::new(),
    };
    Ok(TaskSnapshot {
        provider_task_id: task.id.clone(),
        status,
        assets,
        error: match task.status {
            Status::Failed => Some(
                task.error
                    .clone()
                    .unwrap_or_else(|| "the Echo API reported a failure without a reason".into()),
            ),
            _ => None,
        },
        usage: task
            .credits_charged
            .map(|c| serde_json::json!({ USAGE_CREDITS: c })),
        // §Prices: 1 credit = $0.005, i.e. 5,000 micro-USD.
        billed_usd_micros: task
            .credits_charged
            .map(|c| i64::from(c) * USD_MICROS_PER_CREDIT),
    })
}

/// The Echo Video API as a genmux provider.
#[derive(Debug)]
pub struct EchoProvider {
    client: EchoClient,
    offerings: Vec<Offering>,
}

impl EchoProvider {
    /// A provider over `client`, offering [`MODEL`] when `catalog` has it.
    pub fn new(client: EchoClient, catalog: &Catalog) -> Self {
        let offerings = catalog
            .model(MODEL)
            .map(|_| Offering {
                model: MODEL.into(),
                provider_model: PROVIDER_MODEL.into(),
                capability: capability(),
                cost: cost(),
            })
            .into_iter()
            .collect();
        EchoProvider { client, offerings }
    }

    /// The client, for calls genmux does not model.
    pub fn client(&self) -> &EchoClient {
        &self.client
    }
}

#[async_trait]
impl VideoProvider for EchoProvider {
    fn id(&self) -> &str {
        ID
    }

    fn offerings(&self) -> &[Offering] {
        &self.offerings
    }

    async fn submit(&self, req: SubmitRequest<'_>) -> Result<Submission> {
        let body = create_body(req.request, req.external_id)?;
        let task = self.client.create(&body).await?;
        Ok(Submission {
            provider_task_id: task.id.clone(),
            provider_model: req.offering.provider_model.clone(),
            status: snapshot(&task)?.status,
            estimated_time_sec: None,
        })
    }

    async fn status(&self, task: &TaskRef) -> Result<TaskSnapshot> {
        snapshot(&self.client.get(&task.provider_task_id).await?)
    }

    /// §Find by the `client_ref` genmux sent: `Ok(None)` only when the API positively has
    /// no such task (so the gateway may refund); any failure to ask is an error (the hold
    /// stays, X4).
    async fn find_unknown(&self, task: &UnknownTask) -> Result<Option<TaskSnapshot>> {
        match self.client.find(&task.external_id).await? {
            Some(found) => snapshot(&found).map(Some),
            None => Ok(None),
        }
    }

    /// The Echo API sends no callbacks; tasks are polled.
    fn parse_callback(&self, _headers: &http::HeaderMap, _body: &[u8]) -> Result<TaskSnapshot> {
        Err(Error::new(ErrorKind::Unsupported, "the Echo API sends no callbacks").with_provider(ID))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_body_carries_our_id_and_only_priced_fields() {
        let req = GenerationRequest {
            model: MODEL.into(),
            prompt: Some("a paper boat".into()),
            duration: Some(5),
            aspect_ratio: Some("9:16".into()),
            external_task_id: Some("the-callers-own-id".into()),
            ..Default::default()
        };
        let body = create_body(&req, "gmx-1").unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"model": "echo-video-1", "prompt": "a paper boat", "seconds": 5,
                               "aspect_ratio": "9:16", "client_ref": "gmx-1"})
        );
        let wide = GenerationRequest {
            aspect_ratio: Some("1:1".into()),
            ..req
        };
        let e = create_body(&wide, "gmx-2").unwrap_err();
        assert!(e.message().starts_with("aspectRatio: `1:1`"), "{e}");
    }

    #[test]
    fn snapshots() {
        let done = VideoTask {
            id: "v1".into(),
            status: Status::Done,
            client_ref: None,
            seconds: Some(5),
            video_url: Some("https://cdn.echo.example/v1.mp4".into()),
            credits_charged: Some(10),
            error: None,
        };
        let s = snapshot(&done).unwrap();
        assert_eq!(s.status, TaskStatus::Succeeded);
        assert_eq!(s.assets[0].duration_secs, Some(5.0));
        assert_eq!(s.usage, Some(serde_json::json!({"credits_charged": 10})));
        let empty = VideoTask {
            video_url: None,
            ..done.clone()
        };
        assert_eq!(snapshot(&empty).unwrap_err().kind(), ErrorKind::Internal);
        let failed = VideoTask {
            status: Status::Failed,
            video_url: None,
            credits_charged: None,
            error: None,
            ..done
        };
        let s = snapshot(&failed).unwrap();
        assert_eq!(s.status, TaskStatus::Failed);
        assert!(s.error.unwrap().contains("without a reason"));
    }

    #[test]
    fn cost_is_one_cent_per_second() {
        let inputs = genmux_core::PriceInputs {
            seconds: 5,
            ..Default::default()
        };
        assert_eq!(cost().amount_micros(&inputs).unwrap(), 50_000);
    }
}
