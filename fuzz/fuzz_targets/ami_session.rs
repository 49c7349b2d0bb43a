//! An AMI session driven by an arbitrary script of inputs: bytes from
//! Asterisk cut at arbitrary points, connects, failures and closes, actions
//! (event lists, `Command`, asynchronous `Originate`, anything), and a
//! virtual clock that jumps. The session must not panic, must answer every
//! action it accepted exactly once (at the latest when closed), must never
//! ask to be woken at or before a time it was just told about, and must hold
//! nothing but a bounded remainder once closed.
//!
//! The input is a list of records separated by `\0` bytes (so that the
//! committed seeds, made from recorded traces, stay readable). The first
//! byte sets the configuration; each record is an opcode and its payload:
//!
//! | record | input |
//! |---|---|
//! | `C` | `connect(now)` |
//! | `O` | `handle_connected(now)` |
//! | `X` | `handle_connect_failed(now)` |
//! | `Z` | `handle_closed(now)` |
//! | `S` bytes | Asterisk writes `bytes`; a `\x01` followed by a byte `n` stands for the ActionID of the `n`-th action (from 1) the session wrote |
//! | `D` [n] | the client reads up to `n` bytes (all if `n` is missing or 0) of what Asterisk wrote |
//! | `T` [hi lo] | the clock moves on by `hi * 256 + lo` ms (1 s without a payload), then `handle_timeout(now)` |
//! | `W` | the clock jumps to `poll_timeout()`, then `handle_timeout(now)` |
//! | `A` text | `send` of an action: `Action: Name` and `Header: value` lines (an `ActionID` line is left out: the session gives its own) |
//! | `P` k | `send` of a common action: `Ping`, `Command`, `CoreShowChannels`, `Originate` with `Async: true`, `Originate`, `Status`, `Events`, `Logoff`, `QueueStatus` |
//! | `F` k | `set_filters` with one of five lists: none, `Event: Hangup`, that and `!Event: VarSet`, `Event: Newchannel`, a `MatchCriteria` filter |
//! | `Q` | `close(now)` |
#![no_main]

use ami_proto::{
    Action, ActionId, Config, Decoder, EventFilter, EventMask, Frame, LoginAuth, Output, Session,
    Transmit,
};
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// The decoder's limit on one message here: small, so that the fuzzer
/// reaches it.
const MAX_MESSAGE: usize = 4096;

fn config(flags: u8) -> Config {
    let mut config = Config::new("127.0.0.1", "admin", "amp111").unwrap();
    config.seed = 7;
    config.auth = match flags & 1 {
        0 => LoginAuth::Challenge,
        _ => LoginAuth::Plain,
    };
    config.ping_interval = (flags & 2 != 0).then(|| Duration::from_secs(20));
    config.learn_server_version = flags & 4 != 0;
    if flags & 8 != 0 {
        config.filters = vec!["Event: Hangup".into(), "!Event: VarSet".into()];
    }
    config.events = match (flags >> 4) & 3 {
        0 => EventMask::All,
        1 => EventMask::Off,
        _ => EventMask::Classes(vec!["call".into(), "system".into()]),
    };
    config.max_message = MAX_MESSAGE;
    config
}

/// Parses `Action: Name` / `Header: value` lines into an action.
fn action(text: &[u8]) -> Action {
    let text = String::from_utf8_lossy(text);
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next().unwrap_or_default();
    let name = first.strip_prefix("Action:").unwrap_or(first).trim();
    let mut action = Action::new(name);
    for line in lines.filter(|l| !l.is_empty()) {
        let (n, v) = line.split_once(':').unwrap_or((line, ""));
        if !n.eq_ignore_ascii_case("ActionID") {
            action = action.header(n, v.strip_prefix(' ').unwrap_or(v));
        }
    }
    action
}

fn filters(k: u8) -> Vec<EventFilter> {
    match k % 5 {
        0 => Vec::new(),
        1 => vec!["Event: Hangup".into()],
        2 => vec!["Event: Hangup".into(), "!Event: VarSet".into()],
        3 => vec!["Event: Newchannel".into()],
        _ => vec![EventFilter::criteria("name(Hangup)", "PJSIP/")],
    }
}

fn common(k: u8) -> Action {
    match k % 9 {
        0 => Action::new("Ping"),
        1 => Action::new("Command").header("Command", "core show channels"),
        2 => Action::new("CoreShowChannels"),
        3 => Action::new("Originate")
            .header("Channel", "PJSIP/echo@loop")
            .header("Application", "Wait")
            .header("Data", "30")
            .header("Timeout", "2000")
            .header("Async", "true"),
        4 => Action::new("Originate")
            .header("Channel", "PJSIP/echo@loop")
            .header("Application", "Wait"),
        5 => Action::new("Status"),
        6 => Action::new("Events").header("EventMask", "off"),
        7 => Action::new("Logoff"),
        _ => Action::new("QueueStatus"),
    }
}

