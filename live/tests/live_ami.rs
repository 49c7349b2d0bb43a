//! The AMI client on both runtimes against the real Asterisk: both logins,
//! a refused one, event lists, an asynchronous originate answered by its
//! OriginateResponse with the call's events, and Command output.

use ari_tokio::ami::{
    self, Action, ActionError, AmiClient, AmiConnectError, Change, CloseReason, Config,
    ConnectionEvent, Event, EventFilter, LoginAuth, actions,
};
use futures_util::StreamExt;
use live::{WAIT, live};

fn config(live: &live::Live, auth: LoginAuth) -> Config {
    let mut config = Config::new(&live.ami_addr, "admin", "amp111").expect("AMI_ADDR");
    config.auth = auth;
    config
}

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: nothing within {WAIT:?}"))
}

#[tokio::test]
async fn both_logins_and_a_refused_one() {
    let live = live!();
    for auth in [LoginAuth::Challenge, LoginAuth::Plain] {
        let manager = within("login", ami::connect(config(&live, auth)))
            .await
            .expect("logged in");
        let pong = within("Ping", manager.send(Action::new("Ping")))
            .await
            .expect("Ping");
        assert_eq!(pong.response.get("Ping").unwrap(), "Pong", "{auth:?}");
        manager.close().await;
    }
    let mut wrong = config(&live, LoginAuth::Challenge);
    wrong.secret = ami::Secret::new("not-the-secret");
    let refused = within("a refused login", ami::connect(wrong)).await.err();
    assert_eq!(
        refused,
        Some(AmiConnectError::Closed(CloseReason::LoginRefused(
            "Authentication failed".into()
        )))
    );
}

/// Originates a Local call the AMI way (async, with a chosen Uniqueid),
/// watches it in the events and in CoreShowChannels, hangs it up.
async fn call_flow(manager: &AmiClient, id: &str) {
    let mut events = manager.events();
    let originate = Action::new("Originate")
        .header("Channel", "Local/wait@default")
        .header("Application", "Wait")
        .header("Data", "20")
        .header("Async", "true")
        .header("ChannelId", id);
    let answer = within("Originate", manager.send(originate))
        .await
        .expect("originated");
    let done = answer.completion.expect("the OriginateResponse");
    assert_eq!(done.get("Response").unwrap(), "Success");
    assert_eq!(done.get("Uniqueid").unwrap(), id);

    let new_channel = within("Newchannel", async {
        while let Some(Ok(event)) = events.next().await {
            if let Event::Newchannel(n) = &*event
                && n.uniqueid().is_some_and(|u| u == id)
            {
                return n.channel().unwrap().to_string();
            }
        }
        panic!("the event stream ended")
    })
    .await;
    let channel = new_channel;
    assert!(channel.starts_with("Local/wait@default-"), "{channel}");

    let list = within(
        "CoreShowChannels",
        manager.send(actions::CoreShowChannels::new()),
    )
    .await
    .expect("listed");
    assert!(
        list.items
            .iter()
            .any(|item| item.get("Channel").unwrap() == channel.as_str()),
        "{list:?}"
    );
    let complete = list.completion.expect("the list's end");
    assert_eq!(complete.get("Event").unwrap(), "CoreShowChannelsComplete");
    assert_eq!(
        complete.get("ListItems").unwrap().to_string(),
        list.items.len().to_string()
    );

    within("Hangup", manager.send(actions::Hangup::new(&channel)))
        .await
        .expect("hung up");
    within("the Hangup event", async {
        while let Some(Ok(event)) = events.next().await {
            if let Event::Hangup(h) = &*event
                && h.uniqueid().is_some_and(|u| u == id)
            {
                return;
            }
        }
        panic!("the event stream ended")
    })
    .await;
}

#[tokio::test]
async fn an_originated_call_on_tokio() {
    let live = live!();
    let manager = within("login", ami::connect(config(&live, LoginAuth::Challenge)))
        .await
        .unwrap();
    call_flow(&manager, &format!("amitokio-{}", std::process::id())).await;
    manager.close().await;
}

