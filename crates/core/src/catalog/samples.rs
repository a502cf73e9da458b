//! What the catalog's examples need to run (issue 20 point 3):
//!
//! - [`ExampleNeed`]: an example field that stands for an earlier result (`videoId` of
//!   `kling-video-extend` is the id of a video generated before), so clients offer a picker
//!   of the account's own results instead of the placeholder, and a test runs the
//!   producing model's example first;
//! - [`SampleMedia`]: the `[samples]` table — for each media URL the examples use, the
//!   kind, size and length of the file it stands for. Example URLs (`https://example.com/…`)
//!   are placeholders nobody serves; `genmux serve`'s sandbox serves real sample files of
//!   exactly this description and shows its examples with their URLs
//!   ([`SampleMedia::path`]). A real deployment never rewrites or serves anything from it.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// An example field whose value is a placeholder for an earlier result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExampleNeed {
    /// The request field (`videoId`); it must be a field with a `pick` kind.
    pub field: String,
    /// The model whose finished task produces it; its first example makes one.
    pub from: String,
}

/// The kind of a sample file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleKind {
    /// A PNG image.
    Image,
    /// An MP4 video.
    Video,
    /// An MP3 audio track.
    Audio,
}

impl SampleKind {
    fn as_str(self) -> &'static str {
        match self {
            SampleKind::Image => "image",
            SampleKind::Video => "video",
            SampleKind::Audio => "audio",
        }
    }

    /// The file extensions an example URL of this kind may end with (what upstreams check:
    /// `spec/kling-api.md` §1, §3, §5).
    fn extensions(self) -> &'static [&'static str] {
        match self {
            SampleKind::Image => &[".png", ".jpg", ".jpeg"],
            SampleKind::Video => &[".mp4", ".mov"],
            SampleKind::Audio => &[".mp3", ".wav", ".m4a"],
        }
    }
}

/// The file an example media URL stands for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleMedia {
    /// Image, video or audio.
    pub kind: SampleKind,
    /// Pixel width (images and videos).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Pixel height (images and videos).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Length in whole seconds (videos and audio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u32>,
}

/// Largest side of a sample image or video, in pixels (Kling's limit for motion videos,
/// `spec/kling-api.md` §5, is 3850).
const MAX_SIDE: u32 = 3850;
/// Longest sample, in seconds (Kling motion control with orientation `video`: 30 s; lip
/// sync: 60 s).
const MAX_SECONDS: u32 = 60;

impl SampleMedia {
    /// Checks the entry for `url`: its extension fits the kind, images and videos have a
    /// size, videos and audio a length, and nothing else is given.
    pub(crate) fn check(&self, url: &str) -> Result<()> {
        let bad = |what: String| {
            Err(Error::invalid(format!(
                "catalog: samples.\"{url}\": {what}"
            )))
        };
        let path = url
            .split(['?', '#'])
            .next()
            .unwrap_or(url)
            .to_ascii_lowercase();
        let exts = self.kind.extensions();
        if !exts.iter().any(|e| path.ends_with(e)) {
            return bad(format!(
                "a {} sample's URL must end with {}",
                self.kind.as_str(),
                exts.join(", ")
            ));
        }
        let sized = matches!(self.kind, SampleKind::Image | SampleKind::Video);
        let timed = matches!(self.kind, SampleKind::Video | SampleKind::Audio);
        for (name, v) in [("width", self.width), ("height", self.height)] {
            match v {
                Some(px) if sized && !(16..=MAX_SIDE).contains(&px) => {
                    return bad(format!("{name} = {px} (allowed: 16 to {MAX_SIDE})"))
                }
                None if sized => return bad(format!("{name} is required")),
                Some(_) if !sized => {
                    return bad(format!("{name} is not allowed for an audio sample"))
                }
                _ => {}
            }
        }
        match self.seconds {
            Some(s) if timed && !(1..=MAX_SECONDS).contains(&s) => {
                bad(format!("seconds = {s} (allowed: 1 to {MAX_SECONDS})"))
            }
            None if timed => bad("seconds is required".into()),
            Some(_) if !timed => bad("seconds is not allowed for an image sample".into()),
            _ => Ok(()),
        }
    }

