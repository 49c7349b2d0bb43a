//! The session state machine under a virtual clock: no sockets, no sleeps.

use ari_proto::ops::{applications, asterisk, channels, events};
use ari_proto::{
    ApiErrorKind, AuthMode, CloseReason, Config, ConnectionEvent, ConnectionState, Diagnostic,
    Event, Filter, ObjectKind, ObjectRef, Output, RawRequestId, RequestError, RestTransport,
    Session, Transmit, Version,
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn config() -> Config {
    let mut c = Config::new("http://127.0.0.1:8088", "hello", "asterisk", "s3cr3t-pw").unwrap();
    c.seed = 42;
    c
}

fn session() -> Session {
    Session::new(config()).unwrap()
}

fn drain(s: &mut Session) -> (Vec<Transmit>, Vec<Output>) {
    let mut t = Vec::new();
    while let Some(x) = s.poll_transmit() {
        t.push(x);
    }
    let mut o = Vec::new();
    while let Some(x) = s.poll_event() {
        o.push(x);
    }
    (t, o)
}

fn http(t: Transmit) -> (RawRequestId, http::Request<Vec<u8>>) {
    match t {
        Transmit::Http { id, request } => (id, request),
        other => panic!("expected an HTTP request, got {other:?}"),
    }
}

fn query_pairs(uri: &http::Uri) -> Vec<(String, String)> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (
                ari_proto::encode::percent_decode(k).unwrap(),
                ari_proto::encode::percent_decode(v).unwrap(),
            )
        })
        .collect()
}

/// An event frame from the hello-world trace, by type.
fn recorded(type_name: &str) -> String {
    let text = include_str!("../../conformance/traces/hello-world.jsonl");
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["kind"] == "ws_recv")
        .map(|r| r["text"].as_str().unwrap().to_string())
        .find(|t| serde_json::from_str::<Value>(t).unwrap()["type"] == type_name)
        .unwrap_or_else(|| panic!("no {type_name} in the trace"))
}

fn channel_json(id: &str) -> Value {
    let mut v: Value = serde_json::from_str(&recorded("StasisStart")).unwrap();
    v["channel"]["id"] = json!(id);
    v["channel"].clone()
}

fn event_with_channel(type_name: &str, id: &str) -> String {
    let mut v: Value = serde_json::from_str(&recorded(type_name)).unwrap();
    v["channel"]["id"] = json!(id);
    v.to_string()
}

#[test]
fn builds_http_requests_with_encoding_auth_and_body() {
    let mut s = session();
    let now = Instant::now();
    let mut vars = serde_json::Map::new();
    vars.insert("CALLERID(name)".into(), json!("Alice"));
    let op = channels::Originate::new("PJSIP/100@loop")
        .app("hello")
        .app_args("a,b")
        .timeout(-1)
        .channel_id("a b/c?d%")
        .variables(vars);
    s.request(&op, now).unwrap();
    let (mut t, _) = drain(&mut s);
    let (_, req) = http(t.remove(0));
    assert_eq!(req.method(), http::Method::POST);
    assert_eq!(req.uri().path(), "/ari/channels");
    let q = query_pairs(req.uri());
    assert!(q.contains(&("endpoint".into(), "PJSIP/100@loop".into())));
    assert!(q.contains(&("timeout".into(), "-1".into())));
    assert!(q.contains(&("channelId".into(), "a b/c?d%".into())));
    assert!(q.contains(&("appArgs".into(), "a,b".into())));
    let body: Value = serde_json::from_slice(req.body()).unwrap();
    assert_eq!(body, json!({"variables": {"CALLERID(name)": "Alice"}}));
    assert_eq!(req.headers()["content-type"], "application/json");
    assert_eq!(
        req.headers()["authorization"],
        "Basic YXN0ZXJpc2s6czNjcjN0LXB3"
    );

    // An id with reserved characters stays one path segment.
    s.request(&channels::Answer::new("a b/c?d%"), now).unwrap();
    let (mut t, _) = drain(&mut s);
    let (_, req) = http(t.remove(0));
    assert_eq!(req.uri().path(), "/ari/channels/a%20b%2Fc%3Fd%25/answer");
    assert_eq!(req.uri().query(), None);
    assert!(req.body().is_empty());

    // Lists are comma-joined, enums and booleans spelled as ARI wants.
    let op = ari_proto::ops::bridges::AddChannel::new("br-1", ["c1", "c2"])
        .mute(true)
        .absorb_dtmf(false);
    s.request(&op, now).unwrap();
    let (mut t, _) = drain(&mut s);
    let q = query_pairs(http(t.remove(0)).1.uri());
    assert!(q.contains(&("channel".into(), "c1,c2".into())));
    assert!(q.contains(&("mute".into(), "true".into())));
    assert!(q.contains(&("absorbDTMF".into(), "false".into())));
    let op = channels::Record::new("ch", "rec/1", "wav")
        .if_exists(channels::RecordIfExists::Overwrite)
        .terminate_on(channels::RecordTerminateOn::Hash);
    s.request(&op, now).unwrap();
    let (mut t, _) = drain(&mut s);
    let q = query_pairs(http(t.remove(0)).1.uri());
    assert!(q.contains(&("ifExists".into(), "overwrite".into())));
    assert!(q.contains(&("terminateOn".into(), "#".into())));
    assert!(q.contains(&("name".into(), "rec/1".into())));
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let mut s = session();
    let now = Instant::now();
    s.request(&channels::List::new(), now).unwrap();
    s.connect(now);
    let shown = format!("{s:?}");
    assert!(
        !shown.contains("s3cr3t-pw") && !shown.contains("YXN0ZXJpc2s6czNjcjN0LXB3"),
        "{shown}"
    );
    let (t, _) = drain(&mut s);
    for x in &t {
        let shown = format!("{x:?}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("YXN0"),
            "{shown}"
        );
    }
    if let Transmit::Http { request, .. } = &t[0] {
        let shown = format!("{request:?}");
        assert!(!shown.contains("YXN0ZXJpc2s6czNjcjN0LXB3"), "{shown}");
    }
}

