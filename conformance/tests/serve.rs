//! The fake Asterisk over real loopback sockets, driven by a small blocking
//! client that follows the trace: replay, id binding, auth, mismatches and
//! every injected fault.

use conformance::test_client::{GOOD, Ws, basic, encode, http, trace, ws};
use conformance::trace::{Body, Kind};
use conformance::wire_io::WsMessage;
use conformance::{FakeAsterisk, Faults, ServeOptions, Trace};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Plays the client side of a sequential trace: every recorded request in
/// order, with ids renamed by `rename`; returns every event text received.
fn play_client(fake: &FakeAsterisk, t: &Trace, rename: &[(&str, &str)]) -> Vec<String> {
    let addr = fake.addr();
    let swap = |s: &str| {
        rename
            .iter()
            .fold(s.to_string(), |acc, (from, to)| acc.replace(from, to))
    };
    let mut socket = None;
    let mut frames = Vec::new();
    for rec in &t.records {
        match &rec.kind {
            Kind::WsOpen { query, .. } => {
                let q: Vec<String> = query
                    .iter()
                    .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                    .collect();
                socket = Some(
                    ws(addr, &format!("/ari/events?{}", q.join("&")), Some(GOOD)).expect("upgrade"),
                );
            }
            Kind::HttpRequest {
                method,
                path,
                query,
                body,
                ..
            } => {
                let q: Vec<String> = query
                    .iter()
                    .map(|(k, v)| format!("{}={}", encode(k), encode(&swap(v))))
                    .collect();
                let target = format!("{}?{}", swap(path), q.join("&"));
                let bytes = match body {
                    Body::Json(v) => swap(&v.to_string()).into_bytes(),
                    other => other.bytes(),
                };
                let (status, _) = http(addr, method, &target, Some(GOOD), &bytes).unwrap();
                let recorded = t.records.iter().find_map(|r| match &r.kind {
                    Kind::HttpResponse { id, status, .. } if Some(*id) == request_id(&rec.kind) => {
                        Some(*status)
                    }
                    _ => None,
                });
                assert_eq!(Some(status), recorded, "{method} {path}");
            }
            Kind::WsRecv { .. } => {
                frames.push(socket.as_ref().and_then(Ws::text).expect("an event frame"))
            }
            _ => {}
        }
    }
    frames
}

/// Path and query of the trace's first request, as a client sends them.
fn first_request_target(t: &Trace) -> String {
    let Some(Kind::HttpRequest { path, query, .. }) = t
        .records
        .iter()
        .map(|r| &r.kind)
        .find(|k| matches!(k, Kind::HttpRequest { .. }))
    else {
        panic!("the trace has no request")
    };
    let q: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    format!("{path}?{}", q.join("&"))
}

fn request_id(kind: &Kind) -> Option<u64> {
    match kind {
        Kind::HttpRequest { id, .. } => Some(*id),
        _ => None,
    }
}

#[test]
fn replays_a_call_and_binds_the_clients_own_ids() {
    let t = trace("hello-world.jsonl");
    let fake = FakeAsterisk::start(t.clone(), ServeOptions::default()).unwrap();
    let frames = play_client(&fake, &t, &[("chan-out-1", "mine-1"), ("pb-2", "my-pb-2")]);
    let report = fake.finish();
    assert!(report.completed, "{report:?}");
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
    assert_eq!(report.frames_sent, 31);
    assert_eq!(report.requests_answered, 8);
    let all = frames.join("\n");
    assert!(
        all.contains("\"mine-1\"") && !all.contains("chan-out-1"),
        "ids are rewritten"
    );
    assert!(all.contains("\"my-pb-2\"") && !all.contains("\"pb-2\""));
    assert!(
        frames
            .iter()
            .all(|f| ari_proto::Event::from_json(f).is_ok())
    );
}

#[test]
fn a_request_off_the_trace_gets_500_saying_what_was_expected() {
    let fake = FakeAsterisk::start(trace("hello-world.jsonl"), ServeOptions::default()).unwrap();
    let _ws = ws(fake.addr(), "/ari/events?app=hello", Some(GOOD)).unwrap();
    let (status, body) = http(fake.addr(), "GET", "/ari/bridges", Some(GOOD), b"").unwrap();
    assert_eq!(status, 500);
    let message: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        message["message"]
            .as_str()
            .unwrap()
            .contains("POST /ari/channels"),
        "{body}"
    );
    let report = fake.finish();
    assert!(!report.completed);
    assert!(
        report
            .mismatches
            .iter()
            .any(|m| m.contains("GET /ari/bridges")),
        "{report:?}"
    );
}

#[test]
fn credentials_are_checked_like_asterisk() {
    let fake = FakeAsterisk::start(trace("hello-world.jsonl"), ServeOptions::default()).unwrap();
    assert_eq!(
        ws(fake.addr(), "/ari/events?app=hello", None).err(),
        Some(401)
    );
    drop(fake);
    let fake = FakeAsterisk::start(trace("hello-world.jsonl"), ServeOptions::default()).unwrap();
    let ok = ws(
        fake.addr(),
        "/ari/events?app=hello&api_key=asterisk:asterisk",
        None,
    );
    assert!(ok.is_ok(), "api_key in the query is accepted");
    let t = trace("hello-world.jsonl");
    let target = first_request_target(&t);
    let (status, _) = http(
        fake.addr(),
        "POST",
        &target,
        Some(("asterisk", "wrong")),
        b"",
    )
    .unwrap();
    assert_eq!(status, 401, "wrong credentials get 401");
    let report = fake.finish();
    assert!(
        report
            .mismatches
            .iter()
            .any(|m| m.contains("credentials are wrong")),
        "{report:?}"
    );
}

