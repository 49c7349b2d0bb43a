//! The resources beside calls, against the real Asterisk: sounds, endpoints
//! (with a real SIP MESSAGE over the loop), device states, mailboxes, the
//! `/asterisk` resource (info, ping, global variables, modules, log
//! channels, dynamic sorcery objects), applications (subscriptions and event
//! filters) and user events. Every id and name a test chooses holds its own
//! application name, since other tests and sessions share the Asterisk.

use ari_client::Client;
use ari_proto::models::{DeviceStateState, EndpointState};
use ari_proto::ops::asterisk::GetInfoOnly;
use ari_proto::ops::device_states::UpdateDeviceState;
use ari_proto::serde_json::{Map, Value, json};
use ari_proto::{ApiErrorKind, Event};
use futures_util::future::{Either, select};
use futures_util::{Stream, StreamExt};
use live::{Strict, WAIT, api_error, live, next_event, strict};
use std::fmt::Debug;
use std::pin::pin;

/// The next event `pred` accepts, within [`WAIT`]; every event read on the
/// way goes to `seen`. Panics naming `what`.
async fn next_event_seeing<S, E>(
    events: &mut S,
    what: &str,
    seen: &mut Vec<Event>,
    mut pred: impl FnMut(&Event) -> bool,
) -> Event
where
    S: Stream<Item = Result<Event, E>> + Unpin,
    E: Debug,
{
    let wait = async {
        while let Some(item) = events.next().await {
            match item {
                Ok(event) if pred(&event) => return Some(event),
                Ok(event) => seen.push(event),
                Err(lag) => panic!("waiting for {what}: the stream lagged: {lag:?}"),
            }
        }
        None
    };
    match select(pin!(wait), pin!(smol::Timer::after(WAIT))).await {
        Either::Left((Some(event), _)) => event,
        Either::Left((None, _)) => panic!("the event stream ended before {what}"),
        Either::Right(_) => panic!("no {what} within {WAIT:?}"),
    }
}

fn object(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect()
}

/// The user events named `name` among `events`.
fn user_events_named(events: &[Event], name: &str) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::ChannelUserevent(u) if u.eventname == name))
        .count()
}

// ------------------------------------------------------------------ sounds

#[tokio::test]
async fn sounds_list_filter_and_get() {
    let live = live!();
    let app = live.app("res-sounds");
    let client = ari_tokio::connect(live.config(&app))
        .await
        .expect("connect");
    let sounds = client.sounds();

    let all = strict("sounds", sounds.list().await.expect("list sounds"));
    let hello = all
        .iter()
        .find(|s| s.id == "hello-world")
        .expect("hello-world is among the sounds");
    assert!(!hello.formats.is_empty());

    // Filtered: every sound listed has the format pair asked for, and only
    // that pair (Asterisk narrows each sound's formats to the filter).
    let en_gsm = strict(
        "sounds lang=en format=gsm",
        sounds
            .list()
            .with(|o| o.lang("en").format("gsm"))
            .await
            .expect("list en/gsm sounds"),
    );
    assert!(en_gsm.iter().any(|s| s.id == "hello-world"));
    for sound in &en_gsm {
        assert!(
            sound
                .formats
                .iter()
                .all(|f| f.language == "en" && f.format == "gsm"),
            "{} lists {:?} under lang=en format=gsm",
            sound.id,
            sound.formats
        );
    }
    // A language no sound has: Asterisk answers 404, not an empty list.
    api_error(
        sounds.list().with(|o| o.lang("xx-none")).await,
        ApiErrorKind::NotFound,
        "sounds in a language there are none in",
    );

    let got = strict(
        "sound hello-world",
        client
            .sound("hello-world")
            .get()
            .await
            .expect("get hello-world"),
    );
    assert_eq!(got.id, "hello-world");
    for (lang, format) in [("en", "gsm"), ("en", "slin")] {
        assert!(
            got.formats
                .iter()
                .any(|f| f.language == lang && f.format == format),
            "hello-world has no {lang}/{format}: {:?}",
            got.formats
        );
    }
    // A sound in a subdirectory: the `/` in its id is one path segment.
    let digit = strict(
        "sound digits/1",
        client.sound("digits/1").get().await.expect("get digits/1"),
    );
    assert_eq!(digit.id, "digits/1");
    api_error(
        client.sound(format!("{app}-none")).get().await,
        ApiErrorKind::NotFound,
        "an unknown sound",
    );
    client.close().await;
}

