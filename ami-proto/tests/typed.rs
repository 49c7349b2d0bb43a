//! The generated events and actions against the recorded AMI sessions
//! (Asterisk 22.10.1, `conformance/traces/ami`): every event is typed and
//! every header it carries has an accessor (or is envelope), accessors
//! read the raw values, and the typed builders send what was recorded.

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

#[test]
fn every_traced_event_is_typed_and_every_header_known() {
    let mut gaps = std::collections::BTreeSet::new();
    let all = events();
    assert!(all.len() > 2400, "{}", all.len());
    for (file, event) in &all {
        if let Event::Unknown(m) = event {
            gaps.insert(format!(
                "{file}: untyped event {:?}",
                ami_proto::events::Event::name(event)
            ));
            let _ = m;
            continue;
        }
        // UserEvent re-emits whatever headers the client sent (main/manager.c
        // action_userevent): any header is its own by design.
        if matches!(event, Event::UserEvent(_)) {
            continue;
        }
        for (name, _) in event.message().fields() {
            let name = name.to_str().unwrap();
            if !is_field(event.fields(), name)
                && !ENVELOPE_HEADERS.contains(&name)
                && !is_chan_variable(name)
            {
                gaps.insert(format!(
                    "{file}: {} has no accessor for {name}",
                    event.name()
                ));
            }
        }
    }
    assert!(
        gaps.is_empty(),
        "{} gaps:\n{}",
        gaps.len(),
        gaps.into_iter().collect::<Vec<_>>().join("\n")
    );
}

// ------------------------------------------------------------- actions

use ami_proto::ToAction;
use ami_proto::actions::*;

fn opt(m: &Message, name: &str) -> Option<String> {
    m.get(name).map(|v| v.to_string())
}

fn req(m: &Message, name: &str) -> Result<String, String> {
    opt(m, name).ok_or_else(|| format!("no {name}"))
}

/// Sets each optional header the message has through its setter.
macro_rules! opts {
    ($b:expr, $m:expr, $($setter:ident = $header:literal),* $(,)?) => {{
        let mut b = $b;
        $(if let Some(v) = opt($m, $header) { b = b.$setter(v); })*
        b
    }};
}

/// The typed builder of the recorded action, filled from its headers:
/// `Ok(None)` if no type is named so, `Err` if a required header is
/// missing (the builder cannot leave it out).
fn typed(m: &Message) -> Result<Option<ami_proto::Action>, String> {
    let Kind::Action(name) = m.kind() else {
        return Ok(None);
    };
    let a = match name.to_string().to_ascii_lowercase().as_str() {
        "login" => opts!(
            Login::new(req(m, "Username")?),
            m,
            auth_type = "AuthType",
            secret = "Secret",
            key = "Key",
            events = "Events"
        )
        .to_action(),
        "logoff" => Logoff::new().to_action(),
        "ping" => Ping::new().to_action(),
        "challenge" => Challenge::new(req(m, "AuthType")?.as_str()).to_action(),
        "originate" => {
            let mut b = opts!(
                Originate::new(req(m, "Channel")?),
                m,
                exten = "Exten",
                context = "Context",
                priority = "Priority",
                application = "Application",
                data = "Data",
                timeout = "Timeout",
                caller_id = "CallerID",
                account = "Account",
                early_media = "EarlyMedia",
                r#async = "Async",
                codecs = "Codecs",
                channel_id = "ChannelId",
                other_channel_id = "OtherChannelId",
                pre_dial_go_sub = "PreDialGoSub"
            );
            for v in m.get_all("Variable") {
                b = b.variable(v.to_string());
            }
            b.to_action()
        }
        "agi" => opts!(
            Agi::new(req(m, "Channel")?, req(m, "Command")?),
            m,
            command_id = "CommandID"
        )
        .to_action(),
        "playdtmf" => opts!(
            PlayDtmf::new(req(m, "Channel")?, req(m, "Digit")?),
            m,
            duration = "Duration",
            receive = "Receive"
        )
        .to_action(),
        "setvar" => opts!(
            Setvar::new(req(m, "Variable")?, req(m, "Value")?),
            m,
            channel = "Channel"
        )
        .to_action(),
        "getvar" => opts!(Getvar::new(req(m, "Variable")?), m, channel = "Channel").to_action(),
        "redirect" => opts!(
            Redirect::new(
                req(m, "Channel")?,
                req(m, "Exten")?,
                req(m, "Context")?,
                req(m, "Priority")?
            ),
            m,
            extra_channel = "ExtraChannel",
            extra_exten = "ExtraExten",
            extra_context = "ExtraContext",
            extra_priority = "ExtraPriority"
        )
        .to_action(),
        "userevent" => {
            let mut b = UserEvent::new(req(m, "UserEvent")?);
            for (n, v) in m.fields() {
                if !["Action", "ActionID", "UserEvent"]
                    .iter()
                    .any(|h| n.eq_ignore_case(h))
                {
                    b = b.header(n.to_string(), v.to_string());
                }
            }
            b.to_action()
        }
        "hangup" => opts!(Hangup::new(req(m, "Channel")?), m, cause = "Cause").to_action(),
        "command" => Command::new(req(m, "Command")?).to_action(),
        "status" => opts!(
            Status::new(),
            m,
            channel = "Channel",
            variables = "Variables",
            all_variables = "AllVariables"
        )
        .to_action(),
        "coreshowchannels" => CoreShowChannels::new().to_action(),
        "coresettings" => CoreSettings::new().to_action(),
        "corestatus" => CoreStatus::new().to_action(),
        "listcommands" => ListCommands::new().to_action(),
        "pjsipshowendpoints" => PjsipShowEndpoints::new().to_action(),
        "pjsipshowendpoint" => PjsipShowEndpoint::new(req(m, "Endpoint")?).to_action(),
        "pjsipshowcontacts" => PjsipShowContacts::new().to_action(),
        "devicestatelist" => DeviceStateList::new().to_action(),
        "extensionstatelist" => ExtensionStateList::new().to_action(),
        "queuestatus" => {
            opts!(QueueStatus::new(), m, queue = "Queue", member = "Member").to_action()
        }
        "bridgelist" => opts!(BridgeList::new(), m, bridge_type = "BridgeType").to_action(),
        "parkinglots" => Parkinglots::new().to_action(),
        "showdialplan" => opts!(
            ShowDialPlan::new(),
            m,
            extension = "Extension",
            context = "Context"
        )
        .to_action(),
        "filter" => opts!(
            Filter::new(),
            m,
            operation = "Operation",
            match_criteria = "MatchCriteria",
            filter = "Filter"
        )
        .to_action(),
        "events" => Events::new(req(m, "EventMask")?).to_action(),
        "getconfig" => opts!(
            GetConfig::new(req(m, "Filename")?),
            m,
            category = "Category",
            filter = "Filter"
        )
        .to_action(),
        "getconfigjson" => opts!(
            GetConfigJson::new(req(m, "Filename")?),
            m,
            category = "Category",
            filter = "Filter"
        )
        .to_action(),
        "listcategories" => ListCategories::new(req(m, "Filename")?).to_action(),
        "createconfig" => CreateConfig::new(req(m, "Filename")?).to_action(),
        "updateconfig" => {
            let mut b = opts!(
                UpdateConfig::new(req(m, "SrcFilename")?, req(m, "DstFilename")?),
                m,
                reload = "Reload",
                preserve_effective_context = "PreserveEffectiveContext"
            );
            let mut i = 0;
            while let Some(action) = opt(m, &format!("Action-{i:06}")) {
                let n = |h: &str| format!("{h}-{i:06}");
                let mut c = ConfigChange::new(action.as_str());
                if let Some(v) = opt(m, &n("Cat")) {
                    c = c.cat(v);
                }
                if let Some(v) = opt(m, &n("Var")) {
                    c = c.var(v);
                }
                if let Some(v) = opt(m, &n("Value")) {
                    c = c.value(v);
                }
                if let Some(v) = opt(m, &n("Match")) {
                    c = c.r#match(v);
                }
                if let Some(v) = opt(m, &n("Line")) {
                    c = c.line(v);
                }
                if let Some(v) = opt(m, &n("Options")) {
                    c = c.options(v);
                }
                b = b.change(c);
                i += 1;
            }
            b.to_action()
        }
        _ => return Ok(None),
    };
    Ok(Some(a))
}

