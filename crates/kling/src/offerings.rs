//! What each Kling model can do (its [`Capability`], read from the one table of
//! [`crate::rules`], which cites `spec/kling-api.md` beside each limit) and what it costs
//! upstream in USD (spec "Indicative prices": 1 unit ≈ $0.14). [`offerings`] pairs them
//! with the catalog's `provider = "kling"` entries.

use crate::rules::{self, CfgScale, Sound, UnitPrice};
use genmux_core::pricing::{PriceUnit, Rate, RateCondition};
use genmux_core::{Capability, Catalog, MediaKind, Offering, Operation, PriceRule};

/// US dollars per Kling unit (spec "Indicative prices").
pub const USD_PER_UNIT: f64 = 0.14;

/// The capability of a Kling provider model, or `None` for a name genmux does not know:
/// read from its row of [`crate::rules`], where each limit cites `spec/kling-api.md`.
///
/// `cancel` stays `false` for every model: Kling `/v1` has no endpoint that cancels a task
/// (spec/kling-api.md lists create, query and list endpoints only).
pub fn capability(provider_model: &str) -> Option<Capability> {
    let r = rules::rules(provider_model)?;
    Some(Capability {
        text_to_video: r.serves(Operation::TextToVideo),
        image_to_video: r.serves(Operation::ImageToVideo),
        start_end_frame: r.serves(Operation::StartEndFrame),
        multi_image_to_video: r.serves(Operation::MultiImageToVideo),
        motion_control: r.serves(Operation::MotionControl),
        video_extend: r.serves(Operation::VideoExtend),
        lip_sync: r.serves(Operation::LipSync),
        text_to_image: r.serves(Operation::TextToImage),
        image_to_image: r.serves(Operation::ImageToImage),
        omni_image: r.serves(Operation::OmniImage),
        audio: r.sound != Sound::No,
        camera_control: r.camera_control,
        negative_prompt: r.negative_prompt,
        // A V2.x model takes the catalog's cfgScale and does not forward it (§2).
        cfg_scale: r.cfg_scale != CfgScale::No,
        multi_shot: r.multi_shot.is_some(),
        elements: r.max_elements > 0,
        masks: r.masks,
        unknown_lookup: r.unknown_lookup(),
        cancel: false,
        // Kling calls back (spec/kling-api.md "Errors, limits, callbacks") and asks for no
        // minimum poll interval.
        polling: Default::default(),
        max_images: Some(r.max_images),
        durations: r.durations,
        max_prompt_chars: r.max_prompt_chars,
    })
}

fn usd(units: f64) -> f64 {
    units * USD_PER_UNIT
}

fn when_mode(mode: &str) -> RateCondition {
    RateCondition {
        mode: Some(mode.into()),
        ..Default::default()
    }
}

fn when_audio(audio: bool, mode: Option<&str>) -> RateCondition {
    RateCondition {
        audio: Some(audio),
        mode: mode.map(Into::into),
        ..Default::default()
    }
}

fn rule(unit: PriceUnit, billing_increment: u32, rates: Vec<Rate>, source: &str) -> PriceRule {
    PriceRule {
        unit,
        offset: 0,
        billing_increment,
        audio_percent: 100,
        rates,
        source: Some(source.to_string()),
    }
}

fn per_second(when: RateCondition, units_per_second: f64) -> Rate {
    Rate {
        when,
        base: 0.0,
        per_unit: usd(units_per_second),
    }
}

/// The upstream cost of a Kling provider model in USD, or `None` for an unknown name: its
/// row's [`UnitPrice`] (spec "Indicative prices", stated once in [`crate::rules`]) at
/// [`USD_PER_UNIT`]. Rates are tried in order, the first match wins.
pub fn cost(provider_model: &str) -> Option<PriceRule> {
    use PriceUnit::*;
    let r = rules::rules(provider_model)?;
    let any = RateCondition::default;
    let source = format!("{} (Kling units × ${USD_PER_UNIT})", r.source);
    Some(match r.price {
        UnitPrice::PerSecond {
            std,
            pro,
            std_sound,
            pro_sound,
        } => {
            let mut rates = Vec::new();
            match r.sound {
                // Sound is sent in pro mode whatever was asked (rules::Sound::ProOnly).
                Sound::ProOnly => {
                    rates.extend(pro_sound.map(|u| per_second(when_audio(true, None), u)))
                }
                Sound::AnyMode => {
                    rates.extend(pro_sound.map(|u| per_second(when_audio(true, Some("pro")), u)));
                    rates.extend(std_sound.map(|u| per_second(when_audio(true, None), u)));
                }
                Sound::No => {}
            }
            rates.push(per_second(when_mode("pro"), pro));
            rates.push(per_second(any(), std));
            rule(Second, 1, rates, &source)
        }
        UnitPrice::PerRequest(units) => rule(
            Request,
            1,
            vec![Rate {
                when: any(),
                base: usd(units),
                per_unit: 0.0,
            }],
            &source,
        ),
        UnitPrice::PerBlock { seconds, units } => rule(
            Second,
            seconds,
            vec![per_second(any(), units / f64::from(seconds.max(1)))],
            &source,
        ),
        UnitPrice::PerImage { k1, k2 } => rule(
            Image,
            1,
            vec![
                Rate {
                    when: RateCondition {
                        resolution: Some("2k".into()),
                        ..Default::default()
                    },
                    base: 0.0,
                    per_unit: usd(k2),
                },
                Rate {
                    when: any(),
                    base: 0.0,
                    per_unit: usd(k1),
                },
            ],
            &source,
        ),
    })
}

