//! The adapter over real loopback sockets against the fake Asterisk.

#[path = "../../ari-client/tests/apps/faults.rs"]
mod faults;
#[path = "../../ari-client/tests/apps/framework.rs"]
mod framework;
#[path = "../../ari-client/tests/apps/hello_world.rs"]
mod hello_world;
#[path = "../../ari-client/tests/apps/scenarios.rs"]
mod scenarios;

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

#[tokio::test(flavor = "current_thread")]
async fn reconnects_after_a_close_frame() {
    faults::reconnects(ari_tokio::connect, true, 0).await;
}

#[tokio::test(flavor = "current_thread")]
async fn reconnects_after_a_drop_and_refusals() {
    faults::reconnects(ari_tokio::connect, false, 2).await;
}

#[tokio::test(flavor = "current_thread")]
async fn server_errors_are_typed() {
    faults::server_errors_are_typed(ari_tokio::connect).await;
}

#[tokio::test(flavor = "current_thread")]
async fn slow_answers_time_out() {
    faults::slow_answers_time_out(ari_tokio::connect).await;
}

#[tokio::test(flavor = "current_thread")]
async fn bad_frames_do_not_stop_events() {
    faults::bad_frames_do_not_stop_events(ari_tokio::connect).await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_stopped_consumer_is_told_it_lagged() {
    faults::a_stopped_consumer_is_told_it_lagged(ari_tokio::connect).await;
}

#[tokio::test(flavor = "current_thread")]
async fn the_call_framework_serves_the_recorded_call() {
    framework::against_recorded_call(ari_tokio::connect).await;
}

#[tokio::test(flavor = "current_thread")]
async fn every_scenario_completes_its_trace() {
    let failed = scenarios::run_all(ari_tokio::connect).await;
    assert!(failed.is_empty(), "{failed:#?}");
}
