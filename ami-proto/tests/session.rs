//! The session against scripted Asterisk answers, on a clock the test moves.

use ami_proto::{
    Action, ActionError, CloseReason, Config, ConnectionEvent, ConnectionState, Decoder,
    EventFilter, EventMask, Frame, Kind, LoginAuth, Message, Output, Session, Transmit, Version,
};
use std::time::{Duration, Instant};

const BANNER: &str = "Asterisk Call Manager/11.0.0\r\n";

struct Pbx {
    session: Session,
    now: Instant,
    /// Actions the session wrote, decoded as Asterisk reads them.
    reader: Decoder,
    connected: bool,
    closed: usize,
}

impl Pbx {
    fn new(config: Config) -> Pbx {
        Pbx {
            session: Session::new(config).unwrap(),
            now: Instant::now(),
            reader: Decoder::for_actions(1 << 20),
            connected: false,
            closed: 0,
        }
    }

    fn config() -> Config {
        let mut config = Config::new("127.0.0.1", "admin", "amp111").unwrap();
        config.learn_server_version = false;
        config.ping_interval = None;
        config
    }

    /// Drains the transmits: connects when asked, returns the actions written.
    fn sent(&mut self) -> Vec<Message> {
        let mut out = Vec::new();
        while let Some(t) = self.session.poll_transmit() {
            match t {
                Transmit::Connect => {
                    self.session.handle_connected(self.now);
                    self.connected = true;
                }
                Transmit::Send(bytes) => {
                    assert!(self.connected, "written while not connected");
                    self.reader.feed(&bytes);
                    while let Some(Frame::Message(m)) = self.reader.next_frame().unwrap() {
                        out.push(m);
                    }
                }
                Transmit::Close => {
                    self.connected = false;
                    self.closed += 1;
                }
                other => panic!("{other:?}"),
            }
        }
        out
    }

    /// The only action written now, by name.
    fn expect_sent(&mut self, name: &str) -> Message {
        let mut sent = self.sent();
        assert_eq!(sent.len(), 1, "{sent:?}");
        let m = sent.remove(0);
        assert!(
            matches!(m.kind(), Kind::Action(n) if n.eq_ignore_case(name)),
            "{m:?}"
        );
        m
    }

    fn feed(&mut self, text: &str) {
        self.session.handle_bytes(text.as_bytes(), self.now);
    }

    /// Answers `action` with `Response: <response>` and extra lines.
    fn answer(&mut self, action: &Message, response: &str, extra: &str) {
        let id = action.action_id().unwrap().to_string();
        self.feed(&format!(
            "Response: {response}\r\nActionID: {id}\r\n{extra}\r\n"
        ));
    }

    fn outputs(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.session.poll_output()).collect()
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.session.handle_timeout(self.now);
    }

    /// Connects and logs in (challenge), answering everything with success.
    fn open(config: Config) -> Pbx {
        let mut pbx = Pbx::new(config);
        pbx.session.connect(pbx.now);
        assert!(pbx.sent().is_empty());
        pbx.feed(BANNER);
        let challenge = pbx.expect_sent("Challenge");
        pbx.answer(&challenge, "Success", "Challenge: 768386113\r\n");
        let login = pbx.expect_sent("Login");
        pbx.answer(&login, "Success", "Message: Authentication accepted\r\n");
        assert!(
            pbx.outputs()
                .contains(&Output::Connection(ConnectionEvent::Open {
                    reconnected: false
                }))
        );
        pbx
    }
}

