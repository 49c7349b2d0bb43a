//! A [`Pool`] through an adapter, against two broadcast fakes standing for
//! two Asterisk servers and an address where nothing listens: it connects
//! to the servers that are up, tags what each one sends with its index,
//! sends a call's requests to the server that has it, and keeps retrying
//! the one that is down.

use crate::agi_demo::blocking;
use crate::broadcast_server::BroadcastServer;
use ari_client::{BroadcastPolicy, Pool, PoolError, Runtime};
use ari_proto::{Config, ConfigError, ConnectionEvent, Event};
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const APP: &str = "bcast-pool";

fn config(base_url: &str) -> Config {
    let mut config = Config::new(base_url, APP, "asterisk", "secret").unwrap();
    // The server that is down is retried at once, so its next attempt
    // shows in the test without waiting out a real backoff.
    config.backoff.initial = Duration::from_millis(20);
    config.backoff.max = Duration::from_millis(20);
    config
}

/// A loopback address where nothing listens.
fn nobody_listening() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

/// Two servers and one that is down: the pool opens on the two, a call
/// offered on each is claimed and served once with its requests going to
/// its own server (the two calls even share a channel id), every event
/// says its server, and the third server is tried again.
pub async fn one_instance_on_several_servers<R: Runtime>(runtime: R) {
    let first = Arc::new(BroadcastServer::start("bcast-", Duration::from_secs(3)).unwrap());
    let second = Arc::new(BroadcastServer::start("bcast-", Duration::from_secs(3)).unwrap());
    let configs = [
        config(&first.base_url()),
        config(&nobody_listening()),
        config(&second.base_url()),
    ];
    let pool = Pool::connect(runtime, configs).await.unwrap();
    assert_eq!(pool.clients().len(), 3);
    let mut connection_events = pool.connection_events();
    let mut events = pool.events();
    let (served_tx, mut served) = futures_channel::mpsc::unbounded();
    let stats = pool.serve_broadcast_calls(BroadcastPolicy::up_to(10), move |mut call| {
        let served = served_tx.clone();
        async move {
            call.channel.answer().await.unwrap();
            call.channel.hangup().await.unwrap();
            while call.next().await.is_some() {}
            let server = call.channel.client().config().base_url.clone();
            let _ = served.unbounded_send((server, call.channel.channel_id().to_string()));
        }
    });
    let servers = [first.clone(), second.clone()];
    blocking(move || {
        let [first, second] = &servers;
        for server in [first, second] {
            let give_up = std::time::Instant::now() + Duration::from_secs(20);
            while server.connected_apps().is_empty() && std::time::Instant::now() < give_up {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        let ids = [first.offer("5550001"), second.offer("5550002")];
        assert_eq!(ids[0], ids[1], "each fake numbers its calls from 1");
        for server in [first, second] {
            let report = server.wait_settled(1, Duration::from_secs(20)).unwrap();
            assert_eq!(
                (report.won(), report.answered, report.hung_up),
                (1, 1, 1),
                "{report:?}"
            );
            assert_eq!(server.winners().len(), 1);
        }
    })
    .await;
    let mut by_server = BTreeMap::new();
    for _ in 0..2 {
        let (server, channel) = served.next().await.unwrap();
        by_server.insert(server, channel);
    }
    assert_eq!(
        by_server.len(),
        2,
        "each server's call served once: {by_server:?}"
    );
    assert_eq!((stats.won(), stats.served()), (2, 2), "{stats:?}");

    // Every offer came from the server that made it.
    let mut offers = BTreeMap::new();
    while offers.len() < 2 {
        let (server, event) = events.next().await.unwrap();
        if let Event::CallBroadcast(offer) = &event.unwrap() {
            offers.insert(server, offer.channel.caller.number.to_string());
        }
    }
    assert_eq!(
        offers,
        BTreeMap::from([(0, "5550001".to_string()), (2, "5550002".to_string())])
    );

    // Only the server that is down reports a change: it is tried again.
    let (server, event) = connection_events.next().await.unwrap();
    assert_eq!(server, 1, "{event:?}");
    assert!(
        matches!(
            event,
            ConnectionEvent::Connecting { .. }
                | ConnectionEvent::Closed(_)
                | ConnectionEvent::Backoff { .. }
        ),
        "{event:?}"
    );
    pool.close().await;
    drop((first, second));
}

/// No server up: `NoneOpened` with each one's reason, and nothing kept; a
/// configuration that cannot work names its server.
pub async fn a_pool_needs_one_server_up<R: Runtime>(runtime: R) {
    let down = [config(&nobody_listening()), config(&nobody_listening())];
    match Pool::connect(runtime.clone(), down).await {
        Err(PoolError::NoneOpened(reasons)) => assert_eq!(reasons.len(), 2, "{reasons:?}"),
        other => panic!("{other:?}"),
    }
    let mut no_app = config("http://127.0.0.1:1");
    no_app.apps.clear();
    let configs = [config(&nobody_listening()), no_app];
    match Pool::connect(runtime, configs).await {
        Err(PoolError::Server { server: 1, error }) => assert_eq!(
            error,
            ari_client::ConnectError::Config(ConfigError::NoApplication)
        ),
        other => panic!("{other:?}"),
    }
}
