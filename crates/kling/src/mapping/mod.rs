//! Pure functions between genmux's unified types and Kling's wire types; no I/O
//! (`ARCHITECTURE.md` "Extending", `STYLE.md` genai/rig).
//!
//! - [`request`]: `GenerationRequest` + `Operation` + provider model → the native body.
//! - [`task`]: a native task → `TaskSnapshot` / `Submission`.

pub mod request;
pub mod task;

pub use request::{
    camera_control, endpoint_for, lip_sync_request, pick_face, plan, NativeRequest, Plan,
};
pub use task::{
    add_identify_face_units, billed_usd_micros, deduction_units, snapshot, status, submission,
};

#[cfg(test)]
mod tests;
