//! What the Seedance models genmux offers accept, stated once (`spec/upstreams.md`,
//! Seedance "Create" and "Billing"), and read by the offerings, the mapping and the cost
//! table.

use genmux_core::SecondsSet;

/// What one Seedance model takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelRules {
    /// Durations in seconds a request may ask for (spec: "1.5 Pro: 4–12"). `−1` (the model
    /// decides) is also valid on the wire, but genmux never sends it: a price must be known
    /// before submitting.
    pub durations: SecondsSet,
    /// `resolution` values (spec: 480p|720p|1080p).
    pub resolutions: &'static [&'static str],
    /// `ratio` values (spec: 16:9|4:3|1:1|3:4|9:16|21:9|adaptive).
    pub ratios: &'static [&'static str],
    /// Most images (spec, 1.5 Pro: 0 = text to video, 1 = first frame, 2 = first + last).
    pub max_images: u8,
    /// Takes `generate_audio` (1.5 Pro does; spec "Billing": audio doubles the price).
    pub audio: bool,
    /// Takes `camera_fixed`.
    pub camera_fixed: bool,
}

/// Seedance 1.5 Pro, the model the catalog's `seedance-1.5-pro` names.
pub const SEEDANCE_1_5_PRO: ModelRules = ModelRules {
    // spec: "duration seconds (1.5 Pro: 4–12; −1 = model decides)".
    durations: SecondsSet::range(4, 12),
    // spec: "resolution 480p|720p|1080p (default 720p)".
    resolutions: &["480p", "720p", "1080p"],
    // spec: "ratio 16:9|4:3|1:1|3:4|9:16|21:9|adaptive".
    ratios: &["16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive"],
    // spec: "1.5 Pro: 0 images = text to video, 1 = first frame, 2 = first + last frame".
    max_images: 2,
    audio: true,
    camera_fixed: true,
};

/// The BytePlus id of Seedance 1.5 Pro (spec "Model ids").
pub const BYTEPLUS_1_5_PRO: &str = "seedance-1-5-pro-251215";
/// The Volcengine id of Seedance 1.5 Pro (spec "Model ids").
pub const VOLCENGINE_1_5_PRO: &str = "doubao-seedance-1-5-pro-251215";

/// The rules of a provider model (either region's id), or `None` for one genmux does not
/// know (Seedance 2.0 takes other inputs and is not in the catalog).
pub fn rules(provider_model: &str) -> Option<&'static ModelRules> {
    match provider_model {
        BYTEPLUS_1_5_PRO | VOLCENGINE_1_5_PRO => Some(&SEEDANCE_1_5_PRO),
        _ => None,
    }
}

/// Frames per second of every Seedance video (spec "Billing": fps(24)).
pub const FPS: u64 = 24;

/// Tokens per 1024 pixel-frames (spec "Billing": tokens = w × h × fps × s / 1024).
pub const PIXELS_PER_TOKEN: u64 = 1024;

/// The 16:9 frame of a resolution in pixels (the catalog's price source: 480p 864×480,
/// 720p 1280×720, 1080p 1920×1080). The spec gives sizes for no other ratio; the cost
/// estimate uses these (a price rule cannot see the ratio), the billed cost is Ark's own
/// `usage.completion_tokens`.
pub fn frame_16_9(resolution: &str) -> Option<(u64, u64)> {
    match resolution {
        "480p" => Some((864, 480)),
        "720p" => Some((1280, 720)),
        "1080p" => Some((1920, 1080)),
        _ => None,
    }
}

/// Tokens of a video (spec "Billing"): width × height × 24 × seconds / 1024.
///
/// ```
/// // 720p 16:9, 1 s: 1280 × 720 × 24 / 1024 = 21,600 tokens ≈ $0.026 at $1.2 per million.
/// assert_eq!(genmux_seedance::rules::tokens(1280, 720, 1), 21_600);
/// ```
pub fn tokens(width: u64, height: u64, seconds: u64) -> u64 {
    width * height * FPS * seconds / PIXELS_PER_TOKEN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_figure_for_720p() {
        let (w, h) = frame_16_9("720p").unwrap();
        // spec: "720p 16:9 ≈ $0.026/s".
        let usd_per_second = tokens(w, h, 1) as f64 * 1.2 / 1e6;
        assert!((usd_per_second - 0.026).abs() < 0.0005, "{usd_per_second}");
    }

    #[test]
    fn both_region_ids_are_1_5_pro_and_nothing_else_is_guessed() {
        assert_eq!(rules(BYTEPLUS_1_5_PRO), Some(&SEEDANCE_1_5_PRO));
        assert_eq!(rules(VOLCENGINE_1_5_PRO), Some(&SEEDANCE_1_5_PRO));
        assert_eq!(rules("dreamina-seedance-2-0-260128"), None);
        let r = SEEDANCE_1_5_PRO;
        assert!(r.durations.contains(4) && r.durations.contains(12));
        assert!(!r.durations.contains(3) && !r.durations.contains(13));
    }
}
