//! The driver task: owns the `ari_proto::Session`, feeds it what the network
//! and the clock bring, and carries out what it asks for. It decides nothing
//! itself.

use crate::hyper_io::HyperIo;
use crate::runtime::{BoxFuture, Runtime};
use crate::stream::{EventStream, Sink};
use crate::transport::{self, TlsConfig};
use crate::ws_read::{Frame, FrameReader, Recording, WriteOnly};
use ari_proto::events::StasisStart;
use ari_proto::{
    CallWatchId, CloseReason, ConnectionEvent, ConnectionState, Event, Filter, IdMap, Output,
    RawRequestId, RawResponse, RequestError, Session, SubscriptionId, TrackedObject, Transmit,
};
use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use bytes::Bytes;
use futures_channel::{mpsc, oneshot};
use futures_util::future::{AbortHandle, abortable};
use futures_util::io::{AsyncReadExt, ReadHalf};
use futures_util::{FutureExt, StreamExt};
use http_body_util::{BodyExt, Full};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// Messages handled before the driver lets other tasks run.
const YIELD_EVERY: u32 = 8;

/// Returns `Pending` once, waking itself at once.
struct YieldNow(bool);

impl std::future::Future for YieldNow {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Starts a request on the session; built by the client around a typed operation.
pub(crate) type Job = Box<
    dyn FnOnce(&mut Session, Instant) -> Result<(RawRequestId, Option<TrackedObject>), RequestError>
        + Send,
>;

pub(crate) enum Command {
    Request {
        job: Job,
        reply: oneshot::Sender<Result<RawResponse, RequestError>>,
        /// Where events about the created object go, if the job tracks one.
        tracked: Option<Sink>,
    },
    Subscribe {
        filter: Filter,
        sink: Sink,
    },
    WatchConnection(mpsc::UnboundedSender<ConnectionEvent>),
    /// Every channel entering Stasis from now on, each with its own stream.
    WatchCalls(mpsc::UnboundedSender<(Arc<StasisStart>, EventStream)>),
    Close(oneshot::Sender<()>),
}

/// The read half of the events WebSocket, polled by the driver itself so
/// that a frame goes from the socket's read buffer into the session without
/// a hop or a copy.
pub(crate) type WsReader<R> = FrameReader<ReadHalf<transport::Stream<<R as Runtime>::Tcp>>>;

/// The write half of an events WebSocket: frames for its writer task.
pub(crate) type WsWriter = mpsc::UnboundedSender<Message>;

enum Internal {
    Http {
        id: RawRequestId,
        outcome: Result<(u16, Vec<u8>), String>,
    },
}

/// What woke the driver.
enum Input<R: Runtime> {
    /// A whole frame is waiting in the WebSocket's read buffer (or an error).
    Frame,
    /// The WebSocket failed or ended.
    WsFailed(String),
    WsConnected(Result<WsReader<R>, CloseReason>),
    Internal(Internal),
    Command(Command),
    NoMoreCommands,
    Timeout,
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

pub(crate) struct Driver<R: Runtime> {
    rt: R,
    session: Session,
    commands: mpsc::UnboundedReceiver<Command>,
    internal_tx: mpsc::UnboundedSender<Internal>,
    internal_rx: mpsc::UnboundedReceiver<Internal>,
    /// HTTP exchanges on the wire, to stop when the session gives up on one.
    exchanges: IdMap<RawRequestId, AbortHandle>,
    waiting: IdMap<RawRequestId, oneshot::Sender<Result<RawResponse, RequestError>>>,
    sinks: IdMap<SubscriptionId, Sink>,
    watchers: Vec<mpsc::UnboundedSender<ConnectionEvent>>,
    call_watchers: IdMap<CallWatchId, mpsc::UnboundedSender<(Arc<StasisStart>, EventStream)>>,
    ws_writer: Option<WsWriter>,
    /// Asterisk opened the socket (an outbound WebSocket): the driver ends
    /// with it.
    accepted: bool,
    /// The connection and upgrade in progress, polled here so that dropping
    /// it abandons the attempt.
    ws_connecting: Option<BoxFuture<Result<WsReader<R>, CloseReason>>>,
    ws_reader: Option<WsReader<R>>,
    /// Consumers of streams that got events, woken before the driver sleeps.
    to_wake: Vec<Waker>,
    /// The armed timer and its deadline, kept while it is due no later than
    /// the session's next deadline.
    timer: Option<(Instant, futures_util::future::Fuse<BoxFuture<()>>)>,
    pool: Arc<Mutex<Vec<Sender>>>,
    tls: TlsConfig,
    /// Told once the first connection attempt opened or failed.
    opened: Option<oneshot::Sender<Result<(), CloseReason>>>,
    /// The server's release as the session knows it, for the client to read.
    server_version: Arc<KnownVersion>,
    closing: Option<oneshot::Sender<()>>,
}

impl<R: Runtime> Driver<R> {
    pub(crate) fn new(
        rt: R,
        session: Session,
        commands: mpsc::UnboundedReceiver<Command>,
        opened: oneshot::Sender<Result<(), CloseReason>>,
        tls: TlsConfig,
        server_version: Arc<KnownVersion>,
    ) -> Self {
        let (internal_tx, internal_rx) = mpsc::unbounded();
        Driver {
            rt,
            session,
            commands,
            internal_tx,
            internal_rx,
            exchanges: IdMap::default(),
            waiting: IdMap::default(),
            sinks: IdMap::default(),
            watchers: Vec::new(),
            call_watchers: IdMap::default(),
            ws_writer: None,
            accepted: false,
            ws_connecting: None,
            ws_reader: None,
            to_wake: Vec::new(),
            timer: None,
            pool: Arc::new(Mutex::new(Vec::new())),
            tls,
            opened: Some(opened),
            server_version,
            closing: None,
        }
    }

