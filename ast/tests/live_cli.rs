//! `ast` against a real Asterisk (`live/pbx/start`): skipped, saying so,
//! unless `ASTERISK_LIVE=1`.

mod support;

use live::live;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::{finish, succeeded};

/// `ast` with the live Asterisk's settings and no colours.
fn ast(live: &live::Live, args: &[&str]) -> Command {
    let mut c = support::ast(args);
    support::ari_settings(&mut c, &live.ari_url, "asterisk");
    support::ami_settings(&mut c, &live.ami_addr, "amp111");
    c
}

/// Runs to the end (at most 60 s), output captured.
fn run(c: Command) -> Output {
    support::run_within(c, Duration::from_secs(60))
}

#[test]
fn info_names_the_release() {
    let live = live!();
    let info = succeeded(&run(ast(&live, &["info"])));
    assert!(info.starts_with("Asterisk 22."), "{info}");
    assert!(info.contains(" running\n"), "{info}");
    assert!(info.contains("  typed API   "), "{info}");
    println!("{info}");
}

#[test]
fn call_originates_a_real_call_and_events_show_it() {
    let live = live!();
    let app = live.app("ast-cli");
    let (events, _) = support::events_once_connected(ast(&live, &stasis_events(&app)));
    let id = format!("{app}-out");
    let answer = succeeded(&run(ast(
        &live,
        &[
            "call",
            "channels",
            "originate",
            "endpoint=PJSIP/echo@loop",
            &format!("app={app}"),
            &format!("channelId={id}"),
            "callerId=ast <5550100>",
        ],
    )));
    let channel: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(channel["id"], id.as_str());
    // Once it is up in the application, hang it up.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = succeeded(&run(ast(
            &live,
            &["call", "channels", "get", &format!("channelId={id}")],
        )));
        let got: serde_json::Value = serde_json::from_str(&got).unwrap();
        if got["state"] == "Up" {
            break;
        }
        assert!(Instant::now() < deadline, "the call never came up: {got}");
        std::thread::sleep(Duration::from_millis(200));
    }
    succeeded(&run(ast(
        &live,
        &["call", "channels", "hangup", &format!("channelId={id}")],
    )));
    let shown = succeeded(&finish(events, Duration::from_secs(30)));
    println!("{answer}\n{shown}");
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 2, "{shown}");
    assert!(
        lines[0].contains(" StasisStart ") && lines[0].contains(&id),
        "{shown}"
    );
    assert!(
        lines[1].contains(" StasisEnd ") && lines[1].contains(&id),
        "{shown}"
    );

    let missing = run(ast(
        &live,
        &["call", "channels", "get", "channelId=no-such-channel"],
    ));
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr),
        "ast: Asterisk answered 404: Channel not found\n"
    );
}

#[test]
fn ami_command_action_and_top() {
    let live = live!();
    let version = succeeded(&run(ast(&live, &["ami", "command", "core show version"])));
    assert!(version.starts_with("Asterisk 22."), "{version}");
    let settings = succeeded(&run(ast(&live, &["ami", "action", "CoreSettings"])));
    assert!(settings.contains("AsteriskVersion: 22."), "{settings}");
    let channels = succeeded(&run(ast(&live, &["ami", "action", "CoreShowChannels"])));
    assert!(
        channels.contains("Event: CoreShowChannelsComplete"),
        "{channels}"
    );
    let top = succeeded(&run(ast(&live, &["top", "--once"])));
    assert!(top.starts_with("ast top: "), "{top}");
    let top_ari = succeeded(&run(ast(&live, &["top", "--once", "--ari"])));
    assert!(top_ari.starts_with("ast top: "), "{top_ari}");
    println!("{version}\n{top}\n{top_ari}");
}

