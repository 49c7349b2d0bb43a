//! One AGI session (FastAGI or process AGI) as a state machine with no
//! I/O and no clock.

use crate::args::EncodeError;
use crate::command::{Command, CommandInfo};
use crate::reply::{DecodeError, Decoder, Frame, Limits, Reply};
use crate::request::Request;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Session settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Size limits for what Asterisk sends.
    pub limits: Limits,
    /// How long the environment block may take to arrive (Asterisk sends
    /// it at once); `None`: no limit.
    pub request_timeout: Option<Duration>,
    /// How long a command may wait for its reply; `None` (the default):
    /// no limit, as `WAIT FOR DIGIT -1`, `GOSUB` or a long `STREAM FILE`
    /// may take as long as the caller does. See
    /// [`Session::send_with_timeout`] for one command.
    pub command_timeout: Option<Duration>,
    /// After [`Session::close`], how long to keep reading (the last reply,
    /// Asterisk's final `HANGUP`) before giving up on Asterisk closing its
    /// side.
    pub close_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            request_timeout: Some(Duration::from_secs(10)),
            command_timeout: None,
            close_timeout: Duration::from_secs(5),
        }
    }
}

/// A command the application sent, to match with its [`Output::Reply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommandId(pub u64);

/// What the driver must do with the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transmit {
    /// Write these bytes, in order with the others.
    Send(Vec<u8>),
    /// Shut down the sending side (after writing what came before) and
    /// keep reading: Asterisk may still answer, and it writes a last
    /// `HANGUP` before it closes. (For process AGI: close stdout.)
    Close,
}

/// Why a command has no reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// It cannot be written as Asterisk reads commands.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The channel hung up and Asterisk refuses this command on a dead
    /// channel (it would answer `511`); it was not sent.
    #[error("{command} is not allowed after the channel hung up")]
    DeadChannel {
        /// The command.
        command: &'static str,
    },
    /// No reply within the timeout. Replies carry no id, so the session
    /// ends: a late reply would be taken for the next command's.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The connection ended before the reply (Asterisk closes at once on
    /// hangup when `AGIEXITONHANGUP` is set).
    #[error("the connection ended before the reply")]
    ConnectionLost,
    /// The session was closed before the command went out.
    #[error("the session is closed")]
    Closed,
    /// The reply was longer than [`Limits::max_reply`]; it was skipped.
    #[error("the reply was longer than {0} bytes")]
    ReplyTooLong(usize),
}

/// Why the session ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CloseReason {
    /// The application closed it and Asterisk closed its side after.
    #[error("closed")]
    Finished,
    /// The application closed it and Asterisk did not close its side
    /// within [`Config::close_timeout`].
    #[error("Asterisk did not close within the close timeout")]
    CloseTimeout,
    /// Asterisk closed the connection first.
    #[error("Asterisk closed the connection")]
    PeerClosed,
    /// The connection failed.
    #[error("the connection failed: {0}")]
    Transport(String),
    /// The environment block did not arrive in time.
    #[error("no environment block within the request timeout")]
    RequestTimeout,
    /// A command got no reply in time.
    #[error("a command got no reply in time")]
    CommandTimeout,
    /// The environment block was longer than [`Limits::max_request`].
    #[error("the environment block is too long")]
    RequestTooLong,
}

/// What the session hands to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// The environment block arrived (also kept: [`Session::request`],
    /// the same allocation).
    Request(Arc<Request>),
    /// An interim `1xx` line for the command in flight (`GOSUB`'s
    /// `100 result=0 Trying...`); its final reply follows.
    Interim {
        /// The command.
        id: CommandId,
        /// The line.
        reply: Reply,
    },
    /// A command's final reply, or why there is none. Read it as the
    /// command's result with [`Command::parse_reply`].
    Reply {
        /// The command, as [`Session::send`] named it.
        id: CommandId,
        /// Its reply.
        result: Result<Reply, CommandError>,
    },
    /// A `HANGUP` line: the channel hung up (from now on only the commands
    /// allowed on a dead channel go out). Asterisk also writes one when
    /// the script ends the session, and never with `AGISIGHUP=no`.
    Hangup,
    /// A final reply while no command waited for one.
    Unsolicited(Reply),
    /// Bytes that are not part of the protocol, skipped.
    Malformed(DecodeError),
    /// The session ended; the driver drops the connection.
    Closed(CloseReason),
}

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum State {
    /// Waiting for the environment block.
    AwaitingRequest,
    /// Commands go out.
    Open,
    /// Closed by the application: reading what is left.
    Closing,
    /// Ended.
    Closed,
}

