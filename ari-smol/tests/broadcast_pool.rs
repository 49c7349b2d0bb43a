//! The `smol_broadcast_pool` example's code against the broadcast fake.

#[path = "../examples/smol_broadcast_pool.rs"]
#[allow(dead_code)]
mod example;

/// Every call is served exactly once, by an instance whose policy took it.
#[test]
fn the_example_shares_every_call_once() {
    smol::block_on(async {
        let demo = testkit::broadcast_demo::PoolDemo::fake().unwrap();
        let report = example::share_calls(&demo, 12, std::time::Duration::from_millis(20))
            .await
            .unwrap();
        testkit::broadcast_demo::check_shared_once(&report, 12);
    });
}

#[test]
fn one_instance_on_several_servers() {
    smol::block_on(testkit::suite::pool::one_instance_on_several_servers(
        ari_smol::SmolRuntime,
    ));
}

#[test]
fn a_pool_needs_one_server_up() {
    smol::block_on(testkit::suite::pool::a_pool_needs_one_server_up(
        ari_smol::SmolRuntime,
    ));
}
