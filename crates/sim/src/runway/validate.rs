//! Runway's request rules, restated from `spec/upstreams.md` (Runway) independently of the
//! client crate: every rule is checked here and a break answers 400 `{"error":"…"}` naming
//! the field, the value and what is allowed.
//!
//! Where the spec is silent the official SDK (`runwayml/sdk-python` 5.13) decided: veo
//! durations (veo3: 8; veo3.1 / veo3.1_fast: 4, 6, 8), `model` required on
//! `text_to_video`, `contentModeration.publicFigureThreshold` `auto` | `low`. Unknown
//! fields are refused: the spec names no place where Runway is tolerant.

use base64::Engine;
use serde_json::{Map, Value};

/// spec: `promptText` ≤ 1000 UTF-16 code units.
pub const PROMPT_TEXT_MAX_UTF16: usize = 1000;
/// spec: `seed` 0–4294967295.
pub const SEED_MAX: u64 = 4_294_967_295;
/// spec: image-to-video ratios.
pub const IMAGE_RATIOS: [&str; 6] = [
    "1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672",
];
/// spec: text-to-video ratios.
pub const TEXT_RATIOS: [&str; 2] = ["1280:720", "720:1280"];

/// SDK: a data-URI image is "up to 5MB".
pub const DATA_URI_MAX_BYTES: usize = 5 * 1024 * 1024;

/// Which create endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Create {
    /// `POST /v1/image_to_video`.
    ImageToVideo,
    /// `POST /v1/text_to_video`.
    TextToVideo,
}

/// Where an image sits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromptImage {
    /// The URI as sent.
    pub uri: String,
    /// `first` or `last`.
    pub position: &'static str,
}

/// A create body that passed every rule.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidCreate {
    /// The endpoint.
    pub endpoint: Create,
    /// The model (`gen4.5` when an image-to-video body names none).
    pub model: String,
    /// The images (image to video only).
    pub images: Vec<PromptImage>,
    /// The prompt text, if any.
    pub prompt_text: Option<String>,
    /// The ratio.
    pub ratio: String,
    /// Seconds.
    pub duration: u32,
    /// The seed, if given.
    pub seed: Option<u64>,
}

/// Credits per second (spec "Price", *unverified*; veo rates are not in the spec and are
/// charged like gen4.5).
pub fn credits_per_second(model: &str) -> i64 {
    match model {
        "gen4_turbo" => 5,
        _ => 12,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s
    }
}

/// The models each endpoint takes.
fn models(endpoint: Create) -> &'static [&'static str] {
    match endpoint {
        // spec: gen4.5 (default), gen4_turbo (image required), veo3, veo3.1, veo3.1_fast.
        Create::ImageToVideo => &["gen4.5", "gen4_turbo", "veo3", "veo3.1", "veo3.1_fast"],
        // spec: gen4.5 (or veo3.x).
        Create::TextToVideo => &["gen4.5", "veo3", "veo3.1", "veo3.1_fast"],
    }
}

fn durations(model: &str) -> &'static [u64] {
    match model {
        // spec: 5 | 10 for gen4 models.
        "gen4.5" | "gen4_turbo" => &[5, 10],
        // SDK: veo3 8 s; veo3.1 and veo3.1_fast 4, 6 or 8 s.
        "veo3" => &[8],
        _ => &[4, 6, 8],
    }
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An https URL with a host, or a `data:image/…;base64,` URI whose payload decodes.
fn check_uri(field: &str, v: &Value) -> Result<String, String> {
    let Some(s) = v.as_str() else {
        return Err(format!(
            "{field}: expected a string (an https URL or a data URI), got {}",
            type_name(v)
        ));
    };
    if let Some(rest) = s.strip_prefix("data:") {
        if s.len() > DATA_URI_MAX_BYTES {
            return Err(format!(
                "{field}: a data URI of {} bytes (allowed: up to {DATA_URI_MAX_BYTES})",
                s.len()
            ));
        }
        let ok = rest
            .split_once(";base64,")
            .filter(|(mime, _)| mime.starts_with("image/"))
            .and_then(|(_, b64)| {
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .ok()
            })
            .is_some_and(|bytes| !bytes.is_empty());
        return if ok {
            Ok(s.to_string())
        } else {
            Err(format!(
                "{field}: `{}` is not a valid image data URI (allowed: data:image/<type>;base64,<data>)",
                shown(&Value::String(s.chars().take(40).collect()))
            ))
        };
    }
    match url::Url::parse(s) {
        Ok(u) if u.scheme() == "https" && u.host_str().is_some() => Ok(s.to_string()),
        _ => Err(format!(
            "{field}: `{s}` is not allowed (allowed: an https URL or a data URI)"
        )),
    }
}

