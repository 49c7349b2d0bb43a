//! A recording proxy for outbound WebSockets: it listens where Asterisk
//! connects, opens the same WebSocket to the application (same
//! credentials, subprotocol `ari`), passes every frame both ways, and
//! writes what crossed as an ARI trace (`traces/FORMAT.md`): Asterisk's
//! frames are `ws_recv`, the application's `ws_send`; `meta.direction` is
//! `outbound` (Asterisk opened each connection). Credentials are not
//! written.

use async_tungstenite::tungstenite::handshake::server::{Request, Response};
use async_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};
use serde_json::{Value, json};
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The proxy, recording until [`finish`](Recorder::finish).
pub struct Recorder {
    records: Arc<Mutex<Vec<Value>>>,
    file: String,
    stop: Arc<std::sync::atomic::AtomicBool>,
    accepting: JoinHandle<Vec<JoinHandle<()>>>,
}

impl Recorder {
    /// Listens on `listen` (where Asterisk connects) and proxies each
    /// connection to the application at `app`.
    pub fn start(listen: &str, app: SocketAddr, file: String) -> Recorder {
        let listener = TcpListener::bind(listen).expect("the recorder's port");
        listener.set_nonblocking(true).unwrap();
        let records = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (log, stopping) = (records.clone(), stop.clone());
        let started = Instant::now();
        let accepting = std::thread::spawn(move || {
            let mut connections = Vec::new();
            while !stopping.load(std::sync::atomic::Ordering::Relaxed) {
                match listener.accept() {
                    Ok((asterisk, _)) => {
                        let conn = format!("ws{}", connections.len() + 1);
                        let log = log.clone();
                        connections.push(std::thread::spawn(move || {
                            proxy(asterisk, app, &conn, &log, started)
                        }));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            }
            connections
        });
        Recorder {
            records,
            file,
            stop,
            accepting,
        }
    }

    /// Stops accepting, waits for the open connections to end and writes
    /// the trace.
    pub fn finish(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for connection in self.accepting.join().unwrap() {
            connection.join().unwrap();
        }
        let meta = json!({
            "seq": 0, "t_ms": 0, "kind": "meta", "format": 1,
            "scenario": "outbound-websocket",
            "description": "An outbound WebSocket: a real SIP loop call into extension ows enters Stasis(ows-app), and Asterisk connects to the application at ws://127.0.0.1:8765/ari (per-call connection, subprotocol ari, Basic credentials ows/ows-secret). Over that one socket: ApplicationRegistered, StasisStart, then the application's REST requests as RESTRequest frames (the version probe GET asterisk/info, answer, play sound:hello-world with a playback id of its own), the playback's events, a DTMF 5 the caller presses after the prompt, the hangup (DELETE channels/ID), StasisEnd, and Asterisk closing the connection. Recorded by live/tests/live_outbound.rs with RECORD_OWS set, through live/src/ows_recorder.rs.",
            "asterisk_version": "22.10.1",
            "apps": ["ows-app"],
            "direction": "outbound",
            "client_ids": [],
            "recorded_at": "2026-12-05",
        });
        let mut records = self.records.lock().unwrap();
        let mut out = meta.to_string();
        out.push('\n');
        for (seq, mut record) in records.drain(..).enumerate() {
            record["seq"] = json!(seq + 1);
            out.push_str(&record.to_string());
            out.push('\n');
        }
        std::fs::write(&self.file, out).unwrap();
    }
}

fn note(log: &Mutex<Vec<Value>>, started: Instant, mut record: Value) {
    let t = started.elapsed().as_secs_f64() * 1000.0;
    record["t_ms"] = json!((t * 1000.0).round() / 1000.0);
    log.lock().unwrap().push(record);
}

/// One connection: the upgrade from Asterisk, the same upgrade to the
/// application, then frames both ways until both sides closed.
// tungstenite's callback type fixes the refusal's type.
#[allow(clippy::result_large_err)]
fn proxy(
    asterisk: TcpStream,
    app: SocketAddr,
    conn: &str,
    log: &Mutex<Vec<Value>>,
    started: Instant,
) {
    asterisk.set_nonblocking(false).unwrap();
    let mut upgrade: Option<Request> = None;
    let mut from_asterisk =
        tungstenite::accept_hdr(asterisk, |request: &Request, mut response: Response| {
            upgrade = Some(request.clone());
            response
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", "ari".parse().unwrap());
            Ok(response)
        })
        .expect("Asterisk's upgrade");
    let upgrade = upgrade.unwrap();
    let mut request = format!("ws://{app}{}", upgrade.uri())
        .into_client_request()
        .unwrap();
    for name in ["authorization", "sec-websocket-protocol"] {
        if let Some(v) = upgrade.headers().get(name) {
            request.headers_mut().insert(name, v.clone());
        }
    }
    let (mut to_app, _) = tungstenite::client(request, TcpStream::connect(app).unwrap())
        .expect("the application's upgrade");
    let headers: serde_json::Map<String, Value> = upgrade
        .headers()
        .iter()
        .filter(|(n, _)| *n != "authorization")
        .map(|(n, v)| (n.to_string(), json!(v.to_str().unwrap_or(""))))
        .collect();
    note(
        log,
        started,
        json!({"kind": "ws_open", "conn": conn, "path": upgrade.uri().path(),
        "query": [], "headers": headers, "auth": "basic", "status": 101}),
    );
    for socket in [from_asterisk.get_mut(), to_app.get_mut()] {
        socket
            .set_read_timeout(Some(Duration::from_millis(2)))
            .unwrap();
    }
    let (mut asterisk_open, mut app_open) = (true, true);
    while asterisk_open || app_open {
        if asterisk_open {
            asterisk_open = pass(
                &mut from_asterisk,
                &mut to_app,
                conn,
                "ws_recv",
                "server",
                log,
                started,
            );
        }
        if app_open {
            app_open = pass(
                &mut to_app,
                &mut from_asterisk,
                conn,
                "ws_send",
                "client",
                log,
                started,
            );
        }
    }
}

/// Moves at most one frame from `from` to `to`; `false` once `from` ended.
fn pass(
    from: &mut tungstenite::WebSocket<TcpStream>,
    to: &mut tungstenite::WebSocket<TcpStream>,
    conn: &str,
    kind: &str,
    by: &str,
    log: &Mutex<Vec<Value>>,
    started: Instant,
) -> bool {
    match from.read() {
        Ok(Message::Text(text)) => {
            note(
                log,
                started,
                json!({"kind": kind, "conn": conn, "text": text.as_str()}),
            );
            let _ = to.send(Message::Text(text));
            true
        }
        Ok(Message::Close(frame)) => {
            let (code, reason) = frame.as_ref().map_or((None, String::new()), |f| {
                (Some(u16::from(f.code)), f.reason.to_string())
            });
            // The other side's reply to a close passed on is not a close of its own.
            if to.can_write() {
                note(
                    log,
                    started,
                    json!({"kind": "ws_close", "conn": conn, "by": by,
                    "code": code, "reason": reason}),
                );
            }
            let _ = to.close(frame);
            let _ = to.flush();
            true
        }
        Ok(_) => true,
        Err(tungstenite::Error::Io(e))
            if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
        {
            let _ = to.flush();
            true
        }
        Err(_) => false,
    }
}
