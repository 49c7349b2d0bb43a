//! The tracker against the recorded AMI traces (`conformance/traces/ami`,
//! Asterisk 22.10.1) and hand-made events in Asterisk's formats
//! (`main/manager_channels.c`, `main/manager_bridges.c`): the picture during
//! and after real calls, resync after missed events, the races between a
//! resync's lists and live events, and bad input.

use ami_proto::{Answer, Change, Decoder, Event, Frame, Kind, Message, Tracker};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

// ------------------------------------------------------------- helpers

fn decoder() -> Decoder {
    let mut d = Decoder::default();
    d.feed(b"Asterisk Call Manager/11.0.0\r\n");
    d.next_frame().unwrap();
    d
}

fn message_bytes(bytes: &[u8]) -> Message {
    let mut d = decoder();
    d.feed(bytes);
    match d.next_frame().unwrap() {
        Some(Frame::Message(m)) => m,
        other => panic!("not a message: {other:?}"),
    }
}

fn message(text: &str) -> Message {
    message_bytes(text.as_bytes())
}

/// The `recv` messages of a trace after the banner, with their `seq`.
fn trace(name: &str) -> Vec<(u64, Message)> {
    trace_conns(name)
        .into_iter()
        .map(|(seq, _, m)| (seq, m))
        .collect()
}

/// The same, with the connection each came on.
fn trace_conns(name: &str) -> Vec<(u64, String, Message)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../conformance/traces/ami")
        .join(name);
    let mut out = Vec::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        if r["kind"] != "recv" {
            continue;
        }
        let text = r["text"].as_str().unwrap();
        if text.starts_with("Asterisk Call Manager/") {
            continue;
        }
        let conn = r["conn"].as_str().unwrap().to_string();
        out.push((r["seq"].as_u64().unwrap(), conn, message(text)));
    }
    out
}

/// The events of a trace (list items included), with their `seq`.
fn trace_events(name: &str) -> Vec<(u64, Event)> {
    trace(name)
        .into_iter()
        .filter(|(_, m)| matches!(m.kind(), Kind::Event(_)))
        .map(|(seq, m)| (seq, Event::from_message(m)))
        .collect()
}

/// The answer a `Session` hands out for the list whose response is record
/// `response` of the trace: that response, the items, the closing event.
fn recorded_answer(records: &[(u64, Message)], response: u64) -> Answer {
    let start = records.iter().position(|(s, _)| *s == response).unwrap();
    let id = records[start].1.action_id().unwrap().to_string();
    let mut items = Vec::new();
    for (_, m) in &records[start + 1..] {
        if m.action_id().map(|a| a.to_string()) != Some(id.clone()) {
            continue;
        }
        if m.get("EventList")
            .is_some_and(|e| e.eq_ignore_case("Complete"))
        {
            return Answer {
                response: records[start].1.clone(),
                items,
                completion: Some(m.clone()),
            };
        }
        items.push(m.clone());
    }
    panic!("list {response} never completes");
}

/// An event as Asterisk writes it: name, envelope, body.
fn ev(name: &str, body: &str) -> Event {
    Event::from_message(message(&format!(
        "Event: {name}\r\nPrivilege: call,all\r\n{body}\r\n"
    )))
}

/// A channel snapshot (`ast_manager_build_channel_state_string_prefix`).
fn chan(prefix: &str, name: &str, uniqueid: &str, state: u8) -> String {
    let p = prefix;
    format!(
        "{p}Channel: {name}\r\n{p}ChannelState: {state}\r\n{p}ChannelStateDesc: x\r\n\
         {p}CallerIDNum: 100\r\n{p}CallerIDName: Alice\r\n{p}ConnectedLineNum: <unknown>\r\n\
         {p}ConnectedLineName: <unknown>\r\n{p}Language: en\r\n{p}AccountCode: \r\n\
         {p}Context: default\r\n{p}Exten: 200\r\n{p}Priority: 1\r\n{p}Uniqueid: {uniqueid}\r\n\
         {p}Linkedid: {uniqueid}\r\n"
    )
}

/// A bridge snapshot (`ast_manager_build_bridge_state_string_prefix`).
fn bridge(prefix: &str, id: &str, channels: u32) -> String {
    let p = prefix;
    format!(
        "{p}BridgeUniqueid: {id}\r\n{p}BridgeType: basic\r\n{p}BridgeTechnology: simple_bridge\r\n\
         {p}BridgeCreator: <unknown>\r\n{p}BridgeName: <unknown>\r\n\
         {p}BridgeNumChannels: {channels}\r\n{p}BridgeVideoSourceMode: none\r\n"
    )
}

fn drain(t: &mut Tracker) -> Vec<Change> {
    std::iter::from_fn(|| t.poll_change()).collect()
}

fn uids(t: &Tracker) -> Vec<String> {
    let mut v: Vec<String> = t.channels().map(|c| c.uniqueid().to_string()).collect();
    v.sort();
    v
}

fn added(uid: &str) -> Change {
    Change::ChannelAdded(uid.into())
}

fn removed(uid: &str) -> Change {
    Change::ChannelRemoved(uid.into())
}

/// Everything a resync can know about a channel, for comparing pictures.
fn picture(t: &Tracker) -> Vec<String> {
    let mut v: Vec<String> = t
        .channels()
        .map(|c| {
            format!(
                "{} {} {} {} {}/{} {}/{} {}/{}/{} {}({}) bridge={:?} vars={:?}",
                c.uniqueid(),
                c.name(),
                c.linkedid(),
                c.state_desc(),
                c.caller_id_num(),
                c.caller_id_name(),
                c.connected_line_num(),
                c.connected_line_name(),
                c.context(),
                c.exten(),
                c.priority(),
                c.application(),
                c.app_data(),
                c.bridge().map(|b| b.uniqueid()),
                c.variables().collect::<Vec<_>>(),
            )
        })
        .collect();
    v.sort();
    v
}

