//! What the simulated Ark accepts, restated from `spec/upstreams.md` (Seedance) without
//! the client crate, so a conformance run catches a client that reads the spec
//! differently.

/// One model Ark knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArkModel {
    /// The model id (BytePlus spelling).
    pub id: &'static str,
    /// Shortest duration in seconds.
    pub min_seconds: i64,
    /// Longest duration in seconds.
    pub max_seconds: i64,
    /// Most first/last frame images.
    pub max_frames: usize,
    /// Whether `reference_image` roles and `video_url` / `audio_url` items are taken
    /// (spec: "video_url / audio_url references exist for 2.0 only").
    pub references: bool,
}

/// Seedance 1.5 Pro (spec: "duration seconds (1.5 Pro: 4–12; −1 = model decides)", "1.5
/// Pro: 0 images = text to video, 1 = first frame, 2 = first + last frame").
pub const SEEDANCE_1_5_PRO: ArkModel = ArkModel {
    id: "seedance-1-5-pro-251215",
    min_seconds: 4,
    max_seconds: 12,
    max_frames: 2,
    references: false,
};

/// The Seedance 2.0 models the spec names. Their limits beyond the references are not in
/// the spec: 4–15 s is assumed (BytePlus's 2.0 pages). Accounts have not activated them
/// unless the simulator's configuration opens them (403 `ModelNotOpen` otherwise).
pub const SEEDANCE_2_0: [ArkModel; 2] = [
    ArkModel {
        id: "dreamina-seedance-2-0-260128",
        min_seconds: 4,
        max_seconds: 15,
        max_frames: 2,
        references: true,
    },
    ArkModel {
        id: "dreamina-seedance-2-0-fast-260128",
        min_seconds: 4,
        max_seconds: 15,
        max_frames: 2,
        references: true,
    },
];

/// The model of `id`, if Ark has it. The simulator plays BytePlus ModelArk, so the
/// Volcengine id (`doubao-seedance-1-5-pro-251215`) is not among them.
pub fn model(id: &str) -> Option<ArkModel> {
    std::iter::once(SEEDANCE_1_5_PRO)
        .chain(SEEDANCE_2_0)
        .find(|m| m.id == id)
}

/// spec: "resolution 480p|720p|1080p (default 720p)".
pub const RESOLUTIONS: [&str; 3] = ["480p", "720p", "1080p"];
/// The resolution when none is asked.
pub const DEFAULT_RESOLUTION: &str = "720p";

/// spec: "ratio 16:9|4:3|1:1|3:4|9:16|21:9|adaptive".
pub const RATIOS: [&str; 7] = ["16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive"];

/// spec: `service_tier` "default|flex".
pub const SERVICE_TIERS: [&str; 2] = ["default", "flex"];

/// spec: "`seed` (−1 = random)"; the largest seed is 2³² − 1 (BytePlus: [−1, 2³² − 1]).
pub const MAX_SEED: i64 = 4_294_967_295;

/// Seconds when no duration is asked (BytePlus's default; the spec gives none).
pub const DEFAULT_SECONDS: i64 = 5;

/// Frames per second of every video (spec "Billing": fps 24).
pub const FPS: i64 = 24;

/// Pixels of one frame at `resolution`: its 16:9 frame (480p 864×480, 720p 1280×720,
/// 1080p 1920×1080, the sizes the catalog's price cites). The spec gives no other ratio's
/// size; every ratio is assumed to carry the same pixel count (1:1 at 720p is 960×960 =
/// 1280×720).
pub fn frame_pixels(resolution: &str) -> i64 {
    match resolution {
        "480p" => 864 * 480,
        "1080p" => 1920 * 1080,
        _ => 1280 * 720,
    }
}

/// Tokens a video costs (spec "Billing"): width × height × 24 × seconds / 1024.
pub fn completion_tokens(resolution: &str, seconds: i64) -> i64 {
    frame_pixels(resolution) * FPS * seconds / 1024
}

/// How long a task is kept (spec: "task ids are kept 7 days").
pub const TASK_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_follow_the_spec_formula() {
        // 720p 16:9: 1280 × 720 × 24 / 1024 = 21,600 tokens a second (≈ $0.026 at $1.2/M).
        assert_eq!(completion_tokens("720p", 1), 21_600);
        assert_eq!(completion_tokens("720p", 8), 172_800);
        assert_eq!(completion_tokens("480p", 5), 48_600);
        assert_eq!(completion_tokens("1080p", 12), 583_200);
    }

    #[test]
    fn models() {
        assert_eq!(model("seedance-1-5-pro-251215"), Some(SEEDANCE_1_5_PRO));
        assert!(model("dreamina-seedance-2-0-fast-260128").is_some_and(|m| m.references));
        assert_eq!(model("doubao-seedance-1-5-pro-251215"), None);
    }
}
