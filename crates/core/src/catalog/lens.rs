//! One read-only view of a request body for the validator: either the raw JSON tree
//! (`Catalog::parse_request`) or the typed [`GenerationRequest`] (`Catalog::quote`,
//! `Catalog::validate`). The typed side answers exactly what `serde_json::to_value` of the
//! request would hold (same keys, same skipped empties, `null` for non-finite floats), so
//! one validator serves both without serializing the request (see the tests below, which
//! compare the two key by key).

use crate::media::MediaInput;
use crate::request::{
    CameraConfig, CameraControl, DynamicMask, ElementGroup, GenerationRequest, ShotPrompt,
    TrajectoryPoint,
};
use serde_json::{Map, Value};
use std::sync::OnceLock;

macro_rules! keys {
    ($($k:ident = $n:literal),* $(,)?) => {
        /// Every wire key the typed request and its nested types serialize, resolved from
        /// the catalog's field names once at load so the typed lens never compares strings.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        pub(crate) enum K { $($k),* }

        impl K {
            /// Every key.
            pub(crate) const ALL: &'static [K] = &[$(K::$k),*];

            pub(crate) fn name(self) -> &'static str {
                match self { $(K::$k => $n),* }
            }

            pub(crate) fn from_name(name: &str) -> Option<K> {
                match name { $($n => Some(K::$k),)* _ => None }
            }

            /// The key's bit in a [`KeySet`].
            pub(crate) fn bit(self) -> KeySet {
                1u64 << (self as u8)
            }
        }
    };
}

/// A set of [`K`]s as a bit mask.
pub(crate) type KeySet = u64;

keys! {
    Model = "model", Prompt = "prompt", NegativePrompt = "negativePrompt",
    Duration = "duration", Resolution = "resolution", Quality = "quality",
    AspectRatio = "aspectRatio", Mode = "mode", GenerateAudio = "generateAudio",
    Images = "images", EndImage = "endImage", ReferenceVideoUrls = "referenceVideoUrls",
    CameraControl = "cameraControl", CfgScale = "cfgScale", StaticMask = "staticMask",
    DynamicMasks = "dynamicMasks", MultiShots = "multiShots", MultiPrompt = "multiPrompt",
    KlingElements = "klingElements", ElementIds = "elementIds", MotionVideo = "motionVideo",
    CharacterOrientation = "characterOrientation", KeepOriginalSound = "keepOriginalSound",
    VideoId = "videoId", VideoUrl = "videoUrl", FaceId = "faceId", AudioId = "audioId",
    SoundFile = "soundFile", SoundStartTime = "soundStartTime", SoundEndTime = "soundEndTime",
    SoundInsertTime = "soundInsertTime", SoundVolume = "soundVolume",
    OriginalAudioVolume = "originalAudioVolume", ImageReference = "imageReference",
    ImageFidelity = "imageFidelity", HumanFidelity = "humanFidelity", N = "n",
    FixedLens = "fixedLens", NsfwChecker = "nsfwChecker", Watermark = "watermark",
    ProjectId = "projectId", CallbackUrl = "callbackUrl", ExternalTaskId = "externalTaskId",
    // CameraControl
    Type = "type", Config = "config", CameraMotion = "cameraMotion", CameraSpeed = "cameraSpeed",
    // CameraConfig
    Horizontal = "horizontal", Vertical = "vertical", Pan = "pan", Tilt = "tilt",
    Roll = "roll", Zoom = "zoom",
    // DynamicMask, TrajectoryPoint (ShotPrompt and ElementGroup reuse prompt, duration, images)
    Mask = "mask", Trajectories = "trajectories", X = "x", Y = "y",
}