#[test]
fn api_key_mode_puts_credentials_in_the_query_only() {
    let mut c = config();
    c.auth = AuthMode::ApiKeyQuery;
    let mut s = Session::new(c).unwrap();
    let now = Instant::now();
    s.request(&asterisk::Ping::new(), now).unwrap();
    s.connect(now);
    let (t, _) = drain(&mut s);
    let (_, req) = http(t.into_iter().next().unwrap());
    assert!(req.headers().get("authorization").is_none());
    assert_eq!(
        query_pairs(req.uri()),
        vec![("api_key".to_string(), "asterisk:s3cr3t-pw".to_string())]
    );
}

#[test]
fn out_of_order_answers_reach_their_requests_typed() {
    let mut s = session();
    let now = Instant::now();
    let a = s.request(&channels::Get::new("one"), now).unwrap();
    let b = s.request(&channels::Get::new("two"), now).unwrap();
    let c = s.request(&channels::Answer::new("three"), now).unwrap();
    let (t, _) = drain(&mut s);
    let ids: Vec<RawRequestId> = t.into_iter().map(|x| http(x).0).collect();
    assert_eq!(ids, vec![a.raw(), b.raw(), c.raw()]);
    s.handle_http_response(c.raw(), 204, Vec::new(), now);
    s.handle_http_response(
        b.raw(),
        200,
        channel_json("two").to_string().into_bytes(),
        now,
    );
    s.handle_http_response(
        a.raw(),
        200,
        channel_json("one").to_string().into_bytes(),
        now,
    );
    let (_, out) = drain(&mut s);
    let mut got = Vec::new();
    for o in out {
        let Output::Response { id, outcome } = o else {
            panic!("unexpected {o:?}")
        };
        if id == c.raw() {
            c.decode(outcome).unwrap();
            got.push("three".to_string());
        } else if id == a.raw() {
            got.push(a.decode(outcome).unwrap().id.to_string());
        } else {
            got.push(b.decode(outcome).unwrap().id.to_string());
        }
    }
    assert_eq!(got, ["three", "two", "one"]);
    assert_eq!(s.pending_requests(), 0);
}

#[test]
fn error_statuses_are_typed() {
    let cases = [
        (400, ApiErrorKind::BadRequest),
        (401, ApiErrorKind::Unauthorized),
        (403, ApiErrorKind::Forbidden),
        (404, ApiErrorKind::NotFound),
        (409, ApiErrorKind::Conflict),
        (412, ApiErrorKind::PreconditionFailed),
        (422, ApiErrorKind::Unprocessable),
        (500, ApiErrorKind::Internal),
        (501, ApiErrorKind::NotImplemented),
        (503, ApiErrorKind::Unavailable),
        (418, ApiErrorKind::Other),
    ];
    let mut s = session();
    let now = Instant::now();
    for (status, kind) in cases {
        let id = s.request(&channels::Get::new("nope"), now).unwrap();
        let _ = drain(&mut s);
        s.handle_http_response(
            id.raw(),
            status,
            br#"{"message":"Channel not found"}"#.to_vec(),
            now,
        );
        let (_, out) = drain(&mut s);
        let Some(Output::Response { outcome, .. }) = out.into_iter().next() else {
            panic!()
        };
        match id.decode(outcome) {
            Err(RequestError::Api(e)) => {
                assert_eq!((e.status, e.kind()), (status, kind));
                assert_eq!(e.message.as_deref(), Some("Channel not found"));
            }
            other => panic!("{status}: {other:?}"),
        }
    }
    // A non-JSON error body is kept as text.
    let id = s.request(&channels::List::new(), now).unwrap();
    let _ = drain(&mut s);
    s.handle_http_response(id.raw(), 401, b"Unauthorized".to_vec(), now);
    let Some(Output::Response { outcome, .. }) = s.poll_event() else {
        panic!()
    };
    let Err(RequestError::Api(e)) = outcome else {
        panic!()
    };
    assert_eq!((e.message, e.body.as_str()), (None, "Unauthorized"));
    // A success body that is not the operation's model is a decode error.
    let id = s.request(&channels::Get::new("x"), now).unwrap();
    let _ = drain(&mut s);
    s.handle_http_response(id.raw(), 200, b"{\"id\": 5}".to_vec(), now);
    let Some(Output::Response { outcome, .. }) = s.poll_event() else {
        panic!()
    };
    assert!(matches!(id.decode(outcome), Err(RequestError::Decode(_))));
}

#[test]
fn requests_time_out_on_the_virtual_clock() {
    let mut s = session();
    let t0 = Instant::now();
    let id = s.request(&channels::List::new(), t0).unwrap();
    let _ = drain(&mut s);
    let deadline = t0 + s.config().request_timeout;
    assert_eq!(s.poll_timeout(), Some(deadline));
    s.handle_timeout(deadline - Duration::from_millis(1));
    assert!(s.poll_event().is_none());
    s.handle_timeout(deadline);
    let Some(Output::Response { id: got, outcome }) = s.poll_event() else {
        panic!()
    };
    assert_eq!(got, id.raw());
    assert_eq!(outcome, Err(RequestError::Timeout(Duration::from_secs(10))));
    assert_eq!(s.poll_timeout(), None);
    // The answer that comes after is reported, not delivered.
    s.handle_http_response(id.raw(), 200, b"[]".to_vec(), deadline);
    assert_eq!(
        s.poll_event(),
        Some(Output::Diagnostic(Diagnostic::LateResponse {
            id: id.raw(),
            status: 200
        }))
    );
    // Transport failures are typed too.
    let id = s.request(&channels::List::new(), deadline).unwrap();
    let _ = drain(&mut s);
    s.handle_http_error(id.raw(), "connection reset".into(), deadline);
    let Some(Output::Response { outcome, .. }) = s.poll_event() else {
        panic!()
    };
    assert_eq!(
        outcome,
        Err(RequestError::Transport("connection reset".into()))
    );
}