// --------------------------------------------------------------- endpoints

#[tokio::test]
async fn endpoints_list_get_and_send_message() {
    let live = live!();
    let app = live.app("res-endpoints");
    let client = ari_tokio::connect(live.config(&app))
        .await
        .expect("connect");
    let mut events = Strict(client.events());

    let all = strict("endpoints", client.endpoints().list().await.expect("list"));
    assert!(
        all.iter()
            .any(|e| e.technology == "PJSIP" && e.resource == "loop"),
        "PJSIP/loop is among the endpoints"
    );
    let pjsip = strict(
        "PJSIP endpoints",
        client
            .endpoints()
            .list_by_tech("PJSIP")
            .await
            .expect("list_by_tech PJSIP"),
    );
    assert!(pjsip.iter().all(|e| e.technology == "PJSIP"));
    for resource in ["loop", "loop-in"] {
        assert!(
            pjsip.iter().any(|e| e.resource == resource),
            "PJSIP/{resource} is listed"
        );
    }
    api_error(
        client.endpoints().list_by_tech("NoSuchTech").await,
        ApiErrorKind::NotFound,
        "endpoints of an unknown technology",
    );

    let endpoint = client.endpoint("PJSIP", "loop");
    let got = strict("PJSIP/loop", endpoint.get().await.expect("get PJSIP/loop"));
    assert_eq!(
        (got.technology.as_str(), got.resource.as_str()),
        ("PJSIP", "loop")
    );
    // Its AOR has a static contact, so Asterisk counts it online.
    assert_eq!(got.state, Some(EndpointState::Online));
    api_error(
        client.endpoint("PJSIP", format!("{app}-none")).get().await,
        ApiErrorKind::NotFound,
        "an unknown endpoint",
    );

    // A real SIP MESSAGE: sent through PJSIP/loop, it comes back in on
    // PJSIP/loop-in, and an app subscribed to that endpoint receives it.
    let joined = strict(
        "subscribe endpoint:PJSIP/loop-in",
        client
            .application(app.as_str())
            .subscribe(["endpoint:PJSIP/loop-in"])
            .await
            .expect("subscribe to PJSIP/loop-in"),
    );
    assert!(joined.endpoint_ids.iter().any(|e| e == "PJSIP/loop-in"));
    let from = format!("sip:{app}@127.0.0.1");
    let body = format!("hello from {app}");
    // Asterisk answers 202 Accepted, with no body: the message is queued.
    endpoint
        .send_message_to_endpoint(from.as_str())
        .with(|m| m.body(body.as_str()))
        .await
        .expect("send a MESSAGE to PJSIP/loop");
    let received = next_event(
        &mut events,
        "TextMessageReceived",
        |e| matches!(e, Event::TextMessageReceived(t) if t.message.body == body),
    )
    .await;
    let Event::TextMessageReceived(received) = &received else {
        unreachable!()
    };
    assert_eq!(received.application, app);
    assert_eq!(received.message.from, format!("<{from}>"));
    let endpoint_in = received.endpoint.as_ref().expect("the receiving endpoint");
    assert_eq!(endpoint_in.resource, "loop-in");

    // The technology-neutral form, addressed by URI.
    let body2 = format!("second from {app}");
    client
        .endpoints()
        .send_message("pjsip:loop", from.as_str())
        .with(|m| m.body(body2.as_str()))
        .await
        .expect("send a MESSAGE to pjsip:loop");
    next_event(
        &mut events,
        "the second TextMessageReceived",
        |e| matches!(e, Event::TextMessageReceived(t) if t.message.body == body2),
    )
    .await;
    api_error(
        client
            .endpoint("PJSIP", format!("{app}-none"))
            .send_message_to_endpoint(from.as_str())
            .with(|m| m.body("nobody"))
            .await,
        ApiErrorKind::NotFound,
        "a message to an unknown endpoint",
    );

    let left = strict(
        "unsubscribe endpoint:PJSIP/loop-in",
        client
            .application(app.as_str())
            .unsubscribe(["endpoint:PJSIP/loop-in"])
            .await
            .expect("unsubscribe"),
    );
    assert!(left.endpoint_ids.is_empty());
    client.close().await;
}

