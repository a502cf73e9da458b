//! The sandbox's sample media: real files standing for the catalog examples' media URLs
//! (issue 20 point 3). The catalog's `[samples]` table says what each example URL stands
//! for ([`genmux_core::SampleMedia`]: kind, size, length); this server answers
//! `GET /samples/<SampleMedia::path>` with a file of exactly that description — a PNG, an
//! MP4 whose `mvhd` carries the length, or a silent MP3 — made on the fly by
//! [`crate::media`]. It is stateless: the path alone describes the file.
//!
//! Only `genmux serve`'s sandbox starts it (on loopback, next to the simulators); the
//! gateway's URL guard admits loopback media URLs there only because the sandbox allows
//! loopback, never in a real deployment.
//!
//! ```no_run
//! # async fn demo() -> genmux_sim::Result<()> {
//! use genmux_sim::samples::SampleServer;
//! let samples = SampleServer::start("127.0.0.1:0".parse().unwrap()).await?;
//! let sample = genmux_core::Catalog::builtin().sample("https://example.com/dance.mp4").unwrap();
//! println!("{}", samples.url_for("https://example.com/dance.mp4", sample));
//! samples.shutdown().await;
//! # Ok(()) }
//! ```

use crate::error::{Error, Result};
use crate::media;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use genmux_core::{SampleKind, SampleMedia};
use std::net::SocketAddr;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where the sample files live under the server's base URL.
const PREFIX: &str = "/samples/";

/// The bytes and content type of `sample`; `seed` varies the picture.
pub fn bytes(sample: &SampleMedia, seed: u64) -> (&'static str, Vec<u8>) {
    let (w, h) = (sample.width.unwrap_or(0), sample.height.unwrap_or(0));
    let ms = u64::from(sample.seconds.unwrap_or(0)) * 1000;
    match sample.kind {
        SampleKind::Image => ("image/png", media::png(w, h, seed)),
        SampleKind::Video => ("video/mp4", media::mp4(w, h, ms, seed)),
        SampleKind::Audio => ("audio/mpeg", media::mp3(ms)),
    }
}

/// `GET /samples/{*path}`: the file the path describes, or 404 saying what a path is.
async fn sample(Path(path): Path<String>) -> Response {
    match SampleMedia::from_path(&path) {
        Some(s) => {
            let seed = path
                .bytes()
                .fold(11u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
            let (kind, body) = bytes(&s, seed);
            ([(header::CONTENT_TYPE, kind)], body).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            format!(
                "{PREFIX}{path} describes no sample (a sample path is <image|video|audio>/<width>x<height>/<seconds>/<file>, as the catalog's [samples] entries give)"
            ),
        )
            .into_response(),
    }
}

/// The sample server, running.
pub struct SampleServer {
    base_url: String,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
}

impl std::fmt::Debug for SampleServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SampleServer")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl SampleServer {
    /// Binds `addr` and serves.
    pub async fn start(addr: SocketAddr) -> Result<SampleServer> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        let (stop, stop_rx) = watch::channel(false);
        let router = Router::new().route(&format!("{PREFIX}{{*path}}"), get(sample));
        let server = tokio::spawn(crate::server::serve(listener, router, stop_rx));
        Ok(SampleServer {
            base_url: format!("http://{local}{}", PREFIX.trim_end_matches('/')),
            stop,
            server,
        })
    }

    /// The base URL sample paths go under (`http://127.0.0.1:<port>/samples`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The URL serving `sample`, which the example URL `url` stands for.
    pub fn url_for(&self, url: &str, sample: &SampleMedia) -> String {
        format!("{}/{}", self.base_url, sample.path(url))
    }

    /// Stops serving.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_catalog_sample_is_served_as_described() {
        let server = SampleServer::start("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let catalog = genmux_core::Catalog::builtin();
        let http = reqwest::Client::new();
        let mut seen = 0;
        for m in catalog.models() {
            for ex in &m.examples {
                for url in ex.values().flat_map(|v| match v {
                    serde_json::Value::String(s) => vec![s.clone()],
                    serde_json::Value::Array(a) => a
                        .iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect(),
                    _ => vec![],
                }) {
                    let Some(sample) = catalog.sample(&url) else {
                        continue;
                    };
                    seen += 1;
                    let r = http.get(server.url_for(&url, sample)).send().await.unwrap();
                    assert_eq!(r.status(), 200, "{url}");
                    let kind = r.headers()[header::CONTENT_TYPE]
                        .to_str()
                        .unwrap()
                        .to_string();
                    let body = r.bytes().await.unwrap();
                    let secs = sample.seconds.map(u64::from);
                    match sample.kind {
                        SampleKind::Image => {
                            assert_eq!(kind, "image/png", "{url}");
                            assert_eq!(&body[..4], b"\x89PNG", "{url}");
                        }
                        SampleKind::Video => {
                            let facts = media::mp4_facts(&body).unwrap();
                            assert_eq!(kind, "video/mp4", "{url}");
                            assert_eq!(Some(facts.duration_ms / 1000), secs, "{url}");
                            assert_eq!(
                                (Some(facts.width), Some(facts.height)),
                                (sample.width, sample.height),
                                "{url}"
                            );
                        }
                        SampleKind::Audio => {
                            assert_eq!(kind, "audio/mpeg", "{url}");
                            let ms = media::mp3_duration_ms(&body).unwrap();
                            assert_eq!(Some(ms / 1000), secs, "{url}");
                        }
                    }
                }
            }
        }
        assert!(seen > 10, "only {seen} example media URLs have samples");
        let r = http
            .get(format!("{}/video/1x1/0/x.mp4", server.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert!(r.text().await.unwrap().contains("describes no sample"));
        server.shutdown().await;
    }
}
