//! Outbound WebSockets on tokio: a fake Asterisk connects to our server.

#[tokio::test]
async fn calls_on_accepted_connections() {
    testkit::suite::outbound::calls_on_accepted_connections(ari_tokio::TokioRuntime::current())
        .await;
}

#[tokio::test]
async fn strangers_are_refused() {
    testkit::suite::outbound::strangers_are_refused(ari_tokio::TokioRuntime::current()).await;
}

#[path = "../examples/outbound_websocket.rs"]
#[allow(dead_code)]
mod example;

/// The example's handler against the fake Asterisk playing the recorded
/// call: every request it sends is the recorded one.
#[tokio::test]
async fn the_example_serves_the_recorded_call() {
    let config = ari_tokio::Config::new("http://unused", "ows-app", "ows", "ows-secret").unwrap();
    let server =
        ari_tokio::outbound::serve_calls("127.0.0.1:0".parse().unwrap(), config, |call| async {
            example::greet(call).await.expect("the call");
        })
        .unwrap();
    let mut said = Vec::new();
    testkit::demo::play_outbound_call(server.address(), |line| said.push(line))
        .await
        .unwrap();
    assert_eq!(
        said,
        [
            "fake Asterisk: connection ws1 sent 17 frames, the app's 4 requests matched the recording"
        ]
    );
}
