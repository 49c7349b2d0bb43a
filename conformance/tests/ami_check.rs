//! The AMI checks: the recorded traces pass them, and a broken trace (a
//! message that re-encodes to other bytes, one that does not decode, an
//! untyped event or header, an action the typed builders cannot make, an
//! action never answered) fails them.

use conformance::ami_check::{is_field, reproduce_action, typed_action};
use conformance::{AmiTrace, AnyTrace, Report, check_ami_trace, replay_ami};
use serde_json::json;
use std::collections::BTreeSet;

const BANNER: &str = "Asterisk Call Manager/11.0.0\r\n";

/// An AMI trace of one connection: `records` are `("recv"|"send", text)`.
fn trace(records: &[(&str, &str)]) -> AmiTrace {
    let mut lines = vec![
        json!({"seq": 0, "kind": "meta", "format": 1, "protocol": "ami", "scenario": "t",
               "ami_version": "11.0.0"}),
        json!({"seq": 1, "kind": "tcp_open", "conn": "c1"}),
        json!({"seq": 2, "kind": "recv", "conn": "c1", "text": BANNER}),
    ];
    for (kind, text) in records {
        let seq = lines.len();
        lines.push(json!({"seq": seq, "kind": kind, "conn": "c1", "text": text}));
    }
    let seq = lines.len();
    lines.push(json!({"seq": seq, "kind": "tcp_close", "conn": "c1", "by": "client"}));
    let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    AmiTrace::parse(&text.join("\n")).unwrap()
}

const LOGIN: (&str, &str) = (
    "send",
    "Action: Login\r\nActionID: l-1\r\nUsername: admin\r\nSecret: amp111\r\n\r\n",
);
const LOGGED_IN: (&str, &str) = (
    "recv",
    "Response: Success\r\nActionID: l-1\r\nMessage: Authentication accepted\r\n\r\n",
);
const BOOTED: &str = "Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 5\r\nLastReload: 5\r\nStatus: Fully Booted\r\n\r\n";

fn failures_of(report: &Report) -> String {
    report.failures.join("\n")
}

#[test]
fn a_well_formed_trace_passes() {
    let t = trace(&[
        LOGIN,
        LOGGED_IN,
        ("recv", BOOTED),
        ("send", "Action: Ping\r\nActionID: p-2\r\n\r\n"),
        (
            "recv",
            "Response: Success\r\nActionID: p-2\r\nPing: Pong\r\nTimestamp: 1.2\r\n\r\n",
        ),
    ]);
    let report = check_ami_trace(&t);
    assert!(report.failures.is_empty(), "{}", failures_of(&report));
    // Banner, 3 received messages, 2 actions, 2 actions written by the
    // session, answers and events accounted for.
    assert_eq!(report.passed, 10, "{report:?}");
}

#[test]
fn a_message_that_re_encodes_to_other_bytes_fails() {
    // A stray empty line before the message: the decoder skips it, so the
    // message it gives is not the bytes recorded.
    let t = trace(&[LOGIN, LOGGED_IN, ("recv", &format!("\r\n{BOOTED}"))]);
    let report = check_ami_trace(&t);
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.starts_with("seq 5: c1 received message: re-encodes to other bytes")),
        "{}",
        failures_of(&report)
    );
}

#[test]
fn an_undecodable_message_fails() {
    // No empty line at the end: no message comes out.
    let t = trace(&[
        LOGIN,
        LOGGED_IN,
        ("recv", "Event: Hangup\r\nChannel: PJSIP/a-1\r\n"),
        ("recv", "Ping: Pong\r\n\r\n"),
        ("recv", BOOTED),
    ]);
    let report = check_ami_trace(&t);
    let f = failures_of(&report);
    assert!(
        f.contains(
            "seq 5: c1 received message: does not decode: 35 bytes do not end in an empty line"
        ),
        "{f}"
    );
    assert!(
        f.contains("seq 6: c1 message: neither a response nor an event"),
        "{f}"
    );
    // The decoder starts afresh after a broken message: the next one passes.
    assert!(!f.contains("seq 7"), "{f}");
}

