//! Fault-injection scenarios, written once against the runtime-neutral
//! client; the adapters' tests run each on their runtime.
//!
//! The scenarios that wait for one of the client's timers (request and
//! connect timeouts, pings, reconnect backoff) run it on
//! [`VirtualTime`] over the adapter's runtime: each waits until the client
//! has set its timer and the server is in the state the scenario needs,
//! then moves the clock past the deadline. Only those waits take real
//! time, each bounded by [`PATIENCE`], which only a failing test reaches.

use crate::clock::VirtualTime;
use crate::suite::hello_world::{hello_world, serve_recorded_call as start};
use ari_client::{Client, ConnectError, Executor, Lagged, Runtime};
use ari_proto::{CloseReason, Config, ConnectionEvent, Event, Filter, RequestError};
use conformance::Faults;
use futures_channel::mpsc::UnboundedReceiver;
use futures_util::future::{Either, join, join_all, join3};
use futures_util::{FutureExt, StreamExt};
use std::future::Future;
use std::future::IntoFuture;
use std::pin::pin;
use std::time::{Duration, Instant};

/// Real time a scenario waits for something on real sockets before it
/// fails: far more than any machine needs.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// `future`, or a panic naming `what` once [`PATIENCE`] has passed on the
/// real clock of `time`'s runtime.
pub(crate) async fn within<R: Runtime, T>(
    time: &VirtualTime<R>,
    what: &str,
    future: impl Future<Output = T>,
) -> T {
    let limit = time.runtime().sleep_until(Instant::now() + PATIENCE);
    match futures_util::future::select(pin!(future), limit).await {
        Either::Left((value, _)) => value,
        Either::Right(_) => panic!("{what}: not within {PATIENCE:?}"),
    }
}

/// Lets every reconnect the client schedules start: once the client sleeps
/// out a backoff, moves the clock to its end. Returns when the client's
/// driver ends (its connection events with it).
async fn follow_backoffs<R: Runtime>(
    time: &VirtualTime<R>,
    mut states: UnboundedReceiver<ConnectionEvent>,
) {
    while let Some(state) = states.next().await {
        if let ConnectionEvent::Backoff { until, .. } = state {
            let sleeping = time.sleeping_until(until);
            within(time, "the client sleeps until its reconnect", sleeping).await;
            time.advance_to(until);
        }
    }
}

fn first_event_seq() -> u64 {
    let trace = conformance::bundled_trace("hello-world.jsonl").unwrap();
    trace.first_event_seq().unwrap()
}

fn originate() -> ari_proto::ops::channels::Originate {
    ari_proto::ops::channels::Originate::new("PJSIP/hello@loop")
        .app("hello")
        .app_args("caller")
        .channel_id("chan-out-1")
        .caller_id("Tester <5551234>")
}

/// The WebSocket drops (with or without a close frame) and the first
/// `refused` reconnects are refused: the client backs off, reconnects by
/// itself once each backoff is over, and the call completes.
pub async fn reconnects<R: Runtime>(runtime: R, close_frame: bool, refused: usize) {
    let faults = Faults {
        close_ws_before: Some((first_event_seq(), close_frame)),
        refuse_connections: refused,
        ..Faults::default()
    };
    let (fake, config) = start(faults);
    let time = VirtualTime::new(runtime);
    let client = Client::connect(time.clone(), config).await.unwrap();
    let mut states = client.connection_events();
    let backoffs = follow_backoffs(&time, client.connection_events());
    let call = async {
        let log = within(&time, "the call", hello_world(&client)).await;
        client.close().await;
        log
    };
    let (log, ()) = join(call, backoffs).await;
    let log = log.unwrap();
    let report = fake.finish();
    assert!(
        report.completed && report.mismatches.is_empty(),
        "{report:?} {log:?}"
    );
    let mut seen = Vec::new();
    while let Ok(s) = states.try_recv() {
        seen.push(s);
    }
    assert!(
        seen.iter().any(|s| matches!(s, ConnectionEvent::Closed(_))),
        "{seen:?}"
    );
    assert!(
        seen.contains(&ConnectionEvent::Open { reconnected: true }),
        "{seen:?}"
    );
    let attempts = seen
        .iter()
        .filter(|s| matches!(s, ConnectionEvent::Connecting { .. }))
        .count();
    assert_eq!(attempts, refused + 1, "{seen:?}");
    let backoffs = seen
        .iter()
        .filter(|s| matches!(s, ConnectionEvent::Backoff { .. }))
        .count();
    assert_eq!(backoffs, refused + 1, "one backoff before each attempt");
}

