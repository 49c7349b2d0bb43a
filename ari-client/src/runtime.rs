//! What the driver needs from an async runtime: spawning, a timer, and TCP
//! (connecting, and listening for servers Asterisk connects to).
//! `ari-tokio` and `ari-smol` each implement it in a few lines.

use futures_io::{AsyncRead, AsyncWrite};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// A boxed future that is `Send`.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What the client needs of a runtime besides TCP: spawning and time.
/// Object safe, so that the client's public types name no runtime.
pub trait Executor: Send + Sync + 'static {
    /// Runs `future` in the background.
    fn spawn(&self, future: BoxFuture<()>);

    /// Completes at `deadline`.
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()>;

    /// The current time, on the clock `sleep_until` uses (a runtime with a
    /// virtual clock, e.g. tokio's paused time in tests, returns its own).
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// An async runtime the client can run on: an [`Executor`] that also
/// opens TCP connections. The connection's driver is generic over it; the
/// client it gives is not.
pub trait Runtime: Executor + Clone {
    /// A connected TCP stream, as `futures-io` sees it.
    type Tcp: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// A bound TCP listener.
    type Listener: Listener<Tcp = Self::Tcp>;

    /// Opens a TCP connection to `host:port`.
    fn connect(&self, host: String, port: u16) -> BoxFuture<io::Result<Self::Tcp>>;

    /// Binds a TCP listener to `address` (port 0: any free port). Call it
    /// from within the runtime.
    fn listen(&self, address: SocketAddr) -> io::Result<Self::Listener>;
}

/// A bound TCP listener, accepting connections.
pub trait Listener: Send + Unpin + 'static {
    /// The accepted connections.
    type Tcp: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// The next connection and its peer's address, once one comes.
    fn poll_accept(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<(Self::Tcp, SocketAddr)>>;

    /// The address it is bound to (with the port chosen, if 0 was asked).
    fn local_addr(&self) -> io::Result<SocketAddr>;
}
