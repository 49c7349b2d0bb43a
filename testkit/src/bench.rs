//! Benchmarks of a client on a runtime, against the
//! [`Blast`](crate::blast::Blast) load server, the call simulator and the
//! [`AmiBlast`](crate::ami_blast::AmiBlast) AMI load server on loopback,
//! each in a child process so that CPU time and memory are the client's.
//! The adapters' bench programs run them and print the numbers.

use crate::ami_blast::MARKER_USER_EVENT;
use crate::blast::MARKER_TYPE;
use crate::broadcast_server::Pace;
use crate::child::ChildServer;
use ari_client::ami::{self, AmiClient};
use ari_client::{Client, ConnectError, Lagged, Runtime};
use ari_proto::{Config, Event};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use futures_util::{FutureExt, StreamExt};
use std::future::Future;
use std::time::{Duration, Instant};

/// Events in one AMI ingest or sink round (times `ARI_BENCH_SCALE`).
pub const AMI_EVENTS: usize = 500_000;

/// What a run measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Measured {
    /// Items handled (events, frames, round trips).
    pub count: u64,
    /// Wall time.
    pub seconds: f64,
    /// CPU time of the whole process (user + system).
    pub cpu_seconds: f64,
    /// Events the consumer was told it lost.
    pub lost: u64,
}

impl Measured {
    /// Items per second.
    pub fn rate(&self) -> f64 {
        self.count as f64 / self.seconds
    }

    /// CPU microseconds per item.
    pub fn cpu_us_per_item(&self) -> f64 {
        self.cpu_seconds * 1e6 / self.count.max(1) as f64
    }
}

/// User + system CPU seconds of this process so far (from `/proc/self/stat`).
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line; 12 and 13 after `)`.
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

/// Peak resident memory of this process in KiB (`VmHWM`).
pub fn max_rss_kib() -> u64 {
    proc_status_kib("VmHWM:")
}

/// Resident memory of this process now, in KiB (`VmRSS`).
pub fn rss_kib() -> u64 {
    proc_status_kib("VmRSS:")
}

fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Ingest: one typed stream of every event, counting until the marker.
pub async fn ingest<F>(connect: impl FnOnce(Config) -> F, events: usize) -> Result<Measured, String>
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    let blast = ChildServer::blast(events, None).map_err(|e| e.to_string())?;
    let config =
        Config::new(blast.base_url(), "hello", "bench", "bench").map_err(|e| e.to_string())?;
    let client = connect(config).await.map_err(|e| e.to_string())?;
    let stream = client.events();
    // The marker has a stream of its own: the counting one may lag.
    let marker = client.subscribe(ari_proto::Filter::Type(MARKER_TYPE.into()));
    client
        .channel("bench")
        .answer()
        .await
        .map_err(|e| e.to_string())?;
    let m = count_until_marker(stream, marker).await;
    client.close().await;
    Ok(m)
}

/// Counts the events `stream` yields, and those it reports lost, until the
/// marker arrives on `marker`; wall and CPU time from now.
async fn count_until_marker<S>(mut stream: S, mut marker: ari_client::EventStream) -> Measured
where
    S: futures_util::stream::FusedStream<Item = Result<Event, Lagged>> + Unpin,
{
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let mut m = Measured::default();
    let count = |item: Result<Event, Lagged>, m: &mut Measured| match item {
        Ok(e) if matches!(&e, Event::Unknown(u) if u.type_name == MARKER_TYPE) => {}
        Ok(_) => m.count += 1,
        Err(Lagged(n)) => m.lost += n,
    };
    loop {
        futures_util::select_biased! {
            item = stream.next() => match item {
                Some(item) => count(item, &mut m),
                None => break,
            },
            _ = marker.next() => {
                // Whatever is still queued arrived before the marker.
                while let Some(Some(item)) = stream.next().now_or_never() {
                    count(item, &mut m);
                }
                break;
            }
        }
    }
    m.seconds = start.elapsed().as_secs_f64();
    m.cpu_seconds = cpu_seconds() - cpu;
    m
}

