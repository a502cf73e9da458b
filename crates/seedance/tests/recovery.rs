//! What the router does after each answer of Ark's error table
//! (`genmux_router::recovery`, the one failover table): credentials, model access and an
//! exhausted quota move the submission to the next provider (midsync); rate limits and
//! overload are retried here after their `Retry-After` (the other candidates first); a
//! sensitive-content refusal is the caller's own and ends the submission.

use genmux_router::{recovery, Recovery};
use genmux_seedance::error::{api_error, code_row, KNOWN_CODES};
use std::time::Duration;

const CAP: Duration = Duration::from_secs(30);

#[test]
fn every_ark_code_has_its_class() {
    use Recovery::*;
    let table = [
        ("InvalidParameter", NextProvider),
        ("MissingParameter", NextProvider),
        ("AuthenticationError", NextProvider),
        ("AccessDenied", NextProvider),
        ("ModelNotOpen", NextProvider),
        ("InvalidEndpoint.NotFound", NextProvider),
        ("ModelNotFound", NextProvider),
        ("RateLimitExceeded.EndpointRPMExceeded", RetrySame),
        ("QuotaExceeded", NextProvider),
        ("ServerOverloaded", RetrySame),
        ("InputTextSensitiveContentDetected", Stop),
        ("InputImageSensitiveContentDetected", Stop),
        ("OutputVideoSensitiveContentDetected", Stop),
        ("InternalServiceError", RetrySame),
    ];
    assert_eq!(
        table.map(|r| r.0).to_vec(),
        KNOWN_CODES.to_vec(),
        "every code of Ark's table has a row here"
    );
    for (code, want) in table {
        let status = code_row(code).unwrap().http_status;
        let e = api_error(status, code, "ark says no", None);
        assert_eq!(recovery(&e, CAP), want, "Ark {code}");
    }
}

#[test]
fn a_rate_limit_waits_its_retry_after_unless_it_is_too_long() {
    let code = "RateLimitExceeded.EndpointRPMExceeded";
    let short = api_error(429, code, "slow down", Some(Duration::from_secs(5)));
    assert_eq!(short.retry_after(), Some(Duration::from_secs(5)));
    assert_eq!(recovery(&short, CAP), Recovery::RetrySame);
    let long = api_error(429, code, "slow down", Some(Duration::from_secs(600)));
    assert_eq!(recovery(&long, CAP), Recovery::NextProvider);
    // An exhausted quota does not become retryable because its 429 has the header.
    let spent = api_error(429, "QuotaExceeded", "spent", Some(Duration::from_secs(5)));
    assert_eq!(recovery(&spent, CAP), Recovery::NextProvider);
}
