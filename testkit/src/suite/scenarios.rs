//! Apps that reproduce the recorded traces, each as its `meta.description`
//! states, written once against the public API; [`run_all`] replays every
//! one against the fake Asterisk and lists what did not match.

use ari_client::{Client, ConnectError, EventStream};
use ari_proto::ops::channels::{HangupReason, MuteDirection};
use ari_proto::{Config, Event};
use conformance::{FakeAsterisk, ServeOptions};
use std::future::Future;

type Outcome = Result<(), String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The next event `matches` accepts.
async fn next<F: FnMut(&Event) -> bool>(
    events: &mut EventStream,
    matches: F,
) -> Result<Event, String> {
    events
        .wait_for(matches)
        .await
        .ok_or_else(|| "the event stream ended".to_string())
}

fn is_start(e: &Event, with_args: bool) -> bool {
    matches!(e, Event::StasisStart(s) if s.args.is_empty() != with_args)
}

fn channel_of(e: &Event) -> String {
    match e {
        Event::StasisStart(s) => s.channel.id.to_string(),
        _ => String::new(),
    }
}

/// `system-info`: read-only system and listing requests.
pub async fn system_info(c: &Client) -> Outcome {
    use ari_proto::ops::asterisk::GetInfoOnly;
    let a = c.asterisk();
    a.get_info().await.map_err(err)?;
    a.get_info()
        .with(|o| o.only([GetInfoOnly::Build, GetInfoOnly::System]))
        .await
        .map_err(err)?;
    a.ping().await.map_err(err)?;
    a.list_modules().await.map_err(err)?;
    a.get_module("res_ari.so").await.map_err(err)?;
    a.list_log_channels().await.map_err(err)?;
    a.set_global_var("GLOBAL_X")
        .with(|o| o.value("42"))
        .await
        .map_err(err)?;
    let v = a.get_global_var("GLOBAL_X").await.map_err(err)?;
    if v.value != "42" {
        return Err(format!("GLOBAL_X is {}", v.value));
    }
    a.get_object("res_pjsip", "endpoint", "loop")
        .await
        .map_err(err)?;
    c.endpoints().list().await.map_err(err)?;
    c.endpoints().list_by_tech("PJSIP").await.map_err(err)?;
    c.endpoint("PJSIP", "loop").get().await.map_err(err)?;
    c.sounds()
        .list()
        .with(|o| o.lang("en").format("gsm"))
        .await
        .map_err(err)?;
    c.sound("hello-world").get().await.map_err(err)?;
    c.applications().list().await.map_err(err)?;
    c.application("sys").get().await.map_err(err)?;
    c.device_states().list().await.map_err(err)?;
    c.mailboxes().list().await.map_err(err)?;
    c.recordings().list_stored().await.map_err(err)?;
    c.channels().list().await.map_err(err)?;
    c.bridges().list().await.map_err(err)?;
    Ok(())
}

/// `channel-control`: every channel control on one call.
pub async fn channel_control(c: &Client) -> Outcome {
    let mut events = c.events();
    c.channels()
        .originate("PJSIP/hello@loop")
        .with(|o| o.app("hello").app_args("caller").channel_id("ctl-out-1"))
        .await
        .map_err(err)?;
    let inbound = channel_of(&next(&mut events, |e| is_start(e, false)).await?);
    let ch = c.channel(inbound.as_str());
    ch.ring().await.map_err(err)?;
    ch.ring_stop().await.map_err(err)?;
    ch.progress().await.map_err(err)?;
    let mut inbound_events = ch.events();
    ch.answer().await.map_err(err)?;
    inbound_events.answered().await.ok_or("never answered")?;
    next(&mut events, |e| is_start(e, true)).await?;
    ch.mute()
        .with(|o| o.direction(MuteDirection::Both))
        .await
        .map_err(err)?;
    ch.unmute()
        .with(|o| o.direction(MuteDirection::Both))
        .await
        .map_err(err)?;
    ch.hold().await.map_err(err)?;
    ch.unhold().await.map_err(err)?;
    ch.start_moh()
        .with(|o| o.moh_class("default"))
        .await
        .map_err(err)?;
    ch.stop_moh().await.map_err(err)?;
    ch.start_silence().await.map_err(err)?;
    ch.stop_silence().await.map_err(err)?;
    ch.set_channel_var("CTL")
        .with(|o| o.value("one two"))
        .await
        .map_err(err)?;
    let v = ch.get_channel_var("CTL").await.map_err(err)?;
    if v.value != "one two" {
        return Err(format!("CTL is {:?}", v.value));
    }
    ch.get().await.map_err(err)?;
    c.channels().list().await.map_err(err)?;
    c.channel("ctl-out-1")
        .send_dtmf()
        .with(|o| {
            o.dtmf("12")
                .before(100)
                .between(150)
                .duration(120)
                .after(50)
        })
        .await
        .map_err(err)?;
    for _ in 0..2 {
        next(
            &mut events,
            |e| matches!(e, Event::ChannelDtmfReceived(d) if d.channel.id == inbound),
        )
        .await?;
    }
    ch.rtpstatistics().await.map_err(err)?;
    ch.hangup()
        .with(|o| o.reason(HangupReason::Normal))
        .await
        .map_err(err)?;
    for _ in 0..2 {
        next(&mut events, |e| matches!(e, Event::StasisEnd(_))).await?;
    }
    Ok(())
}

