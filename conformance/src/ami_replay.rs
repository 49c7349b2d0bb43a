//! Every recorded AMI connection replayed through an [`ami_proto::Session`]
//! with no socket: the session is configured as the recorded client logged
//! in and writes that login itself (the MD5 key included), the client's
//! other actions go out through [`Session::send`], Asterisk's recorded
//! answers come back in (ActionIDs mapped to the session's own), and every
//! answer must reach its action and every other event the application.

use crate::ami_trace::{AmiKind, AmiRecord, AmiTrace, REDACTED};
use crate::check::Report;
use ami_proto::{
    Action, ActionError, ActionId, Answer, CloseReason, Config, ConnectionEvent, ConnectionState,
    Decoder, EventMask, Frame, Kind, Line, LoginAuth, Message, Output, Session, Transmit,
};
use std::collections::HashMap;
use std::time::Instant;

/// The secret the recorded clients logged in with (the recording
/// machine's manager.conf): the session needs it to compute the MD5 key of
/// a challenge login, which the trace shows but not the secret.
pub const RECORDED_SECRET: &str = "amp111";

/// What a replay went through, over all connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AmiReplayTally {
    /// Connections replayed (refused ones and those without a login
    /// left out).
    pub connections: usize,
    /// Logins the session completed.
    pub logins: usize,
    /// Answers (or typed errors) handed to the application's actions.
    pub answers: usize,
    /// Events handed to the application.
    pub events: usize,
    /// Event-list items and completions handed over inside answers.
    pub gathered: usize,
    /// Responses no action waited for.
    pub orphans: usize,
}

/// Name and headers of a message, the ActionID left out, names in lower
/// case, sorted: what must match between a recorded and a written action.
pub fn action_shape(m: &Message) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = m
        .fields()
        .filter(|(n, _)| !n.eq_ignore_case("ActionID"))
        .map(|(n, v)| (n.to_string().to_ascii_lowercase(), v.to_string()))
        .collect();
    fields.sort();
    fields
}

/// `bytes` with the value of every `ActionID:` line found in `ids`
/// replaced by what it maps to.
pub fn substitute_action_ids(bytes: &[u8], ids: &HashMap<String, String>) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 16);
    let mut rest = bytes;
    while !rest.is_empty() {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(rest.len(), |p| p + 2);
        let (line, tail) = rest.split_at(end);
        rest = tail;
        let mapped = line
            .strip_prefix(b"ActionID: ")
            .and_then(|v| v.strip_suffix(b"\r\n"))
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|id| ids.get(id));
        match mapped {
            Some(ours) => {
                out.extend_from_slice(b"ActionID: ");
                out.extend_from_slice(ours.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            None => out.extend_from_slice(line),
        }
    }
    out
}

fn parse_action(bytes: &[u8]) -> Option<Message> {
    let mut d = Decoder::for_actions(1 << 20);
    d.feed(bytes);
    match d.next_frame() {
        Ok(Some(Frame::Message(m))) => Some(m),
        _ => None,
    }
}

/// Replays every connection of `trace` through a session, noting each
/// check in `report`.
pub fn replay_ami(trace: &AmiTrace, report: &mut Report) -> AmiReplayTally {
    replay_connections(trace, report).1
}

/// What the socket-free replay of one recorded connection gave: what a
/// client under test, configured and driven the same way, must get too.
#[derive(Debug, Clone, Default)]
pub struct ConnectionReplay {
    /// The connection's name.
    pub conn: String,
    /// The recorded connection was refused (nothing else is set).
    pub refused: bool,
    /// The session's configuration, from the recorded login (host
    /// `127.0.0.1`); `None` when the connection has no login.
    pub config: Option<Config>,
    /// The login was refused, with Asterisk's message.
    pub login_refused: Option<String>,
    /// The application's actions the session sent, in order, with the
    /// `seq` of their recorded `send`.
    pub actions: Vec<(u64, Action)>,
    /// Their outcomes, in the same order (`None`: no outcome came).
    pub answers: Vec<Option<Result<Answer, ActionError>>>,
    /// The events handed to the application, each with the `seq` of the
    /// record that brought it.
    pub events: Vec<(u64, Message)>,
    /// Recorded `send`s the session did not send (not an action, lines
    /// not ending as actions do, refused by `encode`).
    pub skipped_sends: Vec<u64>,
    /// The `seq` of the application's `Logoff`, if it sent one.
    pub logoff: Option<u64>,
    /// Asterisk closed the connection.
    pub closed_by_server: bool,
}

