//! The examples beyond the quickstart, their very code, against the real
//! Asterisk: the two-party bridge, the recorded message and the keypad of
//! the repository example.

use ari_client::EventStream;
use ari_proto::Event;
use ari_proto::models::PlaybackState;
use futures_util::StreamExt;
use live::{Ami, Strict, WAIT, expect_event, live, strict, wait_for};

#[path = "../../ari-tokio/examples/bridge.rs"]
#[allow(dead_code)]
mod bridge_example;

#[path = "../../ari-tokio/examples/record.rs"]
#[allow(dead_code)]
mod record_example;

#[path = "../../ari-tokio/examples/repository.rs"]
#[allow(dead_code)]
mod repository_example;

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
        let Event::ChannelEnteredBridge(entered) = &event else {
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

/// The repository example (aioari's keypad flow) on a real SIP call: the
/// call is answered with `hello-world`; keys pressed at the far end reach
/// the app as real DTMF and each gets exactly one prompt; on `#` the
/// goodbye is played to its end, then the channel leaves Stasis and runs
/// the next step of its dialplan.
#[tokio::test]
async fn the_repository_example_answers_each_key_and_hands_the_call_back_on_pound() {
    let live = live!();
    let app = live.app("repository-example");
    let client = ari_tokio::connect(live.config(&app))
        .await
        .expect("connect");
    let (done, mut results) = futures_channel::mpsc::unbounded();
    client.serve_calls(move |call| {
        let done = done.clone();
        async move {
            let _ = done.unbounded_send(repository_example::keypad(call).await);
        }
    });
    let mut events = Strict(client.events());
    // The far end answers and stays silent; our leg enters the app.
    let call = format!("{app}-call");
    client
        .channels()
        .originate("PJSIP/wait@loop")
        .with(|o| o.app(&app).channel_id(&call))
        .await
        .expect("originate");
    let start = expect_event!(&mut events, StasisStart, "the call in the app", |s| {
        s.channel.id == call.as_str()
    });
    assert_eq!(
        prompt(&mut events, &call).await,
        ("sound:hello-world".into(), PlaybackState::Done)
    );

    // Keys are pressed on the far end: the inbound leg of the same SIP
    // dialog (same Call-ID), which runs the dialplan, not Stasis.
    let channels = client.channels().list().await.expect("list channels");
    let far = strict("channels", channels)
        .into_iter()
        .find(|c| c.protocol_id == start.channel.protocol_id && c.id != call.as_str())
        .expect("the far end of the call");
    let mut ami = live.ami();

    press(&mut ami, &far.name, &mut events, &call, '5').await;
    assert_eq!(
        prompt(&mut events, &call).await,
        ("sound:digits/5".into(), PlaybackState::Done)
    );
    press(&mut ami, &far.name, &mut events, &call, '*').await;
    let (media, state) = prompt(&mut events, &call).await;
    assert_eq!(media, "sound:asterisk-friend");
    // Debian's English prompts (the test PBX's) lack this one: Asterisk
    // reports the playback failed, and the app goes on all the same.
    assert!(
        matches!(state, PlaybackState::Done | PlaybackState::Failed),
        "{state:?}"
    );
    press(&mut ami, &far.name, &mut events, &call, '#').await;
    assert_eq!(
        prompt(&mut events, &call).await,
        ("sound:goodbye".into(), PlaybackState::Done)
    );

    // After the goodbye, and with no other prompt, the channel leaves the
    // app and runs its dialplan from the step after `Stasis`.
    let target = format!("channel:{call}");
    let end = wait_for(&mut events, "StasisEnd after the goodbye", |e| match e {
        Event::PlaybackStarted(p) if p.playback.target_uri == target.as_str() => {
            panic!("a prompt after the goodbye: {}", p.playback.media_uri)
        }
        Event::StasisEnd(s) => s.channel.id == call.as_str(),
        _ => false,
    })
    .await;
    let Event::StasisEnd(end) = &end else {
        unreachable!()
    };
    assert_eq!(end.application, app);
    let step = expect_event!(
        &mut events,
        ChannelDialplan,
        "the call in the dialplan",
        |d| { d.channel.id == call.as_str() }
    );
    let (from, to) = (&start.channel.dialplan, &step.channel.dialplan);
    assert_eq!((&to.context, &to.exten), (&from.context, &from.exten));
    assert_eq!(to.priority, from.priority + 1, "the step after Stasis");
    // Nothing is there for an originated channel: the call ends.
    expect_event!(&mut events, ChannelDestroyed, "the call's end", |d| {
        d.channel.id == call.as_str()
    });

    let keys = tokio::time::timeout(WAIT, results.next())
        .await
        .expect("the app's handler returns")
        .expect("the handler reports");
    assert_eq!(keys.expect("the app's call"), "5*#");
    client.close().await;
}

/// Presses `key` on the far end `far` (a channel name) and waits until
/// channel `call` in the app receives it; no prompt may start meanwhile.
async fn press(ami: &mut Ami, far: &str, events: &mut Strict<EventStream>, call: &str, key: char) {
    ami.play_dtmf(far, key).expect("PlayDTMF");
    let target = format!("channel:{call}");
    let digit = key.to_string();
    wait_for(events, &format!("key {key} in the app"), |e| match e {
        Event::PlaybackStarted(p) if p.playback.target_uri == target.as_str() => {
            panic!("a prompt no key asked for: {}", p.playback.media_uri)
        }
        Event::ChannelDtmfReceived(d) => d.channel.id == call && d.digit == digit.as_str(),
        _ => false,
    })
    .await;
}

/// The next prompt played on channel `call`, followed from its start to
/// its end: its media and how it ended. Neither a second prompt nor the
/// call's leaving the app may come in between.
async fn prompt(events: &mut Strict<EventStream>, call: &str) -> (String, PlaybackState) {
    let target = format!("channel:{call}");
    let started = expect_event!(events, PlaybackStarted, "a prompt", |p| {
        p.playback.target_uri == target.as_str()
    });
    let media = started.playback.media_uri.to_string();
    let finished = wait_for(events, &format!("the end of {media}"), |e| match e {
        Event::PlaybackStarted(p) if p.playback.target_uri == target.as_str() => {
            panic!("{} started during {media}", p.playback.media_uri)
        }
        Event::StasisEnd(s) if s.channel.id == call => panic!("the call left during {media}"),
        Event::PlaybackFinished(p) => p.playback.id == started.playback.id,
        _ => false,
    })
    .await;
    let Event::PlaybackFinished(finished) = &finished else {
        unreachable!()
    };
    (media, finished.playback.state.clone())
}
