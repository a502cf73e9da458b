//! The Ark video-generation wire, exactly as `spec/upstreams.md` ("Seedance — BytePlus
//! ModelArk") describes it: the create body and its answer ([`create`]), the task a query
//! or callback returns ([`task`]), and the error body of every 4xx/5xx ([`error`]).
//!
//! Bodies we send are strict types; answers we read are tolerant where the spec marks a
//! field *unverified*: unknown fields are ignored, `null` reads as absent, and an unknown
//! status is kept as text (read as "still running" by the mapping, with a warning).

pub mod create;
pub mod error;
pub mod task;

pub use create::{Content, CreateTaskRequest, CreateTaskResponse, ImageRole, ImageUrl};
pub use error::{ErrorBody, ErrorDetail};
pub use task::{Task, TaskContent, TaskError, TaskStatus, Usage};

/// `POST` creates a task here; `GET …/{id}` queries one (spec: "Create", "Poll").
pub const TASKS_PATH: &str = "/contents/generations/tasks";