    /// Drives a WebSocket Asterisk opened (an outbound WebSocket) instead
    /// of connecting: when it closes the driver ends, and with it every
    /// stream and request of the client.
    pub(crate) fn with_accepted_socket(mut self, reader: WsReader<R>, writer: WsWriter) -> Self {
        self.ws_reader = Some(reader);
        self.ws_writer = Some(writer);
        self.accepted = true;
        self
    }

    pub(crate) async fn run(mut self) {
        if self.accepted {
            self.session.accept(self.rt.now());
        } else {
            self.session.connect(self.rt.now());
        }
        let mut budget = YIELD_EVERY;
        loop {
            // Under a flood every input below is ready at once: give the
            // application's tasks a turn now and then, or they would starve.
            if budget == 0 {
                budget = YIELD_EVERY;
                self.wake_consumers();
                YieldNow(false).await;
            }
            self.flush();
            if let Some(done) = self.closing.take() {
                self.wake_consumers();
                let _ = done.send(());
                return;
            }
            if self.accepted && self.session.connection_state() == ConnectionState::Idle {
                // Asterisk's socket is gone: dropping the sinks and watchers
                // ends every stream, so the application's tasks end too.
                self.wake_consumers();
                return;
            }
            // Every event moves the connection's deadlines (silence, ping)
            // later: a timer armed for an earlier time is kept, and when it
            // fires early the session finds nothing due and the timer is
            // armed again for the deadline then. A new timer per event
            // would cost more than the event's decoding.
            match (self.session.poll_timeout(), &self.timer) {
                (Some(deadline), Some((armed, _))) if *armed <= deadline => {}
                (deadline, _) => {
                    self.timer = deadline.map(|t| (t, self.rt.sleep_until(t).fuse()));
                }
            }
            match std::future::poll_fn(|cx| self.poll_input(cx)).await {
                // The frames already read, up to the budget, in one go.
                Input::Frame => {
                    budget -= self.ws_frames(budget);
                    continue;
                }
                Input::WsFailed(e) => self.ws_closed(CloseReason::Dropped(e)),
                Input::WsConnected(outcome) => self.ws_connected(outcome),
                Input::Internal(message) => self.internal(message),
                Input::Command(command) => self.command(command),
                // Every client handle is gone: close.
                Input::NoMoreCommands => {
                    self.session.close(self.rt.now());
                    self.flush();
                    self.wake_consumers();
                    return;
                }
                Input::Timeout => {
                    self.timer = None;
                    self.session.handle_timeout(self.rt.now());
                }
            }
            budget -= 1;
        }
    }

