"""schemathesis hooks of scripts/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

Positive data for /quote and /generate comes from the per-model body schemas of the
gateway's /openapi.json (crates/midsync/src/api/body_schema.rs): every field, type, enum,
range, length and item count of the catalog. What JSON Schema cannot say is supplied here,
in *positive* cases of those operations only, right before the call (negative cases are
left alone: their violation is the point):

  - http(s) URLs (`callbackUrl`, media URLs): the gateway resolves every host and refuses
    one that does not resolve (design/RELIABILITY.md "SSRF"); generated hosts do not
    resolve here. They become a loopback URL, which the sandbox admits.
  - Media content: at /generate the upstream opens what the gateway only checks for shape
    (an image must decode, be ≥ 300 px, …; a video URL must end in .mp4, audio in .mp3);
    every media value of a positive /generate becomes a loopback URL of the right kind.
  - `Idempotency-Key`: a key already used with another body is answered 422 by design
    (design/RELIABILITY.md "Idempotency"), which depends on earlier requests, not on this
    one; each positive call gets a fresh key.
  - Whole numbers: JSON Schema counts 7.0 as an integer, the gateway reads integer fields
    only when written without a fraction (and number fields take either), so an
    integral float becomes an int.
  - Ids of earlier upstream results (`elementIds`, lip sync's `videoId`/`audioId`/
    `faceId`): at /generate the upstream must know them, and a fresh sandbox knows none;
    they are dropped (lip sync then takes its video and audio by URL). A
    `kling-video-extend` generate, whose required `videoId` must name an earlier video, is
    not sent in positive mode (filter_case); its /quote is.
  - The cross-field rules a model lists in `GET /unified-video/models` (`rules`, named in
    each body schema's description; code in crates/core/src/catalog/rules.rs): a
    generated body that breaks one is repaired the way a caller would fix it, e.g. a
    lip-sync audio window that ends before it starts gets an end 5 s after its start.
"""
import itertools
import re

import schemathesis

BODY_PATHS = re.compile(r"^/unified-(video|image)/(quote|generate)$")
URL = re.compile(r"^[Hh][Tt][Tt][Pp][Ss]?://")
LOOPBACK_URL = "http://127.0.0.1:9/schemathesis"
CAMERA_AXES = ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")
_keys = itertools.count()


def _replace_urls(value):
    if isinstance(value, str):
        return LOOPBACK_URL if URL.match(value) else value
    if isinstance(value, list):
        return [_replace_urls(v) for v in value]
    if isinstance(value, dict):
        return {k: _replace_urls(v) for k, v in value.items()}
    return value


# The catalog's media fields (type media / media_list in crates/core/catalog.toml), by
# what the upstream expects behind them.
VIDEO_FIELDS = {"videoUrl", "motionVideo"}
AUDIO_FIELDS = {"soundFile"}
IMAGE_FIELDS = {"images", "endImage", "staticMask", "mask"}


