//! A fake Asterisk for AMI: a TCP server on loopback that plays a recorded
//! AMI trace (`traces/ami/FORMAT.md`) to a client under test, with faults
//! injected on demand ([`AmiFaults`]).
//!
//! The client's N-th connection gets the records of connection `cN`: the
//! banner, then, for each action the client sends that matches the next
//! recorded one, what Asterisk answered to it, with the recorded ActionIDs
//! replaced by the client's own. A recorded close by the server closes
//! the connection there; a refused connection is closed at once.
//!
//! A connection a fault broke (closed early, stalled, refused by a fault)
//! does not use up its recorded connection: the client's next connection
//! is served the same one again, from its banner. Each fault fires once.

use crate::ami_replay::substitute_action_ids;
use crate::ami_trace::{AmiKind, AmiTrace, REDACTED};
use crate::counter::Counter;
use ami_proto::{Decoder, Frame, Kind, Message};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Bytes that are not AMI, for [`AmiFaults::garbage_after`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Garbage {
    /// A message whose only line is not `Name: value`.
    NotAField,
    /// An event with a header whose value is not UTF-8.
    NotUtf8,
    /// An event this many bytes long or longer (one header line with a
    /// long value): beyond a client whose message limit is lower.
    TooLong(usize),
}

impl Garbage {
    /// The bytes sent.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Garbage::NotAField => b"this line is not a header\r\n\r\n".to_vec(),
            Garbage::NotUtf8 => b"Event: Garbage\r\nValue: \xff\xfe\xfd not UTF-8\r\n\r\n".to_vec(),
            Garbage::TooLong(n) => {
                let mut b = b"Event: Garbage\r\nData: ".to_vec();
                b.resize(b.len() + n, b'x');
                b.extend_from_slice(b"\r\n\r\n");
                b
            }
        }
    }
}

/// Faults to inject. "Messages" are what the fake sends after the banners,
/// counted over all connections from 1; each fault fires once.
#[derive(Debug, Clone, Default)]
pub struct AmiFaults {
    /// Close the connection just after the K-th message.
    pub close_after: Option<usize>,
    /// After the K-th message, send the first half of the next one, then
    /// close the connection.
    pub close_mid_message: Option<usize>,
    /// Refuse this many connection attempts (accept, then close at once,
    /// before any banner: a restarting Asterisk), starting with attempt
    /// [`refuse_from`](Self::refuse_from).
    pub refuse_connections: usize,
    /// The first attempt to refuse, from 0 (0: the client's first
    /// connection).
    pub refuse_from: usize,
    /// After the K-th message, send nothing more and answer nothing (what
    /// the client sends is read and dropped), but keep the connection open
    /// until the client closes it: a half-open socket.
    pub stall_after: Option<usize>,
    /// Send these bytes just after the K-th message, then go on.
    pub garbage_after: Option<(usize, Garbage)>,
    /// Write everything (banners included) in chunks of this many bytes,
    /// pausing this long between chunks: many split reads for the client.
    pub slow: Option<(usize, Duration)>,
}

/// How to serve a trace.
#[derive(Debug, Clone, Default)]
pub struct AmiServeOptions {
    /// Faults to inject.
    pub faults: AmiFaults,
    /// The `seq` of recorded `send`s the client under test will not send
    /// (probes no client API makes, such as a message with bare `\n` line
    /// ends): when one is next, the fake plays what Asterisk answered to it
    /// without waiting for it.
    pub skip_sends: BTreeSet<u64>,
}

/// One connection's part of a trace.
#[derive(Debug, Clone, Default)]
struct Connection {
    /// Its place among the trace's connections.
    index: usize,
    refused: bool,
    records: Vec<Step>,
}

#[derive(Debug, Clone)]
enum Step {
    /// The client sends this (`seq`, bytes).
    Expect(u64, Vec<u8>),
    /// Asterisk sends this; `true` for the banner.
    Send(Vec<u8>, bool),
    /// Asterisk closes the connection.
    Close,
}

/// How a replay went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AmiReport {
    /// Connections the client made (refused ones included).
    pub connections: usize,
    /// Every recorded action of every connection was matched.
    pub completed: bool,
    /// Recorded actions the client sent, of `expected` (a connection served
    /// again after a fault counts once, as its last serving went).
    pub matched: usize,
    /// Recorded actions in the trace (skipped ones left out).
    pub expected: usize,
    /// What the client sent that the trace did not expect.
    pub mismatches: Vec<String>,
    /// Recorded actions the client never sent (its connection ended first).
    pub unsent: Vec<String>,
    /// Messages sent after the banners, over all connections.
    pub messages_sent: usize,
    /// Connection attempts refused by the fault (not by the trace).
    pub refused_by_fault: usize,
    /// Connections closed early by a fault.
    pub closed_by_fault: usize,
    /// Connections stalled by a fault.
    pub stalled: usize,
    /// Stalled connections the client closed itself.
    pub abandoned: usize,
    /// Garbage sent.
    pub garbage_sent: usize,
    /// Client connections beyond the trace's, closed at once.
    pub unexpected_connections: usize,
}

