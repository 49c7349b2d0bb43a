//! What the quickstart examples need besides their app: an Asterisk to talk
//! to. With `ARI_URL` set that is a real one; without, a fake Asterisk on
//! loopback replays the recorded `hello-world` call, and [`Demo::run`] plays
//! its caller: dial `PJSIP/hello@loop`, press 1 once the greeting ends and #
//! once the digit was played back.

use ari_client::Client;
use ari_proto::{Config, ConnectionEvent, Event};
use conformance::{FakeAsterisk, ServeOptions};
use futures_util::StreamExt;
use std::error::Error;

/// The channel id of the demo's calling leg; the app leaves calls that
/// carry arguments (this one's are `caller`) to whoever started them.
pub const CALLER: &str = "quickstart-caller";

/// Where the quickstart runs.
pub enum Demo {
    /// A real Asterisk, from `ARI_URL`, `ARI_USER` and `ARI_PASSWORD`.
    Live(Config),
    /// The recorded call, served on loopback.
    Replay(FakeAsterisk, Config),
}

impl Demo {
    /// A real Asterisk if `ARI_URL` is set, else the recorded call; either
    /// way for Stasis application `app`.
    pub fn from_env(app: &str) -> Result<Demo, Box<dyn Error>> {
        if let Ok(url) = std::env::var("ARI_URL") {
            let user = std::env::var("ARI_USER").unwrap_or_else(|_| "asterisk".into());
            let password = std::env::var("ARI_PASSWORD").unwrap_or_default();
            println!("serving Stasis app `{app}` of the Asterisk at {url}");
            return Ok(Demo::Live(Config::new(&url, app, user, password)?));
        }
        Demo::replay(app)
    }

    /// The recorded call, whatever the environment says.
    pub fn replay(app: &str) -> Result<Demo, Box<dyn Error>> {
        let trace = conformance::bundled_trace("hello-world.jsonl")?;
        let fake = FakeAsterisk::start(trace, ServeOptions::default())?;
        println!(
            "No ARI_URL: replaying a recorded call from a fake Asterisk at {}",
            fake.base_url()
        );
        let config = Config::new(&fake.base_url(), app, "asterisk", "asterisk")?;
        Ok(Demo::Replay(fake, config))
    }

    /// The configuration to connect with.
    pub fn config(&self) -> Config {
        match self {
            Demo::Live(config) | Demo::Replay(_, config) => config.clone(),
        }
    }

    /// Live: serves until the connection stops. Replay: plays the caller,
    /// closes, and fails unless the whole recorded call was played with
    /// every request as recorded.
    pub async fn run(self, client: &Client) -> Result<(), Box<dyn Error>> {
        match self {
            Demo::Live(_) => {
                let mut connection = client.connection_events();
                while let Some(event) = connection.next().await {
                    if event == ConnectionEvent::Stopped {
                        break;
                    }
                }
                Ok(())
            }
            Demo::Replay(fake, _) => {
                call_in(client, |line| println!("{line}")).await?;
                client.close().await;
                let report = fake.finish();
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
        }
    }
}

/// Plays the caller of the quickstart: dials `PJSIP/hello@loop` into the
/// app (as [`CALLER`], with arguments `caller`), presses 1 once the first
/// prompt (the greeting) ends and # once the second (the digit) ends, and
/// returns once both legs have left the app. `say` hears each step.
pub async fn call_in(client: &Client, mut say: impl FnMut(String)) -> Result<(), String> {
    let mut events = client.events();
    let app = client.config().apps[0].clone();
    client
        .channels()
        .originate("PJSIP/hello@loop")
        .with(|o| {
            o.app(app)
                .app_args("caller")
                .channel_id(CALLER)
                .caller_id("Tester <5551234>")
        })
        .await
        .map_err(|e| e.to_string())?;
    say(format!("caller: dialing PJSIP/hello@loop as {CALLER}"));
    let (mut prompts, mut left) = (0, 0);
    while let Some(item) = events.next().await {
        let event = item.map_err(|lag| format!("the caller fell behind: {lag:?}"))?;
        match &event {
            Event::StasisStart(s) if s.channel.id != CALLER => {
                say(format!(
                    "app: call from {} on {}",
                    s.channel.caller.number, s.channel.id
                ));
            }
            Event::ChannelDtmfReceived(d) if d.channel.id != CALLER => {
                say(format!("app: key {} pressed", d.digit));
            }
            Event::PlaybackStarted(p) => say(format!("app: playing {}", p.playback.media_uri)),
            Event::PlaybackFinished(_) => {
                prompts += 1;
                let key = match prompts {
                    1 => "1",
                    2 => "#",
                    _ => continue,
                };
                say(format!("caller: pressing {key}"));
                let keys = client.channel(CALLER).send_dtmf();
                keys.with(|k| k.dtmf(key))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Event::StasisEnd(e) => {
                say(format!("{} left the app", e.channel.id));
                left += 1;
                if left == 2 {
                    return Ok(());
                }
            }
            _ => {}
        }
    }
    Err("the connection closed during the call".into())
}

/// Plays Asterisk's side of the recorded outbound-WebSocket call
/// (`conformance/traces/outbound-websocket.jsonl`) against an outbound
/// server at `app`: Asterisk connects as user `ows`, password
/// `ows-secret`. `say` hears how each connection went.
pub async fn play_outbound_call(
    app: std::net::SocketAddr,
    mut say: impl FnMut(String),
) -> Result<(), String> {
    let trace = conformance::bundled_trace("outbound-websocket.jsonl")?;
    let reports = crate::agi_demo::blocking(move || {
        conformance::outbound_play::play_outbound(&trace, app, "ows", "ows-secret")
    })
    .await;
    for r in &reports {
        say(format!(
            "fake Asterisk: connection {} sent {} frames, the app's {} requests matched the recording",
            r.conn, r.sent, r.matched
        ));
        if let Some(e) = &r.mismatch {
            return Err(format!("connection {}: {e}", r.conn));
        }
    }
    Ok(())
}
