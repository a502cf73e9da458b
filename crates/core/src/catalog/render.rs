//! The `GET /unified-video/models` body, rendered from the catalog so that a front end
//! can build its form with nothing hard-coded (`spec/unified-api.md`).

use super::{Catalog, FieldSpec, FieldType, ModelSpec};
use crate::pricing::POINTS_PER_USD;
use crate::request::{GenerationRequest, MediaKind};
use serde_json::{json, Map, Value};

fn field_json(f: &FieldSpec) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), json!(f.name));
    o.insert("type".into(), json!(f.ty));
    o.insert("required".into(), json!(f.required));
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            o.insert(k.into(), v);
        }
    };
    put("label", f.label.as_ref().map(|v| json!(v)));
    put("description", f.description.as_ref().map(|v| json!(v)));
    put("advanced", f.advanced.then_some(json!(true)));
    put("pick", f.pick.as_ref().map(|v| json!(v)));
    put("default", f.default.clone());
    put("enum", f.allowed.as_ref().map(|v| json!(v)));
    // Integer fields render integer limits (`"min": 3`, not `3.0`) so a form can use them
    // as-is for a whole-number input.
    let limit = |v: f64| match f.ty {
        FieldType::Integer if v.fract() == 0.0 && v.abs() < 9.0e15 => json!(v as i64),
        _ => json!(v),
    };
    put("min", f.min.map(limit));
    put("max", f.max.map(limit));
    put("minLength", f.min_length.map(|v| json!(v)));
    put("maxLength", f.max_length.map(|v| json!(v)));
    put("minItems", f.min_items.map(|v| json!(v)));
    put("maxItems", f.max_items.map(|v| json!(v)));
    Value::Object(o)
}

impl ModelSpec {
    /// The example requests with their prices, as `[{request, pointsCharged}]`; an
    /// example with a field standing for an earlier result also has `needs`:
    /// `[{field, from, kind}]` (the placeholder's field, the model producing it, the
    /// result's kind), so clients offer the account's own results instead.
    pub fn priced_examples(&self, catalog: &Catalog) -> Vec<Value> {
        self.examples
            .iter()
            .filter_map(|ex| {
                let mut body = ex.clone();
                body.insert("model".into(), json!(self.id));
                let req: GenerationRequest =
                    serde_json::from_value(Value::Object(body.clone())).ok()?;
                let quote = catalog.quote(&req).ok()?;
                let needs: Vec<Value> = self
                    .needs
                    .iter()
                    .filter(|n| body.contains_key(&n.field))
                    .map(|n| {
                        let kind = self.field(&n.field).and_then(|f| f.pick.clone());
                        json!({"field": n.field, "from": n.from, "kind": kind})
                    })
                    .collect();
                let mut out = json!({"request": body, "pointsCharged": quote.points});
                if !needs.is_empty() {
                    out["needs"] = Value::Array(needs);
                }
                Some(out)
            })
            .collect()
    }

    fn summary_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "family": self.family,
            "kind": self.kind,
            "description": self.description,
            "operations": self.operations,
            "capabilities": self.capabilities_json(),
            "estimatedTimeSec": self.estimated_time_sec,
        })
    }

    /// What the model can take, derived from its fields (`spec/unified-api.md`: `models`
    /// lists capabilities), for a front end's model picker.
    fn capabilities_json(&self) -> Value {
        let has = |name: &str| self.field(name).is_some();
        let images = self.field("images");
        json!({
            "operations": self.operations,
            "minImages": images.map_or(0, |f| f.min_items.unwrap_or(0)),
            "maxImages": images.map_or(0, |f| f.max_items.unwrap_or(0)),
            "audio": has("generateAudio"),
            "cameraControl": has("cameraControl"),
            "negativePrompt": has("negativePrompt"),
            "masks": has("staticMask") || has("dynamicMasks"),
            "multiShot": has("multiShots"),
            "elements": has("klingElements") || has("elementIds"),
        })
    }
}

impl Catalog {
    /// The `GET /unified-video/models` body for models of `kind` (`None` = all):
    /// `models`, `modelParams` and `pricingHints`.
    pub fn models_document(&self, kind: Option<MediaKind>) -> Value {
        self.models_document_where(kind, &|_, _| true)
    }

    /// [`Catalog::models_document`] restricted to what `offers(model, field)` admits: a
    /// model for which `offers(id, None)` is false is left out, and so is each field (with
    /// its nested fields, defaults and the examples that use it) for which
    /// `offers(id, Some(top_level_field))` is false. The gateway passes what its configured
    /// providers serve, so a form never shows what no provider can run (issue 13).
    pub fn models_document_where(
        &self,
        kind: Option<MediaKind>,
        offers: &dyn Fn(&str, Option<&str>) -> bool,
    ) -> Value {
        let specs: Vec<_> = self
            .models()
            .filter(|m| kind.is_none_or(|k| m.kind == k))
            .filter(|m| offers(&m.id, None))
            .collect();
        let models: Vec<Value> = specs.iter().map(|m| m.summary_json()).collect();
        let mut params = Map::new();
        let mut hints = Map::new();
        for m in &specs {
            let offered = |name: &str| {
                let top = name.split(['.', '[']).next().unwrap_or(name);
                offers(&m.id, Some(top))
            };
            let fields: Vec<&FieldSpec> = m.fields.iter().filter(|f| offered(&f.name)).collect();
            let defaults: Map<String, Value> = fields
                .iter()
                .filter_map(|f| f.default.clone().map(|d| (f.name.clone(), d)))
                .collect();
            params.insert(
                m.id.clone(),
                json!({
                    "fields": fields.iter().map(|f| field_json(f)).collect::<Vec<_>>(),
                    "defaults": defaults,
                    "rules": m.rules.iter().map(|r| json!({"id": r, "description": r.description()})).collect::<Vec<_>>(),
                }),
            );
            hints.insert(
                m.id.clone(),
                json!({
                    "unit": m.price.unit,
                    "offset": m.price.offset,
                    "billingIncrement": m.price.billing_increment,
                    "audioPercent": m.price.audio_percent,
                    "rates": m.price.rates.iter().map(|r| json!({"when": r.when, "base": r.base, "perUnit": r.per_unit})).collect::<Vec<_>>(),
                    "source": m.price.source,
                    "examples": m.priced_examples(self).into_iter().filter(|ex| {
                        ex["request"].as_object().is_some_and(|r| r.keys().all(|k| k == "model" || offered(k)))
                    }).collect::<Vec<_>>(),
                }),
            );
        }
        json!({
            "models": models,
            "modelParams": params,
            "pricingHints": {"pointsPerUsd": POINTS_PER_USD, "models": hints},
        })
    }
}
