//! Reconnect through a real `core restart now`: the client notices, opens
//! the events WebSocket again by itself, re-applies the event-source
//! subscriptions it had made, and the next call's events arrive.
//!
//! The only test in its binary: the restart takes the server away from
//! every client for a few seconds, and test binaries run one at a time.

use ari_proto::ops::device_states::UpdateDeviceState;
use ari_proto::{ConnectionEvent, Event};
use futures_util::StreamExt;
use live::{Strict, live, wait_for};

#[tokio::test]
async fn the_client_comes_back_after_a_restart_with_its_subscriptions() {
    let live = live!();
    let app = live.app("restart");
    let mut config = live.config(&app);
    // Asterisk takes a few seconds to come back: retry often.
    config.backoff.max = std::time::Duration::from_secs(1);
    let client = ari_tokio::connect(config).await.expect("connect");
    let mut connection = client.connection_events();
    let mut events = Strict(client.events());
    let device = format!("Stasis:{app}-lamp");
    let source = format!("deviceState:{device}");
    client
        .application(&app)
        .subscribe([source.as_str()])
        .await
        .expect("subscribe to the device");
    let changed = |state: &'static str| {
        let device = device.clone();
        move |e: &Event| {
            matches!(e, Event::DeviceStateChanged(d)
                if d.device_state.name == device.as_str() && d.device_state.state.as_str() == state)
        }
    };
    client
        .device_state(&device)
        .update(UpdateDeviceState::Inuse)
        .await
        .expect("update");
    wait_for(&mut events, "INUSE before the restart", changed("INUSE")).await;

    // The AMI connection dies with the server: its answer may never come.
    let _ = live
        .ami()
        .action("Command", &[("Command", "core restart now")]);

    let mut closed = false;
    while let Some(event) = connection.next().await {
        match event {
            ConnectionEvent::Closed(_) => closed = true,
            ConnectionEvent::Open { reconnected } if closed => {
                assert!(reconnected);
                break;
            }
            _ => {}
        }
    }
    assert!(closed, "the restart closed the WebSocket");
    assert!(
        client.server_version().is_some(),
        "the build is learnt again"
    );

    // The subscription was made again on the new server.
    client
        .device_state(&device)
        .update(UpdateDeviceState::Busy)
        .await
        .expect("update after the restart");
    wait_for(&mut events, "BUSY after the restart", changed("BUSY")).await;

    // And a call reaches the app.
    let channel = format!("{app}-call");
    client
        .channels()
        .originate("PJSIP/wait@loop")
        .with(|o| o.app(&app).channel_id(&channel))
        .await
        .expect("originate after the restart");
    wait_for(
        &mut events,
        "StasisStart after the restart",
        |e| matches!(e, Event::StasisStart(s) if s.channel.id == channel.as_str()),
    )
    .await;
    client.channel(&channel).hangup().await.expect("hang up");
    client.device_state(&device).delete().await.expect("delete");
    client.close().await;
    // The tests after this one find every module loaded again.
    live.cli("core waitfullybooted");
}
