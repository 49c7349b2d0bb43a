//! A call simulator for benchmarks: on the client's first REST request, N
//! channels enter the app at once; each is answered, plays a prompt and is
//! hung up by the client under test, and the simulator answers like Asterisk
//! (events included), then sends the marker event. Loopback only.

use crate::blast::MARKER_TYPE;
use crate::loopback::{LoopbackServer, Service};
use conformance::trace::Trace;
use conformance::wire_io::{self, HttpRequest};
use std::io::{self, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// Event and answer texts of one recorded call, with the ids to replace.
struct Templates {
    start: String,
    finished: String,
    end: String,
    destroyed: String,
    /// The channel the recorded `ChannelDestroyed` names (another call's).
    destroyed_id: String,
    playback: String,
    channel_id: String,
    playback_id: String,
}

/// Frames for the events WebSocket.
struct Outbox {
    tx: mpsc::Sender<Vec<u8>>,
    /// The receiving end, until a WebSocket takes it.
    waiting: Option<mpsc::Receiver<Vec<u8>>>,
}

struct State {
    calls: usize,
    templates: Templates,
    /// Frames for the events WebSocket, and their receiver until the
    /// WebSocket takes it: frames sent before it is served wait, not vanish
    /// (a client may send its first request as soon as the upgrade is answered).
    events: Mutex<Outbox>,
    hung_up: AtomicUsize,
    started: AtomicBool,
}

/// A running call simulator.
pub struct CallSimulator {
    server: LoopbackServer,
}

fn first(trace: &Trace, type_name: &str, with: &str) -> Option<String> {
    let type_key = format!("\"type\":\"{type_name}\"");
    trace
        .events()
        .find(|text| text.contains(&type_key) && text.contains(with))
        .map(str::to_string)
}

impl CallSimulator {
    /// Simulates `calls` calls shaped like those of `trace` (load-30-calls).
    pub fn start(trace: &Trace, calls: usize) -> io::Result<CallSimulator> {
        let missing = || io::Error::new(io::ErrorKind::InvalidData, "the trace lacks a call");
        let start = first(trace, "StasisStart", "\"args\":[]").ok_or_else(missing)?;
        let channel_id = serde_json::from_str::<serde_json::Value>(&start)
            .ok()
            .and_then(|v| v["channel"]["id"].as_str().map(str::to_string))
            .ok_or_else(missing)?;
        let finished = first(trace, "PlaybackFinished", &channel_id).ok_or_else(missing)?;
        let playback_id = serde_json::from_str::<serde_json::Value>(&finished)
            .ok()
            .and_then(|v| v["playback"]["id"].as_str().map(str::to_string))
            .ok_or_else(missing)?;
        let playback = serde_json::from_str::<serde_json::Value>(&finished)
            .ok()
            .map(|v| v["playback"].to_string())
            .ok_or_else(missing)?;
        // The inbound legs' destruction may fall after the recording: any will do.
        let destroyed = first(trace, "ChannelDestroyed", "").ok_or_else(missing)?;
        let destroyed_id = serde_json::from_str::<serde_json::Value>(&destroyed)
            .ok()
            .and_then(|v| v["channel"]["id"].as_str().map(str::to_string))
            .ok_or_else(missing)?;
        let templates = Templates {
            end: first(trace, "StasisEnd", &channel_id).ok_or_else(missing)?,
            destroyed: destroyed.clone(),
            destroyed_id,
            start,
            finished,
            playback,
            channel_id,
            playback_id,
        };
        let (tx, rx) = mpsc::channel();
        let state = Arc::new(State {
            calls,
            templates,
            events: Mutex::new(Outbox {
                tx,
                waiting: Some(rx),
            }),
            hung_up: AtomicUsize::new(0),
            started: AtomicBool::new(false),
        });
        Ok(CallSimulator {
            server: LoopbackServer::start(state)?,
        })
    }

    /// `http://ADDR`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }
}

fn call_text(template: &str, t: &Templates, call: &str) -> Vec<u8> {
    let text = template
        .replace(&t.channel_id, &format!("sim-{call}"))
        .replace(&t.playback_id, &format!("sim-pb-{call}"));
    wire_io::frame(0x1, text.as_bytes())
}

fn push(state: &State, frame: Vec<u8>) {
    if let Ok(guard) = state.events.lock() {
        let _ = guard.tx.send(frame);
    }
}

impl Service for State {
    fn http(&self, req: &HttpRequest, writer: &mut TcpStream) -> io::Result<()> {
        let t = &self.templates;
        if !crate::loopback::is_version_probe(req) && !self.started.swap(true, Ordering::SeqCst) {
            // The first request says the client is ready: every call enters at once.
            let mut burst = Vec::new();
            for call in 0..self.calls {
                burst.extend_from_slice(&call_text(&t.start, t, &call.to_string()));
            }
            push(self, burst);
        }
        let parts: Vec<&str> = req
            .path
            .trim_start_matches("/ari/channels/")
            .split('/')
            .collect();
        let call = parts
            .first()
            .and_then(|p| p.strip_prefix("sim-"))
            .unwrap_or("");
        match (req.method.as_str(), parts.get(1).copied()) {
            ("POST", Some("play")) => {
                let body = t
                    .playback
                    .replace(&t.channel_id, &format!("sim-{call}"))
                    .replace(&t.playback_id, &format!("sim-pb-{call}"));
                wire_io::write_response(writer, 201, Some("application/json"), body.as_bytes())?;
                push(self, call_text(&t.finished, t, call));
            }
            ("DELETE", None) => {
                wire_io::write_response(writer, 204, None, b"")?;
                push(self, call_text(&t.end, t, call));
                let destroyed = t.destroyed.replace(&t.destroyed_id, &t.channel_id);
                push(self, call_text(&destroyed, t, call));
                if self.hung_up.fetch_add(1, Ordering::SeqCst) + 1 == self.calls {
                    let marker = format!(
                        r#"{{"type":"{MARKER_TYPE}","application":"hello","timestamp":"2026-01-01T00:00:00.000+0000"}}"#
                    );
                    push(self, wire_io::frame(0x1, marker.as_bytes()));
                }
            }
            _ => wire_io::write_response(writer, 204, None, b"")?,
        }
        Ok(())
    }

    fn websocket(
        &self,
        _: &HttpRequest,
        reader: BufReader<TcpStream>,
        writer: TcpStream,
    ) -> io::Result<()> {
        events(reader, writer, self)
    }
}

fn events(
    mut reader: BufReader<TcpStream>,
    mut writer: TcpStream,
    state: &State,
) -> io::Result<()> {
    // The first WebSocket takes what waits; a later one replaces it.
    let rx = {
        let Ok(mut guard) = state.events.lock() else {
            return Ok(());
        };
        guard.waiting.take().unwrap_or_else(|| {
            let (tx, rx) = mpsc::channel();
            guard.tx = tx;
            rx
        })
    };
    std::thread::spawn(move || while let Ok(Some(_)) = wire_io::read_message(&mut reader) {});
    for frame in rx {
        writer.write_all(&frame)?;
    }
    Ok(())
}