fn answers(outputs: &[Output]) -> Vec<(u64, Result<ami_proto::Answer, ActionError>)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Answer { id, result } => Some((id.0, result.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn challenge_login_as_recorded() {
    let mut config = Pbx::config();
    config.learn_server_version = true;
    config.events = EventMask::Classes(vec!["call".into(), "system".into()]);
    let mut pbx = Pbx::new(config);
    pbx.session.connect(pbx.now);
    pbx.sent();
    pbx.feed(BANNER);
    let challenge = pbx.expect_sent("Challenge");
    assert_eq!(challenge.get("AuthType").unwrap(), "MD5");
    pbx.answer(&challenge, "Success", "Challenge: 768386113\r\n");
    let login = pbx.expect_sent("Login");
    // The key of conformance/traces/ami/ami-login.jsonl for this challenge.
    assert_eq!(
        login.get("Key").unwrap(),
        "78a3b8178413d2a796f93677a5fdba8a"
    );
    assert_eq!(login.get("Username").unwrap(), "admin");
    assert_eq!(login.get("Events").unwrap(), "call,system");
    assert!(login.get("Secret").is_none(), "the secret stays home");
    pbx.answer(&login, "Success", "Message: Authentication accepted\r\n");
    let settings = pbx.expect_sent("CoreSettings");
    assert_eq!(pbx.session.connection_state(), ConnectionState::Connecting);
    pbx.answer(
        &settings,
        "Success",
        "AMIversion: 11.0.0\r\nAsteriskVersion: 22.10.1\r\n",
    );
    assert_eq!(pbx.session.connection_state(), ConnectionState::Open);
    assert_eq!(pbx.session.server_version(), Some(Version::new(22, 10, 1)));
    assert_eq!(pbx.session.banner().unwrap().version(), "11.0.0");
}

#[test]
fn plain_login_then_filters_one_of_them_refused() {
    let mut config = Pbx::config();
    config.auth = LoginAuth::Plain;
    config.filters = vec!["Event: Newchannel".into(), "!Event: VarSet".into()];
    let mut pbx = Pbx::new(config);
    pbx.session.connect(pbx.now);
    pbx.feed(BANNER);
    let login = pbx.expect_sent("Login");
    assert_eq!(login.get("Secret").unwrap(), "amp111");
    // Nothing may arrive before the filters are in place.
    assert_eq!(login.get("Events").unwrap(), "off");
    pbx.answer(&login, "Success", "Message: Authentication accepted\r\n");
    let mut filters = pbx.sent();
    assert_eq!(filters.len(), 3);
    let mask = filters.pop().unwrap();
    assert_eq!(mask.get("Action").unwrap(), "Events");
    assert_eq!(mask.get("EventMask").unwrap(), "on");
    assert_eq!(filters[1].get("Filter").unwrap(), "!Event: VarSet");
    assert_eq!(filters[1].get("Operation").unwrap(), "Add");
    pbx.answer(
        &filters[0],
        "Success",
        "Message: Filter Added Successfully\r\n",
    );
    assert_eq!(
        pbx.session.connection_state(),
        ConnectionState::Connecting,
        "one filter still unanswered"
    );
    pbx.answer(&filters[1], "Error", "Message: Permission denied\r\n");
    assert_eq!(
        pbx.session.connection_state(),
        ConnectionState::Connecting,
        "the event mask still unanswered"
    );
    pbx.answer(&mask, "Success", "Events: On\r\n");
    let outputs = pbx.outputs();
    assert!(
        outputs.contains(&Output::Connection(ConnectionEvent::FilterRefused {
            filter: "!Event: VarSet".into(),
            reason: "Permission denied".into()
        }))
    );
    assert!(outputs.contains(&Output::Connection(ConnectionEvent::Open {
        reconnected: false
    })));
}

/// Logs in plainly with these filters and the release learnt; returns the
/// actions written after `CoreSettings` was answered with `version`.
fn login_with_filters(filters: Vec<EventFilter>, version: &str) -> (Pbx, Vec<Message>) {
    let mut config = Pbx::config();
    config.auth = LoginAuth::Plain;
    config.learn_server_version = true;
    config.filters = filters;
    let mut pbx = Pbx::new(config);
    pbx.session.connect(pbx.now);
    pbx.feed(BANNER);
    let login = pbx.expect_sent("Login");
    pbx.answer(&login, "Success", "Message: Authentication accepted\r\n");
    // MatchCriteria waits for the release: only CoreSettings goes out.
    let settings = pbx.expect_sent("CoreSettings");
    pbx.answer(
        &settings,
        "Success",
        &format!("AMIversion: 11.0.0\r\nAsteriskVersion: {version}\r\n"),
    );
    let sent = pbx.sent();
    (pbx, sent)
}

#[test]
fn match_criteria_filters_go_out_once_the_release_reads_them() {
    let by_channel = EventFilter::criteria(
        "name(Hangup),header(Channel),method(starts_with)",
        "PJSIP/loop-in-",
    );
    let (mut pbx, sent) =
        login_with_filters(vec![by_channel, "Event: Newchannel".into()], "22.1.0");
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[2].get("Action").unwrap(), "Events");
    // As the recorded client wrote it (ami-filters.jsonl).
    let names: Vec<String> = sent[0]
        .lines()
        .filter_map(|l| match l {
            ami_proto::Line::Field(n, _) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        names,
        ["Action", "ActionID", "Operation", "MatchCriteria", "Filter"]
    );
    assert_eq!(sent[0].get("Filter").unwrap(), "PJSIP/loop-in-");
    assert!(sent[1].get("MatchCriteria").is_none());
    assert_eq!(pbx.session.connection_state(), ConnectionState::Connecting);
    for filter in &sent[..2] {
        pbx.answer(filter, "Success", "Message: Filter Added Successfully\r\n");
    }
    assert_eq!(pbx.session.connection_state(), ConnectionState::Connecting);
    pbx.answer(&sent[2], "Success", "Events: On\r\n");
    assert_eq!(pbx.session.connection_state(), ConnectionState::Open);
}

#[test]
fn a_release_that_would_ignore_match_criteria_gets_no_such_filter() {
    let by_channel = EventFilter::criteria("name(Hangup),header(Channel)", "PJSIP/");
    for old in ["22.0.0", "20.10.2", "21.5.0", "18.25.0", "19.8.0"] {
        let (mut pbx, sent) =
            login_with_filters(vec![by_channel.clone(), "Event: Newchannel".into()], old);
        // The legacy filter goes out; the other would be read as a regex.
        assert_eq!(sent.len(), 2, "{old}");
        assert_eq!(sent[0].get("Filter").unwrap(), "Event: Newchannel");
        pbx.answer(&sent[0], "Success", "\r\n");
        pbx.answer(&sent[1], "Success", "Events: On\r\n");
        let outputs = pbx.outputs();
        let refused = outputs.iter().find_map(|o| match o {
            Output::Connection(ConnectionEvent::FilterRefused { filter, reason }) => {
                Some((filter.clone(), reason.clone()))
            }
            _ => None,
        });
        let (filter, reason) = refused.expect("reported refused");
        assert_eq!(filter, by_channel);
        assert!(reason.contains("ignores MatchCriteria"), "{reason}");
        assert!(outputs.contains(&Output::Connection(ConnectionEvent::Open {
            reconnected: false
        })));
        // The application's own Filter action is held back the same way.
        let own = Action::new("Filter")
            .header("Operation", "Add")
            .header("MatchCriteria", "name(Hangup)")
            .header("Filter", "x");
        assert!(matches!(
            pbx.session.send(&own, pbx.now),
            Err(ActionError::Unsupported(_))
        ));
        assert!(
            pbx.session
                .send(&Action::new("Filter").header("Filter", "x"), pbx.now)
                .is_ok()
        );
    }
    for new in ["20.11.0", "21.6.0", "22.10.1", "23.0.0", "24.2.0"] {
        let (_, sent) = login_with_filters(vec![by_channel.clone()], new);
        assert_eq!(sent.len(), 2, "{new}");
    }
}

#[test]
fn a_refused_login_stops_without_retrying() {
    let mut pbx = Pbx::new(Pbx::config());
    let early = pbx.session.send(&Action::new("Ping"), pbx.now).unwrap();
    pbx.sent();
    pbx.feed(BANNER);
    let challenge = pbx.expect_sent("Challenge");
    pbx.answer(&challenge, "Success", "Challenge: 1\r\n");
    let login = pbx.expect_sent("Login");
    pbx.answer(&login, "Error", "Message: Authentication failed\r\n");
    pbx.sent();
    assert_eq!(pbx.closed, 1);
    let outputs = pbx.outputs();
    assert!(
        outputs.contains(&Output::Connection(ConnectionEvent::Closed(
            CloseReason::LoginRefused("Authentication failed".into())
        )))
    );
    assert!(outputs.contains(&Output::Connection(ConnectionEvent::Stopped)));
    assert_eq!(answers(&outputs), [(early.0, Err(ActionError::Closed))]);
    assert_eq!(pbx.session.poll_timeout(), None, "no retry scheduled");
    assert_eq!(
        pbx.session.send(&Action::new("Ping"), pbx.now),
        Err(ActionError::Closed)
    );
}

#[test]
fn actions_wait_for_the_login_and_are_matched_by_action_id() {
    let mut pbx = Pbx::new(Pbx::config());
    let first = pbx.session.send(&Action::new("Ping"), pbx.now).unwrap();
    let second = pbx
        .session
        .send(&Action::new("Getvar").header("Variable", "X"), pbx.now)
        .unwrap();
    assert_eq!(
        pbx.session.connection_state(),
        ConnectionState::Connecting,
        "sending connects"
    );
    pbx.sent();
    pbx.feed(BANNER);
    let challenge = pbx.expect_sent("Challenge");
    pbx.answer(&challenge, "Success", "Challenge: 1\r\n");
    let login = pbx.expect_sent("Login");
    pbx.answer(&login, "Success", "\r\n");
    let sent = pbx.sent();
    assert_eq!(sent.len(), 2, "both go out once logged in, in order");
    // Answered out of order; each finds its action.
    pbx.answer(&sent[1], "Error", "Message: No such channel\r\n");
    pbx.answer(&sent[0], "Success", "Ping: Pong\r\n");
    let got = answers(&pbx.outputs());
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, second.0);
    assert!(
        matches!(&got[0].1, Err(ActionError::Refused { message, .. }) if message == "No such channel")
    );
    assert_eq!(got[1].0, first.0);
    assert_eq!(
        got[1].1.as_ref().unwrap().response.get("Ping").unwrap(),
        "Pong"
    );
}

#[test]
fn an_event_list_is_one_answer_and_other_events_pass_by() {
    let mut pbx = Pbx::open(Pbx::config());
    let id = pbx
        .session
        .send(&Action::new("CoreShowChannels"), pbx.now)
        .unwrap();
    let sent = pbx.expect_sent("CoreShowChannels");
    let aid = sent.action_id().unwrap().to_string();
    pbx.answer(
        &sent,
        "Success",
        "EventList: start\r\nMessage: Channels will follow\r\n",
    );
    pbx.feed(&format!(
        "Event: CoreShowChannel\r\nActionID: {aid}\r\nChannel: PJSIP/a-1\r\n\r\n"
    ));
    pbx.feed("Event: Newchannel\r\nChannel: PJSIP/b-2\r\n\r\n");
    pbx.feed(&format!(
        "Event: CoreShowChannel\r\nActionID: {aid}\r\nChannel: PJSIP/c-3\r\n\r\n"
    ));
    let before = pbx.outputs();
    assert!(answers(&before).is_empty(), "not complete yet");
    assert!(
        matches!(&before[..], [Output::Event(m)] if m.get("Channel").unwrap() == "PJSIP/b-2"),
        "the unrelated event is delivered, the items are not: {before:?}"
    );
    pbx.feed(&format!("Event: CoreShowChannelsComplete\r\nActionID: {aid}\r\nEventList: Complete\r\nListItems: 2\r\n\r\n"));
    let outputs = pbx.outputs();
    let got = answers(&outputs);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, id.0);
    let answer = got[0].1.as_ref().unwrap();
    let channels: Vec<String> = answer
        .items
        .iter()
        .map(|m| m.get("Channel").unwrap().to_string())
        .collect();
    assert_eq!(channels, ["PJSIP/a-1", "PJSIP/c-3"]);
    assert_eq!(
        answer
            .completion
            .as_ref()
            .unwrap()
            .get("ListItems")
            .unwrap(),
        "2"
    );
    assert_eq!(outputs.len(), 1, "{outputs:?}");
}

