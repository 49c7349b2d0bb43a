//! The FastAGI quickstart on tokio: answer, play `hello-world`, read up to
//! 4 digits with `GET DATA`, say them back, keep them in a channel
//! variable, hang up.
//!
//! `cargo run -p ari-tokio --example fastagi_quickstart` needs no PBX: a
//! fake Asterisk replays a recorded call against the server (as the
//! caller, who presses 1, 2, 3, 4). With `AGI_LISTEN=127.0.0.1:4573` it
//! serves a real Asterisk's `AGI(agi://127.0.0.1:4573/quickstart)` until
//! stopped.

use ari_tokio::agi::{self, Agi, DataEntry, HandlerResult, Routes, commands};
use testkit::agi_demo::AgiDemo;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let demo = AgiDemo::from_env()?;
    let routes = Routes::new().fallback(|agi| quickstart(agi, |line| println!("{line}")));
    let server = agi::serve(demo.listen_address(), routes)?;
    println!("FastAGI server on {}", server.address());
    demo.run(server.address()).await
}

/// One call, top to bottom; `say` hears each step. (Public so that the
/// tests run this very code.)
pub async fn quickstart(agi: Agi, say: impl Fn(String)) -> HandlerResult {
    let caller = agi.request().caller_id.clone().unwrap_or_default();
    say(format!("call from {caller} on {:?}", agi.request().channel));
    agi.send(&commands::Answer::new()).await?;
    agi.send(&commands::StreamFile::new("hello-world", ""))
        .await?;
    let entry = agi
        .send(&commands::GetData::new("beep").timeout(5000).max_digits(4))
        .await?;
    let DataEntry::Digits { digits, .. } = entry else {
        say("the caller hung up".into());
        return Ok(());
    };
    say(format!("digits: {digits}"));
    agi.send(&commands::SayDigits::new(digits.as_str(), ""))
        .await?;
    agi.send(&commands::SetVariable::new(
        "QUICKSTART_DIGITS",
        digits.as_str(),
    ))
    .await?;
    agi.send(&commands::Hangup::new()).await?;
    say("done".into());
    Ok(())
}
