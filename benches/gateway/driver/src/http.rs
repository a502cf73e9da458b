//! A minimal HTTP/1.1 keep-alive client over one TCP connection.
//!
//! Why not hyper/reqwest: the driver shares two cores with the target, so the client
//! must cost as little CPU per request as wrk does. Writing the request bytes and parsing
//! only the status line, `Content-Length`, `Transfer-Encoding: chunked` and
//! `Connection: close` keeps it at a few microseconds per request.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One parsed response: status code and body bytes.
pub struct Response {
    /// HTTP status code, e.g. 200.
    pub status: u16,
    /// The response body (de-chunked).
    pub body: Vec<u8>,
    /// Whether the server asked to close the connection after this response.
    pub close: bool,
}

/// A keep-alive connection to `addr` (host:port).
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Connects with TCP_NODELAY (small requests must not wait for Nagle).
    pub async fn connect(addr: &str) -> io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// Sends one complete request and reads one complete response.
    pub async fn round_trip(&mut self, request: &[u8]) -> io::Result<Response> {
        self.stream.write_all(request).await?;
        self.read_response().await
    }

    async fn fill(&mut self) -> io::Result<()> {
        let len = self.buf.len();
        if self.buf.capacity() - len < 8192 {
            self.buf.reserve(16 * 1024);
        }
        let spare = self.buf.capacity() - len;
        self.buf.resize(len + spare, 0);
        let n = self.stream.read(&mut self.buf[len..]).await;
        match n {
            Ok(0) => {
                self.buf.truncate(len);
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "server closed the connection mid-response",
                ))
            }
            Ok(n) => {
                self.buf.truncate(len + n);
                Ok(())
            }
            Err(e) => {
                self.buf.truncate(len);
                Err(e)
            }
        }
    }

    async fn read_response(&mut self) -> io::Result<Response> {
        let head_end = loop {
            if let Some(pos) = find(&self.buf, b"\r\n\r\n") {
                break pos + 4;
            }
            self.fill().await?;
        };
        let head = parse_head(&self.buf[..head_end])?;
        let body = match head.framing {
            Framing::Length(len) => {
                while self.buf.len() < head_end + len {
                    self.fill().await?;
                }
                let body = self.buf[head_end..head_end + len].to_vec();
                self.buf.drain(..head_end + len);
                body
            }
            Framing::Chunked => {
                let mut body = Vec::new();
                let mut pos = head_end;
                loop {
                    let line_end = loop {
                        if let Some(p) = find(&self.buf[pos..], b"\r\n") {
                            break pos + p;
                        }
                        self.fill().await?;
                    };
                    let size = parse_chunk_size(&self.buf[pos..line_end])?;
                    let data_start = line_end + 2;
                    // chunk data + CRLF; the last chunk (size 0) is followed by an empty
                    // trailer line (we accept no trailers: none of the targets send them).
                    while self.buf.len() < data_start + size + 2 {
                        self.fill().await?;
                    }
                    body.extend_from_slice(&self.buf[data_start..data_start + size]);
                    pos = data_start + size + 2;
                    if size == 0 {
                        break;
                    }
                }
                self.buf.drain(..pos);
                body
            }
            Framing::UntilClose => {
                loop {
                    match self.fill().await {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                        Err(e) => return Err(e),
                    }
                }
                let body = self.buf[head_end..].to_vec();
                self.buf.clear();
                body
            }
        };
        Ok(Response {
            status: head.status,
            body,
            close: head.close || matches!(head.framing, Framing::UntilClose),
        })
    }
}

enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

struct Head {
    status: u16,
    framing: Framing,
    close: bool,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

fn parse_head(head: &[u8]) -> io::Result<Head> {
    let text =
        std::str::from_utf8(head).map_err(|_| bad("response head is not UTF-8".to_string()))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad(format!("status line {status_line:?} has no status code")))?;
    let mut framing = None;
    let mut close = status_line.starts_with("HTTP/1.0");
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let len = value
                .parse::<usize>()
                .map_err(|_| bad(format!("content-length {value:?} is not a number")))?;
            framing = Some(Framing::Length(len));
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            && value.to_ascii_lowercase().contains("chunked")
        {
            framing = Some(Framing::Chunked);
        } else if name.eq_ignore_ascii_case("connection") {
            if value.eq_ignore_ascii_case("close") {
                close = true;
            } else if value.eq_ignore_ascii_case("keep-alive") {
                close = false;
            }
        }
    }
    // RFC 9112 §6.3: 1xx, 204 and 304 have no body.
    let framing = if status == 204 || status == 304 || (100..200).contains(&status) {
        Framing::Length(0)
    } else {
        framing.unwrap_or(Framing::UntilClose)
    };
    Ok(Head {
        status,
        framing,
        close,
    })
}

fn parse_chunk_size(line: &[u8]) -> io::Result<usize> {
    let text = std::str::from_utf8(line).map_err(|_| bad("chunk size is not UTF-8".into()))?;
    let hex = text.split(';').next().unwrap_or("").trim();
    usize::from_str_radix(hex, 16).map_err(|_| bad(format!("chunk size {hex:?} is not hex")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn serve_once(raw: &'static [u8]) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut req = [0u8; 1024];
            let _ = s.read(&mut req).await.unwrap();
            // Write in two pieces so the parser must handle a split response.
            let mid = raw.len() / 2;
            s.write_all(&raw[..mid]).await.unwrap();
            s.flush().await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            s.write_all(&raw[mid..]).await.unwrap();
        });
        addr
    }

    #[tokio::test]
    async fn reads_content_length_body_split_across_reads() {
        let addr =
            serve_once(b"HTTP/1.1 201 Created\r\nContent-Length: 11\r\n\r\nhello world").await;
        let mut c = Conn::connect(&addr).await.unwrap();
        let r = c
            .round_trip(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(r.status, 201);
        assert_eq!(r.body, b"hello world");
        assert!(!r.close);
    }

    #[tokio::test]
    async fn reads_chunked_body() {
        let addr = serve_once(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        )
        .await;
        let mut c = Conn::connect(&addr).await.unwrap();
        let r = c
            .round_trip(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"hello world");
        assert!(r.close);
    }

    #[test]
    fn rejects_a_head_without_status() {
        let err = parse_head(b"garbage\r\n\r\n").err().unwrap();
        assert!(err.to_string().contains("garbage"));
    }
}
