//! A thread-per-connection server on loopback that stops when dropped; the
//! benchmark servers are built on it. For a [`Service`], each connection
//! carries HTTP requests one after another until one of them upgrades to a
//! WebSocket; [`LoopbackServer::start_raw`] hands over the bare TCP
//! connection instead (the AMI load server's).

use conformance::Counter;
use conformance::wire_io::{self, HttpRequest};
use std::io::{self, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// What a loopback server does with its connections.
pub trait Service: Send + Sync + 'static {
    /// Answers one HTTP request on `writer`.
    fn http(&self, request: &HttpRequest, writer: &mut TcpStream) -> io::Result<()>;

    /// Runs the WebSocket this connection was upgraded to by `request`
    /// (whose query names the application: `?app=NAME`).
    fn websocket(
        &self,
        request: &HttpRequest,
        reader: BufReader<TcpStream>,
        writer: TcpStream,
    ) -> io::Result<()>;
}

/// Whether `request` is the `GET /asterisk/info` a client sends on its own
/// when its WebSocket opens (to learn the build): not a sign that the
/// application is ready.
pub fn is_version_probe(request: &HttpRequest) -> bool {
    request.method == "GET" && request.path == "/ari/asterisk/info"
}

/// Serves one connection: HTTP requests until one upgrades.
fn serve(stream: TcpStream, service: &impl Service) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(request) = wire_io::read_request(&mut reader)? {
        if let Some(key) = request.websocket_key() {
            wire_io::write_upgrade(&mut writer, key)?;
            return service.websocket(&request, reader, writer);
        }
        service.http(&request, &mut writer)?;
    }
    Ok(())
}

/// A running loopback server.
pub struct LoopbackServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl LoopbackServer {
    /// Listens on a free loopback port and serves each connection in a thread.
    pub fn start(service: Arc<impl Service>) -> io::Result<LoopbackServer> {
        LoopbackServer::start_raw(move |stream| {
            let _ = serve(stream, &*service);
        })
    }

    /// Listens on a free loopback port and runs `handle` on each connection,
    /// in a thread of its own.
    pub fn start_raw(
        handle: impl Fn(TcpStream) + Send + Sync + 'static,
    ) -> io::Result<LoopbackServer> {
        let handle = Arc::new(handle);
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let handle = handle.clone();
                    std::thread::spawn(move || handle(stream));
                }
            })
        };
        Ok(LoopbackServer {
            addr,
            stop,
            acceptor: Some(acceptor),
        })
    }

    /// `http://ADDR`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
    }
}

/// A server that opens the events WebSocket (and keeps it, silent) but
/// never answers an HTTP request: each waits until the client closes its
/// connection. It counts requests waiting at once, to show that a client
/// which gives up on requests closes their connections.
pub struct Silent {
    server: LoopbackServer,
    counts: Arc<SilentCounts>,
}

#[derive(Default)]
struct SilentCounts {
    open: Counter,
    most: std::sync::atomic::AtomicUsize,
}

impl Service for SilentCounts {
    fn http(&self, _: &HttpRequest, writer: &mut TcpStream) -> io::Result<()> {
        let now = self.open.add(1);
        self.most.fetch_max(now, Ordering::SeqCst);
        let outcome = wait_for_close(writer);
        self.open.sub(1);
        outcome?;
        // The client is gone: end this connection.
        Err(io::ErrorKind::ConnectionAborted.into())
    }

    fn websocket(
        &self,
        _: &HttpRequest,
        _reader: BufReader<TcpStream>,
        mut writer: TcpStream,
    ) -> io::Result<()> {
        wait_for_close(&mut writer)
    }
}

/// Reads and drops what comes until the peer closes (or a minute passed).
fn wait_for_close(stream: &mut TcpStream) -> io::Result<()> {
    use std::io::Read;
    stream.set_read_timeout(Some(std::time::Duration::from_millis(50)))?;
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut sink = [0u8; 1024];
    while std::time::Instant::now() < give_up {
        match stream.read(&mut sink) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

impl Silent {
    /// Listens on a free loopback port.
    pub fn start() -> io::Result<Silent> {
        let counts = Arc::new(SilentCounts::default());
        Ok(Silent {
            server: LoopbackServer::start(counts.clone())?,
            counts,
        })
    }

    /// `http://ADDR`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// HTTP requests waiting now (their connections still open), to read
    /// or to await.
    pub fn open_requests(&self) -> &Counter {
        &self.counts.open
    }

    /// The most requests that waited at once.
    pub fn most_open_requests(&self) -> usize {
        self.counts.most.load(Ordering::SeqCst)
    }

    /// Starts counting [`most_open_requests`](Self::most_open_requests) again.
    pub fn reset_most_open_requests(&self) {
        self.counts.most.store(0, Ordering::SeqCst);
    }
}
