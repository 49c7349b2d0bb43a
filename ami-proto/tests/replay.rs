//! Every recorded AMI connection (`conformance/traces/ami`), replayed
//! through a `Session` with no socket: the session writes the login the
//! client recorded (the MD5 key included), the application's actions go
//! out through it, Asterisk's recorded answers come back in (ActionIDs
//! mapped to the session's own), and every answer reaches its action and
//! every other event the application.

use ami_proto::{
    Action, Config, ConnectionEvent, Decoder, EventMask, Frame, Kind, LoginAuth, Message, Output,
    Session, Transmit,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

fn traces() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance/traces/ami");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
}

#[derive(Debug)]
enum Record {
    Send(String),
    Recv(String),
    ClosedByServer,
}

/// Each connection's records in order (refused connections left out).
fn connections(path: &PathBuf) -> BTreeMap<String, Vec<Record>> {
    let mut by_conn: BTreeMap<String, Vec<Record>> = BTreeMap::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        let Some(conn) = r["conn"].as_str() else {
            continue;
        };
        let text = || r["text"].as_str().unwrap().to_string();
        let record = match r["kind"].as_str().unwrap() {
            "send" => Record::Send(text()),
            "recv" => Record::Recv(text()),
            "tcp_close" if r["by"] == "server" => Record::ClosedByServer,
            "tcp_open" if r["refused"] == true => continue,
            _ => continue,
        };
        by_conn.entry(conn.to_string()).or_default().push(record);
    }
    by_conn
}

fn parse(text: &str, decoder: &mut Decoder) -> Option<Message> {
    decoder.feed(text.as_bytes());
    match decoder.next_frame().unwrap() {
        Some(Frame::Message(m)) => Some(m),
        _ => None,
    }
}

/// Name and headers, ActionID left out, names in lower case, sorted.
fn shape(m: &Message) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = m
        .fields()
        .filter(|(n, _)| !n.eq_ignore_case("ActionID"))
        .map(|(n, v)| (n.to_string().to_ascii_lowercase(), v.to_string()))
        .collect();
    fields.sort();
    fields
}

#[derive(Default, Debug)]
struct Tally {
    connections: usize,
    logins: usize,
    answers: usize,
    events: usize,
    orphans: usize,
}

fn replay(path: &PathBuf, conn: &str, records: &[Record], tally: &mut Tally) {
    let mut reader = Decoder::for_actions(1 << 20);
    let sends: Vec<Message> = records
        .iter()
        .filter_map(|r| match r {
            Record::Send(t) if !t.trim().is_empty() => parse(t, &mut reader),
            _ => None,
        })
        .collect();
    // The session is configured as the recorded client logged in.
    let login = sends
        .iter()
        .find(|m| matches!(m.kind(), Kind::Action(n) if n.eq_ignore_case("Login")));
    let Some(login) = login else { return };
    let challenge_first = sends
        .first()
        .is_some_and(|m| matches!(m.kind(), Kind::Action(n) if n.eq_ignore_case("Challenge")));
    let secret = login
        .get("Secret")
        .map_or("amp111".to_string(), |s| s.to_string());
    let mut config = Config::new(
        "127.0.0.1",
        login.get("Username").unwrap().to_string(),
        secret,
    )
    .unwrap();
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
    config.learn_server_version = false;
    config.ping_interval = None;
    let mut session = Session::new(config).unwrap();
    let now = Instant::now();
    session.connect(now);
    tally.connections += 1;

    let mut written = Decoder::for_actions(1 << 20);
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut app_sent = 0;
    let mut outputs = Vec::new();
    let mut internal = 0; // the login actions the session writes itself
    let mut logged_in = false;
    for record in records {
        match record {
            Record::Send(text) => {
                let mut one = Decoder::for_actions(1 << 20);
                let Some(recorded) = parse(text, &mut one) else {
                    continue;
                };
                let Kind::Action(name) = recorded.kind() else {
                    continue;
                };
                let own = !logged_in
                    && (name.eq_ignore_case("Challenge") && challenge_first && internal == 0
                        || name.eq_ignore_case("Login"));
                logged_in |= own && name.eq_ignore_case("Login");
                let canonical = recorded
                    .lines()
                    .all(|l| matches!(l, ami_proto::Line::Field(..)));
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
                        continue; // refused locally: tests/traces.rs checks these
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
                            if let Some(Frame::Message(m)) = written.next_frame().unwrap() {
                                wrote = Some(m);
                            }
                        }
                        Transmit::Close => {}
                        other => panic!("{other:?}"),
                    }
                }
                let wrote = wrote
                    .unwrap_or_else(|| panic!("{path:?} {conn}: nothing written for {recorded:?}"));
                let mut expected = shape(&recorded);
                let mut got = shape(&wrote);
                if recorded.get("Events").is_none() {
                    got.retain(|(n, v)| !(n == "events" && v == "on"));
                }
                expected.retain(|(n, _)| n != "events" || login.get("Events").is_some());
                assert_eq!(
                    got, expected,
                    "{path:?} {conn}: the session wrote something else"
                );
                if let (Some(theirs), Some(ours)) = (recorded.action_id(), wrote.action_id()) {
                    ids.insert(theirs.to_string(), ours.to_string());
                }
            }
            Record::Recv(text) => {
                let mut text = text.clone();
                if let Some(start) = text.find("ActionID: ") {
                    let end = text[start..].find("\r\n").map_or(text.len(), |e| start + e);
                    if let Some(ours) = ids.get(&text[start + 10..end]) {
                        text.replace_range(start + 10..end, ours);
                    }
                }
                if session.banner().is_none() && !text.ends_with("\r\n\r\n") {
                    // The banner: drain the connect first.
                    while let Some(t) = session.poll_transmit() {
                        if t == Transmit::Connect {
                            session.handle_connected(now);
                        }
                    }
                }
                session.handle_bytes(text.as_bytes(), now);
            }
            Record::ClosedByServer => session.handle_closed("closed by Asterisk", now),
        }
        outputs.extend(std::iter::from_fn(|| session.poll_output()));
    }
    for output in &outputs {
        match output {
            Output::Answer { result, .. } => {
                tally.answers += 1;
                if let Err(e) = result {
                    // Only errors Asterisk itself answered, or the end of
                    // the connection (Logoff).
                    assert!(
                        matches!(
                            e,
                            ami_proto::ActionError::Refused { .. }
                                | ami_proto::ActionError::ConnectionLost
                        ),
                        "{path:?} {conn}: {e:?}"
                    );
                }
            }
            Output::Event(_) => tally.events += 1,
            Output::Orphan(_) => tally.orphans += 1,
            Output::Connection(ConnectionEvent::Open { .. }) => tally.logins += 1,
            Output::Connection(_) => {}
            other => panic!("{path:?} {conn}: {other:?}"),
        }
    }
    let answered = outputs
        .iter()
        .filter(|o| matches!(o, Output::Answer { .. }))
        .count();
    assert_eq!(
        answered, app_sent,
        "{path:?} {conn}: every action answered once"
    );
}

#[test]
fn every_recorded_connection_replays_through_the_session() {
    let mut tally = Tally::default();
    for path in traces() {
        for (conn, records) in connections(&path) {
            replay(&path, &conn, &records, &mut tally);
        }
    }
    println!("{tally:?}");
    assert!(tally.connections >= 20, "{tally:?}");
    // One recorded login is refused (ami-login c3, a wrong password).
    assert_eq!(tally.logins, tally.connections - 1, "{tally:?}");
    assert!(tally.answers >= 450, "{tally:?}");
    assert!(tally.events >= 2_000, "{tally:?}");
}
