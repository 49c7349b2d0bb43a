//! An ARI client on tokio.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ari_tokio::Config;
//! let client = ari_tokio::connect(Config::new("http://localhost:8088", "hello", "asterisk", "secret")?).await?;
//! client.channel("1795361410.9").answer().await?;
//! # Ok(()) }
//! ```
//!
//! `ari-smol` has the same API: switching runtime is changing the crate name.
//!
//! On tokio's multi-thread runtime (what `#[tokio::main]` builds), read a
//! busy event stream in a spawned task rather than in the body of `main`:
//! that body runs on the main thread, not on a worker, so each batch of
//! events wakes it across threads and it frees what the client allocated
//! on another thread. Spawned, the reader runs beside the client's driver
//! (BENCHMARKS.md, `multi_thread_task`). [`Client::serve_calls`] handlers
//! are tasks already.
//!
//! ```no_run
//! # async fn demo(client: ari_tokio::Client) {
//! use futures_util::StreamExt;
//! let mut events = client.events();
//! tokio::spawn(async move {
//!     while let Some(Ok(event)) = events.next().await {
//!         println!("{}", event.type_name());
//!     }
//! });
//! # }
//! ```

#![forbid(unsafe_code)]

pub use ari_client::api::*;
use ari_client::{BoxFuture, Executor, Listener, Runtime};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

/// Connects to an Asterisk on the current tokio runtime; returns once the
/// events WebSocket is open. Call it from within a runtime.
pub async fn connect(config: Config) -> Result<Client, ConnectError> {
    Client::connect(TokioRuntime::current(), config).await
}

/// Connects to several Asterisk servers as one [`Pool`]; returns once each
/// server's first attempt opened or failed (those that failed are retried
/// on their reconnect schedule). Fails if no server could be reached.
pub async fn connect_pool(configs: impl IntoIterator<Item = Config>) -> Result<Pool, PoolError> {
    Pool::connect(TokioRuntime::current(), configs).await
}

/// [`connect`] with your own TLS settings, e.g. trusting a private CA.
#[cfg(feature = "tls")]
pub async fn connect_with_tls(config: Config, tls: TlsConfig) -> Result<Client, ConnectError> {
    Client::connect_with_tls(TokioRuntime::current(), config, tls).await
}

/// AMI, the Asterisk Manager Interface, on tokio: the same connection
/// handling as ARI's (reconnects, keepalive, lag notices), through the same
/// runtime.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use ari_tokio::ami::{self, Action, Config};
/// let manager = ami::connect(Config::new("localhost:5038", "admin", "secret")?).await?;
/// let answer = manager.send(Action::new("CoreShowChannels")).await?;
/// println!("{} channels up", answer.items.len());
/// # Ok(()) }
/// ```
pub mod ami {
    pub use ari_client::ami::*;

    /// Connects and logs in; returns once logged in (and the filters
    /// applied). After that the client reconnects by itself.
    pub async fn connect(config: Config) -> Result<AmiClient, AmiConnectError> {
        AmiClient::connect(super::TokioRuntime::current(), config).await
    }

    /// A client that has not connected yet: subscribe first, then
    /// [`AmiClient::open`], and no event of the login is missed.
    pub fn client(config: Config) -> Result<AmiClient, AmiConnectError> {
        AmiClient::new(super::TokioRuntime::current(), config)
    }
}

/// Outbound WebSockets: Asterisk connects to the application (`type =
/// outbound_websocket` in `ari.conf`, Asterisk 20.15+, 21.10+, 22.5+), and
/// each connection is a [`Client`] whose requests travel over
/// that socket.
///
/// ```no_run
/// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use ari_tokio::{Config, outbound};
/// // The app of `ari.conf`, and the credentials of `websocket_client.conf`.
/// let config = Config::new("http://unused", "ows-app", "ows", "ows-secret")?;
/// let server = outbound::serve_calls("127.0.0.1:8765".parse()?, config, |mut call| async move {
///     let _ = call.channel.answer().await;
///     while call.next().await.is_some() {}
/// })?;
/// # let _ = server; Ok(()) }
/// ```
pub mod outbound {
    pub use ari_client::outbound::*;
    use ari_client::{Client, IncomingCall};

    /// Listens on `address` and gives every connection Asterisk opens to
    /// `on_connection` (see [`OutboundServer::start`]).
    pub fn listen<F>(
        address: std::net::SocketAddr,
        config: crate::Config,
        on_connection: F,
    ) -> std::io::Result<OutboundServer>
    where
        F: Fn(Client) + Send + Sync + 'static,
    {
        OutboundServer::start(
            super::TokioRuntime::current(),
            address,
            config,
            on_connection,
        )
    }

