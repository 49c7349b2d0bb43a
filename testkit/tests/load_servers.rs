//! The benchmarks' load servers over real loopback sockets: what the blast
//! server floods and answers, and a whole simulated call.

use ari_proto::Event;
use conformance::test_client::{http, trace, ws};
use std::collections::HashSet;
use std::net::SocketAddr;
use testkit::blast::{Blast, MARKER_TYPE};
use testkit::calls_server::CallSimulator;

fn addr(base_url: &str) -> SocketAddr {
    base_url.trim_start_matches("http://").parse().unwrap()
}

fn recorded_events(name: &str) -> Vec<String> {
    trace(name).events().map(str::to_string).collect()
}

#[test]
fn blast_floods_the_recorded_events_cycled_then_the_marker() {
    let recorded = recorded_events("load-30-calls.jsonl");
    let total = recorded.len() + 100;
    let blast = Blast::start(&trace("load-30-calls.jsonl"), total).unwrap();
    let mut socket = ws(addr(&blast.base_url()), "/ari/events?app=hello", None).unwrap();
    socket.send("go");
    for i in 0..total {
        let text = socket.text().expect("an event");
        assert_eq!(text, recorded[i % recorded.len()], "event {i}");
    }
    let marker = Event::from_json(&socket.text().expect("the marker")).unwrap();
    assert_eq!(marker.type_name(), MARKER_TYPE);
    assert!(matches!(marker, Event::Unknown(u) if u.fields["events"] == total));
}

#[test]
fn blast_answers_rest_with_recorded_answers_of_the_same_operation() {
    let blast = Blast::start(&trace("load-30-calls.jsonl"), 0).unwrap();
    let at = addr(&blast.base_url());
    let (status, body) = http(
        at,
        "POST",
        "/ari/channels?endpoint=PJSIP/x@loop&app=hello&channelId=other",
        None,
        b"",
    )
    .unwrap();
    assert_eq!(status, 200);
    let channel: ari_proto::models::Channel = serde_json::from_str(&body).unwrap();
    assert!(channel.id.starts_with("load-out-"), "{}", channel.id);
    let (status, body) = http(at, "POST", "/ari/channels/any/answer", None, b"").unwrap();
    assert_eq!((status, body.as_str()), (204, ""));
}

#[test]
fn blast_spreads_channel_ids_keeping_the_recorded_text() {
    let recorded = recorded_events("load-30-calls.jsonl");
    let channels = 1_000;
    let blast =
        Blast::start_spread(&trace("load-30-calls.jsonl"), channels, Some(channels)).unwrap();
    let mut socket = ws(addr(&blast.base_url()), "/ari/events?app=hello", None).unwrap();
    socket.send("go");
    let mut seen = HashSet::new();
    for _ in 0..channels {
        let text = socket.text().expect("an event");
        let event = Event::from_json(&text).unwrap();
        assert_ne!(event.type_name(), "ChannelDestroyed");
        if let Some(at) = text.find(r#""channel":{"id":"bench-"#) {
            let id = text[at..].split('"').nth(5).unwrap().to_string();
            // Only the id differs from a recorded event.
            let id_at = at + r#""channel":{"id":""#.len();
            let (before, after) = (&text[..id_at], &text[id_at + id.len()..]);
            let original = recorded
                .iter()
                .any(|r| r.starts_with(before) && r.ends_with(after));
            assert!(original, "{text}");
            seen.insert(id);
        }
    }
    // 84 % of the recorded events have a channel; the ids go round in turn.
    assert!(seen.len() > channels * 3 / 4, "{}", seen.len());
    assert!(seen.iter().all(|id| {
        id.strip_prefix("bench-")
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| n < channels)
    }));
}

#[test]
fn call_simulator_plays_whole_calls_like_asterisk() {
    let calls = 3;
    let sim = CallSimulator::start(&trace("load-30-calls.jsonl"), calls).unwrap();
    let at = addr(&sim.base_url());
    let socket = ws(at, "/ari/events?app=hello", None).unwrap();
    // A client's own version probe is answered but lets no call in yet;
    // the application's first request lets every call in.
    assert_eq!(
        http(at, "GET", "/ari/asterisk/info", None, b"").unwrap().0,
        204
    );
    assert_eq!(http(at, "GET", "/ari/channels", None, b"").unwrap().0, 204);
    let mut entered = HashSet::new();
    for _ in 0..calls {
        match Event::from_json(&socket.text().unwrap()).unwrap() {
            Event::StasisStart(s) => entered.insert(s.channel.id.to_string()),
            other => panic!("{other:?}"),
        };
    }
    assert_eq!(
        entered,
        HashSet::from(["sim-0".into(), "sim-1".into(), "sim-2".into()])
    );
    for call in 0..calls {
        let channel = format!("/ari/channels/sim-{call}");
        let answer = http(at, "POST", &format!("{channel}/answer"), None, b"").unwrap();
        assert_eq!(answer.0, 204);
        let target = format!("{channel}/play/sim-pb-{call}?media=sound:beep");
        let (status, body) = http(at, "POST", &target, None, b"").unwrap();
        assert_eq!(status, 201);
        let playback: ari_proto::models::Playback = serde_json::from_str(&body).unwrap();
        assert_eq!(playback.id, format!("sim-pb-{call}"));
        assert_eq!(playback.target_uri, format!("channel:sim-{call}"));
        match Event::from_json(&socket.text().unwrap()).unwrap() {
            Event::PlaybackFinished(f) => assert_eq!(f.playback.id, format!("sim-pb-{call}")),
            other => panic!("{other:?}"),
        }
        assert_eq!(http(at, "DELETE", &channel, None, b"").unwrap().0, 204);
        for expected in ["StasisEnd", "ChannelDestroyed"] {
            let event = Event::from_json(&socket.text().unwrap()).unwrap();
            assert_eq!(event.type_name(), expected);
            let mut channels = Vec::new();
            event.for_each_object(&mut |_, id| channels.push(id.to_string()));
            assert!(channels.contains(&format!("sim-{call}")), "{channels:?}");
        }
    }
    let marker = Event::from_json(&socket.text().unwrap()).unwrap();
    assert_eq!(marker.type_name(), MARKER_TYPE);
}

