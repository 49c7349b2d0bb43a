//! FastAGI traces (`traces/agi/FORMAT.md`, `protocol: fastagi`) against
//! `agi-proto`: every environment block parses and writes back byte for
//! byte; every command the recorded script sent is rebuilt by the typed
//! commands (byte for byte, or, for lines written oddly on purpose, to the
//! same words as Asterisk splits them); every reply reads as the typed
//! result its command expects; and each connection replays through a
//! [`Session`] with no socket, whole and cut byte by byte, each command
//! getting its recorded answer.

use crate::check::Report;
use agi_proto::commands::AnyCommand;
use agi_proto::{
    Command, CommandError, Config, Decoder, Frame, Limits, MAX_LINE, Output, Reply, ReplyError,
    Request, Session, Transmit,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

/// What one record of a FastAGI trace is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgiKind {
    /// Asterisk connected.
    Open,
    /// Bytes from Asterisk: one protocol unit.
    Recv(Vec<u8>),
    /// One command line from the script.
    Send(Vec<u8>),
    /// One side closed: `server` (the script) or `client` (Asterisk).
    Close(String),
}

/// One record of a FastAGI trace.
#[derive(Debug, Clone)]
pub struct AgiRecord {
    /// Position in the file.
    pub seq: u64,
    /// Milliseconds since the recording started.
    pub t_ms: f64,
    /// The connection (`a1`...).
    pub conn: String,
    /// What happened.
    pub kind: AgiKind,
}

/// A FastAGI trace.
#[derive(Debug, Clone)]
pub struct AgiTrace {
    /// `scenario` of the meta line.
    pub scenario: String,
    /// `asterisk_version` of the meta line.
    pub asterisk_version: String,
    /// Every record after the meta line.
    pub records: Vec<AgiRecord>,
}

/// The `protocol` of a trace file's meta line, if it has one.
pub fn protocol_of(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let first: Value = serde_json::from_str(text.lines().next()?).ok()?;
    first.get("protocol")?.as_str().map(str::to_string)
}

impl AgiTrace {
    /// Reads a trace file.
    pub fn read(path: &Path) -> Result<AgiTrace, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        AgiTrace::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses trace text.
    pub fn parse(text: &str) -> Result<AgiTrace, String> {
        AgiTrace::parse_protocol(text, "fastagi")
    }

    /// Parses the text of a trace of TCP records (`tcp_open`, `recv`,
    /// `send`, `tcp_close`) whose meta line names `protocol`.
    pub fn parse_protocol(text: &str, protocol: &str) -> Result<AgiTrace, String> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let (_, first) = lines.next().ok_or("empty trace")?;
        let meta: Value = serde_json::from_str(first).map_err(|e| format!("line 1: {e}"))?;
        if meta.get("kind").and_then(Value::as_str) != Some("meta") {
            return Err("the first line is not the meta record".into());
        }
        if meta.get("protocol").and_then(Value::as_str) != Some(protocol) {
            return Err(format!("not a {protocol} trace"));
        }
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let mut records = Vec::new();
        for (n, line) in lines {
            let at = |e: String| format!("line {}: {e}", n + 1);
            let v: Value = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
            let bytes = || -> Result<Vec<u8>, String> {
                match (s(&v, "text"), s(&v, "base64")) {
                    (Some(t), _) => Ok(t.into_bytes()),
                    (None, Some(b)) => crate::trace::base64_decode(&b),
                    _ => Err("no text".into()),
                }
            };
            let kind = match s(&v, "kind").as_deref() {
                Some("tcp_open") => AgiKind::Open,
                Some("recv") => AgiKind::Recv(bytes().map_err(at)?),
                Some("send") => AgiKind::Send(bytes().map_err(at)?),
                Some("tcp_close") => AgiKind::Close(s(&v, "by").ok_or_else(|| at("no by".into()))?),
                other => return Err(at(format!("unknown record kind {other:?}"))),
            };
            records.push(AgiRecord {
                seq: v.get("seq").and_then(Value::as_u64).unwrap_or(0),
                t_ms: v.get("t_ms").and_then(Value::as_f64).unwrap_or(0.0),
                conn: s(&v, "conn").ok_or_else(|| at("no conn".into()))?,
                kind,
            });
        }
        Ok(AgiTrace {
            scenario: s(&meta, "scenario").unwrap_or_default(),
            asterisk_version: s(&meta, "asterisk_version").unwrap_or_default(),
            records,
        })
    }

    /// The connections, in the order they opened.
    pub fn connections(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for r in &self.records {
            if !seen.contains(&r.conn) {
                seen.push(r.conn.clone());
            }
        }
        seen
    }
}

