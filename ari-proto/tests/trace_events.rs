//! Every event Asterisk sent in the recorded traces decodes to its typed
//! variant and encodes back to the same JSON.

use ari_proto::Event;
use serde_json::Value;
use std::path::Path;

/// Yields every `ws_recv` text of every trace under `conformance/traces`.
fn recorded_frames() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/traces");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("traces folder")
        .flatten()
        .collect();
    files.sort_by_key(|e| e.path());
    for entry in files {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("jsonl") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            let rec: Value = serde_json::from_str(line).unwrap();
            if rec["kind"] == "ws_recv"
                && let Some(t) = rec["text"].as_str()
            {
                out.push((
                    path.file_name().unwrap().to_string_lossy().into_owned(),
                    t.to_string(),
                ));
            }
        }
    }
    out
}

/// JSON equality that treats `1` and `1.0` as the same number.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn every_recorded_event_decodes_typed_and_round_trips() {
    let frames = recorded_frames();
    assert!(
        frames.len() > 1000,
        "expected the recorded corpus, found {} frames",
        frames.len()
    );
    let mut failures = Vec::new();
    for (file, text) in &frames {
        let event: Event = match Event::from_json(text) {
            Ok(e) => e,
            Err(e) => {
                failures.push(format!("{file}: does not decode: {e}: {text}"));
                continue;
            }
        };
        match serde_json::from_str::<Event>(text) {
            Ok(slow) if slow == event => {}
            other => failures.push(format!("{file}: the serde decoder differs: {other:?}")),
        }
        if let Event::Unknown(u) = &event {
            failures.push(format!("{file}: {} decoded as unknown", u.type_name));
        }
        let back = serde_json::to_value(&event).unwrap();
        let orig: Value = serde_json::from_str(text).unwrap();
        if !same_json(&back, &orig) {
            failures.push(format!("{file}: {} does not round-trip", event.type_name()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
