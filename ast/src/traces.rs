//! `ast serve` and `ast check`: the conformance crate's fake Asterisk and
//! checker, for ARI and AMI traces alike (told apart by the `meta` line);
//! `ast check` takes FastAGI traces and configuration files too.

use crate::args::{Args, Spec};
use crate::{Failure, Outcome};
use conformance::agi_check::{self, AgiTrace};
use conformance::{AmiServeOptions, AnyTrace, FakeAmi, FakeAsterisk, ServeOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SERVE_HELP: &str = "\
ast serve: a fake Asterisk that plays a recorded trace

Usage: ast serve TRACE [--listen ADDR] [--user U] [--password P] [--patience SECS]
       ast serve OUTBOUND-TRACE --to HOST:PORT [--user U] [--password P]

Reads TRACE (conformance/traces/FORMAT.md for ARI, traces/ami/FORMAT.md for
AMI; its meta line says which) and serves it on loopback: an HTTP and
WebSocket server for ARI, a TCP server for AMI. The client must do what the
recorded client did; Asterisk's recorded answers and events come back, in
their recorded places. Prints the address to use, then, once the trace is
played, how it went; exits 1 if the client strayed from it.

  --listen ADDR     where to listen [default: 127.0.0.1:0, a free port]
  --user U          the ARI user the client must present [default: asterisk]
  --password P      its password [default: asterisk]
  --patience SECS   how long ARI's fake waits for the client's next step [default: 120]

An AMI trace takes the credentials it recorded (any secret where the
trace has <redacted>). A FastAGI trace is played with `ast agi replay`.

An outbound-WebSocket trace (meta `direction: outbound`: Asterisk opened
the connections) is played the other way round: the fake Asterisk
connects to the application's outbound server at --to, presenting --user
and --password, and plays each recorded connection; exits 1 if the
application's requests differ from the recorded ones.
";

const CHECK_HELP: &str = "\
ast check: the conformance checks of recorded traces and configuration files

Usage: ast check [-v] TRACE|FILE.conf...

For an ARI trace: every recorded event and answer decodes into the typed
API and back to the same JSON, every recorded request is rebuilt through
the typed builders byte for byte, and the whole trace replays through the
session. For an AMI trace: every message decodes to the bytes received,
every action is rebuilt through the typed builders, and every connection
replays through the session. For a FastAGI trace: every environment
block and reply reads as agi-proto reads it, every command is rebuilt by
the typed commands, and every call replays through the session. For a
FILE.conf: its reading (from its own folder, as Asterisk's etc directory)
equals Asterisk 22's GetConfig answers and log, found beside it
(NAME.getconfig.txt, NAME.getconfig-templates.txt, NAME.log.txt) or in
../golden. Prints one line per file and one per failed check; exits 1 if
any check failed.

  -v, --verbose   also print the notes (things worth knowing, not failures)
";

/// `ast check`.
pub fn check(argv: &[String]) -> Outcome {
    let spec = Spec {
        values: &[],
        switches: &["verbose"],
    };
    let args = Args::parse(argv, &spec)?;
    if args.help {
        out!("{CHECK_HELP}");
        return Ok(());
    }
    if args.positional.is_empty() {
        return Err(Failure::usage("no trace given"));
    }
    let (mut passed, mut failed, mut bad_files) = (0, 0, 0);
    let mut out = std::io::stdout().lock();
    for file in &args.positional {
        if file.ends_with(".conf") {
            match check_config(&mut out, file, args.has("verbose")) {
                true => passed += 1,
                false => failed += 1,
            }
            continue;
        }
        let report = match read_and_check(&PathBuf::from(file)) {
            Ok(report) => report,
            Err(e) => {
                let _ = writeln!(out, "FAIL {e}");
                bad_files += 1;
                continue;
            }
        };
        let status = if report.failures.is_empty() {
            "ok  "
        } else {
            "FAIL"
        };
        let _ = writeln!(
            out,
            "{status} {file} ({} checks passed, {} failed)",
            report.passed,
            report.failures.len()
        );
        for f in &report.failures {
            let _ = writeln!(out, "     {f}");
        }
        if args.has("verbose") {
            for n in &report.notes {
                let _ = writeln!(out, "     note: {n}");
            }
        }
        passed += report.passed;
        failed += report.failures.len();
    }
    let _ = writeln!(out, "{passed} passed, {failed} failed");
    let _ = out.flush();
    match (failed, bad_files) {
        (0, 0) => Ok(()),
        (0, n) => Err(Failure::failed(format!("{n} trace(s) could not be read"))),
        (n, _) => Err(Failure::failed(format!("{n} check(s) failed"))),
    }
}

/// A configuration file against Asterisk's reading of it: one line, and
/// one per difference; whether it passed.
fn check_config(out: &mut impl Write, file: &str, verbose: bool) -> bool {
    let result = conformance::config_check::check_file(Path::new(file));
    let _ = match &result {
        Ok(summary) if verbose => writeln!(out, "ok   {file} ({summary})"),
        Ok(_) => writeln!(out, "ok   {file}"),
        Err(problems) => writeln!(out, "FAIL {file}\n     {}", problems.join("\n     ")),
    };
    result.is_ok()
}

/// The checks of one trace of any protocol.
fn read_and_check(path: &Path) -> Result<conformance::Report, String> {
    if agi_check::protocol_of(path).as_deref() == Some("fastagi") {
        return AgiTrace::read(path).map(|trace| agi_check::check(&trace));
    }
    AnyTrace::read(path).map(|trace| trace.check())
}

/// `ast serve`.
pub fn serve(argv: &[String]) -> Outcome {
    let spec = Spec {
        values: &["listen", "user", "password", "patience", "to"],
        switches: &[],
    };
    let args = Args::parse(argv, &spec)?;
    if args.help {
        out!("{SERVE_HELP}");
        return Ok(());
    }
    let [file] = &args.positional[..] else {
        return Err(Failure::usage("give one TRACE"));
    };
    let listen: SocketAddr = args
        .value("listen")
        .unwrap_or("127.0.0.1:0")
        .parse()
        .map_err(|_| Failure::usage("--listen takes an address such as 127.0.0.1:8088"))?;
    let path = PathBuf::from(file);
    if agi_check::protocol_of(&path).as_deref() == Some("fastagi") {
        return Err(Failure::usage(format!(
            "{file} is a FastAGI trace, where Asterisk is the client: play it with `ast agi replay {file} --to HOST:PORT`"
        )));
    }
    let trace = AnyTrace::read(&path).map_err(Failure::failed)?;
    let mut out = std::io::stdout();
    match trace {
        AnyTrace::Ari(trace) if trace.meta.direction == "outbound" => {
            let to: SocketAddr = args
                .value("to")
                .ok_or_else(|| {
                    Failure::usage(format!(
                        "{file} is an outbound-WebSocket trace, where Asterisk connects: give --to HOST:PORT, the application's outbound server"
                    ))
                })?
                .parse()
                .map_err(|_| Failure::usage("--to takes an address such as 127.0.0.1:8765"))?;
            let defaults = ServeOptions::default();
            let user = args.value("user").map_or(defaults.username, str::to_string);
            let password = args
                .value("password")
                .map_or(defaults.password, str::to_string);
            let reports = conformance::outbound_play::play_outbound(&trace, to, &user, &password);
            let mut failed = 0;
            for r in &reports {
                let _ = writeln!(
                    out,
                    "{}: {} frames sent, {} requests matched{}",
                    r.conn,
                    r.sent,
                    r.matched,
                    r.mismatch
                        .as_ref()
                        .map_or(String::new(), |m| format!("; mismatch: {m}"))
                );
                failed += usize::from(!r.is_clean());
            }
            match failed {
                0 => Ok(()),
                n => Err(Failure::failed(format!(
                    "the application strayed from {file} on {n} connection(s)"
                ))),
            }
        }
        AnyTrace::Ari(trace) => {
            let version = trace.meta.asterisk_version.clone();
            let defaults = ServeOptions::default();
            let options = ServeOptions {
                username: args.value("user").map_or(defaults.username, str::to_string),
                password: args
                    .value("password")
                    .map_or(defaults.password, str::to_string),
                listen,
                patience: Duration::from_secs(args.number("patience")?.unwrap_or(120)),
                ..ServeOptions::default()
            };
            let user = options.username.clone();
            let fake = FakeAsterisk::start(trace, options)
                .map_err(|e| Failure::failed(format!("cannot listen on {listen}: {e}")))?;
            let _ = writeln!(
                out,
                "fake Asterisk {version} (ARI) on {}\nARI_URL={} ARI_USER={user}",
                fake.base_url(),
                fake.base_url()
            );
            let _ = out.flush();
            fake.wait_played(Duration::from_secs(24 * 3600));
            // Let the client read the last frames before the sockets go.
            std::thread::sleep(Duration::from_secs(1));
            let report = fake.finish();
            let _ = writeln!(
                out,
                "trace played: {}; {} answers, {} frames",
                report.completed, report.requests_answered, report.frames_sent
            );
            for m in &report.mismatches {
                let _ = writeln!(out, "mismatch: {m}");
            }
            if report.completed && report.mismatches.is_empty() {
                Ok(())
            } else {
                Err(Failure::failed(format!(
                    "the client strayed from {file} ({} mismatches)",
                    report.mismatches.len()
                )))
            }
        }
        AnyTrace::Ami(trace) => {
            let user = recorded_user(&trace);
            let fake = FakeAmi::start_on(&path, AmiServeOptions::default(), listen)
                .map_err(|e| Failure::failed(format!("cannot listen on {listen}: {e}")))?;
            let _ = writeln!(
                out,
                "fake Asterisk (AMI) on {}\nAMI_URL={} AMI_USER={user}",
                fake.address(),
                fake.address()
            );
            let _ = out.flush();
            fake.wait_played(Duration::from_secs(24 * 3600));
            let report = fake.finish();
            let _ = writeln!(
                out,
                "trace played: {}; {} of {} actions matched, {} messages sent",
                report.completed, report.matched, report.expected, report.messages_sent
            );
            for m in report.mismatches.iter().chain(&report.unsent) {
                let _ = writeln!(out, "mismatch: {m}");
            }
            if report.completed {
                Ok(())
            } else {
                Err(Failure::failed(format!(
                    "the client strayed from {file} ({} of {} actions matched)",
                    report.matched, report.expected
                )))
            }
        }
    }
}

/// The user name of the trace's first login.
fn recorded_user(trace: &conformance::AmiTrace) -> String {
    trace
        .records
        .iter()
        .find_map(|r| match &r.kind {
            conformance::ami_trace::AmiKind::Send(bytes) => {
                let text = String::from_utf8_lossy(bytes);
                text.lines()
                    .find_map(|l| l.strip_prefix("Username: "))
                    .map(str::to_string)
            }
            _ => None,
        })
        .unwrap_or_else(|| "the recorded one".into())
}