/// `call-failures`: busy, unanswered, unknown endpoint, and a Local channel
/// sent back to the dialplan.
pub async fn call_failures(c: &Client) -> Outcome {
    let mut events = c.events();
    for (endpoint, id, timeout) in [
        ("PJSIP/busy@loop", "fail-busy-1", 5),
        ("PJSIP/ring@loop", "fail-ring-1", 2),
    ] {
        let create = c
            .channels()
            .create(endpoint, "hello")
            .with(|o| o.channel_id(id));
        let mut created = create.start().await.map_err(err)?;
        created
            .handle
            .dial()
            .with(|o| o.timeout(timeout))
            .await
            .map_err(err)?;
        created
            .events
            .destroyed()
            .await
            .ok_or("no ChannelDestroyed")?;
    }
    match c
        .channels()
        .originate("PJSIP/nobody@nowhere")
        .with(|o| o.app("hello"))
        .await
    {
        Err(ari_proto::RequestError::Api(_)) => {}
        other => return Err(format!("an unknown endpoint gave {other:?}")),
    }
    c.channels()
        .create("Local/wait@default", "hello")
        .with(|o| o.channel_id("fail-loc-1").other_channel_id("fail-loc-2"))
        .await
        .map_err(err)?;
    let local = c.channel("fail-loc-1");
    local.dial().await.map_err(err)?;
    next(
        &mut events,
        |e| matches!(e, Event::StasisStart(s) if s.channel.id == "fail-loc-1"),
    )
    .await?;
    local
        .continue_in_dialplan()
        .with(|o| o.context("default").extension("playback").priority(1))
        .await
        .map_err(err)?;
    next(
        &mut events,
        |e| matches!(e, Event::StasisEnd(s) if s.channel.id == "fail-loc-1"),
    )
    .await?;
    // It may be gone already: any answer will do.
    let _ = local.hangup().await;
    Ok(())
}

