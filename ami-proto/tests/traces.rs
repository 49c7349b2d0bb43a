//! Every message of the recorded AMI sessions (Asterisk 22.10.1, in
//! `conformance/traces/ami`) decodes, from any cut of the byte stream, into
//! exactly the message that was recorded; every action the clients sent is
//! what [`Action::encode`] writes for it.

use ami_proto::{Action, Decoder, Frame, Kind, Line};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn traces() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance/traces/ami");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "the AMI traces are part of the repository"
    );
    files
}

/// Per connection, the texts of one direction's records, in order.
fn records(path: &PathBuf, kind: &str) -> BTreeMap<String, Vec<String>> {
    let mut by_conn: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        if r["kind"] == kind {
            let text = r["text"].as_str().expect("the traces hold text records");
            by_conn
                .entry(r["conn"].as_str().unwrap().to_string())
                .or_default()
                .push(text.to_string());
        }
    }
    by_conn
}

/// Feeds `stream` in chunks of `chunk` bytes; returns every frame.
fn decode_all(mut decoder: Decoder, stream: &[u8], chunk: usize) -> Vec<Frame> {
    let mut frames = Vec::new();
    for piece in stream.chunks(chunk) {
        decoder.feed(piece);
        while let Some(frame) = decoder.next_frame().expect("no decode error") {
            frames.push(frame);
        }
    }
    assert_eq!(decoder.buffered(), 0, "bytes left over");
    frames
}

#[test]
fn every_received_message_decodes_as_recorded() {
    let mut messages = 0;
    for path in traces() {
        for (conn, texts) in records(&path, "recv") {
            let stream: Vec<u8> = texts.concat().into_bytes();
            for chunk in [1, 7, 4096, stream.len().max(1)] {
                let frames = decode_all(Decoder::default(), &stream, chunk);
                assert_eq!(frames.len(), texts.len(), "{path:?} {conn} chunk {chunk}");
                let Frame::Banner(banner) = &frames[0] else {
                    panic!("{path:?} {conn}: no banner first")
                };
                assert_eq!(banner.product(), "Asterisk Call Manager");
                assert_eq!(banner.version(), "11.0.0");
                for (frame, text) in frames[1..].iter().zip(&texts[1..]) {
                    let Frame::Message(m) = frame else {
                        panic!("a second banner")
                    };
                    assert_eq!(m.as_bytes(), text.as_bytes(), "{path:?} {conn}");
                    assert!(
                        matches!(m.kind(), Kind::Event(_) | Kind::Response(_)),
                        "{path:?}: {m:?}"
                    );
                    // Every line is a field; each value is what follows `: `
                    // up to the line end (and a stray `\n` before it).
                    let lines: Vec<&str> = text.trim_end_matches("\r\n").split("\r\n").collect();
                    let fields: Vec<Line> = m.lines().collect();
                    assert_eq!(fields.len(), lines.len(), "{text:?}");
                    for (line, field) in lines.iter().zip(&fields) {
                        let (name, value) = line.split_once(": ").unwrap_or_else(|| {
                            line.split_once(':')
                                .expect("every recorded line has a colon")
                        });
                        assert_eq!(
                            *field,
                            Line::Field(name.into(), value.trim_end_matches('\n').into())
                        );
                    }
                }
                messages += frames.len() - 1;
            }
        }
    }
    assert!(messages > 2_500 * 4, "{messages}");
}

#[test]
fn every_sent_action_decodes_and_encodes_as_sent() {
    let (mut checked, mut refused) = (0, 0);
    for path in traces() {
        let received = records(&path, "recv");
        for (conn, texts) in records(&path, "send") {
            // What Asterisk answered to each ActionID on this connection.
            let mut answers = BTreeMap::new();
            let recv = received[&conn].concat().into_bytes();
            for frame in decode_all(Decoder::default(), &recv, recv.len()) {
                if let Frame::Message(m) = frame
                    && let (Kind::Response(r), Some(id)) = (m.kind(), m.action_id())
                {
                    answers.entry(id.to_string()).or_insert(r.to_string());
                }
            }
            let stream: Vec<u8> = texts.concat().into_bytes();
            let frames = decode_all(Decoder::for_actions(1 << 20), &stream, 5);
            // A lone empty line is not a message: the decoder skips it
            // (Asterisk answers it with an error).
            let sent: Vec<&String> = texts.iter().filter(|t| !t.trim().is_empty()).collect();
            assert_eq!(frames.len(), sent.len(), "{path:?} {conn}");
            for (frame, text) in frames.iter().zip(sent) {
                let Frame::Message(m) = frame else { panic!() };
                assert_eq!(m.as_bytes(), text.as_bytes());
                let Kind::Action(name) = m.kind() else {
                    continue; // the errors trace sends messages without an Action
                };
                let mut action = Action::new(name.to_str().unwrap());
                let mut id = None;
                for (n, v) in m.fields().skip(1) {
                    if n == "ActionID" && id.is_none() {
                        id = Some(v.to_str().unwrap());
                    } else {
                        action = action.header(n.to_str().unwrap(), v.to_str().unwrap());
                    }
                }
                let mut out = Vec::new();
                if let Err(e) = action.encode(id, &mut out) {
                    // Refused locally exactly where Asterisk refused it.
                    let answer = answers.get(id.unwrap_or_default()).map(String::as_str);
                    assert_eq!(answer, Some("Error"), "{e}: {text:?}");
                    refused += 1;
                    continue;
                }
                let canonical = m.lines().all(|l| matches!(l, Line::Field(..)))
                    && text.starts_with("Action: ")
                    && (id.is_none()
                        || text.contains("\r\nActionID: ")
                            && text
                                .split("\r\n")
                                .nth(1)
                                .is_some_and(|l| l.starts_with("ActionID: ")));
                if canonical {
                    assert_eq!(String::from_utf8(out).unwrap(), **text, "{path:?}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 400, "{checked}");
    assert_eq!(refused, 2, "the 3,000-byte line and the 130 headers");
}
