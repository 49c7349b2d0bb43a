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