    /// Handles up to `max` (at least 1) frames waiting in the read buffer,
    /// carrying out what the session asks after each; returns how many.
    /// They were read together: one reading of the clock serves them all.
    fn ws_frames(&mut self, max: u32) -> u32 {
        let now = self.rt.now();
        let mut handled = 0;
        loop {
            self.ws_frame(now);
            handled += 1;
            self.flush();
            if handled >= max || !self.ws_reader.as_mut().is_some_and(|r| r.has_frame()) {
                return handled;
            }
        }
    }

    /// The next input. Answers, commands and the timer come before frames:
    /// they are few, and a flood of events must not hold back a request.
    /// Before the driver sleeps, the streams that got events are woken: one
    /// wake per batch, not per event, which matters most when their
    /// consumers run on other threads.
    ///
    /// While inputs keep coming the channels are only looked into; their
    /// wakers are registered (a costly step) only before the driver sleeps.
    fn poll_input(&mut self, cx: &mut Context<'_>) -> Poll<Input<R>> {
        if let Ok(message) = self.internal_rx.try_recv() {
            return Poll::Ready(Input::Internal(message));
        }
        match self.commands.try_recv() {
            Ok(command) => return Poll::Ready(Input::Command(command)),
            Err(e) if e.is_closed() => return Poll::Ready(Input::NoMoreCommands),
            Err(_) => {}
        }
        if let Some((_, sleep)) = &mut self.timer
            && sleep.poll_unpin(cx).is_ready()
        {
            return Poll::Ready(Input::Timeout);
        }
        if let Some(connecting) = &mut self.ws_connecting
            && let Poll::Ready(outcome) = connecting.poll_unpin(cx)
        {
            self.ws_connecting = None;
            return Poll::Ready(Input::WsConnected(outcome));
        }
        if let Some(reader) = &mut self.ws_reader {
            if reader.has_frame() {
                return Poll::Ready(Input::Frame);
            }
            // Read until a frame is whole or the socket has nothing more.
            loop {
                match reader.poll_fill(cx) {
                    Poll::Ready(Ok(())) if reader.has_frame() => {
                        return Poll::Ready(Input::Frame);
                    }
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) => return Poll::Ready(Input::WsFailed(e)),
                    Poll::Pending => break,
                }
            }
        }
        // Nothing to do: ask to be woken by the channels too (taking what
        // came in meanwhile).
        if let Poll::Ready(Some(message)) = self.internal_rx.poll_next_unpin(cx) {
            return Poll::Ready(Input::Internal(message));
        }
        if let Poll::Ready(command) = self.commands.poll_next_unpin(cx) {
            return Poll::Ready(command.map_or(Input::NoMoreCommands, Input::Command));
        }
        self.wake_consumers();
        Poll::Pending
    }

    fn wake_consumers(&mut self) {
        for waker in self.to_wake.drain(..) {
            waker.wake();
        }
    }