/// Routing: one stream per channel for `channels` channels, and the flood's
/// events spread over them (see [`Blast::start_spread`](crate::blast::Blast::start_spread); in a child
/// process, so that the memory read is the client's), all streams read
/// together. Returns the measurement and the client's resident memory per
/// subscription in bytes.
pub async fn routing<F>(
    connect: impl FnOnce(Config) -> F,
    events: usize,
    channels: usize,
) -> Result<(Measured, f64), String>
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    let blast = ChildServer::blast(events, Some(channels)).map_err(|e| e.to_string())?;
    let config =
        Config::new(blast.base_url(), "hello", "bench", "bench").map_err(|e| e.to_string())?;
    let client = connect(config).await.map_err(|e| e.to_string())?;
    let rss_before = rss_kib();
    let streams: Vec<_> = (0..channels)
        .map(|i| client.channel(format!("bench-{i}")).events())
        .collect();
    let all = futures_util::stream::select_all(streams);
    let marker = client.subscribe(ari_proto::Filter::Type(MARKER_TYPE.into()));
    // Answered after every subscription is in place; it also starts the flood.
    client
        .channel("bench")
        .answer()
        .await
        .map_err(|e| e.to_string())?;
    let per_subscription = rss_kib().saturating_sub(rss_before) as f64 * 1024.0 / channels as f64;
    let m = count_until_marker(all, marker).await;
    client.close().await;
    Ok((m, per_subscription))
}

/// The limit: the same flood into a WebSocket reader that parses nothing.
pub async fn sink<R: Runtime>(runtime: R, events: usize) -> Result<Measured, String> {
    let blast = ChildServer::blast(events, None).map_err(|e| e.to_string())?;
    let url = format!(
        "{}/ari/events?app=hello",
        blast.base_url().replace("http://", "ws://")
    );
    let uri: http::Uri = url.parse().map_err(|e| format!("{e}"))?;
    let tcp = runtime
        .connect(
            uri.host().unwrap_or("127.0.0.1").to_string(),
            uri.port_u16().unwrap_or(80),
        )
        .await
        .map_err(|e| e.to_string())?;
    let (mut ws, _) = async_tungstenite::client_async(url, tcp)
        .await
        .map_err(|e| e.to_string())?;
    ws.send(async_tungstenite::tungstenite::Message::text("go"))
        .await
        .map_err(|e| e.to_string())?;
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let mut m = Measured::default();
    while let Some(frame) = ws.next().await {
        frame.map_err(|e| e.to_string())?;
        m.count += 1;
        if m.count as usize > events {
            m.count -= 1;
            break;
        }
    }
    m.seconds = start.elapsed().as_secs_f64();
    m.cpu_seconds = cpu_seconds() - cpu;
    Ok(m)
}

/// What the AMI benchmarks log in with: events on, and no `CoreSettings`
/// or pings of the client's own on the wire.
fn ami_config(address: &str) -> Result<ami::Config, String> {
    let mut config = ami::Config::new(address, "bench", "bench").map_err(|e| e.to_string())?;
    config.learn_server_version = false;
    config.ping_interval = None;
    config.events = ami::EventMask::All;
    Ok(config)
}

/// Whether `event` is the [`AmiBlast`](crate::ami_blast::AmiBlast)'s marker.
fn is_ami_marker(event: &ami::Event) -> bool {
    matches!(event, ami::Event::UserEvent(u) if u.user_event().is_some_and(|v| v == MARKER_USER_EVENT))
}

/// AMI ingest: an [`AmiClient`] logged in to the AMI load server, one typed
/// stream of every event ([`AmiClient::events`]), counted until the marker;
/// wall and CPU time from the `Events: on` that starts the flood. `lost` is
/// `events` less the events received (the stream reports those it dropped
/// as `Lagged`; a dropped marker ends the count too).
pub async fn ami_ingest<R: Runtime>(runtime: R, events: usize) -> Result<Measured, String> {
    let blast = ChildServer::ami_blast(events).map_err(|e| e.to_string())?;
    ami_ingest_from(runtime, blast.base_url(), events).await
}

