//! `FakeAmi`'s faults, seen by a raw TCP client.

use conformance::{AmiFaults, AmiServeOptions, FakeAmi, Garbage};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const CHALLENGE: &[u8] = b"Action: Challenge\r\nActionID: mine\r\nAuthType: MD5\r\n\r\n";
const ANSWER: &[u8] = b"Response: Success\r\nActionID: mine\r\nChallenge: 768386113\r\n\r\n";
const BANNER: &[u8] = b"Asterisk Call Manager/11.0.0\r\n";

fn start(faults: AmiFaults) -> FakeAmi {
    let path = conformance::bundled_ami_trace("ami-login.jsonl");
    let options = AmiServeOptions {
        faults,
        ..AmiServeOptions::default()
    };
    FakeAmi::start_with(&path, options).unwrap()
}

fn connect(fake: &FakeAmi) -> TcpStream {
    let s = TcpStream::connect(fake.address()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

/// Reads exactly `n` bytes.
fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    s.read_exact(&mut buf).unwrap();
    buf
}

fn read_to_end(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

#[test]
fn refusals_and_a_close_mid_message_then_the_connection_again() {
    let fake = start(AmiFaults {
        refuse_connections: 1,
        close_mid_message: Some(0),
        ..AmiFaults::default()
    });
    // Refused: closed before any banner.
    assert_eq!(read_to_end(&mut connect(&fake)), b"");
    // Half the answer to the challenge, then the end.
    let mut s = connect(&fake);
    assert_eq!(read_n(&mut s, BANNER.len()), BANNER);
    s.write_all(CHALLENGE).unwrap();
    assert_eq!(read_to_end(&mut s), &ANSWER[..ANSWER.len() / 2]);
    // The same recorded connection again, whole this time.
    let mut s = connect(&fake);
    assert_eq!(read_n(&mut s, BANNER.len()), BANNER);
    s.write_all(CHALLENGE).unwrap();
    assert_eq!(read_n(&mut s, ANSWER.len()), ANSWER);
    drop(s);
    let report = fake.finish();
    assert_eq!(report.connections, 3, "{report:?}");
    assert_eq!(report.refused_by_fault, 1);
    assert_eq!(report.closed_by_fault, 1);
    assert_eq!(report.messages_sent, 1, "the half message is not counted");
    assert!(report.mismatches.is_empty(), "{report:?}");
}

#[test]
fn garbage_follows_the_kth_message_and_slow_writes_arrive_whole() {
    let fake = start(AmiFaults {
        garbage_after: Some((1, Garbage::NotUtf8)),
        slow: Some((3, Duration::ZERO)),
        ..AmiFaults::default()
    });
    let mut s = connect(&fake);
    assert_eq!(read_n(&mut s, BANNER.len()), BANNER);
    s.write_all(CHALLENGE).unwrap();
    assert_eq!(read_n(&mut s, ANSWER.len()), ANSWER);
    let garbage = Garbage::NotUtf8.bytes();
    assert_eq!(read_n(&mut s, garbage.len()), garbage);
    drop(s);
    let report = fake.finish();
    assert_eq!(report.garbage_sent, 1, "{report:?}");
    assert_eq!(report.matched, 1, "{report:?}");
    assert!(Garbage::TooLong(100).bytes().len() > 100);
    assert!(std::str::from_utf8(&garbage).is_err());
}

#[test]
fn a_stall_keeps_the_socket_open_until_the_client_leaves() {
    let fake = start(AmiFaults {
        stall_after: Some(1),
        ..AmiFaults::default()
    });
    let mut s = connect(&fake);
    assert_eq!(read_n(&mut s, BANNER.len()), BANNER);
    s.write_all(CHALLENGE).unwrap();
    assert_eq!(read_n(&mut s, ANSWER.len()), ANSWER);
    // Nothing more comes, though the client asks.
    s.write_all(b"Action: Ping\r\nActionID: p\r\n\r\n").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 64];
    let quiet = s.read(&mut buf);
    assert!(
        quiet.as_ref().is_err_and(|e| matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )),
        "{quiet:?}"
    );
    assert_eq!(fake.stalled().get(), 1);
    drop(s);
    let report = fake.finish();
    assert_eq!((report.stalled, report.abandoned), (1, 1), "{report:?}");
}

/// A trace as `ast record ami` writes it: the login's secret redacted, and
/// the Logoff a closing session writes (no ActionID, no answer awaited).
const RECORDED: &str = concat!(
    r#"{"seq":0,"t_ms":0,"kind":"meta","format":1,"protocol":"ami","scenario":"redacted"}"#,
    "\n",
    r#"{"seq":1,"t_ms":1,"kind":"tcp_open","conn":"c1"}"#,
    "\n",
    r#"{"seq":2,"t_ms":2,"kind":"recv","conn":"c1","text":"Asterisk Call Manager/11.0.0\r\n"}"#,
    "\n",
    r#"{"seq":3,"t_ms":3,"kind":"send","conn":"c1","text":"Action: Login\r\nActionID: r-1\r\nUsername: admin\r\nSecret: <redacted>\r\nEvents: off\r\n\r\n"}"#,
    "\n",
    r#"{"seq":4,"t_ms":4,"kind":"recv","conn":"c1","text":"Response: Success\r\nActionID: r-1\r\nMessage: Authentication accepted\r\n\r\n"}"#,
    "\n",
    r#"{"seq":5,"t_ms":5,"kind":"send","conn":"c1","text":"Action: Logoff\r\n\r\n"}"#,
    "\n",
    r#"{"seq":6,"t_ms":6,"kind":"tcp_close","conn":"c1","by":"client"}"#,
    "\n",
    r#"{"seq":7,"t_ms":7,"kind":"recv","conn":"c1","text":"Response: Goodbye\r\nMessage: Thanks for all the fish.\r\n\r\n"}"#,
    "\n",
);

#[test]
fn a_redacted_secret_takes_any_and_the_sessions_logoff_checks() {
    let trace = conformance::AmiTrace::parse(RECORDED).unwrap();
    let report = conformance::check_ami_trace(&trace);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let path = std::env::temp_dir().join(format!("redacted-{}.jsonl", std::process::id()));
    std::fs::write(&path, RECORDED).unwrap();
    let fake = FakeAmi::start(&path).unwrap();
    let mut s = connect(&fake);
    assert_eq!(read_n(&mut s, BANNER.len()), BANNER);
    s.write_all(b"Action: Login\r\nActionID: x\r\nUsername: admin\r\nSecret: anything\r\nEvents: off\r\n\r\n")
        .unwrap();
    let accepted = b"Response: Success\r\nActionID: x\r\nMessage: Authentication accepted\r\n\r\n";
    assert_eq!(read_n(&mut s, accepted.len()), accepted);
    s.write_all(b"Action: Logoff\r\n\r\n").unwrap();
    drop(s);
    let report = fake.finish();
    assert!(report.completed, "{report:?}");
    // Another user is still another login.
    let fake = FakeAmi::start(&path).unwrap();
    let mut s = connect(&fake);
    assert_eq!(read_n(&mut s, BANNER.len()), BANNER);
    s.write_all(b"Action: Login\r\nUsername: root\r\nSecret: anything\r\nEvents: off\r\n\r\n")
        .unwrap();
    drop(s);
    assert!(!fake.finish().mismatches.is_empty());
    let _ = std::fs::remove_file(&path);
}
