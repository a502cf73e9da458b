//! The create body, checked the way the spec states it (`spec/upstreams.md`, Seedance
//! "Create"): every field's JSON type, every enum, the model's durations and frame rules,
//! and nothing the spec does not name. Each refusal is Ark's `InvalidParameter` or
//! `MissingParameter` naming the field; a model Ark lacks is 404, one the account has not
//! activated 403; a refused prompt or image is Ark's sensitive-content code.

use serde_json::{Map, Value};

use super::config::SeedanceSimConfig;
use super::error::{ArkCode, ArkError};
use super::rules::{self, ArkModel};

/// What an image is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The first frame.
    FirstFrame,
    /// The last frame.
    LastFrame,
    /// A reference (Seedance 2.0).
    ReferenceImage,
}

/// A create body that passed every check, with Ark's defaults filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateBody {
    /// The model.
    pub model: String,
    /// The text item, if any.
    pub prompt: Option<String>,
    /// Image items with their roles, in order.
    pub images: Vec<(String, Role)>,
    /// `video_url` / `audio_url` reference items (Seedance 2.0).
    pub references: usize,
    /// 480p | 720p | 1080p.
    pub resolution: String,
    /// As asked (`adaptive` included).
    pub ratio: String,
    /// As asked (−1 = the model decides).
    pub duration: i64,
    /// As asked (−1 = random).
    pub seed: i64,
    /// `camera_fixed`.
    pub camera_fixed: bool,
    /// `watermark`.
    pub watermark: bool,
    /// `generate_audio`.
    pub generate_audio: bool,
    /// `return_last_frame`.
    pub return_last_frame: bool,
    /// default | flex.
    pub service_tier: String,
    /// Seconds after which an unfinished task expires.
    pub execution_expires_after: Option<i64>,
    /// Where callbacks go.
    pub callback_url: Option<String>,
}

/// The top-level fields of the spec's create body; any other is refused.
const FIELDS: [&str; 13] = [
    "model",
    "content",
    "resolution",
    "ratio",
    "duration",
    "seed",
    "camera_fixed",
    "watermark",
    "generate_audio",
    "return_last_frame",
    "service_tier",
    "execution_expires_after",
    "callback_url",
];

