//! The session state machine: REST requests, the events WebSocket, and event
//! routing, driven by `handle_*` inputs and drained through `poll_*` outputs.

use crate::SeededRng;
use crate::config::{AuthMode, Config, RestTransport, basic_auth_value};
use crate::encode::push_query_component;
use crate::error::{ApiError, ConfigError, RequestError};
use crate::registry::{Filter, Registry, Subscribers, SubscriptionId};
use crate::{
    EncodedRequest, Event, Method, ObjectKind, ObjectRef, Operation, OperationInfo, ResponseBody,
    Version,
};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::marker::PhantomData;
use std::time::Instant;

/// Identifies one request of a session, whatever its operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RawRequestId(pub u64);

/// Identifies a request of operation `O`; decodes its answer to `O::Response`.
pub struct RequestId<O> {
    raw: RawRequestId,
    op: PhantomData<fn() -> O>,
}

impl<O> Clone for RequestId<O> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<O> Copy for RequestId<O> {}
impl<O> fmt::Debug for RequestId<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({})", self.raw.0)
    }
}
impl<O> PartialEq for RequestId<O> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}
impl<O> Eq for RequestId<O> {}

impl<O: Operation> RequestId<O> {
    /// The untyped id that [`Output::Response`] carries.
    pub fn raw(&self) -> RawRequestId {
        self.raw
    }

    /// Decodes the outcome of this request into the operation's response type.
    pub fn decode(
        &self,
        outcome: Result<RawResponse, RequestError>,
    ) -> Result<O::Response, RequestError> {
        outcome?.decode::<O::Response>()
    }
}

/// The object a tracked request creates, and the subscription following it.
pub type TrackedObject = (SubscriptionId, ObjectRef);

/// A success answer (status below 300), not yet decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// HTTP status (or `status_code` of a `RESTResponse`).
    pub status: u16,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// Decodes the body as `R`.
    pub fn decode<R: ResponseBody>(&self) -> Result<R, RequestError> {
        R::decode(&self.body).map_err(|e| RequestError::Decode(e.to_string()))
    }
}

/// Something for the driver to put on the network.
#[non_exhaustive]
pub enum Transmit {
    /// Send this HTTP request; report its answer with
    /// [`Session::handle_http_response`] or [`Session::handle_http_error`].
    Http {
        /// The id to report back.
        id: RawRequestId,
        /// The request, complete with headers and body.
        request: http::Request<Vec<u8>>,
    },
    /// Stop the HTTP exchange of request `id` (close its connection): the
    /// session gave up on it (timeout, close) and will ignore its answer.
    CancelHttp {
        /// The request given up.
        id: RawRequestId,
    },
    /// Open the events WebSocket with this upgrade request (URI scheme `ws`
    /// or `wss`); report with [`Session::handle_ws_opened`] or
    /// [`Session::handle_ws_closed`].
    WsConnect(http::Request<()>),
    /// Send this text frame on the events WebSocket.
    WsText(String),
    /// Send a ping with this payload on the events WebSocket (keepalive);
    /// report pongs and pings that arrive with [`Session::handle_ws_control`].
    WsPing(Vec<u8>),
    /// Close the events WebSocket with a normal close frame, or abandon the
    /// attempt to open it. Nothing more of that connection is to be reported.
    WsClose,
}

impl fmt::Debug for Transmit {
    // Shows method and path only: a query may carry `api_key`, headers carry
    // credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transmit::Http { id, request } => {
                write!(
                    f,
                    "Http({}, {} {})",
                    id.0,
                    request.method(),
                    request.uri().path()
                )
            }
            Transmit::CancelHttp { id } => write!(f, "CancelHttp({})", id.0),
            Transmit::WsConnect(r) => write!(f, "WsConnect({})", r.uri().path()),
            Transmit::WsText(t) => write!(f, "WsText({} bytes)", t.len()),
            Transmit::WsPing(p) => write!(f, "WsPing({} bytes)", p.len()),
            Transmit::WsClose => f.write_str("WsClose"),
        }
    }
}

/// State of the events WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Not connected and not trying ([`Session::connect`] not called yet, or
    /// [`Session::close`] called).
    Idle,
    /// An upgrade request is out.
    Connecting {
        /// Attempts since the last open connection, from 0.
        attempt: u32,
    },
    /// Open: events flow.
    Open,
    /// Waiting before the next attempt.
    Backoff {
        /// When the next attempt starts.
        until: Instant,
        /// The attempt that will start then.
        attempt: u32,
    },
    /// Other connections took over every application of this session
    /// (`ApplicationReplaced`); no reconnecting.
    Replaced,
}

