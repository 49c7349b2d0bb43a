//! Arbitrary sequences of session inputs and mutators: the session never
//! panics and keeps its bookkeeping consistent.
#![no_main]

use arbitrary::Arbitrary;
use ari_proto::ops::{applications, channels, events};
use ari_proto::{
    CloseReason, Config, Filter, ObjectKind, ObjectRef, Output, RawRequestId, RestTransport,
    Session, SubscriptionId, Transmit, Version,
};
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

#[derive(Arbitrary, Debug)]
enum Step {
    Get(String),
    Originate(Option<String>),
    Subscribe(String),
    Claim,
    Tracked(String),
    Answer {
        which: u8,
        status: u16,
        body: Vec<u8>,
    },
    Fail(u8),
    WsOpened,
    WsText(String),
    WsClosed(u8),
    Advance(u16),
    Listen(u8, String),
    Unlisten(u8),
    Connect,
    Close,
    Version(u16, u16, u16),
}

fuzz_target!(|input: (bool, Vec<Step>)| {
    let (over_ws, steps) = input;
    let mut config = Config::new("http://127.0.0.1:8088", "app", "u", "p").unwrap();
    config.seed = 1;
    if over_ws {
        config.rest_transport = RestTransport::WebSocket;
    }
    let mut s = Session::new(config).unwrap();
    let mut now = Instant::now();
    let mut sent: Vec<RawRequestId> = Vec::new();
    let mut subs: Vec<SubscriptionId> = Vec::new();
    for step in steps {
        match step {
            Step::Get(id) => drop(s.request(&channels::Get::new(id), now)),
            Step::Originate(id) => {
                let mut op = channels::Originate::new("PJSIP/x");
                if let Some(id) = id {
                    op = op.channel_id(id);
                }
                drop(s.request(&op, now));
            }
            Step::Subscribe(src) => {
                drop(s.request(&applications::Subscribe::new("app", [src]), now))
            }
            Step::Claim => drop(s.request(&events::ClaimChannel::new("c", "app"), now)),
            Step::Tracked(id) => drop(s.request_tracked(channels::Play::new(id, ["sound:x"]), now)),
            Step::Answer {
                which,
                status,
                body,
            } => {
                if let Some(id) = sent.get(which as usize % sent.len().max(1)) {
                    s.handle_http_response(*id, status, body, now);
                }
            }
            Step::Fail(which) => {
                if let Some(id) = sent.get(which as usize % sent.len().max(1)) {
                    s.handle_http_error(*id, "reset".into(), now);
                }
            }
            Step::WsOpened => s.handle_ws_opened(now),
            Step::WsText(t) => s.handle_ws_text(&t, now),
            Step::WsClosed(k) => s.handle_ws_closed(
                match k % 4 {
                    0 => CloseReason::CloseFrame {
                        code: Some(1000),
                        reason: String::new(),
                    },
                    1 => CloseReason::Dropped("eof".into()),
                    2 => CloseReason::Refused(503),
                    _ => CloseReason::Unreachable("refused".into()),
                },
                now,
            ),
            Step::Advance(ms) => {
                now += Duration::from_millis(u64::from(ms) * 10);
                s.handle_timeout(now);
            }
            Step::Listen(kind, id) => subs.push(s.subscribe(match kind % 3 {
                0 => Filter::All,
                1 => Filter::Type(id),
                _ => Filter::Object(ObjectRef::new(ObjectKind::Channel, id)),
            })),
            Step::Unlisten(which) => {
                if let Some(id) = subs.get(which as usize % subs.len().max(1)) {
                    s.unsubscribe(*id);
                }
            }
            Step::Connect => s.connect(now),
            Step::Close => s.close(now),
            Step::Version(a, b, c) => s.set_server_version(Some(Version::new(a, b, c))),
        }
        while let Some(t) = s.poll_transmit() {
            if let Transmit::Http { id, .. } = t {
                sent.push(id);
            }
        }
        while let Some(o) = s.poll_event() {
            if let Output::Event(d) = o {
                assert!(
                    d.subscribers.windows(2).all(|w| w[0] < w[1]),
                    "each subscriber once"
                );
            }
        }
        if s.pending_requests() > 0 {
            assert!(
                s.poll_timeout().is_some(),
                "every waiting request has a deadline"
            );
        }
    }
});
