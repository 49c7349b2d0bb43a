//! Outbound WebSockets against the real Asterisk: a call into extension
//! `ows` enters `Stasis(ows-app)`, and Asterisk connects to our server at
//! `127.0.0.1:8765` (per call, user `ows`, password `ows-secret`). The
//! handler answers, plays `hello-world`, waits for a key the caller presses
//! and hangs up, every request travelling over Asterisk's own socket. A
//! caller app (an ordinary client) originates the calls and presses keys
//! (`live::ows`). `ast`'s live tests record such a call with
//! `ast record ari --outbound`.

use ari_proto::Event;
use futures_channel::mpsc;
use live::live;
use live::ows::{ADDRESS, bind, calls_through, handle, server_config, wait_closed};
use std::sync::Mutex;

/// Calls in flight at once, each on its own connection from Asterisk.
const CALLS: usize = 20;

/// One server on the fixed port at a time.
static PORT: Mutex<()> = Mutex::new(());

#[test]
fn outbound_calls_on_tokio() {
    let live = live!();
    let _one = PORT.lock().unwrap_or_else(|e| e.into_inner());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (tx, steps) = mpsc::unbounded();
        let server = bind(|| {
            let tx = tx.clone();
            ari_tokio::outbound::serve_calls(
                ADDRESS.parse().unwrap(),
                server_config("ows-secret"),
                move |call| handle(call, tx.clone()),
            )
        })
        .await;
        let caller = ari_tokio::connect(live.config(&live.app("owscaller")))
            .await
            .unwrap();
        calls_through(&live, caller, steps, CALLS).await;
        wait_closed(|| server.open_connections()).await;
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
