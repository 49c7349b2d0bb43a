//! `cargo bench -p ari-smol`: ingest, the receive-only limit and REST round
//! trips against the loopback load server.

fn main() {
    let scale = std::env::var("ARI_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    smol::block_on(conformance::bench::run_all(
        ari_smol::SmolRuntime,
        ari_smol::connect,
        "ari-smol",
        scale,
    ));
}