/// One command line the script sent, with the replies that answer it.
#[derive(Debug, Clone, Default)]
pub struct Exchange {
    /// The index of the `send` record.
    pub send: usize,
    /// Interim replies, by record index.
    pub interim: Vec<usize>,
    /// Final replies, by record index: one, two for a line Asterisk ran as
    /// two commands, none after Asterisk closed.
    pub finals: Vec<usize>,
}

/// Pairs each `send` of a connection with its replies, by the rules of
/// FORMAT.md: in order, `1xx` lines not final, `HANGUP` never a reply, a
/// line longer than 8191 bytes answered twice.
pub fn pair(trace: &AgiTrace, conn: &str) -> Result<Vec<Exchange>, String> {
    let mut exchanges: Vec<Exchange> = Vec::new();
    // (exchange, finals still owed)
    let mut owed: std::collections::VecDeque<(usize, usize)> = Default::default();
    let mut env_seen = false;
    for (i, r) in trace
        .records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.conn == conn)
    {
        match &r.kind {
            AgiKind::Send(line) => {
                let parts = if line.len() > MAX_LINE + 1 { 2 } else { 1 };
                exchanges.push(Exchange {
                    send: i,
                    ..Exchange::default()
                });
                owed.push_back((exchanges.len() - 1, parts));
            }
            AgiKind::Recv(bytes) if !env_seen => {
                env_seen = true;
                let _ = bytes;
            }
            AgiKind::Recv(bytes) => match one_frame(bytes)? {
                Frame::Hangup => {}
                Frame::Reply(reply) => {
                    let Some((x, left)) = owed.front_mut() else {
                        return Err(format!("seq {}: a reply no command waits for", r.seq));
                    };
                    if reply.is_interim() {
                        exchanges[*x].interim.push(i);
                    } else {
                        exchanges[*x].finals.push(i);
                        *left -= 1;
                        if *left == 0 {
                            owed.pop_front();
                        }
                    }
                }
                other => return Err(format!("seq {}: {other:?}", r.seq)),
            },
            _ => {}
        }
    }
    Ok(exchanges)
}

/// The one frame a `recv` record after the environment holds.
fn one_frame(bytes: &[u8]) -> Result<Frame, String> {
    let mut d = Decoder::replies(Limits::default());
    d.feed(bytes);
    let frame = d.next_frame().ok_or("not a complete frame")?;
    if let Some(more) = d.next_frame() {
        return Err(format!("more than one frame: {more:?}"));
    }
    if d.buffered() > 0 {
        return Err(format!("{} bytes left over", d.buffered()));
    }
    Ok(frame)
}

/// How a recorded command line is rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rebuilt {
    /// A typed command writes exactly these bytes.
    Typed,
    /// A typed command writes the same words, quoted differently (or with
    /// the command words in another case).
    TypedSameWords,
    /// A raw command, exactly (arguments that fit no typed command).
    Raw,
    /// Refused, as Asterisk would misread it (a line too long).
    Refused,
}

/// Rebuilds one recorded command line with the typed commands.
pub fn rebuild(line: &[u8]) -> Result<(AnyCommand, Rebuilt), String> {
    let cmd = AnyCommand::from_line(line);
    let encoded = cmd.encode();
    let kind = match (&cmd, encoded) {
        (AnyCommand::Raw(_), Ok(bytes)) if bytes == line => Rebuilt::Raw,
        (_, Err(agi_proto::EncodeError::LineTooLong { .. })) if line.len() > MAX_LINE + 1 => {
            Rebuilt::Refused
        }
        (AnyCommand::Raw(_), other) => return Err(format!("raw: {other:?}")),
        (_, Ok(bytes)) if bytes == line => Rebuilt::Typed,
        (_, Ok(bytes)) if same_words(&bytes, line) => Rebuilt::TypedSameWords,
        (_, other) => {
            return Err(format!(
                "the typed command writes {:?}",
                other.map(|b| text(&b))
            ));
        }
    };
    Ok((cmd, kind))
}

