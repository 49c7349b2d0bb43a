//! The AMI session: login, actions and their answers, events, keepalive
//! and reconnects, as a state machine with no I/O and no clock.

use crate::config::{Config, ConfigError, EventFilter, EventMask, LoginAuth};
use crate::{Action, Banner, DecodeError, Decoder, EncodeError, Frame, Kind, Message, md5};
use proto_common::{SeededRng, Version};
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// An action the application sent, to match with its [`Output::Answer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActionId(pub u64);

/// What the driver must do for the session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transmit {
    /// Open a TCP (or TLS) connection to the configured address, then call
    /// [`Session::handle_connected`] or [`Session::handle_connect_failed`].
    Connect,
    /// Write these bytes, in order with the others.
    Send(Vec<u8>),
    /// Close the connection (after writing what was sent before). No
    /// [`Session::handle_closed`] is needed for it.
    Close,
}

/// Why a connection ended or could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CloseReason {
    /// No connection could be made.
    #[error("no connection: {0}")]
    Unreachable(String),
    /// The connection dropped (or Asterisk closed it).
    #[error("the connection dropped: {0}")]
    Dropped(String),
    /// Connecting and logging in took longer than the connect timeout.
    #[error("connecting and logging in took longer than the connect timeout")]
    ConnectTimeout,
    /// Nothing arrived, not even a ping's answer, within the idle timeout.
    #[error("nothing arrived within the idle timeout")]
    Silent,
    /// The peer's first line is not an AMI banner.
    #[error("the peer does not speak AMI (first line {0:?})")]
    NotAmi(String),
    /// Asterisk refused the login; the session does not retry.
    #[error("login refused: {0}")]
    LoginRefused(String),
    /// Closed by [`Session::set_filters`] to log in again with other
    /// filters (Asterisk cannot take one off); the next login follows at
    /// once.
    #[error("closed to log in again with other filters")]
    FiltersChanged,
}

/// A change of the connection's state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// A connection attempt started.
    Connecting {
        /// Attempts since the last open connection, from 0.
        attempt: u32,
    },
    /// Logged in, filters applied: actions go out from now on.
    Open {
        /// It had been open before. Events of the time in between are lost
        /// for good (Asterisk drops what it raised before the login): state
        /// built from events needs a resync.
        reconnected: bool,
    },
    /// The connection ended or could not be made.
    Closed(CloseReason),
    /// The next attempt is scheduled.
    Backoff {
        /// When it starts.
        until: Instant,
        /// Its number.
        attempt: u32,
    },
    /// Asterisk refused one of the configured filters: it is not applied
    /// (the connection goes on without it).
    FilterRefused {
        /// The filter.
        filter: EventFilter,
        /// Asterisk's `Message`, or why the session did not send it (a
        /// `MatchCriteria` this release would ignore).
        reason: String,
    },
    /// The session stopped for good: closed by the application, or the
    /// login was refused.
    Stopped,
}

/// The answer to an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The `Response:` message.
    pub response: Message,
    /// For an action answered with an event list: its items, in order.
    pub items: Vec<Message>,
    /// The event that completed it: the list's closing event, or the
    /// `OriginateResponse` of an asynchronous `Originate`.
    pub completion: Option<Message>,
}

/// Why an action has no [`Answer`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ActionError {
    /// Asterisk answered `Response: Error` (or an asynchronous `Originate`
    /// ended in `Response: Failure`).
    #[error("Asterisk refused it: {message}")]
    Refused {
        /// Its `Message` header (empty if it had none).
        message: String,
        /// The whole answer.
        response: Box<Message>,
    },
    /// No (complete) answer within the request timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The connection ended after the action went out; whether Asterisk
    /// ran it is unknown (actions are not resent).
    #[error("the connection ended before the answer came")]
    ConnectionLost,
    /// The session was closed.
    #[error("the session is closed")]
    Closed,
    /// The action cannot be written as Asterisk reads actions.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The server's release would not carry the action out as written (it
    /// would ignore a part of it without a word), so it was not sent.
    #[error("not sent: {0}")]
    Unsupported(String),
}

