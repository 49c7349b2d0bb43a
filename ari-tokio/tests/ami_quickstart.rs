//! The AMI quickstart example, with no PBX, on tokio.

#[path = "../examples/ami_quickstart.rs"]
#[allow(dead_code)]
mod example;

#[tokio::test]
async fn the_ami_quickstart_handles_the_recorded_session() {
    testkit::suite::ami_quickstart::handlers_see_what_they_selected(
        ari_tokio::ami::client,
        |manager, say| async move { example::quickstart(&manager, say).await },
    )
    .await;
}
