//! Result files: real MP4/PNG bytes behind URLs that expire, as upstream storage links do
//! (Ark's `video_url` after 24 h, MiniMax's download URL after about 9 h, Runway's
//! outputs after 24–48 h).

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::Rng;

use crate::media;

/// A file a task produces.
#[derive(Clone, Debug, PartialEq)]
pub enum MediaSpec {
    /// An MP4 video.
    Video {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Length in milliseconds.
        duration_ms: u64,
    },
    /// A PNG image.
    Image {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
}

impl MediaSpec {
    /// A video of the size of an aspect ratio (`16:9`, `9:16`, …) at the simulators'
    /// small preview resolution.
    pub fn video_for_aspect(aspect: &str, duration_ms: u64) -> Self {
        let (width, height) = media::size_for_aspect(aspect);
        MediaSpec::Video {
            width,
            height,
            duration_ms,
        }
    }

    fn extension(&self) -> &'static str {
        match self {
            MediaSpec::Video { .. } => "mp4",
            MediaSpec::Image { .. } => "png",
        }
    }

    /// The content type served.
    pub fn content_type(&self) -> &'static str {
        match self {
            MediaSpec::Video { .. } => "video/mp4",
            MediaSpec::Image { .. } => "image/png",
        }
    }

    fn bytes(&self, seed: u64) -> Vec<u8> {
        match *self {
            MediaSpec::Video {
                width,
                height,
                duration_ms,
            } => media::mp4(width, height, duration_ms, seed),
            MediaSpec::Image { width, height } => media::png(width, height, seed),
        }
    }
}

struct Shelved {
    spec: MediaSpec,
    seed: u64,
    expires_ms: i64,
}

/// What `/media/{token}` finds.
#[derive(Debug, PartialEq)]
pub enum Lookup {
    /// The file's content type and bytes.
    Found(&'static str, Vec<u8>),
    /// The link existed and expired (answered 403, as an expired signed URL is).
    Expired,
    /// No such link.
    Missing,
}

/// Every file link a simulator handed out.
#[derive(Default)]
pub struct MediaShelf {
    links: HashMap<String, Shelved>,
}

impl std::fmt::Debug for MediaShelf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaShelf")
            .field("links", &self.links.len())
            .finish()
    }
}

impl MediaShelf {
    /// A new link to `spec` under `base_url`, valid until `expires_ms`. `content_seed`
    /// picks the file's pixels: links to the same result share it and so serve the same
    /// bytes.
    pub fn put(
        &mut self,
        base_url: &str,
        spec: MediaSpec,
        content_seed: u64,
        expires_ms: i64,
        rng: &mut StdRng,
    ) -> super::tasks::MediaLink {
        let token = format!("{:032x}.{}", rng.random::<u128>(), spec.extension());
        self.links.insert(
            token.clone(),
            Shelved {
                spec: spec.clone(),
                seed: content_seed,
                expires_ms,
            },
        );
        super::tasks::MediaLink {
            url: format!("{base_url}/media/{token}"),
            token,
            expires_ms,
            spec,
        }
    }

    /// The file behind `token` at `now_ms`.
    pub fn get(&self, token: &str, now_ms: i64) -> Lookup {
        match self.links.get(token) {
            None => Lookup::Missing,
            Some(s) if now_ms > s.expires_ms => Lookup::Expired,
            Some(s) => Lookup::Found(s.spec.content_type(), s.spec.bytes(s.seed)),
        }
    }
}
