//! The per-model JSON Schemas of the `/quote` and `/generate` bodies in the OpenAPI
//! document (issue 21: schemathesis with positive-data checks on quote and generate).
//!
//! A body's fields, types, enums, ranges, lengths and item counts depend on its `model`;
//! the catalog holds them (`ARCHITECTURE.md` "One catalog"), so the schemas are rendered
//! from it, never restated: one schema per model (`components.schemas.<Kind>Body_<id>`,
//! `model` fixed to that id, `additionalProperties: false` like the validator's "unknown
//! field" rule), and each operation's body is `oneOf` those, discriminated by `model`.
//! Cross-field rules (`rules` of a model in `GET /unified-video/models`) are not JSON
//! Schema; each model schema names them in its description.

use genmux_core::catalog::{FieldSpec, FieldType, ModelSpec};
use genmux_core::{Catalog, MediaKind};
use serde_json::{json, Map, Value};

/// Name of the component schema of `model`'s body.
pub fn component_name(kind: MediaKind, model: &str) -> String {
    let kind = match kind {
        MediaKind::Video => "VideoBody",
        MediaKind::Image => "ImageBody",
    };
    // Component names allow `^[a-zA-Z0-9._-]+$` (OpenAPI 3.1 §4.8.7.1): model ids do.
    format!("{kind}_{model}")
}

/// A media input as the validator takes it (`genmux_core::MediaInput::parse`): an http(s)
/// URL, or bare standard Base64 with canonical padding (the last character before `=`
/// carries no stray bits, as the decoder requires); a `data:` URI is refused. (The
/// validator also skips whitespace inside Base64; the pattern leaves that out.)
const MEDIA_PATTERN: &str = "^(?:[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#]+(?:[/?#]\\S*)?|(?:[A-Za-z0-9+/]{4})+|(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=))$";

fn media_schema() -> Map<String, Value> {
    let mut o = typed("string");
    o.insert("pattern".into(), json!(MEDIA_PATTERN));
    o.insert(
        "description".into(),
        json!("an http(s) URL or bare Base64 (no `data:` prefix)"),
    );
    o
}

/// `{"type": ty}`.
fn typed(ty: &str) -> Map<String, Value> {
    Map::from_iter([("type".to_string(), Value::from(ty))])
}

/// `{"type": "array", "items": items}`.
fn array_of(items: Map<String, Value>) -> Map<String, Value> {
    let mut o = typed("array");
    o.insert("items".into(), Value::Object(items));
    o
}

/// `schema` admitting `null` as well: the validator treats a null optional field as absent.
fn nullable(mut schema: Value) -> Value {
    if let Some(o) = schema.as_object_mut() {
        if let Some(t) = o.get("type").cloned() {
            o.insert("type".into(), json!([t, "null"]));
        }
        if let Some(Value::Array(e)) = o.get_mut("enum") {
            e.push(Value::Null);
        }
    }
    schema
}

/// Whether `f` is a direct child of the object at `prefix` (`""` for the body,
/// `"cameraControl."`, `"dynamicMasks[]."`).
fn is_child(f: &FieldSpec, prefix: &str) -> bool {
    f.name
        .strip_prefix(prefix)
        .is_some_and(|rest| !rest.is_empty() && !rest.contains(['.', '[']))
}

fn put(o: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        o.insert(key.into(), v);
    }
}

/// A whole-number limit renders as an integer (`5`, not `5.0`) on integer fields.
fn limit(ty: FieldType, v: f64) -> Value {
    match ty {
        FieldType::Integer if v.fract() == 0.0 && v.abs() < 9.0e15 => json!(v as i64),
        _ => json!(v),
    }
}

/// The schema of one field (and of the fields below it, for objects and object lists).
fn field_schema(f: &FieldSpec, all: &[FieldSpec]) -> Value {
    let mut o = match f.ty {
        FieldType::String => typed("string"),
        FieldType::Integer => typed("integer"),
        FieldType::Number => typed("number"),
        FieldType::Boolean => typed("boolean"),
        FieldType::Media => media_schema(),
        FieldType::MediaList => array_of(media_schema()),
        FieldType::StringList => array_of(typed("string")),
        FieldType::Object => object_schema(all, &format!("{}.", f.name)),
        FieldType::ObjectList => array_of(object_schema(all, &format!("{}[].", f.name))),
    };
    put(&mut o, "title", f.label.clone().map(Value::from));
    put(
        &mut o,
        "description",
        f.description.clone().map(Value::from),
    );
    put(&mut o, "default", f.default.clone());
    put(&mut o, "enum", f.allowed.clone().map(Value::from));
    put(&mut o, "minimum", f.min.map(|v| limit(f.ty, v)));
    put(&mut o, "maximum", f.max.map(|v| limit(f.ty, v)));
    put(&mut o, "minLength", f.min_length.map(Value::from));
    put(&mut o, "maxLength", f.max_length.map(Value::from));
    put(&mut o, "minItems", f.min_items.map(Value::from));
    put(&mut o, "maxItems", f.max_items.map(Value::from));
    Value::Object(o)
}

