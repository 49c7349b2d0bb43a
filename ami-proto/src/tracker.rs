//! The tracker: a live picture of the PBX from AMI events (see
//! [`Tracker`]).

mod bridges;
mod channels;
mod resync;
mod snapshot;
mod store;
mod view;

pub use view::{Bridge, Channel, Dial};

use crate::actions::{BridgeList, CoreShowChannels};
use crate::{Action, Answer, Event, Kind, Message, Text, ToAction, VarChannel};
use snapshot::{BridgeSnap, ChannelSnap};
use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use store::{Index, Slab, Strs, Vars};

// Where each string of a channel is in its `Strs`.
const T_NAME: usize = 0;
const T_UNIQUEID: usize = 1;
const T_LINKEDID: usize = 2;
const T_CID_NUM: usize = 3;
const T_CID_NAME: usize = 4;
const T_CONN_NUM: usize = 5;
const T_CONN_NAME: usize = 6;
const T_LANGUAGE: usize = 7;
const T_ACCOUNT: usize = 8;
const T_CONTEXT: usize = 9;
const T_EXTEN: usize = 10;
const T_APP: usize = 11;
const T_APP_DATA: usize = 12;
const T_TENANT: usize = 13;
const CHANNEL_STRS: usize = 14;

// Where each string of a bridge is in its `Strs` (as in the snapshot).
const BRIDGE_STRS: usize = 7;
const B_ID: usize = 0;

/// A `Change` for this object is queued and not yet polled: later updates
/// fold into it.
const PENDING: u8 = 1;
/// The channel is on hold (`Hold`, until `Unhold`).
const HOLD: u8 = 2;
/// During a resync: an event carried this object's snapshot since
/// `begin_resync`, so it is alive, and its fields are at least as new as
/// the snapshot lists' (which may have been taken before).
const TOUCHED: u8 = 4;
/// During a resync: a bridge event moved the channel.
const BRIDGE_TOUCHED: u8 = 8;
/// During a resync: a `Newexten` gave the channel's application.
const APP_TOUCHED: u8 = 16;
/// During a resync: the snapshot list named this object.
const SEEN: u8 = 32;
const RESYNC_FLAGS: u8 = TOUCHED | BRIDGE_TOUCHED | APP_TOUCHED | SEEN;

const NO_BRIDGE: u32 = u32::MAX;
const UNKNOWN_STATE: u8 = u8::MAX;

/// What the tracker keeps of a channel.
#[derive(Debug)]
struct ChannelData {
    text: Strs<CHANNEL_STRS>,
    vars: Vars,
    /// How it was dialed, if it was (most channels never are).
    dial: Option<Box<DialData>>,
    priority: i32,
    /// The slot of its bridge, or `NO_BRIDGE`.
    bridge: u32,
    state: u8,
    flags: u8,
}

/// A `DialBegin`, and the status the `DialState`/`DialEnd` after it gave.
#[derive(Debug)]
struct DialData {
    /// The dialing channel's uniqueid (empty when nobody dials, as for an
    /// `Originate`). A string, not a slot: the caller may hang up first.
    caller: Box<str>,
    dial_string: Box<str>,
    /// Empty until the first `DialState` or `DialEnd`.
    status: Box<str>,
}

/// What the tracker keeps of a bridge.
#[derive(Debug)]
struct BridgeData {
    text: Strs<BRIDGE_STRS>,
    /// The channels in it, as slots.
    members: Vec<u32>,
    /// `BridgeNumChannels` as Asterisk last reported it.
    num_channels: u32,
    flags: u8,
}

/// The lists a resync waits for.
const LIST_CHANNELS: u8 = 1;
const LIST_BRIDGES: u8 = 2;

/// A resync in progress: what events said since it began, so that an older
/// snapshot item cannot undo it.
#[derive(Debug, Default)]
struct Resync {
    /// Lists not complete yet.
    waiting: u8,
    /// Hashes of the uniqueids of channels hung up since: a list taken
    /// before their `Hangup` must not bring them back.
    hung_up: HashSet<u64>,
    /// Hashes of the ids of bridges destroyed since.
    destroyed: HashSet<u64>,
    /// (channel uniqueid, variable name) hashes set by events since.
    vars: HashSet<(u64, u64)>,
}

