//! A fake Asterisk for FastAGI: plays Asterisk's side of a recorded
//! FastAGI trace (`traces/agi/FORMAT.md`) against a FastAGI server under
//! test, with faults injected on demand ([`AgiFaults`]).
//!
//! In FastAGI, Asterisk is the TCP client. For one recorded connection the
//! player connects to the server, writes the recorded environment block,
//! then walks the connection's records in their recorded order:
//!
//! - a recorded command (`send`): reads one line from the server and
//!   compares it, byte for byte, with the recorded line (a difference is a
//!   [`Mismatch`]; the player goes on as recorded either way);
//! - Asterisk's bytes (`recv`): writes them exactly as recorded, so replies,
//!   `100` interim lines, `520-` usage blocks and unsolicited `HANGUP` lines
//!   keep their recorded place among the commands;
//! - the script's close: waits for the end of the server's stream (lines
//!   sent instead are [`extra`](AgiPlayReport::extra)), then goes on with
//!   what Asterisk wrote after it (one more `HANGUP` line);
//! - Asterisk's close: shuts its sending side, as Asterisk closed the
//!   connection, and reads until the server closes too (what the server
//!   writes then, Asterisk never read: [`after_close`](AgiPlayReport::after_close)).
//!
//! Everything is blocking `std::net`, with a read timeout
//! ([`AgiPlayOptions::read_timeout`]) so that a server that stops talking
//! fails a test instead of hanging it.
//!
//! ```no_run
//! use conformance::agi_check::AgiTrace;
//! use conformance::agi_serve::{AgiPlayOptions, play_all};
//! use std::path::Path;
//!
//! let trace = AgiTrace::read(Path::new("traces/agi/agi-basics.jsonl")).unwrap();
//! let server = "127.0.0.1:4573".parse().unwrap(); // the FastAGI server under test
//! for report in play_all(&trace, server, &AgiPlayOptions::default()) {
//!     assert!(report.is_clean(), "{report}");
//! }
//! ```

use crate::agi_check::{AgiKind, AgiRecord, AgiTrace};
use std::fmt;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A line that is no AGI reply, for [`AgiFaults::garbage_before_reply`].
pub const NOT_A_REPLY: &[u8] = b"this line is not an AGI reply\n";

/// The longest line the player reads from a server before it takes what it
/// has as one line (Asterisk's own limit is far lower; recorded lines can
/// exceed Asterisk's 8191 bytes on purpose).
const MAX_READ_LINE: usize = 1 << 20;

/// Faults to inject into every connection played. Commands are counted per
/// connection, from 1: "the N-th command" is the N-th line the server sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgiFaults {
    /// Write `HANGUP\n` just after reading the N-th command, before any of
    /// the bytes recorded after it (its reply).
    pub hangup_before_reply: Option<usize>,
    /// Write these bytes (say [`NOT_A_REPLY`]) just after reading the N-th
    /// command, before its reply (after the injected `HANGUP` if both
    /// faults name the same command).
    pub garbage_before_reply: Option<(usize, Vec<u8>)>,
    /// Once N commands were read and answered, where the recording goes on
    /// to the next command (or to the script's close), stop writing, keep
    /// the connection open and read what the server sends (compared with
    /// the recorded commands as usual, never answered) until the server
    /// closes it or this long has passed; then close.
    pub stall_after: Option<(usize, Duration)>,
    /// Once N commands were read and answered, where the recording goes on
    /// to the next command (or to the script's close), close the
    /// connection as Asterisk does, and read until the server closes too.
    /// The recorded commands after the N-th are then not expected.
    pub close_after: Option<usize>,
}

/// How to play a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct AgiPlayOptions {
    /// How long to wait for the connection, and for each line or the end
    /// of stream from the server (10 s by default).
    pub read_timeout: Duration,
    /// Faults to inject.
    pub faults: AgiFaults,
    /// Before writing each recorded `recv`, sleep the recorded time since
    /// the connection's previous record times this (0, the default: no
    /// sleeping; 1: real time; 0.1: ten times faster).
    pub pace: f64,
}

