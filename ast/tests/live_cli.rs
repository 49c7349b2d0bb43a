//! `ast` against a real Asterisk (`live/pbx/start`): skipped, saying so,
//! unless `ASTERISK_LIVE=1`.

use live::live;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `ast` with the live Asterisk's settings and no colours.
fn ast(live: &live::Live, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ast"));
    c.args(args)
        .env("NO_COLOR", "1")
        .env("ARI_URL", &live.ari_url)
        .env("ARI_USER", "asterisk")
        .env("ARI_PASSWORD", "asterisk")
        .env("AMI_URL", &live.ami_addr)
        .env("AMI_USER", "admin")
        .env("AMI_SECRET", "amp111")
        .env_remove("AMI_ADDR")
        .env_remove("AMI_AUTH")
        .env_remove("ARI_APP");
    c
}

fn finish(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "ast ran too long:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn run(mut c: Command) -> Output {
    let child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    finish(child, Duration::from_secs(60))
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn info_names_the_release() {
    let live = live!();
    let info = ok(&run(ast(&live, &["info"])));
    assert!(info.starts_with("Asterisk 22."), "{info}");
    assert!(info.contains(" running\n"), "{info}");
    assert!(info.contains("  typed API   "), "{info}");
    println!("{info}");
}

#[test]
fn call_originates_a_real_call_and_events_show_it() {
    let live = live!();
    let app = live.app("ast-cli");
    let mut events = ast(
        &live,
        &[
            "events",
            &app,
            "--type",
            "StasisStart,StasisEnd",
            "--count",
            "2",
        ],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut err = BufReader::new(events.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.starts_with("connected to "), "{line}");
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = err.read_to_string(&mut rest);
    });
    let id = format!("{app}-out");
    let answer = ok(&run(ast(
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
        let got = ok(&run(ast(
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
    ok(&run(ast(
        &live,
        &["call", "channels", "hangup", &format!("channelId={id}")],
    )));
    let shown = ok(&finish(events, Duration::from_secs(30)));
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
    let version = ok(&run(ast(&live, &["ami", "command", "core show version"])));
    assert!(version.starts_with("Asterisk 22."), "{version}");
    let settings = ok(&run(ast(&live, &["ami", "action", "CoreSettings"])));
    assert!(settings.contains("AsteriskVersion: 22."), "{settings}");
    let channels = ok(&run(ast(&live, &["ami", "action", "CoreShowChannels"])));
    assert!(
        channels.contains("Event: CoreShowChannelsComplete"),
        "{channels}"
    );
    let top = ok(&run(ast(&live, &["top", "--once"])));
    assert!(top.starts_with("ast top: "), "{top}");
    let top_ari = ok(&run(ast(&live, &["top", "--once", "--ari"])));
    assert!(top_ari.starts_with("ast top: "), "{top_ari}");
    println!("{version}\n{top}\n{top_ari}");
}

// `ast record` against the real Asterisk: an ARI session, AMI sessions and
// a FastAGI call recorded through the proxy, each capture then checked and
// played back by `ast serve` (or `ast agi replay`) to the same client.

/// A scratch file for this test process.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ast-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A background `ast` whose second line of output says where it is
/// (`ARI_URL=...`, `AMI_URL=...`, `AGI(agi://...)`): the process, that
/// address and the rest of its output.
fn announced(mut c: Command) -> (Child, String, BufReader<std::process::ChildStdout>) {
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
    let address = line
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
fn ended(child: Child, mut out: BufReader<std::process::ChildStdout>) -> String {
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
    let mut events = with(&[
        "events",
        app,
        "--type",
        "StasisStart,StasisEnd",
        "--count",
        "2",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut err = BufReader::new(events.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.starts_with("connected to "), "{line}");
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = err.read_to_string(&mut rest);
    });
    let mut shown = BufReader::new(events.stdout.take().unwrap());
    ok(&run(with(&[
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
    ok(&run(with(&[
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

fn meta(file: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(file).unwrap();
    for line in text.lines() {
        let _: serde_json::Value = serde_json::from_str(line).unwrap();
    }
    serde_json::from_str(text.lines().next().unwrap()).unwrap()
}

fn check(live: &live::Live, file: &std::path::Path) {
    let checked = ok(&run(ast(live, &["check", file.to_str().unwrap()])));
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
    assert!(
        meta["asterisk_version"]
            .as_str()
            .unwrap()
            .starts_with("22."),
        "{meta}"
    );
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
            ok(&run(c))
        };
        let answer = client(&via);
        let said = ended(record, record_out);
        println!("{said}");
        let meta = meta(&file);
        assert!(
            meta["asterisk_version"]
                .as_str()
                .unwrap()
                .starts_with("22."),
            "{meta}"
        );
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

/// A process that does not end by itself, stopped when the test ends
/// (whether it passed or not).
struct Stopped(Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
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
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = format!("127.0.0.1:{port}");
    let mut serving = ast(
        &live,
        &[
            "agi",
            "serve",
            "--listen",
            &server,
            "--script",
            script.to_str().unwrap(),
        ],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    // It listens once it has said so (one line).
    let mut serving_out = BufReader::new(serving.stdout.take().unwrap());
    let _serving = Stopped(serving);
    let mut banner = String::new();
    serving_out.read_line(&mut banner).unwrap();
    assert!(banner.starts_with("FastAGI server on"), "{banner}");
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
    ok(&run(ast(
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
    assert!(
        meta["asterisk_version"]
            .as_str()
            .unwrap()
            .starts_with("22."),
        "{meta}"
    );
    check(&live, &file);
    let replayed = ok(&run(ast(
        &live,
        &["agi", "replay", file.to_str().unwrap(), "--to", &server],
    )));
    assert!(replayed.contains("4/4 commands matched"), "{replayed}");
}
