//! Standard Webhooks 1.0 signatures, used three ways: an upstream's signed inbound
//! callbacks (verify; the unified API's — Kling signs none), the simulators' callbacks
//! (sign), and the gateway's outbound callbacks (sign).
//!
//! `design/RELIABILITY.md` W1: `webhook-signature: v1,<base64 HMAC-SHA256 of
//! "{id}.{timestamp}.{body}">`, key = the Base64-decoded secret without `whsec_`, timestamp
//! tolerance ±5 minutes, several space-separated signatures during key rotation.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Header carrying the message id (stable across retries).
pub const HEADER_ID: &str = "webhook-id";
/// Header carrying the Unix timestamp in seconds.
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// Header carrying `v1,<signature>` entries separated by spaces.
pub const HEADER_SIGNATURE: &str = "webhook-signature";
/// Largest accepted clock difference, in seconds.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a webhook was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The secret is not `whsec_<base64>` (or bare Base64).
    #[error("webhook secret is not valid Base64 (expected whsec_<base64>)")]
    BadSecret,
    /// A required header is absent or not text.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// The timestamp header is not an integer.
    #[error("webhook-timestamp {0:?} is not a Unix timestamp")]
    BadTimestamp(String),
    /// The timestamp is outside the tolerance.
    #[error("webhook-timestamp {ts} is more than {TOLERANCE_SECS} s away from now ({now})")]
    Stale {
        /// The message timestamp.
        ts: i64,
        /// The receiver's clock.
        now: i64,
    },
    /// No `v1` signature matched (including empty or truncated signatures).
    #[error("no valid v1 signature")]
    NoMatch,
}

/// A webhook signing secret.
#[derive(Clone)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl WebhookSecret {
    /// Parses `whsec_<base64>` (the prefix is optional).
    pub fn parse(secret: &str) -> Result<Self, WebhookError> {
        let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
        let key = B64
            .decode(b64.trim())
            .map_err(|_| WebhookError::BadSecret)?;
        if key.is_empty() {
            return Err(WebhookError::BadSecret);
        }
        Ok(WebhookSecret { key })
    }

    /// A secret from raw key bytes; [`WebhookSecret::to_whsec`] renders it.
    pub fn from_bytes(key: &[u8]) -> Self {
        WebhookSecret { key: key.to_vec() }
    }

    /// The `whsec_<base64>` form.
    pub fn to_whsec(&self) -> String {
        format!("whsec_{}", B64.encode(&self.key))
    }

    fn mac(&self, id: &str, ts: i64, body: &[u8]) -> Vec<u8> {
        // HMAC accepts keys of any length; new_from_slice cannot fail for Hmac<Sha256>.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(m) => m,
            Err(_) => return Vec::new(),
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(ts.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }

    /// The `v1,<base64>` signature of a message.
    ///
    /// ```
    /// use genmux_core::webhook::WebhookSecret;
    /// let s = WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
    /// let sig = s.sign("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553,
    ///     br#"{"email":"test@example.com","username":"test_user"}"#);
    /// assert_eq!(sig, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    /// ```
    pub fn sign(&self, id: &str, ts: i64, body: &[u8]) -> String {
        format!("v1,{}", B64.encode(self.mac(id, ts, body)))
    }

    /// Verifies a message given its three header values, at Unix time `now`.
    pub fn verify(
        &self,
        id: &str,
        timestamp: &str,
        signatures: &str,
        body: &[u8],
        now: i64,
    ) -> Result<(), WebhookError> {
        let ts: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| WebhookError::BadTimestamp(timestamp.to_string()))?;
        if (now - ts).abs() > TOLERANCE_SECS {
            return Err(WebhookError::Stale { ts, now });
        }
        let expected = self.mac(id, ts, body);
        for entry in signatures.split_whitespace() {
            let Some(("v1", sig)) = entry.split_once(',') else {
                continue;
            };
            let Ok(given) = B64.decode(sig) else { continue };
            // Length differs for empty/truncated signatures: ct_eq returns false for them.
            if given.len() == expected.len() && bool::from(given.ct_eq(&expected)) {
                return Ok(());
            }
        }
        Err(WebhookError::NoMatch)
    }

    /// Verifies a message from its HTTP headers.
    pub fn verify_headers(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<(), WebhookError> {
        let get = |name: &'static str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .ok_or(WebhookError::MissingHeader(name))
        };
        self.verify(
            get(HEADER_ID)?,
            get(HEADER_TIMESTAMP)?,
            get(HEADER_SIGNATURE)?,
            body,
            now,
        )
    }

    /// The three headers for an outbound message.
    pub fn headers(&self, id: &str, ts: i64, body: &[u8]) -> [(&'static str, String); 3] {
        [
            (HEADER_ID, id.to_string()),
            (HEADER_TIMESTAMP, ts.to_string()),
            (HEADER_SIGNATURE, self.sign(id, ts, body)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TS: i64 = 1649367553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const SIG: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn secret() -> WebhookSecret {
        WebhookSecret::parse(SECRET).unwrap()
    }

    #[test]
    fn w1_known_answer() {
        assert_eq!(secret().sign(ID, TS, BODY), SIG);
        assert_eq!(secret().verify(ID, &TS.to_string(), SIG, BODY, TS), Ok(()));
    }

    #[test]
    fn w1_rejections() {
        let s = secret();
        let ts = TS.to_string();
        let tampered = br#"{"email":"test@example.com","username":"test_user2"}"#;
        assert_eq!(
            s.verify(ID, &ts, SIG, tampered, TS),
            Err(WebhookError::NoMatch)
        );
        let other = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            other.verify(ID, &ts, SIG, BODY, TS),
            Err(WebhookError::NoMatch)
        );
        assert!(matches!(
            s.verify(ID, &ts, SIG, BODY, TS + 301),
            Err(WebhookError::Stale { .. })
        ));
        assert!(matches!(
            s.verify(ID, &ts, SIG, BODY, TS - 301),
            Err(WebhookError::Stale { .. })
        ));
        assert_eq!(s.verify(ID, &ts, SIG, BODY, TS + 300), Ok(()));
        assert_eq!(s.verify(ID, &ts, "", BODY, TS), Err(WebhookError::NoMatch));
        assert_eq!(
            s.verify(ID, &ts, "v1,", BODY, TS),
            Err(WebhookError::NoMatch)
        );
        assert_eq!(
            s.verify(ID, &ts, &SIG[..SIG.len() - 8], BODY, TS),
            Err(WebhookError::NoMatch)
        );
        assert_eq!(
            s.verify(
                ID,
                &ts,
                "v2,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
                BODY,
                TS
            ),
            Err(WebhookError::NoMatch)
        );
        // rotation: a wrong signature first, the right one second
        assert_eq!(
            s.verify(ID, &ts, &format!("v1,AAAA {SIG}"), BODY, TS),
            Ok(())
        );
        assert!(matches!(
            s.verify(ID, "yesterday", SIG, BODY, TS),
            Err(WebhookError::BadTimestamp(_))
        ));
        let headers = http::HeaderMap::new();
        assert_eq!(
            s.verify_headers(&headers, BODY, TS),
            Err(WebhookError::MissingHeader(HEADER_ID))
        );
    }

    #[test]
    fn whsec_round_trip() {
        assert_eq!(secret().to_whsec(), SECRET);
        assert_eq!(
            WebhookSecret::parse("whsec_").unwrap_err(),
            WebhookError::BadSecret
        );
        assert_eq!(
            WebhookSecret::parse("whsec_%%%").unwrap_err(),
            WebhookError::BadSecret
        );
    }
}
