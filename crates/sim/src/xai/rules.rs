//! The xAI video API's rules as the simulator enforces them, restated from
//! `spec/upstreams.md` ("xAI Grok Imagine video") on their own — not read from the client
//! crate, so a client mistake shows as a refusal here.
//!
//! Every refusal is xAI's `400 {"error":"…"}`, naming the field, the value and what is
//! allowed. Where the spec says nothing (defaults, unknown fields) the choice is written
//! beside it.

use serde_json::{Map, Value};

/// `model: "grok-imagine-video" | "grok-imagine-video-1.5" | …` (the spec's "…" names no
/// further id; the simulator knows these two).
pub const MODELS: &[&str] = &["grok-imagine-video", "grok-imagine-video-1.5"];
/// `duration 1–15`, whole seconds.
pub const DURATION_SECS: std::ops::RangeInclusive<u64> = 1..=15;
/// `aspect_ratio 1:1|16:9|9:16|4:3|3:4|3:2|2:3`.
pub const ASPECT_RATIOS: &[&str] = &["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3"];
/// `resolution 480p|720p`.
pub const RESOLUTIONS: &[&str] = &["480p", "720p"];
/// The body's fields. The spec lists no others; an unknown field is refused (the spec
/// does not say xAI tolerates them, and a strict simulator catches a client that sends
/// what it should not).
pub const FIELDS: &[&str] = &[
    "model",
    "prompt",
    "image",
    "duration",
    "aspect_ratio",
    "resolution",
];

/// Defaults for absent optional fields. The spec gives none; these are assumptions
/// (xAI's docs would confirm them): 6 s, 16:9, 480p.
pub const DEFAULT_DURATION_SECS: u32 = 6;
/// See [`DEFAULT_DURATION_SECS`].
pub const DEFAULT_ASPECT_RATIO: &str = "16:9";
/// See [`DEFAULT_DURATION_SECS`].
pub const DEFAULT_RESOLUTION: &str = "480p";

/// What a task costs, in ticks per second (10^10 ticks = $1): the spec's ≈ $0.05/s at
/// 480p and $0.07/s at 720p.
pub fn ticks_per_second(resolution: &str) -> i64 {
    match resolution {
        "720p" => 700_000_000,
        _ => 500_000_000,
    }
}

/// A create body that passed every rule, with defaults applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoJob {
    /// The model.
    pub model: String,
    /// The prompt.
    pub prompt: String,
    /// The start frame's URL, if any.
    pub image_url: Option<String>,
    /// Seconds.
    pub duration: u32,
    /// Aspect ratio.
    pub aspect_ratio: String,
    /// Resolution.
    pub resolution: String,
}

impl VideoJob {
    /// What the finished task bills, in ticks.
    pub fn cost_in_usd_ticks(&self) -> i64 {
        ticks_per_second(&self.resolution) * i64::from(self.duration)
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

fn string_field<'a>(body: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, String> {
    match body.get(name) {
        // An optional field sent as null is absent (as serde reads an `Option`).
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!(
            "{name}: expected a string, got {} ({other})",
            type_name(other)
        )),
    }
}

fn one_of(
    name: &str,
    value: Option<&str>,
    allowed: &[&str],
    default: &str,
) -> Result<String, String> {
    match value {
        None => Ok(default.to_string()),
        Some(v) if allowed.contains(&v) => Ok(v.to_string()),
        Some(v) => Err(format!(
            "{name}: `{v}` is not supported (allowed: {})",
            allowed.join(", ")
        )),
    }
}

