//! End to end: the built `ast` binary against the fake Asterisk of the
//! conformance crate, serving recorded traces (whole, or cut down to the
//! records one command plays). No PBX needed.

mod support;

use conformance::{AmiServeOptions, FakeAmi, FakeAsterisk, ServeOptions, Trace};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::Duration;
use support::{ast, expect, finish, stderr, stdout};

fn traces() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/traces")
}

/// Runs to the end (at most 30 s), output captured.
fn run(c: Command) -> Output {
    support::run_within(c, Duration::from_secs(30))
}

/// An ARI trace cut down to its meta line and the records with these `seq`.
fn ari_subset(file: &str, keep: &[u64]) -> Trace {
    let data = std::fs::read_to_string(traces().join(file)).unwrap();
    let lines: Vec<&str> = data
        .lines()
        .filter(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let seq = v["seq"].as_u64().unwrap();
            seq == 0 || keep.contains(&seq)
        })
        .collect();
    Trace::parse(&lines.join("\n")).unwrap()
}

/// A trace file written for this test (AMI's fake and `ast serve` read files).
fn write_trace(name: &str, lines: &[String]) -> PathBuf {
    let path = scratch(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// The lines of a trace whose `seq` passes `keep` (the meta line always).
fn lines_of(path: &Path, keep: impl Fn(u64) -> bool) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let seq = v["seq"].as_u64().unwrap();
            seq == 0 || keep(seq)
        })
        .map(str::to_string)
        .collect()
}

/// `ast ARGS` run against ARI on `url` as asterisk with `password`.
fn ari_client_with_password(args: &[&str], url: &str, password: &str) -> Output {
    let mut c = ast(args);
    support::ari_settings(&mut c, url, password);
    run(c)
}

/// `ast ARGS` run against ARI on `url` as asterisk/asterisk.
fn ari_client(args: &[&str], url: &str) -> Output {
    ari_client_with_password(args, url, "asterisk")
}

/// `ast ami ...` through `address` as admin with `secret`.
fn ami_client(args: &[&str], address: &str, secret: &str, auth: &str) -> Output {
    let mut c = ast(args);
    support::ami_settings(&mut c, address, secret).env("AMI_AUTH", auth);
    run(c)
}

/// The fake Asterisk playing `trace` with the default options.
fn fake_ari(trace: Trace) -> FakeAsterisk {
    FakeAsterisk::start(trace, ServeOptions::default()).unwrap()
}

/// hello-world.jsonl played by the fake Asterisk.
fn fake_hello_world() -> FakeAsterisk {
    fake_ari(conformance::bundled_trace("hello-world.jsonl").unwrap())
}

/// Asserts the fake Asterisk played its whole trace with no mismatch.
fn assert_played_whole(fake: FakeAsterisk) {
    let report = fake.finish();
    assert!(
        report.completed && report.mismatches.is_empty(),
        "{report:?}"
    );
}

/// The fake AMI of an AMI trace waiting only for the sends `keep`.
fn fake_ami_waiting_for(file: &Path, keep: &[u64]) -> FakeAmi {
    FakeAmi::start_with(
        file,
        AmiServeOptions {
            skip_sends: skip_all_sends_but(file, keep),
            ..AmiServeOptions::default()
        },
    )
    .unwrap()
}

/// The seq of every `send` of an AMI trace but `keep`: the fake plays
/// their answers without waiting for them.
fn skip_all_sends_but(file: &Path, keep: &[u64]) -> BTreeSet<u64> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["kind"] == "send").then(|| v["seq"].as_u64().unwrap())
        })
        .filter(|s| !keep.contains(s))
        .collect()
}

/// `ast events` in the background; returns once it says it is connected.
fn events_in_background(url: &str, extra: &[&str]) -> Child {
    let mut args = vec!["events", "hello"];
    args.extend(extra);
    let mut c = ast(&args);
    support::ari_settings(&mut c, url, "asterisk");
    let (child, line) = support::events_once_connected(c);
    assert!(line.contains("Asterisk 22.10.1"), "{line}");
    child
}

/// The recorded client's requests of hello-world.jsonl, as `ast call`s.
const HELLO_CALLS: &[&[&str]] = &[
    &[
        "channels",
        "originate",
        "endpoint=PJSIP/hello@loop",
        "app=hello",
        "appArgs=caller",
        "channelId=chan-out-1",
        "callerId=Tester <5551234>",
    ],
    &["channels", "answer", "channelId=1795361410.9"],
    &[
        "channels",
        "playWithId",
        "channelId=1795361410.9",
        "playbackId=pb-1",
        "media=sound:hello-world",
    ],
    &["channels.sendDTMF", "channelId=chan-out-1", "dtmf=1"],
    &[
        "channels",
        "playWithId",
        "channelId=1795361410.9",
        "playbackId=pb-2",
        "media=sound:digits/1",
    ],
    &["channels", "send_dtmf", "channel_id=chan-out-1", "dtmf=#"],
    &[
        "channels",
        "playWithId",
        "channelId=1795361410.9",
        "playbackId=pb-3",
        "media=sound:vm-goodbye",
    ],
    &["channels", "hangup", "channelId=1795361410.9"],
];

/// Plays hello-world.jsonl: `ast events` tails, `ast call` makes each
/// recorded request (trusting the certificates of `ca`); the answers
/// printed and the events' lines.
fn play_hello_world(url: &str, events_args: &[&str], ca: Option<&Path>) -> (Vec<String>, String) {
    let mut args = vec!["--count", "31"];
    args.extend(events_args);
    if let Some(ca) = ca {
        args.extend(["--ca", ca.to_str().unwrap()]);
    }
    let events = events_in_background(url, &args);
    let answers = make_hello_calls(url, ca);
    let out = finish(events, Duration::from_secs(20));
    expect(&out, 0);
    (answers, stdout(&out))
}

/// Makes hello-world.jsonl's recorded requests with `ast call`: the answers.
fn make_hello_calls(url: &str, ca: Option<&Path>) -> Vec<String> {
    let mut answers = Vec::new();
    for call in HELLO_CALLS {
        let mut args = vec!["call"];
        args.extend(*call);
        let mut c = ast(&args);
        support::ari_settings(&mut c, url, "asterisk");
        if let Some(ca) = ca {
            c.env("ARI_CA", ca);
        }
        let out = run(c);
        expect(&out, 0);
        answers.push(stdout(&out));
    }
    answers
}