#[test]
fn an_asynchronous_originate_ends_with_its_originate_response() {
    let mut pbx = Pbx::open(Pbx::config());
    let originate = |pbx: &mut Pbx| {
        let action = Action::new("Originate")
            .header("Channel", "PJSIP/100")
            .header("Application", "Wait")
            .header("Async", "true");
        let id = pbx.session.send(&action, pbx.now).unwrap();
        let sent = pbx.expect_sent("Originate");
        pbx.answer(
            &sent,
            "Success",
            "Message: Originate successfully queued\r\n",
        );
        (id, sent.action_id().unwrap().to_string())
    };
    let (ok, aid) = originate(&mut pbx);
    assert!(answers(&pbx.outputs()).is_empty());
    pbx.feed(&format!(
        "Event: OriginateResponse\r\nActionID: {aid}\r\nResponse: Success\r\nUniqueid: 1.1\r\n\r\n"
    ));
    let got = answers(&pbx.outputs());
    assert_eq!(got[0].0, ok.0);
    assert_eq!(
        got[0]
            .1
            .as_ref()
            .unwrap()
            .completion
            .as_ref()
            .unwrap()
            .get("Uniqueid")
            .unwrap(),
        "1.1"
    );

    let (failed, aid) = originate(&mut pbx);
    pbx.feed(&format!(
        "Event: OriginateResponse\r\nActionID: {aid}\r\nResponse: Failure\r\nReason: 0\r\n\r\n"
    ));
    let got = answers(&pbx.outputs());
    assert_eq!(got[0].0, failed.0);
    assert!(
        matches!(&got[0].1, Err(ActionError::Refused { response, .. }) if response.get("Reason").unwrap() == "0")
    );
    assert_eq!(
        got[0].1.as_ref().unwrap_err().to_string(),
        "Asterisk refused it: the originated call failed (Reason 0: the channel could not be created or did not answer)"
    );
}

