//! Live and stored recordings against the real Asterisk: a real SIP loop
//! call (`PJSIP/moh@loop`: the far end answers and plays music on hold, so
//! audio flows to the leg we record) enters the test's Stasis app; the
//! recording is started race-free with `.start()`, paused, muted, stopped or
//! cancelled, and the stored file is listed, copied, downloaded and deleted.

use ari_client::{ChannelHandle, Client, EventStream};
use ari_proto::models::{ChannelState, LiveRecordingState, StoredRecording};
use ari_proto::ops::channels::RecordIfExists;
use ari_proto::{ApiErrorKind, Event};
use live::{Live, Strict, api_error, hang_up, live, next_event, strict};
use std::path::PathBuf;

/// A real SIP loop call whose outbound leg is in `app`, answered, hearing
/// music on hold from the far end; with the leg's strict event stream.
async fn call_in_app(client: &Client, app: &str) -> (ChannelHandle, Strict<EventStream>) {
    let started = client
        .channels()
        .originate("PJSIP/moh@loop")
        .with(|o| o.app(app).caller_id(format!("\"{app}\" <5550100>")))
        .start()
        .await
        .expect("originate PJSIP/moh@loop into the app");
    let mut events = Strict(started.events);
    let start = next_event(&mut events, "StasisStart of the loop call", |e| {
        matches!(e, Event::StasisStart(_))
    })
    .await;
    let Event::StasisStart(start) = &start else {
        unreachable!()
    };
    assert_eq!(start.application, app);
    assert_eq!(start.channel.id, started.handle.channel_id());
    assert_eq!(
        start.channel.state,
        ChannelState::Up,
        "an originate into an app enters it answered"
    );
    (started.handle, events)
}

/// The recording's file on this machine, when the run dir is known.
fn file_on_disk(live: &Live, name: &str, format: &str) -> Option<PathBuf> {
    live.recordings_dir()
        .map(|dir| dir.join(format!("{name}.{format}")))
}

/// Removes the test's recording files when it ends, passed or failed (a
/// stored recording is just its file): a failed run leaves nothing behind.
struct RemoveOnDrop(Vec<PathBuf>);

