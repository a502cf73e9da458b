//! A loopback HTTP server that records every callback it receives, by path, and answers
//! handshakes as the gateway would (MiniMax's `{"challenge":…}` must be echoed, or no
//! status callback follows).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use genmux_core::Provider;
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

#[derive(Clone)]
struct Receiving {
    log: Log,
    /// Answers the handshakes among the callbacks.
    provider: Option<Provider>,
}

/// Receives callbacks at `http://127.0.0.1:<port>/cb/<name>`, keeps them and answers 200
/// (with the provider's answer to a handshake, when started with [`Self::answering`]).
#[derive(Debug)]
pub struct CallbackReceiver {
    base: String,
    log: Log,
    server: tokio::task::JoinHandle<()>,
}

impl CallbackReceiver {
    /// Binds a free loopback port and starts serving; every callback is answered with an
    /// empty 200.
    pub async fn start() -> CallbackReceiver {
        Self::serve(None).await
    }

    /// [`Self::start`], answering each callback that is a handshake for `provider`
    /// ([`genmux_core::VideoProvider::callback_handshake`]) with the provider's body, as
    /// the gateway does.
    pub async fn answering(provider: Provider) -> CallbackReceiver {
        Self::serve(Some(provider)).await
    }

    async fn serve(provider: Option<Provider>) -> CallbackReceiver {
        let log: Log = Arc::default();
        let app = axum::Router::new()
            .route("/cb/{name}", axum::routing::post(record))
            .with_state(Receiving {
                log: log.clone(),
                provider,
            });
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
    State(receiving): State<Receiving>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = receiving
        .provider
        .as_ref()
        .and_then(|p| match (p.video_half(), p.image_half()) {
            (Some(v), _) => v.callback_handshake(&headers, &body),
            (None, Some(i)) => i.callback_handshake(&headers, &body),
            (None, None) => None,
        });
    receiving
        .log
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Received {
            name,
            headers,
            body,
        });
    match answer {
        Some(answer) => axum::Json(answer).into_response(),
        None => StatusCode::OK.into_response(),
    }
}
