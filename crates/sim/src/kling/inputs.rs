//! Checks of media inputs (URL or bare Base64) and of `camera_control`.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use serde_json::Value;

use super::envelope::KlingError;
use super::fields::Body;

/// What kind of file a field carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MediaKind {
    /// jpg/jpeg/png, ≤ 10 MB, sides ≥ 300 px, aspect 1:2.5–2.5:1 (spec §3, §4).
    Image,
    /// .mp4/.mov, ≤ 100 MB (spec §1, §5).
    Video,
    /// .mp3/.wav/.m4a, ≤ 5 MB (spec §1 `sound_file`).
    Audio,
}

const MB: usize = 1024 * 1024;

/// What a checked media input turned out to be.
#[derive(Clone, Debug, Default)]
pub(crate) struct MediaInfo {
    /// The URL, when the input was one.
    pub url: Option<url::Url>,
    /// Pixel size, when the input was a Base64 image the simulator could read.
    pub dims: Option<(u32, u32)>,
}

fn png_dims(b: &[u8]) -> Option<(u32, u32)> {
    if b.len() >= 24 && &b[12..16] == b"IHDR" {
        let w = u32::from_be_bytes([b[16], b[17], b[18], b[19]]);
        let h = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
        return Some((w, h));
    }
    None
}

fn jpeg_dims(b: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    while i + 9 < b.len() {
        if b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            let h = u16::from_be_bytes([b[i + 5], b[i + 6]]) as u32;
            let w = u16::from_be_bytes([b[i + 7], b[i + 8]]) as u32;
            return Some((w, h));
        }
        i += 2 + len;
    }
    None
}

fn extension_ok(url: &url::Url, allowed: &[&str]) -> bool {
    let path = url.path().to_ascii_lowercase();
    allowed.iter().any(|e| path.ends_with(e))
}

