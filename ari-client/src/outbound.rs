//! Outbound WebSockets: Asterisk connects to the application (Asterisk
//! 20.15+, 21.10+, 22.5+; `type = outbound_websocket` in `ari.conf` with a
//! `websocket_client.conf` connection). [`OutboundServer`] accepts those
//! connections, checks Asterisk's credentials and the `ari` subprotocol,
//! and gives each connection as a [`Client`] whose requests travel over that
//! same socket (`RESTRequest` frames). In per-call mode Asterisk opens one
//! connection per call and closes it after the call; the client's streams
//! end then, and the connection's tasks with them.

use crate::client::Client;
use crate::driver::{split_ws, ws_config};
use crate::runtime::{Listener, Runtime};
use crate::transport;
use crate::ws_read::Recording;
use crate::{IncomingCall, TlsConfig};
use ari_proto::Config;
use async_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use async_tungstenite::tungstenite::protocol::Role;
use futures_channel::{mpsc, oneshot};
use futures_util::FutureExt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The WebSocket subprotocol Asterisk asks for on an outbound ARI socket.
pub const SUBPROTOCOL: &str = "ari";

/// Connections a server holds at once (being upgraded or open) unless told
/// otherwise ([`OutboundServer::set_max_connections`]): one per call in
/// per-call mode.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// How long the accept loop waits after a failed accept (e.g. out of file
/// descriptors) before it accepts again, instead of spinning.
const ACCEPT_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

type OnConnection = Arc<dyn Fn(Client) + Send + Sync>;

/// TLS for the connections Asterisk opens (`wss://` in
/// `websocket_client.conf`), with the `tls` feature.
#[cfg(feature = "tls")]
type Acceptor = Option<futures_rustls::TlsAcceptor>;
#[cfg(not(feature = "tls"))]
type Acceptor = Option<std::convert::Infallible>;

/// A server Asterisk connects to. Dropping it (or
/// [`shutdown`](Self::shutdown)) stops accepting; open connections go on.
pub struct OutboundServer {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    counts: Arc<Counts>,
}

/// Connections of one server, read by the accept loop and the application.
#[derive(Debug)]
struct Counts {
    /// Accepted and not yet closed: being upgraded or open.
    held: AtomicUsize,
    /// Upgraded, and not yet closed.
    open: AtomicUsize,
    max: AtomicUsize,
}

impl OutboundServer {
    /// Listens on `address` (port 0: any free one). `config` names the
    /// application (`config.apps`, the `ari.conf` section) and the user name
    /// and password Asterisk must present (`websocket_client.conf`'s
    /// `username`/`password`); a connection without them is refused with
    /// 401 and never reaches `on_connection`. Its other settings (timeouts,
    /// ping) apply to every connection; its base URL is not used.
    ///
    /// `on_connection` gets each accepted connection's [`Client`] before any
    /// of its frames is read, so streams and call watchers made there miss
    /// nothing (`ApplicationRegistered`, the first `StasisStart`).
    ///
    /// A connection must finish its TLS handshake and upgrade within
    /// `config.connect_timeout`, or it is closed. At most
    /// [`DEFAULT_MAX_CONNECTIONS`] are held at once (see
    /// [`set_max_connections`](Self::set_max_connections)); one more is
    /// closed as soon as it is accepted, and Asterisk tries again later.
    pub fn start<R, F>(
        runtime: R,
        address: SocketAddr,
        config: Config,
        on_connection: F,
    ) -> io::Result<OutboundServer>
    where
        R: Runtime,
        F: Fn(Client) + Send + Sync + 'static,
    {
        Self::start_with(runtime, address, config, None, on_connection)
    }

    /// [`start`](Self::start) for `wss://`: every connection speaks TLS
    /// with `tls` (a rustls server configuration holding the certificate
    /// Asterisk is to trust) before the WebSocket upgrade.
    #[cfg(feature = "tls")]
    pub fn start_with_tls<R, F>(
        runtime: R,
        address: SocketAddr,
        config: Config,
        tls: crate::TlsServerConfig,
        on_connection: F,
    ) -> io::Result<OutboundServer>
    where
        R: Runtime,
        F: Fn(Client) + Send + Sync + 'static,
    {
        let acceptor = Some(futures_rustls::TlsAcceptor::from(tls));
        Self::start_with(runtime, address, config, acceptor, on_connection)
    }

