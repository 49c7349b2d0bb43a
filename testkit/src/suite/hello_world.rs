//! The asyncari quickstart as in the `hello-world` trace, written once against
//! the runtime-neutral client; the adapters' tests run it on their runtime.

use ari_client::{Client, ConnectError};
use ari_proto::Event;
use ari_proto::ops::channels::Answer;
use ari_proto::ops::channels::{Hangup, Originate, PlayWithId, SendDtmf};
use conformance::{FakeAsterisk, Faults, ServeOptions};
use futures_util::StreamExt;
use std::future::Future;
use std::time::Duration;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Plays both sides of the recorded call: the caller (originate, DTMF on the
/// outbound leg) and the quickstart app (answer, play, digits, goodbye,
/// hang up). Returns what happened, in order.
pub async fn hello_world(client: &Client) -> Result<Vec<String>, String> {
    let mut events = client.events();
    let mut log = Vec::new();
    let originate = Originate::new("PJSIP/hello@loop")
        .app("hello")
        .app_args("caller")
        .channel_id("chan-out-1")
        .caller_id("Tester <5551234>");
    let out = client.request(originate).await.map_err(err)?;
    log.push(format!("originated {}", out.id));
    let mut inbound: Option<String> = None;
    let mut ended = 0;
    while let Some(item) = events.next().await {
        let event = item.map_err(|l| format!("lagged: {l:?}"))?;
        match &event {
            Event::StasisStart(s) if s.args.is_empty() => {
                let id = s.channel.id.to_string();
                log.push(format!("call {id} entered"));
                client
                    .request(Answer::new(id.as_str()))
                    .await
                    .map_err(err)?;
                client
                    .request(PlayWithId::new(id.as_str(), "pb-1", ["sound:hello-world"]))
                    .await
                    .map_err(err)?;
                inbound = Some(id);
            }
            Event::PlaybackFinished(p) => {
                log.push(format!("{} finished", p.playback.id));
                match p.playback.id.as_str() {
                    "pb-1" => drop(
                        client
                            .request(SendDtmf::new("chan-out-1").dtmf("1"))
                            .await
                            .map_err(err)?,
                    ),
                    "pb-2" => drop(
                        client
                            .request(SendDtmf::new("chan-out-1").dtmf("#"))
                            .await
                            .map_err(err)?,
                    ),
                    "pb-3" => {
                        let id = inbound.clone().ok_or("no inbound leg")?;
                        client
                            .request(Hangup::new(id.as_str()))
                            .await
                            .map_err(err)?;
                        log.push("hung up".into());
                    }
                    _ => {}
                }
            }
            Event::ChannelDtmfReceived(d) if Some(d.channel.id.as_str()) == inbound.as_deref() => {
                log.push(format!("digit {}", d.digit));
                let (playback, media) = match d.digit.as_str() {
                    "#" => ("pb-3", "sound:vm-goodbye".to_string()),
                    digit => ("pb-2", format!("sound:digits/{digit}")),
                };
                client
                    .request(PlayWithId::new(d.channel.id.as_str(), playback, [media]))
                    .await
                    .map_err(err)?;
            }
            Event::StasisEnd(e) => {
                log.push(format!("{} left", e.channel.id));
                ended += 1;
                if ended == 2 {
                    break;
                }
            }
            _ => {}
        }
    }
    Ok(log)
}

/// Serves the recorded call, runs [`hello_world`] against it with a client
/// from `connect`, and checks the whole trace was played without mismatch.
pub async fn against_recorded_call<F>(connect: impl FnOnce(ari_proto::Config) -> F)
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    let (fake, config) = serve_recorded_call(Faults::default());
    let client = connect(config).await.unwrap();
    let log = hello_world(&client).await.unwrap();
    client.close().await;
    let report = fake.finish();
    assert!(report.completed, "{report:?}\n{log:#?}");
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
    assert!(
        log.contains(&"digit #".to_string()) && log.contains(&"hung up".to_string()),
        "{log:?}"
    );
}

/// The recorded call served with `faults`, and a client configuration for it
/// (a short first reconnect delay, so fault tests run fast).
pub fn serve_recorded_call(faults: Faults) -> (FakeAsterisk, ari_proto::Config) {
    let trace = conformance::bundled_trace("hello-world.jsonl").unwrap();
    let fake = FakeAsterisk::start(
        trace,
        ServeOptions {
            faults,
            ..ServeOptions::default()
        },
    )
    .unwrap();
    let mut config =
        ari_proto::Config::new(&fake.base_url(), "hello", "asterisk", "asterisk").unwrap();
    config.backoff.initial = Duration::from_millis(40);
    (fake, config)
}
