//! Outbound WebSocket on smol: Asterisk connects to the application
//! (`type = outbound_websocket` in `ari.conf`), one connection per call,
//! and every request goes back over that socket. Each call is answered,
//! hears `hello-world`, and is hung up after the caller presses a key.
//!
//! `cargo run -p ari-smol --example smol_outbound_websocket` needs no PBX: a
//! fake Asterisk connects and plays a recorded call
//! (`conformance/traces/outbound-websocket.jsonl`). With
//! `OWS_LISTEN=127.0.0.1:8765` it serves a real Asterisk's calls instead
//! (the shared one's extension `ows`) until stopped.

use ari_smol::{Config, Digits, IncomingCall, RequestError, outbound};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    smol::block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // The app named in ari.conf; the credentials of websocket_client.conf.
    let config = Config::new("http://unused", "ows-app", "ows", "ows-secret")?;
    let serve = |call| async move {
        if let Err(e) = greet(call).await {
            eprintln!("the call failed: {e}");
        }
    };
    if let Ok(address) = std::env::var("OWS_LISTEN") {
        let _server = outbound::serve_calls(address.parse()?, config.clone(), serve)?;
        println!("waiting for Asterisk on {address}");
        std::future::pending::<()>().await;
    }
    let server = outbound::serve_calls("127.0.0.1:0".parse()?, config, serve)?;
    testkit::demo::play_outbound_call(server.address(), |line| println!("{line}")).await?;
    Ok(())
}

/// One call: answer, greet, wait for a key, hang up. (Public so that the
/// tests run this very code.)
pub async fn greet(mut call: IncomingCall) -> Result<(), RequestError> {
    call.channel.answer().await?;
    println!("call {} answered", call.channel.channel_id());
    let id = format!("{}-hello", call.channel.channel_id());
    let mut playback = call
        .channel
        .play_with_id(id, ["sound:hello-world"])
        .start()
        .await?;
    playback.events.finished().await;
    match call.collect_dtmf(&Digits::up_to(1)).await {
        Ok(key) => println!("key {key} pressed"),
        Err(stop) => println!("no key: {stop:?}"),
    }
    call.channel.hangup().await
}
