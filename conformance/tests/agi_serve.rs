//! The FastAGI player (`agi_serve`) against scripted FastAGI servers: each
//! server replays the script's side of a recorded connection and checks,
//! byte for byte, that what it reads is Asterisk's recorded side.

use conformance::agi_check::{AgiKind, AgiTrace, bundled_agi_traces, protocol_of};
use conformance::agi_serve::{
    AgiFaults, AgiPlayOptions, AgiPlayReport, Mismatch, NOT_A_REPLY, play, play_all,
    play_all_concurrently, recorded_commands,
};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a scripted server does, in order.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// Send a command line.
    Write(Vec<u8>),
    /// Read exactly these bytes.
    Read(Vec<u8>),
    /// Shut the sending side.
    HalfClose,
    /// Read the end of stream, with nothing before it.
    ExpectEof,
    /// Read nothing for this long (the connection stays open).
    ExpectSilence(Duration),
}

/// The script's side of one recorded connection.
#[derive(Debug, Clone)]
struct Script {
    env: Vec<u8>,
    steps: Vec<Step>,
}

fn script(trace: &AgiTrace, conn: &str) -> Script {
    let mut env = None;
    let mut steps = Vec::new();
    for r in trace.records.iter().filter(|r| r.conn == conn) {
        match &r.kind {
            AgiKind::Open => {}
            AgiKind::Recv(b) if env.is_none() => env = Some(b.clone()),
            AgiKind::Recv(b) => steps.push(Step::Read(b.clone())),
            AgiKind::Send(b) => steps.push(Step::Write(b.clone())),
            AgiKind::Close(by) if by == "server" => steps.push(Step::HalfClose),
            AgiKind::Close(_) => steps.push(Step::ExpectEof),
        }
    }
    Script {
        env: env.expect("an environment block"),
        steps,
    }
}

fn scripts(trace: &AgiTrace) -> Vec<Script> {
    trace
        .connections()
        .iter()
        .map(|c| script(trace, c))
        .collect()
}

/// The index in `steps` of the `n`-th command written (from 1).
fn nth_write(steps: &[Step], n: usize) -> usize {
    steps
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s, Step::Write(_)))
        .nth(n - 1)
        .map(|(i, _)| i)
        .expect("so many commands")
}

/// A FastAGI server on a free loopback port that accepts `connections`
/// connections, each served on its own thread by the script whose
/// environment block it receives; gives, per connection, the index of the
/// script it ran, or what went wrong.
fn serve(
    scripts: Vec<Script>,
    connections: usize,
) -> (SocketAddr, JoinHandle<Vec<Result<usize, String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let scripts = std::sync::Arc::new(scripts);
        let mut threads = Vec::new();
        for _ in 0..connections {
            let (stream, _) = listener.accept().unwrap();
            let scripts = scripts.clone();
            threads.push(std::thread::spawn(move || run(stream, &scripts)));
        }
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    (addr, handle)
}

fn run(stream: TcpStream, scripts: &[Script]) -> Result<usize, String> {
    let timeout = Some(Duration::from_secs(10));
    stream.set_read_timeout(timeout).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut env = Vec::new();
    loop {
        let mut line = Vec::new();
        reader
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("environment: {e}"))?;
        if line.is_empty() {
            return Err("the end of stream in the environment".into());
        }
        env.extend_from_slice(&line);
        if line == b"\n" {
            break;
        }
    }
    let index = scripts
        .iter()
        .position(|s| s.env == env)
        .ok_or("an environment block no recorded connection has")?;
    for (n, step) in scripts[index].steps.iter().enumerate() {
        let at = |e: String| format!("step {n} {step:?}: {e}");
        match step {
            Step::Write(line) => (&stream).write_all(line).map_err(|e| at(e.to_string()))?,
            Step::Read(want) => {
                let mut got = vec![0; want.len()];
                reader.read_exact(&mut got).map_err(|e| at(e.to_string()))?;
                if got != *want {
                    return Err(at(format!("read {:?}", String::from_utf8_lossy(&got))));
                }
            }
            Step::HalfClose => stream
                .shutdown(Shutdown::Write)
                .map_err(|e| at(e.to_string()))?,
            Step::ExpectEof => {
                let mut rest = Vec::new();
                match reader.read_to_end(&mut rest) {
                    Ok(_) if rest.is_empty() => {}
                    Ok(_) => return Err(at(format!("read {:?}", String::from_utf8_lossy(&rest)))),
                    Err(e) => return Err(at(e.to_string())),
                }
            }
            Step::ExpectSilence(wait) => {
                stream.set_read_timeout(Some(*wait)).unwrap();
                match reader.fill_buf() {
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Ok([]) => return Err(at("the end of stream".into())),
                    Ok(b) => return Err(at(format!("read {:?}", String::from_utf8_lossy(b)))),
                    Err(e) => return Err(at(e.to_string())),
                }
                stream.set_read_timeout(timeout).unwrap();
            }
        }
    }
    Ok(index)
}

