//! The tokio runtime's TCP listener.

#[tokio::test]
async fn the_listener_accepts_and_talks() {
    testkit::suite::listener::accepts_and_talks(ari_tokio::TokioRuntime::current()).await;
}
