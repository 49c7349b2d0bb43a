//! Support for the tests that run against a real Asterisk.
//!
//! `live/pbx/start` starts one on loopback and writes its environment to
//! `/tmp/ari-rs-live.env`; `.ci/run` sources it, so `ASTERISK_LIVE=1` is set
//! and every live test runs. Without `ASTERISK_LIVE=1` each live test prints
//! one line saying it was skipped and passes, so `cargo test` stays green on
//! a machine with no PBX. With it, an unreachable Asterisk fails the test.
//!
//! Every test starts with [`live!`], which gives a [`Live`]: the addresses,
//! credentials, unique application names, a small AMI client for what ARI
//! cannot do (DTMF from a leg outside Stasis, CLI commands), and a watchdog.
//! When a test fails, the tail of Asterisk's log is printed with it.

#![forbid(unsafe_code)]

mod ami;
pub mod ows;
mod strict;
mod wait;

pub use ami::{Ami, AmiMessage};
pub use strict::{Strict, check_all, check_event, strict};
pub use wait::{
    WAIT, api_error, assert_audio_flows, assert_ends, assert_quiet, gather, hang_up, next_event,
    tx_count,
};

use ari_proto::Config;
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// How long one live test may take before the watchdog ends the process.
pub const TEST_DEADLINE: Duration = Duration::from_secs(120);

/// Lines of Asterisk's log printed with a failure.
const LOG_TAIL_LINES: usize = 60;

/// Starts a live test: `let live = live!();` returns from the test (after
/// printing that it was skipped) unless `ASTERISK_LIVE=1`.
#[macro_export]
macro_rules! live {
    () => {
        match $crate::Live::from_env() {
            Some(live) => live,
            None => return,
        }
    };
}

/// One live test's view of the running Asterisk.
pub struct Live {
    /// ARI's base URL, e.g. `http://127.0.0.1:8088`.
    pub ari_url: String,
    /// AMI's `host:port`.
    pub ami_addr: String,
    /// Asterisk's run directory on this machine (logs, recordings).
    pub run_dir: Option<PathBuf>,
    test: String,
    log: Option<PathBuf>,
    watchdog: Option<mpsc::Sender<()>>,
}

