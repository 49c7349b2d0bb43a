//! What the FastAGI quickstart examples need besides their handler: an
//! Asterisk that calls. With `AGI_LISTEN` set the server listens there
//! for a real Asterisk; without, a fake Asterisk replays the recorded
//! quickstart call (`conformance/traces/agi/fastagi-quickstart.jsonl`)
//! against the server, as the caller who presses 1, 2, 3, 4.

use conformance::agi_check::AgiTrace;
use std::error::Error;
use std::net::SocketAddr;

/// Where the FastAGI quickstart runs.
pub enum AgiDemo {
    /// Serve a real Asterisk on this address.
    Live(SocketAddr),
    /// Play the recorded call against a server on a free loopback port.
    Replay(AgiTrace),
}

/// The recorded call the demo replays.
pub const QUICKSTART_TRACE: &str = "fastagi-quickstart.jsonl";

impl AgiDemo {
    /// A real Asterisk if `AGI_LISTEN` is set, else the recorded call.
    pub fn from_env() -> Result<AgiDemo, Box<dyn Error>> {
        if let Ok(address) = std::env::var("AGI_LISTEN") {
            return Ok(AgiDemo::Live(address.parse()?));
        }
        AgiDemo::replay()
    }

    /// The recorded call, whatever the environment says.
    pub fn replay() -> Result<AgiDemo, Box<dyn Error>> {
        let path = conformance::bundled_agi_trace(QUICKSTART_TRACE);
        Ok(AgiDemo::Replay(AgiTrace::read(&path)?))
    }

    /// Where the server should listen.
    pub fn listen_address(&self) -> SocketAddr {
        match self {
            AgiDemo::Live(address) => *address,
            AgiDemo::Replay(_) => SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }

    /// Live: serves until the process is stopped. Replay: plays the
    /// recorded call against `server` and fails if the server did not
    /// send what the recorded script sent.
    pub async fn run(self, server: SocketAddr) -> Result<(), Box<dyn Error>> {
        match self {
            AgiDemo::Live(_) => {
                println!("serving AGI(agi://{server}/...) until stopped");
                std::future::pending::<()>().await;
                Ok(())
            }
            AgiDemo::Replay(trace) => {
                println!("No AGI_LISTEN: a fake Asterisk replays a recorded call to {server}");
                let reports = blocking(move || {
                    conformance::agi_serve::play_all(&trace, server, &Default::default())
                })
                .await;
                for report in &reports {
                    println!("fake Asterisk: {report}");
                    if !report.is_clean() {
                        return Err(format!("the replay did not match: {report:?}").into());
                    }
                }
                Ok(())
            }
        }
    }
}

/// Runs blocking `work` on a thread of its own and waits for it without
/// blocking the runtime.
pub async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = futures_channel::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    rx.await.expect("the worker thread ended")
}