fn fastagi_traces() -> Vec<(String, AgiTrace)> {
    bundled_agi_traces()
        .into_iter()
        .filter(|p| protocol_of(p).as_deref() == Some("fastagi"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, AgiTrace::read(&p).unwrap())
        })
        .collect()
}

fn trace(name: &str) -> AgiTrace {
    fastagi_traces()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no trace {name}"))
        .1
}

/// Commands recorded before Asterisk closed the connection.
fn commands_before_asterisk_closed(trace: &AgiTrace, conn: &str) -> usize {
    trace
        .records
        .iter()
        .filter(|r| r.conn == conn)
        .take_while(|r| !matches!(&r.kind, AgiKind::Close(by) if by != "server"))
        .filter(|r| matches!(r.kind, AgiKind::Send(_)))
        .count()
}

/// Plays connection `conn` of `trace` against a server running `steps`.
fn play_one(
    trace: &AgiTrace,
    conn: &str,
    steps: Vec<Step>,
    options: &AgiPlayOptions,
) -> (AgiPlayReport, Result<usize, String>) {
    let env = script(trace, conn).env;
    let (addr, server) = serve(vec![Script { env, steps }], 1);
    let report = play(trace, conn, addr, options);
    let mut results = server.join().unwrap();
    (report, results.remove(0))
}

fn basics() -> (AgiTrace, Vec<Step>) {
    let trace = trace("agi-basics.jsonl");
    let steps = script(&trace, "a1").steps;
    (trace, steps)
}

#[test]
fn every_fastagi_trace_plays_byte_for_byte() {
    let traces = fastagi_traces();
    assert!(traces.len() >= 7, "{} FastAGI traces", traces.len());
    let mut commands = 0;
    for (name, trace) in traces {
        let conns = trace.connections();
        let (addr, server) = serve(scripts(&trace), conns.len());
        let reports = play_all(&trace, addr, &AgiPlayOptions::default());
        let results = server.join().unwrap();
        assert_eq!(reports.len(), conns.len(), "{name}");
        for (conn, report) in conns.iter().zip(&reports) {
            assert!(report.is_clean(), "{name}: {report}");
            assert_eq!(report.conn, *conn);
            let expected = commands_before_asterisk_closed(&trace, conn);
            assert_eq!(report.expected, expected, "{name}: {report}");
            assert_eq!(report.matched, expected, "{name}: {report}");
            assert!(
                report.player_closed && report.server_closed,
                "{name}: {report}"
            );
            commands += report.matched;
        }
        let mut served: Vec<usize> = results
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| panic!("{name}: the server: {e}")))
            .collect();
        served.sort();
        assert_eq!(served, (0..conns.len()).collect::<Vec<_>>(), "{name}");
    }
    assert!(commands >= 220, "{commands} commands played");
}

#[test]
fn the_environment_gives_the_script_path() {
    let trace = trace("agi-args.jsonl");
    let (addr, server) = serve(scripts(&trace), 2);
    let reports = play_all(&trace, addr, &AgiPlayOptions::default());
    assert!(server.join().unwrap().iter().all(Result::is_ok));
    assert_eq!(
        reports[0].script.as_deref(),
        Some("args/sub dir/run.agi?mode=test&x=1&name=a%20b")
    );
    assert!(
        reports[0]
            .request
            .as_deref()
            .unwrap()
            .starts_with("agi://127.0.0.1:4573/args/sub dir/run.agi?"),
        "{:?}",
        reports[0].request
    );
    // The bare `agi://127.0.0.1`: no agi_network_script line.
    assert_eq!(reports[1].script, None);
    assert_eq!(reports[1].request.as_deref(), Some("agi://127.0.0.1"));
}

#[test]
fn asterisk_closing_first_leaves_the_scripts_late_command_unanswered() {
    let trace = trace("agi-hangup-early.jsonl");
    let (addr, server) = serve(vec![script(&trace, "a3")], 1);
    let report = play(&trace, "a3", addr, &AgiPlayOptions::default());
    assert_eq!(server.join().unwrap(), vec![Ok(0)]);
    assert!(report.is_clean(), "{report}");
    // ANSWER and GET VARIABLE; the NOOP came after Asterisk closed.
    assert_eq!(report.expected, 2);
    assert_eq!(recorded_commands(&trace, "a3").len(), 3);
    assert_eq!(report.after_close, vec![b"NOOP\n".to_vec()]);
}

