//! Event streams with bounded queues and an explicit lag notice, for ARI
//! events and AMI events alike.

use ari_proto::Event;
use futures_util::Stream;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// Events were dropped for this stream because its consumer fell behind:
/// its queue was full. Carries how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the consumer fell behind: {0} events dropped")]
pub struct Lagged(pub u64);

/// What the driver and the consumer of one stream share.
struct Queue<T> {
    /// The oldest queued event, kept beside the lock: a consumer that keeps
    /// up never touches `later`, whose buffer is elsewhere on the heap.
    first: Option<T>,
    /// The events after `first`.
    later: VecDeque<T>,
    capacity: usize,
    /// Events dropped and not yet reported.
    dropped: u64,
    /// The consumer, when it waits for an event.
    waiting: Option<Waker>,
    /// The driver will deliver no more.
    ended: bool,
    /// The consumer is gone.
    abandoned: bool,
}

impl<T> Queue<T> {
    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.later.len()
    }

    fn push(&mut self, event: T) {
        if self.first.is_none() {
            self.first = Some(event);
        } else {
            self.later.push_back(event);
        }
    }

    fn pop(&mut self) -> Option<T> {
        let event = self.first.take()?;
        self.first = self.later.pop_front();
        Some(event)
    }
}

fn lock<T>(queue: &Mutex<Queue<T>>) -> MutexGuard<'_, Queue<T>> {
    // Nothing can leave the queue half-changed: a poisoned lock is still usable.
    queue.lock().unwrap_or_else(|p| p.into_inner())
}

/// The driver's end of an [`EventStream`].
pub(crate) struct Sink<T = Event>(Arc<Mutex<Queue<T>>>);

impl<T: Clone> Sink<T> {
    /// Queues an event; `false` when the stream was dropped. The consumer's
    /// waker, if it waits, goes to `to_wake`: the caller wakes it.
    pub(crate) fn deliver(&mut self, event: &T, to_wake: &mut Vec<Waker>) -> bool {
        let mut q = lock(&self.0);
        if q.abandoned {
            return false;
        }
        // Once lagging, drop until the consumer has drained its queue and
        // taken the notice, so that the notice stands exactly at the gap.
        if q.dropped > 0 || q.len() >= q.capacity {
            if q.dropped == 0 {
                tracing::warn!("a slow event consumer is losing events");
            }
            q.dropped += 1;
            return true;
        }
        q.push(event.clone());
        to_wake.extend(q.waiting.take());
        true
    }
}

impl<T> Drop for Sink<T> {
    fn drop(&mut self) {
        let mut q = lock(&self.0);
        q.ended = true;
        let waiting = q.waiting.take();
        drop(q);
        if let Some(w) = waiting {
            w.wake();
        }
    }
}

/// A stream of events for one subscription.
///
/// Each stream has its own bounded queue, so a slow consumer neither grows
/// memory without bound nor slows other streams or the connection. (The
/// client reads the socket only as fast as it routes: if it falls behind as
/// a whole, events wait in TCP, not in memory.) When the
/// queue is full, events for this stream are dropped and counted; once the
/// consumer has read what was queued, the stream yields one `Err(Lagged(n))`
/// exactly where the gap is, then goes on. A per-object stream ends by
/// itself when its object is gone.
///
/// ARI streams carry [`ari_proto::Event`] (the default; a clone shares the
/// event); AMI streams carry `Arc` of an AMI message.
pub struct EventStream<T = Event> {
    queue: Arc<Mutex<Queue<T>>>,
    terminated: bool,
}

impl<T> EventStream<T> {
    pub(crate) fn new(capacity: usize) -> (Sink<T>, EventStream<T>) {
        let queue = Arc::new(Mutex::new(Queue {
            first: None,
            later: VecDeque::new(),
            capacity: capacity.max(1),
            dropped: 0,
            waiting: None,
            ended: false,
            abandoned: false,
        }));
        (
            Sink(queue.clone()),
            EventStream {
                queue,
                terminated: false,
            },
        )
    }
}

impl<T> Drop for EventStream<T> {
    fn drop(&mut self) {
        let mut q = lock(&self.queue);
        q.abandoned = true;
        q.first = None;
        q.later = VecDeque::new();
    }
}

impl EventStream<Event> {
    /// Waits for the first event `matches` accepts; `None` if the stream ends
    /// first. Lag notices are skipped.
    pub async fn wait_for(&mut self, mut matches: impl FnMut(&Event) -> bool) -> Option<Event> {
        use futures_util::StreamExt;
        while let Some(item) = self.next().await {
            if let Ok(event) = item
                && matches(&event)
            {
                return Some(event);
            }
        }
        None
    }

    /// Waits until the playback or recording this stream follows has
    /// finished (or failed); `None` if the stream ends first.
    pub async fn finished(&mut self) -> Option<Event> {
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

impl<T> futures_util::stream::FusedStream for EventStream<T> {
    fn is_terminated(&self) -> bool {
        self.terminated
    }
}

impl<T> Stream for EventStream<T> {
    type Item = Result<T, Lagged>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.terminated {
            return Poll::Ready(None);
        }
        let mut q = lock(&self.queue);
        if let Some(event) = q.pop() {
            return Poll::Ready(Some(Ok(event)));
        }
        if q.dropped > 0 {
            let n = std::mem::take(&mut q.dropped);
            return Poll::Ready(Some(Err(Lagged(n))));
        }
        if q.ended {
            drop(q);
            self.terminated = true;
            return Poll::Ready(None);
        }
        // A flood may have grown the queue; give the memory back once drained.
        if q.later.capacity() > 1024 {
            q.later.shrink_to(64);
        }
        match &q.waiting {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => q.waiting = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{FutureExt, StreamExt};

    fn event(n: u64) -> Event {
        Event::from_json(&format!(r#"{{"type":"Test","n":{n}}}"#)).unwrap()
    }

    fn number(item: Option<Option<Result<Event, Lagged>>>) -> Result<u64, Lagged> {
        match item.expect("ready").expect("not ended") {
            Ok(e) => match &e {
                Event::Unknown(u) => Ok(u.fields["n"].as_u64().unwrap()),
                other => panic!("{other:?}"),
            },
            Err(lagged) => Err(lagged),
        }
    }

    #[test]
    fn keeps_order_then_reports_the_gap_exactly_where_it_is() {
        let (mut sink, mut stream) = EventStream::new(3);
        let mut to_wake = Vec::new();
        for n in 1..=5 {
            assert!(sink.deliver(&event(n), &mut to_wake));
        }
        assert_eq!(number(stream.next().now_or_never()), Ok(1));
        // Room again, but the gap is not reported yet: 6 is dropped too.
        assert!(sink.deliver(&event(6), &mut to_wake));
        assert_eq!(number(stream.next().now_or_never()), Ok(2));
        assert_eq!(number(stream.next().now_or_never()), Ok(3));
        assert_eq!(number(stream.next().now_or_never()), Err(Lagged(3)));
        assert!(stream.next().now_or_never().is_none(), "nothing queued");
        assert!(sink.deliver(&event(7), &mut to_wake));
        assert_eq!(to_wake.len(), 1, "the waiting consumer is to be woken");
        assert_eq!(number(stream.next().now_or_never()), Ok(7));
        drop(sink);
        assert!(matches!(stream.next().now_or_never(), Some(None)));
        assert!(futures_util::stream::FusedStream::is_terminated(&stream));
    }

    #[test]
    fn a_dropped_stream_refuses_events() {
        let (mut sink, stream) = EventStream::new(4);
        drop(stream);
        assert!(!sink.deliver(&event(1), &mut Vec::new()));
    }
}