#[derive(Debug)]
struct Pending {
    id: CommandId,
    bytes: Vec<u8>,
    info: Option<&'static CommandInfo>,
    timeout: Option<Duration>,
}

#[derive(Debug)]
struct InFlight {
    id: CommandId,
    deadline: Option<(Instant, Duration)>,
}

/// An AGI session with no I/O: the driver moves bytes and time in through
/// `handle_*` and takes out what to write ([`poll_transmit`]), what to hand
/// the application ([`poll_output`]), and when to call back
/// ([`poll_timeout`]).
///
/// The contract: after every `handle_*` call and every [`send`] or
/// [`close`], drain [`poll_transmit`] and [`poll_output`], then sleep until
/// [`poll_timeout`] (or until bytes arrive) and call [`handle_timeout`].
///
/// Commands go out one at a time, in the order sent: a command sent while
/// another waits for its reply is queued. Replies carry no id; the order is
/// the match. An unsolicited `HANGUP` may come at any time, also before the
/// reply to the command in flight: the session records it, reports it, and
/// keeps reading for the reply. After it, commands Asterisk refuses on a
/// dead channel fail at once with [`CommandError::DeadChannel`].
///
/// [`poll_transmit`]: Session::poll_transmit
/// [`poll_output`]: Session::poll_output
/// [`poll_timeout`]: Session::poll_timeout
/// [`handle_timeout`]: Session::handle_timeout
/// [`send`]: Session::send
/// [`close`]: Session::close
#[derive(Debug)]
pub struct Session {
    config: Config,
    state: State,
    decoder: Decoder,
    request: Option<Arc<Request>>,
    transmits: VecDeque<Transmit>,
    outputs: VecDeque<Output>,
    queue: VecDeque<Pending>,
    in_flight: Option<InFlight>,
    next_id: u64,
    hangups: u32,
    /// The request deadline, then the close deadline.
    deadline: Option<Instant>,
}

impl Session {
    /// A session on a connection that just opened (FastAGI: Asterisk
    /// connected; process AGI: the script started).
    pub fn new(config: Config, now: Instant) -> Session {
        Session {
            decoder: Decoder::new(config.limits),
            deadline: config.request_timeout.map(|t| now + t),
            config,
            state: State::AwaitingRequest,
            request: None,
            transmits: VecDeque::new(),
            outputs: VecDeque::new(),
            queue: VecDeque::new(),
            in_flight: None,
            next_id: 1,
            hangups: 0,
        }
    }

    // ------------------------------------------------------------ getters

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the session is.
    pub fn state(&self) -> State {
        self.state
    }

    /// The environment block, once it arrived.
    pub fn request(&self) -> Option<&Request> {
        self.request.as_deref()
    }

    /// Whether the channel hung up (a `HANGUP` line, or
    /// [`handle_hangup`](Session::handle_hangup)).
    pub fn is_hung_up(&self) -> bool {
        self.hangups > 0
    }

    /// How many hangup notices came.
    pub fn hangups(&self) -> u32 {
        self.hangups
    }

    /// The command waiting for its reply, if any.
    pub fn in_flight(&self) -> Option<CommandId> {
        self.in_flight.as_ref().map(|f| f.id)
    }

    /// How many commands wait to go out.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    // ----------------------------------------------------------- mutators

    /// Sends `command` (now, or after the commands before it), with the
    /// configured [`command_timeout`](Config::command_timeout). Fails at
    /// once if it cannot be encoded, if the session is closing, or if the
    /// channel hung up and Asterisk would refuse it.
    pub fn send<C: Command + ?Sized>(
        &mut self,
        command: &C,
        now: Instant,
    ) -> Result<CommandId, CommandError> {
        self.send_with_timeout(command, self.config.command_timeout, now)
    }

