//! Event streams with bounded queues and an explicit lag notice.

use ari_proto::Event;
use futures_channel::mpsc;
use futures_util::Stream;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Events were dropped for this stream because its consumer fell behind:
/// its queue was full. Carries how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lagged(pub u64);

/// The driver's end of an [`EventStream`].
pub(crate) struct Sink {
    tx: mpsc::Sender<Result<Arc<Event>, Lagged>>,
    lagged: u64,
}

impl Sink {
    /// Queues an event; `false` when the stream was dropped.
    pub(crate) fn deliver(&mut self, event: &Arc<Event>) -> bool {
        if self.lagged > 0 {
            match self.tx.try_send(Err(Lagged(self.lagged))) {
                Ok(()) => self.lagged = 0,
                Err(e) if e.is_full() => {
                    self.lagged += 1;
                    return true;
                }
                Err(_) => return false,
            }
        }
        match self.tx.try_send(Ok(event.clone())) {
            Ok(()) => true,
            Err(e) if e.is_full() => {
                self.lagged += 1;
                tracing::warn!(lagged = self.lagged, "a slow event consumer lost an event");
                true
            }
            Err(_) => false,
        }
    }
}

/// A stream of events for one subscription.
///
/// Each stream has its own bounded queue. When its consumer falls behind and
/// the queue is full, newer events for this stream are dropped, counted, and
/// reported as one `Err(Lagged(n))` before the next event; other streams
/// and the connection are not slowed. A per-object stream ends by itself
/// when its object is gone.
pub struct EventStream {
    rx: mpsc::Receiver<Result<Arc<Event>, Lagged>>,
}

impl EventStream {
    pub(crate) fn new(capacity: usize) -> (Sink, EventStream) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (Sink { tx, lagged: 0 }, EventStream { rx })
    }
}

impl Stream for EventStream {
    type Item = Result<Arc<Event>, Lagged>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.rx).poll_next(cx)
    }
}