/// Checks `body`; the first broken rule is the answer.
pub fn create_body(body: &Value, config: &SeedanceSimConfig) -> Result<CreateBody, ArkError> {
    let Value::Object(obj) = body else {
        return Err(ArkError::invalid(
            "body",
            "the request body must be a JSON object",
        ));
    };
    if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(ArkError::invalid(
            unknown,
            format!("unknown parameter (allowed: {})", FIELDS.join(", ")),
        ));
    }
    let model_id = match present(obj, "model") {
        None => return Err(ArkError::missing("model")),
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(other) => {
            return Err(ArkError::invalid(
                "model",
                wrong_type("a model id string", other),
            ))
        }
    };
    let model = known_model(&model_id, config)?;
    let content = match present(obj, "content") {
        None => return Err(ArkError::missing("content")),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(ArkError::invalid("content", wrong_type("an array", other))),
    };
    let (prompt, images, references) = content_items(content, &model)?;
    let resolution = enum_field(obj, "resolution", &rules::RESOLUTIONS)?
        .unwrap_or_else(|| rules::DEFAULT_RESOLUTION.to_string());
    // BytePlus: text to video defaults to 16:9, a first frame to `adaptive` (its shape).
    let default_ratio = if images.is_empty() {
        "16:9"
    } else {
        "adaptive"
    };
    let ratio = enum_field(obj, "ratio", &rules::RATIOS)?.unwrap_or_else(|| default_ratio.into());
    let duration = match int_field(obj, "duration")? {
        None => rules::DEFAULT_SECONDS,
        Some(-1) => -1,
        Some(d) if (model.min_seconds..=model.max_seconds).contains(&d) => d,
        Some(d) => {
            return Err(ArkError::invalid(
                "duration",
                format!(
                    "{d} is not allowed for {} (allowed: {} to {} seconds, or -1 to let the model decide)",
                    model.id, model.min_seconds, model.max_seconds
                ),
            ))
        }
    };
    let seed = match int_field(obj, "seed")? {
        None => -1,
        Some(s) if (-1..=rules::MAX_SEED).contains(&s) => s,
        Some(s) => {
            return Err(ArkError::invalid(
                "seed",
                format!("{s} is outside [-1, {}]", rules::MAX_SEED),
            ))
        }
    };
    let service_tier =
        enum_field(obj, "service_tier", &rules::SERVICE_TIERS)?.unwrap_or_else(|| "default".into());
    let execution_expires_after = match int_field(obj, "execution_expires_after")? {
        Some(s) if s <= 0 => {
            return Err(ArkError::invalid(
                "execution_expires_after",
                format!("{s} is not a positive number of seconds"),
            ))
        }
        other => other,
    };
    let callback_url = match present(obj, "callback_url") {
        None => None,
        Some(Value::String(u)) if is_http_url(u) => Some(u.clone()),
        Some(Value::String(u)) => {
            return Err(ArkError::invalid(
                "callback_url",
                format!("`{u}` is not an http(s) URL"),
            ))
        }
        Some(other) => {
            return Err(ArkError::invalid(
                "callback_url",
                wrong_type("a URL string", other),
            ))
        }
    };
    let body = CreateBody {
        model: model_id,
        prompt,
        images,
        references,
        resolution,
        ratio,
        duration,
        seed,
        camera_fixed: bool_field(obj, "camera_fixed")?.unwrap_or(false),
        watermark: bool_field(obj, "watermark")?.unwrap_or(false),
        // Seedance 1.5 Pro makes sound unless told not to (hence the spec's "send it
        // explicitly").
        generate_audio: bool_field(obj, "generate_audio")?.unwrap_or(true),
        return_last_frame: bool_field(obj, "return_last_frame")?.unwrap_or(false),
        service_tier,
        execution_expires_after,
        callback_url,
    };
    moderate_input(&body, config)?;
    Ok(body)
}

/// A field that is there and not `null` (`null` reads as absent, as optional fields do in
/// Ark's SDKs).
fn present<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn known_model(id: &str, config: &SeedanceSimConfig) -> Result<ArkModel, ArkError> {
    if id.starts_with("ep-") {
        return Err(ArkError::new(
            ArkCode::InvalidEndpointNotFound,
            format!("The endpoint `{id}` does not exist or you do not have access to it."),
        ));
    }
    let Some(model) = rules::model(id) else {
        return Err(ArkError::new(
            ArkCode::ModelNotFound,
            format!("The model `{id}` does not exist or you do not have access to it."),
        ));
    };
    if !config.open_models.iter().any(|m| m == id) {
        return Err(ArkError::new(
            ArkCode::ModelNotOpen,
            format!("Your account has not activated the model `{id}`. Activate it in the console."),
        ));
    }
    Ok(model)
}

/// What `content[]` holds: the prompt, the images with their roles, the number of
/// video/audio references.
type Content = (Option<String>, Vec<(String, Role)>, usize);

