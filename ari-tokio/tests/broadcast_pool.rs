//! The `broadcast_pool` example's code against the broadcast fake.

#[path = "../examples/broadcast_pool.rs"]
#[allow(dead_code)]
mod example;

/// Every call is served exactly once, by an instance whose policy took it.
#[tokio::test]
async fn the_example_shares_every_call_once() {
    let demo = testkit::broadcast_demo::PoolDemo::fake().unwrap();
    let report = example::share_calls(&demo, 12, std::time::Duration::from_millis(20))
        .await
        .unwrap();
    testkit::broadcast_demo::check_shared_once(&report, 12);
}

#[tokio::test]
async fn one_instance_on_several_servers() {
    testkit::suite::pool::one_instance_on_several_servers(ari_tokio::TokioRuntime::current()).await;
}

#[tokio::test]
async fn a_pool_needs_one_server_up() {
    testkit::suite::pool::a_pool_needs_one_server_up(ari_tokio::TokioRuntime::current()).await;
}