/// Why the events WebSocket closed, as the driver saw it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CloseReason {
    /// A close frame arrived.
    #[error("Asterisk closed it (code {code:?}, reason {reason:?})")]
    CloseFrame {
        /// Its code, if it had one.
        code: Option<u16>,
        /// Its reason text.
        reason: String,
    },
    /// The connection dropped without a close frame.
    #[error("the connection dropped: {0}")]
    Dropped(String),
    /// The upgrade was refused with this HTTP status.
    #[error("the upgrade was refused with HTTP status {0}")]
    Refused(u16),
    /// No connection could be made (refused, unreachable, TLS failure...).
    #[error("no connection: {0}")]
    Unreachable(String),
    /// The connection and upgrade did not complete within
    /// [`Config::connect_timeout`](crate::Config::connect_timeout).
    #[error("the connection and upgrade took longer than the connect timeout")]
    ConnectTimeout,
    /// Nothing arrived, not even a pong, for
    /// [`Config::idle_timeout`](crate::Config::idle_timeout): the connection
    /// is taken for dead.
    #[error("nothing arrived, not even a pong, within the idle timeout")]
    Silent,
}

/// A change of the events WebSocket's state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// An upgrade request went out.
    Connecting {
        /// Attempts since the last open connection, from 0.
        attempt: u32,
    },
    /// The WebSocket is open and the server's build known (see
    /// [`Config::learn_server_version`](crate::Config::learn_server_version)):
    /// requests are gated by it from now on.
    Open {
        /// It had been open before: the server-side subscriptions and event
        /// filters this session made have been re-applied (a failure is
        /// reported as [`Diagnostic::ReapplyFailed`]).
        reconnected: bool,
    },
    /// The WebSocket closed or could not be opened.
    Closed(CloseReason),
    /// The next attempt is scheduled.
    Backoff {
        /// When it starts.
        until: Instant,
        /// Its number.
        attempt: u32,
    },
    /// Asterisk said another connection registered one of this session's
    /// applications (`ApplicationReplaced`). Reconnects leave it out; once
    /// every application is taken over, the session stops reconnecting.
    Replaced {
        /// The application taken over.
        application: String,
    },
    /// [`Session::close`] was called.
    Stopped,
}

/// Something the core noticed that is not an answer or an event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Diagnostic {
    /// A WebSocket frame that is not an ARI message; kept whole.
    UndecodableFrame {
        /// The frame.
        text: String,
        /// Why it failed.
        error: String,
    },
    /// An answer for a request that is no longer waiting (it timed out).
    LateResponse {
        /// The request.
        id: RawRequestId,
        /// The status that came.
        status: u16,
    },
    /// Re-applying a subscription or event filter after a reconnect failed.
    ReapplyFailed {
        /// Method and path of the request.
        request: String,
        /// What went wrong.
        error: RequestError,
    },
}

/// An event and the subscriptions it goes to.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Delivery {
    /// The decoded event.
    pub event: Event,
    /// Subscriptions that asked for it, each once. May be empty.
    pub subscribers: Subscribers,
    /// For a `StasisStart`: a new call for each call watcher (see
    /// [`Session::watch_calls`]), with the subscription to the channel's
    /// later events the session made for it before reading anything else.
    pub calls: Vec<(CallWatchId, SubscriptionId)>,
}

/// Identifies a call watcher of one session (see [`Session::watch_calls`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallWatchId(pub u64);

/// What the session has for the application.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Output {
    /// A request finished. Decode with [`RequestId::decode`].
    Response {
        /// The request.
        id: RawRequestId,
        /// Its answer, or why there is none.
        outcome: Result<RawResponse, RequestError>,
    },
    /// An event arrived.
    Event(Delivery),
    /// A per-object subscription ended because its object is gone. Comes
    /// right after the event that said so.
    SubscriptionEnded {
        /// The subscription.
        id: SubscriptionId,
        /// The object.
        object: ObjectRef,
    },
    /// The events WebSocket changed state.
    Connection(ConnectionEvent),
    /// Something worth logging.
    Diagnostic(Diagnostic),
}

/// Who waits for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    User,
    /// Re-applied server state after a reconnect.
    Reapply,
    /// `GET /asterisk/info` sent when the WebSocket opened.
    VersionProbe,
}

#[derive(Debug)]
struct Pending {
    info: &'static OperationInfo,
    encoded: EncodedRequest,
    deadline: Instant,
    origin: Origin,
    /// Sent as a `RESTRequest` frame rather than over HTTP.
    over_ws: bool,
    sent: bool,
}

/// A WebSocket that opened, not yet reported open.
#[derive(Debug)]
struct Opening {
    probe: Option<RawRequestId>,
    reapplying: Vec<RawRequestId>,
    reconnected: bool,
}

/// Server-side state this session created, re-applied after a reconnect.
#[derive(Debug, Default)]
struct ServerState {
    /// Application path segment → event sources subscribed.
    sources: BTreeMap<String, BTreeSet<String>>,
    /// Application path segment → the last event filter request.
    filters: BTreeMap<String, EncodedRequest>,
}