    /// The path the sandbox serves this sample at, relative to its sample base URL:
    /// `<kind>/<width>x<height>/<seconds>/<file name of the example URL>` (0 for what the
    /// kind has none of). The file name keeps the extension upstreams check.
    pub fn path(&self, url: &str) -> String {
        let clean = url.split(['?', '#']).next().unwrap_or(url);
        let file = clean
            .rsplit('/')
            .next()
            .filter(|f| !f.is_empty())
            .unwrap_or("sample");
        format!(
            "{}/{}x{}/{}/{file}",
            self.kind.as_str(),
            self.width.unwrap_or(0),
            self.height.unwrap_or(0),
            self.seconds.unwrap_or(0)
        )
    }

    /// The sample a [`SampleMedia::path`] describes, or `None` when `path` is not one.
    pub fn from_path(path: &str) -> Option<SampleMedia> {
        let mut parts = path.trim_start_matches('/').split('/');
        let kind = match parts.next()? {
            "image" => SampleKind::Image,
            "video" => SampleKind::Video,
            "audio" => SampleKind::Audio,
            _ => return None,
        };
        let (w, h) = parts.next()?.split_once('x')?;
        let (w, h): (u32, u32) = (w.parse().ok()?, h.parse().ok()?);
        let seconds: u32 = parts.next()?.parse().ok()?;
        let file = parts.next()?;
        if parts.next().is_some() || file.is_empty() {
            return None;
        }
        let nonzero = |v: u32| (v != 0).then_some(v);
        let sample = SampleMedia {
            kind,
            width: nonzero(w),
            height: nonzero(h),
            seconds: nonzero(seconds),
        };
        sample.check(file).ok()?;
        Some(sample)
    }
}

impl super::Catalog {
    /// Points every example media URL of a models document (`pricingHints.models.*.
    /// examples[].request`) that has a `[samples]` entry at the sample served under
    /// `base` (`<base>/<SampleMedia::path>`). For the sandbox only: it serves those files.
    pub fn point_examples_at_samples(&self, doc: &mut serde_json::Value, base: &str) {
        let Some(models) = doc
            .pointer_mut("/pricingHints/models")
            .and_then(|m| m.as_object_mut())
        else {
            return;
        };
        let base = base.trim_end_matches('/');
        for hints in models.values_mut() {
            let Some(examples) = hints.get_mut("examples").and_then(|e| e.as_array_mut()) else {
                continue;
            };
            for ex in examples {
                if let Some(request) = ex.get_mut("request") {
                    self.point_at_samples(request, base);
                }
            }
        }
    }

