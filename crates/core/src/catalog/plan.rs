//! A model's fields compiled once at catalog load: dotted names split into segments with
//! their typed keys, the object fields' known children, and the defaults as typed values.
//! Validation then walks the request without parsing a name or allocating a string; the
//! catalog stays the only source of the rules (nothing here is model-specific).

use super::lens::{request_field_eq, request_present, KeySet, Seg, K, REQUEST_KEYS};
use super::{FieldType, ModelSpec, COMMON_FIELDS};
use crate::request::GenerationRequest;
use serde_json::{Map, Value};

/// One declared field.
#[derive(Clone, Debug)]
pub(crate) struct FieldPlan {
    /// The path's segments.
    pub(crate) segs: Vec<Seg>,
    /// The top-level key, when the typed request has it.
    pub(crate) top: Option<K>,
    /// Dotted (`a.b`, `list[].c`).
    pub(crate) nested: bool,
    /// A nested required field: its parent's segments and its leaf key.
    pub(crate) required_in: Option<(Vec<Seg>, Seg)>,
}

/// An object or object-list field, whose items' keys must be declared.
#[derive(Clone, Debug)]
pub(crate) struct ObjectPlan {
    /// `name` or `name[]`.
    pub(crate) item_path: String,
    pub(crate) segs: Vec<Seg>,
    pub(crate) top: Option<K>,
    /// Every declared name below `item_path.`, sorted for lookup.
    pub(crate) children: Vec<String>,
}

/// A top-level default.
#[derive(Clone, Debug)]
pub(crate) struct DefaultPlan {
    pub(crate) seg: Seg,
    /// A request holding only this default (and the model id), to copy the field from;
    /// or why the default does not fit the typed request.
    pub(crate) patch: Result<Box<GenerationRequest>, String>,
}

/// The compiled form of one [`ModelSpec`].
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// Parallel to `ModelSpec::fields`.
    pub(crate) fields: Vec<FieldPlan>,
    pub(crate) objects: Vec<ObjectPlan>,
    pub(crate) defaults: Vec<DefaultPlan>,
    /// Every declared field name, sorted for lookup.
    pub(crate) names: Vec<String>,
    /// Keys whose names are common or declared top-level names.
    pub(crate) top_known: KeySet,
}

impl Plan {
    pub(crate) fn new(spec: &ModelSpec) -> Plan {
        let top_of = |name: &str| {
            let first = name.split('.').next().unwrap_or(name);
            K::from_name(first.strip_suffix("[]").unwrap_or(first))
        };
        let fields = spec
            .fields
            .iter()
            .map(|f| FieldPlan {
                segs: Seg::path(&f.name),
                top: top_of(&f.name),
                nested: f.name.contains('.'),
                required_in: f
                    .name
                    .rsplit_once('.')
                    .filter(|_| f.required)
                    .map(|(parent, leaf)| (Seg::path(parent), Seg::key(leaf))),
            })
            .collect();
        let objects = spec
            .fields
            .iter()
            .filter(|f| matches!(f.ty, FieldType::Object | FieldType::ObjectList))
            .map(|f| {
                let item_path = match f.ty {
                    FieldType::ObjectList => format!("{}[]", f.name),
                    _ => f.name.clone(),
                };
                let prefix = format!("{item_path}.");
                let mut children: Vec<String> = spec
                    .fields
                    .iter()
                    .filter_map(|g| g.name.strip_prefix(&prefix).map(str::to_string))
                    .collect();
                children.sort_unstable();
                ObjectPlan {
                    segs: Seg::path(&item_path),
                    top: top_of(&f.name),
                    item_path,
                    children,
                }
            })
            .collect();
        let defaults = spec
            .fields
            .iter()
            .filter(|f| !f.name.contains('.'))
            .filter_map(|f| {
                let d = f.default.as_ref()?;
                let mut body = Map::new();
                body.insert("model".into(), Value::String(spec.id.clone()));
                body.insert(f.name.clone(), d.clone());
                let patch = serde_json::from_value::<GenerationRequest>(Value::Object(body))
                    .map(Box::new)
                    .map_err(|e| e.to_string());
                Some(DefaultPlan {
                    seg: Seg::key(&f.name),
                    patch,
                })
            })
            .collect();
        let mut names: Vec<String> = spec.fields.iter().map(|f| f.name.clone()).collect();
        names.sort_unstable();
        // Over every key, not only the request's: a JSON body may carry a nested key's
        // name at the top level, and a catalog may declare a field by that name.
        let top_known = K::ALL
            .iter()
            .filter(|k| COMMON_FIELDS.contains(&k.name()) || names.iter().any(|n| n == k.name()))
            .fold(0, |set, k| set | k.bit());
        Plan {
            fields,
            objects,
            defaults,
            names,
            top_known,
        }
    }

    /// Whether a top-level key is common or declared.
    pub(crate) fn knows_top(&self, key: Option<K>, name: &str) -> bool {
        match key {
            Some(k) => self.top_known & k.bit() != 0,
            None => {
                COMMON_FIELDS.contains(&name)
                    || self
                        .names
                        .binary_search_by(|n| n.as_str().cmp(name))
                        .is_ok()
            }
        }
    }
}

/// The top-level keys whose values differ between two requests (only keys present in
/// either can differ, so only those are compared).
pub(crate) fn changed_keys(a: &GenerationRequest, b: &GenerationRequest) -> KeySet {
    let candidates = request_present(a) | request_present(b);
    REQUEST_KEYS
        .iter()
        .filter(|&&k| candidates & k.bit() != 0 && !request_field_eq(a, b, k))
        .fold(0, |set, k| set | k.bit())
}
