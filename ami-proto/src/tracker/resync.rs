//! Resync: the snapshot lists after a login, and what events said in
//! the meantime.

use super::*;

impl Tracker {
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

    /// Handles the items and ends of snapshot lists; says whether `m` was
    /// one.
    pub(super) fn list_message(&mut self, m: &Message) -> bool {
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

    /// A `CoreShowChannel` or `Status` item: the channel's snapshot, its
    /// application and its bridge (`bridge_field`, empty when in none).
    /// During a resync only what no event has said since it began is
    /// taken.
    pub(super) fn channel_item(&mut self, m: &Message, bridge_field: &str, data_field: &str) {
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
    pub(super) fn bridge_item(&mut self, m: &Message) {
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
    pub(super) fn list_complete(&mut self, list: u8) {
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