#[test]
fn foreign_answers_are_orphans_and_foreign_events_are_events() {
    let mut pbx = Pbx::open(Pbx::config());
    pbx.feed("Response: Success\r\nActionID: someone-else-7\r\n\r\n");
    pbx.feed("Event: OriginateResponse\r\nActionID: someone-else-8\r\nResponse: Success\r\n\r\n");
    let outputs = pbx.outputs();
    assert!(matches!(&outputs[0], Output::Orphan(_)));
    assert!(
        matches!(&outputs[1], Output::Event(m) if m.get("Event").unwrap() == "OriginateResponse")
    );
}

#[test]
fn unanswered_actions_time_out() {
    let mut config = Pbx::config();
    config.request_timeout = Duration::from_secs(5);
    let mut pbx = Pbx::open(config);
    let id = pbx.session.send(&Action::new("Ping"), pbx.now).unwrap();
    pbx.sent();
    pbx.advance(Duration::from_millis(4999));
    assert!(answers(&pbx.outputs()).is_empty());
    pbx.advance(Duration::from_millis(1));
    assert_eq!(
        answers(&pbx.outputs()),
        [(id.0, Err(ActionError::Timeout(Duration::from_secs(5))))]
    );
}

#[test]
fn a_drop_fails_sent_actions_then_backs_off_and_logs_in_again() {
    let mut pbx = Pbx::open(Pbx::config());
    let lost = pbx.session.send(&Action::new("Ping"), pbx.now).unwrap();
    pbx.sent();
    pbx.session.handle_closed("reset by peer", pbx.now);
    let outputs = pbx.outputs();
    assert_eq!(
        answers(&outputs),
        [(lost.0, Err(ActionError::ConnectionLost))]
    );
    let Some(Output::Connection(ConnectionEvent::Backoff { until, attempt: 0 })) = outputs
        .iter()
        .find(|o| matches!(o, Output::Connection(ConnectionEvent::Backoff { .. })))
        .cloned()
    else {
        panic!("{outputs:?}")
    };
    assert_eq!(pbx.session.poll_timeout(), Some(until));
    // Sent during the gap: waits for the next login.
    let waiting = pbx.session.send(&Action::new("Ping"), pbx.now).unwrap();
    pbx.now = until;
    pbx.session.handle_timeout(pbx.now);
    assert!(pbx.sent().is_empty(), "connect first");
    assert!(pbx.connected);
    pbx.feed(BANNER);
    let challenge = pbx.expect_sent("Challenge");
    pbx.answer(&challenge, "Success", "Challenge: 2\r\n");
    let login = pbx.expect_sent("Login");
    pbx.answer(&login, "Success", "\r\n");
    assert!(
        pbx.outputs()
            .contains(&Output::Connection(ConnectionEvent::Open {
                reconnected: true
            }))
    );
    let ping = pbx.expect_sent("Ping");
    pbx.answer(&ping, "Success", "Ping: Pong\r\n");
    let got = answers(&pbx.outputs());
    assert_eq!(got[0].0, waiting.0);
    assert!(got[0].1.is_ok());
}

