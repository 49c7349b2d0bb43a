//! An ARI client on smol. It also runs under async-std's executor.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ari_smol::Config;
//! let client = ari_smol::connect(Config::new("http://localhost:8088", "hello", "asterisk", "secret")?).await?;
//! client.channel("1795361410.9").answer().await?;
//! # Ok(()) }
//! ```
//!
//! `ari-tokio` has the same API: switching runtime is changing the crate name.

#![forbid(unsafe_code)]

pub use ari_client::api::*;
use ari_client::{BoxFuture, Executor, Listener, Runtime};
use smol::Async;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll, ready};
use std::time::Instant;

/// Connects to an Asterisk on smol's global executor; returns once the
/// events WebSocket is open.
pub async fn connect(config: Config) -> Result<Client, ConnectError> {
    Client::connect(SmolRuntime, config).await
}

/// Connects to several Asterisk servers as one [`Pool`]; returns once each
/// server's first attempt opened or failed (those that failed are retried
/// on their reconnect schedule). Fails if no server could be reached.
pub async fn connect_pool(configs: impl IntoIterator<Item = Config>) -> Result<Pool, PoolError> {
    Pool::connect(SmolRuntime, configs).await
}

/// [`connect`] with your own TLS settings, e.g. trusting a private CA.
#[cfg(feature = "tls")]
pub async fn connect_with_tls(config: Config, tls: TlsConfig) -> Result<Client, ConnectError> {
    Client::connect_with_tls(SmolRuntime, config, tls).await
}

/// AMI, the Asterisk Manager Interface, on smol: the same connection
/// handling as ARI's (reconnects, keepalive, lag notices), through the same
/// runtime.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use ari_smol::ami::{self, Action, Config};
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
        AmiClient::connect(super::SmolRuntime, config).await
    }

    /// A client that has not connected yet: subscribe first, then
    /// [`AmiClient::open`], and no event of the login is missed.
    pub fn client(config: Config) -> Result<AmiClient, AmiConnectError> {
        AmiClient::new(super::SmolRuntime, config)
    }
}

/// Outbound WebSockets: Asterisk connects to the application (`type =
/// outbound_websocket` in `ari.conf`, Asterisk 20.15+, 21.10+, 22.5+), and
/// each connection is a [`Client`] whose requests travel over
/// that socket.
///
/// ```no_run
/// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use ari_smol::{Config, outbound};
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
        OutboundServer::start(super::SmolRuntime, address, config, on_connection)
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
        OutboundServer::start_with_tls(super::SmolRuntime, address, config, tls, on_connection)
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
        OutboundServer::serve_calls(super::SmolRuntime, address, config, handler)
    }
}

/// FastAGI on smol: a server Asterisk connects to for `AGI(agi://host/script)`,
/// one task per call, each with its environment and typed commands.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use ari_smol::agi::{self, Routes, commands};
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
        FastAgiServer::start(super::SmolRuntime, address, config, routes)
    }
}

/// smol's global executor and reactor, as the client needs them.
#[derive(Clone, Copy, Debug, Default)]
pub struct SmolRuntime;

impl Executor for SmolRuntime {
    fn spawn(&self, future: BoxFuture<()>) {
        smol::spawn(future).detach();
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        Box::pin(async move {
            smol::Timer::at(deadline).await;
        })
    }
}

impl Runtime for SmolRuntime {
    type Tcp = smol::net::TcpStream;
    type Listener = SmolListener;

    fn connect(&self, host: String, port: u16) -> BoxFuture<io::Result<smol::net::TcpStream>> {
        Box::pin(async move {
            let stream = smol::net::TcpStream::connect((host.as_str(), port)).await?;
            stream.set_nodelay(true)?;
            Ok(stream)
        })
    }

    fn listen(&self, address: SocketAddr) -> io::Result<SmolListener> {
        Ok(SmolListener(Async::<std::net::TcpListener>::bind(address)?))
    }
}

/// A TCP listener on smol's reactor, as the client's servers need it.
#[derive(Debug)]
pub struct SmolListener(Async<std::net::TcpListener>);

impl Listener for SmolListener {
    type Tcp = smol::net::TcpStream;

    fn poll_accept(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(smol::net::TcpStream, SocketAddr)>> {
        loop {
            match self.0.get_ref().accept() {
                Ok((stream, peer)) => {
                    stream.set_nodelay(true)?;
                    let stream = smol::net::TcpStream::try_from(stream)?;
                    return Poll::Ready(Ok((stream, peer)));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready!(self.0.poll_readable(cx))?;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().local_addr()
    }
}