#[test]
fn an_originated_call_on_smol() {
    let live = live!();
    smol::block_on(async {
        let manager = ari_smol::ami::connect(config(&live, LoginAuth::Challenge))
            .await
            .unwrap();
        // On smol: unbounded waits, under the live crate's watchdog.
        let ping = manager.send(Action::new("Ping")).await.unwrap();
        assert_eq!(ping.response.get("Ping").unwrap(), "Pong");
        let id = format!("amismol-{}", std::process::id());
        smol_call_flow(&manager, &id).await;
        manager.close().await;
    });
}

async fn smol_call_flow(manager: &AmiClient, id: &str) {
    let originate = Action::new("Originate")
        .header("Channel", "Local/wait@default")
        .header("Application", "Wait")
        .header("Data", "20")
        .header("Async", "true")
        .header("ChannelId", id);
    let answer = manager.send(originate).await.expect("originated");
    assert_eq!(answer.completion.unwrap().get("Uniqueid").unwrap(), id);
    let list = manager.send(Action::new("CoreShowChannels")).await.unwrap();
    let channel = list
        .items
        .iter()
        .find(|item| item.get("Uniqueid").is_some_and(|u| u == id))
        .expect("the call is listed")
        .get("Channel")
        .unwrap()
        .to_string();
    manager
        .send(Action::new("Hangup").header("Channel", &channel))
        .await
        .unwrap();
}

#[tokio::test]
async fn errors_and_command_output() {
    let live = live!();
    let manager = within("login", ami::connect(config(&live, LoginAuth::Plain)))
        .await
        .unwrap();
    let version = within(
        "Command",
        manager.send(Action::new("Command").header("Command", "core show version")),
    )
    .await
    .expect("the CLI answered");
    let lines = version.response.command_output();
    assert!(
        lines
            .iter()
            .any(|l| l.to_string().starts_with("Asterisk 22.10.1")),
        "{lines:?}"
    );

    let missing = within(
        "Getvar",
        manager.send(Action::new("Status").header("Channel", "PJSIP/no-such-channel")),
    )
    .await;
    assert!(
        matches!(&missing, Err(ActionError::Refused { message, .. }) if message.contains("No such channel")),
        "{missing:?}"
    );
    let unknown = within(
        "an unknown action",
        manager.send(Action::new("NoSuchAction")),
    )
    .await;
    assert!(
        matches!(&unknown, Err(ActionError::Refused { message, .. }) if message.starts_with("Invalid/unknown command")),
        "{unknown:?}"
    );
    let injected = manager
        .send(Action::new("Ping").header("X", "1\r\nAction: Logoff"))
        .await;
    assert!(
        matches!(injected, Err(ActionError::Encode(_))),
        "refused before the wire"
    );
    manager.close().await;
}