#[test]
fn events_and_call_replay_hello_world_through_serve() {
    let trace = traces().join("hello-world.jsonl");
    let (mut serve, lines, mut announce) =
        support::announced(ast(&["serve", trace.to_str().unwrap()]), Stdio::piped(), 1);
    let line = &lines[0];
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_string();
    assert!(line.contains("22.10.1 (ARI)"), "{line}");

    let (answers, events) = play_hello_world(&url, &[], None);
    // The originate's answer, as Asterisk gave it.
    let originate: serde_json::Value = serde_json::from_str(&answers[0]).unwrap();
    assert_eq!(originate["id"], "chan-out-1");
    assert_eq!(originate["name"], "PJSIP/loop-00000006");
    assert_eq!(answers[1], "", "answer has an empty 204 answer");
    assert!(answers[2].contains("\"id\": \"pb-1\""), "{}", answers[2]);
    let lines: Vec<&str> = events.lines().collect();
    assert_eq!(lines.len(), 31, "{events}");
    assert!(
        lines[0].starts_with("15:30:10.854 Dial ")
            && lines[0].contains("peer=chan-out-1 (PJSIP/loop-00000006, Down)"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("StasisStart")
            && lines[1].contains("channel=1795361410.9 (PJSIP/loop-in-00000007, Ring)"),
        "{}",
        lines[1]
    );
    assert!(
        events.contains("ChannelDtmfReceived    channel=1795361410.9 (PJSIP/loop-in-00000007, Up) digit=# duration_ms=100"),
        "{events}"
    );
    assert!(
        lines[30].contains("ChannelDestroyed")
            && lines[30].contains("cause_txt=\"Normal Clearing\""),
        "{}",
        lines[30]
    );

    // serve: the trace was played whole, and it says so.
    let mut rest = String::new();
    announce.read_to_string(&mut rest).unwrap();
    let status = serve.wait().unwrap();
    assert!(
        rest.contains("trace played: true; 8 answers, 31 frames"),
        "{rest}"
    );
    assert!(!rest.contains("mismatch"), "{rest}");
    assert!(status.success());
}

#[test]
fn events_as_json_lines_and_filtered() {
    let fake = fake_hello_world();
    let (_, events) = play_hello_world(&fake.base_url(), &["--json"], None);
    let lines: Vec<serde_json::Value> = events
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 31);
    // The events as recorded, typed and encoded back.
    let recorded: Vec<serde_json::Value> = conformance::bundled_trace("hello-world.jsonl")
        .unwrap()
        .records
        .iter()
        .filter_map(|r| match &r.kind {
            conformance::trace::Kind::WsRecv { text, .. } => serde_json::from_str(text).ok(),
            _ => None,
        })
        .collect();
    assert_eq!(lines, recorded);
    assert_played_whole(fake);

    // --type and --id pick events out.
    let fake = fake_hello_world();
    let url = fake.base_url();
    let events = {
        let child = events_in_background(
            &url,
            &[
                "--type",
                "PlaybackF*,ChannelDtmfReceived",
                "--id",
                "1795361410.9",
                "--count",
                "4",
            ],
        );
        make_hello_calls(&url, None);
        stdout(&finish(child, Duration::from_secs(20)))
    };
    let kinds: Vec<&str> = events
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "PlaybackFinished",
            "ChannelDtmfReceived",
            "PlaybackFinished",
            "ChannelDtmfReceived"
        ],
        "{events}"
    );
}

#[test]
fn call_says_asterisks_error_and_checks_parameters() {
    // errors.jsonl: GET /channels/nope answered 404.
    let fake = fake_ari(ari_subset("errors.jsonl", &[2, 3]));
    let out = ari_client(
        &["call", "channels", "get", "channelId=nope"],
        &fake.base_url(),
    );
    expect(&out, 1);
    assert_eq!(
        stderr(&out),
        "ast: Asterisk answered 404: Channel not found\n"
    );
    assert_eq!(stdout(&out), "");
    assert_played_whole(fake);

    // Mistakes are caught before anything is sent: exit 2.
    for (args, says) in [
        (&["call", "channels", "originate"][..], "needs endpoint"),
        (
            &[
                "call",
                "channels",
                "originate",
                "endpoint=x",
                "timeout=soon",
            ],
            "not an integer",
        ),
        (
            &["call", "channels", "originate", "endpoint=x", "bogus=1"],
            "has no parameter \"bogus\"",
        ),
        (
            &[
                "call",
                "channels",
                "record",
                "channelId=c",
                "name=n",
                "format=wav",
                "ifExists=maybe",
            ],
            "allowed: fail, overwrite, append",
        ),
        (&["call", "list"], "ambiguous"),
        (&["call", "channels", "fly"], "no operation channels fly"),
        (
            &[
                "call",
                "channels",
                "originate",
                "endpoint=x",
                "variables={nope",
            ],
            "not JSON",
        ),
    ] {
        let out = ari_client(args, "http://127.0.0.1:9");
        expect(&out, 2);
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    }

    // Nobody listening: one line, exit 1.
    let out = ari_client(&["call", "asterisk", "ping"], "http://127.0.0.1:9");
    expect(&out, 1);
    assert!(
        stderr(&out).starts_with("ast: cannot reach http://127.0.0.1:9: "),
        "{}",
        stderr(&out)
    );
}

#[test]
fn call_help_comes_from_the_generated_code() {
    let out = run(ast(&["call", "--help"]));
    expect(&out, 0);
    let help = stdout(&out);
    for info in ari_proto::ops::ALL_OPERATIONS.iter().filter(|i| !i.upgrade) {
        assert!(help.contains(info.name), "{} missing", info.name);
    }
    let out = run(ast(&["call", "channels", "originate", "--help"]));
    expect(&out, 0);
    let help = stdout(&out);
    let (info, _) = ari_proto::find_operation("POST", "/channels").unwrap();
    for p in ari_proto::ops::params_of(info) {
        assert!(help.contains(p.name), "{} missing:\n{help}", p.name);
    }
    assert!(help.contains("variables                    optional; containers; JSON body field"));
}

#[test]
fn info_says_release_modules_and_what_is_typed() {
    // system-info.jsonl: GET /asterisk/info and GET /asterisk/modules.
    let fake = fake_ari(ari_subset("system-info.jsonl", &[2, 3, 8, 9]));
    let out = ari_client(&["info"], &fake.base_url());
    expect(&out, 0);
    let info = stdout(&out);
    assert!(
        info.starts_with(&format!("Asterisk 22.10.1 at {}\n", fake.base_url())),
        "{info}"
    );
    assert!(info.contains("  entity id   02:00:00:00:00:01"), "{info}");
    assert!(info.contains(" loaded, "), "{info}");
    let modules = info
        .lines()
        .find(|l| l.trim_start().starts_with("modules"))
        .unwrap();
    let loaded: usize = modules.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(loaded > 100, "{modules}");
    assert!(info.contains("  typed API   "), "{info}");
    assert!(info.contains(" operations on 22.10.1"), "{info}");
    assert_played_whole(fake);
}

#[test]
fn ami_action_prints_event_lists_whole() {
    // ami-eventlists.jsonl: Login (Events: call), CoreShowChannels, Logoff;
    // the other actions' answers are played without waiting for them.
    let file = traces().join("ami/ami-eventlists.jsonl");
    for json in [false, true] {
        let fake = fake_ami_waiting_for(&file, &[3, 29, 109]);
        let mut args = vec!["ami", "action", "coreshowchannels", "--events", "call"];
        if json {
            args.push("--json");
        }
        let out = ami_client(&args, &fake.address(), "amp111", "plain");
        expect(&out, 0);
        let answer = stdout(&out);
        if json {
            let messages: Vec<serde_json::Value> = answer
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(messages.len(), 6, "{answer}");
            assert_eq!(messages[0]["Response"], "Success");
            assert_eq!(messages[1]["Event"], "CoreShowChannel");
            assert_eq!(messages[1]["Channel"], "PJSIP/loop-in-00000005");
            assert_eq!(messages[5]["Event"], "CoreShowChannelsComplete");
            assert_eq!(messages[5]["ListItems"], "4");
        } else {
            let blocks: Vec<&str> = answer.split("\n\n").collect();
            assert_eq!(blocks.len(), 6, "{answer}");
            assert!(blocks[0].starts_with("Response: Success\n"), "{answer}");
            assert!(blocks[0].contains("EventList: start"), "{answer}");
            for item in &blocks[1..5] {
                assert!(item.starts_with("Event: CoreShowChannel\n"), "{item}");
            }
            assert!(
                blocks[4].contains("Channel: PJSIP/loop-00000002"),
                "{answer}"
            );
            assert!(
                blocks[5].starts_with("Event: CoreShowChannelsComplete\n"),
                "{answer}"
            );
        }
        let report = fake.finish();
        assert!(report.completed, "{report:?}");
        assert_eq!(report.matched, 3);
    }
}

