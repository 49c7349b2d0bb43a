//! `cargo bench -p ari-tokio`: calls, ingest, the receive-only limit,
//! routing, REST round trips, and AMI ingest beside its receive-only sink,
//! against the loopback load servers, on a current-thread runtime, then on
//! a multi-thread one with the application's code in `block_on` (on the
//! main thread, as in the body of `#[tokio::main]`), then with it in a task
//! on the workers (`ARI_BENCH_RUNTIME=current_thread`, `multi_thread` or
//! `multi_thread_task` for one).

fn main() {
    if testkit::child::serve_if_child() {
        return;
    }
    for (mut builder, key, name, in_task) in [
        (
            tokio::runtime::Builder::new_current_thread(),
            "current_thread",
            "ari-tokio (current_thread)",
            false,
        ),
        // What `#[tokio::main]` builds: a worker per core, tasks moving between them.
        (
            tokio::runtime::Builder::new_multi_thread(),
            "multi_thread",
            "ari-tokio (multi_thread, a worker per core, application on the main thread)",
            false,
        ),
        (
            tokio::runtime::Builder::new_multi_thread(),
            "multi_thread_task",
            "ari-tokio (multi_thread, a worker per core, application in a task)",
            true,
        ),
    ] {
        if !testkit::bench::runtime_selected(key) {
            continue;
        }
        let rt = builder.enable_all().build().expect("a runtime");
        rt.block_on(async {
            let runtime = ari_tokio::TokioRuntime(tokio::runtime::Handle::current());
            let run = testkit::bench::run_all(runtime, ari_tokio::connect, name);
            if in_task {
                tokio::spawn(run).await.expect("the benchmarks ran");
            } else {
                run.await;
            }
        });
    }
}
