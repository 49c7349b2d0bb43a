//! Outbound WebSockets on smol: a fake Asterisk connects to our server.

#[test]
fn calls_on_accepted_connections() {
    smol::block_on(testkit::suite::outbound::calls_on_accepted_connections(
        ari_smol::SmolRuntime,
    ));
}

#[test]
fn strangers_are_refused() {
    smol::block_on(testkit::suite::outbound::strangers_are_refused(
        ari_smol::SmolRuntime,
    ));
}
