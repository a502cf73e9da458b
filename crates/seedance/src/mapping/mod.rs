//! Pure functions between genmux's unified types and Ark's wire types; no I/O
//! (`ARCHITECTURE.md` "Extending", `STYLE.md` genai/rig).
//!
//! - [`request`]: `GenerationRequest` + `Operation` + model id → the create body.
//! - [`task`]: an Ark task (query answer or callback body) → `TaskSnapshot`, and what it
//!   was billed.

pub mod request;
pub mod task;

pub use request::create_request;
pub use task::{billed_usd_micros, parse_callback_body, snapshot, status, submission};

#[cfg(test)]
mod tests;
