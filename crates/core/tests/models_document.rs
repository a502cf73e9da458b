//! `GET /unified-video/models`: a front end builds its form and price display from this
//! body alone, so its shape is asserted here.

mod common;

use common::points;
use genmux_core::request::MediaKind;
use genmux_core::Catalog;
use serde_json::Value;

fn doc() -> Value {
    Catalog::builtin().models_document(None)
}

#[test]
fn every_model_appears_with_a_summary() {
    let d = doc();
    let models = d["models"].as_array().expect("models is an array");
    let ids: Vec<&str> = models.iter().map(|m| m["id"].as_str().unwrap()).collect();
    let want: Vec<&str> = Catalog::builtin().ids().collect();
    assert_eq!(ids, want);
    for id in [
        "seedance-1.5-pro",
        "runway",
        "kling-2.5-turbo",
        "kling-2.6-t2v",
        "kling-3.0",
        "hailuo-2.3-standard",
        "grok-video",
        "kling-multi-image",
        "kling-motion-control",
        "kling-video-extend",
        "kling-lip-sync",
        "kling-image",
        "kling-omni-image",
    ] {
        assert!(ids.contains(&id), "{id} missing");
    }
    for m in models {
        for key in ["id", "name", "family", "kind", "description"] {
            assert!(m[key].is_string(), "{}: {key} is not a string", m["id"]);
        }
        assert!(m["operations"].as_array().is_some_and(|o| !o.is_empty()));
        let caps = &m["capabilities"];
        for key in [
            "audio",
            "cameraControl",
            "negativePrompt",
            "masks",
            "multiShot",
            "elements",
        ] {
            assert!(caps[key].is_boolean(), "{}: capabilities.{key}", m["id"]);
        }
        assert!(caps["maxImages"].is_u64() && caps["minImages"].is_u64());
    }
    let by_id = |id: &str| models.iter().find(|m| m["id"] == id).unwrap();
    assert_eq!(by_id("kling-2.6-t2v")["capabilities"]["audio"], true);
    assert_eq!(by_id("kling-2.5-turbo")["capabilities"]["masks"], true);
    assert_eq!(by_id("kling-2.5-turbo")["capabilities"]["maxImages"], 2);
    assert_eq!(by_id("hailuo-2.3-standard")["capabilities"]["minImages"], 1);
    assert_eq!(by_id("kling-image")["kind"], "image");
}

#[test]
fn model_params_carry_fields_with_enum_default_and_limits() {
    let d = doc();
    let params = d["modelParams"].as_object().unwrap();
    assert_eq!(params.len(), Catalog::builtin().models().count());
    for (id, p) in params {
        let fields = p["fields"].as_array().unwrap();
        assert!(!fields.is_empty(), "{id}");
        for f in fields {
            assert!(f["name"].is_string() && f["type"].is_string(), "{id}: {f}");
            assert!(f["required"].is_boolean(), "{id}: {f}");
        }
        assert!(p["defaults"].is_object() && p["rules"].is_array());
        for r in p["rules"].as_array().unwrap() {
            assert!(r["id"].is_string() && r["description"].is_string());
        }
    }
    let field = |model: &str, name: &str| -> Value {
        params[model]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{model}.{name} missing"))
    };
    let duration = field("kling-2.5-turbo", "duration");
    assert_eq!(duration["type"], "integer");
    assert_eq!(duration["enum"], serde_json::json!([5, 10]));
    assert_eq!(duration["default"], 5);
    // Integer limits render as integers, number limits as numbers.
    let grok = field("grok-video", "duration");
    assert_eq!(grok["min"], serde_json::json!(6));
    assert_eq!(grok["max"], serde_json::json!(30));
    assert!(grok["min"].is_u64());
    let cfg = field("kling-2.6-t2v", "cfgScale");
    assert_eq!(
        (cfg["min"].as_f64(), cfg["max"].as_f64()),
        (Some(0.0), Some(1.0))
    );
    let prompt = field("seedance-1.5-pro", "prompt");
    assert_eq!(prompt["required"], true);
    assert_eq!(
        (prompt["minLength"].clone(), prompt["maxLength"].clone()),
        (3.into(), 2500.into())
    );
    let images = field("kling-multi-image", "images");
    assert_eq!(images["type"], "media_list");
    assert_eq!(
        (images["minItems"].clone(), images["maxItems"].clone()),
        (1.into(), 4.into())
    );
    let shot = field("kling-3.0", "multiPrompt[].duration");
    assert_eq!(
        (shot["min"].clone(), shot["max"].clone()),
        (1.into(), 12.into())
    );
    assert_eq!(
        params["runway"]["rules"][0]["id"],
        "aspect_ratio_required_without_image"
    );
    assert_eq!(params["seedance-1.5-pro"]["defaults"]["resolution"], "720p");
}

#[test]
fn pricing_hints_examples_equal_the_quote() {
    let d = doc();
    let hints = &d["pricingHints"];
    assert_eq!(hints["pointsPerUsd"], 50);
    let catalog = Catalog::builtin();
    for spec in catalog.models() {
        let h = &hints["models"][spec.id.as_str()];
        assert!(h["unit"].is_string(), "{}", spec.id);
        assert!(h["rates"].as_array().is_some_and(|r| !r.is_empty()));
        let examples = h["examples"].as_array().unwrap();
        // Every catalog example is shown: none is silently dropped as invalid.
        assert_eq!(examples.len(), spec.examples.len(), "{}", spec.id);
        assert!(
            !examples.is_empty(),
            "{} has no worked price example",
            spec.id
        );
        for ex in examples {
            let shown = ex["pointsCharged"].as_i64().unwrap();
            assert_eq!(ex["request"]["model"], spec.id.as_str());
            assert_eq!(shown, points(&ex["request"]), "{}", ex["request"]);
        }
    }
    let grok = hints["models"]["grok-video"]["examples"][0].clone();
    assert_eq!(grok["pointsCharged"], 25, "{grok}");
}

#[test]
fn kind_filter_renders_only_that_kind() {
    let images = Catalog::builtin().models_document(Some(MediaKind::Image));
    let ids: Vec<&str> = images["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["kling-image", "kling-omni-image"]);
    assert_eq!(images["modelParams"].as_object().unwrap().len(), 2);
    assert_eq!(
        images["pricingHints"]["models"].as_object().unwrap().len(),
        2
    );
}
