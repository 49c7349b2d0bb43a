//! `ast serve` of an outbound-WebSocket trace: the fake Asterisk connects
//! to an application's outbound server and plays the recorded call.

mod support;

use ari_tokio::{Config, Digits, IncomingCall, outbound};
use support::ast;

fn trace() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../conformance/traces/outbound-websocket.jsonl"
    )
    .to_string()
}

/// What the recorded application did: answer, hello-world, one key, hang up.
async fn greet(mut call: IncomingCall) {
    let _ = call.channel.answer().await;
    let id = format!("{}-hello", call.channel.channel_id());
    if let Ok(mut playback) = call
        .channel
        .play_with_id(id, ["sound:hello-world"])
        .start()
        .await
    {
        playback.events.finished().await;
    }
    let _ = call.collect_dtmf(&Digits::up_to(1)).await;
    let _ = call.channel.hangup().await;
}

fn ast_serve(to: &str, password: &str) -> std::process::Output {
    ast(&[
        "serve",
        &trace(),
        "--to",
        to,
        "--user",
        "ows",
        "--password",
        password,
    ])
    .output()
    .unwrap()
}

#[tokio::test]
async fn the_recorded_call_is_played_against_an_outbound_server() {
    let config = Config::new("http://unused", "ows-app", "ows", "ows-secret").unwrap();
    let server = outbound::serve_calls("127.0.0.1:0".parse().unwrap(), config, greet).unwrap();
    let to = server.address().to_string();

    let played = tokio::task::spawn_blocking({
        let to = to.clone();
        move || ast_serve(&to, "ows-secret")
    })
    .await
    .unwrap();
    let stdout = support::stdout(&played);
    assert!(
        played.status.success(),
        "{stdout}{}",
        support::stderr(&played)
    );
    assert_eq!(stdout.trim(), "ws1: 17 frames sent, 4 requests matched");

    let refused = tokio::task::spawn_blocking(move || ast_serve(&to, "wrong"))
        .await
        .unwrap();
    let stdout = support::stdout(&refused);
    assert_eq!(refused.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("the upgrade failed") && stdout.contains("401"),
        "{stdout}"
    );
}

#[test]
fn an_outbound_trace_needs_to() {
    let out = ast(&["serve", &trace()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = support::stderr(&out);
    assert!(err.contains("--to HOST:PORT"), "{err}");
}
