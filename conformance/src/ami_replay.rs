//! Every recorded AMI connection replayed through an [`ami_proto::Session`]
//! with no socket: the session is configured as the recorded client logged
//! in and writes that login itself (the MD5 key included), the client's
//! other actions go out through [`Session::send`], Asterisk's recorded
//! answers come back in (ActionIDs mapped to the session's own), and every
//! answer must reach its action and every other event the application.

use crate::ami_trace::{AmiKind, AmiRecord, AmiTrace};
use crate::check::Report;
use ami_proto::{
    Action, ActionError, Config, ConnectionEvent, ConnectionState, Decoder, EventMask, Frame, Kind,
    Line, LoginAuth, Message, Output, Session, Transmit,
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
    let mut tally = AmiReplayTally::default();
    for conn in trace.connection_names() {
        if trace.refused(conn) {
            continue;
        }
        let records: Vec<&AmiRecord> = trace.connection(conn).collect();
        replay_connection(conn, &records, report, &mut tally);
    }
    tally
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
) {
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
        return;
    };
    let first_seq = records.first().map_or(0, |r| r.seq);
    let config = match config_for(&sends, login) {
        Ok(c) => c,
        Err(e) => return report.result(first_seq, &format!("replay {conn}"), Err(e)),
    };
    let challenge_first = config.auth == LoginAuth::Challenge;
    let mut session = match Session::new(config) {
        Ok(s) => s,
        Err(e) => {
            return report.result(first_seq, &format!("replay {conn}"), Err(e.to_string()));
        }
    };
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
                    continue;
                };
                let Kind::Action(name) = recorded.kind() else {
                    continue;
                };
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
                    if session.send(&action, now).is_err() {
                        // Refused locally (a probe of Asterisk's limits):
                        // the static checks look at these.
                        continue;
                    }
                    app_sent += 1;
                } else {
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
                    return;
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
                        report.notes.push(format!(
                            "seq {}: {what}: another MD5 key (the trace's secret is not {RECORDED_SECRET:?})",
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
        outputs.extend(std::iter::from_fn(|| session.poll_output()));
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
}
