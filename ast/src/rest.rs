//! One-shot REST calls: `ari_proto::Session` decides the request (URL,
//! query, body, credentials) and reads the answer; this only carries the
//! bytes, one HTTP/1.1 exchange per connection (over rustls for https://).
//! No events WebSocket is opened and no Stasis application registered:
//! `call`, `info` and ARI's `top` are requests and nothing else.

use crate::Failure;
use ari_proto::{Output, RawRequestId, RawResponse, RequestError, Session, Transmit};
use futures_rustls::TlsConnector;
use futures_rustls::rustls::pki_types::ServerName;
use futures_util::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// A session used for REST requests only.
pub struct Rest {
    session: Session,
    timeout: Duration,
    tls: TlsConnector,
}

impl Rest {
    /// A session for `settings` (its first application is never registered).
    pub fn new(settings: &crate::settings::Ari) -> Result<Rest, Failure> {
        let config = settings.config(&settings.apps)?;
        let tls = TlsConnector::from(settings.tls()?);
        let timeout = config.request_timeout;
        let session = Session::new(config).map_err(|e| Failure::usage(e.to_string()))?;
        Ok(Rest {
            session,
            timeout,
            tls,
        })
    }

    /// The session, to start a request on.
    pub fn session(&mut self) -> &mut Session {
        &mut self.session
    }

    /// Sends a typed request and decodes its answer.
    pub async fn request<O: ari_proto::Operation>(
        &mut self,
        op: O,
    ) -> Result<O::Response, RequestError> {
        let id = self.session.request(&op, Instant::now())?;
        self.finish(id.raw()).await?.decode::<O::Response>()
    }

    /// Carries out what the session asks until request `id` is answered.
    pub async fn finish(&mut self, id: RawRequestId) -> Result<RawResponse, RequestError> {
        loop {
            let mut sent = false;
            while let Some(transmit) = self.session.poll_transmit() {
                if let Transmit::Http { id: raw, request } = transmit {
                    sent = true;
                    let outcome =
                        tokio::time::timeout(self.timeout, exchange(&request, &self.tls)).await;
                    let now = Instant::now();
                    match outcome {
                        Ok(Ok((status, body))) => {
                            self.session.handle_http_response(raw, status, body, now)
                        }
                        Ok(Err(e)) => self.session.handle_http_error(raw, e, now),
                        Err(_) => self.session.handle_timeout(now + self.timeout),
                    }
                }
            }
            while let Some(output) = self.session.poll_event() {
                if let Output::Response { id: done, outcome } = output
                    && done == id
                {
                    return outcome;
                }
            }
            if !sent {
                // Nothing went out and no answer came: the session gave up.
                return Err(RequestError::Timeout(self.timeout));
            }
        }
    }
}

/// One HTTP/1.1 exchange on a new connection, with TLS for https://: the
/// status and the body.
async fn exchange(
    request: &http::Request<Vec<u8>>,
    tls: &TlsConnector,
) -> Result<(u16, Vec<u8>), String> {
    let uri = request.uri();
    let host = uri.host().ok_or("no host in the URL")?;
    let secure = uri.scheme_str() == Some("https");
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let bare = host.trim_matches(['[', ']']);
    let tcp = TcpStream::connect((bare, port))
        .await
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    let tcp = ari_tokio::Compat::from(tcp);
    if !secure {
        return talk(request, tcp, host, port).await;
    }
    let name = ServerName::try_from(bare.to_string()).map_err(|e| format!("{host}: {e}"))?;
    let stream = tls
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS with {host}: {e}"))?;
    talk(request, stream, host, port).await
}

/// The exchange itself, on an open connection.
async fn talk(
    request: &http::Request<Vec<u8>>,
    stream: impl AsyncRead + AsyncWrite + Unpin,
    host: &str,
    port: u16,
) -> Result<(u16, Vec<u8>), String> {
    let uri = request.uri();
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut head = format!(
        "{} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        request.method(),
        uri.authority().map_or(host, |a| a.as_str()),
        request.body().len()
    );
    for (name, value) in request.headers() {
        let name = name.as_str();
        if name == "host" || name == "content-length" || name == "connection" {
            continue;
        }
        head.push_str(&format!(
            "{name}: {}\r\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    head.push_str("\r\n");
    let mut stream = futures_util::io::BufReader::new(stream);
    let io = |e: std::io::Error| format!("{host}:{port}: {e}");
    stream
        .get_mut()
        .write_all(head.as_bytes())
        .await
        .map_err(io)?;
    stream
        .get_mut()
        .write_all(request.body())
        .await
        .map_err(io)?;
    stream.get_mut().flush().await.map_err(io)?;
    let mut line = String::new();
    stream.read_line(&mut line).await.map_err(io)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{host}:{port} did not answer HTTP: {:?}", line.trim()))?;
    let (mut length, mut chunked) = (None, false);
    loop {
        line.clear();
        if stream.read_line(&mut line).await.map_err(io)? == 0 {
            return Err(format!("{host}:{port} closed the connection mid-answer"));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            stream.read_line(&mut line).await.map_err(io)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| format!("{host}:{port}: a bad chunk size"))?;
            let start = body.len();
            body.resize(start + size + 2, 0);
            stream.read_exact(&mut body[start..]).await.map_err(io)?;
            body.truncate(start + size);
            if size == 0 {
                break;
            }
        }
    } else if let Some(length) = length {
        body.resize(length, 0);
        stream.read_exact(&mut body).await.map_err(io)?;
    } else if status != 204 && status != 304 {
        stream.read_to_end(&mut body).await.map_err(io)?;
    }
    Ok((status, body))
}
