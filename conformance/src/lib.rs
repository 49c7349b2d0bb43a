//! Holds the cores (`ari-proto`, `ami-proto`, `agi-proto`,
//! `asterisk-config`) to what a real Asterisk did: wire traces it recorded,
//! served back as a fake Asterisk, and its own reading of configuration
//! files ([`config_check`]).
//!
//! [`check_trace`] runs every check of the conformance suite on one trace:
//! each recorded event, answer and request against the typed API, then a
//! replay of the whole trace through the session state machine (`ast
//! check TRACE...` runs it from the command line).
//! [`check_ami_trace`] does the same for an AMI trace, and [`AnyTrace`]
//! reads either kind, told apart by the `protocol` of the `meta` line.

pub mod agi_check;
pub mod agi_serve;
pub mod ami_check;
pub mod ami_replay;
pub mod ami_serve;
pub mod ami_trace;
pub mod check;
pub mod config_check;
pub mod counter;
pub mod outbound_play;
pub mod replay;
pub mod serve;
pub mod test_client;
pub mod trace;
pub mod wire_io;

pub use ami_replay::{AmiReplayTally, replay_ami};
pub use ami_serve::{AmiFaults, AmiReport, AmiServeOptions, FakeAmi, Garbage};
pub use ami_trace::{AmiTrace, Protocol};
pub use check::Report;
pub use counter::Counter;
pub use serve::{FakeAsterisk, Faults, ServeOptions, ServeReport};
pub use trace::Trace;

/// Runs all checks on one trace.
pub fn check_trace(trace: &Trace) -> Report {
    let mut report = Report::default();
    check::check_static(trace, &mut report);
    replay::replay(trace, &mut report);
    report
}

/// Runs all checks on one AMI trace: every received message and every
/// sent action against the typed API ([`ami_check`]), then a replay of
/// every connection through the session ([`ami_replay`]).
pub fn check_ami_trace(trace: &AmiTrace) -> Report {
    let mut report = Report::default();
    ami_check::check_static(trace, &mut report);
    replay_ami(trace, &mut report);
    report
}

/// A trace of either protocol.
#[derive(Debug, Clone)]
pub enum AnyTrace {
    /// An ARI trace (`traces/FORMAT.md`).
    Ari(Trace),
    /// An AMI trace (`traces/ami/FORMAT.md`).
    Ami(AmiTrace),
}

impl AnyTrace {
    /// Reads a trace file of either protocol, told apart by the `protocol`
    /// of its `meta` line.
    pub fn read(path: &std::path::Path) -> Result<AnyTrace, String> {
        let data = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let parsed = match ami_trace::protocol_of(&data) {
            Ok(Protocol::Ari) => Trace::parse(&data).map(AnyTrace::Ari),
            Ok(Protocol::Ami) => AmiTrace::parse(&data).map(AnyTrace::Ami),
            Err(e) => Err(e),
        };
        parsed.map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Runs all checks of its protocol.
    pub fn check(&self) -> Report {
        match self {
            AnyTrace::Ari(t) => check_trace(t),
            AnyTrace::Ami(t) => check_ami_trace(t),
        }
    }
}

/// A trace shipped with this crate, by file name (`hello-world.jsonl`).
pub fn bundled_trace(name: &str) -> Result<Trace, String> {
    Trace::read(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("traces")
            .join(name),
    )
}

/// The traces shipped with this crate.
pub fn bundled_traces() -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("traces");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|e| e == "jsonl"));
    files.sort();
    files
}

/// The AMI traces shipped with this crate (`traces/ami/`).
pub fn bundled_ami_traces() -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("traces/ami");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|e| e == "jsonl"));
    files.sort();
    files
}

/// A FastAGI trace shipped with this crate (`traces/agi/`), by file name.
pub fn bundled_agi_trace(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("traces/agi")
        .join(name)
}

/// An AMI trace shipped with this crate (`traces/ami/`), by file name.
pub fn bundled_ami_trace(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("traces/ami")
        .join(name)
}