// ----------------------------------------------------------- device states

#[tokio::test]
async fn device_state_update_event_list_delete() {
    let live = live!();
    let app = live.app("res-devstate");
    let client = ari_tokio::connect(live.config(&app))
        .await
        .expect("connect");
    let name = format!("Stasis:{app}");
    let device = client.device_state(name.as_str());
    let mut device_events = Strict(device.events());

    let subscribed = strict(
        "subscribe deviceState",
        client
            .application(app.as_str())
            .subscribe([format!("deviceState:{name}")])
            .await
            .expect("subscribe to the device"),
    );
    assert_eq!(subscribed.device_names, [name.as_str()]);

    device
        .update(UpdateDeviceState::Inuse)
        .await
        .expect("set INUSE");
    let changed = next_event(&mut device_events, "DeviceStateChanged to INUSE", |e| {
        matches!(e, Event::DeviceStateChanged(_))
    })
    .await;
    let Event::DeviceStateChanged(changed) = &changed else {
        unreachable!()
    };
    assert_eq!(changed.application, app);
    assert_eq!(changed.device_state.name, name);
    assert_eq!(changed.device_state.state, DeviceStateState::Inuse);

    let got = strict("device state", device.get().await.expect("get"));
    assert_eq!(
        (got.name.as_str(), &got.state),
        (name.as_str(), &DeviceStateState::Inuse)
    );
    let list = strict(
        "device states",
        client.device_states().list().await.expect("list"),
    );
    assert!(
        list.iter()
            .any(|d| d.name == name && d.state == DeviceStateState::Inuse),
        "{name} INUSE is listed"
    );

    device
        .update(UpdateDeviceState::Busy)
        .await
        .expect("set BUSY");
    next_event(&mut device_events, "DeviceStateChanged to BUSY", |e| {
        matches!(e, Event::DeviceStateChanged(d) if d.device_state.state == DeviceStateState::Busy)
    })
    .await;

    // Only Stasis: devices are ARI's to set.
    api_error(
        client
            .device_state(format!("Custom:{app}"))
            .update(UpdateDeviceState::Inuse)
            .await,
        ApiErrorKind::Conflict,
        "a device ARI does not control",
    );

    device.delete().await.expect("delete");
    // Deleted, Asterisk no longer lists it and reports it UNKNOWN.
    let got = strict("deleted device state", device.get().await.expect("get"));
    assert_eq!(got.state, DeviceStateState::Unknown);
    let list = strict(
        "device states",
        client.device_states().list().await.expect("list"),
    );
    assert!(
        !list.iter().any(|d| d.name == name),
        "{name} is still listed"
    );

    let left = strict(
        "unsubscribe deviceState",
        client
            .application(app.as_str())
            .unsubscribe([format!("deviceState:{name}")])
            .await
            .expect("unsubscribe"),
    );
    assert!(left.device_names.is_empty());
    client.close().await;
}

// --------------------------------------------------------------- mailboxes

