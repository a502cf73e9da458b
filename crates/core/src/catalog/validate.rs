//! `Catalog::validate` and `Catalog::quote`: every rule of the catalog checked in one
//! place, with errors that name the field, the value given and what is allowed.

use super::{Catalog, FieldSpec, FieldType, ModelSpec, COMMON_FIELDS};
use crate::error::{Error, Result};
use crate::media::MediaInput;
use crate::pricing::PriceInputs;
use crate::request::{GenerationRequest, MediaKind, Operation};
use serde::Serialize;
use serde_json::{Map, Value};

/// A validated request with defaults applied, its operation and its price.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quote {
    /// The model id.
    pub model: String,
    /// The inferred operation.
    pub operation: Operation,
    /// The price in points; `/quote` answers it and `/generate` holds it.
    pub points: i64,
    /// Billed units (seconds, images or 1).
    pub billed_units: u32,
    /// The request with catalog defaults filled in; what providers receive.
    pub request: GenerationRequest,
}

pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) if s.chars().count() > 60 => {
            format!("\"{}…\"", s.chars().take(57).collect::<String>())
        }
        Value::String(s) => format!("\"{s}\""),
        Value::Array(a) => format!("[{} items]", a.len()),
        // 11 and 11.0 read the same, whether the body was parsed raw or re-serialized.
        Value::Number(n) => match n.as_f64() {
            Some(x) if n.is_f64() => num(x),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn show_list(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            o => o.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Collects the values at a dotted path (`a.b`, `list[].c`) with their concrete paths.
fn values_at<'v>(root: &'v Value, path: &str) -> Vec<(String, &'v Value)> {
    let mut current: Vec<(String, &Value)> = vec![(String::new(), root)];
    for seg in path.split('.') {
        let (key, each) = match seg.strip_suffix("[]") {
            Some(k) => (k, true),
            None => (seg, false),
        };
        let mut next = Vec::new();
        for (p, v) in current {
            let Some(child) = v.get(key) else { continue };
            if child.is_null() {
                continue;
            }
            let cp = if p.is_empty() {
                key.to_string()
            } else {
                format!("{p}.{key}")
            };
            if each {
                if let Value::Array(items) = child {
                    for (i, item) in items.iter().enumerate() {
                        next.push((format!("{cp}[{i}]"), item));
                    }
                }
            } else {
                next.push((cp, child));
            }
        }
        current = next;
    }
    current
}

/// What a field accepts, for messages: its enum, or its numeric range.
fn allowed_text(spec: &FieldSpec) -> String {
    if let Some(allowed) = &spec.allowed {
        return show_list(allowed);
    }
    match (spec.min, spec.max) {
        (Some(a), Some(b)) => format!("{} to {}", num(a), num(b)),
        (Some(a), None) => format!("at least {}", num(a)),
        (None, Some(b)) => format!("at most {}", num(b)),
        (None, None) => "any".into(),
    }
}

fn type_name(ty: FieldType) -> &'static str {
    match ty {
        FieldType::String => "a string",
        FieldType::Integer => "a whole number",
        FieldType::Number => "a number",
        FieldType::Boolean => "true or false",
        FieldType::Media => "a media string (http(s) URL or bare Base64)",
        FieldType::MediaList => "a list of media strings",
        FieldType::StringList => "a list of strings",
        FieldType::Object => "an object",
        FieldType::ObjectList => "a list of objects",
    }
}

