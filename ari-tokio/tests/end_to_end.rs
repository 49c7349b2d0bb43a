//! The adapter over real loopback sockets against the fake Asterisk.

#[path = "../../ari-client/tests/apps/hello_world.rs"]
mod hello_world;

use conformance::{FakeAsterisk, ServeOptions};

#[tokio::test(flavor = "current_thread")]
async fn hello_world_call_completes_the_trace() {
    hello_world::against_recorded_call(ari_tokio::connect).await;
}

#[tokio::test(flavor = "current_thread")]
async fn wrong_credentials_fail_to_connect() {
    let trace = conformance::bundled_trace("hello-world.jsonl").unwrap();
    let fake = FakeAsterisk::start(trace, ServeOptions::default()).unwrap();
    let config = ari_tokio::Config::new(&fake.base_url(), "hello", "asterisk", "nope").unwrap();
    let err = ari_tokio::connect(config).await.err().expect("refused");
    assert!(err.to_string().contains("401"), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn the_demo_replays_the_recorded_call() {
    conformance::demo::replay(ari_tokio::connect).await.unwrap();
}
