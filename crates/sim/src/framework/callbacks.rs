//! Callbacks as a provider sends them, and the record of each attempt.

use serde_json::Value;

/// One callback a provider sends when a task changes phase.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    /// The task it is about.
    pub task_id: String,
    /// Where it goes.
    pub url: String,
    /// Extra headers (`Content-Type: application/json` is always sent).
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: Value,
    /// The receiver must answer 2xx with exactly this JSON (MiniMax's `challenge`), or the
    /// task's later callbacks are not sent.
    pub expect_echo: Option<Value>,
    /// Attempts after the first when the receiver does not answer 2xx in time (Ark: up to
    /// 3); each attempt is recorded.
    pub retries: u32,
}

impl Outgoing {
    /// A plain JSON callback.
    pub fn json(task_id: impl Into<String>, url: impl Into<String>, body: Value) -> Self {
        Outgoing {
            task_id: task_id.into(),
            url: url.into(),
            headers: Vec::new(),
            body,
            expect_echo: None,
            retries: 0,
        }
    }
}

/// One callback a framework simulator attempted (or skipped).
#[derive(Clone, Debug, PartialEq)]
pub struct CallbackRecord {
    /// The task it reported.
    pub task_id: String,
    /// Where it was sent.
    pub url: String,
    /// The exact body sent.
    pub body: Value,
    /// HTTP status the receiver answered; `None` when lost, skipped or unreachable.
    pub response_status: Option<u16>,
    /// The receiver's answer, when it was JSON.
    pub response_body: Option<Value>,
    /// Dropped on purpose by a `lost_callback` fault.
    pub lost: bool,
    /// Not sent because the task's callback URL failed its challenge.
    pub skipped: bool,
}
