//! The smol runtime's TCP listener.

#[test]
fn the_listener_accepts_and_talks() {
    smol::block_on(testkit::suite::listener::accepts_and_talks(
        ari_smol::SmolRuntime,
    ));
}