#[test]
fn a_login_that_never_finishes_times_out() {
    let mut config = Pbx::config();
    config.connect_timeout = Duration::from_secs(3);
    let mut pbx = Pbx::new(config);
    pbx.session.connect(pbx.now);
    pbx.sent();
    pbx.feed(BANNER);
    pbx.expect_sent("Challenge");
    pbx.advance(Duration::from_secs(3));
    pbx.sent();
    assert_eq!(pbx.closed, 1);
    assert!(
        pbx.outputs()
            .contains(&Output::Connection(ConnectionEvent::Closed(
                CloseReason::ConnectTimeout
            )))
    );
    assert_eq!(pbx.session.connection_state(), ConnectionState::Backoff);
}

#[test]
fn a_quiet_connection_is_pinged_and_a_silent_one_replaced() {
    let mut config = Pbx::config();
    config.ping_interval = Some(Duration::from_secs(20));
    config.idle_timeout = Duration::from_secs(60);
    let mut pbx = Pbx::open(config);
    pbx.advance(Duration::from_secs(20));
    let ping = pbx.expect_sent("Ping");
    pbx.answer(&ping, "Success", "Ping: Pong\r\n");
    assert!(
        pbx.outputs().is_empty(),
        "the session's own ping is not the application's"
    );
    // Heard just now: the next ping is 20 s from here.
    pbx.advance(Duration::from_secs(19));
    assert!(pbx.sent().is_empty());
    pbx.advance(Duration::from_secs(1));
    pbx.expect_sent("Ping");
    pbx.advance(Duration::from_secs(40));
    pbx.sent();
    assert_eq!(pbx.closed, 1);
    assert!(
        pbx.outputs()
            .contains(&Output::Connection(ConnectionEvent::Closed(
                CloseReason::Silent
            )))
    );
}