/// Whether `url` is an image reference xAI can fetch: an http(s) URL with a host, or a
/// `data:image/…;base64,` URI (Vercel AI SDK sends inline images so).
fn image_url_ok(url: &str) -> bool {
    if let Some(rest) = url.strip_prefix("data:") {
        return rest.starts_with("image/") && rest.contains(";base64,");
    }
    url::Url::parse(url)
        .map(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .unwrap_or(false)
}

/// Checks a create body against every rule; the error is the words of xAI's 400.
pub fn validate_create(body: &[u8]) -> Result<VideoJob, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the request body is not valid JSON: {e}"))?;
    let Value::Object(body) = value else {
        return Err(format!(
            "the request body must be a JSON object, got {}",
            type_name(&value)
        ));
    };
    if let Some(unknown) = body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "{unknown}: unknown field (allowed: {})",
            FIELDS.join(", ")
        ));
    }
    let model = match string_field(&body, "model")? {
        None => return Err("model: required".into()),
        Some(m) if MODELS.contains(&m) => m.to_string(),
        Some(m) => {
            return Err(format!(
                "model: `{m}` is not a video model (allowed: {})",
                MODELS.join(", ")
            ))
        }
    };
    let prompt = match string_field(&body, "prompt")? {
        Some(p) if !p.trim().is_empty() => p.to_string(),
        Some(_) => return Err("prompt: must not be empty".into()),
        None => return Err("prompt: required".into()),
    };
    let image_url = match body.get("image") {
        None | Some(Value::Null) => None,
        Some(Value::Object(img)) => {
            if let Some(unknown) = img.keys().find(|k| k.as_str() != "url") {
                return Err(format!("image.{unknown}: unknown field (allowed: url)"));
            }
            match img.get("url") {
                Some(Value::String(u)) if image_url_ok(u) => Some(u.clone()),
                Some(Value::String(u)) => {
                    let shown: String = u.chars().take(80).collect();
                    return Err(format!(
                        "image.url: `{shown}` is not an http(s) URL or a data:image/…;base64, URI"
                    ));
                }
                Some(other) => {
                    return Err(format!(
                        "image.url: expected a string, got {} ({other})",
                        type_name(other)
                    ))
                }
                None => return Err("image.url: required when image is given".into()),
            }
        }
        Some(other) => {
            return Err(format!(
                "image: expected an object {{\"url\": …}}, got {} ({other})",
                type_name(other)
            ))
        }
    };
    let duration = match body.get("duration") {
        None | Some(Value::Null) => DEFAULT_DURATION_SECS,
        Some(Value::Number(n)) => match n.as_u64() {
            Some(d) if DURATION_SECS.contains(&d) => d as u32,
            _ => {
                return Err(format!(
                    "duration: {n} is not supported (allowed: whole seconds from {} to {})",
                    DURATION_SECS.start(),
                    DURATION_SECS.end()
                ))
            }
        },
        Some(other) => {
            return Err(format!(
                "duration: expected an integer, got {} ({other})",
                type_name(other)
            ))
        }
    };
    let aspect_ratio = one_of(
        "aspect_ratio",
        string_field(&body, "aspect_ratio")?,
        ASPECT_RATIOS,
        DEFAULT_ASPECT_RATIO,
    )?;
    let resolution = one_of(
        "resolution",
        string_field(&body, "resolution")?,
        RESOLUTIONS,
        DEFAULT_RESOLUTION,
    )?;
    Ok(VideoJob {
        model,
        prompt,
        image_url,
        duration,
        aspect_ratio,
        resolution,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value) -> Result<VideoJob, String> {
        validate_create(&serde_json::to_vec(&v).unwrap())
    }

    #[test]
    fn a_minimal_body_takes_the_defaults() {
        let job = check(json!({"model": "grok-imagine-video", "prompt": "a cat"})).unwrap();
        assert_eq!(
            (
                job.duration,
                job.aspect_ratio.as_str(),
                job.resolution.as_str()
            ),
            (6, "16:9", "480p")
        );
        assert_eq!(job.cost_in_usd_ticks(), 3_000_000_000);
        let full = check(json!({"model": "grok-imagine-video-1.5", "prompt": "a cat",
            "image": {"url": "https://x.test/a.png"}, "duration": 15,
            "aspect_ratio": "2:3", "resolution": "720p"}))
        .unwrap();
        assert_eq!(full.image_url.as_deref(), Some("https://x.test/a.png"));
        // 15 s × $0.07 = $1.05 = 1.05e10 ticks.
        assert_eq!(full.cost_in_usd_ticks(), 10_500_000_000);
    }

    /// Every rule of the spec, each refusal naming its field.
    #[test]
    fn every_rule_names_its_field() {
        let base = json!({"model": "grok-imagine-video", "prompt": "a cat"});
        let with = |k: &str, v: Value| {
            let mut b = base.clone();
            b[k] = v;
            b
        };
        let cases = [
            (json!({"prompt": "a cat"}), "model: required"),
            (
                with("model", json!("grok-2-image")),
                "model: `grok-2-image`",
            ),
            (with("model", json!(7)), "model: expected a string"),
            (json!({"model": "grok-imagine-video"}), "prompt: required"),
            (with("prompt", json!("  ")), "prompt: must not be empty"),
            (with("prompt", json!(["a"])), "prompt: expected a string"),
            (with("duration", json!(0)), "duration: 0 is not supported"),
            (with("duration", json!(16)), "duration: 16 is not supported"),
            (
                with("duration", json!(5.5)),
                "duration: 5.5 is not supported",
            ),
            (with("duration", json!(-3)), "duration: -3 is not supported"),
            (
                with("duration", json!("5")),
                "duration: expected an integer",
            ),
            (with("aspect_ratio", json!("21:9")), "aspect_ratio: `21:9`"),
            (
                with("aspect_ratio", json!(1.5)),
                "aspect_ratio: expected a string",
            ),
            (with("resolution", json!("1080p")), "resolution: `1080p`"),
            (
                with("image", json!("https://x.test/a.png")),
                "image: expected an object",
            ),
            (with("image", json!({})), "image.url: required"),
            (
                with("image", json!({"url": "ftp://x.test/a.png"})),
                "image.url: `ftp://",
            ),
            (
                with("image", json!({"url": 3})),
                "image.url: expected a string",
            ),
            (
                with(
                    "image",
                    json!({"url": "https://x.test/a.png", "detail": "high"}),
                ),
                "image.detail: unknown field",
            ),
            (
                with("callback_url", json!("https://x.test/hook")),
                "callback_url: unknown field",
            ),
            (with("model", Value::Null), "model: required"),
            (with("prompt", Value::Null), "prompt: required"),
        ];
        for (body, want) in cases {
            let e = check(body.clone()).unwrap_err();
            assert!(e.starts_with(want), "{body}: {e} (want {want})");
        }
        assert!(validate_create(b"not json")
            .unwrap_err()
            .contains("not valid JSON"));
        assert!(validate_create(b"[1]").unwrap_err().contains("JSON object"));
        assert!(check(with(
            "image",
            json!({"url": "data:image/png;base64,iVBORw0KGgo="})
        ))
        .is_ok());
        assert!(check(with("image", json!({"url": "data:text/plain;base64,aGk="}))).is_err());
        // Optional fields sent as null are absent.
        let nulls = check(json!({"model": "grok-imagine-video", "prompt": "a cat",
            "image": null, "duration": null, "aspect_ratio": null, "resolution": null}))
        .unwrap();
        assert_eq!(nulls, check(base.clone()).unwrap());
    }
}
