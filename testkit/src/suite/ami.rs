//! The AMI client through an adapter, against recorded AMI sessions served
//! by `conformance::FakeAmi`: each test plays the recorded client's part
//! with the public API and checks what came back. [`play_trace`] does so
//! for any recorded trace (every one in [`every_trace_plays_as_recorded`]),
//! also under the fake's faults; the fault scenarios check what the client
//! promises when Asterisk's side breaks. Scenarios that wait for the
//! client's timers run on [`VirtualTime`] over the adapter's runtime.

use crate::clock::VirtualTime;
use crate::suite::faults::{PATIENCE, within};
use ari_client::ami::{
    Action, ActionError, AmiClient, AmiConnectError, CloseReason, Config, ConnectionEvent,
    EventMask, LoginAuth,
};
use ari_client::{Executor, Runtime};
use conformance::ami_replay::{answer_digest, message_digest, recorded_clients};
use conformance::{AmiFaults, AmiReport, AmiServeOptions, AmiTrace, FakeAmi, Garbage};
use futures_channel::mpsc::UnboundedReceiver;
use futures_util::StreamExt;
use futures_util::future::{join, join_all};
use std::future::Future;
use std::time::{Duration, Instant};

fn config(fake: &FakeAmi, auth: LoginAuth, secret: &str, events: EventMask) -> Config {
    let mut config = Config::new(&fake.address(), "admin", secret).unwrap();
    config.auth = auth;
    config.events = events;
    // The recorded clients asked for the settings themselves.
    config.learn_server_version = false;
    config.ping_interval = None;
    config
}

/// `ami-login.jsonl`: a challenge login and four actions, a plain login
/// with events off, and a wrong password refused.
pub async fn logins_as_recorded<F, Fut>(connect: F)
where
    F: Fn(Config) -> Fut,
    Fut: Future<Output = Result<AmiClient, AmiConnectError>>,
{
    let fake = FakeAmi::start(&conformance::bundled_ami_trace("ami-login.jsonl")).unwrap();

    let manager = connect(config(
        &fake,
        LoginAuth::Challenge,
        "amp111",
        EventMask::All,
    ))
    .await
    .expect("the challenge login");
    let mut events = manager.events();
    let pong = manager.send(Action::new("Ping")).await.unwrap();
    assert_eq!(pong.response.get("Ping").unwrap(), "Pong");
    let settings = manager.send(Action::new("CoreSettings")).await.unwrap();
    assert_eq!(settings.response.get("AsteriskVersion").unwrap(), "22.10.1");
    let status = manager.send(Action::new("CoreStatus")).await.unwrap();
    assert!(status.response.get("CoreStartupTime").is_some());
    let commands = manager.send(Action::new("ListCommands")).await.unwrap();
    assert!(
        commands.response.get("Originate").is_some(),
        "Originate is listed"
    );
    manager.close().await;
    // FullyBooted and SuccessfulAuth came after the login.
    let mut seen = Vec::new();
    while let Some(Ok(event)) = events.next().await {
        seen.push(event.name().to_string());
    }
    assert_eq!(seen, ["FullyBooted", "SuccessfulAuth"]);

    let manager = connect(config(&fake, LoginAuth::Plain, "amp111", EventMask::Off))
        .await
        .expect("the plain login");
    manager.send(Action::new("Ping")).await.unwrap();
    manager.close().await;

    let refused = connect(config(
        &fake,
        LoginAuth::Plain,
        "wrong-password",
        EventMask::All,
    ))
    .await;
    assert_eq!(
        refused.err(),
        Some(AmiConnectError::Closed(CloseReason::LoginRefused(
            "Authentication failed".into()
        )))
    );
    let report = fake.finish();
    assert!(report.completed, "{report:?}");
    assert_eq!(report.connections, 3);
}

