//! Bridges against the real Asterisk, through the public API: mixing and
//! holding bridges with client-chosen ids, real SIP loop calls added and
//! removed, playbacks on a bridge and their controls, a bridge recording
//! and bridge music on hold. Objects are created with `.start()`, whose
//! event stream holds the events that beat the answer.
//!
//! What a bridge plays is read from the RTP statistics of the call in it:
//! an idle bridge sends nothing to its channels; music on hold and a
//! playing (not paused) playback do.

use ari_client::{ChannelHandle, Client, EventStream};
use ari_proto::models::{BridgeType, ChannelState, LiveRecordingState, PlaybackState};
use ari_proto::ops::bridges::RecordIfExists;
use ari_proto::ops::playbacks::ControlOperation;
use ari_proto::{ApiErrorKind, Event, RequestError};
use live::{
    Live, Strict, WAIT, api_error, assert_audio_flows, assert_ends, assert_quiet, expect_event,
    gather, hang_up, live, strict,
};

async fn connect(live: &Live, app: &str) -> ari_tokio::Client {
    ari_tokio::connect(live.config(app)).await.expect("connect")
}

/// A real SIP loop call to `exten` whose outbound leg, with id `id`, is in
/// `app`, answered; with the leg's strict event stream.
async fn call_in_app(
    client: &Client,
    app: &str,
    exten: &str,
    id: &str,
) -> (ChannelHandle, Strict<EventStream>) {
    let started = client
        .channels()
        .originate(format!("PJSIP/{exten}@loop"))
        .with(|o| o.app(app).channel_id(id))
        .start()
        .await
        .unwrap_or_else(|e| panic!("originate PJSIP/{exten}@loop into {app}: {e}"));
    let object = strict("the originate's answer", started.object);
    assert_eq!(object.id, id);
    let mut events = Strict(started.events);
    let start = expect_event!(&mut events, StasisStart, "the call's StasisStart");
    assert_eq!(start.application, app);
    assert_eq!(start.channel.state, ChannelState::Up);
    (started.handle, events)
}

/// Asterisk does not subscribe an app to a bridge it creates over REST: the
/// app gets bridge events only while one of its channels is in it, so
/// BridgeDestroyed (which ends the bridge's stream) needs a subscription.
async fn follow_bridge(client: &Client, app: &str, bridge_id: &str) {
    let state = client
        .applications()
        .subscribe(app, [format!("bridge:{bridge_id}")])
        .await
        .expect("subscribe the app to the bridge");
    let state = strict("the subscription's answer", state);
    assert!(
        state.bridge_ids.iter().any(|b| b == bridge_id),
        "{:?}",
        state.bridge_ids
    );
}

