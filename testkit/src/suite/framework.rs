//! The hello-world call again, written with the per-call framework: one task
//! per call, DTMF collection, and playback streams that cannot miss their end.

use ari_client::{Client, ConnectError, Digits, IncomingCall};
use futures_util::StreamExt;
use std::future::Future;
use std::time::Duration;

async fn play(call: &IncomingCall, id: &str, media: &str) -> Result<(), String> {
    let mut started = call
        .channel
        .play_with_id(id, [media])
        .start()
        .await
        .map_err(|e| e.to_string())?;
    if started.handle.playback_id() != id {
        return Err(format!("a handle on {}", started.handle.playback_id()));
    }
    started
        .events
        .finished()
        .await
        .ok_or("the playback never finished")?;
    Ok(())
}

async fn quickstart(mut call: IncomingCall) -> Result<String, String> {
    let caller = call.channel.client().channel("chan-out-1");
    call.channel.answer().await.map_err(|e| e.to_string())?;
    play(&call, "pb-1", "sound:hello-world").await?;
    caller
        .send_dtmf()
        .with(|d| d.dtmf("1"))
        .await
        .map_err(|e| e.to_string())?;
    let one_key = Digits {
        max: 1,
        terminator: None,
        ..Digits::up_to(1)
    };
    let digit = call
        .collect_dtmf(&one_key)
        .await
        .map_err(|e| format!("{e:?}"))?;
    play(&call, "pb-2", &format!("sound:digits/{digit}")).await?;
    caller
        .send_dtmf()
        .with(|d| d.dtmf("#"))
        .await
        .map_err(|e| e.to_string())?;
    let end = call
        .collect_dtmf(&Digits::up_to(5))
        .await
        .map_err(|e| format!("{e:?}"))?;
    play(&call, "pb-3", "sound:vm-goodbye").await?;
    call.channel.hangup().await.map_err(|e| e.to_string())?;
    Ok(format!("{digit}{end}#"))
}

/// Runs the call through `serve_calls` against the recorded trace.
pub async fn against_recorded_call<F>(connect: impl FnOnce(ari_proto::Config) -> F)
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    let (fake, mut config) = crate::suite::hello_world::serve_recorded_call(Default::default());
    config.request_timeout = Duration::from_secs(5);
    let client = connect(config).await.unwrap();
    let (done_tx, mut done) = futures_channel::mpsc::unbounded();
    client.serve_calls(move |call| {
        let done = done_tx.clone();
        async move {
            // The outbound leg carries the originate's args; the app serves the other.
            if call.args().is_empty() {
                let _ = done.unbounded_send(quickstart(call).await);
            }
        }
    });
    let originate = client.channels().originate("PJSIP/hello@loop").with(|o| {
        o.app("hello")
            .app_args("caller")
            .channel_id("chan-out-1")
            .caller_id("Tester <5551234>")
    });
    originate.await.unwrap();
    let keys = done.next().await.expect("the call was handled").unwrap();
    assert_eq!(keys, "1#");
    client.close().await;
    let report = fake.finish();
    assert!(
        report.completed && report.mismatches.is_empty(),
        "{report:?}"
    );
}
