//! Load servers in a child process, so that a benchmark's CPU time and
//! memory are the client's alone. The bench binary starts itself again with
//! an environment variable saying which server to be; [`serve_if_child`]
//! at the top of its `main` turns that process into the server.

use crate::calls_server::CallSimulator;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

/// Set in a child's environment: the number of calls to simulate.
const CALL_SIMULATOR: &str = "ARI_BENCH_CALL_SIMULATOR";

/// In a child started by [`ChildServer::call_simulator`]: serves until the
/// parent closes its stdin, then returns `true`. Elsewhere returns `false`
/// at once.
pub fn serve_if_child() -> bool {
    let Ok(calls) = std::env::var(CALL_SIMULATOR) else {
        return false;
    };
    let served = calls
        .parse()
        .map_err(|e| format!("{CALL_SIMULATOR}={calls}: {e}"))
        .and_then(|calls| {
            let trace = crate::bundled_trace("load-30-calls.jsonl")?;
            CallSimulator::start(&trace, calls).map_err(|e| e.to_string())
        });
    match served {
        Ok(sim) => {
            println!("{}", sim.base_url());
            let _ = io::stdout().flush();
            // The parent closes stdin (or exits) when it is done.
            let _ = io::stdin().read_to_end(&mut Vec::new());
        }
        Err(e) => eprintln!("call simulator: {e}"),
    }
    true
}

/// A load server running in a child process; killed when dropped.
pub struct ChildServer {
    process: Child,
    base_url: String,
}

impl ChildServer {
    /// Starts this executable again as a [`CallSimulator`] for `calls` calls.
    pub fn call_simulator(calls: usize) -> io::Result<ChildServer> {
        let mut process = Command::new(std::env::current_exe()?)
            .env(CALL_SIMULATOR, calls.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        if let Some(out) = process.stdout.take() {
            BufReader::new(out).read_line(&mut line)?;
        }
        let base_url = line.trim().to_string();
        if !base_url.starts_with("http://") {
            let _ = process.kill();
            let _ = process.wait();
            return Err(io::Error::other(
                "the child did not start a server: does its main call serve_if_child()?",
            ));
        }
        Ok(ChildServer { process, base_url })
    }

    /// `http://ADDR` of the server.
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
