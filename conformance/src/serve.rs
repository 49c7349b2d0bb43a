//! A fake Asterisk: a real HTTP/1.1 and WebSocket server on loopback that
//! plays a recorded trace to a client under test, with the replay rules of
//! `traces/FORMAT.md`, and optional faults for reliability tests.
//!
//! One director thread walks the trace in order; connection threads only
//! parse and write bytes. A client request is matched against the recorded
//! ones; requests may come in another order than recorded (concurrent
//! clients), and are answered when the trace reaches their response.

use crate::check::{body_params, parse_rest_request};
use crate::counter::Counter;
use crate::trace::{Body, Kind, Record, Trace};
use crate::wire_io::{self, HttpRequest, WsMessage};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::io::{self, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Faults to inject, for reliability tests. All off by default.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Close the events WebSocket just before the record with this `seq`;
    /// `true` sends a close frame first, `false` drops the TCP connection.
    /// A client that reconnects is served the rest of the trace.
    pub close_ws_before: Option<(u64, bool)>,
    /// Wait this long before every HTTP answer.
    pub response_delay: Duration,
    /// Answer the n-th HTTP request (from 0) with this status instead of the
    /// recorded answer.
    pub error_status: Option<(usize, u16)>,
    /// Send a frame that is not JSON just before the record with this `seq`.
    pub malformed_frame_before: Option<u64>,
    /// Send an event of a type no Asterisk has just before the record with this `seq`.
    pub unknown_event_before: Option<u64>,
    /// Send only half of the n-th HTTP answer (from 0), then nothing more.
    pub stall_response: Option<usize>,
    /// Refuse this many WebSocket connection attempts (closing the TCP
    /// connection at once, like a restarting Asterisk) before accepting.
    pub refuse_connections: usize,
    /// Accept the TCP connection of this many WebSocket upgrade attempts
    /// and read the request, then answer nothing (a hung server) until the
    /// client closes it.
    pub stall_upgrades: usize,
    /// Just before the record with this `seq`, the open events WebSocket
    /// goes silent: nothing more is sent on it and its pings go unanswered,
    /// but the connection stays up (a half-open socket). A client that gives
    /// up on it and reconnects is served the rest of the trace.
    pub silence_ws_before: Option<u64>,
}

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// ARI user the client must present.
    pub username: String,
    /// Its password.
    pub password: String,
    /// Address to listen on; port 0 picks one.
    pub listen: SocketAddr,
    /// How long to wait for the client's next expected action before giving up.
    pub patience: Duration,
    /// Faults to inject.
    pub faults: Faults,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            username: "asterisk".into(),
            password: "asterisk".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            patience: Duration::from_secs(10),
            faults: Faults::default(),
        }
    }
}

/// What happened during a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServeReport {
    /// Every record of the trace was played.
    pub completed: bool,
    /// Requests that did not match what the trace expected, and stalls.
    pub mismatches: Vec<String>,
    /// HTTP requests answered from the trace.
    pub requests_answered: usize,
    /// Frames sent on events WebSockets.
    pub frames_sent: usize,
    /// Stalled upgrades and silent WebSockets that the client closed itself.
    pub abandoned: usize,
}

/// A running fake Asterisk.
pub struct FakeAsterisk {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    played: Arc<AtomicBool>,
    inputs: Sender<Input>,
    director: Option<JoinHandle<ServeReport>>,
    acceptor: Option<JoinHandle<()>>,
    transport: Arc<TransportFaults>,
}

/// What the connection threads share about transport faults.
#[derive(Debug, Default)]
struct TransportFaults {
    /// Upgrades still to stall.
    stalls_left: AtomicUsize,
    /// Stalled or silent connections the client closed.
    abandoned: Counter,
    /// Upgrades left unanswered and answers left half-sent.
    stalled: Counter,
    /// Events WebSockets gone silent.
    silenced: Counter,
}

