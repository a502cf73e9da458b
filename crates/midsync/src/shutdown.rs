//! Graceful shutdown: stop accepting connections, let in-flight requests finish, stop the
//! engine after its current pass; leases held by this process simply expire, so another
//! replica (or the next start) takes over its unfinished work.

use crate::{api, AppState, Engine};
use std::future::Future;

/// Serves the API on `listener` with the engine running, until `signal` resolves; then
/// shuts both down gracefully.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    signal: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let engine = Engine::spawn(state.clone());
    let result = axum::serve(listener, api::app(state))
        .with_graceful_shutdown(signal)
        .await;
    engine.shutdown().await;
    result
}

/// Resolves on Ctrl-C or SIGTERM: the usual `signal` for [`serve`].
pub async fn ctrl_c_or_term() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
