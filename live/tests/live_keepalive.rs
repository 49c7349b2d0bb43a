//! Keepalive against the real server: Asterisk answers the client's pings,
//! so an idle connection with a short idle timeout stays open.

use ari_proto::ConnectionEvent;
use futures_util::StreamExt;
use live::live;
use std::time::Duration;

#[tokio::test]
async fn pongs_keep_an_idle_connection_open() {
    let live = live!();
    let app = live.app("keepalive");
    let mut config = live.config(&app);
    config.ping_interval = Some(Duration::from_millis(150));
    config.idle_timeout = Duration::from_millis(1000);
    let client = ari_tokio::connect(config).await.expect("connect");
    let mut connection = client.connection_events();
    // Three idle timeouts with nothing but pings and pongs on the wire.
    tokio::time::sleep(Duration::from_millis(3000)).await;
    client.close().await;
    let mut seen = Vec::new();
    while let Some(event) = connection.next().await {
        seen.push(event);
    }
    assert!(
        !seen.iter().any(|e| matches!(e, ConnectionEvent::Closed(_))),
        "the connection was given up: {seen:?}"
    );
    assert!(seen.contains(&ConnectionEvent::Stopped), "{seen:?}");
}