impl FakeAsterisk {
    /// Starts serving `trace`.
    pub fn start(trace: Trace, options: ServeOptions) -> io::Result<FakeAsterisk> {
        let listener = TcpListener::bind(options.listen)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let auth = Arc::new((options.username.clone(), options.password.clone()));
        let transport = Arc::new(TransportFaults {
            stalls_left: AtomicUsize::new(options.faults.stall_upgrades),
            ..TransportFaults::default()
        });
        let acceptor = {
            let (stop, tx, transport) = (stop.clone(), tx.clone(), transport.clone());
            std::thread::spawn(move || accept_loop(listener, stop, tx, auth, transport))
        };
        let played = Arc::new(AtomicBool::new(false));
        let director = {
            let (stop, played) = (stop.clone(), played.clone());
            std::thread::spawn(move || Director::new(trace, options, stop, played).run(rx))
        };
        Ok(FakeAsterisk {
            addr,
            stop,
            played,
            inputs: tx,
            director: Some(director),
            acceptor: Some(acceptor),
            transport,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, the base URL for a client.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until the whole trace was played (or given up on), at most `timeout`.
    pub fn wait_played(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.played.load(Ordering::SeqCst) {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }

    /// Stalled upgrades and silent WebSockets the client has closed so far.
    pub fn abandoned(&self) -> &Counter {
        &self.transport.abandoned
    }

    /// Upgrades left unanswered and answers left half-sent so far (the
    /// `stall_upgrades` and `stall_response` faults): counted once the
    /// client's request was read and what is sent of the answer is written.
    pub fn stalled(&self) -> &Counter {
        &self.transport.stalled
    }

    /// Events WebSockets gone silent so far (the `silence_ws_before`
    /// fault): counted once nothing more is sent on one and its pings go
    /// unanswered.
    pub fn silenced(&self) -> &Counter {
        &self.transport.silenced
    }

    /// Stops serving and reports.
    pub fn finish(mut self) -> ServeReport {
        self.shutdown()
    }

    fn shutdown(&mut self) -> ServeReport {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.inputs.send(Input::Stop);
        // Wake the acceptor.
        let _ = TcpStream::connect(self.addr);
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
        let mut report = self
            .director
            .take()
            .map(|d| d.join().unwrap_or_default())
            .unwrap_or_default();
        report.abandoned = self.transport.abandoned.get();
        report
    }
}

impl Drop for FakeAsterisk {
    fn drop(&mut self) {
        if self.director.is_some() {
            self.shutdown();
        }
    }
}

/// What a connection thread is told to do with an HTTP request.
enum HttpReply {
    Answer {
        status: u16,
        content_type: Option<String>,
        body: Vec<u8>,
        delay: Duration,
        stall: bool,
    },
}

/// What a connection thread is told to do with an upgrade request.
enum Upgrade {
    Accept(Receiver<Outgoing>),
    Refuse(u16, Vec<u8>),
    Drop,
}

/// What the director sends to a WebSocket's writer.
enum Outgoing {
    Bytes(Vec<u8>),
    /// Close frame (if `Some`), then end the connection.
    Close(Option<u16>),
    /// Send nothing more and answer no ping, keeping the connection up.
    Silence,
}

enum Input {
    Http {
        req: HttpRequest,
        auth_ok: bool,
        reply: Sender<HttpReply>,
    },
    WsUpgrade {
        conn: u64,
        auth_ok: bool,
        reply: Sender<Upgrade>,
    },
    WsText {
        conn: u64,
        text: String,
    },
    WsClosed {
        conn: u64,
    },
    Stop,
}

fn accept_loop(
    listener: TcpListener,
    stop: Arc<AtomicBool>,
    tx: Sender<Input>,
    auth: Arc<(String, String)>,
    transport: Arc<TransportFaults>,
) {
    let mut next_conn = 0u64;
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        next_conn += 1;
        let (tx, auth, stop, conn) = (tx.clone(), auth.clone(), stop.clone(), next_conn);
        let transport = transport.clone();
        std::thread::spawn(move || {
            let _ = serve_connection(stream, conn, &tx, &auth, &stop, &transport);
        });
    }
}

fn authorized(req: &HttpRequest, auth: &(String, String)) -> bool {
    let expected = format!("{}:{}", auth.0, auth.1);
    if req
        .query_pairs()
        .iter()
        .any(|(k, v)| k == "api_key" && *v == expected)
    {
        return true;
    }
    let Some(header) = req.header("authorization") else {
        return false;
    };
    let Some(b64) = header.strip_prefix("Basic ") else {
        return false;
    };
    crate::trace::base64_decode(b64.trim()).is_ok_and(|d| d == expected.as_bytes())
}

fn serve_connection(
    stream: TcpStream,
    conn: u64,
    tx: &Sender<Input>,
    auth: &(String, String),
    stop: &AtomicBool,
    transport: &Arc<TransportFaults>,
) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(req) = wire_io::read_request(&mut reader)? {
        let auth_ok = authorized(&req, auth);
        if let Some(key) = req.websocket_key().map(str::to_string) {
            let stall = transport
                .stalls_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if stall {
                transport.stalled.add(1);
                return wait_for_client_to_leave(reader.into_inner(), stop, transport);
            }
            let (reply_tx, reply_rx) = mpsc::channel();
            if tx
                .send(Input::WsUpgrade {
                    conn,
                    auth_ok,
                    reply: reply_tx,
                })
                .is_err()
            {
                return Ok(());
            }
            return match reply_rx.recv() {
                Ok(Upgrade::Accept(outgoing)) => {
                    wire_io::write_upgrade(&mut writer, &key)?;
                    serve_websocket(reader, writer, conn, tx, outgoing, transport)
                }
                Ok(Upgrade::Refuse(status, body)) => {
                    wire_io::write_response(&mut writer, status, Some("application/json"), &body)
                }
                Ok(Upgrade::Drop) | Err(_) => writer.shutdown(Shutdown::Both),
            };
        }
        let (reply_tx, reply_rx) = mpsc::channel();
        if tx
            .send(Input::Http {
                req,
                auth_ok,
                reply: reply_tx,
            })
            .is_err()
        {
            return Ok(());
        }
        let Ok(HttpReply::Answer {
            status,
            content_type,
            body,
            delay,
            stall,
        }) = reply_rx.recv()
        else {
            return writer.shutdown(Shutdown::Both);
        };
        std::thread::sleep(delay);
        if stall {
            let mut out = wire_io::response_head(status, content_type.as_deref(), body.len());
            out.extend_from_slice(&body[..body.len() / 2]);
            writer.write_all(&out)?;
            writer.flush()?;
            transport.stalled.add(1);
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
            return Ok(());
        }
        wire_io::write_response(&mut writer, status, content_type.as_deref(), &body)?;
    }
    Ok(())
}

/// Reads and drops whatever comes until the client closes the connection
/// (counted as abandoned) or the server stops.
fn wait_for_client_to_leave(
    mut stream: TcpStream,
    stop: &AtomicBool,
    transport: &TransportFaults,
) -> io::Result<()> {
    use std::io::Read;
    stream.set_read_timeout(Some(Duration::from_millis(20)))?;
    let mut sink = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        match stream.read(&mut sink) {
            Ok(0) => {
                transport.abandoned.add(1);
                return Ok(());
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => {
                transport.abandoned.add(1);
                return Ok(());
            }
        }
    }
    Ok(())
}

fn serve_websocket(
    mut reader: BufReader<TcpStream>,
    writer: TcpStream,
    conn: u64,
    tx: &Sender<Input>,
    outgoing: Receiver<Outgoing>,
    transport: &Arc<TransportFaults>,
) -> io::Result<()> {
    let pongs = Arc::new(Mutex::new(writer.try_clone()?));
    let silent = Arc::new(AtomicBool::new(false));
    let write_side = pongs.clone();
    let write_silent = silent.clone();
    let write_transport = transport.clone();
    let write_thread = std::thread::spawn(move || {
        for out in outgoing {
            let Ok(mut w) = write_side.lock() else { return };
            match out {
                Outgoing::Silence => {
                    write_silent.store(true, Ordering::SeqCst);
                    write_transport.silenced.add(1);
                    return;
                }
                Outgoing::Bytes(b) => {
                    if w.write_all(&b).and_then(|_| w.flush()).is_err() {
                        return;
                    }
                }
                Outgoing::Close(code) => {
                    if let Some(code) = code {
                        let _ = w.write_all(&wire_io::close_frame(code));
                    }
                    let _ = w.shutdown(Shutdown::Both);
                    return;
                }
            }
        }
    });
    loop {
        match wire_io::read_message(&mut reader) {
            Ok(Some(WsMessage::Text(text))) => {
                let _ = tx.send(Input::WsText { conn, text });
            }
            Ok(Some(WsMessage::Ping(p))) => {
                if silent.load(Ordering::SeqCst) {
                    continue;
                }
                if let Ok(mut w) = pongs.lock() {
                    let _ = w.write_all(&wire_io::frame(0xA, &p));
                }
            }
            Ok(Some(WsMessage::Binary(_) | WsMessage::Pong(_))) => {}
            Ok(Some(WsMessage::Close(code))) => {
                if let Ok(mut w) = pongs.lock() {
                    let _ = w.write_all(&wire_io::close_frame(code.unwrap_or(1000)));
                    let _ = w.shutdown(Shutdown::Both);
                }
                break;
            }
            Ok(None) | Err(_) => break,
        }
    }
    if silent.load(Ordering::SeqCst) {
        transport.abandoned.add(1);
    }
    let _ = tx.send(Input::WsClosed { conn });
    drop(write_thread);
    Ok(())
}

/// A WebSocket the trace names, as bound to a client connection.
struct WsBinding {
    conn: u64,
    writer: Sender<Outgoing>,
    open: bool,
    /// Closed by an injected fault: the client's next upgrade takes its place.
    faulted: bool,
}

struct Director {
    records: Vec<Record>,
    client_ids: Vec<String>,
    options: ServeOptions,
    stop: Arc<AtomicBool>,
    played: Arc<AtomicBool>,
    /// Recorded client id → the client's own.
    bindings: HashMap<String, String>,
    pool: VecDeque<Input>,
    /// Recorded request id → where its answer goes.
    waiting: HashMap<u64, Sender<HttpReply>>,
    ws: HashMap<String, WsBinding>,
    /// Recorded `request_id` → the client's, for REST over WebSocket.
    ws_request_ids: HashMap<String, String>,
    http_seen: usize,
    refused: usize,
    /// The body answering `GET /asterisk/info` asked aside from the trace.
    info_body: String,
    report: ServeReport,
}

impl Director {
    fn new(
        trace: Trace,
        options: ServeOptions,
        stop: Arc<AtomicBool>,
        played: Arc<AtomicBool>,
    ) -> Director {
        let info_body = recorded_info(&trace);
        Director {
            records: trace.records,
            client_ids: trace.meta.client_ids,
            options,
            stop,
            played,
            bindings: HashMap::new(),
            pool: VecDeque::new(),
            waiting: HashMap::new(),
            ws: HashMap::new(),
            ws_request_ids: HashMap::new(),
            http_seen: 0,
            refused: 0,
            info_body,
            report: ServeReport::default(),
        }
    }

    fn run(mut self, rx: Receiver<Input>) -> ServeReport {
        let records = std::mem::take(&mut self.records);
        let mut completed = true;
        for (i, rec) in records.iter().enumerate() {
            let rest = &records[i + 1..];
            self.close_fault_before(rec.seq);
            self.silence_fault_before(rec.seq);
            if let Kind::WsRecv { conn, .. } = &rec.kind
                && !self.ensure_open(conn, rest, &rx, rec.seq)
            {
                completed = false;
                break;
            }
            self.frame_faults_before(rec.seq);
            if !self.play(rec, rest, &rx) {
                completed = false;
                break;
            }
        }
        self.report.completed = completed;
        self.records = records;
        self.played.store(true, Ordering::SeqCst);
        // The trace is over: answer what still comes until stopped.
        while !self.stop.load(Ordering::SeqCst) {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(Input::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Ok(input) => {
                    if let Some(input) = self.answer_info_aside(input) {
                        self.unexpected(input, "the trace is over");
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
        for input in std::mem::take(&mut self.pool) {
            if let Input::WsText { text, .. } = &input {
                self.report
                    .mismatches
                    .push(format!("an unexpected WebSocket frame: {text}"));
            }
        }
        self.report
    }

    /// Plays one record; `false` when the client did not do what the trace
    /// needs (the report says what).
    fn play(&mut self, rec: &Record, rest: &[Record], rx: &Receiver<Input>) -> bool {
        match &rec.kind {
            Kind::Meta(_) => true,
            Kind::WsOpen {
                conn,
                query,
                status,
            } => {
                let expected = format!("seq {}: an events WebSocket upgrade {query:?}", rec.seq);
                let Some(Input::WsUpgrade {
                    conn: client_conn,
                    auth_ok,
                    reply,
                    ..
                }) = self.wait_for(rx, rest, &expected, |i| {
                    matches!(i, Input::WsUpgrade { .. })
                })
                else {
                    return false;
                };
                if *status == 101 && auth_ok {
                    let (out_tx, out_rx) = mpsc::channel();
                    let _ = reply.send(Upgrade::Accept(out_rx));
                    self.ws.insert(
                        conn.clone(),
                        WsBinding {
                            conn: client_conn,
                            writer: out_tx,
                            open: true,
                            faulted: false,
                        },
                    );
                } else if *status == 0 {
                    let _ = reply.send(Upgrade::Drop);
                } else if !auth_ok {
                    let _ = reply.send(Upgrade::Refuse(
                        401,
                        br#"{"message":"Authentication required"}"#.to_vec(),
                    ));
                } else {
                    let _ = reply.send(Upgrade::Refuse(*status, Vec::new()));
                }
                true
            }
            Kind::WsRecv { conn, text } => {
                let text = self.substitute(text);
                self.send_ws(conn, Outgoing::Bytes(wire_io::frame(0x1, text.as_bytes())));
                true
            }
            Kind::WsClose { conn, by, code } => {
                match by.as_str() {
                    "server" => self.close_ws(conn, Some(code.unwrap_or(1000))),
                    "transport" => self.close_ws(conn, None),
                    // The client closes by itself; do not wait for it.
                    _ => {}
                }
                true
            }
            Kind::HttpRequest {
                id,
                method,
                path,
                query,
                body,
            } => {
                let expected = format!("seq {}: {method} {path}", rec.seq);
                let (method, path, query, body) =
                    (method.clone(), path.clone(), query.clone(), body.clone());
                let recorded_401 = rest.iter().any(|r| {
                    matches!(&r.kind, Kind::HttpResponse { id: rid, status: 401, .. } if rid == id)
                });
                loop {
                    let ids = self.ids();
                    let found = self.wait_for(rx, rest, &expected, |i| {
                        if let Input::Http { req, .. } = i {
                            matches_http(&ids, req, &method, &path, &query, &body)
                        } else {
                            false
                        }
                    });
                    let Some(Input::Http {
                        req,
                        auth_ok,
                        reply,
                    }) = found
                    else {
                        return false;
                    };
                    // Like Asterisk: wrong credentials get 401, and the trace
                    // still waits for the request, unless it recorded that 401.
                    if !auth_ok && !recorded_401 {
                        self.report
                            .mismatches
                            .push(format!("{expected}: the client's credentials are wrong"));
                        let _ = reply.send(HttpReply::Answer {
                            status: 401,
                            content_type: Some("application/json".into()),
                            body: br#"{"message":"Authentication required"}"#.to_vec(),
                            delay: Duration::ZERO,
                            stall: false,
                        });
                        continue;
                    }
                    self.bind_http(&req, &path, &query);
                    self.waiting.insert(*id, reply);
                    return true;
                }
            }
            Kind::HttpResponse { id, status, body } => {
                let Some(reply) = self.waiting.remove(id) else {
                    return true;
                };
                let n = self.http_seen;
                self.http_seen += 1;
                let faults = &self.options.faults;
                let status = match faults.error_status {
                    Some((at, s)) if at == n => s,
                    _ if *status == 0 => 503,
                    _ => *status,
                };
                let (content_type, bytes) = match body {
                    Body::None => (None, Vec::new()),
                    Body::Json(_) => (
                        Some("application/json".to_string()),
                        self.substitute(&String::from_utf8_lossy(&body.bytes()))
                            .into_bytes(),
                    ),
                    Body::Text(t) => (Some("text/plain".to_string()), t.clone().into_bytes()),
                    Body::Binary(b) => (Some("application/octet-stream".to_string()), b.clone()),
                };
                let bytes = if faults.error_status.is_some_and(|(at, _)| at == n) {
                    format!(r#"{{"message":"injected fault: status {status}"}}"#).into_bytes()
                } else {
                    bytes
                };
                let _ = reply.send(HttpReply::Answer {
                    status,
                    content_type,
                    body: bytes,
                    delay: faults.response_delay,
                    stall: faults.stall_response == Some(n),
                });
                self.report.requests_answered += 1;
                true
            }
            Kind::WsSend { conn, text } => {
                let expected = format!("seq {}: a WebSocket frame {text}", rec.seq);
                let recorded = text.clone();
                let ws_conn = self.ws.get(conn).map(|b| b.conn);
                let found = self.wait_for(rx, rest, &expected, |i| match i {
                    Input::WsText { conn: c, text } => {
                        Some(*c) == ws_conn && matches_rest_frame(&recorded, text)
                    }
                    _ => false,
                });
                let Some(Input::WsText { text: client, .. }) = found else {
                    return false;
                };
                if let (Ok(want), Ok(got)) =
                    (parse_rest_request(&recorded), parse_rest_request(&client))
                {
                    self.bind_http_parts(&want.path, &got.path, &want.query, &got.query);
                }
                let id = |t: &str| {
                    let v = serde_json::from_str::<Value>(t).ok()?;
                    v.get("request_id")?.as_str().map(str::to_string)
                };
                if let (Some(want), Some(got)) = (id(&recorded), id(&client)) {
                    self.ws_request_ids.insert(want, got);
                }
                true
            }
        }
    }

    /// A connection closed by an injected fault: wait for the client to
    /// reconnect before playing its next frame.
    fn ensure_open(&mut self, conn: &str, rest: &[Record], rx: &Receiver<Input>, seq: u64) -> bool {
        let down = |d: &Director| d.ws.get(conn).is_some_and(|b| b.faulted && !b.open);
        let deadline = Instant::now() + self.options.patience;
        while down(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Input::Stop) | Err(_) => {
                    self.report
                        .mismatches
                        .push(format!("seq {seq}: the client did not reconnect {conn}"));
                    return false;
                }
                Ok(input) => self.triage(input, rest, "a reconnect"),
            }
        }
        true
    }

    fn close_fault_before(&mut self, seq: u64) {
        if let Some((at, with_frame)) = self.options.faults.close_ws_before
            && at == seq
        {
            let open: Vec<String> = self
                .ws
                .iter()
                .filter(|(_, b)| b.open)
                .map(|(k, _)| k.clone())
                .collect();
            for name in open {
                self.close_ws(&name, with_frame.then_some(1001));
                if let Some(b) = self.ws.get_mut(&name) {
                    b.faulted = true;
                }
            }
        }
    }

    fn silence_fault_before(&mut self, seq: u64) {
        if self.options.faults.silence_ws_before != Some(seq) {
            return;
        }
        for binding in self.ws.values_mut().filter(|b| b.open) {
            let _ = binding.writer.send(Outgoing::Silence);
            binding.open = false;
            binding.faulted = true;
        }
    }

    fn frame_faults_before(&mut self, seq: u64) {
        let f = self.options.faults.clone();
        if f.malformed_frame_before == Some(seq) {
            self.send_first_open(b"{this is not json".to_vec());
        }
        if f.unknown_event_before == Some(seq) {
            let event = json!({"type": "FromTheFuture", "application": "fake", "timestamp": "2030-01-01T00:00:00.000+0000", "novel": {"x": 1}});
            self.send_first_open(event.to_string().into_bytes());
        }
    }

    fn send_first_open(&mut self, text: Vec<u8>) {
        if let Some(name) = self.ws.iter().find(|(_, b)| b.open).map(|(k, _)| k.clone()) {
            self.send_ws(&name, Outgoing::Bytes(wire_io::frame(0x1, &text)));
        }
    }

    fn send_ws(&mut self, conn: &str, out: Outgoing) {
        if let Some(b) = self.ws.get(conn)
            && b.open
            && b.writer.send(out).is_ok()
        {
            self.report.frames_sent += 1;
        }
    }

    fn close_ws(&mut self, conn: &str, code: Option<u16>) {
        if let Some(b) = self.ws.get_mut(conn) {
            let _ = b.writer.send(Outgoing::Close(code));
            b.open = false;
        }
    }

    /// Takes the first input satisfying `want`, from the pool or the client,
    /// handling everything else on the way.
    fn wait_for(
        &mut self,
        rx: &Receiver<Input>,
        rest: &[Record],
        expected: &str,
        mut want: impl FnMut(&Input) -> bool,
    ) -> Option<Input> {
        if let Some(i) = self.pool.iter().position(&mut want) {
            return self.pool.remove(i);
        }
        let deadline = Instant::now() + self.options.patience;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let input = match rx.recv_timeout(left) {
                Ok(Input::Stop) | Err(RecvTimeoutError::Disconnected) => {
                    self.report
                        .mismatches
                        .push(format!("stopped while waiting for {expected}"));
                    return None;
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.report
                        .mismatches
                        .push(format!("the client never sent {expected}"));
                    return None;
                }
                Ok(input) => input,
            };
            if want(&input) {
                return Some(input);
            }
            self.triage(input, rest, expected);
        }
    }

    /// An input that is not the one awaited: keep it for later records,
    /// serve it as a reconnect, or refuse it.
    fn triage(&mut self, input: Input, rest: &[Record], expected: &str) {
        let Some(input) = self.answer_info_aside(input) else {
            return;
        };
        match input {
            Input::WsClosed { conn } => {
                for b in self.ws.values_mut() {
                    if b.conn == conn {
                        b.open = false;
                    }
                }
            }
            Input::WsUpgrade {
                conn,
                reply,
                auth_ok,
                ..
            } => {
                if self.refused < self.options.faults.refuse_connections {
                    self.refused += 1;
                    let _ = reply.send(Upgrade::Drop);
                    return;
                }
                let faulted = self
                    .ws
                    .iter()
                    .find(|(_, b)| b.faulted && !b.open)
                    .map(|(k, _)| k.clone());
                match faulted {
                    Some(name) if auth_ok => {
                        let (out_tx, out_rx) = mpsc::channel();
                        let _ = reply.send(Upgrade::Accept(out_rx));
                        self.ws.insert(
                            name,
                            WsBinding {
                                conn,
                                writer: out_tx,
                                open: true,
                                faulted: false,
                            },
                        );
                    }
                    _ if rest.iter().any(|r| matches!(r.kind, Kind::WsOpen { .. })) => {
                        self.pool.push_back(Input::WsUpgrade {
                            conn,
                            reply,
                            auth_ok,
                        })
                    }
                    _ => {
                        let _ = reply.send(Upgrade::Refuse(
                            500,
                            br#"{"message":"no WebSocket expected here"}"#.to_vec(),
                        ));
                        self.report.mismatches.push(format!(
                            "an unexpected WebSocket upgrade while waiting for {expected}"
                        ));
                    }
                }
            }
            Input::Http {
                req,
                auth_ok,
                reply,
            } => {
                let ids = self.ids();
                let later = rest.iter().any(|r| match &r.kind {
                    Kind::HttpRequest {
                        method,
                        path,
                        query,
                        body,
                        ..
                    } => matches_http(&ids, &req, method, path, query, body),
                    _ => false,
                });
                if later {
                    self.pool.push_back(Input::Http {
                        req,
                        auth_ok,
                        reply,
                    });
                } else {
                    self.unexpected(
                        Input::Http {
                            req,
                            auth_ok,
                            reply,
                        },
                        &format!("expected {expected}"),
                    );
                }
            }
            Input::WsText { .. } => self.pool.push_back(input),
            Input::Stop => {}
        }
    }

    /// Answers `GET /asterisk/info` that is not the request the trace
    /// awaits, over HTTP or as a `RESTRequest` frame: clients ask it on
    /// their own (ours each time the WebSocket opens, to learn the build).
    /// Anything else is handed back.
    fn answer_info_aside(&mut self, input: Input) -> Option<Input> {
        match input {
            Input::Http {
                req,
                auth_ok: true,
                reply,
            } if req.method == "GET" && req.path == "/ari/asterisk/info" => {
                let _ = reply.send(HttpReply::Answer {
                    status: 200,
                    content_type: Some("application/json".into()),
                    body: self.info_body.clone().into_bytes(),
                    delay: Duration::ZERO,
                    stall: false,
                });
                None
            }
            Input::WsText { conn, text } => {
                let info = parse_rest_request(&text)
                    .ok()
                    .filter(|r| r.method == "GET" && r.path == "asterisk/info");
                let binding = self.ws.values().find(|b| b.conn == conn && b.open);
                let (Some(info), Some(binding)) = (info, binding) else {
                    return Some(Input::WsText { conn, text });
                };
                let frame = json!({
                    "type": "RESTResponse",
                    "transaction_id": info.request_id,
                    "request_id": info.request_id,
                    "status_code": 200,
                    "reason_phrase": "OK",
                    "uri": "asterisk/info",
                    "content_type": "application/json",
                    "message_body": self.info_body,
                    "application": "",
                    "timestamp": "2026-01-01T00:00:00.000+0000",
                })
                .to_string();
                let _ = binding
                    .writer
                    .send(Outgoing::Bytes(wire_io::frame(0x1, frame.as_bytes())));
                None
            }
            other => Some(other),
        }
    }

    fn unexpected(&mut self, input: Input, why: &str) {
        match input {
            Input::Http { req, reply, .. } => {
                let what = format!("{} {}", req.method, req.path);
                let message = format!("fake Asterisk: {what} does not match the trace: {why}");
                self.report.mismatches.push(message.clone());
                let _ = reply.send(HttpReply::Answer {
                    status: 500,
                    content_type: Some("application/json".into()),
                    body: json!({ "message": message }).to_string().into_bytes(),
                    delay: Duration::ZERO,
                    stall: false,
                });
            }
            Input::WsUpgrade { reply, .. } => {
                let _ = reply.send(Upgrade::Refuse(
                    500,
                    br#"{"message":"the trace is over"}"#.to_vec(),
                ));
            }
            Input::WsText { text, .. } => self
                .report
                .mismatches
                .push(format!("an unexpected WebSocket frame ({why}): {text}")),
            Input::WsClosed { .. } | Input::Stop => {}
        }
    }

    fn ids(&self) -> Ids {
        Ids {
            client_ids: self.client_ids.clone(),
            bindings: self.bindings.clone(),
        }
    }

    fn bind_http(&mut self, req: &HttpRequest, path: &str, query: &[(String, String)]) {
        let got_path = req
            .path
            .strip_prefix("/ari/")
            .unwrap_or(&req.path)
            .to_string();
        let want_path = path.strip_prefix("/ari/").unwrap_or(path).to_string();
        self.bind_http_parts(&want_path, &got_path, query, &req.query_pairs());
    }

    fn bind_http_parts(
        &mut self,
        want_path: &str,
        got_path: &str,
        want_q: &[(String, String)],
        got_q: &[(String, String)],
    ) {
        for (w, g) in want_path.split('/').zip(got_path.split('/')) {
            let (w, g) = (decode(w), decode(g));
            self.bind(&w, &g);
        }
        for (k, w) in want_q {
            if let Some((_, g)) = got_q.iter().find(|(gk, _)| gk == k) {
                self.bind(w, g);
            }
        }
    }

    fn bind(&mut self, recorded: &str, client: &str) {
        if recorded != client
            && self.client_ids.iter().any(|c| c == recorded)
            && !self.bindings.contains_key(recorded)
        {
            self.bindings
                .insert(recorded.to_string(), client.to_string());
        }
    }

    /// The recorded text with bound client ids and request ids put in.
    fn substitute(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (recorded, client) in self.bindings.iter().chain(self.ws_request_ids.iter()) {
            if recorded != client {
                out = replace_token(&out, recorded, client);
            }
        }
        out
    }
}

/// The trace's own answer to `GET /asterisk/info`, or one naming the
/// recorded release.
fn recorded_info(trace: &Trace) -> String {
    let asked: Vec<u64> = trace
        .records
        .iter()
        .filter_map(|r| match &r.kind {
            Kind::HttpRequest {
                id,
                method,
                path,
                query,
                ..
            } if method == "GET" && path == "/ari/asterisk/info" && query.is_empty() => Some(*id),
            _ => None,
        })
        .collect();
    let answered = trace.records.iter().find_map(|r| match &r.kind {
        Kind::HttpResponse {
            id,
            status: 200,
            body: Body::Json(v),
        } if asked.contains(id) => Some(v.to_string()),
        _ => None,
    });
    answered.unwrap_or_else(|| {
        json!({"system": {"version": trace.meta.asterisk_version, "entity_id": "02:00:00:00:00:01"}})
            .to_string()
    })
}

fn decode(s: &str) -> String {
    ari_proto::encode::percent_decode(s).unwrap_or_else(|| s.to_string())
}

/// Replaces `from` where it stands as a whole token (not inside a longer id).
fn replace_token(text: &str, from: &str, to: &str) -> String {
    let is_id = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(from) {
        let before = if i > 0 {
            rest[..i].chars().last()
        } else {
            out.chars().last()
        };
        let after = rest[i + from.len()..].chars().next();
        out.push_str(&rest[..i]);
        if before.is_some_and(is_id) || after.is_some_and(is_id) {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        rest = &rest[i + from.len()..];
    }
    out.push_str(rest);
    out
}

/// Whether a client request is the recorded one (client-chosen ids may differ).
fn matches_http(
    ids: &Ids,
    req: &HttpRequest,
    method: &str,
    path: &str,
    query: &[(String, String)],
    body: &Body,
) -> bool {
    if req.method != method {
        return false;
    }
    let want: Vec<&str> = path.split('/').collect();
    let got: Vec<&str> = req.path.split('/').collect();
    if want.len() != got.len()
        || want
            .iter()
            .zip(&got)
            .any(|(w, g)| !ids.value_matches(&decode(w), &decode(g)))
    {
        return false;
    }
    // Parameters may travel in the query or as body keys.
    let json_body: Option<Value> = serde_json::from_slice(&req.body).ok();
    let (mut got_params, got_rest) = body_params(json_body.as_ref());
    got_params.extend(
        req.query_pairs()
            .into_iter()
            .filter(|(k, _)| k != "api_key"),
    );
    let (mut want_params, want_rest) = body_params(body.json());
    want_params.extend(query.iter().cloned());
    if want_params.len() != got_params.len() {
        return false;
    }
    let mut used = vec![false; got_params.len()];
    for (k, w) in &want_params {
        let hit = got_params
            .iter()
            .enumerate()
            .position(|(i, (gk, g))| !used[i] && gk == k && ids.value_matches(w, g));
        match hit {
            Some(i) => used[i] = true,
            None => return false,
        }
    }
    match body {
        Body::Text(t) => req.body == t.as_bytes(),
        _ => match (&want_rest, &got_rest) {
            (None, None) => true,
            (Some(w), Some(g)) => w == g,
            (None, Some(Value::Object(m))) | (Some(Value::Object(m)), None) => m.is_empty(),
            _ => false,
        },
    }
}

/// The client-chosen ids of a trace and what they are bound to so far.
#[derive(Clone, Default)]
struct Ids {
    client_ids: Vec<String>,
    bindings: HashMap<String, String>,
}

impl Ids {
    /// Whether the client's value stands for the recorded one: equal, bound
    /// to it, or a client-chosen id not bound yet. Bound ids inside longer
    /// values (`channel:ID`) are substituted first.
    fn value_matches(&self, recorded: &str, client: &str) -> bool {
        if recorded == client || self.bindings.get(recorded).is_some_and(|b| b == client) {
            return true;
        }
        if self.client_ids.iter().any(|c| c == recorded) && !self.bindings.contains_key(recorded) {
            return !self.bindings.values().any(|b| b == client);
        }
        let mut substituted = recorded.to_string();
        for (r, c) in &self.bindings {
            substituted = replace_token(&substituted, r, c);
        }
        substituted == client
    }
}

/// Whether a client frame is the recorded `RESTRequest` (request ids differ).
pub(crate) fn matches_rest_frame(recorded: &str, client: &str) -> bool {
    match (parse_rest_request(recorded), parse_rest_request(client)) {
        (Ok(w), Ok(g)) => {
            // Parameters may travel in the query or as keys of the JSON body.
            let params = |query: &[(String, String)], body: Option<&Value>| {
                let (mut all, rest) = body_params(body);
                all.extend(query.iter().cloned());
                all.sort();
                (
                    all,
                    rest.filter(|r| r.as_object().is_none_or(|m| !m.is_empty())),
                )
            };
            w.method == g.method
                && w.path == g.path
                && params(&w.query, w.body.as_ref()) == params(&g.query, g.body.as_ref())
        }
        (Err(_), Err(_)) => {
            // Malformed on purpose: the same text, or the same JSON but for its ids.
            let strip = |t: &str| {
                serde_json::from_str::<Value>(t).ok().map(|mut v| {
                    if let Some(m) = v.as_object_mut() {
                        m.remove("request_id");
                        m.remove("transaction_id");
                    }
                    v
                })
            };
            recorded == client || strip(recorded).is_some_and(|r| Some(r) == strip(client))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_replaced_whole() {
        assert_eq!(
            replace_token(
                r#"{"id":"load-out-1","x":"load-out-10"}"#,
                "load-out-1",
                "mine"
            ),
            r#"{"id":"mine","x":"load-out-10"}"#
        );
        assert_eq!(
            replace_token("channel:pb-1 pb-12 xpb-1", "pb-1", "P"),
            "channel:P pb-12 xpb-1"
        );
    }
}
