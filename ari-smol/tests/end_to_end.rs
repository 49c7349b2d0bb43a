//! The adapter over real loopback sockets against the fake Asterisk, on
//! smol and on async-std's executor.

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

async fn run_hello_world() {
    let fake = FakeAsterisk::start(trace("hello-world.jsonl"), ServeOptions::default()).unwrap();
    let config = ari_smol::Config::new(&fake.base_url(), "hello", "asterisk", "asterisk").unwrap();
    let client = ari_smol::connect(config).await.unwrap();
    let log = hello_world::hello_world(&client).await.unwrap();
    client.close().await;
    let report = fake.finish();
    assert!(report.completed, "{report:?}\n{log:#?}");
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
    assert!(log.contains(&"hung up".to_string()), "{log:?}");
}

#[test]
fn hello_world_on_smol() {
    smol::block_on(run_hello_world());
}

#[test]
fn hello_world_on_async_std() {
    async_std::task::block_on(run_hello_world());
}
