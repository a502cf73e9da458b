//! The simulators' HTTP/1.1 accept loop.
//!
//! `axum::serve` cannot close a connection without answering, and a dropped connection
//! after the body was read is exactly the "maybe accepted" case clients must handle
//! (design/ARCHITECTURE.md: a submission is never retried after the upstream may have
//! accepted it). So each connection gets a [`ConnectionKill`] in its requests'
//! extensions; a handler that triggers it makes this loop drop the connection.

use std::sync::Arc;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tower::ServiceExt;

/// Request extension: triggering it closes the request's connection without a response.
/// A handler takes it from the request's extensions (`req.extensions().get::<ConnectionKill>()`),
/// does its work, triggers it and never answers.
#[derive(Clone)]
pub struct ConnectionKill(Arc<Notify>);

impl ConnectionKill {
    /// Closes the connection; the caller should then never finish its response.
    pub fn trigger(&self) {
        self.0.notify_one();
    }
}

/// Serves `router` on `listener` until `shutdown` turns true.
pub async fn serve(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let (stream, _) = match accepted {
            Ok(s) => s,
            Err(e) => {
                // Transient accept errors (EMFILE, ECONNABORTED) must not stop the server.
                tracing::warn!(error = %e, "simulator accept failed");
                tokio::task::yield_now().await;
                continue;
            }
        };
        let kill = Arc::new(Notify::new());
        let ext = ConnectionKill(kill.clone());
        let svc = router
            .clone()
            .map_request(move |mut req: http::Request<Incoming>| {
                req.extensions_mut().insert(ext.clone());
                req
            });
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc));
            tokio::select! {
                r = conn => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "simulator connection ended with an error");
                    }
                }
                // Dropping `conn` closes the socket without writing a response.
                _ = kill.notified() => {}
                _ = stop.changed() => {}
            }
        });
    }
}
