//! The session and the parsers on hand-made input: the odd replies, the
//! hangup at any point, limits, timeouts on a virtual clock, and bytes
//! split anywhere.

use agi_proto::commands::{
    Answer, AnyCommand, ControlStreamFile, DatabaseGet, GetData, GetFullVariable, GetVariable,
    Gosub, Noop, OnOff, RecordFile, SayDatetime, SetAutohangup, SetMusic, SetVariable, StreamFile,
    Verbose, WaitForDigit,
};
use agi_proto::{
    CloseReason, Command, CommandError, CommandId, Config, DataEntry, DecodeError, DigitResult,
    EncodeError, GosubResult, Output, RawCommand, Reply, ReplyError, Session, State, Transmit,
};
use std::time::{Duration, Instant};

const ENV: &[u8] =
    b"agi_network: yes\nagi_network_script: ivr?lang=fr\nagi_request: agi://h/ivr?lang=fr\n\
agi_channel: PJSIP/a-1\nagi_calleridname: Andr\xe9\nagi_uniqueid: 1.1\nagi_arg_1: x\n\n";

fn open(now: Instant) -> Session {
    let mut s = Session::new(Config::default(), now);
    s.handle_bytes(ENV, now);
    let Some(Output::Request(r)) = s.poll_output() else {
        panic!("no request")
    };
    assert_eq!(r.caller_id_name.as_ref().unwrap().as_bytes(), b"Andr\xe9");
    assert_eq!(r.script().unwrap().param("lang").unwrap(), "fr");
    s
}

fn sent(s: &mut Session) -> Vec<u8> {
    match s.poll_transmit() {
        Some(Transmit::Send(b)) => b,
        other => panic!("expected a send, got {other:?}"),
    }
}

fn outputs(s: &mut Session) -> Vec<Output> {
    std::iter::from_fn(|| s.poll_output()).collect()
}

fn reply_of(outs: &[Output], id: CommandId) -> Result<Reply, CommandError> {
    outs.iter()
        .find_map(|o| match o {
            Output::Reply { id: i, result } if *i == id => Some(result.clone()),
            _ => None,
        })
        .expect("no reply")
}

#[test]
fn a_hangup_before_the_answer_is_recorded_and_the_answer_still_comes() {
    let now = Instant::now();
    let mut s = open(now);
    let play = StreamFile::new("tt-monkeys", "");
    let id = s.send(&play, now).unwrap();
    assert_eq!(sent(&mut s), b"STREAM FILE tt-monkeys \"\"\n");
    s.handle_bytes(b"HANGUP\n", now);
    assert!(s.is_hung_up());
    assert_eq!(s.in_flight(), Some(id));
    s.handle_bytes(b"200 result=-1 endpos=12160\n", now);
    let outs = outputs(&mut s);
    assert_eq!(outs[0], Output::Hangup);
    let reply = reply_of(&outs, id).unwrap();
    let playback = play.parse_reply(&reply).unwrap();
    assert_eq!(playback.result, DigitResult::Failed);
    assert_eq!(playback.endpos, 12160);
    // Now only what Asterisk runs on a dead channel goes out.
    assert_eq!(
        s.send(&Answer::new(), now),
        Err(CommandError::DeadChannel { command: "ANSWER" })
    );
    assert_eq!(
        s.send(&RawCommand::new("stream file beep \"\""), now),
        Err(CommandError::DeadChannel {
            command: "STREAM FILE"
        })
    );
    let id = s.send(&GetVariable::new("CHANNEL"), now).unwrap();
    assert_eq!(sent(&mut s), b"GET VARIABLE CHANNEL\n");
    s.handle_bytes(b"200 result=1 (PJSIP/a-1)\n", now);
    assert!(reply_of(&outputs(&mut s), id).is_ok());
    // Unknown commands are Asterisk's to refuse (510).
    assert!(s.send(&RawCommand::new("FOO BAR"), now).is_ok());
}