#[test]
fn a_connection_without_a_banner_fails() {
    let mut t = trace(&[]);
    t.records[1].kind = conformance::ami_trace::AmiKind::Recv(b"SSH-2.0-OpenSSH\r\n".to_vec());
    let report = check_ami_trace(&t);
    assert!(
        failures_of(&report).contains("c1 banner: not an AMI banner"),
        "{report:?}"
    );
}

#[test]
fn untyped_events_and_headers_fail() {
    let t = trace(&[
        LOGIN,
        LOGGED_IN,
        (
            "recv",
            "Event: NoSuchEventEver\r\nPrivilege: call,all\r\n\r\n",
        ),
        (
            "recv",
            "Event: Hangup\r\nPrivilege: call,all\r\nChannel: PJSIP/a-1\r\nX-Extra: 1\r\nCause: 16\r\n\r\n",
        ),
        ("recv", "Event: CloseSession\r\nCloseSession: true\r\n\r\n"),
    ]);
    let report = check_ami_trace(&t);
    let f = failures_of(&report);
    assert!(
        f.contains("seq 5: c1 event NoSuchEventEver: no type for the event \"NoSuchEventEver\""),
        "{f}"
    );
    assert!(
        f.contains("seq 6: c1 event Hangup: Hangup has no accessor for X-Extra"),
        "{f}"
    );
    assert!(!f.contains("seq 7"), "a known undocumented event: {f}");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("CloseSession: a known undocumented event")),
        "{report:?}"
    );
}

#[test]
fn an_action_the_builders_cannot_make_fails_unless_asterisk_refused_it() {
    let bogus = "Action: Originate\r\nActionID: o-2\r\nChannel: PJSIP/1\r\nBogus: 1\r\n\r\n";
    let answered = |response: &str| {
        trace(&[
            LOGIN,
            LOGGED_IN,
            ("send", bogus),
            (
                "recv",
                &format!("Response: {response}\r\nActionID: o-2\r\nMessage: x\r\n\r\n"),
            ),
        ])
    };
    let report = check_ami_trace(&answered("Success"));
    assert!(
        failures_of(&report).contains(
            "seq 5: c1 action Originate: the typed builder sends other headers (missing [\"bogus: 1\"], extra [])"
        ),
        "{report:?}"
    );
    let report = check_ami_trace(&answered("Error"));
    assert!(report.failures.is_empty(), "{}", failures_of(&report));
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("not expressible with the typed builders")),
        "{report:?}"
    );
    // An action no builder is named after.
    let t = trace(&[
        LOGIN,
        LOGGED_IN,
        ("send", "Action: Frobnicate\r\nActionID: f-2\r\n\r\n"),
        (
            "recv",
            "Response: Success\r\nActionID: f-2\r\nMessage: ok\r\n\r\n",
        ),
    ]);
    assert!(
        failures_of(&check_ami_trace(&t))
            .contains("no typed builder for the action \"Frobnicate\""),
    );
}

#[test]
fn an_unanswered_action_fails_the_replay() {
    let t = trace(&[
        LOGIN,
        LOGGED_IN,
        ("send", "Action: Ping\r\nActionID: p-2\r\n\r\n"),
    ]);
    let mut report = Report::default();
    let tally = replay_ami(&t, &mut report);
    assert_eq!((tally.connections, tally.logins, tally.answers), (1, 1, 0));
    assert!(
        failures_of(&report)
            .contains("replay c1: every action answered once: 0 answers to 1 actions"),
        "{report:?}"
    );
}

#[test]
fn a_login_the_session_would_not_write_fails_the_replay() {
    // A login with an extra header the session never writes.
    let t = trace(&[
        (
            "send",
            "Action: Login\r\nActionID: l-1\r\nUsername: admin\r\nSecret: amp111\r\nX: y\r\n\r\n",
        ),
        LOGGED_IN,
    ]);
    let mut report = Report::default();
    replay_ami(&t, &mut report);
    assert!(
        failures_of(&report).contains("replay c1 Login written as recorded: the session wrote"),
        "{report:?}"
    );
}

#[test]
fn field_patterns() {
    let fields = ["Channel", "Report{n}SourceSSRC"];
    assert!(is_field(&fields, "Channel"));
    assert!(is_field(&fields, "Report0SourceSSRC"));
    assert!(is_field(&fields, "Report12SourceSSRC"));
    assert!(!is_field(&fields, "ReportSourceSSRC"));
    assert!(!is_field(&fields, "ReportXSourceSSRC"));
    assert!(!is_field(&fields, "channel"));
}