/// Whether two lines split into the same words (command words compared
/// without regard to case, as Asterisk compares them).
fn same_words(a: &[u8], b: &[u8]) -> bool {
    let (wa, wb) = (
        agi_proto::args::split_args(a),
        agi_proto::args::split_args(b),
    );
    let n = AnyCommand::from_line(a).info().map_or(0, |i| i.words.len());
    wa.len() == wb.len()
        && wa.iter().zip(&wb).enumerate().all(|(i, (x, y))| {
            if i < n {
                x.eq_ignore_ascii_case(y)
            } else {
                x == y
            }
        })
}

/// Runs every check on one FastAGI trace.
pub fn check(trace: &AgiTrace) -> Report {
    let mut report = Report::default();
    let mut rebuilt: BTreeMap<Rebuilt, usize> = BTreeMap::new();
    for conn in trace.connections() {
        check_connection(trace, &conn, &mut report, &mut rebuilt);
    }
    report.notes.push(format!(
        "commands rebuilt: {} typed byte for byte, {} typed with other quoting, {} raw, {} refused (too long)",
        rebuilt.get(&Rebuilt::Typed).unwrap_or(&0),
        rebuilt.get(&Rebuilt::TypedSameWords).unwrap_or(&0),
        rebuilt.get(&Rebuilt::Raw).unwrap_or(&0),
        rebuilt.get(&Rebuilt::Refused).unwrap_or(&0),
    ));
    report
}

fn text(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s = s.trim_end_matches('\n');
    if s.len() > 60 {
        format!("{:?}...", &s[..s.floor_char_boundary(60)])
    } else {
        format!("{s:?}")
    }
}

fn check_connection(
    trace: &AgiTrace,
    conn: &str,
    report: &mut Report,
    rebuilt: &mut BTreeMap<Rebuilt, usize>,
) {
    let records: Vec<(usize, &AgiRecord)> = trace
        .records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.conn == conn)
        .collect();
    let seq0 = records.first().map_or(0, |(_, r)| r.seq);
    // The environment block.
    let env = records.iter().find_map(|(_, r)| match &r.kind {
        AgiKind::Recv(b) => Some((r.seq, b)),
        _ => None,
    });
    let Some((env_seq, env)) = env else {
        report.result(seq0, conn, Err("no environment block".into()));
        return;
    };
    report.result(env_seq, "environment block", check_env(env));

    // Commands and their replies.
    let exchanges = match pair(trace, conn) {
        Ok(x) => x,
        Err(e) => {
            report.result(seq0, "pairing", Err(e));
            return;
        }
    };
    let recv = |i: usize| match &trace.records[i].kind {
        AgiKind::Recv(b) => b.clone(),
        _ => Vec::new(),
    };
    for x in &exchanges {
        let r = &trace.records[x.send];
        let AgiKind::Send(line) = &r.kind else {
            continue;
        };
        let (cmd, how) = match rebuild(line) {
            Ok(v) => v,
            Err(e) => {
                report.result(r.seq, &format!("rebuild {}", text(line)), Err(e));
                continue;
            }
        };
        *rebuilt.entry(how).or_default() += 1;
        report.result(r.seq, "rebuild", Ok(()));
        if how == Rebuilt::TypedSameWords {
            report.notes.push(format!(
                "seq {}: {} is written {}",
                r.seq,
                text(line),
                text(&cmd.encode().unwrap_or_default())
            ));
        }
        for &i in &x.interim {
            let ok = Reply::parse(&recv(i)).is_some_and(|r| r.is_interim());
            report.result(
                trace.records[i].seq,
                "interim reply",
                ok.then_some(()).ok_or("not interim".into()),
            );
        }
        // The tail of a split line is answered as a command of its own.
        if let Some(&i) = x.finals.first() {
            let seq = trace.records[i].seq;
            let outcome = Reply::parse(&recv(i))
                .ok_or_else(|| "not a reply".to_string())
                .and_then(|reply| typed_result(&cmd, &reply));
            report.result(seq, &format!("reply to {}", text(line)), outcome);
        }
        if how == Rebuilt::Refused && x.finals.len() != 2 {
            report.result(
                r.seq,
                "split line",
                Err("a line too long must be answered twice".into()),
            );
        }
    }
    replay(trace, conn, &exchanges, false, report);
    replay(trace, conn, &exchanges, true, report);
}

