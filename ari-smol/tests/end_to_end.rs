//! The adapter over real loopback sockets against the fake Asterisk, on
//! smol and on async-std's executor.

#[path = "../../ari-client/tests/apps/hello_world.rs"]
mod hello_world;

#[test]
fn hello_world_on_smol() {
    smol::block_on(hello_world::against_recorded_call(ari_smol::connect));
}

#[test]
fn hello_world_on_async_std() {
    async_std::task::block_on(hello_world::against_recorded_call(ari_smol::connect));
}

#[test]
fn the_demo_replays_the_recorded_call() {
    smol::block_on(conformance::demo::replay(ari_smol::connect)).unwrap();
}