/// `Option<T>` fields skip `None`, `Vec` fields skip empty lists (the request's
/// `skip_serializing_if`); these read a field the way it serializes.
fn string(s: &str) -> Option<Val<'_>> {
    Some(Val::Str(s))
}
fn opt_str(s: &Option<String>) -> Option<Val<'_>> {
    s.as_deref().map(Val::Str)
}
fn opt_u32(n: &Option<u32>) -> Option<Val<'_>> {
    n.map(|n| Val::UInt(u64::from(n)))
}
fn opt_u64(n: &Option<u64>) -> Option<Val<'_>> {
    n.map(Val::UInt)
}
fn opt_f64(x: &Option<f64>) -> Option<Val<'_>> {
    x.map(Val::float)
}
fn opt_bool(b: &Option<bool>) -> Option<Val<'_>> {
    b.map(Val::Bool)
}
fn opt_media(m: &Option<MediaInput>) -> Option<Val<'_>> {
    m.as_ref().map(Val::Media)
}
fn media_list(l: &[MediaInput]) -> Option<Val<'_>> {
    (!l.is_empty()).then_some(Val::List(List::Media(l)))
}
fn str_list(l: &[String]) -> Option<Val<'_>> {
    (!l.is_empty()).then_some(Val::List(List::Str(l)))
}
fn opt_camera(c: &Option<CameraControl>) -> Option<Val<'_>> {
    c.as_ref().map(|c| Val::Node(Node::Camera(c)))
}
fn shots(l: &[ShotPrompt]) -> Option<Val<'_>> {
    (!l.is_empty()).then_some(Val::List(List::Shots(l)))
}
fn elements(l: &[ElementGroup]) -> Option<Val<'_>> {
    (!l.is_empty()).then_some(Val::List(List::Elements(l)))
}
fn masks(l: &[DynamicMask]) -> Option<Val<'_>> {
    (!l.is_empty()).then_some(Val::List(List::Masks(l)))
}

macro_rules! request_fields {
    ($($k:ident $f:ident $read:ident),* $(,)?) => {
        /// The request's keys in declaration (serialization) order.
        pub(crate) const REQUEST_KEYS: &[K] = &[$(K::$k),*];

        fn request_get(r: &GenerationRequest, k: K) -> Option<Val<'_>> {
            match k {
                $(K::$k => $read(&r.$f),)*
                _ => None,
            }
        }

        /// The top-level keys the serialized request holds with a non-null value.
        pub(crate) fn request_present(r: &GenerationRequest) -> KeySet {
            let mut set = 0;
            $(
                if $read(&r.$f).is_some_and(|v| !v.is_null()) {
                    set |= K::$k.bit();
                }
            )*
            set
        }

        /// Whether field `k` is the same in both requests.
        pub(crate) fn request_field_eq(a: &GenerationRequest, b: &GenerationRequest, k: K) -> bool {
            match k {
                $(K::$k => a.$f == b.$f,)*
                _ => true,
            }
        }

        /// Copies field `k` from `src` into `dst`.
        pub(crate) fn request_copy_field(dst: &mut GenerationRequest, src: &GenerationRequest, k: K) {
            match k {
                $(K::$k => dst.$f.clone_from(&src.$f),)*
                _ => {}
            }
        }
    };
}

request_fields! {
    Model model string, Prompt prompt opt_str, NegativePrompt negative_prompt opt_str,
    Duration duration opt_u32, Resolution resolution opt_str, Quality quality opt_str,
    AspectRatio aspect_ratio opt_str, Mode mode opt_str, GenerateAudio generate_audio opt_bool,
    Images images media_list, EndImage end_image opt_media,
    ReferenceVideoUrls reference_video_urls media_list, CameraControl camera_control opt_camera,
    CfgScale cfg_scale opt_f64, StaticMask static_mask opt_media, DynamicMasks dynamic_masks masks,
    MultiShots multi_shots opt_bool, MultiPrompt multi_prompt shots,
    KlingElements kling_elements elements, ElementIds element_ids str_list,
    MotionVideo motion_video opt_media, CharacterOrientation character_orientation opt_str,
    KeepOriginalSound keep_original_sound opt_bool, VideoId video_id opt_str,
    VideoUrl video_url opt_media, FaceId face_id opt_str, AudioId audio_id opt_str,
    SoundFile sound_file opt_media, SoundStartTime sound_start_time opt_u64,
    SoundEndTime sound_end_time opt_u64, SoundInsertTime sound_insert_time opt_u64,
    SoundVolume sound_volume opt_f64, OriginalAudioVolume original_audio_volume opt_f64,
    ImageReference image_reference opt_str, ImageFidelity image_fidelity opt_f64,
    HumanFidelity human_fidelity opt_f64, N n opt_u32, FixedLens fixed_lens opt_bool,
    NsfwChecker nsfw_checker opt_bool, Watermark watermark opt_bool,
    ProjectId project_id opt_str, CallbackUrl callback_url opt_str,
    ExternalTaskId external_task_id opt_str,
}

const CAMERA_KEYS: &[K] = &[K::Type, K::Config, K::CameraMotion, K::CameraSpeed];
const CONFIG_KEYS: &[K] = &[
    K::Horizontal,
    K::Vertical,
    K::Pan,
    K::Tilt,
    K::Roll,
    K::Zoom,
];
const SHOT_KEYS: &[K] = &[K::Prompt, K::Duration];
const ELEMENT_KEYS: &[K] = &[K::Images];
const MASK_KEYS: &[K] = &[K::Mask, K::Trajectories];
const POINT_KEYS: &[K] = &[K::X, K::Y];

