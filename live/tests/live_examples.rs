//! The examples beyond the quickstart, their very code, against the real
//! Asterisk: the two-party bridge and the recorded message.

use ari_proto::Event;
use futures_util::StreamExt;
use live::{Strict, live, strict, wait_for};

#[path = "../../ari-tokio/examples/bridge.rs"]
#[allow(dead_code)]
mod bridge_example;

#[path = "../../ari-tokio/examples/record.rs"]
#[allow(dead_code)]
mod record_example;

#[tokio::test]
async fn the_bridge_example_joins_two_calls_and_ends_both() {
    let live = live!();
    let app = live.app("bridge-example");
    let client = ari_tokio::connect(live.config(&app))
        .await
        .expect("connect");
    let (done, mut results) = futures_channel::mpsc::unbounded();
    client.serve_calls(move |call| {
        let done = done.clone();
        async move {
            let _ = done.unbounded_send(bridge_example::join(call, "PJSIP/echo@loop").await);
        }
    });
    let mut events = Strict(client.events());
    let caller = format!("{app}-caller");
    client
        .channels()
        .originate("PJSIP/wait@loop")
        .with(|o| o.app(&app).channel_id(&caller))
        .await
        .expect("originate the caller");

    // Both sides end up in one bridge.
    let mut joined = Vec::new();
    while joined.len() < 2 {
        let event = wait_for(&mut events, "ChannelEnteredBridge", |e| {
            matches!(e, Event::ChannelEnteredBridge(_))
        })
        .await;
        let Event::ChannelEnteredBridge(entered) = &*event else {
            unreachable!()
        };
        let channel = entered.channel.as_ref().expect("the channel that entered");
        joined.push((entered.bridge.id.to_string(), channel.id.to_string()));
    }
    assert_eq!(joined[0].0, joined[1].0, "one bridge: {joined:?}");
    assert!(joined.iter().any(|(_, c)| *c == caller), "{joined:?}");
    let bridge = joined[0].0.clone();
    let callee = joined
        .iter()
        .map(|(_, c)| c.clone())
        .find(|c| *c != caller)
        .expect("the dialed side");

    // The caller hangs up: the app takes the other side along.
    client
        .channel(&caller)
        .hangup()
        .await
        .expect("hang up the caller");
    let outcome = loop {
        match results.next().await.expect("the handlers report") {
            Ok(None) => continue, // the dialed leg's own handler
            other => break other,
        }
    };
    assert_eq!(outcome.expect("the app's call"), Some(bridge.clone()));
    wait_for(
        &mut events,
        "the dialed side's end",
        |e| matches!(e, Event::StasisEnd(s) if s.channel.id == callee.as_str()),
    )
    .await;
    let bridges = client.bridges().list().await.expect("list bridges");
    assert!(
        !strict("bridges", bridges)
            .iter()
            .any(|b| b.id == bridge.as_str()),
        "the bridge was destroyed"
    );
    client.close().await;
}

#[tokio::test]
async fn the_record_example_records_and_plays_back_a_message() {
    let live = live!();
    let app = live.app("record-example");
    let client = ari_tokio::connect(live.config(&app))
        .await
        .expect("connect");
    let (done, mut results) = futures_channel::mpsc::unbounded();
    client.serve_calls(move |call| {
        let done = done.clone();
        async move {
            let _ = done.unbounded_send(record_example::leave_a_message(call, 2).await);
        }
    });
    let mut events = Strict(client.events());
    // The far end plays music on hold: there is audio to record.
    client
        .channels()
        .originate("PJSIP/moh@loop")
        .with(|o| o.app(&app).channel_id(format!("{app}-caller")))
        .await
        .expect("originate");
    let name = results
        .next()
        .await
        .expect("the handler reports")
        .expect("the call goes well")
        .expect("a message was recorded");
    wait_for(&mut events, "the message played back", |e| {
        matches!(e, Event::PlaybackFinished(p) if p.playback.media_uri == format!("recording:{name}").as_str())
    })
    .await;
    let stored = client.stored_recording(&name);
    let file = stored
        .get_stored_file()
        .await
        .expect("download the message");
    assert!(
        file.0.starts_with(b"RIFF"),
        "a WAV file of {} bytes",
        file.0.len()
    );
    assert!(
        file.0.len() > 8000,
        "about 2 s of audio: {} bytes",
        file.0.len()
    );
    stored.delete_stored().await.expect("delete the message");
    client.close().await;
}