impl Default for AgiPlayOptions {
    fn default() -> AgiPlayOptions {
        AgiPlayOptions {
            read_timeout: Duration::from_secs(10),
            faults: AgiFaults::default(),
            pace: 0.0,
        }
    }
}

impl AgiPlayOptions {
    /// The default options with these faults.
    pub fn with_faults(faults: AgiFaults) -> AgiPlayOptions {
        AgiPlayOptions {
            faults,
            ..AgiPlayOptions::default()
        }
    }
}

/// A command line the server sent where the recording has another one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Which command of the connection, from 1.
    pub command: usize,
    /// The recorded line.
    pub recorded: Vec<u8>,
    /// The line the server sent.
    pub received: Vec<u8>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "command {}: recorded {}, received {}",
            self.command,
            show(&self.recorded),
            show(&self.received)
        )
    }
}

/// How the play of one recorded connection went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgiPlayReport {
    /// The recorded connection (`a1`...).
    pub conn: String,
    /// `agi_network_script` of the environment played (the URL's path and
    /// query, undecoded); `None` when the URL had no path.
    pub script: Option<String>,
    /// `agi_request` of the environment played (the whole `agi://` URL).
    pub request: Option<String>,
    /// Recorded commands the server was expected to send: those before
    /// Asterisk closed the connection (or before a
    /// [`close_after`](AgiFaults::close_after) fault closed it).
    pub expected: usize,
    /// Commands the server sent exactly as recorded.
    pub matched: usize,
    /// Commands the server sent that differ from the recorded ones.
    pub mismatches: Vec<Mismatch>,
    /// Expected commands the server never sent (it closed, stalled, or
    /// the player gave up first).
    pub unsent: Vec<Vec<u8>>,
    /// Lines the server sent after the recorded commands, where the
    /// recording has the script close.
    pub extra: Vec<Vec<u8>>,
    /// Lines the server sent after the player closed its side (Asterisk
    /// never reads them; a recorded script may have sent some too).
    pub after_close: Vec<Vec<u8>>,
    /// Whether the server closed its side (end of stream, or a reset).
    pub server_closed: bool,
    /// Whether the player closed its side (as recorded, or by a fault).
    pub player_closed: bool,
    /// Whether a stall fault ran out of time with the server still
    /// connected.
    pub stall_expired: bool,
    /// What went wrong on the wire: a refused connection, a timeout
    /// waiting for the server, a failed write, a server that did not close
    /// where the recorded script did.
    pub errors: Vec<String>,
}

impl AgiPlayReport {
    /// Whether the server did exactly what the recorded script did: every
    /// expected command sent as recorded, nothing more, no wire error, and
    /// its side closed at the end.
    pub fn is_clean(&self) -> bool {
        self.matched == self.expected
            && self.mismatches.is_empty()
            && self.unsent.is_empty()
            && self.extra.is_empty()
            && self.errors.is_empty()
            && self.server_closed
    }
}

impl fmt::Display for AgiPlayReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}/{} commands matched, server {}, player {}",
            self.conn,
            self.script.as_deref().unwrap_or("no script"),
            self.matched,
            self.expected,
            if self.server_closed {
                "closed"
            } else {
                "still open"
            },
            if self.player_closed {
                "closed"
            } else {
                "still open"
            },
        )?;
        if self.stall_expired {
            write!(f, ", the stall ran out")?;
        }
        for m in &self.mismatches {
            write!(f, "\n  mismatch: {m}")?;
        }
        for (what, lines) in [
            ("unsent", &self.unsent),
            ("extra", &self.extra),
            ("after close", &self.after_close),
        ] {
            for l in lines {
                write!(f, "\n  {what}: {}", show(l))?;
            }
        }
        for e in &self.errors {
            write!(f, "\n  error: {e}")?;
        }
        Ok(())
    }
}

/// The command lines the script of connection `conn` sent, in order (all
/// of them, those sent after Asterisk closed included): what a scripted
/// test server replays.
pub fn recorded_commands(trace: &AgiTrace, conn: &str) -> Vec<Vec<u8>> {
    records_of(trace, conn)
        .filter_map(|r| match &r.kind {
            AgiKind::Send(line) => Some(line.clone()),
            _ => None,
        })
        .collect()
}