    /// [`listen`] for `wss://`: TLS with `tls` (a rustls server
    /// configuration holding the certificate Asterisk trusts) on every
    /// connection. Serve calls with `client.serve_calls(...)` in
    /// `on_connection`.
    #[cfg(feature = "tls")]
    pub fn listen_with_tls<F>(
        address: std::net::SocketAddr,
        config: crate::Config,
        tls: ari_client::TlsServerConfig,
        on_connection: F,
    ) -> std::io::Result<OutboundServer>
    where
        F: Fn(Client) + Send + Sync + 'static,
    {
        OutboundServer::start_with_tls(
            super::TokioRuntime::current(),
            address,
            config,
            tls,
            on_connection,
        )
    }

    /// Listens on `address` and runs `handler` for every call entering the
    /// application on any connection (see [`OutboundServer::serve_calls`]).
    pub fn serve_calls<F, Fut>(
        address: std::net::SocketAddr,
        config: crate::Config,
        handler: F,
    ) -> std::io::Result<OutboundServer>
    where
        F: Fn(IncomingCall) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        OutboundServer::serve_calls(super::TokioRuntime::current(), address, config, handler)
    }
}

/// FastAGI on tokio: a server Asterisk connects to for `AGI(agi://host/script)`,
/// one task per call, each with its environment and typed commands.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use ari_tokio::agi::{self, Routes, commands};
/// let server = agi::serve("127.0.0.1:4573".parse().unwrap(), Routes::new().at("hello", |agi| async move {
///     agi.send(&commands::Answer::new()).await?;
///     agi.send(&commands::StreamFile::new("hello-world", "")).await?;
///     Ok(())
/// }))?;
/// # let _ = server; Ok(()) }
/// ```
pub mod agi {
    pub use ari_client::agi::*;

    /// Listens on `address` (port 0: any free one) and serves each call by
    /// `routes`; stops accepting when the server is dropped.
    pub fn serve(address: std::net::SocketAddr, routes: Routes) -> std::io::Result<FastAgiServer> {
        serve_with(address, ServerConfig::default(), routes)
    }

    /// [`serve`] with your own settings (session limits and timeouts, the
    /// most sessions at once, tracing of every exchange).
    pub fn serve_with(
        address: std::net::SocketAddr,
        config: ServerConfig,
        routes: Routes,
    ) -> std::io::Result<FastAgiServer> {
        FastAgiServer::start(super::TokioRuntime::current(), address, config, routes)
    }
}

/// The tokio runtime, as the client needs it.
#[derive(Clone, Debug)]
pub struct TokioRuntime(pub tokio::runtime::Handle);

impl TokioRuntime {
    /// The runtime this is called from; panics outside one, as tokio does.
    pub fn current() -> TokioRuntime {
        TokioRuntime(tokio::runtime::Handle::current())
    }
}

impl Executor for TokioRuntime {
    fn spawn(&self, future: BoxFuture<()>) {
        self.0.spawn(future);
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }

    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}

impl Runtime for TokioRuntime {
    type Tcp = Compat;
    type Listener = TokioListener;

    fn connect(&self, host: String, port: u16) -> BoxFuture<io::Result<Compat>> {
        Box::pin(async move {
            let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
            stream.set_nodelay(true)?;
            Ok(Compat(stream))
        })
    }

    fn listen(&self, address: SocketAddr) -> io::Result<TokioListener> {
        let listener = std::net::TcpListener::bind(address)?;
        listener.set_nonblocking(true)?;
        let _guard = self.0.enter();
        Ok(TokioListener(tokio::net::TcpListener::from_std(listener)?))
    }
}

/// A tokio TCP listener, as the client's servers need it.
#[derive(Debug)]
pub struct TokioListener(tokio::net::TcpListener);

impl Listener for TokioListener {
    type Tcp = Compat;

    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(Compat, SocketAddr)>> {
        let (stream, peer) = ready!(self.0.poll_accept(cx))?;
        stream.set_nodelay(true)?;
        Poll::Ready(Ok((Compat(stream), peer)))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// A tokio TCP stream seen through `futures-io`.
#[derive(Debug)]
pub struct Compat(tokio::net::TcpStream);

impl From<tokio::net::TcpStream> for Compat {
    fn from(stream: tokio::net::TcpStream) -> Self {
        Compat(stream)
    }
}

impl futures_io::AsyncRead for Compat {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut read = tokio::io::ReadBuf::new(buf);
        ready!(tokio::io::AsyncRead::poll_read(
            Pin::new(&mut self.0),
            cx,
            &mut read
        ))?;
        Poll::Ready(Ok(read.filled().len()))
    }
}

impl futures_io::AsyncWrite for Compat {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write(Pin::new(&mut self.0), cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_flush(Pin::new(&mut self.0), cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_shutdown(Pin::new(&mut self.0), cx)
    }
}
