//! Outbound WebSockets against the real Asterisk: a call into extension
//! `ows` enters `Stasis(ows-app)`, and Asterisk connects to our server at
//! `127.0.0.1:8765` (per call, user `ows`, password `ows-secret`). The
//! handler answers, plays `hello-world`, waits for a key the caller presses
//! and hangs up, every request travelling over Asterisk's own socket. A
//! caller app (an ordinary client) originates the calls and presses keys.

use ari_client::{Client, Digits, IncomingCall};
use ari_proto::RequestError;
use ari_proto::{Config, Event};
use futures_channel::mpsc;
use futures_util::StreamExt;
use live::{Live, live};
use std::sync::Mutex;
use std::time::Duration;

/// Where `websocket_client.conf` sends Asterisk.
const ADDRESS: &str = "127.0.0.1:8765";
const CALLS: usize = 3;

/// One server on the fixed port at a time.
static PORT: Mutex<()> = Mutex::new(());

fn server_config(password: &str) -> Config {
    Config::new("http://unused", "ows-app", "ows", password).unwrap()
}

/// What a call reports to the test, tagged with its caller number.
#[derive(Debug)]
enum Step {
    Prompted(String),
    Pressed(String, String),
    Done(String, Result<(), String>),
}

/// The application's side of one call.
async fn handle(mut call: IncomingCall, steps: mpsc::UnboundedSender<Step>) {
    let number = match &*call.start {
        Event::StasisStart(s) => s.channel.caller.number.to_string(),
        _ => String::new(),
    };
    let outcome = async {
        call.channel.answer().await?;
        let id = format!("{}-hello", call.channel.channel_id());
        let mut playback = call
            .channel
            .play_with_id(id, ["sound:hello-world"])
            .start()
            .await?;
        playback.events.finished().await;
        let _ = steps.unbounded_send(Step::Prompted(number.clone()));
        let key = call
            .collect_dtmf(&Digits::up_to(1))
            .await
            .map_err(|e| RequestError::Invalid(format!("no key: {e:?}")))?;
        let _ = steps.unbounded_send(Step::Pressed(number.clone(), key));
        call.channel.hangup().await
    }
    .await;
    let _ = steps.unbounded_send(Step::Done(number, outcome.map_err(|e| e.to_string())));
}

/// Dials `CALLS` calls into `ows` at once from a caller app, presses 5 on
/// each once its prompt played, and checks that each was answered, heard
/// its key and was hung up by the application.
async fn calls_through(
    live: &Live,
    caller: Client,
    mut steps: mpsc::UnboundedReceiver<Step>,
    calls: usize,
) {
    let app = caller.config().apps[0].clone();
    let legs: Vec<(String, String)> = (0..calls)
        .map(|i| (format!("{app}-leg{i}"), format!("55501{i:02}")))
        .collect();
    for (leg, number) in &legs {
        caller
            .channels()
            .originate("PJSIP/ows@loop")
            .with(|o| {
                o.app(&app)
                    .app_args("caller")
                    .channel_id(leg)
                    .caller_id(format!("Outbound <{number}>"))
            })
            .await
            .expect("originate");
    }
    let mut done = Vec::new();
    while done.len() < calls {
        let step = steps.next().await.expect("the handlers report");
        match step {
            Step::Prompted(number) => {
                let (leg, _) = legs.iter().find(|(_, n)| *n == number).expect("our caller");
                caller
                    .channel(leg)
                    .send_dtmf()
                    .with(|d| d.dtmf("5"))
                    .await
                    .expect("DTMF");
            }
            Step::Pressed(number, key) => assert_eq!(key, "5", "call {number}"),
            Step::Done(number, outcome) => {
                assert_eq!(outcome, Ok(()), "call {number}");
                done.push(number);
            }
        }
    }
    done.sort();
    let mut numbers: Vec<_> = legs.into_iter().map(|(_, n)| n).collect();
    numbers.sort();
    assert_eq!(done, numbers);
    let _ = live;
    caller.close().await;
}

