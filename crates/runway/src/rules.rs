//! What Runway accepts, stated once (`spec/upstreams.md`, Runway), read by the mapping and
//! the offerings. The simulator restates these from the spec independently.

use genmux_core::{Operation, SecondsSet};

/// spec: `promptText` ≤ 1000 UTF-16 code units.
pub const PROMPT_TEXT_MAX_UTF16: usize = 1000;

/// spec: `duration` 5 | 10 for gen4 models.
pub const GEN4_DURATIONS: SecondsSet = SecondsSet::of(&[5, 10]);

/// spec: "Poll `GET /v1/tasks/{id}` (no more than every 5 s)".
pub const MIN_POLL_INTERVAL_SECS: u32 = 5;

/// The ratio Runway is sent when an image-to-video request names no aspect ratio (the
/// catalog requires one only without an image; Runway requires `ratio` always): 16:9,
/// Runway's first listed ratio.
pub const DEFAULT_ASPECT_RATIO: &str = "16:9";

/// A Runway model genmux sends (spec provider table: `gen4_turbo` for images,
/// `gen4.5` for text and 1080p images).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UpstreamModel {
    /// `gen4_turbo`: image to video only (spec: "image required"), 5 credits/s.
    Gen4Turbo,
    /// `gen4.5`: text or image to video, 12 credits/s.
    Gen45,
}

impl UpstreamModel {
    /// The wire id.
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamModel::Gen4Turbo => "gen4_turbo",
            UpstreamModel::Gen45 => "gen4.5",
        }
    }

    /// The model for an operation at a quality (`720p` / `1080p`), per the provider table:
    /// text → gen4.5; image at 1080p → gen4.5; image otherwise → gen4_turbo. `None` for an
    /// operation Runway's gen4 models do not perform.
    pub fn for_request(op: Operation, quality: Option<&str>) -> Option<UpstreamModel> {
        match op {
            Operation::TextToVideo => Some(UpstreamModel::Gen45),
            Operation::ImageToVideo | Operation::StartEndFrame => Some(match quality {
                Some("1080p") => UpstreamModel::Gen45,
                _ => UpstreamModel::Gen4Turbo,
            }),
            _ => None,
        }
    }

    /// Credits per second of output (spec "Price", *unverified*).
    pub fn credits_per_second(self) -> u32 {
        match self {
            UpstreamModel::Gen4Turbo => 5,
            UpstreamModel::Gen45 => 12,
        }
    }
}

/// spec: 1 credit = $0.01.
pub const USD_PER_CREDIT: f64 = 0.01;

/// The catalog's name for the Runway provider line: the Gen-4 family, whose member is
/// chosen per request by [`UpstreamModel::for_request`].
pub const CATALOG_PROVIDER_MODEL: &str = "gen4";

/// The Runway `ratio` for an aspect ratio on an endpoint. spec: image to video takes
/// `1280:720`, `720:1280`, `1104:832`, `832:1104`, `960:960`, `1584:672`; text to video
/// only `1280:720` | `720:1280`. `None` when the endpoint has no such ratio.
pub fn ratio(op: Operation, aspect_ratio: &str) -> Option<&'static str> {
    let r = match aspect_ratio {
        "16:9" => "1280:720",
        "9:16" => "720:1280",
        "4:3" => "1104:832",
        "3:4" => "832:1104",
        "1:1" => "960:960",
        "21:9" => "1584:672",
        _ => return None,
    };
    match op {
        Operation::TextToVideo => matches!(r, "1280:720" | "720:1280").then_some(r),
        _ => Some(r),
    }
}

/// The aspect ratios an endpoint takes, for messages.
pub fn aspect_ratios(op: Operation) -> &'static str {
    match op {
        Operation::TextToVideo => "16:9, 9:16",
        _ => "16:9, 9:16, 4:3, 3:4, 1:1, 21:9",
    }
}

/// The length of `text` in UTF-16 code units, as Runway counts `promptText`.
pub fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_by_operation_and_quality() {
        use UpstreamModel::*;
        let m = UpstreamModel::for_request;
        assert_eq!(m(Operation::TextToVideo, Some("720p")), Some(Gen45));
        assert_eq!(m(Operation::TextToVideo, Some("1080p")), Some(Gen45));
        assert_eq!(m(Operation::ImageToVideo, Some("720p")), Some(Gen4Turbo));
        assert_eq!(m(Operation::ImageToVideo, None), Some(Gen4Turbo));
        assert_eq!(m(Operation::ImageToVideo, Some("1080p")), Some(Gen45));
        assert_eq!(m(Operation::LipSync, None), None);
        assert_eq!(Gen4Turbo.as_str(), "gen4_turbo");
        assert_eq!(Gen45.as_str(), "gen4.5");
    }

    #[test]
    fn ratios_per_endpoint() {
        assert_eq!(ratio(Operation::ImageToVideo, "21:9"), Some("1584:672"));
        assert_eq!(ratio(Operation::ImageToVideo, "1:1"), Some("960:960"));
        assert_eq!(ratio(Operation::TextToVideo, "9:16"), Some("720:1280"));
        assert_eq!(ratio(Operation::TextToVideo, "1:1"), None);
        assert_eq!(ratio(Operation::ImageToVideo, "2:3"), None);
    }

    #[test]
    fn utf16_units_count_astral_characters_twice() {
        assert_eq!(utf16_len("abc"), 3);
        assert_eq!(utf16_len("é"), 1);
        assert_eq!(utf16_len("🎬"), 2);
    }
}
