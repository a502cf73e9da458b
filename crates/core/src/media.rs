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
        if v.is_empty() {
            return Err(MediaError::Empty);
        }
        let lower = v.get(..8).unwrap_or(v).to_ascii_lowercase();
        if lower.starts_with("data:") {
            return Err(MediaError::DataUri);
        }
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return match url::Url::parse(v) {
                Ok(u) if u.host_str().is_some() => Ok(MediaInput::Url(v.to_string())),
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
        let compact: String = v.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        if base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .is_ok()
        {
            Ok(MediaInput::Base64(compact))
        } else {
            Err(MediaError::NotBase64)
        }
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