/// What the session hands to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// An action's outcome.
    Answer {
        /// The action, as [`Session::send`] named it.
        id: ActionId,
        /// Its answer or why there is none.
        result: Result<Answer, ActionError>,
    },
    /// An event (not part of an action's answer).
    Event(Message),
    /// A response no action of this session waits for.
    Orphan(Message),
    /// The connection's state changed.
    Connection(ConnectionEvent),
    /// Bytes that were not a message (the connection goes on).
    Malformed(DecodeError),
}

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Not started.
    Idle,
    /// Connecting, reading the banner or logging in.
    Connecting,
    /// Logged in: actions go out.
    Open,
    /// Waiting before the next attempt.
    Backoff,
    /// Stopped for good.
    Stopped,
}

/// What an action expects before it is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// The response.
    Response,
    /// The response, then (if it starts a list) the list's items and end.
    List,
    /// The response, then the `OriginateResponse` event.
    OriginateResponse,
}

/// Who sent an action: the application, or the session itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    User(ActionId),
    Challenge,
    Login,
    /// The index of the filter in the configuration.
    Filter(usize),
    /// The configured event mask, turned on once the filters are in place.
    EventMask,
    CoreSettings,
    Ping,
}

#[derive(Debug)]
struct Pending {
    purpose: Purpose,
    expect: Expect,
    deadline: Instant,
    timeout: Duration,
    response: Option<Message>,
    items: Vec<Message>,
}

/// An application action not yet on the wire (before the login completes).
#[derive(Debug)]
struct Queued {
    wire_id: u64,
    bytes: Vec<u8>,
    pending: Pending,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Connecting {
        deadline: Instant,
    },
    LoggingIn {
        deadline: Instant,
    },
    /// Filters and `CoreSettings` sent after the login, not all answered.
    SettingUp {
        deadline: Instant,
    },
    Open,
    Backoff {
        until: Instant,
    },
    Stopped,
}

/// An AMI client session with no I/O: the driver moves bytes and time in
/// through `handle_*`, and takes out what to write ([`Session::poll_transmit`])
/// and what to hand the application ([`Session::poll_output`]), then sleeps
/// until [`Session::poll_timeout`].
///
/// It logs in (by challenge or in plain text), applies the event mask and
/// filters after every login, matches answers to actions by ActionID (event
/// lists gathered into one answer, an asynchronous `Originate` answered by
/// its `OriginateResponse`), pings a quiet connection, replaces a silent
/// one, and reconnects with backoff.
#[derive(Debug)]
pub struct Session {
    config: Config,
    state: State,
    decoder: Decoder,
    transmits: VecDeque<Transmit>,
    outputs: VecDeque<Output>,
    /// Actions on the wire, by the number in their ActionID.
    pending: HashMap<u64, Pending>,
    /// Application actions waiting for the login.
    queued: VecDeque<Queued>,
    /// ActionIDs are `{prefix}{n}`.
    prefix: String,
    next_wire_id: u64,
    next_action_id: u64,
    rng: SeededRng,
    attempt: u32,
    ever_opened: bool,
    /// When the connection last brought anything (set once connected).
    last_heard: Option<Instant>,
    banner: Option<Banner>,
    server_version: Option<Version>,
    /// This login's filters go out once `CoreSettings` says the release.
    filters_wait_for_release: bool,
}

