//! The client handle applications hold.

use crate::driver::{Command, Driver, Job, KnownVersion};
use crate::runtime::{Executor, Runtime};
use crate::stream::EventStream;
use ari_proto::{
    CloseReason, Config, ConfigError, ConnectionEvent, Filter, Operation, RequestError, Session,
};
use futures_channel::{mpsc, oneshot};
use std::sync::Arc;

/// Why [`Client::connect`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// The default TLS settings could not be built.
    #[error("TLS settings: {0}")]
    Tls(String),
    /// The first attempt to open the events WebSocket failed (later ones
    /// are the reconnect schedule's, reported by `connection_events`).
    #[error("the events WebSocket did not open: {0}")]
    WebSocket(CloseReason),
    /// The driver task ended before the connection opened (its runtime shut down).
    #[error("the client's driver stopped")]
    DriverStopped,
}

/// A connection to an Asterisk's ARI. Cheap to clone; the connection closes
/// when [`close`](Self::close) is called or the last clone is dropped.
#[derive(Clone)]
pub struct Client {
    commands: mpsc::UnboundedSender<Command>,
    queue: usize,
    executor: Arc<dyn Executor>,
    config: Arc<Config>,
    server_version: Arc<KnownVersion>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The configuration's Debug hides the password.
        f.debug_struct("Client")
            .field("config", &self.config)
            .field("server_version", &self.server_version())
            .finish_non_exhaustive()
    }
}

/// Events a stream may hold before its consumer counts as lagging.
pub const DEFAULT_QUEUE: usize = 1024;

/// The queue of [`Client::events`]: larger, since one stream takes every
/// event. The queue allocates only for what it holds.
pub const ALL_EVENTS_QUEUE: usize = 16 * 1024;

impl Client {
    /// Connects on `runtime`: returns once the events WebSocket is open.
    /// `https://` base URLs need the `tls` feature and trust the webpki
    /// roots. The adapters' `connect(config)` call this with their runtime.
    pub async fn connect<R: Runtime>(runtime: R, config: Config) -> Result<Client, ConnectError> {
        let tls = crate::transport::default_tls_config().map_err(ConnectError::Tls)?;
        Self::connect_with_tls(runtime, config, tls).await
    }

    /// [`connect`](Self::connect) with your own TLS settings (a rustls
    /// `ClientConfig`, e.g. trusting a private CA).
    pub async fn connect_with_tls<R: Runtime>(
        runtime: R,
        config: Config,
        tls: crate::TlsConfig,
    ) -> Result<Client, ConnectError> {
        let (client, opened) = Self::start_with_tls(runtime, config, tls)?;
        match opened.await {
            Ok(Ok(())) => Ok(client),
            Ok(Err(e)) => {
                client.close().await;
                Err(ConnectError::WebSocket(e))
            }
            Err(_) => Err(ConnectError::DriverStopped),
        }
    }

    /// A client whose driver is running its first connection attempt, and
    /// that attempt's outcome to come. After a failed attempt the client
    /// goes on trying on its reconnect schedule until closed.
    pub(crate) fn start_with_tls<R: Runtime>(
        runtime: R,
        config: Config,
        tls: crate::TlsConfig,
    ) -> Result<(Client, oneshot::Receiver<Result<(), CloseReason>>), ConnectError> {
        let kept = std::sync::Arc::new(config.clone());
        let session = Session::new(config).map_err(ConnectError::Config)?;
        let (commands, rx) = mpsc::unbounded();
        let (opened_tx, opened_rx) = oneshot::channel();
        let server_version = std::sync::Arc::new(KnownVersion::default());
        let driver = Driver::new(
            runtime.clone(),
            session,
            rx,
            opened_tx,
            tls,
            server_version.clone(),
        );
        runtime.spawn(Box::pin(driver.run()));
        let client = Client {
            commands,
            queue: DEFAULT_QUEUE,
            executor: Arc::new(runtime),
            config: kept,
            server_version,
        };
        Ok((client, opened_rx))
    }

    /// A client on a WebSocket Asterisk opened (an outbound WebSocket),
    /// and its driver, not started yet: whatever the caller asks of the
    /// client before it starts the driver (streams, call watchers) is in
    /// place before the first frame is read.
    pub(crate) fn accepted<R: Runtime>(
        runtime: R,
        config: Config,
        reader: crate::driver::WsReader<R>,
        writer: crate::driver::WsWriter,
        // Unused unless the application asks for HTTP; made once per server.
        tls: crate::TlsConfig,
    ) -> Result<
        (
            Client,
            impl std::future::Future<Output = ()> + Send + 'static,
        ),
        ConfigError,
    > {
        let kept = Arc::new(config.clone());
        let session = Session::new(config)?;
        let (commands, rx) = mpsc::unbounded();
        // Open at once: nobody waits for it.
        let (opened, _) = oneshot::channel();
        let server_version = Arc::new(KnownVersion::default());
        let driver = Driver::new(
            runtime.clone(),
            session,
            rx,
            opened,
            tls,
            server_version.clone(),
        )
        .with_accepted_socket(reader, writer);
        let client = Client {
            commands,
            queue: DEFAULT_QUEUE,
            executor: Arc::new(runtime),
            config: kept,
            server_version,
        };
        Ok((client, driver.run()))
    }