// ------------------------------------------------------- recorded calls

const OUT: &str = "ami-ce-out";
const IN: &str = "1796394706.662";

#[test]
fn the_recorded_call_from_start_to_end() {
    let mut t = Tracker::new();
    let mut changes = Vec::new();
    let mut checked = 0;
    for (seq, event) in trace_events("ami-call-events.jsonl") {
        t.handle(&event);
        changes.extend(drain(&mut t));
        match seq {
            9 => {
                assert_eq!(uids(&t), [OUT]);
                let out = t.channel(OUT).unwrap();
                assert_eq!(out.name(), "PJSIP/loop-00000288");
                assert_eq!(out.state_desc(), "Down");
                assert_eq!(out.linkedid(), OUT);
                checked += 1;
            }
            24 => {
                // Both legs up, each in its own dialplan: the loop call is
                // two calls (the legs have different linkedids, no bridge).
                assert_eq!(uids(&t), [IN, OUT]);
                assert_eq!(t.bridge_count(), 0);
                let out = t.channel(OUT).unwrap();
                let inb = t.channel_by_name("PJSIP/loop-in-00000289").unwrap();
                assert_eq!(inb.uniqueid(), IN);
                assert_eq!(out.state(), 6);
                assert_eq!(inb.state_desc(), "Up");
                assert_eq!(
                    (out.caller_id_num(), out.caller_id_name()),
                    ("5551234", "AMI Test")
                );
                assert_eq!(out.connected_line_num(), "5551234");
                assert_eq!(inb.connected_line_num(), "<unknown>");
                assert_eq!(out.application(), "AppDial2");
                assert_eq!(out.app_data(), "(Outgoing Line)");
                assert_eq!(
                    (inb.context(), inb.exten(), inb.priority()),
                    ("from-loop", "echo", 2)
                );
                assert_eq!(inb.application(), "Echo");
                assert_eq!(out.variable("AMI_ORIGIN"), Some("manager"));
                assert_eq!(inb.variable("SIPDOMAIN"), Some("127.0.0.1"));
                assert_eq!(inb.variable("AMI_ORIGIN"), None);
                // The Originate dials with no calling channel.
                let dial = out.dial().unwrap();
                assert_eq!(dial.caller_uniqueid(), None);
                assert_eq!(dial.dial_string(), "echo@loop");
                assert_eq!(dial.status(), Some("ANSWER"));
                assert!(inb.dial().is_none());
                assert!(!out.on_hold());
                checked += 1;
            }
            34 => {
                let vars: Vec<_> = t.channel(OUT).unwrap().variables().collect();
                assert_eq!(vars, [("AMI_ORIGIN", "manager"), ("AMI_COLOR", "blue")]);
                checked += 1;
            }
            42 => {
                // Redirected: the inbound leg runs Wait in default.
                let inb = t.channel(IN).unwrap();
                assert_eq!(
                    (inb.context(), inb.exten(), inb.priority()),
                    ("default", "wait", 2)
                );
                assert_eq!((inb.application(), inb.app_data()), ("Wait", "30"));
                checked += 1;
            }
            53 => {
                // The Cdr names the channel but carries no snapshot.
                let out = t.channel(OUT).unwrap();
                assert!(out.variable("RTPAUDIOQOS").unwrap().starts_with("ssrc="));
                assert_eq!(out.variables().count(), 7);
                checked += 1;
            }
            54 => {
                assert_eq!(uids(&t), [IN]);
                assert!(t.channel_by_name("PJSIP/loop-00000288").is_none());
                checked += 1;
            }
            _ => {}
        }
    }
    assert_eq!(checked, 6);
    assert_eq!(t.channel_count(), 0);
    assert_eq!(t.channels().count(), 0);
    assert!(t.channel_by_name("PJSIP/loop-in-00000289").is_none());
    let lifecycle: Vec<_> = changes
        .iter()
        .filter(|c| !matches!(c, Change::ChannelUpdated(_)))
        .cloned()
        .collect();
    assert_eq!(
        lifecycle,
        [added(OUT), added(IN), removed(OUT), removed(IN)]
    );
    // Updates were folded: far fewer than the 40 events about channels.
    let updates = changes.len() - lifecycle.len();
    assert!((10..40).contains(&updates), "{updates}");
}

/// A plain model of what the events say, kept by reading headers
/// directly: live channels from `Newchannel` to `Hangup`, their last
/// state, name and `VarSet` variables.
#[derive(Default)]
struct Model {
    channels: BTreeMap<String, (String, String, BTreeMap<String, String>)>,
}

impl Model {
    fn handle(&mut self, m: &Message) {
        let Kind::Event(name) = m.kind() else { return };
        let name = name.to_string();
        let get = |h: &str| m.get(h).map(|v| v.to_string());
        let Some(uid) = get("Uniqueid") else { return };
        if get("Linkedid").is_none() {
            return;
        }
        match name.as_str() {
            "Newchannel" => {
                self.channels.insert(uid.clone(), Default::default());
            }
            "Hangup" => {
                self.channels.remove(&uid);
                return;
            }
            _ => {}
        }
        let Some(c) = self.channels.get_mut(&uid) else {
            return;
        };
        c.0 = get("Channel").unwrap();
        c.1 = get("ChannelStateDesc").unwrap();
        if name == "VarSet" {
            let (var, value) = (get("Variable").unwrap(), get("Value").unwrap());
            if value.is_empty() {
                c.2.remove(&var);
            } else {
                c.2.insert(var, value);
            }
        }
    }
}

