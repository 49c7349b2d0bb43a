//! The checks of an AMI trace against `ami-proto`: every received message
//! decodes to exactly the bytes received and, if it is an event, to a
//! typed event whose accessors cover every header; every action the
//! recorded client sent is what the typed builders of
//! [`ami_proto::actions`] send; and (in [`crate::ami_replay`]) the whole
//! trace replays through [`ami_proto::Session`].

use crate::ami_trace::{AmiKind, AmiTrace};
use crate::check::Report;
use ami_proto::actions::*;
use ami_proto::{
    Action, Decoder, ENVELOPE_HEADERS, Event, Frame, Kind, Line, Message, ToAction,
    is_chan_variable,
};
use std::collections::HashMap;

/// Events Asterisk is known to send that its XML documentation does not
/// describe and `ami-proto` has no type for (found in Asterisk 22's code:
/// the call-completion events of `main/ccss.c`, internal and module
/// events). A trace that carries one gets a note, not a failure; any other
/// untyped event fails its check.
pub const KNOWN_UNDOCUMENTED_EVENTS: &[&str] = &[
    "CCAvailable",
    "CCOfferTimerStart",
    "CCRequested",
    "CCRequestAcknowledged",
    "CCCallerStopMonitoring",
    "CCCallerStartMonitoring",
    "CCCallerRecalling",
    "CCRecallComplete",
    "CCFailure",
    "CCMonitorFailed",
    "ChannelsHungupListComplete",
    "CloseSession",
    "JabberStatus",
    "MobileStatus",
    "TestEvent",
];

/// The banner the recorded Asterisk sent, fed to decoders that start
/// after it.
const BANNER: &[u8] = b"Asterisk Call Manager/11.0.0\r\n";

/// The largest action the checks decode (Asterisk itself reads far less).
const MAX_ACTION: usize = 1 << 20;

/// Whether `header` is one of `fields`, where `{n}` in a field stands for a
/// decimal number (`Report{n}SourceSSRC` covers `Report0SourceSSRC`).
pub fn is_field(fields: &[&str], header: &str) -> bool {
    fields.iter().any(|f| match f.split_once("{n}") {
        None => *f == header,
        Some((pre, post)) => header
            .strip_prefix(pre)
            .and_then(|rest| rest.strip_suffix(post))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit())),
    })
}