/// `MatchCriteria` filters as 22.10.1 applies them: only the selected
/// events reach the filtered session, from its login on; the spelling the XML shows
/// (`startsWith`) is refused and reported, not silently dropped.
#[tokio::test]
async fn match_criteria_filters_select_what_reaches_the_session() {
    let live = live!();
    let stem = format!("amiflt{}", std::process::id());
    let mut filtered = config(&live, LoginAuth::Challenge);
    filtered.filters = vec![
        EventFilter::criteria(
            "name(Newchannel),header(Uniqueid),method(starts_with)",
            format!("{stem}-"),
        ),
        EventFilter::criteria("method(startsWith)", "x"),
    ];
    let watcher = ami::client(filtered).unwrap();
    let mut connection = watcher.connection_events();
    // From before the login: nothing may come ahead of the filters, not
    // even FullyBooted.
    let mut events = watcher.events();
    within("the filtered login", watcher.open())
        .await
        .expect("logged in");
    let refused = within("the refused filter", async {
        while let Some(event) = connection.next().await {
            if let ConnectionEvent::FilterRefused { filter, reason } = event {
                return (filter, reason);
            }
        }
        panic!("no FilterRefused")
    })
    .await;
    assert_eq!(
        refused.0.match_criteria.as_deref(),
        Some("method(startsWith)")
    );
    assert!(!refused.1.is_empty());

    let caller = within("login", ami::connect(config(&live, LoginAuth::Plain)))
        .await
        .unwrap();
    let originate = |id: &str| {
        Action::new("Originate")
            .header("Channel", "Local/wait@default")
            .header("Application", "Wait")
            .header("Data", "20")
            .header("Async", "true")
            .header("ChannelId", id)
            .header("OtherChannelId", format!("{id}-other"))
    };
    // Both calls' Newchannel events come before the CoreShowChannels
    // answer below: an unselected one would be in the stream by then.
    let other = format!("other{}", std::process::id());
    let selected = format!("{stem}-1");
    for id in [&other, &selected] {
        within("Originate", caller.send(originate(id)))
            .await
            .expect("originated");
    }
    let first = within("the selected Newchannel", events.next())
        .await
        .expect("an event")
        .expect("no lag");
    let Event::Newchannel(new) = &*first else {
        panic!("only Newchannel passes, got {first:?}")
    };
    let id = new.uniqueid().unwrap().to_string();
    assert!(id == selected || id == format!("{selected}-other"), "{id}");

    let list = within(
        "CoreShowChannels",
        caller.send(actions::CoreShowChannels::new()),
    )
    .await
    .unwrap();
    for item in &list.items {
        let unique = item.get("Uniqueid").unwrap().to_string();
        if unique == selected || unique == other {
            let channel = item.get("Channel").unwrap().to_string();
            within("Hangup", caller.send(actions::Hangup::new(&channel)))
                .await
                .unwrap();
        }
    }
    caller.close().await;
    watcher.close().await;
    // Everything the watcher got was a selected Newchannel.
    while let Some(Ok(event)) = events.next().await {
        let Event::Newchannel(new) = &*event else {
            panic!("only Newchannel passes, got {event:?}")
        };
        assert!(new.uniqueid().unwrap().to_string().starts_with(&stem));
    }
}

/// The `UserEvent` header of the next event.
async fn next_user_event(events: &mut ari_tokio::EventStream<std::sync::Arc<Event>>) -> String {
    let event = within("a user event", events.next())
        .await
        .expect("an event")
        .expect("no lag");
    event.message().get("UserEvent").unwrap().to_string()
}

/// Filters changed on a live client: one added goes out on the same
/// connection; taking one off means a new login, after which only the
/// remaining filter's events arrive.
#[tokio::test]
async fn filters_change_on_a_live_client() {
    let live = live!();
    let tag = format!("amiset{}", std::process::id());
    let user_event =
        |which: &str| Action::new("UserEvent").header("UserEvent", format!("{tag}-{which}"));
    let mut filtered = config(&live, LoginAuth::Plain);
    filtered.filters = vec![EventFilter::regex(format!("UserEvent: {tag}-a"))];
    let manager = within("login", ami::connect(filtered)).await.unwrap();
    let mut connection = manager.connection_events();
    let mut events = manager.events();
    // Each round ends with an event every filter lets through.
    for which in ["b", "a"] {
        manager.send(user_event(which)).await.unwrap();
    }
    assert_eq!(next_user_event(&mut events).await, format!("{tag}-a"));

    let both = vec![
        EventFilter::regex(format!("UserEvent: {tag}-a")),
        EventFilter::regex(format!("UserEvent: {tag}-b")),
    ];
    within("adding a filter", manager.set_filters(both))
        .await
        .unwrap();
    for which in ["c", "b", "a"] {
        manager.send(user_event(which)).await.unwrap();
    }
    assert_eq!(next_user_event(&mut events).await, format!("{tag}-b"));
    assert_eq!(next_user_event(&mut events).await, format!("{tag}-a"));

    let only_b = vec![EventFilter::regex(format!("UserEvent: {tag}-b"))];
    within("changing the filters", manager.set_filters(only_b))
        .await
        .unwrap();
    within("the new login", async {
        while let Some(change) = connection.next().await {
            match change {
                ConnectionEvent::Open { reconnected: true } => return,
                ConnectionEvent::Open { .. } => panic!("a first login again"),
                ConnectionEvent::Closed(why) => {
                    assert_eq!(why, CloseReason::FiltersChanged)
                }
                _ => {}
            }
        }
    })
    .await;
    for which in ["a", "c", "b"] {
        manager.send(user_event(which)).await.unwrap();
    }
    assert_eq!(next_user_event(&mut events).await, format!("{tag}-b"));
    manager.close().await;
}