/// [`ami_ingest`] from an AMI load server already running at `address`
/// (one in this process, for tests).
pub async fn ami_ingest_from<R: Runtime>(
    runtime: R,
    address: &str,
    events: usize,
) -> Result<Measured, String> {
    let client = AmiClient::connect(runtime, ami_config(address)?)
        .await
        .map_err(|e| e.to_string())?;
    let mut stream = client.events();
    let (start, cpu) = (Instant::now(), cpu_seconds());
    // The stream exists: this starts the flood.
    let on = client.send(ami::Action::new("Events").header("EventMask", "on"));
    let (mut m, mut lagged) = (Measured::default(), 0);
    while let Some(item) = stream.next().await {
        match item {
            Ok(event) if is_ami_marker(&event) => break,
            Ok(_) => m.count += 1,
            Err(Lagged(n)) => lagged += n,
        }
        if m.count + lagged > events as u64 {
            break;
        }
    }
    m.seconds = start.elapsed().as_secs_f64();
    m.cpu_seconds = cpu_seconds() - cpu;
    m.lost = (events as u64).saturating_sub(m.count);
    on.await.map_err(|e| format!("Events: {e}"))?;
    client.close().await;
    Ok(m)
}

/// FastAGI: our server (the recorded `agi-load` script: four commands a
/// call) against a child process playing Asterisk's side of `calls`
/// recorded calls, `concurrency` at once. With `memory`, first the
/// resident memory per open session, `concurrency` sessions held open
/// (environment sent, first command unanswered).
pub async fn agi<R: Runtime>(
    runtime: R,
    calls: usize,
    concurrency: usize,
    memory: bool,
) -> Result<(Measured, Option<u64>), String> {
    use ari_client::agi::{FastAgiServer, RawCommand, Routes, ServerConfig};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let trace =
        conformance::agi_check::AgiTrace::read(&conformance::bundled_agi_trace("agi-load.jsonl"))?;
    let conn = trace.connections().into_iter().next().ok_or("no call")?;
    let script = Arc::new(conformance::agi_serve::recorded_commands(&trace, &conn));
    let done = Arc::new(AtomicUsize::new(0));
    let finished = done.clone();
    let routes = Routes::new().fallback(move |agi| {
        let (script, finished) = (script.clone(), finished.clone());
        async move {
            for line in script.iter() {
                agi.send_raw_reply(&RawCommand::new(line.clone())).await?;
            }
            finished.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    });
    let mut config = ServerConfig::default();
    config.max_sessions = concurrency.max(1) * 2;
    let address = "127.0.0.1:0".parse().unwrap();
    let server = FastAgiServer::start(runtime.clone(), address, config, routes)
        .map_err(|e| e.to_string())?;
    let mut per_session = None;
    if memory {
        let before = rss_kib();
        let held =
            ChildServer::agi_hold(server.address(), concurrency).map_err(|e| e.to_string())?;
        wait_until(&runtime, "sessions held", || {
            server.active_sessions() >= concurrency
        })
        .await?;
        per_session = Some(rss_kib().saturating_sub(before) * 1024 / concurrency.max(1) as u64);
        drop(held);
        wait_until(&runtime, "sessions ended", || server.active_sessions() == 0).await?;
    }
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let callers =
        ChildServer::agi_calls(server.address(), calls, concurrency).map_err(|e| e.to_string())?;
    wait_until(&runtime, "the calls", || {
        done.load(Ordering::Relaxed) >= calls
    })
    .await?;
    let m = Measured {
        count: done.load(Ordering::Relaxed) as u64,
        seconds: start.elapsed().as_secs_f64(),
        cpu_seconds: cpu_seconds() - cpu,
        lost: 0,
    };
    drop(callers);
    Ok((m, per_session))
}

/// Waits (checking every 5 ms, at most 120 s) until `done` says so.
pub(crate) async fn wait_until<R: Runtime>(
    runtime: &R,
    what: &str,
    done: impl Fn() -> bool,
) -> Result<(), String> {
    let give_up = Instant::now() + Duration::from_secs(120);
    while !done() {
        if Instant::now() > give_up {
            return Err(format!("{what}: not within 120 s"));
        }
        runtime
            .sleep_until(runtime.now() + Duration::from_millis(5))
            .await;
    }
    Ok(())
}

/// The AMI limit: the same flood into a plain TCP reader that logs in by
/// hand and cuts the bytes into messages with [`ami_proto::Decoder`]
/// (lines found, nothing typed, no session), counting events until the
/// marker.
pub async fn ami_sink<R: Runtime>(runtime: R, events: usize) -> Result<Measured, String> {
    use ami_proto::{Decoder, Frame, Kind};
    let blast = ChildServer::ami_blast(events).map_err(|e| e.to_string())?;
    let address = blast.base_url().trim_start_matches("tcp://");
    let (host, port) = address
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse().ok()?)))
        .ok_or_else(|| format!("{address}: not host:port"))?;
    let mut tcp = runtime
        .connect(host, port)
        .await
        .map_err(|e| e.to_string())?;
    let mut decoder = Decoder::default();
    let mut buf = vec![0u8; 64 * 1024];
    // Reads once more; `false` at the end of the stream.
    macro_rules! read_more {
        () => {{
            let n = tcp.read(&mut buf).await.map_err(|e| e.to_string())?;
            decoder.feed(&buf[..n]);
            n > 0
        }};
    }
    let login = b"Action: Login\r\nActionID: 1\r\nUsername: bench\r\nSecret: bench\r\n\r\n";
    tcp.write_all(login).await.map_err(|e| e.to_string())?;
    'login: while read_more!() {
        while let Some(frame) = decoder.next_frame().map_err(|e| e.to_string())? {
            if matches!(&frame, Frame::Message(m) if matches!(m.kind(), Kind::Response(_))) {
                break 'login;
            }
        }
    }
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let on = b"Action: Events\r\nActionID: 2\r\nEventMask: on\r\n\r\n";
    tcp.write_all(on).await.map_err(|e| e.to_string())?;
    let mut m = Measured::default();
    'flood: while read_more!() {
        while let Some(frame) = decoder.next_frame().map_err(|e| e.to_string())? {
            let Frame::Message(message) = frame else {
                continue;
            };
            if let Kind::Event(name) = message.kind() {
                if name == "UserEvent"
                    && message
                        .get("UserEvent")
                        .is_some_and(|v| v == MARKER_USER_EVENT)
                {
                    break 'flood;
                }
                m.count += 1;
            }
        }
    }
    m.seconds = start.elapsed().as_secs_f64();
    m.cpu_seconds = cpu_seconds() - cpu;
    m.lost = (events as u64).saturating_sub(m.count);
    Ok(m)
}

