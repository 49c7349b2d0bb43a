//! The router: which subscriptions an event reaches, each once.

use ami_proto::{Decoder, Event, Frame, Router, Selector, events};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn event(text: &str) -> Event {
    let mut decoder = Decoder::default();
    decoder.feed(b"Asterisk Call Manager/11.0.0\r\n");
    decoder.feed(text.as_bytes());
    decoder.next_frame().unwrap();
    let Some(Frame::Message(m)) = decoder.next_frame().unwrap() else {
        panic!("no message in {text:?}")
    };
    Event::from_message(m)
}

#[test]
fn an_event_reaches_each_subscription_once_however_many_ways_it_selects_it() {
    let mut router = Router::new();
    let all = router.subscribe(Selector::all());
    let hangups = router.subscribe(
        Selector::event::<events::Hangup>()
            .or(Selector::name("HANGUP"))
            .or(Selector::matching(|n| n.starts_with("Hang"))),
    );
    let dials = router.subscribe(Selector::names(["DialBegin", "DialEnd"]));
    assert_eq!(router.route("Hangup"), [all, hangups]);
    assert_eq!(router.route("DialEnd"), [all, dials]);
    assert_eq!(router.route("VarSet"), [all]);
    assert_eq!(router.len(), 3);
}

#[test]
fn names_match_as_asterisk_spells_them_whatever_the_case() {
    let mut router = Router::new();
    let typed = router.subscribe(Selector::event::<events::NewExten>());
    let named = router.subscribe(Selector::name("newexten"));
    // Asterisk sends `Newexten`; the XML documents `NewExten`.
    let received = event("Event: NEWEXTEN\r\nChannel: PJSIP/a-1\r\n\r\n");
    assert!(received.typed::<events::NewExten>().is_some());
    assert!(received.typed::<events::Hangup>().is_none());
    assert_eq!(router.route(received.name()), [typed, named]);
    // An event this crate has no type for routes by its name as received.
    let unknown = event("Event: FutureThing\r\n\r\n");
    assert!(matches!(unknown, Event::Unknown(_)));
    let future = router.subscribe(Selector::name("futurething"));
    assert_eq!(router.route(unknown.name()), [future]);
}

#[test]
fn a_predicate_is_asked_once_per_name_not_once_per_event() {
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let mut router = Router::new();
    let peers = router.subscribe(Selector::matching(move |name| {
        counter.fetch_add(1, Ordering::Relaxed);
        name.starts_with("Peer")
    }));
    for _ in 0..1000 {
        assert_eq!(router.route("PeerStatus"), [peers]);
        assert!(router.route("Newchannel").is_empty());
    }
    assert_eq!(asked.load(Ordering::Relaxed), 2);
    // A new subscription makes the routes be worked out again.
    let other = router.subscribe(Selector::name("Newchannel"));
    assert_eq!(router.route("Newchannel"), [other]);
    assert_eq!(router.route("PeerStatus"), [peers]);
    assert_eq!(asked.load(Ordering::Relaxed), 4);
}

#[test]
fn removed_subscriptions_get_nothing_and_their_numbers_are_reused() {
    let mut router = Router::new();
    let a = router.subscribe(Selector::all());
    let b = router.subscribe(Selector::name("Hangup"));
    assert_eq!(router.route("Hangup"), [a, b]);
    router.unsubscribe(a);
    router.unsubscribe(a);
    assert_eq!(router.route("Hangup"), [b]);
    assert_eq!(router.len(), 1);
    let c = router.subscribe(Selector::name("Newchannel"));
    assert_eq!(c.index(), a.index());
    assert_eq!(router.route("Hangup"), [b]);
    assert_eq!(router.route("Newchannel"), [c]);
    router.unsubscribe(b);
    router.unsubscribe(c);
    assert!(router.is_empty());
    assert!(router.route("Hangup").is_empty());
}

#[test]
fn a_server_inventing_names_does_not_grow_the_routes_without_bound() {
    let mut router = Router::new();
    let all = router.subscribe(Selector::all());
    for i in 0..20_000 {
        assert_eq!(router.route(&format!("Invented{i}")), [all]);
    }
    assert_eq!(router.route("Hangup"), [all]);
}
