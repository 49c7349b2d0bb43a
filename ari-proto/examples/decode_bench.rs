//! Decoding speed on a realistic mix of ARI events: the 782 events of the
//! recorded `load-30-calls` trace, decoded over and over.
//!
//! Prints events/s for: reading the JSON only (`serde::de::IgnoredAny`, the
//! floor), decoding into `serde_json::Value`, decoding into the typed
//! `ari_proto::Event`, and a whole `Session::handle_ws_text` (decode + routing
//! + output queue).
//!
//! `cargo run --release -p ari-proto --example decode_bench [TRACE.jsonl] [SECONDS]`

use ari_proto::{Config, Event, Filter, Session};
use serde::de::IgnoredAny;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn frames(path: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| r["kind"] == "ws_recv")
        .filter_map(|r| r["text"].as_str().map(str::to_string))
        .collect()
}

/// Runs `f` over all frames repeatedly for about `secs`; the best of 3 runs, in events/s.
fn measure(frames: &[String], secs: f64, mut f: impl FnMut(&str)) -> f64 {
    let mut best = 0.0f64;
    for _ in 0..3 {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_secs_f64(secs / 3.0) {
            for frame in frames {
                f(frame);
            }
            n += frames.len() as u64;
        }
        best = best.max(n as f64 / start.elapsed().as_secs_f64());
    }
    best
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../conformance/traces/load-30-calls.jsonl"
        )
        .to_string()
    });
    let secs: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let frames = frames(&path);
    let bytes: usize = frames.iter().map(String::len).sum();
    println!(
        "{} events, {:.0} bytes on average, from {path}",
        frames.len(),
        bytes as f64 / frames.len() as f64
    );

    if std::env::var("DECODE_BENCH_ONLY").as_deref() == Ok("typed") {
        // For profilers: typed decoding alone.
        let rate = measure(&frames, secs, |f| {
            black_box(Event::from_json(f).unwrap());
        });
        println!("typed: {rate:.0} events/s");
        return;
    }
    let floor = measure(&frames, secs, |f| {
        black_box(serde_json::from_str::<IgnoredAny>(f).unwrap());
    });
    let value = measure(&frames, secs, |f| {
        black_box(serde_json::from_str::<serde_json::Value>(f).unwrap());
    });
    let typed = measure(&frames, secs, |f| {
        black_box(Event::from_json(f).unwrap());
    });
    let mut session =
        Session::new(Config::new("http://127.0.0.1:8088", "hello", "u", "p").unwrap()).unwrap();
    let _all = session.subscribe(Filter::All);
    let now = Instant::now();
    let session_rate = measure(&frames, secs, |f| {
        session.handle_ws_text(f, now);
        while let Some(o) = session.poll_event() {
            black_box(o);
        }
    });

    routing(&frames, secs);
    calls_memory(&frames, 50_000);
    println!("{:<44} {:>12} {:>10}", "", "events/s", "vs floor");
    for (name, rate) in [
        ("serde_json -> IgnoredAny (floor)", floor),
        ("serde_json -> serde_json::Value", value),
        ("Event::from_json (typed)", typed),
        ("Session::handle_ws_text (decode + route)", session_rate),
    ] {
        println!("{name:<44} {rate:>12.0} {:>9.2}x", rate / floor);
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Routing with many live per-object subscriptions: the same events, their
/// channel ids spread over `n` channels each followed by its own subscription.
fn routing(frames: &[String], secs: f64) {
    use ari_proto::{ObjectKind, ObjectRef};
    for n in [10usize, 10_000] {
        let spread: Vec<String> = frames
            .iter()
            .enumerate()
            .map(|(i, f)| {
                // Edit the text in place, so keys keep Asterisk's order.
                const CHANNEL_ID: &str = r#""channel":{"id":""#;
                match f.find(CHANNEL_ID) {
                    Some(at) => {
                        let start = at + CHANNEL_ID.len();
                        let end = start + f[start..].find('"').unwrap();
                        format!("{}bench-{}{}", &f[..start], i % n, &f[end..])
                    }
                    None => f.clone(),
                }
            })
            .collect();
        let before = rss_kib();
        let mut session =
            Session::new(Config::new("http://127.0.0.1:8088", "hello", "u", "p").unwrap()).unwrap();
        for i in 0..n {
            session.subscribe(Filter::Object(ObjectRef::new(
                ObjectKind::Channel,
                format!("bench-{i}"),
            )));
        }
        let per_sub = (rss_kib().saturating_sub(before) * 1024) as f64 / n as f64;
        let now = Instant::now();
        // ChannelDestroyed would end subscriptions: keep them all alive.
        let live: Vec<&String> = spread
            .iter()
            .filter(|f| !f.contains("ChannelDestroyed"))
            .collect();
        let rate = measure(
            &live.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            secs,
            |f| {
                session.handle_ws_text(f, now);
                while let Some(o) = session.poll_event() {
                    black_box(o);
                }
            },
        );
        println!(
            "routing, {n:>6} per-channel subscriptions: {rate:>10.0} events/s, ~{per_sub:.0} bytes of RSS per subscription"
        );
    }
}

/// Core state per active call: `n` channels enter Stasis, each gets its own
/// subscription (as `serve_calls` does), is answered and starts a tracked
/// playback (so two subscriptions per call). Measured once with the answers
/// given at once, once with all 2n requests still in flight; each session
/// is kept alive so that the next one cannot reuse its memory.
fn calls_memory(frames: &[String], n: usize) {
    let start = frames
        .iter()
        .find(|f| f.contains(r#""type":"StasisStart""#))
        .expect("a StasisStart in the trace");
    let start: serde_json::Value = serde_json::from_str(start).unwrap();
    let (_kept, answered) = active_calls(&start, n, true);
    let (_kept, pending) = active_calls(&start, n, false);
    println!(
        "core state per active call ({n} calls): {answered:.0} bytes answered and playing, {pending:.0} bytes with answer and play in flight"
    );
}

/// A session holding `n` active calls, and its RSS growth per call in bytes.
fn active_calls(start: &serde_json::Value, n: usize, answer_at_once: bool) -> (Session, f64) {
    use ari_proto::{ObjectKind, ObjectRef, Transmit, ops::channels};
    let mut start = start.clone();
    let mut config = Config::new("http://127.0.0.1:8088", "hello", "u", "p").unwrap();
    config.max_in_flight = 2 * n;
    // Only the calls' own requests are counted here.
    config.learn_server_version = false;
    let now = Instant::now();
    let before = rss_kib();
    let mut session = Session::new(config).unwrap();
    session.connect(now);
    while session.poll_transmit().is_some() {}
    session.handle_ws_opened(now);
    let mut in_flight = Vec::with_capacity(if answer_at_once { 2 } else { 2 * n });
    for i in 0..n {
        let channel = format!("call-{i}");
        start["channel"]["id"] = serde_json::json!(channel);
        session.handle_ws_text(&start.to_string(), now);
        session.subscribe(Filter::Object(ObjectRef::new(
            ObjectKind::Channel,
            &channel,
        )));
        session
            .request(&channels::Answer::new(&channel), now)
            .unwrap();
        let play = channels::Play::new(&channel, ["sound:beep"]);
        session.request_tracked(play, now).unwrap();
        while let Some(t) = session.poll_transmit() {
            if let Transmit::Http { id, .. } = t {
                in_flight.push(id);
            }
        }
        if answer_at_once {
            for id in in_flight.drain(..) {
                session.handle_http_response(id, 204, Vec::new(), now);
            }
        }
        while let Some(o) = session.poll_event() {
            black_box(o);
        }
    }
    assert_eq!(session.subscription_count(), 2 * n);
    assert_eq!(session.pending_requests(), in_flight.len());
    let per_call = (rss_kib().saturating_sub(before) * 1024) as f64 / n as f64;
    (session, per_call)
}