/// REST round trips (`POST /channels/bench/answer`, 204), `in_flight` at a time; the
/// result and the p50 and p99 latencies.
pub async fn rest<F>(
    connect: impl FnOnce(Config) -> F,
    total: usize,
    in_flight: usize,
) -> Result<(Measured, Duration, Duration), String>
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    let blast = ChildServer::blast(0, None).map_err(|e| e.to_string())?;
    let mut config =
        Config::new(blast.base_url(), "hello", "bench", "bench").map_err(|e| e.to_string())?;
    config.max_in_flight = in_flight;
    let client = connect(config).await.map_err(|e| e.to_string())?;
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let mut latencies = Vec::with_capacity(total);
    let mut pending = futures_util::stream::FuturesUnordered::new();
    let mut sent = 0;
    while latencies.len() < total {
        while sent < total && pending.len() < in_flight {
            let c = client.clone();
            pending.push(async move {
                let t = Instant::now();
                c.channel("bench").answer().await.map(|_| t.elapsed())
            });
            sent += 1;
        }
        let took = pending
            .next()
            .await
            .ok_or("no request")?
            .map_err(|e| e.to_string())?;
        latencies.push(took);
    }
    let m = Measured {
        count: total as u64,
        seconds: start.elapsed().as_secs_f64(),
        cpu_seconds: cpu_seconds() - cpu,
        lost: 0,
    };
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    client.close().await;
    Ok((m, pct(0.50), pct(0.99)))
}

/// What the calls benchmark measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallsMeasured {
    /// Calls completed (`count`), failed (`lost`), wall and CPU time.
    pub run: Measured,
    /// Growth of resident memory while every call was active, per call, in bytes.
    pub bytes_per_active_call: f64,
}