#[test]
fn commands_queued_before_a_hangup_fail_when_their_turn_comes() {
    let now = Instant::now();
    let mut s = open(now);
    let a = s.send(&Noop::new(), now).unwrap();
    let b = s.send(&Answer::new(), now).unwrap();
    let c = s.send(&Verbose::new("still here").level(1), now).unwrap();
    assert_eq!(s.queued(), 2);
    assert_eq!(sent(&mut s), b"NOOP\n");
    s.handle_bytes(b"HANGUP\n200 result=0\n", now);
    assert_eq!(sent(&mut s), b"VERBOSE \"still here\" 1\n");
    let outs = outputs(&mut s);
    assert!(reply_of(&outs, a).is_ok());
    assert_eq!(
        reply_of(&outs, b),
        Err(CommandError::DeadChannel { command: "ANSWER" })
    );
    assert_eq!(s.in_flight(), Some(c));
}

#[test]
fn usage_blocks_interim_lines_and_unescaped_parentheses() {
    let now = Instant::now();
    let mut s = open(now);
    let usage = SetVariable::new("A", "b");
    let id = s.send(&usage, now).unwrap();
    let _ = sent(&mut s);
    s.handle_bytes(
        b"520-Invalid command syntax.  Proper usage follows:\nSets a variable.\n<literal>x</literal>\n520 End of proper usage.\n",
        now,
    );
    let reply = reply_of(&outputs(&mut s), id).unwrap();
    assert_eq!(
        usage.parse_reply(&reply),
        Err(ReplyError::Usage {
            usage: "Sets a variable.\n<literal>x</literal>".into()
        })
    );

    let gosub = Gosub::new("ctx", "s", "1").arguments("one,two");
    let id = s.send(&gosub, now).unwrap();
    assert_eq!(sent(&mut s), b"GOSUB ctx s 1 \"one,two\"\n");
    s.handle_bytes(b"100 result=0 Trying...\n", now);
    let outs = outputs(&mut s);
    assert!(
        matches!(&outs[..], [Output::Interim { id: i, reply }] if *i == id && reply.code() == 100)
    );
    assert_eq!(s.in_flight(), Some(id));
    s.handle_bytes(b"200 result=0 Gosub complete\n", now);
    let reply = reply_of(&outputs(&mut s), id).unwrap();
    assert_eq!(gosub.parse_reply(&reply), Ok(GosubResult::Complete));

    let get = GetVariable::new("TRICKY");
    let id = s.send(&get, now).unwrap();
    let _ = sent(&mut s);
    s.handle_bytes(b"200 result=1 (a)b) endpos=1 (y)\n", now);
    let reply = reply_of(&outputs(&mut s), id).unwrap();
    assert_eq!(
        get.parse_reply(&reply).unwrap().unwrap(),
        "a)b) endpos=1 (y"
    );
    // 510 and 511 as typed errors.
    for (line, want) in [
        (
            &b"510 Invalid or unknown command\n"[..],
            ReplyError::InvalidCommand,
        ),
        (
            &b"511 Command Not Permitted on a dead channel or intercept routine\n"[..],
            ReplyError::DeadChannel,
        ),
    ] {
        let id = s.send(&get, now).unwrap();
        let _ = sent(&mut s);
        s.handle_bytes(line, now);
        let reply = reply_of(&outputs(&mut s), id).unwrap();
        assert_eq!(get.parse_reply(&reply), Err(want));
    }
}

#[test]
fn a_value_may_span_lines() {
    let now = Instant::now();
    let mut s = open(now);
    let get = GetFullVariable::new("${SHELL(printf 'a\\nb')}");
    let id = s.send(&get, now).unwrap();
    assert_eq!(
        sent(&mut s),
        b"GET FULL VARIABLE \"${SHELL(printf 'a\\\\nb')}\"\n"
    );
    s.handle_bytes(b"200 result=1 (a\nb)\n", now);
    let reply = reply_of(&outputs(&mut s), id).unwrap();
    assert_eq!(get.parse_reply(&reply).unwrap().unwrap(), "a\nb");
    // Only for commands whose reply is a value.
    let id = s.send(&Noop::new(), now).unwrap();
    let _ = sent(&mut s);
    s.handle_bytes(b"200 result=1 (a\nb)\n", now);
    let outs = outputs(&mut s);
    assert!(reply_of(&outs, id).is_ok());
    assert!(matches!(
        outs[1],
        Output::Malformed(DecodeError::NotAReply(_))
    ));
}

