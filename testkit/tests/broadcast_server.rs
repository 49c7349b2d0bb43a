//! The broadcast fake over real loopback sockets answers as the shared
//! Asterisk did for a call into `bcast`: the offer to every matching app,
//! 204 to the first claim and the `StasisStart` to it alone, 409 to later
//! claims, 404 once the offer expired.

use ari_proto::Event;
use conformance::test_client::{http, ws};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use testkit::broadcast_server::{AppCounts, BroadcastServer, Pace};

fn addr(server: &BroadcastServer) -> SocketAddr {
    server
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap()
}

fn event(text: Option<String>) -> Event {
    Event::from_json(&text.expect("an event")).expect("a typed event")
}

fn claim(at: SocketAddr, channel: &str, app: &str) -> (u16, String) {
    let path = format!("/ari/events/claim?channelId={channel}&application={app}");
    http(at, "POST", &path, None, b"").unwrap()
}

/// Waits until `apps` apps are connected (the WebSocket is registered just
/// after its upgrade is answered).
fn wait_for_apps(server: &BroadcastServer, apps: usize) {
    let give_up = Instant::now() + Duration::from_secs(5);
    while server.connected_apps().len() < apps {
        assert!(Instant::now() < give_up, "{:?}", server.connected_apps());
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn the_first_claim_wins_and_only_the_winner_gets_the_call() {
    let server = BroadcastServer::start("bcast-", Duration::from_secs(3)).unwrap();
    let at = addr(&server);
    let a = ws(at, "/ari/events?app=bcast-a", None).unwrap();
    let b = ws(at, "/ari/events?app=bcast-b", None).unwrap();
    let other = ws(at, "/ari/events?app=hello", None).unwrap();
    wait_for_apps(&server, 2);
    assert_eq!(server.connected_apps(), ["bcast-a", "bcast-b"]);

    let id = server.offer("5551234");
    for (socket, app) in [(&a, "bcast-a"), (&b, "bcast-b")] {
        let Event::CallBroadcast(offer) = event(socket.text()) else {
            panic!("not an offer")
        };
        assert_eq!(offer.application, app);
        assert_eq!(offer.channel.id, id.as_str());
        assert_eq!(offer.channel.caller.number, "5551234");
        assert_eq!(offer.caller.as_deref(), Some("5551234"));
        assert_eq!(offer.called.as_deref(), Some("bcast"));
        assert!(offer.extra.is_empty(), "{:?}", offer.extra);
    }
    assert_eq!(claim(at, &id, "bcast-b"), (204, String::new()));
    let (status, body) = claim(at, &id, "bcast-a");
    assert_eq!(status, 409, "{body}");
    let Event::StasisStart(start) = event(b.text()) else {
        panic!("not the StasisStart")
    };
    assert_eq!(
        (start.channel.id.as_str(), start.application.as_str()),
        (id.as_str(), "bcast-b")
    );
    let answer = format!("/ari/channels/{id}/answer");
    assert_eq!(http(at, "POST", &answer, None, b"").unwrap().0, 204);
    assert!(
        matches!(event(b.text()), Event::ChannelStateChange(c) if c.channel.state == ari_proto::models::ChannelState::Up)
    );
    let channel = format!("/ari/channels/{id}");
    assert_eq!(http(at, "DELETE", &channel, None, b"").unwrap().0, 204);
    assert!(matches!(event(b.text()), Event::ChannelHangupRequest(_)));
    assert!(matches!(event(b.text()), Event::StasisEnd(_)));
    assert_eq!(http(at, "DELETE", &channel, None, b"").unwrap().0, 404);
    // Nothing more for the loser, nothing at all for the other app.
    assert!(a.frames.recv_timeout(Duration::from_millis(100)).is_err());
    assert!(
        other
            .frames
            .recv_timeout(Duration::from_millis(10))
            .is_err()
    );

    let report = server.report();
    assert_eq!((report.offered, report.answered, report.hung_up), (1, 1, 1));
    let counts = |won, conflict| AppCounts {
        won,
        conflict,
        not_found: 0,
    };
    assert_eq!(report.apps["bcast-a"], counts(0, 1));
    assert_eq!(report.apps["bcast-b"], counts(1, 0));
    assert!(server.settled());
}

#[test]
fn claims_after_the_timeout_get_404_and_the_version_probe_is_answered() {
    let server = BroadcastServer::start("bcast-", Duration::from_millis(50)).unwrap();
    let at = addr(&server);
    let (status, info) = http(at, "GET", "/ari/asterisk/info", None, b"").unwrap();
    assert_eq!(status, 200);
    assert!(info.contains(r#""version":"22.10.1""#), "{info}");
    let a = ws(at, "/ari/events?app=bcast-a", None).unwrap();
    wait_for_apps(&server, 1);
    let id = server.offer("5551234");
    assert!(matches!(event(a.text()), Event::CallBroadcast(_)));
    std::thread::sleep(Duration::from_millis(80));
    let (status, body) = claim(at, &id, "bcast-a");
    assert_eq!(status, 404, "{body}");
    assert_eq!(claim(at, "no-such-channel", "bcast-a").0, 404);
    let report = server.report();
    assert_eq!((report.offered, report.unclaimed, report.won()), (1, 1, 0));
    assert!(server.settled());
}

#[test]
fn calls_offered_at_a_rate_once_the_apps_are_there() {
    let server = BroadcastServer::start("bcast-", Duration::from_secs(3)).unwrap();
    let at = addr(&server);
    server.offer_calls(5, Pace::PerSecond(100.0), 1);
    let a = ws(at, "/ari/events?app=bcast-a", None).unwrap();
    let (mut numbers, mut ended) = (Vec::new(), 0);
    while ended < 5 {
        match event(a.text()) {
            Event::CallBroadcast(offer) => {
                numbers.push(offer.channel.caller.number.to_string());
                assert_eq!(claim(at, &offer.channel.id, "bcast-a").0, 204);
            }
            Event::StasisStart(start) => {
                let path = format!("/ari/channels/{}", start.channel.id);
                assert_eq!(http(at, "DELETE", &path, None, b"").unwrap().0, 204);
            }
            Event::StasisEnd(_) => ended += 1,
            _ => {}
        }
    }
    assert_eq!(
        numbers,
        ["5550000", "5550001", "5550002", "5550003", "5550004"]
    );
    let report = server.wait_settled(5, Duration::from_secs(5)).unwrap();
    assert_eq!((report.won(), report.hung_up), (5, 5));
    assert!(report.busy.is_some());
}