/// Keeps only the operations `ops` in `cap`.
fn restrict(mut cap: Capability, ops: &[Operation]) -> Capability {
    let keep = |op| ops.contains(&op);
    cap.text_to_video &= keep(Operation::TextToVideo);
    cap.image_to_video &= keep(Operation::ImageToVideo);
    cap.start_end_frame &= keep(Operation::StartEndFrame);
    cap.multi_image_to_video &= keep(Operation::MultiImageToVideo);
    cap.motion_control &= keep(Operation::MotionControl);
    cap.video_extend &= keep(Operation::VideoExtend);
    cap.lip_sync &= keep(Operation::LipSync);
    cap.text_to_image &= keep(Operation::TextToImage);
    cap.image_to_image &= keep(Operation::ImageToImage);
    cap.omni_image &= keep(Operation::OmniImage);
    cap
}

/// The video and image offerings for every catalog entry served by `kling`, priced at the
/// spec's indicative [`USD_PER_UNIT`].
pub fn offerings(catalog: &Catalog) -> (Vec<Offering>, Vec<Offering>) {
    offerings_at(catalog, USD_PER_UNIT)
}

/// [`cost`] for an account paying `usd_per_unit` per Kling unit: the unit counts of the
/// spec's price list are the same for everyone; what a unit costs depends on the packs the
/// account bought (issue 14 point 4).
pub fn cost_at(provider_model: &str, usd_per_unit: f64) -> Option<PriceRule> {
    let mut rule = cost(provider_model)?;
    let factor = usd_per_unit / USD_PER_UNIT;
    for r in &mut rule.rates {
        r.base *= factor;
        r.per_unit *= factor;
    }
    if let Some(source) = &mut rule.source {
        source.push_str(&format!(" × ${usd_per_unit} per unit"));
    }
    Some(rule)
}

/// The video and image offerings for every catalog entry served by `kling`, for an account
/// paying `usd_per_unit`. A provider model genmux has no capability for (an operator
/// override naming a new Kling model) is skipped with a warning rather than offered with
/// guessed limits.
pub fn offerings_at(catalog: &Catalog, usd_per_unit: f64) -> (Vec<Offering>, Vec<Offering>) {
    let (mut video, mut image) = (Vec::new(), Vec::new());
    for model in catalog.models() {
        for pm in model.providers.iter().filter(|p| p.provider == "kling") {
            let (Some(cap), Some(cost)) = (capability(&pm.model), cost_at(&pm.model, usd_per_unit))
            else {
                tracing::warn!(
                    model = %model.id,
                    provider_model = %pm.model,
                    "kling: no capability known for this provider model; not offered"
                );
                continue;
            };
            let ops: Vec<Operation> = model
                .operations
                .iter()
                .copied()
                .filter(|op| pm.operations.is_empty() || pm.operations.contains(op))
                .collect();
            let mut capability = restrict(cap, &ops);
            // Kling takes subject-library ids (`elementIds`), never the unified image groups
            // (`klingElements`): a catalog model whose elements are groups (kling-3.0) is
            // not an element offering of Kling's, so such requests go to another provider.
            capability.elements &= model.field("elementIds").is_some();
            let offering = Offering {
                model: model.id.clone(),
                provider_model: pm.model.clone(),
                capability,
                cost,
            };
            match model.kind {
                MediaKind::Video => video.push(offering),
                MediaKind::Image => image.push(offering),
            }
        }
    }
    (video, image)
}

#[cfg(test)]
mod tests {
    use super::*;
    use genmux_core::PriceInputs;

