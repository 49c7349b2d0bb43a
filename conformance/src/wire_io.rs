//! Just enough HTTP/1.1 and WebSocket (RFC 6455) for a fake Asterisk on
//! loopback: requests with `Content-Length` bodies, keep-alive, the upgrade
//! handshake, and text, close, ping and pong frames.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;

/// A parsed HTTP request.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// Method.
    pub method: String,
    /// Path, percent-encoded, without the query.
    pub path: String,
    /// Raw query string (without `?`).
    pub query: String,
    /// Headers with lower-case names.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Decoded query pairs.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                let dec = |s: &str| {
                    ari_proto::encode::percent_decode(&s.replace('+', " ")).unwrap_or_default()
                };
                (dec(k), dec(v))
            })
            .collect()
    }

    /// A WebSocket upgrade request's key, if it is one.
    pub fn websocket_key(&self) -> Option<&str> {
        let upgrade = self.header("upgrade")?.eq_ignore_ascii_case("websocket");
        upgrade.then(|| self.header("sec-websocket-key")).flatten()
    }
}

/// Reads one request; `Ok(None)` when the peer closed between requests.
pub fn read_request(r: &mut BufReader<TcpStream>) -> io::Result<Option<HttpRequest>> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bad request line",
        ));
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
        if headers.len() > 100 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "too many headers",
            ));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    if len > 64 << 20 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "body too large"));
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    Ok(Some(HttpRequest {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body,
    }))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        412 => "Precondition Failed",
        422 => "Unprocessable Entity",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// The head of a response with a `Content-Length` body.
pub fn response_head(status: u16, content_type: Option<&str>, len: usize) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nServer: fake-asterisk\r\nContent-Length: {len}\r\n",
        reason(status)
    );
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    if status == 401 {
        head.push_str("WWW-Authenticate: Basic realm=\"Asterisk REST Interface\"\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// Writes a whole response.
pub fn write_response(
    w: &mut impl Write,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> io::Result<()> {
    let mut out = response_head(status, content_type, body.len());
    out.extend_from_slice(body);
    w.write_all(&out)?;
    w.flush()
}

/// Accepts a WebSocket upgrade.
pub fn write_upgrade(w: &mut impl Write, key: &str) -> io::Result<()> {
    let mut sha = sha1_smol::Sha1::new();
    sha.update(key.as_bytes());
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let accept = base64(&sha.digest().bytes());
    write!(
        w,
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    )?;
    w.flush()
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            out.push(if i <= c.len() {
                T[((n >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// A WebSocket message as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsMessage {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping.
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// A close frame with its code.
    Close(Option<u16>),
}

/// Reads one message (joining fragments); `Ok(None)` at end of stream.
pub fn read_message(r: &mut impl Read) -> io::Result<Option<WsMessage>> {
    let mut data = Vec::new();
    let mut first_opcode = None;
    loop {
        let mut head = [0u8; 2];
        match r.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && first_opcode.is_none() => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        }
        let fin = head[0] & 0x80 != 0;
        let opcode = head[0] & 0x0f;
        let masked = head[1] & 0x80 != 0;
        let mut len = u64::from(head[1] & 0x7f);
        if len == 126 {
            let mut b = [0u8; 2];
            r.read_exact(&mut b)?;
            len = u64::from(u16::from_be_bytes(b));
        } else if len == 127 {
            let mut b = [0u8; 8];
            r.read_exact(&mut b)?;
            len = u64::from_be_bytes(b);
        }
        if len > 16 << 20 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "frame too large",
            ));
        }
        let mut mask = [0u8; 4];
        if masked {
            r.read_exact(&mut mask)?;
        }
        let mut payload = vec![0u8; len as usize];
        r.read_exact(&mut payload)?;
        if masked {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= mask[i % 4];
            }
        }
        match opcode {
            0x8 => {
                let code =
                    (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                return Ok(Some(WsMessage::Close(code)));
            }
            0x9 => return Ok(Some(WsMessage::Ping(payload))),
            // Between fragments a pong is dropped: the message comes first.
            0xA if first_opcode.is_none() => return Ok(Some(WsMessage::Pong(payload))),
            0xA => continue,
            _ => {}
        }
        first_opcode.get_or_insert(opcode);
        data.extend_from_slice(&payload);
        if fin {
            return Ok(Some(match first_opcode {
                Some(0x1) => WsMessage::Text(String::from_utf8(data).map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidData, "text is not UTF-8")
                })?),
                _ => WsMessage::Binary(data),
            }));
        }
    }
}

/// Encodes a server frame (unmasked).
pub fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= 0xffff => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// A close frame with `code`.
pub fn close_frame(code: u16) -> Vec<u8> {
    frame(0x8, &code.to_be_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_rfc_6455_example() {
        let mut out = Vec::new();
        write_upgrade(&mut out, "dGhlIHNhbXBsZSBub25jZQ==").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "{text}"
        );
    }

    #[test]
    fn frames_round_trip_masked_and_fragmented() {
        // A masked client text frame in two fragments, then a close.
        let mask = [1u8, 2, 3, 4];
        let mut wire = Vec::new();
        for (fin_op, part) in [(0x01u8, &b"hel"[..]), (0x80, &b"lo"[..])] {
            wire.push(fin_op);
            wire.push(0x80 | part.len() as u8);
            wire.extend_from_slice(&mask);
            wire.extend(part.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        }
        wire.extend_from_slice(&close_frame(1000));
        let mut r = &wire[..];
        assert_eq!(
            read_message(&mut r).unwrap(),
            Some(WsMessage::Text("hello".into()))
        );
        assert_eq!(
            read_message(&mut r).unwrap(),
            Some(WsMessage::Close(Some(1000)))
        );
        assert_eq!(read_message(&mut r).unwrap(), None);
        let big = vec![b'x'; 70_000];
        let mut r = &frame(0x1, &big)[..];
        assert_eq!(
            read_message(&mut r).unwrap(),
            Some(WsMessage::Text("x".repeat(70_000)))
        );
    }
}
