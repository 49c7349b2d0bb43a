//! Seeded random inputs (the fuzz targets' cheap cousins, run on every test
//! run): mangled frames and random session input sequences never panic.

use ari_proto::ops::{applications, channels};
use ari_proto::{
    CloseReason, Config, Event, Filter, ObjectKind, ObjectRef, Output, RawRequestId, SeededRng,
    Session, Transmit,
};
use serde_json::Value;
use std::time::{Duration, Instant};

fn recorded_frames() -> Vec<String> {
    include_str!("../../conformance/traces/hello-world.jsonl")
        .lines()
        .chain(include_str!("../../conformance/traces/app-lifecycle.jsonl").lines())
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["kind"] == "ws_recv")
        .map(|r| r["text"].as_str().unwrap().to_string())
        .collect()
}

fn mangle(rng: &mut SeededRng, text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..1 + rng.next_u64() % 4 {
        if bytes.is_empty() {
            break;
        }
        let at = (rng.next_u64() as usize) % bytes.len();
        match rng.next_u64() % 5 {
            0 => bytes.truncate(at),
            1 => bytes[at] = b"{}[]\":,0an\\ "[(rng.next_u64() % 12) as usize],
            2 => {
                bytes.remove(at);
            }
            3 => bytes.insert(at, b'"'),
            _ => bytes
                .splice(at..at, br#""type":"X","#.iter().copied())
                .for_each(drop),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn mangled_frames_never_panic_and_decoded_ones_round_trip() {
    let frames = recorded_frames();
    let mut rng = SeededRng::new(2026);
    let mut session =
        Session::new(Config::new("http://127.0.0.1:8088", "hello", "u", "p").unwrap()).unwrap();
    let _all = session.subscribe(Filter::All);
    let now = Instant::now();
    let (mut decoded, mut rejected) = (0, 0);
    for i in 0..20_000 {
        let text = mangle(&mut rng, &frames[i % frames.len()]);
        if let Ok(event) = Event::from_json(&text) {
            let again = serde_json::to_string(&event).unwrap();
            assert_eq!(Event::from_json(&again).unwrap(), event, "{text}");
        }
        session.handle_ws_text(&text, now);
        while let Some(o) = session.poll_event() {
            match o {
                Output::Event(_) => decoded += 1,
                Output::Diagnostic(_) => rejected += 1,
                _ => {}
            }
        }
    }
    assert_eq!(
        decoded + rejected,
        20_000,
        "every frame is delivered or reported"
    );
    assert!(
        decoded > 1000 && rejected > 1000,
        "{decoded} decoded, {rejected} rejected"
    );
}

#[test]
fn random_session_inputs_never_panic() {
    let frames = recorded_frames();
    for seed in 0..40 {
        let mut rng = SeededRng::new(seed);
        let mut config = Config::new("http://127.0.0.1:8088", "hello", "u", "p").unwrap();
        config.seed = seed;
        config.max_in_flight = 1 + (seed as usize % 4);
        let mut s = Session::new(config).unwrap();
        let mut now = Instant::now();
        let mut sent: Vec<RawRequestId> = Vec::new();
        for _ in 0..500 {
            let pick = |rng: &mut SeededRng, n: usize| (rng.next_u64() as usize) % n.max(1);
            match rng.next_u64() % 12 {
                0 => drop(s.request(
                    &channels::Get::new(format!("c/{}", rng.next_u64() % 9)),
                    now,
                )),
                1 => drop(s.request_tracked(channels::Originate::new("PJSIP/x"), now)),
                2 => drop(s.request(&applications::Subscribe::new("hello", ["channel:1"]), now)),
                3 => {
                    if let Some(id) = sent.get(pick(&mut rng, sent.len())) {
                        let status = [200u16, 204, 404, 500, 503][pick(&mut rng, 5)];
                        s.handle_http_response(*id, status, b"{}".to_vec(), now);
                    }
                }
                4 => {
                    if let Some(id) = sent.get(pick(&mut rng, sent.len())) {
                        s.handle_http_error(*id, "reset".into(), now);
                    }
                }
                5 => s.handle_ws_opened(now),
                6 => {
                    let frame = &frames[pick(&mut rng, frames.len())];
                    s.handle_ws_text(&mangle(&mut rng, frame), now);
                }
                7 => s.handle_ws_closed(CloseReason::Dropped("eof".into()), now),
                8 => {
                    now += Duration::from_millis(rng.next_u64() % 20_000);
                    s.handle_timeout(now);
                }
                9 => drop(s.subscribe(Filter::Object(ObjectRef::new(ObjectKind::Channel, "1")))),
                10 => s.connect(now),
                _ => {
                    if rng.next_u64().is_multiple_of(10) {
                        s.close(now);
                    }
                }
            }
            while let Some(t) = s.poll_transmit() {
                if let Transmit::Http { id, .. } = t {
                    sent.push(id);
                }
            }
            while s.poll_event().is_some() {}
            if s.pending_requests() > 0 {
                assert!(
                    s.poll_timeout().is_some(),
                    "seed {seed}: a waiting request without a deadline"
                );
            }
        }
    }
}

/// Every recorded frame of every trace, in the forms the fast decoder reads
/// on its slow paths too: as sent, pretty-printed (whitespace everywhere,
/// keys sorted, so `type` rarely comes first), with the first character of
/// every key written as a `\u` escape, and mangled. Wherever serde accepts
/// a frame the fast decoder gives the same event; on valid frames they
/// also reject the same ones.
#[test]
fn fast_decoder_agrees_with_serde_on_every_form_of_recorded_frames() {
    let traces = [
        include_str!("../../conformance/traces/app-lifecycle.jsonl"),
        include_str!("../../conformance/traces/bridge-mixing.jsonl"),
        include_str!("../../conformance/traces/call-failures.jsonl"),
        include_str!("../../conformance/traces/channel-control.jsonl"),
        include_str!("../../conformance/traces/errors.jsonl"),
        include_str!("../../conformance/traces/hello-world.jsonl"),
        include_str!("../../conformance/traces/load-30-calls.jsonl"),
        include_str!("../../conformance/traces/reconnect.jsonl"),
        include_str!("../../conformance/traces/rest-over-websocket.jsonl"),
        include_str!("../../conformance/traces/system-info.jsonl"),
    ];
    let frames: Vec<String> = traces
        .iter()
        .flat_map(|t| t.lines())
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["kind"] == "ws_recv")
        .map(|r| r["text"].as_str().unwrap().to_string())
        .collect();
    assert!(frames.len() > 1000);
    let mut rng = SeededRng::new(11);
    let mut decoded = 0;
    for frame in &frames {
        let value: Value = serde_json::from_str(frame).unwrap();
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let escaped = escape_key_starts(frame);
        for text in [frame.as_str(), &pretty, &escaped] {
            let fast = Event::from_json(text);
            let slow = serde_json::from_str::<Event>(text);
            match (&fast, &slow) {
                (Ok(f), Ok(s)) => {
                    assert_eq!(f, s, "{text}");
                    decoded += 1;
                }
                (Err(_), Err(_)) => {}
                _ => panic!("the decoders disagree on {text}\n  fast: {fast:?}\n  serde: {slow:?}"),
            }
        }
        for _ in 0..4 {
            let text = mangle(&mut rng, frame);
            if let Ok(slow) = serde_json::from_str::<Event>(&text) {
                assert_eq!(Event::from_json(&text).ok(), Some(slow), "{text}");
            }
        }
    }
    assert_eq!(
        decoded,
        3 * frames.len(),
        "every form of every frame decodes"
    );
}

/// `frame` with the first character of every key written as `\u00XX`.
fn escape_key_starts(frame: &str) -> String {
    let mut out = String::with_capacity(frame.len() * 2);
    // Outside strings JSON is ASCII: bytes go over as characters.
    let (mut in_string, mut escape, mut start) = (false, false, 0);
    let bytes = frame.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            if escape {
                escape = false;
            } else if b == b'\\' {
                escape = true;
            } else if b == b'"' {
                in_string = false;
                let text = &frame[start + 1..i];
                let is_key =
                    bytes[i + 1..].iter().find(|c| !c.is_ascii_whitespace()) == Some(&b':');
                match text.chars().next() {
                    Some(c) if is_key && c.is_ascii() && c != '\\' => {
                        out.push_str(&format!("\"\\u{:04x}{}\"", c as u32, &text[1..]));
                    }
                    _ => out.push_str(&frame[start..=i]),
                }
            }
        } else if b == b'"' {
            in_string = true;
            start = i;
        } else {
            out.push(b as char);
        }
    }
    out
}
