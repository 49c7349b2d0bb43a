//! Asterisk's error answers, each as its typed error: 404, 409, 422, 400,
//! 403 and 401, against the real server.

use ari_proto::{ApiErrorKind, RequestError};
use live::live;

#[track_caller]
fn assert_kind<T: std::fmt::Debug>(outcome: Result<T, RequestError>, kind: ApiErrorKind) {
    match outcome {
        Err(RequestError::Api(e)) => {
            assert_eq!(e.kind(), kind, "{e}");
            assert!(
                e.message.is_some(),
                "Asterisk explains a {}: {e:?}",
                e.status
            );
        }
        other => panic!("expected a {kind:?} answer, got {other:?}"),
    }
}

#[tokio::test]
async fn error_statuses_are_typed() {
    let live = live!();
    let app = live.app("errs");
    let client = ari_tokio::connect(live.config(&app))
        .await
        .expect("connect");

    // 404: no such channel.
    assert_kind(
        client.channel(format!("{app}-nope")).answer().await,
        ApiErrorKind::NotFound,
    );
    // 400: an originate that says neither where to go nor which app.
    assert_kind(
        client.channels().originate("PJSIP/wait@loop").await,
        ApiErrorKind::BadRequest,
    );
    // 400 again: a bridge asked to take a channel that does not exist.
    let bridge = format!("{app}-bridge");
    client
        .bridges()
        .create_with_id(&bridge)
        .with(|b| b.r#type("mixing"))
        .await
        .expect("bridge created");
    assert_kind(
        client
            .bridge(&bridge)
            .add_channel([format!("{app}-ghost")])
            .await,
        ApiErrorKind::BadRequest,
    );
    // A channel that exists but runs the dialplan, not this app: 409 for
    // an operation on it, 422 for a bridge asked to take it.
    let outside = format!("{app}-dialplan");
    client
        .channels()
        .originate("PJSIP/wait@loop")
        .with(|o| {
            o.extension("wait")
                .context("default")
                .priority(1)
                .channel_id(&outside)
        })
        .await
        .expect("originate into the dialplan");
    assert_kind(
        client.channel(&outside).play(["sound:beep"]).await,
        ApiErrorKind::Conflict,
    );
    assert_kind(
        client.bridge(&bridge).add_channel([&outside]).await,
        ApiErrorKind::Unprocessable,
    );

    client.channel(&outside).hangup().await.expect("hang up");
    client.bridge(&bridge).destroy().await.expect("destroy");
    client.close().await;
}

#[tokio::test]
async fn read_only_user_reads_but_may_not_write() {
    let live = live!();
    let app = live.app("reader");
    let client = ari_tokio::connect(live.config_as(&app, "reader", "reader"))
        .await
        .expect("a read-only user connects");
    let info = client.asterisk().get_info().await.expect("reads");
    assert!(info.system.is_some());
    assert_kind(
        client.bridges().create().with(|b| b.r#type("mixing")).await,
        ApiErrorKind::Forbidden,
    );
    client.close().await;
}

#[tokio::test]
async fn wrong_password_is_refused_with_401() {
    let live = live!();
    let app = live.app("intruder");
    let error = ari_tokio::connect(live.config_as(&app, "asterisk", "wrong"))
        .await
        .expect_err("a wrong password does not connect");
    let shown = format!("{error} {error:?}");
    assert!(shown.contains("401"), "{shown}");
    assert!(!shown.contains("wrong"), "the password leaks: {shown}");
}