/// Header names in lower case (Asterisk ignores their case) with values;
/// the action's name too (Asterisk finds actions without regard to case).
fn multiset(fields: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = fields
        .map(|(n, v)| {
            let n = n.to_ascii_lowercase();
            let v = if n == "action" {
                v.to_ascii_lowercase()
            } else {
                v
            };
            (n, v)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn every_traced_action_is_what_its_typed_builder_sends() {
    let (mut checked, mut skipped) = (0, std::collections::BTreeMap::new());
    for (file, kind, m) in messages() {
        if kind != "send" || !matches!(m.kind(), Kind::Action(_)) {
            continue;
        }
        let ids: Vec<String> = m.get_all("ActionID").map(|v| v.to_string()).collect();
        let label = format!(
            "{file} {}",
            ids.first().map_or("(no ActionID)", |s| s.as_str())
        );
        let action = match typed(&m) {
            Ok(Some(a)) => a,
            Ok(None) => {
                skipped.insert(label, "no type of that name".to_string());
                continue;
            }
            Err(e) => {
                skipped.insert(label, e);
                continue;
            }
        };
        if ids.len() > 1 {
            skipped.insert(label, "two ActionIDs".into());
            continue;
        }
        let recorded = multiset(m.fields().map(|(n, v)| (n.to_string(), v.to_string())));
        let id = ids.first().map(String::as_str);
        let mut bytes = Vec::new();
        let sent = match action.encode(id, &mut bytes) {
            Ok(()) => {
                let mut d = Decoder::for_actions(1 << 20);
                d.feed(&bytes);
                let Some(Frame::Message(back)) = d.next_frame().unwrap() else {
                    panic!()
                };
                multiset(back.fields().map(|(n, v)| (n.to_string(), v.to_string())))
            }
            // The probes of Asterisk's limits (a line over 1,022 bytes,
            // over 128 lines) are refused by `encode`: compare the headers.
            Err(_) => {
                let head = [("Action".to_string(), action.name().to_string())];
                let id = id.map(|i| ("ActionID".to_string(), i.to_string()));
                multiset(
                    head.into_iter()
                        .chain(id)
                        .chain(action.headers().iter().cloned()),
                )
            }
        };
        assert_eq!(sent, recorded, "{label}");
        checked += 1;
    }
    // The recorded probes a typed builder cannot make, and why.
    let expected: std::collections::BTreeMap<String, String> = [
        ("ami-command.jsonl cmd-command-9", "no Command"),
        ("ami-errors.jsonl err-dup-first", "two ActionIDs"),
        ("ami-errors.jsonl err-getvar-3", "no Variable"),
        ("ami-errors.jsonl err-hangup-4", "no Channel"),
        (
            "ami-errors.jsonl err-nosuchaction-2",
            "no type of that name",
        ),
        ("ami-getconfig.jsonl cfg-getconfig-9", "no Filename"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(skipped, expected);
    assert!(checked > 450, "{checked}");
}

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
