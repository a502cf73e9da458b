//! Kling's API token: an HS256 JWT with `iss` = AccessKey (spec/kling-api.md, auth),
//! so the floor run can call the Kling simulator's native API directly.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A token valid from 5 s ago for `ttl_secs`.
pub fn kling_token(access_key: &str, secret_key: &str, now_unix: u64, ttl_secs: u64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": access_key,
        "exp": now_unix + ttl_secs,
        "nbf": now_unix.saturating_sub(5),
    });
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string().as_bytes());
    let signing_input = format!("{header}.{payload}");
    // HMAC accepts keys of any length, so new_from_slice cannot fail here.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
    };
    mac.update(signing_input.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_has_three_parts_and_the_issuer() {
        let t = kling_token("AK", "SK", 1_700_000_000, 1800);
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "AK");
        assert_eq!(claims["exp"], 1_700_001_800u64);
    }

    #[test]
    fn signature_depends_on_the_secret() {
        assert_ne!(
            kling_token("AK", "one", 1, 1).rsplit('.').next(),
            kling_token("AK", "two", 1, 1).rsplit('.').next()
        );
    }
}
