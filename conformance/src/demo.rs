//! The demo: the asyncari quickstart, written once for every runtime (answer
//! each call, play `sound:hello-world`, play the digit of each DTMF key, and
//! on `#` say goodbye and hang up), against a real Asterisk or a recorded call.
//! The adapters' `hello_world` examples run it.

use crate::{FakeAsterisk, ServeOptions};
use ari_client::{Client, ConnectError};
use ari_proto::Config;
use ari_proto::Event;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::future::Future;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Prompt {
    Greeting,
    Digit,
    Goodbye,
}

/// Runs the quickstart app, reporting each step through `say`.
///
/// With `caller` set, it also plays the caller of the recorded `hello-world`
/// call: it originates `PJSIP/hello@loop` into the app, presses `1` after the
/// greeting and `#` after the digit, and returns once both legs left. Without
/// it, it serves calls until the connection closes.
pub async fn quickstart(
    client: &Client,
    caller: bool,
    mut say: impl FnMut(String),
) -> Result<(), String> {
    let err = |e: ari_proto::RequestError| e.to_string();
    let mut events = client.events();
    let caller_leg = "quickstart-caller";
    if caller {
        client
            .channels()
            .originate("PJSIP/hello@loop")
            .with(|o| {
                o.app("hello")
                    .app_args("caller")
                    .channel_id(caller_leg)
                    .caller_id("Tester <5551234>")
            })
            .await
            .map_err(err)?;
        say(format!("caller: dialing PJSIP/hello@loop as {caller_leg}"));
    }
    let mut prompts: HashMap<String, (String, Prompt)> = HashMap::new();
    let mut next_playback = 0u32;
    let mut left = 0;
    while let Some(item) = events.next().await {
        let event = match item {
            Ok(e) => e,
            Err(lagged) => {
                say(format!("(fell behind: {} events dropped)", lagged.0));
                continue;
            }
        };
        let mut play = |channel: &str, media: String, prompt: Prompt| {
            next_playback += 1;
            let id = format!("quickstart-pb-{next_playback}");
            prompts.insert(id.clone(), (channel.to_string(), prompt));
            client.channel(channel).play_with_id(id, [media])
        };
        match &*event {
            Event::StasisStart(s) if s.args.is_empty() => {
                let channel = s.channel.id.as_str();
                say(format!(
                    "app: call from {} on {channel}: answering",
                    s.channel.caller.number
                ));
                client.channel(channel).answer().await.map_err(err)?;
                play(channel, "sound:hello-world".into(), Prompt::Greeting)
                    .await
                    .map_err(err)?;
                say("app: playing sound:hello-world".into());
            }
            Event::ChannelDtmfReceived(d) if d.channel.id != caller_leg => {
                let channel = d.channel.id.as_str();
                say(format!("app: key {} pressed", d.digit));
                let request = if d.digit == "#" {
                    play(channel, "sound:vm-goodbye".into(), Prompt::Goodbye)
                } else {
                    play(channel, format!("sound:digits/{}", d.digit), Prompt::Digit)
                };
                request.await.map_err(err)?;
            }
            Event::PlaybackFinished(p) => {
                let Some((channel, prompt)) = prompts.remove(p.playback.id.as_str()) else {
                    continue;
                };
                match prompt {
                    Prompt::Goodbye => {
                        say(format!("app: goodbye, hanging up {channel}"));
                        client.channel(channel).hangup().await.map_err(err)?;
                    }
                    Prompt::Greeting if caller => {
                        say("caller: pressing 1".into());
                        let keys = client.channel(caller_leg).send_dtmf();
                        keys.with(|k| k.dtmf("1")).await.map_err(err)?;
                    }
                    Prompt::Digit if caller => {
                        say("caller: pressing #".into());
                        let keys = client.channel(caller_leg).send_dtmf();
                        keys.with(|k| k.dtmf("#")).await.map_err(err)?;
                    }
                    _ => {}
                }
            }
            Event::StasisEnd(e) => {
                say(format!("{} left the app", e.channel.id));
                left += 1;
                if caller && left == 2 {
                    return Ok(());
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The whole demo: with `ARI_URL` (and `ARI_USER`, `ARI_PASSWORD`) set, serves
/// a real Asterisk's calls to Stasis app `hello`; without, [`replay`]s the
/// recorded call. Prints the call flow as it happens.
pub async fn run<F>(connect: impl FnOnce(Config) -> F) -> Result<(), Box<dyn std::error::Error>>
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    let Ok(url) = std::env::var("ARI_URL") else {
        return replay(connect).await;
    };
    let user = std::env::var("ARI_USER").unwrap_or_else(|_| "asterisk".into());
    let password = std::env::var("ARI_PASSWORD").unwrap_or_default();
    let client = connect(Config::new(&url, "hello", user, password)?).await?;
    println!("connected to {url}; Stasis app `hello` is ready for calls");
    quickstart(&client, false, |line| println!("{line}")).await?;
    Ok(())
}

/// Replays the recorded `hello-world` call from a fake Asterisk on loopback,
/// running the quickstart and its caller against it; fails unless the whole
/// trace was played without a mismatch.
pub async fn replay<F>(connect: impl FnOnce(Config) -> F) -> Result<(), Box<dyn std::error::Error>>
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    let server = FakeAsterisk::start(
        crate::bundled_trace("hello-world.jsonl")?,
        ServeOptions::default(),
    )?;
    println!(
        "No ARI_URL: replaying a recorded call from a fake Asterisk at {}",
        server.base_url()
    );
    let client = connect(Config::new(
        &server.base_url(),
        "hello",
        "asterisk",
        "asterisk",
    )?)
    .await?;
    println!("connected; Stasis app `hello` is ready");
    quickstart(&client, true, |line| println!("{line}")).await?;
    client.close().await;
    let report = server.finish();
    println!(
        "fake Asterisk: trace played to the end: {}, mismatches: {}",
        report.completed,
        report.mismatches.len()
    );
    if !report.completed || !report.mismatches.is_empty() {
        return Err(format!("the replay did not match: {:?}", report.mismatches).into());
    }
    Ok(())
}