/// Replays every connection of `trace`, noting each check in `report`;
/// returns what each connection gave, in the order they were opened.
pub fn replay_connections(
    trace: &AmiTrace,
    report: &mut Report,
) -> (Vec<ConnectionReplay>, AmiReplayTally) {
    let mut tally = AmiReplayTally::default();
    let mut out = Vec::new();
    for conn in trace.connection_names() {
        if trace.refused(conn) {
            out.push(ConnectionReplay {
                conn: conn.to_string(),
                refused: true,
                ..ConnectionReplay::default()
            });
            continue;
        }
        let records: Vec<&AmiRecord> = trace.connection(conn).collect();
        out.push(replay_connection(conn, &records, report, &mut tally));
    }
    (out, tally)
}

/// One client of a recorded trace: a connection with a login and the
/// connections it reconnected with by itself (after Asterisk closed it
/// without being asked to), refused attempts included.
#[derive(Debug, Clone, Default)]
pub struct RecordedClient {
    /// Its connections, in order (refused ones included).
    pub connections: Vec<ConnectionReplay>,
}

impl RecordedClient {
    /// The configuration it logged in with first (`None`: no login, the
    /// recorded client wrote raw bytes).
    pub fn config(&self) -> Option<&Config> {
        self.connections.first().and_then(|c| c.config.as_ref())
    }
}

/// The trace's clients, in the order they connected: a connection with a
/// login starts a client, unless it follows (after refused attempts, if
/// any) a connection of the same user that Asterisk closed without a
/// `Logoff`: then it is that client reconnecting. Connections without a
/// login, and refused ones no client retries, are clients of their own.
pub fn recorded_clients(trace: &AmiTrace) -> Vec<RecordedClient> {
    let (connections, _) = replay_connections(trace, &mut Report::default());
    let mut clients: Vec<RecordedClient> = Vec::new();
    for c in connections {
        let retrying = clients.last().and_then(|client| {
            let opened = client.connections.iter().find(|c| !c.refused)?;
            let last = client.connections.last()?;
            let dropped = last.refused || (last.closed_by_server && last.logoff.is_none());
            let user = |c: &ConnectionReplay| c.config.as_ref().map(|c| c.username.clone());
            let same = c.refused || user(&c) == user(opened);
            (dropped && same && opened.login_refused.is_none() && opened.config.is_some())
                .then_some(())
        });
        match retrying {
            Some(()) => clients.last_mut().expect("just seen").connections.push(c),
            None => clients.push(RecordedClient {
                connections: vec![c],
            }),
        }
    }
    clients
}

/// A message's lines without its `ActionID` lines, one per line: what a
/// replay compares (ActionIDs are each client's own).
pub fn message_digest(m: &Message) -> String {
    let mut out = String::new();
    for line in m.lines() {
        match line {
            Line::Field(n, _) if n.eq_ignore_case("ActionID") => continue,
            Line::Field(n, v) => out.push_str(&format!("{n}: {v}")),
            Line::Text(t) => out.push_str(&t.to_string()),
        }
        out.push('\n');
    }
    out
}