#[test]
fn faults_close_refuse_fail_corrupt_stall_and_delay() {
    let t = trace("hello-world.jsonl");
    let first_event = t.first_event_seq().unwrap();
    let faults = Faults {
        close_ws_before: Some((first_event, true)),
        refuse_connections: 2,
        error_status: Some((0, 503)),
        malformed_frame_before: Some(first_event + 1),
        unknown_event_before: Some(first_event + 2),
        response_delay: Duration::from_millis(150),
        ..Faults::default()
    };
    let fake = FakeAsterisk::start(
        t.clone(),
        ServeOptions {
            faults,
            ..ServeOptions::default()
        },
    )
    .unwrap();
    let addr = fake.addr();
    let ws1 = ws(addr, "/ari/events?app=hello", Some(GOOD)).unwrap();
    let target = first_request_target(&t);
    let started = Instant::now();
    let originate = std::thread::spawn({
        let target = target.clone();
        move || http(addr, "POST", &target, Some(GOOD), b"").unwrap()
    });
    // The WebSocket is closed with a close frame before the first event.
    assert_eq!(
        ws1.frames.recv_timeout(Duration::from_secs(5)).unwrap(),
        WsMessage::Close(Some(1001))
    );
    // Two reconnects are refused, the third is served the rest.
    assert_eq!(ws(addr, "/ari/events?app=hello", Some(GOOD)).err(), Some(0));
    assert_eq!(ws(addr, "/ari/events?app=hello", Some(GOOD)).err(), Some(0));
    let ws2 = ws(addr, "/ari/events?app=hello", Some(GOOD)).unwrap();
    // The event the close came before is played on the new connection.
    assert!(ws2.text().unwrap().contains("\"type\":\"Dial\""));
    assert_eq!(ws2.text().as_deref(), Some("{this is not json"));
    let mut next = Vec::new();
    while let Some(f) = ws2.text() {
        next.push(f);
        if next.last().unwrap().contains("FromTheFuture") || next.len() == 3 {
            break;
        }
    }
    assert!(next.iter().any(|f| f.contains("FromTheFuture")), "{next:?}");
    let (status, body) = originate.join().unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(started.elapsed() >= Duration::from_millis(150));
    drop(fake);

    // A stalled answer: headers and half the body, then silence.
    let faults = Faults {
        stall_response: Some(0),
        ..Faults::default()
    };
    let fake = FakeAsterisk::start(
        t.clone(),
        ServeOptions {
            faults,
            ..ServeOptions::default()
        },
    )
    .unwrap();
    let _ws = ws(fake.addr(), "/ari/events?app=hello", Some(GOOD)).unwrap();
    let mut s = TcpStream::connect(fake.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    write!(
        s,
        "POST {target} HTTP/1.1\r\nAuthorization: {}\r\nContent-Length: 0\r\n\r\n",
        basic(GOOD)
    )
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&got);
    let declared: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    let body_len = got.len() - text.find("\r\n\r\n").unwrap() - 4;
    assert!(
        body_len < declared,
        "stalled after {body_len} of {declared} bytes"
    );
}

#[test]
fn rest_over_websocket_binds_the_clients_request_ids() {
    let t = trace("rest-over-websocket.jsonl");
    let fake = FakeAsterisk::start(t.clone(), ServeOptions::default()).unwrap();
    let mut socket = ws(fake.addr(), "/ari/events?app=hello", Some(GOOD)).unwrap();
    let mut answers = Vec::new();
    for rec in &t.records {
        match &rec.kind {
            Kind::WsSend { text, .. } => {
                socket.send(&text.replace("\"request_id\": \"r", "\"request_id\": \"client-r"))
            }
            Kind::WsRecv { .. } => {
                let Some(frame) = socket.text() else {
                    panic!("no frame for seq {}: {:?}", rec.seq, fake.finish());
                };
                if frame.contains("RESTResponse") {
                    answers.push(frame);
                }
            }
            _ => {}
        }
    }
    let report = fake.finish();
    assert!(
        report.completed && report.mismatches.is_empty(),
        "{report:?}"
    );
    assert!(
        answers.iter().filter(|a| a.contains("client-r")).count() >= 9,
        "{answers:?}"
    );
    for a in &answers {
        let v: serde_json::Value = serde_json::from_str(a).unwrap();
        // Asterisk answers a frame it could not parse with an empty id.
        let id = v["request_id"].as_str().unwrap();
        assert!(id.is_empty() || id.starts_with("client-r"), "{id}");
    }
}

#[test]
fn a_dropped_websocket_ends_without_a_close_frame() {
    let t = trace("hello-world.jsonl");
    let first_event = t.first_event_seq().unwrap();
    let faults = Faults {
        close_ws_before: Some((first_event, false)),
        ..Faults::default()
    };
    let fake = FakeAsterisk::start(
        t.clone(),
        ServeOptions {
            faults,
            ..ServeOptions::default()
        },
    )
    .unwrap();
    let socket = ws(fake.addr(), "/ari/events?app=hello", Some(GOOD)).unwrap();
    let target = first_request_target(&t);
    let addr = fake.addr();
    std::thread::spawn(move || http(addr, "POST", &target, Some(GOOD), b""));
    // The reader sees the stream end: no close frame came first.
    assert_eq!(
        socket.frames.recv_timeout(Duration::from_secs(5)),
        Err(mpsc::RecvTimeoutError::Disconnected)
    );
    drop(fake);
}