#[test]
fn the_load_trace_plays_all_connections_at_once() {
    let trace = trace("agi-load.jsonl");
    let conns = trace.connections();
    assert_eq!(conns.len(), 20);
    let (addr, server) = serve(scripts(&trace), conns.len());
    let reports = play_all_concurrently(&trace, addr, &AgiPlayOptions::default());
    let mut served: Vec<usize> = server
        .join()
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    served.sort();
    assert_eq!(served, (0..20).collect::<Vec<_>>());
    for (conn, report) in conns.iter().zip(&reports) {
        assert_eq!(report.conn, *conn);
        assert!(report.is_clean(), "{report}");
        assert_eq!(report.matched, 4);
    }
    // The query string tells the calls apart.
    let mut scripts: Vec<_> = reports.iter().map(|r| r.script.clone().unwrap()).collect();
    scripts.sort();
    scripts.dedup();
    assert_eq!(scripts.len(), 20);
    assert!(scripts.iter().all(|s| s.starts_with("load?call=20")));
}

#[test]
fn a_wrong_command_is_a_mismatch_and_still_gets_the_recorded_reply() {
    let (trace, mut steps) = basics();
    let first = nth_write(&steps, 1);
    steps[first] = Step::Write(b"NOOP\n".to_vec());
    let (report, server) = play_one(&trace, "a1", steps, &AgiPlayOptions::default());
    // The server read "200 result=4" (CHANNEL STATUS's reply) and went on.
    assert_eq!(server, Ok(0));
    assert!(!report.is_clean());
    assert_eq!(
        report.mismatches,
        vec![Mismatch {
            command: 1,
            recorded: b"CHANNEL STATUS\n".to_vec(),
            received: b"NOOP\n".to_vec(),
        }]
    );
    assert_eq!(report.matched, report.expected - 1);
    assert!(report.unsent.is_empty() && report.extra.is_empty());
    assert!(
        report.to_string().contains("\"CHANNEL STATUS\\n\""),
        "{report}"
    );
}

#[test]
fn a_hangup_comes_before_the_reply_to_the_nth_command() {
    let (trace, mut steps) = basics();
    // ANSWER is the second command: HANGUP, then "200 result=0".
    let second = nth_write(&steps, 2);
    assert_eq!(steps[second], Step::Write(b"ANSWER\n".to_vec()));
    assert_eq!(steps[second + 1], Step::Read(b"200 result=0\n".to_vec()));
    steps.insert(second + 1, Step::Read(b"HANGUP\n".to_vec()));
    let options = AgiPlayOptions::with_faults(AgiFaults {
        hangup_before_reply: Some(2),
        ..AgiFaults::default()
    });
    let (report, server) = play_one(&trace, "a1", steps, &options);
    assert_eq!(server, Ok(0));
    assert!(report.is_clean(), "{report}");
}

#[test]
fn garbage_comes_before_the_reply_and_after_an_injected_hangup() {
    let (trace, mut steps) = basics();
    let first = nth_write(&steps, 1);
    steps.insert(first + 1, Step::Read(NOT_A_REPLY.to_vec()));
    let third = nth_write(&steps, 3);
    steps.insert(third + 1, Step::Read(b"junk\n".to_vec()));
    steps.insert(third + 1, Step::Read(b"HANGUP\n".to_vec()));
    let options = AgiPlayOptions::with_faults(AgiFaults {
        garbage_before_reply: Some((1, NOT_A_REPLY.to_vec())),
        ..AgiFaults::default()
    });
    // Two plays: garbage before the first reply; HANGUP then junk before
    // the third.
    let only_first: Vec<Step> = {
        let mut s = steps.clone();
        s.remove(nth_write(&s, 3) + 1);
        s.remove(nth_write(&s, 3) + 1);
        s
    };
    let (report, server) = play_one(&trace, "a1", only_first, &options);
    assert_eq!(server, Ok(0));
    assert!(report.is_clean(), "{report}");
    let mut third_only = steps;
    third_only.remove(nth_write(&third_only, 1) + 1);
    let options = AgiPlayOptions::with_faults(AgiFaults {
        hangup_before_reply: Some(3),
        garbage_before_reply: Some((3, b"junk\n".to_vec())),
        ..AgiFaults::default()
    });
    let (report, server) = play_one(&trace, "a1", third_only, &options);
    assert_eq!(server, Ok(0));
    assert!(report.is_clean(), "{report}");
}