/// Every recorded event of every trace, checked after each one against
/// the model: the same channels, names, states and variables, and the
/// name index agrees. One tracker per connection, as each connection has
/// its own event classes and filters.
#[test]
fn every_trace_agrees_with_a_plain_model_after_every_event() {
    let mut total = 0;
    let mut peak = 0;
    for file in [
        "ami-asyncagi.jsonl",
        "ami-call-events.jsonl",
        "ami-eventlists.jsonl",
        "ami-filters.jsonl",
        "ami-load.jsonl",
        "ami-errors.jsonl",
        "ami-reconnect.jsonl",
    ] {
        let mut trackers: BTreeMap<String, (Tracker, Model)> = BTreeMap::new();
        for (seq, conn, m) in trace_conns(file) {
            if !matches!(m.kind(), Kind::Event(_)) || m.action_id().is_some() {
                continue; // list items are snapshots, not news
            }
            let (t, model) = trackers.entry(conn).or_default();
            model.handle(&m);
            t.handle(&Event::from_message(m));
            let _ = drain(t);
            total += 1;
            peak = peak.max(t.channel_count());
            let mine: BTreeMap<String, (String, String, BTreeMap<String, String>)> = t
                .channels()
                .map(|c| {
                    let vars = c
                        .variables()
                        .map(|(n, v)| (n.to_string(), v.to_string()))
                        .collect();
                    let name = c.name().to_string();
                    let by_name = t.channel_by_name(&name).unwrap().uniqueid().to_string();
                    assert_eq!(by_name, c.uniqueid(), "{file} {seq}");
                    (
                        c.uniqueid().to_string(),
                        (name, c.state_desc().to_string(), vars),
                    )
                })
                .collect();
            assert!(mine == model.channels, "{file} seq {seq}");
        }
        for (conn, (t, model)) in &trackers {
            assert_eq!(t.channel_count(), model.channels.len(), "{file} {conn}");
            // On ami-filters c1 a filter lets only Newchannel through: the
            // channels of calls 2 and 4 never hang up there.
            let left = if (file, conn.as_str()) == ("ami-filters.jsonl", "c1") {
                4
            } else {
                0
            };
            assert_eq!(t.channel_count(), left, "{file} {conn}: left over");
        }
    }
    assert!(total > 2300, "{total}");
    assert_eq!(peak, 60, "ami-load has 30 calls of two legs up at once");
}

#[test]
fn thirty_concurrent_calls_are_tracked_and_cleaned_up() {
    let mut t = Tracker::new();
    let mut added_count = 0;
    let mut removed_count = 0;
    let mut checked = false;
    for (_, event) in trace_events("ami-load.jsonl") {
        t.handle(&event);
        for c in drain(&mut t) {
            match c {
                Change::ChannelAdded(_) => added_count += 1,
                Change::ChannelRemoved(_) => removed_count += 1,
                _ => {}
            }
        }
        if t.channel_count() == 60 && !checked {
            checked = true;
            // Outbound legs are ami-load-KK, dialed by nobody (Originate)
            // with the dial string of their kind of call.
            for k in 1..=30 {
                let c = t.channel(&format!("ami-load-{k:02}")).unwrap();
                let kind = ["playback", "echo", "moh"][k % 3];
                assert_eq!(c.dial().unwrap().dial_string(), format!("{kind}@loop"));
            }
            let inbound = t.channels().filter(|c| c.caller_id_name() == "load");
            assert_eq!(inbound.count(), 60);
        }
    }
    assert!(checked);
    assert_eq!((added_count, removed_count), (60, 60));
    assert_eq!(t.channel_count(), 0);
}

// ------------------------------------------------------------------ bridges