#[test]
fn bytes_that_are_not_utf8_go_both_ways() {
    let now = Instant::now();
    let mut s = open(now);
    let set = SetVariable::new("NAME", &b"Andr\xe9 M"[..]);
    s.send(&set, now).unwrap();
    assert_eq!(sent(&mut s), b"SET VARIABLE NAME \"Andr\xe9 M\"\n");
    s.handle_bytes(b"200 result=1\n", now);
    let get = DatabaseGet::new("fam", b"k\xff".to_vec());
    let id = s.send(&get, now).unwrap();
    assert_eq!(sent(&mut s), b"DATABASE GET fam k\xff\n");
    s.handle_bytes(b"200 result=1 (\xe9t\xe9)\n", now);
    let outs = outputs(&mut s);
    let value = get
        .parse_reply(&reply_of(&outs, id).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(value.as_bytes(), b"\xe9t\xe9");
    assert!(value.to_str().is_err());
}

#[test]
fn arguments_asterisk_would_misread_are_refused() {
    let now = Instant::now();
    let mut s = open(now);
    let long = SetVariable::new("X", "y".repeat(agi_proto::MAX_LINE));
    assert!(matches!(
        s.send(&long, now),
        Err(CommandError::Encode(EncodeError::LineTooLong { .. }))
    ));
    let fits = SetVariable::new("X", "y".repeat(agi_proto::MAX_LINE - 15));
    assert_eq!(fits.encode().unwrap().len(), agi_proto::MAX_LINE + 1);
    assert_eq!(
        Verbose::new("two\nlines").encode(),
        Err(EncodeError::ForbiddenByte { index: 1 })
    );
    assert_eq!(
        SetVariable::new("X", "a\rb").encode(),
        Err(EncodeError::ForbiddenByte { index: 2 })
    );
    let many = vec!["w"; 126].join(" ");
    assert!(RawCommand::new(format!("NOOP {many}")).encode().is_ok());
    assert_eq!(
        RawCommand::new(format!("NOOP {many} w")).encode(),
        Err(EncodeError::TooManyWords { words: 128 })
    );
    assert_eq!(
        RawCommand::new("failure: could not start").encode(),
        Err(EncodeError::FailureLine)
    );
    // Positional arguments: a later one needs the earlier ones.
    assert_eq!(
        SayDatetime::new(0, "").timezone("UTC").encode(),
        Err(EncodeError::MissingArgument {
            command: "SAY DATETIME",
            param: "format"
        })
    );
    // ...unless the earlier ones have a neutral value.
    assert_eq!(
        ControlStreamFile::new("f", "")
            .offset_ms(500)
            .encode()
            .unwrap(),
        b"CONTROL STREAM FILE f \"\" 3000 \"\" \"\" \"\" 500\n"
    );
    assert_eq!(
        GetData::new("beep").max_digits(4).encode().unwrap(),
        b"GET DATA beep 0 4\n"
    );
    assert!(s.poll_transmit().is_none());
}

#[test]
fn typed_builders_write_what_parse_args_reads_back() {
    let cases: Vec<(AnyCommand, &[u8])> = vec![
        (
            AnyCommand::RecordFile(
                RecordFile::new("/tmp/r", "wav", "#", -1)
                    .beep(true)
                    .silence(3),
            ),
            b"RECORD FILE /tmp/r wav \"#\" -1 beep s=3\n",
        ),
        (
            AnyCommand::RecordFile(
                RecordFile::new("r", "wav", "", 5000)
                    .offset_samples(800)
                    .silence(2),
            ),
            b"RECORD FILE r wav \"\" 5000 800 s=2\n",
        ),
        (
            AnyCommand::SetAutohangup(SetAutohangup::new(Duration::from_millis(2500))),
            b"SET AUTOHANGUP 2.5\n",
        ),
        (
            AnyCommand::SetMusic(SetMusic::new(OnOff::On).class("default")),
            b"SET MUSIC on default\n",
        ),
        (
            AnyCommand::WaitForDigit(WaitForDigit::new(-1)),
            b"WAIT FOR DIGIT -1\n",
        ),
    ];
    for (cmd, line) in cases {
        assert_eq!(cmd.encode().unwrap(), line);
        assert_eq!(
            AnyCommand::from_line(line),
            cmd,
            "{}",
            String::from_utf8_lossy(line)
        );
    }
    // Lines that fit no typed command stay raw.
    for line in [
        &b"SAY NUMBER notanumber \"\""[..],
        b"SET MUSIC ON",
        b"NOOP extra",
        b"FOO",
    ] {
        assert!(matches!(AnyCommand::from_line(line), AnyCommand::Raw(_)));
    }
}

#[test]
fn the_command_table() {
    let all = agi_proto::all();
    assert_eq!(all.len(), 47);
    let dead: Vec<&str> = all.iter().filter(|c| c.dead).map(|c| c.name).collect();
    assert_eq!(dead.len(), 13, "{dead:?}");
    for name in [
        "NOOP",
        "GET VARIABLE",
        "SET VARIABLE",
        "EXEC",
        "DATABASE DELTREE",
        "SPEECH DESTROY",
    ] {
        assert!(dead.contains(&name), "{name}");
    }
    assert!(agi_proto::find("gosub").unwrap().interim);
    assert!(agi_proto::find("stream file").is_some_and(|c| !c.dead));
    assert!(all.iter().all(|c| c.releases == ["20", "22", "23"]));
}

#[test]
fn timeouts_on_the_virtual_clock() {
    let t0 = Instant::now();
    // No environment block.
    let mut s = Session::new(Config::default(), t0);
    let deadline = s.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + Duration::from_secs(10));
    s.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(s.state(), State::AwaitingRequest);
    s.handle_timeout(deadline);
    assert_eq!(s.poll_transmit(), Some(Transmit::Close));
    assert_eq!(
        outputs(&mut s),
        [Output::Closed(CloseReason::RequestTimeout)]
    );
    assert_eq!(s.poll_timeout(), None);

    // A command with its own timeout: the session ends, as a late reply
    // would be taken for the next command's.
    let mut s = open(t0);
    assert_eq!(s.poll_timeout(), None, "no deadline while idle");
    let a = s
        .send_with_timeout(&Noop::new(), Some(Duration::from_secs(2)), t0)
        .unwrap();
    let b = s.send(&Noop::new(), t0).unwrap();
    let _ = sent(&mut s);
    assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(2)));
    s.handle_timeout(t0 + Duration::from_secs(2));
    let outs = outputs(&mut s);
    assert_eq!(
        reply_of(&outs, a),
        Err(CommandError::Timeout(Duration::from_secs(2)))
    );
    assert_eq!(reply_of(&outs, b), Err(CommandError::Closed));
    assert_eq!(
        outs.last(),
        Some(&Output::Closed(CloseReason::CommandTimeout))
    );
    assert_eq!(s.poll_transmit(), Some(Transmit::Close));
    assert_eq!(s.send(&Noop::new(), t0), Err(CommandError::Closed));
}

