//! The AMI client through an adapter, against recorded AMI sessions served
//! by `conformance::FakeAmi`: each test plays the recorded client's part
//! with the public API and checks what came back.

use ari_client::ami::{
    Action, AmiClient, AmiConnectError, CloseReason, Config, EventMask, LoginAuth,
};
use conformance::FakeAmi;
use futures_util::StreamExt;
use std::future::Future;

fn config(fake: &FakeAmi, auth: LoginAuth, secret: &str, events: EventMask) -> Config {
    let mut config = Config::new(&fake.address(), "admin", secret).unwrap();
    config.auth = auth;
    config.events = events;
    // The recorded clients asked for the settings themselves.
    config.learn_server_version = false;
    config.ping_interval = None;
    config
}

/// `ami-login.jsonl`: a challenge login and four actions, a plain login
/// with events off, and a wrong password refused.
pub async fn logins_as_recorded<F, Fut>(connect: F)
where
    F: Fn(Config) -> Fut,
    Fut: Future<Output = Result<AmiClient, AmiConnectError>>,
{
    let fake = FakeAmi::start(&conformance::bundled_ami_trace("ami-login.jsonl")).unwrap();

    let manager = connect(config(
        &fake,
        LoginAuth::Challenge,
        "amp111",
        EventMask::All,
    ))
    .await
    .expect("the challenge login");
    let mut events = manager.events();
    let pong = manager.send(Action::new("Ping")).await.unwrap();
    assert_eq!(pong.response.get("Ping").unwrap(), "Pong");
    let settings = manager.send(Action::new("CoreSettings")).await.unwrap();
    assert_eq!(settings.response.get("AsteriskVersion").unwrap(), "22.10.1");
    let status = manager.send(Action::new("CoreStatus")).await.unwrap();
    assert!(status.response.get("CoreStartupTime").is_some());
    let commands = manager.send(Action::new("ListCommands")).await.unwrap();
    assert!(
        commands.response.get("Originate").is_some(),
        "Originate is listed"
    );
    manager.close().await;
    // FullyBooted and SuccessfulAuth came after the login.
    let mut seen = Vec::new();
    while let Some(Ok(event)) = events.next().await {
        seen.push(event.name().to_string());
    }
    assert_eq!(seen, ["FullyBooted", "SuccessfulAuth"]);

    let manager = connect(config(&fake, LoginAuth::Plain, "amp111", EventMask::Off))
        .await
        .expect("the plain login");
    manager.send(Action::new("Ping")).await.unwrap();
    manager.close().await;

    let refused = connect(config(
        &fake,
        LoginAuth::Plain,
        "wrong-password",
        EventMask::All,
    ))
    .await;
    assert_eq!(
        refused.err(),
        Some(AmiConnectError::Closed(CloseReason::LoginRefused(
            "Authentication failed".into()
        )))
    );
    let report = fake.finish();
    assert!(report.completed, "{report:?}");
    assert_eq!(report.connections, 3);
}

/// `ami-eventlists.jsonl`: two asynchronous originates answered by their
/// OriginateResponse, then twelve actions answered with event lists, each
/// gathered whole.
pub async fn event_lists_as_recorded<F, Fut>(connect: F)
where
    F: Fn(Config) -> Fut,
    Fut: Future<Output = Result<AmiClient, AmiConnectError>>,
{
    let fake = FakeAmi::start(&conformance::bundled_ami_trace("ami-eventlists.jsonl")).unwrap();
    let manager = connect(config(
        &fake,
        LoginAuth::Plain,
        "amp111",
        EventMask::Classes(vec!["call".into()]),
    ))
    .await
    .unwrap();
    let lamp = |state: &str| {
        Action::new("Setvar")
            .header("Variable", "DEVICE_STATE(Custom:ami-lamp)")
            .header("Value", state)
    };
    manager.send(lamp("INUSE")).await.unwrap();
    let originate = |n: u32| {
        Action::new("Originate")
            .header("Channel", "PJSIP/echo@loop")
            .header("Exten", "echo")
            .header("Context", "default")
            .header("Priority", "1")
            .header("ChannelId", format!("ami-el-out-{n}"))
            .header("Async", "true")
    };
    let (one, two) = futures_util::join!(manager.send(originate(1)), manager.send(originate(2)));
    for (n, answer) in [(1, one), (2, two)] {
        let done = answer.unwrap().completion.expect("OriginateResponse");
        assert_eq!(
            done.get("Uniqueid").unwrap().to_string(),
            format!("ami-el-out-{n}")
        );
    }
    let lists: [(Action, &str); 12] = [
        (Action::new("CoreShowChannels"), "CoreShowChannelsComplete"),
        (Action::new("Status"), "StatusComplete"),
        // Named once CoreShowChannels has named the channel.
        (
            Action::new("Status").header("Channel", "<outbound leg of call 1>"),
            "StatusComplete",
        ),
        (Action::new("PJSIPShowEndpoints"), "EndpointListComplete"),
        (
            Action::new("PJSIPShowEndpoint").header("Endpoint", "loop"),
            "EndpointDetailComplete",
        ),
        (Action::new("PJSIPShowContacts"), ""),
        (Action::new("DeviceStateList"), "DeviceStateListComplete"),
        (
            Action::new("ExtensionStateList"),
            "ExtensionStateListComplete",
        ),
        (Action::new("QueueStatus"), "QueueStatusComplete"),
        (Action::new("BridgeList"), "BridgeListComplete"),
        (Action::new("Parkinglots"), "ParkinglotsComplete"),
        (
            Action::new("ShowDialPlan")
                .header("Context", "default")
                .header("Extension", "echo"),
            "ShowDialPlanComplete",
        ),
    ];
    let mut items = 0;
    let mut outbound = Vec::new();
    for (mut action, complete) in lists {
        let name = action.name().to_string();
        if action
            .headers()
            .iter()
            .any(|(_, v)| v.starts_with("<outbound"))
        {
            action = Action::new("Status").header("Channel", &outbound[0]);
        }
        match manager.send(action).await {
            Ok(answer) => {
                let end = answer
                    .completion
                    .unwrap_or_else(|| panic!("{name}: no list end"));
                assert_eq!(end.get("Event").unwrap(), complete, "{name}");
                assert_eq!(
                    end.get("ListItems").unwrap().to_string(),
                    answer.items.len().to_string(),
                    "{name}: every item gathered"
                );
                items += answer.items.len();
                if name == "CoreShowChannels" {
                    for n in 1..=2 {
                        let id = format!("ami-el-out-{n}");
                        let leg = answer
                            .items
                            .iter()
                            .find(|i| i.get("Uniqueid").is_some_and(|u| u == id.as_str()));
                        outbound.push(
                            leg.expect("both calls listed")
                                .get("Channel")
                                .unwrap()
                                .to_string(),
                        );
                    }
                }
            }
            // Recorded: no contacts at all is an error answer.
            Err(e) => assert_eq!(complete, "", "{name}: {e}"),
        }
    }
    assert!(items >= 20, "{items}");
    for channel in outbound {
        manager
            .send(Action::new("Hangup").header("Channel", channel))
            .await
            .unwrap();
    }
    manager.send(lamp("NOT_INUSE")).await.unwrap();
    manager.close().await;
    let report = fake.finish();
    assert!(report.completed, "{report:?}");
}
