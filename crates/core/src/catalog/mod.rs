//! The model catalog: the single description of every model (`ARCHITECTURE.md` "One
//! catalog"). Validation, `GET /unified-video/models`, quoting, the CLI and the web form
//! all read it; nothing else restates a model's rules.
//!
//! The catalog is data: `catalog.toml` is embedded in the binary, and an operator may load
//! an override file on top ([`Catalog::with_override_toml`]) that replaces or adds models,
//! or disables some.

mod lens;
mod plan;
mod render;
mod rules;
mod samples;
mod validate;

pub use rules::RuleId;
pub use samples::{ExampleNeed, SampleKind, SampleMedia};
pub use validate::{price_inputs, Quote};

use crate::error::{Error, Result};
use crate::pricing::PriceRule;
use crate::request::{MediaKind, Operation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// The catalog shipped with genmux.
pub const BUILTIN_CATALOG_TOML: &str = include_str!("../../catalog.toml");

/// The type of a request field, as a front end renders it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Free text.
    String,
    /// Whole number.
    Integer,
    /// Decimal number.
    Number,
    /// true / false.
    Boolean,
    /// One media input (URL or bare Base64).
    Media,
    /// A list of media inputs.
    MediaList,
    /// A list of strings.
    StringList,
    /// An object whose keys are declared as `name.key` fields.
    Object,
    /// A list of objects whose keys are declared as `name[].key` fields.
    ObjectList,
}

/// One request field of a model: its type, whether it is required, its default, enum and
/// limits. `name` is the camelCase wire name; nested fields use `parent.child` and
/// `list[].child`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct FieldSpec {
    /// Wire name (camelCase), dotted for nested fields.
    pub name: String,
    /// Value type.
    #[serde(rename = "type")]
    pub ty: FieldType,
    /// Human label for forms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// What the field does and where the rule comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Must be present.
    #[serde(default)]
    pub required: bool,
    /// Value used when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// Allowed values.
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<serde_json::Value>>,
    /// Smallest number allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest number allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Shortest string, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    /// Longest string, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// Fewest list items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u32>,
    /// Most list items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u32>,
    /// Shown under "Advanced options" by forms (`[form] advanced` in the catalog file).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub advanced: bool,
    /// The id of an earlier result of this kind (`"video"`): forms offer the account's own
    /// (`[form] picks` in the catalog file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pick: Option<String>,
}

/// How forms present fields, by field name (the `[form]` table of the catalog file).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FormHints {
    /// Fields shown under "Advanced options".
    #[serde(default)]
    advanced: Vec<String>,
    /// Fields that take the id of an earlier result, by the result's kind.
    #[serde(default)]
    picks: BTreeMap<String, String>,
}

/// A provider model that can serve a catalog model, optionally for some operations only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderModel {
    /// Provider id (`kling`, `midsync`).
    pub provider: String,
    /// The upstream's model name.
    pub model: String,
    /// Operations this provider model serves; empty = all of the catalog model's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<Operation>,
}

/// Everything genmux knows about one model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Model id used in requests (`kling-2.5-turbo`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Provider family (the maker): `kling`, `seedance`, `runway`, `minimax`, `xai`.
    pub family: String,
    /// Video or image.
    pub kind: MediaKind,
    /// One line for humans.
    #[serde(default)]
    pub description: String,
    /// Operations offered.
    pub operations: Vec<Operation>,
    /// Request fields accepted, besides the common ones (`model`, `projectId`,
    /// `callbackUrl`, `externalTaskId`). There is no free-form field: everything that
    /// reaches an upstream is a catalog field, validated and priced (issue 13, X1).
    pub fields: Vec<FieldSpec>,
    /// Cross-field rules, by id (see [`RuleId`]).
    #[serde(default)]
    pub rules: Vec<RuleId>,
    /// The price table, in points.
    pub price: PriceRule,
    /// Provider models able to serve this model.
    pub providers: Vec<ProviderModel>,
    /// Typical time to finish, for `estimatedTimeSec`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_time_sec: Option<u32>,
    /// Example request bodies (without `model`); `pricingHints` shows their prices and the
    /// test suite checks that each one is accepted.
    #[serde(default)]
    pub examples: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Example fields that stand for an earlier result (issue 20 point 3): the examples'
    /// value is a placeholder, clients offer the account's own results instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<ExampleNeed>,
}