/// Calls: `calls` simulated calls enter at once, each handled by the
/// per-call framework: answered, a prompt played to its end, then, once
/// every call has got that far (all active at once, when resident memory is
/// read), hung up. The simulator runs in a child process (see
/// [`crate::child`]), so CPU time and memory are the client's alone.
pub async fn calls<F>(
    connect: impl FnOnce(Config) -> F,
    calls: usize,
) -> Result<CallsMeasured, String>
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    let sim = ChildServer::call_simulator(calls).map_err(|e| e.to_string())?;
    let mut config =
        Config::new(sim.base_url(), "hello", "bench", "bench").map_err(|e| e.to_string())?;
    config.request_timeout = Duration::from_secs(60);
    let client = connect(config).await.map_err(|e| e.to_string())?;
    enum Progress {
        Active,
        Done(bool),
    }
    let (progress_tx, mut progress) = futures_channel::mpsc::unbounded::<Progress>();
    let (release_tx, release) = futures_channel::oneshot::channel::<()>();
    let release = release.shared();
    client.serve_calls(move |call| {
        let (progress, release) = (progress_tx.clone(), release.clone());
        async move {
            let channel = call.channel.clone();
            let playback = channel.channel_id().replacen("sim-", "sim-pb-", 1);
            let ok = async {
                channel.answer().await.ok()?;
                let mut started = channel
                    .play_with_id(playback, ["sound:beep"])
                    .start()
                    .await
                    .ok()?;
                started.events.finished().await?;
                let _ = progress.unbounded_send(Progress::Active);
                let _ = release.await;
                channel.hangup().await.ok()
            }
            .await
            .is_some();
            drop(call);
            let _ = progress.unbounded_send(Progress::Done(ok));
        }
    });
    let rss_before = rss_kib();
    let (start, cpu) = (Instant::now(), cpu_seconds());
    client
        .channel("warmup")
        .answer()
        .await
        .map_err(|e| e.to_string())?;
    let mut m = CallsMeasured::default();
    let (mut active, mut release_tx) = (0, Some(release_tx));
    while (m.run.count + m.run.lost) < calls as u64 {
        if active + m.run.lost as usize == calls
            && let Some(tx) = release_tx.take()
        {
            m.bytes_per_active_call =
                rss_kib().saturating_sub(rss_before) as f64 * 1024.0 / calls as f64;
            let _ = tx.send(());
        }
        match progress.next().await {
            Some(Progress::Active) => active += 1,
            Some(Progress::Done(true)) => m.run.count += 1,
            Some(Progress::Done(false)) => m.run.lost += 1,
            None => break,
        }
    }
    m.run.seconds = start.elapsed().as_secs_f64();
    m.run.cpu_seconds = cpu_seconds() - cpu;
    client.close().await;
    Ok(m)
}

/// What the broadcast benchmark measured.
#[derive(Debug, Clone, Default)]
pub struct BroadcastMeasured {
    /// Calls offered.
    pub calls: usize,
    /// Calls whose handler ran (distinct channels).
    pub served: usize,
    /// Channels whose handler ran more than once (0 when all is well).
    pub served_twice: usize,
    /// Offers nobody claimed within the claim timeout.
    pub unclaimed: usize,
    /// Claims answered (204, 409 and 404), over all instances.
    pub claims: u64,
    /// From the first offer to the last hangup or claim answered.
    pub seconds: f64,
    /// CPU time of the whole process (client and fake) over the run.
    pub cpu_seconds: f64,
    /// From the `CallBroadcast` sent to the handler of its `StasisStart`
    /// starting: median and 99th percentile.
    pub p50: Duration,
    /// See [`p50`](Self::p50).
    pub p99: Duration,
    /// Calls won per instance.
    pub spread: Vec<u64>,
}

impl BroadcastMeasured {
    /// Calls served per second.
    pub fn rate(&self) -> f64 {
        self.served as f64 / self.seconds
    }

    /// Whether every call offered was served exactly once.
    pub fn exactly_once(&self) -> bool {
        self.served == self.calls && self.served_twice == 0 && self.unclaimed == 0
    }
}

