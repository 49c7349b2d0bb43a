//! `cargo bench -p ari-tokio`: calls, ingest, the receive-only limit,
//! routing, REST round trips, and AMI ingest beside its receive-only sink,
//! against the loopback load servers, on a
//! current-thread runtime and then on a multi-thread one
//! (`ARI_BENCH_RUNTIME=current_thread` or `multi_thread` for one).

fn main() {
    if testkit::child::serve_if_child() {
        return;
    }
    for (mut builder, key, name) in [
        (
            tokio::runtime::Builder::new_current_thread(),
            "current_thread",
            "ari-tokio (current_thread)",
        ),
        // What `#[tokio::main]` builds: a worker per core, tasks moving between them.
        (
            tokio::runtime::Builder::new_multi_thread(),
            "multi_thread",
            "ari-tokio (multi_thread, a worker per core)",
        ),
    ] {
        if !testkit::bench::runtime_selected(key) {
            continue;
        }
        let rt = builder.enable_all().build().expect("a runtime");
        rt.block_on(async {
            let runtime = ari_tokio::TokioRuntime(tokio::runtime::Handle::current());
            testkit::bench::run_all(runtime, ari_tokio::connect, name).await;
        });
    }
}