#[test]
fn ami_action_refused_and_checked() {
    // ami-eventlists.jsonl: PJSIPShowContacts is refused (no contacts).
    let file = traces().join("ami/ami-eventlists.jsonl");
    let fake = fake_ami_waiting_for(&file, &[3, 59, 109]);
    let out = ami_client(
        &["ami", "action", "PJSIPShowContacts", "--events", "call"],
        &fake.address(),
        "amp111",
        "plain",
    );
    expect(&out, 1);
    assert_eq!(
        stderr(&out),
        "ast: Asterisk refused PJSIPShowContacts: No Contacts found\n"
    );
    assert!(fake.finish().completed);

    // A header the action does not declare, a missing required one: exit 2.
    for (args, says) in [
        (
            &["ami", "action", "Originate", "Channel=x", "Bogus=1"][..],
            "Originate has no header Bogus",
        ),
        (
            &["ami", "action", "Setvar", "Value=1"],
            "Setvar needs Variable",
        ),
        (&["ami", "action", "Ping", "oops"], "is not Key=Value"),
    ] {
        let mut c = ast(args);
        c.env("AMI_URL", "127.0.0.1:9")
            .env("AMI_USER", "u")
            .env("AMI_SECRET", "s");
        let out = run(c);
        expect(&out, 2);
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
    }
    let out = run(ast(&["ami", "action", "Originate", "--help"]));
    expect(&out, 0);
    assert!(stdout(&out).contains("Channel                      required"));
    assert!(stdout(&out).contains("Variable                     optional; may be repeated"));
}

#[test]
fn ami_command_prints_the_cli_output() {
    // ami-command.jsonl: Login (Events: off), then "core show channels" and
    // "no such command here" of the recorded commands, then Logoff.
    let file = traces().join("ami/ami-command.jsonl");
    let fake = fake_ami_waiting_for(&file, &[3, 7, 11, 21]);
    let out = ami_client(
        &[
            "ami",
            "command",
            "core show channels",
            "no such command here",
        ],
        &fake.address(),
        "amp111",
        "plain",
    );
    expect(&out, 1);
    let lines: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(lines[0].starts_with("Channel     "), "{lines:?}");
    assert_eq!(lines[1], "0 active channels");
    assert_eq!(lines[3], "1 call processed");
    assert_eq!(
        stderr(&out),
        "ast: Asterisk refused \"no such command here\": No such command 'no such command here' \
         (type 'core show help no such' for other possible commands)\nast: 1 of 2 commands failed\n"
    );
    let report = fake.finish();
    assert!(report.completed, "{report:?}");
}

#[test]
fn ami_events_tails_filtered_and_as_json() {
    // ami-call-events.jsonl: every event of one call after the login.
    let file = traces().join("ami/ami-call-events.jsonl");
    let start = || fake_ami_waiting_for(&file, &[3, 66]);
    let fake = start();
    let out = ami_client(
        &[
            "ami",
            "events",
            "--name",
            "newchannel,Hangup",
            "--count",
            "4",
        ],
        &fake.address(),
        "amp111",
        "plain",
    );
    expect(&out, 0);
    let events = stdout(&out);
    let lines: Vec<&str> = events.lines().collect();
    assert_eq!(lines.len(), 4, "{events}");
    assert!(
        lines[0].contains(" Newchannel ") && lines[0].contains("PJSIP/loop-00000288 (Down)"),
        "{events}"
    );
    assert!(
        lines[1].contains("PJSIP/loop-in-00000289 (Ring)"),
        "{events}"
    );
    assert!(
        lines[2].contains(" Hangup ") && lines[2].contains("Cause=16"),
        "{events}"
    );
    assert!(
        stderr(&out).starts_with("logged in to "),
        "{}",
        stderr(&out)
    );
    assert!(fake.finish().completed);

    let fake = start();
    let out = ami_client(
        &[
            "ami", "events", "--match", "dtmfend", "--json", "--count", "3",
        ],
        &fake.address(),
        "amp111",
        "plain",
    );
    expect(&out, 0);
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 3);
    for e in &events {
        assert_eq!(e["Event"], "DTMFEnd");
        assert_eq!(e["Digit"], "5");
    }
    assert_eq!(events[2]["Channel"], "PJSIP/loop-00000288");
    assert_eq!(events[2]["Direction"], "Received");
    assert!(fake.finish().completed);
}

#[test]
fn top_once_shows_the_channels_from_ami() {
    // ami-eventlists.jsonl up to BridgeList's answer, then the Logoff: the
    // two calls up, the picture resynced by CoreShowChannels and BridgeList.
    let file = traces().join("ami/ami-eventlists.jsonl");
    let lines = lines_of(&file, |seq| seq <= 78 || seq >= 109);
    let cut = write_trace("eventlists-top.jsonl", &lines);
    let fake = fake_ami_waiting_for(&cut, &[3, 29, 76, 109]);
    let out = ami_client(
        &["top", "--once", "--events", "call"],
        &fake.address(),
        "amp111",
        "plain",
    );
    expect(&out, 0);
    let view = stdout(&out);
    assert!(
        view.starts_with("ast top: 4 channels, 0 bridges, on "),
        "{view}"
    );
    for channel in [
        "PJSIP/loop-00000002",
        "PJSIP/loop-00000003",
        "PJSIP/loop-in-00000004",
        "PJSIP/loop-in-00000005",
    ] {
        let row = view.lines().find(|l| l.starts_with(channel)).unwrap();
        assert!(row.contains(" Up "), "{row}");
    }
    assert!(view.contains("(no bridges)"), "{view}");
    assert!(
        !view.contains('\x1b'),
        "no escape codes with --once and a pipe"
    );
    let report = fake.finish();
    assert!(report.completed, "{report:?}");
}

#[test]
fn top_once_from_ari() {
    // GET /channels of channel-control.jsonl, GET /bridges of system-info.jsonl.
    let channels = lines_of(&traces().join("channel-control.jsonl"), |s| {
        s == 45 || s == 46
    });
    let bridges: Vec<String> =
        lines_of(&traces().join("system-info.jsonl"), |s| s == 42 || s == 43)
            .into_iter()
            .skip(1)
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(&l).unwrap();
                v["id"] = 9000.into();
                v["seq"] = (v["seq"].as_u64().unwrap() + 1000).into();
                v.to_string()
            })
            .collect();
    let all = [channels, bridges].concat().join("\n");
    let fake = fake_ari(Trace::parse(&all).unwrap());
    let out = ari_client(&["top", "--once"], &fake.base_url());
    expect(&out, 0);
    let view = stdout(&out);
    assert!(
        view.starts_with("ast top: 2 channels, 0 bridges, on http://"),
        "{view}"
    );
    assert!(view.contains("PJSIP/loop-00000006"), "{view}");
    assert!(view.lines().any(|l| l.contains(" Up ")), "{view}");
    assert_played_whole(fake);
}

