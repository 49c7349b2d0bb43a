//! The asyncari quickstart on tokio: `cargo run -p ari-tokio --example hello_world`.
//!
//! With `ARI_URL`, `ARI_USER` and `ARI_PASSWORD` set, it serves the calls of a
//! real Asterisk (Stasis app `hello`). Without them, it replays the recorded
//! `hello-world` call from a fake Asterisk on loopback, playing the caller too.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    conformance::demo::run(ari_tokio::connect).await
}
