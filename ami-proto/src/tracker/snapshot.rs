//! Reading the channel and bridge snapshots an event carries, each in one
//! pass over the message's headers.

use crate::{Message, Text};
use std::borrow::Cow;

/// Fields of a channel snapshot (`<prefix>Channel`, `<prefix>Uniqueid`...),
/// as `ast_manager_build_channel_state_string_prefix` writes them.
const CHANNEL_FIELDS: [&str; 14] = [
    "Channel",
    "ChannelState",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
    "Tenantid",
];

pub(super) const C_NAME: usize = 0;
pub(super) const C_STATE: usize = 1;
pub(super) const C_CID_NUM: usize = 2;
pub(super) const C_CID_NAME: usize = 3;
pub(super) const C_CONN_NUM: usize = 4;
pub(super) const C_CONN_NAME: usize = 5;
pub(super) const C_LANGUAGE: usize = 6;
pub(super) const C_ACCOUNT: usize = 7;
pub(super) const C_CONTEXT: usize = 8;
pub(super) const C_EXTEN: usize = 9;
pub(super) const C_PRIORITY: usize = 10;
pub(super) const C_UNIQUEID: usize = 11;
pub(super) const C_LINKEDID: usize = 12;
pub(super) const C_TENANT: usize = 13;

/// Fields of a bridge snapshot, as `ast_manager_build_bridge_state_string`
/// writes them.
const BRIDGE_FIELDS: [&str; 8] = [
    "BridgeUniqueid",
    "BridgeType",
    "BridgeTechnology",
    "BridgeCreator",
    "BridgeName",
    "BridgeVideoSourceMode",
    "BridgeVideoSource",
    "BridgeNumChannels",
];

pub(super) const B_NUM_CHANNELS: usize = 7;

/// The first value of each field under one prefix.
pub(super) struct Snap<'a, const N: usize>(pub(super) [Option<Text<'a>>; N]);

/// A channel snapshot.
pub(super) type ChannelSnap<'a> = Snap<'a, 14>;
/// A bridge snapshot.
pub(super) type BridgeSnap<'a> = Snap<'a, 8>;

impl<'a, const N: usize> Snap<'a, N> {
    fn read(message: &'a Message, prefix: &str, names: &[&str; N]) -> Self {
        let mut out = [None; N];
        let p = prefix.as_bytes();
        for (name, value) in message.fields() {
            let name = name.as_bytes();
            if name.len() <= p.len() || !name[..p.len()].eq_ignore_ascii_case(p) {
                continue;
            }
            let rest = &name[p.len()..];
            if let Some(i) = names
                .iter()
                .position(|n| n.as_bytes().eq_ignore_ascii_case(rest))
                && out[i].is_none()
            {
                out[i] = Some(value);
            }
        }
        Snap(out)
    }

    /// Field `i` as text (lossy: bytes that are not UTF-8 become U+FFFD).
    pub(super) fn text(&self, i: usize) -> Option<Cow<'a, str>> {
        self.0[i].map(|t| t.to_string_lossy())
    }
}

impl<'a> ChannelSnap<'a> {
    /// The channel snapshot under `prefix` (`""` for the event's own).
    pub(super) fn channel(message: &'a Message, prefix: &str) -> Self {
        Snap::read(message, prefix, &CHANNEL_FIELDS)
    }

    /// The uniqueid, if there is a non-empty one.
    pub(super) fn uniqueid(&self) -> Option<Cow<'a, str>> {
        self.text(C_UNIQUEID).filter(|u| !u.is_empty())
    }

    /// Whether this is a whole snapshot (Asterisk always writes `Linkedid`
    /// with one), not an event that merely names a channel: `Cdr` and
    /// `OriginateResponse` have a `Uniqueid` and no `Linkedid`, and a
    /// global `VarSet` says `Channel: none`.
    pub(super) fn is_whole(&self) -> bool {
        self.0[C_NAME].is_some() && self.0[C_UNIQUEID].is_some() && self.0[C_LINKEDID].is_some()
    }

    /// Caller and connected-line names are C-escaped in snapshots
    /// (`ast_escape_c_alloc`): these are the names themselves.
    pub(super) fn unescaped(&self, i: usize) -> Option<Cow<'a, str>> {
        let t = self.0[i]?;
        Some(match crate::chan_vars::unescape_c(t.as_bytes()) {
            Cow::Borrowed(b) => String::from_utf8_lossy(b),
            Cow::Owned(b) => Cow::Owned(String::from_utf8_lossy(&b).into_owned()),
        })
    }
}

impl<'a> BridgeSnap<'a> {
    /// The bridge snapshot under `prefix` (`""`, `To`, `From`).
    pub(super) fn bridge(message: &'a Message, prefix: &str) -> Self {
        Snap::read(message, prefix, &BRIDGE_FIELDS)
    }

    /// The bridge's id, if there is a non-empty one.
    pub(super) fn id(&self) -> Option<Cow<'a, str>> {
        self.text(0).filter(|u| !u.is_empty())
    }
}
