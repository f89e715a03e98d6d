//! Just enough HTTP/1.1 for a load generator: one keep-alive connection
//! posts request bytes prepared once per body (no formatting or allocation
//! per request) and reads each response whole by its `Content-Length`, the
//! way `attnlab serve` answers. A chunked response is refused as an error,
//! not guessed at.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::LoadError;

/// Where requests go: `http://HOST:PORT/PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub addr: SocketAddr,
    /// `HOST:PORT` as given, for the `Host` header.
    pub host: String,
    pub path: String,
}

impl Target {
    /// Parses a plain-HTTP URL (no TLS: the server under test is local).
    pub fn parse(url: &str) -> Result<Target, LoadError> {
        let bad = |why: &str| LoadError::Bad(format!("URL `{url}`: {why}"));
        let rest = url.strip_prefix("http://").ok_or_else(|| bad("must start with http://"))?;
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let addr = host
            .to_socket_addrs()
            .map_err(|e| bad(&format!("cannot resolve `{host}` (HOST:PORT): {e}")))?
            .next()
            .ok_or_else(|| bad(&format!("`{host}` resolves to no address")))?;
        Ok(Target { addr, host: host.to_string(), path: path.to_string() })
    }

    /// The bytes of a POST of JSON `body` to this target.
    pub fn post_bytes(&self, body: &[u8]) -> Vec<u8> {
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.path,
            self.host,
            body.len()
        );
        [head.as_bytes(), body].concat()
    }
}

/// One keep-alive connection.
pub struct Connection {
    stream: TcpStream,
    /// Bytes read and not yet consumed: `buf[..filled]`.
    buf: Vec<u8>,
    filled: usize,
    /// The server said `Connection: close`: open a new one before the next request.
    pub closed: bool,
}

impl Connection {
    pub fn open(target: &Target, timeout: Duration) -> io::Result<Connection> {
        let stream = TcpStream::connect_timeout(&target.addr, timeout)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        Ok(Connection { stream, buf: vec![0; 16 * 1024], filled: 0, closed: false })
    }

    /// Sends `request` (bytes of [`Target::post_bytes`]) and reads the whole
    /// response; its status code.
    pub fn send(&mut self, request: &[u8]) -> io::Result<u16> {
        self.stream.write_all(request)?;
        let head_end = loop {
            if let Some(i) = find(&self.buf[..self.filled], b"\r\n\r\n") {
                break i + 4;
            }
            self.fill()?;
        };
        let head = parse_head(&self.buf[..head_end])?;
        let total = head_end + head.content_length;
        while self.filled < total {
            self.fill()?;
        }
        // a pipelined byte past this response would be a server bug; kept, not dropped
        self.buf.copy_within(total..self.filled, 0);
        self.filled -= total;
        self.closed = head.close;
        Ok(head.status)
    }

    /// Reads more bytes, growing the buffer when full.
    fn fill(&mut self) -> io::Result<()> {
        if self.filled == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        match self.stream.read(&mut self.buf[self.filled..])? {
            0 => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection mid-response")),
            n => {
                self.filled += n;
                Ok(())
            }
        }
    }
}

/// What a response's head says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub content_length: usize,
    pub close: bool,
}

/// Parses a response head (status line and headers, up to the blank line).
pub fn parse_head(head: &[u8]) -> io::Result<Head> {
    let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_string());
    let text = std::str::from_utf8(head).map_err(|_| invalid("a response head that is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| invalid(&format!("a bad status line `{status_line}`")))?;
    let (mut content_length, mut close) = (None, status_line.starts_with("HTTP/1.0"));
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = Some(value.parse::<usize>().map_err(|_| invalid(&format!("a bad Content-Length `{value}`")))?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
            return Err(invalid("a chunked response (only Content-Length bodies are read)"));
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        }
    }
    let content_length = content_length.ok_or_else(|| invalid("a response without Content-Length"))?;
    Ok(Head { status, content_length, close })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_read_by_status_length_and_connection() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 42\r\n\r\n";
        assert_eq!(parse_head(head).unwrap(), Head { status: 200, content_length: 42, close: false });
        let head = b"HTTP/1.1 413 Payload Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(parse_head(head).unwrap(), Head { status: 413, content_length: 0, close: true });
        assert!(parse_head(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
        assert!(parse_head(b"SIP/2.0 200 OK\r\ncontent-length: 0\r\n\r\n").is_err());
    }

    #[test]
    fn targets_parse_host_port_and_path() {
        let t = Target::parse("http://127.0.0.1:8080/v1/rank").unwrap();
        assert_eq!((t.addr.port(), t.host.as_str(), t.path.as_str()), (8080, "127.0.0.1:8080", "/v1/rank"));
        assert!(Target::parse("https://127.0.0.1:8080/").is_err());
        assert!(Target::parse("http://127.0.0.1/").is_err());
        let bytes = t.post_bytes(b"{}");
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            "POST /v1/rank HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        );
    }
}