fn check_env(env: &[u8]) -> Result<(), String> {
    let mut d = Decoder::new(Limits::default());
    d.feed(env);
    let Some(Frame::Request(request)) = d.next_frame() else {
        return Err("does not decode as an environment block".into());
    };
    if d.buffered() > 0 {
        return Err("bytes after the empty line".into());
    }
    if request.encode() != env {
        return Err("does not write back byte for byte".into());
    }
    if Request::parse(env) != *request {
        return Err("Request::parse reads it differently".into());
    }
    if request.channel.is_none() || request.request.is_none() || request.unique_id.is_none() {
        return Err("agi_channel, agi_request or agi_uniqueid missing".into());
    }
    if !request.unknown.is_empty() {
        return Err(format!("untyped lines: {:?}", request.unknown));
    }
    let n = request
        .lines()
        .filter(|(n, _)| n.starts_with(b"agi_arg_"))
        .count();
    if request.args.len() != n {
        return Err("arguments lost".into());
    }
    Ok(())
}

/// The reply read as the command's typed result: a result, or one of the
/// error replies (`510`, `511`, `520`), never "unexpected".
fn typed_result(cmd: &AnyCommand, reply: &Reply) -> Result<(), String> {
    match cmd.parse_reply(reply) {
        Ok(_) => Ok(()),
        Err(ReplyError::Unexpected(r)) => Err(format!("{cmd:?} cannot read {r:?}")),
        Err(ReplyError::DeadChannel | ReplyError::InvalidCommand) => Ok(()),
        Err(ReplyError::Usage { usage }) if !usage.is_empty() => Ok(()),
        Err(e) => Err(format!("{e}")),
    }
}

/// What a command sent in a replay must get: (its send's seq, the
/// interim replies, the final reply if there is one).
type Expected = (u64, Vec<Vec<u8>>, Option<Vec<u8>>);

