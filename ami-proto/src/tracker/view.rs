//! Read-only views of the tracker's channels and bridges.

use super::*;
use std::fmt;

/// A channel as the tracker last saw it. Its strings are as Asterisk sent
/// them (`<unknown>` for an unknown caller, as Asterisk writes it), read as
/// UTF-8 with other bytes replaced by U+FFFD, and caller and connected-line
/// names unescaped.
#[derive(Clone, Copy)]
pub struct Channel<'a> {
    pub(super) tracker: &'a Tracker,
    pub(super) data: &'a ChannelData,
}

impl<'a> Channel<'a> {
    fn text(&self, i: usize) -> &'a str {
        self.data.text.get(i)
    }

    /// `Uniqueid`: the key, which never changes.
    pub fn uniqueid(&self) -> &'a str {
        self.text(T_UNIQUEID)
    }

    /// `Channel`: the name (`PJSIP/alice-00000001`).
    pub fn name(&self) -> &'a str {
        self.text(T_NAME)
    }

    /// `Linkedid`: the uniqueid of the oldest channel of the call.
    pub fn linkedid(&self) -> &'a str {
        self.text(T_LINKEDID)
    }

    /// `ChannelState`: the state's number (6 is up); 255 if Asterisk sent
    /// none that could be read.
    pub fn state(&self) -> u8 {
        self.data.state
    }

    /// The state's name, as Asterisk writes it in `ChannelStateDesc`.
    pub fn state_desc(&self) -> &'static str {
        match self.data.state {
            0 => "Down",
            1 => "Rsrvd",
            2 => "OffHook",
            3 => "Dialing",
            4 => "Ring",
            5 => "Ringing",
            6 => "Up",
            7 => "Busy",
            8 => "Dialing Offhook",
            9 => "Pre-ring",
            _ => "Unknown",
        }
    }

    /// `CallerIDNum`.
    pub fn caller_id_num(&self) -> &'a str {
        self.text(T_CID_NUM)
    }

    /// `CallerIDName`.
    pub fn caller_id_name(&self) -> &'a str {
        self.text(T_CID_NAME)
    }

    /// `ConnectedLineNum`: who is on the other end.
    pub fn connected_line_num(&self) -> &'a str {
        self.text(T_CONN_NUM)
    }

    /// `ConnectedLineName`.
    pub fn connected_line_name(&self) -> &'a str {
        self.text(T_CONN_NAME)
    }

    /// `Language`.
    pub fn language(&self) -> &'a str {
        self.text(T_LANGUAGE)
    }

    /// `AccountCode`.
    pub fn account_code(&self) -> &'a str {
        self.text(T_ACCOUNT)
    }

    /// `Tenantid` (empty when it has none).
    pub fn tenant_id(&self) -> &'a str {
        self.text(T_TENANT)
    }

    /// `Context`: where in the dialplan it is.
    pub fn context(&self) -> &'a str {
        self.text(T_CONTEXT)
    }

    /// `Exten`.
    pub fn exten(&self) -> &'a str {
        self.text(T_EXTEN)
    }

    /// `Priority`.
    pub fn priority(&self) -> i32 {
        self.data.priority
    }

    /// The application it runs (from `Newexten` or a snapshot list; empty
    /// until one said).
    pub fn application(&self) -> &'a str {
        self.text(T_APP)
    }

    /// The application's arguments.
    pub fn app_data(&self) -> &'a str {
        self.text(T_APP_DATA)
    }

    /// Whether it is on hold (`Hold`, until `Unhold`).
    pub fn on_hold(&self) -> bool {
        self.data.flags & HOLD != 0
    }

    /// The bridge it is in.
    pub fn bridge(&self) -> Option<Bridge<'a>> {
        self.tracker.bridge_at(self.data.bridge)
    }

    /// The value of a variable (name as Asterisk sent it).
    pub fn variable(&self, name: &str) -> Option<&'a str> {
        self.data.vars.get(name)
    }

    /// Its variables, `(name, value)`, in the order first set: those of
    /// `VarSet` events and the `ChanVariable` headers (manager.conf's
    /// `channelvars`). A variable set to nothing is removed, as Asterisk
    /// does.
    pub fn variables(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.data.vars.iter()
    }

    /// How it was dialed, if it was (`DialBegin`), with the dial's status.
    /// It stays after `DialEnd`, until the channel hangs up.
    pub fn dial(&self) -> Option<Dial<'a>> {
        self.data.dial.as_deref().map(|data| Dial { data })
    }

    /// The channels it dials (or dialed), found by their [`dial`](Self::dial).
    pub fn dialing(&self) -> impl Iterator<Item = Channel<'a>> + 'a {
        let me = self.uniqueid();
        self.tracker
            .channels()
            .filter(move |c| c.dial().is_some_and(|d| d.caller_uniqueid() == Some(me)))
    }
}