// ------------------------------------------------- the recorded traces

fn bundled() -> Vec<(String, AmiTrace)> {
    let files = conformance::bundled_ami_traces();
    assert!(files.len() >= 10, "the AMI traces are part of the crate");
    files
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            match AnyTrace::read(p).unwrap() {
                AnyTrace::Ami(t) => (name, t),
                AnyTrace::Ari(_) => panic!("{name} read as ARI"),
            }
        })
        .collect()
}

#[test]
fn every_bundled_ami_trace_passes() {
    let mut checks = 0;
    for (name, t) in bundled() {
        let report = check_ami_trace(&t);
        assert!(
            report.failures.is_empty(),
            "{name}:\n{}",
            failures_of(&report)
        );
        checks += report.passed;
    }
    assert!(checks > 3_900, "{checks}");
}

/// The recorded probes no typed builder makes, each refused by Asterisk.
#[test]
fn only_refused_probes_are_beyond_the_builders() {
    let mut beyond = BTreeSet::new();
    for (name, t) in bundled() {
        let mut report = Report::default();
        conformance::ami_check::check_sent_actions(&t, &mut report);
        assert!(report.failures.is_empty(), "{name}: {report:?}");
        for note in report.notes {
            if let Some((_, why)) = note.split_once("not expressible with the typed builders (") {
                beyond.insert(format!("{name}: {}", why.split(')').next().unwrap()));
            }
        }
    }
    let expected: BTreeSet<String> = [
        "ami-command.jsonl: no Command",
        "ami-errors.jsonl: no Action header",
        "ami-errors.jsonl: no Channel",
        "ami-errors.jsonl: no Variable",
        "ami-errors.jsonl: no typed builder for the action \"NoSuchAction\"",
        "ami-getconfig.jsonl: no Filename",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    assert_eq!(beyond, expected);
}

#[test]
fn typed_actions_ignore_case_of_the_name() {
    let mut d = ami_proto::Decoder::for_actions(1 << 20);
    d.feed(b"Action: ping\r\nActionID: a\r\nActionID: b\r\n\r\n");
    let Ok(Some(ami_proto::Frame::Message(m))) = d.next_frame() else {
        panic!()
    };
    assert_eq!(typed_action(&m).unwrap().unwrap().name(), "Ping");
    assert_eq!(reproduce_action(&m), Ok(()));
}

/// Every recorded connection replays through the session (what
/// `ami-proto/tests/replay.rs` checks from inside ami-proto).
#[test]
fn every_recorded_connection_replays_through_the_session() {
    let mut total = conformance::AmiReplayTally::default();
    for (name, t) in bundled() {
        let mut report = Report::default();
        let tally = replay_ami(&t, &mut report);
        assert!(report.failures.is_empty(), "{name}: {report:?}");
        total.connections += tally.connections;
        total.logins += tally.logins;
        total.answers += tally.answers;
        total.events += tally.events;
        total.gathered += tally.gathered;
    }
    assert!(total.connections >= 20, "{total:?}");
    // One recorded login is refused (ami-login c3, a wrong password).
    assert_eq!(total.logins, total.connections - 1, "{total:?}");
    assert!(total.answers >= 450, "{total:?}");
    assert!(total.events >= 2_000, "{total:?}");
    assert!(total.gathered >= 50, "{total:?}");
}

/// How the recorded connections group into clients.
#[test]
fn recorded_clients_group_reconnects() {
    let shapes: Vec<(String, Vec<usize>)> = bundled()
        .iter()
        .map(|(name, t)| {
            let clients = conformance::ami_replay::recorded_clients(t);
            (
                name.clone(),
                clients.iter().map(|c| c.connections.len()).collect(),
            )
        })
        .collect();
    let of = |n: &str| shapes.iter().find(|(name, _)| name == n).unwrap().1.clone();
    assert_eq!(of("ami-reconnect.jsonl"), [3], "c1, the refused c2 and c3");
    assert_eq!(of("ami-login.jsonl"), [1, 1, 1]);
    assert_eq!(of("ami-load.jsonl"), [1; 6]);
}
