//! genmux-conformance: the provider conformance suite (issue 14 point 1).
//!
//! Every provider crate runs the same async tests against its simulator, the way
//! `object_store`'s `integration.rs` runs one suite against every store. A provider's test
//! file implements [`Harness`] — how to build the provider against its simulator, how to
//! move the simulator's clock, how to inject a fault of each class — and calls
//! [`provider_suite!`], which makes one `#[tokio::test]` per case:
//!
//! | case | what it holds the provider to |
//! |---|---|
//! | [`every_offered_operation_succeeds_with_real_assets`] | each operation of each offering submits, reaches `succeeded`, and its assets download as real MP4 / PNG bytes; the billed cost is the provider's own figure ([`Harness::billed`]) |
//! | [`callbacks_parse_and_verify`] | where the upstream calls back, every callback parses to the task's state; signed ones are refused when tampered with or unsigned |
//! | [`a_timeout_after_the_body_was_sent_is_maybe_accepted`] | a submission whose answer comes too late is `Timeout`, [`Error::maybe_accepted`] and not retryable — and the task it created is found as declared |
//! | [`a_lost_answer_is_maybe_accepted`] | the same for a connection dropped after the upstream processed the body |
//! | [`unknown_outcomes_are_found_as_declared`] | per offering, [`UnknownLookup`]: `ExternalIdQuery` / `ListScan` find a task the upstream ran and answer `Ok(None)` for one it never got; `NotFindable` answers an error (never `Ok(None)`: no refund on a guess) and the upstream's callback names the task |
//! | [`each_error_class_maps_to_its_kind`] | every [`ErrorClass`] of the provider's error table reaches the caller as its [`ErrorKind`], with `Retry-After` for rate limits, and leaves no task upstream |
//! | [`status_failures_are_retryable_and_never_maybe_accepted`] | a failed status query is retryable and never maybe-accepted |
//!
//! Cancel and list are not part of the provider traits yet (`VideoProvider` has neither),
//! so the suite cannot hold a provider to them; the list endpoint is exercised where an
//! offering declares [`UnknownLookup::ListScan`].
//!
//! ```ignore
//! // crates/<provider>/tests/provider_suite.rs
//! struct MyHarness { sim: MySim, provider: Provider }
//! #[genmux_core::async_trait]
//! impl genmux_conformance::Harness for MyHarness { /* … */ }
//! genmux_conformance::provider_suite!(MyHarness::start().await);
//! ```
#![warn(missing_docs)]

mod cases;
mod media;
mod receiver;

pub use cases::*;
pub use media::{http_download, is_image, is_video};
pub use receiver::{CallbackReceiver, Received};

use genmux_core::{
    async_trait, Catalog, ErrorKind, GenerationRequest, Offering, Operation, Provider,
};
use std::time::Duration;

#[doc(no_inline)]
pub use genmux_core::{Error, UnknownLookup};

/// The `Retry-After` a harness injects with [`ErrorClass::RateLimited`]; the suite expects
/// the provider to report exactly this wait.
pub const RETRY_AFTER: Duration = Duration::from_secs(3);

/// A class of upstream failure, as every provider's error table has them. The harness
/// makes its simulator answer with the provider's own shape for the class (Kling: the
/// code; an HTTP API: the status and body), and the suite checks the kind the caller sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Credentials refused (Kling 1000–1004, HTTP 401).
    Auth,
    /// The upstream account cannot run anything now: abnormal, in arrears, out of
    /// balance or quota (Kling 1100–1102, HTTP 402). Waiting does not help; another
    /// provider might.
    Account,
    /// Too many requests or tasks at once (Kling 1302/1303, HTTP 429), with a
    /// `Retry-After` of [`RETRY_AFTER`].
    RateLimited,
    /// The upstream refuses the request's values (Kling 1200/1201, HTTP 400).
    Validation,
    /// The upstream refuses the content (Kling 1300/1301, a policy refusal).
    ContentPolicy,
    /// The upstream fails or is down (Kling 5000/5001, HTTP 500/503).
    Upstream5xx,
    /// The upstream says it timed out (Kling 5002, HTTP 504).
    Timeout,
}

impl ErrorClass {
    /// Every class, in the order the suite checks them.
    pub const ALL: [ErrorClass; 7] = [
        ErrorClass::Auth,
        ErrorClass::Account,
        ErrorClass::RateLimited,
        ErrorClass::Validation,
        ErrorClass::ContentPolicy,
        ErrorClass::Upstream5xx,
        ErrorClass::Timeout,
    ];

    /// The kinds a provider may report for the class.
    pub fn kinds(self) -> &'static [ErrorKind] {
        match self {
            ErrorClass::Auth => &[ErrorKind::Unauthenticated, ErrorKind::PermissionDenied],
            ErrorClass::Account => &[
                ErrorKind::ProviderUnavailable,
                ErrorKind::InsufficientPoints,
                ErrorKind::PermissionDenied,
            ],
            ErrorClass::RateLimited => &[ErrorKind::RateLimited],
            ErrorClass::Validation => &[ErrorKind::InvalidRequest],
            ErrorClass::ContentPolicy => &[ErrorKind::ContentRejected],
            ErrorClass::Upstream5xx => &[ErrorKind::ProviderUnavailable],
            ErrorClass::Timeout => &[ErrorKind::Timeout],
        }
    }

    /// Whether retrying the same call may help, as the error must say; `None` for
    /// [`ErrorClass::Timeout`] on a submission, which is either retryable or
    /// maybe-accepted (an upstream timeout may or may not have created the task), never
    /// both.
    pub fn retryable(self) -> Option<bool> {
        match self {
            ErrorClass::RateLimited | ErrorClass::Upstream5xx => Some(true),
            ErrorClass::Timeout => None,
            _ => Some(false),
        }
    }
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ErrorClass::Auth => "auth",
            ErrorClass::Account => "account/balance/quota",
            ErrorClass::RateLimited => "concurrency/rate limit",
            ErrorClass::Validation => "validation",
            ErrorClass::ContentPolicy => "content policy",
            ErrorClass::Upstream5xx => "upstream 5xx",
            ErrorClass::Timeout => "upstream timeout",
        })
    }
}

