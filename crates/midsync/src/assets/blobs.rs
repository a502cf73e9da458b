//! The blob store of results: an `object_store` backend, local filesystem by default, any
//! S3-compatible store when configured (replicas must share one).

use genmux_core::{Error, Result};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::ObjectStore;
use std::sync::Arc;

/// Where results are kept, as configured (`[assets]` of the gateway's settings).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlobSettings {
    /// `s3://bucket/prefix`, `file:///absolute/dir` or an absolute directory path.
    pub store: String,
    /// S3 endpoint of a non-AWS store (`http://127.0.0.1:9000`); `AWS_ENDPOINT` otherwise.
    pub endpoint: Option<String>,
    /// S3 region; `AWS_REGION` / `AWS_DEFAULT_REGION` otherwise.
    pub region: Option<String>,
    /// S3 access key id; `AWS_ACCESS_KEY_ID` otherwise.
    pub access_key_id: Option<String>,
    /// S3 secret; `AWS_SECRET_ACCESS_KEY` otherwise.
    pub secret_access_key: Option<String>,
    /// Allow a plain-HTTP endpoint (a store on the local network or in tests).
    pub allow_http: bool,
}

/// An opened blob store. Cheap to clone.
#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    location: String,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blobs")
            .field("location", &self.location)
            .finish()
    }
}

impl Blobs {
    /// A blob store over any `object_store` backend; `location` names it in logs.
    pub fn new(store: Arc<dyn ObjectStore>, location: impl Into<String>) -> Self {
        Blobs {
            store,
            location: location.into(),
        }
    }

    /// Files under `dir` (created if missing).
    pub fn local(dir: &std::path::Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::invalid(format!(
                "assets.store: cannot create the directory `{}`: {e}",
                dir.display()
            ))
        })?;
        let fs = LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| Error::invalid(format!("assets.store: `{}`: {e}", dir.display())))?;
        Ok(Blobs::new(
            Arc::new(fs),
            format!("file://{}", dir.display()),
        ))
    }

    /// Opens what `settings.store` names: `s3://bucket[/prefix]` (credentials, region and
    /// endpoint from the settings, else the `AWS_*` environment), `file:///dir` or `/dir`.
    pub fn open(settings: &BlobSettings) -> Result<Self> {
        let raw = settings.store.trim();
        if let Some(dir) = raw.strip_prefix("file://") {
            return Blobs::local(std::path::Path::new(dir));
        }
        if raw.starts_with('/') {
            return Blobs::local(std::path::Path::new(raw));
        }
        let url = url::Url::parse(raw).map_err(|e| {
            Error::invalid(format!(
                "assets.store = `{raw}` is not a URL ({e}); use s3://bucket/prefix, \
                 file:///absolute/dir or an absolute directory"
            ))
        })?;
        if url.scheme() != "s3" {
            return Err(Error::invalid(format!(
                "assets.store = `{raw}`: scheme `{}` is not supported; use s3:// (any \
                 S3-compatible store) or file://",
                url.scheme()
            )));
        }
        let bucket = url.host_str().filter(|b| !b.is_empty()).ok_or_else(|| {
            Error::invalid(format!(
                "assets.store = `{raw}` names no bucket (s3://bucket/prefix)"
            ))
        })?;
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_allow_http(settings.allow_http);
        if let Some(v) = &settings.endpoint {
            b = b.with_endpoint(v);
        }
        if let Some(v) = &settings.region {
            b = b.with_region(v);
        }
        if let Some(v) = &settings.access_key_id {
            b = b.with_access_key_id(v);
        }
        if let Some(v) = &settings.secret_access_key {
            b = b.with_secret_access_key(v);
        }
        let s3 = b
            .build()
            .map_err(|e| Error::invalid(format!("assets.store = `{raw}`: {e}")))?;
        let prefix = url.path().trim_matches('/');
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(PrefixStore::new(s3, prefix))
        };
        Ok(Blobs::new(store, raw.to_string()))
    }

    /// The backend.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// What was configured (for logs and `/healthz`).
    pub fn location(&self) -> &str {
        &self.location
    }
}

/// The object key of an asset: `{account}/{task}/{asset}`. Deterministic, so a copy
/// repeated after a crash overwrites the same object instead of leaving a second one.
pub fn blob_key(account_id: &str, task_id: &str, asset_id: &str) -> Path {
    Path::from_iter([account_id, task_id, asset_id])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(store: &str) -> String {
        Blobs::open(&BlobSettings {
            store: store.into(),
            ..BlobSettings::default()
        })
        .map(|b| b.location().to_string())
        .expect_err(store)
        .message()
        .to_string()
    }

    #[test]
    fn a_bad_store_setting_is_named_with_what_is_allowed() {
        let e = refused("ftp://files.example/results");
        assert!(
            e.contains("assets.store") && e.contains("`ftp`") && e.contains("s3://"),
            "{e}"
        );
        let e = refused("relative/dir");
        assert!(
            e.contains("`relative/dir`") && e.contains("absolute"),
            "{e}"
        );
        let e = refused("s3:///prefix");
        assert!(e.contains("names no bucket"), "{e}");
    }

    #[test]
    fn keys_are_per_account_task_and_asset() {
        assert_eq!(
            blob_key("acct_1", "task_2", "ast_3").as_ref(),
            "acct_1/task_2/ast_3"
        );
    }
}
