//! A loopback HTTP server that records every callback it receives, by path.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use std::sync::{Arc, Mutex};

/// One callback as it arrived.
#[derive(Clone, Debug)]
pub struct Received {
    /// The name in its URL (`/cb/<name>`).
    pub name: String,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Bytes,
}

type Log = Arc<Mutex<Vec<Received>>>;

/// Receives callbacks at `http://127.0.0.1:<port>/cb/<name>`, answers 200, keeps them.
#[derive(Debug)]
pub struct CallbackReceiver {
    base: String,
    log: Log,
    server: tokio::task::JoinHandle<()>,
}

impl CallbackReceiver {
    /// Binds a free loopback port and starts serving.
    pub async fn start() -> CallbackReceiver {
        let log: Log = Arc::default();
        let app = axum::Router::new()
            .route("/cb/{name}", axum::routing::post(record))
            .with_state(log.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the callback receiver binds a loopback port");
        let base = format!(
            "http://{}",
            listener
                .local_addr()
                .expect("a bound socket has an address")
        );
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        CallbackReceiver { base, log, server }
    }

    /// The URL callbacks for `name` go to.
    pub fn url(&self, name: &str) -> String {
        format!("{}/cb/{name}", self.base)
    }

    /// Every callback received for `name`, in arrival order.
    pub fn received(&self, name: &str) -> Vec<Received> {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|r| r.name == name)
            .cloned()
            .collect()
    }
}

impl Drop for CallbackReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn record(
    State(log): State<Log>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    log.lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Received {
            name,
            headers,
            body,
        });
    StatusCode::OK
}