/// Waits for the first change `wanted` accepts.
async fn change(
    changes: &mut ari_tokio::EventStream<Change>,
    what: &str,
    wanted: impl Fn(&Change) -> bool,
) -> Change {
    within(what, async {
        while let Some(item) = changes.next().await {
            let change = item.expect("no lag");
            if wanted(&change) {
                return change;
            }
        }
        panic!("{what}: the changes ended")
    })
    .await
}

/// The client's live picture of the PBX follows a real call: a Local
/// channel dialing a SIP loop call (so a bridge), its variables, the end.
#[tokio::test]
async fn the_picture_follows_a_bridged_call() {
    let live = live!();
    let manager = within("login", ami::connect(config(&live, LoginAuth::Challenge)))
        .await
        .unwrap();
    let picture = manager.picture();
    let mut changes = picture.changes();
    change(&mut changes, "the first resync", |c| *c == Change::Resynced).await;
    assert!(picture.is_whole());

    let id = format!("amipic{}", std::process::id());
    let originate = Action::new("Originate")
        .header("Channel", "Local/wait@default")
        .header("Application", "Dial")
        .header("Data", "PJSIP/echo@loop")
        .header("Async", "true")
        .header("ChannelId", &id)
        .header("OtherChannelId", format!("{id}-wait"))
        .header("Variable", "AMI_PIC=one");
    within("Originate", manager.send(originate)).await.unwrap();
    // The dialing leg ends up in a bridge with the SIP leg it dialed.
    let bridge = within("the bridge", async {
        loop {
            let Some(Ok(_)) = changes.next().await else {
                panic!("the changes ended")
            };
            let tracker = picture.lock();
            let Some(channel) = tracker.channel(&id) else {
                continue;
            };
            if let Some(bridge) = channel.bridge()
                && bridge.num_channels() == 2
            {
                return bridge.uniqueid().to_string();
            }
        }
    })
    .await;
    {
        let tracker = picture.lock();
        let channel = tracker.channel(&id).unwrap();
        assert!(
            channel.name().starts_with("Local/wait@default-"),
            "{}",
            channel.name()
        );
        assert_eq!(channel.variable("AMI_PIC"), Some("one"));
        let bridge = tracker.bridge(&bridge).unwrap();
        let members: Vec<String> = bridge.channels().map(|c| c.name().to_string()).collect();
        assert!(
            members.iter().any(|n| n.starts_with("PJSIP/loop-")),
            "{members:?}"
        );
    }

    let setvar = Action::new("Setvar")
        .header("Channel", picture.lock().channel(&id).unwrap().name())
        .header("Variable", "AMI_PIC")
        .header("Value", "two");
    within("Setvar", manager.send(setvar)).await.unwrap();
    change(&mut changes, "the variable", |_| {
        picture.lock().channel(&id).unwrap().variable("AMI_PIC") == Some("two")
    })
    .await;

    let name = picture.lock().channel(&id).unwrap().name().to_string();
    within("Hangup", manager.send(actions::Hangup::new(&name)))
        .await
        .unwrap();
    change(&mut changes, "the channel gone", |c| {
        *c == Change::ChannelRemoved(id.as_str().into())
    })
    .await;
    change(&mut changes, "the bridge gone", |_| {
        picture.lock().bridge(&bridge).is_none()
    })
    .await;
    manager.close().await;
}
