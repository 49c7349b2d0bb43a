//! `cargo bench -p ari-tokio`: ingest, the receive-only limit and REST round
//! trips against the loopback load server, on a current-thread runtime.

fn main() {
    if conformance::child::serve_if_child() {
        return;
    }
    let scale = std::env::var("ARI_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let runtime = ari_tokio::TokioRuntime(tokio::runtime::Handle::current());
        conformance::bench::run_all(
            runtime,
            ari_tokio::connect,
            "ari-tokio (current_thread)",
            scale,
        )
        .await;
    });
}
