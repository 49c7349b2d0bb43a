//! The generated events and actions against the recorded AMI sessions
//! (Asterisk 22.10.1, `conformance/traces/ami`): accessors read the raw
//! values, channel variables of both forms are read, classification
//! ignores case. That every traced event is typed with every header
//! covered, and that the typed builders send every traced action, is
//! checked by `conformance` (`ast check`, and its
//! `tests/ami_check.rs`), which depends on this crate.

use ami_proto::{Decoder, ENVELOPE_HEADERS, Event, Frame, Kind, Message, is_chan_variable};
use serde_json::Value;
use std::path::PathBuf;

/// Every (file, kind, message) of the traces, in order.
fn messages() -> Vec<(String, String, Message)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../conformance/traces/ami");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    assert!(files.len() >= 10);
    let mut out = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let r: Value = serde_json::from_str(line).unwrap();
            let kind = r["kind"].as_str().unwrap();
            if kind != "recv" && kind != "send" {
                continue;
            }
            let text = r["text"].as_str().unwrap();
            let mut decoder = if kind == "recv" {
                let mut d = Decoder::default();
                d.feed(b"Asterisk Call Manager/11.0.0\r\n");
                d.next_frame().unwrap();
                d
            } else {
                Decoder::for_actions(1 << 20)
            };
            decoder.feed(text.as_bytes());
            while let Some(Frame::Message(m)) = decoder.next_frame().unwrap() {
                out.push((name.clone(), kind.to_string(), m));
            }
        }
    }
    out
}

/// Whether `header` is one of `fields` (`{n}` standing for a number).
fn is_field(fields: &[&str], header: &str) -> bool {
    fields.iter().any(|f| match f.split_once("{n}") {
        None => *f == header,
        Some((pre, post)) => header
            .strip_prefix(pre)
            .and_then(|rest| rest.strip_suffix(post))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit())),
    })
}

fn events() -> Vec<(String, Event)> {
    messages()
        .into_iter()
        .filter(|(_, kind, m)| kind == "recv" && matches!(m.kind(), Kind::Event(_)))
        .map(|(file, _, m)| (file, Event::from_message(m)))
        .collect()
}

use ami_proto::ToAction;
use ami_proto::actions::*;

// ------------------------------------------------------------ accessors

/// The first traced event of each type in `names`.
fn first_of(names: &[&str]) -> Vec<Event> {
    let mut out = Vec::new();
    for name in names {
        let found = events()
            .into_iter()
            .map(|(_, e)| e)
            .find(|e| e.name() == *name)
            .unwrap_or_else(|| panic!("no {name} in the traces"));
        out.push(found);
    }
    out
}