    /// Replaces, anywhere in `value`, each string with a `[samples]` entry by its sample's
    /// URL under `base`.
    fn point_at_samples(&self, value: &mut serde_json::Value, base: &str) {
        use serde_json::Value;
        match value {
            Value::String(url) => {
                if let Some(sample) = self.sample(url) {
                    *url = format!("{base}/{}", sample.path(url));
                }
            }
            Value::Array(items) => items
                .iter_mut()
                .for_each(|v| self.point_at_samples(v, base)),
            Value::Object(fields) => fields
                .values_mut()
                .for_each(|v| self.point_at_samples(v, base)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_path_round_trips_and_keeps_the_file_name() {
        let video = SampleMedia {
            kind: SampleKind::Video,
            width: Some(720),
            height: Some(1280),
            seconds: Some(8),
        };
        let path = video.path("https://example.com/dance.mp4?x=1");
        assert_eq!(path, "video/720x1280/8/dance.mp4");
        assert_eq!(SampleMedia::from_path(&path), Some(video));
        let audio = SampleMedia {
            kind: SampleKind::Audio,
            width: None,
            height: None,
            seconds: Some(5),
        };
        assert_eq!(
            audio.path("https://example.com/voice.mp3"),
            "audio/0x0/5/voice.mp3"
        );
        assert_eq!(
            SampleMedia::from_path("/audio/0x0/5/voice.mp3"),
            Some(audio)
        );
    }

    #[test]
    fn a_models_document_points_example_media_at_the_samples() {
        let catalog = crate::Catalog::builtin();
        let mut doc = catalog.models_document_where(None, &|_, _| true);
        catalog.point_examples_at_samples(&mut doc, "http://127.0.0.1:9/samples/");
        let ex = &doc["pricingHints"]["models"]["kling-motion-control"]["examples"][0];
        assert_eq!(
            ex["request"]["motionVideo"],
            "http://127.0.0.1:9/samples/video/720x1280/8/dance.mp4"
        );
        assert_eq!(
            ex["request"]["images"][0],
            "http://127.0.0.1:9/samples/image/720x1280/0/person.png"
        );
        // Nothing else changes: prompts, numbers, the placeholder id.
        let extend = &doc["pricingHints"]["models"]["kling-video-extend"]["examples"][0];
        assert_eq!(extend["request"]["videoId"], "vid_example");
        assert_eq!(
            extend["needs"],
            serde_json::json!([{"field": "videoId", "from": "kling-2.5-turbo", "kind": "video"}])
        );
        let text = doc.to_string();
        assert!(!text.contains("https://example.com/"), "{text}");
        // And no entry of the table is left unused.
        let before = catalog
            .models_document_where(None, &|_, _| true)
            .to_string();
        for url in catalog.samples.keys() {
            assert!(
                before.contains(&format!("\"{url}\"")),
                "unused sample {url}"
            );
        }
    }

    #[test]
    fn a_need_names_a_pick_field_and_a_model_whose_example_needs_nothing() {
        let good = r#"needs = [{ field = "videoId", from = "kling-2.5-turbo" }]"#;
        let text = crate::catalog::BUILTIN_CATALOG_TOML;
        assert!(text.contains(good));
        for (bad, why) in [
            (
                r#"needs = [{ field = "nosuch", from = "kling-2.5-turbo" }]"#,
                "no such field",
            ),
            (
                r#"needs = [{ field = "prompt", from = "kling-2.5-turbo" }]"#,
                "the field takes no earlier result (no `pick`)",
            ),
            (
                r#"needs = [{ field = "videoId", from = "nosuch" }]"#,
                "no such model",
            ),
            (
                r#"needs = [{ field = "videoId", from = "kling-lip-sync" }]"#,
                "`kling-lip-sync` must have an example that needs no earlier result",
            ),
        ] {
            let e = crate::Catalog::from_toml_str(&text.replacen(good, bad, 1)).unwrap_err();
            assert!(
                e.message()
                    .starts_with("catalog: model `kling-video-extend`: needs {")
                    && e.message().ends_with(why),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn a_path_that_is_no_sample_is_refused() {
        for p in [
            "video/720x1280/8",            // no file
            "video/720x1280/0/a.mp4",      // a video needs a length
            "video/720x1280/8/a.png",      // wrong extension
            "image/0x0/0/a.png",           // an image needs a size
            "image/64x64/3/a.png",         // an image has no length
            "audio/0x0/500/a.mp3",         // too long
            "text/1x1/1/a.txt",            // no such kind
            "video/720x1280/8/a.mp4/more", // extra segment
        ] {
            assert_eq!(SampleMedia::from_path(p), None, "{p}");
        }
    }

    #[test]
    fn an_entry_names_its_url_and_what_is_wrong() {
        let e = SampleMedia {
            kind: SampleKind::Video,
            width: Some(720),
            height: None,
            seconds: Some(8),
        }
        .check("https://example.com/dance.mp4")
        .unwrap_err();
        assert_eq!(
            e.message(),
            "catalog: samples.\"https://example.com/dance.mp4\": height is required"
        );
        let e = SampleMedia {
            kind: SampleKind::Audio,
            width: None,
            height: None,
            seconds: Some(5),
        }
        .check("https://example.com/voice.png")
        .unwrap_err();
        assert!(
            e.message().contains("must end with .mp3, .wav, .m4a"),
            "{e}"
        );
    }
}