/// What the serving threads share.
#[derive(Debug)]
struct Shared {
    faults: AmiFaults,
    skip: BTreeSet<u64>,
    stop: AtomicBool,
    report: Mutex<AmiReport>,
    /// Matched actions per recorded connection (its latest serving).
    matched: Mutex<Vec<usize>>,
    /// Messages sent so far, and which faults have fired.
    fired: Mutex<Fired>,
    /// Connections still to serve; a broken one goes back to the front.
    queue: Mutex<VecDeque<Connection>>,
    stalled: Counter,
    abandoned: Counter,
    closed_by_fault: Counter,
}

#[derive(Debug, Default)]
struct Fired {
    sent: usize,
    close: bool,
    close_mid: bool,
    stall: bool,
    garbage: bool,
}

/// A running fake AMI server; [`FakeAmi::finish`] stops it and reports.
pub struct FakeAmi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    expected: usize,
    accept: Option<JoinHandle<()>>,
    serving: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl FakeAmi {
    /// Serves the AMI trace at `path` on a free loopback port.
    pub fn start(path: &Path) -> io::Result<FakeAmi> {
        FakeAmi::start_with(path, AmiServeOptions::default())
    }

    /// Serves the AMI trace at `path` with `options` (faults to inject,
    /// sends to skip).
    pub fn start_with(path: &Path, options: AmiServeOptions) -> io::Result<FakeAmi> {
        FakeAmi::start_on(path, options, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves the AMI trace at `path` with `options` on `listen` (port 0
    /// picks a free one).
    pub fn start_on(
        path: &Path,
        options: AmiServeOptions,
        listen: SocketAddr,
    ) -> io::Result<FakeAmi> {
        let trace = AmiTrace::read(path).map_err(io::Error::other)?;
        let connections = connections(&trace);
        let expected = connections
            .iter()
            .flat_map(|c| &c.records)
            .filter(|s| matches!(s, Step::Expect(seq, _) if !options.skip_sends.contains(seq)))
            .count();
        let listener = TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            faults: options.faults,
            skip: options.skip_sends,
            stop: AtomicBool::new(false),
            report: Mutex::new(AmiReport::default()),
            matched: Mutex::new(vec![0; connections.len()]),
            fired: Mutex::new(Fired::default()),
            queue: Mutex::new(connections.into()),
            stalled: Counter::default(),
            abandoned: Counter::default(),
            closed_by_fault: Counter::default(),
        });
        let serving = Arc::new(Mutex::new(Vec::new()));
        let (s, threads) = (shared.clone(), serving.clone());
        let accept = std::thread::spawn(move || accept_loop(listener, &s, &threads));
        Ok(FakeAmi {
            addr,
            shared,
            expected,
            accept: Some(accept),
            serving,
        })
    }

    /// `host:port` to connect to.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Waits, at most `timeout`, until every recorded connection was
    /// served and has ended: whether it did.
    pub fn wait_played(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let queued = !lock(&self.shared.queue).is_empty();
            let serving = lock(&self.serving).iter().any(|t| !t.is_finished());
            if !queued && !serving {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Connections a fault stalled so far.
    pub fn stalled(&self) -> &Counter {
        &self.shared.stalled
    }

    /// Stalled connections the client has closed so far.
    pub fn abandoned(&self) -> &Counter {
        &self.shared.abandoned
    }

    /// Connections a fault closed so far.
    pub fn closed_by_fault(&self) -> &Counter {
        &self.shared.closed_by_fault
    }

    /// Waits (up to ten seconds) for the connections being served to end,
    /// then stops and reports.
    pub fn finish(mut self) -> AmiReport {
        let bound = Instant::now() + Duration::from_secs(10);
        while lock(&self.serving).iter().any(|t| !t.is_finished()) && Instant::now() < bound {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        let mut report = lock(&self.shared.report).clone();
        report.matched = lock(&self.shared.matched).iter().sum();
        report.expected = self.expected;
        report.messages_sent = lock(&self.shared.fired).sent;
        report.stalled = self.shared.stalled.get();
        report.abandoned = self.shared.abandoned.get();
        report.closed_by_fault = self.shared.closed_by_fault.get();
        report.completed = report.matched == self.expected && report.mismatches.is_empty();
        report
    }
}

impl Drop for FakeAmi {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn accept_loop(listener: TcpListener, shared: &Arc<Shared>, threads: &Mutex<Vec<JoinHandle<()>>>) {
    let mut attempt = 0;
    while !shared.stop.load(Ordering::SeqCst) {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
            Err(_) => break,
        };
        let _ = stream.set_nonblocking(false);
        if shared.faults.slow.is_some() {
            // Each chunk its own segment: the client reads it apart.
            let _ = stream.set_nodelay(true);
        }
        lock(&shared.report).connections += 1;
        let faults = &shared.faults;
        let refuse =
            (faults.refuse_from..faults.refuse_from + faults.refuse_connections).contains(&attempt);
        attempt += 1;
        if refuse {
            lock(&shared.report).refused_by_fault += 1;
            let _ = stream.shutdown(Shutdown::Both);
            continue;
        }
        // Held while the connection moves from the queue to its thread, so
        // that `wait_played` never sees it in neither.
        let mut serving = lock(threads);
        let Some(conn) = lock(&shared.queue).pop_front() else {
            lock(&shared.report).unexpected_connections += 1;
            let _ = stream.shutdown(Shutdown::Both);
            continue;
        };
        if conn.refused {
            let _ = stream.shutdown(Shutdown::Both);
            continue;
        }
        let s = shared.clone();
        serving.push(std::thread::spawn(move || serve(stream, conn, &s)));
    }
}

/// Each connection's steps, in the order the trace opens them.
fn connections(trace: &AmiTrace) -> Vec<Connection> {
    trace
        .connection_names()
        .into_iter()
        .enumerate()
        .map(|(index, name)| {
            let mut conn = Connection {
                index,
                ..Connection::default()
            };
            for r in trace.connection(name) {
                match &r.kind {
                    AmiKind::TcpOpen { refused } => conn.refused = *refused,
                    AmiKind::Send(b) => conn.records.push(Step::Expect(r.seq, b.clone())),
                    AmiKind::Recv(b) => {
                        let banner = !conn.records.iter().any(|s| matches!(s, Step::Send(..)));
                        conn.records.push(Step::Send(b.clone(), banner));
                    }
                    AmiKind::TcpClose { by } if by == "server" => conn.records.push(Step::Close),
                    AmiKind::TcpClose { .. } => {}
                }
            }
            conn
        })
        .collect()
}

/// Name and headers without the ActionID, names in lower case, sorted; a
/// `Login` without `Events` is the same as one with `Events: on`. The
/// values of headers named in `redacted` read as [`REDACTED`].
fn shape(m: &Message, redacted: &[String]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = m
        .fields()
        .filter(|(n, _)| !n.eq_ignore_case("ActionID"))
        .map(|(n, v)| (n.to_string().to_ascii_lowercase(), v.to_string()))
        .map(|(n, v)| {
            if redacted.contains(&n) {
                (n, REDACTED.to_string())
            } else {
                (n, v)
            }
        })
        .collect();
    let login = matches!(m.kind(), Kind::Action(a) if a.eq_ignore_case("Login"));
    if login && !fields.iter().any(|(n, _)| n == "events") {
        fields.push(("events".into(), "on".into()));
    }
    fields.sort();
    fields
}

fn parse_one(bytes: &[u8]) -> Option<Message> {
    let mut d = Decoder::for_actions(1 << 20);
    d.feed(bytes);
    match d.next_frame() {
        Ok(Some(Frame::Message(m))) => Some(m),
        _ => None,
    }
}

/// What a fault did to a connection.
enum Broken {
    /// The connection goes on.
    No,
    /// The fault ended the connection: serve it again to the next one.
    Yes,
}

/// Writes `bytes` as the faults say (in chunks when slow).
fn write(stream: &mut TcpStream, bytes: &[u8], faults: &AmiFaults) -> bool {
    match faults.slow {
        Some((chunk, pause)) => bytes.chunks(chunk.max(1)).all(|c| {
            let ok = stream.write_all(c).is_ok();
            if !pause.is_zero() {
                std::thread::sleep(pause);
            }
            ok
        }),
        None => stream.write_all(bytes).is_ok(),
    }
}

/// Sends one message of Asterisk's, applying the faults due around it.
fn send_message(
    stream: &mut TcpStream,
    bytes: &[u8],
    shared: &Shared,
    writable: &mut bool,
) -> Broken {
    let faults = &shared.faults;
    let mut fired = lock(&shared.fired);
    if let Some(k) = faults.close_mid_message
        && fired.sent == k
        && !std::mem::replace(&mut fired.close_mid, true)
    {
        drop(fired);
        let _ = write(stream, &bytes[..bytes.len() / 2], faults);
        let _ = stream.flush();
        shared.closed_by_fault.add(1);
        return Broken::Yes;
    }
    fired.sent += 1;
    let sent = fired.sent;
    let close = faults.close_after == Some(sent) && !std::mem::replace(&mut fired.close, true);
    let stall = faults.stall_after == Some(sent) && !std::mem::replace(&mut fired.stall, true);
    let garbage = match &faults.garbage_after {
        Some((k, g)) if *k == sent && !std::mem::replace(&mut fired.garbage, true) => Some(g),
        _ => None,
    };
    drop(fired);
    *writable = *writable && write(stream, bytes, faults);
    if let Some(g) = garbage {
        *writable = *writable && write(stream, &g.bytes(), faults);
        lock(&shared.report).garbage_sent += 1;
    }
    if close {
        shared.closed_by_fault.add(1);
        return Broken::Yes;
    }
    if stall {
        shared.stalled.add(1);
        stall_until_closed(stream, shared);
        return Broken::Yes;
    }
    Broken::No
}

/// Reads and drops what the client sends until it closes the connection
/// (or the fake stops).
fn stall_until_closed(stream: &mut TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(20)));
    let mut buf = [0u8; 4096];
    while !shared.stop.load(Ordering::SeqCst) {
        match stream.read(&mut buf) {
            Ok(0) => {
                shared.abandoned.add(1);
                return;
            }
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => {
                shared.abandoned.add(1);
                return;
            }
        }
    }
}

fn serve(mut stream: TcpStream, conn: Connection, shared: &Shared) {
    lock(&shared.matched)[conn.index] = 0;
    let mut reader = Decoder::for_actions(1 << 20);
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut steps = conn.records.iter().peekable();
    let mut buf = [0u8; 16 * 1024];
    let mut writable = true;
    let broken = |stream: &TcpStream| {
        lock(&shared.queue).push_front(conn.clone());
        let _ = stream.shutdown(Shutdown::Both);
    };
    loop {
        // Play Asterisk's side up to the client's next message.
        while let Some(step) =
            steps.next_if(|s| !matches!(s, Step::Expect(seq, _) if !shared.skip.contains(seq)))
        {
            match step {
                Step::Send(bytes, true) => {
                    writable = writable && write(&mut stream, bytes, &shared.faults);
                }
                Step::Send(bytes, false) => {
                    // A client that closed early may still have sent what
                    // comes next: keep reading even when writing fails.
                    let bytes = substitute_action_ids(bytes, &ids);
                    if let Broken::Yes = send_message(&mut stream, &bytes, shared, &mut writable) {
                        return broken(&stream);
                    }
                }
                Step::Close => {
                    let _ = stream.shutdown(Shutdown::Both);
                    return;
                }
                // A send the client will not make: its answers come next.
                Step::Expect(..) => {}
            }
        }
        let Some(Step::Expect(_, expected)) = steps.next() else {
            // Nothing more recorded: wait for the client to leave.
            while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
            return;
        };
        let got = loop {
            match reader.next_frame() {
                Ok(Some(Frame::Message(m))) => break m,
                Ok(_) => {}
                Err(e) => lock(&shared.report)
                    .mismatches
                    .push(format!("undecodable: {e}")),
            }
            match stream.read(&mut buf) {
                Ok(n) if n > 0 => reader.feed(&buf[..n]),
                _ => {
                    let first_line = String::from_utf8_lossy(expected)
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    lock(&shared.report).unsent.push(first_line);
                    return;
                }
            }
        };
        let Some(want) = parse_one(expected) else {
            continue;
        };
        // A recorder wrote no secret: any value matches there.
        let redacted: Vec<String> = shape(&want, &[])
            .into_iter()
            .filter(|(n, v)| v == REDACTED && (n == "secret" || n == "key"))
            .map(|(n, _)| n)
            .collect();
        if shape(&got, &redacted) == shape(&want, &redacted) {
            lock(&shared.matched)[conn.index] += 1;
        } else {
            lock(&shared.report)
                .mismatches
                .push(format!("expected {want:?}, got {got:?}"));
        }
        if let (Some(theirs), Some(ours)) = (want.action_id(), got.action_id()) {
            ids.insert(theirs.to_string(), ours.to_string());
        }
    }
}
