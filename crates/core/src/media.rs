//! Media inputs: an image, video or audio given either as a URL or as a bare Base64 string.
//!
//! `spec/kling-api.md` "Common rules": Base64 media is the **bare** string; a
//! `data:image/png;base64,` prefix is rejected. The unified API takes URLs. One type covers
//! both and refuses a `data:` URI with a message that says what to send instead.

use base64::Engine;
use std::fmt;

/// An image, video or audio input: a URL or a bare Base64 payload.
///
/// ```
/// use genmux_core::MediaInput;
/// assert!(matches!(MediaInput::parse("https://x.test/a.png"), Ok(MediaInput::Url(_))));
/// assert!(matches!(MediaInput::parse("iVBORw0KGgo="), Ok(MediaInput::Base64(_))));
/// assert!(MediaInput::parse("data:image/png;base64,iVBORw0KGgo=").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MediaInput {
    /// An `http` or `https` URL, kept as given.
    Url(String),
    /// A bare standard-alphabet Base64 payload (no `data:` prefix).
    Base64(String),
}

/// Why a string is not a valid [`MediaInput`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// The value is empty.
    #[error("is empty; give an http(s) URL or a bare Base64 string")]
    Empty,
    /// A `data:` URI was given where only bare Base64 is accepted.
    #[error("a data: URI is not accepted; send the bare Base64 string without the `data:...;base64,` prefix")]
    DataUri,
    /// A URL with a scheme other than http/https, or one that does not parse.
    #[error("`{0}` is not an http(s) URL")]
    BadUrl(String),
    /// Neither a URL nor valid Base64.
    #[error("is neither an http(s) URL nor valid Base64")]
    NotBase64,
}

impl MediaInput {
    /// Parses a URL or a bare Base64 string; rejects `data:` URIs and other schemes.
    pub fn parse(value: &str) -> Result<Self, MediaError> {
        let v = value.trim();
        Ok(match classify(v)? {
            Class::Url => MediaInput::Url(v.to_string()),
            Class::Base64 => {
                MediaInput::Base64(v.chars().filter(|c| !c.is_ascii_whitespace()).collect())
            }
        })
    }

    /// Whether [`MediaInput::parse`] accepts `value`, without building the input (no copy
    /// of a Base64 payload): validation runs this on every media string of a request.
    pub(crate) fn check(value: &str) -> Result<(), MediaError> {
        classify(value.trim()).map(|_| ())
    }

    /// The string as sent on the wire (the URL, or the bare Base64).
    pub fn as_str(&self) -> &str {
        match self {
            MediaInput::Url(s) | MediaInput::Base64(s) => s,
        }
    }

    /// The URL, if this input is one.
    pub fn url(&self) -> Option<&str> {
        match self {
            MediaInput::Url(s) => Some(s),
            MediaInput::Base64(_) => None,
        }
    }

    /// The decoded bytes of a Base64 input; `None` for a URL.
    pub fn decoded(&self) -> Option<Vec<u8>> {
        match self {
            MediaInput::Url(_) => None,
            MediaInput::Base64(b) => base64::engine::general_purpose::STANDARD.decode(b).ok(),
        }
    }
}

enum Class {
    Url,
    Base64,
}

/// `s` starts with the ASCII `prefix`, ignoring ASCII case.
fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// What a trimmed media string is, or why it is neither kind.
fn classify(v: &str) -> Result<Class, MediaError> {
    if v.is_empty() {
        return Err(MediaError::Empty);
    }
    if starts_with_ci(v, "data:") {
        return Err(MediaError::DataUri);
    }
    if starts_with_ci(v, "http://") || starts_with_ci(v, "https://") {
        return match url::Url::parse(v) {
            Ok(u) if u.host_str().is_some() => Ok(Class::Url),
            _ => Err(MediaError::BadUrl(v.to_string())),
        };
    }
    // A scheme-looking prefix (file:, gopher:, ftp:) is a URL we refuse, not Base64.
    if let Some(idx) = v.find(':') {
        if v[..idx]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '.')
        {
            return Err(MediaError::BadUrl(v.to_string()));
        }
    }
    let ok = if v.bytes().any(|b| b.is_ascii_whitespace()) {
        let compact: String = v.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        base64_ok(compact.as_bytes())
    } else {
        base64_ok(v.as_bytes())
    };
    if ok {
        Ok(Class::Base64)
    } else {
        Err(MediaError::NotBase64)
    }
}

/// Whether `b` is standard padded Base64, decoded chunk by chunk into a stack buffer so
/// that a multi-megabyte payload is checked without a copy. Chunks are whole 4-character
/// groups; padding is only valid in the last one, as in a one-piece decode.
fn base64_ok(b: &[u8]) -> bool {
    const CHUNK: usize = 4 * 512;
    let engine = &base64::engine::general_purpose::STANDARD;
    let mut buf = [0u8; CHUNK / 4 * 3];
    if b.len() <= CHUNK {
        return engine.decode_slice(b, &mut buf).is_ok();
    }
    let (body, last) = b.split_at((b.len() - 1) / CHUNK * CHUNK);
    body.chunks(CHUNK)
        .all(|c| !c.contains(&b'=') && engine.decode_slice(c, &mut buf).is_ok())
        && engine.decode_slice(last, &mut buf).is_ok()
}

