//! A small blocking HTTP and WebSocket client, for tests of the servers
//! here and in the test kit.

use crate::Trace;
use crate::wire_io::{self, WsMessage};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

/// A bundled trace, by file name; panics if it does not load.
pub fn trace(name: &str) -> Trace {
    Trace::read(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("traces")
            .join(name),
    )
    .unwrap()
}

/// The credentials the fake Asterisk takes by default.
pub const GOOD: (&str, &str) = ("asterisk", "asterisk");

/// The `Authorization` value of Basic credentials.
pub fn basic((user, pass): (&str, &str)) -> String {
    format!(
        "Basic {}",
        wire_io::base64(format!("{user}:{pass}").as_bytes())
    )
}

/// Percent-encodes `s` for a query string.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    ari_proto::encode::push_query_component(&mut out, s);
    out
}

/// One HTTP exchange on a fresh connection: (status, body).
pub fn http(
    addr: SocketAddr,
    method: &str,
    target: &str,
    auth: Option<(&str, &str)>,
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(a) = auth {
        head.push_str(&format!("Authorization: {}\r\n", basic(a)));
    }
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut len = 0;
    loop {
        let mut h = String::new();
        r.read_line(&mut h)?;
        if h.trim().is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// A WebSocket client; frames it reads go to a channel.
pub struct Ws {
    /// The connection, for writing.
    pub stream: TcpStream,
    /// What the server sends, read by a thread.
    pub frames: mpsc::Receiver<WsMessage>,
}

/// Opens the events WebSocket; `Err(status)` when refused (0: dropped).
pub fn ws(addr: SocketAddr, target: &str, auth: Option<(&str, &str)>) -> Result<Ws, u16> {
    let mut s = TcpStream::connect(addr).map_err(|_| 0u16)?;
    let mut head = format!(
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    );
    if let Some(a) = auth {
        head.push_str(&format!("Authorization: {}\r\n", basic(a)));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).map_err(|_| 0u16)?;
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    if r.read_line(&mut line).unwrap_or(0) == 0 {
        return Err(0);
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    loop {
        let mut h = String::new();
        r.read_line(&mut h).map_err(|_| 0u16)?;
        if h.trim().is_empty() {
            break;
        }
    }
    if status != 101 {
        return Err(status);
    }
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        while let Ok(Some(m)) = wire_io::read_message(&mut r) {
            let end = matches!(m, WsMessage::Close(_));
            if tx.send(m).is_err() || end {
                break;
            }
        }
    });
    Ok(Ws {
        stream: s,
        frames: rx,
    })
}

impl Ws {
    /// The next text frame, within a few seconds.
    pub fn text(&self) -> Option<String> {
        match self.frames.recv_timeout(Duration::from_secs(5)) {
            Ok(WsMessage::Text(t)) => Some(t),
            _ => None,
        }
    }

    /// Sends a text frame.
    pub fn send(&mut self, text: &str) {
        let mask = [7u8, 1, 2, 9];
        let mut f = vec![0x81];
        if text.len() < 126 {
            f.push(0x80 | text.len() as u8);
        } else {
            f.push(0x80 | 126);
            f.extend_from_slice(&(text.len() as u16).to_be_bytes());
        }
        f.extend_from_slice(&mask);
        f.extend(text.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&f).unwrap();
    }
}
