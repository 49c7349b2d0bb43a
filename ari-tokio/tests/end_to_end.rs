//! The adapter over real loopback sockets against the fake Asterisk.

#[path = "../../ari-client/tests/apps/hello_world.rs"]
mod hello_world;

use conformance::{FakeAsterisk, ServeOptions, Trace};

fn trace(name: &str) -> Trace {
    Trace::read(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../conformance/traces")
            .join(name),
    )
    .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn hello_world_call_completes_the_trace() {
    let fake = FakeAsterisk::start(trace("hello-world.jsonl"), ServeOptions::default()).unwrap();
    let config = ari_tokio::Config::new(&fake.base_url(), "hello", "asterisk", "asterisk").unwrap();
    let client = ari_tokio::connect(config).await.unwrap();
    let log = hello_world::hello_world(&client).await.unwrap();
    client.close().await;
    let report = tokio::task::spawn_blocking(move || fake.finish())
        .await
        .unwrap();
    assert!(report.completed, "{report:?}\n{log:#?}");
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
    assert!(
        log.contains(&"digit #".to_string()) && log.contains(&"hung up".to_string()),
        "{log:?}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn wrong_credentials_fail_to_connect() {
    let fake = FakeAsterisk::start(trace("hello-world.jsonl"), ServeOptions::default()).unwrap();
    let config = ari_tokio::Config::new(&fake.base_url(), "hello", "asterisk", "nope").unwrap();
    let err = ari_tokio::connect(config).await.err().expect("refused");
    assert!(err.to_string().contains("401"), "{err}");
}
