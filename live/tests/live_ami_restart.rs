//! AMI through a real `core restart now`: the quickstart example's own
//! code sees the `Shutdown` event and ends; a client that stays logs in
//! again by itself, with its `MatchCriteria` filter applied again, and its
//! actions work on the new server.
//!
//! The only test in its binary: the restart takes the server away from
//! every client for a few seconds, and test binaries run one at a time.

use ari_tokio::ami::{self, Action, Change, Config, ConnectionEvent, Event, EventFilter, actions};
use futures_util::StreamExt;
use live::live;
use std::time::Duration;

#[path = "../../ari-tokio/examples/ami_quickstart.rs"]
#[allow(dead_code)]
mod example;

async fn wait_change(
    changes: &mut ari_tokio::EventStream<Change>,
    wanted: impl Fn(&Change) -> bool,
) {
    while let Some(item) = changes.next().await {
        if wanted(&item.expect("no lag")) {
            return;
        }
    }
    panic!("the changes ended")
}

fn config(live: &live::Live) -> Config {
    let mut config = Config::new(&live.ami_addr, "admin", "amp111").expect("AMI_ADDR");
    // Asterisk takes a few seconds to come back: retry often.
    config.backoff.max = Duration::from_secs(1);
    config
}

#[tokio::test]
async fn the_quickstart_sees_the_shutdown_and_a_filtered_client_comes_back() {
    let live = live!();
    let stem = format!("amirst{}", std::process::id());
    let mut filtered = config(&live);
    filtered.filters = vec![
        EventFilter::criteria(
            "name(Newchannel),header(Uniqueid),method(starts_with)",
            format!("{stem}-"),
        ),
        // Without it the session's own async Originates never end: their
        // OriginateResponse is an event like any other.
        EventFilter::criteria("name(OriginateResponse),method(none)", ""),
    ];
    let watcher = ami::client(filtered).unwrap();
    let mut connection = watcher.connection_events();
    watcher.open().await.expect("the filtered login");

    // A client keeping the picture of the PBX, with a call up.
    let observer = ami::connect(config(&live)).await.unwrap();
    let picture = observer.picture();
    let mut changes = picture.changes();
    let mut observer_connection = observer.connection_events();
    wait_change(&mut changes, |c| *c == Change::Resynced).await;
    let doomed = format!("{stem}-doomed");
    observer
        .send(
            Action::new("Originate")
                .header("Channel", "Local/wait@default")
                .header("Application", "Wait")
                .header("Data", "60")
                .header("Async", "true")
                .header("ChannelId", &doomed),
        )
        .await
        .expect("originated");
    wait_change(&mut changes, |_| picture.lock().channel(&doomed).is_some()).await;

    let quickstart = ami::client(config(&live)).unwrap();
    let (said_tx, mut said) = futures_channel::mpsc::unbounded();
    let example = tokio::spawn({
        let quickstart = quickstart.clone();
        async move {
            example::quickstart(&quickstart, move |line| {
                let _ = said_tx.unbounded_send(line);
            })
            .await
            .map_err(|e| e.to_string())
        }
    });
    assert_eq!(said.next().await.as_deref(), Some("ping: Pong"));

    // The connection dies with the server: the answer may never come.
    let _ = live
        .ami()
        .action("Command", &[("Command", "core restart now")]);
    example
        .await
        .unwrap()
        .expect("the quickstart ended cleanly");
    let mut lines = Vec::new();
    while let Ok(line) = said.try_recv() {
        lines.push(line);
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("by class: Shutdown (") && l.ends_with("restart: True)")),
        "{lines:?}"
    );
    quickstart.close().await;

    let mut closed = false;
    while let Some(event) = connection.next().await {
        match event {
            ConnectionEvent::Closed(_) => closed = true,
            ConnectionEvent::Open { reconnected } if closed => {
                assert!(reconnected);
                break;
            }
            ConnectionEvent::FilterRefused { filter, reason } => {
                panic!("{filter:?} refused after the restart: {reason}")
            }
            _ => {}
        }
    }
    assert!(closed, "the restart closed the connection");

    // The observer came back too and resynced: the call died with the
    // server, whether or not its Hangup made it out before the end.
    let mut closed = false;
    while let Some(event) = observer_connection.next().await {
        match event {
            ConnectionEvent::Closed(_) => closed = true,
            ConnectionEvent::Open { .. } if closed => break,
            _ => {}
        }
    }
    wait_change(&mut changes, |c| *c == Change::Resynced).await;
    assert!(picture.is_whole());
    assert!(picture.lock().channel(&doomed).is_none());
    observer.close().await;

    // Asterisk takes logins before its modules are all loaded.
    watcher
        .send(Action::new("Command").header("Command", "core waitfullybooted"))
        .await
        .expect("fully booted");

    // The filter is in force on the new connection.
    let mut events = watcher.events();
    let originate = |id: &str| {
        Action::new("Originate")
            .header("Channel", "Local/wait@default")
            .header("Application", "Wait")
            .header("Data", "20")
            .header("Async", "true")
            .header("ChannelId", id)
            .header("OtherChannelId", format!("{id}-other"))
    };
    let other = format!("other{}", std::process::id());
    let selected = format!("{stem}-1");
    for id in [&other, &selected] {
        watcher.send(originate(id)).await.expect("originated");
    }
    let first = events.next().await.unwrap().unwrap();
    let Event::Newchannel(new) = &*first else {
        panic!("only Newchannel passes, got {first:?}")
    };
    assert!(new.uniqueid().unwrap().to_string().starts_with(&stem));
    let list = watcher
        .send(actions::CoreShowChannels::new())
        .await
        .unwrap();
    for item in &list.items {
        let unique = item.get("Uniqueid").unwrap().to_string();
        if unique == selected || unique == other {
            let channel = item.get("Channel").unwrap().to_string();
            watcher.send(actions::Hangup::new(&channel)).await.unwrap();
        }
    }
    watcher.close().await;
}
