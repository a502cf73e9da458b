//! A small HTTP client for a running gateway.

use crate::exit::CliError;
use serde_json::Value;
use std::time::Duration;

/// Talks to a gateway at `base` with an optional API key.
#[derive(Clone)]
pub struct GatewayClient {
    base: url::Url,
    key: Option<String>,
    http: reqwest::Client,
}

impl GatewayClient {
    /// A client for `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str, key: Option<String>) -> Result<Self, CliError> {
        let base = url::Url::parse(base)
            .map_err(|e| CliError::Usage(format!("GENMUX_URL: `{base}` is not a URL ({e})")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(CliError::Usage(format!(
                "GENMUX_URL: `{base}` must be http or https"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| CliError::Other(format!("http client: {e}")))?;
        Ok(GatewayClient { base, key, http })
    }

    fn url(&self, path: &str) -> Result<url::Url, CliError> {
        self.base
            .join(path)
            .map_err(|e| CliError::Usage(format!("bad path {path}: {e}")))
    }

    fn authed(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.key {
            Some(k) => rb.bearer_auth(k),
            None => rb,
        }
    }

    async fn finish(&self, rb: reqwest::RequestBuilder) -> Result<Value, CliError> {
        let resp = rb.send().await.map_err(|e| {
            CliError::Unavailable(format!("cannot reach the gateway at {}: {e}", self.base))
        })?;
        let status = resp.status();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("no content type")
            .to_string();
        let text = resp
            .text()
            .await
            .map_err(|e| CliError::Unavailable(format!("reading the answer: {e}")))?;
        // A genmux gateway answers JSON on every API path, errors included; anything else
        // (a web server's HTML page, a proxy's text) means GENMUX_URL points elsewhere.
        let Ok(body) = serde_json::from_str::<Value>(&text) else {
            return Err(CliError::Unavailable(format!(
                "{} does not look like a genmux gateway: it answered HTTP {} with {content_type} instead of JSON; check GENMUX_URL / --url",
                self.base,
                status.as_u16()
            )));
        };
        if status.is_success() {
            return Ok(body);
        }
        if status.as_u16() == 401 && self.key.is_none() {
            return Err(CliError::Auth(
                "no API key: set GENMUX_API_KEY (or pass --api-key) to a key the gateway issued (gmx_<id>_<secret>)".into(),
            ));
        }
        let message = body
            .get("error")
            .map(|e| match e {
                Value::String(s) => s.clone(),
                Value::Object(o) => o
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| e.to_string()),
                other => other.to_string(),
            })
            .unwrap_or_else(|| text.clone());
        Err(CliError::from_status(
            status.as_u16(),
            format!("HTTP {}: {message}", status.as_u16()),
        ))
    }

    /// GET `path` with query pairs.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, CliError> {
        let rb = self.http.get(self.url(path)?).query(query);
        self.finish(self.authed(rb)).await
    }

    /// POST a JSON body, with an optional `Idempotency-Key`.
    pub async fn post(
        &self,
        path: &str,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> Result<Value, CliError> {
        let mut rb = self.http.post(self.url(path)?).json(body);
        if let Some(k) = idempotency_key {
            rb = rb.header("Idempotency-Key", k);
        }
        self.finish(self.authed(rb)).await
    }

    /// DELETE `path`.
    pub async fn delete(&self, path: &str) -> Result<Value, CliError> {
        let rb = self.http.delete(self.url(path)?);
        self.finish(self.authed(rb)).await
    }

    /// Downloads `url` (absolute, or relative to the gateway) into `path`, streaming it to
    /// the file, and returns the number of bytes. A result the gateway keeps
    /// (`…/v1/assets/{id}`, issue 18) is fetched from this client's gateway with its key;
    /// any other URL without it, so the key never leaves for another host.
    pub async fn download(&self, url: &str, path: &std::path::Path) -> Result<u64, CliError> {
        let parsed = url::Url::parse(url).or_else(|_| self.url(url))?;
        let kept = kept_asset_path(&parsed);
        let target = match &kept {
            Some(p) => self.url(p)?,
            None => parsed,
        };
        let mut rb = self.http.get(target.clone());
        if kept.is_some() {
            rb = self.authed(rb);
        }
        let mut resp = rb
            .send()
            .await
            .map_err(|e| CliError::Unavailable(format!("downloading {target}: {e}")))?;
        if !resp.status().is_success() {
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            let why = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string))
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            return Err(CliError::Unavailable(format!(
                "downloading {target}: HTTP {status}{why}"
            )));
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| CliError::Other(format!("creating {}: {e}", dir.display())))?;
        }
        let write_err =
            |e: std::io::Error| CliError::Other(format!("writing {}: {e}", path.display()));
        let mut file = tokio::fs::File::create(path).await.map_err(write_err)?;
        let mut total = 0u64;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| CliError::Unavailable(format!("downloading {target}: {e}")))?
        {
            tokio::io::AsyncWriteExt::write_all(&mut file, &chunk)
                .await
                .map_err(write_err)?;
            total += chunk.len() as u64;
        }
        tokio::io::AsyncWriteExt::flush(&mut file)
            .await
            .map_err(write_err)?;
        Ok(total)
    }
}

/// The path of a result the gateway keeps (`/v1/assets/{id}`, no signature), if `url` is
/// one.
fn kept_asset_path(url: &url::Url) -> Option<String> {
    let id = url.path().strip_prefix("/v1/assets/")?;
    (!id.is_empty() && !id.contains('/') && url.query().is_none()).then(|| url.path().to_string())
}

#[cfg(test)]
mod tests {
    use super::kept_asset_path;

    #[test]
    fn only_unsigned_gateway_asset_urls_are_fetched_with_the_key() {
        let p = |u: &str| kept_asset_path(&url::Url::parse(u).unwrap());
        assert_eq!(
            p("https://gw.example/v1/assets/ast_1"),
            Some("/v1/assets/ast_1".into())
        );
        assert_eq!(
            p("https://gw.example/v1/assets/ast_1?expires=1&sig=x"),
            None
        );
        assert_eq!(p("https://cdn.example/videos/1.mp4"), None);
        assert_eq!(p("https://gw.example/v1/assets/ast_1/link"), None);
        assert_eq!(p("https://gw.example/v1/assets/"), None);
    }
}