/// Replays one connection through a session: Asterisk's bytes in (whole
/// records, or one byte at a time), the recorded commands sent, and each
/// command's outcome compared with the recording.
fn replay(
    trace: &AgiTrace,
    conn: &str,
    exchanges: &[Exchange],
    bytewise: bool,
    report: &mut Report,
) {
    let what = if bytewise {
        "replay (byte by byte)"
    } else {
        "replay"
    };
    let base = Instant::now();
    let at = |t: f64| base + Duration::from_secs_f64(t.max(0.0) / 1000.0);
    let by_send: BTreeMap<usize, &Exchange> = exchanges.iter().map(|x| (x.send, x)).collect();
    let mut session: Option<Session> = None;
    let mut skip: HashSet<usize> = HashSet::new();
    // Sent command id -> what the recording says it gets.
    let mut expected: BTreeMap<u64, Expected> = BTreeMap::new();
    // Commands sent after a HANGUP line: the table lets them run dead.
    let mut sent_dead: HashSet<u64> = HashSet::new();
    let mut answered: BTreeMap<u64, Result<Vec<u8>, CommandError>> = BTreeMap::new();
    let mut interims: BTreeMap<u64, Vec<Vec<u8>>> = BTreeMap::new();
    let mut hangups_fed = 0u32;
    let mut hangups_seen = 0u32;
    let mut failures = Vec::new();
    let mut last_seq = 0;
    for (i, r) in trace
        .records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.conn == conn)
    {
        last_seq = r.seq;
        let now = at(r.t_ms);
        if let Some(s) = session.as_mut() {
            s.handle_timeout(now);
        }
        match &r.kind {
            AgiKind::Open => session = Some(Session::new(Config::default(), now)),
            AgiKind::Recv(bytes) => {
                let Some(s) = session.as_mut() else { continue };
                if skip.contains(&i) {
                    continue;
                }
                if bytes == b"HANGUP\n" {
                    hangups_fed += 1;
                }
                if bytewise {
                    for b in bytes {
                        s.handle_bytes(std::slice::from_ref(b), now);
                    }
                } else {
                    s.handle_bytes(bytes, now);
                }
            }
            AgiKind::Send(line) => {
                let Some(s) = session.as_mut() else { continue };
                let cmd = AnyCommand::from_line(line);
                let x = by_send.get(&i);
                let finals: Vec<usize> = x.map(|x| x.finals.clone()).unwrap_or_default();
                let hung_up = s.is_hung_up();
                let final_bytes = |k: usize| match finals.get(k).map(|&f| &trace.records[f].kind) {
                    Some(AgiKind::Recv(b)) => Some(b.clone()),
                    _ => None,
                };
                match s.send(&cmd, now) {
                    Ok(id) => {
                        match s.poll_transmit() {
                            Some(Transmit::Send(bytes)) if Ok(&bytes) == cmd.encode().as_ref() => {}
                            other => failures.push(format!("seq {}: sent {other:?}", r.seq)),
                        }
                        let interim = x
                            .map(|x| {
                                x.interim
                                    .iter()
                                    .filter_map(|&k| match &trace.records[k].kind {
                                        AgiKind::Recv(b) => Some(b.clone()),
                                        _ => None,
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        expected.insert(id.0, (r.seq, interim, final_bytes(0)));
                        if hung_up {
                            sent_dead.insert(id.0);
                        }
                    }
                    Err(CommandError::DeadChannel { .. }) => {
                        // Refused here: Asterisk must have answered 511.
                        match final_bytes(0) {
                            Some(b) if b.starts_with(b"511 ") => {
                                skip.extend(finals.iter().copied())
                            }
                            other => failures.push(format!(
                                "seq {}: refused locally, but Asterisk answered {:?}",
                                r.seq,
                                other.map(|b| String::from_utf8_lossy(&b).into_owned())
                            )),
                        }
                    }
                    Err(CommandError::Encode(agi_proto::EncodeError::LineTooLong { .. }))
                        if finals.len() == 2 =>
                    {
                        skip.extend(finals.iter().copied())
                    }
                    Err(CommandError::Closed) if finals.is_empty() => {}
                    Err(e) => failures.push(format!("seq {}: send failed: {e}", r.seq)),
                }
            }
            AgiKind::Close(by) => {
                let Some(s) = session.as_mut() else { continue };
                if by == "server" {
                    s.close(now);
                    if s.state() != agi_proto::State::Closed
                        && s.poll_transmit() != Some(Transmit::Close)
                    {
                        failures.push(format!(
                            "seq {}: close did not shut the sending side",
                            r.seq
                        ));
                    }
                } else {
                    s.handle_eof(now);
                }
            }
        }
        if let Some(s) = session.as_mut() {
            while let Some(t) = s.poll_transmit() {
                failures.push(format!("seq {}: unexpected transmit {t:?}", r.seq));
            }
            while let Some(o) = s.poll_output() {
                match o {
                    Output::Reply { id, result } => {
                        answered.insert(id.0, result.map(|r| r.as_bytes().to_vec()));
                    }
                    Output::Interim { id, reply } => interims
                        .entry(id.0)
                        .or_default()
                        .push(reply.as_bytes().to_vec()),
                    Output::Hangup => hangups_seen += 1,
                    Output::Request(_) | Output::Closed(_) => {}
                    other => failures.push(format!("seq {}: {other:?}", r.seq)),
                }
            }
        }
    }
    for (id, (seq, interim, want)) in &expected {
        let got = answered.get(id);
        let ok = match (want, got) {
            (Some(w), Some(Ok(g))) => w == g,
            // Sent after Asterisk closed: no reply, and the session says so.
            (None, Some(Err(CommandError::ConnectionLost))) => true,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "seq {seq}: recorded {:?}, the session gave {got:?}",
                want.as_ref()
                    .map(|w| String::from_utf8_lossy(w).into_owned())
            ));
        }
        if sent_dead.contains(id)
            && let Some(Ok(g)) = got
            && g.starts_with(b"511 ")
        {
            failures.push(format!(
                "seq {seq}: allowed on a dead channel here, but Asterisk refused it"
            ));
        }
        if interims.get(id).cloned().unwrap_or_default() != *interim {
            failures.push(format!("seq {seq}: interim replies differ"));
        }
    }
    if hangups_seen != hangups_fed {
        failures.push(format!(
            "{hangups_fed} HANGUP lines fed, {hangups_seen} reported"
        ));
    }
    if let Some(s) = &session
        && s.state() != agi_proto::State::Closed
    {
        failures.push(format!("the session is {:?} at the end", s.state()));
    }
    let outcome = if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    };
    report.result(last_seq, &format!("{conn}: {what}"), outcome);
}

