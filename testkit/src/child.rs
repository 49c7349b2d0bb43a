//! Load servers in a child process, so that a benchmark's CPU time and
//! memory are the client's alone. The bench binary starts itself again with
//! an environment variable saying which server to be; [`serve_if_child`]
//! at the top of its `main` turns that process into the server.

use crate::ami_blast::AmiBlast;
use crate::blast::Blast;
use crate::calls_server::CallSimulator;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

/// Set in a child's environment: which server to be, `calls N`,
/// `blast EVENTS [CHANNELS]` or `ami-blast EVENTS`; or which load to put
/// on a FastAGI server, `agi-calls ADDR CALLS CONCURRENCY` or
/// `agi-hold ADDR SESSIONS`.
const SERVER: &str = "ARI_BENCH_SERVER";

/// In a child started by [`ChildServer`]: serves until the parent closes
/// its stdin, then returns `true`. Elsewhere returns `false` at once.
pub fn serve_if_child() -> bool {
    let Ok(what) = std::env::var(SERVER) else {
        return false;
    };
    match start(&what) {
        Ok((base_url, server)) => {
            println!("{base_url}");
            let _ = io::stdout().flush();
            // The parent closes stdin (or exits) when it is done.
            let _ = io::stdin().read_to_end(&mut Vec::new());
            drop(server);
        }
        Err(e) => eprintln!("{SERVER}={what}: {e}"),
    }
    true
}

/// Starts the server `what` names; its URL and a value to keep it running.
fn start(what: &str) -> Result<(String, Box<dyn std::any::Any>), String> {
    let words: Vec<&str> = what.split_whitespace().collect();
    let number = |i: usize| -> Result<usize, String> {
        let word = words.get(i).ok_or("a number is missing")?;
        word.parse().map_err(|e| format!("{word}: {e}"))
    };
    let ari_trace = || conformance::bundled_trace("load-30-calls.jsonl");
    match words.first() {
        Some(&"calls") => {
            let sim = CallSimulator::start(&ari_trace()?, number(1)?).map_err(|e| e.to_string())?;
            Ok((sim.base_url(), Box::new(sim)))
        }
        Some(&"blast") => {
            let channels = words.get(2).map(|_| number(2)).transpose()?;
            let blast = Blast::start_spread(&ari_trace()?, number(1)?, channels)
                .map_err(|e| e.to_string())?;
            Ok((blast.base_url(), Box::new(blast)))
        }
        Some(&"agi-calls") => {
            let server: std::net::SocketAddr = words
                .get(1)
                .ok_or("no address")?
                .parse()
                .map_err(|e| format!("{e}"))?;
            let (calls, concurrency) = (number(2)?, number(3)?);
            let call = crate::agi_callers::RecordedCall::agi_load().map_err(|e| e.to_string())?;
            let load = std::thread::spawn(move || {
                crate::agi_callers::play_calls(&call, server, calls, concurrency)
            });
            Ok((format!("tcp://{server}"), Box::new(load)))
        }
        Some(&"agi-hold") => {
            let server: std::net::SocketAddr = words
                .get(1)
                .ok_or("no address")?
                .parse()
                .map_err(|e| format!("{e}"))?;
            let call = crate::agi_callers::RecordedCall::agi_load().map_err(|e| e.to_string())?;
            let sessions = number(2)?;
            // Connected after the ready line: the server may be waiting
            // for that line on the thread that accepts.
            let held = std::thread::spawn(move || {
                let held: Vec<_> = (0..sessions)
                    .filter_map(|_| call.hold(server).ok())
                    .collect();
                // Kept open until the parent closes stdin and the process ends.
                std::thread::park();
                drop(held);
            });
            Ok((format!("tcp://{server}"), Box::new(held)))
        }
        Some(&"ami-blast") => {
            let trace = conformance::bundled_ami_trace("ami-load.jsonl");
            let blast = AmiBlast::start(&trace, number(1)?).map_err(|e| e.to_string())?;
            Ok((blast.address(), Box::new(blast)))
        }
        _ => Err("unknown server".into()),
    }
}

/// A load server running in a child process; killed when dropped.
pub struct ChildServer {
    process: Child,
    base_url: String,
}

impl ChildServer {
    /// Starts this executable again as a [`CallSimulator`] for `calls` calls.
    pub fn call_simulator(calls: usize) -> io::Result<ChildServer> {
        ChildServer::start(&format!("calls {calls}"))
    }

    /// Starts this executable again as a [`Blast`] of `events` events,
    /// spread over `channels` channels if set ([`Blast::start_spread`]).
    pub fn blast(events: usize, channels: Option<usize>) -> io::Result<ChildServer> {
        match channels {
            Some(channels) => ChildServer::start(&format!("blast {events} {channels}")),
            None => ChildServer::start(&format!("blast {events}")),
        }
    }

    /// Starts this executable again as an [`AmiBlast`] of `events` events
    /// of `ami-load`.
    pub fn ami_blast(events: usize) -> io::Result<ChildServer> {
        ChildServer::start(&format!("ami-blast {events}"))
    }

    /// Starts this executable again as Asterisk's side of `calls`
    /// recorded `agi-load` calls against the FastAGI server at `server`,
    /// `concurrency` at once.
    pub fn agi_calls(
        server: std::net::SocketAddr,
        calls: usize,
        concurrency: usize,
    ) -> io::Result<ChildServer> {
        ChildServer::start(&format!("agi-calls {server} {calls} {concurrency}"))
    }

    /// Starts this executable again holding `sessions` FastAGI sessions
    /// open on `server` (environment sent, no command answered).
    pub fn agi_hold(server: std::net::SocketAddr, sessions: usize) -> io::Result<ChildServer> {
        ChildServer::start(&format!("agi-hold {server} {sessions}"))
    }

    fn start(what: &str) -> io::Result<ChildServer> {
        let mut process = Command::new(std::env::current_exe()?)
            .env(SERVER, what)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        if let Some(out) = process.stdout.take() {
            BufReader::new(out).read_line(&mut line)?;
        }
        let base_url = line.trim().to_string();
        if !base_url.starts_with("http://") && !base_url.starts_with("tcp://") {
            let _ = process.kill();
            let _ = process.wait();
            return Err(io::Error::other(
                "the child did not start a server: does its main call serve_if_child()?",
            ));
        }
        Ok(ChildServer { process, base_url })
    }

    /// `http://ADDR` of the server (`tcp://ADDR` for an AMI one).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        drop(self.process.stdin.take());
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
