//! What a downloaded asset must look like, and the default download.

use std::time::Duration;

/// An MP4 / QuickTime file (`ftyp` box at byte 4) or a WebM / Matroska file (EBML magic).
pub fn is_video(bytes: &[u8]) -> bool {
    (bytes.len() > 12 && &bytes[4..8] == b"ftyp") || bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3])
}

/// A PNG, JPEG or WebP file, by its magic bytes.
pub fn is_image(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        || bytes.starts_with(&[0xFF, 0xD8, 0xFF])
        || (bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP")
}

/// GETs `url` (no credentials: result URLs are plain links) and returns its bytes; a
/// non-2xx answer is an error naming the status.
pub async fn http_download(url: &str) -> Result<Vec<u8>, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("building the HTTP client: {e}"))?;
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("GET {url}: HTTP {status}"));
    }
    resp.bytes()
        .await
        .map(|b| b.to_vec())
        .map_err(|e| format!("GET {url}: reading the body: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes() {
        assert!(is_video(b"\0\0\0\x18ftypisom\0\0\0\0"));
        assert!(!is_video(b"\x89PNG\r\n\x1a\n\0\0\0\0\0"));
        assert!(is_image(b"\x89PNG\r\n\x1a\n"));
        assert!(is_image(b"RIFF\0\0\0\0WEBPVP8 "));
        assert!(!is_image(b"<html>"));
    }
}