    fn command(&mut self, command: Command) {
        let now = self.rt.now();
        match command {
            Command::Request {
                job,
                reply,
                tracked,
            } => match job(&mut self.session, now) {
                Ok((id, object)) => {
                    if let (Some((sub, _)), Some(sink)) = (object, tracked) {
                        self.sinks.insert(sub, sink);
                    }
                    self.waiting.insert(id, reply);
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            Command::Subscribe { filter, sink } => {
                let id = self.session.subscribe(filter);
                self.sinks.insert(id, sink);
            }
            Command::WatchConnection(w) => self.watchers.push(w),
            Command::WatchCalls(w) => {
                let id = self.session.watch_calls();
                self.call_watchers.insert(id, w);
            }
            Command::Close(done) => {
                self.session.close(now);
                self.closing = Some(done);
            }
        }
    }

    fn internal(&mut self, message: Internal) {
        let now = self.rt.now();
        match message {
            Internal::Http { id, outcome } => {
                self.exchanges.remove(&id);
                match outcome {
                    Ok((status, body)) => self.session.handle_http_response(id, status, body, now),
                    Err(e) => self.session.handle_http_error(id, e, now),
                }
            }
        }
    }

    fn ws_connected(&mut self, outcome: Result<WsReader<R>, CloseReason>) {
        match outcome {
            Ok(reader) => {
                self.ws_reader = Some(reader);
                self.session.handle_ws_opened(self.rt.now());
            }
            Err(reason) => self.ws_closed(reason),
        }
    }

    /// Handles the frame waiting in the read buffer.
    fn ws_frame(&mut self, now: Instant) {
        let Some(reader) = &mut self.ws_reader else {
            return;
        };
        let closed = match reader.next_frame() {
            Ok(Some(Frame::Text(text))) => {
                self.session.handle_ws_text(text, now);
                return;
            }
            Ok(Some(Frame::Ping(payload))) => {
                if let Some(w) = &self.ws_writer {
                    let _ = w.unbounded_send(Message::Pong(payload.to_vec().into()));
                }
                self.session.handle_ws_control(now);
                return;
            }
            Ok(Some(Frame::Other)) => {
                self.session.handle_ws_control(now);
                return;
            }
            Ok(None) => return,
            Ok(Some(Frame::Close(frame))) => {
                // The close handshake: the peer's close is answered with its code.
                if let Some(w) = &self.ws_writer {
                    // Codes that must not be sent (1005, 1006, 1015,
                    // reserved ones) are answered with 1002, as tungstenite did.
                    let echo = frame.map(|(code, _)| CloseFrame {
                        code: match code {
                            1000..=1003 | 1007..=1014 | 3000..=4999 => code,
                            _ => 1002,
                        }
                        .into(),
                        reason: "".into(),
                    });
                    let _ = w.unbounded_send(Message::Close(echo));
                }
                CloseReason::CloseFrame {
                    code: frame.map(|(code, _)| code),
                    reason: frame.map(|(_, r)| r.to_string()).unwrap_or_default(),
                }
            }
            Err(e) => CloseReason::Dropped(e),
        };
        self.ws_closed(closed);
    }

    fn ws_closed(&mut self, reason: CloseReason) {
        // Dropping the writer's channel ends the writer task.
        self.ws_reader = None;
        self.ws_writer = None;
        self.session.handle_ws_closed(reason, self.rt.now());
    }

    /// Carries out everything the session has queued.
    fn flush(&mut self) {
        while let Some(t) = self.session.poll_transmit() {
            match t {
                Transmit::Http { id, request } => self.spawn_http(id, request),
                Transmit::CancelHttp { id } => {
                    // Dropping the exchange closes its connection.
                    if let Some(exchange) = self.exchanges.remove(&id) {
                        exchange.abort();
                    }
                }
                Transmit::WsConnect(request) => self.connect_ws(request),
                Transmit::WsText(text) => {
                    if let Some(w) = &self.ws_writer {
                        let _ = w.unbounded_send(Message::text(text));
                    }
                }
                Transmit::WsPing(payload) => {
                    if let Some(w) = &self.ws_writer {
                        let _ = w.unbounded_send(Message::Ping(payload.into()));
                    }
                }
                Transmit::WsClose => {
                    // Nothing more of this connection reaches the session.
                    self.ws_connecting = None;
                    self.ws_reader = None;
                    if let Some(w) = self.ws_writer.take() {
                        let _ = w.unbounded_send(Message::Close(None));
                    }
                }
                _ => tracing::error!(transmit = ?t, "a transmit this driver does not know"),
            }
        }
        while let Some(output) = self.session.poll_event() {
            match output {
                Output::Response { id, outcome } => {
                    self.server_version.set(self.session.server_version());
                    if let Some(reply) = self.waiting.remove(&id) {
                        let _ = reply.send(outcome);
                    }
                }
                Output::Event(delivery) => {
                    let event = delivery.event;
                    for &sub in &delivery.subscribers {
                        let gone = self
                            .sinks
                            .get_mut(&sub)
                            .is_some_and(|s| !s.deliver(&event, &mut self.to_wake));
                        if gone {
                            self.sinks.remove(&sub);
                            self.session.unsubscribe(sub);
                        }
                    }
                    // The session starts calls on `StasisStart` alone.
                    if let Event::StasisStart(start) = &event {
                        for (watcher, sub) in delivery.calls {
                            self.new_call(start, watcher, sub);
                        }
                    }
                }
                Output::SubscriptionEnded { id, .. } => {
                    // Dropping the sender ends the stream.
                    self.sinks.remove(&id);
                }
                Output::Connection(event) => {
                    tracing::debug!(?event, "events WebSocket");
                    self.server_version.set(self.session.server_version());
                    match &event {
                        ConnectionEvent::Open { .. } => {
                            if let Some(o) = self.opened.take() {
                                let _ = o.send(Ok(()));
                            }
                        }
                        ConnectionEvent::Closed(reason) => {
                            if let Some(o) = self.opened.take() {
                                let _ = o.send(Err(reason.clone()));
                            }
                        }
                        _ => {}
                    }
                    self.watchers
                        .retain(|w| w.unbounded_send(event.clone()).is_ok());
                }
                Output::Diagnostic(d) => tracing::warn!(diagnostic = ?d, "ari"),
                _ => {}
            }
        }
    }

    /// Hands a call watcher its new call, with the stream of the
    /// subscription the session made for it.
    fn new_call(&mut self, start: &Arc<StasisStart>, watcher: CallWatchId, sub: SubscriptionId) {
        let (sink, stream) = EventStream::new(crate::DEFAULT_QUEUE);
        let delivered = self
            .call_watchers
            .get(&watcher)
            .is_some_and(|w| w.unbounded_send((start.clone(), stream)).is_ok());
        if delivered {
            self.sinks.insert(sub, sink);
        } else {
            self.session.unsubscribe(sub);
            self.session.unwatch_calls(watcher);
            self.call_watchers.remove(&watcher);
        }
    }

    fn spawn_http(&mut self, id: RawRequestId, request: http::Request<Vec<u8>>) {
        let (rt, pool, tx, tls) = (
            self.rt.clone(),
            self.pool.clone(),
            self.internal_tx.clone(),
            self.tls.clone(),
        );
        let (exchange, handle) = abortable(async move {
            let outcome = send_http(&rt, &pool, &tls, request).await;
            let _ = tx.unbounded_send(Internal::Http { id, outcome });
        });
        self.exchanges.insert(id, handle);
        self.rt.spawn(Box::pin(async move {
            let _ = exchange.await;
        }));
    }

    fn connect_ws(&mut self, request: http::Request<()>) {
        let (writer_tx, writer_rx) = mpsc::unbounded();
        self.ws_writer = Some(writer_tx);
        let (rt, tls) = (self.rt.clone(), self.tls.clone());
        self.ws_connecting = Some(Box::pin(async move {
            open_ws(&rt, &tls, request, writer_rx).await
        }));
    }
}

fn take_ready(pool: &Mutex<Vec<Sender>>) -> Option<Sender> {
    let mut idle = pool.lock().ok()?;
    while let Some(s) = idle.pop() {
        if s.is_ready() {
            return Some(s);
        }
    }
    None
}

async fn send_http<R: Runtime>(
    rt: &R,
    pool: &Arc<Mutex<Vec<Sender>>>,
    tls: &TlsConfig,
    request: http::Request<Vec<u8>>,
) -> Result<(u16, Vec<u8>), String> {
    let mut sender = match take_ready(pool) {
        Some(s) => s,
        None => {
            let stream = transport::open(rt, request.uri(), tls).await?;
            let (sender, conn) = hyper::client::conn::http1::handshake(HyperIo::new(stream))
                .await
                .map_err(|e| format!("handshake: {e}"))?;
            rt.spawn(Box::pin(async move {
                let _ = conn.await;
            }));
            sender
        }
    };
    let (mut parts, body) = request.into_parts();
    let authority = parts
        .uri
        .authority()
        .map(|a| a.to_string())
        .unwrap_or_default();
    parts.uri = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .parse()
        .map_err(|e| format!("{e}"))?;
    if let Ok(v) = http::HeaderValue::from_str(&authority) {
        parts.headers.insert(http::header::HOST, v);
    }
    let response = sender
        .send_request(http::Request::from_parts(
            parts,
            Full::new(Bytes::from(body)),
        ))
        .await
        .map_err(|e| format!("request: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes()
        .to_vec();
    if let Ok(mut idle) = pool.lock() {
        idle.push(sender);
    }
    Ok((status, body))
}

/// The events WebSocket's settings for tungstenite, which reads only the
/// upgrade (frames are read by [`FrameReader`]): a small read buffer.
pub(crate) fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(WS_READ_BUFFER)
}

/// Bytes tungstenite reads from the socket at a time.
const WS_READ_BUFFER: usize = 4 * 1024;

/// Opens the events WebSocket and starts its writer task; returns the read half.
async fn open_ws<R: Runtime>(
    rt: &R,
    tls: &TlsConfig,
    request: http::Request<()>,
    writer_rx: mpsc::UnboundedReceiver<Message>,
) -> Result<WsReader<R>, CloseReason> {
    let tcp = transport::open(rt, request.uri(), tls)
        .await
        .map_err(CloseReason::Unreachable)?;
    // Let tungstenite add the handshake headers, then add ours (credentials).
    let mut upgrade = request
        .uri()
        .to_string()
        .into_client_request()
        .map_err(|e| CloseReason::Unreachable(e.to_string()))?;
    for (name, value) in request.headers() {
        upgrade.headers_mut().insert(name.clone(), value.clone());
    }
    // tungstenite does the upgrade; what it read past the response (frames
    // sent at once) is taken back from the recording.
    let tcp = Recording {
        inner: tcp,
        seen: Vec::new(),
    };
    let ws =
        match async_tungstenite::client_async_with_config(upgrade, tcp, Some(ws_config())).await {
            Ok((ws, _)) => ws,
            Err(async_tungstenite::tungstenite::Error::Http(response)) => {
                return Err(CloseReason::Refused(response.status().as_u16()));
            }
            Err(e) => return Err(CloseReason::Unreachable(e.to_string())),
        };
    Ok(split_ws(rt, ws.into_inner(), Role::Client, writer_rx).await)
}

/// Splits an upgraded WebSocket: frames are read by a [`FrameReader`] for
/// the driver (starting with what tungstenite read past the upgrade), and
/// written by tungstenite in a task of its own, from `writer_rx`.
pub(crate) async fn split_ws<R: Runtime>(
    rt: &R,
    upgraded: Recording<transport::Stream<R::Tcp>>,
    role: Role,
    mut writer_rx: mpsc::UnboundedReceiver<Message>,
) -> WsReader<R> {
    let already = upgraded.after_headers().to_vec();
    let (read, write) = upgraded.inner.split();
    // A server reads masked frames, a client unmasked ones.
    let reader = FrameReader::new(read, &already, role == Role::Server);
    let mut sink = async_tungstenite::WebSocketStream::from_raw_socket(
        WriteOnly(write),
        role,
        Some(ws_config()),
    )
    .await;
    rt.spawn(Box::pin(async move {
        while let Some(m) = writer_rx.next().await {
            // Ours, or the answer to the peer's (tungstenite never saw it).
            let close = matches!(m, Message::Close(_));
            if sink.send(m).await.is_err() || close {
                break;
            }
        }
        let _ = futures_util::SinkExt::close(&mut sink).await;
        // tungstenite only flushes: closing the stream ends TLS with its
        // close_notify (and TCP's sending side).
        let _ = futures_util::AsyncWriteExt::close(&mut sink.get_mut().0).await;
    }));
    reader
}

/// A release number shared without a lock: 0 while unknown, else
/// `1 << 48 | major << 32 | minor << 16 | patch`.
#[derive(Debug, Default)]
pub(crate) struct KnownVersion(std::sync::atomic::AtomicU64);

impl KnownVersion {
    fn set(&self, version: Option<ari_proto::Version>) {
        let packed = version.map_or(0, |v| {
            1 << 48 | u64::from(v.major) << 32 | u64::from(v.minor) << 16 | u64::from(v.patch)
        });
        self.0.store(packed, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> Option<ari_proto::Version> {
        let packed = self.0.load(std::sync::atomic::Ordering::Relaxed);
        (packed != 0).then(|| {
            ari_proto::Version::new((packed >> 32) as u16, (packed >> 16) as u16, packed as u16)
        })
    }
}