/// Checks one media input named `field`.
pub(crate) fn check_media(
    field: &str,
    value: &str,
    kind: MediaKind,
) -> Result<MediaInfo, KlingError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(KlingError::invalid_param(format!(
            "{field} must not be empty"
        )));
    }
    // spec, common rules: Base64 is the bare string; a data: URI prefix is rejected.
    // `get`, not `[..5]`: a value whose fifth byte is inside a multi-byte character
    // (`"ééé"`) must be rejected as bad input, not panic the handler.
    if v.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("data:")) {
        return Err(KlingError::invalid_param(format!(
            "{field}: send the bare Base64 string; a data: URI prefix (such as `data:image/png;base64,`) is not accepted"
        )));
    }
    let lower = v.get(..8).unwrap_or(v).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        let url = url::Url::parse(v).map_err(|e| {
            KlingError::invalid_param(format!("{field} is not a valid URL ({e}): {v:?}"))
        })?;
        match kind {
            MediaKind::Video if !extension_ok(&url, &[".mp4", ".mov"]) => {
                return Err(KlingError::invalid_param(format!(
                    "{field} must point to a .mp4 or .mov file, got {v:?}"
                )))
            }
            MediaKind::Audio if !extension_ok(&url, &[".mp3", ".wav", ".m4a"]) => {
                return Err(KlingError::invalid_param(format!(
                    "{field} must point to a .mp3, .wav or .m4a file, got {v:?}"
                )))
            }
            _ => {}
        }
        return Ok(MediaInfo {
            url: Some(url),
            dims: None,
        });
    }
    if v.contains("://") {
        return Err(KlingError::invalid_param(format!(
            "{field} must be an http(s) URL or bare Base64, got {:?}",
            v.chars().take(40).collect::<String>()
        )));
    }
    let bytes = STANDARD
        .decode(v)
        .or_else(|_| STANDARD_NO_PAD.decode(v))
        .map_err(|_| {
            KlingError::invalid_param(format!(
                "{field} is neither an http(s) URL nor valid Base64"
            ))
        })?;
    match kind {
        MediaKind::Image => {
            if bytes.len() > 10 * MB {
                return Err(KlingError::invalid_param(format!(
                    "{field} is {} bytes; images must be at most 10 MB",
                    bytes.len()
                )));
            }
            let dims = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
                png_dims(&bytes)
            } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
                jpeg_dims(&bytes)
            } else {
                return Err(KlingError::invalid_param(format!(
                    "{field} is not a jpg/jpeg/png image"
                )));
            };
            let Some((w, h)) = dims else {
                return Err(KlingError::invalid_param(format!(
                    "{field}: the image header is damaged (no size found)"
                )));
            };
            if w < 300 || h < 300 {
                return Err(KlingError::invalid_param(format!(
                    "{field} is {w}x{h} px; width and height must be at least 300 px"
                )));
            }
            let ratio = w as f64 / h as f64;
            if !(1.0 / 2.5..=2.5).contains(&ratio) {
                return Err(KlingError::invalid_param(format!(
                    "{field} is {w}x{h} px; the aspect ratio must be between 1:2.5 and 2.5:1"
                )));
            }
            Ok(MediaInfo {
                url: None,
                dims: Some((w, h)),
            })
        }
        MediaKind::Video => {
            if bytes.len() > 100 * MB {
                return Err(KlingError::invalid_param(format!(
                    "{field} is {} bytes; videos must be at most 100 MB",
                    bytes.len()
                )));
            }
            if bytes.len() < 12 || &bytes[4..8] != b"ftyp" {
                return Err(KlingError::invalid_param(format!(
                    "{field} is not an .mp4/.mov file"
                )));
            }
            Ok(MediaInfo::default())
        }
        MediaKind::Audio => {
            if bytes.len() > 5 * MB {
                return Err(KlingError::invalid_param(format!(
                    "{field} is {} bytes; audio must be at most 5 MB",
                    bytes.len()
                )));
            }
            let mp3 = bytes.starts_with(b"ID3")
                || (bytes.len() > 1 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0);
            let wav = bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE";
            let m4a = bytes.len() >= 12 && &bytes[4..8] == b"ftyp";
            if !(mp3 || wav || m4a) {
                return Err(KlingError::invalid_param(format!(
                    "{field} is not an .mp3, .wav or .m4a file"
                )));
            }
            Ok(MediaInfo::default())
        }
    }
}

/// A media field that must be a string, checked.
pub(crate) fn media_field(
    body: &Body<'_>,
    field: &str,
    kind: MediaKind,
) -> Result<Option<MediaInfo>, KlingError> {
    match body.opt_str(field)? {
        None => Ok(None),
        Some(s) => check_media(&body.name(field), s, kind).map(Some),
    }
}

