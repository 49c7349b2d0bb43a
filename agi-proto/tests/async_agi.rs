//! AsyncAGI on made-up AMI events: the oddities the recorded session does
//! not show.

use agi_proto::async_agi::decode_result;
use agi_proto::commands::{Answer, GetVariable, Gosub, SetVariable};
use agi_proto::{AsyncAgi, AsyncOutput, Command, CommandError, EncodeError, GosubResult};
use ami_proto::{Decoder, Frame, Message};
use std::time::{Duration, Instant};

fn message(text: &str) -> Message {
    let mut d = Decoder::default();
    d.feed(b"Asterisk Call Manager/11.0.0\r\n");
    d.feed(text.replace('\n', "\r\n").as_bytes());
    d.feed(b"\r\n");
    let _ = d.next_frame();
    match d.next_frame() {
        Ok(Some(Frame::Message(m))) => m,
        other => panic!("{other:?}"),
    }
}

fn start() -> AsyncAgi {
    let event = message(
        "Event: AsyncAGIStart\nChannel: PJSIP/a-1\nEnv: agi_request%3A%20async%0Aagi_channel%3A%20PJSIP%2Fa-1%0Aagi_calleridname%3A%20Andr%E9%0A%0A\n",
    );
    let agi = AsyncAgi::start(&event, "x-").unwrap();
    assert_eq!(agi.channel(), "PJSIP/a-1");
    assert_eq!(
        agi.request().caller_id_name.as_ref().unwrap().as_bytes(),
        b"Andr\xe9"
    );
    assert!(agi.request().is_complete());
    agi
}

fn exec(id: &str, result: &str) -> Message {
    message(&format!(
        "Event: AsyncAGIExec\nChannel: PJSIP/a-1\nResult: {result}\nCommandId: {id}\n"
    ))
}

#[test]
fn commands_go_out_as_agi_actions() {
    let now = Instant::now();
    let mut agi = start();
    let (id, action) = agi.command(&SetVariable::new("A", "b c"), now).unwrap();
    let mut bytes = Vec::new();
    action.encode(Some("7"), &mut bytes).unwrap();
    assert_eq!(
        bytes,
        b"Action: AGI\r\nActionID: 7\r\nChannel: PJSIP/a-1\r\nCommand: SET VARIABLE A \"b c\"\r\nCommandID: x-1\r\n\r\n"
    );
    assert_eq!(id.0, 1);
    // AMI headers hold neither bytes that are not UTF-8 nor long lines.
    assert!(matches!(
        agi.command(&SetVariable::new("A", &b"\xe9"[..]), now),
        Err(CommandError::Encode(EncodeError::Ami(_)))
    ));
    assert!(matches!(
        agi.command(&SetVariable::new("A", "x".repeat(2000)), now),
        Err(CommandError::Encode(EncodeError::Ami(_)))
    ));
}

#[test]
fn replies_match_by_command_id_in_any_order() {
    let now = Instant::now();
    let mut agi = start();
    let get = GetVariable::new("X");
    let (a, _) = agi.command(&get, now).unwrap();
    let gosub = Gosub::new("c", "s", "1");
    let (b, _) = agi.command(&gosub, now).unwrap();
    assert_eq!(agi.waiting(), 2);
    // Another channel's event is not ours.
    let other = message(
        "Event: AsyncAGIExec\nChannel: PJSIP/b-2\nResult: 200%20result%3D0%0A\nCommandId: x-1\n",
    );
    assert!(!agi.handle_event(&other, now));
    // Both lines of GOSUB come in one Result.
    assert!(agi.handle_event(
        &exec(
            "x-2",
            "100%20result%3D0%20Trying...%0A200%20result%3D0%20Gosub%20complete%0A"
        ),
        now
    ));
    let Some(AsyncOutput::Interim { id, .. }) = agi.poll_output() else {
        panic!()
    };
    assert_eq!(id, b);
    let Some(AsyncOutput::Reply {
        id,
        result: Ok(reply),
    }) = agi.poll_output()
    else {
        panic!()
    };
    assert_eq!(id, b);
    assert_eq!(gosub.parse_reply(&reply), Ok(GosubResult::Complete));
    agi.handle_event(&exec("x-1", "200%20result%3D1%20(a)b)%0A"), now);
    let Some(AsyncOutput::Reply {
        id,
        result: Ok(reply),
    }) = agi.poll_output()
    else {
        panic!()
    };
    assert_eq!(id, a);
    assert_eq!(get.parse_reply(&reply).unwrap().unwrap(), "a)b");
    // A result nobody waits for.
    agi.handle_event(&exec("x-9", "200%20result%3D0%0A"), now);
    assert!(matches!(agi.poll_output(), Some(AsyncOutput::Unmatched(_))));
}

#[test]
fn the_end_fails_what_waits_and_stops_new_commands() {
    let now = Instant::now();
    let mut agi = start();
    let (a, _) = agi.command(&Answer::new(), now).unwrap();
    agi.handle_event(&message("Event: AsyncAGIEnd\nChannel: PJSIP/a-1\n"), now);
    assert_eq!(
        agi.poll_output(),
        Some(AsyncOutput::Reply {
            id: a,
            result: Err(CommandError::ConnectionLost)
        })
    );
    assert_eq!(agi.poll_output(), Some(AsyncOutput::Ended));
    assert!(agi.is_ended());
    assert_eq!(
        agi.command(&Answer::new(), now).unwrap_err(),
        CommandError::Closed
    );
}

#[test]
fn timeouts_and_refused_actions() {
    let t0 = Instant::now();
    let mut agi = start();
    agi.set_command_timeout(Some(Duration::from_secs(3)));
    let (a, _) = agi.command(&Answer::new(), t0).unwrap();
    let (b, _) = agi
        .command(&Answer::new(), t0 + Duration::from_secs(1))
        .unwrap();
    assert_eq!(agi.poll_timeout(), Some(t0 + Duration::from_secs(3)));
    agi.handle_timeout(t0 + Duration::from_secs(3));
    assert_eq!(
        agi.poll_output(),
        Some(AsyncOutput::Reply {
            id: a,
            result: Err(CommandError::Timeout(Duration::from_secs(3)))
        })
    );
    agi.handle_action_failed(b, CommandError::ConnectionLost);
    assert!(
        matches!(agi.poll_output(), Some(AsyncOutput::Reply { id, result: Err(_) }) if id == b)
    );
    assert_eq!(agi.poll_timeout(), None);
}

#[test]
fn results_cut_short_by_asterisks_buffer() {
    // A value past 1024 bytes: the reply ends without `)` and its newline.
    let cut = format!("200 result=1 ({}", "x".repeat(1010));
    let (interim, last) = decode_result(cut.as_bytes(), true);
    assert!(interim.is_empty());
    let last = last.unwrap();
    assert_eq!(last.result(), Some(&b"1"[..]));
    assert!(GetVariable::new("X").parse_reply(&last).is_err());
    // The rest of it comes first in the next command's result.
    let (_, last) = decode_result(b"xxxx)\n200 result=0\n", false);
    assert_eq!(last.unwrap().as_bytes(), b"200 result=0\n");
    // A usage block in one result.
    let (_, last) = decode_result(
        b"520-Invalid command syntax.  Proper usage follows:\nUsage\n520 End of proper usage.\n",
        false,
    );
    assert_eq!(last.unwrap().usage(), Some(&b"Usage"[..]));
}