#[test]
fn in_flight_limit_queues_in_order() {
    let mut c = config();
    c.max_in_flight = 2;
    let mut s = Session::new(c).unwrap();
    let now = Instant::now();
    let ids: Vec<_> = (0..5)
        .map(|i| {
            s.request(&channels::Get::new(format!("c{i}")), now)
                .unwrap()
                .raw()
        })
        .collect();
    let (t, _) = drain(&mut s);
    assert_eq!(t.len(), 2);
    s.handle_http_response(ids[1], 404, Vec::new(), now);
    let (t, _) = drain(&mut s);
    assert_eq!(
        t.into_iter().map(|x| http(x).0).collect::<Vec<_>>(),
        vec![ids[2]]
    );
    // A queued request that times out leaves the queue; the exchanges on
    // the wire are cancelled.
    s.handle_timeout(now + Duration::from_secs(10));
    let (t, out) = drain(&mut s);
    let mut cancelled: Vec<_> = t
        .into_iter()
        .map(|x| match x {
            Transmit::CancelHttp { id } => id,
            other => panic!("{other:?}"),
        })
        .collect();
    cancelled.sort_by_key(|id| id.0);
    assert_eq!(cancelled, vec![ids[0], ids[2]]);
    assert_eq!(out.len(), 4);
    assert_eq!(s.pending_requests(), 0);
}

fn open(s: &mut Session, now: Instant) -> http::Request<()> {
    s.connect(now);
    let (t, _) = drain(s);
    let Some(Transmit::WsConnect(req)) = t.into_iter().next() else {
        panic!("no upgrade request")
    };
    s.handle_ws_opened(now);
    if s.config().learn_server_version {
        answer_version_probe(s, "22.10.1", now);
    }
    req
}

/// Answers the `GET /asterisk/info` a session sends when its WebSocket opens.
fn answer_version_probe(s: &mut Session, version: &str, now: Instant) {
    let (id, request) = http(s.poll_transmit().expect("the version probe"));
    assert_eq!(request.method(), http::Method::GET);
    assert_eq!(request.uri().path(), "/ari/asterisk/info");
    let body = json!({"system": {"version": version, "entity_id": "02:00:00:00:00:01"}});
    s.handle_http_response(id, 200, body.to_string().into_bytes(), now);
}

#[test]
fn upgrade_request_names_apps_and_authenticates() {
    let mut c = config();
    c.apps = vec!["hello".into(), "other".into()];
    c.subscribe_all = true;
    let mut s = Session::new(c).unwrap();
    s.connect(Instant::now());
    let (t, out) = drain(&mut s);
    let Some(Transmit::WsConnect(req)) = t.into_iter().next() else {
        panic!()
    };
    assert_eq!(req.uri().scheme_str(), Some("ws"));
    assert_eq!(req.uri().path(), "/ari/events");
    assert_eq!(
        query_pairs(req.uri()),
        vec![
            ("app".into(), "hello,other".into()),
            ("subscribeAll".into(), "true".into())
        ]
    );
    assert!(req.headers().contains_key("authorization"));
    assert_eq!(
        out,
        vec![Output::Connection(ConnectionEvent::Connecting {
            attempt: 0
        })]
    );
    let c = Config::new("https://pbx.example:8089/prefix", "a", "u", "p").unwrap();
    let mut s = Session::new(c).unwrap();
    s.connect(Instant::now());
    let Some(Transmit::WsConnect(req)) = s.poll_transmit() else {
        panic!()
    };
    assert_eq!(
        req.uri().to_string(),
        "wss://pbx.example:8089/prefix/ari/events?app=a"
    );
}

#[test]
fn reconnects_with_bounded_growing_backoff() {
    let mut s = session();
    let t0 = Instant::now();
    open(&mut s, t0);
    assert_eq!(s.connection_state(), ConnectionState::Open);
    let _ = drain(&mut s);
    s.handle_ws_closed(CloseReason::Dropped("reset".into()), t0);
    let mut now = t0;
    let mut delays = Vec::new();
    for attempt in 0..12u32 {
        let ConnectionState::Backoff { until, attempt: a } = s.connection_state() else {
            panic!("{:?}", s.connection_state())
        };
        assert_eq!(a, attempt);
        assert_eq!(s.poll_timeout(), Some(until));
        delays.push(until - now);
        s.handle_timeout(until - Duration::from_nanos(1));
        assert!(s.poll_transmit().is_none(), "no attempt before its time");
        now = until;
        s.handle_timeout(now);
        assert!(matches!(s.poll_transmit(), Some(Transmit::WsConnect(_))));
        s.handle_ws_closed(CloseReason::Unreachable("refused".into()), now);
    }
    let b = &s.config().backoff;
    for (n, d) in delays.iter().enumerate() {
        let full = b.delay(n as u32, 0.0);
        assert!(
            *d <= full && d.as_secs_f64() >= full.as_secs_f64() * (1.0 - b.jitter) - 1e-9,
            "attempt {n}: {d:?}"
        );
    }
    assert!(delays[11] > Duration::from_secs(23) && delays[11] <= Duration::from_secs(30));
    // After an open connection the schedule starts over.
    let (_, out) = drain(&mut s);
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Connection(ConnectionEvent::Closed(_))))
    );
    s.handle_timeout(now + Duration::from_secs(30));
    let _ = drain(&mut s);
    s.handle_ws_opened(now + Duration::from_secs(30));
    s.handle_ws_closed(
        CloseReason::Dropped("again".into()),
        now + Duration::from_secs(30),
    );
    assert!(matches!(
        s.connection_state(),
        ConnectionState::Backoff { attempt: 0, .. }
    ));

    // The same seed replays the same schedule.
    let mut again = session();
    open(&mut again, t0);
    again.handle_ws_closed(CloseReason::Dropped("reset".into()), t0);
    let ConnectionState::Backoff { until, .. } = again.connection_state() else {
        panic!()
    };
    assert_eq!(until - t0, delays[0]);
}

