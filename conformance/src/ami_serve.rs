//! A fake Asterisk for AMI: a TCP server on loopback that plays a recorded
//! AMI trace (`traces/ami/FORMAT.md`) to a client under test.
//!
//! The client's N-th connection gets the records of connection `cN`: the
//! banner, then, for each action the client sends that matches the next
//! recorded one, what Asterisk answered to it, with the recorded ActionIDs
//! replaced by the client's own. A recorded close by the server closes
//! the connection there; a refused connection is closed at once.

use ami_proto::{Decoder, Frame, Kind, Message};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// One connection's part of a trace.
#[derive(Debug, Clone, Default)]
struct Connection {
    refused: bool,
    records: Vec<Step>,
}

#[derive(Debug, Clone)]
enum Step {
    /// The client sends this.
    Expect(String),
    /// Asterisk sends this.
    Send(String),
    /// Asterisk closes the connection.
    Close,
}

/// How a replay went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AmiReport {
    /// Connections the client made.
    pub connections: usize,
    /// Every recorded action of every connection was matched.
    pub completed: bool,
    /// Recorded actions the client sent, of `expected`.
    pub matched: usize,
    /// Recorded actions in the trace.
    pub expected: usize,
    /// What the client sent that the trace did not expect.
    pub mismatches: Vec<String>,
    /// Recorded actions the client never sent (its connection ended first).
    pub unsent: Vec<String>,
}

