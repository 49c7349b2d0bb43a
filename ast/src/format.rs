//! How events and answers are printed: one readable line per event, JSON
//! lines, and JSON answers indented in the order Asterisk wrote them.

use crate::style::{self, Style};
use ami_proto::Message;
use serde_json::Value;
use std::fmt::Write;

/// `HH:MM:SS.mmm` of an ARI timestamp (`2026-11-22T15:30:10.854+0000`),
/// as the server wrote it.
pub fn clock_of(timestamp: &str) -> Option<String> {
    let time = timestamp.split_once('T')?.1;
    Some(time.get(..12).unwrap_or(time).to_string())
}

/// `HH:MM:SS.mmm` of now, UTC.
pub fn clock_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60,
        now.subsec_millis()
    )
}

/// A value as a word: strings bare unless they hold spaces.
fn word(v: &Value) -> String {
    match v {
        Value::String(s) if s.is_empty() || s.contains([' ', '"', '=']) => format!("{s:?}"),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(word).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// `text` cut to `max` characters, with `…` where it was cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

fn text<'a>(o: &'a serde_json::Map<String, Value>, key: &str) -> &'a str {
    o.get(key).and_then(Value::as_str).unwrap_or("")
}

/// An object an event names, in a few words: `channel=ID (NAME, State)`.
fn object(key: &str, o: &serde_json::Map<String, Value>) -> Option<String> {
    let id = text(o, "id");
    let described = if o.contains_key("bridge_type") {
        let n = o
            .get("channels")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        format!("{key}={id} ({}, {n} channels)", text(o, "bridge_type"))
    } else if o.contains_key("media_uri") {
        format!(
            "{key}={id} ({}, {})",
            text(o, "state"),
            text(o, "media_uri")
        )
    } else if o.contains_key("technology") && o.contains_key("resource") {
        format!(
            "{key}={}/{} ({})",
            text(o, "technology"),
            text(o, "resource"),
            text(o, "state")
        )
    } else if !id.is_empty() && o.contains_key("state") {
        format!("{key}={id} ({}, {})", text(o, "name"), text(o, "state"))
    } else if o.contains_key("number") && o.contains_key("name") {
        let (name, number) = (text(o, "name"), text(o, "number"));
        if name.is_empty() && number.is_empty() {
            return None;
        }
        format!("{key}=\"{name}\" <{number}>")
    } else if !id.is_empty() {
        format!("{key}={id}")
    } else if o.contains_key("name") && o.contains_key("state") {
        format!("{key}={} ({})", text(o, "name"), text(o, "state"))
    } else {
        return None;
    };
    Some(described)
}

/// One readable line for an ARI event: time, type, the objects it names
/// and its other fields (empty ones left out).
pub fn ari_line(event: &Value, style: &Style) -> String {
    let Some(fields) = event.as_object() else {
        return event.to_string();
    };
    let kind = text(fields, "type");
    let time = clock_of(text(fields, "timestamp")).unwrap_or_else(clock_now);
    let mut line = format!(
        "{} {}",
        style.paint(style::DIM, &time),
        style.paint(style::event_colour(kind), &format!("{kind:<22}"))
    );
    // The objects it names first, then its other fields.
    for objects in [true, false] {
        for (key, value) in fields {
            if objects != value.is_object()
                || matches!(
                    key.as_str(),
                    "type" | "timestamp" | "asterisk_id" | "application"
                )
            {
                continue;
            }
            let part = match value {
                Value::Object(o) => match object(key, o) {
                    Some(p) => p,
                    None => continue,
                },
                // An empty variable value says something; other empty fields do not.
                Value::String(s) if s.is_empty() && key != "value" => continue,
                Value::Null => continue,
                other => format!("{key}={}", shorten(&word(other), 64)),
            };
            let _ = write!(line, " {part}");
        }
    }
    line.trim_end().to_string()
}

/// Every id an ARI event names: its objects' ids (and names), a
/// playback's target, an endpoint as `tech/resource`.
pub fn ari_ids(event: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    let Some(fields) = event.as_object() else {
        return ids;
    };
    for value in fields.values() {
        let Value::Object(o) = value else { continue };
        for key in ["id", "name"] {
            if let Some(v) = o.get(key).and_then(Value::as_str) {
                ids.push(v.to_string());
            }
        }
        if let Some(target) = o.get("target_uri").and_then(Value::as_str) {
            ids.push(
                target
                    .split_once(':')
                    .map_or(target, |(_, id)| id)
                    .to_string(),
            );
        }
        if let (Some(t), Some(r)) = (
            o.get("technology").and_then(Value::as_str),
            o.get("resource").and_then(Value::as_str),
        ) {
            ids.push(format!("{t}/{r}"));
        }
        if let Some(channels) = o.get("channels").and_then(Value::as_array) {
            ids.extend(
                channels
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string),
            );
        }
    }
    ids
}

/// The parts of a channel snapshot in AMI events, after their prefix
/// (`DestChannel`, `DestUniqueid`...).
const SNAPSHOT: &[&str] = &[
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
    "Tenantid",
];