/// `ami-eventlists.jsonl`: two asynchronous originates answered by their
/// OriginateResponse, then twelve actions answered with event lists, each
/// gathered whole.
pub async fn event_lists_as_recorded<F, Fut>(connect: F)
where
    F: Fn(Config) -> Fut,
    Fut: Future<Output = Result<AmiClient, AmiConnectError>>,
{
    let fake = FakeAmi::start(&conformance::bundled_ami_trace("ami-eventlists.jsonl")).unwrap();
    let manager = connect(config(
        &fake,
        LoginAuth::Plain,
        "amp111",
        EventMask::Classes(vec!["call".into()]),
    ))
    .await
    .unwrap();
    let lamp = |state: &str| {
        Action::new("Setvar")
            .header("Variable", "DEVICE_STATE(Custom:ami-lamp)")
            .header("Value", state)
    };
    manager.send(lamp("INUSE")).await.unwrap();
    let originate = |n: u32| {
        Action::new("Originate")
            .header("Channel", "PJSIP/echo@loop")
            .header("Exten", "echo")
            .header("Context", "default")
            .header("Priority", "1")
            .header("ChannelId", format!("ami-el-out-{n}"))
            .header("Async", "true")
    };
    let (one, two) = futures_util::join!(manager.send(originate(1)), manager.send(originate(2)));
    for (n, answer) in [(1, one), (2, two)] {
        let done = answer.unwrap().completion.expect("OriginateResponse");
        assert_eq!(
            done.get("Uniqueid").unwrap().to_string(),
            format!("ami-el-out-{n}")
        );
    }
    let lists: [(Action, &str); 12] = [
        (Action::new("CoreShowChannels"), "CoreShowChannelsComplete"),
        (Action::new("Status"), "StatusComplete"),
        // Named once CoreShowChannels has named the channel.
        (
            Action::new("Status").header("Channel", "<outbound leg of call 1>"),
            "StatusComplete",
        ),
        (Action::new("PJSIPShowEndpoints"), "EndpointListComplete"),
        (
            Action::new("PJSIPShowEndpoint").header("Endpoint", "loop"),
            "EndpointDetailComplete",
        ),
        (Action::new("PJSIPShowContacts"), ""),
        (Action::new("DeviceStateList"), "DeviceStateListComplete"),
        (
            Action::new("ExtensionStateList"),
            "ExtensionStateListComplete",
        ),
        (Action::new("QueueStatus"), "QueueStatusComplete"),
        (Action::new("BridgeList"), "BridgeListComplete"),
        (Action::new("Parkinglots"), "ParkinglotsComplete"),
        (
            Action::new("ShowDialPlan")
                .header("Context", "default")
                .header("Extension", "echo"),
            "ShowDialPlanComplete",
        ),
    ];
    let mut items = 0;
    let mut outbound = Vec::new();
    for (mut action, complete) in lists {
        let name = action.name().to_string();
        if action
            .headers()
            .iter()
            .any(|(_, v)| v.starts_with("<outbound"))
        {
            action = Action::new("Status").header("Channel", &outbound[0]);
        }
        match manager.send(action).await {
            Ok(answer) => {
                let end = answer
                    .completion
                    .unwrap_or_else(|| panic!("{name}: no list end"));
                assert_eq!(end.get("Event").unwrap(), complete, "{name}");
                assert_eq!(
                    end.get("ListItems").unwrap().to_string(),
                    answer.items.len().to_string(),
                    "{name}: every item gathered"
                );
                items += answer.items.len();
                if name == "CoreShowChannels" {
                    for n in 1..=2 {
                        let id = format!("ami-el-out-{n}");
                        let leg = answer
                            .items
                            .iter()
                            .find(|i| i.get("Uniqueid").is_some_and(|u| u == id.as_str()));
                        outbound.push(
                            leg.expect("both calls listed")
                                .get("Channel")
                                .unwrap()
                                .to_string(),
                        );
                    }
                }
            }
            // Recorded: no contacts at all is an error answer.
            Err(e) => assert_eq!(complete, "", "{name}: {e}"),
        }
    }
    assert!(items >= 20, "{items}");
    for channel in outbound {
        manager
            .send(Action::new("Hangup").header("Channel", channel))
            .await
            .unwrap();
    }
    manager.send(lamp("NOT_INUSE")).await.unwrap();
    manager.close().await;
    let report = fake.finish();
    assert!(report.completed, "{report:?}");
}

// ------------------------------------------------ recorded traces, whole

/// Lets every reconnect the client schedules start: once the client sleeps
/// out a backoff, moves the clock to its end. Returns when the client's
/// driver ends.
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

