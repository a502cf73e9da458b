//! What the MiniMax simulator accepts on `POST /v1/video_generation`, restated from
//! `spec/upstreams.md` ("MiniMax Hailuo") independently of the provider crate. Every
//! refusal is MiniMax's own: HTTP 200 with `base_resp.status_code` 2013 "invalid params"
//! naming the field, the value and what is allowed (1026 for a sensitive prompt).

use super::wire::{MiniMaxError, CODE_INVALID_PARAMS, CODE_SENSITIVE_INPUT};
use serde_json::{Map, Value};

/// spec: `MiniMax-Hailuo-2.3`, `MiniMax-Hailuo-2.3-Fast` (image to video only),
/// `MiniMax-Hailuo-02`.
pub const MODELS: [&str; 3] = [
    "MiniMax-Hailuo-2.3",
    "MiniMax-Hailuo-2.3-Fast",
    "MiniMax-Hailuo-02",
];
/// spec: `prompt` ≤ 2000 chars.
pub const MAX_PROMPT_CHARS: usize = 2000;
/// spec: `duration` 6 | 10.
pub const DURATIONS: [u64; 2] = [6, 10];
/// spec: `resolution` 768P | 1080P, 1080P only with 6 s.
pub const RESOLUTIONS: [&str; 2] = ["768P", "1080P"];
/// MiniMax's default duration when none is sent (*unverified*).
pub const DEFAULT_DURATION: u32 = 6;
/// MiniMax's default resolution when none is sent (*unverified*).
pub const DEFAULT_RESOLUTION: &str = "768P";
/// The fields of the create body (spec); anything else is refused.
const FIELDS: [&str; 8] = [
    "model",
    "prompt",
    "prompt_optimizer",
    "duration",
    "resolution",
    "first_frame_image",
    "last_frame_image",
    "callback_url",
];

/// A create request the simulator accepted.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoRequest {
    /// The model.
    pub model: String,
    /// The prompt, if any.
    pub prompt: Option<String>,
    /// Seconds.
    pub duration: u32,
    /// `768P` or `1080P`.
    pub resolution: String,
    /// The start frame.
    pub first_frame_image: Option<String>,
    /// The end frame (02 only).
    pub last_frame_image: Option<String>,
    /// Where callbacks go.
    pub callback_url: Option<String>,
}

fn invalid(msg: String) -> MiniMaxError {
    MiniMaxError::code(CODE_INVALID_PARAMS, format!("invalid params, {msg}"))
}

fn string_field<'a>(
    body: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, MiniMaxError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(invalid(format!(
            "{name}: expected a string, got {}",
            type_name(other)
        ))),
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

/// An image MiniMax takes: an http(s) URL or a `data:image/(jpeg|png|webp);base64,` URI.
fn check_image(name: &str, value: &str) -> Result<(), MiniMaxError> {
    let lower = value.trim().to_ascii_lowercase();
    let data_ok = [
        "data:image/jpeg;base64,",
        "data:image/jpg;base64,",
        "data:image/png;base64,",
        "data:image/webp;base64,",
    ]
    .iter()
    .any(|p| lower.starts_with(p) && lower.len() > p.len());
    let url_ok = url::Url::parse(value.trim())
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if data_ok || url_ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "{name}: `{}` is neither an http(s) URL nor a data:image/(jpeg|png|webp);base64, URI",
            value.chars().take(60).collect::<String>()
        )))
    }
}

