//! The client handle applications hold.

use crate::driver::{Command, Driver, Job, KnownVersion};
use crate::runtime::Runtime;
use crate::stream::EventStream;
use ari_proto::{
    CloseReason, Config, ConfigError, ConnectionEvent, Filter, Operation, RequestError, Session,
};
use futures_channel::{mpsc, oneshot};

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
pub struct Client<R: Runtime> {
    commands: mpsc::UnboundedSender<Command>,
    queue: usize,
    runtime: R,
    config: std::sync::Arc<Config>,
    server_version: std::sync::Arc<KnownVersion>,
}

impl<R: Runtime> Clone for Client<R> {
    fn clone(&self) -> Self {
        Client {
            commands: self.commands.clone(),
            queue: self.queue,
            runtime: self.runtime.clone(),
            config: self.config.clone(),
            server_version: self.server_version.clone(),
        }
    }
}

/// Events a stream may hold before its consumer counts as lagging.
pub const DEFAULT_QUEUE: usize = 1024;

/// The queue of [`Client::events`]: larger, since one stream takes every
/// event. The queue allocates only for what it holds.
pub const ALL_EVENTS_QUEUE: usize = 16 * 1024;

impl<R: Runtime> Client<R> {
    /// Connects: returns once the events WebSocket is open. `https://` base
    /// URLs need the `tls` feature and trust the webpki roots.
    pub async fn connect(runtime: R, config: Config) -> Result<Client<R>, ConnectError> {
        let tls = crate::transport::default_tls_config().map_err(ConnectError::Tls)?;
        Self::connect_with_tls(runtime, config, tls).await
    }

    /// [`connect`](Self::connect) with your own TLS settings (a rustls
    /// `ClientConfig`, e.g. trusting a private CA).
    pub async fn connect_with_tls(
        runtime: R,
        config: Config,
        tls: crate::TlsConfig,
    ) -> Result<Client<R>, ConnectError> {
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
            runtime,
            config: kept,
            server_version,
        };
        match opened_rx.await {
            Ok(Ok(())) => Ok(client),
            Ok(Err(e)) => {
                client.close().await;
                Err(ConnectError::WebSocket(e))
            }
            Err(_) => Err(ConnectError::DriverStopped),
        }
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

    /// The runtime the client runs on.
    pub fn runtime(&self) -> &R {
        &self.runtime
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
pub struct Call<R: Runtime, O> {
    client: Client<R>,
    op: O,
}

impl<R: Runtime, O: Operation + Send + 'static> Call<R, O> {
    pub(crate) fn new(client: Client<R>, op: O) -> Self {
        Call { client, op }
    }

    /// Changes the request before it is sent, e.g. to set optional parameters.
    pub fn with(mut self, change: impl FnOnce(O) -> O) -> Self {
        self.op = change(self.op);
        self
    }

    /// The client it will be sent through.
    pub fn client(&self) -> &Client<R> {
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

impl<R: Runtime, O> std::future::IntoFuture for Call<R, O>
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