/// Whether a `tcp_close` record's `by` names the script (the FastAGI
/// server); anything else (`client`, `asterisk`) is Asterisk.
fn closed_by_script(by: &str) -> bool {
    matches!(by, "server" | "script")
}

fn records_of<'a>(trace: &'a AgiTrace, conn: &'a str) -> impl Iterator<Item = &'a AgiRecord> {
    trace.records.iter().filter(move |r| r.conn == conn)
}

/// Plays Asterisk's side of the recorded connection `conn` of `trace`
/// against the FastAGI server at `server`, blocking until the connection
/// is over (or the player gave up on the server), and reports.
pub fn play(
    trace: &AgiTrace,
    conn: &str,
    server: SocketAddr,
    options: &AgiPlayOptions,
) -> AgiPlayReport {
    let records: Vec<&AgiRecord> = records_of(trace, conn).collect();
    let commands = recorded_commands(trace, conn);
    let mut report = AgiPlayReport {
        conn: conn.to_string(),
        ..AgiPlayReport::default()
    };
    let env = records.iter().find_map(|r| match &r.kind {
        AgiKind::Recv(b) => Some(b.clone()),
        _ => None,
    });
    if let Some(env) = &env {
        let request = agi_proto::Request::parse(env);
        let text = |t: Option<agi_proto::Text>| t.map(|t| t.to_string_lossy().into_owned());
        report.script = text(request.network_script);
        report.request = text(request.request);
    }
    let before_close = records
        .iter()
        .take_while(|r| !matches!(&r.kind, AgiKind::Close(by) if !closed_by_script(by)))
        .filter(|r| matches!(r.kind, AgiKind::Send(_)))
        .count();
    report.expected = match options.faults.close_after {
        Some(n) => before_close.min(n),
        None => before_close,
    };

    let stream = match TcpStream::connect_timeout(&server, options.read_timeout) {
        Ok(s) => s,
        Err(e) => {
            report.errors.push(format!("connecting to {server}: {e}"));
            report.unsent = commands[..report.expected].to_vec();
            return report;
        }
    };
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(options.read_timeout));
    let mut player = Player {
        wire: BufReader::new(stream),
        partial: Vec::new(),
        options,
        commands: &commands,
        received: 0,
        report,
    };
    player.run(&records);
    let mut report = player.report;
    if player.received < report.expected {
        report.unsent = commands[player.received..report.expected].to_vec();
    }
    report
}

/// Plays every recorded connection of `trace` against `server`, one after
/// the other, in the order they were recorded.
pub fn play_all(
    trace: &AgiTrace,
    server: SocketAddr,
    options: &AgiPlayOptions,
) -> Vec<AgiPlayReport> {
    trace
        .connections()
        .iter()
        .map(|conn| play(trace, conn, server, options))
        .collect()
}

/// Plays every recorded connection of `trace` against `server` at the same
/// time, one thread each (a load test: the server must serve them all at
/// once). The reports come in the recorded order of the connections.
pub fn play_all_concurrently(
    trace: &AgiTrace,
    server: SocketAddr,
    options: &AgiPlayOptions,
) -> Vec<AgiPlayReport> {
    let conns = trace.connections();
    std::thread::scope(|scope| {
        let threads: Vec<_> = conns
            .iter()
            .map(|conn| scope.spawn(move || play(trace, conn, server, options)))
            .collect();
        threads
            .into_iter()
            .zip(&conns)
            .map(|(t, conn)| {
                t.join().unwrap_or_else(|_| AgiPlayReport {
                    conn: conn.clone(),
                    errors: vec!["the player thread panicked".into()],
                    ..AgiPlayReport::default()
                })
            })
            .collect()
    })
}

/// What one attempt to read a line from the server gave.
enum Read {
    Line(Vec<u8>),
    /// End of stream (or a reset: the server is gone either way).
    Closed,
    TimedOut,
    Failed(String),
}

/// What the player does where a fault fires.
enum Stop {
    Stall(Duration),
    Close,
}