/// Validates a create body; `blocked_words` (case-insensitive) in the prompt are a
/// sensitive input (1026).
pub fn validate_create(
    body: &Value,
    blocked_words: &[String],
) -> Result<VideoRequest, MiniMaxError> {
    let Value::Object(body) = body else {
        return Err(invalid(format!(
            "the body: expected a JSON object, got {}",
            type_name(body)
        )));
    };
    if let Some(unknown) = body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(invalid(format!(
            "{unknown}: unknown parameter (allowed: {})",
            FIELDS.join(", ")
        )));
    }
    let model = string_field(body, "model")?.ok_or_else(|| invalid("model: required".into()))?;
    if !MODELS.contains(&model) {
        return Err(invalid(format!(
            "model: `{model}` is not supported (allowed: {})",
            MODELS.join(", ")
        )));
    }
    let prompt = string_field(body, "prompt")?;
    if let Some(p) = prompt {
        let n = p.chars().count();
        if n > MAX_PROMPT_CHARS {
            return Err(invalid(format!(
                "prompt: {n} characters, at most {MAX_PROMPT_CHARS} allowed"
            )));
        }
    }
    match body.get("prompt_optimizer") {
        None | Some(Value::Null) | Some(Value::Bool(_)) => {}
        Some(other) => {
            return Err(invalid(format!(
                "prompt_optimizer: expected a boolean, got {}",
                type_name(other)
            )))
        }
    }
    let duration = match body.get("duration") {
        None | Some(Value::Null) => DEFAULT_DURATION,
        Some(Value::Number(n)) => match n.as_u64().filter(|d| DURATIONS.contains(d)) {
            Some(d) => d as u32,
            None => {
                return Err(invalid(format!(
                    "duration: {n} is not allowed (allowed: 6, 10)"
                )))
            }
        },
        Some(other) => {
            return Err(invalid(format!(
                "duration: expected an integer, got {}",
                type_name(other)
            )))
        }
    };
    let resolution = string_field(body, "resolution")?.unwrap_or(DEFAULT_RESOLUTION);
    if !RESOLUTIONS.contains(&resolution) {
        return Err(invalid(format!(
            "resolution: `{resolution}` is not allowed (allowed: 768P, 1080P)"
        )));
    }
    if resolution == "1080P" && duration != 6 {
        return Err(invalid(format!(
            "resolution: 1080P is only available with duration 6 (got duration {duration})"
        )));
    }
    let first = string_field(body, "first_frame_image")?;
    if let Some(f) = first {
        check_image("first_frame_image", f)?;
    }
    let last = string_field(body, "last_frame_image")?;
    if let Some(l) = last {
        if model != "MiniMax-Hailuo-02" {
            return Err(invalid(format!(
                "last_frame_image: not supported by {model} (only MiniMax-Hailuo-02)"
            )));
        }
        check_image("last_frame_image", l)?;
        if first.is_none() {
            return Err(invalid(
                "last_frame_image: needs a first_frame_image (first and last frame)".into(),
            ));
        }
    }
    if model == "MiniMax-Hailuo-2.3-Fast" && first.is_none() {
        return Err(invalid(
            "first_frame_image: required by MiniMax-Hailuo-2.3-Fast (image to video only)".into(),
        ));
    }
    if first.is_none() && prompt.is_none_or(|p| p.trim().is_empty()) {
        return Err(invalid(
            "prompt: required when no first_frame_image is given (text to video)".into(),
        ));
    }
    let callback_url = string_field(body, "callback_url")?;
    if let Some(cb) = callback_url {
        let ok = url::Url::parse(cb)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        if !ok {
            return Err(invalid(format!(
                "callback_url: `{cb}` is not an http(s) URL"
            )));
        }
    }
    if let Some(p) = prompt {
        let lower = p.to_lowercase();
        if let Some(w) = blocked_words
            .iter()
            .find(|w| !w.is_empty() && lower.contains(&w.to_lowercase()))
        {
            return Err(MiniMaxError::code(
                CODE_SENSITIVE_INPUT,
                format!("input new_sensitive: the prompt contains `{w}`"),
            ));
        }
    }
    Ok(VideoRequest {
        model: model.to_string(),
        prompt: prompt.map(str::to_string),
        duration,
        resolution: resolution.to_string(),
        first_frame_image: first.map(str::to_string),
        last_frame_image: last.map(str::to_string),
        callback_url: callback_url.map(str::to_string),
    })
}
