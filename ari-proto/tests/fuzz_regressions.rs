//! Inputs that broke a fuzz target once, and the rules they led to.
//!
//! A frame must get the same answer from both decoders: `Event::from_json`
//! (the fast one) and `serde_json::from_str::<Event>`. A key repeated in an
//! object that decodes into a model or an event (a known field, an unknown
//! one kept in `extra` or in `UnknownEvent::fields`, the event's `type`) is
//! an error naming it in both; inside free-form values (`serde_json::Value`
//! fields) the last copy wins in both, as in serde_json.

use ari_proto::events::ChannelVarset;
use ari_proto::json::Reader;
use ari_proto::{Config, Diagnostic, Event, Filter, Output, Session};
use serde_json::{Value, json};
use std::time::Instant;

/// `decode_message`: the differential check failed. The frame has `channel`
/// twice, the first copy before `type` and invalid: it repeats keys itself
/// (`state`, `dialplan`, ...) and its first `dialplan` has `app_Data`, not
/// `app_data`. The serde path kept what came before `type` as
/// `serde_json::Value`, which keeps only the last copy of a repeated key, so
/// it saw a valid channel and then let the second `channel` replace it.
const DUPLICATE_CHANNEL: &str =
    include_str!("../../fuzz/regressions/decode_message-duplicate-channel.json");

const TS: &str = "2026-12-04T15:01:07.976+0000";

/// Both decoders reject `text`: their errors, as text.
fn both_reject(text: &str) -> (String, String) {
    match (Event::from_json(text), serde_json::from_str::<Event>(text)) {
        (Err(fast), Err(slow)) => (fast.to_string(), slow.to_string()),
        (fast, slow) => {
            panic!("both decoders must reject {text}\n  fast: {fast:?}\n  serde: {slow:?}")
        }
    }
}

/// Both decoders reject `text` with an error naming `key` as repeated.
fn assert_duplicate(text: &str, key: &str) {
    let (fast, slow) = both_reject(text);
    let want = format!("duplicate field `{key}`");
    assert!(fast.contains(&want), "fast: {fast}\n  for {text}");
    assert!(slow.contains(&want), "serde: {slow}\n  for {text}");
}

/// Both decoders accept `text`, with the same event.
fn both_accept(text: &str) -> Event {
    let fast = Event::from_json(text).unwrap_or_else(|e| panic!("fast: {e}\n  for {text}"));
    let slow =
        serde_json::from_str::<Event>(text).unwrap_or_else(|e| panic!("serde: {e}\n  for {text}"));
    assert_eq!(fast, slow, "{text}");
    fast
}

