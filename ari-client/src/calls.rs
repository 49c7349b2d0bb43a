//! The per-call framework: each channel entering the Stasis app becomes an
//! [`IncomingCall`] with its own event stream, handled in its own task.

use crate::driver::Command;
use crate::{ChannelHandle, Client, EventStream, Lagged};
use ari_proto::events::StasisStart;
use ari_proto::{DigitCollector, Digits, DigitsStop, Event};
use futures_channel::mpsc;
use futures_util::{FutureExt, Stream, StreamExt};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// What happens on a call, as its handler sees it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum CallEvent {
    /// A DTMF key was pressed (one digit).
    Dtmf(String),
    /// The call left the app (`StasisEnd`): hung up, continued in the
    /// dialplan or moved to another app. The last event.
    Left,
    /// Any other event about the channel.
    Other(Event),
    /// The handler fell behind and this many events were dropped.
    Lagged(u64),
}

/// A channel that entered the app, with every later event about it.
pub struct IncomingCall {
    /// The channel; its methods are every channel operation.
    pub channel: ChannelHandle,
    /// The `StasisStart` that brought it.
    pub start: Arc<StasisStart>,
    events: EventStream,
    ended: bool,
}

impl IncomingCall {
    /// The arguments of `Stasis(app,...)` or of the originate that started it.
    pub fn args(&self) -> &[ari_proto::Str] {
        &self.start.args
    }

    /// The next thing that happens on the call; `None` after [`CallEvent::Left`].
    pub async fn next(&mut self) -> Option<CallEvent> {
        if self.ended {
            return None;
        }
        let item = self.events.next().await;
        let event = match item {
            None => {
                self.ended = true;
                return Some(CallEvent::Left);
            }
            Some(Err(Lagged(n))) => return Some(CallEvent::Lagged(n)),
            Some(Ok(e)) => e,
        };
        Some(match &event {
            Event::ChannelDtmfReceived(d) => CallEvent::Dtmf(d.digit.to_string()),
            Event::StasisEnd(_) => {
                self.ended = true;
                CallEvent::Left
            }
            _ => CallEvent::Other(event),
        })
    }

    /// Collects DTMF digits until `spec` is met; see [`Digits`]. The
    /// decisions are the core's [`DigitCollector`], on the runtime's clock;
    /// events other than the call's digits and end are passed over meanwhile.
    pub async fn collect_dtmf(&mut self, spec: &Digits) -> Result<String, DigitsStop> {
        let runtime = self.channel.client().executor().clone();
        let mut collector =
            DigitCollector::new(spec.clone(), self.channel.channel_id(), runtime.now());
        while let Some(deadline) = collector.poll_timeout() {
            let mut timer = runtime.sleep_until(deadline).fuse();
            let mut next = self.events.next().fuse();
            let outcome = futures_util::select_biased! {
                item = next => match item {
                    Some(Ok(event)) => {
                        self.ended |= matches!(&event, Event::StasisEnd(_));
                        collector.handle_event(&event, runtime.now())
                    }
                    Some(Err(Lagged(_))) => None,
                    None => {
                        self.ended = true;
                        collector.handle_end()
                    }
                },
                _ = timer => collector.handle_timeout(runtime.now()),
            };
            if let Some(outcome) = outcome {
                return outcome;
            }
        }
        Err(DigitsStop::Timeout(collector.digits().to_string()))
    }

    /// The call's raw event stream.
    pub fn events(&mut self) -> &mut EventStream {
        &mut self.events
    }
}

/// Every call entering the app from now on.
pub struct Calls {
    client: Client,
    rx: mpsc::UnboundedReceiver<(Arc<StasisStart>, EventStream)>,
}

// No field is pinned structurally.
impl Unpin for Calls {}

impl Stream for Calls {
    type Item = IncomingCall;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<IncomingCall>> {
        let this = &mut *self;
        Pin::new(&mut this.rx).poll_next(cx).map(|item| {
            item.map(|(start, events)| IncomingCall {
                channel: this.client.channel(start.channel.id.as_str()),
                start,
                events,
                ended: false,
            })
        })
    }
}

impl Client {
    /// Every channel entering the app from now on (`StasisStart`), each with
    /// a stream that holds every later event about it.
    pub fn calls(&self) -> Calls {
        let (tx, rx) = mpsc::unbounded();
        let _ = self.send(Command::WatchCalls(tx));
        Calls {
            client: self.clone(),
            rx,
        }
    }

    /// Runs `handler` in its own task for every channel entering the app,
    /// until the client closes.
    pub fn serve_calls<F, Fut>(&self, handler: F)
    where
        F: Fn(IncomingCall) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut calls = self.calls();
        let runtime = self.executor().clone();
        self.executor().spawn(Box::pin(async move {
            while let Some(call) = calls.next().await {
                runtime.spawn(Box::pin(handler(call)));
            }
        }));
    }
}