/// `content[]`: at most one text item, the frames with their roles as the model takes
/// them, references only where the model takes them.
fn content_items(items: &[Value], model: &ArkModel) -> Result<Content, ArkError> {
    if items.is_empty() {
        return Err(ArkError::invalid(
            "content",
            "at least one text or image item is required",
        ));
    }
    let mut prompt = None;
    let mut images: Vec<(String, Option<Role>)> = Vec::new();
    let mut references = 0;
    for (i, item) in items.iter().enumerate() {
        let at = format!("content[{i}]");
        let Value::Object(it) = item else {
            return Err(ArkError::invalid(&at, wrong_type("an object", item)));
        };
        let kind = match present(it, "type") {
            None => return Err(ArkError::missing(&format!("{at}.type"))),
            Some(Value::String(t)) => t.as_str(),
            Some(other) => {
                return Err(ArkError::invalid(
                    &format!("{at}.type"),
                    wrong_type("a string", other),
                ))
            }
        };
        match kind {
            "text" => {
                only_keys(it, &at, &["type", "text"])?;
                let text = match present(it, "text") {
                    None => return Err(ArkError::missing(&format!("{at}.text"))),
                    Some(Value::String(t)) if !t.trim().is_empty() => t.clone(),
                    Some(Value::String(_)) => {
                        return Err(ArkError::invalid(&format!("{at}.text"), "the text is empty"))
                    }
                    Some(other) => {
                        return Err(ArkError::invalid(
                            &format!("{at}.text"),
                            wrong_type("a string", other),
                        ))
                    }
                };
                if prompt.replace(text).is_some() {
                    return Err(ArkError::invalid(&at, "only one text item is allowed"));
                }
            }
            "image_url" => {
                only_keys(it, &at, &["type", "image_url", "role"])?;
                let url = media_url(it, &at, "image_url")?;
                if !(is_http_url(&url) || is_image_data_uri(&url)) {
                    return Err(ArkError::invalid(
                        &format!("{at}.image_url.url"),
                        "must be an http(s) URL or a data:image/<format>;base64, URI",
                    ));
                }
                let role = match present(it, "role") {
                    None => None,
                    Some(Value::String(r)) => Some(match r.as_str() {
                        "first_frame" => Role::FirstFrame,
                        "last_frame" => Role::LastFrame,
                        "reference_image" => Role::ReferenceImage,
                        other => {
                            return Err(ArkError::invalid(
                                &format!("{at}.role"),
                                format!("`{other}` is not a role (allowed: first_frame, last_frame, reference_image)"),
                            ))
                        }
                    }),
                    Some(other) => {
                        return Err(ArkError::invalid(
                            &format!("{at}.role"),
                            wrong_type("a string", other),
                        ))
                    }
                };
                if role == Some(Role::ReferenceImage) && !model.references {
                    return Err(ArkError::invalid(
                        &format!("{at}.role"),
                        format!("reference_image is not supported by {}", model.id),
                    ));
                }
                images.push((url, role));
            }
            "video_url" | "audio_url" => {
                if !model.references {
                    return Err(ArkError::invalid(
                        &format!("{at}.type"),
                        format!("{kind} is not supported by {} (Seedance 2.0 only)", model.id),
                    ));
                }
                only_keys(it, &at, &["type", kind, "role"])?;
                let url = media_url(it, &at, kind)?;
                if !is_http_url(&url) {
                    return Err(ArkError::invalid(&format!("{at}.{kind}.url"), "must be an http(s) URL"));
                }
                references += 1;
            }
            other => {
                return Err(ArkError::invalid(
                    &format!("{at}.type"),
                    format!("`{other}` is not a content type (allowed: text, image_url, video_url, audio_url)"),
                ))
            }
        }
    }
    let images = frame_roles(images, model)?;
    if prompt.is_none() && images.is_empty() && references == 0 {
        return Err(ArkError::invalid(
            "content",
            "a text item or an image is required",
        ));
    }
    Ok((prompt, images, references))
}

/// 1.5 Pro: one image is the first frame (role `first_frame` or none); two are the first
/// and the last frame, each named once. A last frame needs a first frame.
fn frame_roles(
    images: Vec<(String, Option<Role>)>,
    model: &ArkModel,
) -> Result<Vec<(String, Role)>, ArkError> {
    let frames: Vec<_> = images
        .iter()
        .filter(|(_, r)| *r != Some(Role::ReferenceImage))
        .collect();
    if frames.len() > model.max_frames {
        return Err(ArkError::invalid(
            "content",
            format!(
                "{} frame images given; {} takes at most {} (a first frame and a last frame)",
                frames.len(),
                model.id,
                model.max_frames
            ),
        ));
    }
    let roles: Vec<Option<Role>> = frames.iter().map(|(_, r)| *r).collect();
    let resolved: Vec<Role> = match roles.as_slice() {
        [] => Vec::new(),
        [None] | [Some(Role::FirstFrame)] => vec![Role::FirstFrame],
        [Some(Role::LastFrame)] => {
            return Err(ArkError::invalid(
                "content",
                "a last_frame image needs a first_frame image",
            ))
        }
        [Some(a), Some(b)] if a != b => vec![*a, *b],
        _ => {
            return Err(ArkError::invalid(
                "content",
                "two images must have the roles first_frame and last_frame, once each",
            ))
        }
    };
    let mut out: Vec<(String, Role)> = frames
        .iter()
        .zip(resolved)
        .map(|((u, _), r)| (u.clone(), r))
        .collect();
    out.extend(
        images
            .into_iter()
            .filter(|(_, r)| *r == Some(Role::ReferenceImage))
            .map(|(u, _)| (u, Role::ReferenceImage)),
    );
    Ok(out)
}

