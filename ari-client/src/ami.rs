//! AMI on real sockets: [`AmiClient`] drives an [`ami_proto::Session`]
//! through the same [`Runtime`] as the ARI client.
//!
//! The socket is read whenever bytes are there, whatever the consumers do:
//! Asterisk drops a session it cannot write to for 100 ms, so a slow
//! consumer gets a lag notice on its own stream instead.

pub use crate::ami_agi::AsyncAgiCall;
use crate::ami_agi::{AgiJob, AsyncAgiRouter};
use crate::ami_picture::Tracking;
pub use crate::ami_picture::{CHANGES_QUEUE, Picture};
use crate::runtime::Runtime;
use crate::stream::{EventStream, Lagged, Sink};
use crate::transport::{self, TlsConfig};
use ami_proto::{ActionId, ConnectionState, Output, Router, Session, SubscriptionId, Transmit};
use futures_channel::{mpsc, oneshot};
use futures_io::AsyncRead;
use futures_util::io::{AsyncReadExt, AsyncWriteExt, ReadHalf};
use futures_util::{FutureExt, Stream, StreamExt};
use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

pub use ami_proto::{
    Action, ActionError, Answer, Banner, Bridge, Change, Channel, CloseReason, Config, ConfigError,
    ConnectionEvent, Dial, Event, EventFilter, EventMask, EventType, Kind, Line, LoginAuth,
    Message, Secret, Selector, Text, ToAction, Tracker, Version, actions, events,
};

/// Socket reads (up to 64 KiB each) the driver handles before it lets
/// other tasks run.
const READS_BEFORE_YIELD: u32 = 2;

/// Events queued for one AMI stream before it lags.
pub const AMI_EVENTS_QUEUE: usize = 65_536;

/// Why [`AmiClient::connect`] gave up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmiConnectError {
    /// The configuration cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// TLS could not be set up.
    #[error("TLS: {0}")]
    Tls(String),
    /// The first connection failed (unreachable, not AMI, login refused,
    /// timed out).
    #[error(transparent)]
    Closed(#[from] CloseReason),
}

pub(crate) enum Command {
    Send(Action, oneshot::Sender<Result<Answer, ActionError>>),
    Subscribe(Selector, Sink<Arc<Event>>),
    Orphans(Sink<Message>),
    WatchConnection(mpsc::UnboundedSender<ConnectionEvent>),
    Open(oneshot::Sender<Result<(), CloseReason>>),
    Track(Picture),
    AsyncAgi(String, mpsc::UnboundedSender<AsyncAgiCall>),
    Changes(Sink<ami_proto::Change>),
    SetFilters(Vec<EventFilter>, oneshot::Sender<Result<(), ActionError>>),
    Close(oneshot::Sender<()>),
}

/// A logged-in AMI connection that stays logged in: it reconnects and logs
/// in again by itself. Cheap to clone; every clone drives the same
/// connection, which closes when the last clone is dropped or on
/// [`close`](AmiClient::close).
#[derive(Clone)]
pub struct AmiClient {
    commands: mpsc::UnboundedSender<Command>,
    /// The picture, once asked for.
    picture: Arc<Mutex<Option<Picture>>>,
}

impl AmiClient {
    /// Connects and logs in on `runtime`; returns once logged in (and the
    /// filters applied). The first failure ends it; after that, the client
    /// reconnects by itself.
    ///
    /// Events that come with the login (`FullyBooted`, ...) reach only
    /// streams that exist by then: to see them, make the client with
    /// [`new`](Self::new), subscribe, then [`open`](Self::open).
    pub async fn connect<R: Runtime>(
        runtime: R,
        config: Config,
    ) -> Result<AmiClient, AmiConnectError> {
        let client = Self::new(runtime, config)?;
        client.open().await?;
        Ok(client)
    }

    /// [`connect`](Self::connect) with your own TLS settings.
    pub async fn connect_with_tls<R: Runtime>(
        runtime: R,
        config: Config,
        tls: TlsConfig,
    ) -> Result<AmiClient, AmiConnectError> {
        let client = Self::new_with_tls(runtime, config, tls)?;
        client.open().await?;
        Ok(client)
    }