    fn start_with<R, F>(
        runtime: R,
        address: SocketAddr,
        config: Config,
        acceptor: Acceptor,
        on_connection: F,
    ) -> io::Result<OutboundServer>
    where
        R: Runtime,
        F: Fn(Client) + Send + Sync + 'static,
    {
        // Checked here, not on the first connection.
        ari_proto::Session::new(config.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let tls = transport::default_tls_config().map_err(io::Error::other)?;
        let listener = runtime.listen(address)?;
        let address = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel();
        let counts = Arc::new(Counts {
            held: AtomicUsize::new(0),
            open: AtomicUsize::new(0),
            max: AtomicUsize::new(DEFAULT_MAX_CONNECTIONS),
        });
        let each = Each {
            config: Arc::new(config),
            on_connection: Arc::new(on_connection),
            tls,
            acceptor,
            counts: counts.clone(),
        };
        let accept = accept_loop(runtime.clone(), listener, each, stopped);
        runtime.spawn(Box::pin(accept));
        Ok(OutboundServer {
            address,
            stop: Some(stop),
            counts,
        })
    }

    /// [`start`](Self::start) that runs `handler` in its own task for every
    /// call entering the application on any connection, as
    /// [`Client::serve_calls`] does for one client.
    pub fn serve_calls<R, F, Fut>(
        runtime: R,
        address: SocketAddr,
        config: Config,
        handler: F,
    ) -> io::Result<OutboundServer>
    where
        R: Runtime,
        F: Fn(IncomingCall) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler = Arc::new(handler);
        Self::start(runtime, address, config, move |client| {
            let handler = handler.clone();
            client.serve_calls(move |call| handler(call));
        })
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Connections from Asterisk open now (upgraded, not yet closed).
    pub fn open_connections(&self) -> usize {
        self.counts.open.load(Ordering::Relaxed)
    }

    /// Connections held now: open ones and those being upgraded.
    pub fn held_connections(&self) -> usize {
        self.counts.held.load(Ordering::Relaxed)
    }

    /// Holds at most `max` connections at once from now on (being
    /// upgraded or open); connections beyond are closed as soon as they
    /// are accepted. Open ones are never closed by a lower limit.
    pub fn set_max_connections(&self, max: usize) {
        self.counts.max.store(max, Ordering::Relaxed);
    }

    /// Stops accepting connections (open ones go on).
    pub fn shutdown(&mut self) {
        self.stop.take();
    }
}

impl Drop for OutboundServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// What every connection of a server shares.
#[derive(Clone)]
struct Each {
    config: Arc<Config>,
    on_connection: OnConnection,
    /// Client TLS settings, unused unless the application asks for HTTP.
    tls: TlsConfig,
    acceptor: Acceptor,
    counts: Arc<Counts>,
}

/// One held connection: counted until dropped, however it ends.
struct Held(Arc<Counts>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.held.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn accept_loop<R: Runtime>(
    runtime: R,
    mut listener: R::Listener,
    each: Each,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        let accepted = futures_util::select! {
            accepted = std::future::poll_fn(|cx| listener.poll_accept(cx)).fuse() => accepted,
            _ = (&mut stopped).fuse() => return,
        };
        let (tcp, peer) = match accepted {
            Ok(connection) => connection,
            Err(e) => {
                tracing::warn!(%e, "outbound WebSocket: accept failed");
                runtime.sleep_until(runtime.now() + ACCEPT_RETRY).await;
                continue;
            }
        };
        let counts = &each.counts;
        let max = counts.max.load(Ordering::Relaxed);
        if counts.held.load(Ordering::Relaxed) >= max {
            tracing::warn!(%peer, max, "outbound WebSocket: connection limit reached, closed");
            continue;
        }
        counts.held.fetch_add(1, Ordering::Relaxed);
        let held = Held(counts.clone());
        let connection = serve_connection(runtime.clone(), tcp, each.clone());
        runtime.spawn(Box::pin(async move {
            if let Err(e) = connection.await {
                tracing::warn!(%peer, %e, "outbound WebSocket refused");
            }
            drop(held);
        }));
    }
}

/// The upgrade with its checks (bounded by the connect timeout), then the
/// connection's driver.
async fn serve_connection<R: Runtime>(runtime: R, tcp: R::Tcp, each: Each) -> Result<(), String> {
    let Each {
        config,
        on_connection,
        tls,
        acceptor,
        counts,
    } = each;
    let limit = config.connect_timeout;
    let deadline = runtime.sleep_until(runtime.now() + limit);
    let handshake = Box::pin(upgrade(&runtime, tcp, config.clone(), acceptor));
    let (reader, writer) = match futures_util::future::select(handshake, deadline).await {
        futures_util::future::Either::Left((upgraded, _)) => upgraded?,
        futures_util::future::Either::Right(_) => {
            return Err(format!("no TLS handshake and upgrade within {limit:?}"));
        }
    };
    let (client, driver) = Client::accepted(runtime, (*config).clone(), reader, writer, tls)
        .map_err(|e| e.to_string())?;
    counts.open.fetch_add(1, Ordering::Relaxed);
    on_connection(client);
    driver.await;
    counts.open.fetch_sub(1, Ordering::Relaxed);
    Ok(())
}

/// TLS if the server has it, then the WebSocket upgrade with its checks.
// tungstenite's callback type fixes the refusal's type.
#[allow(clippy::result_large_err)]
async fn upgrade<R: Runtime>(
    runtime: &R,
    tcp: R::Tcp,
    config: Arc<Config>,
    acceptor: Acceptor,
) -> Result<(crate::driver::WsReader<R>, crate::driver::WsWriter), String> {
    let upgrade =
        move |request: &Request, response: Response| check_upgrade(&config, request, response);
    // tungstenite answers the upgrade; frames are read as the client's are.
    let inner = match acceptor {
        #[cfg(feature = "tls")]
        Some(acceptor) => transport::Stream::TlsServer(Box::new(
            acceptor
                .accept(tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?,
        )),
        #[cfg(not(feature = "tls"))]
        Some(never) => match never {},
        None => transport::Stream::Plain(tcp),
    };
    let tcp = Recording {
        inner,
        seen: Vec::new(),
    };
    let ws = async_tungstenite::accept_hdr_async_with_config(tcp, upgrade, Some(ws_config()))
        .await
        .map_err(|e| e.to_string())?;
    let (writer, writer_rx) = mpsc::unbounded();
    let reader = split_ws(runtime, ws.into_inner(), Role::Server, writer_rx).await;
    Ok((reader, writer))
}

/// Asterisk's upgrade request: the right credentials (else 401) and the
/// `ari` subprotocol (else 400), which the answer then names.
#[allow(clippy::result_large_err)]
fn check_upgrade(
    config: &Config,
    request: &Request,
    mut response: Response,
) -> Result<Response, ErrorResponse> {
    let refuse = |status: http::StatusCode, why: &str| {
        let mut refusal = ErrorResponse::new(Some(why.to_string()));
        *refusal.status_mut() = status;
        if status == http::StatusCode::UNAUTHORIZED {
            refusal.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Basic realm=\"ari\""),
            );
        }
        refusal
    };
    let authorization = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    if !config.accepts_credentials(authorization) {
        return Err(refuse(
            http::StatusCode::UNAUTHORIZED,
            "wrong or missing credentials",
        ));
    }
    let offers_ari = request
        .headers()
        .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == SUBPROTOCOL);
    if !offers_ari {
        return Err(refuse(
            http::StatusCode::BAD_REQUEST,
            "the ari subprotocol is required",
        ));
    }
    response.headers_mut().insert(
        http::header::SEC_WEBSOCKET_PROTOCOL,
        http::HeaderValue::from_static(SUBPROTOCOL),
    );
    Ok(response)
}