/// Waits for the next state `want` accepts, noting every state seen.
async fn wait_state<R: Runtime>(
    time: &VirtualTime<R>,
    states: &mut UnboundedReceiver<ConnectionEvent>,
    seen: &mut Vec<ConnectionEvent>,
    what: &str,
    want: impl Fn(&ConnectionEvent) -> bool,
) {
    within(time, what, async {
        while let Some(s) = states.next().await {
            seen.push(s.clone());
            if want(&s) {
                return;
            }
        }
        panic!("{what}: the client stopped first; seen {seen:?}");
    })
    .await
}

/// What playing a recorded trace through an adapter gave.
#[derive(Debug, Default)]
pub struct TracePlay {
    /// The fake's report.
    pub report: AmiReport,
    /// Actions whose answers were compared with the socket-free replay's.
    pub answers: usize,
    /// Events compared, over all clients.
    pub events: usize,
    /// Events called `Garbage` (sent by [`Garbage::NotUtf8`]) received.
    pub garbage_events: usize,
    /// Connection states seen, over all clients.
    pub states: Vec<ConnectionEvent>,
}

/// A recorded connection no client API makes (no login, or refused with
/// no client retrying): its bytes, written raw, and whatever comes back
/// read to the end.
fn play_raw(
    fake: &FakeAmi,
    connection: &conformance::ami_replay::ConnectionReplay,
    trace: &AmiTrace,
) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(fake.address()).expect("the fake listens");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    if !connection.refused {
        for r in trace.connection(&connection.conn) {
            if let conformance::ami_trace::AmiKind::Send(bytes) = &r.kind {
                stream.write_all(bytes).unwrap();
            }
        }
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
    let mut sink = Vec::new();
    let _ = stream.read_to_end(&mut sink);
}

