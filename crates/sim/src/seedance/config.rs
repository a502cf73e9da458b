//! The Seedance simulator's own configuration: which models accounts have activated and
//! what its moderation refuses.

use super::rules;

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
}

impl Default for SeedanceSimConfig {
    fn default() -> Self {
        SeedanceSimConfig {
            open_models: vec![rules::SEEDANCE_1_5_PRO.id.to_string()],
            blocked_words: vec![SENSITIVE_TEXT.into()],
            blocked_image_words: vec![SENSITIVE_IMAGE.into()],
            output_blocked_words: vec![SENSITIVE_OUTPUT.into()],
        }
    }
}