fn prompt_images(v: &Value) -> Result<Vec<PromptImage>, String> {
    match v {
        Value::String(_) => Ok(vec![PromptImage {
            uri: check_uri("promptImage", v)?,
            position: "first",
        }]),
        Value::Array(items) => {
            if items.is_empty() || items.len() > 2 {
                return Err(format!(
                    "promptImage: {} images given (allowed: 1 or 2, a first and/or a last frame)",
                    items.len()
                ));
            }
            let mut out: Vec<PromptImage> = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let Value::Object(obj) = item else {
                    return Err(format!(
                        "promptImage[{i}]: expected an object {{uri, position}}, got {}",
                        type_name(item)
                    ));
                };
                if let Some(extra) = obj.keys().find(|k| *k != "uri" && *k != "position") {
                    return Err(format!(
                        "promptImage[{i}].{extra}: unknown field (allowed: uri, position)"
                    ));
                }
                let uri = check_uri(
                    &format!("promptImage[{i}].uri"),
                    obj.get("uri").unwrap_or(&Value::Null),
                )?;
                let position = match obj.get("position") {
                    Some(Value::String(p)) if p == "first" => "first",
                    Some(Value::String(p)) if p == "last" => "last",
                    Some(other) => {
                        return Err(format!(
                            "promptImage[{i}].position: {} is not allowed (allowed: \"first\", \"last\")",
                            shown(other)
                        ))
                    }
                    None => {
                        return Err(format!(
                            "promptImage[{i}].position: required (\"first\" or \"last\")"
                        ))
                    }
                };
                if out.iter().any(|p| p.position == position) {
                    return Err(format!(
                        "promptImage[{i}].position: \"{position}\" is given twice"
                    ));
                }
                out.push(PromptImage { uri, position });
            }
            Ok(out)
        }
        other => Err(format!(
            "promptImage: expected a string or an array of {{uri, position}}, got {}",
            type_name(other)
        )),
    }
}

fn content_moderation(v: &Value) -> Result<(), String> {
    let Value::Object(obj) = v else {
        return Err(format!(
            "contentModeration: expected an object, got {}",
            type_name(v)
        ));
    };
    for (k, val) in obj {
        match (k.as_str(), val.as_str()) {
            ("publicFigureThreshold", Some("auto" | "low")) => {}
            ("publicFigureThreshold", _) => {
                return Err(format!(
                    "contentModeration.publicFigureThreshold: {} is not allowed (allowed: \"auto\", \"low\")",
                    shown(val)
                ))
            }
            (other, _) => {
                return Err(format!(
                    "contentModeration.{other}: unknown field (allowed: publicFigureThreshold)"
                ))
            }
        }
    }
    Ok(())
}