pub(crate) fn check_field(model: &str, spec: &FieldSpec, path: &str, v: &Value) -> Result<()> {
    let bad = |msg: String| Err(Error::invalid(format!("{path}: {msg}")));
    // The type first, so that `"duration": "5"` or `-1.5` is reported as what it is;
    // raw bodies reach this through `Catalog::parse_request` before serde sees them.
    let type_ok = match spec.ty {
        FieldType::String | FieldType::Media => v.is_string(),
        FieldType::Integer => v.is_i64() || v.is_u64(),
        FieldType::Number => v.is_number(),
        FieldType::Boolean => v.is_boolean(),
        FieldType::MediaList | FieldType::StringList | FieldType::ObjectList => v.is_array(),
        FieldType::Object => v.is_object(),
    };
    if !type_ok {
        let limits = if spec.allowed.is_some() || spec.min.is_some() || spec.max.is_some() {
            format!(" (allowed: {})", allowed_text(spec))
        } else {
            String::new()
        };
        return bad(format!(
            "{} is not {} for {model}{limits}",
            show(v),
            type_name(spec.ty)
        ));
    }
    if let Some(allowed) = &spec.allowed {
        if !allowed.iter().any(|a| json_eq(a, v)) {
            return bad(format!(
                "{} is not allowed for {model} (allowed: {})",
                show(v),
                show_list(allowed)
            ));
        }
    }
    if let Some(x) = v.as_f64() {
        let lo = spec.min.unwrap_or(f64::NEG_INFINITY);
        let hi = spec.max.unwrap_or(f64::INFINITY);
        if x < lo || x > hi || !x.is_finite() {
            let range = match (spec.min, spec.max) {
                (None, None) => "a finite number".into(),
                _ => allowed_text(spec),
            };
            return bad(format!(
                "{} is out of range for {model} (allowed: {range})",
                show(v)
            ));
        }
    }
    if let Value::String(s) = v {
        let n = s.chars().count() as u32;
        let (lo, hi) = (
            spec.min_length.unwrap_or(0),
            spec.max_length.unwrap_or(u32::MAX),
        );
        if n < lo || n > hi {
            let range = match (spec.min_length, spec.max_length) {
                (Some(a), Some(b)) => format!("{a} to {b} characters"),
                (Some(1), None) => "at least 1 character".to_string(),
                (Some(a), None) => format!("at least {a} characters"),
                (None, Some(b)) => format!("at most {b} characters"),
                (None, None) => unreachable_range(),
            };
            let unit = if n == 1 { "character" } else { "characters" };
            return bad(format!(
                "{n} {unit} is not allowed for {model} (allowed: {range})"
            ));
        }
    }
    if let Value::Array(items) = v {
        let n = items.len() as u32;
        let (lo, hi) = (
            spec.min_items.unwrap_or(0),
            spec.max_items.unwrap_or(u32::MAX),
        );
        if n < lo || n > hi {
            let range = match (spec.min_items, spec.max_items) {
                (Some(a), Some(b)) if a == b => format!("exactly {a}"),
                (Some(a), Some(b)) => format!("{a} to {b}"),
                (Some(a), None) => format!("at least {a}"),
                (None, Some(b)) => format!("at most {b}"),
                (None, None) => unreachable_range(),
            };
            let unit = if n == 1 { "item" } else { "items" };
            return bad(format!(
                "{n} {unit} is not allowed for {model} (allowed: {range})"
            ));
        }
    }
    // Media strings: a URL or bare Base64, never a `data:` URI (spec/kling-api.md
    // "Common rules"). Checked here so that a raw body's error names the item.
    let media: Vec<(String, &Value)> = match (spec.ty, v) {
        (FieldType::Media, _) => vec![(path.to_string(), v)],
        (FieldType::MediaList, Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| (format!("{path}[{i}]"), item))
            .collect(),
        _ => Vec::new(),
    };
    for (item_path, item) in media {
        match item {
            Value::String(s) => {
                if let Err(e) = MediaInput::parse(s) {
                    return Err(Error::invalid(format!("{item_path}: {e}")));
                }
            }
            other => {
                return Err(Error::invalid(format!(
                    "{item_path}: {} is not a media string for {model} (expected an http(s) URL or bare Base64)",
                    show(other)
                )))
            }
        }
    }
    Ok(())
}

fn unreachable_range() -> String {
    // Only reached when a bound exists; kept total rather than panicking.
    "any".into()
}

/// Keys present in `obj` (non-null, non-empty arrays), for unknown-field checks.
fn present_keys(obj: &Map<String, Value>) -> impl Iterator<Item = &String> {
    obj.iter()
        .filter(|(_, v)| !v.is_null() && !matches!(v, Value::Array(a) if a.is_empty()))
        .map(|(k, _)| k)
}

impl Catalog {
    /// Checks `req` against every rule of its model and returns the operation it performs.
    /// Defaults are not applied (see [`Catalog::quote`]).
    pub fn validate(&self, req: &GenerationRequest) -> Result<Operation> {
        let spec = self.require(&req.model)?;
        let value = serde_json::to_value(req)
            .map_err(|e| Error::internal(format!("request serialization: {e}")))?;
        validate_value(spec, &value)?;
        let op = spec.operation_for(req)?;
        for rule in &spec.rules {
            rule.check(spec, req, op)?;
        }
        Ok(op)
    }

