//! The AMI quickstart example, with no PBX, on smol.

#[path = "../examples/smol_ami_quickstart.rs"]
#[allow(dead_code)]
mod example;

#[test]
fn the_ami_quickstart_handles_the_recorded_session() {
    smol::block_on(
        testkit::suite::ami_quickstart::handlers_see_what_they_selected(
            ari_smol::ami::client,
            |manager, say| async move { example::quickstart(&manager, say).await },
        ),
    );
}