/// Plays the recorded trace `name` (`conformance/traces/ami/`) through
/// the adapter's `runtime`, on virtual time, against a fake serving it
/// with `faults`: each recorded client connects with the settings it used
/// (`tweak` may change them), sends its actions once each connection is up
/// (a `Logoff` is [`AmiClient::close`]), and must get the very answers and
/// events the socket-free replay of the trace through `ami_proto::Session`
/// gives (`conformance::ami_replay`), every event in order, those that
/// come with the login included (the streams are made before
/// [`AmiClient::open`]). A recorded login Asterisk refused must fail
/// `connect` the same way.
pub async fn play_trace<R: Runtime>(
    runtime: R,
    name: &str,
    faults: AmiFaults,
    tweak: impl Fn(&mut Config),
) -> TracePlay {
    let path = conformance::bundled_ami_trace(name);
    let trace = AmiTrace::read(&path).unwrap();
    let clients = recorded_clients(&trace);
    let skip_sends = clients
        .iter()
        .filter(|c| c.config().is_some())
        .flat_map(|c| c.connections.iter().flat_map(|c| c.skipped_sends.clone()))
        .collect();
    let fake = FakeAmi::start_with(&path, AmiServeOptions { faults, skip_sends }).unwrap();
    let port: u16 = fake.address().rsplit(':').next().unwrap().parse().unwrap();
    let time = VirtualTime::new(runtime);
    let mut play = TracePlay::default();
    for client in &clients {
        let Some(recorded) = client.config() else {
            for c in &client.connections {
                play_raw(&fake, c, &trace);
            }
            continue;
        };
        let mut config = recorded.clone();
        config.host = "127.0.0.1".into();
        config.port = port;
        tweak(&mut config);
        let first = &client.connections[0];
        if let Some(why) = &first.login_refused {
            let refused = AmiClient::connect(time.clone(), config).await;
            assert_eq!(
                refused.err(),
                Some(AmiConnectError::Closed(CloseReason::LoginRefused(
                    why.clone()
                ))),
                "{name} {}",
                first.conn
            );
            continue;
        }
        // Subscribed before the login: no event is missed.
        let manager = AmiClient::new(time.clone(), config).unwrap();
        let mut events = manager.events();
        let mut states = manager.connection_events();
        let backoffs = follow_backoffs(&time, manager.connection_events());
        within(&time, "the login", manager.open())
            .await
            .unwrap_or_else(|e| panic!("{name} {}: {e}", first.conn));
        let opened: Vec<&conformance::ami_replay::ConnectionReplay> =
            client.connections.iter().filter(|c| !c.refused).collect();
        let last = opened.last().expect("a client has a connection");
        // The events the application must see: up to the Logoff, when the
        // client leaves.
        let expected_events: Vec<String> = opened
            .iter()
            .flat_map(|c| c.events.iter())
            .filter(|(seq, _)| last.logoff.is_none_or(|l| *seq < l))
            .map(|(_, m)| message_digest(m))
            .collect();
        let run = async {
            let mut seen = Vec::new();
            // Actions the replay saw no answer to (e.g. one without an
            // ActionID, whose response names none): they end with their
            // connection.
            let mut unanswered = Vec::new();
            for (i, conn) in opened.iter().enumerate() {
                if i > 0 {
                    let what = format!("{name}: the reconnect for {}", conn.conn);
                    wait_state(&time, &mut states, &mut seen, &what, |s| {
                        *s == ConnectionEvent::Open { reconnected: true }
                    })
                    .await;
                }
                let mut answered = Vec::new();
                for ((seq, action), expected) in conn.actions.iter().zip(&conn.answers) {
                    if Some(*seq) == conn.logoff {
                        continue;
                    }
                    let sent = Box::pin(manager.send(action.clone()));
                    match expected {
                        Some(Ok(_)) | Some(Err(ActionError::Refused { .. })) => {
                            answered.push((sent, expected, seq, action))
                        }
                        _ => unanswered.push(sent),
                    }
                }
                let (sends, expected): (Vec<_>, Vec<_>) = answered
                    .into_iter()
                    .map(|(sent, expected, seq, action)| (sent, (expected, seq, action)))
                    .unzip();
                let what = format!("{name} {}: the answers", conn.conn);
                let answers = within(&time, &what, join_all(sends)).await;
                for (answer, (expected, seq, action)) in answers.iter().zip(expected) {
                    let expected = expected.as_ref().map(answer_digest);
                    assert_eq!(
                        Some(answer_digest(answer)),
                        expected,
                        "{name} {} seq {seq}: {action:?}",
                        conn.conn
                    );
                }
                play.answers += answers.len();
            }
            // Every event up to the last one expected, then leave.
            let mut got: Vec<String> = Vec::new();
            let enough = expected_events.len();
            let what = format!("{name}: the events");
            within(&time, &what, async {
                while got.len() < enough || got.last() != expected_events.last() {
                    match events.next().await {
                        Some(Ok(e)) if e.name() == "Garbage" => play.garbage_events += 1,
                        Some(Ok(e)) => got.push(message_digest(e.message())),
                        Some(Err(lag)) => panic!("{name}: lagged {lag:?}"),
                        None => panic!("{name}: the events ended after {}", got.len()),
                    }
                }
            })
            .await;
            assert_eq!(got, expected_events, "{name}: the events");
            play.events += got.len();
            manager.close().await;
            for lost in within(&time, "the unanswered", join_all(unanswered)).await {
                assert!(
                    matches!(lost, Err(ActionError::ConnectionLost | ActionError::Closed)),
                    "{name}: {lost:?}"
                );
            }
            while let Ok(s) = states.try_recv() {
                seen.push(s);
            }
            seen
        };
        let (seen, ()) = join(run, backoffs).await;
        play.states.extend(seen);
    }
    play.report = fake.finish();
    assert!(
        play.report.mismatches.is_empty(),
        "{name}: {:?}",
        play.report
    );
    play
}

/// Every recorded AMI trace, played through the adapter: each recorded
/// client's answers and events are those of the socket-free replay, and
/// the fake saw every recorded action.
pub async fn every_trace_plays_as_recorded<R: Runtime>(runtime: R) {
    let traces = conformance::bundled_ami_traces();
    assert!(traces.len() >= 10);
    let (mut answers, mut events) = (0, 0);
    for path in traces {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let play = play_trace(runtime.clone(), &name, AmiFaults::default(), |_| {}).await;
        assert!(play.report.completed, "{name}: {:?}", play.report);
        if name == "ami-reconnect.jsonl" {
            // Asterisk restarted: the client came back by itself, through
            // the refused attempt.
            assert!(
                play.states
                    .contains(&ConnectionEvent::Open { reconnected: true }),
                "{:?}",
                play.states
            );
            assert_eq!(play.report.connections, 3);
        }
        answers += play.answers;
        events += play.events;
    }
    assert!(answers > 400, "{answers}");
    assert!(events > 2_000, "{events}");
}

