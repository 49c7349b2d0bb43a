//! The quickstart examples against the real Asterisk, their very code: a
//! real SIP call from Asterisk to itself enters Stasis app `hello`, is
//! answered and hears `hello-world`; the calling leg presses 1 (the app
//! plays the digit back) and then # (the app says goodbye and hangs up).

use futures_util::future::{Either, select};
use live::{Live, check_all, live};
use std::pin::pin;
use std::sync::Mutex;
use testkit::demo::call_in;

#[path = "../../ari-tokio/examples/hello_world.rs"]
#[allow(dead_code)]
mod tokio_example;

#[path = "../../ari-smol/examples/smol_hello_world.rs"]
#[allow(dead_code)]
mod smol_example;

/// Both tests register app `hello` (the dialplan's `hello` extension sends
/// the inbound leg there) and use the same caller id: one at a time, each
/// after Asterisk has ended the other's WebSocket session.
static HELLO_APP: Mutex<()> = Mutex::new(());

/// Takes app `hello` for one test.
fn take_hello(live: &Live) -> std::sync::MutexGuard<'static, ()> {
    let one = HELLO_APP.lock().unwrap_or_else(|e| e.into_inner());
    live.wait_until_no_session_holds("hello");
    one
}

/// What the call must show, in this order.
const FLOW: &[&str] = &[
    "caller: dialing PJSIP/hello@loop",
    "app: call from 5551234",
    "app: playing sound:hello-world",
    "caller: pressing 1",
    "app: key 1 pressed",
    "app: playing sound:digits/1",
    "caller: pressing #",
    "app: key # pressed",
    "app: playing sound:vm-goodbye",
];

fn assert_flow(log: &[String]) {
    let mut at = 0;
    for step in FLOW {
        match log[at..].iter().position(|l| l.starts_with(step)) {
            Some(i) => at += i + 1,
            None => panic!(
                "missing {step:?} after line {at} of the call:\n{}",
                log.join("\n")
            ),
        }
    }
    let left = log.iter().filter(|l| l.ends_with("left the app")).count();
    assert_eq!(left, 2, "both legs leave the app:\n{}", log.join("\n"));
}

/// Calls in and follows the call, every event checked strictly.
async fn call(client: &ari_client::Client) -> Vec<String> {
    let mut log = Vec::new();
    {
        let caller = pin!(call_in(client, |line| log.push(line)));
        let checked = pin!(check_all(client.events()));
        match select(caller, checked).await {
            Either::Left((outcome, _)) => outcome.expect("the call completes"),
            Either::Right(_) => panic!("the event stream ended during the call"),
        }
    }
    client.close().await;
    log
}

#[test]
fn quickstart_on_tokio() {
    let live: Live = live!();
    let _one = take_hello(&live);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let log = runtime.block_on(async {
        let client = ari_tokio::connect(live.config("hello"))
            .await
            .expect("connect");
        client.serve_calls(|c| async move { tokio_example::hello(c).await.expect("the app") });
        call(&client).await
    });
    assert_flow(&log);
}

#[test]
fn quickstart_on_smol() {
    let live: Live = live!();
    let _one = take_hello(&live);
    let log = smol::block_on(async {
        let client = ari_smol::connect(live.config("hello"))
            .await
            .expect("connect");
        client.serve_calls(|c| async move { smol_example::hello(c).await.expect("the app") });
        call(&client).await
    });
    assert_flow(&log);
}