/// `ast ami command` of ami-command.jsonl's commands but the last.
const AMI_COMMANDS: &[&str] = &[
    "ami",
    "command",
    "core show version",
    "core show channels",
    "dialplan show default",
    "no such command here",
    "core show help",
    "module show",
    "core show uptime seconds",
];

#[test]
fn serve_plays_an_ami_trace_to_another_process() {
    // ami-command.jsonl without its last Command (no Command header, which
    // `ami command` never sends).
    let file = traces().join("ami/ami-command.jsonl");
    let cut = write_trace(
        "command-serve.jsonl",
        &lines_of(&file, |s| !(19..=20).contains(&s)),
    );
    let (mut serve, lines, mut announce) =
        support::announced(ast(&["serve", cut.to_str().unwrap()]), Stdio::piped(), 2);
    assert!(
        lines[0].starts_with("fake Asterisk (AMI) on 127.0.0.1:"),
        "{}",
        lines[0]
    );
    let address = lines[0].split_whitespace().last().unwrap().to_string();
    assert_eq!(lines[1], format!("AMI_URL={address} AMI_USER=admin\n"));
    let out = ami_client(AMI_COMMANDS, &address, "amp111", "plain");
    expect(&out, 1);
    let cli = stdout(&out);
    assert!(cli.starts_with("Asterisk 22.10.1 built by root"), "{cli}");
    assert!(
        cli.ends_with("System uptime: 27\nLast reload: 27\n"),
        "{cli}"
    );
    let mut rest = String::new();
    announce.read_to_string(&mut rest).unwrap();
    assert!(serve.wait().unwrap().success(), "{rest}");
    assert!(
        rest.contains("trace played: true; 9 of 9 actions matched"),
        "{rest}"
    );
}