/// Asterisk's messages written a byte at a time: the client reads them in
/// pieces and gets exactly what it gets from whole writes.
pub async fn slow_delivery_changes_nothing<R: Runtime>(runtime: R) {
    for (name, chunk) in [("ami-call-events.jsonl", 1), ("ami-eventlists.jsonl", 7)] {
        let faults = AmiFaults {
            slow: Some((chunk, Duration::ZERO)),
            ..AmiFaults::default()
        };
        let play = play_trace(runtime.clone(), name, faults, |_| {}).await;
        assert!(play.report.completed, "{name}: {:?}", play.report);
        assert!(play.events > 20, "{name}: {play:?}");
    }
}

/// Bytes that are not AMI in the middle of a call's events: the client
/// goes on, loses no event before (or after) them, and answers every
/// action. A message longer than the client's limit is skipped; one that
/// is not `Name: value` is no event; an event with a value that is not
/// UTF-8 is delivered as it is.
pub async fn garbage_is_survived<R: Runtime>(runtime: R, garbage: Garbage) {
    let name = "ami-call-events.jsonl";
    let faults = AmiFaults {
        garbage_after: Some((20, garbage.clone())),
        ..AmiFaults::default()
    };
    let play = play_trace(runtime, name, faults, |c| c.max_message = 4096).await;
    assert!(play.report.completed, "{:?}", play.report);
    assert_eq!(play.report.garbage_sent, 1);
    let delivered = usize::from(garbage == Garbage::NotUtf8);
    assert_eq!(play.garbage_events, delivered, "{play:?}");
    assert!(
        !play
            .states
            .iter()
            .any(|s| matches!(s, ConnectionEvent::Closed(_))),
        "the connection stays up: {:?}",
        play.states
    );
}

// ------------------------------------------------------------- faults

/// `ami-login.jsonl`'s first connection, on virtual time, for the fault
/// scenarios: the challenge login, then the answers to `Ping`,
/// `CoreSettings`, `CoreStatus` and `ListCommands`. Messages 1 to 4 are
/// the challenge, the login, `FullyBooted` and `SuccessfulAuth`; 5 is the
/// `Pong`.
async fn login_client<R: Runtime>(
    time: &VirtualTime<R>,
    fake: &FakeAmi,
    tweak: impl Fn(&mut Config),
) -> AmiClient {
    let mut config = config(fake, LoginAuth::Challenge, "amp111", EventMask::All);
    tweak(&mut config);
    within(time, "the login", AmiClient::connect(time.clone(), config))
        .await
        .expect("the login")
}

/// The rest of `ami-login.jsonl`'s first connection, answered as recorded.
async fn the_rest_of_the_login_trace(manager: &AmiClient) {
    let settings = manager.send(Action::new("CoreSettings")).await.unwrap();
    assert_eq!(settings.response.get("AsteriskVersion").unwrap(), "22.10.1");
    let status = manager.send(Action::new("CoreStatus")).await.unwrap();
    assert!(status.response.get("CoreStartupTime").is_some());
    manager.send(Action::new("ListCommands")).await.unwrap();
    manager.close().await;
}

fn login_trace() -> std::path::PathBuf {
    conformance::bundled_ami_trace("ami-login.jsonl")
}