/// A 503 answer is a typed API error.
pub async fn server_errors_are_typed<F>(connect: impl FnOnce(Config) -> F)
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    let (fake, config) = start(Faults {
        error_status: Some((0, 503)),
        ..Faults::default()
    });
    let client = connect(config).await.unwrap();
    match client.request(originate()).await {
        Err(RequestError::Api(e)) => assert_eq!(e.status, 503, "{e}"),
        other => panic!("expected a 503, got {other:?}"),
    }
    client.close().await;
    drop(fake);
}

/// An answer still coming when the request timeout runs out (the fake
/// sends half of it, then nothing) is a timeout.
pub async fn slow_answers_time_out<R: Runtime>(runtime: R) {
    const TIMEOUT: Duration = Duration::from_millis(100);
    let (fake, mut config) = start(Faults {
        stall_response: Some(0),
        ..Faults::default()
    });
    config.request_timeout = TIMEOUT;
    let time = VirtualTime::new(runtime);
    let client = Client::connect(time.clone(), config).await.unwrap();
    // The clock stands still until advanced: the request goes out now.
    let sent_at = time.now();
    let expire = async {
        within(&time, "half the answer is sent", fake.stalled().reaches(1)).await;
        let timer = time.sleeping_until(sent_at + TIMEOUT);
        let due = within(&time, "the client sets its timer", timer).await;
        assert_eq!(due, sent_at + TIMEOUT);
        time.advance(TIMEOUT);
    };
    let request = within(&time, "the outcome", client.request(originate()));
    let (outcome, ()) = join(request, expire).await;
    assert_eq!(outcome.err(), Some(RequestError::Timeout(TIMEOUT)));
    client.close().await;
    drop(fake);
}

/// A malformed frame is reported and an unknown event delivered whole; the
/// stream and the call go on.
pub async fn bad_frames_do_not_stop_events<F>(connect: impl FnOnce(Config) -> F)
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    let first = first_event_seq();
    let faults = Faults {
        malformed_frame_before: Some(first),
        unknown_event_before: Some(first + 1),
        ..Faults::default()
    };
    let (fake, config) = start(faults);
    let client = connect(config).await.unwrap();
    let mut unknown = client.subscribe(Filter::Type("FromTheFuture".into()));
    hello_world(&client).await.unwrap();
    let Some(Ok(event)) = unknown.next().await else {
        panic!("the unknown event did not arrive")
    };
    let Event::Unknown(u) = &event else {
        panic!("{event:?}")
    };
    assert_eq!(u.fields["novel"]["x"], 1);
    client.close().await;
    let report = fake.finish();
    assert!(
        report.completed && report.mismatches.is_empty(),
        "{report:?}"
    );
}

/// A consumer that stops reading loses events past its queue, is told how
/// many, and does not hold up the call.
pub async fn a_stopped_consumer_is_told_it_lagged<F>(connect: impl FnOnce(Config) -> F)
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    let (fake, config) = start(Faults::default());
    let client = connect(config).await.unwrap();
    let mut stalled = client.subscribe_with_queue(Filter::All, 2);
    hello_world(&client).await.unwrap();
    client.close().await;
    let (mut kept, mut lagged) = (0, 0);
    while let Some(item) = stalled.next().await {
        match item {
            Ok(_) if lagged == 0 => kept += 1,
            Ok(_) => panic!("an event after the gap came before its notice"),
            Err(Lagged(n)) => lagged += n,
        }
    }
    assert!((1..=3).contains(&kept), "kept {kept}");
    assert!(lagged >= 20, "lagged {lagged}");
    let report = fake.finish();
    assert!(
        report.completed,
        "the stalled stream held up nothing: {report:?}"
    );
}

/// A request made during a flood of events is answered during the flood:
/// events never hold back the client's requests.
pub async fn requests_are_answered_during_a_flood<F>(connect: impl FnOnce(Config) -> F)
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    use crate::blast::{Blast, MARKER_TYPE};
    let total = 50_000;
    let trace = conformance::bundled_trace("load-30-calls.jsonl").unwrap();
    let blast = Blast::start(&trace, total).unwrap();
    let client = connect(Config::new(&blast.base_url(), "hello", "u", "p").unwrap())
        .await
        .unwrap();
    let mut events = client.events();
    // The first request starts the flood.
    client.channel("start").answer().await.unwrap();
    assert!(matches!(events.next().await, Some(Ok(_))));
    let mut answer = std::pin::pin!(client.channel("during").answer().into_future());
    let mut seen = 1;
    loop {
        futures_util::select_biased! {
            answered = answer.as_mut().fuse() => {
                answered.unwrap();
                break;
            }
            item = events.next() => match item {
                Some(Ok(e)) if e.type_name() == MARKER_TYPE => {
                    panic!("the flood of {total} events ended before the answer came")
                }
                Some(_) => seen += 1,
                None => panic!("the stream ended"),
            },
        }
    }
    assert!(seen < total, "answered after {seen} events");
    client.close().await;
}