/// Two channels dial, bridge, leave and hang up (the traces have no
/// bridged call: the loop legs run Echo and Wait), events as Asterisk
/// writes them.
#[test]
fn a_bridged_call() {
    let mut t = Tracker::new();
    let a = chan("", "PJSIP/alice-1", "a.1", 6);
    let b = chan("", "PJSIP/bob-2", "b.2", 0);
    t.handle(&ev("Newchannel", &a));
    t.handle(&ev("Newchannel", &b));
    t.handle(&ev(
        "DialBegin",
        &format!(
            "{a}{}DialString: bob\r\n",
            chan("Dest", "PJSIP/bob-2", "b.2", 0)
        ),
    ));
    assert_eq!(t.channel("b.2").unwrap().dial().unwrap().status(), None);
    t.handle(&ev(
        "DialState",
        &format!(
            "{a}{}DialStatus: RINGING\r\n",
            chan("Dest", "PJSIP/bob-2", "b.2", 5)
        ),
    ));
    assert_eq!(t.channel("b.2").unwrap().state_desc(), "Ringing");
    t.handle(&ev(
        "DialEnd",
        &format!(
            "{a}{}DialStatus: ANSWER\r\n",
            chan("Dest", "PJSIP/bob-2", "b.2", 6)
        ),
    ));
    let bob = t.channel("b.2").unwrap();
    let dial = bob.dial().unwrap();
    assert_eq!(
        (dial.caller_uniqueid(), dial.dial_string(), dial.status()),
        (Some("a.1"), "bob", Some("ANSWER"))
    );
    let alice = t.channel("a.1").unwrap();
    assert_eq!(
        alice.dialing().map(|c| c.uniqueid()).collect::<Vec<_>>(),
        ["b.2"]
    );
    drain(&mut t);

    t.handle(&ev("BridgeCreate", &bridge("", "br-1", 0)));
    t.handle(&ev("BridgeEnter", &format!("{}{a}", bridge("", "br-1", 1))));
    let b_up = chan("", "PJSIP/bob-2", "b.2", 6);
    t.handle(&ev(
        "BridgeEnter",
        &format!("{}{b_up}", bridge("", "br-1", 2)),
    ));
    assert_eq!(
        drain(&mut t),
        [
            Change::BridgeAdded("br-1".into()),
            Change::ChannelUpdated("a.1".into()),
            Change::ChannelUpdated("b.2".into()),
        ]
    );
    let br = t.bridge("br-1").unwrap();
    assert_eq!(
        (br.bridge_type(), br.technology(), br.num_channels()),
        ("basic", "simple_bridge", 2)
    );
    assert_eq!(br.video_source_mode(), "none");
    assert_eq!(
        br.channels().map(|c| c.uniqueid()).collect::<Vec<_>>(),
        ["a.1", "b.2"]
    );
    let (x, y) = (t.channel("a.1").unwrap(), t.channel("b.2").unwrap());
    assert_eq!(
        x.bridge().unwrap().uniqueid(),
        y.bridge().unwrap().uniqueid()
    );
    assert_eq!(t.bridges().count(), 1);

    // Hold and unhold.
    t.handle(&ev("Hold", &format!("{a}MusicClass: default\r\n")));
    assert!(t.channel("a.1").unwrap().on_hold());
    t.handle(&ev("Unhold", &a));
    assert!(!t.channel("a.1").unwrap().on_hold());

    t.handle(&ev("BridgeLeave", &format!("{}{a}", bridge("", "br-1", 1))));
    assert!(t.channel("a.1").unwrap().bridge().is_none());
    assert_eq!(t.bridge("br-1").unwrap().channels().count(), 1);
    t.handle(&ev("Hangup", &format!("{a}Cause: 16\r\n")));
    // Bob's BridgeLeave never came: his Hangup takes him out all the same.
    t.handle(&ev("Hangup", &format!("{b_up}Cause: 16\r\n")));
    assert_eq!(t.bridge("br-1").unwrap().channels().count(), 0);
    t.handle(&ev("BridgeDestroy", &bridge("", "br-1", 0)));
    assert_eq!((t.channel_count(), t.bridge_count()), (0, 0));
    let last = drain(&mut t);
    assert_eq!(last.last(), Some(&Change::BridgeRemoved("br-1".into())));
}

#[test]
fn a_merge_moves_the_channels_and_a_destroyed_bridge_lets_them_go() {
    let mut t = Tracker::new();
    for (uid, br) in [("a", "br-1"), ("b", "br-1"), ("c", "br-2")] {
        let c = chan("", &format!("PJSIP/{uid}"), uid, 6);
        t.handle(&ev("Newchannel", &c));
        t.handle(&ev("BridgeEnter", &format!("{}{c}", bridge("", br, 1))));
    }
    t.handle(&ev(
        "BridgeMerge",
        &format!("{}{}", bridge("To", "br-2", 3), bridge("From", "br-1", 0)),
    ));
    let members: Vec<_> = t
        .bridge("br-2")
        .unwrap()
        .channels()
        .map(|c| c.uniqueid())
        .collect();
    assert_eq!(members, ["c", "a", "b"]);
    assert_eq!(t.bridge("br-1").unwrap().channels().count(), 0);
    t.handle(&ev("BridgeDestroy", &bridge("", "br-2", 3)));
    assert!(t.channels().all(|c| c.bridge().is_none()));
    assert_eq!(t.bridge_count(), 1);
}

// ------------------------------------------------------------------ resync

/// Records 13..=18 of ami-eventlists: the first channels of two calls.
fn eventlists_start(records: &[(u64, Message)]) -> Vec<Event> {
    records
        .iter()
        .filter(|(s, m)| (13..=18).contains(s) && matches!(m.kind(), Kind::Event(_)))
        .map(|(_, m)| Event::from_message(m.clone()))
        .collect()
}

#[test]
fn a_tracker_that_missed_events_converges_on_the_recorded_lists() {
    let records = trace("ami-eventlists.jsonl");
    let channels_answer = recorded_answer(&records, 30);
    let bridges_answer = recorded_answer(&records, 77);
    assert_eq!(channels_answer.items.len(), 4);
    assert!(bridges_answer.items.is_empty());

    // One tracker heard everything up to the lists, the other missed
    // records 19 to 28, and had heard of a channel and a bridge that ended
    // in that gap.
    let mut full = Tracker::new();
    let mut gap = Tracker::new();
    for (seq, m) in &records {
        if *seq > 28 {
            break;
        }
        if matches!(m.kind(), Kind::Event(_)) {
            full.handle(&Event::from_message(m.clone()));
        }
    }
    for e in eventlists_start(&records) {
        gap.handle(&e);
    }
    gap.handle(&ev("Newchannel", &chan("", "PJSIP/gone-9", "gone.9", 6)));
    gap.handle(&ev("BridgeCreate", &bridge("", "stale-bridge", 0)));
    assert_eq!(gap.channel_count(), 4);
    assert!(gap.channel("1796395260.5").is_none());
    assert_ne!(picture(&full), picture(&gap));
    drain(&mut full);
    drain(&mut gap);

    for t in [&mut full, &mut gap] {
        assert!(!t.is_whole());
        let actions = t.begin_resync();
        let names: Vec<_> = actions.iter().map(|a| a.name()).collect();
        assert_eq!(names, ["CoreShowChannels", "BridgeList"]);
        t.apply_snapshot(&channels_answer);
        assert!(!t.is_whole(), "waits for the bridges too");
        t.apply_snapshot(&bridges_answer);
        assert!(t.is_whole());
    }
    let changes = drain(&mut gap);
    assert!(changes.contains(&added("1796395260.5")));
    assert!(changes.contains(&removed("gone.9")));
    assert!(changes.contains(&Change::BridgeRemoved("stale-bridge".into())));
    assert_eq!(changes.last(), Some(&Change::Resynced));
    assert_eq!(drain(&mut full).last(), Some(&Change::Resynced));

    // Both now hold what the lists say. (The event connection had only
    // the call class: no Newexten, so only the lists tell that the
    // outbound legs run Echo in default.)
    assert_eq!(picture(&full), picture(&gap));
    assert_eq!(gap.channel_count(), 4);
    assert_eq!(gap.bridge_count(), 0);
    for c in gap.channels() {
        assert_eq!((c.state_desc(), c.application()), ("Up", "Echo"));
    }
    let out = gap.channel("ami-el-out-1").unwrap();
    assert_eq!(
        (out.context(), out.exten(), out.priority()),
        ("default", "echo", 2)
    );
    // A resync cannot bring back what only events tell: the missed DialEnd.
    assert_eq!(
        full.channel("ami-el-out-1")
            .unwrap()
            .dial()
            .unwrap()
            .status(),
        Some("ANSWER")
    );
    assert_eq!(out.dial().unwrap().status(), None);

    // The rest of the trace hangs everything up.
    for (seq, m) in &records {
        if *seq > 88 && matches!(m.kind(), Kind::Event(_)) {
            gap.handle(&Event::from_message(m.clone()));
        }
    }
    assert_eq!(gap.channel_count(), 0);
    assert!(gap.is_whole());
}