#[test]
fn close_after_n_commands_closes_where_the_next_would_come() {
    let (trace, mut steps) = basics();
    // Two commands answered; then the end of stream, where the server
    // still sends one (Asterisk never reads it) and closes.
    steps.truncate(nth_write(&steps, 3));
    steps.extend([
        Step::ExpectEof,
        Step::Write(b"NOOP\n".to_vec()),
        Step::HalfClose,
    ]);
    let options = AgiPlayOptions::with_faults(AgiFaults {
        close_after: Some(2),
        ..AgiFaults::default()
    });
    let (report, server) = play_one(&trace, "a1", steps, &options);
    assert_eq!(server, Ok(0));
    assert_eq!((report.matched, report.expected), (2, 2), "{report}");
    assert!(report.player_closed && report.server_closed, "{report}");
    assert_eq!(report.after_close, vec![b"NOOP\n".to_vec()]);
    assert!(report.is_clean(), "{report}");
}

#[test]
fn a_stall_answers_nothing_until_the_server_gives_up() {
    let (trace, mut steps) = basics();
    let commands = recorded_commands(&trace, "a1");
    // Two commands answered; the third gets nothing; the server closes.
    let third = nth_write(&steps, 3);
    steps.truncate(third + 1);
    steps.push(Step::ExpectSilence(Duration::from_millis(300)));
    steps.push(Step::HalfClose);
    let options = AgiPlayOptions::with_faults(AgiFaults {
        stall_after: Some((2, Duration::from_secs(8))),
        ..AgiFaults::default()
    });
    let started = Instant::now();
    let (report, server) = play_one(&trace, "a1", steps, &options);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(server, Ok(0));
    assert_eq!(report.matched, 3, "the third was read, never answered");
    assert!(report.server_closed && !report.stall_expired, "{report}");
    assert_eq!(report.unsent, commands[3..report.expected].to_vec());
    assert!(!report.is_clean());
}

#[test]
fn a_stall_that_runs_out_closes_the_connection() {
    let (trace, mut steps) = basics();
    let second = nth_write(&steps, 2);
    steps.truncate(second + 1);
    steps.extend([Step::ExpectEof, Step::HalfClose]);
    let options = AgiPlayOptions::with_faults(AgiFaults {
        stall_after: Some((1, Duration::from_millis(200))),
        ..AgiFaults::default()
    });
    let (report, server) = play_one(&trace, "a1", steps, &options);
    assert_eq!(server, Ok(0));
    assert!(report.stall_expired && report.player_closed && report.server_closed);
    assert_eq!(report.matched, 2);
    assert!(report.errors.is_empty(), "{report}");
}

#[test]
fn a_server_that_ends_early_leaves_commands_unsent() {
    let (trace, mut steps) = basics();
    let commands = recorded_commands(&trace, "a1");
    steps.truncate(nth_write(&steps, 4));
    steps.extend([Step::HalfClose, Step::ExpectEof]);
    let (report, server) = play_one(&trace, "a1", steps, &AgiPlayOptions::default());
    assert_eq!(server, Ok(0));
    assert_eq!(report.matched, 3);
    assert!(report.server_closed);
    assert_eq!(report.unsent, commands[3..].to_vec());
    assert!(!report.is_clean());
}

#[test]
fn a_command_where_the_script_closed_is_extra() {
    let (trace, mut steps) = basics();
    let close = steps.iter().position(|s| *s == Step::HalfClose).unwrap();
    steps.insert(close, Step::Write(b"NOOP\n".to_vec()));
    let (report, server) = play_one(&trace, "a1", steps, &AgiPlayOptions::default());
    assert_eq!(server, Ok(0));
    assert_eq!(report.matched, report.expected);
    assert_eq!(report.extra, vec![b"NOOP\n".to_vec()]);
    assert!(report.server_closed && !report.is_clean());
}

#[test]
fn a_server_that_never_closes_is_reported() {
    let (trace, mut steps) = basics();
    let close = steps.iter().position(|s| *s == Step::HalfClose).unwrap();
    // Reads nothing more and keeps the socket open past the player's wait.
    steps.truncate(close);
    steps.push(Step::ExpectSilence(Duration::from_millis(900)));
    let options = AgiPlayOptions {
        read_timeout: Duration::from_millis(300),
        ..AgiPlayOptions::default()
    };
    let (report, _) = play_one(&trace, "a1", steps, &options);
    assert!(!report.is_clean());
    assert!(
        report.errors.iter().any(|e| e.contains("did not close")),
        "{report}"
    );
}

