//! AsyncAGI: the same commands, sent through AMI. A channel running
//! `AGI(agi:async)` announces itself with an `AsyncAGIStart` event (its
//! environment URL-encoded in `Env`); each command goes out as an `AGI`
//! action with a `CommandID`; its reply comes back in an `AsyncAGIExec`
//! event (URL-encoded in `Result`, the id in `CommandId`: that spelling on
//! the wire, `CommandID` in the XML); `AsyncAGIEnd` says the channel left.
//!
//! [`AsyncAgi`] does the AGI half and no AMI I/O: it makes the
//! [`ami_proto::Action`]s for an AMI session to send, and reads the events
//! that session receives.

use crate::args::EncodeError;
use crate::command::{Command, CommandInfo};
use crate::reply::{Decoder, Frame, Limits, Reply};
use crate::request::{Request, percent_decode};
use crate::session::{CommandError, CommandId};
use ami_proto::{Action, Kind, Message, ToAction};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What an [`AsyncAgi`] hands to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AsyncOutput {
    /// An interim `1xx` line before the final reply (`GOSUB`'s
    /// `100 result=0 Trying...`: AsyncAGI sends both lines in one event).
    Interim {
        /// The command.
        id: CommandId,
        /// The line.
        reply: Reply,
    },
    /// A command's final reply, or why there is none.
    Reply {
        /// The command, as [`AsyncAgi::command`] named it.
        id: CommandId,
        /// Its reply.
        result: Result<Reply, CommandError>,
    },
    /// An `AsyncAGIExec` for this channel that no waiting command matches
    /// (a command sent by another client, or one with no `CommandID`).
    Unmatched(Reply),
    /// `AsyncAGIEnd`: the channel left AsyncAGI (it went back to the
    /// dialplan, or hung up). Commands still waiting failed.
    Ended,
}

#[derive(Debug)]
struct Waiting {
    id: CommandId,
    wire: String,
    info: Option<&'static CommandInfo>,
    deadline: Option<(Instant, Duration)>,
}

/// One channel under AsyncAGI control, as a state machine with no I/O.
///
/// Unlike FastAGI, several commands may wait at once: Asterisk queues them
/// and each reply names its command. Asterisk never refuses a command for
/// a dead channel here; the channel leaves AsyncAGI when it hangs up.
/// Replies come through a 1024-byte buffer in Asterisk: a longer one is
/// cut short, and what is left of it comes at the head of the next reply
/// (skipped there as a line that is not a reply).
#[derive(Debug)]
pub struct AsyncAgi {
    channel: String,
    request: Request,
    prefix: String,
    next: u64,
    waiting: VecDeque<Waiting>,
    outputs: VecDeque<AsyncOutput>,
    ended: bool,
    timeout: Option<Duration>,
}

/// The `Env` of an `AsyncAGIStart`, decoded; `None` for another message.
pub fn start_request(event: &Message) -> Option<(String, Request)> {
    if !is_event(event, "AsyncAGIStart") {
        return None;
    }
    let channel = event.get("Channel")?.to_string_lossy().into_owned();
    let env = percent_decode(event.get("Env")?.as_bytes());
    Some((channel, Request::parse(env.as_bytes())))
}

fn is_event(m: &Message, name: &str) -> bool {
    matches!(m.kind(), Kind::Event(n) if n.eq_ignore_case(name))
}

impl AsyncAgi {
    /// The channel an `AsyncAGIStart` event announces, with its
    /// environment; `None` if `event` is not one. Command ids are
    /// `{prefix}{n}` from 1 (choose a prefix no other client uses).
    pub fn start(event: &Message, prefix: impl Into<String>) -> Option<AsyncAgi> {
        let (channel, request) = start_request(event)?;
        Some(AsyncAgi::new(channel, request, prefix))
    }

    /// A channel known by other means (e.g. one that was under AsyncAGI
    /// before this client connected).
    pub fn new(
        channel: impl Into<String>,
        request: Request,
        prefix: impl Into<String>,
    ) -> AsyncAgi {
        AsyncAgi {
            channel: channel.into(),
            request,
            prefix: prefix.into(),
            next: 1,
            waiting: VecDeque::new(),
            outputs: VecDeque::new(),
            ended: false,
            timeout: None,
        }
    }

    /// Fails a command whose reply has not come within `timeout` (none by
    /// default). The channel is left as it is: a late reply is reported as
    /// [`AsyncOutput::Unmatched`].
    pub fn set_command_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    /// The channel's name.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The environment from `AsyncAGIStart`.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Whether `AsyncAGIEnd` came.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// How many commands wait for their reply.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// The `AGI` action that runs `command` on the channel, for the AMI
    /// session to send. Its `Result` comes back through
    /// [`handle_event`](AsyncAgi::handle_event).
    pub fn command<C: Command + ?Sized>(
        &mut self,
        command: &C,
        now: Instant,
    ) -> Result<(CommandId, Action), CommandError> {
        if self.ended {
            return Err(CommandError::Closed);
        }
        let bytes = command.encode()?;
        let line = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        let line = std::str::from_utf8(line)
            .map_err(|_| EncodeError::Ami("the command is not UTF-8".into()))?;
        let len = "Command: ".len() + line.len();
        if len > ami_proto::MAX_LINE {
            return Err(EncodeError::Ami(format!(
                "the Command line is {len} bytes; AMI reads at most {}",
                ami_proto::MAX_LINE
            ))
            .into());
        }
        let id = CommandId(self.next);
        self.next += 1;
        let wire = format!("{}{}", self.prefix, id.0);
        let action = ami_proto::actions::Agi::new(&self.channel, line)
            .command_id(&wire)
            .to_action();
        self.waiting.push_back(Waiting {
            id,
            wire,
            info: command.info(),
            deadline: self.timeout.map(|t| (now + t, t)),
        });
        Ok((id, action))
    }