#[test]
fn check_passes_traces_and_fails_a_broken_one() {
    let hello = traces().join("hello-world.jsonl");
    let ami = traces().join("ami/ami-command.jsonl");
    let out = run(ast(&[
        "check",
        hello.to_str().unwrap(),
        ami.to_str().unwrap(),
    ]));
    expect(&out, 0);
    let report = stdout(&out);
    assert!(report.starts_with("ok   "), "{report}");
    assert_eq!(report.lines().filter(|l| l.starts_with("ok   ")).count(), 2);
    assert!(report.ends_with(" passed, 0 failed\n"), "{report}");

    // A digit recorded as a number: the typed event says so.
    let broken: Vec<String> = lines_of(&hello, |_| true)
        .into_iter()
        .map(|l| l.replace(r#"\"digit\":\"1\""#, r#"\"digit\":1"#))
        .collect();
    assert!(broken.iter().any(|l| l.contains(r#"\"digit\":1"#)));
    let path = write_trace("broken-hello.jsonl", &broken);
    let out = run(ast(&["check", path.to_str().unwrap()]));
    expect(&out, 1);
    let report = stdout(&out);
    assert!(report.starts_with("FAIL "), "{report}");
    assert!(report.contains("event ChannelDtmfReceived"), "{report}");
    assert!(stderr(&out).contains("check(s) failed"), "{}", stderr(&out));

    let out = run(ast(&["check", "/no/such/trace.jsonl"]));
    expect(&out, 1);
}

#[test]
fn check_holds_configuration_files_to_asterisks_reading() {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../asterisk-config/tests/data");
    let sample = data.join("samples/ari.conf");
    let case = data.join("cases/block-comments.conf");
    let out = run(ast(&[
        "check",
        "-v",
        sample.to_str().unwrap(),
        case.to_str().unwrap(),
    ]));
    expect(&out, 0);
    let report = stdout(&out);
    assert_eq!(
        report.lines().filter(|l| l.starts_with("ok   ")).count(),
        2,
        "{report}"
    );
    assert!(report.contains("GetConfig plain"), "{report}");
    assert!(report.ends_with("2 passed, 0 failed\n"), "{report}");

    // The same file with ARI turned off no longer reads as Asterisk read it.
    let dir = scratch("config-check");
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(&sample).unwrap();
    assert!(text.contains("enabled = yes"));
    std::fs::write(
        dir.join("ari.conf"),
        text.replacen("enabled = yes", "enabled = no", 1),
    )
    .unwrap();
    std::fs::copy(
        data.join("golden/ari.getconfig.txt"),
        dir.join("ari.getconfig.txt"),
    )
    .unwrap();
    let out = run(ast(&["check", dir.join("ari.conf").to_str().unwrap()]));
    expect(&out, 1);
    let report = stdout(&out);
    assert!(report.starts_with("FAIL "), "{report}");
    assert!(report.contains("GetConfig: "), "{report}");

    // Nothing to compare with is a failure too.
    std::fs::remove_file(dir.join("ari.getconfig.txt")).unwrap();
    let out = run(ast(&["check", dir.join("ari.conf").to_str().unwrap()]));
    expect(&out, 1);
    assert!(
        stdout(&out).contains("no ari.getconfig.txt"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["nope"],
        &["events", "--bogus"],
        &["events", "--count"],
        &["ami", "fly"],
        &["check"],
        &["serve"],
        &["completions", "tcsh"],
        &["record", "fax"],
        &["record", "ari", "--listen", "127.0.0.1:0"],
        &[
            "record",
            "agi",
            "--out",
            "x.jsonl",
            "--to",
            "127.0.0.1:4573",
        ],
        &[
            "record",
            "ami",
            "--out",
            "x.jsonl",
            "--to",
            "tls://pbx:5039",
        ],
        &["top", "--once"],
        &["info", "extra"],
    ] {
        let out = run(ast(args));
        expect(&out, 2);
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("ast: "), "{args:?}: {err}");
    }
    // Settings missing.
    let mut c = ast(&["info"]);
    c.env("ARI_URL", "http://127.0.0.1:9");
    let out = run(c);
    expect(&out, 2);
    assert!(
        stderr(&out).contains("no ARI user: set ARI_USER"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn every_command_has_help_and_completions() {
    for args in [
        &["--help"][..],
        &["events", "--help"],
        &["call", "--help"],
        &["info", "--help"],
        &["ami", "--help"],
        &["ami", "events", "--help"],
        &["ami", "action", "--help"],
        &["ami", "command", "--help"],
        &["top", "--help"],
        &["serve", "--help"],
        &["check", "--help"],
        &["record", "--help"],
        &["record", "agi", "--help"],
        &["help", "record"],
        &["completions", "--help"],
        &["help", "top"],
    ] {
        let out = run(ast(args));
        expect(&out, 0);
        assert!(stdout(&out).contains("Usage: ast"), "{args:?}");
    }
    for shell in ["bash", "zsh", "fish"] {
        let out = run(ast(&["completions", shell]));
        expect(&out, 0);
        let script = stdout(&out);
        assert!(script.contains("originateWithId"), "{shell}");
        assert!(script.contains("CoreShowChannels"), "{shell}");
    }
    let bash = stdout(&run(ast(&["completions", "bash"])));
    assert!(bash.contains("complete -F _ast ast"));
    assert!(bash.contains("--password --ca --help") && bash.contains("--ari-ca"));
}

#[test]
fn no_secret_is_ever_printed() {
    const PASSWORD: &str = "hunter2-ari-secret";
    const SECRET: &str = "hunter2-ami-secret";
    let mut outputs = Vec::new();
    // Wrong ARI password: the upgrade and the requests are refused.
    let fake = fake_hello_world();
    let out = ari_client_with_password(&["events", "hello"], &fake.base_url(), PASSWORD);
    expect(&out, 1);
    assert!(stderr(&out).contains("status 401"), "{}", stderr(&out));
    outputs.push(out);
    drop(fake);
    let fake = fake_ari(ari_subset("errors.jsonl", &[2, 3]));
    for args in [
        &["call", "channels", "get", "channelId=nope"][..],
        &["info"],
        &["top", "--once"],
    ] {
        let out = ari_client_with_password(args, &fake.base_url(), PASSWORD);
        expect(&out, 1);
        outputs.push(out);
    }
    assert_eq!(
        stderr(&outputs[1]),
        "ast: Asterisk answered 401: Authentication required\n"
    );
    drop(fake);
    // Wrong AMI secret: ami-login.jsonl's refused login (connection c3).
    let file = traces().join("ami/ami-login.jsonl");
    let cut = write_trace("badpw.jsonl", &lines_of(&file, |s| s >= 29));
    for args in [
        &["ami", "command", "core show version"][..],
        &["ami", "action", "Ping"],
        &["ami", "events"],
    ] {
        let fake = FakeAmi::start(&cut).unwrap();
        let out = ami_client(args, &fake.address(), SECRET, "plain");
        expect(&out, 1);
        assert!(
            stderr(&out).contains("login refused: Authentication failed"),
            "{}",
            stderr(&out)
        );
        outputs.push(out);
    }
    // Secrets given as options, with a usage error after them.
    let out = run(ast(&["call", "--password", PASSWORD, "--nope"]));
    expect(&out, 2);
    outputs.push(out);
    let out = run(ast(&[
        "ami", "action", "--secret", SECRET, "Ping", "--nope",
    ]));
    expect(&out, 2);
    outputs.push(out);
    for out in &outputs {
        for secret in [PASSWORD, SECRET] {
            assert!(
                !stdout(out).contains(secret) && !stderr(out).contains(secret),
                "{secret} printed:\n{}\n{}",
                stdout(out),
                stderr(out)
            );
        }
    }
}

#[test]
fn config_shows_gets_sets_and_lints_as_asterisk_reads() {
    let cases =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../asterisk-config/tests/data/cases");
    let templates = cases.join("templates.conf");
    let file = templates.to_str().unwrap();
    let shown = run(ast(&["config", "show", file]));
    expect(&shown, 0);
    assert!(stdout(&shown).contains("phone2"), "{}", stdout(&shown));

    // The inherited value comes first, as ast_variable_retrieve gives it.
    let got = run(ast(&["config", "get", file, "phone2", "context"]));
    expect(&got, 0);
    assert_eq!(stdout(&got).trim(), "from-base");
    expect(&run(ast(&["config", "get", file, "phone2", "no-such"])), 1);

    // Set in place: one line changes, every other byte stays.
    let dir = support::scratch_dir("ast-config");
    let copy = dir.join("basic.conf");
    let before = std::fs::read_to_string(cases.join("basic.conf")).unwrap();
    std::fs::write(&copy, &before).unwrap();
    let copy_name = copy.to_str().unwrap();
    expect(
        &run(ast(&["config", "set", copy_name, "second", "only", "two"])),
        0,
    );
    let after = std::fs::read_to_string(&copy).unwrap();
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed, [("only = one", "only = two")]);
    assert_eq!(before.lines().count(), after.lines().count());
    let got = run(ast(&["config", "get", copy_name, "second", "only"]));
    assert_eq!(stdout(&got).trim(), "two");

    // A file Asterisk's XML describes, with an option it does not know.
    let pjsip = dir.join("pjsip.conf");
    std::fs::write(
        &pjsip,
        "[t]\ntype=transport\nprotocol=udp\nno_such_option=1\n",
    )
    .unwrap();
    let lint = run(ast(&["config", "lint", pjsip.to_str().unwrap()]));
    expect(&lint, 1);
    assert!(
        stdout(&lint).contains("no_such_option"),
        "{}",
        stdout(&lint)
    );
    expect(&run(ast(&["config", "frobnicate"])), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The quickstart call's six commands, as its recorded script sent them.
const QUICKSTART_SCRIPT: &[&str] = &[
    "ANSWER",
    "STREAM FILE hello-world \"\"",
    "GET DATA beep 5000 4",
    "SAY DIGITS 1234 \"\"",
    "SET VARIABLE QUICKSTART_DIGITS 1234",
    "HANGUP",
];

/// `ast agi serve` on `listen` running `script`.
fn agi_serve(listen: &str, script: &Path) -> Command {
    ast(&[
        "agi",
        "serve",
        "--listen",
        listen,
        "--script",
        script.to_str().unwrap(),
    ])
}

fn quickstart_trace() -> PathBuf {
    traces().join("agi/fastagi-quickstart.jsonl")
}

#[test]
fn agi_replay_plays_a_recorded_call_against_a_server() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (first, clean) in [("ANSWER", true), ("NOOP", false)] {
        let routes = ari_tokio::agi::Routes::new().fallback(move |agi| async move {
            for (i, line) in QUICKSTART_SCRIPT.iter().enumerate() {
                let line = if i == 0 { first } else { line };
                agi.send_raw_reply(&ari_tokio::agi::RawCommand::new(line))
                    .await?;
            }
            Ok(())
        });
        let _guard = runtime.enter();
        let server = ari_tokio::agi::serve("127.0.0.1:0".parse().unwrap(), routes).unwrap();
        let address = server.address().to_string();
        let trace = quickstart_trace();
        let child = support::spawn(
            ast(&["agi", "replay", trace.to_str().unwrap(), "--to", &address]),
            Stdio::piped(),
        );
        // The server runs on this thread's runtime while the replay plays.
        let out = runtime.block_on(async {
            tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
                .await
                .unwrap()
        });
        if clean {
            expect(&out, 0);
            assert!(
                stdout(&out).contains("6/6 commands matched"),
                "{}",
                stdout(&out)
            );
        } else {
            expect(&out, 1);
            assert!(stdout(&out).contains("NOOP"), "{}", stdout(&out));
        }
    }
}

#[test]
fn agi_serve_runs_a_script_and_prints_each_exchange() {
    let dir = support::scratch_dir("ast-agi");
    let script = dir.join("quickstart.agi");
    std::fs::write(
        &script,
        format!("# the quickstart\n{}\n", QUICKSTART_SCRIPT.join("\n")),
    )
    .unwrap();
    let listen = support::free_local_address();
    // Ready once its first line is out.
    let (mut child, banner, rest) =
        support::announced(agi_serve(&listen, &script), Stdio::piped(), 1);
    let banner = &banner[0];
    assert!(
        banner.starts_with("FastAGI server on 127.0.0.1:"),
        "{banner}"
    );
    let trace = conformance::agi_check::AgiTrace::read(&quickstart_trace()).unwrap();
    let reports = conformance::agi_serve::play_all(
        &trace,
        listen.parse().unwrap(),
        &conformance::agi_serve::AgiPlayOptions::default(),
    );
    assert!(reports[0].is_clean(), "{}", reports[0]);
    let _ = child.kill();
    let printed: Vec<String> = rest.lines().map_while(Result::ok).collect();
    let printed = printed.join("\n");
    assert!(printed.contains("call from 5550123"), "{printed}");
    assert!(printed.contains("-> GET DATA beep 5000 4"), "{printed}");
    assert!(printed.contains("<- 200 result=1234 ("), "{printed}");
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

// `ast record`: the recorder between a client and a fake Asterisk (or, for
// FastAGI, between the conformance player and `ast agi serve`); then the
// capture is checked and played back to the same client.

/// A scratch file for this test process.
fn scratch(name: &str) -> PathBuf {
    support::scratch_dir("ast-tests").join(name)
}

/// `ast serve TRACE` in the background: the process, the address it
/// announces (ARI's URL or AMI's `host:port`), and the rest of its output.
fn serve_in_background(trace: &Path) -> (Child, String, BufReader<ChildStdout>) {
    let (serve, lines, announce) =
        support::announced(ast(&["serve", trace.to_str().unwrap()]), Stdio::piped(), 2);
    let address = lines[1]
        .split_whitespace()
        .next()
        .and_then(|w| w.split_once('='))
        .map(|(_, a)| a.to_string())
        .unwrap();
    (serve, address, announce)
}

/// Waits for `ast serve` to end: its last lines.
fn served(mut serve: Child, mut output: BufReader<ChildStdout>) -> String {
    let mut rest = String::new();
    output.read_to_string(&mut rest).unwrap();
    assert!(serve.wait().unwrap().success(), "{rest}");
    assert!(!rest.contains("mismatch"), "{rest}");
    rest
}

/// `ast record ...` in the background, once it listens: the process, its
/// second line (`ARI_URL=...`, `AMI_URL=...`, `AGI(agi://...)`) and the
/// rest of its output.
fn record_in_background(args: &[&str]) -> (Child, String, BufReader<ChildStdout>) {
    let (record, lines, output) = support::announced(ast(args), Stdio::inherit(), 2);
    assert!(lines[0].starts_with("recording "), "{}", lines[0]);
    (record, lines[1].trim_end().to_string(), output)
}

/// Waits (at most 20 s) for the recorder to stop, after a Ctrl-C if
/// `interrupt`: everything it printed after its first lines.
fn recorded(record: Child, mut output: BufReader<ChildStdout>, interrupt: bool) -> String {
    if interrupt {
        let kill = Command::new("kill")
            .args(["-INT", &record.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
    }
    assert!(finish(record, Duration::from_secs(20)).status.success());
    let mut rest = String::new();
    output.read_to_string(&mut rest).unwrap();
    rest
}

/// A capture's records; every line is JSON, `seq` counts from 0, `t_ms`
/// never goes back.
fn capture(path: &Path) -> Vec<serde_json::Value> {
    let records: Vec<serde_json::Value> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(records[0]["kind"], "meta");
    for (i, pair) in records.windows(2).enumerate() {
        assert_eq!(pair[1]["seq"], i as u64 + 1, "{}", pair[1]);
        assert!(pair[1]["t_ms"].as_f64() >= pair[0]["t_ms"].as_f64());
    }
    records
}

fn count(records: &[serde_json::Value], kind: &str) -> usize {
    records.iter().filter(|r| r["kind"] == kind).count()
}

/// `GET /ari/asterisk/info` with the credentials in `api_key`: the status line.
fn info_with_api_key(url: &str) -> String {
    use std::io::Write;
    let address = url.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .write_all(b"GET /ari/asterisk/info?api_key=asterisk:asterisk HTTP/1.1\r\nHost: pbx\r\nConnection: close\r\n\r\n")
        .unwrap();
    // One answer, read by its length (the fake keeps the connection open).
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).unwrap();
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if n == 0 || body.len() >= length {
                return head.lines().next().unwrap_or_default().to_string();
            }
        }
        assert!(n > 0, "no answer: {text}");
    }
}

#[test]
fn record_ari_between_the_client_and_asterisk_then_check_and_serve_it() {
    let (serve, fake, serve_out) = serve_in_background(&traces().join("hello-world.jsonl"));
    let file = scratch("record-ari.jsonl");
    let (record, line, record_out) = record_in_background(&[
        "record",
        "ari",
        "--to",
        &fake,
        "--out",
        file.to_str().unwrap(),
    ]);
    let url = line.strip_prefix("ARI_URL=").unwrap().to_string();
    // One request with the credentials in the query, then the recorded
    // client: `ast events` and eight `ast call`s.
    assert_eq!(info_with_api_key(&url), "HTTP/1.1 200 OK");
    let (answers, events) = play_hello_world(&url, &[], None);
    assert_eq!(events.lines().count(), 31, "{events}");
    assert!(served(serve, serve_out).contains("trace played: true; 8 answers, 31 frames"));

    // Valid JSON Lines while recording, the meta line not complete yet.
    assert_eq!(capture(&file)[0]["asterisk_version"], "");
    let said = recorded(record, record_out, true);
    assert!(said.contains("ws1: /ari/events?app=hello -> 101"), "{said}");
    assert!(
        said.contains("    3 POST /ari/channels?endpoint=PJSIP/hello@loop&app=hello"),
        "{said}"
    );
    assert!(
        said.contains("ws1: closed by the client (31 messages)"),
        "{said}"
    );
    assert!(
        said.contains("stopped (interrupted): 53 records (10 requests, 1 WebSockets)"),
        "{said}"
    );
    let records = capture(&file);
    let meta = &records[0];
    assert_eq!(meta["format"], 1);
    assert_eq!(meta["scenario"], "record-ari");
    assert_eq!(meta["asterisk_version"], "22.10.1");
    assert_eq!(meta["apps"], serde_json::json!(["hello"]));
    assert_eq!(
        meta["client_ids"],
        serde_json::json!(
            conformance::bundled_trace("hello-world.jsonl")
                .unwrap()
                .meta
                .client_ids
        )
    );
    assert_eq!(count(&records, "ws_open"), 1);
    assert_eq!(count(&records, "ws_recv"), 31);
    assert_eq!(count(&records, "http_request"), 10);
    assert_eq!(count(&records, "http_response"), 10);
    // Last on the WebSocket, the client closes (its close frame carries
    // no code). The last `ast call`'s answer may be recorded after it: the
    // two clients run side by side.
    let close = records
        .iter()
        .rev()
        .find(|r| r["kind"].as_str().is_some_and(|k| k.starts_with("ws_")))
        .unwrap();
    assert_eq!(
        (&close["kind"], &close["by"], close.get("code")),
        (&"ws_close".into(), &"client".into(), None)
    );
    // No secret: the credentials are named, never written.
    assert_eq!(records[1]["auth"], "api_key");
    assert_eq!(records[1]["query"], serde_json::json!([]));
    assert!(
        records[3..]
            .iter()
            .all(|r| r.get("auth").is_none_or(|a| a == "basic"))
    );
    let text = std::fs::read_to_string(&file).unwrap();
    for secret in [
        "api_key=",
        "asterisk:asterisk",
        "YXN0ZXJpc2s6YXN0ZXJpc2s=",
        "uthorization",
    ] {
        assert!(!text.contains(secret), "{secret} written");
    }

    let out = run(ast(&["check", file.to_str().unwrap()]));
    expect(&out, 0);
    assert!(stdout(&out).starts_with("ok   "), "{}", stdout(&out));

    // Played back to the same client, which gets the same answers and events.
    let (serve, url, serve_out) = serve_in_background(&file);
    assert_eq!(info_with_api_key(&url), "HTTP/1.1 200 OK");
    let (answers_again, events_again) = play_hello_world(&url, &[], None);
    assert_eq!(answers_again, answers);
    assert_eq!(events_again, events);
    assert!(served(serve, serve_out).contains("trace played: true; 10 answers, 31 frames"));
}

#[test]
fn record_ami_writes_no_secret_and_plays_back() {
    // ami-command.jsonl without the Command that `ami command` never sends.
    let file = traces().join("ami/ami-command.jsonl");
    let cut = write_trace(
        "record-command-source.jsonl",
        &lines_of(&file, |s| !(19..=20).contains(&s)),
    );
    let (serve, fake, serve_out) = serve_in_background(&cut);
    let capture_file = scratch("record-ami.jsonl");
    let (record, line, record_out) = record_in_background(&[
        "record",
        "ami",
        "--to",
        &fake,
        "--out",
        capture_file.to_str().unwrap(),
        "--once",
    ]);
    let via = line.strip_prefix("AMI_URL=").unwrap().to_string();
    let first = ami_client(AMI_COMMANDS, &via, "amp111", "plain");
    expect(&first, 1); // "no such command here"
    // --once: the recorder stops by itself once the client has gone.
    let said = recorded(record, record_out, false);
    // Who closes first after the Logoff is a race, both ways genuine.
    assert!(
        said.contains("c1: closed by the ") && said.contains(" (9 sent, "),
        "{said}"
    );
    assert!(
        said.contains("stopped (no connection open any more): 21 records in ")
            && said.contains("; Asterisk 22.10.1, AMI 11.0.0"),
        "{said}"
    );
    assert!(served(serve, serve_out).contains("trace played: true; 9 of 9 actions matched"));

    let records = capture(&capture_file);
    assert_eq!(records[0]["protocol"], "ami");
    assert_eq!(records[0]["asterisk_version"], "22.10.1");
    assert_eq!(records[0]["ami_version"], "11.0.0");
    assert_eq!(
        records[0]["client_ids"]["action_ids"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    assert_eq!(records[2]["text"], "Asterisk Call Manager/11.0.0\r\n");
    let login = records[3]["text"].as_str().unwrap();
    assert!(login.contains("\r\nSecret: <redacted>\r\n"), "{login}");
    assert!(
        !std::fs::read_to_string(&capture_file)
            .unwrap()
            .contains("amp111")
    );

    let out = run(ast(&["check", capture_file.to_str().unwrap()]));
    expect(&out, 0);

    let (serve, address, serve_out) = serve_in_background(&capture_file);
    let again = ami_client(AMI_COMMANDS, &address, "amp111", "plain");
    expect(&again, 1);
    assert_eq!(stdout(&again), stdout(&first));
    assert!(served(serve, serve_out).contains("trace played: true; 9 of 9 actions matched"));
}

#[test]
fn record_ami_md5_login_writes_no_key() {
    // A challenge login (the key left out already), Ping, and the Logoff
    // a closing session writes.
    let c1 = |seq: u64, kind: &str, text: &str| {
        serde_json::json!({"seq": seq, "t_ms": seq, "kind": kind, "conn": "c1", "text": text})
            .to_string()
    };
    let source = write_trace(
        "record-md5-source.jsonl",
        &[
            r#"{"seq":0,"t_ms":0,"kind":"meta","format":1,"protocol":"ami","scenario":"md5","asterisk_version":"22.10.1","ami_version":"11.0.0"}"#.to_string(),
            r#"{"seq":1,"t_ms":1,"kind":"tcp_open","conn":"c1"}"#.to_string(),
            c1(2, "recv", "Asterisk Call Manager/11.0.0\r\n"),
            c1(3, "send", "Action: Challenge\r\nActionID: m-1\r\nAuthType: MD5\r\n\r\n"),
            c1(4, "recv", "Response: Success\r\nActionID: m-1\r\nChallenge: 768386113\r\n\r\n"),
            c1(5, "send", "Action: Login\r\nActionID: m-2\r\nUsername: admin\r\nEvents: off\r\nAuthType: MD5\r\nKey: <redacted>\r\n\r\n"),
            c1(6, "recv", "Response: Success\r\nActionID: m-2\r\nMessage: Authentication accepted\r\n\r\n"),
            c1(7, "send", "Action: Ping\r\nActionID: m-3\r\n\r\n"),
            c1(8, "recv", "Response: Success\r\nActionID: m-3\r\nPing: Pong\r\nTimestamp: 1796394698.840454\r\n\r\n"),
            c1(9, "send", "Action: Logoff\r\n\r\n"),
            c1(10, "recv", "Response: Goodbye\r\nMessage: Thanks for all the fish.\r\n\r\n"),
            r#"{"seq":11,"t_ms":11,"kind":"tcp_close","conn":"c1","by":"server"}"#.to_string(),
        ],
    );
    const SECRET: &str = "hunter2-md5-secret";
    let ping = ["ami", "action", "Ping"];
    let (serve, fake, serve_out) = serve_in_background(&source);
    let capture_file = scratch("record-md5.jsonl");
    let (record, line, record_out) = record_in_background(&[
        "record",
        "ami",
        "--to",
        &format!("tcp://{fake}"),
        "--out",
        capture_file.to_str().unwrap(),
        "--once",
    ]);
    let out = ami_client(&ping, line.strip_prefix("AMI_URL=").unwrap(), SECRET, "md5");
    expect(&out, 0);
    assert!(stdout(&out).contains("Ping: Pong"), "{}", stdout(&out));
    recorded(record, record_out, false);
    served(serve, serve_out);

    let text = std::fs::read_to_string(&capture_file).unwrap();
    assert!(!text.contains(SECRET));
    assert_eq!(text.matches("Key: ").count(), 1);
    assert!(text.contains(r"\r\nKey: <redacted>\r\n"), "{text}");
    let out = run(ast(&["check", "-v", capture_file.to_str().unwrap()]));
    expect(&out, 0);
    assert!(
        stdout(&out).contains("the trace's key was redacted"),
        "{}",
        stdout(&out)
    );

    let (serve, address, serve_out) = serve_in_background(&capture_file);
    expect(&ami_client(&ping, &address, SECRET, "md5"), 0);
    assert!(served(serve, serve_out).contains("trace played: true; 4 of 4 actions matched"));
}

#[test]
fn record_agi_writes_every_call_at_once_then_check_and_replay() {
    let dir = scratch("record-agi");
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("quickstart.agi");
    std::fs::write(&script, QUICKSTART_SCRIPT.join("\n") + "\n").unwrap();
    let server = support::free_local_address();
    let (mut serving, banner, _) =
        support::announced(agi_serve(&server, &script), Stdio::null(), 1);
    assert!(banner[0].starts_with("FastAGI server on"), "{}", banner[0]);

    let capture_file = dir.join("calls.jsonl");
    let (record, line, record_out) = record_in_background(&[
        "record",
        "agi",
        "--listen",
        "127.0.0.1:0",
        "--to",
        &server,
        "--out",
        capture_file.to_str().unwrap(),
    ]);
    let via = line
        .strip_prefix("AGI(agi://")
        .and_then(|l| l.strip_suffix("/...)"))
        .unwrap()
        .to_string();
    // Three quickstart calls at once, Asterisk's side played by the player.
    let one: Vec<String> = lines_of(&quickstart_trace(), |_| true);
    let mut three = vec![one[0].clone()];
    for conn in ["a1", "a2", "a3"] {
        three.extend(
            one[1..]
                .iter()
                .map(|l| l.replace(r#""conn":"a1""#, &format!(r#""conn":"{conn}""#))),
        );
    }
    let three = conformance::agi_check::AgiTrace::parse(&three.join("\n")).unwrap();
    let reports = conformance::agi_serve::play_all_concurrently(
        &three,
        via.parse().unwrap(),
        &conformance::agi_serve::AgiPlayOptions::default(),
    );
    assert_eq!(reports.len(), 3);
    for report in &reports {
        assert!(report.is_clean(), "{report}");
    }
    let said = recorded(record, record_out, true);
    assert_eq!(said.matches(": ended, 6 commands").count(), 3, "{said}");
    assert!(said.contains("Asterisk 22.10.1"), "{said}");

    let records = capture(&capture_file);
    assert_eq!(records[0]["protocol"], "fastagi");
    assert_eq!(records[0]["asterisk_version"], "22.10.1");
    for conn in ["a1", "a2", "a3"] {
        let of = |kind: &str| {
            records
                .iter()
                .filter(|r| r["conn"] == conn && r["kind"] == kind)
                .count()
        };
        assert_eq!(
            (of("tcp_open"), of("send"), of("tcp_close")),
            (1, 6, 2),
            "{conn}"
        );
    }
    let out = run(ast(&["check", capture_file.to_str().unwrap()]));
    expect(&out, 0);
    assert!(stdout(&out).starts_with("ok   "), "{}", stdout(&out));
    // Played back as Asterisk to the same server: every call as recorded.
    let out = run(ast(&[
        "agi",
        "replay",
        capture_file.to_str().unwrap(),
        "--to",
        &server,
    ]));
    expect(&out, 0);
    assert_eq!(
        stdout(&out).matches("6/6 commands matched").count(),
        3,
        "{}",
        stdout(&out)
    );
    // `ast serve` says how to play a FastAGI trace instead.
    let out = run(ast(&["serve", capture_file.to_str().unwrap()]));
    expect(&out, 2);
    assert!(stderr(&out).contains("ast agi replay"), "{}", stderr(&out));
    let _ = serving.kill();
    let _ = serving.wait();
}

/// A TLS-terminating proxy in front of `backend` on a thread of its own,
/// with a self-signed certificate for 127.0.0.1 made here: its https://
/// URL and the certificate's PEM file.
fn tls_proxy(backend: std::net::SocketAddr) -> (String, PathBuf) {
    use futures_rustls::rustls;
    use futures_util::{AsyncReadExt, AsyncWriteExt};
    use std::sync::Arc;
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap();
    let pem = scratch(&format!("proxy-{}.pem", address.port()));
    std::fs::write(&pem, made.cert.pem()).unwrap();
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![made.cert.der().clone()], key.into())
        .unwrap();
    let acceptor = futures_rustls::TlsAcceptor::from(Arc::new(server));
    let url = format!("https://{address}");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A refused handshake (an untrusted certificate) ends here.
                    let Ok(tls) = acceptor.accept(ari_tokio::Compat::from(tcp)).await else {
                        return;
                    };
                    let back = tokio::net::TcpStream::connect(backend).await.unwrap();
                    let (tls_r, mut tls_w) = tls.split();
                    let (back_r, mut back_w) = ari_tokio::Compat::from(back).split();
                    let up = async {
                        let _ = futures_util::io::copy(tls_r, &mut back_w).await;
                        let _ = back_w.close().await;
                    };
                    let down = async {
                        let _ = futures_util::io::copy(back_r, &mut tls_w).await;
                        let _ = tls_w.close().await;
                    };
                    futures_util::future::join(up, down).await;
                });
            }
        });
    });
    (url, pem)
}

#[test]
fn https_with_a_private_certificate() {
    // info: the same over https (--ca) as over http.
    let system_info = || fake_ari(ari_subset("system-info.jsonl", &[2, 3, 8, 9]));
    let plain = system_info();
    let over_http = ari_client(&["info"], &plain.base_url());
    expect(&over_http, 0);
    let fake = system_info();
    let (url, pem) = tls_proxy(fake.addr());
    let over_https = ari_client(&["info", "--ca", pem.to_str().unwrap()], &url);
    expect(&over_https, 0);
    assert_eq!(
        stdout(&over_https),
        stdout(&over_http).replace(&plain.base_url(), &url)
    );
    assert_eq!(stderr(&over_https), "");
    assert_played_whole(fake);

    // events and call (--ca, ARI_CA): hello-world.jsonl as over http.
    let plain = fake_hello_world();
    let over_http = play_hello_world(&plain.base_url(), &[], None);
    let fake = fake_hello_world();
    let (url, pem) = tls_proxy(fake.addr());
    let over_https = play_hello_world(&url, &[], Some(&pem));
    assert_eq!(over_https, over_http);
    assert_eq!(over_https.1.lines().count(), 31);
    assert_played_whole(fake);

    // Not trusted without --ca: one line naming the way to trust it.
    let refused = "invalid peer certificate: UnknownIssuer (trust its CA or certificate with";
    for (args, says) in [
        (
            &["info"][..],
            format!(
                "ast: cannot reach {url}: TLS with 127.0.0.1: {refused} --ca FILE or ARI_CA)\n"
            ),
        ),
        (
            &["call", "asterisk", "ping"],
            format!(
                "ast: cannot reach {url}: TLS with 127.0.0.1: {refused} --ca FILE or ARI_CA)\n"
            ),
        ),
        (
            &["top", "--once"],
            format!(
                "ast: {url}: transport failed: TLS with 127.0.0.1: {refused} --ari-ca FILE or ARI_CA)\n"
            ),
        ),
    ] {
        let out = ari_client(args, &url);
        expect(&out, 1);
        assert_eq!(stderr(&out), says, "{args:?}");
    }
    let out = ari_client(&["events", "hello"], &url);
    expect(&out, 1);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("ast: cannot connect to {url}: "))
            && err.ends_with(&format!(
                "TLS with 127.0.0.1: {refused} --ca FILE or ARI_CA)\n"
            )),
        "{err}"
    );

    // A file with no certificate in it: a usage error.
    let empty = scratch("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    for ca in [empty.as_path(), Path::new("/no/such/ca.pem")] {
        let out = ari_client(&["info", "--ca", ca.to_str().unwrap()], &url);
        expect(&out, 2);
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!("ast: --ca {}: ", ca.display())),
            "{err}"
        );
    }
}