/// The headers of a typed event that the typed view does not cover: not
/// an accessor's field, not an envelope header, not a channel variable.
/// `UserEvent` covers every header (it re-sends whatever the client gave
/// it), and `Unknown` none.
pub fn uncovered_headers(event: &Event) -> Vec<String> {
    if matches!(event, Event::UserEvent(_)) {
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for (name, _) in event.message().fields() {
        let name = name.to_string_lossy();
        let known = is_field(event.fields(), &name)
            || ENVELOPE_HEADERS.contains(&&*name)
            || is_chan_variable(&name);
        if !known && !out.iter().any(|o| *o == name) {
            out.push(name.into_owned());
        }
    }
    out
}

/// A decoder for Asterisk's side of a connection, past the banner.
fn decoder_after_banner() -> Decoder {
    let mut decoder = Decoder::default();
    decoder.feed(BANNER);
    let _ = decoder.next_frame();
    decoder
}

/// Feeds one recorded message to `decoder` and takes it out again: it must
/// come out as exactly one message holding exactly the bytes fed.
pub fn decode_record(decoder: &mut Decoder, bytes: &[u8]) -> Result<Message, String> {
    decoder.feed(bytes);
    let mut messages = Vec::new();
    loop {
        match decoder.next_frame() {
            Ok(Some(Frame::Message(m))) => messages.push(m),
            Ok(Some(Frame::Banner(b))) => return Err(format!("read as a banner ({:?})", b.line())),
            Ok(None) => break,
            Err(e) => return Err(format!("does not decode: {e}")),
        }
    }
    if decoder.buffered() > 0 {
        return Err(format!(
            "does not decode: {} bytes do not end in an empty line",
            decoder.buffered()
        ));
    }
    let mut messages = messages.into_iter();
    match (messages.next(), messages.next()) {
        (None, _) => Err("does not decode: no message".into()),
        (Some(_), Some(_)) => Err("does not decode: more than one message".into()),
        (Some(m), None) if m.as_bytes() != bytes => Err(format!(
            "re-encodes to other bytes: {:?} instead of {:?}",
            String::from_utf8_lossy(m.as_bytes()),
            String::from_utf8_lossy(bytes)
        )),
        (Some(m), None) => Ok(m),
    }
}

/// Checks one message received from Asterisk: a response or an event, no
/// line without a colon, and, for an event, a typed one (or a known
/// undocumented one: the `Ok` note says so) whose accessors cover every
/// header and which gives back the very bytes received.
pub fn check_received(message: Message) -> Result<Option<String>, String> {
    if let Some(Line::Text(t)) = message.lines().find(|l| matches!(l, Line::Text(_))) {
        return Err(format!("a line without a colon: {t:?}"));
    }
    let is_event = match message.kind() {
        Kind::Response(_) => false,
        Kind::Event(_) => true,
        Kind::Action(_) | Kind::Other => {
            return Err("neither a response nor an event".into());
        }
    };
    if !is_event {
        return Ok(None);
    }
    let bytes = message.as_bytes().to_vec();
    let event = Event::from_message(message);
    let name = event.name().to_string();
    let mut note = None;
    if let Event::Unknown(_) = event {
        if !KNOWN_UNDOCUMENTED_EVENTS
            .iter()
            .any(|k| k.eq_ignore_ascii_case(&name))
        {
            return Err(format!("no type for the event {name:?}"));
        }
        note = Some(format!(
            "{name}: a known undocumented event, without a type"
        ));
    }
    let uncovered = match event {
        Event::Unknown(_) => Vec::new(),
        _ => uncovered_headers(&event),
    };
    if !uncovered.is_empty() {
        return Err(format!(
            "{name} has no accessor for {}",
            uncovered.join(", ")
        ));
    }
    if Message::from(event).as_bytes() != bytes {
        return Err(format!("{name}: the typed event gives back other bytes"));
    }
    Ok(note)
}

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

/// The typed builder of a recorded action, filled from its headers, as
/// the [`Action`] it sends: `Ok(None)` if the checks know no typed builder
/// of that name, `Err` if a header the builder requires is missing.
/// Headers the builder has no setter for are left out (and so show up as
/// a difference in [`reproduce_action`]).
pub fn typed_action(m: &Message) -> Result<Option<Action>, String> {
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

/// Header names in lower case (Asterisk ignores their case) with their
/// values, sorted; the action's name in lower case too (Asterisk finds
/// actions without regard to case).
pub fn header_multiset(fields: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
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

/// Checks that the typed builders send `recorded`: the same action name
/// and the same headers (multiset, names without regard to case), every
/// `ActionID` aside (the session chooses those). An action `encode` refuses (a probe of Asterisk's
/// line limits) is compared by its headers.
pub fn reproduce_action(recorded: &Message) -> Result<(), String> {
    let action = match typed_action(recorded)? {
        Some(a) => a,
        None => {
            return Err(match recorded.kind() {
                Kind::Action(name) => format!("no typed builder for the action {name:?}"),
                _ => "no Action header".into(),
            });
        }
    };
    let without_id = |fields: Vec<(String, String)>| -> Vec<(String, String)> {
        fields
            .into_iter()
            .filter(|(n, _)| n != "actionid")
            .collect()
    };
    let want = without_id(header_multiset(
        recorded
            .fields()
            .map(|(n, v)| (n.to_string(), v.to_string())),
    ));
    let mut bytes = Vec::new();
    let got = match action.encode(None, &mut bytes) {
        Ok(()) => {
            let mut d = Decoder::for_actions(MAX_ACTION);
            d.feed(&bytes);
            match d.next_frame() {
                Ok(Some(Frame::Message(back))) => {
                    header_multiset(back.fields().map(|(n, v)| (n.to_string(), v.to_string())))
                }
                other => return Err(format!("the typed action does not decode: {other:?}")),
            }
        }
        Err(_) => header_multiset(
            std::iter::once(("Action".to_string(), action.name().to_string()))
                .chain(action.headers().iter().cloned()),
        ),
    };
    if got == want {
        return Ok(());
    }
    let missing: Vec<String> = want
        .iter()
        .filter(|h| !got.contains(h))
        .map(|(n, v)| format!("{n}: {v}"))
        .collect();
    let extra: Vec<String> = got
        .iter()
        .filter(|h| !want.contains(h))
        .map(|(n, v)| format!("{n}: {v}"))
        .collect();
    Err(format!(
        "the typed builder sends other headers (missing {missing:?}, extra {extra:?})"
    ))
}

/// What the checks say for a record: its label and outcome.
fn label(kind: &Kind<'_>) -> String {
    match kind {
        Kind::Response(r) => format!("response {r}"),
        Kind::Event(e) => format!("event {e}"),
        Kind::Action(a) => format!("action {a}"),
        Kind::Other => "message".into(),
    }
}

/// Runs every static check of an AMI trace: the received messages (see
/// [`check_received`]) and the sent actions (see [`reproduce_action`]).
pub fn check_static(trace: &AmiTrace, report: &mut Report) {
    check_received_messages(trace, report);
    check_sent_actions(trace, report);
}

/// Decodes and checks every message Asterisk sent, connection by
/// connection; each connection must start with an AMI banner.
pub fn check_received_messages(trace: &AmiTrace, report: &mut Report) {
    let mut decoders: HashMap<&str, Decoder> = HashMap::new();
    for r in &trace.records {
        let AmiKind::Recv(bytes) = &r.kind else {
            continue;
        };
        let conn = r.conn.as_str();
        let Some(decoder) = decoders.get_mut(conn) else {
            let mut decoder = Decoder::default();
            decoder.feed(bytes);
            let outcome = match decoder.next_frame() {
                Ok(Some(Frame::Banner(b))) if decoder.buffered() > 0 => Err(format!(
                    "{} bytes after the banner {:?}",
                    decoder.buffered(),
                    b.line()
                )),
                Ok(Some(Frame::Banner(b))) if b.product() != "Asterisk Call Manager" => {
                    Err(format!("not an AMI banner: {:?}", b.line()))
                }
                Ok(Some(Frame::Banner(b)))
                    if !trace.meta.ami_version.is_empty()
                        && b.version() != trace.meta.ami_version =>
                {
                    Err(format!(
                        "AMI {} where the meta line says {}",
                        b.version(),
                        trace.meta.ami_version
                    ))
                }
                Ok(Some(Frame::Banner(_))) => Ok(()),
                other => Err(format!("no banner first: {other:?}")),
            };
            let failed = outcome.is_err();
            report.result(r.seq, &format!("{conn} banner"), outcome);
            decoders.insert(
                conn,
                if failed {
                    decoder_after_banner()
                } else {
                    decoder
                },
            );
            continue;
        };
        match decode_record(decoder, bytes) {
            Ok(m) => {
                let what = format!("{conn} {}", label(&m.kind()));
                match check_received(m) {
                    Ok(Some(note)) => {
                        report.passed += 1;
                        report.notes.push(format!("seq {}: {note}", r.seq));
                    }
                    other => report.result(r.seq, &what, other.map(|_| ())),
                }
            }
            Err(e) => {
                report.result(r.seq, &format!("{conn} received message"), Err(e));
                // Start the next message afresh.
                *decoder = decoder_after_banner();
            }
        }
    }
}

/// The `Response:` kind of the answer to the action the client sent at
/// `seq` on `conn` (matched by ActionID, or the next response without
/// one), if Asterisk answered.
fn answer_to(trace: &AmiTrace, conn: &str, seq: u64, action_id: Option<&str>) -> Option<String> {
    trace
        .connection(conn)
        .filter(|r| r.seq > seq)
        .filter_map(|r| match &r.kind {
            AmiKind::Recv(bytes) => {
                let mut d = decoder_after_banner();
                decode_record(&mut d, bytes).ok()
            }
            _ => None,
        })
        .find_map(|m| match m.kind() {
            Kind::Response(kind)
                if m.action_id().map(|a| a.to_string()).as_deref() == action_id =>
            {
                Some(kind.to_string())
            }
            _ => None,
        })
}

/// Checks that every action the recorded client sent is what a typed
/// builder sends. One the builders cannot make is a failure, unless
/// Asterisk refused it too (`Response: Error`, a probe of its error
/// answers): that is a note.
pub fn check_sent_actions(trace: &AmiTrace, report: &mut Report) {
    for r in &trace.records {
        let AmiKind::Send(bytes) = &r.kind else {
            continue;
        };
        let conn = r.conn.as_str();
        if bytes.iter().all(u8::is_ascii_whitespace) {
            report.notes.push(format!(
                "seq {}: {conn} sent an empty line, not an action",
                r.seq
            ));
            continue;
        }
        let mut decoder = Decoder::for_actions(MAX_ACTION);
        let recorded = match decode_record(&mut decoder, bytes) {
            Ok(m) => m,
            Err(e) => {
                report.result(r.seq, &format!("{conn} sent message"), Err(e));
                continue;
            }
        };
        let what = format!("{conn} {}", label(&recorded.kind()));
        match reproduce_action(&recorded) {
            Err(e) => {
                let id = recorded.action_id().map(|a| a.to_string());
                let answer = answer_to(trace, conn, r.seq, id.as_deref());
                if answer
                    .as_deref()
                    .is_some_and(|a| a.eq_ignore_ascii_case("Error"))
                {
                    report.notes.push(format!(
                        "seq {}: {what}: not expressible with the typed builders ({e}); Asterisk refused it too",
                        r.seq
                    ));
                } else {
                    report.result(r.seq, &what, Err(e));
                }
            }
            ok => report.result(r.seq, &what, ok),
        }
    }
}
