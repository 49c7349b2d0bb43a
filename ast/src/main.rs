//! `ast`: one command-line tool for the daily Asterisk jobs, built on this
//! workspace's crates: tail ARI and AMI events, call any ARI operation or
//! AMI action by name, look at the channels and bridges up now, record
//! what passes between a client and Asterisk as a trace, serve a recorded
//! trace as a fake Asterisk and check traces.
//!
//! Every subcommand takes `--help`. Errors are one line on standard error;
//! the exit code is 1 for a failure and 2 for a usage error.

/// `print!` that does not panic when the reader has gone (`ast ... | head`).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

/// `println!` that does not panic when the reader has gone.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod agi;
mod ami;
mod args;
mod ari;
mod completions;
mod config;
mod format;
mod record;
mod rest;
mod settings;
mod style;
mod top;
mod traces;

use std::process::ExitCode;

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// The command line is wrong (exit code 2).
    Usage(String),
    /// The command failed (exit code 1).
    Failed(String),
}

impl Failure {
    /// A usage error.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::Usage(message.into())
    }

    /// A failure.
    pub fn failed(message: impl Into<String>) -> Failure {
        Failure::Failed(message.into())
    }
}

/// What a command returns.
pub type Outcome = Result<(), Failure>;

const HELP: &str = "\
ast: the daily Asterisk jobs from one command line

Usage: ast COMMAND [ARGS...]        (ast COMMAND --help for each)

ARI (ARI_URL, ARI_USER, ARI_PASSWORD, ARI_APP or --url, --user, --password, --app):
  events [APP...]        tail the events WebSocket, one line per event (or --json)
  call OPERATION [k=v]   any ARI operation by name; prints the JSON answer
  info                   server version, modules, what the typed API supports there

AMI (AMI_URL or AMI_ADDR, AMI_USER, AMI_SECRET or --url, --user, --secret):
  ami events             tail the manager's events
  ami action NAME [K=V]  any action by name; prints the answer, event lists whole
  ami command \"CLI\"      a CLI command; prints its output

Both:
  top                    the channels and bridges up now, redrawn on each change

Traces (conformance/traces/FORMAT.md, traces/ami/FORMAT.md, traces/agi/FORMAT.md):
  record ari|ami|agi --out FILE   a recording proxy: what passes, written as a trace
  serve TRACE            a fake Asterisk playing an ARI or AMI trace
  check TRACE...         the conformance checks of each trace (ARI, AMI, FastAGI),
                         or of a FILE.conf against Asterisk's own reading

FastAGI:
  agi serve [--script FILE]          a debugging FastAGI server: every exchange with its timing
  agi replay TRACE --to HOST:PORT    a recorded call played against a FastAGI server

Configuration files:
  config show|get|set|lint FILE ...   as Asterisk reads them; set edits in place

  completions SHELL      a completion script for bash, zsh or fish
  help [COMMAND]         this, or a command's help
";

/// Commands `help` and the completions know.
pub const COMMANDS: &[&str] = &[
    "events",
    "call",
    "info",
    "ami",
    "top",
    "record",
    "serve",
    "check",
    "config",
    "agi",
    "completions",
    "help",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args.first().cloned().unwrap_or_default();
    let outcome = run(&args);
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            let topic = match name.as_str() {
                "ami" => format!("ast ami {}", args.get(1).map_or("", String::as_str)),
                // `ast call channels originate --help` lists its parameters.
                "call" => {
                    let op: Vec<&str> = args[1..]
                        .iter()
                        .take_while(|a| !a.contains('=') && !a.starts_with('-'))
                        .take(2)
                        .map(String::as_str)
                        .collect();
                    format!("ast call {}", op.join(" "))
                }
                n if COMMANDS.contains(&n) => format!("ast {n}"),
                _ => "ast".to_string(),
            };
            eprintln!("ast: {message} (see `{} --help`)", topic.trim_end());
            ExitCode::from(2)
        }
        Err(Failure::Failed(message)) => {
            eprintln!("ast: {message}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &[String]) -> Outcome {
    let Some(command) = args.first() else {
        out!("{HELP}");
        return Err(Failure::usage("no command given"));
    };
    let rest = &args[1..];
    match command.as_str() {
        "-h" | "--help" => {
            out!("{HELP}");
            Ok(())
        }
        "-V" | "--version" => {
            outln!("ast {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        "help" => help(rest),
        "events" => block_on(ari::events(rest)),
        "call" => block_on(ari::call(rest)),
        "info" => block_on(ari::info(rest)),
        "ami" => match rest.first().map(String::as_str) {
            Some("events") => block_on(ami::events(&rest[1..])),
            Some("action") => block_on(ami::action(&rest[1..])),
            Some("command") => block_on(ami::command(&rest[1..])),
            Some("-h" | "--help") | None => {
                out!("{}", ami::HELP);
                Ok(())
            }
            Some(other) => Err(Failure::usage(format!("no ami command {other:?}"))),
        },
        "top" => block_on(top::top(rest)),
        "serve" => traces::serve(rest),
        "check" => traces::check(rest),
        "completions" => completions::completions(rest),
        "config" => config::config(rest),
        "agi" => agi::agi(rest),
        "record" => record::record(rest),
        other => Err(Failure::usage(format!("no command {other:?}"))),
    }
}

/// `ast help [COMMAND]`.
fn help(rest: &[String]) -> Outcome {
    let mut with_help: Vec<String> = rest.to_vec();
    with_help.push("--help".into());
    match rest.first() {
        None => {
            out!("{HELP}");
            Ok(())
        }
        Some(_) => run(&with_help),
    }
}

/// Runs a command on a current-thread tokio runtime.
fn block_on(future: impl std::future::Future<Output = Outcome>) -> Outcome {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::failed(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(future)
}
