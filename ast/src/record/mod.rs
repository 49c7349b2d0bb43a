//! `ast record ari|ami|agi`: a recording proxy. It sits between a client
//! and Asterisk (for FastAGI, between Asterisk and a FastAGI server),
//! passes every byte through unchanged and writes what crossed the wire as
//! a trace in the format of the conformance traces, for `ast check`,
//! `ast serve` and `ast agi replay`.
//!
//! This file holds the command line, listening, and stopping; [`mod@file`] the
//! trace file; [`relay`] the byte relay the protocols share; [`ari`],
//! [`ami`] and [`agi`] what each protocol records.

mod agi;
mod ami;
mod ari;
mod file;
mod relay;

use crate::args::{Args, Spec};
use crate::{Failure, Outcome};
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// `ast record --help`.
pub const HELP: &str = "\
ast record: a recording proxy that writes what passes as a trace

Usage: ast record ari --out FILE [--listen ADDR] [--to URL] [OPTIONS]
       ast record ari --outbound --out FILE --listen ADDR --to ws://HOST:PORT [OPTIONS]
       ast record ami --out FILE [--listen ADDR] [--to HOST:PORT] [OPTIONS]
       ast record agi --out FILE --listen ADDR --to HOST:PORT [OPTIONS]

Sits between a client and Asterisk (for agi: between Asterisk and your
FastAGI server), passes every byte through unchanged, and writes what
crossed the wire as a trace: ARI's HTTP requests and answers and events
WebSocket frames (conformance/traces/FORMAT.md), AMI's messages
(traces/ami/FORMAT.md), FastAGI's lines (traces/agi/FORMAT.md). All the
connections of a session go into the one trace, each named (ws1, c1, a1).
`ast check FILE` checks it; `ast serve FILE` plays it back to the client
(for agi: `ast agi replay FILE --to HOST:PORT`, to the server).

With --outbound, Asterisk opens the WebSocket (an outbound WebSocket,
`type = outbound_websocket` in ari.conf): the recorder listens where
websocket_client.conf's uri points, passes each connection on to your
application at --to, and writes a trace whose meta says `direction:
outbound` (Asterisk's frames are ws_recv, your application's ws_send);
`ast serve FILE --to HOST:PORT` plays Asterisk's side of it to your app.

Secrets are never written: ARI's Authorization header and api_key are
left out (the record says which the client used), and AMI's Secret and
Key values of a Login become <redacted> (ast serve takes any there).

Each record is written the moment it passes, so the file is valid JSON
Lines at every moment. On stopping, the meta line is completed: the
Asterisk version from the session (ARI: an /asterisk/info answer, else
asked at the end with the client's credentials; AMI: a CoreSettings or
`core show version` answer; FastAGI: agi_version), the AMI version from
the banner, ARI's version, applications and the ids the client chose.

  --out FILE           the trace to write (replaced)
  --listen ADDR        where clients connect (Asterisk, for agi) [default: 127.0.0.1:0, a free port]
  --to URL             ari: Asterisk's base URL [default: ARI_URL, else http://localhost:8088];
                       with --outbound: your application's ws://HOST:PORT
  --to HOST:PORT       ami: Asterisk's manager [default: AMI_URL or AMI_ADDR, else localhost:5038];
                       agi: your FastAGI server
  --scenario NAME      the meta line's scenario [default: FILE's name, without .jsonl]
  --description TEXT   the meta line's description: what the client did
  --once               stop once no connection is open any more (after the first)
  --outbound           ari: Asterisk connects to your application (see above)

Ctrl-C stops, and the trace is complete.
";

/// What every recorder is given.
pub struct Options {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Where to connect: ARI's base URL, or `host:port`.
    pub to: String,
    /// The trace file.
    pub out: PathBuf,
    /// The meta line's `scenario`.
    pub scenario: String,
    /// The meta line's `description`, if given.
    pub description: Option<String>,
    /// Stop once the last open connection has closed.
    pub once: bool,
    /// ARI only: Asterisk opens the WebSocket, `to` is the application.
    pub outbound: bool,
}

