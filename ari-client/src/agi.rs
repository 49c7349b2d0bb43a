//! AGI on real sockets: a FastAGI server ([`FastAgiServer`]) that hands
//! each call Asterisk connects for to a handler of its own, as an [`Agi`]
//! to send typed commands through, with an [`agi_proto::Session`] per
//! connection driven on the same [`Runtime`] as the ARI and AMI clients.
//!
//! The connection is read whenever bytes come, whatever the handler does:
//! a `HANGUP` line is seen at once ([`Agi::is_hung_up`]).

use crate::runtime::{Listener, Runtime};
use agi_proto::{CommandId, Encoded, Output, Session, Transmit};
use futures_channel::{mpsc, oneshot};
use futures_util::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use futures_util::{FutureExt, StreamExt};
use std::collections::HashMap;
use std::error::Error;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

pub use crate::agi_process::{ProcessAgi, eagi_audio};
pub use agi_proto::{
    ChannelState, CloseReason, Command, CommandError, Config, DataEntry, DigitResult, ExecResult,
    GosubResult, Outcome, Playback, RawCommand, ReceivedChar, RecordEnd, Recording, Reply,
    ReplyError, Request, Script, SpeechRecognition, SpeechResult, Text, commands,
};

/// Why a command has no typed result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AgiError {
    /// It got no reply (not sent, timed out, connection lost, closed).
    #[error(transparent)]
    Command(#[from] CommandError),
    /// Asterisk's reply says it failed, or does not read as this command's.
    #[error(transparent)]
    Reply(#[from] ReplyError),
}

enum Job {
    Send(Encoded, oneshot::Sender<Result<Reply, CommandError>>),
    Close,
}

/// One call Asterisk handed to the server: its environment and the way to
/// send it commands. Commands go one at a time, in order; a clone sends on
/// the same call.
#[derive(Clone)]
pub struct Agi {
    request: Arc<Request>,
    peer: SocketAddr,
    jobs: mpsc::UnboundedSender<Job>,
    hung_up: Arc<AtomicBool>,
}

impl Agi {
    /// The environment Asterisk sent (`agi_channel`, `agi_arg_1`, ...).
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The script path and query of the AGI URL
    /// (`agi://host/ivr?lang=en` gives `ivr` and `lang=en`).
    pub fn script(&self) -> Script {
        self.request.script().unwrap_or_default()
    }

    /// Where Asterisk connected from.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Whether Asterisk said the channel hung up: from then on only the
    /// commands a dead channel takes go out (others fail unsent).
    pub fn is_hung_up(&self) -> bool {
        self.hung_up.load(Ordering::Relaxed)
    }

    /// Sends `command` and reads Asterisk's reply as its typed result:
    /// `agi.send(&commands::StreamFile::new("hello-world", "#")).await`.
    pub async fn send<C: Command>(&self, command: &C) -> Result<C::Output, AgiError> {
        let reply = self.send_raw_reply(command).await?;
        Ok(command.parse_reply(&reply)?)
    }

    /// Sends `command` and gives Asterisk's reply as it is.
    pub async fn send_raw_reply<C: Command>(&self, command: &C) -> Result<Reply, CommandError> {
        let encoded = Encoded::new(command)?;
        let (tx, rx) = oneshot::channel();
        if self.jobs.unbounded_send(Job::Send(encoded, tx)).is_err() {
            return Err(CommandError::Closed);
        }
        rx.await.unwrap_or(Err(CommandError::ConnectionLost))
    }

    /// Ends the session from this side (the handler returning does too).
    pub fn close(&self) {
        let _ = self.jobs.unbounded_send(Job::Close);
    }
}

/// What a handler returns: an error is told to Asterisk (`VERBOSE`, seen
/// on its console) before the session ends.
pub type HandlerResult = Result<(), Box<dyn Error + Send + Sync>>;

type BoxHandler =
    Arc<dyn Fn(Agi) -> Pin<Box<dyn Future<Output = HandlerResult> + Send>> + Send + Sync>;

/// Which handler serves which script path (`agi://host/ivr` is `ivr`),
/// with a fallback for the others.
#[derive(Clone, Default)]
pub struct Routes {
    by_path: HashMap<String, BoxHandler>,
    fallback: Option<BoxHandler>,
}

impl Routes {
    /// No routes: every call is refused (told so, then hung up on).
    pub fn new() -> Routes {
        Routes::default()
    }

    /// Serves script `path` (leading `/` ignored) with `handler`.
    pub fn at<H, F>(mut self, path: &str, handler: H) -> Routes
    where
        H: Fn(Agi) -> F + Send + Sync + 'static,
        F: Future<Output = HandlerResult> + Send + 'static,
    {
        self.by_path
            .insert(path.trim_start_matches('/').to_string(), boxed(handler));
        self
    }

    /// Serves every script no route names.
    pub fn fallback<H, F>(mut self, handler: H) -> Routes
    where
        H: Fn(Agi) -> F + Send + Sync + 'static,
        F: Future<Output = HandlerResult> + Send + 'static,
    {
        self.fallback = Some(boxed(handler));
        self
    }

    fn find(&self, script: &Script) -> Option<&BoxHandler> {
        let path = String::from_utf8_lossy(script.path.as_bytes());
        self.by_path
            .get(path.trim_start_matches('/'))
            .or(self.fallback.as_ref())
    }
}

fn boxed<H, F>(handler: H) -> BoxHandler
where
    H: Fn(Agi) -> F + Send + Sync + 'static,
    F: Future<Output = HandlerResult> + Send + 'static,
{
    Arc::new(move |agi| Box::pin(handler(agi)))
}

/// How the server runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Each session's settings (timeouts, size limits).
    pub session: Config,
    /// Sessions served at once; a connection past it waits in the
    /// listen queue until one ends.
    pub max_sessions: usize,
    /// Log every exchange (commands, replies, hangups) with its timing at
    /// `info` level, target `ari_client::agi`: the debugging aid.
    pub trace: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            session: Config::default(),
            max_sessions: 10_000,
            trace: false,
        }
    }
}