#[test]
fn accessors_read_the_raw_values() {
    let sample = first_of(&[
        "Newchannel",
        "Hangup",
        "VarSet",
        "DialBegin",
        "CoreShowChannel",
        "OriginateResponse",
        "Newexten",
        "AsyncAGIExec",
        "RTCPSent",
        "QueueParams",
        "ListDialplan",
    ]);
    let raw = |e: &Event, h: &str| e.message().get(h).map(|v| v.to_string());
    let text = |v: Option<ami_proto::Text<'_>>| v.map(|t| t.to_string());
    for e in &sample {
        match e {
            Event::Newchannel(n) => {
                assert_eq!(text(n.channel()), raw(e, "Channel"));
                assert_eq!(text(n.uniqueid()), raw(e, "Uniqueid"));
                assert_eq!(text(n.caller_id_num()), raw(e, "CallerIDNum"));
                assert_eq!(
                    n.channel_state_desc().map(|s| s.to_string()),
                    raw(e, "ChannelStateDesc")
                );
                assert!(n.tenantid().is_none(), "not set in the traces");
            }
            Event::Hangup(h) => {
                assert_eq!(text(h.cause()), raw(e, "Cause"));
                assert_eq!(text(h.cause_txt()), raw(e, "Cause-txt"));
                assert_eq!(text(h.linkedid()), raw(e, "Linkedid"));
            }
            Event::VarSet(v) => {
                assert_eq!(text(v.variable()), raw(e, "Variable"));
                assert_eq!(text(v.value()), raw(e, "Value"));
            }
            Event::DialBegin(d) => {
                assert_eq!(text(d.dest_channel()), raw(e, "DestChannel"));
                assert_eq!(text(d.dest_uniqueid()), raw(e, "DestUniqueid"));
                assert_eq!(text(d.dial_string()), raw(e, "DialString"));
                assert_eq!(
                    d.dest_channel_state_desc().map(|s| s.as_str().to_string()),
                    raw(e, "DestChannelStateDesc")
                );
            }
            Event::CoreShowChannel(c) => {
                assert_eq!(text(c.application()), raw(e, "Application"));
                assert_eq!(text(c.duration()), raw(e, "Duration"));
                assert_eq!(text(c.bridge_id()), raw(e, "BridgeId"));
            }
            Event::OriginateResponse(o) => {
                assert_eq!(o.response().map(|r| r.to_string()), raw(e, "Response"));
                assert_eq!(text(o.reason()), raw(e, "Reason"));
                assert_eq!(text(o.uniqueid()), raw(e, "Uniqueid"));
            }
            Event::NewExten(n) => {
                assert_eq!(e.name(), "Newexten", "the wire's spelling");
                assert_eq!(text(n.application()), raw(e, "Application"));
                assert_eq!(text(n.app_data()), raw(e, "AppData"));
                assert_eq!(text(n.extension()), raw(e, "Extension"));
            }
            Event::AsyncAgiExec(a) => {
                assert_eq!(text(a.command_id()), raw(e, "CommandId"));
                assert_eq!(text(a.result()), raw(e, "Result"));
            }
            Event::RtcpSent(r) => {
                assert_eq!(text(r.report_source_ssrc(0)), raw(e, "Report0SourceSSRC"));
                assert_eq!(text(r.report_dlsr(0)), raw(e, "Report0DLSR"));
                assert_eq!(r.report_dlsr(1), None);
                assert_eq!(text(r.mes()), raw(e, "MES"));
            }
            Event::QueueParams(q) => {
                assert_eq!(text(q.queue()), raw(e, "Queue"));
                assert_eq!(text(q.service_level_perf2()), raw(e, "ServicelevelPerf2"));
            }
            Event::ListDialplan(l) => {
                assert_eq!(text(l.app_data()), raw(e, "AppData"));
                assert_eq!(text(l.registrar()), raw(e, "Registrar"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

// ----------------------------------------------------- channel variables

fn decode_event(text: &str) -> Event {
    let mut d = Decoder::default();
    d.feed(b"Asterisk Call Manager/11.0.0\r\n");
    d.feed(text.as_bytes());
    d.next_frame().unwrap();
    let Some(Frame::Message(m)) = d.next_frame().unwrap() else {
        panic!("{text:?}")
    };
    Event::from_message(m)
}

/// The traces carry no channel variables (manager.conf set no
/// `channelvars`), so they are written into traced events where Asterisk
/// writes them: `ChanVariable`/`DestChanVariable` after each snapshot
/// (main/manager_channels.c, values C-escaped), `ChanVariable(<name>)`
/// at the end (main/manager.c append_channel_vars, values as they are).
#[test]
fn chan_variables_of_both_forms() {
    let dial = events()
        .into_iter()
        .find(|(_, e)| e.name() == "DialBegin")
        .map(|(_, e)| e)
        .unwrap();
    let text = String::from_utf8(dial.message().as_bytes().to_vec()).unwrap();
    let text = text
        .replacen("\r\nDestChannel:", "\r\nChanVariable: COLOR=blue\r\nChanVariable: NOTE=a\\\\b \\\"q\\\"\\n\r\nDestChannel:", 1)
        .replacen("\r\nDialString:", "\r\nDestChanVariable: COLOR=red\r\nDestChanVariable: EMPTY=\r\nDialString:", 1)
        .replacen("\r\n\r\n", "\r\nChanVariable(PJSIP/loop-1): RAW=x\\ny\r\nChanVariable(PJSIP/loop-1): B=2\r\n\r\n", 1);
    let Event::DialBegin(d) = decode_event(&text) else {
        panic!()
    };
    let vars = d.chan_variables();
    type Vars = Vec<(String, Vec<u8>)>;
    let show: Vec<(String, Vars)> = vars
        .iter()
        .map(|c| {
            let who = match c.channel {
                ami_proto::VarChannel::Snapshot(p) => format!("snapshot {p}"),
                ami_proto::VarChannel::Named(n) => format!("named {n}"),
            };
            (
                who,
                c.vars
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_vec()))
                    .collect(),
            )
        })
        .collect();
    let v = |n: &str, b: &[u8]| (n.to_string(), b.to_vec());
    assert_eq!(
        show,
        [
            (
                "snapshot ".to_string(),
                vec![v("COLOR", b"blue"), v("NOTE", b"a\\b \"q\"\n")]
            ),
            (
                "snapshot Dest".to_string(),
                vec![v("COLOR", b"red"), v("EMPTY", b"")]
            ),
            (
                "named PJSIP/loop-1".to_string(),
                vec![v("RAW", b"x\\ny"), v("B", b"2")]
            ),
        ]
    );
    assert_eq!(vars[1].get("COLOR"), Some(&b"red"[..]));
    // The strict check knows them as envelope.
    for (name, _) in d.message().fields() {
        let name = name.to_str().unwrap();
        let known = is_field(ami_proto::events::DialBegin::FIELDS, name)
            || ENVELOPE_HEADERS.contains(&name)
            || is_chan_variable(name);
        assert!(known, "{name}");
    }
}

#[test]
fn classification_ignores_case_and_keeps_the_rest() {
    let e = decode_event(
        "Event: NEWEXTEN\r\nPrivilege: dialplan,all\r\nChannel: PJSIP/a\r\nX-Custom: 1\r\nX-Custom: 2\r\n\r\n",
    );
    let Event::NewExten(n) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(e.name(), "Newexten");
    assert_eq!(n.channel().unwrap(), "PJSIP/a");
    let custom: Vec<_> = n
        .message()
        .get_all("X-Custom")
        .map(|v| v.to_string())
        .collect();
    assert_eq!(custom, ["1", "2"]);
    let unknown = decode_event("Event: SomethingNew\r\nA: b\r\n\r\n");
    assert!(matches!(unknown, Event::Unknown(_)));
    assert_eq!(unknown.name(), "SomethingNew");
    assert!(unknown.fields().is_empty());
    let long = decode_event(&format!("Event: {}\r\n\r\n", "x".repeat(200)));
    assert!(matches!(long, Event::Unknown(_)));
    let mut d = Decoder::default();
    d.feed(b"Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nMessage: Pong\r\n\r\n");
    d.next_frame().unwrap();
    let Some(Frame::Message(m)) = d.next_frame().unwrap() else {
        panic!()
    };
    let e = Event::from_message(m.clone());
    assert_eq!(e.name(), "");
    assert_eq!(Message::from(e), m);
}

#[test]
fn action_facts_and_secrets() {
    assert_eq!(Originate::NAME, "Originate");
    assert_eq!(
        CoreShowChannels::INFO.list_complete,
        Some("CoreShowChannelsComplete")
    );
    assert_eq!(QueueStatus::INFO.list_complete, Some("QueueStatusComplete"));
    assert_eq!(Monitor::INFO.releases, ["20"]);
    assert!(LIST_ACTIONS.contains(&("ShowDialPlan", "ShowDialPlanComplete")));
    assert!(LIST_ACTIONS.windows(2).all(|w| w[0].0 < w[1].0));
    let login = Login::new("admin").secret("amp111").key("k3y");
    let shown = format!("{login:?}");
    assert!(
        !shown.contains("amp111") && !shown.contains("k3y"),
        "{shown}"
    );
    assert!(!format!("{:?}", login.to_action()).contains("amp111"));
    let change = ConfigChange::new(ConfigAction::Append)
        .cat("a")
        .var("v")
        .value("1");
    let a = UpdateConfig::new("f.conf", "f.conf")
        .change(ConfigChange::new("NewCat").cat("a"))
        .change(change)
        .to_action();
    let names: Vec<&str> = a.headers().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "SrcFilename",
            "DstFilename",
            "Action-000000",
            "Cat-000000",
            "Action-000001",
            "Cat-000001",
            "Var-000001",
            "Value-000001"
        ]
    );
}