/// The ARI client state machine.
///
/// See the [crate documentation](crate) for the driving contract.
#[derive(Debug)]
pub struct Session {
    config: Config,
    auth_header: Option<http::HeaderValue>,
    rng: SeededRng,
    state: ConnectionState,
    ever_opened: bool,
    /// The events WebSocket is one Asterisk opened ([`Session::accept`]):
    /// never reconnected from this side.
    accepted: bool,
    /// Applications another connection took over; left out when reconnecting.
    replaced: BTreeSet<String>,
    server_version: Option<Version>,
    /// When the upgrade in progress is given up.
    connect_deadline: Option<Instant>,
    /// While the WebSocket is open: when it last brought anything, and when
    /// it was last pinged (or opened).
    heard_and_pinged: Option<(Instant, Instant)>,
    pings_sent: u64,
    /// The WebSocket that opened and what [`ConnectionEvent::Open`] waits
    /// for: the version probe's answer and the re-applied subscriptions'.
    opening: Option<Opening>,
    next_request: u64,
    pending: crate::IdMap<RawRequestId, Pending>,
    deadlines: BTreeSet<(Instant, RawRequestId)>,
    /// Requests waiting for a free slot (or for the WebSocket, over WS).
    queued: VecDeque<RawRequestId>,
    in_flight: usize,
    registry: Registry,
    call_watchers: Vec<CallWatchId>,
    next_call_watcher: u64,
    server_state: ServerState,
    transmits: VecDeque<Transmit>,
    outputs: VecDeque<Output>,
    scratch: Vec<SubscriptionId>,
}

impl Session {
    /// A session with `config`. Nothing is sent until a mutator is called.
    pub fn new(config: Config) -> Result<Session, ConfigError> {
        config.validate()?;
        let auth_header = match config.auth {
            AuthMode::Basic => {
                let mut v = http::HeaderValue::from_str(&basic_auth_value(
                    &config.username,
                    config.password.expose(),
                ))
                .map_err(|_| ConfigError::Setting("credentials must be visible ASCII"))?;
                v.set_sensitive(true);
                Some(v)
            }
            AuthMode::ApiKeyQuery => None,
        };
        Ok(Session {
            rng: SeededRng::new(config.seed),
            config,
            auth_header,
            state: ConnectionState::Idle,
            ever_opened: false,
            accepted: false,
            replaced: BTreeSet::new(),
            server_version: None,
            connect_deadline: None,
            heard_and_pinged: None,
            pings_sent: 0,
            opening: None,
            next_request: 0,
            pending: crate::IdMap::default(),
            deadlines: BTreeSet::new(),
            queued: VecDeque::new(),
            in_flight: 0,
            registry: Registry::default(),
            call_watchers: Vec::new(),
            next_call_watcher: 0,
            server_state: ServerState::default(),
            transmits: VecDeque::new(),
            outputs: VecDeque::new(),
            scratch: Vec::new(),
        })
    }

    // ---- getters ----

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The events WebSocket's state.
    pub fn connection_state(&self) -> ConnectionState {
        self.state
    }

    /// The server's Asterisk release, once known.
    pub fn server_version(&self) -> Option<Version> {
        self.server_version
    }

    /// Requests started and not yet finished.
    pub fn pending_requests(&self) -> usize {
        self.pending.len()
    }

    /// Live subscriptions.
    pub fn subscription_count(&self) -> usize {
        self.registry.len()
    }

    /// What subscription `id` receives, while it lives.
    pub fn subscription(&self, id: SubscriptionId) -> Option<&Filter> {
        self.registry.filter(id)
    }

    // ---- mutators ----

    /// Starts (or restarts after [`close`](Self::close)) the events WebSocket.
    pub fn connect(&mut self, now: Instant) {
        if self.accepted {
            return;
        }
        if matches!(
            self.state,
            ConnectionState::Idle | ConnectionState::Replaced
        ) {
            // Connecting again on purpose takes every application back.
            self.replaced.clear();
            self.start_connect(0, now);
        }
    }

    /// Takes an events WebSocket that Asterisk opened to the application
    /// (an outbound WebSocket, `type = outbound_websocket` in `ari.conf`,
    /// Asterisk 20.15+, 21.10+, 22.5+): the session is open at once and
    /// every REST request goes over this socket, whatever
    /// [`Config::rest_transport`](crate::Config::rest_transport) says.
    /// When the socket closes the session ends: Asterisk connects again,
    /// not this side. Only a session that never connected can accept.
    pub fn accept(&mut self, now: Instant) {
        if self.state != ConnectionState::Idle || self.ever_opened {
            return;
        }
        self.accepted = true;
        self.config.rest_transport = RestTransport::WebSocket;
        self.state = ConnectionState::Connecting { attempt: 0 };
        self.handle_ws_opened(now);
    }

