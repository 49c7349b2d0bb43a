//! Leave a message: each call entering Stasis app `record-demo` is
//! answered, hears a beep, is recorded until it presses `#` or 30 s pass,
//! and hears its message played back before the app hangs up.
//!
//! Needs a PBX: `ARI_URL`, `ARI_USER`, `ARI_PASSWORD` (`live/pbx/start`
//! runs one on this machine). The live tests run this very code.

use ari_tokio::{Config, Event, IncomingCall, RequestError};
use futures_util::StreamExt;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Ok(url) = std::env::var("ARI_URL") else {
        eprintln!("this example needs a PBX: set ARI_URL, ARI_USER and ARI_PASSWORD");
        return Ok(());
    };
    let user = std::env::var("ARI_USER").unwrap_or_else(|_| "asterisk".into());
    let password = std::env::var("ARI_PASSWORD").unwrap_or_default();
    let client = ari_tokio::connect(Config::new(&url, "record-demo", user, password)?).await?;
    println!("calls into Stasis app `record-demo` can leave a message");
    client.serve_calls(|call| async move {
        match leave_a_message(call, 30).await {
            Ok(Some(name)) => println!("a message was recorded as {name}"),
            Ok(None) => {}
            Err(e) => eprintln!("the call failed: {e}"),
        }
    });
    let mut connection = client.connection_events();
    while connection.next().await.is_some() {}
    Ok(())
}

/// Records a message of at most `max_seconds` and plays it back; returns
/// the stored recording's name (`None` if the caller hung up first).
pub async fn leave_a_message(
    mut call: IncomingCall,
    max_seconds: i64,
) -> Result<Option<String>, RequestError> {
    call.channel.answer().await?;
    let name = format!("message-{}", call.channel.channel_id());
    let mut recording = call
        .channel
        .record(&name, "wav")
        .with(|r| {
            r.beep(true)
                .terminate_on("#".into())
                .max_duration_seconds(max_seconds)
        })
        .start()
        .await?;
    let finished = recording
        .events
        .wait_for(|e| matches!(e, Event::RecordingFinished(_) | Event::RecordingFailed(_)))
        .await;
    if !matches!(finished, Some(Event::RecordingFinished(_))) {
        return Ok(None);
    }
    let mut playback = call
        .channel
        .play([format!("recording:{name}")])
        .start()
        .await?;
    playback.events.finished().await;
    call.channel.hangup().await?;
    // Drain what is left of the call (its end) before saying it is done.
    while call.next().await.is_some() {}
    Ok(Some(name))
}
