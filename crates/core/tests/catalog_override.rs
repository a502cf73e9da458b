//! The operator override file (`Catalog::with_override_toml`): replace, add, disable,
//! and malformed files refused with a message naming the problem.

use genmux_core::{Catalog, GenerationRequest};

const NEW_MODEL: &str = r#"
[[model]]
id = "acme-video"
name = "Acme Video"
family = "acme"
kind = "video"
operations = ["text_to_video"]
providers = [{ provider = "sim", model = "acme-v1" }]
examples = [{ prompt = "a red fox", duration = 4 }]
fields = [
  { name = "prompt", type = "string", required = true, max_length = 100 },
  { name = "duration", type = "integer", enum = [4, 8], default = 4 },
]
price = { rates = [{ per_unit = 3.0 }] }
"#;

fn quote(c: &Catalog, model: &str, duration: Option<u32>) -> Result<i64, String> {
    c.quote(&GenerationRequest {
        model: model.into(),
        prompt: Some("a red fox".into()),
        images: vec![genmux_core::MediaInput::parse("https://example.com/a.png").unwrap()],
        duration,
        ..Default::default()
    })
    .map(|q| q.points)
    .map_err(|e| e.message().to_string())
}

fn err(text: &str) -> String {
    Catalog::builtin()
        .with_override_toml(text)
        .map(|_| ())
        .unwrap_err()
        .message()
        .to_string()
}

#[test]
fn adds_a_model() {
    let c = Catalog::builtin().with_override_toml(NEW_MODEL).unwrap();
    assert_eq!(c.ids().last(), Some("acme-video"));
    let req = GenerationRequest {
        model: "acme-video".into(),
        prompt: Some("a red fox".into()),
        duration: Some(8),
        ..Default::default()
    };
    assert_eq!(c.quote(&req).unwrap().points, 24);
    // The built-in catalog is untouched.
    assert!(Catalog::builtin().model("acme-video").is_none());
    let doc = c.models_document(None);
    assert_eq!(
        doc["pricingHints"]["models"]["acme-video"]["examples"][0]["pointsCharged"],
        12
    );
}

#[test]
fn replaces_a_model() {
    let text = r#"
[[model]]
id = "hailuo-2.3-standard"
name = "Hailuo 2.3 (6 s too)"
family = "minimax"
kind = "video"
operations = ["image_to_video"]
providers = [{ provider = "midsync", model = "hailuo-2.3-standard" }]
fields = [
  { name = "prompt", type = "string", max_length = 2000 },
  { name = "images", type = "media_list", required = true, min_items = 1, max_items = 1 },
  { name = "duration", type = "integer", enum = [6, 10], default = 10 },
]
price = { rates = [{ base = 30.0 }] }
"#;
    let before = Catalog::builtin();
    assert_eq!(
        quote(before, "hailuo-2.3-standard", Some(6)).unwrap_err(),
        "duration: 6 is not allowed for hailuo-2.3-standard (allowed: 10)"
    );
    let c = before.with_override_toml(text).unwrap();
    assert_eq!(quote(&c, "hailuo-2.3-standard", Some(6)), Ok(30));
    // Same place in the catalog order, same count.
    assert_eq!(
        c.ids().collect::<Vec<_>>(),
        before.ids().collect::<Vec<_>>()
    );
    assert_eq!(
        c.model("hailuo-2.3-standard").unwrap().name,
        "Hailuo 2.3 (6 s too)"
    );
}