#[test]
fn a_peer_that_is_not_asterisk_is_left() {
    let mut pbx = Pbx::new(Pbx::config());
    pbx.session.connect(pbx.now);
    pbx.sent();
    pbx.feed("SSH-2.0-OpenSSH_9.6\r\n");
    pbx.sent();
    assert_eq!(pbx.closed, 1);
    assert!(
        pbx.outputs()
            .contains(&Output::Connection(ConnectionEvent::Closed(
                CloseReason::NotAmi("SSH-2.0-OpenSSH_9.6".into())
            )))
    );
}

#[test]
fn close_logs_off_and_fails_what_waits() {
    let mut pbx = Pbx::open(Pbx::config());
    let id = pbx.session.send(&Action::new("Ping"), pbx.now).unwrap();
    pbx.sent();
    pbx.session.close(pbx.now);
    let sent = pbx.sent();
    assert!(matches!(sent[0].kind(), Kind::Action(n) if n == "Logoff"));
    assert_eq!(pbx.closed, 1);
    let outputs = pbx.outputs();
    assert_eq!(answers(&outputs), [(id.0, Err(ActionError::Closed))]);
    assert_eq!(
        outputs.last(),
        Some(&Output::Connection(ConnectionEvent::Stopped))
    );
}

#[test]
fn unsendable_logins_and_actions_are_refused_up_front() {
    let mut config = Pbx::config();
    config.secret = ami_proto::Secret::new("pw\r\nAction: Logoff");
    assert!(Session::new(config).is_err());
    let mut pbx = Pbx::open(Pbx::config());
    let bad = Action::new("Setvar").header("Value", "a\nb");
    assert!(matches!(
        pbx.session.send(&bad, pbx.now),
        Err(ActionError::Encode(_))
    ));
    assert!(pbx.sent().is_empty());
}

