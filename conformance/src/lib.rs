//! Holds `ari-proto` (and `ami-proto`) to wire traces recorded from a real
//! Asterisk, and serves those traces as a fake Asterisk.
//!
//! [`check_trace`] runs every check of the conformance suite on one trace:
//! each recorded event, answer and request against the typed API, then a
//! replay of the whole trace through the session state machine. The
//! `ari-conformance check TRACE...` binary runs it from the command line.

pub mod agi_check;
pub mod ami_serve;
pub mod check;
pub mod counter;
pub mod replay;
pub mod serve;
pub mod test_client;
pub mod trace;
pub mod wire_io;

pub use ami_serve::{AmiReport, FakeAmi};
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

/// An AMI trace shipped with this crate (`traces/ami/`), by file name.
pub fn bundled_ami_trace(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("traces/ami")
        .join(name)
}
