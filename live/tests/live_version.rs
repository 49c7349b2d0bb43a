//! Version gating against the real build: `connect` learns the release
//! from `GET /asterisk/info` (the read-only user too), and the newest
//! operations that release has are sent and answered, not refused here.

use ari_proto::Version;
use live::{live, strict};

#[tokio::test]
async fn connect_learns_the_build_and_its_newest_operations_work() {
    let live = live!();
    let app = live.app("version");
    let client = ari_tokio::connect(live.config(&app))
        .await
        .expect("connect");
    let learnt = client
        .server_version()
        .expect("the build is known at connect");
    let info = strict("info", client.asterisk().get_info().await.expect("info"));
    let reported = info.system.expect("system").version;
    assert_eq!(Version::parse(&reported), Some(learnt), "{reported}");

    // Bridge variables arrived in 20.20, 22.10 and 23.4.
    let bridge = format!("{app}-bridge");
    let handle = client.bridge(&bridge);
    handle
        .create_with_id()
        .with(|b| b.r#type("mixing"))
        .await
        .expect("bridge");
    handle
        .set_bridge_var("COLOUR")
        .with(|v| v.value("blue"))
        .await
        .expect("set one variable");
    let one = strict(
        "variable",
        handle.get_bridge_var("COLOUR").await.expect("get"),
    );
    assert_eq!(one.value, "blue");
    let mut many = ari_proto::serde_json::Map::new();
    many.insert("SHAPE".into(), "round".into());
    many.insert("SIZE".into(), "7".into());
    handle
        .set_bridge_vars(many)
        .await
        .expect("set several variables");
    let got = strict(
        "variables",
        handle
            .get_bridge_vars(["SHAPE", "SIZE", "COLOUR"])
            .await
            .expect("get several"),
    );
    let expected = ari_proto::serde_json::json!({"SHAPE": "round", "SIZE": "7", "COLOUR": "blue"});
    assert_eq!(got.variables, expected);
    handle.destroy().await.expect("destroy");
    client.close().await;
}

#[tokio::test]
async fn a_read_only_user_learns_the_build_too() {
    let live = live!();
    let app = live.app("version-ro");
    let client = ari_tokio::connect(live.config_as(&app, "reader", "reader"))
        .await
        .expect("connect");
    assert!(client.server_version().is_some());
    client.close().await;
}