/// The FastAGI traces shipped with this crate (`traces/agi/`).
pub fn bundled_agi_traces() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("traces/agi");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|e| e == "jsonl"));
    files.sort();
    files
}

/// The AsyncAGI session of an AMI trace (`traces/ami/ami-asyncagi.jsonl`)
/// through [`agi_proto::AsyncAgi`]: the channel and environment from
/// `AsyncAGIStart`, each recorded `AGI` action rebuilt byte for byte from a
/// typed command (with the recorded ActionID), each `AsyncAGIExec` read as
/// that command's typed result, and `AsyncAGIEnd`.
pub fn check_asyncagi(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let trace = AgiTrace::parse_protocol(&text, "ami")?;
    let mut report = Report::default();
    let base = Instant::now();
    let mut decoder = ami_proto::Decoder::default();
    let mut agi: Option<agi_proto::AsyncAgi> = None;
    let mut sent: BTreeMap<u64, (u64, AnyCommand)> = BTreeMap::new();
    let mut replies = 0;
    let mut ended = false;
    for r in &trace.records {
        let now = base + Duration::from_secs_f64(r.t_ms.max(0.0) / 1000.0);
        match &r.kind {
            AgiKind::Recv(bytes) => {
                decoder.feed(bytes);
                while let Ok(Some(frame)) = decoder.next_frame() {
                    let ami_proto::Frame::Message(m) = frame else {
                        continue;
                    };
                    if agi.is_none()
                        && let Some(a) = agi_proto::AsyncAgi::start(&m, "ami-agi-cmd-")
                    {
                        let req = a.request();
                        let ok = req.request.as_ref().is_some_and(|v| v == "async")
                            && req.channel.as_ref().is_some_and(|c| c == a.channel())
                            && req.is_complete()
                            && req.unknown.is_empty();
                        report.result(
                            r.seq,
                            "AsyncAGIStart",
                            ok.then_some(()).ok_or_else(|| format!("{req:?}")),
                        );
                        agi = Some(a);
                        continue;
                    }
                    let Some(a) = agi.as_mut() else { continue };
                    if !a.handle_event(&m, now) {
                        continue;
                    }
                    while let Some(out) = a.poll_output() {
                        match out {
                            agi_proto::AsyncOutput::Reply { id, result } => {
                                replies += 1;
                                let outcome = match (sent.get(&id.0), result) {
                                    (Some((_, cmd)), Ok(reply)) => typed_result(cmd, &reply),
                                    (_, other) => Err(format!("{other:?}")),
                                };
                                report.result(r.seq, "AsyncAGIExec", outcome);
                            }
                            agi_proto::AsyncOutput::Ended => {
                                ended = true;
                                report.result(r.seq, "AsyncAGIEnd", Ok(()));
                            }
                            other => report.result(r.seq, "AsyncAGI", Err(format!("{other:?}"))),
                        }
                    }
                }
            }
            AgiKind::Send(bytes) => {
                let fields = ami_fields(bytes);
                let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                if get("Action").as_deref() != Some("AGI") {
                    continue;
                }
                let Some(a) = agi.as_mut() else {
                    report.result(r.seq, "AGI action", Err("before AsyncAGIStart".into()));
                    continue;
                };
                let line = get("Command").unwrap_or_default();
                let cmd = AnyCommand::from_line(line.as_bytes());
                let outcome =
                    a.command(&cmd, now)
                        .map_err(|e| e.to_string())
                        .and_then(|(id, action)| {
                            let mut out = Vec::new();
                            action
                                .encode(get("ActionID").as_deref(), &mut out)
                                .map_err(|e| e.to_string())?;
                            sent.insert(id.0, (r.seq, cmd.clone()));
                            if matches!(cmd, AnyCommand::Raw(_)) && line != "NO SUCH COMMAND" {
                                return Err(format!("{line:?} is not typed"));
                            }
                            (out == *bytes).then_some(()).ok_or_else(|| {
                                format!("rebuilt as {:?}", String::from_utf8_lossy(&out))
                            })
                        });
                report.result(r.seq, "AGI action", outcome);
            }
            _ => {}
        }
    }
    let all = agi.is_some() && ended && replies == sent.len() && !sent.is_empty();
    report.result(
        0,
        "every command answered",
        all.then_some(())
            .ok_or_else(|| format!("{} commands, {replies} replies, ended: {ended}", sent.len())),
    );
    Ok(report)
}