#[tokio::test]
async fn mailboxes_update_get_list_delete_or_typed_absence() {
    let live = live!();
    let app = live.app("res-mailbox");
    let client = ari_tokio::connect(live.config(&app))
        .await
        .expect("connect");
    let modules = strict(
        "modules",
        client
            .asterisk()
            .list_modules()
            .await
            .expect("list_modules"),
    );
    let name = format!("{app}@live");
    let mailbox = client.mailbox(name.as_str());
    let loaded = modules
        .iter()
        .any(|m| m.name == "res_ari_mailboxes.so" && m.status == "Running");
    if !loaded {
        // Debian's build has no res_mwi_external, so no res_ari_mailboxes:
        // /ari/mailboxes is no resource at all and Asterisk answers 404.
        let e = api_error(
            client.mailboxes().list().await,
            ApiErrorKind::NotFound,
            "list mailboxes without res_ari_mailboxes",
        );
        assert_eq!(e.message.as_deref(), Some("Resource not found"));
        api_error(
            mailbox.update(1, 2).await,
            ApiErrorKind::NotFound,
            "update a mailbox without res_ari_mailboxes",
        );
        println!(
            "mailbox operations not exercised: res_ari_mailboxes is not loaded on this Asterisk"
        );
        client.close().await;
        return;
    }
    mailbox.update(1, 2).await.expect("update");
    let got = strict("mailbox", mailbox.get().await.expect("get"));
    assert_eq!(
        (got.name.as_str(), got.old_messages, got.new_messages),
        (name.as_str(), 1, 2)
    );
    let list = strict("mailboxes", client.mailboxes().list().await.expect("list"));
    assert!(list.iter().any(|m| m.name == name));
    mailbox.delete().await.expect("delete");
    api_error(
        mailbox.get().await,
        ApiErrorKind::NotFound,
        "get a deleted mailbox",
    );
    client.close().await;
}

// ---------------------------------------------------------------- asterisk

#[tokio::test]
async fn asterisk_info_ping_and_global_variables() {
    let live = live!();
    let app = live.app("res-info");
    let client = ari_tokio::connect(live.config(&app))
        .await
        .expect("connect");
    let asterisk = client.asterisk();

    let info = strict("info", asterisk.get_info().await.expect("get_info"));
    let build = info.build.as_ref().expect("build");
    assert!(!build.os.is_empty());
    let system = info.system.as_ref().expect("system");
    assert!(
        system.version.starts_with(|c: char| c.is_ascii_digit()),
        "version {:?}",
        system.version
    );
    // live/pbx fixes the entity id.
    assert_eq!(system.entity_id, "02:00:00:00:00:01");
    let config = info.config.as_ref().expect("config");
    assert!(!config.default_language.is_empty());
    let status = info.status.as_ref().expect("status");
    assert!(status.startup_time <= status.last_reload_time);

    let only = strict(
        "info only=build,status",
        asterisk
            .get_info()
            .with(|o| o.only([GetInfoOnly::Build, GetInfoOnly::Status]))
            .await
            .expect("get_info only"),
    );
    assert!(only.build.is_some() && only.status.is_some());
    assert!(
        only.system.is_none() && only.config.is_none(),
        "only=build,status gave more: {only:?}"
    );

    let ping = strict("ping", asterisk.ping().await.expect("ping"));
    assert_eq!(ping.ping, "pong");
    assert_eq!(ping.asterisk_id, system.entity_id);
    assert!(!ping.timestamp.is_empty());

    // A global variable, with a value that needs query encoding.
    let var = format!("LIVE_{}", app.replace('-', "_").to_uppercase());
    let value = format!("{app} a+b&c=d/é");
    asterisk
        .set_global_var(var.as_str())
        .with(|o| o.value(value.as_str()))
        .await
        .expect("set the global variable");
    let got = strict(
        "global variable",
        asterisk.get_global_var(var.as_str()).await.expect("get"),
    );
    assert_eq!(got.value, value);
    // No value unsets it; an unset variable reads as empty.
    asterisk
        .set_global_var(var.as_str())
        .await
        .expect("unset the global variable");
    let got = strict(
        "unset global variable",
        asterisk.get_global_var(var.as_str()).await.expect("get"),
    );
    assert_eq!(got.value, "");
    client.close().await;
}

