//! The tracker: a live picture of the PBX from AMI events (see
//! [`Tracker`]).

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

    /// Marks the picture stale and returns the snapshot actions to send
    /// (`CoreShowChannels`, then `BridgeList`), in that order. Call it
    /// after every login, the first included; events keep coming in
    /// through [`handle`](Tracker::handle) meanwhile.
    ///
    /// Give each answer to [`apply_snapshot`](Tracker::apply_snapshot).
    /// When both lists are in, channels and bridges that neither list nor
    /// any event since this call named are removed (they ended while no
    /// one listened), and [`Change::Resynced`] follows. If an action fails
    /// (timeout, connection lost), call `begin_resync` again after the
    /// next login.
    ///
    /// What events said since this call wins over the lists, which Asterisk
    /// may have taken before those events: a channel or bridge that ended
    /// since is not brought back, and an event's snapshot, variable,
    /// bridge move or `Newexten` is not undone by an item. Variables set
    /// during the gap are known only if manager.conf's `channelvars` names
    /// them (`CoreShowChannel` carries only those).
    #[must_use = "the snapshot actions must be sent"]
    pub fn begin_resync(&mut self) -> Vec<Action> {
        for c in self.channels.iter_mut() {
            c.flags &= !RESYNC_FLAGS;
        }
        for b in self.bridges.iter_mut() {
            b.flags &= !RESYNC_FLAGS;
        }
        self.resync = Some(Box::new(Resync {
            waiting: LIST_CHANNELS | LIST_BRIDGES,
            ..Resync::default()
        }));
        self.whole = false;
        vec![
            CoreShowChannels::new().to_action(),
            BridgeList::new().to_action(),
        ]
    }

    /// Takes in the answer to a snapshot action: each item, then the
    /// closing event. Answers to other actions are ignored. Outside a
    /// resync the items still refresh (and add) channels and bridges, but
    /// nothing is removed.
    pub fn apply_snapshot(&mut self, answer: &Answer) {
        for item in &answer.items {
            self.list_message(item);
        }
        if let Some(completion) = &answer.completion {
            self.list_message(completion);
        }
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

    /// Handles the items and ends of snapshot lists; says whether `m` was
    /// one.
    fn list_message(&mut self, m: &Message) -> bool {
        let Kind::Event(name) = m.kind() else {
            return false;
        };
        if name.eq_ignore_case("CoreShowChannel") {
            self.channel_item(m, "BridgeId", "ApplicationData");
        } else if name.eq_ignore_case("Status") {
            self.channel_item(m, "BridgeID", "Data");
        } else if name.eq_ignore_case("BridgeListItem") {
            self.bridge_item(m);
        } else if name.eq_ignore_case("CoreShowChannelsComplete") {
            self.list_complete(LIST_CHANNELS);
        } else if name.eq_ignore_case("BridgeListComplete") {
            self.list_complete(LIST_BRIDGES);
        } else {
            return false;
        }
        true
    }

    /// Refreshes (or, with `create`, adds) the channel whose snapshot is
    /// under `prefix`, as an event: it counts as newer than a resync's
    /// lists. Returns its slot.
    fn refresh(&mut self, m: &Message, prefix: &str, create: bool) -> Option<u32> {
        let snap = ChannelSnap::channel(m, prefix);
        let slot = self.channel_for(&snap, create)?;
        self.apply_channel_snap(slot, &snap);
        if self.resyncing() {
            self.channels.get_mut(slot)?.flags |= TOUCHED;
        }
        Some(slot)
    }

    /// The slot of the snapshot's channel, added if it is new, `create` is
    /// set, the snapshot is whole and no `Hangup` for it came during the
    /// resync.
    fn channel_for(&mut self, snap: &ChannelSnap<'_>, create: bool) -> Option<u32> {
        let uniqueid = snap.uniqueid()?;
        if let Some(slot) = self.find_channel(&uniqueid) {
            return Some(slot);
        }
        let hash = self.hash(&uniqueid);
        if !create
            || !snap.is_whole()
            || self
                .resync
                .as_ref()
                .is_some_and(|r| r.hung_up.contains(&hash))
        {
            return None;
        }
        let mut text = Strs::default();
        let mut init = [None; CHANNEL_STRS];
        init[T_UNIQUEID] = Some(&*uniqueid);
        text.set(&init);
        let slot = self.channels.insert(ChannelData {
            text,
            vars: Vars::default(),
            dial: None,
            priority: 0,
            bridge: NO_BRIDGE,
            state: UNKNOWN_STATE,
            flags: PENDING,
        });
        self.by_uniqueid.insert(hash, slot);
        self.changes
            .push_back(Change::ChannelAdded(uniqueid.as_ref().into()));
        Some(slot)
    }

    /// Copies a channel snapshot's fields into the channel.
    fn apply_channel_snap(&mut self, slot: u32, snap: &ChannelSnap<'_>) {
        use snapshot::*;
        let values: [Option<Cow<'_, str>>; CHANNEL_STRS] = [
            snap.text(C_NAME),
            None,
            snap.text(C_LINKEDID),
            snap.text(C_CID_NUM),
            snap.unescaped(C_CID_NAME),
            snap.text(C_CONN_NUM),
            snap.unescaped(C_CONN_NAME),
            snap.text(C_LANGUAGE),
            snap.text(C_ACCOUNT),
            snap.text(C_CONTEXT),
            snap.text(C_EXTEN),
            None,
            None,
            // Asterisk writes Tenantid only when there is one.
            snap.text(C_TENANT)
                .or_else(|| snap.is_whole().then_some(Cow::Borrowed(""))),
        ];
        let state = snap.0[C_STATE].and_then(|t| parse::<u8>(t));
        let priority = snap.0[C_PRIORITY].and_then(|t| parse::<i32>(t));
        let Some(old_name) = self.channels.get(slot).map(|c| c.text.get(T_NAME)) else {
            return;
        };
        let renamed = values[T_NAME]
            .as_deref()
            .filter(|n| *n != old_name)
            .map(|_| self.hash(old_name));
        let c = self.channels.get_mut(slot).unwrap();
        let refs: [Option<&str>; CHANNEL_STRS] = std::array::from_fn(|i| values[i].as_deref());
        let mut changed = c.text.set(&refs);
        if let Some(state) = state.filter(|s| *s != c.state) {
            c.state = state;
            changed = true;
        }
        if let Some(priority) = priority.filter(|p| *p != c.priority) {
            c.priority = priority;
            changed = true;
        }
        if let Some(old_hash) = renamed {
            self.reindex_name(slot, old_hash);
        }
        if changed {
            self.channel_updated(slot);
        }
    }

    /// Moves the channel in the name index after its name changed.
    fn reindex_name(&mut self, slot: u32, old_hash: u64) {
        self.by_name.remove(old_hash, slot);
        let Some(name) = self.channels.get(slot).map(|c| c.text.get(T_NAME)) else {
            return;
        };
        if !name.is_empty() {
            let hash = self.hash(name);
            self.by_name.insert(hash, slot);
        }
    }

    fn set_text(&mut self, slot: u32, i: usize, value: &str) -> bool {
        let Some(c) = self.channels.get_mut(slot) else {
            return false;
        };
        let mut new = [None; CHANNEL_STRS];
        new[i] = Some(value);
        c.text.set(&new)
    }

    fn set_app(&mut self, slot: u32, app: Option<Text<'_>>, data: Option<Text<'_>>, event: bool) {
        let Some(c) = self.channels.get_mut(slot) else {
            return;
        };
        if event && self.resync.is_some() {
            c.flags |= APP_TOUCHED;
        }
        let app = app.map(|t| t.to_string_lossy());
        let data = data.map(|t| t.to_string_lossy());
        let mut new = [None; CHANNEL_STRS];
        new[T_APP] = app.as_deref();
        new[T_APP_DATA] = data.as_deref();
        if c.text.set(&new) {
            self.channel_updated(slot);
        }
    }

    /// Sets a variable; `event` says it came from an event (not a list
    /// item), which during a resync a list item may not overwrite.
    fn set_var(&mut self, slot: u32, name: &str, value: &str, event: bool) {
        let Some(uniqueid) = self.channels.get(slot).map(|c| c.text.get(T_UNIQUEID)) else {
            return;
        };
        if let Some(resync) = &mut self.resync {
            let key = (self.hasher.hash_one(uniqueid), self.hasher.hash_one(name));
            if event {
                resync.vars.insert(key);
            } else if resync.vars.contains(&key) {
                return;
            }
        }
        if self.channels.get_mut(slot).unwrap().vars.set(name, value) {
            self.channel_updated(slot);
        }
    }

    /// The `ChanVariable` headers of an event: `ChanVariable` with a
    /// snapshot's prefix belongs to that snapshot's channel,
    /// `ChanVariable(<name>)` to the channel of that name.
    fn event_vars(&mut self, m: &Message, found: &[(&str, Option<u32>)]) {
        for group in m.chan_variables() {
            let slot = match group.channel {
                VarChannel::Snapshot(prefix) => found
                    .iter()
                    .find(|(p, _)| prefix.eq_ignore_case(p))
                    .and_then(|&(_, s)| s),
                VarChannel::Named(name) => self.find_by_name(&name.to_string_lossy()),
            };
            let Some(slot) = slot else { continue };
            for (name, value) in &group.vars {
                let value = String::from_utf8_lossy(value);
                self.set_var(slot, &name.to_string_lossy(), &value, true);
            }
        }
    }

    fn set_hold(&mut self, slot: Option<u32>, hold: bool) {
        let Some(slot) = slot else { return };
        let Some(c) = self.channels.get_mut(slot) else {
            return;
        };
        if (c.flags & HOLD != 0) != hold {
            c.flags ^= HOLD;
            self.channel_updated(slot);
        }
    }

    /// `Rename`: `Channel` (the old name), `Newname`, `Uniqueid`. It is a
    /// legacy event without a snapshot.
    fn rename(&mut self, m: &Message) {
        let Some(new) = m.get("Newname") else { return };
        let slot = match m.get("Uniqueid") {
            Some(u) => self.find_channel(&u.to_string_lossy()),
            None => m
                .get("Channel")
                .and_then(|old| self.find_by_name(&old.to_string_lossy())),
        };
        let Some(slot) = slot else { return };
        let Some(old) = self.channels.get(slot).map(|c| c.text.get(T_NAME)) else {
            return;
        };
        let old_hash = self.hash(old);
        if self.set_text(slot, T_NAME, &new.to_string_lossy()) {
            self.reindex_name(slot, old_hash);
            self.channel_updated(slot);
        }
        if self.resyncing() {
            self.channels.get_mut(slot).unwrap().flags |= TOUCHED;
        }
    }

    /// `DialBegin` (`begin`), `DialState`, `DialEnd`: the relation is kept
    /// on the dialed channel, with the dialing one's uniqueid.
    fn dial(&mut self, caller: Option<u32>, dest: Option<u32>, m: &Message, begin: bool) {
        let Some(dest) = dest else { return };
        let caller: Box<str> = match caller.and_then(|c| self.channels.get(c)) {
            Some(c) => c.text.get(T_UNIQUEID).into(),
            None => m
                .get("Uniqueid")
                .map(|u| u.to_string_lossy().into())
                .unwrap_or_default(),
        };
        let Some(c) = self.channels.get_mut(dest) else {
            return;
        };
        let lossy = |name| -> Box<str> {
            m.get(name)
                .map(|t| t.to_string_lossy().into())
                .unwrap_or_default()
        };
        if begin {
            c.dial = Some(Box::new(DialData {
                caller,
                dial_string: lossy("DialString"),
                status: Box::default(),
            }));
        } else {
            let status = lossy("DialStatus");
            match &mut c.dial {
                Some(d) if d.status == status => return,
                Some(d) => d.status = status,
                // Its DialBegin was missed (a tracker started meanwhile).
                None => {
                    c.dial = Some(Box::new(DialData {
                        caller,
                        dial_string: Box::default(),
                        status,
                    }))
                }
            }
        }
        self.channel_updated(dest);
    }

    fn hangup(&mut self, m: &Message) {
        let snap = ChannelSnap::channel(m, "");
        let Some(uniqueid) = snap.uniqueid() else {
            return;
        };
        if let Some(resync) = &mut self.resync {
            resync.hung_up.insert(self.hasher.hash_one(&*uniqueid));
        }
        if let Some(slot) = self.find_channel(&uniqueid) {
            self.remove_channel(slot);
        }
    }

    fn remove_channel(&mut self, slot: u32) {
        let Some(c) = self.channels.remove(slot) else {
            return;
        };
        let uniqueid = c.text.get(T_UNIQUEID);
        self.by_uniqueid.remove(self.hash(uniqueid), slot);
        let name = c.text.get(T_NAME);
        if !name.is_empty() {
            self.by_name.remove(self.hash(name), slot);
        }
        if let Some(b) = self.bridges.get_mut(c.bridge) {
            b.members.retain(|&s| s != slot);
            self.bridge_updated(c.bridge);
        }
        self.changes
            .push_back(Change::ChannelRemoved(uniqueid.into()));
    }

    /// Refreshes (or, with `create`, adds) the bridge whose snapshot is
    /// under `prefix`, as an event. Returns its slot.
    fn refresh_bridge(&mut self, m: &Message, prefix: &str, create: bool) -> Option<u32> {
        let snap = BridgeSnap::bridge(m, prefix);
        let slot = self.bridge_for(&snap.id()?, create)?;
        self.apply_bridge_snap(slot, &snap);
        if self.resyncing() {
            self.bridges.get_mut(slot)?.flags |= TOUCHED;
        }
        Some(slot)
    }

    /// The slot of the bridge `id`, added if it is new, `create` is set
    /// and it was not destroyed during the resync.
    fn bridge_for(&mut self, id: &str, create: bool) -> Option<u32> {
        if let Some(slot) = self.find_bridge(id) {
            return Some(slot);
        }
        let hash = self.hash(id);
        if !create
            || self
                .resync
                .as_ref()
                .is_some_and(|r| r.destroyed.contains(&hash))
        {
            return None;
        }
        let mut text = Strs::default();
        let mut init = [None; BRIDGE_STRS];
        init[B_ID] = Some(id);
        text.set(&init);
        let slot = self.bridges.insert(BridgeData {
            text,
            members: Vec::new(),
            num_channels: 0,
            flags: PENDING,
        });
        self.by_bridge_id.insert(hash, slot);
        self.changes.push_back(Change::BridgeAdded(id.into()));
        Some(slot)
    }

    fn apply_bridge_snap(&mut self, slot: u32, snap: &BridgeSnap<'_>) {
        let mut values: [Option<Cow<'_, str>>; BRIDGE_STRS] =
            std::array::from_fn(|i| (i != B_ID).then(|| snap.text(i)).flatten());
        // The video source is written only in a video mode that has one.
        if values[5].is_some() && values[6].is_none() {
            values[6] = Some(Cow::Borrowed(""));
        }
        let num = snap.0[snapshot::B_NUM_CHANNELS].and_then(|t| parse::<u32>(t));
        let Some(b) = self.bridges.get_mut(slot) else {
            return;
        };
        let refs: [Option<&str>; BRIDGE_STRS] = std::array::from_fn(|i| values[i].as_deref());
        let mut changed = b.text.set(&refs);
        if let Some(num) = num.filter(|n| *n != b.num_channels) {
            b.num_channels = num;
            changed = true;
        }
        if changed {
            self.bridge_updated(slot);
        }
    }

    /// Puts a channel in a bridge (out of any other first). `event`: a
    /// bridge event said so, which a resync's list may not undo.
    fn join(&mut self, c: u32, b: u32, event: bool) {
        let resyncing = self.resyncing();
        let Some(ch) = self.channels.get_mut(c) else {
            return;
        };
        if event && resyncing {
            ch.flags |= BRIDGE_TOUCHED;
        }
        let old = ch.bridge;
        if old == b || self.bridges.get(b).is_none() {
            return;
        }
        if old != NO_BRIDGE {
            self.leave(c, old, false);
        }
        self.channels.get_mut(c).unwrap().bridge = b;
        self.bridges.get_mut(b).unwrap().members.push(c);
        self.channel_updated(c);
        self.bridge_updated(b);
    }

    /// Takes a channel out of bridge `b`, if it is in it (a `BridgeLeave`
    /// without its `BridgeEnter` changes nothing).
    fn leave(&mut self, c: u32, b: u32, event: bool) {
        let resyncing = self.resyncing();
        let Some(ch) = self.channels.get_mut(c) else {
            return;
        };
        if event && resyncing {
            ch.flags |= BRIDGE_TOUCHED;
        }
        if b == NO_BRIDGE || ch.bridge != b {
            return;
        }
        ch.bridge = NO_BRIDGE;
        if let Some(bridge) = self.bridges.get_mut(b) {
            bridge.members.retain(|&s| s != c);
        }
        self.channel_updated(c);
        self.bridge_updated(b);
    }

    /// `BridgeMerge`: the channels of `from` move to `to`.
    fn merge(&mut self, from: u32, to: u32) {
        if from == to {
            return;
        }
        let members = self
            .bridges
            .get(from)
            .map(|b| b.members.clone())
            .unwrap_or_default();
        for c in members {
            self.join(c, to, true);
        }
    }

    fn bridge_destroy(&mut self, m: &Message) {
        let Some(id) = BridgeSnap::bridge(m, "").id() else {
            return;
        };
        if let Some(resync) = &mut self.resync {
            resync.destroyed.insert(self.hasher.hash_one(&*id));
        }
        if let Some(slot) = self.find_bridge(&id) {
            self.remove_bridge(slot);
        }
    }

    fn remove_bridge(&mut self, slot: u32) {
        let Some(b) = self.bridges.remove(slot) else {
            return;
        };
        for &c in &b.members {
            if let Some(ch) = self.channels.get_mut(c) {
                ch.bridge = NO_BRIDGE;
                self.channel_updated(c);
            }
        }
        let id = b.text.get(B_ID);
        self.by_bridge_id.remove(self.hash(id), slot);
        self.changes.push_back(Change::BridgeRemoved(id.into()));
    }

    /// A `CoreShowChannel` or `Status` item: the channel's snapshot, its
    /// application and its bridge (`bridge_field`, empty when in none).
    /// During a resync only what no event has said since it began is
    /// taken.
    fn channel_item(&mut self, m: &Message, bridge_field: &str, data_field: &str) {
        let snap = ChannelSnap::channel(m, "");
        let Some(slot) = self.channel_for(&snap, true) else {
            return;
        };
        let resyncing = self.resyncing();
        let ch = self.channels.get_mut(slot).unwrap();
        let flags = if resyncing { ch.flags } else { 0 };
        if resyncing {
            ch.flags |= SEEN;
        }
        if flags & TOUCHED == 0 {
            self.apply_channel_snap(slot, &snap);
        }
        if flags & APP_TOUCHED == 0 {
            self.set_app(slot, m.get("Application"), m.get(data_field), false);
        }
        if flags & BRIDGE_TOUCHED == 0
            && let Some(id) = m.get(bridge_field)
        {
            let id = id.to_string_lossy();
            let current = self.channels.get(slot).unwrap().bridge;
            if id.is_empty() {
                self.leave(slot, current, false);
            } else if let Some(b) = self.bridge_for(&id, true) {
                self.join(slot, b, false);
            }
        }
        for group in m.chan_variables() {
            if group.channel != VarChannel::Snapshot(Text(b"")) {
                continue;
            }
            for (name, value) in &group.vars {
                let value = String::from_utf8_lossy(value);
                self.set_var(slot, &name.to_string_lossy(), &value, false);
            }
        }
    }

    /// A `BridgeListItem`: a bridge snapshot.
    fn bridge_item(&mut self, m: &Message) {
        let snap = BridgeSnap::bridge(m, "");
        let Some(id) = snap.id() else { return };
        let Some(slot) = self.bridge_for(&id, true) else {
            return;
        };
        let b = self.bridges.get_mut(slot).unwrap();
        let flags = b.flags;
        if self.resync.is_some() {
            b.flags |= SEEN;
        }
        if self.resync.is_none() || flags & TOUCHED == 0 {
            self.apply_bridge_snap(slot, &snap);
        }
    }

    /// A snapshot list is complete; once all are, the resync ends.
    fn list_complete(&mut self, list: u8) {
        let Some(resync) = &mut self.resync else {
            return;
        };
        resync.waiting &= !list;
        if resync.waiting != 0 {
            return;
        }
        self.resync = None;
        for slot in self.channels.slots() {
            let c = self.channels.get_mut(slot).unwrap();
            if c.flags & RESYNC_FLAGS == 0 {
                // Neither listed nor heard of since: it ended in the gap.
                self.remove_channel(slot);
            } else {
                c.flags &= !RESYNC_FLAGS;
            }
        }
        for slot in self.bridges.slots() {
            let b = self.bridges.get_mut(slot).unwrap();
            if b.flags & RESYNC_FLAGS == 0 && b.members.is_empty() {
                self.remove_bridge(slot);
            } else {
                b.flags &= !RESYNC_FLAGS;
            }
        }
        self.whole = true;
        self.changes.push_back(Change::Resynced);
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