impl Session {
    /// A session that has not connected yet. Fails if the user name,
    /// secret or a filter cannot be written as Asterisk reads actions.
    pub fn new(config: Config) -> Result<Session, ConfigError> {
        let mut scratch = Vec::new();
        let login = Action::new("Login")
            .header("Username", &config.username)
            .header("Secret", config.secret.expose())
            .header("Events", config.events.header_value());
        login.encode(Some("x"), &mut scratch)?;
        writable(&config.filters)?;
        let mut rng = SeededRng::new(config.seed);
        let prefix = format!("{:012x}-", rng.next_u64() >> 16);
        Ok(Session {
            decoder: Decoder::new(config.max_message),
            config,
            state: State::Idle,
            transmits: VecDeque::new(),
            outputs: VecDeque::new(),
            pending: HashMap::new(),
            queued: VecDeque::new(),
            prefix,
            next_wire_id: 1,
            next_action_id: 1,
            rng,
            attempt: 0,
            ever_opened: false,
            last_heard: None,
            banner: None,
            server_version: None,
            filters_wait_for_release: false,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the session is.
    pub fn connection_state(&self) -> ConnectionState {
        match self.state {
            State::Idle => ConnectionState::Idle,
            State::Connecting { .. } | State::LoggingIn { .. } | State::SettingUp { .. } => {
                ConnectionState::Connecting
            }
            State::Open => ConnectionState::Open,
            State::Backoff { .. } => ConnectionState::Backoff,
            State::Stopped => ConnectionState::Stopped,
        }
    }

    /// The banner of the current (or last) connection: its AMI version.
    pub fn banner(&self) -> Option<&Banner> {
        self.banner.as_ref()
    }

    /// The Asterisk release, once `CoreSettings` answered (see
    /// [`Config::learn_server_version`]).
    pub fn server_version(&self) -> Option<Version> {
        self.server_version
    }

    /// Starts connecting.
    pub fn connect(&mut self, now: Instant) {
        if matches!(self.state, State::Idle | State::Backoff { .. }) {
            self.start_attempt(now);
        }
    }

    /// Sends `action` once logged in (at once if logged in now). Its
    /// outcome comes as [`Output::Answer`] with the returned id. An action
    /// that cannot be written as Asterisk reads actions fails here.
    pub fn send(&mut self, action: &Action, now: Instant) -> Result<ActionId, ActionError> {
        if self.state == State::Stopped {
            return Err(ActionError::Closed);
        }
        if let Some(version) = self.server_version
            && let Some(reason) = unsupported(action, version)
        {
            return Err(ActionError::Unsupported(reason));
        }
        let id = ActionId(self.next_action_id);
        let expect = expectation(action);
        let timeout = self.config.request_timeout + originate_wait(action, expect);
        let wire_id = self.take_wire_id();
        let mut bytes = Vec::new();
        action.encode(Some(&self.wire_action_id(wire_id)), &mut bytes)?;
        self.next_action_id += 1;
        let pending = Pending {
            purpose: Purpose::User(id),
            expect,
            deadline: now + timeout,
            timeout,
            response: None,
            items: Vec::new(),
        };
        if self.state == State::Open {
            self.pending.insert(wire_id, pending);
            self.transmits.push_back(Transmit::Send(bytes));
        } else {
            self.queued.push_back(Queued {
                wire_id,
                bytes,
                pending,
            });
            if self.state == State::Idle {
                self.start_attempt(now);
            }
        }
        Ok(id)
    }

    /// Replaces the configured filters. Asterisk cannot take a filter off
    /// a session: when the new list only adds to the old one, the added
    /// filters go out on this connection; otherwise a connection that is
    /// logged in (or logging in) logs off, and a new one logs in at once
    /// with the new list. Actions on the wire then fail with
    /// [`ActionError::ConnectionLost`] (those not sent yet wait for the new
    /// login), and events of the moment in between are lost, as on any
    /// reconnect ([`ConnectionEvent::Open`] says `reconnected`). Fails,
    /// changing nothing, if a filter cannot be written as Asterisk reads
    /// actions.
    pub fn set_filters(
        &mut self,
        filters: Vec<EventFilter>,
        now: Instant,
    ) -> Result<(), EncodeError> {
        writable(&filters)?;
        let added_only = filters.starts_with(&self.config.filters);
        let applied = self.config.filters.len();
        // Filters waiting for the release go out with the new list.
        let sent = match self.state {
            State::Open => true,
            State::SettingUp { .. } => !self.filters_wait_for_release,
            _ => false,
        };
        self.config.filters = filters;
        if !sent {
            return Ok(());
        }
        if added_only {
            for i in applied..self.config.filters.len() {
                self.send_filter(i, now);
            }
            return Ok(());
        }
        self.log_off();
        self.transmits.push_back(Transmit::Close);
        self.outputs
            .push_back(Output::Connection(ConnectionEvent::Closed(
                CloseReason::FiltersChanged,
            )));
        self.fail_all(ActionError::ConnectionLost, false);
        self.start_attempt(now);
        Ok(())
    }

    /// Logs off and stops: waiting actions fail with [`ActionError::Closed`].
    pub fn close(&mut self, now: Instant) {
        let _ = now;
        if self.state == State::Stopped {
            return;
        }
        if matches!(self.state, State::Open | State::SettingUp { .. }) {
            self.log_off();
        }
        if !matches!(self.state, State::Idle | State::Backoff { .. }) {
            self.transmits.push_back(Transmit::Close);
        }
        self.fail_all(ActionError::Closed, true);
        self.state = State::Stopped;
        self.outputs
            .push_back(Output::Connection(ConnectionEvent::Stopped));
    }

    /// The connection the last [`Transmit::Connect`] asked for is up.
    pub fn handle_connected(&mut self, now: Instant) {
        if let State::Connecting { .. } = self.state {
            self.decoder = Decoder::new(self.config.max_message);
            self.last_heard = Some(now);
        }
    }

    /// The connection the last [`Transmit::Connect`] asked for could not be made.
    pub fn handle_connect_failed(&mut self, error: &str, now: Instant) {
        if let State::Connecting { .. } = self.state {
            self.connection_ended(CloseReason::Unreachable(error.into()), now);
        }
    }

    /// The connection ended (not by a [`Transmit::Close`]).
    pub fn handle_closed(&mut self, error: &str, now: Instant) {
        if matches!(
            self.state,
            State::Connecting { .. }
                | State::LoggingIn { .. }
                | State::SettingUp { .. }
                | State::Open
        ) {
            self.connection_ended(CloseReason::Dropped(error.into()), now);
        }
    }

    /// Bytes read from the connection.
    pub fn handle_bytes(&mut self, bytes: &[u8], now: Instant) {
        if matches!(
            self.state,
            State::Idle | State::Backoff { .. } | State::Stopped
        ) {
            return;
        }
        self.last_heard = Some(now);
        self.decoder.feed(bytes);
        loop {
            match self.decoder.next_frame() {
                Ok(Some(Frame::Banner(banner))) => self.on_banner(banner, now),
                Ok(Some(Frame::Message(message))) => self.on_message(message, now),
                Ok(None) => break,
                Err(DecodeError::BannerTooLong) => {
                    self.transmits.push_back(Transmit::Close);
                    self.connection_ended(CloseReason::NotAmi("(too long)".into()), now);
                    break;
                }
                Err(e) => self.outputs.push_back(Output::Malformed(e)),
            }
            if !self.is_connected() {
                break;
            }
        }
    }

    /// The time [`Session::poll_timeout`] gave has come (or passed).
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Connecting { deadline }
            | State::LoggingIn { deadline }
            | State::SettingUp { deadline }
                if now >= deadline =>
            {
                self.transmits.push_back(Transmit::Close);
                self.connection_ended(CloseReason::ConnectTimeout, now);
            }
            State::Backoff { until } if now >= until => self.start_attempt(now),
            _ => {}
        }
        self.expire_actions(now);
        if self.state == State::Open {
            if self
                .last_heard
                .is_some_and(|heard| now >= heard + self.config.idle_timeout)
            {
                self.transmits.push_back(Transmit::Close);
                self.connection_ended(CloseReason::Silent, now);
            } else if let Some(ping) = self.ping_due()
                && now >= ping
                && !self.pending.values().any(|p| p.purpose == Purpose::Ping)
            {
                self.send_internal(Action::new("Ping"), Purpose::Ping, now);
            }
        }
    }

    /// The next thing to write or do, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next thing for the application, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Session::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let state = match self.state {
            State::Connecting { deadline }
            | State::LoggingIn { deadline }
            | State::SettingUp { deadline } => Some(deadline),
            State::Backoff { until } => Some(until),
            State::Open => self.last_heard.map(|heard| {
                let idle = heard + self.config.idle_timeout;
                let ping = self
                    .ping_due()
                    .filter(|_| !self.pending.values().any(|p| p.purpose == Purpose::Ping));
                ping.map_or(idle, |p| p.min(idle))
            }),
            State::Idle | State::Stopped => None,
        };
        let actions = self
            .pending
            .values()
            .chain(self.queued.iter().map(|q| &q.pending))
            .map(|p| p.deadline)
            .min();
        [state, actions].into_iter().flatten().min()
    }

    fn is_connected(&self) -> bool {
        matches!(
            self.state,
            State::Connecting { .. }
                | State::LoggingIn { .. }
                | State::SettingUp { .. }
                | State::Open
        )
    }

    fn ping_due(&self) -> Option<Instant> {
        self.config
            .ping_interval
            .zip(self.last_heard)
            .map(|(interval, heard)| heard + interval)
    }

    fn take_wire_id(&mut self) -> u64 {
        let id = self.next_wire_id;
        self.next_wire_id += 1;
        id
    }

    fn wire_action_id(&self, wire_id: u64) -> String {
        format!("{}{wire_id}", self.prefix)
    }

    /// The number in one of this session's ActionIDs.
    fn own_wire_id(&self, message: &Message) -> Option<u64> {
        let id = message.action_id()?;
        let rest = id.as_bytes().strip_prefix(self.prefix.as_bytes())?;
        std::str::from_utf8(rest).ok()?.parse().ok()
    }

    fn start_attempt(&mut self, now: Instant) {
        self.state = State::Connecting {
            deadline: now + self.config.connect_timeout,
        };
        self.banner = None;
        self.transmits.push_back(Transmit::Connect);
        self.outputs
            .push_back(Output::Connection(ConnectionEvent::Connecting {
                attempt: self.attempt,
            }));
    }

    fn send_internal(&mut self, action: Action, purpose: Purpose, now: Instant) {
        let wire_id = self.take_wire_id();
        let mut bytes = Vec::new();
        if let Err(e) = action.encode(Some(&self.wire_action_id(wire_id)), &mut bytes) {
            // `Session::new` checked what the configuration puts in these
            // actions; a challenge Asterisk made unusable ends the session.
            return self.stop_with(CloseReason::LoginRefused(e.to_string()));
        }
        let timeout = self.config.request_timeout;
        self.pending.insert(
            wire_id,
            Pending {
                purpose,
                expect: Expect::Response,
                deadline: now + timeout,
                timeout,
                response: None,
                items: Vec::new(),
            },
        );
        self.transmits.push_back(Transmit::Send(bytes));
    }

    fn on_banner(&mut self, banner: Banner, now: Instant) {
        let State::Connecting { deadline } = self.state else {
            return;
        };
        if !banner.product().starts_with("Asterisk Call Manager") {
            let line = banner.line().to_string();
            self.transmits.push_back(Transmit::Close);
            self.connection_ended(CloseReason::NotAmi(line), now);
            return;
        }
        self.banner = Some(banner);
        self.state = State::LoggingIn { deadline };
        match self.config.auth {
            LoginAuth::Challenge => {
                let challenge = Action::new("Challenge").header("AuthType", "MD5");
                self.send_internal(challenge, Purpose::Challenge, now);
            }
            LoginAuth::Plain => {
                let login = self
                    .login_action()
                    .header("Secret", self.config.secret.expose());
                self.send_internal(login, Purpose::Login, now);
            }
        }
    }

    fn login_action(&self) -> Action {
        Action::new("Login")
            .header("Username", &self.config.username)
            .header("Events", self.login_event_mask())
    }

    /// Events stay off through the login of a filtered session: Asterisk
    /// sends what comes before its filters (`FullyBooted`, the events of
    /// the moment) unfiltered. The mask goes on after them.
    fn login_event_mask(&self) -> String {
        if self.mask_after_filters() {
            EventMask::Off.header_value()
        } else {
            self.config.events.header_value()
        }
    }

    fn mask_after_filters(&self) -> bool {
        !self.config.filters.is_empty() && self.config.events != EventMask::Off
    }

    fn on_message(&mut self, message: Message, now: Instant) {
        let own = self.own_wire_id(&message);
        match message.kind() {
            Kind::Response(_) => match own.and_then(|id| self.pending.remove(&id).map(|p| (id, p)))
            {
                Some((id, pending)) => self.on_response(id, pending, message, now),
                None => self.outputs.push_back(Output::Orphan(message)),
            },
            Kind::Event(name) => {
                let collected = own.and_then(|id| self.pending.get_mut(&id).map(|p| (id, p)));
                match collected {
                    Some((id, pending)) if pending.expect == Expect::List => {
                        let complete = message
                            .get("EventList")
                            .is_some_and(|f| f.eq_ignore_case("Complete"));
                        if complete {
                            let pending = self.pending.remove(&id).expect("just seen");
                            self.finish(pending, Ok(message));
                        } else {
                            pending.items.push(message);
                        }
                    }
                    Some((id, pending))
                        if pending.expect == Expect::OriginateResponse
                            && name.eq_ignore_case("OriginateResponse") =>
                    {
                        if pending.response.is_some() {
                            let pending = self.pending.remove(&id).expect("just seen");
                            self.finish(pending, Ok(message));
                        } else {
                            // Before its response: kept until the response.
                            pending.items.push(message);
                        }
                    }
                    _ => self.outputs.push_back(Output::Event(message)),
                }
            }
            Kind::Action(_) | Kind::Other => self.outputs.push_back(Output::Orphan(message)),
        }
    }

    fn on_response(&mut self, wire_id: u64, mut pending: Pending, message: Message, now: Instant) {
        let success = !matches!(message.kind(), Kind::Response(r) if r.eq_ignore_case("Error"));
        match pending.purpose {
            Purpose::User(_) => {
                let list = success
                    && pending.expect == Expect::List
                    && message
                        .get("EventList")
                        .is_some_and(|f| f.eq_ignore_case("start"));
                let originate = success && pending.expect == Expect::OriginateResponse;
                if !list && !originate {
                    // Events with this ActionID that came before an answer
                    // that starts no list are plain events after all.
                    for early in pending.items.drain(..) {
                        self.outputs.push_back(Output::Event(early));
                    }
                }
                if !success {
                    return self.answer(pending.purpose, Err(refused(message)));
                }
                if list || originate {
                    pending.response = Some(message);
                    if originate && let Some(early) = pending.items.pop() {
                        return self.finish(pending, Ok(early));
                    }
                    self.pending.insert(wire_id, pending);
                } else {
                    self.answer(
                        pending.purpose,
                        Ok(Answer {
                            response: message,
                            items: Vec::new(),
                            completion: None,
                        }),
                    );
                }
            }
            Purpose::Challenge => match message.get("Challenge") {
                Some(challenge) if success => {
                    let mut input = challenge.as_bytes().to_vec();
                    input.extend_from_slice(self.config.secret.expose().as_bytes());
                    let login = self
                        .login_action()
                        .header("AuthType", "MD5")
                        .header("Key", md5::hex_digest(&input));
                    self.send_internal(login, Purpose::Login, now);
                }
                _ => self.login_refused(&message),
            },
            Purpose::Login if success => self.logged_in(now),
            Purpose::Login => self.login_refused(&message),
            Purpose::Filter(i) => {
                if !success {
                    let event = ConnectionEvent::FilterRefused {
                        filter: self.config.filters[i].clone(),
                        reason: message
                            .get("Message")
                            .map(|m| m.to_string())
                            .unwrap_or_default(),
                    };
                    self.outputs.push_back(Output::Connection(event));
                }
                self.setup_step_done();
            }
            // A mask Asterisk refuses here it would have refused at the login.
            Purpose::EventMask if !success => self.login_refused(&message),
            Purpose::EventMask => self.setup_step_done(),
            Purpose::CoreSettings => {
                self.server_version = message
                    .get("AsteriskVersion")
                    .and_then(|v| Version::parse(&v.to_string_lossy()));
                if std::mem::take(&mut self.filters_wait_for_release) {
                    self.send_filters(now);
                }
                self.setup_step_done();
            }
            Purpose::Ping => {}
        }
    }

    fn logged_in(&mut self, now: Instant) {
        let State::LoggingIn { deadline } = self.state else {
            return;
        };
        self.state = State::SettingUp { deadline };
        // A filter with MatchCriteria waits for the release: older ones
        // would apply it wrongly without a word.
        self.filters_wait_for_release = self.needs_version_for_filters();
        if !self.filters_wait_for_release {
            self.send_filters(now);
        }
        if self.config.learn_server_version {
            self.send_internal(Action::new("CoreSettings"), Purpose::CoreSettings, now);
        }
        self.setup_step_done();
    }

    fn needs_version_for_filters(&self) -> bool {
        self.config.learn_server_version
            && self
                .config
                .filters
                .iter()
                .any(|f| f.match_criteria.is_some())
    }

    /// Sends the configured filters, except those the server's release
    /// (when known) would misread: those are reported refused.
    fn send_filters(&mut self, now: Instant) {
        for i in 0..self.config.filters.len() {
            self.send_filter(i, now);
        }
        if self.mask_after_filters() {
            // Asterisk takes a session's actions in order: this one is read
            // once every filter above is in place.
            let mask = Action::new("Events").header("EventMask", self.config.events.header_value());
            self.send_internal(mask, Purpose::EventMask, now);
        }
    }

    /// Writes a `Logoff` (no answer is awaited: the connection closes next).
    fn log_off(&mut self) {
        let mut bytes = Vec::new();
        if Action::new("Logoff").encode(None, &mut bytes).is_ok() {
            self.transmits.push_back(Transmit::Send(bytes));
        }
    }

    /// Sends the configured filter `i`, unless the server's release (when
    /// known) would misread it: that one is reported refused.
    fn send_filter(&mut self, i: usize, now: Instant) {
        let filter = &self.config.filters[i];
        let action = filter_action(filter);
        if let Some(version) = self.server_version
            && let Some(reason) = unsupported(&action, version)
        {
            let filter = filter.clone();
            let event = ConnectionEvent::FilterRefused { filter, reason };
            self.outputs.push_back(Output::Connection(event));
            return;
        }
        self.send_internal(action, Purpose::Filter(i), now);
    }

    /// Opens once every setup action is answered.
    fn setup_step_done(&mut self) {
        let State::SettingUp { .. } = self.state else {
            return;
        };
        let waiting = self.pending.values().any(|p| {
            matches!(
                p.purpose,
                Purpose::Filter(_) | Purpose::EventMask | Purpose::CoreSettings
            )
        });
        if waiting {
            return;
        }
        self.state = State::Open;
        self.attempt = 0;
        let reconnected = std::mem::replace(&mut self.ever_opened, true);
        self.outputs
            .push_back(Output::Connection(ConnectionEvent::Open { reconnected }));
        while let Some(q) = self.queued.pop_front() {
            self.pending.insert(q.wire_id, q.pending);
            self.transmits.push_back(Transmit::Send(q.bytes));
        }
    }

    fn login_refused(&mut self, message: &Message) {
        let reason = message
            .get("Message")
            .map(|m| m.to_string())
            .unwrap_or_default();
        self.stop_with(CloseReason::LoginRefused(reason));
    }

    fn stop_with(&mut self, reason: CloseReason) {
        self.transmits.push_back(Transmit::Close);
        self.outputs
            .push_back(Output::Connection(ConnectionEvent::Closed(reason)));
        self.fail_all(ActionError::Closed, true);
        self.state = State::Stopped;
        self.outputs
            .push_back(Output::Connection(ConnectionEvent::Stopped));
    }

    /// The connection is gone: sent actions fail, queued ones wait, the
    /// next attempt is scheduled.
    fn connection_ended(&mut self, reason: CloseReason, now: Instant) {
        self.outputs
            .push_back(Output::Connection(ConnectionEvent::Closed(reason)));
        self.fail_all(ActionError::ConnectionLost, false);
        let delay = self
            .config
            .backoff
            .delay(self.attempt, self.rng.next_unit());
        let until = now + delay;
        self.outputs
            .push_back(Output::Connection(ConnectionEvent::Backoff {
                until,
                attempt: self.attempt,
            }));
        self.attempt = self.attempt.saturating_add(1);
        self.state = State::Backoff { until };
    }

    /// Fails the actions on the wire (and with `queued_too`, those waiting
    /// for the login).
    fn fail_all(&mut self, error: ActionError, queued_too: bool) {
        let mut sent: Vec<(u64, Pending)> = self.pending.drain().collect();
        sent.sort_by_key(|(id, _)| *id);
        for (_, p) in sent {
            self.answer(p.purpose, Err(error.clone()));
        }
        if queued_too {
            while let Some(q) = self.queued.pop_front() {
                self.answer(q.pending.purpose, Err(error.clone()));
            }
        }
    }

    fn expire_actions(&mut self, now: Instant) {
        let mut due: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| now >= p.deadline)
            .map(|(id, _)| *id)
            .collect();
        due.sort_unstable();
        for id in due {
            let p = self.pending.remove(&id).expect("listed");
            self.answer(p.purpose, Err(ActionError::Timeout(p.timeout)));
        }
        let (expired, waiting): (Vec<Queued>, Vec<Queued>) = self
            .queued
            .drain(..)
            .partition(|q| now >= q.pending.deadline);
        self.queued = waiting.into();
        for q in expired {
            self.answer(
                q.pending.purpose,
                Err(ActionError::Timeout(q.pending.timeout)),
            );
        }
    }

    /// Completes a list or an asynchronous `Originate` with `completion`.
    fn finish(&mut self, pending: Pending, completion: Result<Message, ActionError>) {
        let result = completion.and_then(|completion| {
            let failed = pending.expect == Expect::OriginateResponse
                && completion
                    .get("Response")
                    .is_some_and(|r| r.eq_ignore_case("Failure"));
            match (failed, pending.response) {
                (true, _) => Err(originate_failed(completion)),
                (false, Some(response)) => Ok(Answer {
                    response,
                    items: pending.items,
                    completion: Some(completion),
                }),
                (false, None) => Err(ActionError::ConnectionLost),
            }
        });
        self.answer(pending.purpose, result);
    }

    fn answer(&mut self, purpose: Purpose, result: Result<Answer, ActionError>) {
        if let Purpose::User(id) = purpose {
            self.outputs.push_back(Output::Answer { id, result });
        }
    }
}

