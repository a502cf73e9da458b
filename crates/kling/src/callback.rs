//! Inbound callbacks (`spec/kling-api.md` "Callback"): on each status change Kling POSTs
//! the bare task object to `callback_url`. When a secret is configured the body must carry
//! a valid Standard Webhooks signature (`webhook-id`, `webhook-timestamp` within ±5 min,
//! `webhook-signature: v1,<b64>`), checked by `genmux_core::webhook`.

use crate::error::PROVIDER;
use crate::wire::Task;
use genmux_core::webhook::{WebhookError, WebhookSecret};
use genmux_core::{Error, ErrorKind, Result};

/// Parses the bare task object of a callback body.
pub fn parse_task(body: &[u8]) -> Result<Task> {
    serde_json::from_slice(body).map_err(|e| {
        Error::invalid(format!(
            "callback body: not a Kling task object ({e}); expected {{task_id, task_status, …}}"
        ))
        .with_provider(PROVIDER)
    })
}

/// Verifies a callback's signature at Unix time `now`, then parses it. With no secret the
/// body is parsed unverified (Kling signs only when a secret is set up).
pub fn verify_and_parse(
    secret: Option<&WebhookSecret>,
    headers: &http::HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<Task> {
    if let Some(secret) = secret {
        secret
            .verify_headers(headers, body, now)
            .map_err(rejected)?;
    }
    parse_task(body)
}

fn rejected(e: WebhookError) -> Error {
    Error::new(
        ErrorKind::Unauthenticated,
        format!("callback signature rejected: {e}"),
    )
    .with_provider(PROVIDER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::TaskStatus;
    use genmux_core::webhook::{HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP};

    // design/RELIABILITY.md W1.
    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TS: i64 = 1649367553;
    const W1_BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const W1_SIG: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";
    const TASK: &[u8] = br#"{"task_id":"t-1","task_status":"succeed","task_info":{},
        "task_result":{"videos":[{"id":"v-1","url":"https://k.test/v.mp4","duration":"5"}]},
        "created_at":1649367000000,"updated_at":1649367553000}"#;

    fn secret() -> WebhookSecret {
        WebhookSecret::parse(SECRET).unwrap()
    }

    fn headers(id: &str, ts: &str, sig: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(HEADER_ID, id.parse().unwrap());
        h.insert(HEADER_TIMESTAMP, ts.parse().unwrap());
        h.insert(HEADER_SIGNATURE, sig.parse().unwrap());
        h
    }

    fn kind(r: Result<Task>) -> ErrorKind {
        r.unwrap_err().kind()
    }

    #[test]
    fn w1_vector_signature_is_accepted_and_the_body_must_be_a_task() {
        let h = headers(ID, &TS.to_string(), W1_SIG);
        // The signature is valid; the W1 body is not a task, so parsing names the problem.
        let err = verify_and_parse(Some(&secret()), &h, W1_BODY, TS).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert!(
            err.message().starts_with("callback body"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn w1_rejections() {
        let s = secret();
        let ts = TS.to_string();
        let cases: Vec<(&str, http::HeaderMap, &[u8], i64)> = vec![
            (
                "tampered body",
                headers(ID, &ts, W1_SIG),
                br#"{"email":"test@example.com","username":"test_user2"}"#,
                TS,
            ),
            ("301 s late", headers(ID, &ts, W1_SIG), W1_BODY, TS + 301),
            ("301 s early", headers(ID, &ts, W1_SIG), W1_BODY, TS - 301),
            ("empty signature", headers(ID, &ts, ""), W1_BODY, TS),
            ("bare v1,", headers(ID, &ts, "v1,"), W1_BODY, TS),
            (
                "truncated signature",
                headers(ID, &ts, &W1_SIG[..W1_SIG.len() - 8]),
                W1_BODY,
                TS,
            ),
            ("missing headers", http::HeaderMap::new(), W1_BODY, TS),
        ];
        for (name, h, body, now) in cases {
            let err = verify_and_parse(Some(&s), &h, body, now).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{name}");
            assert!(
                err.message().contains("signature rejected"),
                "{name}: {}",
                err.message()
            );
        }
        let other = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            kind(verify_and_parse(
                Some(&other),
                &headers(ID, &ts, W1_SIG),
                W1_BODY,
                TS
            )),
            ErrorKind::Unauthenticated
        );
    }

    #[test]
    fn signed_task_within_five_minutes_parses() {
        let s = secret();
        let sig = s.sign("msg_1", TS, TASK);
        let h = headers("msg_1", &TS.to_string(), &sig);
        for now in [TS - 300, TS, TS + 300] {
            let task = verify_and_parse(Some(&s), &h, TASK, now).unwrap();
            assert_eq!(
                (task.task_id.as_str(), task.task_status),
                ("t-1", TaskStatus::Succeed)
            );
        }
    }

    #[test]
    fn unsigned_callbacks_parse_without_a_secret() {
        let task = verify_and_parse(None, &http::HeaderMap::new(), TASK, TS).unwrap();
        assert_eq!(task.task_id, "t-1");
        assert_eq!(
            kind(verify_and_parse(
                None,
                &http::HeaderMap::new(),
                b"not json",
                TS
            )),
            ErrorKind::InvalidRequest
        );
    }
}
