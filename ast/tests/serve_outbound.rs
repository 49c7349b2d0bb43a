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

/// `ast record ari --outbound` between the fake Asterisk and the
/// application records the same conversation again: Asterisk's frames as
/// `ws_recv`, the application's requests as `ws_send`, the meta saying
/// `direction: outbound`; the new trace checks and plays like the first.
#[tokio::test]
async fn an_outbound_session_is_recorded_again() {
    use std::io::BufRead;
    let config = Config::new("http://unused", "ows-app", "ows", "ows-secret").unwrap();
    let server = outbound::serve_calls("127.0.0.1:0".parse().unwrap(), config, greet).unwrap();
    let app = server.address().to_string();
    let dir = tempdir();
    let out = format!("{dir}/again.jsonl");
    let mut recorder = Command::new(AST)
        .args(["record", "ari", "--outbound", "--once", "--out", &out])
        .args(["--to", &format!("ws://{app}")])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(recorder.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let listening = first
        .strip_prefix("recording outbound WebSockets on ws://")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();

    let played = tokio::task::spawn_blocking(move || ast_serve(&listening, "ows-secret"))
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&played.stdout);
    assert!(played.status.success(), "{stdout}");
    assert_eq!(stdout.trim(), "ws1: 17 frames sent, 4 requests matched");
    let rest: Vec<String> = tokio::task::spawn_blocking(move || {
        let rest = lines.map_while(Result::ok).collect();
        assert!(recorder.wait().unwrap().success());
        rest
    })
    .await
    .unwrap();
    assert!(
        rest.last().is_some_and(|l| l.starts_with("stopped")),
        "{rest:?}"
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

    let checked = Command::new(AST).args(["check", &out]).output().unwrap();
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stdout)
    );
    let replayed = tokio::task::spawn_blocking(move || {
        Command::new(AST)
            .args([
                "serve",
                &out,
                "--to",
                &app,
                "--user",
                "ows",
                "--password",
                "ows-secret",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&replayed.stdout).trim(),
        "ws1: 17 frames sent, 4 requests matched"
    );
}

/// A fresh directory under the system's temporary one.
fn tempdir() -> String {
    let dir = std::env::temp_dir().join(format!(
        "ast-record-outbound-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.to_string_lossy().into_owned()
}