#[test]
fn closing_reads_what_is_left() {
    let t0 = Instant::now();
    let mut s = open(t0);
    let a = s.send(&Noop::new(), t0).unwrap();
    let b = s.send(&Noop::new(), t0).unwrap();
    let _ = sent(&mut s);
    s.close(t0);
    assert_eq!(s.poll_transmit(), Some(Transmit::Close));
    assert_eq!(s.state(), State::Closing);
    s.handle_bytes(b"200 result=0\nHANGUP\n", t0);
    s.handle_eof(t0);
    let outs = outputs(&mut s);
    assert_eq!(reply_of(&outs, b), Err(CommandError::Closed));
    assert!(reply_of(&outs, a).is_ok());
    assert!(outs.contains(&Output::Hangup));
    assert_eq!(outs.last(), Some(&Output::Closed(CloseReason::Finished)));

    // Asterisk does not close: the close timeout ends it.
    let mut s = open(t0);
    s.close(t0);
    let _ = s.poll_transmit();
    let at = s.poll_timeout().unwrap();
    assert_eq!(at, t0 + Duration::from_secs(5));
    s.handle_timeout(at);
    assert_eq!(outputs(&mut s), [Output::Closed(CloseReason::CloseTimeout)]);

    // Asterisk closes first (AGIEXITONHANGUP=yes).
    let mut s = open(t0);
    let a = s.send(&Noop::new(), t0).unwrap();
    let _ = sent(&mut s);
    s.handle_bytes(b"HANGUP\nHANGUP\n", t0);
    s.handle_eof(t0);
    let outs = outputs(&mut s);
    assert_eq!(reply_of(&outs, a), Err(CommandError::ConnectionLost));
    assert_eq!(outs.last(), Some(&Output::Closed(CloseReason::PeerClosed)));
    assert_eq!(s.hangups(), 2);
}