/// One connection being played.
struct Player<'a> {
    wire: BufReader<TcpStream>,
    /// The start of a line whose end has not come yet.
    partial: Vec<u8>,
    options: &'a AgiPlayOptions,
    commands: &'a [Vec<u8>],
    /// Lines read from the server so far, each compared with the recorded
    /// command of its position.
    received: usize,
    report: AgiPlayReport,
}

impl Player<'_> {
    fn run(&mut self, records: &[&AgiRecord]) {
        let faults = &self.options.faults;
        let mut previous_t = records.first().map_or(0.0, |r| r.t_ms);
        for r in records {
            let since = (r.t_ms - previous_t).max(0.0);
            previous_t = r.t_ms;
            match &r.kind {
                AgiKind::Open => {}
                AgiKind::Recv(bytes) => {
                    if self.options.pace > 0.0 {
                        std::thread::sleep(Duration::from_secs_f64(
                            since * self.options.pace / 1000.0,
                        ));
                    }
                    if !self.write(bytes) {
                        return self.abort();
                    }
                }
                AgiKind::Send(recorded) => {
                    if let Some(stop) = self.fault_point() {
                        return self.stop(stop);
                    }
                    let line = match self.read_line(self.options.read_timeout) {
                        Read::Line(line) => line,
                        Read::Closed => {
                            self.report.server_closed = true;
                            return self.abort();
                        }
                        Read::TimedOut => {
                            self.report.errors.push(format!(
                                "no command {} from the server in {:?} (recorded: {})",
                                self.received + 1,
                                self.options.read_timeout,
                                show(recorded)
                            ));
                            return self.abort();
                        }
                        Read::Failed(e) => {
                            self.report.errors.push(format!("reading: {e}"));
                            return self.abort();
                        }
                    };
                    self.compare(line);
                    let n = self.received;
                    if faults.hangup_before_reply == Some(n) && !self.write(b"HANGUP\n") {
                        return self.abort();
                    }
                    if let Some((k, garbage)) = &faults.garbage_before_reply
                        && *k == n
                        && !self.write(garbage)
                    {
                        return self.abort();
                    }
                }
                AgiKind::Close(by) if closed_by_script(by) => {
                    if let Some(stop) = self.fault_point() {
                        return self.stop(stop);
                    }
                    self.expect_close();
                }
                AgiKind::Close(_) => return self.close(),
            }
        }
        // A recording that ends with no close by Asterisk: close anyway.
        if !self.report.player_closed {
            self.close();
        }
    }

    /// The fault that fires here, if one does.
    fn fault_point(&self) -> Option<Stop> {
        let faults = &self.options.faults;
        if faults.close_after == Some(self.received) {
            return Some(Stop::Close);
        }
        match faults.stall_after {
            Some((n, wait)) if n == self.received => Some(Stop::Stall(wait)),
            _ => None,
        }
    }

    fn stop(&mut self, stop: Stop) {
        match stop {
            Stop::Close => self.close(),
            Stop::Stall(wait) => self.stall(wait),
        }
    }

    /// Compares a line from the server with the recorded command of its
    /// position (or counts it as extra past the expected ones).
    fn compare(&mut self, line: Vec<u8>) {
        let index = self.received;
        self.received += 1;
        match self.commands.get(index) {
            Some(recorded) if index < self.report.expected && *recorded == line => {
                self.report.matched += 1
            }
            Some(recorded) if index < self.report.expected => {
                self.report.mismatches.push(Mismatch {
                    command: index + 1,
                    recorded: recorded.clone(),
                    received: line,
                })
            }
            _ => self.report.extra.push(line),
        }
    }

    /// Where the recorded script closed: reads until the server's end of
    /// stream; lines sent instead are extra.
    fn expect_close(&mut self) {
        if self.report.server_closed {
            return;
        }
        let deadline = Instant::now() + self.options.read_timeout;
        loop {
            match self.read_line(deadline.saturating_duration_since(Instant::now())) {
                Read::Line(line) => self.report.extra.push(line),
                Read::Closed => {
                    self.report.server_closed = true;
                    return;
                }
                Read::TimedOut => {
                    self.report.errors.push(format!(
                        "the server did not close its side within {:?} where the recorded script did",
                        self.options.read_timeout
                    ));
                    return;
                }
                Read::Failed(e) => {
                    self.report.errors.push(format!("reading: {e}"));
                    return;
                }
            }
        }
    }

    /// A stall fault: reads (and compares) without answering until the
    /// server closes or `wait` has passed, then closes.
    fn stall(&mut self, wait: Duration) {
        let deadline = Instant::now() + wait;
        loop {
            match self.read_line(deadline.saturating_duration_since(Instant::now())) {
                Read::Line(line) => self.compare(line),
                Read::Closed => {
                    self.report.server_closed = true;
                    break;
                }
                Read::TimedOut => {
                    self.report.stall_expired = true;
                    break;
                }
                Read::Failed(e) => {
                    self.report.errors.push(format!("reading: {e}"));
                    break;
                }
            }
        }
        self.close();
    }

    /// Closes the connection as Asterisk does (the player shuts its
    /// sending side), then reads until the server closes too.
    fn close(&mut self) {
        let _ = self.wire.get_ref().shutdown(Shutdown::Write);
        self.report.player_closed = true;
        if self.report.server_closed {
            return;
        }
        let deadline = Instant::now() + self.options.read_timeout;
        loop {
            match self.read_line(deadline.saturating_duration_since(Instant::now())) {
                Read::Line(line) => self.report.after_close.push(line),
                Read::Closed => {
                    self.report.server_closed = true;
                    return;
                }
                Read::TimedOut => {
                    self.report.errors.push(format!(
                        "the server did not close within {:?} after the player closed",
                        self.options.read_timeout
                    ));
                    return;
                }
                Read::Failed(e) => {
                    self.report.errors.push(format!("reading: {e}"));
                    return;
                }
            }
        }
    }

    /// Gives up on the connection: closes both ways at once.
    fn abort(&mut self) {
        let _ = self.wire.get_ref().shutdown(Shutdown::Both);
        self.report.player_closed = true;
    }

    /// Writes recorded (or injected) bytes; false if the connection is
    /// broken. Once the server has closed, a failed write is what Asterisk
    /// would see too and is not an error (nor the end of the play).
    fn write(&mut self, bytes: &[u8]) -> bool {
        match self.wire.get_mut().write_all(bytes) {
            Ok(()) => true,
            Err(_) if self.report.server_closed => true,
            Err(e) => {
                self.report.errors.push(format!("writing: {e}"));
                false
            }
        }
    }

    /// Reads one line (up to and with its `\n`), waiting at most `wait`. A
    /// line cut by the end of stream is returned as it is, then `Closed`.
    fn read_line(&mut self, wait: Duration) -> Read {
        if wait.is_zero() {
            return Read::TimedOut;
        }
        let _ = self.wire.get_ref().set_read_timeout(Some(wait));
        let deadline = Instant::now() + wait;
        loop {
            let buf = match self.wire.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Read::TimedOut;
                    }
                    let _ = self.wire.get_ref().set_read_timeout(Some(left));
                    continue;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                    ) =>
                {
                    return self.cut_or_closed();
                }
                Err(e) => return Read::Failed(e.to_string()),
            };
            if buf.is_empty() {
                return self.cut_or_closed();
            }
            match buf.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    self.partial.extend_from_slice(&buf[..=end]);
                    self.wire.consume(end + 1);
                    return Read::Line(std::mem::take(&mut self.partial));
                }
                None => {
                    let n = buf.len();
                    self.partial.extend_from_slice(buf);
                    self.wire.consume(n);
                    if self.partial.len() >= MAX_READ_LINE {
                        return Read::Line(std::mem::take(&mut self.partial));
                    }
                }
            }
        }
    }

    fn cut_or_closed(&mut self) -> Read {
        if self.partial.is_empty() {
            Read::Closed
        } else {
            Read::Line(std::mem::take(&mut self.partial))
        }
    }
}

/// A line for a message: quoted, shortened if long.
fn show(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    if s.len() > 80 {
        format!(
            "{:?}... ({} bytes)",
            &s[..s.floor_char_boundary(80)],
            bytes.len()
        )
    } else {
        format!("{s:?}")
    }
}