impl Live {
    /// Reads the environment `live/pbx/start` wrote. `None` (after one line
    /// on stderr) when `ASTERISK_LIVE` is not `1`; panics when it is but
    /// Asterisk does not accept connections.
    pub fn from_env() -> Option<Live> {
        let test = std::thread::current()
            .name()
            .unwrap_or("live test")
            .to_string();
        if std::env::var("ASTERISK_LIVE").as_deref() != Ok("1") {
            // Straight to stderr: the test harness captures `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "skipped {test}: needs a live Asterisk (ASTERISK_LIVE=1, see live/pbx/start)"
            );
            return None;
        }
        let var = |name: &str, default: &str| std::env::var(name).unwrap_or(default.into());
        let ari_url = var("ARI_URL", "http://127.0.0.1:8088");
        let ami_addr = var("AMI_ADDR", "127.0.0.1:5038");
        let run_dir = std::env::var_os("AST_RUN").map(PathBuf::from);
        let log = std::env::var_os("AST_LOG").map(PathBuf::from);
        let ari_addr = ari_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let reachable = ari_addr
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(5)).is_ok());
        assert!(
            reachable,
            "ASTERISK_LIVE=1 but no Asterisk answers at {ari_url} (start one with live/pbx/start)"
        );
        let mut live = Live {
            ari_url,
            ami_addr,
            run_dir,
            test,
            log,
            watchdog: None,
        };
        live.watchdog = Some(live.start_watchdog());
        Some(live)
    }

    /// Ends the process, with the log's tail, if the test is still running
    /// after [`TEST_DEADLINE`]: a hung live test must not hang CI.
    fn start_watchdog(&self) -> mpsc::Sender<()> {
        let (done, wait) = mpsc::channel::<()>();
        let (test, tail) = (self.test.clone(), self.log.clone());
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(TEST_DEADLINE) {
                let _ = writeln!(
                    std::io::stderr(),
                    "live test {test} still running after {TEST_DEADLINE:?}: stopping\n{}",
                    log_tail(tail.as_deref())
                );
                std::process::exit(101);
            }
        });
        done
    }

    /// A configuration for application `app` as the read-write user.
    pub fn config(&self, app: &str) -> Config {
        self.config_as(app, "asterisk", "asterisk")
    }

    /// A configuration for application `app` as `user`.
    pub fn config_as(&self, app: &str, user: &str, password: &str) -> Config {
        Config::new(&self.ari_url, app, user, password).expect("valid live configuration")
    }

    /// An application name no other test of any process uses: `stem-PID-N`.
    pub fn app(&self, stem: &str) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        format!("{stem}-{}-{n}", std::process::id())
    }

    /// A logged-in AMI connection as `admin`.
    pub fn ami(&self) -> Ami {
        Ami::login(&self.ami_addr, "admin", "amp111")
            .unwrap_or_else(|e| panic!("AMI at {} refused us: {e}", self.ami_addr))
    }

    /// Runs a CLI command through AMI and returns its output lines.
    pub fn cli(&self, command: &str) -> Vec<String> {
        let reply = self
            .ami()
            .action("Command", &[("Command", command)])
            .unwrap_or_else(|e| panic!("AMI Command {command:?}: {e}"));
        reply.all("Output").map(str::to_string).collect()
    }

    /// Waits, within [`WAIT`], until no events WebSocket session of
    /// Asterisk holds application `app`. A connection that registers a name
    /// another connection just closed must wait for this: Asterisk
    /// unregisters the names of a session that ends, and a newer
    /// connection's registration made while that teardown runs is lost with
    /// it, leaving the newcomer with no calls. A session leaves `ari show
    /// websocket sessions` only after it has unregistered its names
    /// (`session_cleanup` in res/ari/ari_websockets.c). The application
    /// itself can outlive the session, inactive, while it still follows a
    /// channel; registering the name again takes it over.
    pub fn wait_until_no_session_holds(&self, app: &str) {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let sessions = self.cli("ari show websocket sessions");
            // The last column lists a session's applications, comma-separated.
            let held = sessions.iter().any(|line| {
                line.split_whitespace()
                    .last()
                    .is_some_and(|apps| apps.split(',').any(|a| a == app))
            });
            if !held {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "a WebSocket session still holds application {app:?} after {WAIT:?}: {sessions:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Where ARI recordings are stored, if the run dir is known.
    pub fn recordings_dir(&self) -> Option<PathBuf> {
        self.run_dir
            .as_ref()
            .map(|d| d.join("spool").join("recording"))
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Some(done) = self.watchdog.take() {
            let _ = done.send(());
        }
        if std::thread::panicking() {
            let _ = writeln!(
                std::io::stderr(),
                "live test {} failed; {}",
                self.test,
                log_tail(self.log.as_deref())
            );
        }
    }
}

/// The last lines of Asterisk's log, headed by where they come from.
fn log_tail(log: Option<&std::path::Path>) -> String {
    let Some(path) = log else {
        return "(AST_LOG is not set: no Asterisk log to show)".into();
    };
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
            format!(
                "last {} lines of {}:\n{}",
                tail.len(),
                path.display(),
                tail.join("\n")
            )
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// Reads `events` until an event `wanted` accepts, within [`WAIT`], and
/// returns it; every event read is checked strictly. Panics naming `what`.
pub async fn wait_for<S, E>(
    events: &mut S,
    what: &str,
    mut wanted: impl FnMut(&ari_proto::Event) -> bool,
) -> ari_proto::Event
where
    S: futures_util::Stream<Item = Result<ari_proto::Event, E>> + Unpin,
    E: std::fmt::Debug,
{
    next_event(events, what, |event| {
        check_event(event);
        wanted(event)
    })
    .await
}