    /// [`send`](Session::send) with its own reply timeout (`None`: none).
    pub fn send_with_timeout<C: Command + ?Sized>(
        &mut self,
        command: &C,
        timeout: Option<Duration>,
        now: Instant,
    ) -> Result<CommandId, CommandError> {
        if matches!(self.state, State::Closing | State::Closed) {
            return Err(CommandError::Closed);
        }
        let bytes = command.encode()?;
        let info = command.info();
        if let Some(name) = self.refused(info) {
            return Err(CommandError::DeadChannel { command: name });
        }
        let id = CommandId(self.next_id);
        self.next_id += 1;
        self.queue.push_back(Pending {
            id,
            bytes,
            info,
            timeout,
        });
        self.pump(now);
        Ok(id)
    }

    /// Ends the session: commands not sent yet fail with
    /// [`CommandError::Closed`], the sending side is shut down
    /// ([`Transmit::Close`]), and the session reads on (the reply to the
    /// command in flight, Asterisk's last `HANGUP`) until Asterisk closes
    /// or [`Config::close_timeout`] passes.
    pub fn close(&mut self, now: Instant) {
        if matches!(self.state, State::Closing | State::Closed) {
            return;
        }
        self.fail_queue(CommandError::Closed);
        self.transmits.push_back(Transmit::Close);
        self.state = State::Closing;
        self.deadline = Some(now + self.config.close_timeout);
    }

    // ------------------------------------------------------------- inputs

    /// Bytes read from Asterisk.
    pub fn handle_bytes(&mut self, bytes: &[u8], now: Instant) {
        if self.state == State::Closed {
            return;
        }
        self.decoder.feed(bytes);
        while self.state != State::Closed {
            let Some(frame) = self.decoder.next_frame() else {
                break;
            };
            self.on_frame(frame, now);
        }
    }

    /// Asterisk closed its side (end of stream).
    pub fn handle_eof(&mut self, now: Instant) {
        let _ = now;
        if self.state == State::Closed {
            return;
        }
        if let Some(Frame::Malformed(e)) = self.decoder.finish() {
            self.outputs.push_back(Output::Malformed(e));
        }
        let reason = if self.state == State::Closing {
            CloseReason::Finished
        } else {
            CloseReason::PeerClosed
        };
        self.end(reason, CommandError::ConnectionLost, false);
    }

    /// The connection failed (a read or write error).
    pub fn handle_error(&mut self, error: &str, now: Instant) {
        let _ = now;
        if self.state != State::Closed {
            self.end(
                CloseReason::Transport(error.to_string()),
                CommandError::ConnectionLost,
                false,
            );
        }
    }

    /// The driver learned of the hangup another way: process AGI gets
    /// `SIGHUP` instead of a `HANGUP` line.
    pub fn handle_hangup(&mut self, now: Instant) {
        if self.state != State::Closed {
            self.on_hangup(now);
        }
    }