    /// Closes the events WebSocket for good and fails every waiting request
    /// with [`RequestError::Closed`].
    pub fn close(&mut self, now: Instant) {
        // Part of the contract; closing needs no time today.
        let _ = now;
        if matches!(
            self.state,
            ConnectionState::Open | ConnectionState::Connecting { .. }
        ) {
            self.transmits.push_back(Transmit::WsClose);
        }
        self.state = ConnectionState::Idle;
        self.opening = None;
        self.connect_deadline = None;
        let ids: Vec<RawRequestId> = self.pending.keys().copied().collect();
        for id in ids {
            self.give_up(id, RequestError::Closed);
        }
        self.outputs
            .push_back(Output::Connection(ConnectionEvent::Stopped));
    }

    /// Sets the server's release (learnt automatically from the answer to
    /// `GET /asterisk/info`). Operations it lacks then fail locally.
    pub fn set_server_version(&mut self, version: Option<Version>) {
        self.server_version = version;
    }

    /// A new unique id for objects this client creates (channels, bridges,
    /// playbacks, recordings), drawn from the seeded random source.
    pub fn fresh_id(&mut self) -> String {
        format!("ari-{:016x}", self.rng.next_u64())
    }

    /// Adds a subscription; it receives matching events from the next input on.
    pub fn subscribe(&mut self, filter: Filter) -> SubscriptionId {
        self.registry.subscribe(filter)
    }

    /// Ends a subscription; `false` if it had already ended.
    pub fn unsubscribe(&mut self, id: SubscriptionId) -> bool {
        self.registry.unsubscribe(id).is_some()
    }

    /// Watches for calls: from the next input on, every channel entering
    /// Stasis (`StasisStart`) gets, for this watcher, a subscription to its
    /// later events, listed in the event's [`Delivery::calls`]. The
    /// subscription exists before the next frame is read, so no event of
    /// the call can be missed; it ends with the channel.
    pub fn watch_calls(&mut self) -> CallWatchId {
        self.next_call_watcher += 1;
        let id = CallWatchId(self.next_call_watcher);
        self.call_watchers.push(id);
        id
    }

    /// Stops a call watcher; `false` if it had already stopped.
    pub fn unwatch_calls(&mut self, id: CallWatchId) -> bool {
        let before = self.call_watchers.len();
        self.call_watchers.retain(|w| *w != id);
        self.call_watchers.len() != before
    }

    /// Starts a request. Its answer comes as [`Output::Response`] with this id.
    pub fn request<O: Operation>(
        &mut self,
        op: &O,
        now: Instant,
    ) -> Result<RequestId<O>, RequestError> {
        let raw = self.start(O::INFO, op.encode(), Origin::User, now)?;
        Ok(RequestId {
            raw,
            op: PhantomData,
        })
    }

    /// Starts a request that creates an object, after giving the object a
    /// fresh id (unless one is set) and subscribing to it, so that no event
    /// about it can come before the subscription, not even one that beats
    /// the answer.
    ///
    /// For operations that create no object this is [`request`](Self::request)
    /// with no subscription.
    pub fn request_tracked<O: Operation>(
        &mut self,
        mut op: O,
        now: Instant,
    ) -> Result<(RequestId<O>, Option<TrackedObject>), RequestError> {
        let object = op.assign_object_id(&mut || self.fresh_id());
        let sub = object.map(|o| (self.registry.subscribe(Filter::Object(o.clone())), o));
        match self.request(&op, now) {
            Ok(id) => Ok((id, sub)),
            Err(e) => {
                if let Some((s, _)) = sub {
                    self.registry.unsubscribe(s);
                }
                Err(e)
            }
        }
    }

    // ---- inputs ----

    /// The answer to HTTP request `id` arrived.
    pub fn handle_http_response(
        &mut self,
        id: RawRequestId,
        status: u16,
        body: Vec<u8>,
        now: Instant,
    ) {
        self.complete(id, status, body, now);
        self.pump();
    }

    /// HTTP request `id` failed in transport (connection refused, reset, ...).
    pub fn handle_http_error(&mut self, id: RawRequestId, error: String, now: Instant) {
        let Some(p) = self.pending.get(&id) else {
            return;
        };
        let outcome = if now >= p.deadline {
            RequestError::Timeout(self.config.request_timeout)
        } else {
            RequestError::Transport(error)
        };
        self.finish(id, Err(outcome));
        self.pump();
    }

    /// The events WebSocket upgrade succeeded.
    pub fn handle_ws_opened(&mut self, now: Instant) {
        if !matches!(self.state, ConnectionState::Connecting { .. }) {
            return;
        }
        self.state = ConnectionState::Open;
        self.connect_deadline = None;
        self.heard_and_pinged = Some((now, now));
        let reconnected = self.ever_opened;
        self.ever_opened = true;
        let probe = if self.config.learn_server_version {
            let op = crate::ops::asterisk::GetInfo::new();
            self.start(
                <crate::ops::asterisk::GetInfo as Operation>::INFO,
                op.encode(),
                Origin::VersionProbe,
                now,
            )
            .ok()
        } else {
            None
        };
        self.opening = Some(Opening {
            probe,
            reapplying: Vec::new(),
            reconnected,
        });
        if reconnected {
            self.reapply(now);
        }
        self.opened_if_ready();
        self.pump();
    }

