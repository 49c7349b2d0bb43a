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