/// Asterisk's connection ends in the middle of the answer to a `Ping`:
/// that `Ping` fails with [`ActionError::ConnectionLost`] (the session
/// promises no resend: whether Asterisk ran it is unknown), an action
/// sent while the client is away waits for the new login and is answered
/// then, and the client logs in again by itself after its backoff.
pub async fn a_close_mid_message_fails_the_pending_action_and_reconnects<R: Runtime>(runtime: R) {
    let faults = AmiFaults {
        close_mid_message: Some(4),
        ..AmiFaults::default()
    };
    let fake = FakeAmi::start_with(
        &login_trace(),
        AmiServeOptions {
            faults,
            ..AmiServeOptions::default()
        },
    )
    .unwrap();
    let time = VirtualTime::new(runtime);
    let manager = login_client(&time, &fake, |_| {}).await;
    let mut states = manager.connection_events();
    let backoffs = follow_backoffs(&time, manager.connection_events());
    let run = async {
        let mut seen = Vec::new();
        let cut = within(&time, "the cut Ping", manager.send(Action::new("Ping"))).await;
        assert_eq!(cut.err(), Some(ActionError::ConnectionLost));
        // Sent while away: queued until the new login.
        let queued = manager.send(Action::new("Ping"));
        wait_state(&time, &mut states, &mut seen, "the new login", |s| {
            *s == ConnectionEvent::Open { reconnected: true }
        })
        .await;
        let pong = within(&time, "the queued Ping", queued).await.unwrap();
        assert_eq!(pong.response.get("Ping").unwrap(), "Pong");
        the_rest_of_the_login_trace(&manager).await;
        seen
    };
    let (seen, ()) = join(run, backoffs).await;
    let report = fake.finish();
    assert!(
        seen.iter()
            .any(|s| matches!(s, ConnectionEvent::Closed(CloseReason::Dropped(_)))),
        "{seen:?}"
    );
    assert_eq!(report.closed_by_fault, 1, "{report:?}");
    assert_eq!(report.connections, 2, "{report:?}");
    assert!(report.mismatches.is_empty(), "{report:?}");
    // The connection served again from its banner saw every action.
    assert_eq!(report.matched, 7, "{report:?}");
}

/// A first connection that is refused ends `connect` with a typed reason:
/// `AmiClient::connect` does not retry (only a client that has been
/// logged in reconnects by itself).
pub async fn a_refused_first_connection_fails_connect<F, Fut>(connect: F)
where
    F: Fn(Config) -> Fut,
    Fut: Future<Output = Result<AmiClient, AmiConnectError>>,
{
    let faults = AmiFaults {
        refuse_connections: 1,
        ..AmiFaults::default()
    };
    let fake = FakeAmi::start_with(
        &login_trace(),
        AmiServeOptions {
            faults,
            ..AmiServeOptions::default()
        },
    )
    .unwrap();
    let refused = connect(config(
        &fake,
        LoginAuth::Challenge,
        "amp111",
        EventMask::All,
    ))
    .await;
    assert!(
        matches!(
            refused,
            Err(AmiConnectError::Closed(CloseReason::Dropped(_)))
        ),
        "{:?}",
        refused.err()
    );
    // The next attempt gets the recorded connection.
    let manager = connect(config(
        &fake,
        LoginAuth::Challenge,
        "amp111",
        EventMask::All,
    ))
    .await
    .expect("the second attempt");
    let pong = manager.send(Action::new("Ping")).await.unwrap();
    assert_eq!(pong.response.get("Ping").unwrap(), "Pong");
    the_rest_of_the_login_trace(&manager).await;
    let report = fake.finish();
    assert_eq!(report.refused_by_fault, 1, "{report:?}");
    assert_eq!(report.connections, 2, "{report:?}");
    assert!(report.mismatches.is_empty(), "{report:?}");
}