/// With `RECORD_OWS=FILE`, one call goes through a recording proxy on
/// Asterisk's port and is written as a trace (how
/// `conformance/traces/outbound-websocket.jsonl` was made).
#[test]
fn outbound_calls_on_tokio() {
    let live = live!();
    let _one = PORT.lock().unwrap_or_else(|e| e.into_inner());
    let record = std::env::var("RECORD_OWS").ok();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (tx, steps) = mpsc::unbounded();
        let address = if record.is_some() {
            "127.0.0.1:0"
        } else {
            ADDRESS
        };
        let server = bind(|| {
            let tx = tx.clone();
            ari_tokio::outbound::serve_calls(
                address.parse().unwrap(),
                server_config("ows-secret"),
                move |call| handle(call, tx.clone()),
            )
        })
        .await;
        let recorder =
            record.map(|file| live::ows_recorder::Recorder::start(ADDRESS, server.address(), file));
        let caller = ari_tokio::connect(live.config(&live.app("owscaller")))
            .await
            .unwrap();
        let calls = if recorder.is_some() { 1 } else { CALLS };
        calls_through(&live, caller, steps, calls).await;
        wait_closed(|| server.open_connections()).await;
        if let Some(recorder) = recorder {
            recorder.finish();
        }
    });
}

#[test]
fn outbound_calls_on_smol() {
    let live = live!();
    let _one = PORT.lock().unwrap_or_else(|e| e.into_inner());
    smol::block_on(async {
        let (tx, steps) = mpsc::unbounded();
        let server = bind(|| {
            let tx = tx.clone();
            ari_smol::outbound::serve_calls(
                ADDRESS.parse().unwrap(),
                server_config("ows-secret"),
                move |call| handle(call, tx.clone()),
            )
        })
        .await;
        let caller = ari_smol::connect(live.config(&live.app("owscaller")))
            .await
            .unwrap();
        calls_through(&live, caller, steps, CALLS).await;
        wait_closed(|| server.open_connections()).await;
    });
}

/// A server expecting another password refuses Asterisk (401): the
/// application never sees a connection, and the call cannot enter Stasis.
#[test]
fn asterisk_with_other_credentials_is_refused() {
    let live = live!();
    let _one = PORT.lock().unwrap_or_else(|e| e.into_inner());
    smol::block_on(async {
        let (seen_tx, mut seen) = mpsc::unbounded::<()>();
        let _server = bind(|| {
            let seen_tx = seen_tx.clone();
            ari_smol::outbound::listen(
                ADDRESS.parse().unwrap(),
                server_config("not-the-secret"),
                move |_client| {
                    let _ = seen_tx.unbounded_send(());
                },
            )
        })
        .await;
        let app = live.app("owscaller");
        let caller = ari_smol::connect(live.config(&app)).await.unwrap();
        let mut events = caller.events();
        let leg = format!("{app}-refused");
        caller
            .channels()
            .originate("PJSIP/ows@loop")
            .with(|o| o.app(&app).app_args("caller").channel_id(&leg))
            .await
            .expect("originate");
        // The far leg fails to enter Stasis and hangs up: so does ours.
        live::wait_for(
            &mut events,
            "our leg hung up",
            |e| matches!(e, Event::ChannelDestroyed(d) if d.channel.id == leg.as_str()),
        )
        .await;
        assert!(
            seen.try_recv().is_err(),
            "a refused connection reached the app"
        );
        caller.close().await;
    });
}

/// Listens on the fixed port; the previous test's server lets go of it
/// only when its accept task next runs.
async fn bind<S>(listen: impl Fn() -> std::io::Result<S>) -> S {
    for _ in 0..100 {
        match listen() {
            Ok(server) => return server,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                async_sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("listen on {ADDRESS}: {e}"),
        }
    }
    panic!("{ADDRESS} stayed in use");
}

/// Asterisk closes each per-call connection after its call.
async fn wait_closed(open: impl Fn() -> usize) {
    for _ in 0..200 {
        if open() == 0 {
            return;
        }
        async_sleep(Duration::from_millis(50)).await;
    }
    panic!("{} outbound connections still open", open());
}

async fn async_sleep(d: Duration) {
    let (tx, rx) = futures_channel::oneshot::channel::<()>();
    std::thread::spawn(move || {
        std::thread::sleep(d);
        let _ = tx.send(());
    });
    let _ = rx.await;
}
