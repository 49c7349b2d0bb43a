//! `ast agi serve` (a debugging FastAGI server) and `ast agi replay` (a
//! recorded call played against a FastAGI server).

use crate::args::{Args, Spec};
use crate::{Failure, Outcome};
use ari_tokio::agi::{self, Agi, HandlerResult, RawCommand, Routes, ServerConfig};
use conformance::agi_check::AgiTrace;
use conformance::agi_serve::{AgiPlayOptions, play_all};
use std::net::SocketAddr;
use std::time::Instant;

/// `ast agi --help`.
pub const HELP: &str = "\
ast agi: FastAGI, to debug a dialplan's AGI calls or a FastAGI server

Usage:
  ast agi serve [--listen ADDR] [--script FILE]
  ast agi replay TRACE --to HOST:PORT

serve: a FastAGI server that prints every call's environment and every
exchange with its timing. With --script it sends FILE's command lines
(one per line; empty lines and lines starting with # skipped) to each
call; without, it sends what you type, one command per line, and `quit`
ends the call (one call at a time). Point Asterisk at it with
AGI(agi://HOST:PORT/anything).
  --listen ADDR   where to listen [default: 127.0.0.1:4573]
  --script FILE   the commands to send to each call

replay: plays Asterisk's side of a recorded FastAGI trace (traces/agi/
FORMAT.md) against a FastAGI server: the recorded environment, then the
recorded reply to each command. Prints where the server's commands differ
from the recorded ones; exits 1 if they do.
";

/// `ast agi ...`.
pub fn agi(argv: &[String]) -> Outcome {
    match argv.first().map(String::as_str) {
        Some("serve") => serve(&argv[1..]),
        Some("replay") => replay(&argv[1..]),
        Some("-h" | "--help") | None => {
            out!("{HELP}");
            Ok(())
        }
        Some(other) => Err(Failure::usage(format!("no agi command {other:?}"))),
    }
}

fn serve(argv: &[String]) -> Outcome {
    let spec = Spec {
        values: &["listen", "script"],
        switches: &[],
    };
    let args = Args::parse(argv, &spec)?;
    if args.help {
        out!("{HELP}");
        return Ok(());
    }
    let listen: SocketAddr = args
        .value("listen")
        .unwrap_or("127.0.0.1:4573")
        .parse()
        .map_err(|e| Failure::usage(format!("--listen: {e}")))?;
    let script = match args.value("script") {
        Some(file) => Some(
            std::fs::read_to_string(file)
                .map_err(|e| Failure::failed(format!("{file}: {e}")))?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(String::from)
                .collect::<Vec<_>>(),
        ),
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::failed(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let interactive = script.is_none();
        let lines = if interactive {
            Some(stdin_lines())
        } else {
            None
        };
        let lines = std::sync::Arc::new(tokio::sync::Mutex::new(lines));
        let routes = Routes::new().fallback(move |agi| {
            let (script, lines) = (script.clone(), lines.clone());
            async move {
                match script {
                    Some(script) => run_script(agi, script).await,
                    None => {
                        let mut lines = lines.lock().await;
                        run_typed(agi, lines.as_mut().expect("interactive")).await
                    }
                }
            }
        });
        let mut config = ServerConfig::default();
        if interactive {
            config.max_sessions = 1;
        }
        let server = agi::serve_with(listen, config, routes)
            .map_err(|e| Failure::failed(format!("cannot listen on {listen}: {e}")))?;
        outln!(
            "FastAGI server on {}: AGI(agi://{}/...)",
            server.address(),
            server.address()
        );
        std::future::pending::<Outcome>().await
    })
}

/// Prints the call's environment.
fn greet(agi: &Agi) -> Instant {
    let request = agi.request();
    let text = |t: &Option<agi::Text>| {
        t.as_ref()
            .map(|t| t.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    outln!(
        "call from {} on {} (script {:?}, args {:?})",
        text(&request.caller_id),
        text(&request.channel),
        String::from_utf8_lossy(agi.script().path.as_bytes()),
        request
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
    );
    Instant::now()
}

/// Sends `line`, printing it and the reply with their timing.
async fn exchange(agi: &Agi, line: &str, start: Instant) -> bool {
    outln!("{:>8.3}s -> {line}", start.elapsed().as_secs_f64());
    let sent = Instant::now();
    match agi.send_raw_reply(&RawCommand::new(line)).await {
        Ok(reply) => {
            outln!(
                "{:>8.3}s <- {} ({} ms){}",
                start.elapsed().as_secs_f64(),
                String::from_utf8_lossy(reply.as_bytes()).trim_end(),
                sent.elapsed().as_millis(),
                if agi.is_hung_up() { " [hung up]" } else { "" }
            );
            true
        }
        Err(e) => {
            outln!("{:>8.3}s !! {e}", start.elapsed().as_secs_f64());
            !matches!(
                e,
                agi::CommandError::ConnectionLost | agi::CommandError::Closed
            )
        }
    }
}

async fn run_script(agi: Agi, script: Vec<String>) -> HandlerResult {
    let start = greet(&agi);
    for line in &script {
        if !exchange(&agi, line, start).await {
            break;
        }
    }
    outln!("{:>8.3}s call ended", start.elapsed().as_secs_f64());
    Ok(())
}

async fn run_typed(
    agi: Agi,
    lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
) -> HandlerResult {
    let start = greet(&agi);
    outln!("type AGI commands, one per line; `quit` ends the call");
    while let Some(line) = lines.recv().await {
        let line = line.trim();
        if line == "quit" {
            break;
        }
        if !line.is_empty() && !exchange(&agi, line, start).await {
            break;
        }
    }
    outln!("{:>8.3}s call ended", start.elapsed().as_secs_f64());
    Ok(())
}

/// Standard input's lines, read on a thread of their own.
fn stdin_lines() -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn replay(argv: &[String]) -> Outcome {
    let spec = Spec {
        values: &["to"],
        switches: &[],
    };
    let args = Args::parse(argv, &spec)?;
    if args.help {
        out!("{HELP}");
        return Ok(());
    }
    let [trace] = &args.positional[..] else {
        return Err(Failure::usage("one TRACE is needed"));
    };
    let to: SocketAddr = args
        .value("to")
        .ok_or_else(|| Failure::usage("--to HOST:PORT is needed"))?
        .parse()
        .map_err(|e| Failure::usage(format!("--to: {e}")))?;
    let trace = AgiTrace::read(std::path::Path::new(trace))
        .map_err(|e| Failure::failed(format!("{trace}: {e}")))?;
    let reports = play_all(&trace, to, &AgiPlayOptions::default());
    let mut differ = 0;
    for report in &reports {
        outln!("{report}");
        if !report.is_clean() {
            differ += 1;
        }
    }
    match differ {
        0 => Ok(()),
        n => Err(Failure::failed(format!(
            "{n} of {} recorded calls went differently",
            reports.len()
        ))),
    }
}
