//! Exit codes that mean something to scripts (documented in `genmux --help`).

/// A command failure with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad flags, a bad config file or a bad value (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The gateway refused the request as invalid (HTTP 400/404/409/413/422; exit 3).
    #[error("{0}")]
    Rejected(String),
    /// Missing, invalid or under-scoped API key (HTTP 401/403; exit 4).
    #[error("{0}")]
    Auth(String),
    /// Not enough points (HTTP 402; exit 5).
    #[error("{0}")]
    InsufficientPoints(String),
    /// Rate limited (HTTP 429; exit 6).
    #[error("{0}")]
    RateLimited(String),
    /// The gateway or its upstream failed, or could not be reached (exit 7).
    #[error("{0}")]
    Unavailable(String),
    /// The generation task finished as failed (exit 8).
    #[error("{0}")]
    TaskFailed(String),
    /// `--wait` gave up before the task finished; the task goes on (exit 9).
    #[error("{0}")]
    GaveUp(String),
    /// Anything else (exit 1).
    #[error("{0}")]
    Other(String),
}

impl CliError {
    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Other(_) => 1,
            CliError::Usage(_) => 2,
            CliError::Rejected(_) => 3,
            CliError::Auth(_) => 4,
            CliError::InsufficientPoints(_) => 5,
            CliError::RateLimited(_) => 6,
            CliError::Unavailable(_) => 7,
            CliError::TaskFailed(_) => 8,
            CliError::GaveUp(_) => 9,
        }
    }

    /// A short name of the class, for `--json` errors.
    pub fn kind(&self) -> &'static str {
        match self {
            CliError::Other(_) => "other",
            CliError::Usage(_) => "usage",
            CliError::Rejected(_) => "rejected",
            CliError::Auth(_) => "auth",
            CliError::InsufficientPoints(_) => "insufficient_points",
            CliError::RateLimited(_) => "rate_limited",
            CliError::Unavailable(_) => "unavailable",
            CliError::TaskFailed(_) => "task_failed",
            CliError::GaveUp(_) => "gave_up_waiting",
        }
    }

    /// The error as `--json` prints it: `{"success": false, "error": {…}}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "success": false,
            "error": {
                "kind": self.kind(),
                "exitCode": self.exit_code(),
                "message": self.to_string(),
            }
        })
    }

    /// Classifies an HTTP error answer from the gateway.
    pub fn from_status(status: u16, message: String) -> CliError {
        match status {
            401 | 403 => CliError::Auth(message),
            402 => CliError::InsufficientPoints(message),
            429 => CliError::RateLimited(message),
            400..=499 => CliError::Rejected(message),
            _ => CliError::Unavailable(message),
        }
    }
}

/// Exit-code table for `--help`.
pub const EXIT_CODES_HELP: &str = "Exit codes: 0 ok, 1 other error, 2 usage/config error, 3 request rejected (4xx), \
4 authentication/permission, 5 insufficient points, 6 rate limited, 7 gateway or upstream unavailable, 8 task failed, \
9 gave up waiting (the task goes on; see `genmux status`)";
