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
    support::serve_outbound(&trace(), to, password)
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

/// `ast record ari --outbound` between the fake Asterisk and the
/// application records the same conversation again: Asterisk's frames as
/// `ws_recv`, the application's requests as `ws_send`, the meta saying
/// `direction: outbound`; the new trace checks and plays like the first.
#[tokio::test]
async fn an_outbound_session_is_recorded_again() {
    use std::time::Duration;
    let config = Config::new("http://unused", "ows-app", "ows", "ows-secret").unwrap();
    let server = outbound::serve_calls("127.0.0.1:0".parse().unwrap(), config, greet).unwrap();
    let app = server.address().to_string();
    let out = support::scratch_dir("ast-record-outbound").join("again.jsonl");
    let out = out.to_string_lossy().into_owned();
    let to = format!("ws://{app}");
    let recording = ast(&[
        "record",
        "ari",
        "--outbound",
        "--once",
        "--out",
        &out,
        "--to",
        &to,
    ]);
    let (recorder, first, rest) = support::announced(recording, std::process::Stdio::null(), 1);
    let listening = first[0]
        .strip_prefix("recording outbound WebSockets on ws://")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{first:?}"))
        .to_string();

    let played = tokio::task::spawn_blocking(move || ast_serve(&listening, "ows-secret"))
        .await
        .unwrap();
    assert_eq!(
        support::succeeded(&played).trim(),
        "ws1: 17 frames sent, 4 requests matched"
    );
    let printed = tokio::task::spawn_blocking(move || {
        let mut printed = String::new();
        std::io::Read::read_to_string(&mut { rest }, &mut printed).unwrap();
        support::expect(&support::finish(recorder, Duration::from_secs(30)), 0);
        printed
    })
    .await
    .unwrap();
    assert!(
        printed
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("stopped")),
        "{printed}"
    );

    let records = |file: &str| -> Vec<serde_json::Value> {
        std::fs::read_to_string(file)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let texts = |records: &[serde_json::Value], kind: &str| -> Vec<serde_json::Value> {
        records
            .iter()
            .filter(|r| r["kind"] == kind)
            .map(|r| serde_json::from_str(r["text"].as_str().unwrap()).unwrap())
            .collect()
    };
    let (original, again) = (records(&trace()), records(&out));
    assert_eq!(again[0]["direction"], "outbound");
    assert_eq!(again[0]["apps"], serde_json::json!(["ows-app"]));
    // Compared as JSON: the fake Asterisk writes its RESTResponses anew.
    assert_eq!(texts(&again, "ws_recv"), texts(&original, "ws_recv"));
    let requests = |records: &[serde_json::Value]| -> Vec<String> {
        texts(records, "ws_send")
            .iter()
            .map(|r| format!("{} {}", r["method"], r["uri"]))
            .collect()
    };
    assert_eq!(requests(&again), requests(&original));
    let closes: Vec<_> = again.iter().filter(|r| r["kind"] == "ws_close").collect();
    assert_eq!(closes.len(), 1, "{closes:?}");
    assert_eq!(closes[0]["by"], "server", "Asterisk's side closed");
    assert!(again.iter().all(|r| !r.to_string().contains("ows-secret")));

    support::succeeded(&ast(&["check", &out]).output().unwrap());
    let replayed =
        tokio::task::spawn_blocking(move || support::serve_outbound(&out, &app, "ows-secret"))
            .await
            .unwrap();
    assert_eq!(
        support::succeeded(&replayed).trim(),
        "ws1: 17 frames sent, 4 requests matched"
    );
}
