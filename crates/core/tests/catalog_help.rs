//! What forms and `genmux models <id>` show people (issue 20 point 1): every field has a
//! display label, help text is written for users (internal notes stay in the file's
//! comments), and the form hints reach the models document.

use genmux_core::Catalog;

#[test]
fn every_field_of_every_model_has_a_label() {
    for m in Catalog::builtin().models() {
        for f in &m.fields {
            let label = f.label.as_deref().unwrap_or_default();
            assert!(
                !label.trim().is_empty(),
                "model {}: field {} has no label (add it to [labels] in catalog.toml)",
                m.id,
                f.name
            );
        }
    }
}

#[test]
fn help_text_carries_no_internal_notes() {
    // Where a rule comes from, how a field is mapped upstream: comments, not help.
    let internal = [
        "spec/",
        "unified API",
        "Kling native",
        "round(",
        "image_tail",
        "camera_fixed",
        "cfg_scale",
        "(Kling",
        "published formula",
    ];
    for m in Catalog::builtin().models() {
        for f in &m.fields {
            let help = f.description.as_deref().unwrap_or_default();
            for note in internal {
                assert!(
                    !help.contains(note),
                    "model {}: the help of {} mentions {note:?}: {help}",
                    m.id,
                    f.name
                );
            }
        }
    }
}

#[test]
fn form_hints_reach_the_models_document() {
    let doc = Catalog::builtin().models_document(None);
    let fields = |model: &str| {
        doc["modelParams"][model]["fields"]
            .as_array()
            .unwrap()
            .clone()
    };
    let turbo = fields("kling-2.5-turbo");
    let get = |fs: &[serde_json::Value], name: &str| {
        fs.iter().find(|f| f["name"] == name).cloned().unwrap()
    };
    assert_eq!(get(&turbo, "cameraControl")["advanced"], true);
    assert_eq!(get(&turbo, "prompt").get("advanced"), None);
    assert_eq!(get(&turbo, "cfgScale")["label"], "Prompt adherence");
    let extend = fields("kling-video-extend");
    assert_eq!(get(&extend, "videoId")["pick"], "video");
}
