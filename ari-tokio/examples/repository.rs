//! The keypad flow of the aioari (and ari-py) README example: each call
//! entering Stasis app `repository-demo` is answered and hears
//! `hello-world`; then every key the caller presses gets its prompt: `*`
//! plays `asterisk-friend`, `#` plays `goodbye` and hands the channel back
//! to the dialplan, any other key is read out (`digits/<key>`).
//!
//! aioari writes it as two callbacks: one on the client for `StasisStart`,
//! which hands over a channel object from the channels repository, and one
//! for `ChannelDtmfReceived` registered on that channel. Here the first is
//! `Client::serve_calls`, which runs one task per channel entering the app;
//! the second is that task reading its call's own event stream in a loop,
//! so what callbacks would share is a local variable. The channel is a
//! `ChannelHandle` (`call.channel`); `play(..).start()` gives the playback's
//! handle with its events, and each prompt is waited for to the end before
//! the next key is taken: keys pressed meanwhile wait in the call's stream,
//! in order.
//!
//! Needs a PBX: `ARI_URL`, `ARI_USER`, `ARI_PASSWORD` (`live/pbx/start`
//! runs one on this machine). The live tests run this very code.

use ari_tokio::{CallEvent, ChannelHandle, Client, Config, IncomingCall, RequestError};
use futures_util::StreamExt;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Ok(url) = std::env::var("ARI_URL") else {
        eprintln!("this example needs a PBX: set ARI_URL, ARI_USER and ARI_PASSWORD");
        return Ok(());
    };
    let user = std::env::var("ARI_USER").unwrap_or_else(|_| "asterisk".into());
    let password = std::env::var("ARI_PASSWORD").unwrap_or_default();
    let client = ari_tokio::connect(Config::new(&url, "repository-demo", user, password)?).await?;
    println!("calls into Stasis app `repository-demo` hear each key they press");
    client.serve_calls(|call| async move {
        match keypad(call).await {
            Ok(keys) => println!("the caller pressed {keys:?}"),
            Err(e) => eprintln!("the call failed: {e}"),
        }
    });
    serve_until_closed(&client).await;
    Ok(())
}

/// Answers `call` and gives every key its prompt until `#` sends the
/// channel on in the dialplan or the caller hangs up; returns the keys
/// pressed (ending in `#` when the call went on in the dialplan).
pub async fn keypad(mut call: IncomingCall) -> Result<String, RequestError> {
    call.channel.answer().await?;
    play(&call.channel, "sound:hello-world").await?;
    let mut keys = String::new();
    while let Some(event) = call.next().await {
        let CallEvent::Dtmf(key) = event else {
            continue;
        };
        keys.push_str(&key);
        match key.as_str() {
            "#" => {
                // Heard in full first. (Asterisk would hold the continue
                // until the playback ends anyway: a channel's commands queue.)
                play(&call.channel, "sound:goodbye").await?;
                call.channel.continue_in_dialplan().await?;
                break;
            }
            "*" => play(&call.channel, "sound:asterisk-friend").await?,
            digit => play(&call.channel, &format!("sound:digits/{digit}")).await?,
        }
    }
    Ok(keys)
}

/// Plays `media` on `channel` and waits until it has finished (or failed).
/// The playback's events are followed from before the request leaves: its
/// end cannot be missed.
async fn play(channel: &ChannelHandle, media: &str) -> Result<(), RequestError> {
    let mut playback = channel.play([media]).start().await?;
    playback.events.finished().await;
    Ok(())
}

/// Serves until the connection stops for good.
async fn serve_until_closed(client: &Client) {
    let mut connection = client.connection_events();
    while let Some(event) = connection.next().await {
        if event == ari_tokio::ConnectionEvent::Stopped {
            break;
        }
    }
}