/// Which call a fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Call {
    /// Creating a task (every create endpoint of the provider, not its synchronous helper
    /// calls such as Kling's identify-face).
    Submit,
    /// Querying a task.
    Status,
}

/// What the harness makes its simulator do to the next calls, until
/// [`Harness::clear_faults`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Answer with an error of this class, without processing the request.
    Error(ErrorClass),
    /// Process the request (a create does create its task), then close the connection
    /// without an answer.
    Dropped,
    /// Process the request, then answer later than the provider waits (the harness builds
    /// the provider with a short timeout and stalls longer).
    Stalled,
}

/// How the provider's upstream reports task changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Callbacks {
    /// Poll only: the provider parses no callbacks.
    None,
    /// Callbacks without a signature: each is a hint the provider can parse.
    Unsigned,
    /// Signed callbacks: a tampered or unsigned one is refused as `Unauthenticated`.
    Signed,
}

/// What the upstream billed for a task, by the simulator's own books, and where the
/// provider's [`genmux_core::TaskSnapshot::usage`] must carry it.
#[derive(Clone, Debug, PartialEq)]
pub struct Billed {
    /// JSON pointer into `usage` (`/final_unit_deduction`); the value there is a number
    /// or a string holding one.
    pub pointer: String,
    /// The amount, in the upstream's own unit (Kling units, upstream points).
    pub amount: f64,
}

/// What a provider's test tells the suite about its provider and simulator.
///
/// Each case builds a fresh harness (the [`provider_suite!`] expression), so a harness
/// owns one simulator and the provider pointed at it.
#[async_trait]
pub trait Harness: Send + Sync {
    /// The provider under test, built against the simulator.
    fn provider(&self) -> &Provider;

    /// The catalog the provider's offerings come from.
    fn catalog(&self) -> &Catalog {
        Catalog::builtin()
    }

    /// Moves the simulator's clock by `by`; returns once due tasks moved and their
    /// callbacks were sent.
    async fn advance(&self, by: Duration);

    /// How far the clock moves between two status queries while waiting for a task.
    fn step(&self) -> Duration {
        Duration::from_secs(10)
    }

    /// How many steps a task may take to finish.
    fn max_steps(&self) -> u32 {
        60
    }

    /// Makes the simulator suffer `fault` on every `call` until [`Harness::clear_faults`].
    /// A harness that cannot inject a fault the suite asks for panics saying so: the
    /// provider's table has that class, so its simulator must be able to produce it.
    async fn inject(&self, call: Call, fault: Fault);

    /// Removes every injected fault.
    async fn clear_faults(&self);

    /// The classes the provider's error table distinguishes; each is injected and checked.
    fn error_classes(&self) -> Vec<ErrorClass> {
        ErrorClass::ALL.to_vec()
    }

    /// How the upstream calls back.
    fn callbacks(&self) -> Callbacks {
        Callbacks::None
    }

    /// A request for `op` on `offering`, when the catalog's examples for the model will
    /// not do (a video id the simulator must have made, say). `None` uses the first
    /// catalog example of the model for that operation.
    async fn request_for(&self, offering: &Offering, op: Operation) -> Option<GenerationRequest> {
        let _ = (offering, op);
        None
    }

    /// An input image the simulator accepts, for image-to-video and start/end-frame
    /// requests the suite derives from a model's text-to-video example (when the catalog
    /// has no example of that operation). Index 0 is the start frame, 1 the end frame.
    fn sample_image_url(&self, index: usize) -> String {
        format!("https://example.com/conformance/frame-{index}.png")
    }

    /// The bytes of a result URL (default: an HTTP GET).
    async fn download(&self, url: &str) -> Result<Vec<u8>, String> {
        http_download(url).await
    }

    /// What the upstream billed for a finished task, by the simulator's books; `None`
    /// when the upstream reports no figure of its own.
    async fn billed(&self, provider_task_id: &str) -> Option<Billed> {
        let _ = provider_task_id;
        None
    }
}

/// Makes one `#[tokio::test]` per case of the suite, each starting a fresh harness with
/// `$harness` (an expression, `.await` allowed). The calling crate needs `tokio` (with its
/// `macros` and `rt` features) among its dev-dependencies.
#[macro_export]
macro_rules! provider_suite {
    ($harness:expr) => {
        $crate::provider_suite!(@cases $harness;
            every_offered_operation_succeeds_with_real_assets,
            callbacks_parse_and_verify,
            a_timeout_after_the_body_was_sent_is_maybe_accepted,
            a_lost_answer_is_maybe_accepted,
            unknown_outcomes_are_found_as_declared,
            each_error_class_maps_to_its_kind,
            status_failures_are_retryable_and_never_maybe_accepted,
        );
    };
    (@cases $harness:expr; $($case:ident,)*) => {
        $(
            #[tokio::test]
            async fn $case() {
                let harness = $harness;
                $crate::$case(&harness).await;
            }
        )*
    };
}
