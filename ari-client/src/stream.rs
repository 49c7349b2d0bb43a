//! Event streams with bounded queues and an explicit lag notice.

use ari_proto::Event;
use futures_channel::mpsc;
use futures_util::Stream;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

/// Events were dropped for this stream because its consumer fell behind:
/// its queue was full. Carries how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lagged(pub u64);

/// The driver's end of an [`EventStream`].
pub(crate) struct Sink {
    tx: mpsc::Sender<Arc<Event>>,
    /// Events dropped and not yet reported.
    dropped: Arc<AtomicU64>,
}

impl Sink {
    /// Queues an event; `false` when the stream was dropped.
    pub(crate) fn deliver(&mut self, event: &Arc<Event>) -> bool {
        // Once lagging, drop until the consumer has drained its queue and
        // taken the notice, so that the notice stands exactly at the gap.
        if self.dropped.load(Ordering::Acquire) > 0 {
            self.dropped.fetch_add(1, Ordering::AcqRel);
            return !self.tx.is_closed();
        }
        match self.tx.try_send(event.clone()) {
            Ok(()) => true,
            Err(e) if e.is_full() => {
                self.dropped.fetch_add(1, Ordering::AcqRel);
                tracing::warn!("a slow event consumer is losing events");
                true
            }
            Err(_) => false,
        }
    }
}

/// A stream of events for one subscription.
///
/// Each stream has its own bounded queue, so a slow consumer neither grows
/// memory without bound nor slows other streams or the connection. When the
/// queue is full, events for this stream are dropped and counted; once the
/// consumer has read what was queued, the stream yields one `Err(Lagged(n))`
/// exactly where the gap is, then goes on. A per-object stream ends by
/// itself when its object is gone.
pub struct EventStream {
    rx: mpsc::Receiver<Arc<Event>>,
    dropped: Arc<AtomicU64>,
}

impl EventStream {
    pub(crate) fn new(capacity: usize) -> (Sink, EventStream) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        (
            Sink {
                tx,
                dropped: dropped.clone(),
            },
            EventStream { rx, dropped },
        )
    }
}

impl EventStream {
    /// Waits for the first event `matches` accepts; `None` if the stream ends
    /// first. Lag notices are skipped.
    pub async fn wait_for(
        &mut self,
        mut matches: impl FnMut(&Event) -> bool,
    ) -> Option<Arc<Event>> {
        use futures_util::StreamExt;
        while let Some(item) = self.next().await {
            if let Ok(event) = item {
                if matches(&event) {
                    return Some(event);
                }
            }
        }
        None
    }

    /// Waits until the playback or recording this stream follows has
    /// finished (or failed); `None` if the stream ends first.
    pub async fn finished(&mut self) -> Option<Arc<Event>> {
        self.wait_for(|e| {
            matches!(
                e,
                Event::PlaybackFinished(_)
                    | Event::RecordingFinished(_)
                    | Event::RecordingFailed(_)
            )
        })
        .await
    }
}

impl futures_util::stream::FusedStream for EventStream {
    fn is_terminated(&self) -> bool {
        self.rx.is_terminated() && self.dropped.load(Ordering::Acquire) == 0
    }
}

impl Stream for EventStream {
    type Item = Result<Arc<Event>, Lagged>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match Pin::new(&mut self.rx).poll_next(cx) {
            Poll::Ready(Some(event)) => Poll::Ready(Some(Ok(event))),
            other => match self.dropped.swap(0, Ordering::AcqRel) {
                0 => other.map(|o| o.map(Ok)),
                n => Poll::Ready(Some(Err(Lagged(n)))),
            },
        }
    }
}