struct Run {
    s: Session,
    now: Instant,
    /// ActionIDs of what the session wrote, in order.
    wire_ids: Vec<String>,
    written: Decoder,
    /// What Asterisk wrote and the client has not read yet.
    wire: Vec<u8>,
    /// Actions accepted and not answered yet.
    waiting: HashSet<ActionId>,
    /// The most bytes handed to the session at once.
    biggest_read: usize,
}

impl Run {
    fn send(&mut self, action: &Action) {
        if let Ok(id) = self.s.send(action, self.now) {
            assert!(self.waiting.insert(id), "{id:?} given twice");
        }
    }

    /// Takes everything out of the session, checking it on the way.
    fn drain(&mut self) {
        while let Some(t) = self.s.poll_transmit() {
            if let Transmit::Send(bytes) = t {
                self.written.feed(&bytes);
                while let Ok(Some(Frame::Message(m))) = self.written.next_frame() {
                    let id = m.action_id().map(|id| id.to_string());
                    self.wire_ids.push(id.unwrap_or_default());
                }
            }
        }
        while let Some(output) = self.s.poll_output() {
            if let Output::Answer { id, .. } = output {
                assert!(
                    self.waiting.remove(&id),
                    "{id:?} answered twice, or never sent"
                );
            }
        }
        if !self.waiting.is_empty() {
            assert!(
                self.s.poll_timeout().is_some(),
                "actions wait for an answer but the session has no deadline"
            );
        }
    }

    fn timeout(&mut self) {
        let now = self.now;
        self.s.handle_timeout(now);
        if let Some(at) = self.s.poll_timeout() {
            assert!(
                at > now,
                "after handle_timeout({now:?}) the next deadline is {at:?}: the driver would spin"
            );
        }
    }

    /// `bytes` with each `\x01 n` replaced by the `n`-th ActionID written.
    fn substitute(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == 1 && i + 1 < bytes.len() {
                let n = usize::from(bytes[i + 1]);
                match n.checked_sub(1).and_then(|n| self.wire_ids.get(n)) {
                    Some(id) => out.extend_from_slice(id.as_bytes()),
                    None => out.extend_from_slice(b"unknown-1"),
                }
                i += 2;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        out
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, script)) = data.split_first() else {
        return;
    };
    let config = config(flags);
    let s = Session::new(config).unwrap();
    // What an idle session takes to show; a closed one holds little more.
    let base = format!("{s:?}").len();
    let mut run = Run {
        s,
        now: Instant::now(),
        wire_ids: Vec::new(),
        written: Decoder::for_actions(1 << 20),
        wire: Vec::new(),
        waiting: HashSet::new(),
        biggest_read: 0,
    };
    for record in script.split(|&b| b == 0).take(2000) {
        let Some((&op, payload)) = record.split_first() else {
            continue;
        };
        let now = run.now;
        match op {
            b'C' => run.s.connect(now),
            b'O' => run.s.handle_connected(now),
            b'X' => run.s.handle_connect_failed("refused", now),
            b'Z' => run.s.handle_closed("reset by peer", now),
            b'S' => {
                let bytes = run.substitute(payload);
                run.wire.extend_from_slice(&bytes);
            }
            b'D' => {
                let n = match payload.first() {
                    Some(&n) if n > 0 => usize::from(n).min(run.wire.len()),
                    _ => run.wire.len(),
                };
                let bytes: Vec<u8> = run.wire.drain(..n).collect();
                run.biggest_read = run.biggest_read.max(bytes.len());
                run.s.handle_bytes(&bytes, now);
            }
            b'T' => {
                let ms = match payload {
                    [hi, lo, ..] => u64::from(*hi) << 8 | u64::from(*lo),
                    [lo] => u64::from(*lo),
                    [] => 1000,
                };
                run.now += Duration::from_millis(ms);
                run.timeout();
            }
            b'W' => {
                if let Some(at) = run.s.poll_timeout() {
                    run.now = run.now.max(at);
                }
                run.timeout();
            }
            b'A' => run.send(&action(payload)),
            b'P' => run.send(&common(payload.first().copied().unwrap_or(0))),
            b'F' => {
                let filters = filters(payload.first().copied().unwrap_or(0));
                run.s.set_filters(filters, now).expect("writable filters");
            }
            b'Q' => run.s.close(now),
            _ => {}
        }
        run.drain();
    }
    // Closing answers whatever still waits, and leaves little behind: the
    // configuration, the last banner and at most one message's bytes.
    run.s.close(run.now);
    run.drain();
    assert!(
        run.waiting.is_empty(),
        "closed, and these actions never got an answer: {:?}",
        run.waiting
    );
    assert!(run.s.send(&Action::new("Ping"), run.now).is_err());
    let left = format!("{:?}", run.s).len();
    let bound = base + 8 * 1024 + 4 * (MAX_MESSAGE + run.biggest_read);
    assert!(
        left <= bound,
        "a closed session still holds {left} bytes of state (bound {bound})"
    );
});
