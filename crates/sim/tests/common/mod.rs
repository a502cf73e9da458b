//! Helpers shared by the simulator's integration tests: a reqwest client that signs
//! like a Kling client, sample media, and a tiny callback receiver.
#![allow(dead_code)] // each test file uses a different subset

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use genmux_sim::kling::{encode_token, KlingSim, KlingSimConfig};
use serde_json::{json, Value};

pub struct Api {
    pub sim: KlingSim,
    pub http: reqwest::Client,
}

/// Wall-clock seconds, as a client signs tokens.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl Api {
    pub async fn start(config: KlingSimConfig) -> Api {
        let sim = KlingSim::start(config).await.expect("simulator starts");
        Api {
            sim,
            http: reqwest::Client::new(),
        }
    }

    pub async fn default() -> Api {
        Api::start(KlingSimConfig::default()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    /// A token made as a client makes it (exp = now + 1800, nbf = now − 5).
    pub fn bearer(&self) -> String {
        let now = now_secs();
        format!(
            "Bearer {}",
            encode_token(
                self.sim.access_key(),
                self.sim.secret_key(),
                now + 1800,
                now - 5
            )
        )
    }

    pub fn bearer_for(&self, access: &str, secret: &str) -> String {
        let now = now_secs();
        format!(
            "Bearer {}",
            encode_token(access, secret, now + 1800, now - 5)
        )
    }

    async fn read(resp: reqwest::Response) -> (u16, Value) {
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let v = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("response is not JSON ({e}): {text}"));
        (status, v)
    }

    pub async fn post_as(&self, path: &str, body: &Value, auth: Option<&str>) -> (u16, Value) {
        let mut req = self.http.post(self.url(path)).json(body);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        Self::read(req.send().await.expect("request sent")).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_as(path, body, Some(&self.bearer())).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let req = self
            .http
            .get(self.url(path))
            .header("Authorization", self.bearer());
        Self::read(req.send().await.expect("request sent")).await
    }

    /// Creates a task and returns its id, asserting the create envelope.
    pub async fn create(&self, path: &str, body: &Value) -> String {
        let (status, v) = self.post(path, body).await;
        assert_eq!((status, v["code"].as_i64()), (200, Some(0)), "{path}: {v}");
        assert_eq!(v["message"], "SUCCEED");
        assert!(v["request_id"].as_str().is_some_and(|s| !s.is_empty()));
        assert_eq!(v["data"]["task_status"], "submitted", "{v}");
        v["data"]["task_id"].as_str().expect("task_id").to_string()
    }

    /// The query `data` of a task.
    pub async fn task(&self, path: &str, id: &str) -> Value {
        let (status, v) = self.get(&format!("{path}/{id}")).await;
        assert_eq!((status, v["code"].as_i64()), (200, Some(0)), "{v}");
        v["data"].clone()
    }

    pub async fn download(&self, url: &str) -> Vec<u8> {
        let resp = self.http.get(url).send().await.expect("download");
        assert_eq!(resp.status(), 200, "{url}");
        resp.bytes().await.expect("bytes").to_vec()
    }

    /// A succeeded text2video task's video id (advancing the clock 60 s).
    pub async fn generated_video(&self, duration: &str) -> String {
        let id = self
            .create(
                "/v1/videos/text2video",
                &json!({"prompt": "a lighthouse at dusk", "duration": duration}),
            )
            .await;
        self.sim.advance(Duration::from_secs(60)).await;
        let t = self.task("/v1/videos/text2video", &id).await;
        assert_eq!(t["task_status"], "succeed", "{t}");
        t["task_result"]["videos"][0]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// A bare-Base64 PNG of `w` × `h`.
pub fn png_b64(w: u32, h: u32) -> String {
    STANDARD.encode(genmux_sim::media::png(w, h, 1))
}

/// A received callback.
#[derive(Clone, Debug)]
pub struct Hit {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Hit {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("callback body is JSON")
    }
}

/// A listener on 127.0.0.1:0 that records every POST and answers `status`.
pub struct Receiver {
    pub url: String,
    pub hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let h = hits.clone();
        let app = axum::Router::new().route(
            "/cb",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let h = h.clone();
                async move {
                    h.lock().unwrap().push(Hit { headers, body });
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            url: format!("http://{addr}/cb"),
            hits,
        }
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    pub fn statuses(&self) -> Vec<String> {
        self.hits()
            .iter()
            .map(|h| h.json()["task_status"].as_str().unwrap().to_string())
            .collect()
    }
}