/// A typed object of the request.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Node<'a> {
    Request(&'a GenerationRequest),
    Camera(&'a CameraControl),
    Config(&'a CameraConfig),
    Shot(&'a ShotPrompt),
    Element(&'a ElementGroup),
    Mask(&'a DynamicMask),
    Point(&'a TrajectoryPoint),
}

impl<'a> Node<'a> {
    fn keys(self) -> &'static [K] {
        match self {
            Node::Request(_) => REQUEST_KEYS,
            Node::Camera(_) => CAMERA_KEYS,
            Node::Config(_) => CONFIG_KEYS,
            Node::Shot(_) => SHOT_KEYS,
            Node::Element(_) => ELEMENT_KEYS,
            Node::Mask(_) => MASK_KEYS,
            Node::Point(_) => POINT_KEYS,
        }
    }

    fn get(self, k: K) -> Option<Val<'a>> {
        match self {
            Node::Request(r) => request_get(r, k),
            Node::Camera(c) => match k {
                K::Type => opt_str(&c.kind),
                K::Config => c.config.as_ref().map(|c| Val::Node(Node::Config(c))),
                K::CameraMotion => opt_str(&c.camera_motion),
                K::CameraSpeed => opt_f64(&c.camera_speed),
                _ => None,
            },
            // CameraConfig, ShotPrompt, ElementGroup, DynamicMask and TrajectoryPoint
            // serialize every field, empty lists included.
            Node::Config(c) => match k {
                K::Horizontal => Some(Val::float(c.horizontal)),
                K::Vertical => Some(Val::float(c.vertical)),
                K::Pan => Some(Val::float(c.pan)),
                K::Tilt => Some(Val::float(c.tilt)),
                K::Roll => Some(Val::float(c.roll)),
                K::Zoom => Some(Val::float(c.zoom)),
                _ => None,
            },
            Node::Shot(s) => match k {
                K::Prompt => Some(Val::Str(&s.prompt)),
                K::Duration => Some(Val::UInt(u64::from(s.duration))),
                _ => None,
            },
            Node::Element(e) => match k {
                K::Images => Some(Val::List(List::Media(&e.images))),
                _ => None,
            },
            Node::Mask(m) => match k {
                K::Mask => Some(Val::Media(&m.mask)),
                K::Trajectories => Some(Val::List(List::Points(&m.trajectories))),
                _ => None,
            },
            Node::Point(p) => match k {
                K::X => Some(Val::Int(p.x)),
                K::Y => Some(Val::Int(p.y)),
                _ => None,
            },
        }
    }
}

/// A typed list of the request.
#[derive(Clone, Copy, Debug)]
pub(crate) enum List<'a> {
    Media(&'a [MediaInput]),
    Str(&'a [String]),
    Shots(&'a [ShotPrompt]),
    Elements(&'a [ElementGroup]),
    Masks(&'a [DynamicMask]),
    Points(&'a [TrajectoryPoint]),
}

/// A path segment resolved for both lenses: the JSON key and the typed key.
#[derive(Clone, Debug)]
pub(crate) struct Seg {
    pub(crate) name: String,
    pub(crate) key: Option<K>,
    /// `name[]`: the segment's value is a list whose items are visited.
    pub(crate) each: bool,
}

impl Seg {
    /// A literal key (no `[]` handling), for a nested required field's leaf.
    pub(crate) fn key(name: &str) -> Seg {
        Seg {
            name: name.to_string(),
            key: K::from_name(name),
            each: false,
        }
    }

    /// The segments of a dotted path (`a.b`, `list[].c`).
    pub(crate) fn path(path: &str) -> Vec<Seg> {
        path.split('.')
            .map(|seg| {
                let (name, each) = match seg.strip_suffix("[]") {
                    Some(k) => (k, true),
                    None => (seg, false),
                };
                Seg {
                    each,
                    ..Seg::key(name)
                }
            })
            .collect()
    }
}

/// A value in either lens. JSON scalars are normalized to the scalar variants so the
/// checks read one shape.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(&'a str),
    /// A typed media input: serializes as its string.
    Media(&'a MediaInput),
    /// A JSON array or object.
    Json(&'a Value),
    Node(Node<'a>),
    List(List<'a>),
}

impl<'a> Val<'a> {
    /// The typed request.
    pub(crate) fn request(r: &'a GenerationRequest) -> Val<'a> {
        Val::Node(Node::Request(r))
    }

    /// A JSON value.
    pub(crate) fn json(v: &'a Value) -> Val<'a> {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => Val::UInt(u),
                (None, Some(i)) => Val::Int(i),
                _ => Val::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Val::Str(s),
            Value::Array(_) | Value::Object(_) => Val::Json(v),
        }
    }

    /// serde_json writes a non-finite float as `null`.
    fn float(x: f64) -> Val<'a> {
        if x.is_finite() {
            Val::Float(x)
        } else {
            Val::Null
        }
    }

    pub(crate) fn is_null(self) -> bool {
        matches!(self, Val::Null)
    }

    pub(crate) fn is_object(self) -> bool {
        matches!(self, Val::Json(Value::Object(_)) | Val::Node(_))
    }

    pub(crate) fn as_str(self) -> Option<&'a str> {
        match self {
            Val::Str(s) => Some(s),
            Val::Media(m) => Some(m.as_str()),
            _ => None,
        }
    }

    pub(crate) fn as_f64(self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(i as f64),
            Val::UInt(u) => Some(u as f64),
            Val::Float(x) => Some(x),
            _ => None,
        }
    }

    /// The child at `seg` of an object; `None` when absent (or when this is no object).
    pub(crate) fn get(self, seg: &Seg) -> Option<Val<'a>> {
        match self {
            Val::Json(Value::Object(m)) => m.get(&seg.name).map(Val::json),
            Val::Node(n) => seg.key.and_then(|k| n.get(k)),
            _ => None,
        }
    }

    /// The length of a list.
    pub(crate) fn len(self) -> Option<usize> {
        match self {
            Val::Json(Value::Array(a)) => Some(a.len()),
            Val::List(l) => Some(match l {
                List::Media(x) => x.len(),
                List::Str(x) => x.len(),
                List::Shots(x) => x.len(),
                List::Elements(x) => x.len(),
                List::Masks(x) => x.len(),
                List::Points(x) => x.len(),
            }),
            _ => None,
        }
    }

    /// Item `i` of a list (`i < len()`); `Null` otherwise.
    pub(crate) fn item(self, i: usize) -> Val<'a> {
        let item = match self {
            Val::Json(Value::Array(a)) => a.get(i).map(Val::json),
            Val::List(l) => match l {
                List::Media(x) => x.get(i).map(Val::Media),
                List::Str(x) => x.get(i).map(|s| Val::Str(s)),
                List::Shots(x) => x.get(i).map(|s| Val::Node(Node::Shot(s))),
                List::Elements(x) => x.get(i).map(|e| Val::Node(Node::Element(e))),
                List::Masks(x) => x.get(i).map(|m| Val::Node(Node::Mask(m))),
                List::Points(x) => x.get(i).map(|p| Val::Node(Node::Point(p))),
            },
            _ => None,
        };
        item.unwrap_or(Val::Null)
    }

    /// Calls `f` with each serialized entry of an object, with its typed key when typed.
    fn for_each_entry(self, mut f: impl FnMut(Option<K>, &'a str, Val<'a>)) {
        match self {
            Val::Json(Value::Object(m)) => {
                for (k, v) in m {
                    f(None, k, Val::json(v));
                }
            }
            Val::Node(n) => {
                for &k in n.keys() {
                    if let Some(v) = n.get(k) {
                        f(Some(k), k.name(), v);
                    }
                }
            }
            _ => {}
        }
    }

    /// The top-level keys present (non-null) in an object, as far as they are typed
    /// keys, and whether it has other keys. `None` for a non-object.
    pub(crate) fn present(self) -> Option<(KeySet, bool)> {
        match self {
            Val::Node(Node::Request(r)) => Some((request_present(r), false)),
            Val::Json(Value::Object(m)) => {
                let mut set = 0;
                let mut other = false;
                for (k, v) in m {
                    match K::from_name(k) {
                        Some(k) if !v.is_null() => set |= k.bit(),
                        Some(_) => {}
                        None => other = true,
                    }
                }
                Some((set, other))
            }
            _ => None,
        }
    }

    /// The first key present in the object (non-null, not an empty list) for which
    /// `pred` holds, in the order `serde_json::Map` iterates the serialized object.
    pub(crate) fn first_present_key(
        self,
        mut pred: impl FnMut(Option<K>, &str) -> bool,
    ) -> Option<&'a str> {
        // A typed object visits its keys in declaration order; the serialized map sorts
        // them unless serde_json's `preserve_order` is on.
        let sorted = matches!(self, Val::Node(_)) && map_is_sorted();
        let mut first: Option<&'a str> = None;
        self.for_each_entry(|k, name, v| {
            let present = !v.is_null() && v.len() != Some(0);
            if present && (first.is_none() || sorted) && pred(k, name) {
                first = match first {
                    Some(f) if f <= name => Some(f),
                    _ => Some(name),
                };
            }
        });
        first
    }

    /// The value as JSON, for messages that print an object and for enum comparisons
    /// against non-scalar values (neither occurs on the success path).
    pub(crate) fn to_json(self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(b),
            Val::Int(i) => Value::from(i),
            Val::UInt(u) => Value::from(u),
            Val::Float(x) => Value::from(x),
            Val::Str(s) => Value::String(s.to_string()),
            Val::Media(m) => Value::String(m.as_str().to_string()),
            Val::Json(v) => v.clone(),
            Val::Node(_) => {
                let mut out = Map::new();
                self.for_each_entry(|_, k, v| {
                    out.insert(k.to_string(), v.to_json());
                });
                Value::Object(out)
            }
            Val::List(_) => {
                let n = self.len().unwrap_or(0);
                Value::Array((0..n).map(|i| self.item(i).to_json()).collect())
            }
        }
    }
}

/// Whether `serde_json::Map` iterates in sorted key order (it keeps insertion order when
/// another crate of the build turns on `preserve_order`).
fn map_is_sorted() -> bool {
    static SORTED: OnceLock<bool> = OnceLock::new();
    *SORTED.get_or_init(|| {
        let mut m = Map::new();
        m.insert("b".into(), Value::Null);
        m.insert("a".into(), Value::Null);
        m.keys().next().map(String::as_str) == Some("a")
    })
}

/// Requests with every field set, shared by the lens and validator tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    fn media(s: &str) -> MediaInput {
        MediaInput::parse(s).unwrap()
    }

    /// Every field set to a plausible value, plus the empties and non-finite values serde
    /// treats specially.
    pub(crate) fn full() -> GenerationRequest {
        GenerationRequest {
            model: "m".into(),
            prompt: Some("p".into()),
            negative_prompt: Some("np".into()),
            duration: Some(5),
            resolution: Some("720p".into()),
            quality: Some("q".into()),
            aspect_ratio: Some("16:9".into()),
            mode: Some("std".into()),
            generate_audio: Some(true),
            images: vec![media("https://e.test/a.png"), media("iVBORw0KGgo=")],
            end_image: Some(media("https://e.test/b.png")),
            reference_video_urls: vec![media("https://e.test/v.mp4")],
            camera_control: Some(CameraControl {
                kind: Some("simple".into()),
                config: Some(CameraConfig {
                    zoom: 2.5,
                    pan: f64::NAN,
                    ..Default::default()
                }),
                camera_motion: Some("pan".into()),
                camera_speed: Some(1.0),
            }),
            cfg_scale: Some(f64::INFINITY),
            static_mask: Some(media("https://e.test/m.png")),
            dynamic_masks: vec![DynamicMask {
                mask: media("https://e.test/d.png"),
                trajectories: vec![TrajectoryPoint { x: -3, y: 4 }],
            }],
            multi_shots: Some(false),
            multi_prompt: vec![ShotPrompt {
                prompt: "s".into(),
                duration: 3,
            }],
            kling_elements: vec![ElementGroup { images: vec![] }],
            element_ids: vec!["e1".into()],
            motion_video: Some(media("https://e.test/mv.mp4")),
            character_orientation: Some("image".into()),
            keep_original_sound: Some(false),
            video_id: Some("v".into()),
            video_url: Some(media("https://e.test/vu.mp4")),
            face_id: Some("f".into()),
            audio_id: Some("a".into()),
            sound_file: Some(media("https://e.test/s.mp3")),
            sound_start_time: Some(0),
            sound_end_time: Some(u64::MAX),
            sound_insert_time: Some(7),
            sound_volume: Some(1.5),
            original_audio_volume: Some(0.0),
            image_reference: Some("subject".into()),
            image_fidelity: Some(0.5),
            human_fidelity: Some(0.25),
            n: Some(4),
            fixed_lens: Some(true),
            nsfw_checker: Some(false),
            watermark: Some(true),
            project_id: Some("pr".into()),
            callback_url: Some("https://e.test/cb".into()),
            external_task_id: Some("x".into()),
        }
    }

    /// Every field set to a value some rule rejects, including media variants built
    /// without parsing.
    pub(crate) fn wild() -> GenerationRequest {
        GenerationRequest {
            model: "m".into(),
            prompt: Some("é".repeat(3000)),
            negative_prompt: Some(String::new()),
            duration: Some(7),
            resolution: Some("4k".into()),
            quality: Some("".into()),
            aspect_ratio: Some("5:4".into()),
            mode: Some("turbo".into()),
            generate_audio: Some(true),
            images: vec![
                MediaInput::Url("data:image/png;base64,AAAA".into()),
                MediaInput::Base64("not base64!".into()),
                media("https://e.test/c.png"),
            ],
            end_image: Some(MediaInput::Url("ftp://x".into())),
            reference_video_urls: vec![MediaInput::Base64(String::new())],
            camera_control: Some(CameraControl {
                kind: Some("orbit".into()),
                config: Some(CameraConfig {
                    tilt: 11.0,
                    ..Default::default()
                }),
                camera_motion: Some("spin".into()),
                camera_speed: Some(-1.0),
            }),
            cfg_scale: Some(1.5),
            static_mask: Some(MediaInput::Url("https:///nohost".into())),
            dynamic_masks: vec![
                DynamicMask {
                    mask: media("https://e.test/d.png"),
                    trajectories: vec![TrajectoryPoint { x: -3, y: 4 }],
                };
                7
            ],
            multi_shots: Some(true),
            multi_prompt: vec![
                ShotPrompt {
                    prompt: String::new(),
                    duration: 99,
                };
                7
            ],
            kling_elements: vec![ElementGroup { images: vec![] }; 4],
            element_ids: vec!["e".into(); 11],
            motion_video: Some(MediaInput::Url(String::new())),
            character_orientation: Some("side".into()),
            keep_original_sound: Some(true),
            video_id: Some(String::new()),
            video_url: Some(media("https://e.test/vu.mp4")),
            face_id: Some(String::new()),
            audio_id: Some("a".into()),
            sound_file: Some(media("iVBORw0KGgo=")),
            sound_start_time: Some(9_000),
            sound_end_time: Some(1_000),
            sound_insert_time: Some(u64::MAX),
            sound_volume: Some(3.0),
            original_audio_volume: Some(-0.5),
            image_reference: Some("body".into()),
            image_fidelity: Some(2.0),
            human_fidelity: Some(f64::NEG_INFINITY),
            n: Some(0),
            fixed_lens: Some(false),
            nsfw_checker: Some(true),
            watermark: Some(false),
            project_id: Some(String::new()),
            callback_url: Some("x".into()),
            external_task_id: Some(String::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::full;
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_lens_reads_what_serde_serializes() {
        let catalog_examples = crate::Catalog::builtin().models().flat_map(|m| {
            m.examples.iter().map(|ex| {
                let mut body = ex.clone();
                body.insert("model".into(), json!(m.id));
                serde_json::from_value::<GenerationRequest>(Value::Object(body)).unwrap()
            })
        });
        let reqs: Vec<GenerationRequest> = [full(), GenerationRequest::default()]
            .into_iter()
            .chain(catalog_examples)
            .collect();
        for req in &reqs {
            let want = serde_json::to_value(req).unwrap();
            assert_eq!(Val::request(req).to_json(), want);
        }
    }

    #[test]
    fn every_request_field_has_a_key() {
        // A field added to GenerationRequest without a key here would be invisible to
        // validation: the serialized object must have exactly REQUEST_KEYS.
        let v = serde_json::to_value(full()).unwrap();
        let mut serialized: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let mut keys: Vec<&str> = REQUEST_KEYS.iter().map(|k| k.name()).collect();
        serialized.sort_unstable();
        keys.sort_unstable();
        assert_eq!(serialized, keys);
    }

    #[test]
    fn first_present_key_follows_map_order() {
        let req = GenerationRequest {
            model: "m".into(),
            watermark: Some(true),
            aspect_ratio: Some("1:1".into()),
            images: vec![],
            ..Default::default()
        };
        let typed = Val::request(&req).first_present_key(|_, k| k != "model");
        let v = serde_json::to_value(&req).unwrap();
        let json = Val::json(&v).first_present_key(|_, k| k != "model");
        assert_eq!(typed, json);
        assert_eq!(typed, Some("aspectRatio"));
    }
}
