//! FastAGI on tokio: every recorded FastAGI connection served, and the
//! quickstart example against its recorded call.

#[path = "../examples/fastagi_quickstart.rs"]
#[allow(dead_code)]
mod example;

#[tokio::test]
async fn every_recorded_connection_is_served_as_recorded() {
    let matched =
        testkit::suite::agi::every_trace_is_served_as_recorded(ari_tokio::TokioRuntime::current())
            .await;
    assert!(matched > 200, "{matched}");
}

#[tokio::test]
async fn the_fastagi_quickstart_plays_its_recorded_call() {
    let demo = testkit::agi_demo::AgiDemo::replay().unwrap();
    let (said_tx, said) = std::sync::mpsc::channel();
    let routes = ari_tokio::agi::Routes::new().fallback(move |agi| {
        let said_tx = said_tx.clone();
        example::quickstart(agi, move |line| {
            let _ = said_tx.send(line);
        })
    });
    let server = ari_tokio::agi::serve(demo.listen_address(), routes).unwrap();
    demo.run(server.address()).await.unwrap();
    let lines: Vec<String> = said.try_iter().collect();
    assert!(lines.contains(&"digits: 1234".to_string()), "{lines:?}");
    assert_eq!(lines.last().map(String::as_str), Some("done"));
}

#[tokio::test]
async fn failures_are_told_to_asterisk() {
    testkit::suite::agi::failures_are_told_to_asterisk(ari_tokio::TokioRuntime::current()).await;
}

#[tokio::test]
async fn async_agi_plays_the_recorded_session() {
    testkit::suite::async_agi::async_agi_as_recorded(ari_tokio::TokioRuntime::current()).await;
}

/// The AGI load driver's calls (the benchmark's) against our server: each
/// recorded `agi-load` call completes, 200 of them, 20 at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_drivers_calls_complete() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let call = testkit::agi_callers::RecordedCall::agi_load().unwrap();
    assert_eq!(call.commands(), 4);
    let done = Arc::new(AtomicUsize::new(0));
    let finished = done.clone();
    let routes = ari_tokio::agi::Routes::new().fallback(move |agi| {
        let finished = finished.clone();
        async move {
            agi.send(&ari_tokio::agi::commands::Answer::new()).await?;
            agi.send(&ari_tokio::agi::commands::StreamFile::new("beep", ""))
                .await?;
            agi.send(&ari_tokio::agi::commands::GetVariable::new("CHANNEL"))
                .await?;
            agi.send(&ari_tokio::agi::commands::Hangup::new()).await?;
            finished.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    });
    let server = ari_tokio::agi::serve("127.0.0.1:0".parse().unwrap(), routes).unwrap();
    let address = server.address();
    let failed = tokio::task::spawn_blocking(move || {
        testkit::agi_callers::play_calls(&call, address, 200, 20)
    })
    .await
    .unwrap();
    assert_eq!(failed, 0);
    assert_eq!(done.load(Ordering::Relaxed), 200);
}