fn refused(response: Message) -> ActionError {
    ActionError::Refused {
        message: response
            .get("Message")
            .map(|m| m.to_string())
            .unwrap_or_default(),
        response: Box::new(response),
    }
}

/// An `OriginateResponse` with `Response: Failure`: it has no `Message`,
/// only the `Reason` the dialing ended with (a control frame number).
fn originate_failed(response: Message) -> ActionError {
    let reason = response.get("Reason").map(|r| r.to_string());
    let meaning = match reason.as_deref() {
        Some("0") => "the channel could not be created or did not answer",
        Some("1") => "hung up",
        Some("3") => "rang, no answer",
        Some("5") => "busy",
        Some("8") => "congestion",
        _ => "",
    };
    ActionError::Refused {
        message: format!(
            "the originated call failed (Reason {}{}{meaning})",
            reason.as_deref().unwrap_or("?"),
            if meaning.is_empty() { "" } else { ": " }
        ),
        response: Box::new(response),
    }
}

/// What answers `action`: an asynchronous `Originate` ends with its
/// `OriginateResponse`; any other action may answer with an event list
/// (`EventList: start`), which is then gathered.
fn expectation(action: &Action) -> Expect {
    let async_originate = action.name().eq_ignore_ascii_case("Originate")
        && action.headers().iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("Async")
                && ["true", "yes", "1", "on"]
                    .iter()
                    .any(|t| v.trim().eq_ignore_ascii_case(t))
        });
    if async_originate {
        Expect::OriginateResponse
    } else {
        Expect::List
    }
}