/// A CoreShowChannel item as Asterisk writes it, with a bridge and
/// channel variables.
fn show_channel(snapshot: &str, bridge_id: &str, extra: &str) -> Message {
    message(&format!(
        "Event: CoreShowChannel\r\nActionID: r-1\r\n{snapshot}{extra}Application: Echo\r\n\
         ApplicationData: \r\nDuration: 00:00:05\r\nBridgeId: {bridge_id}\r\n\r\n"
    ))
}

fn list(items: Vec<Message>, complete: &str) -> Answer {
    Answer {
        response: message("Response: Success\r\nActionID: r-1\r\nEventList: start\r\n\r\n"),
        completion: Some(message(&format!(
            "Event: {complete}\r\nActionID: r-1\r\nEventList: Complete\r\nListItems: {}\r\n\r\n",
            items.len()
        ))),
        items,
    }
}

fn bridge_item(id: &str) -> Message {
    message(&format!(
        "Event: BridgeListItem\r\nActionID: r-1\r\n{}\r\n",
        bridge("", id, 1)
    ))
}

#[test]
fn events_during_a_resync_win_over_older_list_items() {
    let records = trace("ami-eventlists.jsonl");
    let mut t = Tracker::new();
    for e in eventlists_start(&records) {
        t.handle(&e);
    }
    t.handle(&ev("Newchannel", &chan("", "PJSIP/x", "x.1", 6)));
    t.handle(&ev("BridgeCreate", &bridge("", "old-bridge", 0)));
    let _ = t.begin_resync();

    // While the lists are on their way, events keep coming:
    // - ami-el-out-1 hangs up (record 93); the list below, taken before,
    //   still has it;
    let hangup = records.iter().find(|(s, _)| *s == 93).unwrap().1.clone();
    t.handle(&Event::from_message(hangup));
    // - x.1 moves on in the dialplan and sets a variable the list has an
    //   older value of, and enters a bridge the list does not know yet;
    let x = chan("", "PJSIP/x", "x.1", 6).replace("Priority: 1", "Priority: 3");
    t.handle(&ev(
        "Newexten",
        &format!("{x}Extension: 200\r\nApplication: Playback\r\nAppData: hello\r\n"),
    ));
    t.handle(&ev(
        "VarSet",
        &format!("{x}Variable: FOO\r\nValue: new\r\n"),
    ));
    t.handle(&ev(
        "BridgeEnter",
        &format!("{}{x}", bridge("", "b-new", 1)),
    ));
    // - a new channel appears, too late for the list;
    t.handle(&ev("Newchannel", &chan("", "PJSIP/late", "late.1", 0)));
    // - old-bridge is destroyed, but the bridge list still has it.
    t.handle(&ev("BridgeDestroy", &bridge("", "old-bridge", 0)));

    let mut items: Vec<Message> = recorded_answer(&records, 30).items;
    items.push(show_channel(
        &chan("", "PJSIP/x", "x.1", 6),
        "",
        "ChanVariable: FOO=old\r\nChanVariable: BAR=listed\r\n",
    ));
    t.apply_snapshot(&list(items, "CoreShowChannelsComplete"));
    t.apply_snapshot(&list(vec![bridge_item("old-bridge")], "BridgeListComplete"));
    assert!(t.is_whole());

    assert!(
        t.channel("ami-el-out-1").is_none(),
        "hung up during the resync"
    );
    let x = t.channel("x.1").unwrap();
    assert_eq!(
        (x.priority(), x.application(), x.app_data()),
        (3, "Playback", "hello")
    );
    assert_eq!(x.variable("FOO"), Some("new"));
    assert_eq!(
        x.variable("BAR"),
        Some("listed"),
        "what no event said is taken"
    );
    assert_eq!(x.bridge().unwrap().uniqueid(), "b-new");
    assert!(
        t.channel("late.1").is_some(),
        "born after the list was taken"
    );
    assert!(t.bridge("old-bridge").is_none());
    assert!(
        t.bridge("b-new").is_some(),
        "not listed, but an event said so"
    );
    assert_eq!(
        uids(&t),
        [
            "1796395260.4",
            "1796395260.5",
            "ami-el-out-2",
            "late.1",
            "x.1"
        ]
    );

    // Once whole, a later list applies as it is (nothing is protected).
    t.apply_snapshot(&list(
        vec![show_channel(&chan("", "PJSIP/x", "x.1", 6), "", "")],
        "CoreShowChannelsComplete",
    ));
    let x = t.channel("x.1").unwrap();
    assert_eq!((x.priority(), x.application()), (1, "Echo"));
    assert!(x.bridge().is_none());
    assert_eq!(t.channel_count(), 5, "outside a resync nothing is removed");
}