#[test]
fn action_ids_differ_between_sessions_with_different_seeds() {
    let id_of = |seed| {
        let mut config = Pbx::config();
        config.seed = seed;
        let mut pbx = Pbx::open(config);
        pbx.session.send(&Action::new("Ping"), pbx.now).unwrap();
        pbx.expect_sent("Ping").action_id().unwrap().to_string()
    };
    assert_ne!(id_of(1), id_of(2));
    assert_eq!(id_of(3), id_of(3), "replayable from the seed");
}

#[test]
fn events_naming_an_action_before_an_answer_that_starts_no_list_are_events() {
    let mut pbx = Pbx::open(Pbx::config());
    for answer in ["Success", "Error"] {
        let id = pbx.session.send(&Action::new("Status"), pbx.now).unwrap();
        let sent = pbx.expect_sent("Status");
        let aid = sent.action_id().unwrap().to_string();
        pbx.feed(&format!(
            "Event: Status\r\nActionID: {aid}\r\nChannel: PJSIP/a-1\r\n\r\n"
        ));
        pbx.answer(&sent, answer, "Message: done\r\n");
        let outputs = pbx.outputs();
        assert!(
            matches!(&outputs[0], Output::Event(m) if m.get("Channel").unwrap() == "PJSIP/a-1"),
            "{answer}: {outputs:?}"
        );
        let got = answers(&outputs);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, id.0);
        assert_eq!(got[0].1.is_ok(), answer == "Success");
    }
}

#[test]
fn two_clients_never_share_action_ids() {
    // Asterisk sends every OriginateResponse to every session: a shared
    // ActionID would hand one client's answer to another.
    let ids: Vec<String> = (0..2)
        .map(|_| {
            let mut pbx = Pbx::open(Pbx::config());
            pbx.session.send(&Action::new("Ping"), pbx.now).unwrap();
            pbx.expect_sent("Ping").action_id().unwrap().to_string()
        })
        .collect();
    assert_ne!(ids[0], ids[1]);
    assert_ne!(Pbx::config().seed, Pbx::config().seed);
}

#[test]
fn an_event_mask_refused_after_the_filters_stops_the_session() {
    let mut config = Pbx::config();
    config.auth = LoginAuth::Plain;
    config.events = EventMask::Classes(vec!["no-such-class".into()]);
    config.filters = vec!["Event: Newchannel".into()];
    let mut pbx = Pbx::new(config);
    pbx.session.connect(pbx.now);
    pbx.feed(BANNER);
    let login = pbx.expect_sent("Login");
    assert_eq!(login.get("Events").unwrap(), "off");
    pbx.answer(&login, "Success", "Message: Authentication accepted\r\n");
    let sent = pbx.sent();
    assert_eq!(sent[1].get("EventMask").unwrap(), "no-such-class");
    pbx.answer(
        &sent[0],
        "Success",
        "Message: Filter Added Successfully\r\n",
    );
    pbx.answer(&sent[1], "Error", "Message: Invalid event mask\r\n");
    let outputs = pbx.outputs();
    assert!(
        outputs.contains(&Output::Connection(ConnectionEvent::Closed(
            CloseReason::LoginRefused("Invalid event mask".into())
        ))),
        "{outputs:?}"
    );
    assert_eq!(pbx.session.connection_state(), ConnectionState::Stopped);
}

/// Logs in plainly with `filters`, answering every setup action with
/// success; the filter actions the login sent.
fn logged_in_with(pbx: &mut Pbx, filters: usize) -> Vec<Message> {
    pbx.feed(BANNER);
    let login = pbx.expect_sent("Login");
    assert_eq!(login.get("Events").unwrap(), "off");
    pbx.answer(&login, "Success", "Message: Authentication accepted\r\n");
    let mut sent = pbx.sent();
    assert_eq!(sent.len(), filters + 1, "{sent:?}");
    let mask = sent.pop().unwrap();
    for filter in &sent {
        pbx.answer(filter, "Success", "Message: Filter Added Successfully\r\n");
    }
    pbx.answer(&mask, "Success", "Events: On\r\n");
    assert_eq!(pbx.session.connection_state(), ConnectionState::Open);
    sent
}