/// What changed in the picture. Updates of one object fold together until
/// polled, so a view redraws each object once; the object is read back
/// through the tracker (it may be gone by then: its `...Removed` follows).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// A channel appeared (its uniqueid).
    ChannelAdded(Box<str>),
    /// Something about a channel changed: state, caller, dialplan
    /// location, bridge, variables, dial status, hold, name...
    ChannelUpdated(Box<str>),
    /// A channel hung up, or a resync found it gone.
    ChannelRemoved(Box<str>),
    /// A bridge appeared (its id).
    BridgeAdded(Box<str>),
    /// A bridge changed: its fields or its channels.
    BridgeUpdated(Box<str>),
    /// A bridge was destroyed, or a resync found it gone.
    BridgeRemoved(Box<str>),
    /// A resync completed: the picture is whole again.
    Resynced,
}

/// A live picture of the PBX, built from AMI events: the channels (with
/// their bridge, variables and dial relation) and the bridges of one
/// Asterisk.
///
/// Like the rest of the crate the tracker does no I/O and reads no
/// clock. The application hands it every event ([`Tracker::handle`]),
/// then drains [`Tracker::poll_change`] to learn what to redraw, and reads
/// the picture through [`Tracker::channel`], [`Tracker::channels`],
/// [`Tracker::bridges`]...
///
/// It leans on what Asterisk promises about the order of events: a
/// channel's `Newchannel` comes first and its `Hangup` last; a `BridgeEnter`
/// has its `BridgeLeave` before the channel's `Hangup`. And every event
/// about a channel carries a whole snapshot of it (name, state, caller,
/// dialplan location...), so any such event refreshes the channel, and a
/// tracker started in the middle of a call converges.
///
/// Events raised while no connection is logged in are lost for good. After
/// every login, call [`Tracker::begin_resync`], send the actions it returns
/// and give their answers to [`Tracker::apply_snapshot`]: channels and
/// bridges that ended in the gap go away, the rest is brought up to date,
/// and [`Change::Resynced`] says the picture is whole again. With a
/// [`Session`](crate::Session): on `Output::Connection(ConnectionEvent::Open
/// { .. })`, `begin_resync` and `send` each action; on `Output::Answer` of
/// one of them, `apply_snapshot(&answer)`; on `Output::Event(m)`,
/// `handle(&Event::from_message(m))`. The session hands these out in the
/// order they came, which is the order the tracker needs.
///
/// ```
/// use ami_proto::{Decoder, Event, Frame, Tracker};
///
/// let mut decoder = Decoder::default();
/// decoder.feed(b"Asterisk Call Manager/11.0.0\r\n");
/// decoder.feed(
///     b"Event: Newchannel\r\nChannel: PJSIP/a-1\r\nChannelState: 4\r\n\
///       Uniqueid: 1.1\r\nLinkedid: 1.1\r\n\r\n",
/// );
/// decoder.next_frame().unwrap();
/// let Some(Frame::Message(m)) = decoder.next_frame().unwrap() else { panic!() };
///
/// let mut tracker = Tracker::new();
/// tracker.handle(&Event::from_message(m));
/// let channel = tracker.channel("1.1").unwrap();
/// assert_eq!(channel.name(), "PJSIP/a-1");
/// assert_eq!(channel.state_desc(), "Ring");
/// while let Some(change) = tracker.poll_change() {
///     println!("{change:?}"); // ChannelAdded("1.1")
/// }
/// ```
#[derive(Debug)]
pub struct Tracker {
    hasher: RandomState,
    channels: Slab<ChannelData>,
    by_uniqueid: Index,
    by_name: Index,
    bridges: Slab<BridgeData>,
    by_bridge_id: Index,
    changes: VecDeque<Change>,
    resync: Option<Box<Resync>>,
    whole: bool,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker::new()
    }
}