/// Reads from `socket` until `decoder` has a whole frame.
fn next_ami_frame(
    socket: &mut std::net::TcpStream,
    decoder: &mut ami_proto::Decoder,
) -> ami_proto::Frame {
    use std::io::Read;
    let mut buf = [0u8; 4096];
    loop {
        if let Some(frame) = decoder.next_frame().unwrap() {
            return frame;
        }
        let n = socket.read(&mut buf).unwrap();
        assert!(n > 0, "the AMI load server closed the connection");
        decoder.feed(&buf[..n]);
    }
}

fn next_ami_message(
    socket: &mut std::net::TcpStream,
    decoder: &mut ami_proto::Decoder,
) -> ami_proto::Message {
    match next_ami_frame(socket, decoder) {
        ami_proto::Frame::Message(m) => m,
        other => panic!("{other:?}"),
    }
}

#[test]
fn ami_blast_logs_in_then_floods_the_recorded_events_cycled_then_the_marker() {
    use ami_proto::{Decoder, Frame, Kind};
    use std::io::Write;
    use testkit::ami_blast::{AmiBlast, MARKER_USER_EVENT, recorded_events};
    let path = conformance::bundled_ami_trace("ami-load.jsonl");
    let recorded = recorded_events(&path).unwrap();
    assert!(recorded.len() > 2000, "{}", recorded.len());
    let total = recorded.len() + 100;
    let blast = AmiBlast::start(&path, total).unwrap();
    let address = blast.address();
    let mut socket = std::net::TcpStream::connect(address.strip_prefix("tcp://").unwrap()).unwrap();
    let mut decoder = Decoder::default();
    let Frame::Banner(banner) = next_ami_frame(&mut socket, &mut decoder) else {
        panic!("no banner");
    };
    assert_eq!(banner.version(), "11.0.0");
    let mut ask = |socket: &mut std::net::TcpStream, action: &str| {
        socket.write_all(action.as_bytes()).unwrap();
        next_ami_message(socket, &mut decoder)
    };
    let refused = ask(&mut socket, "Action: Ping\r\nActionID: p0\r\n\r\n");
    assert!(matches!(refused.kind(), Kind::Response(r) if r == "Error"));
    assert_eq!(refused.get("Message").unwrap(), "Permission denied");
    let challenge = ask(
        &mut socket,
        "Action: Challenge\r\nActionID: c1\r\nAuthType: MD5\r\n\r\n",
    );
    assert_eq!(challenge.action_id().unwrap(), "c1");
    assert!(challenge.get("Challenge").is_some());
    let login = ask(
        &mut socket,
        "Action: Login\r\nActionID: l2\r\nUsername: u\r\nAuthType: MD5\r\nKey: 0\r\n\r\n",
    );
    assert!(matches!(login.kind(), Kind::Response(r) if r == "Success"));
    assert_eq!(login.action_id().unwrap(), "l2");
    // A ping is answered and starts nothing: the next message is its answer.
    let pong = ask(&mut socket, "Action: Ping\r\n\r\n");
    assert_eq!(pong.get("Ping").unwrap(), "Pong");
    assert!(pong.action_id().is_none());
    let on = ask(
        &mut socket,
        "Action: Events\r\nActionID: e3\r\nEventMask: on\r\n\r\n",
    );
    assert_eq!(on.get("Events").unwrap(), "On");
    for i in 0..total {
        let event = next_ami_message(&mut socket, &mut decoder);
        assert_eq!(
            event.as_bytes(),
            recorded[i % recorded.len()].as_bytes(),
            "event {i}"
        );
    }
    let marker = next_ami_message(&mut socket, &mut decoder);
    assert!(matches!(marker.kind(), Kind::Event(e) if e == "UserEvent"));
    assert_eq!(marker.get("UserEvent").unwrap(), MARKER_USER_EVENT);
    assert_eq!(marker.get("Events").unwrap().to_string(), total.to_string());
    socket
        .write_all(b"Action: Logoff\r\nActionID: x\r\n\r\n")
        .unwrap();
    let bye = next_ami_message(&mut socket, &mut decoder);
    assert!(matches!(bye.kind(), Kind::Response(r) if r == "Goodbye"));
}
