//! What each xAI video model can do (its [`Capability`], a struct literal citing
//! `spec/upstreams.md` beside each limit) and what it costs upstream in USD.
//! [`offerings`] pairs them with the catalog's `provider = "xai"` entries.

use crate::error::PROVIDER;
use crate::rules;
use genmux_core::pricing::{PriceUnit, Rate, RateCondition};
use genmux_core::{Capability, Catalog, MediaKind, Offering, Operation, PriceRule, UnknownLookup};

/// The capability of an xAI video model, or `None` for a name genmux does not know.
pub fn capability(provider_model: &str) -> Option<Capability> {
    if !rules::knows_model(provider_model) {
        return None;
    }
    Some(Capability {
        // spec/upstreams.md, xAI: `POST /v1/videos/generations {model, prompt, …}`.
        text_to_video: true,
        // spec/upstreams.md, xAI: `image: {url}?` — one start frame.
        image_to_video: true,
        max_images: Some(rules::MAX_IMAGES),
        // spec/upstreams.md, xAI: `duration 1–15`; the provider table: "durations it
        // accepts: 1–15 s". Longer catalog durations (grok-video goes to 30 s) are routed
        // to midsync.
        durations: Some(rules::DURATIONS),
        // spec/upstreams.md, xAI: no external or idempotency id is sent and no task list
        // exists, so a submission whose answer was lost cannot be found: its hold stays
        // until an operator deadline (X4).
        unknown_lookup: UnknownLookup::NotFindable,
        // spec/upstreams.md, xAI: no cancel endpoint (create and query only).
        cancel: false,
        // The spec gives no prompt limit; the catalog's applies.
        max_prompt_chars: None,
        // spec/upstreams.md, xAI: no audio, camera, negative prompt, cfg, shots, elements,
        // masks, start+end frames in the request.
        ..Capability::default()
    })
}

/// US dollars per second at 480p (spec/upstreams.md, xAI: "≈ $0.05/s (480p)",
/// *unverified*; the billed `usage.cost_in_usd_ticks` is authoritative).
pub const USD_PER_SECOND_480P: f64 = 0.05;
/// US dollars per second at 720p (spec/upstreams.md, xAI: "≈ $0.07/s (720p)", *unverified*).
pub const USD_PER_SECOND_720P: f64 = 0.07;

/// The upstream cost of an xAI video model in USD, or `None` for an unknown name. Only
/// orders candidates; what a task cost is read from the finished task.
pub fn cost(provider_model: &str) -> Option<PriceRule> {
    if !rules::knows_model(provider_model) {
        return None;
    }
    let per_second = |resolution: &str, usd: f64| Rate {
        when: RateCondition {
            resolution: Some(resolution.into()),
            ..Default::default()
        },
        base: 0.0,
        per_unit: usd,
    };
    Some(PriceRule {
        unit: PriceUnit::Second,
        offset: 0,
        billing_increment: 1,
        audio_percent: 100,
        rates: vec![
            per_second("480p", USD_PER_SECOND_480P),
            per_second("720p", USD_PER_SECOND_720P),
        ],
        source: Some(
            "spec/upstreams.md, xAI: ≈ $0.05/s 480p, $0.07/s 720p (unverified; the billed cost_in_usd_ticks is authoritative)".into(),
        ),
    })
}

/// The offerings of every catalog video model served by `xai`, restricted to the
/// operations the catalog offers for it. A provider model genmux has no rules for (an
/// operator override naming a new xAI model) is skipped with a warning rather than
/// offered with guessed limits.
pub fn offerings(catalog: &Catalog) -> Vec<Offering> {
    let mut out = Vec::new();
    for model in catalog.models().filter(|m| m.kind == MediaKind::Video) {
        for pm in model.providers.iter().filter(|p| p.provider == PROVIDER) {
            let (Some(mut cap), Some(cost)) = (capability(&pm.model), cost(&pm.model)) else {
                tracing::warn!(
                    model = %model.id,
                    provider_model = %pm.model,
                    "xai: no rules known for this provider model; not offered"
                );
                continue;
            };
            let offered = |op: Operation| {
                model.operations.contains(&op)
                    && (pm.operations.is_empty() || pm.operations.contains(&op))
            };
            cap.text_to_video &= offered(Operation::TextToVideo);
            cap.image_to_video &= offered(Operation::ImageToVideo);
            if !cap.text_to_video && !cap.image_to_video {
                continue;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use genmux_core::{GenerationRequest, PriceInputs};

    #[test]
    fn grok_video_is_offered_for_what_xai_accepts() {
        let catalog = Catalog::builtin();
        let offers = offerings(catalog);
        let grok = offers
            .iter()
            .find(|o| o.model == "grok-video")
            .expect("the catalog's grok-video names provider xai");
        assert_eq!(grok.provider_model, "grok-imagine-video");
        // The catalog's grok-video is text to video only.
        assert!(grok.capability.text_to_video && !grok.capability.image_to_video);
        assert_eq!(grok.capability.unknown_lookup, UnknownLookup::NotFindable);
        assert!(!grok.capability.cancel);
        assert!(offers.iter().all(|o| o.model == "grok-video"), "{offers:?}");
    }

    /// The router asks `Capability::supports` before sending anything: a catalog-valid
    /// grok-video request of 6–15 s fits xAI, one of 16–30 s does not (midsync takes it).
    #[test]
    fn only_durations_xai_accepts_fit_the_offering() {
        let catalog = Catalog::builtin();
        let grok = offerings(catalog)
            .into_iter()
            .find(|o| o.model == "grok-video")
            .unwrap();
        for d in 6..=30u32 {
            let req = GenerationRequest {
                model: "grok-video".into(),
                prompt: Some("a dog on a beach".into()),
                duration: Some(d),
                ..Default::default()
            };
            let q = catalog.quote(&req).expect("the catalog allows 6–30 s");
            let fits = grok.capability.supports(&q.request, q.operation);
            if d <= 15 {
                assert_eq!(fits, Ok(()), "{d} s");
            } else {
                let why = fits.expect_err("longer than xAI accepts");
                assert!(why.starts_with(&format!("duration: {d}")), "{why}");
            }
        }
    }

    #[test]
    fn costs_follow_the_spec_per_second() {
        let rule = cost("grok-imagine-video").unwrap();
        let at = |resolution, seconds| {
            rule.amount_micros(&PriceInputs {
                resolution: Some(resolution),
                seconds,
                ..Default::default()
            })
            .unwrap()
        };
        assert_eq!(at("480p", 10), 500_000);
        assert_eq!(at("720p", 10), 700_000);
        assert_eq!(at("720p", 15), 1_050_000);
        assert!(cost("grok-9").is_none() && capability("grok-9").is_none());
    }
}