    fn micros(pm: &str, inputs: PriceInputs<'_>) -> i64 {
        cost(pm).unwrap().amount_micros(&inputs).unwrap()
    }

    #[test]
    fn every_kling_catalog_entry_is_offered_with_its_operations() {
        let catalog = Catalog::builtin();
        let (video, image) = offerings(catalog);
        let mut expected = 0;
        for m in catalog.models() {
            for pm in m.providers.iter().filter(|p| p.provider == "kling") {
                expected += 1;
                let list = if m.kind == MediaKind::Video {
                    &video
                } else {
                    &image
                };
                let o = list
                    .iter()
                    .find(|o| o.model == m.id && o.provider_model == pm.model)
                    .unwrap_or_else(|| panic!("{} / {} not offered", m.id, pm.model));
                for op in &m.operations {
                    let served = pm.operations.is_empty() || pm.operations.contains(op);
                    assert_eq!(o.capability.has_operation(*op), served, "{} {op}", pm.model);
                }
            }
        }
        assert_eq!(video.len() + image.len(), expected);
        assert!(
            expected >= 10,
            "the catalog names {expected} kling provider models"
        );
        // kling-image is split by operation across two Kling models.
        let ti = image
            .iter()
            .find(|o| o.provider_model == "kling-v2-1")
            .unwrap();
        assert!(ti.capability.text_to_image && !ti.capability.image_to_image);
        let ii = image
            .iter()
            .find(|o| o.provider_model == "kling-v1-5")
            .unwrap();
        assert!(ii.capability.image_to_image && !ii.capability.text_to_image);
    }

    /// Kling's element offerings are the models whose catalog elements are subject ids:
    /// kling-3.0's are image groups (another provider's), kling-3.0-motion-control's and
    /// omni-image's are ids.
    #[test]
    fn elements_are_offered_only_as_subject_ids() {
        let (video, image) = offerings(Catalog::builtin());
        let elements = |model: &str| {
            video
                .iter()
                .chain(&image)
                .find(|o| o.model == model)
                .map(|o| o.capability.elements)
        };
        assert_eq!(elements("kling-3.0"), Some(false));
        assert_eq!(elements("kling-3.0-motion-control"), Some(true));
        assert_eq!(elements("kling-omni-image"), Some(true));
        assert_eq!(elements("kling-motion-control"), Some(false));
    }

    #[test]
    fn unknown_provider_models_are_not_guessed() {
        assert!(capability("kling-v9").is_none());
        assert!(cost("kling-v9").is_none());
    }

    #[test]
    fn costs_follow_the_indicative_prices() {
        // v2.5-turbo std 5 s = 1.5 units = $0.21; pro = 2.5 units = $0.35.
        let std5 = PriceInputs {
            seconds: 5,
            ..Default::default()
        };
        assert_eq!(micros("kling-v2-5-turbo", std5.clone()), 210_000);
        let pro10 = PriceInputs {
            seconds: 10,
            mode: Some("pro"),
            ..Default::default()
        };
        assert_eq!(micros("kling-v2-5-turbo", pro10), 700_000);
        // v2.6 pro + audio 5 s = 5 units = $0.70.
        let audio = PriceInputs {
            seconds: 5,
            audio: true,
            ..Default::default()
        };
        assert_eq!(micros("kling-v2-6", audio), 700_000);
        // v3 pro + audio per second 1.2 units; 10 s = $1.68.
        let v3 = PriceInputs {
            seconds: 10,
            audio: true,
            mode: Some("pro"),
            ..Default::default()
        };
        assert_eq!(micros("kling-v3", v3), 1_680_000);
        let v3std = PriceInputs {
            seconds: 10,
            mode: Some("std"),
            ..Default::default()
        };
        assert_eq!(micros("kling-v3", v3std), 840_000);
        // motion control std 0.9 units/s; 8 s = $1.008.
        let mc = PriceInputs {
            seconds: 8,
            mode: Some("std"),
            ..Default::default()
        };
        assert_eq!(micros("motion-control", mc), 1_008_000);
        // lip sync 0.5 units per 5 s: 6 s is billed as 10 s = 1 unit = $0.14.
        let ls = PriceInputs {
            seconds: 6,
            ..Default::default()
        };
        assert_eq!(micros("advanced-lip-sync", ls), 140_000);
        // images per image.
        let imgs = PriceInputs {
            images: 4,
            resolution: Some("2k"),
            ..Default::default()
        };
        assert_eq!(micros("kling-v2-1", imgs), 280_000);
    }
}
