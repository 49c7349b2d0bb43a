//! What the adapters' tests, benchmarks and examples share, written once
//! against the runtime-neutral client:
//!
//! - [`suite`]: the adapter test suite (every recorded scenario, the
//!   fault-injection cases, the per-call framework); each adapter's
//!   `tests/end_to_end.rs` runs it on its runtime;
//! - [`clock`]: [`VirtualTime`](clock::VirtualTime), a runtime whose clock
//!   moves only when a test says, for the suite's timeout tests;
//! - [`blast`], [`ami_blast`], [`calls_server`], [`loopback`], [`child`]:
//!   load servers on loopback (ARI and AMI), in a child process for
//!   benchmarks;
//! - [`broadcast_server`]: a fake Asterisk offering calls by
//!   `StasisBroadcast` to competing applications;
//! - [`bench`](mod@bench): the benchmark harness behind `cargo bench -p ari-tokio` and
//!   `-p ari-smol`;
//! - [`demo`]: the quickstart examples' wiring (a real Asterisk, or the
//!   recorded call and its caller); [`ami_demo`] the same for AMI;
//!   [`broadcast_demo`] the calls the `broadcast_pool` examples share.
//!
//! The fake Asterisk and the trace checker are `conformance`'s.

pub mod agi_callers;
pub mod agi_demo;
pub mod ami_blast;
pub mod ami_demo;
pub mod bench;
pub mod blast;
pub mod broadcast_demo;
pub mod broadcast_server;
pub mod calls_server;
pub mod child;
pub mod clock;
pub mod demo;
pub mod loopback;

/// The adapter test suite.
pub mod suite {
    pub mod agi;
    pub mod ami;
    pub mod ami_quickstart;
    pub mod async_agi;
    pub mod faults;
    pub mod framework;
    pub mod hello_world;
    pub mod listener;
    pub mod outbound;
    pub mod pool;
    pub mod scenarios;
}