#[test]
fn ami_events_asterisk_filters_and_a_refused_filter() {
    let live = live!();
    let tag = live.app("ast-filter");
    let (events, _) = support::once_said(
        ast(
            &live,
            &[
                "ami",
                "events",
                "--filter",
                &format!("UserEvent: {tag}-(wanted|also)"),
                "--count",
                "2",
            ],
        ),
        "logged in to ",
    );
    let mut ami = live.ami();
    for which in ["skipped", "wanted", "other", "also"] {
        ami.action("UserEvent", &[("UserEvent", &format!("{tag}-{which}"))])
            .expect("UserEvent");
    }
    let shown = succeeded(&finish(events, Duration::from_secs(30)));
    println!("{shown}");
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 2, "{shown}");
    assert!(lines[0].contains(&format!("{tag}-wanted")), "{shown}");
    assert!(lines[1].contains(&format!("{tag}-also")), "{shown}");

    let refused = run(ast(&live, &["ami", "events", "--filter", "(unclosed"]));
    assert_eq!(refused.status.code(), Some(1));
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("ast: Asterisk refused --filter \"(unclosed\": "),
        "{why}"
    );
}

/// `ast events APP` until two StasisStart or StasisEnd.
fn stasis_events(app: &str) -> [&str; 6] {
    [
        "events",
        app,
        "--type",
        "StasisStart,StasisEnd",
        "--count",
        "2",
    ]
}

// `ast record` against the real Asterisk: an ARI session, AMI sessions and
// a FastAGI call recorded through the proxy, each capture then checked and
// played back by `ast serve` (or `ast agi replay`) to the same client.

/// A scratch file for this test process.
fn scratch(name: &str) -> std::path::PathBuf {
    support::scratch_dir("ast-live").join(name)
}

/// A background `ast` whose second line of output says where it is
/// (`ARI_URL=...`, `AMI_URL=...`, `AGI(agi://...)`): the process, that
/// address and the rest of its output.
fn announced(c: Command) -> (Child, String, BufReader<ChildStdout>) {
    let (child, lines, out) = support::announced(c, Stdio::inherit(), 2);
    let address = lines[1]
        .trim_end()
        .trim_start_matches("AGI(agi://")
        .trim_end_matches("/...)")
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .rsplit('=')
        .next()
        .unwrap()
        .to_string();
    (child, address, out)
}

/// Waits (at most 60 s) for a background `ast` to end well: the rest of
/// its output.
fn ended(child: Child, mut out: BufReader<ChildStdout>) -> String {
    let done = finish(child, Duration::from_secs(60));
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(done.status.success(), "{rest}");
    rest
}

