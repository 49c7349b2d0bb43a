//! Outbound WebSockets on smol: a fake Asterisk connects to our server.

#[test]
fn calls_on_accepted_connections() {
    smol::block_on(testkit::suite::outbound::calls_on_accepted_connections(
        ari_smol::SmolRuntime,
    ));
}

#[test]
fn strangers_are_refused() {
    smol::block_on(testkit::suite::outbound::strangers_are_refused(
        ari_smol::SmolRuntime,
    ));
}

#[test]
fn silent_and_surplus_connections_are_closed() {
    smol::block_on(
        testkit::suite::outbound::silent_and_surplus_connections_are_closed(ari_smol::SmolRuntime),
    );
}

#[path = "../examples/smol_outbound_websocket.rs"]
#[allow(dead_code)]
mod example;

/// The example's handler against the fake Asterisk playing the recorded
/// call: every request it sends is the recorded one.
#[test]
fn the_example_serves_the_recorded_call() {
    smol::block_on(async {
        let config =
            ari_smol::Config::new("http://unused", "ows-app", "ows", "ows-secret").unwrap();
        let server =
            ari_smol::outbound::serve_calls("127.0.0.1:0".parse().unwrap(), config, |call| async {
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
    });
}