#[tokio::test]
async fn asterisk_modules_list_get_reload() {
    let live = live!();
    let app = live.app("res-modules");
    let client = ari_tokio::connect(live.config(&app))
        .await
        .expect("connect");
    let asterisk = client.asterisk();

    let modules = strict("modules", asterisk.list_modules().await.expect("list"));
    let listed = modules
        .iter()
        .find(|m| m.name == "res_ari.so")
        .expect("res_ari.so is listed");
    assert_eq!(listed.status, "Running");
    let got = strict(
        "res_ari.so",
        asterisk.get_module("res_ari.so").await.expect("get"),
    );
    assert_eq!(got.name, "res_ari.so");
    assert_eq!(got.description, listed.description);
    assert_eq!(got.status, "Running");
    assert_eq!(got.support_level, "core");
    assert!(got.use_count > 0, "res_ari is in use by its resources");
    api_error(
        asterisk.get_module(format!("{app}.so")).await,
        ApiErrorKind::NotFound,
        "an unknown module",
    );

    // Reload a harmless module: the reload time moves on.
    let before = asterisk
        .get_info()
        .with(|o| o.only([GetInfoOnly::Status]))
        .await
        .expect("status before")
        .status
        .expect("status")
        .last_reload_time;
    asterisk
        .reload_module("indications")
        .await
        .expect("reload indications");
    let after = asterisk
        .get_info()
        .with(|o| o.only([GetInfoOnly::Status]))
        .await
        .expect("status after")
        .status
        .expect("status")
        .last_reload_time;
    assert!(after > before, "last_reload_time {before} then {after}");
    api_error(
        asterisk.reload_module("res_ari_sounds.so").await,
        ApiErrorKind::Conflict,
        "reload a module that cannot reload",
    );
    api_error(
        asterisk.reload_module(format!("{app}.so")).await,
        ApiErrorKind::NotFound,
        "reload an unknown module",
    );
    client.close().await;
}

