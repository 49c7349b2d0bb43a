//! A fake Asterisk for `StasisBroadcast`: applications connect their events
//! WebSocket (`/ari/events?app=NAME`); each call offered goes as a
//! `CallBroadcast` to every connected application whose name starts with
//! the prefix (in an order shuffled per call, as Asterisk does); the first `POST /ari/events/claim?channelId=..&application=..`
//! wins (204) and gets the channel's `StasisStart`, later claims get 409,
//! claims of a call nobody took within the claim timeout get 404. The
//! winner may answer the channel (204, `ChannelStateChange` to `Up`) and
//! hang it up (204, `ChannelHangupRequest`, `StasisEnd`). It counts, per
//! application, what was won and lost, and when each offer went out, for
//! tests, benchmarks and the `broadcast_pool` examples. Loopback only; it
//! stops when dropped.
//!
//! The events are those of a call into the shared Asterisk's `bcast`
//! extension (Asterisk 22.10.1, `StasisBroadcast(3000,^bcast-.*)`), recorded
//! for this fake in `broadcast_call.jsonl` (`CallBroadcast`, the winner's
//! `StasisStart`, and what answering and hanging up sent), with the
//! channel's id, name, caller number and application replaced per call.
//! The 409 and 404 bodies are the ones that Asterisk sent. Like Asterisk with
//! that dialplan, no `CallClaimed` is sent (`StasisBroadcast` suppresses it
//! unless asked), and a claim after a won one is 409 even once the offer
//! has expired. The `ChannelVarset`s of the RTP statistics at hangup are
//! left out. `GET /ari/asterisk/info` gets the answer recorded in
//! `system-info.jsonl`; other requests get 501.

use crate::loopback::{LoopbackServer, Service, is_version_probe};
use conformance::wire_io::{self, HttpRequest, WsMessage};
use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The recorded call: `CallBroadcast`, `StasisStart`, `ChannelStateChange`
/// (answered), `ChannelHangupRequest`, `StasisEnd`, one a line.
const RECORDED: &str = include_str!("broadcast_call.jsonl");
/// What the recorded call's texts say that differs per call.
const RECORDED_ID: &str = "1796475097.11";
const RECORDED_NAME: &str = "PJSIP/loop-in-0000000b";
const RECORDED_NUMBER: &str = "5550999";
const RECORDED_APP: &str = "bcast-capture-26265";
/// Asterisk's answers to a losing and to a late claim.
const CONFLICT: &str = r#"{"message":"Channel has already been claimed by another application"}"#;
const NOT_FOUND: &str = r#"{"message":"Channel not found or not in broadcast state"}"#;

/// How calls are offered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// Every call at once, back to back.
    AllAtOnce,
    /// This many calls a second, evenly spaced.
    PerSecond(f64),
}

/// What one application's claims came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppCounts {
    /// Claims that won (204).
    pub won: u64,
    /// Claims of a call already won (409).
    pub conflict: u64,
    /// Claims of a call whose offer had expired, or of no offered call (404).
    pub not_found: u64,
}

/// What happened to the calls offered so far.
#[derive(Debug, Clone, Default)]
pub struct BroadcastReport {
    /// Calls offered.
    pub offered: usize,
    /// Per application (every one that claimed).
    pub apps: BTreeMap<String, AppCounts>,
    /// Offers whose claim timeout passed with no claim.
    pub unclaimed: usize,
    /// Won calls the winner answered.
    pub answered: usize,
    /// Won calls the winner hung up.
    pub hung_up: usize,
    /// From the first offer to the last hangup or claim answered.
    pub busy: Option<Duration>,
}

impl BroadcastReport {
    /// Claims that won, over all applications: each won call once.
    pub fn won(&self) -> u64 {
        self.apps.values().map(|c| c.won).sum()
    }

    /// Every claim answered (204, 409 and 404).
    pub fn claims(&self) -> u64 {
        self.apps
            .values()
            .map(|c| c.won + c.conflict + c.not_found)
            .sum()
    }
}

