//! Fault-injection scenarios, written once against the runtime-neutral
//! client; the adapters' tests run each on their runtime.

use crate::suite::hello_world::{hello_world, serve_recorded_call as start};
use ari_client::{Client, ConnectError, Lagged};
use ari_proto::{Config, ConnectionEvent, Event, Filter, RequestError};
use conformance::Faults;
use futures_util::{FutureExt, StreamExt};
use std::future::Future;
use std::future::IntoFuture;
use std::time::Duration;

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
/// itself, and the call completes.
pub async fn reconnects<F>(connect: impl FnOnce(Config) -> F, close_frame: bool, refused: usize)
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    let faults = Faults {
        close_ws_before: Some((first_event_seq(), close_frame)),
        refuse_connections: refused,
        ..Faults::default()
    };
    let (fake, config) = start(faults);
    let client = connect(config).await.unwrap();
    let mut states = client.connection_events();
    let log = hello_world(&client).await.unwrap();
    client.close().await;
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

/// An answer slower than the request timeout is a timeout.
pub async fn slow_answers_time_out<F>(connect: impl FnOnce(Config) -> F)
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    let (fake, mut config) = start(Faults {
        response_delay: Duration::from_millis(600),
        ..Faults::default()
    });
    config.request_timeout = Duration::from_millis(100);
    let client = connect(config).await.unwrap();
    let outcome = client.request(originate()).await;
    assert_eq!(
        outcome.err(),
        Some(RequestError::Timeout(Duration::from_millis(100)))
    );
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
    let Event::Unknown(u) = &*event else {
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
pub async fn a_stalled_upgrade_times_out<F>(connect: impl FnOnce(Config) -> F)
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    let (fake, mut config) = start(Faults {
        stall_upgrades: 1,
        ..Faults::default()
    });
    config.connect_timeout = Duration::from_millis(150);
    let outcome = connect(config).await;
    assert_eq!(
        outcome.err(),
        Some(ConnectError::WebSocket(
            ari_proto::CloseReason::ConnectTimeout
        ))
    );
    // The fake counts the stalled connection once the client has closed it.
    let report = wait_for_abandoned(fake, 1).await;
    assert_eq!(report.abandoned, 1, "{report:?}");
}

/// The WebSocket goes silent (no frames, no pongs, the socket still up):
/// the client's pings go unanswered, it declares the connection dead,
/// closes it, reconnects by itself, and the call completes on the new one.
pub async fn a_silent_socket_is_replaced<F>(connect: impl FnOnce(Config) -> F)
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    let (fake, mut config) = start(Faults {
        silence_ws_before: Some(first_event_seq()),
        ..Faults::default()
    });
    config.ping_interval = Some(Duration::from_millis(50));
    config.idle_timeout = Duration::from_millis(200);
    let client = connect(config).await.unwrap();
    let mut states = client.connection_events();
    let log = hello_world(&client).await.unwrap();
    client.close().await;
    let report = wait_for_abandoned(fake, 1).await;
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
        seen.contains(&ConnectionEvent::Closed(ari_proto::CloseReason::Silent)),
        "{seen:?}"
    );
    assert!(
        seen.contains(&ConnectionEvent::Open { reconnected: true }),
        "{seen:?}"
    );
}

/// Stops the fake once it counted `n` abandoned connections (or after a
/// bound), and reports.
async fn wait_for_abandoned(fake: conformance::FakeAsterisk, n: usize) -> conformance::ServeReport {
    for _ in 0..200 {
        if fake.abandoned().get() >= n {
            break;
        }
        futures_timer_free_sleep().await;
    }
    fake.finish()
}

/// Yields to the runtime for a moment without naming one.
async fn futures_timer_free_sleep() {
    let (tx, rx) = futures_channel::oneshot::channel::<()>();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        let _ = tx.send(());
    });
    let _ = rx.await;
}

/// A server that accepts the events WebSocket and every HTTP connection but
/// never answers a request. Requests that time out, and requests failed by
/// `close`, have their exchanges cancelled and their connections closed:
/// nothing piles up, and no more than `max_in_flight` are ever open.
pub async fn given_up_requests_close_their_connections<F>(connect: impl Fn(Config) -> F)
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    const REQUESTS: usize = 1000;
    const IN_FLIGHT: usize = 16;
    let server = crate::loopback::Silent::start().unwrap();
    let config = |timeout: Duration| {
        let mut config = Config::new(&server.base_url(), "hello", "u", "p").unwrap();
        config.learn_server_version = false;
        config.max_in_flight = IN_FLIGHT;
        config.request_timeout = timeout;
        config
    };
    let all_closed = async || {
        for _ in 0..500 {
            if server.open_requests().get() == 0 {
                break;
            }
            futures_timer_free_sleep().await;
        }
        server.open_requests().get()
    };

    // Given up by timeout.
    let client = connect(config(Duration::from_millis(300))).await.unwrap();
    let requests = (0..REQUESTS).map(|i| client.channel(format!("c{i}")).get().into_future());
    let outcomes = futures_util::future::join_all(requests).await;
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Err(RequestError::Timeout(_)))),
        "every request times out"
    );
    assert_eq!(
        all_closed().await,
        0,
        "timed-out exchanges closed their connections"
    );
    client.close().await;

    // Given up by close, once the most that may be on the wire are. (While
    // requests time out, the server may see a cancelled connection's end
    // only after the next request's start: count from here.)
    server.reset_most_open_requests();
    let client = connect(config(Duration::from_secs(600))).await.unwrap();
    let requests = (0..REQUESTS).map(|i| client.channel(format!("c{i}")).get().into_future());
    let close_when_full = async {
        while server.open_requests().get() < IN_FLIGHT {
            futures_timer_free_sleep().await;
        }
        client.close().await;
    };
    let (outcomes, ()) =
        futures_util::future::join(futures_util::future::join_all(requests), close_when_full).await;
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Err(RequestError::Closed))),
        "close fails every request"
    );
    assert_eq!(
        all_closed().await,
        0,
        "closed exchanges closed their connections"
    );
    assert!(
        server.most_open_requests() <= IN_FLIGHT,
        "at most {IN_FLIGHT} exchanges at once, saw {}",
        server.most_open_requests()
    );
}