/// StasisBroadcast: `instances` clients (apps `bcast-bench-0` ..), each
/// with [`Client::serve_broadcast_calls`] (room for every call), against
/// the [`BroadcastServer`](crate::broadcast_server::BroadcastServer)
/// offering `calls` calls at `pace` to all of them (3 s to claim, as the
/// shared Asterisk's dialplan). Each handler notes when it started,
/// answers and hangs up. The run ends when every call was hung up and
/// every instance had its answer to every claim. The fake runs in this process (its `Instant` of
/// each offer is the start of the latency), so CPU time is both sides'.
pub async fn broadcast<R: Runtime, F>(
    runtime: R,
    connect: impl Fn(Config) -> F,
    instances: usize,
    calls: usize,
    pace: crate::broadcast_server::Pace,
) -> Result<BroadcastMeasured, String>
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    use crate::broadcast_server::BroadcastServer;
    use ari_client::BroadcastPolicy;
    use std::sync::Arc;
    let server = Arc::new(
        BroadcastServer::start("bcast-", Duration::from_secs(3)).map_err(|e| e.to_string())?,
    );
    let (handled_tx, mut handled) =
        futures_channel::mpsc::unbounded::<(String, Option<Duration>)>();
    let mut pool = Vec::new();
    for i in 0..instances {
        let app = format!("bcast-bench-{i}");
        let mut config =
            Config::new(&server.base_url(), &app, "bench", "bench").map_err(|e| e.to_string())?;
        config.request_timeout = Duration::from_secs(60);
        let client = connect(config).await.map_err(|e| e.to_string())?;
        let (server, handled_tx) = (server.clone(), handled_tx.clone());
        let stats =
            client.serve_broadcast_calls(BroadcastPolicy::up_to(calls.max(1)), move |call| {
                let (server, handled_tx) = (server.clone(), handled_tx.clone());
                async move {
                    let started = Instant::now();
                    let id = call.channel.channel_id().to_string();
                    let latency = server.offered_at(&id).map(|t| started - t);
                    let _ = call.channel.answer().await;
                    let _ = call.channel.hangup().await;
                    let _ = handled_tx.unbounded_send((id, latency));
                }
            });
        pool.push((client, stats));
    }
    drop(handled_tx);
    let cpu = cpu_seconds();
    server.offer_calls(calls, pace, instances);
    let mut seen = std::collections::HashMap::<String, usize>::new();
    let mut latencies = Vec::with_capacity(calls);
    let give_up = Instant::now() + Duration::from_secs(120);
    loop {
        while let Some(Some((id, latency))) = handled.next().now_or_never() {
            *seen.entry(id).or_default() += 1;
            latencies.extend(latency);
        }
        let report = server.report();
        // Every call ended, and every instance has had its answer to
        // every offer (a losing claim may come after the winner's hangup).
        let answered = pool
            .iter()
            .map(|(_, s)| s.won() + s.lost() + s.failed() + s.declined())
            .sum::<u64>();
        if report.offered == calls
            && report.hung_up + report.unclaimed == calls
            && answered == (calls * instances) as u64
        {
            break;
        }
        if Instant::now() > give_up {
            return Err(format!("the calls: not within 120 s: {report:?}"));
        }
        runtime
            .sleep_until(runtime.now() + Duration::from_millis(5))
            .await;
    }
    let cpu_seconds = cpu_seconds() - cpu;
    // The last handlers report just after their hangup was answered.
    let settle = Instant::now() + Duration::from_secs(5);
    while seen.len() < server.report().hung_up && Instant::now() < settle {
        match handled.next().now_or_never() {
            Some(Some((id, latency))) => {
                *seen.entry(id).or_default() += 1;
                latencies.extend(latency);
            }
            _ => {
                runtime
                    .sleep_until(runtime.now() + Duration::from_millis(1))
                    .await
            }
        }
    }
    let report = server.report();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let m = BroadcastMeasured {
        calls,
        served: seen.len(),
        served_twice: seen.values().filter(|n| **n > 1).count(),
        unclaimed: report.unclaimed,
        claims: report.claims(),
        seconds: report.busy.unwrap_or_default().as_secs_f64(),
        cpu_seconds,
        p50: pct(0.50),
        p99: pct(0.99),
        spread: pool.iter().map(|(_, stats)| stats.won()).collect(),
    };
    for (client, _) in pool {
        client.close().await;
    }
    Ok(m)
}

/// `true` the first time only: freed memory stays resident and is reused,
/// so only a process's first memory reading is truthful (the others are not
/// printed; select a benchmark alone with `ARI_BENCH_ONLY` to get its own).
fn first_memory_reading() -> bool {
    static TAKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    !TAKEN.swap(true, std::sync::atomic::Ordering::Relaxed)
}