/// A mixing bridge with our id: created, read, listed; two calls added
/// (ChannelEnteredBridge), one removed (ChannelLeftBridge), destroyed with
/// the other in it (ChannelLeftBridge, BridgeDestroyed, the stream ends).
#[tokio::test]
async fn mixing_bridge_lifecycle() {
    let live = live!();
    let app = live.app("bridge-mix");
    let client = connect(&live, &app).await;
    let bridge_id = format!("{app}-bridge");
    let created = client
        .bridges()
        .create_with_id(&bridge_id)
        .with(|b| b.r#type("mixing").name("live mixing"))
        .start()
        .await
        .expect("create the bridge");
    let bridge = strict("the create's answer", created.object);
    assert_eq!(bridge.id, bridge_id);
    assert_eq!(bridge.bridge_type, BridgeType::Mixing);
    assert_eq!(bridge.bridge_class, "stasis");
    assert_eq!(bridge.name, "live mixing");
    assert!(bridge.channels.is_empty());
    let handle = created.handle;
    let mut bridge_events = Strict(created.events);
    follow_bridge(&client, &app, &bridge_id).await;

    let got = strict("GET bridge", handle.get().await.expect("get"));
    assert_eq!(
        (got.id.as_str(), got.name.as_str()),
        (bridge_id.as_str(), "live mixing")
    );
    let list = strict("GET bridges", client.bridges().list().await.expect("list"));
    assert!(list.iter().any(|b| b.id == bridge_id), "listed");

    let a_id = format!("{app}-a");
    let b_id = format!("{app}-b");
    let (a, mut a_events) = call_in_app(&client, &app, "wait", &a_id).await;
    let (b, mut b_events) = call_in_app(&client, &app, "wait", &b_id).await;

    handle
        .add_channel([a_id.as_str(), b_id.as_str()])
        .await
        .expect("add both calls");
    let seen = gather(
        &mut bridge_events,
        "ChannelEnteredBridge for both calls",
        |seen| {
            [&a_id, &b_id].iter().all(|id| {
                seen.iter().any(|e| {
                    matches!(e, Event::ChannelEnteredBridge(c)
                    if c.channel.as_ref().is_some_and(|c| c.id == **id))
                })
            })
        },
    )
    .await;
    for e in &seen {
        if let Event::ChannelEnteredBridge(c) = e {
            assert_eq!(c.bridge.id, bridge_id);
        }
    }
    let mut inside = strict("GET bridge", handle.get().await.expect("get")).channels;
    inside.sort();
    assert_eq!(inside, [a_id.as_str(), b_id.as_str()]);

    let missing = handle.add_channel([format!("{app}-nobody")]).await;
    let e = api_error(missing, ApiErrorKind::BadRequest, "add an unknown channel");
    assert_eq!(e.message.as_deref(), Some("Channel not found"));

    handle
        .remove_channel([a_id.as_str()])
        .await
        .expect("remove a");
    let left = expect_event!(&mut bridge_events, ChannelLeftBridge, "a leaving");
    assert_eq!(left.channel.id, a_id);
    assert_eq!(left.bridge.channels, [b_id.as_str()]);
    let not_in = handle.remove_channel([a_id.as_str()]).await;
    let e = api_error(
        not_in,
        ApiErrorKind::Unprocessable,
        "remove a channel not in it",
    );
    assert_eq!(e.message.as_deref(), Some("Channel not in this bridge"));

    handle.destroy().await.expect("destroy");
    let seen = gather(
        &mut bridge_events,
        "b leaving and BridgeDestroyed",
        |seen| seen.iter().any(|e| matches!(e, Event::BridgeDestroyed(_))),
    )
    .await;
    assert!(
        seen.iter()
            .any(|e| matches!(e, Event::ChannelLeftBridge(l) if l.channel.id == b_id)),
        "b leaves the destroyed bridge"
    );
    assert_ends(&mut bridge_events, "the destroyed bridge's events").await;
    api_error(
        handle.get().await,
        ApiErrorKind::NotFound,
        "GET a destroyed bridge",
    );

    hang_up(&a, &mut a_events).await;
    hang_up(&b, &mut b_events).await;
    client.close().await;
}

/// A holding bridge (created with `bridgeId` as a parameter): a call added
/// as participant hears nothing until the bridge's music on hold starts,
/// and nothing again once it stops; stopping it twice is a typed 409.
#[tokio::test]
async fn holding_bridge_and_its_music_on_hold() {
    let live = live!();
    let app = live.app("bridge-hold");
    let client = connect(&live, &app).await;
    let bridge_id = format!("{app}-bridge");
    let created = client
        .bridges()
        .create()
        .with(|b| b.r#type("holding").bridge_id(&bridge_id))
        .start()
        .await
        .expect("create the holding bridge");
    let bridge = strict("the create's answer", created.object);
    assert_eq!(bridge.id, bridge_id);
    assert_eq!(bridge.bridge_type, BridgeType::Holding);
    assert_eq!(bridge.technology, "holding_bridge");
    let handle = created.handle;

    let (call, mut events) = call_in_app(&client, &app, "wait", &format!("{app}-call")).await;
    handle
        .add_channel([call.channel_id()])
        .with(|a| a.role("participant"))
        .await
        .expect("add as participant");
    let entered = expect_event!(&mut events, ChannelEnteredBridge, "the call entering");
    assert_eq!(entered.bridge.id, bridge_id);
    assert_eq!(entered.bridge.bridge_type, BridgeType::Holding);
    assert_quiet(&call, "a participant of a silent holding bridge").await;

    handle
        .start_moh()
        .with(|m| m.moh_class("default"))
        .await
        .expect("start the bridge's MOH");
    assert_audio_flows(&call, "the bridge's music on hold").await;
    handle.stop_moh().await.expect("stop the bridge's MOH");
    assert_quiet(&call, "after stop MOH").await;
    let again = handle.stop_moh().await;
    let e = api_error(again, ApiErrorKind::Conflict, "stop MOH twice");
    assert_eq!(e.message.as_deref(), Some("Bridge isn't playing music"));

    handle.destroy().await.expect("destroy");
    expect_event!(
        &mut events,
        ChannelLeftBridge,
        "the call leaving the destroyed bridge"
    );
    hang_up(&call, &mut events).await;
    client.close().await;
}

/// A bridge with one call in it, and the call's strict event stream.
async fn bridge_with_a_call(
    client: &Client,
    app: &str,
) -> (ari_client::BridgeHandle, ChannelHandle, Strict<EventStream>) {
    let bridge = client
        .bridges()
        .create_with_id(format!("{app}-bridge"))
        .with(|b| b.r#type("mixing"))
        .await
        .expect("create the bridge");
    let bridge = client.bridge(strict("the create's answer", bridge).id.as_str());
    let (call, mut events) = call_in_app(client, app, "wait", &format!("{app}-call")).await;
    bridge
        .add_channel([call.channel_id()])
        .await
        .expect("add the call");
    expect_event!(&mut events, ChannelEnteredBridge, "the call entering");
    (bridge, call, events)
}

/// Tears down what [`bridge_with_a_call`] made.
async fn tear_down(
    bridge: &ari_client::BridgeHandle,
    call: &ChannelHandle,
    events: &mut Strict<EventStream>,
) {
    bridge.destroy().await.expect("destroy the bridge");
    hang_up(call, events).await;
}

/// A playback on a bridge and its controls: started (PlaybackStarted),
/// paused (the call hears nothing), unpaused (PlaybackStarted again, audio
/// again), moved forward, back and restarted, stopped (PlaybackFinished,
/// state done, the stream ends); a finished playback is a typed 404.
#[tokio::test]
async fn bridge_playback_controls() {
    let live = live!();
    let app = live.app("bridge-play");
    let client = connect(&live, &app).await;
    let (bridge, call, mut call_events) = bridge_with_a_call(&client, &app).await;
    assert_quiet(&call, "an idle bridge").await;

    let playback_id = format!("{app}-monkeys");
    let started = bridge
        .play_with_id(&playback_id, ["sound:tt-monkeys"])
        .start()
        .await
        .expect("play on the bridge");
    let object = strict("the play's answer", started.object);
    assert_eq!(object.id, playback_id);
    assert_eq!(object.target_uri, format!("bridge:{}", bridge.bridge_id()));
    assert_eq!(object.media_uri, "sound:tt-monkeys");
    let playback = started.handle;
    let mut events = Strict(started.events);
    let playing = expect_event!(&mut events, PlaybackStarted, "PlaybackStarted");
    assert_eq!(playing.playback.id, playback_id);
    assert_eq!(playing.playback.state, PlaybackState::Playing);
    assert_audio_flows(&call, "the playback").await;

    playback
        .control(ControlOperation::Pause)
        .await
        .expect("pause");
    assert_quiet(&call, "a paused playback").await;
    playback
        .control(ControlOperation::Unpause)
        .await
        .expect("unpause");
    let resumed = expect_event!(&mut events, PlaybackStarted, "PlaybackStarted on unpause");
    assert_eq!(resumed.playback.state, PlaybackState::Playing);
    assert_audio_flows(&call, "the unpaused playback").await;
    // Asterisk reports no event for these; each is accepted while playing.
    for op in [
        ControlOperation::Forward,
        ControlOperation::Reverse,
        ControlOperation::Restart,
    ] {
        playback
            .control(op.clone())
            .await
            .unwrap_or_else(|e| panic!("{op:?}: {e}"));
    }
    assert_audio_flows(&call, "the restarted playback").await;

    playback.stop().await.expect("stop");
    let finished = expect_event!(&mut events, PlaybackFinished, "PlaybackFinished");
    assert_eq!(finished.playback.id, playback_id);
    // Stopped, completed and cancelled playbacks all end as `done`.
    assert_eq!(finished.playback.state, PlaybackState::Done);
    assert_ends(&mut events, "the finished playback's events").await;
    // Asterisk announces the end before it forgets the playback: for a
    // moment a control is refused as 409 (not playing), then 404.
    let deadline = tokio::time::Instant::now() + WAIT;
    let late = loop {
        let late = playback.control(ControlOperation::Pause).await;
        match &late {
            Err(RequestError::Api(e))
                if e.kind() == ApiErrorKind::Conflict && tokio::time::Instant::now() < deadline =>
            {
                tokio::task::yield_now().await
            }
            _ => break late,
        }
    };
    let e = api_error(late, ApiErrorKind::NotFound, "control a finished playback");
    assert_eq!(e.message.as_deref(), Some("Playback not found"));

    tear_down(&bridge, &call, &mut call_events).await;
    client.close().await;
}

/// GET of a paused playback: Asterisk reports the state `paused`, a value
/// its own declaration of Playback.state (queued, playing, continuing,
/// done, failed) does not list, so the typed model must know it.
#[tokio::test]
async fn paused_playback_state() {
    let live = live!();
    let app = live.app("bridge-pause");
    let client = connect(&live, &app).await;
    let (bridge, call, mut call_events) = bridge_with_a_call(&client, &app).await;

    let started = bridge
        .play_with_id(format!("{app}-monkeys"), ["sound:tt-monkeys"])
        .start()
        .await
        .expect("play");
    let playback = started.handle;
    let mut events = Strict(started.events);
    expect_event!(&mut events, PlaybackStarted, "PlaybackStarted");
    let playing = playback.get().await.expect("GET while playing");
    playback
        .control(ControlOperation::Pause)
        .await
        .expect("pause");
    let paused = playback.get().await.expect("GET while paused");
    playback.stop().await.expect("stop");
    expect_event!(&mut events, PlaybackFinished, "PlaybackFinished");
    tear_down(&bridge, &call, &mut call_events).await;
    client.close().await;

    // Checked after the clean-up, so that a failure leaves nothing behind.
    assert_eq!(strict("GET playing", playing).state, PlaybackState::Playing);
    let paused = strict("GET paused", paused);
    assert_eq!(paused.state.as_str(), "paused");
}

/// A playback that plays to its end finishes by itself (done); one whose
/// sound does not exist starts, then finishes as failed.
#[tokio::test]
async fn bridge_playbacks_finish_by_themselves() {
    let live = live!();
    let app = live.app("bridge-beep");
    let client = connect(&live, &app).await;
    let (bridge, call, mut call_events) = bridge_with_a_call(&client, &app).await;

    let beep = bridge
        .play(["sound:beep"])
        .with(|p| p.playback_id(format!("{app}-beep")))
        .start()
        .await
        .expect("play a beep");
    assert_eq!(beep.object.id, format!("{app}-beep"));
    let mut events = Strict(beep.events);
    expect_event!(&mut events, PlaybackStarted, "the beep started");
    let done = expect_event!(&mut events, PlaybackFinished, "the beep finished");
    assert_eq!(done.playback.state, PlaybackState::Done);
    assert_eq!(done.playback.media_uri, "sound:beep");

    let missing = bridge
        .play_with_id(format!("{app}-missing"), ["sound:live-no-such-sound"])
        .start()
        .await
        .expect("play a sound that does not exist");
    let mut events = Strict(missing.events);
    let failed = expect_event!(&mut events, PlaybackFinished, "the missing sound's end");
    assert_eq!(failed.playback.state, PlaybackState::Failed);

    tear_down(&bridge, &call, &mut call_events).await;
    client.close().await;
}

/// A brief bridge recording (the far end plays music on hold into it):
/// RecordingStarted, stopped (RecordingFinished, done), then stored, listed
/// and deleted.
#[tokio::test]
async fn record_a_bridge_then_delete_it() {
    let live = live!();
    let app = live.app("bridge-rec");
    let client = connect(&live, &app).await;
    let bridge_id = format!("{app}-bridge");
    let bridge = client.bridge(&bridge_id);
    let made = bridge
        .create_with_id()
        .with(|b| b.r#type("mixing"))
        .await
        .expect("create the bridge");
    strict("the create's answer", made);
    let (call, mut call_events) = call_in_app(&client, &app, "moh", &format!("{app}-call")).await;
    bridge
        .add_channel([call.channel_id()])
        .await
        .expect("add the call");
    expect_event!(&mut call_events, ChannelEnteredBridge, "the call entering");

    let name = format!("{app}-take");
    let started = bridge
        .record(&name, "wav")
        .with(|r| r.if_exists(RecordIfExists::Fail).max_duration_seconds(10))
        .start()
        .await
        .expect("record the bridge");
    let object = strict("the record's answer", started.object);
    assert_eq!(object.name, name);
    assert_eq!(object.format, "wav");
    assert_eq!(object.target_uri, format!("bridge:{bridge_id}"));
    let recording = started.handle;
    let mut events = Strict(started.events);
    let on = expect_event!(&mut events, RecordingStarted, "RecordingStarted");
    assert_eq!(on.recording.state, LiveRecordingState::Recording);
    let live_state = strict("GET live", recording.get_live().await.expect("get live"));
    assert_eq!(live_state.state, LiveRecordingState::Recording);

    recording.stop().await.expect("stop the recording");
    let off = expect_event!(&mut events, RecordingFinished, "RecordingFinished");
    assert_eq!(off.recording.name, name);
    assert_eq!(off.recording.state, LiveRecordingState::Done);
    assert_ends(&mut events, "the finished recording's events").await;

    let stored = client.stored_recording(&name);
    let got = strict("GET stored", stored.get_stored().await.expect("get stored"));
    assert_eq!(
        (got.name.as_str(), got.format.as_str()),
        (name.as_str(), "wav")
    );
    let all = strict(
        "GET stored list",
        client
            .recordings()
            .list_stored()
            .await
            .expect("list stored"),
    );
    assert!(all.iter().any(|r| r.name == name), "listed");
    stored.delete_stored().await.expect("delete stored");
    let gone = stored.get_stored().await;
    api_error(gone, ApiErrorKind::NotFound, "GET a deleted recording");

    bridge.destroy().await.expect("destroy");
    hang_up(&call, &mut call_events).await;
    client.close().await;
}