#[test]
fn nobody_listening_is_an_error_with_everything_unsent() {
    let trace = trace("agi-dtmf.jsonl");
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let report = play(&trace, "a1", addr, &AgiPlayOptions::default());
    assert_eq!(report.errors.len(), 1, "{report}");
    assert_eq!(report.unsent.len(), report.expected);
    assert_eq!(report.matched, 0);
    assert!(!report.is_clean());
}

#[test]
fn pace_keeps_the_recorded_gaps_scaled() {
    let trace = trace("agi-dtmf.jsonl");
    let (addr, server) = serve(scripts(&trace), 1);
    let started = Instant::now();
    // About 32 s of recorded waiting for Asterisk, a hundredth of it.
    let options = AgiPlayOptions {
        pace: 0.01,
        ..AgiPlayOptions::default()
    };
    let reports = play_all(&trace, addr, &options);
    let elapsed = started.elapsed();
    assert_eq!(server.join().unwrap(), vec![Ok(0)]);
    assert!(reports[0].is_clean(), "{}", reports[0]);
    assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
}

/// A FastAGI server built on `agi_proto::Session`: sends `commands` as
/// typed commands, one after each final reply, then ends the session and
/// reads until Asterisk closes. Gives the final replies and the number of
/// `HANGUP` lines seen.
fn session_server(stream: TcpStream, commands: &[Vec<u8>]) -> Result<(Vec<Vec<u8>>, u32), String> {
    use agi_proto::commands::AnyCommand;
    use agi_proto::{CloseReason, Config, Output, Session, Transmit};
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut session = Session::new(Config::default(), Instant::now());
    let (mut replies, mut hangups, mut request) = (Vec::new(), 0, false);
    let mut closed = None;
    let mut next = 0;
    let mut waiting = None;
    let mut buf = vec![0; 16384];
    loop {
        let now = Instant::now();
        if request
            && waiting.is_none()
            && closed.is_none()
            && session.state() == agi_proto::State::Open
        {
            match commands.get(next) {
                Some(line) => {
                    let id = session
                        .send(&AnyCommand::from_line(line), now)
                        .map_err(|e| format!("send {next}: {e}"))?;
                    waiting = Some(id);
                    next += 1;
                }
                None => session.close(now),
            }
        }
        while let Some(t) = session.poll_transmit() {
            match t {
                Transmit::Send(bytes) => (&stream).write_all(&bytes).map_err(|e| e.to_string())?,
                Transmit::Close => stream
                    .shutdown(Shutdown::Write)
                    .map_err(|e| e.to_string())?,
                other => return Err(format!("{other:?}")),
            }
        }
        let mut progress = false;
        while let Some(o) = session.poll_output() {
            progress = true;
            match o {
                Output::Request(_) => request = true,
                Output::Hangup => hangups += 1,
                Output::Interim { .. } => {}
                Output::Reply { id, result } if Some(id) == waiting => {
                    waiting = None;
                    replies.push(result.map_err(|e| e.to_string())?.as_bytes().to_vec());
                }
                Output::Closed(reason) => closed = Some(reason),
                other => return Err(format!("{other:?}")),
            }
        }
        if let Some(reason) = closed {
            return match reason {
                CloseReason::Finished => Ok((replies, hangups)),
                other => Err(format!("{other:?}")),
            };
        }
        if progress {
            continue;
        }
        match (&stream).read(&mut buf) {
            Ok(0) => session.handle_eof(Instant::now()),
            Ok(n) => session.handle_bytes(&buf[..n], Instant::now()),
            Err(e) => session.handle_error(&e.to_string(), Instant::now()),
        }
    }
}

#[test]
fn a_server_on_the_session_gets_the_recorded_replies() {
    for name in ["agi-basics.jsonl", "agi-dtmf.jsonl", "agi-misc.jsonl"] {
        let trace = trace(name);
        let commands = recorded_commands(&trace, "a1");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let sent = commands.clone();
        let server =
            std::thread::spawn(move || session_server(listener.accept().unwrap().0, &sent));
        let report = play(&trace, "a1", addr, &AgiPlayOptions::default());
        let (replies, hangups) = server
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("{name}: {e}; {report}"));
        assert!(report.is_clean(), "{name}: {report}");
        assert_eq!(replies.len(), commands.len(), "{name}");
        // Every recorded HANGUP line of the connection reached the session.
        let recorded = trace
            .records
            .iter()
            .filter(|r| matches!(&r.kind, AgiKind::Recv(b) if b == b"HANGUP\n"))
            .count();
        assert_eq!(hangups as usize, recorded, "{name}");
    }
}
