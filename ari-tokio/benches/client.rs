//! `cargo bench -p ari-tokio`: ingest, the receive-only limit and REST round
//! trips against the loopback load server, on a current-thread runtime and
//! then on a multi-thread one.

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
    drop(rt);
    // What `#[tokio::main]` builds: a worker per core, tasks moving between them.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let runtime = ari_tokio::TokioRuntime(tokio::runtime::Handle::current());
        conformance::bench::run_all(
            runtime,
            ari_tokio::connect,
            "ari-tokio (multi_thread, 2 workers)",
            scale,
        )
        .await;
    });
}
