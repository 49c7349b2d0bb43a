//! The decoder and the action encoder on the format's corners.

use ami_proto::{Action, DecodeError, Decoder, EncodeError, Frame, Kind, Line, LineEnd, Message};

const BANNER: &[u8] = b"Asterisk Call Manager/11.0.0\r\n";

fn messages(decoder: &mut Decoder) -> Vec<Result<Message, DecodeError>> {
    let mut out = Vec::new();
    loop {
        match decoder.next_frame() {
            Ok(Some(Frame::Message(m))) => out.push(Ok(m)),
            Ok(Some(Frame::Banner(_))) => {}
            Ok(None) => return out,
            Err(e) => out.push(Err(e)),
        }
    }
}

fn one(bytes: &[u8]) -> Message {
    let mut d = Decoder::default();
    d.feed(BANNER);
    d.feed(bytes);
    let mut all = messages(&mut d);
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0).unwrap()
}

#[test]
fn fields_keep_order_repeats_and_bytes() {
    let m = one(b"Event: VarSet\r\nPrivilege: dialplan,all\r\nChanVariable(PJSIP/a-1): X=1\r\nChanVariable(PJSIP/a-1): Y=2\r\nCallerIDName: caf\xe9\r\nEmpty: \r\nNoSpace:v\r\n\r\n");
    assert!(matches!(m.kind(), Kind::Event(n) if n == "VarSet"));
    let vars: Vec<String> = m
        .get_all("chanvariable(pjsip/a-1)")
        .map(|v| v.to_string())
        .collect();
    assert_eq!(vars, ["X=1", "Y=2"]);
    let name = m.get("CALLERIDNAME").unwrap();
    assert_eq!(name.as_bytes(), b"caf\xe9");
    assert!(name.to_str().is_err(), "Latin-1 is not passed off as UTF-8");
    assert_eq!(name.to_string_lossy(), "caf\u{fffd}");
    assert_eq!(m.get("Empty").unwrap(), "");
    assert_eq!(m.get("NoSpace").unwrap(), "v");
    assert_eq!(m.fields().count(), 7);
}

#[test]
fn the_first_line_classifies() {
    let m = one(b"Event: OriginateResponse\r\nActionID: 9\r\nResponse: Failure\r\n\r\n");
    assert!(matches!(m.kind(), Kind::Event(n) if n == "OriginateResponse"));
    assert_eq!(m.action_id().unwrap(), "9");
    let m = one(b"Response: Success\r\nActionID: 3\r\nMessage: Pong\r\n\r\n");
    assert!(matches!(m.kind(), Kind::Response(r) if r == "Success"));
    let m = one(b"Foo: bar\r\n\r\n");
    assert_eq!(m.kind(), Kind::Other);
}

#[test]
fn a_stray_newline_at_a_value_end_is_not_a_message_end() {
    let m = one(b"Response: Error\r\nActionID: 4\r\nMessage: No Contacts found\n\r\n\r\n");
    assert_eq!(m.get("Message").unwrap(), "No Contacts found");
    assert_eq!(m.fields().count(), 3);
}

#[test]
fn lines_without_a_colon_are_kept() {
    let m = one(b"Response: Success\r\nActionID: 5\r\nNo categories found\r\n\r\n");
    let lines: Vec<Line> = m.lines().collect();
    assert_eq!(lines[2], Line::Text("No categories found".into()));
}

#[test]
fn command_output_in_the_current_form() {
    let m = one(b"Response: Success\r\nActionID: 7\r\nMessage: Command output follows\r\nOutput: System uptime: 2 hours\r\nOutput: \r\nOutput:   indented\r\n\r\n");
    let lines: Vec<String> = m.command_output().iter().map(|l| l.to_string()).collect();
    assert_eq!(lines, ["System uptime: 2 hours", "", "  indented"]);
}

#[test]
fn command_output_in_the_pre_14_form() {
    // Asterisk 13: the raw CLI text, blank lines and `Key: value` lookalikes
    // included, up to the marker; the message does not end at its blank line.
    let raw = b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\nChannel  Location\nKey: not a header\n\n2 active channels\n--END COMMAND--\r\n\r\nEvent: Next\r\n\r\n";
    for chunk in [1, 3, raw.len()] {
        let mut d = Decoder::default();
        d.feed(BANNER);
        let mut all = Vec::new();
        for piece in raw.chunks(chunk) {
            d.feed(piece);
            all.extend(messages(&mut d));
        }
        assert_eq!(all.len(), 2, "chunk {chunk}: {all:?}");
        let m = all[0].as_ref().unwrap();
        assert!(matches!(m.kind(), Kind::Response(r) if r == "Follows"));
        assert_eq!(m.action_id().unwrap(), "7");
        assert_eq!(m.fields().count(), 3);
        let lines: Vec<String> = m.command_output().iter().map(|l| l.to_string()).collect();
        assert_eq!(
            lines,
            [
                "Channel  Location",
                "Key: not a header",
                "",
                "2 active channels"
            ]
        );
        assert!(matches!(all[1].as_ref().unwrap().kind(), Kind::Event(n) if n == "Next"));
    }
    let empty =
        one(b"Response: Follows\r\nPrivilege: Command\r\nActionID: 8\r\n--END COMMAND--\r\n\r\n");
    assert!(empty.command_output().is_empty());
    assert_eq!(empty.fields().count(), 3);
}

