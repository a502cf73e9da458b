//! `GET /healthz`: whether this gateway can serve, and whether it is a sandbox. Public, for
//! load balancers, orchestrators and the web page's sandbox banner (issue 13 point 6).

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::time::Duration;

/// How long the database may take to answer the probe before the gateway reports itself
/// unavailable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// 200 `{"status": "ok", "sandbox", "database"}` when the database answers a read;
/// 503 `{"status": "unavailable", …, "error"}` when it does not. `sandbox` is `true` when
/// the providers are simulators in this process (nothing reaches a real upstream).
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses(
        (status = 200, description = "`{\"status\": \"ok\", \"sandbox\": bool, \"database\": \"sqlite\"|\"postgres\"}`", body = Object),
        (status = 503, description = "the database does not answer: `{\"status\": \"unavailable\", \"error\"}`", body = Object)))]
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let store = state.store();
    // A read by primary key of a hold that never exists: the cheapest query every
    // backend answers, through the same pool requests use.
    let probe = tokio::time::timeout(PROBE_TIMEOUT, store.ledger.get_hold("healthz-probe")).await;
    let error = match probe {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(format!("database: {}", e.message())),
        Err(_) => Some(format!(
            "database: no answer within {} s",
            PROBE_TIMEOUT.as_secs()
        )),
    };
    let mut body = json!({
        "status": if error.is_none() { "ok" } else { "unavailable" },
        "sandbox": state.config().sandbox,
        "database": store.backend(),
    });
    match error {
        None => (StatusCode::OK, Json(body)),
        Some(e) => {
            tracing::warn!(error = %e, "health probe failed");
            body["error"] = Value::String(e);
            (StatusCode::SERVICE_UNAVAILABLE, Json(body))
        }
    }
}
