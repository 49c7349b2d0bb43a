//! Keeping channels: snapshots, dialplan, variables, dial relations,
//! hangups.

use super::*;

impl Tracker {
    /// Refreshes (or, with `create`, adds) the channel whose snapshot is
    /// under `prefix`, as an event: it counts as newer than a resync's
    /// lists. Returns its slot.
    pub(super) fn refresh(&mut self, m: &Message, prefix: &str, create: bool) -> Option<u32> {
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
    pub(super) fn channel_for(&mut self, snap: &ChannelSnap<'_>, create: bool) -> Option<u32> {
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
    pub(super) fn apply_channel_snap(&mut self, slot: u32, snap: &ChannelSnap<'_>) {
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
    pub(super) fn reindex_name(&mut self, slot: u32, old_hash: u64) {
        self.by_name.remove(old_hash, slot);
        let Some(name) = self.channels.get(slot).map(|c| c.text.get(T_NAME)) else {
            return;
        };
        if !name.is_empty() {
            let hash = self.hash(name);
            self.by_name.insert(hash, slot);
        }
    }

    pub(super) fn set_text(&mut self, slot: u32, i: usize, value: &str) -> bool {
        let Some(c) = self.channels.get_mut(slot) else {
            return false;
        };
        let mut new = [None; CHANNEL_STRS];
        new[i] = Some(value);
        c.text.set(&new)
    }

    pub(super) fn set_app(
        &mut self,
        slot: u32,
        app: Option<Text<'_>>,
        data: Option<Text<'_>>,
        event: bool,
    ) {
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
    pub(super) fn set_var(&mut self, slot: u32, name: &str, value: &str, event: bool) {
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
    pub(super) fn event_vars(&mut self, m: &Message, found: &[(&str, Option<u32>)]) {
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

    pub(super) fn set_hold(&mut self, slot: Option<u32>, hold: bool) {
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
    pub(super) fn rename(&mut self, m: &Message) {
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
    pub(super) fn dial(
        &mut self,
        caller: Option<u32>,
        dest: Option<u32>,
        m: &Message,
        begin: bool,
    ) {
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

    pub(super) fn hangup(&mut self, m: &Message) {
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

    pub(super) fn remove_channel(&mut self, slot: u32) {
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
}