#[test]
fn reconnect_reapplies_subscriptions_and_filters() {
    let mut s = session();
    let t0 = Instant::now();
    open(&mut s, t0);
    let _ = drain(&mut s);
    let sub = s
        .request(
            &applications::Subscribe::new("hello", ["channel:a/b", "bridge:x"]),
            t0,
        )
        .unwrap();
    let filter = json!({"allowed": [{"type": "StasisStart"}]});
    let f = s
        .request(
            &applications::Filter::new("hello").filter(filter.clone()),
            t0,
        )
        .unwrap();
    let unsub = s
        .request(&applications::Unsubscribe::new("hello", ["bridge:x"]), t0)
        .unwrap();
    let failed = s
        .request(&applications::Subscribe::new("hello", ["channel:nope"]), t0)
        .unwrap();
    let _ = drain(&mut s);
    for id in [sub.raw(), f.raw(), unsub.raw()] {
        s.handle_http_response(id, 200, b"{}".to_vec(), t0);
    }
    s.handle_http_response(failed.raw(), 422, b"{}".to_vec(), t0);
    let _ = drain(&mut s);
    s.handle_ws_closed(
        CloseReason::CloseFrame {
            code: Some(1001),
            reason: String::new(),
        },
        t0,
    );
    let until = s.poll_timeout().unwrap();
    s.handle_timeout(until);
    let _ = drain(&mut s);
    s.handle_ws_opened(until);
    answer_version_probe(&mut s, "22.10.1", until);
    let (t, out) = drain(&mut s);
    // Open waits for the re-applied state: what the application does next
    // finds it in place.
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::Connection(ConnectionEvent::Open { .. }))),
        "{out:?}"
    );
    let (ids, reqs): (Vec<_>, Vec<_>) = t.into_iter().map(http).unzip();
    s.handle_http_response(ids[0], 200, b"{}".to_vec(), until);
    let (_, out) = drain(&mut s);
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::Connection(ConnectionEvent::Open { .. }))),
        "{out:?}"
    );
    // A failed re-apply is reported, and still lets the connection open.
    s.handle_http_response(ids[1], 500, b"{}".to_vec(), until);
    let (_, out) = drain(&mut s);
    assert!(
        out.iter().any(|o| matches!(o, Output::Diagnostic(_))),
        "{out:?}"
    );
    assert!(out.contains(&Output::Connection(ConnectionEvent::Open {
        reconnected: true
    })));
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[0].uri().path(), "/ari/applications/hello/subscription");
    assert_eq!(
        query_pairs(reqs[0].uri()),
        vec![("eventSource".into(), "channel:a/b".into())]
    );
    assert_eq!(reqs[1].method(), http::Method::PUT);
    assert_eq!(
        serde_json::from_slice::<Value>(reqs[1].body()).unwrap(),
        filter
    );
}

