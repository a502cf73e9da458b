//! What the Runway offering can do (its [`Capability`], each limit citing
//! `spec/upstreams.md`, Runway) and what it costs upstream in USD (spec "Price": credits at
//! $0.01, gen4_turbo 5 credits/s, gen4.5 12 credits/s, *unverified*). [`offerings`] pairs
//! them with the catalog's `provider = "runway"` entries.

use crate::rules::{self, UpstreamModel, CATALOG_PROVIDER_MODEL};
use genmux_core::pricing::{PriceUnit, Rate, RateCondition};
use genmux_core::{
    Capability, Catalog, MediaKind, Offering, Operation, Polling, PriceRule, UnknownLookup,
};

/// The capability of Runway's Gen-4 family as genmux sends it.
pub fn capability() -> Capability {
    Capability {
        // spec: `POST /v1/text_to_video` (gen4.5) and `POST /v1/image_to_video`.
        text_to_video: true,
        image_to_video: true,
        // spec: `promptImage` as `[{uri, position: "first"|"last"}]`.
        start_end_frame: true,
        // spec: no webhooks, poll only; "poll no more than every 5 s".
        polling: Polling {
            poll_only: true,
            min_interval_secs: rules::MIN_POLL_INTERVAL_SECS,
        },
        // spec: the create body takes no id of ours and there is no task list, so a
        // submission whose answer was lost cannot be found: its hold stays until the
        // operator deadline (X4).
        unknown_lookup: UnknownLookup::NotFindable,
        // spec: `DELETE /v1/tasks/{id}` cancels a running task.
        cancel: true,
        // spec: a first and a last frame at most.
        max_images: Some(2),
        // spec: `duration` 5 | 10 for gen4 models.
        durations: Some(rules::GEN4_DURATIONS),
        // spec: `promptText` ≤ 1000 UTF-16 code units; counted in UTF-16 by the mapping,
        // in characters here (never more characters than units).
        max_prompt_chars: Some(rules::PROMPT_TEXT_MAX_UTF16 as u32),
        ..Default::default()
    }
}

fn usd_per_second(model: UpstreamModel) -> f64 {
    f64::from(model.credits_per_second()) * rules::USD_PER_CREDIT
}

/// The upstream cost in USD per second: gen4.5 (text to video, 1080p images) 12 credits,
/// gen4_turbo (720p images) 5 credits, at $0.01 per credit. Rows follow
/// [`UpstreamModel::for_request`].
pub fn cost() -> PriceRule {
    PriceRule {
        unit: PriceUnit::Second,
        offset: 0,
        billing_increment: 1,
        audio_percent: 100,
        rates: vec![
            Rate {
                when: RateCondition {
                    operation: Some(Operation::TextToVideo),
                    ..Default::default()
                },
                base: 0.0,
                per_unit: usd_per_second(UpstreamModel::Gen45),
            },
            Rate {
                when: RateCondition {
                    quality: Some("1080p".into()),
                    ..Default::default()
                },
                base: 0.0,
                per_unit: usd_per_second(UpstreamModel::Gen45),
            },
            Rate {
                when: RateCondition::default(),
                base: 0.0,
                per_unit: usd_per_second(UpstreamModel::Gen4Turbo),
            },
        ],
        source: Some(
            "spec/upstreams.md (unverified): gen4_turbo 5 credits/s, gen4.5 12 credits/s, 1 credit = $0.01"
                .into(),
        ),
    }
}

fn restrict(mut cap: Capability, ops: &[Operation]) -> Capability {
    cap.text_to_video &= ops.contains(&Operation::TextToVideo);
    cap.image_to_video &= ops.contains(&Operation::ImageToVideo);
    cap.start_end_frame &= ops.contains(&Operation::StartEndFrame);
    cap
}

/// The video offerings for every catalog entry served by `runway`, restricted to the
/// operations the catalog gives the model. A provider model other than
/// [`CATALOG_PROVIDER_MODEL`] (an operator override naming a Runway model genmux does not
/// know) is skipped with a warning rather than offered with guessed limits.
pub fn offerings(catalog: &Catalog) -> Vec<Offering> {
    let mut out = Vec::new();
    for model in catalog.models() {
        for pm in model.providers.iter().filter(|p| p.provider == crate::ID) {
            if pm.model != CATALOG_PROVIDER_MODEL || model.kind != MediaKind::Video {
                tracing::warn!(model = %model.id, provider_model = %pm.model,
                    "runway: no capability known for this provider model; not offered");
                continue;
            }
            let ops: Vec<Operation> = model
                .operations
                .iter()
                .copied()
                .filter(|op| pm.operations.is_empty() || pm.operations.contains(op))
                .collect();
            out.push(Offering {
                model: model.id.clone(),
                provider_model: pm.model.clone(),
                capability: restrict(capability(), &ops),
                cost: cost(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use genmux_core::PriceInputs;

    #[test]
    fn the_catalog_runway_model_is_offered_with_its_operations() {
        let offered = offerings(Catalog::builtin());
        assert_eq!(offered.len(), 1, "{offered:?}");
        let o = &offered[0];
        assert_eq!(
            (o.model.as_str(), o.provider_model.as_str()),
            ("runway", "gen4")
        );
        let c = o.capability;
        assert!(c.text_to_video && c.image_to_video);
        // The catalog gives `runway` no start/end-frame operation.
        assert!(!c.start_end_frame);
        assert!(c.cancel && c.polling.poll_only);
        assert_eq!(c.polling.min_interval_secs, 5);
        assert_eq!(c.unknown_lookup, UnknownLookup::NotFindable);
        assert!(c.durations.unwrap().contains(5) && c.durations.unwrap().contains(10));
        assert!(!c.durations.unwrap().contains(6));
        // The router's candidate check sends Runway only the lengths it takes.
        let req = |d| genmux_core::GenerationRequest {
            model: "runway".into(),
            prompt: Some("a fox".into()),
            duration: Some(d),
            ..Default::default()
        };
        assert_eq!(c.supports(&req(10), Operation::TextToVideo), Ok(()));
        assert!(c
            .supports(&req(8), Operation::TextToVideo)
            .unwrap_err()
            .starts_with("duration: 8"));
    }

    #[test]
    fn costs_follow_the_credit_table() {
        let micros = |op, quality, seconds| {
            cost()
                .amount_micros(&PriceInputs {
                    operation: Some(op),
                    quality: Some(quality),
                    seconds,
                    ..Default::default()
                })
                .unwrap()
        };
        // gen4.5 12 credits/s: 10 s text = 120 credits = $1.20.
        assert_eq!(micros(Operation::TextToVideo, "720p", 10), 1_200_000);
        // gen4_turbo 5 credits/s: 5 s = $0.25.
        assert_eq!(micros(Operation::ImageToVideo, "720p", 5), 250_000);
        // 1080p image goes to gen4.5: 5 s = $0.60.
        assert_eq!(micros(Operation::ImageToVideo, "1080p", 5), 600_000);
    }
}