    /// The time [`poll_timeout`](Session::poll_timeout) gave has come (or
    /// passed).
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(flight) = &self.in_flight
            && let Some((deadline, timeout)) = flight.deadline
            && now >= deadline
        {
            let id = flight.id;
            self.in_flight = None;
            self.outputs.push_back(Output::Reply {
                id,
                result: Err(CommandError::Timeout(timeout)),
            });
            self.end(CloseReason::CommandTimeout, CommandError::Closed, true);
            return;
        }
        if let Some(deadline) = self.deadline
            && now >= deadline
        {
            match self.state {
                State::AwaitingRequest => {
                    self.end(CloseReason::RequestTimeout, CommandError::Closed, true)
                }
                State::Closing => self.end(
                    CloseReason::CloseTimeout,
                    CommandError::ConnectionLost,
                    false,
                ),
                _ => self.deadline = None,
            }
        }
    }

    // ------------------------------------------------------------ outputs

    /// The next thing to write or do, if any.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next thing for the application, if any.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`handle_timeout`](Session::handle_timeout) must be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::Closed {
            return None;
        }
        let command = self
            .in_flight
            .as_ref()
            .and_then(|f| f.deadline)
            .map(|(d, _)| d);
        match (command, self.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ----------------------------------------------------------- internal

    /// The command's name if Asterisk would refuse it now.
    fn refused(&self, info: Option<&'static CommandInfo>) -> Option<&'static str> {
        match info {
            Some(info) if self.is_hung_up() && !info.dead => Some(info.name),
            _ => None,
        }
    }

    /// Puts the next queued command on the wire if none is in flight.
    fn pump(&mut self, now: Instant) {
        while self.in_flight.is_none() && self.state == State::Open {
            let Some(p) = self.queue.pop_front() else {
                return;
            };
            if let Some(name) = self.refused(p.info) {
                self.outputs.push_back(Output::Reply {
                    id: p.id,
                    result: Err(CommandError::DeadChannel { command: name }),
                });
                continue;
            }
            self.decoder
                .expect_value(p.info.is_some_and(|i| i.value_reply));
            self.in_flight = Some(InFlight {
                id: p.id,
                deadline: p.timeout.map(|t| (now + t, t)),
            });
            self.transmits.push_back(Transmit::Send(p.bytes));
        }
    }

    fn on_frame(&mut self, frame: Frame, now: Instant) {
        match frame {
            Frame::Request(request) => {
                let request = Arc::new(*request);
                self.request = Some(request.clone());
                self.outputs.push_back(Output::Request(request));
                if self.state == State::AwaitingRequest {
                    self.state = State::Open;
                    self.deadline = None;
                }
                self.pump(now);
            }
            Frame::Hangup => self.on_hangup(now),
            Frame::Reply(reply) if reply.is_interim() => match &self.in_flight {
                Some(f) => self.outputs.push_back(Output::Interim { id: f.id, reply }),
                None => self.outputs.push_back(Output::Unsolicited(reply)),
            },
            Frame::Reply(reply) => self.complete(Ok(reply), now),
            Frame::Malformed(DecodeError::ReplyTooLong(n)) if self.in_flight.is_some() => {
                self.complete(Err(CommandError::ReplyTooLong(n)), now)
            }
            Frame::Malformed(DecodeError::RequestTooLong(n)) => {
                self.outputs
                    .push_back(Output::Malformed(DecodeError::RequestTooLong(n)));
                self.end(CloseReason::RequestTooLong, CommandError::Closed, true);
            }
            Frame::Malformed(e) => self.outputs.push_back(Output::Malformed(e)),
        }
    }

    fn on_hangup(&mut self, now: Instant) {
        self.hangups = self.hangups.saturating_add(1);
        self.outputs.push_back(Output::Hangup);
        self.pump(now);
    }

    fn complete(&mut self, result: Result<Reply, CommandError>, now: Instant) {
        match self.in_flight.take() {
            Some(f) => {
                self.outputs.push_back(Output::Reply { id: f.id, result });
                self.decoder.expect_value(false);
                self.pump(now);
            }
            None => {
                if let Ok(reply) = result {
                    self.outputs.push_back(Output::Unsolicited(reply));
                }
            }
        }
    }

    fn fail_queue(&mut self, error: CommandError) {
        while let Some(p) = self.queue.pop_front() {
            self.outputs.push_back(Output::Reply {
                id: p.id,
                result: Err(error.clone()),
            });
        }
    }

    /// Ends the session: the command in flight fails with `in_flight`,
    /// queued ones with [`CommandError::Closed`].
    fn end(&mut self, reason: CloseReason, in_flight: CommandError, close: bool) {
        if let Some(f) = self.in_flight.take() {
            self.outputs.push_back(Output::Reply {
                id: f.id,
                result: Err(in_flight),
            });
        }
        self.fail_queue(CommandError::Closed);
        if close && self.state != State::Closing {
            self.transmits.push_back(Transmit::Close);
        }
        self.state = State::Closed;
        self.deadline = None;
        self.outputs.push_back(Output::Closed(reason));
    }
}
