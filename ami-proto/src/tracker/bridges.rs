//! Keeping bridges and who is in them.

use super::*;

impl Tracker {
    /// Refreshes (or, with `create`, adds) the bridge whose snapshot is
    /// under `prefix`, as an event. Returns its slot.
    pub(super) fn refresh_bridge(
        &mut self,
        m: &Message,
        prefix: &str,
        create: bool,
    ) -> Option<u32> {
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
    pub(super) fn bridge_for(&mut self, id: &str, create: bool) -> Option<u32> {
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

    pub(super) fn apply_bridge_snap(&mut self, slot: u32, snap: &BridgeSnap<'_>) {
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
    pub(super) fn join(&mut self, c: u32, b: u32, event: bool) {
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
    pub(super) fn leave(&mut self, c: u32, b: u32, event: bool) {
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
    pub(super) fn merge(&mut self, from: u32, to: u32) {
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

    pub(super) fn bridge_destroy(&mut self, m: &Message) {
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

    pub(super) fn remove_bridge(&mut self, slot: u32) {
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
}