impl Tracker {
    /// An empty tracker. It knows nothing of the calls already up, so it
    /// is not [whole](Tracker::is_whole) until a first resync completes.
    pub fn new() -> Tracker {
        Tracker {
            hasher: RandomState::new(),
            channels: Slab::default(),
            by_uniqueid: Index::default(),
            by_name: Index::default(),
            bridges: Slab::default(),
            by_bridge_id: Index::default(),
            changes: VecDeque::new(),
            resync: None,
            whole: false,
        }
    }

    /// Takes in one event, in the order received. Events it has no use for
    /// (and events this crate does not know) are ignored; bad input (a
    /// missing header, an unknown channel, a second `Hangup`) never panics.
    ///
    /// An event about a channel it does not know creates the channel if
    /// the event carries the channel's whole snapshot, except `Hangup`
    /// (the channel is gone anyway). Event list items (`CoreShowChannel`,
    /// `Status`, `BridgeListItem`) are taken as snapshot items, as by
    /// [`apply_snapshot`](Tracker::apply_snapshot).
    pub fn handle(&mut self, event: &Event) {
        let m = event.message();
        match event {
            Event::Hangup(_) => return self.hangup(m),
            Event::BridgeDestroy(_) => return self.bridge_destroy(m),
            Event::Unknown(_) => {
                // Not a type this crate knows, so no promise about what
                // follows: a snapshot refreshes a channel, never creates.
                if !self.list_message(m) {
                    self.refresh(m, "", false);
                }
                return;
            }
            _ if self.list_message(m) => return,
            _ => {}
        }
        // Every channel snapshot the event type carries refreshes its
        // channel; the prefixes come from the type's documented fields.
        let mut found: [(&str, Option<u32>); 8] = [("", None); 8];
        let mut n = 0;
        for field in event.fields() {
            if let Some(prefix) = field.strip_suffix("Linkedid")
                && n < found.len()
            {
                found[n] = (prefix, self.refresh(m, prefix, true));
                n += 1;
            }
        }
        let found = &found[..n];
        let slot = |prefix: &str| {
            found
                .iter()
                .find(|(p, _)| *p == prefix)
                .and_then(|&(_, s)| s)
        };
        let own = slot("");
        match event {
            Event::NewExten(_) => {
                if let Some(c) = own {
                    self.set_app(c, m.get("Application"), m.get("AppData"), true);
                }
            }
            Event::VarSet(_) => {
                if let (Some(c), Some(name)) = (own, m.get("Variable")) {
                    let value = m.get("Value").unwrap_or(Text(b""));
                    self.set_var(c, &name.to_string_lossy(), &value.to_string_lossy(), true);
                }
            }
            Event::Hold(_) => self.set_hold(own, true),
            Event::Unhold(_) => self.set_hold(own, false),
            Event::Rename(_) => self.rename(m),
            Event::DialBegin(_) => self.dial(own, slot("Dest"), m, true),
            Event::DialState(_) | Event::DialEnd(_) => self.dial(own, slot("Dest"), m, false),
            Event::BridgeCreate(_) => {
                self.refresh_bridge(m, "", true);
            }
            Event::BridgeEnter(_) => {
                let bridge = self.refresh_bridge(m, "", true);
                if let (Some(c), Some(b)) = (own, bridge) {
                    self.join(c, b, true);
                }
            }
            Event::BridgeLeave(_) => {
                let bridge = self.refresh_bridge(m, "", false);
                if let (Some(c), Some(b)) = (own, bridge) {
                    self.leave(c, b, true);
                }
            }
            Event::BridgeMerge(_) => {
                let to = self.refresh_bridge(m, "To", true);
                let from = self.refresh_bridge(m, "From", false);
                if let (Some(to), Some(from)) = (to, from) {
                    self.merge(from, to);
                }
            }
            _ => {}
        }
        self.event_vars(m, found);
    }

    /// Whether the picture is whole: a resync completed and none started
    /// since.
    pub fn is_whole(&self) -> bool {
        self.whole
    }

    /// The next change since the last call, oldest first.
    #[must_use]
    pub fn poll_change(&mut self) -> Option<Change> {
        let change = self.changes.pop_front()?;
        match &change {
            Change::ChannelAdded(u) | Change::ChannelUpdated(u) => {
                if let Some(slot) = self.find_channel(u) {
                    self.channels.get_mut(slot).unwrap().flags &= !PENDING;
                }
            }
            Change::BridgeAdded(id) | Change::BridgeUpdated(id) => {
                if let Some(slot) = self.find_bridge(id) {
                    self.bridges.get_mut(slot).unwrap().flags &= !PENDING;
                }
            }
            _ => {}
        }
        Some(change)
    }