fn filtered_session(filters: &[&str]) -> Pbx {
    let mut config = Pbx::config();
    config.auth = LoginAuth::Plain;
    config.filters = filters.iter().map(|&f| f.into()).collect();
    let mut pbx = Pbx::new(config);
    pbx.session.connect(pbx.now);
    pbx.sent();
    logged_in_with(&mut pbx, filters.len());
    pbx.outputs();
    pbx
}

#[test]
fn filters_added_later_go_out_on_the_same_connection() {
    let mut pbx = filtered_session(&["Event: Newchannel"]);
    let new = vec![
        "Event: Newchannel".into(),
        "Event: Hangup".into(),
        "(".into(),
    ];
    pbx.session.set_filters(new, pbx.now).unwrap();
    let sent = pbx.sent();
    assert_eq!(pbx.closed, 0, "no new connection");
    let filters: Vec<String> = sent
        .iter()
        .map(|m| m.get("Filter").unwrap().to_string())
        .collect();
    assert_eq!(filters, ["Event: Hangup", "("]);
    pbx.answer(
        &sent[0],
        "Success",
        "Message: Filter Added Successfully\r\n",
    );
    pbx.answer(&sent[1], "Error", "Message: Filter Not Added\r\n");
    assert_eq!(
        pbx.outputs(),
        [Output::Connection(ConnectionEvent::FilterRefused {
            filter: "(".into(),
            reason: "Filter Not Added".into()
        })]
    );
    assert_eq!(pbx.session.config().filters.len(), 3);
}

#[test]
fn other_filters_mean_a_new_login_at_once() {
    let mut pbx = filtered_session(&["Event: Newchannel", "Event: Hangup"]);
    let waiting = pbx.session.send(&Action::new("Ping"), pbx.now).unwrap();
    pbx.sent();
    pbx.session
        .set_filters(vec!["Event: Hangup".into()], pbx.now)
        .unwrap();
    let sent = pbx.sent();
    assert_eq!(sent.len(), 1);
    assert!(matches!(sent[0].kind(), Kind::Action(n) if n.eq_ignore_case("Logoff")));
    assert_eq!(pbx.closed, 1);
    assert!(pbx.connected, "the next connection is asked for at once");
    let outputs = pbx.outputs();
    assert_eq!(
        outputs[0],
        Output::Connection(ConnectionEvent::Closed(CloseReason::FiltersChanged))
    );
    assert_eq!(
        answers(&outputs),
        [(waiting.0, Err(ActionError::ConnectionLost))]
    );
    // Actions sent meanwhile wait for the new login.
    let queued = pbx.session.send(&Action::new("Ping"), pbx.now).unwrap();
    let filters = logged_in_with(&mut pbx, 1);
    assert_eq!(filters[0].get("Filter").unwrap(), "Event: Hangup");
    let ping = pbx.expect_sent("Ping");
    pbx.answer(&ping, "Success", "Ping: Pong\r\n");
    let outputs = pbx.outputs();
    assert!(outputs.contains(&Output::Connection(ConnectionEvent::Open {
        reconnected: true
    })));
    assert_eq!(answers(&outputs)[0].0, queued.0);
}

#[test]
fn filters_set_before_connecting_or_unwritable_change_nothing_on_the_wire() {
    let mut pbx = Pbx::new(Pbx::config());
    pbx.session
        .set_filters(vec!["Event: Hangup".into()], pbx.now)
        .unwrap();
    assert!(pbx.sent().is_empty());
    let bad = pbx
        .session
        .set_filters(vec!["Event: Hangup\r\nAction: Logoff".into()], pbx.now);
    assert!(bad.is_err());
    assert_eq!(
        pbx.session.config().filters,
        [EventFilter::from("Event: Hangup")]
    );
    pbx.session.connect(pbx.now);
    pbx.sent();
    pbx.feed(BANNER);
    let challenge = pbx.expect_sent("Challenge");
    pbx.answer(&challenge, "Success", "Challenge: 1\r\n");
    let login = pbx.expect_sent("Login");
    assert_eq!(login.get("Events").unwrap(), "off");
}
