//! `cargo bench -p ari-smol`: calls, ingest, the receive-only limit,
//! routing, REST round trips, and AMI ingest beside its receive-only sink,
//! against the loopback load servers, with the application's code on
//! the `block_on` thread and then on the executor's own thread
//! (`ARI_BENCH_RUNTIME=block_on` or `executor` for one).

fn main() {
    if testkit::child::serve_if_child() {
        return;
    }
    // The consumer on the `block_on` thread, the driver on the executor's.
    if testkit::bench::runtime_selected("block_on") {
        smol::block_on(testkit::bench::run_all(
            ari_smol::SmolRuntime,
            ari_smol::connect,
            "ari-smol (consumer on block_on, driver on the executor thread)",
        ));
    }
    // Both on smol's one executor thread, as on a current-thread runtime.
    if testkit::bench::runtime_selected("executor") {
        smol::block_on(smol::spawn(testkit::bench::run_all(
            ari_smol::SmolRuntime,
            ari_smol::connect,
            "ari-smol (all on the executor thread)",
        )));
    }
}
