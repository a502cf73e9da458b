//! `Catalog::validate` and `Catalog::quote`: every rule of the catalog checked in one
//! place, with errors that name the field, the value given and what is allowed.

use super::lens::{request_copy_field, KeySet, Seg, Val, K};
use super::plan::{changed_keys, Plan};
use super::{Catalog, FieldSpec, FieldType, ModelSpec, COMMON_FIELDS};
use crate::error::{Error, Result};
use crate::media::MediaInput;
use crate::pricing::PriceInputs;
use crate::request::{GenerationRequest, MediaKind, Operation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

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
    val_eq(a, Val::json(b))
}

/// `json_eq` against either lens: numbers by value (5 == 5.0), the rest as JSON.
fn val_eq(a: &Value, v: Val<'_>) -> bool {
    match (a.as_f64(), v.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => match (a, v) {
            (Value::String(s), _) => v.as_str() == Some(s.as_str()),
            (Value::Bool(x), Val::Bool(y)) => *x == y,
            (Value::Null, Val::Null) => true,
            (_, Val::Json(j)) => a == j,
            (Value::Array(_) | Value::Object(_), Val::Node(_) | Val::List(_)) => *a == v.to_json(),
            _ => false,
        },
    }
}

fn show(v: &Value) -> String {
    show_val(Val::json(v))
}

fn show_val(v: Val<'_>) -> String {
    match v {
        Val::Str(s) => show_str(s),
        Val::Media(m) => show_str(m.as_str()),
        // 11 and 11.0 read the same, whether the body was parsed raw or re-serialized.
        Val::Float(x) => num(x),
        Val::Int(i) => i.to_string(),
        Val::UInt(u) => u.to_string(),
        Val::Bool(b) => b.to_string(),
        Val::Null => "null".into(),
        other => match other.len() {
            Some(n) => format!("[{n} items]"),
            None => other.to_json().to_string(),
        },
    }
}

fn show_str(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("\"{}…\"", s.chars().take(57).collect::<String>())
    } else {
        format!("\"{s}\"")
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

/// A concrete path (`multiPrompt[1].duration`) on the stack, printed only for a message.
struct At<'p> {
    parent: Option<&'p At<'p>>,
    name: &'p str,
    index: Option<usize>,
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.parent {
            write!(f, "{p}.")?;
        }
        f.write_str(self.name)?;
        if let Some(i) = self.index {
            write!(f, "[{i}]")?;
        }
        Ok(())
    }
}