/// An action's outcome as [`message_digest`]s: response, items and
/// completion, or the error and the message Asterisk refused with.
pub fn answer_digest(result: &Result<Answer, ActionError>) -> String {
    match result {
        Ok(a) => {
            let mut out = format!("ok\n{}", message_digest(&a.response));
            for item in &a.items {
                out.push_str(&format!("item\n{}", message_digest(item)));
            }
            if let Some(c) = &a.completion {
                out.push_str(&format!("completion\n{}", message_digest(c)));
            }
            out
        }
        Err(ActionError::Refused { message, response }) => {
            format!("refused {message:?}\n{}", message_digest(response))
        }
        Err(e) => format!("error {e}"),
    }
}

/// The session's configuration for a recorded connection, from its login.
fn config_for(sends: &[Message], login: &Message) -> Result<Config, String> {
    let challenge_first = sends
        .first()
        .is_some_and(|m| matches!(m.kind(), Kind::Action(n) if n.eq_ignore_case("Challenge")));
    let secret = login
        .get("Secret")
        .map_or(RECORDED_SECRET.to_string(), |s| s.to_string());
    let username = login.get("Username").ok_or("a Login without Username")?;
    let mut config = Config::new("127.0.0.1", username.to_string(), secret)
        .map_err(|e| format!("no session for this login: {e}"))?;
    config.auth = if challenge_first {
        LoginAuth::Challenge
    } else {
        LoginAuth::Plain
    };
    config.events = match login.get("Events").map(|e| e.to_string()) {
        None => EventMask::All,
        Some(e) if e.eq_ignore_ascii_case("off") => EventMask::Off,
        Some(e) if e.eq_ignore_ascii_case("on") => EventMask::All,
        Some(e) => EventMask::Classes(e.split(',').map(str::to_string).collect()),
    };
    // The recorded clients asked for nothing else after the login.
    config.learn_server_version = false;
    config.ping_interval = None;
    Ok(config)
}