    /// A ping or pong arrived on the events WebSocket (the driver answers
    /// pings itself): the connection is alive.
    pub fn handle_ws_control(&mut self, now: Instant) {
        self.heard(now);
    }

    /// The events WebSocket closed, or the attempt to open it failed.
    pub fn handle_ws_closed(&mut self, reason: CloseReason, now: Instant) {
        let was = self.state;
        self.connect_deadline = None;
        self.heard_and_pinged = None;
        if !matches!(
            was,
            ConnectionState::Open | ConnectionState::Connecting { .. } | ConnectionState::Replaced
        ) {
            return;
        }
        self.opening = None;
        self.outputs
            .push_back(Output::Connection(ConnectionEvent::Closed(reason)));
        let lost: Vec<RawRequestId> = self
            .pending
            .iter()
            .filter(|(_, p)| p.over_ws && p.sent)
            .map(|(id, _)| *id)
            .collect();
        for id in lost {
            self.finish(id, Err(RequestError::ConnectionLost));
        }
        self.pump();
        if was == ConnectionState::Replaced {
            return;
        }
        if self.accepted {
            // Nothing can carry a request any more.
            self.state = ConnectionState::Idle;
            let ids: Vec<RawRequestId> = self.pending.keys().copied().collect();
            for id in ids {
                self.finish(id, Err(RequestError::ConnectionLost));
            }
            self.outputs
                .push_back(Output::Connection(ConnectionEvent::Stopped));
            return;
        }
        let attempt = match was {
            ConnectionState::Connecting { attempt } => attempt + 1,
            _ => 0,
        };
        let delay = self.config.backoff.delay(attempt, self.rng.next_unit());
        let until = now + delay;
        self.state = ConnectionState::Backoff { until, attempt };
        self.outputs
            .push_back(Output::Connection(ConnectionEvent::Backoff {
                until,
                attempt,
            }));
    }

    /// A text frame arrived on the events WebSocket.
    pub fn handle_ws_text(&mut self, text: &str, now: Instant) {
        let event = match Event::from_json(text) {
            Ok(e) => e,
            Err(e) => {
                self.outputs
                    .push_back(Output::Diagnostic(Diagnostic::UndecodableFrame {
                        text: text.to_string(),
                        error: e.to_string(),
                    }));
                return;
            }
        };
        self.heard(now);
        self.handle_event(event, now);
        self.pump();
    }

