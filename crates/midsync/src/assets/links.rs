//! Gateway URLs of stored assets, and signed, expiring links a browser `<video>` can load
//! without an `Authorization` header: `/v1/assets/{id}?expires={unix}&sig={base64url}`,
//! where `sig` is HMAC-SHA256 over `"{id}.{expires}"` under a key derived from the
//! gateway's master key (so every replica verifies what any replica signed).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The stable URL of an asset: served with the owner's key.
pub fn asset_url(public_base_url: &str, asset_id: &str) -> String {
    format!(
        "{}/v1/assets/{asset_id}",
        public_base_url.trim_end_matches('/')
    )
}

fn mac(key: &[u8], asset_id: &str, expires: i64) -> Hmac<Sha256> {
    // HMAC takes keys of any length.
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    m.update(asset_id.as_bytes());
    m.update(b".");
    m.update(expires.to_string().as_bytes());
    m
}

/// The signature of a link to `asset_id` valid until `expires` (Unix seconds).
pub fn sign(key: &[u8], asset_id: &str, expires: i64) -> String {
    URL_SAFE_NO_PAD.encode(mac(key, asset_id, expires).finalize().into_bytes())
}

/// A signed link to `asset_id` valid until `expires` (Unix seconds).
pub fn signed_url(public_base_url: &str, key: &[u8], asset_id: &str, expires: i64) -> String {
    format!(
        "{}?expires={expires}&sig={}",
        asset_url(public_base_url, asset_id),
        sign(key, asset_id, expires)
    )
}

/// Why a signed link is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// `expires` is in the past.
    #[error("this signed link expired at {0} (Unix seconds); ask for a new one")]
    Expired(i64),
    /// The signature does not match (tampered, truncated, or for another asset).
    #[error("the link's `sig` does not match `expires` and the asset id")]
    BadSignature,
}

/// Checks a link's `expires` and `sig` at `now` (Unix seconds), in constant time.
pub fn verify(
    key: &[u8],
    asset_id: &str,
    expires: i64,
    sig: &str,
    now: i64,
) -> Result<(), LinkError> {
    let given = URL_SAFE_NO_PAD
        .decode(sig.trim())
        .map_err(|_| LinkError::BadSignature)?;
    mac(key, asset_id, expires)
        .verify_slice(&given)
        .map_err(|_| LinkError::BadSignature)?;
    if expires <= now {
        return Err(LinkError::Expired(expires));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_verifies_until_it_expires_and_only_for_its_asset() {
        let key = b"k";
        let sig = sign(key, "ast_1", 1_000);
        assert_eq!(verify(key, "ast_1", 1_000, &sig, 999), Ok(()));
        assert_eq!(
            verify(key, "ast_1", 1_000, &sig, 1_000),
            Err(LinkError::Expired(1_000))
        );
        assert_eq!(
            verify(key, "ast_2", 1_000, &sig, 0),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            verify(key, "ast_1", 2_000, &sig, 0),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            verify(b"other", "ast_1", 1_000, &sig, 0),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            verify(key, "ast_1", 1_000, &sig[..sig.len() - 2], 0),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            verify(key, "ast_1", 1_000, "", 0),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            signed_url("https://gw.example/", key, "ast_1", 1_000),
            format!("https://gw.example/v1/assets/ast_1?expires=1000&sig={sig}")
        );
    }
}