/// Once logged in, a dropped connection whose next attempts are refused is
/// retried with a growing backoff until one is served; the client then
/// logs in again by itself.
pub async fn later_refusals_are_retried_with_backoff<R: Runtime>(runtime: R) {
    let faults = AmiFaults {
        close_after: Some(5),
        refuse_from: 1,
        refuse_connections: 2,
        ..AmiFaults::default()
    };
    let fake = FakeAmi::start_with(
        &login_trace(),
        AmiServeOptions {
            faults,
            ..AmiServeOptions::default()
        },
    )
    .unwrap();
    let time = VirtualTime::new(runtime);
    let manager = login_client(&time, &fake, |_| {}).await;
    let mut states = manager.connection_events();
    let backoffs = follow_backoffs(&time, manager.connection_events());
    let run = async {
        let mut seen = Vec::new();
        // Answered, then the connection drops (the fake closes after the
        // `Pong`, message 5).
        let pong = within(&time, "a Ping", manager.send(Action::new("Ping")))
            .await
            .unwrap();
        assert_eq!(pong.response.get("Ping").unwrap(), "Pong");
        wait_state(&time, &mut states, &mut seen, "the new login", |s| {
            *s == ConnectionEvent::Open { reconnected: true }
        })
        .await;
        // The connection is served again from its banner.
        let pong = within(&time, "a Ping", manager.send(Action::new("Ping")))
            .await
            .unwrap();
        assert_eq!(pong.response.get("Ping").unwrap(), "Pong");
        the_rest_of_the_login_trace(&manager).await;
        seen
    };
    let (seen, ()) = join(run, backoffs).await;
    let report = fake.finish();
    assert_eq!(report.refused_by_fault, 2, "{report:?}");
    assert_eq!(report.connections, 4, "{report:?}");
    assert!(report.mismatches.is_empty(), "{report:?}");
    let backoffs: Vec<(Instant, u32)> = seen
        .iter()
        .filter_map(|s| match s {
            ConnectionEvent::Backoff { until, attempt } => Some((*until, *attempt)),
            _ => None,
        })
        .collect();
    assert_eq!(
        backoffs.iter().map(|b| b.1).collect::<Vec<_>>(),
        [0, 1, 2],
        "{seen:?}"
    );
    let dropped = seen
        .iter()
        .filter(|s| matches!(s, ConnectionEvent::Closed(CloseReason::Dropped(_))))
        .count();
    assert_eq!(dropped, 3, "the drop and two refusals: {seen:?}");
    // Each wait is longer than the one before (jitter is 20%, the
    // multiplier 2): the clock was where the last one ended.
    let waits: Vec<Duration> = backoffs
        .windows(2)
        .map(|w| w[1].0.saturating_duration_since(w[0].0))
        .collect();
    assert!(waits[1] > waits[0], "{waits:?}");
}

/// Asterisk stops answering but keeps the socket open: the client's
/// keepalive `Ping` goes unanswered, the connection is taken for dead
/// once idle too long (`CloseReason::Silent`), closed and replaced.
pub async fn a_stalled_connection_is_found_by_the_ping<R: Runtime>(runtime: R) {
    const PING: Duration = Duration::from_secs(5);
    const IDLE: Duration = Duration::from_secs(12);
    let faults = AmiFaults {
        stall_after: Some(4),
        ..AmiFaults::default()
    };
    let fake = FakeAmi::start_with(
        &login_trace(),
        AmiServeOptions {
            faults,
            ..AmiServeOptions::default()
        },
    )
    .unwrap();
    let time = VirtualTime::new(runtime);
    let manager = login_client(&time, &fake, |c| {
        c.ping_interval = Some(PING);
        c.idle_timeout = IDLE;
    })
    .await;
    let mut states = manager.connection_events();
    let mut seen = Vec::new();
    within(&time, "the fake stalls", fake.stalled().reaches(1)).await;
    // Move the clock to each timer the client sets while the connection
    // is up (the ping, then the idle limit) until it gives up on it.
    let mut moves = 0;
    let backoff = loop {
        let far = time.now() + Duration::from_secs(3600);
        let at = within(&time, "a timer", time.sleeping_until(far)).await;
        while let Ok(s) = states.try_recv() {
            seen.push(s);
        }
        if let Some(until) = seen.iter().find_map(|s| match s {
            ConnectionEvent::Backoff { until, .. } => Some(*until),
            _ => None,
        }) {
            break until;
        }
        time.advance_to(at);
        moves += 1;
        assert!(moves < 10, "no end to the timers: {seen:?}");
    };
    assert!(
        seen.contains(&ConnectionEvent::Closed(CloseReason::Silent)),
        "{seen:?}"
    );
    within(
        &time,
        "the client closes the stalled socket",
        fake.abandoned().reaches(1),
    )
    .await;
    time.advance_to(backoff);
    wait_state(&time, &mut states, &mut seen, "the new login", |s| {
        *s == ConnectionEvent::Open { reconnected: true }
    })
    .await;
    let pong = within(&time, "a Ping", manager.send(Action::new("Ping")))
        .await
        .unwrap();
    assert_eq!(pong.response.get("Ping").unwrap(), "Pong");
    the_rest_of_the_login_trace(&manager).await;
    let report = fake.finish();
    assert_eq!((report.stalled, report.abandoned), (1, 1), "{report:?}");
    assert!(report.mismatches.is_empty(), "{report:?}");
    assert_eq!(report.matched, 7, "{report:?}");
}