/// spec §2: `camera_control.type` and its `config` (required for `simple`: exactly one of
/// six axes non-zero, each in [−10, 10]).
pub(crate) fn check_camera_control(value: &Value, strict: bool) -> Result<(), KlingError> {
    const TYPES: [&str; 5] = [
        "simple",
        "down_back",
        "forward_up",
        "right_turn_forward",
        "left_turn_forward",
    ];
    const AXES: [&str; 6] = ["horizontal", "vertical", "pan", "tilt", "roll", "zoom"];
    let cc = Body::nested(value, "camera_control")?;
    cc.only(&["type", "config"], strict, "camera_control")?;
    let ty = cc
        .enum_str("type", &TYPES, None)?
        .ok_or_else(|| KlingError::invalid_param("camera_control.type is required"))?;
    let config = cc.get("config");
    if ty != "simple" {
        if config.is_some() {
            return Err(KlingError::invalid_param(format!(
                "camera_control.config is only allowed when camera_control.type is simple, got type {ty:?}"
            )));
        }
        return Ok(());
    }
    let Some(config) = config else {
        return Err(KlingError::invalid_param(
            "camera_control.config is required when camera_control.type is simple",
        ));
    };
    let cfg = Body::nested(config, "camera_control.config")?;
    cfg.only(&AXES, strict, "camera_control.config")?;
    let mut non_zero = Vec::new();
    for axis in AXES {
        if let Some(x) = cfg.opt_f64_in(axis, -10.0, 10.0)? {
            if x != 0.0 {
                non_zero.push(format!("{axis}={x}"));
            }
        }
    }
    if non_zero.len() != 1 {
        return Err(KlingError::invalid_param(format!(
            "camera_control.config: exactly one of horizontal, vertical, pan, tilt, roll, zoom must be non-zero, got {}{}",
            non_zero.len(),
            if non_zero.is_empty() {
                String::new()
            } else {
                format!(" ({})", non_zero.join(", "))
            }
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64_png(w: u32, h: u32) -> String {
        STANDARD.encode(crate::media::png(w, h, 0))
    }

    #[test]
    fn images() {
        assert!(check_media("image", &b64_png(400, 300), MediaKind::Image).is_ok());
        let e = check_media(
            "image",
            &format!("data:image/png;base64,{}", b64_png(400, 300)),
            MediaKind::Image,
        )
        .unwrap_err();
        assert!(e.message.contains("data:"), "{}", e.message);
        let e = check_media("image", &b64_png(200, 300), MediaKind::Image).unwrap_err();
        assert!(e.message.contains("300 px"));
        let e = check_media("image", &b64_png(900, 300), MediaKind::Image).unwrap_err();
        assert!(e.message.contains("aspect"));
        assert!(check_media("image", "https://example.com/a", MediaKind::Image).is_ok());
        assert!(check_media("image", "ftp://example.com/a.png", MediaKind::Image).is_err());
        assert!(check_media("image", "not base64!", MediaKind::Image).is_err());
        assert!(check_media("image", &STANDARD.encode(b"GIF89a...."), MediaKind::Image).is_err());
    }

    #[test]
    fn multi_byte_input_is_a_rejection_not_a_panic() {
        // "ééé": byte 5 falls inside the third character.
        let e = check_media("image", "ééé", MediaKind::Image).unwrap_err();
        assert!(e.message.contains("image"), "{}", e.message);
    }

    #[test]
    fn jpeg_size_is_read() {
        // SOI, APP0 (len 4), SOF0 with height 320 and width 640.
        let jpg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0, 0, 0xFF, 0xC0, 0x00, 0x11, 8, 0x01, 0x40, 0x02,
            0x80, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(jpeg_dims(&jpg), Some((640, 320)));
    }

    #[test]
    fn videos_and_audio_by_extension() {
        assert!(check_media("video_url", "https://x.test/a.MP4", MediaKind::Video).is_ok());
        assert!(check_media("video_url", "https://x.test/a.avi", MediaKind::Video).is_err());
        assert!(check_media("sound_file", "https://x.test/a.m4a", MediaKind::Audio).is_ok());
        assert!(check_media("sound_file", "https://x.test/a.ogg", MediaKind::Audio).is_err());
        assert!(check_media(
            "sound_file",
            &STANDARD.encode(b"RIFF\0\0\0\0WAVEfmt "),
            MediaKind::Audio
        )
        .is_ok());
    }

    #[test]
    fn camera() {
        let ok = json!({"type": "simple", "config": {"zoom": 5}});
        assert!(check_camera_control(&ok, true).is_ok());
        let two = json!({"type": "simple", "config": {"zoom": 5, "pan": 1}});
        assert!(check_camera_control(&two, true)
            .unwrap_err()
            .message
            .contains("got 2"));
        let none = json!({"type": "simple", "config": {"zoom": 0}});
        assert!(check_camera_control(&none, true).is_err());
        let out = json!({"type": "simple", "config": {"zoom": 11}});
        assert!(check_camera_control(&out, true)
            .unwrap_err()
            .message
            .contains("[-10, 10]"));
        let missing = json!({"type": "simple"});
        assert!(check_camera_control(&missing, true)
            .unwrap_err()
            .message
            .contains("required"));
        assert!(check_camera_control(&json!({"type": "down_back"}), true).is_ok());
        let extra = json!({"type": "down_back", "config": {"zoom": 1}});
        assert!(check_camera_control(&extra, true).is_err());
    }
}