    /// The configuration it connected with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The server's Asterisk release, learnt when the events WebSocket
    /// opened (see [`Config::learn_server_version`]); `None` while unknown,
    /// e.g. for a user that may not read `GET /asterisk/info`. Operations
    /// that release lacks fail with `RequestError::Unsupported`, unsent.
    pub fn server_version(&self) -> Option<ari_proto::Version> {
        self.server_version.get()
    }

    /// The runtime the client runs on, for spawning and time.
    pub(crate) fn executor(&self) -> &Arc<dyn Executor> {
        &self.executor
    }

    pub(crate) fn send(&self, command: Command) -> Result<(), RequestError> {
        self.commands
            .unbounded_send(command)
            .map_err(|_| RequestError::Closed)
    }

    /// Sends a typed request and waits for its typed answer.
    pub async fn request<O>(&self, op: O) -> Result<O::Response, RequestError>
    where
        O: Operation + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |s, now| s.request(&op, now).map(|id| (id.raw(), None)));
        self.send(Command::Request {
            job,
            reply,
            tracked: None,
        })?;
        answer
            .await
            .map_err(|_| RequestError::Closed)??
            .decode::<O::Response>()
    }

    /// Sends a request that creates an object (originate, create, play,
    /// record, snoop) with an id chosen here, and returns the answer with a
    /// stream of the object's events. The stream exists before the request
    /// leaves, so it holds even the events that beat the answer.
    pub async fn request_tracked<O>(
        &self,
        op: O,
    ) -> Result<(O::Response, Option<EventStream>), RequestError>
    where
        O: Operation + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let (sink, stream) = EventStream::new(self.queue);
        let job: Job =
            Box::new(move |s, now| s.request_tracked(op, now).map(|(id, t)| (id.raw(), t)));
        self.send(Command::Request {
            job,
            reply,
            tracked: Some(sink),
        })?;
        let response = answer
            .await
            .map_err(|_| RequestError::Closed)??
            .decode::<O::Response>()?;
        Ok((response, Some(stream)))
    }

    /// A stream of the events `filter` selects, from now on, holding up to
    /// [`DEFAULT_QUEUE`] unread events.
    pub fn subscribe(&self, filter: Filter) -> EventStream {
        self.subscribe_with_queue(filter, self.queue)
    }

    /// [`subscribe`](Self::subscribe) with a queue of `capacity` unread events.
    pub fn subscribe_with_queue(&self, filter: Filter, capacity: usize) -> EventStream {
        let (sink, stream) = EventStream::new(capacity);
        // A closed client gives a stream that ends at once.
        let _ = self.send(Command::Subscribe { filter, sink });
        stream
    }

    /// Every event of the connection, holding up to [`ALL_EVENTS_QUEUE`]
    /// unread events: a catch-all stream sees every burst whole.
    pub fn events(&self) -> EventStream {
        self.subscribe_with_queue(Filter::All, ALL_EVENTS_QUEUE)
    }

    /// Changes of the events WebSocket's state (reconnects included).
    pub fn connection_events(&self) -> mpsc::UnboundedReceiver<ConnectionEvent> {
        let (tx, rx) = mpsc::unbounded();
        let _ = self.send(Command::WatchConnection(tx));
        rx
    }

    /// Closes the connection; waiting requests fail with `RequestError::Closed`.
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.send(Command::Close(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// A request about to be sent: await it for the answer, or adjust it first
/// with [`with`](Self::with) (`channel.play(["sound:beep"]).with(|p| p.lang("en")).await`).
/// Nothing is sent until it is awaited (or [`tracked`](Self::tracked) or
/// `start`ed).
#[must_use = "a request is sent only when awaited"]
pub struct Pending<O> {
    client: Client,
    op: O,
}

impl<O: Operation + Send + 'static> Pending<O> {
    pub(crate) fn new(client: Client, op: O) -> Self {
        Pending { client, op }
    }

    /// Changes the request before it is sent, e.g. to set optional parameters.
    pub fn with(mut self, change: impl FnOnce(O) -> O) -> Self {
        self.op = change(self.op);
        self
    }

    /// The client it will be sent through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The request as it stands.
    pub fn op(&self) -> &O {
        &self.op
    }

    /// Sends it as [`Client::request_tracked`] does: for operations that
    /// create an object, the answer comes with that object's event stream,
    /// which already holds the events that beat the answer.
    pub async fn tracked(self) -> Result<(O::Response, Option<EventStream>), RequestError> {
        self.client.request_tracked(self.op).await
    }
}

impl<O> std::future::IntoFuture for Pending<O>
where
    O: Operation + Send + 'static,
    O::Response: Send + 'static,
{
    type Output = Result<O::Response, RequestError>;
    type IntoFuture = crate::BoxFuture<Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.client.request(self.op).await })
    }
}
