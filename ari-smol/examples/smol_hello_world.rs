//! The asyncari quickstart on smol: `cargo run -p ari-smol --example smol_hello_world`.
//!
//! With `ARI_URL`, `ARI_USER` and `ARI_PASSWORD` set, it serves the calls of a
//! real Asterisk (Stasis app `hello`). Without them, it replays the recorded
//! `hello-world` call from a fake Asterisk on loopback, playing the caller too.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    smol::block_on(conformance::demo::run(ari_smol::connect))
}
