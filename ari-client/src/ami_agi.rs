//! AsyncAGI through the AMI client: each channel that runs
//! `AGI(agi:async)` becomes an [`AsyncAgiCall`] with the typed commands
//! of FastAGI; the driver sends them as AMI `AGI` actions and hands each
//! the reply its `AsyncAGIExec` event carries.

use crate::agi::AgiError;
use agi_proto::async_agi::{AsyncAgi, AsyncOutput};
use agi_proto::{Command, CommandError, CommandId, Encoded, Reply, Request};
use ami_proto::{ActionError, ActionId, Answer, Event, Session};
use futures_channel::{mpsc, oneshot};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// What an [`AsyncAgiCall`] asks of the driver.
pub(crate) struct AgiJob {
    channel: Arc<str>,
    command: Encoded,
    reply: oneshot::Sender<Result<Reply, CommandError>>,
}

/// One channel in `AGI(agi:async)`: its environment, and its commands sent
/// through the AMI connection. Cheap to clone.
#[derive(Clone)]
pub struct AsyncAgiCall {
    channel: Arc<str>,
    request: Arc<Request>,
    jobs: mpsc::UnboundedSender<AgiJob>,
}

impl AsyncAgiCall {
    /// The channel's name.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The environment Asterisk sent in `AsyncAGIStart`.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Sends `command` and reads Asterisk's reply as its typed result.
    pub async fn send<C: Command>(&self, command: &C) -> Result<C::Output, AgiError> {
        let reply = self.send_raw_reply(command).await?;
        Ok(command.parse_reply(&reply)?)
    }

    /// Sends `command` and gives Asterisk's reply as it is.
    pub async fn send_raw_reply<C: Command>(&self, command: &C) -> Result<Reply, CommandError> {
        let command = Encoded::new(command)?;
        let (reply, answer) = oneshot::channel();
        let job = AgiJob {
            channel: self.channel.clone(),
            command,
            reply,
        };
        if self.jobs.unbounded_send(job).is_err() {
            return Err(CommandError::Closed);
        }
        answer.await.unwrap_or(Err(CommandError::ConnectionLost))
    }
}

struct Call {
    agi: AsyncAgi,
    waiting: HashMap<CommandId, oneshot::Sender<Result<Reply, CommandError>>>,
}

/// The driver's AsyncAGI state: the calls in progress, by channel.
pub(crate) struct AsyncAgiRouter {
    prefix: String,
    calls: HashMap<Arc<str>, Call>,
    /// `AGI` actions sent, to the command they carry.
    actions: HashMap<ActionId, (Arc<str>, CommandId)>,
    watchers: Vec<mpsc::UnboundedSender<AsyncAgiCall>>,
    jobs: mpsc::UnboundedSender<AgiJob>,
}

impl AsyncAgiRouter {
    /// A router whose calls send their jobs to `jobs`; `CommandID`s start
    /// with `prefix`.
    pub(crate) fn new(prefix: String, jobs: mpsc::UnboundedSender<AgiJob>) -> AsyncAgiRouter {
        AsyncAgiRouter {
            prefix,
            calls: HashMap::new(),
            actions: HashMap::new(),
            watchers: Vec::new(),
            jobs,
        }
    }

    pub(crate) fn watch(&mut self, watcher: mpsc::UnboundedSender<AsyncAgiCall>) {
        self.watchers.push(watcher);
    }

    /// Sends a call's command as an `AGI` action.
    pub(crate) fn job(&mut self, job: AgiJob, session: &mut Session, now: Instant) {
        let Some(call) = self.calls.get_mut(&job.channel) else {
            let _ = job.reply.send(Err(CommandError::Closed));
            return;
        };
        let (id, action) = match call.agi.command(&job.command, now) {
            Ok(sent) => sent,
            Err(e) => {
                let _ = job.reply.send(Err(e));
                return;
            }
        };
        match session.send(&action, now) {
            Ok(action_id) => {
                call.waiting.insert(id, job.reply);
                self.actions.insert(action_id, (job.channel, id));
            }
            Err(_) => {
                call.agi
                    .handle_action_failed(id, CommandError::ConnectionLost);
                let _ = job.reply.send(Err(CommandError::ConnectionLost));
            }
        }
    }

    /// Takes the answer to an `AGI` action; gives back any other.
    pub(crate) fn answer(
        &mut self,
        id: ActionId,
        result: Result<Answer, ActionError>,
    ) -> Option<Result<Answer, ActionError>> {
        let Some((channel, command)) = self.actions.remove(&id) else {
            return Some(result);
        };
        // Queued: the reply comes in AsyncAGIExec. Refused: there is none.
        if result.is_err()
            && let Some(call) = self.calls.get_mut(&channel)
        {
            call.agi
                .handle_action_failed(command, CommandError::ConnectionLost);
            Self::hand_out(call);
        }
        None
    }

    /// Reads an event for the calls: a new call, a reply, an end.
    pub(crate) fn event(&mut self, event: &Event, now: Instant) {
        let message = event.message();
        match event.name() {
            "AsyncAGIStart" => {
                let Some(agi) = AsyncAgi::start(message, self.prefix.clone()) else {
                    return;
                };
                let channel: Arc<str> = agi.channel().into();
                let call = AsyncAgiCall {
                    channel: channel.clone(),
                    request: Arc::new(agi.request().clone()),
                    jobs: self.jobs.clone(),
                };
                self.calls.insert(
                    channel,
                    Call {
                        agi,
                        waiting: HashMap::new(),
                    },
                );
                self.watchers
                    .retain(|w| w.unbounded_send(call.clone()).is_ok());
            }
            "AsyncAGIExec" | "AsyncAGIEnd" => {
                let channel = message
                    .get("Channel")
                    .map(|c| c.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let Some(call) = self.calls.get_mut(channel.as_str()) else {
                    return;
                };
                call.agi.handle_event(message, now);
                let ended = Self::hand_out(call);
                if ended {
                    self.calls.remove(channel.as_str());
                    self.actions.retain(|_, (c, _)| **c != *channel);
                }
            }
            _ => {}
        }
    }

    /// Hands a call's replies to its waiting commands; whether it ended.
    fn hand_out(call: &mut Call) -> bool {
        let mut ended = false;
        while let Some(output) = call.agi.poll_output() {
            match output {
                AsyncOutput::Reply { id, result } => {
                    if let Some(reply) = call.waiting.remove(&id) {
                        let _ = reply.send(result);
                    }
                }
                AsyncOutput::Ended => ended = true,
                _ => {}
            }
        }
        if ended {
            for (_, reply) in call.waiting.drain() {
                let _ = reply.send(Err(CommandError::ConnectionLost));
            }
        }
        ended
    }
}