/// A running broadcast fake.
pub struct BroadcastServer {
    server: LoopbackServer,
    state: Arc<State>,
}

/// The recorded texts with `{{id}}`, `{{name}}`, `{{number}}` and
/// `{{app}}` where the call's values go.
struct Templates {
    broadcast: String,
    start: String,
    up: String,
    hangup_request: String,
    end: String,
}

impl Templates {
    fn recorded() -> io::Result<Templates> {
        let mut lines = RECORDED.lines().map(|line| {
            line.replace(RECORDED_ID, "{{id}}")
                .replace(RECORDED_NAME, "{{name}}")
                .replace(RECORDED_NUMBER, "{{number}}")
                .replace(RECORDED_APP, "{{app}}")
        });
        let mut next = || {
            lines.next().ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, "broadcast_call.jsonl is short")
            })
        };
        Ok(Templates {
            broadcast: next()?,
            start: next()?,
            up: next()?,
            hangup_request: next()?,
            end: next()?,
        })
    }
}

/// One offered call.
struct Call {
    number: String,
    offered_at: Instant,
    winner: Option<String>,
    expired: bool,
    answered: bool,
    hung_up: bool,
}

/// A connected events WebSocket's application.
struct App {
    name: String,
    connection: u64,
    frames: mpsc::Sender<Vec<u8>>,
}

struct State {
    prefix: String,
    claim_timeout: Duration,
    templates: Templates,
    /// The recorded answer to `GET /asterisk/info`.
    info: Vec<u8>,
    apps: Mutex<Vec<App>>,
    calls: Mutex<HashMap<String, Call>>,
    counts: Mutex<BTreeMap<String, AppCounts>>,
    /// (first offer, last hangup or claim answered).
    busy: Mutex<(Option<Instant>, Option<Instant>)>,
    next_call: AtomicU64,
    next_connection: AtomicU64,
    hung_up: AtomicUsize,
}