#[test]
fn application_replaced_stops_reconnecting() {
    let mut s = session();
    let t0 = Instant::now();
    open(&mut s, t0);
    let _ = drain(&mut s);
    s.handle_ws_text(
        r#"{"type":"ApplicationReplaced","application":"hello","timestamp":"2026-11-22T15:00:00.000+0000"}"#,
        t0,
    );
    let (t, out) = drain(&mut s);
    assert!(matches!(t[..], [Transmit::WsClose]));
    assert!(out.contains(&Output::Connection(ConnectionEvent::Replaced {
        application: "hello".into()
    })));
    s.handle_ws_closed(
        CloseReason::CloseFrame {
            code: Some(1000),
            reason: String::new(),
        },
        t0,
    );
    assert_eq!(s.connection_state(), ConnectionState::Replaced);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn a_replaced_app_is_left_out_while_others_go_on() {
    let mut c = config();
    c.apps = vec!["hello".into(), "watcher".into()];
    let mut s = Session::new(c).unwrap();
    let t0 = Instant::now();
    open(&mut s, t0);
    let _ = drain(&mut s);
    s.handle_ws_text(
        r#"{"type":"ApplicationReplaced","application":"watcher","timestamp":"2026-11-22T15:00:00.000+0000"}"#,
        t0,
    );
    let (t, out) = drain(&mut s);
    assert!(t.is_empty(), "the connection still serves hello");
    assert!(out.contains(&Output::Connection(ConnectionEvent::Replaced {
        application: "watcher".into()
    })));
    assert_eq!(s.connection_state(), ConnectionState::Open);
    s.handle_ws_closed(CloseReason::Dropped("eof".into()), t0);
    let until = s.poll_timeout().unwrap();
    s.handle_timeout(until);
    let Some(Transmit::WsConnect(req)) = s.poll_transmit() else {
        panic!()
    };
    assert_eq!(query_pairs(req.uri()), vec![("app".into(), "hello".into())]);
}

#[test]
fn routing_by_all_type_and_object_with_auto_end() {
    let mut s = session();
    let now = Instant::now();
    let all = s.subscribe(Filter::All);
    let starts = s.subscribe(Filter::Type("StasisStart".into()));
    let mine = s.subscribe(Filter::Object(ObjectRef::new(
        ObjectKind::Channel,
        "chan-x",
    )));
    let other = s.subscribe(Filter::Object(ObjectRef::new(
        ObjectKind::Channel,
        "chan-y",
    )));
    s.handle_ws_text(&event_with_channel("StasisStart", "chan-x"), now);
    s.handle_ws_text(&event_with_channel("ChannelStateChange", "chan-y"), now);
    s.handle_ws_text(&event_with_channel("ChannelDestroyed", "chan-x"), now);
    s.handle_ws_text(&event_with_channel("ChannelVarset", "chan-x"), now);
    let (_, out) = drain(&mut s);
    let routed: Vec<Vec<_>> = out
        .iter()
        .filter_map(|o| match o {
            Output::Event(d) => Some(d.subscribers.to_vec()),
            _ => None,
        })
        .collect();
    assert_eq!(
        routed,
        vec![
            vec![all, starts, mine],
            vec![all, other],
            vec![all, mine],
            vec![all]
        ]
    );
    assert!(out.contains(&Output::SubscriptionEnded {
        id: mine,
        object: ObjectRef::new(ObjectKind::Channel, "chan-x")
    }));
    assert!(s.subscription(mine).is_none());
    assert!(s.unsubscribe(other));
    assert!(!s.unsubscribe(other));
    assert_eq!(s.subscription_count(), 2);
}

#[test]
fn tracked_originate_sees_events_that_beat_the_answer() {
    let mut s = session();
    let now = Instant::now();
    let (id, tracked) = s
        .request_tracked(
            channels::Originate::new("PJSIP/hello@loop").app("hello"),
            now,
        )
        .unwrap();
    let (sub, object) = tracked.unwrap();
    assert_eq!(object.kind, ObjectKind::Channel);
    let (t, _) = drain(&mut s);
    let (raw, req) = http(t.into_iter().next().unwrap());
    assert!(query_pairs(req.uri()).contains(&("channelId".into(), object.id.clone())));
    // Asterisk's event for the new channel comes before the 200.
    s.handle_ws_text(&event_with_channel("ChannelStateChange", &object.id), now);
    s.handle_http_response(
        raw,
        200,
        channel_json(&object.id).to_string().into_bytes(),
        now,
    );
    let (_, out) = drain(&mut s);
    let Output::Event(d) = &out[0] else { panic!() };
    assert_eq!(*d.subscribers, [sub]);
    let Output::Response { outcome, .. } = out[1].clone() else {
        panic!()
    };
    assert_eq!(id.decode(outcome).unwrap().id, object.id);
    // A caller-chosen id is kept.
    let (_, tracked) = s
        .request_tracked(
            channels::Play::new("c", ["sound:x"]).playback_id("pb-1"),
            now,
        )
        .unwrap();
    assert_eq!(
        tracked.unwrap().1,
        ObjectRef::new(ObjectKind::Playback, "pb-1")
    );
    // Operations that create nothing track nothing.
    let (_, tracked) = s.request_tracked(channels::Answer::new("c"), now).unwrap();
    assert!(tracked.is_none());
}

#[test]
fn rest_over_websocket_round_trip() {
    let mut c = config();
    c.rest_transport = RestTransport::WebSocket;
    // The user's own GET /asterisk/info is what this test follows.
    c.learn_server_version = false;
    let mut s = Session::new(c).unwrap();
    let now = Instant::now();
    let id = s.request(&asterisk::GetInfo::new(), now).unwrap();
    assert!(s.poll_transmit().is_none(), "waits for the WebSocket");
    open(&mut s, now);
    let (t, _) = drain(&mut s);
    let Some(Transmit::WsText(frame)) = t.into_iter().next() else {
        panic!()
    };
    let frame: Value = serde_json::from_str(&frame).unwrap();
    assert_eq!(frame["type"], "RESTRequest");
    assert_eq!(frame["method"], "GET");
    assert_eq!(frame["uri"], "asterisk/info");
    let body = json!({"system": {"version": "22.10.1", "entity_id": "x"}}).to_string();
    let reply = json!({
        "type": "RESTResponse", "transaction_id": frame["transaction_id"], "request_id": frame["request_id"],
        "status_code": 200, "reason_phrase": "OK", "uri": "asterisk/info",
        "content_type": "application/json", "message_body": body,
        "application": "hello", "timestamp": "2026-11-22T15:39:33.202+0000"
    });
    s.handle_ws_text(&reply.to_string(), now);
    let (_, out) = drain(&mut s);
    let [Output::Response { outcome, .. }] = &out[..] else {
        panic!("{out:?}")
    };
    let info = id.decode(outcome.clone()).unwrap();
    assert_eq!(info.system.unwrap().version, "22.10.1");
    assert_eq!(s.server_version(), Some(Version::new(22, 10, 1)));

    // Bodies travel as a JSON string; errors keep their status.
    let mut vars = serde_json::Map::new();
    vars.insert("FOO".into(), json!("bar"));
    let id = s
        .request(&channels::SetChannelVars::new("c1", vars), now)
        .unwrap();
    let Some(Transmit::WsText(frame)) = s.poll_transmit() else {
        panic!()
    };
    let frame: Value = serde_json::from_str(&frame).unwrap();
    assert_eq!(frame["content_type"], "application/json");
    let sent: Value = serde_json::from_str(frame["message_body"].as_str().unwrap()).unwrap();
    assert_eq!(sent, json!({"variables": {"FOO": "bar"}}));
    let mut reply = reply.clone();
    reply["request_id"] = frame["request_id"].clone();
    reply["status_code"] = json!(404);
    reply["message_body"] = json!("{\"message\":\"Channel not found\"}");
    s.handle_ws_text(&reply.to_string(), now);
    let Some(Output::Response { outcome, .. }) = s.poll_event() else {
        panic!()
    };
    let Err(RequestError::Api(e)) = id.decode(outcome) else {
        panic!()
    };
    assert_eq!(
        (e.status, e.message.as_deref()),
        (404, Some("Channel not found"))
    );

    // A request on the wire when the socket drops is lost, and says so.
    let id = s.request(&channels::List::new(), now).unwrap();
    let _ = drain(&mut s);
    s.handle_ws_closed(CloseReason::Dropped("eof".into()), now);
    let (_, out) = drain(&mut s);
    assert!(out.contains(&Output::Response {
        id: id.raw(),
        outcome: Err(RequestError::ConnectionLost)
    }));
}

#[test]
fn operations_the_server_lacks_fail_locally() {
    let mut s = session();
    let now = Instant::now();
    s.set_server_version(Some(Version::new(22, 6, 0)));
    let claim = events::ClaimChannel::new("c", "hello");
    match s.request(&claim, now) {
        Err(e @ RequestError::Unsupported { .. }) => {
            assert!(e.is_local());
            assert!(e.to_string().contains("22.7.0"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(s.poll_transmit().is_none());
    s.set_server_version(Some(Version::new(22, 10, 1)));
    assert!(s.request(&claim, now).is_ok());
    s.set_server_version(Some(Version::new(22, 3, 0)));
    let mut c = config();
    c.rest_transport = RestTransport::WebSocket;
    let mut ws = Session::new(c).unwrap();
    ws.set_server_version(Some(Version::new(22, 3, 0)));
    assert!(matches!(
        ws.request(&channels::List::new(), now),
        Err(RequestError::Unsupported { .. })
    ));
    assert!(matches!(
        s.request(&events::EventWebsocket::new(["hello"]), now),
        Err(RequestError::Invalid(_))
    ));
}

#[test]
fn bad_frames_are_reported_and_unknown_events_kept() {
    let mut s = session();
    let now = Instant::now();
    let all = s.subscribe(Filter::All);
    s.handle_ws_text("not json", now);
    s.handle_ws_text(r#"{"no_type": 1}"#, now);
    s.handle_ws_text(r#"{"type":"StasisStart","application":"hello"}"#, now);
    s.handle_ws_text(
        r#"{"answer":42,"type":"FutureThing","application":"hello","nested":{"a":[1,2]}}"#,
        now,
    );
    let (_, out) = drain(&mut s);
    assert_eq!(out.len(), 4);
    for o in &out[..3] {
        assert!(
            matches!(o, Output::Diagnostic(Diagnostic::UndecodableFrame { .. })),
            "{o:?}"
        );
    }
    let Output::Event(d) = &out[3] else { panic!() };
    assert_eq!(*d.subscribers, [all]);
    let Event::Unknown(u) = &d.event else {
        panic!()
    };
    assert_eq!(u.type_name, "FutureThing");
    assert_eq!(d.event.application(), Some("hello"));
    assert_eq!(u.fields["nested"], json!({"a": [1, 2]}));
    assert_eq!(u.fields["answer"], json!(42));
}

#[test]
fn close_fails_waiting_requests() {
    let mut s = session();
    let now = Instant::now();
    open(&mut s, now);
    let id = s.request(&channels::List::new(), now).unwrap();
    let _ = drain(&mut s);
    s.close(now);
    let (t, out) = drain(&mut s);
    assert!(
        matches!(t[..], [Transmit::WsClose, Transmit::CancelHttp { id: c }] if c == id.raw()),
        "{t:?}"
    );
    assert!(out.contains(&Output::Response {
        id: id.raw(),
        outcome: Err(RequestError::Closed)
    }));
    assert!(out.contains(&Output::Connection(ConnectionEvent::Stopped)));
    assert_eq!(s.connection_state(), ConnectionState::Idle);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn open_waits_for_the_server_version_and_gating_follows_it() {
    let mut s = session();
    let t0 = Instant::now();
    s.connect(t0);
    let _ = drain(&mut s);
    s.handle_ws_opened(t0);
    assert_eq!(s.connection_state(), ConnectionState::Open);
    assert!(
        !drain_outputs_only(&mut s).iter().any(is_open),
        "open is reported once the build is known"
    );
    answer_version_probe(&mut s, "18.20.0", t0);
    let (_, out) = drain(&mut s);
    assert!(out.iter().any(is_open));
    assert_eq!(s.server_version(), Some(Version::new(18, 20, 0)));
    // An operation of later releases now fails here, unsent.
    let gated = s.request(&channels::GetChannelVars::new("c1", ["A"]), t0);
    assert!(
        matches!(gated, Err(RequestError::Unsupported { .. })),
        "{gated:?}"
    );
    assert!(s.poll_transmit().is_none());

    // A reconnect learns the build again: the server may have been upgraded.
    s.handle_ws_closed(CloseReason::Dropped("restart".into()), t0);
    let until = s.poll_timeout().unwrap();
    s.handle_timeout(until);
    let _ = drain(&mut s);
    s.handle_ws_opened(until);
    answer_version_probe(&mut s, "22.10.1", until);
    assert_eq!(s.server_version(), Some(Version::new(22, 10, 1)));
    assert!(
        s.request(&channels::GetChannelVars::new("c1", ["A"]), until)
            .is_ok()
    );
}

#[test]
fn a_user_who_may_not_read_the_build_still_connects() {
    let mut s = session();
    let t0 = Instant::now();
    s.connect(t0);
    let _ = drain(&mut s);
    s.handle_ws_opened(t0);
    let (id, _) = http(s.poll_transmit().unwrap());
    s.handle_http_response(id, 403, br#"{"message":"Forbidden"}"#.to_vec(), t0);
    let (_, out) = drain(&mut s);
    assert!(out.iter().any(is_open));
    assert!(
        !out.iter().any(|o| matches!(o, Output::Response { .. })),
        "the probe's answer is the session's own"
    );
    assert_eq!(s.server_version(), None);
}

#[test]
fn a_probe_answered_after_the_socket_closed_reports_nothing_open() {
    let mut s = session();
    let t0 = Instant::now();
    s.connect(t0);
    let _ = drain(&mut s);
    s.handle_ws_opened(t0);
    let (id, _) = http(s.poll_transmit().unwrap());
    s.handle_ws_closed(CloseReason::Dropped("gone".into()), t0);
    let body = json!({"system": {"version": "22.10.1"}}).to_string();
    s.handle_http_response(id, 200, body.into_bytes(), t0);
    let (_, out) = drain(&mut s);
    assert!(!out.iter().any(is_open), "{out:?}");
    assert!(matches!(
        s.connection_state(),
        ConnectionState::Backoff { .. }
    ));
}

#[test]
fn without_the_probe_open_is_reported_at_once() {
    let mut c = config();
    c.learn_server_version = false;
    let mut s = Session::new(c).unwrap();
    let t0 = Instant::now();
    s.connect(t0);
    let _ = drain(&mut s);
    s.handle_ws_opened(t0);
    let (t, out) = drain(&mut s);
    assert!(t.is_empty(), "{t:?}");
    assert!(out.iter().any(is_open));
}

fn is_open(o: &Output) -> bool {
    matches!(o, Output::Connection(ConnectionEvent::Open { .. }))
}

fn drain_outputs_only(s: &mut Session) -> Vec<Output> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn transmits(s: &mut Session) -> Vec<Transmit> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

#[test]
fn a_stalled_upgrade_is_abandoned_after_the_connect_timeout() {
    let mut s = session();
    let t0 = Instant::now();
    s.connect(t0);
    let _ = drain(&mut s);
    let deadline = t0 + s.config().connect_timeout;
    assert_eq!(s.poll_timeout(), Some(deadline));
    s.handle_timeout(deadline - Duration::from_millis(1));
    assert!(s.poll_transmit().is_none());
    s.handle_timeout(deadline);
    let (t, out) = drain(&mut s);
    assert!(matches!(t[..], [Transmit::WsClose]), "{t:?}");
    assert!(out.contains(&Output::Connection(ConnectionEvent::Closed(
        CloseReason::ConnectTimeout
    ))));
    let ConnectionState::Backoff { until, attempt: 1 } = s.connection_state() else {
        panic!("{:?}", s.connection_state())
    };
    // The abandoned attempt reporting late changes nothing.
    s.handle_ws_opened(deadline);
    assert!(matches!(
        s.connection_state(),
        ConnectionState::Backoff { .. }
    ));
    s.handle_timeout(until);
    assert!(matches!(s.poll_transmit(), Some(Transmit::WsConnect(_))));
    assert_eq!(s.poll_timeout(), Some(until + s.config().connect_timeout));
}

#[test]
fn an_idle_socket_is_pinged_and_a_silent_one_replaced() {
    let mut s = session();
    let t0 = Instant::now();
    open(&mut s, t0);
    let _ = drain(&mut s);
    let ping = s.config().ping_interval.unwrap();
    let idle = s.config().idle_timeout;
    assert_eq!(s.poll_timeout(), Some(t0 + ping));
    s.handle_timeout(t0 + ping);
    assert!(matches!(transmits(&mut s)[..], [Transmit::WsPing(_)]));
    // No pong: pinged again, then declared dead.
    assert_eq!(s.poll_timeout(), Some(t0 + 2 * ping));
    s.handle_timeout(t0 + 2 * ping);
    assert!(matches!(transmits(&mut s)[..], [Transmit::WsPing(_)]));
    assert_eq!(s.poll_timeout(), Some(t0 + idle));
    s.handle_timeout(t0 + idle);
    let (t, out) = drain(&mut s);
    assert!(matches!(t[..], [Transmit::WsClose]), "{t:?}");
    assert!(out.contains(&Output::Connection(ConnectionEvent::Closed(
        CloseReason::Silent
    ))));
    assert!(matches!(
        s.connection_state(),
        ConnectionState::Backoff { attempt: 0, .. }
    ));
}

#[test]
fn pongs_and_events_keep_a_socket_alive() {
    let mut s = session();
    let t0 = Instant::now();
    open(&mut s, t0);
    let _ = drain(&mut s);
    let ping = s.config().ping_interval.unwrap();
    let idle = s.config().idle_timeout;
    let mut now = t0;
    // Ten minutes of pings each answered by a pong.
    for _ in 0..40 {
        now = s.poll_timeout().unwrap();
        s.handle_timeout(now);
        assert!(matches!(transmits(&mut s)[..], [Transmit::WsPing(_)]));
        s.handle_ws_control(now + Duration::from_millis(5));
    }
    assert_eq!(s.connection_state(), ConnectionState::Open);
    // Events arriving more often than the ping interval: no ping at all.
    let frame = recorded("StasisStart");
    for _ in 0..40 {
        now += ping / 2;
        s.handle_ws_text(&frame, now);
        s.handle_timeout(now);
        assert!(transmits(&mut s).is_empty());
    }
    assert_eq!(s.poll_timeout(), Some(now + ping));
    assert!(now + idle > now + ping);
    assert_eq!(s.connection_state(), ConnectionState::Open);
}

#[test]
fn an_answer_after_its_deadline_is_a_timeout_even_before_the_timer() {
    let mut s = session();
    let t0 = Instant::now();
    let id = s.request(&channels::List::new(), t0).unwrap();
    let (raw, _) = http(s.poll_transmit().unwrap());
    let late = t0 + s.config().request_timeout;
    s.handle_http_response(raw, 200, b"[]".to_vec(), late);
    let (t, out) = drain(&mut s);
    assert!(t.is_empty(), "an answered exchange needs no cancel: {t:?}");
    let [Output::Response { outcome, .. }] = &out[..] else {
        panic!("{out:?}")
    };
    assert!(matches!(
        id.decode(outcome.clone()),
        Err(RequestError::Timeout(_))
    ));
    // A transport error past the deadline is a timeout too.
    let id = s.request(&channels::List::new(), late).unwrap();
    let (raw, _) = http(s.poll_transmit().unwrap());
    s.handle_http_error(raw, "reset".into(), late + s.config().request_timeout);
    let (_, out) = drain(&mut s);
    let [Output::Response { outcome, .. }] = &out[..] else {
        panic!("{out:?}")
    };
    assert!(matches!(
        id.decode(outcome.clone()),
        Err(RequestError::Timeout(_))
    ));
}

#[test]
fn liveness_settings_are_checked() {
    let mut c = config();
    c.ping_interval = Some(c.idle_timeout);
    assert!(Session::new(c).is_err(), "a ping must come before death");
    let mut c = config();
    c.connect_timeout = Duration::ZERO;
    assert!(Session::new(c).is_err());
    let mut c = config();
    c.ping_interval = None;
    let mut s = Session::new(c).unwrap();
    let t0 = Instant::now();
    open(&mut s, t0);
    let _ = drain(&mut s);
    assert_eq!(s.poll_timeout(), Some(t0 + s.config().idle_timeout));
}

#[test]
fn call_watchers_get_a_subscription_per_new_channel_before_its_next_event() {
    let mut s = session();
    let t0 = Instant::now();
    open(&mut s, t0);
    let _ = drain(&mut s);
    let first = s.watch_calls();
    let second = s.watch_calls();
    let start = event_with_channel("StasisStart", "call-1");
    let dtmf = event_with_channel("ChannelDtmfReceived", "call-1");
    s.handle_ws_text(&start, t0);
    s.handle_ws_text(&dtmf, t0);
    let (_, out) = drain(&mut s);
    let deliveries: Vec<&ari_proto::Delivery> = out
        .iter()
        .filter_map(|o| match o {
            Output::Event(d) => Some(d),
            _ => None,
        })
        .collect();
    let calls = &deliveries[0].calls;
    assert_eq!(
        calls.iter().map(|(w, _)| *w).collect::<Vec<_>>(),
        vec![first, second]
    );
    for (_, sub) in calls {
        assert!(
            deliveries[1].subscribers.contains(sub),
            "the call's next event reaches its subscription"
        );
        assert!(
            !deliveries[0].subscribers.contains(sub),
            "StasisStart comes with the call"
        );
    }
    assert!(deliveries[1].calls.is_empty());
    // A stopped watcher gets no more calls.
    assert!(s.unwatch_calls(first));
    assert!(!s.unwatch_calls(first));
    s.handle_ws_text(&event_with_channel("StasisStart", "call-2"), t0);
    let (_, out) = drain(&mut s);
    let Some(Output::Event(d)) = out.iter().find(|o| matches!(o, Output::Event(_))) else {
        panic!()
    };
    assert_eq!(
        d.calls.iter().map(|(w, _)| *w).collect::<Vec<_>>(),
        vec![second]
    );
}

/// An outbound WebSocket: Asterisk opened it, so the session is open at
/// once, REST goes over it, and when it closes nothing reconnects.
#[test]
fn an_accepted_websocket_carries_rest_and_is_never_reopened() {
    let mut s = session(); // rest_transport: Http in the configuration
    let now = Instant::now();
    s.accept(now);
    assert_eq!(s.connection_state(), ConnectionState::Open);
    // The version probe goes over the socket, not over HTTP.
    let (t, _) = drain(&mut s);
    let [Transmit::WsText(probe)] = &t[..] else {
        panic!("{t:?}")
    };
    let probe: Value = serde_json::from_str(probe).unwrap();
    assert_eq!(
        (probe["type"].as_str(), probe["uri"].as_str()),
        (Some("RESTRequest"), Some("asterisk/info"))
    );
    let body = json!({"system": {"version": "22.10.1", "entity_id": "x"}}).to_string();
    let reply = json!({
        "type": "RESTResponse", "transaction_id": probe["transaction_id"], "request_id": probe["request_id"],
        "status_code": 200, "reason_phrase": "OK", "uri": "asterisk/info",
        "content_type": "application/json", "message_body": body,
        "application": "hello", "timestamp": "2026-11-22T15:39:33.202+0000"
    });
    s.handle_ws_text(&reply.to_string(), now);
    let (_, out) = drain(&mut s);
    assert!(
        out.contains(&Output::Connection(ConnectionEvent::Open {
            reconnected: false
        })),
        "{out:?}"
    );
    assert_eq!(s.server_version(), Some(Version::new(22, 10, 1)));

    // A request waiting when the socket closes fails; the session stops.
    let id = s.request(&channels::List::new(), now).unwrap();
    let _ = drain(&mut s);
    s.handle_ws_closed(CloseReason::Dropped("eof".into()), now);
    let (t, out) = drain(&mut s);
    assert!(t.is_empty(), "{t:?}");
    assert!(out.contains(&Output::Response {
        id: id.raw(),
        outcome: Err(RequestError::ConnectionLost)
    }));
    assert_eq!(
        out.last(),
        Some(&Output::Connection(ConnectionEvent::Stopped))
    );
    assert_eq!(s.connection_state(), ConnectionState::Idle);
    assert_eq!(s.poll_timeout(), None, "no reconnect is scheduled");
    s.connect(now);
    s.accept(now);
    let (t, _) = drain(&mut s);
    assert!(
        t.is_empty(),
        "neither connect nor a second accept opens anything: {t:?}"
    );
    assert!(
        matches!(
            s.request(&channels::List::new(), now),
            Err(RequestError::Closed)
        ),
        "a request after the end fails at once"
    );
}

/// Silence on an accepted socket ends the session (no reconnect either).
#[test]
fn a_silent_accepted_websocket_is_closed() {
    let mut c = config();
    c.learn_server_version = false;
    let mut s = Session::new(c.clone()).unwrap();
    let now = Instant::now();
    s.accept(now);
    let _ = drain(&mut s);
    let dead = now + c.idle_timeout + Duration::from_secs(1);
    // Pings go unanswered until the idle deadline.
    while let Some(at) = s.poll_timeout() {
        assert!(at <= dead, "still open after the idle timeout");
        s.handle_timeout(at);
    }
    let (t, out) = drain(&mut s);
    assert!(t.iter().any(|t| matches!(t, Transmit::WsClose)), "{t:?}");
    assert!(
        out.contains(&Output::Connection(ConnectionEvent::Closed(
            CloseReason::Silent
        ))),
        "{out:?}"
    );
    assert_eq!(s.connection_state(), ConnectionState::Idle);
    assert_eq!(s.poll_timeout(), None);
}
