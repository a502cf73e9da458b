//! The Seedance simulator's own configuration: which models accounts have activated, what
//! its moderation refuses, and Ark errors a test makes every call answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::error::{ArkCode, ArkError};
use super::rules;
use super::SeedanceEndpoint;

/// Words in a prompt the default moderation refuses (`InputTextSensitiveContentDetected`).
pub const SENSITIVE_TEXT: &str = "sim-sensitive-text";
/// Words in an image URL the default moderation refuses
/// (`InputImageSensitiveContentDetected`).
pub const SENSITIVE_IMAGE: &str = "sim-sensitive-image";
/// Words in a prompt whose video the default output moderation refuses: the task fails
/// with `OutputVideoSensitiveContentDetected`.
pub const SENSITIVE_OUTPUT: &str = "sim-sensitive-output";

/// What the Seedance simulator adds to the shared settings.
#[derive(Clone, Debug)]
pub struct SeedanceSimConfig {
    /// Models every account has activated; a model Ark has but not listed here answers
    /// 403 `ModelNotOpen`. Default: Seedance 1.5 Pro.
    pub open_models: Vec<String>,
    /// Prompts containing one of these (case-insensitive) are refused at create.
    pub blocked_words: Vec<String>,
    /// Image URLs containing one of these are refused at create.
    pub blocked_image_words: Vec<String>,
    /// Prompts containing one of these make a task that fails on output moderation.
    pub output_blocked_words: Vec<String>,
    /// Ark errors every call to an endpoint answers, set while the simulator runs.
    pub injected: InjectedErrors,
}

impl Default for SeedanceSimConfig {
    fn default() -> Self {
        SeedanceSimConfig {
            open_models: vec![rules::SEEDANCE_1_5_PRO.id.to_string()],
            blocked_words: vec![SENSITIVE_TEXT.into()],
            blocked_image_words: vec![SENSITIVE_IMAGE.into()],
            output_blocked_words: vec![SENSITIVE_OUTPUT.into()],
            injected: InjectedErrors::default(),
        }
    }
}

/// Ark errors a test makes an endpoint answer, by code (the seeded fault plans answer by
/// HTTP status, which cannot tell Ark's 400s apart). Shared by clones.
#[derive(Clone, Debug, Default)]
pub struct InjectedErrors {
    by_endpoint: Arc<Mutex<HashMap<SeedanceEndpoint, ArkCode>>>,
}

impl InjectedErrors {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SeedanceEndpoint, ArkCode>> {
        // Plain data: a panic while holding the lock leaves it consistent.
        self.by_endpoint.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every call to `endpoint` answers `code` until [`InjectedErrors::clear`].
    pub fn set(&self, endpoint: SeedanceEndpoint, code: ArkCode) {
        self.lock().insert(endpoint, code);
    }

    /// Removes every injected error.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The error `endpoint` answers now, if any.
    pub fn answer(&self, endpoint: SeedanceEndpoint) -> Option<ArkError> {
        self.lock().get(&endpoint).map(|c| {
            let e = ArkError::of(*c);
            // A rate limit says when to come back.
            if *c == ArkCode::RateLimitExceeded {
                e.with_retry_after(1)
            } else {
                e
            }
        })
    }
}