#[test]
fn list_items_put_channels_in_bridges_and_a_new_resync_starts_over() {
    let mut t = Tracker::new();
    let _ = t.begin_resync();
    let a = chan("", "PJSIP/a", "a", 6);
    let b = chan("", "PJSIP/b", "b", 6);
    // Items through `handle` count as much as through `apply_snapshot`.
    for item in [show_channel(&a, "br-9", ""), show_channel(&b, "br-9", "")] {
        t.handle(&Event::from_message(item));
    }
    t.handle(&Event::from_message(message(
        "Event: CoreShowChannelsComplete\r\nActionID: r-1\r\nEventList: Complete\r\nListItems: 2\r\n\r\n",
    )));
    assert!(!t.is_whole());
    // The connection drops before the bridge list: start again.
    let _ = t.begin_resync();
    t.apply_snapshot(&list(vec![bridge_item("br-9")], "BridgeListComplete"));
    assert!(
        !t.is_whole(),
        "the channel list of the first try does not count"
    );
    t.apply_snapshot(&list(
        vec![show_channel(&a, "br-9", ""), show_channel(&b, "", "")],
        "CoreShowChannelsComplete",
    ));
    assert!(t.is_whole());
    let br = t.bridge("br-9").unwrap();
    assert_eq!(br.technology(), "simple_bridge");
    assert_eq!(
        br.channels().map(|c| c.uniqueid()).collect::<Vec<_>>(),
        ["a"]
    );
    assert!(t.channel("b").unwrap().bridge().is_none());
    // Another action's answer (a Status of one channel) completes nothing.
    let _ = t.begin_resync();
    t.apply_snapshot(&list(vec![], "StatusComplete"));
    t.apply_snapshot(&list(vec![], "BridgeListComplete"));
    assert!(!t.is_whole());
    t.apply_snapshot(&list(vec![], "CoreShowChannelsComplete"));
    assert!(t.is_whole());
    assert_eq!((t.channel_count(), t.bridge_count()), (0, 0));
}

// ------------------------------------------------------------- bad input

#[test]
fn events_of_unknown_channels_create_them_except_hangup() {
    let mut t = Tracker::new();
    // Started in the middle of a call: the first event is a Newstate.
    t.handle(&ev("Newstate", &chan("", "PJSIP/a", "a", 6)));
    assert_eq!(t.channel("a").unwrap().state_desc(), "Up");
    assert_eq!(drain(&mut t), [added("a")]);
    // A Hangup of a channel never seen, and a second Hangup.
    t.handle(&ev("Hangup", &chan("", "PJSIP/z", "z", 6)));
    t.handle(&ev("Hangup", &chan("", "PJSIP/a", "a", 6)));
    t.handle(&ev("Hangup", &chan("", "PJSIP/a", "a", 6)));
    assert_eq!(t.channel_count(), 0);
    assert_eq!(drain(&mut t), [removed("a")]);
}

#[test]
fn a_bridge_leave_without_enter_changes_nothing() {
    let mut t = Tracker::new();
    let a = chan("", "PJSIP/a", "a", 6);
    t.handle(&ev("Newchannel", &a));
    t.handle(&ev("BridgeLeave", &format!("{}{a}", bridge("", "br-x", 0))));
    assert!(t.bridge("br-x").is_none());
    t.handle(&ev("BridgeCreate", &bridge("", "br-y", 0)));
    t.handle(&ev("BridgeEnter", &format!("{}{a}", bridge("", "br-y", 1))));
    // Leaving another bridge than its own does not take it out.
    t.handle(&ev("BridgeCreate", &bridge("", "br-x", 0)));
    t.handle(&ev("BridgeLeave", &format!("{}{a}", bridge("", "br-x", 0))));
    assert_eq!(t.channel("a").unwrap().bridge().unwrap().uniqueid(), "br-y");
    // Entering another moves it.
    t.handle(&ev("BridgeEnter", &format!("{}{a}", bridge("", "br-x", 1))));
    assert_eq!(t.bridge("br-y").unwrap().channels().count(), 0);
    assert_eq!(t.bridge("br-x").unwrap().channels().count(), 1);
    t.handle(&ev("BridgeDestroy", "BridgeUniqueid: nope\r\n"));
    t.handle(&ev("BridgeDestroy", "BridgeType: basic\r\n"));
    assert_eq!(t.bridge_count(), 2);
}

