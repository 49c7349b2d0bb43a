//! The AMI client's live picture of the PBX: an [`ami_proto::Tracker`] the
//! driver feeds with every event and resyncs after every login.

use crate::ami::Command;
use crate::stream::{EventStream, Sink};
use ami_proto::{ActionError, ActionId, Answer, Change, Event, Session, Tracker};
use futures_channel::mpsc;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::Instant;

/// Changes queued for one [`Picture::changes`] stream before it lags.
pub const CHANGES_QUEUE: usize = 65_536;

/// The channels and bridges up now, with their variables, kept up to date
/// by the client from every event (whatever the streams subscribe to) and
/// resynced by snapshot actions after each login, the first included.
///
/// An event is applied before any stream is handed it: code that reads an
/// event and then looks at the picture sees that event applied. After a
/// reconnect the events of the gap are lost for good; the picture is not
/// [whole](Tracker::is_whole) until the resync is in, and
/// [`Change::Resynced`] says when it is.
#[derive(Clone)]
pub struct Picture {
    tracker: Arc<Mutex<Tracker>>,
    commands: mpsc::UnboundedSender<Command>,
}

impl Picture {
    pub(crate) fn new(commands: mpsc::UnboundedSender<Command>) -> Picture {
        Picture {
            tracker: Arc::new(Mutex::new(Tracker::new())),
            commands,
        }
    }

    /// What changed from now on, a [`Change`] per channel or bridge
    /// added, updated (several updates before the stream is read may come
    /// as one) or removed, and [`Change::Resynced`] when a resync is in.
    pub fn changes(&self) -> EventStream<Change> {
        let (sink, stream) = EventStream::new(CHANGES_QUEUE);
        let _ = self.commands.unbounded_send(Command::Changes(sink));
        stream
    }

    /// The tracker, to query (`channels()`, `channel(uniqueid)`,
    /// `bridges()`, `is_whole()` ...). Hold the guard briefly: the driver
    /// waits for it before it applies the next event.
    pub fn lock(&self) -> MutexGuard<'_, Tracker> {
        // A panic while the lock was held leaves a consistent tracker.
        self.tracker.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the picture is complete: the last resync is in.
    pub fn is_whole(&self) -> bool {
        self.lock().is_whole()
    }
}

/// What the driver keeps to track.
pub(crate) struct Tracking {
    picture: Picture,
    /// The resync actions in flight.
    resync: HashSet<ActionId>,
    sinks: Vec<Sink<Change>>,
}

impl Tracking {
    pub(crate) fn new(picture: Picture) -> Tracking {
        Tracking {
            picture,
            resync: HashSet::new(),
            sinks: Vec::new(),
        }
    }

    pub(crate) fn add_sink(&mut self, sink: Sink<Change>) {
        self.sinks.push(sink);
    }

    pub(crate) fn handle(&mut self, event: &Event, to_wake: &mut Vec<Waker>) {
        let mut tracker = self.picture.lock();
        tracker.handle(event);
        Self::hand_out(&mut tracker, &mut self.sinks, to_wake);
    }

    /// Starts a resync: its actions go out through the session.
    pub(crate) fn resync(&mut self, session: &mut Session, now: Instant) {
        let actions = self.picture.lock().begin_resync();
        self.resync.clear();
        for action in actions {
            match session.send(&action, now) {
                Ok(id) => {
                    self.resync.insert(id);
                }
                Err(e) => tracing::warn!(%e, "the picture cannot be resynced"),
            }
        }
    }

    /// Takes the answer to a resync action; gives back any other.
    pub(crate) fn answer(
        &mut self,
        id: ActionId,
        result: Result<Answer, ActionError>,
        to_wake: &mut Vec<Waker>,
    ) -> Option<Result<Answer, ActionError>> {
        if !self.resync.remove(&id) {
            return Some(result);
        }
        match result {
            Ok(answer) => {
                let mut tracker = self.picture.lock();
                tracker.apply_snapshot(&answer);
                Self::hand_out(&mut tracker, &mut self.sinks, to_wake);
            }
            // The next login resyncs again.
            Err(e) => tracing::warn!(%e, "a resync action failed: the picture stays partial"),
        }
        None
    }

    fn hand_out(tracker: &mut Tracker, sinks: &mut Vec<Sink<Change>>, to_wake: &mut Vec<Waker>) {
        while let Some(change) = tracker.poll_change() {
            sinks.retain_mut(|sink| sink.deliver(&change, to_wake));
        }
    }
}
