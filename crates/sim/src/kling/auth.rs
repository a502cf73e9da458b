//! JWT verification (spec/kling-api.md, common rules: HS256 signed with the account's
//! SecretKey, `iss` = AccessKey, `exp`, `nbf`), written independently of any JWT crate so
//! the simulator checks the wire form a client actually sends.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::config::{AccountStatus, KlingAccount};
use super::envelope::KlingError;

fn hmac(secret: &str, msg: &[u8]) -> Vec<u8> {
    // Hmac<Sha256> accepts keys of any length, so this cannot fail.
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut m) => {
            m.update(msg);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// A token as the spec describes it: header `{"alg":"HS256","typ":"JWT"}`, claims
/// `{iss, exp, nbf}` (Unix seconds), HS256 with `secret_key`. Tests use it to craft
/// expired or not-yet-valid tokens.
pub fn encode_token(access_key: &str, secret_key: &str, exp: i64, nbf: i64) -> String {
    let header = B64URL.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = B64URL.encode(json!({"iss": access_key, "exp": exp, "nbf": nbf}).to_string());
    let signing_input = format!("{header}.{claims}");
    let sig = B64URL.encode(hmac(secret_key, signing_input.as_bytes()));
    format!("{signing_input}.{sig}")
}

/// Checks the `Authorization` header at Unix time `now` (seconds) and returns the index of
/// the account. Codes (spec, errors table): 1001 header empty, 1002 token invalid,
/// 1000 auth failed (unknown AccessKey, bad signature), 1003 not yet valid, 1004 expired;
/// then the account's standing (1100–1102).
pub(crate) fn verify(
    header: Option<&str>,
    accounts: &[KlingAccount],
    now: i64,
) -> Result<usize, KlingError> {
    let raw = header.map(str::trim).unwrap_or("");
    if raw.is_empty() {
        return Err(KlingError::new(
            1001,
            "Authorization header is empty: send `Authorization: Bearer <JWT>`",
        ));
    }
    let Some(token) = raw.strip_prefix("Bearer ").map(str::trim) else {
        return Err(KlingError::new(
            1002,
            "Authorization header must be `Bearer <JWT>`",
        ));
    };
    // spec "Auth": an account may use a static API key as the bearer token instead.
    if let Some(idx) = accounts.iter().position(|a| {
        a.api_key
            .as_deref()
            .is_some_and(|k| !k.is_empty() && k == token)
    }) {
        return standing(&accounts[idx]).map(|()| idx);
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [h, c, s] = parts.as_slice() else {
        return Err(KlingError::new(
            1002,
            format!(
                "token is invalid: a JWT has 3 dot-separated parts, got {}",
                parts.len()
            ),
        ));
    };
    let decode_json = |part: &str, what: &str| -> Result<Value, KlingError> {
        let bytes = B64URL.decode(part).map_err(|_| {
            KlingError::new(1002, format!("token is invalid: {what} is not Base64url"))
        })?;
        serde_json::from_slice(&bytes)
            .map_err(|_| KlingError::new(1002, format!("token is invalid: {what} is not JSON")))
    };
    let header = decode_json(h, "header")?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(KlingError::new(
            1002,
            format!(
                "token is invalid: alg must be HS256, got {}",
                header.get("alg").unwrap_or(&Value::Null)
            ),
        ));
    }
    let claims = decode_json(c, "claims")?;
    let Some(iss) = claims.get("iss").and_then(Value::as_str) else {
        return Err(KlingError::new(
            1002,
            "token is invalid: claim iss (the AccessKey) is missing",
        ));
    };
    let Some(idx) = accounts.iter().position(|a| a.access_key == iss) else {
        return Err(KlingError::new(
            1000,
            format!("authentication failed: AccessKey {iss:?} is unknown"),
        ));
    };
    let account = &accounts[idx];
    let given = B64URL
        .decode(s)
        .map_err(|_| KlingError::new(1002, "token is invalid: signature is not Base64url"))?;
    let expected = hmac(&account.secret_key, format!("{h}.{c}").as_bytes());
    if given != expected {
        return Err(KlingError::new(
            1000,
            "authentication failed: signature does not match the SecretKey of this AccessKey",
        ));
    }
    let Some(exp) = claims.get("exp").and_then(Value::as_i64) else {
        return Err(KlingError::new(
            1002,
            "token is invalid: claim exp (Unix seconds) is missing or not an integer",
        ));
    };
    if let Some(nbf) = claims.get("nbf") {
        let Some(nbf) = nbf.as_i64() else {
            return Err(KlingError::new(
                1002,
                "token is invalid: claim nbf must be an integer (Unix seconds)",
            ));
        };
        if now < nbf {
            return Err(KlingError::new(
                1003,
                format!("token is not yet valid: nbf {nbf} is after now {now}"),
            ));
        }
    }
    if now >= exp {
        return Err(KlingError::new(
            1004,
            format!("token has expired: exp {exp} is not after now {now}"),
        ));
    }
    standing(account).map(|()| idx)
}

/// The account's standing (1100–1102), once its token checked out.
fn standing(account: &KlingAccount) -> Result<(), KlingError> {
    match account.status {
        AccountStatus::Active => Ok(()),
        AccountStatus::Abnormal => Err(KlingError::new(1100, "account is abnormal")),
        AccountStatus::InArrears => Err(KlingError::new(1101, "account is in arrears")),
        AccountStatus::PackExhausted => Err(KlingError::new(
            1102,
            "resource pack is exhausted or expired",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts() -> Vec<KlingAccount> {
        vec![
            KlingAccount::new("ak", "sk"),
            KlingAccount::new("ak2", "sk2"),
        ]
    }

    fn code(h: Option<&str>, now: i64) -> u32 {
        match verify(h, &accounts(), now) {
            Ok(_) => 0,
            Err(e) => e.code,
        }
    }

    #[test]
    fn codes_follow_the_spec_table() {
        let t = encode_token("ak2", "sk2", 2_000, 995);
        assert_eq!(
            verify(Some(&format!("Bearer {t}")), &accounts(), 1_000),
            Ok(1)
        );
        assert_eq!(code(None, 1_000), 1001);
        assert_eq!(code(Some(""), 1_000), 1001);
        assert_eq!(code(Some(&t), 1_000), 1002);
        assert_eq!(code(Some("Bearer a.b"), 1_000), 1002);
        assert_eq!(code(Some(&format!("Bearer {t}")), 990), 1003);
        assert_eq!(code(Some(&format!("Bearer {t}")), 2_000), 1004);
        let wrong_secret = encode_token("ak", "sk2", 2_000, 995);
        assert_eq!(code(Some(&format!("Bearer {wrong_secret}")), 1_000), 1000);
        let unknown = encode_token("nobody", "sk", 2_000, 995);
        assert_eq!(code(Some(&format!("Bearer {unknown}")), 1_000), 1000);
    }

    /// spec "Auth": a configured static API key is a bearer token of its own account; an
    /// unconfigured one is not a JWT either (1002).
    #[test]
    fn a_configured_static_key_authenticates_its_account() {
        let accounts = vec![
            KlingAccount::new("ak", "sk"),
            KlingAccount::new("ak2", "sk2").with_api_key("static-key-2"),
        ];
        assert_eq!(verify(Some("Bearer static-key-2"), &accounts, 1_000), Ok(1));
        assert_eq!(
            verify(Some("Bearer static-key-3"), &accounts, 1_000).map_err(|e| e.code),
            Err(1002)
        );
    }
}