/// Checks a create body against every rule of the spec; the error names the field.
pub fn create(endpoint: Create, body: &Value) -> Result<ValidCreate, String> {
    let Value::Object(obj) = body else {
        return Err(format!(
            "body: expected a JSON object, got {}",
            type_name(body)
        ));
    };
    let allowed: &[&str] = match endpoint {
        Create::ImageToVideo => &[
            "model",
            "promptImage",
            "promptText",
            "ratio",
            "duration",
            "seed",
            "contentModeration",
        ],
        Create::TextToVideo => &[
            "model",
            "promptText",
            "ratio",
            "duration",
            "seed",
            "contentModeration",
        ],
    };
    if let Some(extra) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!(
            "{extra}: unknown field (allowed: {})",
            allowed.join(", ")
        ));
    }
    let model = model(endpoint, obj)?;
    let images = match (endpoint, obj.get("promptImage")) {
        (Create::ImageToVideo, Some(v)) => prompt_images(v)?,
        (Create::ImageToVideo, None) => {
            return Err(format!(
                "promptImage: required for image_to_video{}",
                if model == "gen4_turbo" {
                    " (gen4_turbo needs an image)"
                } else {
                    ""
                }
            ))
        }
        (Create::TextToVideo, _) => Vec::new(),
    };
    let prompt_text = match obj.get("promptText") {
        None => None,
        Some(Value::String(s)) => {
            let units = s.encode_utf16().count();
            if units == 0 || s.trim().is_empty() {
                return Err("promptText: must not be empty".into());
            }
            if units > PROMPT_TEXT_MAX_UTF16 {
                return Err(format!(
                    "promptText: {units} UTF-16 code units (allowed: 1 to {PROMPT_TEXT_MAX_UTF16})"
                ));
            }
            Some(s.clone())
        }
        Some(other) => {
            return Err(format!(
                "promptText: expected a string, got {}",
                type_name(other)
            ))
        }
    };
    if endpoint == Create::TextToVideo && prompt_text.is_none() {
        return Err("promptText: required for text_to_video".into());
    }
    let ratios: &[&str] = match endpoint {
        Create::ImageToVideo => &IMAGE_RATIOS,
        Create::TextToVideo => &TEXT_RATIOS,
    };
    let ratio = match obj.get("ratio") {
        Some(Value::String(r)) if ratios.contains(&r.as_str()) => r.clone(),
        Some(other @ Value::String(_)) => {
            return Err(format!(
                "ratio: {} is not allowed for {} (allowed: {})",
                shown(other),
                endpoint_name(endpoint),
                ratios.join(", ")
            ))
        }
        Some(other) => {
            return Err(format!(
                "ratio: expected a string, got {}",
                type_name(other)
            ))
        }
        None => return Err(format!("ratio: required (allowed: {})", ratios.join(", "))),
    };
    let allowed_durations = durations(&model);
    let duration = match obj.get("duration") {
        None => allowed_durations[0],
        Some(v) => match v.as_u64() {
            Some(d) if allowed_durations.contains(&d) => d,
            _ => {
                return Err(format!(
                    "duration: {} is not allowed for {model} (allowed: {})",
                    shown(v),
                    join(allowed_durations)
                ))
            }
        },
    } as u32;
    let seed = match obj.get("seed") {
        None => None,
        Some(v) => match v.as_u64() {
            Some(s) if s <= SEED_MAX => Some(s),
            _ => {
                return Err(format!(
                    "seed: {} is not allowed (allowed: an integer from 0 to {SEED_MAX})",
                    shown(v)
                ))
            }
        },
    };
    if let Some(cm) = obj.get("contentModeration") {
        content_moderation(cm)?;
    }
    Ok(ValidCreate {
        endpoint,
        model,
        images,
        prompt_text,
        ratio,
        duration,
        seed,
    })
}

fn endpoint_name(e: Create) -> &'static str {
    match e {
        Create::ImageToVideo => "image_to_video",
        Create::TextToVideo => "text_to_video",
    }
}