def _media_urls(value, key=None):
    """Every media value (at any depth) as a loopback URL the upstream accepts."""
    if isinstance(value, dict):
        return {k: _media_urls(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_media_urls(v, key) for v in value]
    if isinstance(value, str):
        if key in VIDEO_FIELDS:
            return LOOPBACK_URL + ".mp4"
        if key in AUDIO_FIELDS:
            return LOOPBACK_URL + ".mp3"
        if key in IMAGE_FIELDS:
            return LOOPBACK_URL + ".png"
    return value


def _integral(value):
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [_integral(v) for v in value]
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    return value


def _drop_upstream_ids(body: dict) -> None:
    """/generate: ids of earlier upstream results cannot exist in a fresh sandbox, and the
    lip-sync audio must land on the face the upstream found in the video (its first 5 s)."""
    body.pop("elementIds", None)
    if body.get("model") == "kling-lip-sync":
        for k in ("videoId", "audioId", "faceId"):
            body.pop(k, None)
        body.update(soundStartTime=0, soundEndTime=5000, soundInsertTime=0)


def _given(body, key):
    return body.get(key) is not None


def _camera_ok(cc) -> bool:
    """rules.rs CameraControlShape."""
    if not isinstance(cc, dict):
        return True
    native = _given(cc, "type") or _given(cc, "config")
    unified = _given(cc, "cameraMotion") or _given(cc, "cameraSpeed")
    if native == unified:
        return False
    if _given(cc, "cameraSpeed") and not _given(cc, "cameraMotion"):
        return False
    if cc.get("type") == "simple" and not _given(cc, "config"):
        return False
    if _given(cc, "config"):
        if cc.get("type") != "simple":
            return False
        nonzero = [a for a in CAMERA_AXES if (cc["config"].get(a) or 0) != 0]
        if len(nonzero) != 1:
            return False
    return True


def _repair(body: dict) -> None:
    """Makes a schema-valid body meet its model's cross-field rules (rules.rs)."""
    model = body.get("model")
    images = body.get("images") or []
    # CameraControlShape
    if _given(body, "cameraControl") and not _camera_ok(body["cameraControl"]):
        del body["cameraControl"]
    # ImageToVideoExclusiveGroups: one of end frame / masks / camera control; masks need
    # a start image.
    if "staticMask" in body or "dynamicMasks" in body or "endImage" in body:
        if len(images) > 1:
            body.pop("endImage", None)
        groups = [
            ("end", len(images) > 1 or _given(body, "endImage")),
            ("masks", _given(body, "staticMask") or bool(body.get("dynamicMasks"))),
            ("camera", _given(body, "cameraControl")),
        ]
        on = [g for g, present in groups if present]
        for g in on[1:]:
            if g == "masks":
                body.pop("staticMask", None)
                body.pop("dynamicMasks", None)
            elif g == "camera":
                body.pop("cameraControl", None)
        if (_given(body, "staticMask") or body.get("dynamicMasks")) and not images:
            body.pop("staticMask", None)
            body.pop("dynamicMasks", None)
    # AspectRatioRequiredWithoutImage (runway)
    if model == "runway" and not images and not _given(body, "aspectRatio"):
        body["aspectRatio"] = "16:9"
    # PromptOrMultiPrompt (kling-3.0): multi-shot with shots summing to 3–15 s, or a prompt.
    if model == "kling-3.0":
        shots = body.get("multiPrompt") or []
        total = sum(s.get("duration", 0) for s in shots if isinstance(s, dict))
        if body.get("multiShots") is True and shots and 3 <= total <= 15:
            body["duration"] = total
        else:
            body.pop("multiPrompt", None)
            if body.get("multiShots") is True:
                body["multiShots"] = False
            if not (body.get("prompt") or "").strip():
                body["prompt"] = "a fox running through snow"
    # OmniImageReferences: elementIds + images ≤ 10; <<<image_N>>> names an existing image.
    if model == "kling-omni-image":
        ids = body.get("elementIds") or []
        if ids:
            body["elementIds"] = ids[: max(0, 10 - len(images))]
        p = re.sub(r"<<<image_(\d+)>>>",
                   lambda m: m.group(0) if 1 <= int(m.group(1)) <= len(images) else "",
                   body.get("prompt") or "")
        body["prompt"] = p if p.strip() else "a cat on a beach"
    # ImageReferenceRules (kling-image)
    if model == "kling-image":
        if images:
            if not _given(body, "imageReference"):
                body["imageReference"] = "subject"
            body.pop("negativePrompt", None)
            if body.get("imageReference") != "subject":
                body.pop("humanFidelity", None)
        else:
            for k in ("imageReference", "imageFidelity", "humanFidelity"):
                body.pop(k, None)
    # LipSyncSources: one video source, one audio source, a 2–60 s audio window.
    if model == "kling-lip-sync":
        for pair in (("videoUrl", "videoId"), ("soundFile", "audioId")):
            if _given(body, pair[0]):
                body.pop(pair[1], None)
            elif not _given(body, pair[1]):
                body[pair[0]] = LOOPBACK_URL + (".mp4" if pair[0] == "videoUrl" else ".mp3")
        start = body.get("soundStartTime") or 0
        body["soundEndTime"] = start + 5000
    # An image-to-video-only model infers text_to_video from a body without an image.
    if model == "kling-2.6-i2v" and not images and not _given(body, "endImage"):
        body["images"] = [LOOPBACK_URL]
    # MotionOrientationDuration: image ≤ 10 s, video ≤ 30 s.
    if body.get("characterOrientation") == "image" and (body.get("duration") or 0) > 10:
        body["duration"] = 10


def _is_positive(case) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode.is_positive


@schemathesis.hook
def filter_case(context, case):
    if not _is_positive(case) or not case.operation.path.endswith("/generate"):
        return True
    return not (isinstance(case.body, dict) and case.body.get("model") == "kling-video-extend")


@schemathesis.hook
def before_call(context, case, kwargs):
    if not BODY_PATHS.match(case.operation.path) or not _is_positive(case):
        return
    if isinstance(case.body, dict):
        body = _integral(_replace_urls(case.body))
        generate = case.operation.path.endswith("/generate")
        if generate:
            _drop_upstream_ids(body)
        _repair(body)
        if generate:
            body = _media_urls(body)
        case.body = body
    if case.headers and any(k.lower() == "idempotency-key" for k in case.headers):
        case.headers = {k: v for k, v in case.headers.items() if k.lower() != "idempotency-key"}
        case.headers["Idempotency-Key"] = f"schemathesis-{next(_keys)}"
