//! The asyncari quickstart on smol: answer each call, say hello, play back
//! every key pressed, and on `#` say goodbye and hang up.
//!
//! `cargo run -p ari-smol --example smol_hello_world` needs no PBX: it replays a
//! recorded call from a fake Asterisk on loopback and plays the caller too.
//! With `ARI_URL` (and `ARI_USER`, `ARI_PASSWORD`) set, it serves the calls
//! of a real Asterisk to Stasis app `hello`.

use ari_smol::{Digits, DigitsStop, IncomingCall, RequestError};
use testkit::demo::Demo;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    smol::block_on(async {
        let demo = Demo::from_env("hello")?;
        let client = ari_smol::connect(demo.config()).await?;
        // One task per call, with its own stream of the call's events.
        client.serve_calls(|call| async move {
            if let Err(e) = hello(call).await {
                eprintln!("the call failed: {e}");
            }
        });
        demo.run(&client).await
    })
}

/// One call, top to bottom. (Public so that the live tests run this very
/// code against a real Asterisk.)
pub async fn hello(mut call: IncomingCall) -> Result<(), RequestError> {
    // Calls we originated ourselves carry arguments: leave them alone.
    if !call.args().is_empty() {
        return Ok(());
    }
    call.channel.answer().await?;
    let mut prompts = 0;
    play(&call, &mut prompts, "sound:hello-world").await?;
    let one_key = Digits {
        max: 1,
        terminator: None,
        ..Digits::up_to(1)
    };
    loop {
        match call.collect_dtmf(&one_key).await.as_deref() {
            Ok("#") => break,
            Ok(digit) => play(&call, &mut prompts, &format!("sound:digits/{digit}")).await?,
            // Nobody pressed anything for a while: keep listening.
            Err(DigitsStop::Timeout(_)) => {}
            Err(_) => return Ok(()), // the caller hung up
        }
    }
    play(&call, &mut prompts, "sound:vm-goodbye").await?;
    call.channel.hangup().await
}

/// Plays `media` on the call as its prompt number `prompts` and waits until
/// it has finished. The playback's events are followed from before the
/// request leaves: its end cannot be missed.
async fn play(call: &IncomingCall, prompts: &mut u32, media: &str) -> Result<(), RequestError> {
    *prompts += 1;
    let id = format!("{}-prompt-{prompts}", call.channel.channel_id());
    let mut playback = call.channel.play_with_id(id, [media]).start().await?;
    playback.events.finished().await;
    Ok(())
}