/// A running FastAGI server. Dropping it (or [`shutdown`](Self::shutdown))
/// stops accepting; calls in progress go on to their end.
pub struct FastAgiServer {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    active: Arc<AtomicUsize>,
}

impl FastAgiServer {
    /// Listens on `address` (port 0: any free one) and serves each call
    /// by `routes`, one task per call.
    pub fn start<R: Runtime>(
        runtime: R,
        address: SocketAddr,
        config: ServerConfig,
        routes: Routes,
    ) -> io::Result<FastAgiServer> {
        let listener = runtime.listen(address)?;
        let address = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel();
        let active = Arc::new(AtomicUsize::new(0));
        let accept = accept_loop(
            runtime.clone(),
            listener,
            config,
            routes,
            stopped,
            active.clone(),
        );
        runtime.spawn(Box::pin(accept));
        Ok(FastAgiServer {
            address,
            stop: Some(stop),
            active,
        })
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Calls being served now.
    pub fn active_sessions(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    /// Stops accepting calls (those in progress go on).
    pub fn shutdown(&mut self) {
        self.stop.take();
    }
}

impl Drop for FastAgiServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn accept_loop<R: Runtime>(
    runtime: R,
    mut listener: R::Listener,
    config: ServerConfig,
    routes: Routes,
    mut stopped: oneshot::Receiver<()>,
    active: Arc<AtomicUsize>,
) {
    let (done_tx, mut done_rx) = mpsc::unbounded::<()>();
    loop {
        // At the limit, wait for a session to end before accepting more.
        while active.load(Ordering::Relaxed) >= config.max_sessions.max(1) {
            futures_util::select! {
                _ = done_rx.next() => {}
                _ = (&mut stopped).fuse() => return,
            }
        }
        let accepted = futures_util::select! {
            accepted = std::future::poll_fn(|cx| listener.poll_accept(cx)).fuse() => accepted,
            _ = (&mut stopped).fuse() => return,
        };
        let (stream, peer) = match accepted {
            Ok(connection) => connection,
            Err(e) => {
                tracing::warn!(%e, "FastAGI: accept failed");
                continue;
            }
        };
        active.fetch_add(1, Ordering::Relaxed);
        let (active, done) = (active.clone(), done_tx.clone());
        let call = serve_connection(runtime.clone(), stream, peer, &config, routes.clone());
        runtime.spawn(Box::pin(call.map(move |()| {
            active.fetch_sub(1, Ordering::Relaxed);
            let _ = done.unbounded_send(());
        })));
    }
}

/// One connection: the driver (socket and session) and the handler.
///
/// Not an `async fn`: its arguments would stay in the future beside the
/// futures they move into (one open session would cost that twice).
fn serve_connection<R: Runtime>(
    runtime: R,
    stream: R::Tcp,
    peer: SocketAddr,
    config: &ServerConfig,
    routes: Routes,
) -> impl Future<Output = ()> + Send + 'static {
    let (jobs_tx, jobs) = mpsc::unbounded();
    let (request_tx, request_rx) = oneshot::channel();
    let hung_up = Arc::new(AtomicBool::new(false));
    let driver = Driver {
        session: Session::new(config.session.clone(), runtime.now()),
        rt: runtime,
        jobs,
        jobs_done: false,
        waiting: HashMap::new(),
        request: Some(request_tx),
        hung_up: hung_up.clone(),
        trace: config.trace,
        started: HashMap::new(),
    };
    let (reader, writer) = stream.split();
    let driving = driver.run(reader, writer);
    let handling = async move {
        let Ok(request) = request_rx.await else {
            return;
        };
        let agi = Agi {
            request,
            peer,
            jobs: jobs_tx,
            hung_up,
        };
        let script = agi.script();
        let outcome = match routes.find(&script) {
            Some(handler) => handler(agi.clone()).await,
            None => Err(format!(
                "no FastAGI script {:?} here",
                String::from_utf8_lossy(script.path.as_bytes())
            )
            .into()),
        };
        if let Err(e) = outcome {
            tracing::warn!(%e, %peer, "FastAGI handler failed");
            let told = commands::Verbose::new(format!("FastAGI handler failed: {e}")).level(1);
            let _ = agi.send(&told).await;
        }
        agi.close();
    };
    futures_util::future::join(driving, handling).map(|_| ())
}

struct Driver<R: Runtime> {
    session: Session,
    rt: R,
    jobs: mpsc::UnboundedReceiver<Job>,
    /// Every handle is gone: the job channel is not polled again (it
    /// would answer `None` at once, forever).
    jobs_done: bool,
    waiting: HashMap<CommandId, oneshot::Sender<Result<Reply, CommandError>>>,
    request: Option<oneshot::Sender<Arc<Request>>>,
    hung_up: Arc<AtomicBool>,
    trace: bool,
    /// When each command went out, for the trace.
    started: HashMap<CommandId, (Instant, Vec<u8>)>,
}

impl<R: Runtime> Driver<R> {
    async fn run(mut self, mut reader: ReadHalf<R::Tcp>, mut writer: WriteHalf<R::Tcp>) {
        // Replies are short lines; the environment (about 600 bytes) and
        // long values take a few reads.
        let mut buf = vec![0u8; 512];
        let mut writing_done = false;
        loop {
            // Carry out what the session asks and hand out what it produced.
            while let Some(transmit) = self.session.poll_transmit() {
                match transmit {
                    Transmit::Send(bytes) => {
                        let failed = !writing_done && writer.write_all(&bytes).await.is_err();
                        writing_done |= failed;
                    }
                    Transmit::Close => {
                        let _ = writer.close().await;
                        writing_done = true;
                    }
                    _ => {}
                }
            }
            if !self.outputs() {
                return;
            }
            let deadline = self.session.poll_timeout();
            let sleep = match deadline {
                Some(at) => self.rt.sleep_until(at),
                None => Box::pin(futures_util::future::pending()),
            };
            let (jobs, jobs_done) = (&mut self.jobs, self.jobs_done);
            let next_job = async move {
                match jobs_done {
                    true => std::future::pending().await,
                    false => jobs.next().await,
                }
            };
            futures_util::select! {
                read = reader.read(&mut buf).fuse() => {
                    let now = self.rt.now();
                    match read {
                        Ok(0) => self.session.handle_eof(now),
                        Ok(n) => self.session.handle_bytes(&buf[..n], now),
                        Err(e) => self.session.handle_error(&e.to_string(), now),
                    }
                }
                job = next_job.fuse() => {
                    let now = self.rt.now();
                    match job {
                        Some(Job::Send(command, reply)) => match self.session.send(&command, now) {
                            Ok(id) => {
                                if self.trace {
                                    self.started.insert(id, (now, command.line().to_vec()));
                                }
                                self.waiting.insert(id, reply);
                            }
                            Err(e) => {
                                let _ = reply.send(Err(e));
                            }
                        },
                        // The handler is done.
                        Some(Job::Close) => self.session.close(now),
                        // Every handle is gone.
                        None => {
                            self.jobs_done = true;
                            self.session.close(now);
                        }
                    }
                }
                () = sleep.fuse() => self.session.handle_timeout(self.rt.now()),
            }
        }
    }