/// Calls `f` with every non-null value at the path `segs` (`a.b`, `list[].c`) below `v`,
/// with its concrete path, in document order; stops at the first error.
fn walk<'v, F>(v: Val<'v>, segs: &[Seg], at: Option<&At<'_>>, f: &mut F) -> Result<()>
where
    F: FnMut(&At<'_>, Val<'v>) -> Result<()>,
{
    let Some((seg, rest)) = segs.split_first() else {
        return Ok(());
    };
    let Some(child) = v.get(seg).filter(|c| !c.is_null()) else {
        return Ok(());
    };
    let visit = |v: Val<'v>, here: &At<'_>, f: &mut F| {
        if rest.is_empty() {
            f(here, v)
        } else {
            walk(v, rest, Some(here), f)
        }
    };
    if seg.each {
        for i in 0..child.len().unwrap_or(0) {
            let here = At {
                parent: at,
                name: &seg.name,
                index: Some(i),
            };
            visit(child.item(i), &here, f)?;
        }
        Ok(())
    } else {
        let here = At {
            parent: at,
            name: &seg.name,
            index: None,
        };
        visit(child, &here, f)
    }
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

/// Checks one value of a field against its type, enum, range, length, item count and
/// media rules. Allocates only to build the error.
pub(crate) fn check_field(
    model: &str,
    spec: &FieldSpec,
    path: &dyn fmt::Display,
    v: Val<'_>,
) -> Result<()> {
    let bad = |msg: String| Err(Error::invalid(format!("{path}: {msg}")));
    // The type first, so that `"duration": "5"` or `-1.5` is reported as what it is;
    // raw bodies reach this through `Catalog::parse_request` before serde sees them.
    let type_ok = match spec.ty {
        FieldType::String | FieldType::Media => v.as_str().is_some(),
        FieldType::Integer => matches!(v, Val::Int(_) | Val::UInt(_)),
        FieldType::Number => v.as_f64().is_some(),
        FieldType::Boolean => matches!(v, Val::Bool(_)),
        FieldType::MediaList | FieldType::StringList | FieldType::ObjectList => v.len().is_some(),
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
            show_val(v),
            type_name(spec.ty)
        ));
    }
    if let Some(allowed) = &spec.allowed {
        if !allowed.iter().any(|a| val_eq(a, v)) {
            return bad(format!(
                "{} is not allowed for {model} (allowed: {})",
                show_val(v),
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
                show_val(v)
            ));
        }
    }
    if let Some(s) = v.as_str() {
        let (lo, hi) = (
            spec.min_length.unwrap_or(0),
            spec.max_length.unwrap_or(u32::MAX),
        );
        // Counting characters is only needed when a limit could be crossed: a string of
        // `len` bytes has between len/4 and len characters.
        let bytes = s.len();
        let surely_ok = (bytes / 4) as u64 >= u64::from(lo) && bytes as u64 <= u64::from(hi);
        let n = if surely_ok {
            0
        } else {
            s.chars().count() as u32
        };
        if !surely_ok && (n < lo || n > hi) {
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
    if let Some(len) = v.len() {
        let n = len as u32;
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
    // "Common rules"). Checked here so that a raw body's error names the item; a typed
    // MediaInput is checked too, since its variants can be built without parsing.
    let check_media = |item: Val<'_>, item_path: &dyn fmt::Display| {
        match item.as_str() {
        Some(s) => MediaInput::check(s).map_err(|e| Error::invalid(format!("{item_path}: {e}"))),
        None => Err(Error::invalid(format!(
            "{item_path}: {} is not a media string for {model} (expected an http(s) URL or bare Base64)",
            show_val(item)
        ))),
    }
    };
    match spec.ty {
        FieldType::Media => check_media(v, path)?,
        FieldType::MediaList => {
            for i in 0..v.len().unwrap_or(0) {
                check_media(v.item(i), &format_args!("{path}[{i}]"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn unreachable_range() -> String {
    // Only reached when a bound exists; kept total rather than panicking.
    "any".into()
}

/// Checks every single-field rule of `spec` on `root` (either lens): unknown keys, then
/// unknown keys inside objects, then each field in catalog order. With `only`, just the
/// fields under those top-level keys (the ones defaults changed; the rest already passed).
fn check_fields(spec: &ModelSpec, plan: &Plan, root: Val<'_>, only: Option<KeySet>) -> Result<()> {
    let Some((present, other_keys)) = root.present() else {
        return Err(Error::internal("request did not serialize to an object"));
    };
    let in_scope = |top: Option<K>| match only {
        None => true,
        Some(set) => top.is_some_and(|k| set & k.bit() != 0),
    };
    // Whether a top-level key may hold a value: a clear bit means absent, so the fields
    // below it are skipped without a lookup.
    let may_hold = |top: Option<K>| match top {
        Some(k) => present & k.bit() != 0,
        None => other_keys,
    };
    // Typed keys that are present, in scope and undeclared: usually none, and then the
    // keys need no scan.
    let scope = only.unwrap_or(KeySet::MAX);
    let suspects = present & scope & !plan.top_known;
    let scan = suspects != 0 || (other_keys && only.is_none());
    let unknown = if scan {
        root.first_present_key(|k, name| in_scope(k) && !plan.knows_top(k, name))
    } else {
        None
    };
    if let Some(key) = unknown {
        let top_fields = COMMON_FIELDS
            .iter()
            .copied()
            .chain(
                spec.fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .filter(|n| !n.contains('.')),
            )
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Error::invalid(format!(
            "{key}: not supported by {} (fields: {top_fields})",
            spec.id
        )));
    }
    // Unknown keys inside declared objects and object lists.
    for o in plan
        .objects
        .iter()
        .filter(|o| in_scope(o.top) && may_hold(o.top))
    {
        walk(root, &o.segs, None, &mut |at, v| {
            if !v.is_object() {
                return Ok(());
            }
            let unknown = v.first_present_key(|_, name| {
                o.children
                    .binary_search_by(|c| c.as_str().cmp(name))
                    .is_err()
            });
            let Some(key) = unknown else { return Ok(()) };
            let prefix = format!("{}.", o.item_path);
            let known: Vec<_> = spec
                .fields
                .iter()
                .filter_map(|g| g.name.strip_prefix(&prefix))
                .filter(|n| !n.contains('.'))
                .collect();
            Err(Error::invalid(format!(
                "{at}.{key}: not supported by {} (fields: {})",
                spec.id,
                known.join(", ")
            )))
        })?;
    }
    for (f, p) in spec.fields.iter().zip(&plan.fields) {
        if !in_scope(p.top) {
            continue;
        }
        if !may_hold(p.top) {
            if f.required && !p.nested {
                return Err(Error::invalid(format!(
                    "{}: required for {}",
                    f.name, spec.id
                )));
            }
            continue;
        }
        if let Some((parent, leaf)) = &p.required_in {
            // A nested required field is required inside each present parent.
            walk(root, parent, None, &mut |at, pv| {
                if pv.get(leaf).is_none_or(Val::is_null) {
                    return Err(Error::invalid(format!(
                        "{at}.{}: required for {}",
                        leaf.name, spec.id
                    )));
                }
                Ok(())
            })?;
        }
        let mut found = false;
        walk(root, &p.segs, None, &mut |at, v| {
            found = true;
            check_field(&spec.id, f, at, v)
        })?;
        if f.required && !found && !p.nested {
            return Err(Error::invalid(format!(
                "{}: required for {}",
                f.name, spec.id
            )));
        }
    }
    Ok(())
}

/// Validates a typed request: single-field rules, the operation, cross-field rules.
fn validate_typed(spec: &ModelSpec, plan: &Plan, req: &GenerationRequest) -> Result<Operation> {
    check_fields(spec, plan, Val::request(req), None)?;
    let op = spec.operation_for(req)?;
    for rule in &spec.rules {
        rule.check(spec, req, op)?;
    }
    Ok(op)
}

impl Catalog {
    /// Checks `req` against every rule of its model and returns the operation it performs.
    /// Defaults are not applied (see [`Catalog::quote`]).
    pub fn validate(&self, req: &GenerationRequest) -> Result<Operation> {
        let (spec, plan) = self.compiled(&req.model)?;
        validate_typed(spec, plan, req)
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
        let (spec, plan) = self.compiled(&req.model)?;
        let op = validate_typed(spec, plan, req)?;
        let mut request = req.clone();
        for rule in &spec.rules {
            rule.derive_fields(&mut request);
        }
        apply_defaults(spec, plan, &mut request)?;
        // A defaulted field must still pass every rule: what providers receive and what
        // is priced is the defaulted request, not the body as sent. Fields left as sent
        // already passed their own rules; the cross-field rules see the whole request.
        let changed = changed_keys(req, &request);
        if changed != 0 {
            check_fields(spec, plan, Val::request(&request), Some(changed))?;
            let checked = spec.operation_for(&request)?;
            for rule in &spec.rules {
                rule.check(spec, &request, checked)?;
            }
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
        let billed_units = spec.price.units(&inputs);
        Ok(Quote {
            model: spec.id.clone(),
            operation: op,
            points,
            billed_units,
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
        let (spec, plan) = self.compiled(model)?;
        for key in ["projectId", "callbackUrl", "externalTaskId"] {
            if let Some(v) = obj.get(key).filter(|v| !v.is_null() && !v.is_string()) {
                return Err(Error::invalid(format!(
                    "{key}: {} is not a string",
                    show(v)
                )));
            }
        }
        check_fields(spec, plan, Val::json(body), None)?;
        // Deserializing from the borrowed tree: no copy of the body.
        GenerationRequest::deserialize(body)
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

/// Fills absent top-level fields with the model's defaults, in place.
fn apply_defaults(spec: &ModelSpec, plan: &Plan, req: &mut GenerationRequest) -> Result<()> {
    for d in &plan.defaults {
        if Val::request(req).get(&d.seg).is_some_and(|v| !v.is_null()) {
            continue;
        }
        match (&d.patch, d.seg.key) {
            (Ok(patch), Some(k)) => request_copy_field(req, patch, k),
            // A patch that deserialized has a typed key; nothing else to copy.
            (Ok(_), None) => {}
            (Err(e), _) => {
                return Err(Error::internal(format!(
                    "catalog default for {} does not fit: {e}",
                    spec.id
                )))
            }
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::super::lens::fixtures::{full, wild};
    use super::super::lens::{request_copy_field, REQUEST_KEYS};
    use super::*;

    /// Each model's examples, then each with one field replaced by every fixture's value
    /// for it: valid, unknown to the model, out of range, wrong media, empty lists.
    fn perturbed(catalog: &Catalog) -> Vec<GenerationRequest> {
        let mut out = Vec::new();
        for m in catalog.models() {
            for ex in &m.examples {
                let mut body = ex.clone();
                body.insert("model".into(), Value::String(m.id.clone()));
                let base: GenerationRequest = serde_json::from_value(Value::Object(body)).unwrap();
                out.push(base.clone());
                for donor in [full(), wild(), GenerationRequest::default()] {
                    for &k in REQUEST_KEYS.iter().filter(|k| **k != K::Model) {
                        let mut req = base.clone();
                        request_copy_field(&mut req, &donor, k);
                        out.push(req);
                    }
                }
            }
        }
        out
    }

    fn msg<T>(r: Result<T>) -> std::result::Result<T, String> {
        r.map_err(|e| e.message().to_string())
    }

    #[test]
    fn typed_lens_and_serialized_json_give_the_same_answers() {
        // The typed request is validated without serializing it; the answer (and the
        // exact message) must be what validating its JSON gives, as before.
        let c = Catalog::builtin();
        let reqs = perturbed(c);
        assert!(reqs.len() > 2500, "{}", reqs.len());
        let mut rejected = 0;
        for req in &reqs {
            let (spec, plan) = c.compiled(&req.model).unwrap();
            let json = serde_json::to_value(req).unwrap();
            let typed = msg(check_fields(spec, plan, Val::request(req), None));
            let raw = msg(check_fields(spec, plan, Val::json(&json), None));
            assert_eq!(typed, raw, "{json}");
            rejected += usize::from(typed.is_err());
        }
        // Most perturbations are invalid somewhere: the comparison covers error paths.
        assert!(rejected > reqs.len() / 2, "{rejected} of {}", reqs.len());
    }

    #[test]
    fn quote_rechecking_only_defaulted_fields_equals_full_revalidation() {
        // The reference: the defaulted request validated in full, as quote did before.
        let c = Catalog::builtin()
            .with_override_toml(
                r#"
[[model]]
id = "pro-audio"
name = "Pro audio"
family = "test"
kind = "video"
operations = ["text_to_video"]
rules = ["audio_requires_pro"]
providers = [{ provider = "sim", model = "p" }]
fields = [
  { name = "prompt", type = "string", required = true },
  { name = "mode", type = "string", enum = ["std", "pro"], default = "std" },
  { name = "generateAudio", type = "boolean" },
  { name = "duration", type = "integer", min = 1, max = 8 },
]
price = { rates = [{ per_unit = 1.0 }] }
"#,
            )
            .unwrap();
        let mut reqs = perturbed(&c);
        for mode in [None, Some("pro")] {
            reqs.push(GenerationRequest {
                model: "pro-audio".into(),
                prompt: Some("abc".into()),
                mode: mode.map(Into::into),
                generate_audio: Some(true),
                ..Default::default()
            });
        }
        let reference = |req: &GenerationRequest| -> Result<(Operation, i64, GenerationRequest)> {
            let op = c.validate(req)?;
            let (spec, plan) = c.compiled(&req.model)?;
            let mut request = req.clone();
            for rule in &spec.rules {
                rule.derive_fields(&mut request);
            }
            apply_defaults(spec, plan, &mut request)?;
            assert_eq!(c.validate(&request)?, op);
            let points = spec.price.points(&price_inputs(&request, op)).unwrap();
            Ok((op, points, request))
        };
        let mut defaulted = 0;
        for req in &reqs {
            let got = msg(c.quote(req).map(|q| (q.operation, q.points, q.request)));
            let want = msg(reference(req));
            assert_eq!(got, want, "{}", serde_json::to_value(req).unwrap());
            defaulted += usize::from(got.is_ok_and(|(_, _, r)| r != *req));
        }
        assert!(defaulted > 100, "{defaulted}");
    }
}