#[tokio::test]
async fn asterisk_log_channels_add_rotate_delete() {
    let live = live!();
    let app = live.app("res-log");
    let client = ari_tokio::connect(live.config(&app))
        .await
        .expect("connect");
    let asterisk = client.asterisk();
    // A relative name: Asterisk puts the file in its log directory.
    let name = format!("{app}.log");
    let on_disk = live.run_dir.as_ref().map(|d| d.join("log").join(&name));
    let rotated = on_disk.as_ref().map(|p| p.with_extension("log.0"));
    let mine = |list: &[ari_proto::models::LogChannel]| {
        list.iter()
            .find(|c| c.channel.ends_with(&format!("/{name}")))
            .cloned()
    };

    // Levels are comma-separated (a space-separated list enables none).
    asterisk
        .add_log(name.as_str(), "notice,warning")
        .await
        .expect("add a log channel");
    let list = strict(
        "log channels",
        asterisk.list_log_channels().await.expect("list"),
    );
    let added = mine(&list).unwrap_or_else(|| panic!("{name} is not listed: {list:?}"));
    assert_eq!(added.r#type, "File");
    assert_eq!(added.status, "Enabled");
    assert_eq!(added.configuration.trim(), "NOTICE WARNING");
    if let Some(path) = &on_disk {
        assert!(path.exists(), "{} was not created", path.display());
    }
    api_error(
        asterisk.add_log(name.as_str(), "notice").await,
        ApiErrorKind::Conflict,
        "add the same log channel twice",
    );
    asterisk.delete_log(name.as_str()).await.expect("delete");
    let list = strict(
        "log channels",
        asterisk.list_log_channels().await.expect("list"),
    );
    assert!(mine(&list).is_none(), "{name} is still listed");
    api_error(
        asterisk.delete_log(name.as_str()).await,
        ApiErrorKind::NotFound,
        "delete a deleted log channel",
    );

    asterisk
        .add_log(name.as_str(), "notice")
        .await
        .expect("add it again");
    asterisk.rotate_log(name.as_str()).await.expect("rotate");
    if let Some(path) = &rotated {
        assert!(path.exists(), "rotate made no {}", path.display());
    }
    // Rotating re-reads logger.conf (logger.c ast_logger_rotate_channel ends
    // with init_logger_chain), which drops every channel added through ARI:
    // ours is gone after its rotation.
    let list = strict(
        "log channels",
        asterisk.list_log_channels().await.expect("list"),
    );
    assert!(mine(&list).is_none(), "{name} survived its rotation");
    api_error(
        asterisk.rotate_log(name.as_str()).await,
        ApiErrorKind::NotFound,
        "rotate a log channel that is gone",
    );
    let _ = asterisk.delete_log(name.as_str()).await;
    for path in on_disk.iter().chain(&rotated) {
        let _ = std::fs::remove_file(path);
    }
    client.close().await;
}

#[tokio::test]
async fn asterisk_dynamic_config_object_put_get_delete() {
    let live = live!();
    let app = live.app("res-sorcery");
    let client = ari_tokio::connect(live.config(&app))
        .await
        .expect("connect");
    let asterisk = client.asterisk();
    // PJSIP contacts live in a writable sorcery wizard (astdb); endpoints
    // come from pjsip.conf and cannot be created. The id has the `;@` real
    // contact ids have.
    let id = format!("{app};@live");
    let uri = "sip:live@127.0.0.1:5999";
    let attribute = |tuples: &[ari_proto::models::ConfigTuple], name: &str| {
        tuples
            .iter()
            .find(|t| t.attribute == name)
            .map(|t| t.value.to_string())
    };

    let created = strict(
        "created contact",
        asterisk
            .update_object("res_pjsip", "contact", id.as_str())
            .with(|o| o.fields([("uri", uri), ("qualify_timeout", "5")]))
            .await
            .expect("create a contact"),
    );
    assert_eq!(attribute(&created, "uri").as_deref(), Some(uri));
    let got = strict(
        "contact",
        asterisk
            .get_object("res_pjsip", "contact", id.as_str())
            .await
            .expect("get the contact"),
    );
    assert_eq!(attribute(&got, "uri").as_deref(), Some(uri));
    assert_eq!(
        attribute(&got, "qualify_timeout").as_deref(),
        Some("5.000000")
    );

    let updated = strict(
        "updated contact",
        asterisk
            .update_object("res_pjsip", "contact", id.as_str())
            .with(|o| o.fields([("qualify_timeout", "7")]))
            .await
            .expect("update the contact"),
    );
    assert_eq!(
        attribute(&updated, "qualify_timeout").as_deref(),
        Some("7.000000")
    );
    assert_eq!(
        attribute(&updated, "uri").as_deref(),
        Some(uri),
        "update keeps the rest"
    );

    asterisk
        .delete_object("res_pjsip", "contact", id.as_str())
        .await
        .expect("delete the contact");
    api_error(
        asterisk
            .get_object("res_pjsip", "contact", id.as_str())
            .await,
        ApiErrorKind::NotFound,
        "get a deleted contact",
    );
    api_error(
        asterisk
            .delete_object("res_pjsip", "contact", id.as_str())
            .await,
        ApiErrorKind::NotFound,
        "delete a deleted contact",
    );
    // A contact needs a URI: Asterisk refuses one without fields.
    api_error(
        asterisk
            .update_object("res_pjsip", "contact", id.as_str())
            .await,
        ApiErrorKind::BadRequest,
        "create a contact with no fields",
    );
    api_error(
        asterisk
            .get_object("res_pjsip", "no_such_type", id.as_str())
            .await,
        ApiErrorKind::NotFound,
        "an unknown object type",
    );
    client.close().await;
}

// ------------------------------------------------------------ applications

#[tokio::test]
async fn applications_list_get_subscribe_unsubscribe() {
    let live = live!();
    let app = live.app("res-apps");
    let client = ari_tokio::connect(live.config(&app))
        .await
        .expect("connect");
    let handle = client.application(app.as_str());

    let list = strict(
        "applications",
        client.applications().list().await.expect("list"),
    );
    assert!(list.iter().any(|a| a.name == app), "{app} is not listed");
    let got = strict("application", handle.get().await.expect("get"));
    assert_eq!(got.name, app);
    assert!(got.channel_ids.is_empty() && got.bridge_ids.is_empty());
    assert!(got.endpoint_ids.is_empty() && got.device_names.is_empty());
    assert!(got.events_allowed.is_empty() && got.events_disallowed.is_empty());

    let device = format!("Stasis:{app}");
    let sources = [
        "endpoint:PJSIP/loop".to_string(),
        format!("deviceState:{device}"),
    ];
    let subscribed = strict(
        "subscribe",
        handle.subscribe(sources.clone()).await.expect("subscribe"),
    );
    assert_eq!(subscribed.endpoint_ids, ["PJSIP/loop"]);
    assert_eq!(subscribed.device_names, [device.as_str()]);
    let got = strict("application", handle.get().await.expect("get"));
    assert_eq!(got.endpoint_ids, ["PJSIP/loop"]);

    let left = strict(
        "unsubscribe",
        handle
            .unsubscribe(sources.clone())
            .await
            .expect("unsubscribe"),
    );
    assert!(left.endpoint_ids.is_empty() && left.device_names.is_empty());

    api_error(
        handle.unsubscribe(["endpoint:PJSIP/loop"]).await,
        ApiErrorKind::Unprocessable,
        "unsubscribe from what is not subscribed",
    );
    api_error(
        handle.subscribe([format!("bogus:{app}")]).await,
        ApiErrorKind::BadRequest,
        "subscribe with an unknown scheme",
    );
    api_error(
        handle
            .subscribe([format!("endpoint:PJSIP/{app}-none")])
            .await,
        ApiErrorKind::Unprocessable,
        "subscribe to an unknown endpoint",
    );
    api_error(
        client.application(format!("{app}-none")).get().await,
        ApiErrorKind::NotFound,
        "an application that is not registered",
    );
    client.close().await;
}

/// On smol: a disallowed event type stops arriving, and clearing the filter
/// lets it through again.
#[test]
fn application_event_filter_on_smol() {
    let live = live!();
    let app = live.app("res-filter");
    smol::block_on(async {
        let client = ari_smol::connect(live.config(&app)).await.expect("connect");
        filter_flow(&client, &app).await;
        client.close().await;
    });
}

async fn filter_flow(client: &Client, app: &str) {
    let mut events = Strict(client.events());
    let handle = client.application(app);
    let device = format!("Stasis:{app}");
    let user_event = |name: String| client.events_api().user_event(name, app);

    // Unfiltered, a user event arrives.
    let before = format!("{app}-before");
    user_event(before.clone()).await.expect("user event");
    next_event(
        &mut events,
        "the unfiltered user event",
        |e| matches!(e, Event::ChannelUserevent(u) if u.eventname == before),
    )
    .await;

    // The filter is the whole JSON body; Asterisk answers with the app.
    let disallowed = json!([{ "type": "ChannelUserevent" }]);
    let filtered = strict(
        "filter",
        handle
            .filter()
            .with(|f| f.filter(json!({ "disallowed": disallowed })))
            .await
            .expect("set the filter"),
    );
    assert!(filtered.events_allowed.is_empty());
    assert_eq!(Value::from(filtered.events_disallowed.clone()), disallowed);
    let got = strict("application", handle.get().await.expect("get"));
    assert_eq!(Value::from(got.events_disallowed), disallowed);

    // A user event now, then a device state change as a marker: the user
    // event is queued to the app before the change is even requested, so
    // had it passed the filter it would come first.
    handle
        .subscribe([format!("deviceState:{device}")])
        .await
        .expect("subscribe to the device");
    let during = format!("{app}-filtered");
    user_event(during.clone()).await.expect("user event");
    client
        .device_state(device.as_str())
        .update(UpdateDeviceState::Inuse)
        .await
        .expect("set the device INUSE");
    let mut seen = Vec::new();
    next_event_seeing(
        &mut events,
        "DeviceStateChanged",
        &mut seen,
        |e| matches!(e, Event::DeviceStateChanged(d) if d.device_state.name == device),
    )
    .await;
    assert_eq!(
        user_events_named(&seen, &during),
        0,
        "a disallowed ChannelUserevent arrived"
    );

    // A body naming only `allowed` sets that list and keeps `disallowed`:
    // Asterisk updates just the lists the object names (stasis/app.c,
    // app_event_filter_set: "A filter type exists, but not this one, so
    // don't update"); an empty object or no body clears both.
    let allowed = json!([{ "type": "DeviceStateChanged" }, { "type": "ChannelUserevent" }]);
    let both = strict(
        "filter allowed",
        handle
            .filter()
            .with(|f| f.filter(json!({ "allowed": allowed })))
            .await
            .expect("set an allowed list"),
    );
    assert_eq!(Value::from(both.events_allowed), allowed);
    assert_eq!(
        Value::from(both.events_disallowed),
        disallowed,
        "setting allowed alone keeps disallowed"
    );

    // No body clears the filter: user events arrive again, and the
    // filtered one never came.
    let cleared = strict(
        "filter cleared",
        handle.filter().await.expect("clear the filter"),
    );
    assert!(cleared.events_allowed.is_empty() && cleared.events_disallowed.is_empty());
    let after = format!("{app}-after");
    user_event(after.clone()).await.expect("user event");
    let mut seen = Vec::new();
    next_event_seeing(
        &mut events,
        "the user event after clearing",
        &mut seen,
        |e| matches!(e, Event::ChannelUserevent(u) if u.eventname == after),
    )
    .await;
    assert_eq!(
        user_events_named(&seen, &during),
        0,
        "the filtered event came late"
    );

    client
        .device_state(device.as_str())
        .delete()
        .await
        .expect("delete the device state");
    handle
        .unsubscribe([format!("deviceState:{device}")])
        .await
        .expect("unsubscribe");
}

// ------------------------------------------------------------- user events

#[tokio::test]
async fn user_event_with_variables_and_source() {
    let live = live!();
    let app = live.app("res-userevent");
    let client = ari_tokio::connect(live.config(&app))
        .await
        .expect("connect");
    let mut events = Strict(client.events());
    // The name is a path segment: a space and a `+` must arrive as sent.
    let name = format!("{app} ev+1");
    let variables = object(&[("k1", "v1"), ("k 2", "a b+c&d")]);

    client
        .events_api()
        .user_event(name.as_str(), app.as_str())
        .with(|o| {
            o.source(["endpoint:PJSIP/loop"])
                .variables(variables.clone())
        })
        .await
        .expect("user event");
    // Asterisk sends it as ChannelUserevent (there is no other user event
    // type), with the variables and the event name inside `userevent`.
    let got = next_event(&mut events, "ChannelUserevent", |e| {
        matches!(e, Event::ChannelUserevent(_))
    })
    .await;
    let Event::ChannelUserevent(got) = &got else {
        unreachable!()
    };
    assert_eq!(got.eventname, name);
    assert_eq!(got.application, app);
    let mut expected = variables.clone();
    expected.insert("eventname".into(), Value::from(name.as_str()));
    assert_eq!(got.userevent, Value::Object(expected));
    let endpoint = got.endpoint.as_ref().expect("the source endpoint");
    assert_eq!(
        (endpoint.technology.as_str(), endpoint.resource.as_str()),
        ("PJSIP", "loop")
    );
    assert!(got.channel.is_none() && got.bridge.is_none());

    api_error(
        client
            .events_api()
            .user_event(name.as_str(), format!("{app}-none"))
            .await,
        ApiErrorKind::NotFound,
        "a user event to an app that is not registered",
    );
    api_error(
        client
            .events_api()
            .user_event(name.as_str(), app.as_str())
            .with(|o| o.source([format!("bogus:{app}")]))
            .await,
        ApiErrorKind::BadRequest,
        "a user event from a source of an unknown scheme",
    );
    api_error(
        client
            .events_api()
            .user_event(name.as_str(), app.as_str())
            .with(|o| o.source([format!("channel:{app}-none")]))
            .await,
        ApiErrorKind::Unprocessable,
        "a user event from a channel that does not exist",
    );
    client.close().await;
}
