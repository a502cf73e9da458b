//! Inbound callbacks (`spec/kling-api.md` "Errors, limits, callbacks"): on each status
//! change Kling POSTs the bare task object (as in a query's `data`) to `callback_url`.
//!
//! Kling does not sign its callbacks: no header beyond the HTTP basics. A callback is
//! therefore a **hint**: it names a task and a state, and whoever receives it confirms
//! that state with a query before acting on it (the gateway does, in
//! `genmux_midsync::api::callbacks`). The only secret is the callback URL itself, which
//! carries an unguessable per-task token.

use crate::error::PROVIDER;
use crate::wire::Task;
use genmux_core::{Error, Result};

/// Parses the bare task object of a callback body. Nothing in it is authenticated.
pub fn parse_task(body: &[u8]) -> Result<Task> {
    serde_json::from_slice(body).map_err(|e| {
        Error::invalid(format!(
            "callback body: not a Kling task object ({e}); expected {{task_id, task_status, …}}"
        ))
        .with_provider(PROVIDER)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::TaskStatus;
    use genmux_core::ErrorKind;

    const TASK: &[u8] = br#"{"task_id":"t-1","task_status":"succeed","task_info":{},
        "task_result":{"videos":[{"id":"v-1","url":"https://k.test/v.mp4","duration":"5"}]},
        "created_at":1649367000000,"updated_at":1649367553000,"final_unit_deduction":"1.5"}"#;

    #[test]
    fn a_bare_task_object_parses_without_any_header() {
        let task = parse_task(TASK).unwrap();
        assert_eq!(
            (task.task_id.as_str(), task.task_status),
            ("t-1", TaskStatus::Succeed)
        );
    }

    #[test]
    fn explicit_nulls_are_tolerated() {
        let task = parse_task(
            br#"{"task_id":"t-2","task_status":"processing","task_status_msg":null,
                "task_info":null,"task_result":null,"created_at":1,"updated_at":2,
                "final_unit_deduction":null}"#,
        )
        .unwrap();
        assert_eq!(task.task_status, TaskStatus::Processing);
        assert!(task.task_info.external_task_id.is_none());
    }

    #[test]
    fn a_body_that_is_not_a_task_is_refused_naming_the_body() {
        for body in [&b"not json"[..], br#"{"email":"test@example.com"}"#] {
            let e = parse_task(body).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidRequest);
            assert!(e.message().starts_with("callback body"), "{}", e.message());
        }
    }
}