#[test]
fn garbage_and_strays_are_reported_not_taken_as_replies() {
    let now = Instant::now();
    let mut s = open(now);
    s.handle_bytes(b"200 result=0\nnot a reply\n100 result=0 Trying...\n", now);
    let outs = outputs(&mut s);
    assert!(matches!(outs[0], Output::Unsolicited(_)));
    assert!(matches!(
        outs[1],
        Output::Malformed(DecodeError::NotAReply(_))
    ));
    assert!(matches!(outs[2], Output::Unsolicited(_)));
    let id = s.send(&Noop::new(), now).unwrap();
    let _ = sent(&mut s);
    s.handle_bytes(b"\xff\xfe\n200 result=0\n", now);
    let outs = outputs(&mut s);
    assert!(matches!(outs[0], Output::Malformed(_)));
    assert!(reply_of(&outs, id).is_ok());
}

#[test]
fn an_over_long_reply_fails_its_command_and_the_session_goes_on() {
    let now = Instant::now();
    let config = Config {
        limits: agi_proto::Limits {
            max_reply: 64,
            max_request: 1024,
        },
        ..Config::default()
    };
    let mut s = Session::new(config.clone(), now);
    s.handle_bytes(ENV, now);
    let _ = outputs(&mut s);
    let a = s.send(&GetVariable::new("BIG"), now).unwrap();
    let b = s.send(&Noop::new(), now).unwrap();
    let _ = sent(&mut s);
    s.handle_bytes(b"200 result=1 (", now);
    s.handle_bytes(&[b'x'; 50], now);
    s.handle_bytes(&[b'x'; 50], now);
    // Dropped as it comes; reported where the line ends.
    assert!(outputs(&mut s).is_empty());
    s.handle_bytes(b"xxx)\n200 result=0\n", now);
    let outs = outputs(&mut s);
    assert_eq!(reply_of(&outs, a), Err(CommandError::ReplyTooLong(64)));
    assert_eq!(sent(&mut s), b"NOOP\n");
    assert!(reply_of(&outs, b).is_ok());

    // An environment block past the limit ends the session.
    let mut s = Session::new(config.clone(), now);
    s.handle_bytes(&vec![b'a'; 2000], now);
    s.handle_bytes(b"\n", now);
    let outs = outputs(&mut s);
    assert_eq!(
        outs.last(),
        Some(&Output::Closed(CloseReason::RequestTooLong))
    );
}

/// A whole session's input, cut at every point, gives the same outputs.
#[test]
fn any_split_gives_the_same_outputs() {
    let input: Vec<u8> = [
        ENV,
        b"200 result=1 (a)b)\n",
        b"100 result=0 Trying...\n200 result=0 Gosub complete\n",
        b"520-Invalid command syntax.  Proper usage follows:\nUsage\n520 End of proper usage.\n",
        b"HANGUP\n200 result= (timeout)\n",
    ]
    .concat();
    let commands: Vec<AnyCommand> = vec![
        AnyCommand::GetVariable(GetVariable::new("X")),
        AnyCommand::Gosub(Gosub::new("c", "e", "1")),
        AnyCommand::SetVariable(SetVariable::new("A", "b")),
        AnyCommand::GetData(GetData::new("beep")),
    ];
    let run = |cuts: &[usize]| {
        let now = Instant::now();
        let mut s = Session::new(Config::default(), now);
        for c in &commands {
            s.send(c, now).unwrap();
        }
        let mut outs = Vec::new();
        let mut from = 0;
        for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
            s.handle_bytes(&input[from..cut], now);
            from = cut;
            while s.poll_transmit().is_some() {}
            outs.extend(std::iter::from_fn(|| s.poll_output()));
        }
        outs
    };
    let whole = run(&[]);
    assert_eq!(whole.len(), 7, "{whole:?}");
    let Output::Reply {
        result: Ok(last), ..
    } = &whole[6]
    else {
        panic!()
    };
    let AnyCommand::GetData(get) = &commands[3] else {
        panic!()
    };
    assert_eq!(
        get.parse_reply(last),
        Ok(DataEntry::Digits {
            digits: String::new(),
            timed_out: true
        })
    );
    for cut in 0..=input.len() {
        assert_eq!(run(&[cut]), whole, "cut at {cut}");
    }
    let every: Vec<usize> = (0..input.len()).collect();
    assert_eq!(run(&every), whole);
}
