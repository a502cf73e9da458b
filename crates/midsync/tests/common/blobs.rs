//! Blob stores for the tests of kept results (issue 18): a temporary directory, or a bucket
//! on a real S3-compatible server (moto's, started here; installed by `.ci/run`).

use genmux_midsync::assets::{BlobSettings, Blobs};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Which blob store a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum BlobKind {
    /// A directory on the local filesystem.
    Fs,
    /// A bucket on moto's S3 server.
    S3,
}

/// A blob store and what keeps it alive (removed or stopped on drop).
pub struct Shelf {
    /// The store.
    pub blobs: Blobs,
    /// The directory of a filesystem store.
    pub dir: Option<PathBuf>,
    _moto: Option<Moto>,
}

impl Drop for Shelf {
    fn drop(&mut self) {
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

impl Shelf {
    /// A fresh store of `kind`.
    pub async fn new(kind: BlobKind) -> Shelf {
        match kind {
            BlobKind::Fs => {
                let dir = std::env::temp_dir()
                    .join(format!("genmux-assets-{}", uuid::Uuid::new_v4().simple()));
                Shelf {
                    blobs: Blobs::local(&dir).expect("a filesystem blob store"),
                    dir: Some(dir),
                    _moto: None,
                }
            }
            BlobKind::S3 => {
                let moto = Moto::start().await;
                let blobs = moto.bucket().await;
                Shelf {
                    blobs,
                    dir: None,
                    _moto: Some(moto),
                }
            }
        }
    }

    /// Files in a filesystem store (what a copy left behind), recursively.
    pub fn files(&self) -> Vec<PathBuf> {
        fn walk(d: &std::path::Path, out: &mut Vec<PathBuf>) {
            if let Ok(rd) = std::fs::read_dir(d) {
                for e in rd.flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        walk(&p, out);
                    } else {
                        out.push(p);
                    }
                }
            }
        }
        let mut out = Vec::new();
        if let Some(d) = &self.dir {
            walk(d, &mut out);
        }
        out
    }
}

/// moto's S3 server on a free loopback port, stopped on drop.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `.ci/run` installs moto's server (`GENMUX_MOTO_SERVER` overrides).
pub fn moto_server_path() -> PathBuf {
    if let Ok(p) = std::env::var("GENMUX_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(home).join(".cache/genmux/moto/bin/moto_server")
}

impl Moto {
    /// Starts the server; a missing install fails the test loudly (CI installs it).
    pub async fn start() -> Moto {
        let bin = moto_server_path();
        assert!(
            bin.exists(),
            "the S3 tests need moto's server at {} — `.ci/run` installs it (python3 -m venv \
             ~/.cache/genmux/moto && ~/.cache/genmux/moto/bin/pip install 'moto[server]==5.2.5'); \
             or set GENMUX_MOTO_SERVER",
            bin.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let endpoint = format!("http://127.0.0.1:{port}");
        let moto = Moto { child, endpoint };
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if http.get(&moto.endpoint).send().await.is_ok() {
                return moto;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "moto's server did not answer on {} within 30 s",
            moto.endpoint
        );
    }

    /// A new bucket, opened as the gateway opens `s3://bucket/results`.
    pub async fn bucket(&self) -> Blobs {
        let bucket = format!("genmux-{}", uuid::Uuid::new_v4().simple());
        let created = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .await
            .expect("create a bucket");
        assert!(
            created.status().is_success(),
            "create bucket: {}",
            created.status()
        );
        Blobs::open(&BlobSettings {
            store: format!("s3://{bucket}/results"),
            endpoint: Some(self.endpoint.clone()),
            region: Some("us-east-1".into()),
            access_key_id: Some("testing".into()),
            secret_access_key: Some("testing".into()),
            allow_http: true,
        })
        .expect("open the S3 blob store")
    }
}