    /// A client on `runtime` that has not connected yet: subscriptions made
    /// now see every event of the first connection. It connects on
    /// [`open`](Self::open) (or on the first [`send`](Self::send)).
    pub fn new<R: Runtime>(runtime: R, config: Config) -> Result<AmiClient, AmiConnectError> {
        let tls = crate::transport::default_tls_config().map_err(AmiConnectError::Tls)?;
        Self::new_with_tls(runtime, config, tls)
    }

    /// [`new`](Self::new) with your own TLS settings.
    pub fn new_with_tls<R: Runtime>(
        runtime: R,
        config: Config,
        tls: TlsConfig,
    ) -> Result<AmiClient, AmiConnectError> {
        let target = (config.host.clone(), config.port, config.tls);
        let session = Session::new(config)?;
        let (commands, rx) = mpsc::unbounded();
        let (agi_jobs_tx, agi_jobs) = mpsc::unbounded();
        let driver = Driver {
            rt: runtime.clone(),
            session,
            target,
            tls,
            commands: rx,
            waiting: HashMap::new(),
            router: Router::new(),
            sinks: Vec::new(),
            gone: Vec::new(),
            orphans: Vec::new(),
            tracking: None,
            agi: None,
            agi_jobs,
            agi_jobs_tx,
            watchers: Vec::new(),
            opening: Vec::new(),
            ever_open: false,
            connecting: None,
            reader: None,
            writer: None,
            writer_done: None,
            timer: None,
            buf: vec![0; 64 * 1024],
            to_wake: Vec::new(),
            stopped: false,
        };
        runtime.spawn(Box::pin(driver.run()));
        Ok(AmiClient {
            commands,
            picture: Arc::default(),
        })
    }