impl fmt::Debug for Channel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("uniqueid", &self.uniqueid())
            .field("name", &self.name())
            .field("state", &self.state_desc())
            .field("caller_id_num", &self.caller_id_num())
            .field("context", &self.context())
            .field("exten", &self.exten())
            .field("priority", &self.priority())
            .field("application", &self.application())
            .field("bridge", &self.bridge().map(|b| b.uniqueid()))
            .finish_non_exhaustive()
    }
}

/// How a channel was dialed: by whom, with what dial string, and how it
/// went.
#[derive(Clone, Copy, Debug)]
pub struct Dial<'a> {
    data: &'a DialData,
}

impl<'a> Dial<'a> {
    /// The dialing channel's uniqueid; `None` when no channel dials (an
    /// `Originate` dials with none). It may have hung up since.
    pub fn caller_uniqueid(&self) -> Option<&'a str> {
        Some(&*self.data.caller).filter(|c| !c.is_empty())
    }

    /// `DialString` (`alice@loop`).
    pub fn dial_string(&self) -> &'a str {
        &self.data.dial_string
    }

    /// `DialStatus`: `RINGING`, `PROGRESS`... while it rings (`DialState`),
    /// then the outcome (`ANSWER`, `BUSY`, `NOANSWER`, `CANCEL`...); `None`
    /// before either.
    pub fn status(&self) -> Option<&'a str> {
        Some(&*self.data.status).filter(|s| !s.is_empty())
    }
}

/// A bridge as the tracker last saw it.
#[derive(Clone, Copy)]
pub struct Bridge<'a> {
    pub(super) tracker: &'a Tracker,
    pub(super) data: &'a BridgeData,
}

impl<'a> Bridge<'a> {
    fn text(&self, i: usize) -> &'a str {
        self.data.text.get(i)
    }

    /// `BridgeUniqueid`: the key.
    pub fn uniqueid(&self) -> &'a str {
        self.text(B_ID)
    }

    /// `BridgeType` (`basic`, `holding`...).
    pub fn bridge_type(&self) -> &'a str {
        self.text(1)
    }

    /// `BridgeTechnology` (`simple_bridge`, `softmix`...).
    pub fn technology(&self) -> &'a str {
        self.text(2)
    }

    /// `BridgeCreator`.
    pub fn creator(&self) -> &'a str {
        self.text(3)
    }

    /// `BridgeName`.
    pub fn name(&self) -> &'a str {
        self.text(4)
    }

    /// `BridgeVideoSourceMode`.
    pub fn video_source_mode(&self) -> &'a str {
        self.text(5)
    }

    /// `BridgeVideoSource` (empty when the mode has none).
    pub fn video_source(&self) -> &'a str {
        self.text(6)
    }

    /// `BridgeNumChannels` as Asterisk last reported it (the tracker's own
    /// count is `channels().count()`).
    pub fn num_channels(&self) -> u32 {
        self.data.num_channels
    }

    /// The channels in it, in the order they entered.
    pub fn channels(&self) -> impl Iterator<Item = Channel<'a>> + 'a {
        let tracker = self.tracker;
        self.data
            .members
            .iter()
            .filter_map(move |&slot| tracker.channel_at(slot))
    }
}

impl fmt::Debug for Bridge<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bridge")
            .field("uniqueid", &self.uniqueid())
            .field("type", &self.bridge_type())
            .field("technology", &self.technology())
            .field(
                "channels",
                &self.channels().map(|c| c.uniqueid()).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}