    /// Time passed: expires requests and starts due reconnects.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(deadline, id)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            self.give_up(id, RequestError::Timeout(self.config.request_timeout));
        }
        match self.state {
            ConnectionState::Backoff { until, attempt } if until <= now => {
                self.start_connect(attempt, now);
            }
            ConnectionState::Connecting { .. }
                if self.connect_deadline.is_some_and(|d| d <= now) =>
            {
                self.transmits.push_back(Transmit::WsClose);
                self.handle_ws_closed(CloseReason::ConnectTimeout, now);
            }
            ConnectionState::Open if self.dead_at().is_some_and(|d| d <= now) => {
                self.transmits.push_back(Transmit::WsClose);
                self.handle_ws_closed(CloseReason::Silent, now);
            }
            ConnectionState::Open => {
                if let (Some(due), Some((heard, _))) = (self.ping_due(), self.heard_and_pinged)
                    && due <= now
                {
                    self.pings_sent += 1;
                    self.heard_and_pinged = Some((heard, now));
                    let payload = self.pings_sent.to_be_bytes().to_vec();
                    self.transmits.push_back(Transmit::WsPing(payload));
                }
            }
            _ => {}
        }
        self.pump();
    }

    // ---- outputs ----

    /// The next thing to send. Call until `None` after every input or mutator.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next output for the application. Call until `None` after every
    /// input or mutator.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next, if ever.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let request = self.deadlines.first().map(|(t, _)| *t);
        let connection = match self.state {
            ConnectionState::Backoff { until, .. } => Some(until),
            ConnectionState::Connecting { .. } => self.connect_deadline,
            ConnectionState::Open => match (self.dead_at(), self.ping_due()) {
                (Some(d), Some(p)) => Some(d.min(p)),
                (d, p) => d.or(p),
            },
            _ => None,
        };
        match (request, connection) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ---- internals ----

    /// When the open WebSocket is pinged next: a ping interval after the
    /// later of the last thing heard and the last ping.
    fn ping_due(&self) -> Option<Instant> {
        let interval = self.config.ping_interval?;
        let (heard, pinged) = self.heard_and_pinged?;
        Some(heard.max(pinged) + interval)
    }

    /// When the open WebSocket is taken for dead if nothing arrives.
    fn dead_at(&self) -> Option<Instant> {
        let (heard, _) = self.heard_and_pinged?;
        Some(heard + self.config.idle_timeout)
    }

    fn heard(&mut self, now: Instant) {
        if let Some((heard, _)) = &mut self.heard_and_pinged {
            *heard = (*heard).max(now);
        }
    }

    /// Fails a request the session no longer waits for; an HTTP exchange
    /// still on the wire is cancelled.
    fn give_up(&mut self, id: RawRequestId, error: RequestError) {
        if self.pending.get(&id).is_some_and(|p| p.sent && !p.over_ws) {
            self.transmits.push_back(Transmit::CancelHttp { id });
        }
        self.finish(id, Err(error));
    }

    fn start_connect(&mut self, attempt: u32, now: Instant) {
        self.state = ConnectionState::Connecting { attempt };
        self.connect_deadline = Some(now + self.config.connect_timeout);
        let apps = self
            .config
            .apps
            .iter()
            .filter(|a| !self.replaced.contains(*a));
        let op = crate::ops::events::EventWebsocket::new(apps.map(String::as_str))
            .subscribe_all(self.config.subscribe_all);
        let mut enc = op.encode();
        if !self.config.subscribe_all {
            enc.query.retain(|(k, _)| *k != "subscribeAll");
        }
        let scheme = if self.config.base.tls { "wss" } else { "ws" };
        let uri = self.uri(scheme, &enc);
        let mut builder = http::Request::get(uri);
        if let Some(auth) = &self.auth_header {
            builder = builder.header(http::header::AUTHORIZATION, auth.clone());
        }
        match builder.body(()) {
            Ok(req) => {
                self.transmits.push_back(Transmit::WsConnect(req));
                self.outputs
                    .push_back(Output::Connection(ConnectionEvent::Connecting { attempt }));
            }
            Err(e) => {
                // Only an application name the URI cannot hold gets here.
                self.state = ConnectionState::Idle;
                self.outputs
                    .push_back(Output::Connection(ConnectionEvent::Closed(
                        CloseReason::Unreachable(format!("cannot build the upgrade request: {e}")),
                    )));
            }
        }
    }

    fn uri(&self, scheme: &str, enc: &EncodedRequest) -> String {
        let base = &self.config.base;
        let mut uri = String::with_capacity(64 + enc.path.len());
        uri.push_str(scheme);
        uri.push_str("://");
        uri.push_str(&base.authority);
        uri.push_str(&base.prefix);
        uri.push_str("/ari/");
        uri.push_str(&enc.path);
        let mut first = true;
        let mut pair = |uri: &mut String, k: &str, v: &str| {
            uri.push(if first { '?' } else { '&' });
            first = false;
            push_query_component(uri, k);
            uri.push('=');
            push_query_component(uri, v);
        };
        for (k, v) in &enc.query {
            pair(&mut uri, k, v);
        }
        if self.config.auth == AuthMode::ApiKeyQuery {
            let key = format!("{}:{}", self.config.username, self.config.password.expose());
            pair(&mut uri, "api_key", &key);
        }
        uri
    }

    fn start(
        &mut self,
        info: &'static OperationInfo,
        encoded: EncodedRequest,
        origin: Origin,
        now: Instant,
    ) -> Result<RawRequestId, RequestError> {
        if info.upgrade {
            return Err(RequestError::Invalid(
                "the events WebSocket is opened by Session::connect, not as a request".into(),
            ));
        }
        if self.accepted && self.state == ConnectionState::Idle {
            // The socket Asterisk opened is gone, and only it could carry this.
            return Err(RequestError::Closed);
        }
        let over_ws = self.config.rest_transport == RestTransport::WebSocket;
        if let Some(server) = self.server_version {
            let missing = if !server.has(info.since) {
                Some(info.since)
            } else if over_ws && !server.has(crate::REST_OVER_WEBSOCKET_SINCE) {
                Some(crate::REST_OVER_WEBSOCKET_SINCE)
            } else {
                None
            };
            if let Some(since) = missing {
                return Err(RequestError::Unsupported {
                    operation: format!("{}.{}", info.resource, info.name),
                    since: since
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                    server,
                });
            }
        }
        self.next_request += 1;
        let id = RawRequestId(self.next_request);
        let deadline = now + self.config.request_timeout;
        self.pending.insert(
            id,
            Pending {
                info,
                encoded,
                deadline,
                origin,
                over_ws,
                sent: false,
            },
        );
        self.deadlines.insert((deadline, id));
        self.queued.push_back(id);
        self.pump();
        Ok(id)
    }

    /// Sends queued requests while slots (and, over WS, the socket) allow.
    fn pump(&mut self) {
        while self.in_flight < self.config.max_in_flight {
            let Some(&id) = self.queued.front() else {
                break;
            };
            let Some(p) = self.pending.get(&id) else {
                self.queued.pop_front();
                continue;
            };
            if p.over_ws && self.state != ConnectionState::Open {
                break;
            }
            self.queued.pop_front();
            let transmit = if p.over_ws {
                Ok(Transmit::WsText(rest_request_frame(id, &p.encoded)))
            } else {
                self.http_request(&p.encoded)
                    .map(|request| Transmit::Http { id, request })
            };
            match transmit {
                Ok(t) => {
                    if let Some(p) = self.pending.get_mut(&id) {
                        p.sent = true;
                    }
                    self.in_flight += 1;
                    self.transmits.push_back(t);
                }
                Err(e) => self.finish(id, Err(e)),
            }
        }
    }

    fn http_request(&self, enc: &EncodedRequest) -> Result<http::Request<Vec<u8>>, RequestError> {
        let scheme = if self.config.base.tls {
            "https"
        } else {
            "http"
        };
        let mut b = http::Request::builder()
            .method(enc.method.as_str())
            .uri(self.uri(scheme, enc));
        if let Some(auth) = &self.auth_header {
            b = b.header(http::header::AUTHORIZATION, auth.clone());
        }
        let body = match &enc.body {
            Some(v) => {
                b = b.header(http::header::CONTENT_TYPE, "application/json");
                serde_json::to_vec(v).map_err(|e| RequestError::Invalid(e.to_string()))?
            }
            None => Vec::new(),
        };
        b.body(body)
            .map_err(|e| RequestError::Invalid(e.to_string()))
    }

    fn complete(&mut self, id: RawRequestId, status: u16, body: Vec<u8>, now: Instant) {
        let Some(p) = self.pending.get(&id) else {
            self.outputs
                .push_back(Output::Diagnostic(Diagnostic::LateResponse { id, status }));
            return;
        };
        // Past its deadline an answer is too late, even before the timer ran.
        let outcome = if now >= p.deadline {
            Err(RequestError::Timeout(self.config.request_timeout))
        } else if (200..300).contains(&status) {
            Ok(RawResponse { status, body })
        } else {
            Err(RequestError::Api(ApiError::from_response(status, &body)))
        };
        self.finish(id, outcome);
    }

    fn finish(&mut self, id: RawRequestId, outcome: Result<RawResponse, RequestError>) {
        let Some(p) = self.pending.remove(&id) else {
            return;
        };
        self.deadlines.remove(&(p.deadline, id));
        if p.sent {
            self.in_flight -= 1;
        } else {
            self.queued.retain(|q| *q != id);
        }
        if let Ok(resp) = &outcome {
            self.learn(p.info, &p.encoded, resp);
        }
        match p.origin {
            Origin::User => self.outputs.push_back(Output::Response { id, outcome }),
            // Whatever the answer (a user who may not read it included),
            // the connection is ready now.
            Origin::VersionProbe => {
                if let Some(opening) = &mut self.opening
                    && opening.probe == Some(id)
                {
                    opening.probe = None;
                    self.opened_if_ready();
                }
            }
            Origin::Reapply => {
                if let Some(opening) = &mut self.opening {
                    opening.reapplying.retain(|r| *r != id);
                }
                if let Err(error) = outcome {
                    self.outputs
                        .push_back(Output::Diagnostic(Diagnostic::ReapplyFailed {
                            request: format!(
                                "{} /ari/{}",
                                p.encoded.method.as_str(),
                                p.encoded.path
                            ),
                            error,
                        }));
                }
                self.opened_if_ready();
            }
        }
    }

    /// Reports the WebSocket open once the version probe and the re-applied
    /// subscriptions and filters are answered (whatever the answers): what
    /// the application does next finds them in place.
    fn opened_if_ready(&mut self) {
        if let Some(opening) = &self.opening
            && opening.probe.is_none()
            && opening.reapplying.is_empty()
        {
            let reconnected = opening.reconnected;
            self.opening = None;
            self.outputs
                .push_back(Output::Connection(ConnectionEvent::Open { reconnected }));
        }
    }

    /// Remembers what a successful answer says about the server.
    fn learn(&mut self, info: &OperationInfo, enc: &EncodedRequest, resp: &RawResponse) {
        match (info.resource, info.name) {
            ("asterisk", "getInfo") => {
                let body: Option<serde_json::Value> = serde_json::from_slice(&resp.body).ok();
                let version = body
                    .as_ref()
                    .and_then(|b| b.pointer("/system/version")?.as_str());
                if let Some(v) = version.and_then(Version::parse) {
                    self.server_version = Some(v);
                }
            }
            ("applications", "subscribe" | "unsubscribe") => {
                let app = app_segment(&enc.path);
                let sources = enc
                    .query
                    .iter()
                    .filter(|(k, _)| *k == "eventSource")
                    .flat_map(|(_, v)| v.split(','));
                let set = self.server_state.sources.entry(app.clone()).or_default();
                if info.name == "subscribe" {
                    set.extend(sources.map(str::to_string));
                } else {
                    for s in sources {
                        set.remove(s);
                    }
                    if set.is_empty() {
                        self.server_state.sources.remove(&app);
                    }
                }
            }
            ("applications", "filter") => {
                self.server_state
                    .filters
                    .insert(app_segment(&enc.path), enc.clone());
            }
            _ => {}
        }
    }

    /// Sends again the subscriptions and filters this session set up.
    fn reapply(&mut self, now: Instant) {
        use crate::ops::applications::{Filter as FilterOp, Subscribe};
        let mut requests = Vec::new();
        for (app, sources) in &self.server_state.sources {
            let mut enc = Subscribe::new("", sources.iter().map(String::as_str)).encode();
            enc.path = format!("applications/{app}/subscription");
            requests.push((<Subscribe as Operation>::INFO, enc));
        }
        for enc in self.server_state.filters.values() {
            requests.push((<FilterOp as Operation>::INFO, enc.clone()));
        }
        for (info, enc) in requests {
            let request = format!("{} /ari/{}", enc.method.as_str(), enc.path);
            match self.start(info, enc, Origin::Reapply, now) {
                Ok(id) => {
                    if let Some(opening) = &mut self.opening {
                        opening.reapplying.push(id);
                    }
                }
                Err(error) => {
                    self.outputs
                        .push_back(Output::Diagnostic(Diagnostic::ReapplyFailed {
                            request,
                            error,
                        }))
                }
            }
        }
    }

    fn handle_event(&mut self, event: Event, now: Instant) {
        if let Event::RESTResponse(r) = &event
            && let Some(id) = parse_request_id(&r.request_id)
            && self.pending.get(&id).is_some_and(|p| p.over_ws)
        {
            let status = u16::try_from(r.status_code).unwrap_or(0);
            let body = r
                .message_body
                .as_deref()
                .unwrap_or_default()
                .as_bytes()
                .to_vec();
            self.complete(id, status, body, now);
            return;
        }
        if let Event::ApplicationReplaced(e) = &event {
            let app = e.application.as_str();
            if self.config.apps.iter().any(|a| a == app) && self.replaced.insert(app.to_string()) {
                self.outputs
                    .push_back(Output::Connection(ConnectionEvent::Replaced {
                        application: app.to_string(),
                    }));
                // The connection serves the other apps on; with none left, stop.
                if self.replaced.len() == self.config.apps.len() {
                    self.state = ConnectionState::Replaced;
                    self.transmits.push_back(Transmit::WsClose);
                }
            }
        }
        let mut subscribers = std::mem::take(&mut self.scratch);
        self.registry.route(&event, &mut subscribers);
        let mut ended = Vec::new();
        self.registry.end_finished(&event, &mut ended);
        let delivered = Subscribers::from_slice(&subscribers);
        subscribers.clear();
        self.scratch = subscribers;
        let mut calls = Vec::new();
        if let Event::StasisStart(start) = &event {
            let channel = ObjectRef::new(ObjectKind::Channel, start.channel.id.as_str());
            for watcher in &self.call_watchers {
                let sub = self.registry.subscribe(Filter::Object(channel.clone()));
                calls.push((*watcher, sub));
            }
        }
        self.outputs.push_back(Output::Event(Delivery {
            event,
            subscribers: delivered,
            calls,
        }));
        for (id, object) in ended {
            self.outputs
                .push_back(Output::SubscriptionEnded { id, object });
        }
    }
}

