//! The generated events and actions against the recorded AMI sessions
//! (Asterisk 22.10.1, `conformance/traces/ami`): every event is typed and
//! every header it carries has an accessor (or is envelope), accessors
//! read the raw values, and the typed builders send what was recorded.

use ami_proto::{Decoder, ENVELOPE_HEADERS, Event, Frame, Kind, Message, is_chan_variable};
use serde_json::Value;
use std::path::PathBuf;

/// Every (file, kind, message) of the traces, in order.
fn messages() -> Vec<(String, String, Message)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance/traces/ami");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    assert!(files.len() >= 10);
    let mut out = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let r: Value = serde_json::from_str(line).unwrap();
            let kind = r["kind"].as_str().unwrap();
            if kind != "recv" && kind != "send" {
                continue;
            }
            let text = r["text"].as_str().unwrap();
            let mut decoder = if kind == "recv" {
                let mut d = Decoder::default();
                d.feed(b"Asterisk Call Manager/11.0.0\r\n");
                d.next_frame().unwrap();
                d
            } else {
                Decoder::for_actions(1 << 20)
            };
            decoder.feed(text.as_bytes());
            while let Some(Frame::Message(m)) = decoder.next_frame().unwrap() {
                out.push((name.clone(), kind.to_string(), m));
            }
        }
    }
    out
}

/// Whether `header` is one of `fields` (`{n}` standing for a number).
fn is_field(fields: &[&str], header: &str) -> bool {
    fields.iter().any(|f| match f.split_once("{n}") {
        None => *f == header,
        Some((pre, post)) => header
            .strip_prefix(pre)
            .and_then(|rest| rest.strip_suffix(post))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit())),
    })
}

fn events() -> Vec<(String, Event)> {
    messages()
        .into_iter()
        .filter(|(_, kind, m)| kind == "recv" && matches!(m.kind(), Kind::Event(_)))
        .map(|(file, _, m)| (file, Event::from_message(m)))
        .collect()
}

#[test]
fn every_traced_event_is_typed_and_every_header_known() {
    let mut gaps = std::collections::BTreeSet::new();
    let all = events();
    assert!(all.len() > 2400, "{}", all.len());
    for (file, event) in &all {
        if let Event::Unknown(m) = event {
            gaps.insert(format!(
                "{file}: untyped event {:?}",
                ami_proto::events::Event::name(event)
            ));
            let _ = m;
            continue;
        }
        // UserEvent re-emits whatever headers the client sent (main/manager.c
        // action_userevent): any header is its own by design.
        if matches!(event, Event::UserEvent(_)) {
            continue;
        }
        for (name, _) in event.message().fields() {
            let name = name.to_str().unwrap();
            if !is_field(event.fields(), name)
                && !ENVELOPE_HEADERS.contains(&name)
                && !is_chan_variable(name)
            {
                gaps.insert(format!(
                    "{file}: {} has no accessor for {name}",
                    event.name()
                ));
            }
        }
    }
    assert!(
        gaps.is_empty(),
        "{} gaps:\n{}",
        gaps.len(),
        gaps.into_iter().collect::<Vec<_>>().join("\n")
    );
}