    /// Hands out the session's outputs; `false` once it has closed.
    fn outputs(&mut self) -> bool {
        while let Some(output) = self.session.poll_output() {
            match output {
                Output::Request(request) => {
                    if self.trace {
                        tracing::info!(target: "ari_client::agi", channel = ?request.channel, script = ?request.network_script, "<- environment");
                    }
                    if let Some(tx) = self.request.take() {
                        let _ = tx.send(request);
                    }
                }
                Output::Reply { id, result } => {
                    if self.trace
                        && let Some((at, line)) = self.started.remove(&id)
                    {
                        let took = self.rt.now().saturating_duration_since(at);
                        let line = String::from_utf8_lossy(&line);
                        tracing::info!(target: "ari_client::agi", ?took, command = %line.trim_end(), reply = ?result, "-> command, <- reply");
                    }
                    if let Some(tx) = self.waiting.remove(&id) {
                        let _ = tx.send(result);
                    }
                }
                Output::Hangup => {
                    self.hung_up.store(true, Ordering::Relaxed);
                    if self.trace {
                        tracing::info!(target: "ari_client::agi", "<- HANGUP");
                    }
                }
                Output::Closed(reason) => {
                    if self.trace {
                        tracing::info!(target: "ari_client::agi", %reason, "session closed");
                    }
                    // No environment came: the handler never starts.
                    self.request.take();
                    for (_, tx) in self.waiting.drain() {
                        let _ = tx.send(Err(CommandError::ConnectionLost));
                    }
                    return false;
                }
                Output::Malformed(e) => tracing::warn!(%e, "FastAGI: bytes that are no AGI reply"),
                other => {
                    if self.trace {
                        tracing::info!(target: "ari_client::agi", ?other, "<-");
                    }
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_the_script_path_without_its_slash() {
        let routes = Routes::new()
            .at("/ivr", |_agi| async { Ok(()) })
            .at("billing", |_agi| async { Ok(()) });
        let script = |p: &str| Script::parse(p.as_bytes());
        assert!(routes.find(&script("ivr?lang=en")).is_some());
        assert!(routes.find(&script("/billing")).is_some());
        assert!(routes.find(&script("other")).is_none());
        let routes = routes.fallback(|_agi| async { Ok(()) });
        assert!(routes.find(&script("other")).is_some());
    }
}