fn model(endpoint: Create, obj: &Map<String, Value>) -> Result<String, String> {
    let allowed = models(endpoint);
    match obj.get("model") {
        // spec: image to video defaults to gen4.5; text to video names its model (SDK).
        None if endpoint == Create::ImageToVideo => Ok("gen4.5".into()),
        None => Err(format!("model: required (allowed: {})", allowed.join(", "))),
        Some(Value::String(m)) if allowed.contains(&m.as_str()) => Ok(m.clone()),
        Some(Value::String(m)) if m == "gen4_turbo" => Err(
            "model: \"gen4_turbo\" is not allowed for text_to_video: gen4_turbo needs an image (use image_to_video)"
                .into(),
        ),
        Some(other) => Err(format!(
            "model: {} is not allowed for {} (allowed: {})",
            shown(other),
            endpoint_name(endpoint),
            allowed.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn i2v(body: Value) -> Result<ValidCreate, String> {
        create(Create::ImageToVideo, &body)
    }

    #[test]
    fn a_minimal_image_request_defaults_to_gen45_and_5_s() {
        let v = i2v(json!({"promptImage": "https://x.test/a.png", "ratio": "1280:720"})).unwrap();
        assert_eq!(v.model, "gen4.5");
        assert_eq!(v.duration, 5);
        assert_eq!(v.images[0].position, "first");
    }

    #[test]
    fn rules_name_their_field() {
        let cases = [
            (
                json!({"promptImage": "https://x.test/a.png", "ratio": "1920:1080"}),
                "ratio: \"1920:1080\"",
            ),
            (
                json!({"promptImage": "http://x.test/a.png", "ratio": "1280:720"}),
                "promptImage: `http://x.test/a.png`",
            ),
            (
                json!({"promptImage": 5, "ratio": "1280:720"}),
                "promptImage: expected",
            ),
            (
                json!({"promptImage": [{"uri": "https://x.test/a.png", "position": "middle"}], "ratio": "1280:720"}),
                "promptImage[0].position",
            ),
            (
                json!({"promptImage": [{"uri": "https://x.test/a.png", "position": "first"}, {"uri": "https://x.test/b.png", "position": "first"}], "ratio": "1280:720"}),
                "promptImage[1].position",
            ),
            (
                json!({"promptImage": "https://x.test/a.png", "ratio": "1280:720", "duration": 7}),
                "duration: 7",
            ),
            (
                json!({"promptImage": "https://x.test/a.png", "ratio": "1280:720", "duration": "5"}),
                "duration: \"5\"",
            ),
            (
                json!({"promptImage": "https://x.test/a.png", "ratio": "1280:720", "seed": 4294967296u64}),
                "seed: 4294967296",
            ),
            (
                json!({"promptImage": "https://x.test/a.png", "ratio": "1280:720", "seed": -1}),
                "seed: -1",
            ),
            (
                json!({"promptImage": "https://x.test/a.png", "ratio": "1280:720", "model": "gen3"}),
                "model: \"gen3\"",
            ),
            (
                json!({"promptImage": "https://x.test/a.png", "ratio": "1280:720", "watermark": true}),
                "watermark: unknown field",
            ),
            (
                json!({"model": "gen4_turbo", "ratio": "1280:720"}),
                "promptImage: required for image_to_video (gen4_turbo",
            ),
            (
                json!({"promptImage": "data:image/png;base64,!!!", "ratio": "1280:720"}),
                "promptImage: `",
            ),
            (
                json!({"promptImage": format!("data:image/png;base64,{}", "A".repeat(DATA_URI_MAX_BYTES)), "ratio": "1280:720"}),
                "promptImage: a data URI of",
            ),
            (
                json!({"promptImage": "https://x.test/a.png", "ratio": "1280:720", "promptText": ""}),
                "promptText: must not be empty",
            ),
        ];
        for (body, prefix) in cases {
            let e = i2v(body.clone()).unwrap_err();
            assert!(e.starts_with(prefix), "{body}: {e}");
        }
    }

    #[test]
    fn prompt_text_is_counted_in_utf16_units() {
        let ok = "🎬".repeat(500);
        assert!(i2v(
            json!({"promptImage": "https://x.test/a.png", "ratio": "1280:720", "promptText": ok})
        )
        .is_ok());
        let long = format!("{}a", "🎬".repeat(500));
        let e = i2v(
            json!({"promptImage": "https://x.test/a.png", "ratio": "1280:720", "promptText": long}),
        )
        .unwrap_err();
        assert_eq!(e, "promptText: 1001 UTF-16 code units (allowed: 1 to 1000)");
    }

    #[test]
    fn text_to_video_rules() {
        let t2v = |b: Value| create(Create::TextToVideo, &b);
        assert!(t2v(
            json!({"model": "gen4.5", "promptText": "a fox", "ratio": "720:1280", "duration": 10})
        )
        .is_ok());
        let e =
            t2v(json!({"model": "gen4.5", "promptText": "a fox", "ratio": "960:960"})).unwrap_err();
        assert!(
            e.starts_with("ratio: \"960:960\" is not allowed for text_to_video"),
            "{e}"
        );
        let e = t2v(json!({"model": "gen4_turbo", "promptText": "a fox", "ratio": "1280:720"}))
            .unwrap_err();
        assert!(e.starts_with("model: \"gen4_turbo\""), "{e}");
        let e = t2v(json!({"model": "gen4.5", "ratio": "1280:720"})).unwrap_err();
        assert_eq!(e, "promptText: required for text_to_video");
        let e = t2v(json!({"model": "gen4.5", "promptText": "a", "ratio": "1280:720", "promptImage": "https://x.test/a.png"})).unwrap_err();
        assert!(e.starts_with("promptImage: unknown field"), "{e}");
    }
}
