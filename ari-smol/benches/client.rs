//! `cargo bench -p ari-smol`: ingest, the receive-only limit and REST round
//! trips against the loopback load server, with the application's code on
//! the `block_on` thread and then on the executor's own thread.

fn main() {
    if conformance::child::serve_if_child() {
        return;
    }
    let scale = std::env::var("ARI_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    // The consumer on the `block_on` thread, the driver on the executor's.
    smol::block_on(conformance::bench::run_all(
        ari_smol::SmolRuntime,
        ari_smol::connect,
        "ari-smol (consumer on block_on, driver on the executor thread)",
        scale,
    ));
    // Both on smol's one executor thread, as on a current-thread runtime.
    smol::block_on(smol::spawn(conformance::bench::run_all(
        ari_smol::SmolRuntime,
        ari_smol::connect,
        "ari-smol (all on the executor thread)",
        scale,
    )));
}
