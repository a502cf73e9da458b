//! What each Seedance model can do (its [`Capability`], from the one table of
//! [`crate::rules`], which cites `spec/upstreams.md` beside each limit) and what it costs
//! upstream in USD (spec "Billing": tokens = w × h × 24 × s / 1024 at $1.2 per million,
//! $2.4 with audio). [`offerings_at`] pairs them with the catalog's `provider = "seedance"`
//! entries.

use crate::rules::{self, frame_16_9, tokens};
use genmux_core::pricing::{PriceUnit, Rate, RateCondition};
use genmux_core::{Capability, Catalog, MediaKind, Offering, Operation, PriceRule, UnknownLookup};

/// US dollars per million tokens without audio (spec "Billing": ≈ $1.2; with audio
/// $2.4, i.e. twice).
pub const USD_PER_MILLION_TOKENS: f64 = 1.2;

/// The capability of a Seedance provider model, or `None` for a name genmux does not know.
pub fn capability(provider_model: &str) -> Option<Capability> {
    let r = rules::rules(provider_model)?;
    Some(Capability {
        // spec: "1.5 Pro: 0 images = text to video, 1 = first frame, 2 = first + last frame".
        text_to_video: true,
        image_to_video: r.max_images >= 1,
        start_end_frame: r.max_images >= 2,
        // spec: `generate_audio` (audio doubles the token price).
        audio: r.audio,
        // `camera_fixed` is a switch, not a camera movement: the catalog's `fixedLens`.
        camera_control: false,
        negative_prompt: false,
        cfg_scale: false,
        multi_shot: false,
        elements: false,
        masks: false,
        // spec: create answers `{"id"}` and takes no id of ours; the only way to a task is
        // its id, so a submission whose answer was lost is found by its callback (to the
        // per-task URL), never by a lookup.
        unknown_lookup: UnknownLookup::NotFindable,
        // spec lists create and query only.
        cancel: false,
        max_images: Some(r.max_images),
        // spec: "duration seconds (1.5 Pro: 4–12)".
        durations: Some(r.durations),
        // The spec gives no prompt limit: the catalog's stands.
        max_prompt_chars: None,
        ..Default::default()
    })
}

/// The upstream cost of a Seedance provider model at `usd_per_million` USD per million
/// tokens (twice that with audio), or `None` for an unknown name. Per second by
/// resolution, from the 16:9 frame (a price rule cannot see the ratio; the spec sizes no
/// other).
pub fn cost_at(provider_model: &str, usd_per_million: f64) -> Option<PriceRule> {
    let r = rules::rules(provider_model)?;
    let rates = r
        .resolutions
        .iter()
        .filter_map(|res| {
            let (w, h) = frame_16_9(res)?;
            Some(Rate {
                when: RateCondition {
                    resolution: Some((*res).to_string()),
                    ..Default::default()
                },
                base: 0.0,
                per_unit: tokens(w, h, 1) as f64 * usd_per_million / 1e6,
            })
        })
        .collect();
    Some(PriceRule {
        unit: PriceUnit::Second,
        offset: 0,
        billing_increment: 1,
        // spec: "$1.2 per million tokens without audio and $2.4 with".
        audio_percent: 200,
        rates,
        source: Some(format!(
            "spec/upstreams.md Seedance: tokens = w × h × 24 × s / 1024 at ${usd_per_million} per million (×2 with audio)"
        )),
    })
}

/// The offerings for every catalog entry served by `seedance`, for an account paying
/// `usd_per_million` per million tokens. A provider model genmux has no rules for is
/// skipped with a warning rather than offered with guessed limits.
pub fn offerings_at(catalog: &Catalog, usd_per_million: f64) -> Vec<Offering> {
    let mut out = Vec::new();
    for model in catalog.models().filter(|m| m.kind == MediaKind::Video) {
        for pm in model
            .providers
            .iter()
            .filter(|p| p.provider == crate::provider::ID)
        {
            let (Some(mut cap), Some(cost)) =
                (capability(&pm.model), cost_at(&pm.model, usd_per_million))
            else {
                tracing::warn!(
                    model = %model.id,
                    provider_model = %pm.model,
                    "seedance: no rules known for this provider model; not offered"
                );
                continue;
            };
            let serves = |op: Operation| {
                model.operations.contains(&op)
                    && (pm.operations.is_empty() || pm.operations.contains(&op))
            };
            cap.text_to_video &= serves(Operation::TextToVideo);
            cap.image_to_video &= serves(Operation::ImageToVideo);
            cap.start_end_frame &= serves(Operation::StartEndFrame);
            out.push(Offering {
                model: model.id.clone(),
                provider_model: pm.model.clone(),
                capability: cap,
                cost,
            });
        }
    }
    out
}

/// [`offerings_at`] at the spec's [`USD_PER_MILLION_TOKENS`].
pub fn offerings(catalog: &Catalog) -> Vec<Offering> {
    offerings_at(catalog, USD_PER_MILLION_TOKENS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use genmux_core::PriceInputs;

    #[test]
    fn the_catalog_model_is_offered_with_its_three_operations() {
        let o = offerings(Catalog::builtin());
        assert_eq!(o.len(), 1, "{o:?}");
        let o = &o[0];
        assert_eq!(
            (o.model.as_str(), o.provider_model.as_str()),
            ("seedance-1.5-pro", "seedance-1-5-pro-251215")
        );
        let c = o.capability;
        assert!(c.text_to_video && c.image_to_video && c.start_end_frame);
        assert!(!c.multi_image_to_video && !c.negative_prompt && !c.camera_control);
        assert!(c.audio);
        assert_eq!(c.max_images, Some(2));
        assert_eq!(c.unknown_lookup, UnknownLookup::NotFindable);
        // Every duration the catalog allows is one Ark takes.
        for d in [4, 8, 12] {
            assert!(c.durations.unwrap().contains(d));
        }
    }

    #[test]
    fn cost_is_the_token_formula() {
        let rule = cost_at("seedance-1-5-pro-251215", USD_PER_MILLION_TOKENS).unwrap();
        let at = |res, seconds, audio| {
            rule.amount_micros(&PriceInputs {
                resolution: Some(res),
                seconds,
                audio,
                ..Default::default()
            })
            .unwrap()
        };
        // 720p: 21,600 tokens/s × $1.2/M = $0.02592/s; 8 s = $0.20736.
        assert_eq!(at("720p", 8, false), 207_360);
        // With audio $2.4/M.
        assert_eq!(at("720p", 8, true), 414_720);
        // 480p 864×480: 9,720 tokens/s; 1080p 1920×1080: 48,600 tokens/s.
        assert_eq!(at("480p", 4, false), 46_656);
        assert_eq!(at("1080p", 12, false), 699_840);
        // An account at a discount.
        let cheap = cost_at("seedance-1-5-pro-251215", 0.6).unwrap();
        assert_eq!(
            cheap
                .amount_micros(&PriceInputs {
                    resolution: Some("720p"),
                    seconds: 8,
                    ..Default::default()
                })
                .unwrap(),
            103_680
        );
    }

    #[test]
    fn unknown_provider_models_are_not_guessed() {
        assert!(capability("dreamina-seedance-2-0-260128").is_none());
        assert!(cost_at("seedance-9", 1.2).is_none());
    }
}