/// The properties of the fields directly below `prefix` (`""` for the body), and the
/// names of the required ones.
fn object_parts(all: &[FieldSpec], prefix: &str) -> (Map<String, Value>, Vec<Value>) {
    let mut props = Map::new();
    let mut required = Vec::new();
    for f in all.iter().filter(|f| is_child(f, prefix)) {
        let name = &f.name[prefix.len()..];
        // A list field is a list or absent: the request type has no "null list".
        let list = matches!(
            f.ty,
            FieldType::MediaList | FieldType::StringList | FieldType::ObjectList
        );
        if f.required || list {
            props.insert(name.to_string(), field_schema(f, all));
        } else {
            props.insert(name.to_string(), nullable(field_schema(f, all)));
        }
        if f.required {
            required.push(Value::from(name));
        }
    }
    (props, required)
}

/// The object of `props` with `required` and no other key (the validator refuses unknown
/// fields, V2/X1).
fn object_of(props: Map<String, Value>, required: Vec<Value>) -> Map<String, Value> {
    let mut o = typed("object");
    o.insert("properties".into(), Value::Object(props));
    if !required.is_empty() {
        o.insert("required".into(), Value::Array(required));
    }
    o.insert("additionalProperties".into(), json!(false));
    o
}

/// The object made of the fields directly below `prefix`: their schemas, the required
/// ones, and no other key.
fn object_schema(all: &[FieldSpec], prefix: &str) -> Map<String, Value> {
    let (props, required) = object_parts(all, prefix);
    object_of(props, required)
}

/// The JSON Schema of a `/quote` or `/generate` body for `spec`: its catalog fields, the
/// fields every model takes (`genmux_core::catalog::COMMON_FIELDS`), `model` fixed.
pub fn model_body_schema(spec: &ModelSpec) -> Value {
    let (mut props, fields_required) = object_parts(&spec.fields, "");
    props.insert("model".into(), json!({"type": "string", "enum": [spec.id]}));
    props.insert(
        "projectId".into(),
        json!({"type": ["string", "null"], "description": "the caller's grouping of tasks"}),
    );
    props.insert(
        "callbackUrl".into(),
        json!({"type": ["string", "null"], "format": "uri",
               "description": "http(s) URL the finished task is POSTed to (checked against the SSRF rules)"}),
    );
    props.insert(
        "externalTaskId".into(),
        json!({"type": ["string", "null"], "description": "the caller's own id of the task, unique within the account"}),
    );
    let mut required = vec![Value::from("model")];
    required.extend(fields_required);
    let mut o = object_of(props, required);
    o.insert("title".into(), json!(spec.id));
    let mut description = format!("{}: {}", spec.name, spec.description);
    if !spec.rules.is_empty() {
        description.push_str(" Rules between fields: ");
        let rules: Vec<&str> = spec.rules.iter().map(|r| r.description()).collect();
        description.push_str(&rules.join("; "));
        description.push('.');
    }
    o.insert("description".into(), Value::from(description));
    Value::Object(o)
}

