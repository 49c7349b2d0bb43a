//! The `ows` call flow the outbound-WebSocket tests share: Asterisk's
//! connection to the application's server, the application's side of a
//! call (answer, `hello-world`, one key, hang up, every request over
//! Asterisk's own socket) and a caller app that dials and presses the key.

use crate::Live;
use ari_client::{Client, Digits, IncomingCall};
use ari_proto::{Config, RequestError};
use futures_channel::mpsc;
use futures_util::StreamExt;
use std::time::Duration;

/// Where `websocket_client.conf` sends Asterisk.
pub const ADDRESS: &str = "127.0.0.1:8765";

/// The channel a call's handler reports its [`Step`]s on.
pub fn steps() -> (mpsc::UnboundedSender<Step>, mpsc::UnboundedReceiver<Step>) {
    mpsc::unbounded()
}

/// The outbound server's settings: app `ows-app`, user `ows`, this password
/// (Asterisk's is `ows-secret`).
pub fn server_config(password: &str) -> Config {
    Config::new("http://unused", "ows-app", "ows", password).unwrap()
}

/// What a call reports to the test, tagged with its caller number.
#[derive(Debug)]
pub enum Step {
    /// The prompt played.
    Prompted(String),
    /// The key the handler collected.
    Pressed(String, String),
    /// The handler ended.
    Done(String, Result<(), String>),
}

/// The application's side of one call.
pub async fn handle(mut call: IncomingCall, steps: mpsc::UnboundedSender<Step>) {
    let number = call.start.channel.caller.number.to_string();
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

/// Dials `calls` calls into `ows` at once from a caller app, presses 5 on
/// each once its prompt played, and checks that each was answered, heard
/// its key and was hung up by the application.
pub async fn calls_through(
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

/// Listens on the fixed port; the previous test's server lets go of it
/// only when its accept task next runs.
pub async fn bind<S>(listen: impl Fn() -> std::io::Result<S>) -> S {
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
pub async fn wait_closed(open: impl Fn() -> usize) {
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