/// Whether `ARI_BENCH_ONLY` (a comma-separated list of `calls`, `ingest`,
/// `sink`, `routing`, `rest`, `ami_ingest`, `ami_sink`, `agi`,
/// `broadcast`) selects the
/// benchmark `name`; unset selects all.
fn selected(name: &str) -> bool {
    match std::env::var("ARI_BENCH_ONLY") {
        Ok(only) => only.split(',').any(|o| o.trim() == name),
        Err(_) => true,
    }
}

/// Runs the benchmarks selected by `ARI_BENCH_ONLY` (all by default) and
/// prints a table; `ARI_BENCH_SCALE` (default 1) multiplies the sizes,
/// `ARI_BENCH_ROUNDS` (default 3) sets the rounds of ingest and sink (ARI
/// and AMI: each round runs the client, then the sink).
pub async fn run_all<R: Runtime, F>(runtime: R, connect: impl Fn(Config) -> F, name: &str)
where
    F: Future<Output = Result<Client, ConnectError>>,
{
    let scale: usize = std::env::var("ARI_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let events = 200_000 * scale;
    println!(
        "{name}: {} events of load-30-calls cycled, loopback",
        events
    );
    let n = 10_000 * scale;
    if selected("calls") {
        let first = first_memory_reading();
        match calls(&connect, n).await {
            Ok(c) => println!(
                "  calls: {n} at once through the per-call framework: {:>7.0} calls/s, {:.1} us CPU/call, {} failed{}",
                c.run.rate(),
                c.run.cpu_us_per_item(),
                c.run.lost,
                if first {
                    format!(
                        ", {:.0} bytes of RSS per active call (client only)",
                        c.bytes_per_active_call
                    )
                } else {
                    String::new()
                },
            ),
            Err(e) => println!("  calls failed: {e}"),
        }
    }
    let rounds: usize = std::env::var("ARI_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    for round in 1..=rounds {
        let ingest = match selected("ingest") {
            true => Some(ingest(&connect, events).await),
            false => None,
        };
        let sink = match selected("sink") {
            true => Some(sink(runtime.clone(), events).await),
            false => None,
        };
        let mut line = format!("  round {round}:");
        match &ingest {
            Some(Ok(i)) => {
                line += &format!(
                    " ingest {:>9.0} ev/s  {:>5.2} us CPU/ev  lost {}",
                    i.rate(),
                    i.cpu_us_per_item(),
                    i.lost
                )
            }
            Some(Err(e)) => line += &format!(" ingest failed: {e}"),
            None => {}
        }
        match &sink {
            Some(Ok(s)) => line += &format!("   | sink {:>9.0} frames/s", s.rate()),
            Some(Err(e)) => line += &format!("   | sink failed: {e}"),
            None => {}
        }
        if let (Some(Ok(i)), Some(Ok(s))) = (&ingest, &sink) {
            line += &format!("  | ingest/sink {:.2}", i.rate() / s.rate());
        }
        if ingest.is_some() || sink.is_some() {
            println!("{line}");
        }
    }
    let ami_events = AMI_EVENTS * scale;
    if selected("ami_ingest") || selected("ami_sink") {
        println!("  AMI: {ami_events} events of ami-load cycled, loopback");
    }
    for round in 1..=rounds {
        let ingest = match selected("ami_ingest") {
            true => Some(ami_ingest(runtime.clone(), ami_events).await),
            false => None,
        };
        let sink = match selected("ami_sink") {
            true => Some(ami_sink(runtime.clone(), ami_events).await),
            false => None,
        };
        let mut line = format!("  AMI round {round}:");
        match &ingest {
            Some(Ok(i)) => {
                line += &format!(
                    " ingest {:>9.0} ev/s  {:>5.2} us CPU/ev  lost {}",
                    i.rate(),
                    i.cpu_us_per_item(),
                    i.lost
                )
            }
            Some(Err(e)) => line += &format!(" ingest failed: {e}"),
            None => {}
        }
        match &sink {
            Some(Ok(s)) => {
                line += &format!(
                    "   | sink {:>9.0} msg/s  {:>5.2} us CPU/msg",
                    s.rate(),
                    s.cpu_us_per_item()
                )
            }
            Some(Err(e)) => line += &format!("   | sink failed: {e}"),
            None => {}
        }
        if let (Some(Ok(i)), Some(Ok(s))) = (&ingest, &sink) {
            line += &format!("  | ingest/sink {:.2}", i.rate() / s.rate());
        }
        if ingest.is_some() || sink.is_some() {
            println!("{line}");
        }
    }
    if selected("agi") {
        let (calls, concurrency) = (20_000 * scale, 1_000);
        let memory = first_memory_reading();
        match agi(runtime.clone(), calls, concurrency, memory).await {
            Ok((m, per_session)) => println!(
                "  FastAGI: {calls} recorded agi-load calls (4 commands each), {concurrency} at once: {:>7.0} calls/s, {:>7.0} round trips/s, {:.1} us CPU/call{}",
                m.rate(),
                m.rate() * 4.0,
                m.cpu_us_per_item(),
                per_session.map_or(String::new(), |b| format!(
                    ", {b} bytes resident per open session ({concurrency} held)"
                )),
            ),
            Err(e) => println!("  FastAGI failed: {e}"),
        }
    }
    // 10,000 first: memory freed by an earlier run would be reused unseen.
    for channels in [10_000, 10].into_iter().filter(|_| selected("routing")) {
        let memory = channels >= 10_000 && first_memory_reading();
        match routing(&connect, events, channels).await {
            Ok((m, per_sub)) => println!(
                "  routing, {channels:>5} channels with a stream each: {:>9.0} delivered ev/s  {:>5.2} us CPU/ev  lost {}{}",
                m.rate(),
                m.cpu_us_per_item(),
                m.lost,
                if memory {
                    format!("  {per_sub:.0} bytes of RSS per subscription")
                } else {
                    String::new()
                }
            ),
            Err(e) => println!("  routing with {channels} channels failed: {e}"),
        }
    }
    for in_flight in [1, 64].into_iter().filter(|_| selected("rest")) {
        match rest(&connect, 20_000 * scale, in_flight).await {
            Ok((m, p50, p99)) => println!(
                "  REST answer, {in_flight:>2} in flight: {:>8.0} round trips/s  p50 {:>6.0} us  p99 {:>6.0} us",
                m.rate(),
                p50.as_secs_f64() * 1e6,
                p99.as_secs_f64() * 1e6
            ),
            Err(e) => println!("  REST {in_flight} in flight failed: {e}"),
        }
    }
    let broadcast_runs = [
        (2_000 * scale, Pace::AllAtOnce),
        (500 * scale, Pace::PerSecond(250.0)),
    ];
    for instances in [1, 3, 10].into_iter().filter(|_| selected("broadcast")) {
        for (calls, pace) in broadcast_runs {
            let offered = match pace {
                Pace::AllAtOnce => "at once".to_string(),
                Pace::PerSecond(rate) => format!("at {rate:.0}/s"),
            };
            match broadcast(runtime.clone(), &connect, instances, calls, pace).await {
                Ok(m) => println!(
                    "  broadcast, {instances:>2} instances, {calls} calls {offered}: {:>6.0} calls/s  {:>7.0} claims/s  CallBroadcast->StasisStart handled p50 {:>8.1} ms  p99 {:>8.1} ms{}  {}  won per instance {:?}",
                    m.rate(),
                    m.claims as f64 / m.seconds,
                    m.p50.as_secs_f64() * 1e3,
                    m.p99.as_secs_f64() * 1e3,
                    // Paced, the CPU is mostly waiting and polling: not shown.
                    match pace {
                        Pace::AllAtOnce => format!(
                            "  {:.0} us CPU/call (client and fake)",
                            m.cpu_seconds * 1e6 / m.calls.max(1) as f64
                        ),
                        Pace::PerSecond(_) => String::new(),
                    },
                    if m.exactly_once() {
                        "every call served once".to_string()
                    } else {
                        format!(
                            "NOT exactly once: {} served, {} twice, {} unclaimed",
                            m.served, m.served_twice, m.unclaimed
                        )
                    },
                    m.spread,
                ),
                Err(e) => println!("  broadcast with {instances} instances failed: {e}"),
            }
        }
    }
    println!("  max RSS {} KiB", max_rss_kib());
}

/// Whether `ARI_BENCH_RUNTIME` (a comma-separated list of names a bench
/// gives its runtime configurations) selects `name`; unset selects all.
pub fn runtime_selected(name: &str) -> bool {
    match std::env::var("ARI_BENCH_RUNTIME") {
        Ok(only) => only.split(',').any(|o| o.trim() == name),
        Err(_) => true,
    }
}