#[test]
fn missing_headers_are_ignored() {
    let mut t = Tracker::new();
    let a = chan("", "PJSIP/a", "a", 6);
    t.handle(&ev("Newchannel", &a));
    let before = picture(&t);
    for (name, body) in [
        ("Newchannel", String::new()),
        (
            "Newchannel",
            "Channel: PJSIP/b\r\nUniqueid: b\r\n".to_string(),
        ),
        (
            "Newstate",
            "Uniqueid: \r\nLinkedid: \r\nChannel: \r\n".to_string(),
        ),
        ("VarSet", a.clone()),
        ("VarSet", format!("{a}Value: v\r\n")),
        ("VarSet", format!("{a}Variable: \r\nValue: v\r\n")),
        ("DialBegin", a.clone()),
        ("DialEnd", format!("{a}DialStatus: ANSWER\r\n")),
        ("BridgeEnter", a.clone()),
        ("BridgeEnter", bridge("", "br", 1)),
        ("BridgeMerge", bridge("To", "br", 1)),
        ("Rename", "Channel: PJSIP/a\r\n".to_string()),
        (
            "Rename",
            "Newname: PJSIP/c\r\nUniqueid: nope\r\n".to_string(),
        ),
        ("Hangup", "Cause: 16\r\n".to_string()),
        ("Hold", String::new()),
        ("Newexten", "Application: Dial\r\n".to_string()),
    ] {
        t.handle(&ev(name, &body));
    }
    // The lone BridgeEnter made a bridge; the channel is as it was.
    assert_eq!(picture(&t), before);
    assert_eq!(t.channel_count(), 1);
    assert_eq!(t.bridge("br").unwrap().channels().count(), 0);
    // An item with no whole snapshot adds nothing.
    t.apply_snapshot(&list(
        vec![message(
            "Event: CoreShowChannel\r\nChannel: PJSIP/q\r\nUniqueid: q\r\nBridgeId: br\r\n\r\n",
        )],
        "CoreShowChannelsComplete",
    ));
    assert_eq!(t.channel_count(), 1);
    // A message that is not an event at all.
    t.handle(&Event::from_message(message(
        "Response: Success\r\nMessage: x\r\n\r\n",
    )));
}

#[test]
fn values_that_are_not_utf8_are_read_lossily() {
    let mut t = Tracker::new();
    let latin1 = [
        &b"Event: Newchannel\r\nChannel: PJSIP/jos\xe9-1\r\nChannelState: 4\r\nCallerIDNum: 1\r\n"
            [..],
        b"CallerIDName: Jos\xe9\r\nUniqueid: u\xff\r\nLinkedid: u\xff\r\n\r\n",
    ]
    .concat();
    t.handle(&Event::from_message(message_bytes(&latin1)));
    let c = t.channel("u\u{FFFD}").unwrap();
    assert_eq!(c.caller_id_name(), "Jos\u{FFFD}");
    assert_eq!(c.name(), "PJSIP/jos\u{FFFD}-1");
    assert!(t.channel_by_name("PJSIP/jos\u{FFFD}-1").is_some());
    let varset = [
        &b"Event: VarSet\r\nChannel: PJSIP/jos\xe9-1\r\nUniqueid: u\xff\r\nLinkedid: u\xff\r\n"[..],
        b"Variable: N\xe4me\r\nValue: v\xe4l\0ue\r\n\r\n",
    ]
    .concat();
    t.handle(&Event::from_message(message_bytes(&varset)));
    let c = t.channel("u\u{FFFD}").unwrap();
    assert_eq!(c.variable("N\u{FFFD}me"), Some("v\u{FFFD}l\u{FFFD}ue"));
    assert_eq!(c.variables().count(), 1);
}

#[test]
fn unknown_events_refresh_but_never_create() {
    let mut t = Tracker::new();
    let future = |state| {
        Event::from_message(message(&format!(
            "Event: ChannelFrobnicated\r\n{}Frob: 1\r\n\r\n",
            chan("", "PJSIP/a", "a", state)
        )))
    };
    t.handle(&future(6));
    assert_eq!(t.channel_count(), 0);
    t.handle(&ev("Newchannel", &chan("", "PJSIP/a", "a", 4)));
    t.handle(&future(6));
    assert_eq!(t.channel("a").unwrap().state_desc(), "Up");
    // Events without any channel snapshot pass by.
    for (_, e) in trace_events("ami-reconnect.jsonl") {
        t.handle(&e);
    }
    assert_eq!(uids(&t), ["a"]);
}

#[test]
fn a_global_varset_is_no_channel() {
    let mut t = Tracker::new();
    // pbx_builtin_setvar_helper without a channel (Set(GLOBAL(x)=...)).
    t.handle(&ev(
        "VarSet",
        "Channel: none\r\nUniqueid: none\r\nVariable: X\r\nValue: 1\r\n",
    ));
    assert_eq!(t.channel_count(), 0);
}

#[test]
fn names_renames_escapes_and_variable_headers() {
    let mut t = Tracker::new();
    // CallerIDName and ConnectedLineName are C-escaped in snapshots.
    let a = chan("", "PJSIP/a-1", "a", 6)
        .replace("CallerIDName: Alice", "CallerIDName: O\\'Brien \\\"Bob\\\"")
        + "Tenantid: t1\r\nChanVariable: CV=x\\ty\r\n";
    t.handle(&ev("Newchannel", &a));
    let c = t.channel("a").unwrap();
    assert_eq!(c.caller_id_name(), "O'Brien \"Bob\"");
    assert_eq!(c.tenant_id(), "t1");
    assert_eq!(
        c.variable("CV"),
        Some("x\ty"),
        "snapshot variables are unescaped"
    );

    // Rename is a legacy event: old name, new name, uniqueid; its
    // ChanVariable(<name>) headers name the channel.
    t.handle(&ev(
        "Rename",
        "Channel: PJSIP/a-1\r\nNewname: PJSIP/a-1<MASQ>\r\nUniqueid: a\r\n\
         ChanVariable(PJSIP/a-1<MASQ>): LEG=1\\n\r\n",
    ));
    assert!(t.channel_by_name("PJSIP/a-1").is_none());
    let c = t.channel_by_name("PJSIP/a-1<MASQ>").unwrap();
    assert_eq!(c.uniqueid(), "a");
    assert_eq!(
        c.variable("LEG"),
        Some("1\\n"),
        "legacy values are sent as they are"
    );
    // A later snapshot renames back; a variable set to nothing is removed.
    t.handle(&ev(
        "VarSet",
        &format!(
            "{}Variable: LEG\r\nValue: \r\n",
            chan("", "PJSIP/a-2", "a", 6)
        ),
    ));
    let c = t.channel("a").unwrap();
    assert_eq!(c.name(), "PJSIP/a-2");
    assert_eq!(c.variable("LEG"), None);
    assert_eq!(
        c.tenant_id(),
        "",
        "a whole snapshot without Tenantid has none"
    );
    assert!(t.channel_by_name("PJSIP/a-1<MASQ>").is_none());
    assert!(t.channel_by_name("PJSIP/a-2").is_some());
    // A Dest snapshot's DestChanVariable belongs to the dialed channel.
    t.handle(&ev(
        "DialBegin",
        &format!(
            "{}{}DestChanVariable: WHO=dest\r\nDialString: b\r\n",
            chan("", "PJSIP/a-2", "a", 6),
            chan("Dest", "PJSIP/b-1", "b", 0)
        ),
    ));
    assert_eq!(t.channel("b").unwrap().variable("WHO"), Some("dest"));
    assert_eq!(t.channel("a").unwrap().variable("WHO"), None);
}

