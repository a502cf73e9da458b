//! What the xAI video API accepts, stated once (`spec/upstreams.md`, "xAI Grok Imagine
//! video"): read by the offerings (capability literals) and by the mapping (which refuses
//! anything else before it leaves, naming the field). The simulator restates these rules
//! on its own from the spec, so the two are checked against each other.

use genmux_core::SecondsSet;

/// The video models of `POST /v1/videos/generations`
/// (spec: `model: "grok-imagine-video" | "grok-imagine-video-1.5" | …`).
pub const MODELS: &[&str] = &["grok-imagine-video", "grok-imagine-video-1.5"];

/// Shortest video in seconds (spec: `duration 1–15`).
pub const MIN_DURATION_SECS: u32 = 1;
/// Longest video in seconds (spec: `duration 1–15`).
pub const MAX_DURATION_SECS: u32 = 15;

/// Every duration xAI accepts, as a capability declares it: the router sends a request
/// here only when its duration is in this set (spec: `duration 1–15`; the catalog's
/// `grok-video` goes to 30 s, which only midsync serves).
pub const DURATIONS: SecondsSet = SecondsSet::range(MIN_DURATION_SECS, MAX_DURATION_SECS);

/// Aspect ratios (spec: `aspect_ratio 1:1|16:9|9:16|4:3|3:4|3:2|2:3`).
pub const ASPECT_RATIOS: &[&str] = &["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3"];

/// Resolutions (spec: `resolution 480p|720p`).
pub const RESOLUTIONS: &[&str] = &["480p", "720p"];

/// Input images per request: one start frame (spec: `image: {url}?`).
pub const MAX_IMAGES: u8 = 1;

/// Whether genmux knows the rules of this xAI model.
pub fn knows_model(model: &str) -> bool {
    MODELS.contains(&model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_one_to_fifteen() {
        assert!(DURATIONS.contains(1) && DURATIONS.contains(15));
        assert!(!DURATIONS.contains(0) && !DURATIONS.contains(16) && !DURATIONS.contains(30));
    }
}