/// `bridge-mixing`: two calls in a mixing bridge, music, a playback stopped early.
pub async fn bridge_mixing(c: &Client) -> Outcome {
    let mut events = c.events();
    let mut inbound = Vec::new();
    for (leg, args) in [("br-out-a", "caller-a"), ("br-out-b", "caller-b")] {
        c.channels()
            .originate("PJSIP/bridge@loop")
            .with(|o| o.app("bridge-app").app_args(args).channel_id(leg))
            .await
            .map_err(err)?;
        let id = channel_of(&next(&mut events, |e| is_start(e, false)).await?);
        c.channel(id.as_str()).answer().await.map_err(err)?;
        next(
            &mut events,
            |e| matches!(e, Event::StasisStart(s) if s.channel.id == leg),
        )
        .await?;
        inbound.push(id);
    }
    c.bridges()
        .create()
        .with(|o| o.bridge_id("bridge-1").r#type("mixing").name("conf"))
        .await
        .map_err(err)?;
    let bridge = c.bridge("bridge-1");
    bridge
        .add_channel(inbound.iter().map(String::as_str))
        .await
        .map_err(err)?;
    for _ in 0..2 {
        next(&mut events, |e| matches!(e, Event::ChannelEnteredBridge(_))).await?;
    }
    bridge
        .start_moh()
        .with(|o| o.moh_class("default"))
        .await
        .map_err(err)?;
    bridge.stop_moh().await.map_err(err)?;
    let (_, playback) = bridge
        .play_with_id("br-pb-1", ["sound:tt-monkeys"])
        .tracked()
        .await
        .map_err(err)?;
    let mut playback = playback.ok_or("play tracks its playback")?;
    next(&mut playback, |e| matches!(e, Event::PlaybackStarted(_))).await?;
    c.playback("br-pb-1").stop().await.map_err(err)?;
    playback.finished().await.ok_or("no PlaybackFinished")?;
    c.bridges().list().await.map_err(err)?;
    bridge.get().await.map_err(err)?;
    bridge
        .remove_channel([inbound[0].as_str()])
        .await
        .map_err(err)?;
    next(&mut events, |e| matches!(e, Event::ChannelLeftBridge(_))).await?;
    bridge.destroy().await.map_err(err)?;
    c.channel("br-out-a").hangup().await.map_err(err)?;
    c.channel("br-out-b").hangup().await.map_err(err)?;
    for _ in 0..4 {
        next(&mut events, |e| matches!(e, Event::StasisEnd(_))).await?;
    }
    Ok(())
}

fn expect_status<T: std::fmt::Debug>(
    outcome: Result<T, ari_proto::RequestError>,
    status: u16,
) -> Outcome {
    match outcome {
        Err(ari_proto::RequestError::Api(e)) if e.status == status => Ok(()),
        other => Err(format!("expected {status}, got {other:?}")),
    }
}

/// `errors`: the error answers the typed API can ask for (the trace's
/// malformed requests, wrong password and read-only user are left out).
pub async fn errors(c: &Client) -> Outcome {
    let mut events = c.events();
    expect_status(c.channel("nope").get().await, 404)?;
    expect_status(c.channel("nope").hangup().await, 404)?;
    expect_status(
        c.channels()
            .originate("PJSIP/x@nowhere")
            .with(|o| o.app("errs"))
            .await,
        500,
    )?;
    c.channels()
        .originate("Local/wait@default")
        .with(|o| o.app("errs").channel_id("err-1"))
        .await
        .map_err(err)?;
    next(
        &mut events,
        |e| matches!(e, Event::StasisStart(s) if s.channel.id == "err-1"),
    )
    .await?;
    c.channel("err-1")
        .play(["sound:hello-world"])
        .await
        .map_err(err)?;
    c.bridges()
        .create()
        .with(|o| o.bridge_id("err-br-1").r#type("mixing"))
        .await
        .map_err(err)?;
    expect_status(c.bridge("err-br-1").add_channel(["nope"]).await, 400)?;
    expect_status(c.playback("nope").get().await, 404)?;
    c.bridge("err-br-1").destroy().await.map_err(err)?;
    c.channel("err-1").hangup().await.map_err(err)?;
    expect_status(c.stored_recording("nope").get_stored().await, 404)?;
    expect_status(c.channel("a b/c").answer().await, 404)?;
    Ok(())
}

/// `rest-over-websocket`: every request as a `RESTRequest` frame (the
/// trace's two malformed frames are left out).
pub async fn rest_over_websocket(c: &Client) -> Outcome {
    let mut events = c.events();
    c.asterisk().get_info().await.map_err(err)?;
    c.channels()
        .originate("PJSIP/hello@loop")
        .with(|o| o.app("hello").app_args("caller").channel_id("ws-out-1"))
        .await
        .map_err(err)?;
    let inbound = channel_of(&next(&mut events, |e| is_start(e, false)).await?);
    let ch = c.channel(inbound.as_str());
    ch.answer().await.map_err(err)?;
    let (_, playback) = ch
        .play_with_id("ws-pb-1", ["sound:hello-world"])
        .tracked()
        .await
        .map_err(err)?;
    playback
        .ok_or("play tracks its playback")?
        .finished()
        .await
        .ok_or("no PlaybackFinished")?;
    ch.set_channel_var("FOO")
        .with(|o| o.value("bar"))
        .await
        .map_err(err)?;
    let v = ch.get_channel_var("FOO").await.map_err(err)?;
    if v.value != "bar" {
        return Err(format!("FOO is {:?}", v.value));
    }
    ch.hangup().await.map_err(err)?;
    expect_status(c.channel("nope").get().await, 404)?;
    expect_status(c.stored_recording("nope").get_stored_file().await, 404)?;
    for _ in 0..2 {
        next(&mut events, |e| matches!(e, Event::StasisEnd(_))).await?;
    }
    Ok(())
}

type Pending =
    futures_util::stream::FuturesUnordered<futures_util::future::BoxFuture<'static, Outcome>>;

fn spawn_call<O>(pending: &mut Pending, call: ari_client::Pending<O>)
where
    O: ari_proto::Operation + Send + 'static,
    O::Response: Send + 'static,
{
    use futures_util::FutureExt;
    pending.push(
        std::future::IntoFuture::into_future(call)
            .map(|r| r.map(|_| ()).map_err(err))
            .boxed(),
    );
}

/// `load-30-calls`: 30 concurrent calls, every request sent without
/// waiting for the others.
pub async fn load_30_calls(c: &Client) -> Outcome {
    use futures_util::StreamExt;
    use futures_util::future::{Either, select};
    use std::collections::HashSet;
    const CALLS: usize = 30;
    let mut events = c.events();
    let mut pending = Pending::new();
    for k in 1..=CALLS {
        let originate = c.channels().originate("PJSIP/hello@loop").with(|o| {
            o.app("hello")
                .app_args("caller")
                .channel_id(format!("load-out-{k}"))
                .caller_id(format!("load <{k}>"))
        });
        spawn_call(&mut pending, originate);
    }
    let (mut played, mut out_started, mut ended) = (HashSet::new(), HashSet::new(), 0);
    while ended < 2 * CALLS {
        let event = if pending.is_empty() {
            events.next().await
        } else {
            match select(events.next(), pending.next()).await {
                Either::Left((event, _)) => event,
                Either::Right((done, _)) => {
                    done.ok_or("no request")??;
                    continue;
                }
            }
        };
        let event = event
            .ok_or("the event stream ended")?
            .map_err(|l| format!("{l:?}"))?;
        let ready = match &event {
            Event::StasisStart(s) if s.args.is_empty() => {
                let (id, k) = (
                    s.channel.id.to_string(),
                    s.channel.caller.number.to_string(),
                );
                spawn_call(&mut pending, c.channel(id.as_str()).answer());
                spawn_call(
                    &mut pending,
                    c.channel(id.as_str())
                        .play_with_id(format!("load-pb-{k}"), ["sound:beep"]),
                );
                None
            }
            Event::StasisStart(s) => s.channel.id.strip_prefix("load-out-").map(|k| {
                out_started.insert(k.to_string());
                k.to_string()
            }),
            Event::PlaybackFinished(p) => p.playback.id.strip_prefix("load-pb-").map(|k| {
                played.insert(k.to_string());
                k.to_string()
            }),
            Event::ChannelDtmfReceived(d) if !d.channel.id.starts_with("load-out-") => {
                spawn_call(&mut pending, c.channel(d.channel.id.as_str()).hangup());
                None
            }
            Event::StasisEnd(_) => {
                ended += 1;
                None
            }
            _ => None,
        };
        if let Some(k) = ready.filter(|k| played.contains(k) && out_started.contains(k)) {
            spawn_call(
                &mut pending,
                c.channel(format!("load-out-{k}"))
                    .send_dtmf()
                    .with(|o| o.dtmf("1")),
            );
        }
    }
    while let Some(done) = pending.next().await {
        done?;
    }
    Ok(())
}

/// `reconnect`: Asterisk restarts under the app; it reconnects by itself.
pub async fn reconnect(c: &Client) -> Outcome {
    use futures_util::StreamExt;
    let mut states = c.connection_events();
    let mut events = c.events();
    c.asterisk().ping().await.map_err(err)?;
    while let Some(state) = states.next().await {
        if matches!(
            state,
            ari_proto::ConnectionEvent::Open { reconnected: true }
        ) {
            break;
        }
    }
    c.asterisk().get_info().await.map_err(err)?;
    c.channels()
        .originate("PJSIP/hello@loop")
        .with(|o| o.app("hello").app_args("caller").channel_id("rc-out-1"))
        .await
        .map_err(err)?;
    let inbound = channel_of(&next(&mut events, |e| is_start(e, false)).await?);
    c.channel(inbound.as_str()).answer().await.map_err(err)?;
    c.channel(inbound.as_str()).hangup().await.map_err(err)?;
    for _ in 0..2 {
        next(&mut events, |e| matches!(e, Event::StasisEnd(_))).await?;
    }
    Ok(())
}

/// `app-lifecycle`: three connections (one replaces an app of the first,
/// one subscribes to everything), event filters, a bridge.
pub async fn app_lifecycle<F>(c: &Client, connect: impl Fn(Config) -> F) -> Outcome
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    use ari_proto::serde_json::json;
    let base = c.application("hello");
    let mut events = c.events();
    let config = |apps: &[&str], all: bool| {
        let mut config =
            Config::new(&c.config().base_url, apps[0], "asterisk", "asterisk").map_err(err)?;
        config.apps = apps.iter().map(|a| a.to_string()).collect();
        config.subscribe_all = all;
        Ok::<_, String>(config)
    };
    let watcher = connect(config(&["watcher"], false)?).await.map_err(err)?;
    let spy = connect(config(&["spy"], true)?).await.map_err(err)?;
    base.get().await.map_err(err)?;
    let allowed = json!({"allowed": [{"type": "StasisStart"}, {"type": "StasisEnd"}, {"type": "ChannelDtmfReceived"}]});
    base.filter()
        .with(|o| o.filter(allowed))
        .await
        .map_err(err)?;
    c.channels()
        .originate("PJSIP/hello@loop")
        .with(|o| o.app("hello").app_args("caller").channel_id("app-out-1"))
        .await
        .map_err(err)?;
    let inbound = channel_of(&next(&mut events, |e| is_start(e, false)).await?);
    c.channel(inbound.as_str()).answer().await.map_err(err)?;
    next(
        &mut events,
        |e| matches!(e, Event::StasisStart(s) if s.channel.id == "app-out-1"),
    )
    .await?;
    c.channel("app-out-1")
        .send_dtmf()
        .with(|o| o.dtmf("5"))
        .await
        .map_err(err)?;
    next(
        &mut events,
        |e| matches!(e, Event::ChannelDtmfReceived(d) if d.channel.id == inbound),
    )
    .await?;
    base.filter()
        .with(|o| o.filter(json!({})))
        .await
        .map_err(err)?;
    c.bridges()
        .create()
        .with(|o| o.bridge_id("app-br-1").r#type("mixing"))
        .await
        .map_err(err)?;
    let bridge = c.bridge("app-br-1");
    bridge
        .add_channel([inbound.as_str(), "app-out-1"])
        .await
        .map_err(err)?;
    for _ in 0..2 {
        next(&mut events, |e| matches!(e, Event::ChannelEnteredBridge(_))).await?;
    }
    bridge.destroy().await.map_err(err)?;
    c.channel(inbound.as_str()).hangup().await.map_err(err)?;
    for _ in 0..2 {
        next(&mut events, |e| matches!(e, Event::StasisEnd(_))).await?;
    }
    spy.close().await;
    watcher.close().await;
    Ok(())
}

/// Replays `trace` against `app` with a client from `connect`; `None` when
/// the whole trace was played without a mismatch.
async fn replay<F, A>(
    trace: &str,
    setup: &Setup,
    connect: impl FnOnce(Config) -> F,
    app: A,
) -> Option<String>
where
    F: Future<Output = Result<Client, ConnectError>>,
    A: AsyncFnOnce(&Client) -> Outcome,
{
    let mut recorded = conformance::bundled_trace(trace).ok()?;
    recorded.records.retain(|r| !setup.leaves_out(&r.kind));
    let fake = FakeAsterisk::start(recorded, ServeOptions::default()).ok()?;
    let mut config = Config::new(&fake.base_url(), setup.apps[0], "asterisk", "asterisk").ok()?;
    config.apps = setup.apps.iter().map(|a| a.to_string()).collect();
    if setup.over_websocket {
        config.rest_transport = ari_proto::RestTransport::WebSocket;
    }
    let client = match connect(config).await {
        Ok(c) => c,
        Err(e) => return Some(format!("{trace}: {e}")),
    };
    let outcome = app(&client).await;
    client.close().await;
    let report = fake.finish();
    match outcome {
        Err(e) => Some(format!(
            "{trace}: the app failed: {e}; {:?}",
            report.mismatches
        )),
        Ok(()) if !report.completed || !report.mismatches.is_empty() => Some(format!(
            "{trace}: completed {}, mismatches {:?}",
            report.completed, report.mismatches
        )),
        Ok(()) => None,
    }
}

/// How a trace is replayed.
#[derive(Default)]
struct Setup {
    apps: &'static [&'static str],
    over_websocket: bool,
    /// HTTP request ids, and `request_id`s of REST-over-WebSocket requests,
    /// that the typed API cannot send (malformed on purpose): left out of the
    /// replay with their answers.
    left_out: &'static [&'static str],
}