    /// The AMI session could not deliver the `AGI` action of `id` (AMI
    /// answered `Response: Error`, e.g. the channel is not in AsyncAGI, or
    /// the connection dropped): the command fails with `error`.
    pub fn handle_action_failed(&mut self, id: CommandId, error: CommandError) {
        if let Some(i) = self.waiting.iter().position(|w| w.id == id) {
            self.waiting.remove(i);
            self.outputs.push_back(AsyncOutput::Reply {
                id,
                result: Err(error),
            });
        }
    }

    /// An AMI event; returns whether it was this channel's `AsyncAGIExec`
    /// or `AsyncAGIEnd` (other events are left alone).
    pub fn handle_event(&mut self, event: &Message, now: Instant) -> bool {
        let _ = now;
        let ours = event
            .get("Channel")
            .is_some_and(|c| c.as_bytes() == self.channel.as_bytes());
        if !ours || self.ended {
            return false;
        }
        if is_event(event, "AsyncAGIEnd") {
            self.ended = true;
            while let Some(w) = self.waiting.pop_front() {
                self.outputs.push_back(AsyncOutput::Reply {
                    id: w.id,
                    result: Err(CommandError::ConnectionLost),
                });
            }
            self.outputs.push_back(AsyncOutput::Ended);
            return true;
        }
        if !is_event(event, "AsyncAGIExec") {
            return false;
        }
        let Some(result) = event.get("Result") else {
            return true;
        };
        let bytes = percent_decode(result.as_bytes());
        let index = event.get("CommandId").and_then(|id| {
            self.waiting
                .iter()
                .position(|w| w.wire.as_bytes() == id.as_bytes())
        });
        let waiting = index.and_then(|i| self.waiting.remove(i));
        let value = waiting
            .as_ref()
            .and_then(|w| w.info)
            .is_some_and(|i| i.value_reply);
        let (interims, last) = decode_result(bytes.as_bytes(), value);
        match waiting {
            Some(w) => {
                for reply in interims {
                    self.outputs
                        .push_back(AsyncOutput::Interim { id: w.id, reply });
                }
                let result = last.ok_or(CommandError::ConnectionLost);
                self.outputs
                    .push_back(AsyncOutput::Reply { id: w.id, result });
            }
            None => {
                for reply in interims.into_iter().chain(last) {
                    self.outputs.push_back(AsyncOutput::Unmatched(reply));
                }
            }
        }
        true
    }

    /// The time [`poll_timeout`](AsyncAgi::poll_timeout) gave has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        let (due, left): (Vec<Waiting>, Vec<Waiting>) = self
            .waiting
            .drain(..)
            .partition(|w| w.deadline.is_some_and(|(d, _)| now >= d));
        self.waiting = left.into();
        for w in due {
            let timeout = w.deadline.map(|(_, t)| t).unwrap_or_default();
            self.outputs.push_back(AsyncOutput::Reply {
                id: w.id,
                result: Err(CommandError::Timeout(timeout)),
            });
        }
    }

    /// The next thing for the application, if any.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<AsyncOutput> {
        self.outputs.pop_front()
    }

    /// When [`handle_timeout`](AsyncAgi::handle_timeout) must be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.waiting
            .iter()
            .filter_map(|w| w.deadline.map(|(d, _)| d))
            .min()
    }
}

/// The replies in one decoded `Result`: interim lines, then the final
/// reply. A reply cut short by Asterisk's buffer (no final `\n`) is read
/// as far as it goes.
pub fn decode_result(bytes: &[u8], value_reply: bool) -> (Vec<Reply>, Option<Reply>) {
    let mut decoder = Decoder::replies(Limits::default());
    decoder.expect_value(value_reply);
    decoder.feed(bytes);
    let mut interims = Vec::new();
    let mut last = None;
    while let Some(frame) = decoder.next_frame() {
        if let Frame::Reply(r) = frame {
            if r.is_interim() {
                interims.push(r);
            } else {
                last = Some(r);
                decoder.expect_value(false);
            }
        }
    }
    if last.is_none() {
        // Cut short: what is left, as one reply if it starts like one.
        let start = bytes.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
        let tail = if value_reply {
            // A value reply cut short spans from its own first line.
            find_reply_start(bytes)
        } else {
            start
        };
        last = Reply::parse(&bytes[tail..]).filter(|r| !r.is_interim());
    }
    (interims, last)
}

/// Where the last line that starts like a final reply begins.
fn find_reply_start(bytes: &[u8]) -> usize {
    let mut starts: Vec<usize> = vec![0];
    starts.extend(
        bytes
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == b'\n')
            .map(|(i, _)| i + 1),
    );
    starts
        .into_iter()
        .rev()
        .find(|&s| Reply::parse(&bytes[s..]).is_some_and(|r| !r.is_interim()))
        .unwrap_or(0)
}