/// A running fake AMI server; [`FakeAmi::finish`] stops it and reports.
pub struct FakeAmi {
    addr: SocketAddr,
    report: Arc<Mutex<AmiReport>>,
    expected: usize,
    matched: Arc<Mutex<usize>>,
    accept: Option<JoinHandle<()>>,
    serving: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl FakeAmi {
    /// Serves the AMI trace at `path` on a free loopback port.
    pub fn start(path: &Path) -> io::Result<FakeAmi> {
        let connections = read_trace(path)?;
        let expected = connections
            .iter()
            .flat_map(|c| &c.records)
            .filter(|s| matches!(s, Step::Expect(_)))
            .count();
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let report = Arc::new(Mutex::new(AmiReport::default()));
        let matched = Arc::new(Mutex::new(0));
        let (r, m) = (report.clone(), matched.clone());
        let serving = Arc::new(Mutex::new(Vec::new()));
        let threads = serving.clone();
        let accept = std::thread::spawn(move || {
            for (conn, stream) in connections.into_iter().zip(listener.incoming()) {
                let Ok(stream) = stream else { break };
                lock(&r).connections += 1;
                if conn.refused {
                    let _ = stream.shutdown(Shutdown::Both);
                    continue;
                }
                let (r, m) = (r.clone(), m.clone());
                lock(&threads).push(std::thread::spawn(move || serve(stream, conn, &r, &m)));
            }
        });
        Ok(FakeAmi {
            addr,
            report,
            expected,
            matched,
            accept: Some(accept),
            serving,
        })
    }

    /// `host:port` to connect to.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Waits (up to ten seconds) for the connections being served to end,
    /// then reports.
    pub fn finish(mut self) -> AmiReport {
        // The accept loop ends with the trace's connections; an unused one
        // would wait forever, so it is not joined.
        drop(self.accept.take());
        let bound = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while lock(&self.serving).iter().any(|t| !t.is_finished())
            && std::time::Instant::now() < bound
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let mut report = lock(&self.report).clone();
        report.matched = *lock(&self.matched);
        report.expected = self.expected;
        report.completed = report.matched == self.expected && report.mismatches.is_empty();
        report
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn read_trace(path: &Path) -> io::Result<Vec<Connection>> {
    let text = std::fs::read_to_string(path)?;
    let mut by_name: BTreeMap<String, Connection> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for line in text.lines() {
        let r: Value = serde_json::from_str(line).map_err(io::Error::other)?;
        let Some(name) = r["conn"].as_str() else {
            continue;
        };
        if !by_name.contains_key(name) {
            order.push(name.to_string());
        }
        let conn = by_name.entry(name.to_string()).or_default();
        let text = r["text"].as_str().unwrap_or_default().to_string();
        match r["kind"].as_str() {
            Some("tcp_open") => conn.refused = r["refused"] == true,
            Some("send") => conn.records.push(Step::Expect(text)),
            Some("recv") => conn.records.push(Step::Send(text)),
            Some("tcp_close") if r["by"] == "server" => conn.records.push(Step::Close),
            _ => {}
        }
    }
    Ok(order
        .into_iter()
        .filter_map(|n| by_name.remove(&n))
        .collect())
}

/// Name and headers without the ActionID, names in lower case, sorted; a
/// `Login` without `Events` is the same as one with `Events: on`.
fn shape(m: &Message) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = m
        .fields()
        .filter(|(n, _)| !n.eq_ignore_case("ActionID"))
        .map(|(n, v)| (n.to_string().to_ascii_lowercase(), v.to_string()))
        .collect();
    let login = matches!(m.kind(), Kind::Action(a) if a.eq_ignore_case("Login"));
    if login && !fields.iter().any(|(n, _)| n == "events") {
        fields.push(("events".into(), "on".into()));
    }
    fields.sort();
    fields
}

fn parse_one(text: &str) -> Option<Message> {
    let mut d = Decoder::for_actions(1 << 20);
    d.feed(text.as_bytes());
    match d.next_frame() {
        Ok(Some(Frame::Message(m))) => Some(m),
        _ => None,
    }
}

fn serve(
    mut stream: TcpStream,
    conn: Connection,
    report: &Mutex<AmiReport>,
    matched: &Mutex<usize>,
) {
    let mut reader = Decoder::for_actions(1 << 20);
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut steps = conn.records.into_iter().peekable();
    let mut buf = [0u8; 16 * 1024];
    let mut writable = true;
    loop {
        // Play Asterisk's side up to the client's next message.
        while let Some(step) = steps.next_if(|s| !matches!(s, Step::Expect(_))) {
            match step {
                Step::Send(text) => {
                    // A client that closed early may still have sent what
                    // comes next: keep reading even when writing fails.
                    writable =
                        writable && stream.write_all(substitute(&text, &ids).as_bytes()).is_ok();
                }
                Step::Close => {
                    let _ = stream.shutdown(Shutdown::Both);
                    return;
                }
                Step::Expect(_) => unreachable!("filtered by next_if"),
            }
        }
        let Some(Step::Expect(expected)) = steps.next() else {
            // Nothing more recorded: wait for the client to leave.
            while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
            return;
        };
        let got = loop {
            match reader.next_frame() {
                Ok(Some(Frame::Message(m))) => break m,
                Ok(_) => {}
                Err(e) => lock(report).mismatches.push(format!("undecodable: {e}")),
            }
            match stream.read(&mut buf) {
                Ok(n) if n > 0 => reader.feed(&buf[..n]),
                _ => {
                    let first_line = expected.lines().next().unwrap_or_default().to_string();
                    lock(report).unsent.push(first_line);
                    return;
                }
            }
        };
        let Some(want) = parse_one(&expected) else {
            continue;
        };
        if shape(&got) == shape(&want) {
            *lock(matched) += 1;
        } else {
            lock(report)
                .mismatches
                .push(format!("expected {want:?}, got {got:?}"));
        }
        if let (Some(theirs), Some(ours)) = (want.action_id(), got.action_id()) {
            ids.insert(theirs.to_string(), ours.to_string());
        }
    }
}

/// `text` with each recorded ActionID the client has rebound replaced.
fn substitute(text: &str, ids: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive("\r\n") {
        match line
            .strip_prefix("ActionID: ")
            .and_then(|rest| rest.strip_suffix("\r\n"))
            .and_then(|id| ids.get(id))
        {
            Some(ours) => {
                out.push_str("ActionID: ");
                out.push_str(ours);
                out.push_str("\r\n");
            }
            None => out.push_str(line),
        }
    }
    out
}