/// The `Name: value` lines of an AMI message as sent.
fn ami_fields(bytes: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(bytes)
        .split("\r\n")
        .filter_map(|l| l.split_once(": "))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = r#"{"seq":0,"t_ms":0,"kind":"meta","format":1,"protocol":"fastagi","scenario":"t","asterisk_version":"22.10.1"}
{"seq":1,"t_ms":1,"kind":"tcp_open","conn":"a1"}
{"seq":2,"t_ms":2,"kind":"recv","conn":"a1","text":"agi_network: yes\nagi_request: agi://127.0.0.1\nagi_channel: PJSIP/a-1\nagi_uniqueid: 1.1\n\n"}
{"seq":3,"t_ms":3,"kind":"send","conn":"a1","text":"GET VARIABLE CHANNEL\n"}
{"seq":4,"t_ms":4,"kind":"recv","conn":"a1","text":"200 result=1 (PJSIP/a-1)\n"}
{"seq":5,"t_ms":5,"kind":"recv","conn":"a1","text":"HANGUP\n"}
{"seq":6,"t_ms":6,"kind":"send","conn":"a1","text":"STREAM FILE beep \"\"\n"}
{"seq":7,"t_ms":7,"kind":"recv","conn":"a1","text":"511 Command Not Permitted on a dead channel or intercept routine\n"}
{"seq":8,"t_ms":8,"kind":"send","conn":"a1","text":"NOOP\n"}
{"seq":9,"t_ms":9,"kind":"recv","conn":"a1","text":"200 result=0\n"}
{"seq":10,"t_ms":10,"kind":"tcp_close","conn":"a1","by":"server"}
{"seq":11,"t_ms":11,"kind":"recv","conn":"a1","text":"HANGUP\n"}
{"seq":12,"t_ms":12,"kind":"tcp_close","conn":"a1","by":"client"}"#;

    fn failures(text: &str) -> Vec<String> {
        check(&AgiTrace::parse(text).unwrap()).failures
    }

    #[test]
    fn a_good_trace_passes() {
        let report = check(&AgiTrace::parse(TRACE).unwrap());
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        assert!(report.passed >= 6, "{}", report.passed);
    }

    #[test]
    fn a_broken_trace_fails() {
        // A reply that is not what the command answers.
        let f = failures(&TRACE.replace("200 result=1 (PJSIP/a-1)", "200 result=7"));
        assert!(f.iter().any(|f| f.contains("cannot read")), "{f:?}");
        // A command Asterisk refused after the hangup that the table allows.
        let f = failures(&TRACE.replace("200 result=0\\n", "511 Command Not Permitted\\n"));
        assert!(f.iter().any(|f| f.contains("Asterisk refused it")), "{f:?}");
        // A command the session refuses after the hangup that Asterisk ran.
        let f = failures(&TRACE.replace(
            "511 Command Not Permitted on a dead channel or intercept routine",
            "200 result=0 endpos=0",
        ));
        assert!(f.iter().any(|f| f.contains("refused locally")), "{f:?}");
        // A reply with no command.
        let f = failures(&TRACE.replace(
            r#""kind":"send","conn":"a1","text":"NOOP\n""#,
            r#""kind":"recv","conn":"a1","text":"HANGUP\n""#,
        ));
        assert!(f.iter().any(|f| f.contains("no command waits")), "{f:?}");
        // An environment block that is not one.
        let f = failures(&TRACE.replace("agi_uniqueid: 1.1\\n\\n", "agi_uniqueid: 1.1\\n"));
        assert!(!f.is_empty());
        // Not FastAGI at all.
        assert!(AgiTrace::parse(&TRACE.replace("fastagi", "ami")).is_err());
    }

    #[test]
    fn rebuilds_typed_raw_or_refused() {
        assert_eq!(rebuild(b"STREAM FILE x \"#\"\n").unwrap().1, Rebuilt::Typed);
        assert_eq!(
            rebuild(b"stream file x #\n").unwrap().1,
            Rebuilt::TypedSameWords
        );
        assert_eq!(rebuild(b"FOO BAR\n").unwrap().1, Rebuilt::Raw);
        let long = format!("NOOP {}\n", "x".repeat(9000));
        assert_eq!(rebuild(long.as_bytes()).unwrap().1, Rebuilt::Refused);
    }
}