#[test]
fn disables_a_model() {
    let c = Catalog::builtin()
        .with_override_toml(r#"disabled = ["runway", "grok-video"]"#)
        .unwrap();
    assert!(c.model("runway").is_none());
    let ids = c.ids().collect::<Vec<_>>();
    assert_eq!(ids.len(), Catalog::builtin().ids().count() - 2);
    let e = quote(&c, "runway", Some(5)).unwrap_err();
    assert_eq!(
        e,
        format!(
            "model: `runway` is not a known model (allowed: {})",
            ids.join(", ")
        )
    );
    let doc = c.models_document(None);
    assert!(doc["modelParams"].get("runway").is_none());
    // Later models keep working after the index is rebuilt.
    assert!(c.model("kling-omni-image").is_some());
}

#[test]
fn malformed_overrides_name_the_problem() {
    let builtin_ids = Catalog::builtin().ids().collect::<Vec<_>>().join(", ");
    let cases: Vec<(String, String)> = vec![
        (
            r#"disabled = ["sora"]"#.into(),
            format!("catalog: disabled model `sora` does not exist (models: {builtin_ids})"),
        ),
        (
            NEW_MODEL.replace("enum = [4, 8], default = 4", "enum = [4, 8], default = 5"),
            "catalog: model `acme-video`: field `duration`: default 5 is not among its enum".into(),
        ),
        (
            NEW_MODEL.replace("required = true, max_length = 100", "required = true, max_length = 100, default = 7"),
            "catalog: model `acme-video`: field `prompt`: default is invalid: prompt: 7 is not a string for acme-video".into(),
        ),
        (
            NEW_MODEL.replace(r#"operations = ["text_to_video"]"#, "operations = []"),
            "catalog: model `acme-video`: no operations".into(),
        ),
        (
            NEW_MODEL.replace(r#"operations = ["text_to_video"]"#, r#"operations = ["text_to_image"]"#),
            "catalog: model `acme-video`: operation text_to_image does not produce a video".into(),
        ),
        (
            NEW_MODEL.replace("{ per_unit = 3.0 }", ""),
            "catalog: model `acme-video`: price has no rates".into(),
        ),
        (
            NEW_MODEL.replace(r#"{ provider = "sim", model = "acme-v1" }"#, ""),
            "catalog: model `acme-video`: no providers".into(),
        ),
        (
            NEW_MODEL.replace(r#"{ name = "duration""#, r#"{ name = "prompt""#),
            "catalog: model `acme-video`: field `prompt` declared twice".into(),
        ),
        (
            NEW_MODEL.replace(r#"{ name = "duration""#, r#"{ name = "projectId""#),
            "catalog: model `acme-video`: field `projectId` is common to every model".into(),
        ),
        (
            NEW_MODEL.replace(r#"{ name = "duration""#, r#"{ name = "camera.speed""#),
            "catalog: model `acme-video`: field `camera.speed`: its parent `camera` is not declared as an object or object_list".into(),
        ),
        (
            NEW_MODEL.replace("duration = 4 }]", "duration = 6 }]"),
            "catalog: model `acme-video`: example 1 is rejected: duration: 6 is not allowed for acme-video (allowed: 4, 8)".into(),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(err(&text), want, "override:\n{text}");
    }
    // TOML-level mistakes: the parser's message, naming the key.
    let e = err(&NEW_MODEL.replace("family = \"acme\"", "family = \"acme\"\ncolour = \"red\""));
    assert!(e.starts_with("catalog override: "), "{e}");
    assert!(e.contains("unknown field `colour`"), "{e}");
    let e = err(&NEW_MODEL.replace(r#"kind = "video""#, r#"kind = "audio""#));
    assert!(e.contains("unknown variant `audio`"), "{e}");
    let e = err(&NEW_MODEL.replace(
        r#"kind = "video""#,
        "kind = \"video\"\nrules = [\"no_such_rule\"]",
    ));
    assert!(e.contains("unknown variant `no_such_rule`"), "{e}");
    let e = err("[[model]\nid = 1");
    assert!(e.starts_with("catalog override: TOML parse error"), "{e}");
    let e = err(r#"[[model]]
id = "x""#);
    assert!(e.contains("missing field"), "{e}");
}

#[test]
fn the_builtin_catalog_parses_and_every_example_is_valid() {
    // from_toml_str checks examples; re-parsing the embedded file proves it.
    let c = Catalog::from_toml_str(genmux_core::catalog::BUILTIN_CATALOG_TOML).unwrap();
    // 13 + kling-2.6-i2v and kling-3.0-motion-control (issue 15).
    assert_eq!(c.ids().count(), 15);
}