    /// The channel with this `Uniqueid`.
    pub fn channel(&self, uniqueid: &str) -> Option<Channel<'_>> {
        let slot = self.find_channel(uniqueid)?;
        self.channel_at(slot)
    }

    /// The channel with this name (`PJSIP/alice-00000001`). Names can
    /// change (`Rename`, masquerades); the uniqueid does not.
    pub fn channel_by_name(&self, name: &str) -> Option<Channel<'_>> {
        let slot = self.find_by_name(name)?;
        self.channel_at(slot)
    }

    /// Every channel, in no particular order.
    pub fn channels(&self) -> impl Iterator<Item = Channel<'_>> {
        self.channels.iter().map(|(_, data)| Channel {
            tracker: self,
            data,
        })
    }

    /// How many channels there are.
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// The bridge with this `BridgeUniqueid`.
    pub fn bridge(&self, id: &str) -> Option<Bridge<'_>> {
        let slot = self.find_bridge(id)?;
        self.bridge_at(slot)
    }

    /// Every bridge, in no particular order.
    pub fn bridges(&self) -> impl Iterator<Item = Bridge<'_>> {
        self.bridges.iter().map(|(_, data)| Bridge {
            tracker: self,
            data,
        })
    }

    /// How many bridges there are.
    pub fn bridge_count(&self) -> usize {
        self.bridges.len()
    }

    fn channel_at(&self, slot: u32) -> Option<Channel<'_>> {
        Some(Channel {
            tracker: self,
            data: self.channels.get(slot)?,
        })
    }

    fn bridge_at(&self, slot: u32) -> Option<Bridge<'_>> {
        Some(Bridge {
            tracker: self,
            data: self.bridges.get(slot)?,
        })
    }

    fn hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key)
    }

    fn find_channel(&self, uniqueid: &str) -> Option<u32> {
        self.by_uniqueid.find(self.hash(uniqueid), |s| {
            self.channels
                .get(s)
                .is_some_and(|c| c.text.get(T_UNIQUEID) == uniqueid)
        })
    }

    fn find_by_name(&self, name: &str) -> Option<u32> {
        self.by_name.find(self.hash(name), |s| {
            self.channels
                .get(s)
                .is_some_and(|c| c.text.get(T_NAME) == name)
        })
    }

    fn find_bridge(&self, id: &str) -> Option<u32> {
        self.by_bridge_id.find(self.hash(id), |s| {
            self.bridges.get(s).is_some_and(|b| b.text.get(B_ID) == id)
        })
    }

    fn resyncing(&self) -> bool {
        self.resync.is_some()
    }

    fn channel_updated(&mut self, slot: u32) {
        let Some(c) = self.channels.get_mut(slot) else {
            return;
        };
        if c.flags & PENDING == 0 {
            c.flags |= PENDING;
            self.changes
                .push_back(Change::ChannelUpdated(c.text.get(T_UNIQUEID).into()));
        }
    }

    fn bridge_updated(&mut self, slot: u32) {
        let Some(b) = self.bridges.get_mut(slot) else {
            return;
        };
        if b.flags & PENDING == 0 {
            b.flags |= PENDING;
            self.changes
                .push_back(Change::BridgeUpdated(b.text.get(B_ID).into()));
        }
    }
}

/// A number field; `None` if it is not one.
fn parse<T: std::str::FromStr>(t: Text<'_>) -> Option<T> {
    t.to_str().ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inline size of what a channel costs, besides its heap.
    #[test]
    fn channel_data_is_small() {
        let size = std::mem::size_of::<Option<ChannelData>>();
        println!("size_of::<Option<ChannelData>>() = {size}");
        assert!(size <= 96, "{size}");
        let size = std::mem::size_of::<Option<BridgeData>>();
        println!("size_of::<Option<BridgeData>>() = {size}");
        assert!(size <= 64, "{size}");
    }
}
