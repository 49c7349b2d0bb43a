//! A connection to Asterisk: plain TCP, or TLS over it with the `tls` feature.

use crate::runtime::Runtime;
use futures_io::{AsyncRead, AsyncWrite};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// TLS settings: a rustls client configuration (with the `tls` feature).
#[cfg(feature = "tls")]
pub type TlsConfig = Arc<futures_rustls::rustls::ClientConfig>;
/// TLS settings; without the `tls` feature there are none.
#[cfg(not(feature = "tls"))]
pub type TlsConfig = Arc<()>;

/// A rustls configuration trusting the webpki roots (Mozilla's list).
#[cfg(feature = "tls")]
pub fn default_tls_config() -> Result<TlsConfig, String> {
    use futures_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(not(feature = "tls"))]
pub(crate) fn default_tls_config() -> Result<TlsConfig, String> {
    Ok(Arc::new(()))
}

/// TLS settings of a server Asterisk connects to (an outbound WebSocket):
/// a rustls server configuration with its certificate.
#[cfg(feature = "tls")]
pub type TlsServerConfig = Arc<futures_rustls::rustls::ServerConfig>;

/// Plain or TLS.
pub(crate) enum Stream<T> {
    Plain(T),
    #[cfg(feature = "tls")]
    Tls(Box<futures_rustls::client::TlsStream<T>>),
    /// TLS on a connection this side accepted.
    #[cfg(feature = "tls")]
    TlsServer(Box<futures_rustls::server::TlsStream<T>>),
}

/// `(host, port, tls)` of an `http`, `https`, `ws` or `wss` URI.
fn host_port(uri: &http::Uri) -> Result<(String, u16, bool), String> {
    let host = uri
        .host()
        .ok_or("no host in the URI")?
        .trim_matches(['[', ']'])
        .to_string();
    let tls = matches!(uri.scheme_str(), Some("https" | "wss"));
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    Ok((host, port, tls))
}

/// Opens a connection for `uri`.
pub(crate) async fn open<R: Runtime>(
    rt: &R,
    uri: &http::Uri,
    tls: &TlsConfig,
) -> Result<Stream<R::Tcp>, String> {
    let (host, port, secure) = host_port(uri)?;
    open_host(rt, host, port, secure, tls).await
}

/// Opens a TCP connection to `host:port`, with TLS from the first byte if
/// `secure`.
pub(crate) async fn open_host<R: Runtime>(
    rt: &R,
    host: String,
    port: u16,
    secure: bool,
    tls: &TlsConfig,
) -> Result<Stream<R::Tcp>, String> {
    let tcp = rt
        .connect(host.clone(), port)
        .await
        .map_err(|e| format!("connect to {host}:{port}: {e}"))?;
    if !secure {
        return Ok(Stream::Plain(tcp));
    }
    #[cfg(feature = "tls")]
    {
        let name = futures_rustls::rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| format!("{host}: {e}"))?;
        let stream = futures_rustls::TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {host}: {e}"))?;
        Ok(Stream::Tls(Box::new(stream)))
    }
    #[cfg(not(feature = "tls"))]
    {
        let _ = (tcp, tls);
        Err("TLS (https, wss, tls://) needs the `tls` feature".into())
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            #[cfg(feature = "tls")]
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_close(cx),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_close(cx),
            #[cfg(feature = "tls")]
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_close(cx),
        }
    }
}