/// The application segment of `applications/{app}/...`.
fn app_segment(path: &str) -> String {
    path.split('/').nth(1).unwrap_or_default().to_string()
}

fn parse_request_id(s: &str) -> Option<RawRequestId> {
    s.strip_prefix("ari-")
        .and_then(|n| n.parse().ok())
        .map(RawRequestId)
}

/// The `RESTRequest` frame carrying `enc` over the events WebSocket.
fn rest_request_frame(id: RawRequestId, enc: &EncodedRequest) -> String {
    use serde_json::{Map, Value, json};
    let request_id = format!("ari-{}", id.0);
    let mut frame = Map::new();
    frame.insert("type".into(), json!("RESTRequest"));
    frame.insert("request_id".into(), json!(request_id));
    frame.insert("transaction_id".into(), json!(request_id));
    frame.insert("method".into(), json!(enc.method.as_str()));
    frame.insert("uri".into(), json!(enc.path));
    if !enc.query.is_empty() {
        let qs: Vec<Value> = enc
            .query
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
        frame.insert("query_strings".into(), Value::Array(qs));
    }
    if let Some(body) = &enc.body {
        frame.insert("content_type".into(), json!("application/json"));
        frame.insert("message_body".into(), json!(body.to_string()));
    }
    Value::Object(frame).to_string()
}

impl Method {
    /// The `http` crate's method.
    pub fn to_http(self) -> http::Method {
        match self {
            Method::Get => http::Method::GET,
            Method::Post => http::Method::POST,
            Method::Put => http::Method::PUT,
            Method::Delete => http::Method::DELETE,
        }
    }
}