#[test]
fn a_bare_newline_banner_means_bare_newline_lines() {
    let mut d = Decoder::default();
    d.feed(b"Asterisk Call Manager/2.10.6\nResponse: Success\nMessage: Pong\n\nEvent: X\r\nA: 1\r\n\r\n");
    assert!(matches!(d.next_frame(), Ok(Some(Frame::Banner(b))) if b.version() == "2.10.6"));
    assert_eq!(d.line_end(), LineEnd::Lf);
    let all = messages(&mut d);
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].as_ref().unwrap().get("Message").unwrap(), "Pong");
    assert_eq!(all[1].as_ref().unwrap().get("A").unwrap(), "1");
}

#[test]
fn empty_lines_between_messages_are_skipped() {
    let mut d = Decoder::default();
    d.feed(BANNER);
    d.feed(b"\r\n\r\nEvent: A\r\n\r\n\r\nEvent: B\r\n\r\n");
    let names: Vec<String> = messages(&mut d)
        .into_iter()
        .map(|m| m.unwrap().get("Event").unwrap().to_string())
        .collect();
    assert_eq!(names, ["A", "B"]);
}

#[test]
fn a_message_over_the_limit_is_reported_and_skipped() {
    let big = format!("Event: Big\r\nData: {}\r\n\r\n", "x".repeat(500));
    for chunk in [1, 10, 64, 1000] {
        let mut d = Decoder::new(100);
        d.feed(BANNER);
        let stream = [big.as_bytes(), b"Event: Small\r\n\r\n"].concat();
        let mut all = Vec::new();
        for piece in stream.chunks(chunk) {
            d.feed(piece);
            all.extend(messages(&mut d));
            assert!(
                d.buffered() <= 100 + chunk + 32,
                "skipped bytes are dropped"
            );
        }
        assert_eq!(all.len(), 2, "chunk {chunk}: {all:?}");
        assert_eq!(all[0], Err(DecodeError::TooLarge { limit: 100 }));
        assert_eq!(all[1].as_ref().unwrap().get("Event").unwrap(), "Small");
    }
}

#[test]
fn a_peer_that_sends_no_banner_line_is_refused() {
    let mut d = Decoder::default();
    d.feed(&[b'x'; 2000]);
    assert_eq!(d.next_frame(), Err(DecodeError::BannerTooLong));
    d.feed(b"\nEvent: X\r\n\r\n");
    assert_eq!(
        d.next_frame(),
        Ok(None),
        "reported once, then nothing more is read"
    );
    assert_eq!(d.buffered(), 0);
}

#[test]
fn actions_are_encoded_as_asterisk_reads_them() {
    let action = Action::new("Originate")
        .header("Channel", "PJSIP/100")
        .header("Variable", "A=1")
        .header("Variable", "B=2");
    let mut out = Vec::new();
    action.encode(Some("id-1"), &mut out).unwrap();
    assert_eq!(
        out,
        b"Action: Originate\r\nActionID: id-1\r\nChannel: PJSIP/100\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n"
    );
}

#[test]
fn actions_asterisk_would_misread_are_refused() {
    let mut out = b"kept".to_vec();
    let injected = Action::new("Ping").header("X", "1\r\nAction: Logoff");
    assert_eq!(
        injected.encode(None, &mut out),
        Err(EncodeError::LineBreak("X".into()))
    );
    let bad_name = Action::new("Ping").header("A: B", "1");
    assert!(matches!(
        bad_name.encode(None, &mut out),
        Err(EncodeError::InvalidName(_))
    ));
    let long = Action::new("UserEvent").header("Long", "y".repeat(1100));
    assert!(matches!(
        long.encode(None, &mut out),
        Err(EncodeError::LineTooLong { len: 1106, .. })
    ));
    let fits = Action::new("UserEvent").header("Long", "y".repeat(1016));
    let mut fitted = Vec::new();
    fits.encode(None, &mut fitted).unwrap();
    let many = (0..127).fold(Action::new("UserEvent"), |a, i| {
        a.header(format!("H{i}"), "v")
    });
    // 127 headers and `Action:` are Asterisk's 128 lines; an ActionID is one more.
    let mut fitted = Vec::new();
    many.encode(None, &mut fitted).unwrap();
    assert_eq!(
        many.encode(Some("id"), &mut out),
        Err(EncodeError::TooManyLines(129))
    );
    assert_eq!(out, b"kept", "nothing written on failure");
}

#[test]
fn secrets_stay_out_of_debug() {
    let login = Action::new("Login")
        .header("Username", "admin")
        .header("Secret", "hunter2")
        .header("key", "0123abcd");
    let shown = format!("{login:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("0123abcd"),
        "{shown}"
    );
    assert!(shown.contains("admin"));
}

/// Inputs the `ami_decode` fuzz target found (`fuzz/regressions/ami_decode-*`):
/// the same frames whether the bytes come whole or one at a time.
#[test]
fn fuzz_findings_decode_the_same_whole_or_cut() {
    let findings: &[&[u8]] = &[
        include_bytes!("../../fuzz/regressions/ami_decode-long-banner.bin"),
        // A marker inside a Follows answer's output, not ending it.
        include_bytes!("../../fuzz/regressions/ami_decode-marker-inside-output.bin"),
        // A first line past the limit whose tail reads `Response: Follows`:
        // it is not a Follows answer, however the bytes arrive.
        include_bytes!("../../fuzz/regressions/ami_decode-long-first-line-ending-follows.bin"),
    ];
    for data in findings {
        let decode = |chunk: usize| {
            let mut d = Decoder::new(512);
            let mut frames = Vec::new();
            for piece in data.chunks(chunk) {
                d.feed(piece);
                while let Some(f) = d.next_frame().transpose() {
                    frames.push(f);
                }
            }
            frames
        };
        assert_eq!(decode(data.len()), decode(1));
    }
}
