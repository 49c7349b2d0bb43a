//! The relay every recorder runs once both sides of a connection are up:
//! bytes go from each side to the other unchanged, cut into the units a
//! trace records (an AMI message, an AGI line, a WebSocket frame). Each
//! unit is recorded before it is passed on, so that whatever a peer does in
//! answer comes after it in the trace. Bytes stay in the relay until their
//! unit is whole; a peer that speaks the protocol never waits on half a
//! unit.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where bytes come from: the side that connected to the recorder, or the
/// side the recorder connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The peer that connected to the recorder (Asterisk, for FastAGI).
    Client,
    /// The peer the recorder connected to (your FastAGI server, for FastAGI).
    Server,
}

/// What a protocol does with the bytes of one connection.
pub trait Units {
    /// The length of the unit at the start of `pending`, once it is whole.
    fn cut(&mut self, from: Side, pending: &[u8]) -> Option<usize>;
    /// A whole unit from `from`, before it is passed on.
    fn unit(&mut self, from: Side, unit: &[u8]);
    /// `from` ended its stream; `leftover` never made a whole unit (it is
    /// passed on after this).
    fn end(&mut self, from: Side, leftover: &[u8]);
}

/// Passes bytes both ways until both sides have ended their streams.
/// `client_bytes` and `server_bytes` were read already and not passed on.
pub async fn relay(
    mut client: TcpStream,
    mut server: TcpStream,
    mut client_bytes: Vec<u8>,
    mut server_bytes: Vec<u8>,
    units: &mut impl Units,
) {
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    pass(Side::Client, &mut client_bytes, &mut server_write, units).await;
    pass(Side::Server, &mut server_bytes, &mut client_write, units).await;
    let (mut client_open, mut server_open) = (true, true);
    let mut from_client = vec![0u8; 16 * 1024];
    let mut from_server = vec![0u8; 16 * 1024];
    while client_open || server_open {
        tokio::select! {
            read = client_read.read(&mut from_client), if client_open => match read {
                Ok(n) if n > 0 => {
                    client_bytes.extend_from_slice(&from_client[..n]);
                    pass(Side::Client, &mut client_bytes, &mut server_write, units).await;
                }
                _ => {
                    client_open = false;
                    units.end(Side::Client, &client_bytes);
                    let _ = server_write.write_all(&client_bytes).await;
                    let _ = server_write.shutdown().await;
                }
            },
            read = server_read.read(&mut from_server), if server_open => match read {
                Ok(n) if n > 0 => {
                    server_bytes.extend_from_slice(&from_server[..n]);
                    pass(Side::Server, &mut server_bytes, &mut client_write, units).await;
                }
                _ => {
                    server_open = false;
                    units.end(Side::Server, &server_bytes);
                    let _ = client_write.write_all(&server_bytes).await;
                    let _ = client_write.shutdown().await;
                }
            },
        }
    }
}

/// Records and passes on every whole unit at the start of `pending`.
async fn pass(
    from: Side,
    pending: &mut Vec<u8>,
    to: &mut (impl AsyncWriteExt + Unpin),
    units: &mut impl Units,
) {
    while let Some(n) = units.cut(from, pending) {
        let unit: Vec<u8> = pending.drain(..n).collect();
        units.unit(from, &unit);
        // A peer gone is seen on its reading side.
        let _ = to.write_all(&unit).await;
    }
}

/// The length of the first line of `bytes`, its `\n` included.
pub fn line_len(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n').map(|i| i + 1)
}

/// The length of `bytes` up to and with the first `needle`.
pub fn len_through(bytes: &[u8], needle: &[u8]) -> Option<usize> {
    bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + needle.len())
}

/// The JSON fields of a payload: `text` when it is UTF-8, else `base64`.
pub fn payload(bytes: &[u8]) -> (&'static str, serde_json::Value) {
    match std::str::from_utf8(bytes) {
        Ok(text) => ("text", text.into()),
        Err(_) => ("base64", conformance::wire_io::base64(bytes).into()),
    }
}