/// `ast record ...`.
pub fn record(argv: &[String]) -> Outcome {
    let protocol = match argv.first().map(String::as_str) {
        Some(p @ ("ari" | "ami" | "agi")) => p,
        Some("-h" | "--help") | None => {
            out!("{HELP}");
            return Ok(());
        }
        Some(other) => return Err(Failure::usage(format!("no record command {other:?}"))),
    };
    let spec = Spec {
        values: &["listen", "to", "out", "scenario", "description"],
        switches: &["once", "outbound"],
    };
    let args = Args::parse(&argv[1..], &spec)?;
    if args.help {
        out!("{HELP}");
        return Ok(());
    }
    if let Some(extra) = args.positional.first() {
        return Err(Failure::usage(format!("unexpected argument {extra:?}")));
    }
    let out = PathBuf::from(
        args.value("out")
            .ok_or_else(|| Failure::usage("--out FILE is needed"))?,
    );
    let outbound = args.has("outbound");
    if outbound && protocol != "ari" {
        return Err(Failure::usage("--outbound is for ari only"));
    }
    let listen = match (args.value("listen"), protocol) {
        (Some(a), _) => a,
        (None, "agi") => return Err(Failure::usage("--listen ADDR is needed")),
        (None, _) => "127.0.0.1:0",
    };
    let listen: SocketAddr = listen
        .parse()
        .map_err(|_| Failure::usage("--listen takes an address such as 127.0.0.1:4574"))?;
    let to = match (args.value("to"), protocol) {
        (Some(to), _) => to.to_string(),
        (None, "ari") if outbound => {
            return Err(Failure::usage(
                "--to ws://HOST:PORT (your application) is needed",
            ));
        }
        (None, "ari") => {
            crate::settings::env("ARI_URL").unwrap_or_else(|| "http://localhost:8088".into())
        }
        (None, "ami") => crate::settings::env("AMI_URL")
            .or_else(|| crate::settings::env("AMI_ADDR"))
            .unwrap_or_else(|| "localhost:5038".into()),
        (None, _) => return Err(Failure::usage("--to HOST:PORT is needed")),
    };
    let options = Options {
        listen,
        to,
        scenario: args
            .value("scenario")
            .map_or_else(|| scenario_of(&out), str::to_string),
        description: args.value("description").map(str::to_string),
        once: args.has("once"),
        outbound,
        out,
    };
    match protocol {
        "ari" => crate::block_on(ari::run(options)),
        "ami" => crate::block_on(ami::run(options)),
        _ => crate::block_on(agi::run(options)),
    }
}

/// The file's name without `.jsonl`.
fn scenario_of(out: &Path) -> String {
    out.file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default()
        .trim_end_matches(".jsonl")
        .to_string()
}

/// `host:port` of an AMI or FastAGI `--to` (`tcp://` allowed).
fn tcp_address(to: &str) -> Result<String, Failure> {
    let address = to.strip_prefix("tcp://").unwrap_or(to);
    if address.contains("://") || !address.contains(':') {
        return Err(Failure::usage(format!(
            "--to takes HOST:PORT (the recorder speaks plain TCP), not {to:?}"
        )));
    }
    Ok(address.to_string())
}

/// Listens on `listen`.
async fn bind(listen: SocketAddr) -> Result<TcpListener, Failure> {
    TcpListener::bind(listen)
        .await
        .map_err(|e| Failure::failed(format!("cannot listen on {listen}: {e}")))
}

/// Connects to `to`, giving up after ten seconds.
async fn connect(to: &str) -> std::io::Result<TcpStream> {
    match tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(to)).await {
        Ok(connected) => connected,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

/// Open connections, and whether there ever was one (for `--once`).
struct Tracker(watch::Sender<(usize, bool)>);

/// One open connection; closed when dropped.
struct Open(watch::Sender<(usize, bool)>);

impl Tracker {
    fn opened(&self) -> Open {
        self.0.send_modify(|(open, ever)| {
            *open += 1;
            *ever = true;
        });
        Open(self.0.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.send_modify(|(open, _)| *open -= 1);
    }
}

/// Accepts connections until Ctrl-C (or, with `once`, until no connection
/// is open after the first); says why it stopped. For each connection,
/// `open` is awaited before the next is accepted (so that connections are
/// named in the order they came) and gives the future that serves it,
/// which runs on its own task.
async fn serve<O, F, R>(listener: TcpListener, once: bool, mut open: O) -> &'static str
where
    O: FnMut(TcpStream, usize) -> F,
    F: Future<Output = Option<R>>,
    R: Future<Output = ()> + Send + 'static,
{
    let tracker = Tracker(watch::channel((0, false)).0);
    let mut quiet = tracker.0.subscribe();
    let accepting = async {
        let mut count = 0;
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // Out of descriptors, say: try again shortly.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            count += 1;
            let guard = tracker.opened();
            if let Some(serving) = open(stream, count).await {
                tokio::spawn(async move {
                    serving.await;
                    drop(guard);
                });
            }
        }
    };
    let finished = async {
        if once {
            let _ = quiet.wait_for(|&(open, ever)| ever && open == 0).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = accepting => "the listener failed",
        () = interrupted() => "interrupted",
        () = finished => "no connection open any more",
    }
}

/// Ctrl-C (or, on Unix, a TERM signal).
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// The meta line's `description` when none was given.
fn description(options: &Options, what: &str) -> String {
    options
        .description
        .clone()
        .unwrap_or_else(|| format!("Recorded by `ast record` between {what} {}.", options.to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_and_addresses() {
        assert_eq!(scenario_of(Path::new("/tmp/my-call.jsonl")), "my-call");
        assert_eq!(
            tcp_address("tcp://127.0.0.1:5038").unwrap(),
            "127.0.0.1:5038"
        );
        assert_eq!(tcp_address("pbx:5038").unwrap(), "pbx:5038");
        assert!(tcp_address("tls://pbx:5039").is_err());
        assert!(tcp_address("pbx").is_err());
    }
}