impl BroadcastServer {
    /// Listens on a free loopback port; calls go to the applications whose
    /// name starts with `prefix`, and wait `claim_timeout` for a claim (the
    /// shared Asterisk's dialplan waits 3 s).
    pub fn start(prefix: &str, claim_timeout: Duration) -> io::Result<BroadcastServer> {
        let system = conformance::bundled_trace("system-info.jsonl").map_err(io::Error::other)?;
        let info = recorded_answer(&system, "GET", "/ari/asterisk/info").ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "no recorded /asterisk/info")
        })?;
        let state = Arc::new(State {
            prefix: prefix.to_string(),
            claim_timeout,
            templates: Templates::recorded()?,
            info,
            apps: Mutex::default(),
            calls: Mutex::default(),
            counts: Mutex::default(),
            busy: Mutex::default(),
            next_call: AtomicU64::new(0),
            next_connection: AtomicU64::new(0),
            hung_up: AtomicUsize::new(0),
        });
        Ok(BroadcastServer {
            server: LoopbackServer::start(state.clone())?,
            state,
        })
    }

    /// `http://ADDR`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The applications connected now that calls are offered to.
    pub fn connected_apps(&self) -> Vec<String> {
        let apps = self.state.apps.lock().unwrap_or_else(|e| e.into_inner());
        let mut names: Vec<String> = apps
            .iter()
            .filter(|a| a.name.starts_with(&self.state.prefix))
            .map(|a| a.name.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Offers one call from caller number `number` now: a `CallBroadcast`
    /// to every matching application connected. Returns its channel id.
    pub fn offer(&self, number: &str) -> String {
        offer(&self.state, number)
    }

    /// Offers `calls` calls (caller numbers `5550000`, `5550001`, ...) at
    /// `pace`, from a thread of its own, once at least `apps` matching
    /// applications are connected (or 10 s have passed). Returns at once.
    pub fn offer_calls(&self, calls: usize, pace: Pace, apps: usize) {
        let state = self.state.clone();
        let give_up = Instant::now() + Duration::from_secs(10);
        std::thread::spawn(move || {
            while matching_apps(&state) < apps && Instant::now() < give_up {
                std::thread::sleep(Duration::from_millis(1));
            }
            let start = Instant::now();
            for i in 0..calls {
                if let Pace::PerSecond(rate) = pace {
                    let due = start + Duration::from_secs_f64(i as f64 / rate.max(1e-3));
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                }
                offer(&state, &format!("{}", 5_550_000 + i));
            }
        });
    }

    /// When the call on channel `id` was offered.
    pub fn offered_at(&self, id: &str) -> Option<Instant> {
        let calls = self.state.calls.lock().unwrap_or_else(|e| e.into_inner());
        calls.get(id).map(|c| c.offered_at)
    }

    /// The caller number of the call on channel `id`.
    pub fn caller_number(&self, id: &str) -> Option<String> {
        let calls = self.state.calls.lock().unwrap_or_else(|e| e.into_inner());
        calls.get(id).map(|c| c.number.clone())
    }

    /// Each won call's caller number and winning application, in the
    /// order of the calls.
    pub fn winners(&self) -> Vec<(String, String)> {
        let calls = self.state.calls.lock().unwrap_or_else(|e| e.into_inner());
        let mut won: Vec<(&Instant, (String, String))> = calls
            .values()
            .filter_map(|c| Some((&c.offered_at, (c.number.clone(), c.winner.clone()?))))
            .collect();
        won.sort_by_key(|(at, _)| **at);
        won.into_iter().map(|(_, w)| w).collect()
    }

    /// Won calls hung up so far.
    pub fn hung_up(&self) -> usize {
        self.state.hung_up.load(Ordering::SeqCst)
    }

    /// What happened so far.
    pub fn report(&self) -> BroadcastReport {
        let now = Instant::now();
        let mut report = BroadcastReport::default();
        {
            let calls = self.state.calls.lock().unwrap_or_else(|e| e.into_inner());
            report.offered = calls.len();
            for call in calls.values() {
                let expired = call.expired || now > call.offered_at + self.state.claim_timeout;
                report.unclaimed += usize::from(call.winner.is_none() && expired);
                report.answered += usize::from(call.answered);
                report.hung_up += usize::from(call.hung_up);
            }
        }
        report.apps = self
            .state
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Ok(busy) = self.state.busy.lock()
            && let (Some(first), Some(last)) = *busy
        {
            report.busy = Some(last.saturating_duration_since(first));
        }
        report
    }

    /// Whether every call offered so far was hung up by its winner or went
    /// unclaimed.
    pub fn settled(&self) -> bool {
        let report = self.report();
        report.hung_up + report.unclaimed == report.offered
    }

    /// Waits (blocking, checking every 5 ms) until `calls` calls were
    /// offered and [`settled`](Self::settled), or `timeout` passed.
    pub fn wait_settled(&self, calls: usize, timeout: Duration) -> Result<BroadcastReport, String> {
        let give_up = Instant::now() + timeout;
        loop {
            let report = self.report();
            if report.offered >= calls && report.hung_up + report.unclaimed == report.offered {
                return Ok(report);
            }
            if Instant::now() > give_up {
                return Err(format!("not settled within {timeout:?}: {report:?}"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// The recorded answer to the first `method path` of `trace`.
fn recorded_answer(trace: &conformance::trace::Trace, method: &str, path: &str) -> Option<Vec<u8>> {
    use conformance::trace::Kind;
    let id = trace.records.iter().find_map(|r| match &r.kind {
        Kind::HttpRequest {
            id,
            method: m,
            path: p,
            ..
        } if m == method && p == path => Some(*id),
        _ => None,
    })?;
    trace.records.iter().find_map(|r| match &r.kind {
        Kind::HttpResponse { id: i, body, .. } if *i == id => Some(body.bytes()),
        _ => None,
    })
}

fn matching_apps(state: &State) -> usize {
    let apps = state.apps.lock().unwrap_or_else(|e| e.into_inner());
    apps.iter()
        .filter(|a| a.name.starts_with(&state.prefix))
        .count()
}

/// A recorded text for a call, its application `app`, as a frame.
fn call_frame(template: &str, id: &str, number: &str, app: &str) -> Vec<u8> {
    let index: u64 = id
        .rsplit('.')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let text = template
        .replace("{{id}}", id)
        .replace("{{name}}", &format!("PJSIP/loop-in-{index:08x}"))
        .replace("{{number}}", number)
        .replace("{{app}}", app);
    wire_io::frame(0x1, text.as_bytes())
}

fn offer(state: &State, number: &str) -> String {
    let id = format!(
        "1800000000.{}",
        state.next_call.fetch_add(1, Ordering::SeqCst)
    );
    let now = Instant::now();
    if let Ok(mut busy) = state.busy.lock() {
        busy.0.get_or_insert(now);
    }
    // Recorded before the first frame goes: a claim may come back at once.
    if let Ok(mut calls) = state.calls.lock() {
        calls.insert(
            id.clone(),
            Call {
                number: number.to_string(),
                offered_at: now,
                winner: None,
                expired: false,
                answered: false,
                hung_up: false,
            },
        );
    }
    let apps = state.apps.lock().unwrap_or_else(|e| e.into_inner());
    let mut matching: Vec<&App> = apps
        .iter()
        .filter(|a| a.name.starts_with(&state.prefix))
        .collect();
    // Asterisk shuffles the apps for each offer, so that none is always
    // first to hear it; here with a seeded generator, the same every run.
    let mut seed = state.next_call.load(Ordering::SeqCst);
    for i in (1..matching.len()).rev() {
        let j = (splitmix64(&mut seed) % (i as u64 + 1)) as usize;
        matching.swap(i, j);
    }
    for app in matching {
        let frame = call_frame(&state.templates.broadcast, &id, number, &app.name);
        let _ = app.frames.send(frame);
    }
    id
}

/// The next number of a SplitMix64 sequence.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Sends `template`, filled for call `id`, to application `app`'s newest
/// WebSocket.
fn send_to(state: &State, app: &str, template: &str, id: &str, number: &str) {
    let apps = state.apps.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(a) = apps.iter().rev().find(|a| a.name == app) {
        let _ = a.frames.send(call_frame(template, id, number, app));
    }
}

fn count(state: &State, app: &str, what: impl FnOnce(&mut AppCounts)) {
    if let Ok(mut counts) = state.counts.lock() {
        what(counts.entry(app.to_string()).or_default());
    }
}

/// What a channel request does to a won call.
enum ChannelOp {
    Answer,
    Hangup,
}

impl State {
    /// Notes that something was answered now.
    fn note_busy(&self) {
        if let Ok(mut busy) = self.busy.lock() {
            busy.1 = Some(Instant::now());
        }
    }

    fn claim(&self, req: &HttpRequest, writer: &mut TcpStream) -> io::Result<()> {
        let pairs = req.query_pairs();
        let param = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let (Some(id), Some(app)) = (param("channelId"), param("application")) else {
            let body = br#"{"message":"Missing required parameter"}"#;
            return wire_io::write_response(writer, 400, Some("application/json"), body);
        };
        let outcome = {
            let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
            match calls.get_mut(&id) {
                None => Err(404),
                Some(call) if call.winner.is_some() => Err(409),
                Some(call)
                    if call.expired || Instant::now() > call.offered_at + self.claim_timeout =>
                {
                    call.expired = true;
                    Err(404)
                }
                Some(call) => {
                    call.winner = Some(app.clone());
                    Ok(call.number.clone())
                }
            }
        };
        self.note_busy();
        match outcome {
            Ok(number) => {
                count(self, &app, |c| c.won += 1);
                wire_io::write_response(writer, 204, None, b"")?;
                send_to(self, &app, &self.templates.start, &id, &number);
                Ok(())
            }
            Err(409) => {
                count(self, &app, |c| c.conflict += 1);
                wire_io::write_response(writer, 409, Some("application/json"), CONFLICT.as_bytes())
            }
            Err(status) => {
                count(self, &app, |c| c.not_found += 1);
                let body = NOT_FOUND.as_bytes();
                wire_io::write_response(writer, status, Some("application/json"), body)
            }
        }
    }

    fn channel(&self, id: &str, op: ChannelOp, writer: &mut TcpStream) -> io::Result<()> {
        let found = {
            let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
            match calls.get_mut(id) {
                Some(call) if !call.hung_up && call.winner.is_some() => {
                    match op {
                        ChannelOp::Answer => call.answered = true,
                        ChannelOp::Hangup => call.hung_up = true,
                    }
                    call.winner.clone().map(|w| (w, call.number.clone()))
                }
                _ => None,
            }
        };
        let Some((app, number)) = found else {
            let body = br#"{"message":"Channel not found"}"#;
            return wire_io::write_response(writer, 404, Some("application/json"), body);
        };
        wire_io::write_response(writer, 204, None, b"")?;
        let t = &self.templates;
        match op {
            ChannelOp::Answer => send_to(self, &app, &t.up, id, &number),
            ChannelOp::Hangup => {
                send_to(self, &app, &t.hangup_request, id, &number);
                send_to(self, &app, &t.end, id, &number);
                self.note_busy();
                self.hung_up.fetch_add(1, Ordering::SeqCst);
            }
        }
        Ok(())
    }
}

impl Service for State {
    fn http(&self, req: &HttpRequest, writer: &mut TcpStream) -> io::Result<()> {
        if is_version_probe(req) {
            return wire_io::write_response(writer, 200, Some("application/json"), &self.info);
        }
        let below = req.path.strip_prefix("/ari/channels/");
        let parts: Vec<&str> = below.map(|p| p.split('/').collect()).unwrap_or_default();
        match (req.method.as_str(), req.path.as_str(), parts.as_slice()) {
            ("POST", "/ari/events/claim", _) => self.claim(req, writer),
            ("POST", _, [id, "answer"]) => self.channel(id, ChannelOp::Answer, writer),
            ("DELETE", _, [id]) => self.channel(id, ChannelOp::Hangup, writer),
            _ => {
                let body = br#"{"message":"Not implemented by the broadcast fake"}"#;
                wire_io::write_response(writer, 501, Some("application/json"), body)
            }
        }
    }

    fn websocket(
        &self,
        request: &HttpRequest,
        mut reader: BufReader<TcpStream>,
        mut writer: TcpStream,
    ) -> io::Result<()> {
        let connection = self.next_connection.fetch_add(1, Ordering::SeqCst);
        let names: Vec<String> = request
            .query_pairs()
            .into_iter()
            .filter(|(k, _)| k == "app")
            .flat_map(|(_, v)| v.split(',').map(str::to_string).collect::<Vec<_>>())
            .collect();
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        if let Ok(mut apps) = self.apps.lock() {
            for name in names {
                apps.push(App {
                    name,
                    connection,
                    frames: tx.clone(),
                });
            }
        }
        // The client's frames: its close ends the connection (an empty
        // frame tells the writer below).
        let closer = tx.clone();
        drop(tx);
        std::thread::spawn(move || {
            loop {
                match wire_io::read_message(&mut reader) {
                    Ok(Some(WsMessage::Close(code))) => {
                        let _ = closer.send(wire_io::close_frame(code.unwrap_or(1000)));
                        break;
                    }
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
            let _ = closer.send(Vec::new());
        });
        // What waits goes out in one write.
        let outcome = (|| {
            let mut batch = Vec::new();
            while let Ok(frame) = rx.recv() {
                let mut end = frame.is_empty();
                batch.extend_from_slice(&frame);
                while !end && let Ok(more) = rx.try_recv() {
                    end = more.is_empty();
                    batch.extend_from_slice(&more);
                }
                writer.write_all(&batch)?;
                batch.clear();
                if end {
                    break;
                }
            }
            Ok(())
        })();
        if let Ok(mut apps) = self.apps.lock() {
            apps.retain(|a| a.connection != connection);
        }
        outcome
    }
}
