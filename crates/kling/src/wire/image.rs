//! Image create bodies: images/generations (§7) and images/omni-image (§8) of
//! `spec/kling-api.md`.

use super::video::ImageItem;
use serde::{Deserialize, Serialize};

/// `resolution`: `1k` (default) or `2k`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Resolution {
    /// About 1024 px on the long side.
    #[serde(rename = "1k")]
    OneK,
    /// About 2048 px on the long side.
    #[serde(rename = "2k")]
    TwoK,
}

impl Resolution {
    /// Parses `1k` / `2k`.
    pub fn parse(s: &str) -> Option<Resolution> {
        match s {
            "1k" => Some(Resolution::OneK),
            "2k" => Some(Resolution::TwoK),
            _ => None,
        }
    }
}

/// `image_reference`: what the reference image fixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageReference {
    /// The whole subject.
    Subject,
    /// The face.
    Face,
}

/// `POST /v1/images/generations` (§7). `external_task_id` per the 2026 docs (spec
/// "Reconciliation").
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageGenerationRequest {
    /// `kling-v1` (default), `kling-v1-5`, `kling-v2`, `kling-v2-1`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
    /// ≤ 2500 characters.
    pub prompt: String,
    /// Not allowed with a reference image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    /// Reference image: URL or bare Base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Required for kling-v1-5 with an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_reference: Option<ImageReference>,
    /// [0, 1], default 0.5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_fidelity: Option<f64>,
    /// [0, 1], default 0.45; only with `subject`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub human_fidelity: Option<f64>,
    /// `1k` (default) / `2k`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// `16:9` (default), `9:16`, `1:1`, `4:3`, `3:4`, `3:2`, `2:3`, `21:9`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<String>,
    /// [1, 9], default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Unique per account; the single-task query accepts it (2026 docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_task_id: Option<String>,
    /// Called on each status change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

/// An `element_list` item: a subject from the subject library (omni-image §8; kling-v3
/// image2video and motion control, spec "Field types").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElementItem {
    /// The subject's id: a JSON **integer** (spec "Field types", confirmed by independent
    /// clients; a string is refused).
    pub element_id: u64,
}

/// `POST /v1/images/omni-image` (§8): elements + images ≤ 10.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OmniImageRequest {
    /// Only `kling-image-o1` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
    /// May reference images as `<<<image_1>>>` … (1-based into `image_list`).
    pub prompt: String,
    /// Reference images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_list: Vec<ImageItem>,
    /// Subject references.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub element_list: Vec<ElementItem>,
    /// `1k` (default) / `2k`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// `auto` (default) or one of the eight ratios of §7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<String>,
    /// [1, 9], default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Caller-chosen unique id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_task_id: Option<String>,
    /// Called on each status change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn omni_image_body_shape() {
        let req = OmniImageRequest {
            model_name: Some("kling-image-o1".into()),
            prompt: "put <<<image_1>>> on a beach".into(),
            image_list: vec![ImageItem {
                image: "https://k.test/a.png".into(),
            }],
            element_list: vec![ElementItem { element_id: 829 }],
            resolution: Some(Resolution::TwoK),
            n: Some(2),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"model_name": "kling-image-o1", "prompt": "put <<<image_1>>> on a beach",
                   "image_list": [{"image": "https://k.test/a.png"}],
                   "element_list": [{"element_id": 829}],
                   "resolution": "2k", "n": 2})
        );
    }

    #[test]
    fn generation_body_shape() {
        let req = ImageGenerationRequest {
            model_name: Some("kling-v1-5".into()),
            prompt: "astronaut".into(),
            image: Some("https://k.test/face.png".into()),
            image_reference: Some(ImageReference::Face),
            resolution: Some(Resolution::OneK),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"model_name": "kling-v1-5", "prompt": "astronaut",
                   "image": "https://k.test/face.png", "image_reference": "face", "resolution": "1k"})
        );
    }
}
