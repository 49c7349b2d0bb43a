//! pystrix's AMI quickstart on tokio: log in (by MD5 challenge unless
//! told otherwise), handle events by name, by a pattern on the name, by
//! typed class, all of them, and answers nobody waits for; `Shutdown`
//! ends it.
//!
//! `cargo run -p ari-tokio --example ami_quickstart` needs no PBX: a fake
//! Asterisk on loopback replays a recorded session (in which Asterisk
//! restarts). With `AMI_URL` (and `AMI_USER`, `AMI_SECRET`) set, it manages
//! a real Asterisk until that one shuts down.

use ari_tokio::ami::{self, AmiClient, Selector, actions, events};
use futures_util::{FutureExt, StreamExt};
use testkit::ami_demo::AmiDemo;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let demo = AmiDemo::from_env()?;
    let manager = ami::client(demo.config())?;
    quickstart(&manager, |line| println!("{line}")).await?;
    manager.close().await;
    demo.finish()
}

/// Subscribes the handlers, logs in, pings, and handles events until
/// Asterisk shuts down; `say` hears each handler. (Public so that the
/// tests run this very code.)
pub async fn quickstart(
    manager: &AmiClient,
    mut say: impl FnMut(String),
) -> Result<(), Box<dyn std::error::Error>> {
    // Subscribed before the login, so that its events are seen too.
    let mut booted = manager.subscribe(Selector::name("FullyBooted"));
    let mut security = manager.subscribe(Selector::matching(|name| name.ends_with("Auth")));
    let mut shutdowns = manager.events_of::<events::Shutdown>();
    let mut everything = manager.events();
    let mut orphans = manager.orphans();
    manager.open().await?;

    let pong = manager.send(actions::Ping::new()).await?;
    let pong = pong.response.get("Ping").map(|p| p.to_string());
    say(format!("ping: {}", pong.unwrap_or_default()));

    loop {
        futures_util::select! {
            event = booted.select_next_some() => {
                let event = event?;
                say(format!("by name: {}", event.name()));
            }
            event = security.select_next_some() => {
                let event = event?;
                let user = event.message().get("AccountID").map(|a| a.to_string());
                say(format!("by pattern: {} ({})", event.name(), user.unwrap_or_default()));
            }
            event = everything.select_next_some() => {
                say(format!("every event: {}", event?.name()));
            }
            answer = orphans.select_next_some() => {
                say(format!("answer nobody waits for: {:?}", answer?));
            }
            shutdown = shutdowns.select_next_some() => {
                let shutdown = shutdown?;
                let how = shutdown.shutdown().map(|s| s.as_str().to_string());
                let restart = shutdown.restart().map(|r| r.as_str().to_string());
                say(format!(
                    "by class: Shutdown ({}, restart: {})",
                    how.unwrap_or_default(),
                    restart.unwrap_or_default()
                ));
                // What the catch-all stream has already been handed.
                while let Some(Some(Ok(event))) = everything.next().now_or_never() {
                    say(format!("every event: {}", event.name()));
                }
                return Ok(());
            }
        }
    }
}