impl RemoveOnDrop {
    fn new(live: &Live, names: &[&str]) -> RemoveOnDrop {
        RemoveOnDrop(
            names
                .iter()
                .filter_map(|n| file_on_disk(live, n, "wav"))
                .collect(),
        )
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Removes a subdirectory of the recordings that Asterisk made and left
/// behind, once it is empty.
struct RemoveDirOnDrop(Option<PathBuf>);

impl Drop for RemoveDirOnDrop {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

fn names(list: &[StoredRecording]) -> Vec<&str> {
    list.iter().map(|r| r.name.as_str()).collect()
}

/// Checks that `bytes` are a RIFF/WAVE file.
#[track_caller]
fn assert_wav(bytes: &[u8], what: &str) {
    assert!(
        bytes.len() >= 44,
        "{what}: {} bytes is not even a WAV header",
        bytes.len()
    );
    assert_eq!(&bytes[0..4], b"RIFF", "{what}: not a RIFF file");
    assert_eq!(&bytes[8..12], b"WAVE", "{what}: not a WAVE file");
}

/// Record two seconds (`maxDurationSeconds`) of the far end's music, with
/// pause/unpause, mute/unmute and a same-name conflict on the way; then the
/// stored recording: list, get, download, copy, delete both.
#[tokio::test]
async fn live_recording_lifecycle_then_stored_copy_download_delete() {
    let live = live!();
    let app = live.app("rec-life");
    let client = ari_tokio::connect(live.config(&app))
        .await
        .expect("connect");
    let (channel, mut call_events) = call_in_app(&client, &app).await;

    let name = format!("{app}-take");
    let copy = format!("{app}-copy");
    let _tidy = RemoveOnDrop::new(&live, &[&name, &copy]);
    let rec = channel
        .record(name.as_str(), "wav")
        .with(|r| r.max_duration_seconds(2).if_exists(RecordIfExists::Fail))
        .start()
        .await
        .expect("record the answered channel");
    let answer = strict("the record answer", rec.object);
    assert_eq!(answer.name, name);
    assert_eq!(answer.format, "wav");
    assert_eq!(
        answer.target_uri,
        format!("channel:{}", channel.channel_id())
    );
    assert!(
        matches!(
            answer.state,
            LiveRecordingState::Queued | LiveRecordingState::Recording
        ),
        "a new recording is queued or recording, not {:?}",
        answer.state
    );
    let recording = rec.handle;
    let mut rec_events = Strict(rec.events);
    let started = next_event(&mut rec_events, "RecordingStarted", |e| {
        matches!(e, Event::RecordingStarted(_))
    })
    .await;
    let Event::RecordingStarted(started) = &started else {
        unreachable!()
    };
    assert_eq!(started.application, app);
    assert_eq!(started.recording.name, name);
    assert_eq!(started.recording.state, LiveRecordingState::Recording);

    let state = |r: ari_proto::models::LiveRecording| strict("get_live", r).state;
    assert_eq!(
        state(recording.get_live().await.expect("get_live")),
        LiveRecordingState::Recording
    );

    // Asterisk sends no event for pause: its state says it.
    recording.pause().await.expect("pause");
    assert_eq!(
        state(recording.get_live().await.expect("get_live paused")),
        LiveRecordingState::Paused
    );
    recording.unpause().await.expect("unpause");
    assert_eq!(
        state(recording.get_live().await.expect("get_live unpaused")),
        LiveRecordingState::Recording
    );

    // Mute replaces the audio with silence; the recording goes on.
    recording.mute().await.expect("mute");
    assert_eq!(
        state(recording.get_live().await.expect("get_live muted")),
        LiveRecordingState::Recording
    );
    recording.unmute().await.expect("unmute");

    // The same name again while this one is in progress: refused.
    let again = channel
        .record(name.as_str(), "wav")
        .with(|r| r.if_exists(RecordIfExists::Overwrite))
        .await;
    api_error(
        again,
        ApiErrorKind::Conflict,
        "a second recording of the same name",
    );

    // maxDurationSeconds ends it (stop is exercised by the smol test).
    let finished = next_event(&mut rec_events, "RecordingFinished", |e| {
        matches!(e, Event::RecordingFinished(_) | Event::RecordingFailed(_))
    })
    .await;
    let Event::RecordingFinished(finished) = &finished else {
        panic!("the recording failed: {finished:?}")
    };
    assert_eq!(finished.recording.name, name);
    assert_eq!(finished.recording.state, LiveRecordingState::Done);
    assert!(
        finished.recording.duration.is_some(),
        "a finished recording says how long it is"
    );
    api_error(
        recording.get_live().await,
        ApiErrorKind::NotFound,
        "get_live of a finished recording",
    );

    // Stored: it is listed, and get gives it.
    let stored = client.stored_recording(name.as_str());
    let list = strict(
        "list_stored",
        client
            .recordings()
            .list_stored()
            .await
            .expect("list_stored"),
    );
    let mine = list
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("{name} is not in {:?}", names(&list)));
    assert_eq!(mine.format, "wav");
    let got = strict("get_stored", stored.get_stored().await.expect("get_stored"));
    assert_eq!(
        (got.name.as_str(), got.format.as_str()),
        (name.as_str(), "wav")
    );

    // The file, as bytes: a WAV file, the very file on disk.
    let bytes = stored.get_stored_file().await.expect("get_stored_file").0;
    assert_wav(&bytes, "the downloaded recording");
    assert!(
        bytes.len() > 44 + 1600,
        "seconds of music are more than a WAV header and 100 ms: {} bytes",
        bytes.len()
    );
    if let Some(path) = file_on_disk(&live, &name, "wav") {
        let on_disk = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .len();
        assert_eq!(
            bytes.len() as u64,
            on_disk,
            "the download is the whole of {}",
            path.display()
        );
    }

    // Copy: the answer names the copy, and it is listed beside the original.
    let copied = strict(
        "copy_stored",
        stored
            .copy_stored(copy.as_str())
            .await
            .expect("copy_stored"),
    );
    assert_eq!(copied.name, copy);
    assert_eq!(copied.format, "wav");
    let list = strict(
        "list_stored after copy",
        client
            .recordings()
            .list_stored()
            .await
            .expect("list_stored"),
    );
    for want in [&name, &copy] {
        assert!(
            list.iter().any(|r| r.name == want.as_str()),
            "{want} is not in {:?}",
            names(&list)
        );
    }
    let copy_bytes = client
        .stored_recording(copy.as_str())
        .get_stored_file()
        .await
        .expect("get_stored_file of the copy")
        .0;
    assert_eq!(copy_bytes, bytes, "the copy holds the same audio");
    // Copying onto an existing name is refused.
    api_error(
        stored.copy_stored(copy.as_str()).await,
        ApiErrorKind::Conflict,
        "copy onto an existing recording",
    );

    // Delete both: then get is the typed 404 and the files are gone.
    for gone in [&name, &copy] {
        let handle = client.stored_recording(gone.as_str());
        handle.delete_stored().await.expect("delete_stored");
        api_error(
            handle.get_stored().await,
            ApiErrorKind::NotFound,
            "get_stored after delete",
        );
        api_error(
            handle.get_stored_file().await,
            ApiErrorKind::NotFound,
            "get_stored_file after delete",
        );
        if let Some(path) = file_on_disk(&live, gone, "wav") {
            assert!(!path.exists(), "{} is still on disk", path.display());
        }
    }
    api_error(
        stored.delete_stored().await,
        ApiErrorKind::NotFound,
        "delete_stored twice",
    );

    hang_up(&channel, &mut call_events).await;
    client.close().await;
}

/// Cancel: the recording ends without a stored file.
#[tokio::test]
async fn live_recording_cancel_leaves_no_stored_file() {
    let live = live!();
    let app = live.app("rec-cancel");
    let client = ari_tokio::connect(live.config(&app))
        .await
        .expect("connect");
    let (channel, mut call_events) = call_in_app(&client, &app).await;

    let name = format!("{app}-cancelled");
    let _tidy = RemoveOnDrop::new(&live, &[&name]);
    let rec = channel
        .record(name.as_str(), "wav")
        .start()
        .await
        .expect("record");
    strict("the record answer", rec.object);
    let mut rec_events = Strict(rec.events);
    next_event(&mut rec_events, "RecordingStarted", |e| {
        matches!(e, Event::RecordingStarted(_))
    })
    .await;
    assert!(
        client
            .recordings()
            .get_live(name.as_str())
            .await
            .is_ok_and(|r| strict("get_live", r).state == LiveRecordingState::Recording),
        "the recording is live before cancel"
    );

    rec.handle.cancel().await.expect("cancel");
    // A cancelled recording ends with RecordingFinished.
    let ended = next_event(&mut rec_events, "the end of the cancelled recording", |e| {
        matches!(e, Event::RecordingFinished(_) | Event::RecordingFailed(_))
    })
    .await;
    let Event::RecordingFinished(ended) = &ended else {
        panic!("a cancelled recording ends as RecordingFinished, got {ended:?}")
    };
    assert_eq!(ended.recording.name, name);
    // Asterisk 22 reports it "done", not "canceled": res_stasis_recording's
    // record_file sets the state to done after the recording function
    // returns, overwriting the canceled state cancel set. What tells a
    // cancel apart is that no file is kept (below).
    assert_eq!(ended.recording.state, LiveRecordingState::Done);

    api_error(
        rec.handle.get_live().await,
        ApiErrorKind::NotFound,
        "get_live of a cancelled recording",
    );
    api_error(
        client.stored_recording(name.as_str()).get_stored().await,
        ApiErrorKind::NotFound,
        "get_stored of a cancelled recording",
    );
    let list = strict(
        "list_stored",
        client
            .recordings()
            .list_stored()
            .await
            .expect("list_stored"),
    );
    assert!(
        !list.iter().any(|r| r.name == name),
        "the cancelled {name} is listed"
    );
    if let Some(path) = file_on_disk(&live, &name, "wav") {
        assert!(!path.exists(), "{} was left on disk", path.display());
    }
    api_error(
        rec.handle.stop().await,
        ApiErrorKind::NotFound,
        "stop after cancel",
    );

    hang_up(&channel, &mut call_events).await;
    client.close().await;
}

/// On smol: a recording in a subdirectory, with a space and a `+` in its
/// name, ended by stop; the name must round-trip through the record query
/// and the stored-recording path segment.
#[test]
fn live_recording_in_subdirectory_with_odd_name_on_smol() {
    let live = live!();
    let app = live.app("rec-smol");
    smol::block_on(async {
        let client = ari_smol::connect(live.config(&app)).await.expect("connect");
        let (channel, mut call_events) = call_in_app(&client, &app).await;

        let name = format!("{app}/take one+1");
        // Dropped in reverse order: the file first, then its directory.
        let _tidy_dir = RemoveDirOnDrop(live.recordings_dir().map(|d| d.join(&app)));
        let _tidy = RemoveOnDrop::new(&live, &[&name]);
        let rec = channel
            .record(name.as_str(), "wav")
            .with(|r| r.if_exists(RecordIfExists::Fail))
            .start()
            .await
            .expect("record into a subdirectory");
        let answer = strict("the record answer", rec.object);
        assert_eq!(answer.name, name, "the name comes back as sent");
        let mut rec_events = Strict(rec.events);
        next_event(&mut rec_events, "RecordingStarted", |e| {
            matches!(e, Event::RecordingStarted(_))
        })
        .await;
        let live_one = strict(
            "get_live",
            rec.handle
                .get_live()
                .await
                .expect("get_live of a name with / space +"),
        );
        assert_eq!(live_one.name, name);
        assert_eq!(live_one.state, LiveRecordingState::Recording);
        rec.handle.stop().await.expect("stop");
        let finished = next_event(&mut rec_events, "RecordingFinished", |e| {
            matches!(e, Event::RecordingFinished(_) | Event::RecordingFailed(_))
        })
        .await;
        let Event::RecordingFinished(finished) = &finished else {
            panic!("the recording failed: {finished:?}")
        };
        assert_eq!(finished.recording.name, name);
        assert_eq!(finished.recording.state, LiveRecordingState::Done);

        let list = strict(
            "list_stored",
            client
                .recordings()
                .list_stored()
                .await
                .expect("list_stored"),
        );
        assert!(
            list.iter().any(|r| r.name == name),
            "{name} is not in {:?}",
            names(&list)
        );
        let stored = client.stored_recording(name.as_str());
        let got = strict(
            "get_stored",
            stored
                .get_stored()
                .await
                .expect("get_stored of a name with / space +"),
        );
        assert_eq!(got.name, name);
        let bytes = stored
            .get_stored_file()
            .await
            .expect("get_stored_file of a name with / space +")
            .0;
        assert_wav(&bytes, "the downloaded recording");
        if let Some(path) = file_on_disk(&live, &name, "wav") {
            let on_disk = std::fs::metadata(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .len();
            assert_eq!(bytes.len() as u64, on_disk);
        }
        stored.delete_stored().await.expect("delete_stored");
        api_error(
            stored.get_stored().await,
            ApiErrorKind::NotFound,
            "get_stored after delete",
        );
        if let Some(path) = file_on_disk(&live, &name, "wav") {
            assert!(!path.exists(), "{} is still on disk", path.display());
        }

        hang_up(&channel, &mut call_events).await;
        client.close().await;
    });
}