/// An asynchronous `Originate` waits for the call as long as its own
/// `Timeout` (milliseconds; Asterisk's default 30 s) on top of the request
/// timeout.
fn originate_wait(action: &Action, expect: Expect) -> Duration {
    if expect != Expect::OriginateResponse {
        return Duration::ZERO;
    }
    let ms = action
        .headers()
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("Timeout"))
        .and_then(|(_, v)| v.trim().parse::<u64>().ok())
        .unwrap_or(30_000);
    Duration::from_millis(ms)
}

/// Fails if a filter cannot be written as Asterisk reads actions.
fn writable(filters: &[EventFilter]) -> Result<(), EncodeError> {
    let mut scratch = Vec::new();
    for filter in filters {
        filter_action(filter).encode(Some("x"), &mut scratch)?;
    }
    Ok(())
}

fn filter_action(filter: &EventFilter) -> Action {
    let action = Action::new("Filter").header("Operation", "Add");
    let action = match &filter.match_criteria {
        Some(criteria) => action.header("MatchCriteria", criteria),
        None => action,
    };
    action.header("Filter", &filter.filter)
}

/// Why Asterisk `version` would not carry `action` out as written, if so:
/// releases before `MatchCriteria` ignore it and read `Filter` as a regex.
fn unsupported(action: &Action, version: Version) -> Option<String> {
    let criteria = action.name().eq_ignore_ascii_case("Filter")
        && action
            .headers()
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("MatchCriteria"));
    (criteria && !version.has(EventFilter::MATCH_CRITERIA_SINCE)).then(|| {
        format!(
            "Asterisk {version} ignores MatchCriteria (read from 18.26, 20.11, 21.6, 22.1 and 23.0 on)"
        )
    })
}