    /// Validates `req`, applies the model's defaults and prices it. `/quote` and
    /// `/generate` both call this, so a quote always equals the charge.
    ///
    /// ```
    /// use genmux_core::{Catalog, GenerationRequest};
    /// let q = Catalog::builtin().quote(&GenerationRequest {
    ///     model: "grok-video".into(),
    ///     prompt: Some("a golden retriever runs toward the camera".into()),
    ///     duration: Some(10),
    ///     resolution: Some("720p".into()),
    ///     ..Default::default()
    /// }).unwrap();
    /// assert_eq!(q.points, 17 + (10 - 6) * 2);
    /// ```
    pub fn quote(&self, req: &GenerationRequest) -> Result<Quote> {
        let op = self.validate(req)?;
        let spec = self.require(&req.model)?;
        let mut derived = req.clone();
        for rule in &spec.rules {
            rule.derive_fields(&mut derived);
        }
        let request = apply_defaults(spec, &derived)?;
        // A defaulted field must still pass every rule: what providers receive and what
        // is priced is the defaulted request, not the body as sent.
        if request != *req {
            let checked = self.validate(&request)?;
            if checked != op {
                return Err(Error::internal(format!(
                    "catalog defaults of {} change the operation from {op} to {checked}",
                    spec.id
                )));
            }
        }
        let inputs = price_inputs(&request, op);
        let points = spec
            .price
            .points(&inputs)
            .map_err(|e| Error::invalid(format!("{}: {e} for {}", price_field(spec), spec.id)))?;
        Ok(Quote {
            model: spec.id.clone(),
            operation: op,
            points,
            billed_units: spec.price.units(&inputs),
            request,
        })
    }
}

impl Catalog {
    /// Parses a raw JSON request body (the `/quote` and `/generate` body) into a
    /// [`GenerationRequest`], checking the model's single-field rules on the raw JSON
    /// first, so that a wrong type, a negative or oversized number, an unknown field or a
    /// `data:` URI is reported with the field's name and what is allowed instead of as a
    /// serde error. Cross-field rules and defaults are left to [`Catalog::quote`].
    ///
    /// ```
    /// use genmux_core::Catalog;
    /// let body = serde_json::json!({"model": "kling-2.5-turbo", "prompt": "a fox", "duration": -1});
    /// let err = Catalog::builtin().parse_request(&body).unwrap_err();
    /// assert_eq!(err.message(), "duration: -1 is not allowed for kling-2.5-turbo (allowed: 5, 10)");
    /// ```
    pub fn parse_request(&self, body: &Value) -> Result<GenerationRequest> {
        let Value::Object(obj) = body else {
            return Err(Error::invalid(format!(
                "request: {} is not a JSON object (expected {{\"model\": …, …}})",
                show(body)
            )));
        };
        let model = match obj.get("model") {
            Some(Value::String(m)) => m.as_str(),
            None | Some(Value::Null) => {
                return Err(Error::invalid(format!(
                    "model: required (allowed: {})",
                    self.ids().collect::<Vec<_>>().join(", ")
                )))
            }
            Some(other) => {
                return Err(Error::invalid(format!(
                    "model: {} is not a string (allowed: {})",
                    show(other),
                    self.ids().collect::<Vec<_>>().join(", ")
                )))
            }
        };
        let spec = self.require(model)?;
        for key in ["projectId", "callbackUrl", "externalTaskId"] {
            if let Some(v) = obj.get(key).filter(|v| !v.is_null() && !v.is_string()) {
                return Err(Error::invalid(format!(
                    "{key}: {} is not a string",
                    show(v)
                )));
            }
        }
        if let Some(v) = obj.get("extra").filter(|v| !v.is_null() && !v.is_object()) {
            return Err(Error::invalid(format!(
                "extra: {} is not an object",
                show(v)
            )));
        }
        validate_value(spec, body)?;
        serde_json::from_value(body.clone())
            .map_err(|e| Error::invalid(format!("request: {e}")).with_source(e))
    }
}

fn price_field(spec: &ModelSpec) -> &'static str {
    if spec.field("resolution").is_some() {
        "resolution"
    } else if spec.field("quality").is_some() {
        "quality"
    } else {
        "model"
    }
}

/// The facts of a defaulted request that its price depends on.
pub fn price_inputs(req: &GenerationRequest, op: Operation) -> PriceInputs<'_> {
    let seconds = match op {
        Operation::LipSync => req.lip_sync_seconds().unwrap_or(0),
        _ => req.multi_shot_seconds().or(req.duration).unwrap_or(0),
    };
    PriceInputs {
        operation: Some(op),
        resolution: req.resolution.as_deref(),
        mode: req.mode.as_deref(),
        quality: req.quality.as_deref(),
        audio: req.generate_audio == Some(true),
        seconds,
        images: req.n.unwrap_or(1),
    }
}

