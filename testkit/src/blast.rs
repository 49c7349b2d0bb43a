//! A load server for benchmarks: on the events WebSocket it sends the events
//! of a trace, cycled, as fast as the socket takes them, then a marker event;
//! REST requests get the recorded answer of their operation at once.
//! The flood starts on the first REST request (or a text frame from the
//! WebSocket client), once the client's subscriptions exist. Loopback only;
//! it stops when dropped.

use crate::loopback::{LoopbackServer, Service};
use conformance::trace::{Kind, Trace};
use conformance::wire_io::{self, HttpRequest, WsMessage};
use std::collections::HashMap;
use std::io::{self, BufReader, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The `type` of the event sent after the last one.
pub const MARKER_TYPE: &str = "BlastComplete";

/// A running load server.
pub struct Blast {
    server: LoopbackServer,
}

struct Plan {
    /// Every event frame of the trace, encoded once.
    frames: Vec<Vec<u8>>,
    total: usize,
    marker: Vec<u8>,
    /// `resource.name` of an operation → its recorded success answer.
    answers: HashMap<String, (u16, Vec<u8>)>,
    /// Set by the first REST request: the flood waits for it, so that the
    /// client's subscriptions exist before the first event.
    go: AtomicBool,
}

impl Blast {
    /// Serves `total` events cycled from `trace` to each WebSocket client.
    pub fn start(trace: &Trace, total: usize) -> io::Result<Blast> {
        Blast::start_spread(trace, total, None)
    }

    /// Like [`start`](Self::start), but with `Some(n)` the events' `channel`
    /// ids are rewritten to `bench-0` .. `bench-{n-1}` in turn (every channel
    /// gets events), and `ChannelDestroyed`, which would end per-channel
    /// subscriptions, is left out.
    pub fn start_spread(trace: &Trace, total: usize, channels: Option<usize>) -> io::Result<Blast> {
        let mut frames = Vec::new();
        let mut answers = HashMap::new();
        let mut requests = HashMap::new();
        for r in &trace.records {
            match &r.kind {
                Kind::WsRecv { text, .. } => frames.push(wire_io::frame(0x1, text.as_bytes())),
                Kind::HttpRequest {
                    id, method, path, ..
                } => {
                    requests.insert(*id, (method.clone(), path.clone()));
                }
                Kind::HttpResponse { id, status, body } if (200..300).contains(status) => {
                    let Some((method, path)) = requests.get(id) else {
                        continue;
                    };
                    let below = path.strip_prefix("/ari").unwrap_or(path);
                    if let Some((info, _)) = ari_proto::find_operation(method, below) {
                        answers
                            .entry(format!("{}.{}", info.resource, info.name))
                            .or_insert((*status, body.bytes()));
                    }
                }
                _ => {}
            }
        }
        if let Some(channels) = channels {
            frames = spread(trace, channels.max(1))?;
        }
        if frames.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the trace has no events",
            ));
        }
        let marker = format!(
            r#"{{"type":"{MARKER_TYPE}","application":"blast","timestamp":"2026-01-01T00:00:00.000+0000","events":{total}}}"#
        );
        let plan = Arc::new(Plan {
            frames,
            total,
            marker: wire_io::frame(0x1, marker.as_bytes()),
            answers,
            go: AtomicBool::new(false),
        });
        Ok(Blast {
            server: LoopbackServer::start(plan)?,
        })
    }

    /// `http://ADDR`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }
}

/// The trace's events (but `ChannelDestroyed`) as frames, their `channel`
/// ids spread over `channels` channels; at least one frame per channel. The
/// text is edited in place, so keys keep Asterisk's order.
fn spread(trace: &Trace, channels: usize) -> io::Result<Vec<Vec<u8>>> {
    const CHANNEL_ID: &str = r#""channel":{"id":""#;
    let events: Vec<&str> = trace
        .events()
        .filter(|text| !text.contains(r#""type":"ChannelDestroyed""#))
        .collect();
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let mut frames = Vec::new();
    for k in 0..events.len().max(channels) {
        let event = events[k % events.len()];
        let text = match event.find(CHANNEL_ID) {
            Some(at) => {
                let id_start = at + CHANNEL_ID.len();
                let id_end = event[id_start..]
                    .find('"')
                    .map(|n| id_start + n)
                    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unterminated id"))?;
                format!(
                    "{}bench-{}{}",
                    &event[..id_start],
                    k % channels,
                    &event[id_end..]
                )
            }
            None => event.to_string(),
        };
        frames.push(wire_io::frame(0x1, text.as_bytes()));
    }
    Ok(frames)
}

impl Service for Plan {
    fn http(&self, req: &HttpRequest, writer: &mut TcpStream) -> io::Result<()> {
        if !crate::loopback::is_version_probe(req) {
            self.go.store(true, Ordering::SeqCst);
        }
        let below = req.path.strip_prefix("/ari").unwrap_or(&req.path);
        let answer = ari_proto::find_operation(&req.method, below).and_then(|(info, _)| {
            self.answers
                .get(&format!("{}.{}", info.resource, info.name))
        });
        match answer {
            Some((status, body)) => {
                wire_io::write_response(writer, *status, Some("application/json"), body)
            }
            None => wire_io::write_response(writer, 204, None, b""),
        }
    }

    fn websocket(
        &self,
        _: &HttpRequest,
        reader: BufReader<TcpStream>,
        writer: TcpStream,
    ) -> io::Result<()> {
        blast(reader, writer, self)
    }
}

fn blast(mut reader: BufReader<TcpStream>, mut writer: TcpStream, plan: &Plan) -> io::Result<()> {
    // Start on the first REST request, or on a text frame from this client.
    reader
        .get_ref()
        .set_read_timeout(Some(std::time::Duration::from_millis(5)))?;
    while !plan.go.load(Ordering::SeqCst) {
        match wire_io::read_message(&mut reader) {
            Ok(Some(WsMessage::Text(_))) => break,
            Ok(Some(WsMessage::Close(_))) | Ok(None) => return Ok(()),
            Ok(Some(_)) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
    reader.get_ref().set_read_timeout(None)?;
    flood(&mut writer, &plan.frames, plan.total, &plan.marker)?;
    // Wait for the client to close.
    while let Ok(Some(m)) = wire_io::read_message(&mut reader) {
        if let WsMessage::Close(code) = m {
            let _ = writer.write_all(&wire_io::close_frame(code.unwrap_or(1000)));
            break;
        }
    }
    Ok(())
}

/// Writes `total` messages taken from `messages` in turn, as fast as
/// `writer` takes them, then `marker`: whole cycles go out as one buffer,
/// the rest message by message. The ARI and AMI load servers both flood
/// with it.
pub(crate) fn flood(
    writer: &mut impl Write,
    messages: &[Vec<u8>],
    total: usize,
    marker: &[u8],
) -> io::Result<()> {
    if !messages.is_empty() {
        let cycle: Vec<u8> = messages.concat();
        let (cycles, rest) = (total / messages.len(), total % messages.len());
        for _ in 0..cycles {
            writer.write_all(&cycle)?;
        }
        for m in &messages[..rest] {
            writer.write_all(m)?;
        }
    }
    writer.write_all(marker)?;
    writer.flush()
}