impl Setup {
    fn leaves_out(&self, kind: &conformance::trace::Kind) -> bool {
        use conformance::trace::Kind;
        let id = match kind {
            Kind::HttpRequest { id, .. } | Kind::HttpResponse { id, .. } => id.to_string(),
            Kind::WsSend { text, .. } | Kind::WsRecv { text, .. } => {
                let v: ari_proto::serde_json::Value =
                    ari_proto::serde_json::from_str(text).unwrap_or_default();
                if kind_is_send(kind) && v.get("request_id").is_none() {
                    // The frame that is not JSON at all.
                    return self.left_out.contains(&"not-json") && !text.starts_with('{');
                }
                match v.get("request_id").and_then(|r| r.as_str()) {
                    Some(r) => r.to_string(),
                    None => return false,
                }
            }
            _ => return false,
        };
        self.left_out.contains(&id.as_str())
    }
}

fn kind_is_send(kind: &conformance::trace::Kind) -> bool {
    matches!(kind, conformance::trace::Kind::WsSend { .. })
}

/// Replays every scenario; returns what failed.
pub async fn run_all<F>(connect: impl Fn(Config) -> F) -> Vec<String>
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    let hello = Setup {
        apps: &["hello"],
        ..Setup::default()
    };
    let mut failed = Vec::new();
    let sys = Setup {
        apps: &["sys"],
        ..Setup::default()
    };
    failed.extend(replay("system-info.jsonl", &sys, &connect, system_info).await);
    failed.extend(replay("channel-control.jsonl", &hello, &connect, channel_control).await);
    failed.extend(replay("call-failures.jsonl", &hello, &connect, call_failures).await);
    let bridge = Setup {
        apps: &["bridge-app"],
        ..Setup::default()
    };
    failed.extend(replay("bridge-mixing.jsonl", &bridge, &connect, bridge_mixing).await);
    let errs = Setup {
        apps: &["errs"],
        left_out: &["3", "10", "11", "16", "17", "18"],
        ..Setup::default()
    };
    failed.extend(replay("errors.jsonl", &errs, &connect, errors).await);
    let ws = Setup {
        apps: &["hello"],
        over_websocket: true,
        left_out: &["not-json", "", "r9"],
    };
    failed.extend(
        replay(
            "rest-over-websocket.jsonl",
            &ws,
            &connect,
            rest_over_websocket,
        )
        .await,
    );
    failed.extend(replay("load-30-calls.jsonl", &hello, &connect, load_30_calls).await);
    failed.extend(replay("reconnect.jsonl", &hello, &connect, reconnect).await);
    let lifecycle = Setup {
        apps: &["hello", "watcher"],
        ..Setup::default()
    };
    failed.extend(
        replay(
            "app-lifecycle.jsonl",
            &lifecycle,
            &connect,
            async |c: &Client| app_lifecycle(c, &connect).await,
        )
        .await,
    );
    failed
}
