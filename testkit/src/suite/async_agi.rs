//! AsyncAGI through the AMI client, against the recorded AsyncAGI session
//! (`ami-asyncagi.jsonl`) served by `conformance::FakeAmi`: the recorded
//! client's originate and six commands, each read as its typed result.

use ari_client::Runtime;
use ari_client::agi::{DigitResult, Playback, RawCommand, commands};
use ari_client::ami::{Action, AmiClient, Config, EventMask, LoginAuth};
use conformance::FakeAmi;
use futures_util::StreamExt;

/// Plays the recorded AsyncAGI session through the client.
pub async fn async_agi_as_recorded<R: Runtime>(runtime: R) {
    let fake = FakeAmi::start(&conformance::bundled_ami_trace("ami-asyncagi.jsonl")).unwrap();
    let mut config = Config::new(&fake.address(), "admin", "amp111").unwrap();
    config.auth = LoginAuth::Plain;
    config.events = EventMask::Classes(vec!["call".into(), "agi".into()]);
    config.learn_server_version = false;
    config.ping_interval = None;
    let manager = AmiClient::new(runtime, config).unwrap();
    // The recorded client's CommandIDs: ami-agi-cmd-1 ...
    let mut calls = manager.async_agi_calls_with_prefix("ami-agi-cmd-");
    manager.open().await.unwrap();
    let originated = manager.send(
        Action::new("Originate")
            .header("Channel", "PJSIP/asyncagi@loop")
            .header("Application", "Wait")
            .header("Data", "20")
            .header("ChannelId", "ami-agi-out")
            .header("Async", "true"),
    );
    let call = calls.next().await.expect("the AsyncAGIStart");
    assert!(
        call.channel().starts_with("PJSIP/loop-in-"),
        "{}",
        call.channel()
    );
    assert_eq!(call.request().request.as_ref().unwrap(), "async");

    call.send(&commands::Answer::new()).await.unwrap();
    let played = call
        .send(&commands::StreamFile::new("hello-world", ""))
        .await
        .unwrap();
    assert!(
        matches!(
            played,
            Playback {
                result: DigitResult::NoDigit,
                ..
            }
        ),
        "{played:?}"
    );
    let channel = call
        .send(&commands::GetVariable::new("CHANNEL"))
        .await
        .unwrap()
        .expect("CHANNEL is set");
    assert_eq!(channel.to_string_lossy(), call.channel());
    call.send(&commands::SayDigits::new("42", ""))
        .await
        .unwrap();
    let unknown = call
        .send_raw_reply(&RawCommand::new("NO SUCH COMMAND"))
        .await
        .unwrap();
    assert_eq!(unknown.code(), 510);
    call.send(&commands::Hangup::new()).await.unwrap();
    // ANSWER let the originate complete.
    let answer = originated.await.unwrap();
    assert_eq!(
        answer.completion.unwrap().get("Response").unwrap(),
        "Success"
    );
    manager.close().await;
    let report = fake.finish();
    assert!(report.mismatches.is_empty(), "{report:?}");
}