fn replay_connection(
    conn: &str,
    records: &[&AmiRecord],
    report: &mut Report,
    tally: &mut AmiReplayTally,
) -> ConnectionReplay {
    let mut replay = ConnectionReplay {
        conn: conn.to_string(),
        closed_by_server: records
            .iter()
            .any(|r| matches!(&r.kind, AmiKind::TcpClose { by } if by == "server")),
        ..ConnectionReplay::default()
    };
    let sends: Vec<Message> = records
        .iter()
        .filter_map(|r| match &r.kind {
            AmiKind::Send(t) if !t.iter().all(u8::is_ascii_whitespace) => parse_action(t),
            _ => None,
        })
        .collect();
    let Some(login) = sends
        .iter()
        .find(|m| matches!(m.kind(), Kind::Action(n) if n.eq_ignore_case("Login")))
    else {
        report.notes.push(format!(
            "{conn}: no Login, so no session replays this connection"
        ));
        return replay;
    };
    let first_seq = records.first().map_or(0, |r| r.seq);
    let config = match config_for(&sends, login) {
        Ok(c) => c,
        Err(e) => {
            report.result(first_seq, &format!("replay {conn}"), Err(e));
            return replay;
        }
    };
    let challenge_first = config.auth == LoginAuth::Challenge;
    replay.config = Some(config.clone());
    let mut session = match Session::new(config) {
        Ok(s) => s,
        Err(e) => {
            report.result(first_seq, &format!("replay {conn}"), Err(e.to_string()));
            return replay;
        }
    };
    let mut ids_of: HashMap<ActionId, usize> = HashMap::new();
    let now = Instant::now();
    session.connect(now);
    tally.connections += 1;

    let mut written = Decoder::for_actions(1 << 20);
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut app_sent = 0;
    let mut recorded_events = 0;
    let mut outputs = Vec::new();
    let mut internal = 0; // the login actions the session writes itself
    let mut logged_in = false;
    for record in records {
        match &record.kind {
            AmiKind::Send(text) => {
                let Some(recorded) = parse_action(text) else {
                    replay.skipped_sends.push(record.seq);
                    continue;
                };
                let Kind::Action(name) = recorded.kind() else {
                    replay.skipped_sends.push(record.seq);
                    continue;
                };
                if logged_in && name.eq_ignore_case("Logoff") && recorded.action_id().is_none() {
                    // What `Session::close` writes: a Logoff of its own,
                    // with no ActionID, whose answer nobody waits for.
                    replay.logoff.get_or_insert(record.seq);
                    session.close(now);
                    let mut wrote = None;
                    while let Some(t) = session.poll_transmit() {
                        if let Transmit::Send(bytes) = t {
                            written.feed(&bytes);
                            if let Ok(Some(Frame::Message(m))) = written.next_frame() {
                                wrote = Some(m);
                            }
                        }
                    }
                    let outcome = match wrote {
                        Some(m) if action_shape(&m) == action_shape(&recorded) => Ok(()),
                        Some(m) => Err(format!("the session wrote {m:?}")),
                        None => Err("the session wrote no Logoff".into()),
                    };
                    let what =
                        format!("replay {conn} Logoff of the session's close written as recorded");
                    report.result(record.seq, &what, outcome);
                    continue;
                }
                let own = !logged_in
                    && (name.eq_ignore_case("Challenge") && challenge_first && internal == 0
                        || name.eq_ignore_case("Login"));
                logged_in |= own && name.eq_ignore_case("Login");
                let canonical = recorded.lines().all(|l| matches!(l, Line::Field(..)));
                let what = format!("replay {conn} {name}");
                if own {
                    internal += 1;
                } else if canonical {
                    let mut action = Action::new(name.to_string());
                    for (n, v) in recorded
                        .fields()
                        .skip(1)
                        .filter(|(n, _)| !n.eq_ignore_case("ActionID"))
                    {
                        action = action.header(n.to_string(), v.to_string());
                    }
                    let Ok(id) = session.send(&action, now) else {
                        // Refused locally (a probe of Asterisk's limits):
                        // the static checks look at these.
                        replay.skipped_sends.push(record.seq);
                        continue;
                    };
                    if name.eq_ignore_case("Logoff") {
                        replay.logoff.get_or_insert(record.seq);
                    }
                    ids_of.insert(id, replay.actions.len());
                    replay.actions.push((record.seq, action));
                    replay.answers.push(None);
                    app_sent += 1;
                } else {
                    replay.skipped_sends.push(record.seq);
                    continue;
                }
                // What the session wrote must be what the client wrote.
                let mut wrote = None;
                while let Some(t) = session.poll_transmit() {
                    match t {
                        Transmit::Connect => session.handle_connected(now),
                        Transmit::Send(bytes) => {
                            written.feed(&bytes);
                            if let Ok(Some(Frame::Message(m))) = written.next_frame() {
                                wrote = Some(m);
                            }
                        }
                        _ => {}
                    }
                }
                let Some(wrote) = wrote else {
                    report.result(
                        record.seq,
                        &what,
                        Err("the session wrote nothing for it".into()),
                    );
                    return replay;
                };
                let mut expected = action_shape(&recorded);
                let mut got = action_shape(&wrote);
                if recorded.get("Events").is_none() {
                    got.retain(|(n, v)| !(n == "events" && v == "on"));
                }
                expected.retain(|(n, _)| n != "events" || login.get("Events").is_some());
                let outcome = if got == expected {
                    Ok(())
                } else {
                    let unkeyed = |v: &[(String, String)]| {
                        v.iter()
                            .filter(|(n, _)| n != "key")
                            .cloned()
                            .collect::<Vec<_>>()
                    };
                    if own && unkeyed(&got) == unkeyed(&expected) {
                        let why = if recorded.get("Key").is_some_and(|k| k == REDACTED) {
                            "the trace's key was redacted".to_string()
                        } else {
                            format!("the trace's secret is not {RECORDED_SECRET:?}")
                        };
                        report.notes.push(format!(
                            "seq {}: {what}: another MD5 key ({why})",
                            record.seq
                        ));
                        Ok(())
                    } else {
                        Err(format!(
                            "the session wrote {got:?}, the client {expected:?}"
                        ))
                    }
                };
                report.result(record.seq, &format!("{what} written as recorded"), outcome);
                if let (Some(theirs), Some(ours)) = (recorded.action_id(), wrote.action_id()) {
                    ids.insert(theirs.to_string(), ours.to_string());
                }
            }
            AmiKind::Recv(text) => {
                if session.banner().is_none() {
                    // The banner: the connection is up first.
                    while let Some(t) = session.poll_transmit() {
                        if t == Transmit::Connect {
                            session.handle_connected(now);
                        }
                    }
                } else if text
                    .get(..6)
                    .is_some_and(|h| h.eq_ignore_ascii_case(b"Event:"))
                    && matches!(
                        session.connection_state(),
                        ConnectionState::Connecting | ConnectionState::Open
                    )
                {
                    recorded_events += 1;
                }
                session.handle_bytes(&substitute_action_ids(text, &ids), now);
            }
            AmiKind::TcpClose { by } if by == "server" => {
                session.handle_closed("closed by Asterisk", now)
            }
            _ => {}
        }
        for output in std::iter::from_fn(|| session.poll_output()) {
            match &output {
                Output::Answer { id, result } => {
                    if let Some(slot) = ids_of.get(id).and_then(|&i| replay.answers.get_mut(i)) {
                        *slot = Some(result.clone());
                    }
                }
                Output::Event(m) => replay.events.push((record.seq, m.clone())),
                Output::Connection(ConnectionEvent::Closed(CloseReason::LoginRefused(why))) => {
                    replay.login_refused = Some(why.clone());
                }
                _ => {}
            }
            outputs.push(output);
        }
    }
    let seq = records.last().map_or(first_seq, |r| r.seq);
    let mut answered = 0;
    let mut delivered_events = 0;
    for output in &outputs {
        match output {
            Output::Answer { result, .. } => {
                answered += 1;
                match result {
                    Ok(answer) => {
                        delivered_events +=
                            answer.items.len() + usize::from(answer.completion.is_some());
                        tally.gathered +=
                            answer.items.len() + usize::from(answer.completion.is_some());
                    }
                    // Asterisk's own refusals (an asynchronous Originate's
                    // failed OriginateResponse among them) and the end of
                    // the connection (after Logoff).
                    Err(ActionError::Refused { response, .. }) => {
                        if matches!(response.kind(), Kind::Event(_)) {
                            delivered_events += 1;
                            tally.gathered += 1;
                        }
                    }
                    Err(ActionError::ConnectionLost) => {}
                    Err(e) => report.result(
                        seq,
                        &format!("replay {conn}"),
                        Err(format!("an answer failed: {e}")),
                    ),
                }
            }
            Output::Event(_) => {
                delivered_events += 1;
                tally.events += 1;
            }
            Output::Orphan(m) => {
                tally.orphans += 1;
                if !matches!(m.kind(), Kind::Response(_)) {
                    report.result(
                        seq,
                        &format!("replay {conn}"),
                        Err(format!("an orphan that is no response: {m:?}")),
                    );
                }
            }
            Output::Connection(ConnectionEvent::Open { .. }) => tally.logins += 1,
            Output::Connection(_) => {}
            other => report.result(
                seq,
                &format!("replay {conn}"),
                Err(format!("unexpected output {other:?}")),
            ),
        }
    }
    tally.answers += answered;
    report.result(
        seq,
        &format!("replay {conn}: every action answered once"),
        if answered == app_sent {
            Ok(())
        } else {
            Err(format!("{answered} answers to {app_sent} actions"))
        },
    );
    report.result(
        seq,
        &format!("replay {conn}: every event delivered"),
        if delivered_events == recorded_events {
            Ok(())
        } else {
            Err(format!(
                "{delivered_events} of {recorded_events} recorded events reached the application"
            ))
        },
    );
    replay
}