/// A ping from the server on the events WebSocket gets its pong, with the
/// same payload, while the client is otherwise idle.
pub async fn pings_are_answered<F>(connect: impl FnOnce(Config) -> F)
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    use conformance::wire_io::{self, WsMessage};
    use std::io::{BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (pong_tx, pong_rx) = futures_channel::oneshot::channel();
    let serve = move || -> Option<Vec<u8>> {
        // Only the events WebSocket is served; any REST request is left alone.
        for stream in listener.incoming() {
            let stream = stream.ok()?;
            stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
            let mut writer = stream.try_clone().ok()?;
            let mut reader = BufReader::new(stream);
            let request = wire_io::read_request(&mut reader).ok()??;
            let Some(key) = request.websocket_key() else {
                continue;
            };
            wire_io::write_upgrade(&mut writer, key).ok()?;
            writer
                .write_all(&wire_io::frame(0x9, b"are you there"))
                .ok()?;
            loop {
                match wire_io::read_message(&mut reader).ok()?? {
                    WsMessage::Pong(payload) => return Some(payload),
                    WsMessage::Close(_) => return None,
                    _ => {}
                }
            }
        }
        None
    };
    std::thread::spawn(move || pong_tx.send(serve()));
    let mut config = Config::new(&format!("http://{addr}"), "hello", "u", "p").unwrap();
    // This server speaks WebSocket only: no build to learn.
    config.learn_server_version = false;
    let client = connect(config).await.unwrap();
    // Awaited, not joined: the client must keep running to answer.
    let pong = pong_rx.await.unwrap();
    assert_eq!(pong.as_deref(), Some(&b"are you there"[..]));
    client.close().await;
}

/// An upgrade the server never answers fails `connect` with a connect
/// timeout, and the client closes the stalled connection.
pub async fn a_stalled_upgrade_times_out<R: Runtime>(runtime: R) {
    const TIMEOUT: Duration = Duration::from_millis(150);
    let (fake, mut config) = start(Faults {
        stall_upgrades: 1,
        ..Faults::default()
    });
    config.connect_timeout = TIMEOUT;
    let time = VirtualTime::new(runtime);
    let started = time.now();
    let expire = async {
        within(
            &time,
            "the fake holds the upgrade",
            fake.stalled().reaches(1),
        )
        .await;
        let timer = time.sleeping_until(started + TIMEOUT);
        let due = within(&time, "the client sets its timer", timer).await;
        assert_eq!(due, started + TIMEOUT);
        time.advance(TIMEOUT);
    };
    let connect = within(&time, "the outcome", Client::connect(time.clone(), config));
    let (outcome, ()) = join(connect, expire).await;
    assert_eq!(
        outcome.err(),
        Some(ConnectError::WebSocket(CloseReason::ConnectTimeout))
    );
    // The fake counts the stalled connection once the client has closed it.
    let closed = fake.abandoned().reaches(1);
    within(&time, "the client closes the stalled connection", closed).await;
    let report = fake.finish();
    assert_eq!(report.abandoned, 1, "{report:?}");
}

/// The WebSocket goes silent (no frames, no pongs, the socket still up):
/// the client's pings go unanswered, it declares the connection dead,
/// closes it, reconnects by itself, and the call completes on the new one.
pub async fn a_silent_socket_is_replaced<R: Runtime>(runtime: R) {
    const PING: Duration = Duration::from_millis(50);
    const IDLE: Duration = Duration::from_millis(200);
    let (fake, mut config) = start(Faults {
        silence_ws_before: Some(first_event_seq()),
        ..Faults::default()
    });
    config.ping_interval = Some(PING);
    config.idle_timeout = IDLE;
    let time = VirtualTime::new(runtime);
    let client = Client::connect(time.clone(), config).await.unwrap();
    // The clock has not moved: this is when the WebSocket opened, and the
    // last time it brought anything (the fault comes before any frame).
    let opened = time.now();
    let mut states = client.connection_events();
    let backoffs = follow_backoffs(&time, client.connection_events());
    let silence = async {
        within(&time, "the fake goes silent", fake.silenced().reaches(1)).await;
        let first_ping = time.sleeping_until(opened + PING);
        within(&time, "the client waits to ping", first_ping).await;
        time.advance_to(opened + PING);
        // The ping went out: the timer is set again for the next one.
        let second_ping = time.sleeping_until(opened + 2 * PING);
        let due = within(&time, "the client pings", second_ping).await;
        assert_eq!(due, opened + 2 * PING);
        // No pong and nothing else: dead once idle that long.
        time.advance_to(opened + IDLE);
    };
    let call = async {
        let log = within(&time, "the call", hello_world(&client)).await;
        client.close().await;
        log
    };
    let (log, (), ()) = join3(call, silence, backoffs).await;
    let log = log.unwrap();
    let closed = fake.abandoned().reaches(1);
    within(&time, "the client closes the silent socket", closed).await;
    let report = fake.finish();
    assert!(
        report.completed && report.mismatches.is_empty(),
        "{report:?} {log:?}"
    );
    assert_eq!(report.abandoned, 1, "the silent socket was closed");
    let mut seen = Vec::new();
    while let Ok(s) = states.try_recv() {
        seen.push(s);
    }
    assert!(
        seen.contains(&ConnectionEvent::Closed(CloseReason::Silent)),
        "{seen:?}"
    );
    assert!(
        seen.contains(&ConnectionEvent::Open { reconnected: true }),
        "{seen:?}"
    );
}

