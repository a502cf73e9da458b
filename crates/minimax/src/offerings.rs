//! What each MiniMax model offers (capability literals citing `spec/upstreams.md`,
//! "MiniMax Hailuo") and what it costs upstream, for every catalog model whose
//! `providers` line names `minimax`.

use crate::rules::{self, HAILUO_02, HAILUO_2_3, HAILUO_2_3_FAST};
use genmux_core::pricing::{PriceRule, PriceUnit, Rate, RateCondition};
use genmux_core::{Capability, Catalog, MediaKind, Offering, Operation, SecondsSet, UnknownLookup};

/// The provider id in the catalog's `providers` lines.
pub const PROVIDER: &str = crate::error::PROVIDER;

/// The capability of a MiniMax v1 model, before the catalog's operations restrict it.
pub fn capability(provider_model: &str) -> Option<Capability> {
    let m = rules::model(provider_model)?;
    Some(Capability {
        // spec: Hailuo 2.3 and 02 make video from a prompt; 2.3-Fast is "image to video only".
        text_to_video: m.text_to_video,
        // spec: `first_frame_image`.
        image_to_video: true,
        // spec: `last_frame_image` (02 only).
        start_end_frame: m.last_frame,
        // spec: no audio, camera, negative prompt, cfg, shots, elements or masks fields.
        // spec: MiniMax takes no id of ours and has no task list, so a submission whose
        // answer was lost is found only when its callback names it (X4: never refunded on
        // a guess).
        unknown_lookup: UnknownLookup::NotFindable,
        // spec: no cancel endpoint.
        cancel: false,
        max_images: Some(if m.last_frame { 2 } else { 1 }),
        // spec: `duration` 6 | 10 (1080P only with 6 s: checked by the mapping, which
        // a capability cannot express).
        durations: Some(SecondsSet::of(&rules::DURATIONS)),
        // spec: `prompt` ≤ 2000 chars.
        max_prompt_chars: Some(rules::MAX_PROMPT_CHARS),
        ..Default::default()
    })
}

/// The upstream cost of a MiniMax model in USD, per video. `unit = second`,
/// `offset = 6`: `base + per_unit × (seconds − 6)`.
///
/// - 768P: spec "about $0.28 per 6 s and $0.56 per 10 s" (*unverified*) → base 0.28,
///   0.07 per second beyond 6 s.
/// - 1080P (6 s only): the spec gives no price. $0.49 per video, MiniMax's public
///   pay-as-you-go list for Hailuo 02/2.3 at 1080P 6 s as we know it (*unverified*); it
///   only orders MiniMax against midsync, whose 34 points ($0.68) it stays below either
///   way.
///
/// 2.3-Fast is assumed at the same price (no figure in the spec; an overestimate only
/// ranks it later).
pub fn cost(provider_model: &str) -> Option<PriceRule> {
    if ![HAILUO_2_3, HAILUO_2_3_FAST, HAILUO_02].contains(&provider_model) {
        return None;
    }
    let at = |resolution: &str| RateCondition {
        resolution: Some(resolution.to_string()),
        ..Default::default()
    };
    Some(PriceRule {
        unit: PriceUnit::Second,
        offset: rules::DURATION_WITH_1080P,
        billing_increment: 1,
        audio_percent: 100,
        rates: vec![
            Rate {
                when: at(rules::RESOLUTION_1080P),
                base: 0.49,
                per_unit: 0.0,
            },
            Rate {
                when: at(rules::RESOLUTION_768P),
                base: 0.28,
                per_unit: 0.07,
            },
        ],
        source: Some(
            "spec/upstreams.md MiniMax: ~$0.28 per 6 s, $0.56 per 10 s at 768P (unverified); \
             1080P 6 s assumed $0.49"
                .into(),
        ),
    })
}

/// Keeps only the operations `ops` in `cap`.
fn restrict(mut cap: Capability, ops: &[Operation]) -> Capability {
    let keep = |op| ops.contains(&op);
    cap.text_to_video &= keep(Operation::TextToVideo);
    cap.image_to_video &= keep(Operation::ImageToVideo);
    cap.start_end_frame &= keep(Operation::StartEndFrame);
    cap
}

/// The offerings for every catalog model served by `minimax`: the model's operations (as
/// its `providers` line narrows them) that the MiniMax model can do. A provider model
/// genmux knows nothing of is skipped with a warning rather than offered with guessed
/// limits; so is a non-video catalog model.
pub fn offerings(catalog: &Catalog) -> Vec<Offering> {
    let mut out = Vec::new();
    for model in catalog.models() {
        for pm in model.providers.iter().filter(|p| p.provider == PROVIDER) {
            let (Some(cap), Some(cost), MediaKind::Video) =
                (capability(&pm.model), cost(&pm.model), model.kind)
            else {
                tracing::warn!(model = %model.id, provider_model = %pm.model,
                    "minimax: no video capability known for this provider model; not offered");
                continue;
            };
            let ops: Vec<Operation> = model
                .operations
                .iter()
                .copied()
                .filter(|op| pm.operations.is_empty() || pm.operations.contains(op))
                .collect();
            out.push(Offering {
                model: model.id.clone(),
                provider_model: pm.model.clone(),
                capability: restrict(cap, &ops),
                cost,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use genmux_core::PriceInputs;

    fn usd_micros(model: &str, seconds: u32, resolution: &str) -> i64 {
        cost(model)
            .unwrap()
            .amount_micros(&PriceInputs {
                seconds,
                resolution: Some(resolution),
                ..Default::default()
            })
            .unwrap()
    }

    #[test]
    fn costs_follow_the_spec() {
        assert_eq!(usd_micros(HAILUO_2_3, 6, "768P"), 280_000);
        assert_eq!(usd_micros(HAILUO_2_3, 10, "768P"), 560_000);
        assert_eq!(usd_micros(HAILUO_2_3, 6, "1080P"), 490_000);
        assert!(cost("MiniMax-H3").is_none());
    }

    #[test]
    fn hailuo_2_3_standard_is_offered_as_image_to_video_only() {
        let offered = offerings(Catalog::builtin());
        let o = offered
            .iter()
            .find(|o| o.model == "hailuo-2.3-standard")
            .expect("the catalog names minimax for hailuo-2.3-standard");
        assert_eq!(o.provider_model, HAILUO_2_3);
        let cap = o.capability;
        // spec (aggregator section): hailuo-2.3-standard is image to video only.
        assert!(cap.image_to_video && !cap.text_to_video && !cap.start_end_frame);
        assert_eq!(cap.unknown_lookup, UnknownLookup::NotFindable);
        assert!(!cap.cancel && !cap.audio);
        assert!(cap.durations.unwrap().contains(6) && cap.durations.unwrap().contains(10));
        assert!(!cap.durations.unwrap().contains(5));
        assert_eq!(cap.max_prompt_chars, Some(2000));
        // Cheaper than midsync's 34 points ($0.68) for the catalog's 10 s 768P.
        let ten = PriceInputs {
            seconds: 10,
            resolution: Some("768P"),
            ..Default::default()
        };
        assert!(o.cost_micros(&ten) < 680_000);
    }

    #[test]
    fn every_minimax_catalog_entry_is_offered() {
        let catalog = Catalog::builtin();
        let named: usize = catalog
            .models()
            .map(|m| {
                m.providers
                    .iter()
                    .filter(|p| p.provider == PROVIDER)
                    .count()
            })
            .sum();
        assert!(named >= 1);
        assert_eq!(offerings(catalog).len(), named);
    }
}