/// Adds every model's body schema to `doc`'s components and makes the body of the
/// `/quote` and `/generate` operations of each kind `oneOf` them, discriminated by
/// `model`. `doc` is the serialized OpenAPI document.
pub fn insert_model_bodies(doc: &mut Value, catalog: &Catalog) {
    for kind in [MediaKind::Video, MediaKind::Image] {
        let prefix = match kind {
            MediaKind::Video => "/unified-video",
            MediaKind::Image => "/unified-image",
        };
        let mut refs = Vec::new();
        let mut mapping = Map::new();
        for m in catalog.models().filter(|m| m.kind == kind) {
            let name = component_name(kind, &m.id);
            let r = format!("#/components/schemas/{name}");
            doc["components"]["schemas"][&name] = model_body_schema(m);
            refs.push(json!({"$ref": r}));
            mapping.insert(m.id.clone(), Value::from(r));
        }
        let body = json!({
            "oneOf": refs,
            "discriminator": {"propertyName": "model", "mapping": mapping},
        });
        for op in ["quote", "generate"] {
            // A JSON pointer (RFC 6901: `/` in a key is `~1`), so an operation the
            // document lacks is left out rather than created.
            let ptr = format!(
                "/paths/~1{}~1{op}/post/requestBody/content/application~1json",
                &prefix[1..]
            );
            if let Some(Value::Object(content)) = doc.pointer_mut(&ptr) {
                content.insert("schema".into(), body.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str) -> &'static ModelSpec {
        Catalog::builtin()
            .models()
            .find(|m| m.id == id)
            .unwrap_or_else(|| panic!("no model {id} in the builtin catalog"))
    }

    #[test]
    fn a_model_schema_carries_the_catalog_rules_of_each_field() {
        let s = model_body_schema(spec("kling-2.5-turbo"));
        assert_eq!(s["additionalProperties"], json!(false));
        assert_eq!(s["properties"]["model"]["enum"], json!(["kling-2.5-turbo"]));
        assert_eq!(s["required"], json!(["model", "prompt"]));
        let p = &s["properties"];
        // optional fields admit null (absent), required ones do not
        assert_eq!(p["duration"]["type"], json!(["integer", "null"]));
        assert_eq!(p["duration"]["enum"], json!([5, 10, null]));
        assert_eq!(p["prompt"]["type"], json!("string"));
        assert_eq!(p["images"]["type"], json!("array"));
        assert_eq!(p["prompt"]["minLength"], json!(3));
        assert_eq!(p["prompt"]["maxLength"], json!(2500));
        assert_eq!(p["cfgScale"]["maximum"], json!(1.0));
        assert_eq!(p["images"]["maxItems"], json!(2));
        // nested objects and object lists, each closed
        let cc = &p["cameraControl"];
        assert_eq!(cc["additionalProperties"], json!(false));
        assert_eq!(
            cc["properties"]["config"]["properties"]["pan"]["minimum"],
            json!(-10.0)
        );
        let dm = &p["dynamicMasks"]["items"];
        assert_eq!(dm["required"], json!(["mask", "trajectories"]));
        assert_eq!(
            dm["properties"]["trajectories"]["items"]["properties"]["x"]["type"],
            json!("integer")
        );
        assert!(p["images"]["items"]["pattern"]
            .as_str()
            .unwrap()
            .contains("Tt"));
        // the rules the schema cannot say are named
        let d = s["description"].as_str().unwrap();
        assert!(d.contains("mutually exclusive"), "{d}");
    }

    /// The media pattern admits what `MediaInput::parse` admits and refuses what it refuses
    /// (checked against the parser itself, so the two cannot drift apart unseen).
    #[test]
    fn the_media_pattern_agrees_with_the_media_parser() {
        let re = regex::Regex::new(MEDIA_PATTERN).expect("the pattern compiles");
        for v in [
            "https://x.test/a.png",
            "HTTP://x.test",
            "iVBORw0KGgo=",
            "AAAA",
            "AA==",
            "AAA=",
            "AQ==",
        ] {
            assert!(
                genmux_core::MediaInput::parse(v).is_ok(),
                "parser refuses {v}"
            );
            assert!(re.is_match(v), "pattern refuses {v}");
        }
        for v in [
            "",
            "AB==",
            "AAB=",
            "data:image/png;base64,AAAA",
            "ftp://x",
            "A",
            "AAAAA",
            "http://",
        ] {
            assert!(
                genmux_core::MediaInput::parse(v).is_err(),
                "parser takes {v}"
            );
            assert!(!re.is_match(v), "pattern takes {v}");
        }
    }

    #[test]
    fn every_catalog_field_appears_once_in_its_model_schema() {
        for m in Catalog::builtin().models() {
            let s = model_body_schema(m);
            for f in &m.fields {
                // walk the dotted name down the schema
                let mut at = &s;
                for seg in f.name.split('.') {
                    let (name, list) = match seg.strip_suffix("[]") {
                        Some(n) => (n, true),
                        None => (seg, false),
                    };
                    at = &at["properties"][name];
                    assert!(at.is_object(), "{}: {} missing at {seg}", m.id, f.name);
                    if list {
                        at = &at["items"];
                    }
                }
            }
        }
    }

    #[test]
    fn the_operations_take_one_of_the_models_of_their_kind() {
        let mut doc = json!({
            "paths": {
                "/unified-video/generate": {"post": {"requestBody": {"content": {"application/json": {"schema": {}}}}}},
                "/unified-image/quote": {"post": {"requestBody": {"content": {"application/json": {"schema": {}}}}}},
            },
            "components": {"schemas": {}},
        });
        let catalog = Catalog::builtin();
        insert_model_bodies(&mut doc, catalog);
        let video = &doc["paths"]["/unified-video/generate"]["post"]["requestBody"]["content"]
            ["application/json"]["schema"];
        let n_video = catalog
            .models()
            .filter(|m| m.kind == MediaKind::Video)
            .count();
        assert_eq!(video["oneOf"].as_array().unwrap().len(), n_video);
        assert_eq!(
            video["discriminator"]["mapping"]["kling-2.5-turbo"],
            json!("#/components/schemas/VideoBody_kling-2.5-turbo")
        );
        let image = &doc["paths"]["/unified-image/quote"]["post"]["requestBody"]["content"]
            ["application/json"]["schema"];
        assert!(image["discriminator"]["mapping"]["kling-image"].is_string());
        assert!(image["discriminator"]["mapping"]
            .get("kling-2.5-turbo")
            .is_none());
        // operations absent from the document are not invented
        assert!(doc["paths"].get("/unified-video/quote").is_none());
        assert!(doc["components"]["schemas"]["ImageBody_kling-image"].is_object());
    }
}