/// A server that accepts the events WebSocket and every HTTP connection but
/// never answers a request. Requests that time out, and requests failed by
/// `close`, have their exchanges cancelled and their connections closed:
/// nothing piles up, and no more than `max_in_flight` are ever open.
pub async fn given_up_requests_close_their_connections<R: Runtime>(runtime: R) {
    const REQUESTS: usize = 1000;
    const IN_FLIGHT: usize = 16;
    const TIMEOUT: Duration = Duration::from_millis(300);
    let server = crate::loopback::Silent::start().unwrap();
    let config = |timeout: Duration| {
        let mut config = Config::new(&server.base_url(), "hello", "u", "p").unwrap();
        config.learn_server_version = false;
        config.max_in_flight = IN_FLIGHT;
        config.request_timeout = timeout;
        config
    };
    let time = VirtualTime::new(runtime);
    let all_closed = async || {
        let closed = server.open_requests().until(|n| n == 0);
        within(&time, "the server sees every exchange closed", closed).await;
    };
    let get_all = |client: &Client| {
        join_all((0..REQUESTS).map(|i| client.channel(format!("c{i}")).get().into_future()))
    };

    // Given up by timeout.
    let client = Client::connect(time.clone(), config(TIMEOUT))
        .await
        .unwrap();
    // The clock stands still until advanced: the requests go out now.
    let sent_at = time.now();
    let mut requests = pin!(get_all(&client));
    // The first poll sends every request.
    assert!(futures_util::poll!(requests.as_mut()).is_pending());
    // The driver takes commands in order and refuses this one before it
    // sends anything: once it is refused, every request above has its
    // deadline.
    let refused = client
        .request(ari_proto::ops::events::EventWebsocket::new(["hello"]))
        .await;
    assert!(
        matches!(refused, Err(RequestError::Invalid(_))),
        "{refused:?}"
    );
    let full = server.open_requests().reaches(IN_FLIGHT);
    within(&time, "the first requests reach the server", full).await;
    let timer = time.sleeping_until(sent_at + TIMEOUT);
    let due = within(&time, "the client sets its timer", timer).await;
    assert_eq!(due, sent_at + TIMEOUT);
    time.advance(TIMEOUT);
    let outcomes = within(&time, "the requests time out", requests).await;
    assert!(
        outcomes
            .iter()
            .all(|o| o.as_ref().err() == Some(&RequestError::Timeout(TIMEOUT))),
        "every request times out"
    );
    all_closed().await;
    assert!(
        server.most_open_requests() <= IN_FLIGHT,
        "at most {IN_FLIGHT} exchanges at once, saw {}",
        server.most_open_requests()
    );
    client.close().await;

    // Given up by close, once the most that may be on the wire are. The
    // clock stands still: no request times out.
    server.reset_most_open_requests();
    let client = Client::connect(time.clone(), config(TIMEOUT))
        .await
        .unwrap();
    let close_when_full = async {
        let full = server.open_requests().reaches(IN_FLIGHT);
        within(&time, "the first requests reach the server", full).await;
        client.close().await;
    };
    let (outcomes, ()) = join(get_all(&client), close_when_full).await;
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Err(RequestError::Closed))),
        "close fails every request"
    );
    all_closed().await;
    assert!(
        server.most_open_requests() <= IN_FLIGHT,
        "at most {IN_FLIGHT} exchanges at once, saw {}",
        server.most_open_requests()
    );
}