fn only_keys(item: &Map<String, Value>, at: &str, allowed: &[&str]) -> Result<(), ArkError> {
    match item.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ArkError::invalid(
            &format!("{at}.{k}"),
            format!("unknown field (allowed: {})", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

/// `{kind: {url}}` of a media item.
fn media_url(item: &Map<String, Value>, at: &str, kind: &str) -> Result<String, ArkError> {
    let field = format!("{at}.{kind}");
    match present(item, kind) {
        None => Err(ArkError::missing(&field)),
        Some(Value::Object(o)) => {
            only_keys(o, &field, &["url"])?;
            match present(o, "url") {
                None => Err(ArkError::missing(&format!("{field}.url"))),
                Some(Value::String(u)) => Ok(u.trim().to_string()),
                Some(other) => Err(ArkError::invalid(
                    &format!("{field}.url"),
                    wrong_type("a string", other),
                )),
            }
        }
        Some(other) => Err(ArkError::invalid(
            &field,
            wrong_type("an object {url}", other),
        )),
    }
}

fn enum_field(
    obj: &Map<String, Value>,
    name: &str,
    allowed: &[&str],
) -> Result<Option<String>, ArkError> {
    match present(obj, name) {
        None => Ok(None),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(Some(s.clone())),
        Some(Value::String(s)) => Err(ArkError::invalid(
            name,
            format!("`{s}` is not allowed (allowed: {})", allowed.join(", ")),
        )),
        Some(other) => Err(ArkError::invalid(name, wrong_type("a string", other))),
    }
}

fn int_field(obj: &Map<String, Value>, name: &str) -> Result<Option<i64>, ArkError> {
    match present(obj, name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| ArkError::invalid(name, format!("{n} is not an integer"))),
        Some(other) => Err(ArkError::invalid(name, wrong_type("an integer", other))),
    }
}

fn bool_field(obj: &Map<String, Value>, name: &str) -> Result<Option<bool>, ArkError> {
    match present(obj, name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(ArkError::invalid(name, wrong_type("a boolean", other))),
    }
}

fn wrong_type(want: &str, got: &Value) -> String {
    let kind = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    format!("expected {want}, got {kind}")
}

fn is_http_url(s: &str) -> bool {
    url::Url::parse(s)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// `data:image/<format>;base64,<data>` with a format Ark reads and valid Base64.
fn is_image_data_uri(s: &str) -> bool {
    use base64::Engine;
    let Some(rest) = s.strip_prefix("data:image/") else {
        return false;
    };
    let Some((format, data)) = rest.split_once(";base64,") else {
        return false;
    };
    ["png", "jpeg", "jpg", "webp", "bmp", "tiff", "gif"]
        .contains(&format.to_ascii_lowercase().as_str())
        && !data.is_empty()
        && base64::engine::general_purpose::STANDARD
            .decode(data)
            .is_ok()
}

/// Refuses a prompt or an image the configured moderation catches.
fn moderate_input(body: &CreateBody, config: &SeedanceSimConfig) -> Result<(), ArkError> {
    if let Some(p) = &body.prompt {
        let lower = p.to_lowercase();
        if config
            .blocked_words
            .iter()
            .any(|w| lower.contains(&w.to_lowercase()))
        {
            return Err(ArkError::of(ArkCode::InputTextSensitiveContentDetected));
        }
    }
    if body.images.iter().any(|(u, _)| {
        let lower = u.to_lowercase();
        config
            .blocked_image_words
            .iter()
            .any(|w| lower.contains(&w.to_lowercase()))
    }) {
        return Err(ArkError::of(ArkCode::InputImageSensitiveContentDetected));
    }
    Ok(())
}
