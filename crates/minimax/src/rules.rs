//! What MiniMax's v1 video models accept (`spec/upstreams.md`, "MiniMax Hailuo"), stated
//! once: the offerings' capabilities, the mapping's checks and the cost table read these.
//! The simulator restates them independently (it never uses this crate).

/// `MiniMax-Hailuo-2.3`: text or first frame to video.
pub const HAILUO_2_3: &str = "MiniMax-Hailuo-2.3";
/// `MiniMax-Hailuo-2.3-Fast`: image to video only.
pub const HAILUO_2_3_FAST: &str = "MiniMax-Hailuo-2.3-Fast";
/// `MiniMax-Hailuo-02`: the only one taking a `last_frame_image`.
pub const HAILUO_02: &str = "MiniMax-Hailuo-02";

/// spec: `duration` 6 | 10.
pub const DURATIONS: [u32; 2] = [6, 10];
/// spec: `resolution` `768P` | `1080P`.
pub const RESOLUTIONS: [&str; 2] = [RESOLUTION_768P, RESOLUTION_1080P];
/// The lower resolution.
pub const RESOLUTION_768P: &str = "768P";
/// The higher resolution, only with [`DURATION_WITH_1080P`] seconds.
pub const RESOLUTION_1080P: &str = "1080P";
/// spec: "1080P only with 6 s".
pub const DURATION_WITH_1080P: u32 = 6;
/// spec: `prompt` ≤ 2000 chars.
pub const MAX_PROMPT_CHARS: u32 = 2000;
/// Sent when a request names no duration. MiniMax's own default is 6 s (*unverified*:
/// not in the spec), so the mapping always sends the value it priced.
pub const DEFAULT_DURATION: u32 = 6;
/// Sent when a request names no resolution (MiniMax's default for Hailuo 2.3 is 768P,
/// *unverified*).
pub const DEFAULT_RESOLUTION: &str = RESOLUTION_768P;
/// `prompt_optimizer` as the gateway sends it: MiniMax's documented default (the prompt
/// may be rewritten to improve the result). The catalog has no field for it, so no caller
/// sets it (X1); sent explicitly so an unverified default cannot change what we bought.
pub const PROMPT_OPTIMIZER: bool = true;

/// What one MiniMax model takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelRules {
    /// The upstream model id.
    pub id: &'static str,
    /// A prompt alone makes a video.
    pub text_to_video: bool,
    /// A `last_frame_image` is accepted (start + end frame).
    pub last_frame: bool,
}

/// The rules of `model`; `None` for a model this crate does not know (never guessed).
pub fn model(model: &str) -> Option<ModelRules> {
    Some(match model {
        HAILUO_2_3 => ModelRules {
            id: HAILUO_2_3,
            text_to_video: true,
            last_frame: false,
        },
        // spec: "MiniMax-Hailuo-2.3-Fast (image to video only)".
        HAILUO_2_3_FAST => ModelRules {
            id: HAILUO_2_3_FAST,
            text_to_video: false,
            last_frame: false,
        },
        // spec: "last_frame_image (02 only)".
        HAILUO_02 => ModelRules {
            id: HAILUO_02,
            text_to_video: true,
            last_frame: true,
        },
        _ => return None,
    })
}

/// The duration/resolution pair MiniMax takes: each from its list, and 1080P only with
/// 6 s. `Err` names the field, the value and what is allowed.
pub fn check_duration_resolution(duration: u32, resolution: &str) -> Result<(), String> {
    if !DURATIONS.contains(&duration) {
        return Err(format!(
            "duration: {duration} is not allowed by MiniMax (allowed: 6, 10)"
        ));
    }
    if !RESOLUTIONS.contains(&resolution) {
        return Err(format!(
            "resolution: `{resolution}` is not allowed by MiniMax (allowed: 768P, 1080P)"
        ));
    }
    if resolution == RESOLUTION_1080P && duration != DURATION_WITH_1080P {
        return Err(format!(
            "resolution: 1080P is only available with duration {DURATION_WITH_1080P} (got {duration}); use 768P for {duration} s"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_1080p_rule() {
        assert_eq!(check_duration_resolution(6, "768P"), Ok(()));
        assert_eq!(check_duration_resolution(10, "768P"), Ok(()));
        assert_eq!(check_duration_resolution(6, "1080P"), Ok(()));
        let e = check_duration_resolution(10, "1080P").unwrap_err();
        assert!(e.starts_with("resolution: 1080P") && e.contains("6"), "{e}");
        assert!(check_duration_resolution(8, "768P")
            .unwrap_err()
            .starts_with("duration: 8"));
        assert!(check_duration_resolution(6, "720p")
            .unwrap_err()
            .starts_with("resolution: `720p`"));
        assert_eq!(
            check_duration_resolution(DEFAULT_DURATION, DEFAULT_RESOLUTION),
            Ok(())
        );
    }

    #[test]
    fn models() {
        assert!(model(HAILUO_2_3).unwrap().text_to_video);
        assert!(!model(HAILUO_2_3_FAST).unwrap().text_to_video);
        assert!(model(HAILUO_02).unwrap().last_frame);
        assert!(model("MiniMax-H3").is_none());
    }
}