fn validate_value(spec: &ModelSpec, value: &Value) -> Result<()> {
    let Value::Object(obj) = value else {
        return Err(Error::internal("request did not serialize to an object"));
    };
    let top_fields = || {
        COMMON_FIELDS
            .iter()
            .copied()
            .chain(
                spec.fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .filter(|n| !n.contains('.')),
            )
            .collect::<Vec<_>>()
            .join(", ")
    };
    for key in present_keys(obj) {
        if !COMMON_FIELDS.contains(&key.as_str()) && spec.field(key).is_none() {
            return Err(Error::invalid(format!(
                "{key}: not supported by {} (fields: {})",
                spec.id,
                top_fields()
            )));
        }
    }
    // Unknown keys inside declared objects and object lists.
    for f in spec
        .fields
        .iter()
        .filter(|f| matches!(f.ty, FieldType::Object | FieldType::ObjectList))
    {
        let item_path = match f.ty {
            FieldType::ObjectList => format!("{}[]", f.name),
            _ => f.name.clone(),
        };
        for (path, v) in values_at(value, &item_path) {
            let Value::Object(inner) = v else { continue };
            for key in present_keys(inner) {
                let full = format!("{item_path}.{key}");
                if spec.field(&full).is_none() {
                    let known: Vec<_> = spec
                        .fields
                        .iter()
                        .filter_map(|g| g.name.strip_prefix(&format!("{item_path}.")))
                        .filter(|n| !n.contains('.'))
                        .collect();
                    return Err(Error::invalid(format!(
                        "{path}.{key}: not supported by {} (fields: {})",
                        spec.id,
                        known.join(", ")
                    )));
                }
            }
        }
    }
    for f in &spec.fields {
        let found = values_at(value, &f.name);
        if f.required && !f.name.contains('.') && found.is_empty() {
            return Err(Error::invalid(format!(
                "{}: required for {}",
                f.name, spec.id
            )));
        }
        if f.required && f.name.contains('.') {
            // A nested required field is required inside each present parent.
            let (parent, leaf) = f.name.rsplit_once('.').unwrap_or(("", f.name.as_str()));
            for (ppath, pv) in values_at(value, parent) {
                if pv.get(leaf).is_none_or(Value::is_null) {
                    return Err(Error::invalid(format!(
                        "{ppath}.{leaf}: required for {}",
                        spec.id
                    )));
                }
            }
        }
        for (path, v) in found {
            check_field(&spec.id, f, &path, v)?;
        }
    }
    Ok(())
}

fn apply_defaults(spec: &ModelSpec, req: &GenerationRequest) -> Result<GenerationRequest> {
    let mut value = serde_json::to_value(req)
        .map_err(|e| Error::internal(format!("request serialization: {e}")))?;
    let Value::Object(obj) = &mut value else {
        return Err(Error::internal("request did not serialize to an object"));
    };
    let mut changed = false;
    for f in spec.fields.iter().filter(|f| !f.name.contains('.')) {
        if let Some(d) = &f.default {
            if obj.get(&f.name).is_none_or(Value::is_null) {
                obj.insert(f.name.clone(), d.clone());
                changed = true;
            }
        }
    }
    if !changed {
        return Ok(req.clone());
    }
    serde_json::from_value(value)
        .map_err(|e| Error::internal(format!("catalog default for {} does not fit: {e}", spec.id)))
}

/// How many images an operation inferred from the inputs takes, for messages.
fn image_count_of(op: Operation) -> Option<&'static str> {
    match op {
        Operation::TextToVideo | Operation::TextToImage => Some("no image"),
        Operation::ImageToVideo => Some("1 image (or endImage alone)"),
        Operation::ImageToImage => Some("1 image"),
        Operation::StartEndFrame => Some("2 images (start and end frame)"),
        _ => None,
    }
}

impl ModelSpec {
    /// Infers the operation `req` performs on this model from its inputs.
    pub fn operation_for(&self, req: &GenerationRequest) -> Result<Operation> {
        // Single-purpose models: the model is the operation.
        for op in [
            Operation::LipSync,
            Operation::MotionControl,
            Operation::VideoExtend,
            Operation::OmniImage,
            Operation::MultiImageToVideo,
        ] {
            if self.offers(op) {
                return Ok(op);
            }
        }
        let images = req.images.len() + usize::from(req.end_image.is_some());
        let op = match self.kind {
            MediaKind::Image if req.images.is_empty() => Operation::TextToImage,
            MediaKind::Image => Operation::ImageToImage,
            MediaKind::Video => match images {
                0 => Operation::TextToVideo,
                1 => Operation::ImageToVideo,
                _ => Operation::StartEndFrame,
            },
        };
        if self.offers(op) {
            return Ok(op);
        }
        // Say what each offered operation needs, so the caller knows how to fix the body.
        let offered = self
            .operations
            .iter()
            .map(|&o| match image_count_of(o) {
                Some(n) => format!("{o} with {n}"),
                None => o.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let given = match images {
            0 => "no image".to_string(),
            1 => "1 image".to_string(),
            n => format!("{n} images"),
        };
        Err(Error::invalid(format!(
            "images: {given} given, which means {op}; {} does not offer {op} (allowed: {offered})",
            self.id
        )))
    }

    /// The model's default for a top-level field.
    pub fn default_of(&self, name: &str) -> Option<&Value> {
        self.field(name).and_then(|f| f.default.as_ref())
    }
}