/// `ast events APP` (StasisStart and StasisEnd, two of them) with `ast
/// call`s that originate a call, hang it up once it is in the application:
/// the two lines shown.
fn ari_call(live: &live::Live, url: &str, app: &str) -> String {
    let id = format!("{app}-out");
    let with = |args: &[&str]| {
        let mut c = ast(live, args);
        c.env("ARI_URL", url);
        c
    };
    let (mut events, _) = support::events_once_connected(with(&stasis_events(app)));
    let mut shown = BufReader::new(events.stdout.take().unwrap());
    succeeded(&run(with(&[
        "call",
        "channels",
        "originate",
        "endpoint=PJSIP/echo@loop",
        &format!("app={app}"),
        &format!("channelId={id}"),
    ])));
    let mut lines = String::new();
    shown.read_line(&mut lines).unwrap();
    assert!(lines.contains(" StasisStart "), "{lines}");
    succeeded(&run(with(&[
        "call",
        "channels",
        "hangup",
        &format!("channelId={id}"),
    ])));
    shown.read_to_string(&mut lines).unwrap();
    assert!(finish(events, Duration::from_secs(30)).status.success());
    // The times differ between runs; the rest must not.
    lines
        .lines()
        .map(|l| l.split_once(' ').map_or(l, |(_, rest)| rest))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts a capture's meta line names Asterisk 22.
fn assert_recorded_from_22(meta: &serde_json::Value) {
    assert!(
        meta["asterisk_version"]
            .as_str()
            .unwrap()
            .starts_with("22."),
        "{meta}"
    );
}

fn meta(file: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(file).unwrap();
    for line in text.lines() {
        let _: serde_json::Value = serde_json::from_str(line).unwrap();
    }
    serde_json::from_str(text.lines().next().unwrap()).unwrap()
}

fn check(live: &live::Live, file: &std::path::Path) {
    let checked = succeeded(&run(ast(live, &["check", file.to_str().unwrap()])));
    assert!(checked.starts_with("ok   "), "{checked}");
}

#[test]
fn record_an_ari_session_then_check_and_serve_it() {
    let live = live!();
    let app = live.app("ast-rec");
    let file = scratch("ari.jsonl");
    let (record, via, record_out) = announced(ast(
        &live,
        &[
            "record",
            "ari",
            "--to",
            &live.ari_url,
            "--out",
            file.to_str().unwrap(),
            "--once",
        ],
    ));
    let shown = ari_call(&live, &via, &app);
    let said = ended(record, record_out);
    println!("{said}");
    assert!(said.contains("; Asterisk 22."), "{said}");
    let meta = meta(&file);
    assert_recorded_from_22(&meta);
    assert!(!meta["ari_version"].as_str().unwrap().is_empty(), "{meta}");
    assert_eq!(meta["apps"], serde_json::json!([app]));
    assert_eq!(
        meta["client_ids"],
        serde_json::json!([format!("{app}-out")])
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("YXN0ZXJpc2s6YXN0ZXJpc2s="));
    check(&live, &file);

    let (serve, url, serve_out) = announced(ast(&live, &["serve", file.to_str().unwrap()]));
    assert_eq!(ari_call(&live, &url, &app), shown);
    let served = ended(serve, serve_out);
    assert!(served.contains("trace played: true; 3 answers"), "{served}");
    assert!(!served.contains("mismatch"), "{served}");
}

#[test]
fn record_ami_sessions_then_check_and_serve_them() {
    let live = live!();
    for (auth, args) in [
        ("md5", &["ami", "action", "CoreSettings"][..]),
        ("plain", &["ami", "command", "core show version"]),
    ] {
        let file = scratch(&format!("ami-{auth}.jsonl"));
        let (record, via, record_out) = announced(ast(
            &live,
            &[
                "record",
                "ami",
                "--to",
                &live.ami_addr,
                "--out",
                file.to_str().unwrap(),
                "--once",
            ],
        ));
        let client = |address: &str| {
            let mut c = ast(&live, args);
            c.env("AMI_URL", address).env("AMI_AUTH", auth);
            succeeded(&run(c))
        };
        let answer = client(&via);
        let said = ended(record, record_out);
        println!("{said}");
        let meta = meta(&file);
        assert_recorded_from_22(&meta);
        assert_eq!(meta["ami_version"], "11.0.0");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains("amp111"), "{auth}");
        let redacted = if auth == "md5" { "Key" } else { "Secret" };
        assert!(
            text.contains(&format!(r"\r\n{redacted}: <redacted>\r\n")),
            "{text}"
        );
        check(&live, &file);

        let (serve, address, serve_out) = announced(ast(&live, &["serve", file.to_str().unwrap()]));
        let again = client(&address);
        let no_ids = |s: &str| {
            s.lines()
                .filter(|l| !l.starts_with("ActionID: "))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(no_ids(&again), no_ids(&answer));
        let served = ended(serve, serve_out);
        assert!(served.contains("trace played: true; "), "{served}");
    }
}

#[test]
fn record_a_fastagi_call_then_check_and_replay_it() {
    let live = live!();
    let script = scratch("call.agi");
    std::fs::write(
        &script,
        "ANSWER\nSTREAM FILE beep \"\"\nGET VARIABLE CHANNEL(state)\nHANGUP\n",
    )
    .unwrap();
    let server = support::free_local_address();
    // It listens once it has said so (one line); its output stays open
    // so that what it prints later does not fail.
    let (serving, banner, _serving_out) = support::announced(
        ast(
            &live,
            &[
                "agi",
                "serve",
                "--listen",
                &server,
                "--script",
                script.to_str().unwrap(),
            ],
        ),
        Stdio::null(),
        1,
    );
    let _serving = support::Stopped(serving);
    assert!(banner[0].starts_with("FastAGI server on"), "{}", banner[0]);
    let file = scratch("agi.jsonl");
    let (record, via, record_out) = announced(ast(
        &live,
        &[
            "record",
            "agi",
            "--listen",
            "127.0.0.1:0",
            "--to",
            &server,
            "--out",
            file.to_str().unwrap(),
            "--once",
        ],
    ));
    let recorder_port = via.rsplit(':').next().unwrap();
    succeeded(&run(ast(
        &live,
        &[
            "ami",
            "action",
            "Originate",
            &format!("Channel=PJSIP/agi-port-{recorder_port}@loop"),
            "Application=Wait",
            "Data=30",
            "Async=true",
        ],
    )));
    let said = ended(record, record_out);
    println!("{said}");
    assert!(said.contains("a1: ended, 4 commands"), "{said}");
    let meta = meta(&file);
    assert_eq!(meta["protocol"], "fastagi");
    assert_recorded_from_22(&meta);
    check(&live, &file);
    let replayed = succeeded(&run(ast(
        &live,
        &["agi", "replay", file.to_str().unwrap(), "--to", &server],
    )));
    assert!(replayed.contains("4/4 commands matched"), "{replayed}");
}

/// What the committed outbound trace says it shows.
const OWS_DESCRIPTION: &str = "An outbound WebSocket: a real SIP loop call into extension ows enters Stasis(ows-app), and Asterisk connects to the application at ws://127.0.0.1:8765/ari (per-call connection, subprotocol ari, Basic credentials ows/ows-secret). Over that one socket: ApplicationRegistered, StasisStart, then the application's REST requests as RESTRequest frames (the version probe GET asterisk/info, answer, play sound:hello-world with a playback id of its own), the playback's events, a DTMF 5 the caller presses after the prompt, the hangup (DELETE channels/ID), StasisEnd, and Asterisk closing the connection. Recorded by ast/tests/live_cli.rs through `ast record ari --outbound` (with RECORD_OWS=FILE).";

/// A real call into `ows`: Asterisk connects to `ast record ari
/// --outbound` on its port, which passes the connection to our outbound
/// server; the capture is checked and played back to the same server. With
/// `RECORD_OWS=FILE` it is copied there (how
/// `conformance/traces/outbound-websocket.jsonl` is made).
#[test]
fn record_a_real_outbound_websocket_call_then_check_and_serve_it() {
    use live::ows;
    let live = live!();
    let file = scratch("ows.jsonl");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (tx, steps) = ows::steps();
        let server = ari_tokio::outbound::serve_calls(
            "127.0.0.1:0".parse().unwrap(),
            ows::server_config("ows-secret"),
            move |call| ows::handle(call, tx.clone()),
        )
        .unwrap();
        let app = server.address().to_string();
        let to = format!("ws://{app}");
        let recording = ast(
            &live,
            &[
                "record",
                "ari",
                "--outbound",
                "--once",
                "--listen",
                ows::ADDRESS,
                "--to",
                &to,
                "--out",
                file.to_str().unwrap(),
                "--scenario",
                "outbound-websocket",
                "--description",
                OWS_DESCRIPTION,
            ],
        );
        let (record, _, record_out) = support::announced(recording, Stdio::inherit(), 1);
        let caller = ari_tokio::connect(live.config(&live.app("owscaller")))
            .await
            .unwrap();
        ows::calls_through(&live, caller, steps, 1).await;
        // Asterisk closes the per-call connection a few seconds after the call.
        let said = tokio::task::spawn_blocking(move || ended(record, record_out))
            .await
            .unwrap();
        println!("{said}");
        let meta = meta(&file);
        assert_recorded_from_22(&meta);
        assert_eq!(meta["direction"], "outbound");
        assert_eq!(meta["apps"], serde_json::json!(["ows-app"]));
        let text = std::fs::read_to_string(&file).unwrap();
        for seen in [
            "ApplicationRegistered",
            "StasisStart",
            "RESTRequest",
            "StasisEnd",
        ] {
            assert!(text.contains(seen), "no {seen} in the capture");
        }
        // The Authorization header (Basic ows:ows-secret) is not written.
        assert!(!text.contains("b3dzOm93cy1zZWNyZXQ="));
        check(&live, &file);

        let trace = file.to_str().unwrap().to_string();
        let played = tokio::task::spawn_blocking(move || {
            support::serve_outbound(&trace, &app, "ows-secret")
        })
        .await
        .unwrap();
        let played = succeeded(&played);
        assert!(played.ends_with("4 requests matched\n"), "{played}");
        if let Ok(keep) = std::env::var("RECORD_OWS") {
            std::fs::copy(&file, keep).unwrap();
        }
    });
}