/// One readable line for an AMI event: time, name, each channel it
/// carries as `NAME (State)`, then its other headers (empty ones left out).
pub fn ami_line(name: &str, m: &Message, style: &Style) -> String {
    let mut line = format!(
        "{} {}",
        style.paint(style::DIM, &clock_now()),
        style.paint(style::event_colour(name), &format!("{name:<22}"))
    );
    let fields: Vec<(String, String)> = m
        .fields()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let prefixes: Vec<String> = fields
        .iter()
        .filter_map(|(n, _)| n.strip_suffix("Linkedid").map(str::to_string))
        .collect();
    let get = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    };
    for p in &prefixes {
        let channel = get(&format!("{p}Channel"));
        let state = get(&format!("{p}ChannelStateDesc"));
        let label = if p.is_empty() { "" } else { p.as_str() };
        if !channel.is_empty() {
            let sep = if label.is_empty() { "" } else { "=" };
            let _ = write!(line, " {label}{sep}{channel} ({state})");
        }
    }
    for (n, v) in &fields {
        let in_snapshot = prefixes.iter().any(|p| {
            n.strip_prefix(p.as_str())
                .is_some_and(|s| SNAPSHOT.contains(&s))
        });
        if in_snapshot || v.is_empty() || n == "Event" || n == "Privilege" {
            continue;
        }
        let shown = if v.contains(' ') {
            format!("{v:?}")
        } else {
            v.clone()
        };
        let shown = shorten(&shown, 64);
        let _ = write!(line, " {n}={shown}");
    }
    line.trim_end().to_string()
}

/// An AMI message as one JSON object, its headers in the order received
/// (a header given several times becomes a list).
pub fn ami_json(m: &Message) -> String {
    let mut keys: Vec<String> = Vec::new();
    let mut values: Vec<Vec<String>> = Vec::new();
    for (n, v) in m.fields() {
        let (n, v) = (n.to_string(), v.to_string());
        match keys.iter().position(|k| *k == n) {
            Some(i) => values[i].push(v),
            None => {
                keys.push(n);
                values.push(vec![v]);
            }
        }
    }
    let mut out = String::from("{");
    for (i, (k, v)) in keys.iter().zip(&values).enumerate() {
        if i > 0 {
            out.push(',');
        }
        let value = if v.len() == 1 {
            Value::String(v[0].clone())
        } else {
            Value::Array(v.iter().cloned().map(Value::String).collect())
        };
        let _ = write!(out, "{}:{}", Value::String(k.clone()), value);
    }
    out.push('}');
    out
}

/// An AMI message as its `Name: value` lines.
pub fn ami_block(m: &Message) -> String {
    let mut out = String::new();
    for line in m.lines() {
        match line {
            ami_proto::Line::Field(n, v) => {
                let _ = writeln!(out, "{n}: {v}");
            }
            ami_proto::Line::Text(t) => {
                let _ = writeln!(out, "{t}");
            }
        }
    }
    out
}

/// JSON text indented two spaces a level, keys in the order written.
/// Text that is not JSON comes back as it is.
pub fn indent_json(text: &str) -> String {
    if serde_json::from_str::<Value>(text).is_err() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    let mut chars = text.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                let close = if c == '{' { '}' } else { ']' };
                while chars.peek().is_some_and(|n| n.is_whitespace()) {
                    chars.next();
                }
                if chars.peek() == Some(&close) {
                    out.push(close);
                    chars.next();
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_indented_in_its_own_order() {
        let text = r#"{"z":1,"a":{"b":[1,2],"e":[]},"s":"x, {y}: \"q\""}"#;
        let out = indent_json(text);
        assert_eq!(
            out,
            "{\n  \"z\": 1,\n  \"a\": {\n    \"b\": [\n      1,\n      2\n    ],\n    \"e\": []\n  },\n  \"s\": \"x, {y}: \\\"q\\\"\"\n}"
        );
        let back: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(text).unwrap());
        assert_eq!(indent_json("not json"), "not json");
    }

    #[test]
    fn ari_events_read_in_one_line() {
        let event: Value = serde_json::from_str(
            r#"{"type":"ChannelDtmfReceived","timestamp":"2026-11-22T15:30:14.123+0000","digit":"1","duration_ms":120,
                "channel":{"id":"1795361410.9","name":"PJSIP/loop-in-00000007","state":"Up"},"application":"hello"}"#,
        )
        .unwrap();
        let off = Style::plain();
        let line = ari_line(&event, &off);
        assert!(line.contains("15:30:14.123"), "{line}");
        assert!(line.contains("ChannelDtmfReceived"), "{line}");
        assert!(
            line.ends_with(
                "ChannelDtmfReceived    channel=1795361410.9 (PJSIP/loop-in-00000007, Up) digit=1 duration_ms=120"
            ),
            "{line}"
        );
        assert_eq!(ari_ids(&event), ["1795361410.9", "PJSIP/loop-in-00000007"]);
    }
}
