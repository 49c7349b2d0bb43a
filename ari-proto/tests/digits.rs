//! DTMF collection on a virtual clock: limits, terminator, timeouts, hangup.

use ari_proto::{DigitCollector, Digits, DigitsStop, Event};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn recorded(type_name: &str) -> Value {
    let text = include_str!("../../conformance/traces/hello-world.jsonl");
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["kind"] == "ws_recv")
        .map(|r| serde_json::from_str::<Value>(r["text"].as_str().unwrap()).unwrap())
        .find(|e| e["type"] == type_name)
        .unwrap_or_else(|| panic!("no {type_name} in the trace"))
}

fn digit(channel: &str, digit: &str) -> Event {
    let mut v = recorded("ChannelDtmfReceived");
    v["channel"]["id"] = json!(channel);
    v["digit"] = json!(digit);
    Event::from_json(&v.to_string()).unwrap()
}

fn end(channel: &str) -> Event {
    let mut v = recorded("StasisEnd");
    v["channel"]["id"] = json!(channel);
    Event::from_json(&v.to_string()).unwrap()
}

fn spec() -> Digits {
    Digits {
        max: 3,
        terminator: Some("#".into()),
        first_digit: Duration::from_secs(10),
        between_digits: Duration::from_secs(5),
        total: Duration::from_secs(30),
    }
}

#[test]
fn stops_at_the_most_digits() {
    let t0 = Instant::now();
    let mut c = DigitCollector::new(spec(), "c1", t0);
    assert_eq!(c.handle_event(&digit("c1", "1"), t0), None);
    assert_eq!(c.handle_event(&digit("c1", "2"), t0), None);
    assert_eq!(
        c.handle_event(&digit("c1", "3"), t0),
        Some(Ok("123".into()))
    );
    assert_eq!(c.poll_timeout(), None, "over");
    assert_eq!(c.handle_event(&digit("c1", "4"), t0), None);
}

#[test]
fn the_terminator_ends_early_and_is_left_out() {
    let t0 = Instant::now();
    let mut c = DigitCollector::new(spec(), "c1", t0);
    assert_eq!(c.handle_event(&digit("c1", "7"), t0), None);
    assert_eq!(c.handle_event(&digit("c1", "#"), t0), Some(Ok("7".into())));
}

#[test]
fn other_channels_and_events_do_not_count() {
    let t0 = Instant::now();
    let mut c = DigitCollector::new(spec(), "c1", t0);
    assert_eq!(c.handle_event(&digit("c2", "1"), t0), None);
    assert_eq!(c.handle_event(&end("c2"), t0), None);
    assert_eq!(c.digits(), "");
}

#[test]
fn times_out_waiting_for_the_first_digit() {
    let t0 = Instant::now();
    let mut c = DigitCollector::new(spec(), "c1", t0);
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    assert_eq!(c.handle_timeout(t0 + Duration::from_millis(9_999)), None);
    assert_eq!(
        c.handle_timeout(t0 + Duration::from_secs(10)),
        Some(Err(DigitsStop::Timeout(String::new())))
    );
}

#[test]
fn times_out_between_digits_with_what_came() {
    let t0 = Instant::now();
    let mut c = DigitCollector::new(spec(), "c1", t0);
    let t1 = t0 + Duration::from_secs(4);
    c.handle_event(&digit("c1", "5"), t1);
    assert_eq!(c.poll_timeout(), Some(t1 + Duration::from_secs(5)));
    assert_eq!(
        c.handle_timeout(t1 + Duration::from_secs(5)),
        Some(Err(DigitsStop::Timeout("5".into())))
    );
}

#[test]
fn the_total_limit_caps_every_wait() {
    let t0 = Instant::now();
    let mut spec = spec();
    spec.max = 100;
    let mut c = DigitCollector::new(spec, "c1", t0);
    let mut now = t0;
    for _ in 0..7 {
        now += Duration::from_secs(4);
        assert_eq!(c.handle_event(&digit("c1", "1"), now), None);
    }
    // 28 s in: the next digit may come until 30 s, not 33 s.
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(30)));
    assert_eq!(
        c.handle_timeout(t0 + Duration::from_secs(30)),
        Some(Err(DigitsStop::Timeout("1111111".into())))
    );
}

#[test]
fn a_digit_after_the_limit_is_a_timeout_even_before_the_timer() {
    let t0 = Instant::now();
    let mut c = DigitCollector::new(spec(), "c1", t0);
    assert_eq!(
        c.handle_event(&digit("c1", "1"), t0 + Duration::from_secs(11)),
        Some(Err(DigitsStop::Timeout(String::new())))
    );
}

#[test]
fn a_hangup_ends_collection_with_the_digits_so_far() {
    let t0 = Instant::now();
    let mut c = DigitCollector::new(spec(), "c1", t0);
    c.handle_event(&digit("c1", "9"), t0);
    assert_eq!(
        c.handle_event(&end("c1"), t0),
        Some(Err(DigitsStop::Hangup("9".into())))
    );
    let mut c = DigitCollector::new(spec(), "c1", t0);
    assert_eq!(c.handle_end(), Some(Err(DigitsStop::Hangup(String::new()))));
}