/// Fields every model accepts.
pub const COMMON_FIELDS: [&str; 4] = ["model", "projectId", "callbackUrl", "externalTaskId"];

impl ModelSpec {
    /// The field spec named `name` (dotted for nested fields).
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Whether the model offers `op`.
    pub fn offers(&self, op: Operation) -> bool {
        self.operations.contains(&op)
    }

    /// The provider model names of `provider` able to serve `op` for this model.
    pub fn provider_models<'a>(
        &'a self,
        provider: &'a str,
        op: Operation,
    ) -> impl Iterator<Item = &'a ProviderModel> + 'a {
        self.providers.iter().filter(move |p| {
            p.provider == provider && (p.operations.is_empty() || p.operations.contains(&op))
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    model: Vec<ModelSpec>,
    #[serde(default)]
    disabled: Vec<String>,
    /// Display labels by field name, for fields without their own `label`.
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// How forms present fields.
    #[serde(default)]
    form: FormHints,
    /// The files the examples' media URLs stand for, by URL (see [`SampleMedia`]).
    #[serde(default)]
    samples: BTreeMap<String, SampleMedia>,
}

impl CatalogFile {
    /// Its models, each field labelled from `[labels]` unless it has its own label, and
    /// marked advanced or as an earlier result's id from `[form]`.
    fn labelled_models(self) -> Vec<ModelSpec> {
        let (labels, form) = (self.labels, self.form);
        self.model
            .into_iter()
            .map(|mut m| {
                for f in &mut m.fields {
                    if f.label.is_none() {
                        f.label = labels.get(&f.name).cloned();
                    }
                    f.advanced |= form.advanced.contains(&f.name);
                    if f.pick.is_none() {
                        f.pick = form.picks.get(&f.name).cloned();
                    }
                }
                m
            })
            .collect()
    }
}

/// The loaded catalog: model specs by id, in file order.
#[derive(Clone, Debug)]
pub struct Catalog {
    models: Vec<Arc<ModelSpec>>,
    /// Each model's compiled validation plan, parallel to `models`.
    plans: Vec<Arc<plan::Plan>>,
    by_id: BTreeMap<String, usize>,
    /// The `[samples]` table: what each example media URL stands for.
    samples: Arc<BTreeMap<String, SampleMedia>>,
}

impl Catalog {
    /// The built-in catalog, parsed once.
    ///
    /// ```
    /// let catalog = genmux_core::Catalog::builtin();
    /// assert!(catalog.model("kling-2.5-turbo").is_some());
    /// ```
    pub fn builtin() -> &'static Catalog {
        static BUILTIN: OnceLock<Catalog> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            // The embedded file is checked by the test suite; failing here is a build bug.
            Catalog::from_toml_str(BUILTIN_CATALOG_TOML).expect("built-in catalog.toml is valid")
        })
    }

    /// Parses a catalog from TOML.
    pub fn from_toml_str(text: &str) -> Result<Catalog> {
        let mut file: CatalogFile = toml::from_str(text)
            .map_err(|e| Error::invalid(format!("catalog: {e}")).with_source(e))?;
        let mut catalog = Catalog {
            models: Vec::new(),
            plans: Vec::new(),
            by_id: BTreeMap::new(),
            samples: Arc::new(BTreeMap::new()),
        };
        catalog.add_samples(std::mem::take(&mut file.samples))?;
        let disabled = file.disabled.clone();
        for m in file.labelled_models() {
            catalog.upsert(m)?;
        }
        for id in &disabled {
            catalog.remove(id)?;
        }
        catalog.check_examples()?;
        Ok(catalog)
    }

    /// Adds (or replaces) `[samples]` entries, each checked.
    fn add_samples(&mut self, samples: BTreeMap<String, SampleMedia>) -> Result<()> {
        if samples.is_empty() {
            return Ok(());
        }
        let mut all = (*self.samples).clone();
        for (url, sample) in samples {
            sample.check(&url)?;
            all.insert(url, sample);
        }
        self.samples = Arc::new(all);
        Ok(())
    }

    /// What an example media URL stands for (the `[samples]` table), if it is one.
    pub fn sample(&self, url: &str) -> Option<&SampleMedia> {
        self.samples.get(url)
    }

    /// Every example must be a valid request: `pricingHints` shows their prices, and an
    /// example the catalog rejects would silently vanish from it. A declared need names a
    /// field of the model that takes an earlier result (`pick`) and a model whose first
    /// example needs nothing itself, so the chain always starts.
    fn check_examples(&self) -> Result<()> {
        for m in &self.models {
            for need in &m.needs {
                let bad = |what: String| {
                    Err(Error::invalid(format!(
                        "catalog: model `{}`: needs {{ field = \"{}\", from = \"{}\" }}: {what}",
                        m.id, need.field, need.from
                    )))
                };
                match m.field(&need.field) {
                    None => return bad("no such field".into()),
                    Some(f) if f.pick.is_none() => {
                        return bad("the field takes no earlier result (no `pick`)".into())
                    }
                    Some(_) => {}
                }
                match self.model(&need.from) {
                    None => return bad("no such model".into()),
                    Some(p) if p.examples.is_empty() || !p.needs.is_empty() => {
                        return bad(format!(
                            "`{}` must have an example that needs no earlier result",
                            need.from
                        ))
                    }
                    Some(_) => {}
                }
            }
            for (i, ex) in m.examples.iter().enumerate() {
                let mut body = ex.clone();
                body.insert("model".into(), serde_json::Value::String(m.id.clone()));
                let checked = self
                    .parse_request(&serde_json::Value::Object(body))
                    .and_then(|req| self.quote(&req));
                if let Err(e) = checked {
                    return Err(Error::invalid(format!(
                        "catalog: model `{}`: example {} is rejected: {}",
                        m.id,
                        i + 1,
                        e.message()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Applies an operator override file: a `[[model]]` with a known id replaces that model,
    /// a new id adds one, and `disabled = ["id", …]` removes models.
    pub fn with_override_toml(&self, text: &str) -> Result<Catalog> {
        let mut file: CatalogFile = toml::from_str(text)
            .map_err(|e| Error::invalid(format!("catalog override: {e}")).with_source(e))?;
        let mut catalog = self.clone();
        catalog.add_samples(std::mem::take(&mut file.samples))?;
        let disabled = file.disabled.clone();
        for m in file.labelled_models() {
            catalog.upsert(m)?;
        }
        for id in &disabled {
            catalog.remove(id)?;
        }
        catalog.check_examples()?;
        Ok(catalog)
    }

    fn upsert(&mut self, model: ModelSpec) -> Result<()> {
        check_model(&model)?;
        let plan = Arc::new(plan::Plan::new(&model));
        match self.by_id.get(&model.id) {
            Some(&i) => {
                self.models[i] = Arc::new(model);
                self.plans[i] = plan;
            }
            None => {
                self.by_id.insert(model.id.clone(), self.models.len());
                self.models.push(Arc::new(model));
                self.plans.push(plan);
            }
        }
        Ok(())
    }

    fn remove(&mut self, id: &str) -> Result<()> {
        if !self.by_id.contains_key(id) {
            return Err(Error::invalid(format!(
                "catalog: disabled model `{id}` does not exist (models: {})",
                self.ids().collect::<Vec<_>>().join(", ")
            )));
        }
        let keep: Vec<bool> = self.models.iter().map(|m| m.id != id).collect();
        let mut flags = keep.iter();
        self.plans.retain(|_| flags.next().copied().unwrap_or(true));
        self.models.retain(|m| m.id != id);
        self.by_id = self
            .models
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.clone(), i))
            .collect();
        Ok(())
    }

    /// Every model, in catalog order.
    pub fn models(&self) -> impl Iterator<Item = &Arc<ModelSpec>> {
        self.models.iter()
    }

    /// Every model id, in catalog order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.models.iter().map(|m| m.id.as_str())
    }

    /// A model by id.
    pub fn model(&self, id: &str) -> Option<&Arc<ModelSpec>> {
        self.by_id.get(id).map(|&i| &self.models[i])
    }

    /// A model by id, or `NotFound` listing the known ids.
    pub fn require(&self, id: &str) -> Result<&Arc<ModelSpec>> {
        self.compiled(id).map(|(spec, _)| spec)
    }

    /// A model and its validation plan by id, or the error of [`Catalog::require`].
    fn compiled(&self, id: &str) -> Result<(&Arc<ModelSpec>, &plan::Plan)> {
        match self.by_id.get(id) {
            Some(&i) => Ok((&self.models[i], &self.plans[i])),
            None => Err(self.unknown_model(id)),
        }
    }

    fn unknown_model(&self, id: &str) -> Error {
        Error::new(
            crate::ErrorKind::InvalidRequest,
            format!(
                "model: `{id}` is not a known model (allowed: {})",
                self.ids().collect::<Vec<_>>().join(", ")
            ),
        )
    }
}

/// Checks a model entry for mistakes an operator could make in an override file.
fn check_model(m: &ModelSpec) -> Result<()> {
    let bad = |what: String| Err(Error::invalid(format!("catalog: model `{}`: {what}", m.id)));
    if m.id.trim().is_empty() {
        return bad("empty id".into());
    }
    if m.operations.is_empty() {
        return bad("no operations".into());
    }
    for op in &m.operations {
        if op.output() != m.kind {
            let kind = match m.kind {
                MediaKind::Video => "video",
                MediaKind::Image => "image",
            };
            return bad(format!("operation {op} does not produce a {kind}"));
        }
    }
    if m.price.rates.is_empty() {
        return bad("price has no rates".into());
    }
    if m.providers.is_empty() {
        return bad("no providers".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for f in &m.fields {
        if !seen.insert(f.name.as_str()) {
            return bad(format!("field `{}` declared twice", f.name));
        }
        if COMMON_FIELDS.contains(&f.name.as_str()) {
            return bad(format!("field `{}` is common to every model", f.name));
        }
        if let (Some(d), Some(allowed)) = (&f.default, &f.allowed) {
            if !allowed.iter().any(|a| validate::json_eq(a, d)) {
                return bad(format!(
                    "field `{}`: default {d} is not among its enum",
                    f.name
                ));
            }
        }
        // A default must pass the field's own rules (type, range, length), since the
        // defaulted request is what providers receive.
        if let Some(d) = &f.default {
            if let Err(e) = validate::check_field(&m.id, f, &f.name, lens::Val::json(d)) {
                return bad(format!(
                    "field `{}`: default is invalid: {}",
                    f.name,
                    e.message()
                ));
            }
        }
        if let (Some(lo), Some(hi)) = (f.min, f.max) {
            if lo > hi {
                return bad(format!("field `{}`: min {lo} is above max {hi}", f.name));
            }
        }
        if let Some((parent, _)) = f.name.rsplit_once('.') {
            let parent_name = parent.strip_suffix("[]").unwrap_or(parent);
            let declared = m.fields.iter().any(|p| {
                p.name == parent_name && matches!(p.ty, FieldType::Object | FieldType::ObjectList)
            });
            if !declared {
                return bad(format!(
                    "field `{}`: its parent `{parent_name}` is not declared as an object or object_list",
                    f.name
                ));
            }
        }
    }
    Ok(())
}