    /// Connects and logs in, if not done yet; returns once logged in (and
    /// the filters applied). The first failure ends the client; once it has
    /// been logged in, it reconnects by itself and this returns at once.
    pub fn open(&self) -> impl Future<Output = Result<(), AmiConnectError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let sent = self.commands.unbounded_send(Command::Open(tx));
        async move {
            let stopped = || CloseReason::Dropped("the client is closed".into());
            if sent.is_err() {
                return Err(stopped().into());
            }
            match rx.await {
                Ok(result) => result.map_err(Into::into),
                Err(_) => Err(stopped().into()),
            }
        }
    }

    /// Sends `action` (at once, or once logged in again after a drop) and
    /// waits for its answer: the response, with the items of an event list
    /// or the `OriginateResponse` of an asynchronous `Originate`.
    ///
    /// `action` is a typed action from [`actions`] (e.g.
    /// `actions::CoreShowChannels::new()`) or a raw [`Action`].
    pub fn send(
        &self,
        action: impl Into<Action>,
    ) -> impl Future<Output = Result<Answer, ActionError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let sent = self
            .commands
            .unbounded_send(Command::Send(action.into(), tx));
        async move {
            if sent.is_err() {
                return Err(ActionError::Closed);
            }
            rx.await.unwrap_or(Err(ActionError::Closed))
        }
    }

    /// Replaces the event filters. Asterisk cannot take a filter off a
    /// session: filters added after the current ones go out on this
    /// connection; any other change logs in again at once with the new
    /// list (actions on the wire fail with [`ActionError::ConnectionLost`],
    /// and [`ConnectionEvent::Open`] says `reconnected`). Fails with
    /// [`ActionError::Encode`] if a filter cannot be sent, changing nothing.
    pub fn set_filters(
        &self,
        filters: Vec<EventFilter>,
    ) -> impl Future<Output = Result<(), ActionError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let sent = self
            .commands
            .unbounded_send(Command::SetFilters(filters, tx));
        async move {
            if sent.is_err() {
                return Err(ActionError::Closed);
            }
            rx.await.unwrap_or(Err(ActionError::Closed))
        }
    }

    /// Every event from now on (list items and `OriginateResponse`s that
    /// answer this client's actions excluded), in a stream with its own
    /// bounded queue (see [`EventStream`]).
    pub fn events(&self) -> EventStream<Arc<Event>> {
        self.subscribe(Selector::all())
    }

    /// The events `selector` selects from now on (by name, by a predicate
    /// on the name, by typed class, or any mix), each event once. However
    /// many streams there are, routing an event costs one lookup.
    pub fn subscribe(&self, selector: Selector) -> EventStream<Arc<Event>> {
        self.subscribe_with_queue(selector, AMI_EVENTS_QUEUE)
    }

    /// [`subscribe`](Self::subscribe) with room for `capacity` events
    /// before the stream lags.
    pub fn subscribe_with_queue(
        &self,
        selector: Selector,
        capacity: usize,
    ) -> EventStream<Arc<Event>> {
        let (sink, stream) = EventStream::new(capacity);
        let _ = self
            .commands
            .unbounded_send(Command::Subscribe(selector, sink));
        stream
    }

    /// The events of the typed class `T` from now on, each read as a `T`:
    /// `manager.events_of::<events::Hangup>()`.
    pub fn events_of<T: EventType>(&self) -> EventsOf<T> {
        EventsOf {
            events: self.subscribe(Selector::event::<T>()),
            _type: PhantomData,
        }
    }

    /// Answers no action of this client waits for (an action that timed
    /// out and was answered late, or a response with an unknown ActionID),
    /// from now on.
    pub fn orphans(&self) -> EventStream<Message> {
        let (sink, stream) = EventStream::new(AMI_EVENTS_QUEUE);
        let _ = self.commands.unbounded_send(Command::Orphans(sink));
        stream
    }

    /// The live picture of the PBX's channels and bridges, which the
    /// client keeps from the first call on (it costs nothing before): see
    /// [`Picture`]. A client that is logged in resyncs it at once; every
    /// later login does so again.
    pub fn picture(&self) -> Picture {
        let mut picture = self.picture.lock().unwrap_or_else(|p| p.into_inner());
        picture
            .get_or_insert_with(|| {
                let picture = Picture::new(self.commands.clone());
                let _ = self
                    .commands
                    .unbounded_send(Command::Track(picture.clone()));
                picture
            })
            .clone()
    }

    /// The channels that enter `AGI(agi:async)` from now on, each an
    /// [`AsyncAgiCall`] that sends the typed AGI commands over this
    /// connection (as `AGI` actions; replies from `AsyncAGIExec`). The
    /// session needs the `agi` event class.
    pub fn async_agi_calls(&self) -> mpsc::UnboundedReceiver<AsyncAgiCall> {
        let prefix = format!("{:x}-agi-", proto_common::random_seed() >> 16);
        self.async_agi_calls_with_prefix(prefix)
    }

    /// [`async_agi_calls`](Self::async_agi_calls) with the `CommandID`s
    /// starting with `prefix` (the first is `prefix` + `1`), e.g. to replay
    /// a recorded session.
    pub fn async_agi_calls_with_prefix(
        &self,
        prefix: impl Into<String>,
    ) -> mpsc::UnboundedReceiver<AsyncAgiCall> {
        let (tx, rx) = mpsc::unbounded();
        let _ = self
            .commands
            .unbounded_send(Command::AsyncAgi(prefix.into(), tx));
        rx
    }

    /// The connection's state changes from now on.
    pub fn connection_events(&self) -> mpsc::UnboundedReceiver<ConnectionEvent> {
        let (tx, rx) = mpsc::unbounded();
        let _ = self.commands.unbounded_send(Command::WatchConnection(tx));
        rx
    }

    /// Logs off and closes; waiting actions fail with [`ActionError::Closed`].
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.unbounded_send(Command::Close(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

type Connecting<T> = Pin<Box<dyn Future<Output = Result<transport::Stream<T>, String>> + Send>>;

/// What the writer task is told.
enum Write {
    Bytes(Vec<u8>),
    Close,
}

struct Driver<R: Runtime> {
    rt: R,
    session: Session,
    target: (String, u16, bool),
    tls: TlsConfig,
    commands: mpsc::UnboundedReceiver<Command>,
    waiting: HashMap<ActionId, oneshot::Sender<Result<Answer, ActionError>>>,
    router: Router,
    /// Each subscription's sink, at its [`SubscriptionId::index`].
    sinks: Vec<Option<Sink<Arc<Event>>>>,
    /// Subscriptions whose stream was dropped, to remove.
    gone: Vec<SubscriptionId>,
    orphans: Vec<Sink<Message>>,
    tracking: Option<Tracking>,
    agi: Option<AsyncAgiRouter>,
    agi_jobs: mpsc::UnboundedReceiver<AgiJob>,
    agi_jobs_tx: mpsc::UnboundedSender<AgiJob>,
    watchers: Vec<mpsc::UnboundedSender<ConnectionEvent>>,
    /// Callers of [`AmiClient::open`] waiting for the first login.
    opening: Vec<oneshot::Sender<Result<(), CloseReason>>>,
    /// Logged in at least once: from then on the session reconnects.
    ever_open: bool,
    connecting: Option<Connecting<R::Tcp>>,
    reader: Option<ReadHalf<transport::Stream<R::Tcp>>>,
    writer: Option<mpsc::UnboundedSender<Write>>,
    /// Completes when the current connection's writer has closed it.
    writer_done: Option<oneshot::Receiver<()>>,
    timer: Option<(Instant, futures_util::future::Fuse<crate::BoxFuture<()>>)>,
    buf: Vec<u8>,
    to_wake: Vec<Waker>,
    stopped: bool,
}

impl<R: Runtime> Driver<R> {
    async fn run(mut self) {
        futures_util::future::poll_fn(|cx| self.poll(cx)).await;
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut reads = 0;
        loop {
            let mut busy = false;
            while let Poll::Ready(command) = self.commands.poll_next_unpin(cx) {
                busy = true;
                match command {
                    Some(command) => self.command(command),
                    // Every client is gone.
                    None => {
                        self.session.close(self.rt.now());
                        break;
                    }
                }
            }
            while let Poll::Ready(Some(job)) = self.agi_jobs.poll_next_unpin(cx) {
                busy = true;
                if let Some(agi) = &mut self.agi {
                    agi.job(job, &mut self.session, self.rt.now());
                }
            }
            if let Some(connecting) = &mut self.connecting
                && let Poll::Ready(result) = connecting.as_mut().poll(cx)
            {
                busy = true;
                self.connecting = None;
                self.connected(result);
            }
            if let Some(reader) = &mut self.reader {
                match Pin::new(reader).poll_read(cx, &mut self.buf) {
                    Poll::Ready(Ok(n)) if n > 0 => {
                        busy = true;
                        reads += 1;
                        self.session.handle_bytes(&self.buf[..n], self.rt.now());
                    }
                    Poll::Ready(result) => {
                        busy = true;
                        let why = result
                            .err()
                            .map_or("closed by Asterisk".into(), |e| e.to_string());
                        self.drop_connection();
                        self.session.handle_closed(&why, self.rt.now());
                    }
                    Poll::Pending => {}
                }
            }
            if let Some((_, sleep)) = &mut self.timer
                && sleep.poll_unpin(cx).is_ready()
            {
                busy = true;
                self.timer = None;
                self.session.handle_timeout(self.rt.now());
            }
            // A new connection attempt or timer must be polled before sleeping.
            busy |= self.flush();
            if self.stopped {
                return Poll::Ready(());
            }
            // Under a flood the socket is always readable: let the
            // application's tasks have a turn (on a one-thread executor
            // they would starve until the flood ends, and lose events).
            if reads >= READS_BEFORE_YIELD {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if !busy {
                self.arm_timer(cx);
                return Poll::Pending;
            }
        }
    }

    /// Sets the timer to the session's next deadline (polled once, so that
    /// it wakes this task).
    fn arm_timer(&mut self, cx: &mut Context<'_>) {
        let next = self.session.poll_timeout();
        if self.timer.as_ref().map(|(at, _)| *at) != next {
            self.timer = next.map(|at| (at, self.rt.sleep_until(at).fuse()));
        }
        if let Some((_, sleep)) = &mut self.timer
            && sleep.poll_unpin(cx).is_ready()
        {
            self.timer = None;
            self.session.handle_timeout(self.rt.now());
            cx.waker().wake_by_ref();
        }
    }

    fn command(&mut self, command: Command) {
        let now = self.rt.now();
        match command {
            Command::Send(action, reply) => match self.session.send(&action, now) {
                Ok(id) => {
                    self.waiting.insert(id, reply);
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            Command::SetFilters(filters, reply) => {
                let changed = self.session.set_filters(filters, now);
                let _ = reply.send(changed.map_err(ActionError::Encode));
            }
            Command::Subscribe(selector, sink) => {
                let index = self.router.subscribe(selector).index();
                if self.sinks.len() <= index {
                    self.sinks.resize_with(index + 1, || None);
                }
                self.sinks[index] = Some(sink);
            }
            Command::Orphans(sink) => self.orphans.push(sink),
            Command::Track(picture) => {
                let mut tracking = Tracking::new(picture);
                if self.session.connection_state() == ConnectionState::Open {
                    tracking.resync(&mut self.session, now);
                }
                self.tracking = Some(tracking);
            }
            Command::AsyncAgi(prefix, watcher) => {
                let jobs = self.agi_jobs_tx.clone();
                self.agi
                    .get_or_insert_with(|| AsyncAgiRouter::new(prefix, jobs))
                    .watch(watcher);
            }
            Command::Changes(sink) => {
                if let Some(tracking) = &mut self.tracking {
                    tracking.add_sink(sink);
                }
            }
            Command::WatchConnection(tx) => self.watchers.push(tx),
            Command::Open(reply) => {
                if self.ever_open {
                    let _ = reply.send(Ok(()));
                    return;
                }
                match self.session.connection_state() {
                    ConnectionState::Stopped => {
                        let closed = CloseReason::Dropped("the client is closed".into());
                        let _ = reply.send(Err(closed));
                        return;
                    }
                    ConnectionState::Idle => self.session.connect(now),
                    _ => {}
                }
                self.opening.push(reply);
            }
            Command::Close(done) => {
                let written = self.writer_done.take();
                self.session.close(now);
                let _ = self.flush();
                // Answered once the Logoff is written and the socket closed
                // (or after a second, if Asterisk does not read).
                let bound = self.rt.sleep_until(now + Duration::from_secs(1));
                self.rt.spawn(Box::pin(async move {
                    if let Some(written) = written {
                        futures_util::future::select(written, bound).await;
                    }
                    let _ = done.send(());
                }));
            }
        }
    }

    fn connected(&mut self, result: Result<transport::Stream<R::Tcp>, String>) {
        let now = self.rt.now();
        match result {
            Ok(stream) => {
                let (reader, mut writer) = stream.split();
                let (tx, mut rx) = mpsc::unbounded::<Write>();
                let (written_tx, written_rx) = oneshot::channel::<()>();
                self.writer_done = Some(written_rx);
                self.rt.spawn(Box::pin(async move {
                    while let Some(write) = rx.next().await {
                        let ok = match write {
                            Write::Bytes(bytes) => writer.write_all(&bytes).await.is_ok(),
                            Write::Close => false,
                        };
                        if !ok {
                            break;
                        }
                    }
                    let _ = writer.close().await;
                    let _ = written_tx.send(());
                }));
                self.reader = Some(reader);
                self.writer = Some(tx);
                self.session.handle_connected(now);
            }
            Err(e) => self.session.handle_connect_failed(&e, now),
        }
    }

    fn drop_connection(&mut self) {
        self.reader = None;
        self.connecting = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.unbounded_send(Write::Close);
        }
    }

    /// Carries out what the session asks and hands out what it produced;
    /// whether there was anything.
    fn flush(&mut self) -> bool {
        let mut any = false;
        while let Some(transmit) = self.session.poll_transmit() {
            any = true;
            match transmit {
                Transmit::Connect => {
                    self.drop_connection();
                    let (host, port, secure) = self.target.clone();
                    let (rt, tls) = (self.rt.clone(), self.tls.clone());
                    self.connecting = Some(Box::pin(async move {
                        transport::open_host(&rt, host, port, secure, &tls).await
                    }));
                }
                Transmit::Send(bytes) => {
                    if let Some(writer) = &self.writer {
                        let _ = writer.unbounded_send(Write::Bytes(bytes));
                    }
                }
                Transmit::Close => self.drop_connection(),
                _ => {}
            }
        }
        while let Some(output) = self.session.poll_output() {
            any = true;
            match output {
                Output::Answer { id, mut result } => {
                    if let Some(agi) = &mut self.agi {
                        match agi.answer(id, result) {
                            Some(theirs) => result = theirs,
                            None => continue,
                        }
                    }
                    if let Some(tracking) = &mut self.tracking {
                        match tracking.answer(id, result, &mut self.to_wake) {
                            Some(theirs) => result = theirs,
                            None => continue,
                        }
                    }
                    if let Some(reply) = self.waiting.remove(&id) {
                        let _ = reply.send(result);
                    }
                }
                Output::Event(message) => self.deliver(Event::from_message(message)),
                Output::Orphan(message) => {
                    tracing::debug!(?message, "an AMI answer no action waits for");
                    let to_wake = &mut self.to_wake;
                    self.orphans
                        .retain_mut(|sink| sink.deliver(&message, to_wake));
                }
                Output::Malformed(e) => tracing::warn!(%e, "AMI bytes that are not a message"),
                Output::Connection(event) => self.connection_event(event),
                _ => {}
            }
        }
        for waker in self.to_wake.drain(..) {
            waker.wake();
        }
        any
    }

    /// Hands an event to each subscription that selects it.
    fn deliver(&mut self, event: Event) {
        if let Some(tracking) = &mut self.tracking {
            tracking.handle(&event, &mut self.to_wake);
        }
        if let Some(agi) = &mut self.agi {
            agi.event(&event, self.rt.now());
        }
        let route = self.router.route(event.name());
        if route.is_empty() {
            return;
        }
        let event = Arc::new(event);
        for &id in route {
            if let Some(sink) = &mut self.sinks[id.index()]
                && !sink.deliver(&event, &mut self.to_wake)
            {
                self.sinks[id.index()] = None;
                self.gone.push(id);
            }
        }
        for id in self.gone.drain(..) {
            self.router.unsubscribe(id);
        }
    }

    fn connection_event(&mut self, event: ConnectionEvent) {
        match &event {
            ConnectionEvent::Open { .. } => {
                self.ever_open = true;
                if let Some(tracking) = &mut self.tracking {
                    tracking.resync(&mut self.session, self.rt.now());
                }
                for opened in self.opening.drain(..) {
                    let _ = opened.send(Ok(()));
                }
            }
            ConnectionEvent::Closed(reason) if !self.ever_open => {
                // The first attempt failed: `open` reports it, and the
                // client ends rather than retry for nobody.
                for opened in self.opening.drain(..) {
                    let _ = opened.send(Err(reason.clone()));
                }
                self.session.close(self.rt.now());
            }
            ConnectionEvent::Stopped => {
                self.stopped = true;
                self.drop_connection();
                self.sinks.clear();
                self.orphans.clear();
            }
            _ => {}
        }
        self.watchers
            .retain(|w| w.unbounded_send(event.clone()).is_ok());
    }
}

/// The events of one typed class, from [`AmiClient::events_of`]: each item
/// reads as a `T` (it derefs to one) and keeps the whole [`Event`].
pub struct EventsOf<T> {
    events: EventStream<Arc<Event>>,
    _type: PhantomData<fn() -> T>,
}

impl<T: EventType> Stream for EventsOf<T> {
    type Item = Result<Typed<T>, Lagged>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            return match self.events.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(event))) => match Typed::new(event) {
                    Some(typed) => Poll::Ready(Some(Ok(typed))),
                    // Routed by `T::NAME`, so always a `T`; skipped if not.
                    None => continue,
                },
                Poll::Ready(Some(Err(lagged))) => Poll::Ready(Some(Err(lagged))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

impl<T: EventType> futures_util::stream::FusedStream for EventsOf<T> {
    fn is_terminated(&self) -> bool {
        self.events.is_terminated()
    }
}

/// An event known to be of type `T`: derefs to it.
#[derive(Debug)]
pub struct Typed<T> {
    event: Arc<Event>,
    _type: PhantomData<fn() -> T>,
}

impl<T: EventType> Typed<T> {
    /// `event` if it is a `T`.
    pub fn new(event: Arc<Event>) -> Option<Typed<T>> {
        T::from_event(&event)?;
        Some(Typed {
            event,
            _type: PhantomData,
        })
    }

    /// The event as received.
    pub fn event(&self) -> &Arc<Event> {
        &self.event
    }
}

impl<T> Clone for Typed<T> {
    fn clone(&self) -> Self {
        Typed {
            event: self.event.clone(),
            _type: PhantomData,
        }
    }
}

impl<T: EventType> Deref for Typed<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // `new` made sure the event is a `T`.
        T::from_event(&self.event).expect("a Typed holds an event of its type")
    }
}