#[test]
fn updates_fold_until_polled() {
    let mut t = Tracker::new();
    let a = chan("", "PJSIP/a", "a", 4);
    t.handle(&ev("Newchannel", &a));
    t.handle(&ev("Newstate", &chan("", "PJSIP/a", "a", 6)));
    t.handle(&ev("VarSet", &format!("{a}Variable: V\r\nValue: 1\r\n")));
    assert_eq!(drain(&mut t), [added("a")]);
    t.handle(&ev("VarSet", &format!("{a}Variable: V\r\nValue: 2\r\n")));
    t.handle(&ev("VarSet", &format!("{a}Variable: W\r\nValue: 2\r\n")));
    assert_eq!(drain(&mut t), [Change::ChannelUpdated("a".into())]);
    // The same values again change nothing.
    t.handle(&ev("VarSet", &format!("{a}Variable: W\r\nValue: 2\r\n")));
    assert_eq!(drain(&mut t), []);
}

/// Memory per channel: RSS growth over many channels built from the
/// recorded inbound leg's events (its snapshot, dialplan steps, a
/// variable), and with `TRACKER_MEMORY_RTP=1` also the five RTPAUDIOQOS
/// variables Asterisk sets at hangup (about 1 kB). Freed memory stays
/// resident, so one process measures one case. Run alone:
/// `cargo test -p ami-proto --test tracker -- --ignored --nocapture memory`.
#[test]
#[ignore = "measures the process's RSS; run alone"]
fn memory_per_channel() {
    let rtp = std::env::var("TRACKER_MEMORY_RTP").is_ok_and(|v| v == "1");
    let n = 100_000;
    let events: Vec<String> = trace("ami-call-events.jsonl")
        .into_iter()
        .filter(|(seq, _)| [14, 15, 16, 17, 24, 56, 58, 59, 60, 61].contains(seq))
        .map(|(_, m)| String::from_utf8(m.as_bytes().to_vec()).unwrap())
        .filter(|e| rtp || !e.contains("RTPAUDIOQOS"))
        .collect();
    let rss = || {
        std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())
            .unwrap()
    };
    let before = rss();
    let mut t = Tracker::new();
    for i in 0..n {
        for e in &events {
            let e = e
                .replace("1796394706.662", &format!("1796394706.{i}"))
                .replace("loop-in-00000289", &format!("loop-in-{i:08x}"));
            t.handle(&Event::from_message(message(&e)));
        }
        while t.poll_change().is_some() {}
    }
    assert_eq!(t.channel_count(), n);
    assert_eq!(
        t.channels().next().unwrap().variables().count(),
        if rtp { 6 } else { 1 }
    );
    let per = (rss() - before) as f64 * 1024.0 / n as f64;
    println!("RTPAUDIOQOS variables: {rtp}: ~{per:.0} bytes of RSS per channel");
}

#[test]
fn local_channel_events_refresh_both_halves() {
    let mut t = Tracker::new();
    let one = chan("LocalOne", "Local/100@default-0001;1", "l.1", 4);
    let two = chan("LocalTwo", "Local/100@default-0001;2", "l.2", 4);
    t.handle(&ev(
        "Newchannel",
        &chan("", "Local/100@default-0001;1", "l.1", 0),
    ));
    t.handle(&ev(
        "LocalBridge",
        &format!("{one}{two}Context: default\r\nExten: 100\r\nLocalOptimization: Yes\r\n"),
    ));
    // The half it knew is refreshed, the other one added.
    assert_eq!(t.channel("l.1").unwrap().state_desc(), "Ring");
    assert_eq!(t.channel("l.2").unwrap().name(), "Local/100@default-0001;2");
    let up = |p, name, uid| chan(p, name, uid, 6);
    t.handle(&ev(
        "LocalOptimizationBegin",
        &format!(
            "{}{}{}DestUniqueId: b.2\r\nId: 1\r\n",
            up("LocalOne", "Local/100@default-0001;1", "l.1"),
            up("LocalTwo", "Local/100@default-0001;2", "l.2"),
            up("Source", "PJSIP/bob-2", "b.2"),
        ),
    ));
    assert!(t.channels().all(|c| c.state_desc() == "Up"));
    assert_eq!(t.channel_count(), 3);
}

#[test]
fn the_tracker_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Tracker>();
    send_sync::<Change>();
}
