//! The asyncari quickstart against the real Asterisk, on both adapters: a
//! real SIP call from Asterisk to itself enters Stasis app `hello`, is
//! answered and hears `hello-world`; the calling leg presses 1 (the app plays
//! the digit back) and then # (the app says goodbye and hangs up).

use futures_util::future::{Either, select};
use live::{Live, check_all, live};
use std::pin::pin;
use std::sync::Mutex;

/// Both tests register app `hello` (the dialplan's `hello` extension sends
/// the inbound leg there) and use the same caller id: one at a time.
static HELLO_APP: Mutex<()> = Mutex::new(());

/// What the quickstart must report, in this order, for the whole call.
const FLOW: &[&str] = &[
    "caller: dialing PJSIP/hello@loop",
    "app: call from 5551234",
    "app: playing sound:hello-world",
    "caller: pressing 1",
    "app: key 1 pressed",
    "caller: pressing #",
    "app: key # pressed",
    "app: goodbye, hanging up",
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

async fn quickstart(client: ari_client::Client) -> Vec<String> {
    let mut log = Vec::new();
    {
        let flow = pin!(conformance::demo::quickstart(&client, true, |line| log.push(line)));
        let checked = pin!(check_all(client.events()));
        match select(flow, checked).await {
            Either::Left((outcome, _)) => outcome.expect("the quickstart completes"),
            Either::Right(_) => panic!("the event stream ended during the call"),
        }
    }
    client.close().await;
    log
}

#[test]
fn quickstart_on_tokio() {
    let live = live!();
    let _one = HELLO_APP.lock().unwrap_or_else(|e| e.into_inner());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let log = runtime.block_on(async {
        let client = ari_tokio::connect(live.config("hello"))
            .await
            .expect("connect");
        quickstart(client).await
    });
    assert_flow(&log);
}

#[test]
fn quickstart_on_smol() {
    let live: Live = live!();
    let _one = HELLO_APP.lock().unwrap_or_else(|e| e.into_inner());
    let log = smol::block_on(async {
        let client = ari_smol::connect(live.config("hello"))
            .await
            .expect("connect");
        quickstart(client).await
    });
    assert_flow(&log);
}