impl fmt::Display for MediaInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MediaInput::Url(u) => f.write_str(u),
            // Never print a multi-megabyte payload into logs or error messages.
            MediaInput::Base64(b) => write!(f, "<base64, {} chars>", b.len()),
        }
    }
}

impl serde::Serialize for MediaInput {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for MediaInput {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        MediaInput::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // The chunked check must agree with a one-piece decode on any mix of valid,
        // padding, whitespace and invalid characters, across chunk boundaries.
        #[test]
        fn chunked_base64_check_agrees_with_decode(
            s in proptest::collection::vec(prop_oneof![
                8 => proptest::sample::select(b"ABCxyz019+/".to_vec()),
                1 => Just(b'='),
                1 => proptest::sample::select(b" -_*\n".to_vec()),
            ], 0..5000),
            valid_len in 0usize..4000,
        ) {
            let text = String::from_utf8(s).unwrap();
            let decodes = base64::engine::general_purpose::STANDARD.decode(text.as_bytes()).is_ok();
            prop_assert_eq!(base64_ok(text.as_bytes()), decodes);
            // Mostly-valid payloads, so the long accepted case is exercised too.
            let good = base64::engine::general_purpose::STANDARD.encode(vec![7u8; valid_len]);
            prop_assert!(base64_ok(good.as_bytes()));
            let mut bad = good.clone().into_bytes();
            if let Some(c) = bad.get_mut(valid_len / 2) {
                *c = b'=';
                prop_assert_eq!(base64_ok(&bad), base64::engine::general_purpose::STANDARD.decode(&bad).is_ok());
            }
        }
    }

    #[test]
    fn check_agrees_with_parse() {
        let long = base64::engine::general_purpose::STANDARD.encode(vec![1u8; 10_000]);
        let spaced = format!("{} \n {}", &long[..4096], &long[4096..]);
        for s in [
            "",
            "  ",
            "https://x.test/a.png",
            "HTTPS://X.TEST/A",
            "http://",
            "https:///nohost",
            "data:image/png;base64,AAAA",
            "DATA:x",
            "ftp://x",
            "file:/etc",
            "iVBORw0KGgo=",
            "iVBORw0KGgo",
            "abc*",
            " iVBORw0KGgo= ",
            long.as_str(),
            spaced.as_str(),
            "a:b:c",
        ] {
            assert_eq!(
                MediaInput::check(s),
                MediaInput::parse(s).map(|_| ()),
                "{s:?}"
            );
        }
    }

    #[test]
    fn parse_table() {
        let cases: &[(&str, Result<&str, MediaError>)] = &[
            ("https://cdn.test/cat.png", Ok("url")),
            ("HTTP://cdn.test/cat.png", Ok("url")),
            ("iVBORw0KGgoAAAANSUhEUg==", Ok("b64")),
            ("iVBORw0K\nGgoAAAANSUhEUg==", Ok("b64")),
            (
                "data:image/png;base64,iVBORw0KGgo=",
                Err(MediaError::DataUri),
            ),
            (
                "DATA:image/png;base64,iVBORw0KGgo=",
                Err(MediaError::DataUri),
            ),
            ("", Err(MediaError::Empty)),
            ("   ", Err(MediaError::Empty)),
            (
                "file:///etc/passwd",
                Err(MediaError::BadUrl("file:///etc/passwd".into())),
            ),
            ("gopher://x", Err(MediaError::BadUrl("gopher://x".into()))),
            ("https://", Err(MediaError::BadUrl("https://".into()))),
            ("not base64 at all!", Err(MediaError::NotBase64)),
        ];
        for (input, want) in cases {
            let got = MediaInput::parse(input);
            match (want, &got) {
                (Ok("url"), Ok(MediaInput::Url(_))) | (Ok("b64"), Ok(MediaInput::Base64(_))) => {}
                (Err(e), Err(g)) => assert_eq!(e, g, "input {input:?}"),
                _ => panic!("input {input:?}: want {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn display_hides_base64_payload() {
        let m = MediaInput::parse("iVBORw0KGgoAAAANSUhEUg==").unwrap();
        assert_eq!(m.to_string(), "<base64, 24 chars>");
        assert_eq!(m.decoded().unwrap()[..4], [0x89, b'P', b'N', b'G']);
    }

    #[test]
    fn serde_round_trip_and_rejects_data_uri() {
        let m: MediaInput = serde_json::from_str("\"https://a.test/x.png\"").unwrap();
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            "\"https://a.test/x.png\""
        );
        let err = serde_json::from_str::<MediaInput>("\"data:image/png;base64,AAAA\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("data: URI is not accepted"), "{err}");
    }
}