/// The frame that `fields` (an object) makes, with `"type": type_name`
/// spliced in at key position `at`. (`json!` cannot repeat a key.)
fn frame(type_name: &str, at: usize, fields: &[(&str, Value)]) -> String {
    let mut parts: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{v}", Value::from(*k)))
        .collect();
    parts.insert(
        at.min(parts.len()),
        format!(r#""type":{}"#, Value::from(type_name)),
    );
    format!("{{{}}}", parts.join(","))
}

/// The fields of a valid `ChannelVarset` without a channel.
fn varset() -> Vec<(&'static str, Value)> {
    vec![
        ("variable", json!("A")),
        ("value", json!("1")),
        ("application", json!("app")),
        ("timestamp", json!(TS)),
    ]
}

/// A valid channel: the second copy in the fuzz finding.
fn channel() -> Value {
    serde_json::from_str::<Value>(DUPLICATE_CHANNEL).unwrap()["channel"].clone()
}

/// Every place `type` can go in a frame of `n` fields: first (the fast
/// decoder goes on after it), in the middle and last (it reads the fields
/// from the start again; the serde one keeps those before it aside).
fn type_positions(n: usize) -> [usize; 3] {
    [0, n / 2, n]
}

#[test]
fn the_duplicate_channel_finding_is_rejected_by_both_decoders() {
    let (fast, slow) = both_reject(DUPLICATE_CHANNEL);
    // The first error met is in the first copy of `channel`: its `dialplan`.
    assert!(fast.contains("app_data"), "fast: {fast}");
    assert!(slow.contains("app_data"), "serde: {slow}");

    // With that `dialplan` valid, the first copy's repeated `state` is next,
    // met by the serde path too although the copy comes before `type`.
    assert_duplicate(&DUPLICATE_CHANNEL.replace("app_Data", "app_data"), "state");

    // With a valid first copy, the repeated `channel` itself.
    let start = DUPLICATE_CHANNEL.find(r#""channel":"#).unwrap() + r#""channel":"#.len();
    let end = start
        + DUPLICATE_CHANNEL[start..]
            .find(r#","asterisk_id""#)
            .unwrap();
    let valid_first = format!(
        "{}{}{}",
        &DUPLICATE_CHANNEL[..start],
        channel(),
        &DUPLICATE_CHANNEL[end..]
    );
    assert_duplicate(&valid_first, "channel");
}

#[test]
fn a_repeated_required_field_is_an_error() {
    let mut fields = varset();
    fields.push(("variable", json!("B")));
    for at in type_positions(fields.len()) {
        assert_duplicate(&frame("ChannelVarset", at, &fields), "variable");
    }
    // Repeated next to each other, and in a nested model.
    let mut fields = varset();
    fields.insert(1, ("variable", json!("A")));
    for at in type_positions(fields.len()) {
        assert_duplicate(&frame("ChannelVarset", at, &fields), "variable");
    }
    let text = channel().to_string();
    let nested = text.replacen(r#""id":"xf-m2""#, r#""id":"xf-m2","id":"xf-m3""#, 1);
    assert_ne!(text, nested);
    let mut fields = varset();
    fields.push(("channel", serde_json::from_str::<Value>(&text).unwrap()));
    for at in type_positions(fields.len()) {
        let frame = frame("ChannelVarset", at, &fields).replace(&text, &nested);
        assert_duplicate(&frame, "id");
    }
}

#[test]
fn a_repeated_optional_field_is_an_error_even_after_null() {
    for first in [json!(null), channel()] {
        let mut fields = varset();
        fields.insert(0, ("channel", first.clone()));
        fields.push(("channel", channel()));
        for at in type_positions(fields.len()) {
            assert_duplicate(&frame("ChannelVarset", at, &fields), "channel");
        }
    }
    for first in [json!(null), json!("02:00:00:00:00:01")] {
        let mut fields = varset();
        fields.push(("asterisk_id", first));
        fields.push(("asterisk_id", json!(null)));
        for at in type_positions(fields.len()) {
            assert_duplicate(&frame("ChannelVarset", at, &fields), "asterisk_id");
        }
    }
}

#[test]
fn a_repeated_unknown_field_is_an_error() {
    let mut fields = varset();
    fields.insert(0, ("future", json!(1)));
    fields.push(("future", json!({"x": 2})));
    for at in type_positions(fields.len()) {
        assert_duplicate(&frame("ChannelVarset", at, &fields), "future");
    }
    // In a nested model's `extra`.
    let mut with_extra = channel();
    with_extra["future"] = json!(1);
    let text = with_extra.to_string();
    let repeated = text.replacen(r#""future":1"#, r#""future":1,"future":1"#, 1);
    let mut fields = varset();
    fields.push(("channel", with_extra));
    for at in type_positions(fields.len()) {
        let frame = frame("ChannelVarset", at, &fields).replace(&text, &repeated);
        assert_duplicate(&frame, "future");
    }
    // A unknown field once is kept, as before.
    let mut fields = varset();
    fields.push(("future", json!(1)));
    let Event::ChannelVarset(e) = both_accept(&frame("ChannelVarset", 0, &fields)) else {
        panic!()
    };
    assert_eq!(e.extra["future"], json!(1));
}

#[test]
fn a_repeated_key_in_an_unknown_event_type_is_an_error() {
    let fields = [
        ("application", json!("app")),
        ("a", json!(1)),
        ("b", json!(null)),
        ("a", json!(1)),
    ];
    for at in type_positions(fields.len()) {
        assert_duplicate(&frame("FutureThing", at, &fields), "a");
    }
    let Event::Unknown(u) = both_accept(&frame("FutureThing", 2, &fields[..3])) else {
        panic!()
    };
    assert_eq!(u.type_name, "FutureThing");
    assert_eq!(u.fields.len(), 3);
}

#[test]
fn a_repeated_type_is_an_error() {
    // Known and unknown types; the second `type` the same or another one.
    for (type_name, fields) in [
        ("ChannelVarset", varset()),
        ("FutureThing", vec![("application", json!("app"))]),
    ] {
        for again in [type_name, "ChannelVarset", "FutureThing"] {
            for at in type_positions(fields.len()) {
                let once = frame(type_name, at, &fields);
                both_accept(&once);
                // After the first `type`, right after it, and before it.
                let later = format!("{},\"type\":\"{again}\"}}", once.trim_end_matches('}'));
                assert_duplicate(&later, "type");
                let next = once.replacen(
                    &format!("\"type\":\"{type_name}\""),
                    &format!("\"type\":\"{type_name}\",\"type\":\"{again}\""),
                    1,
                );
                assert_duplicate(&next, "type");
                let earlier = format!("{{\"type\":\"{again}\",{}", &once[1..]);
                assert_duplicate(&earlier, "type");
            }
        }
    }
}

#[test]
fn an_event_struct_alone_takes_one_type() {
    let once = frame("ChannelVarset", 1, &varset());
    let fast: ChannelVarset = Reader::decode_all(&once).unwrap();
    let slow: ChannelVarset = serde_json::from_str(&once).unwrap();
    assert_eq!(fast, slow);
    let twice = once.replacen('{', r#"{"type":"ChannelVarset","#, 1);
    let fast = Reader::decode_all::<ChannelVarset>(&twice).unwrap_err();
    let slow = serde_json::from_str::<ChannelVarset>(&twice).unwrap_err();
    assert!(
        fast.to_string().contains("duplicate field `type`"),
        "{fast}"
    );
    assert!(
        slow.to_string().contains("duplicate field `type`"),
        "{slow}"
    );
}

#[test]
fn inside_free_form_values_the_last_copy_wins_in_both_decoders() {
    // `ChannelUserevent.userevent` is a `serde_json::Value`.
    let body = r#"{"k":1,"nested":{"x":[1],"x":{"y":2,"y":3}},"k":"last"}"#;
    let last = json!({"k": "last", "nested": {"x": {"y": 3}}});
    let placeholder = json!("BODY");
    let fields = [
        ("eventname", json!("Thing")),
        ("userevent", placeholder.clone()),
        ("application", json!("app")),
        ("timestamp", json!(TS)),
    ];
    for at in type_positions(fields.len()) {
        let text = frame("ChannelUserevent", at, &fields).replace(&placeholder.to_string(), body);
        let Event::ChannelUserevent(e) = both_accept(&text) else {
            panic!()
        };
        assert_eq!(e.userevent, last, "{text}");
    }
    // Inside a value kept in `extra`, or in an unknown event's fields.
    let mut fields = varset();
    fields.push(("future", placeholder.clone()));
    for at in type_positions(fields.len()) {
        let text = frame("ChannelVarset", at, &fields).replace(&placeholder.to_string(), body);
        let Event::ChannelVarset(e) = both_accept(&text) else {
            panic!()
        };
        assert_eq!(e.extra["future"], last, "{text}");
    }
    let fields = [
        ("application", json!("app")),
        ("future", placeholder.clone()),
    ];
    for at in type_positions(fields.len()) {
        let text = frame("FutureThing", at, &fields).replace(&placeholder.to_string(), body);
        let Event::Unknown(u) = both_accept(&text) else {
            panic!()
        };
        assert_eq!(u.fields["future"], last, "{text}");
    }
    // The reader on plain JSON agrees with serde_json.
    assert_eq!(
        Reader::decode_all::<Value>(body).unwrap(),
        serde_json::from_str::<Value>(body).unwrap()
    );
}

#[test]
fn the_session_reports_such_a_frame_whole() {
    let mut session =
        Session::new(Config::new("http://127.0.0.1:8088", "app", "u", "p").unwrap()).unwrap();
    let _all = session.subscribe(Filter::All);
    let now = Instant::now();
    let mut fields = varset();
    fields.push(("value", json!("2")));
    let small = frame("ChannelVarset", 0, &fields);
    for text in [DUPLICATE_CHANNEL, small.as_str()] {
        session.handle_ws_text(text, now);
        let mut out = Vec::new();
        while let Some(o) = session.poll_event() {
            out.push(o);
        }
        match &out[..] {
            [Output::Diagnostic(Diagnostic::UndecodableFrame { text: kept, error })] => {
                assert_eq!(kept, text);
                assert_eq!(*error, Event::from_json(text).unwrap_err().to_string());
            }
            other => panic!("{other:?}"),
        }
    }
}
