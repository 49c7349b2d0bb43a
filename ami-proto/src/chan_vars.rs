//! Channel variables in events: the `channelvars=` of manager.conf.

use crate::{Message, Text};
use std::borrow::Cow;

/// Whose channel variables these are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarChannel<'a> {
    /// `<prefix>ChanVariable: name=value`, written with a channel snapshot:
    /// the snapshot's prefix (empty for the event's own channel, `Dest` for
    /// `DestChannel`...). Asterisk C-escapes these values.
    Snapshot(Text<'a>),
    /// `ChanVariable(<channel name>): name=value`, written by events that
    /// name their channels directly. These values are sent as they are.
    Named(Text<'a>),
}

/// The channel variables of one channel, in the order sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChanVariables<'a> {
    /// Whose they are.
    pub channel: VarChannel<'a>,
    /// `(name, value)`, values unescaped where Asterisk escaped them.
    pub vars: Vec<(Text<'a>, Cow<'a, [u8]>)>,
}

impl ChanVariables<'_> {
    /// The value of the first variable called `name` (case as sent).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.vars
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| &**v)
    }
}

const SUFFIX: &[u8] = b"chanvariable";

/// Whose variable a header name holds, if it is one.
fn owner(name: Text<'_>) -> Option<VarChannel<'_>> {
    let b = name.as_bytes();
    if b.len() > SUFFIX.len() + 2
        && b[..SUFFIX.len()].eq_ignore_ascii_case(SUFFIX)
        && b[SUFFIX.len()] == b'('
        && b[b.len() - 1] == b')'
    {
        return Some(VarChannel::Named(Text(&b[SUFFIX.len() + 1..b.len() - 1])));
    }
    let split = b.len().checked_sub(SUFFIX.len())?;
    b[split..]
        .eq_ignore_ascii_case(SUFFIX)
        .then(|| VarChannel::Snapshot(Text(&b[..split])))
}

/// Whether `name` is a channel variable header, in either form.
pub fn is_chan_variable(name: &str) -> bool {
    owner(Text(name.as_bytes())).is_some()
}

/// Undoes `ast_escape_c`: `\n`, `\t`, `\\`, `\"`... back to the bytes.
pub(crate) fn unescape_c(value: &[u8]) -> Cow<'_, [u8]> {
    if !value.contains(&b'\\') {
        return Cow::Borrowed(value);
    }
    let mut out = Vec::with_capacity(value.len());
    let mut bytes = value.iter();
    while let Some(&c) = bytes.next() {
        if c != b'\\' {
            out.push(c);
            continue;
        }
        match bytes.next() {
            Some(b'a') => out.push(0x07),
            Some(b'b') => out.push(0x08),
            Some(b'f') => out.push(0x0c),
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(b't') => out.push(b'\t'),
            Some(b'v') => out.push(0x0b),
            Some(&other) => out.push(other),
            None => out.push(b'\\'),
        }
    }
    Cow::Owned(out)
}

impl Message {
    /// The channel variables the message carries, per channel in the order
    /// first seen: `ChanVariable: name=value` (with a role prefix such as
    /// `DestChanVariable` for a prefixed channel snapshot; values
    /// C-unescaped) and `ChanVariable(<channel name>): name=value` (values
    /// as sent).
    pub fn chan_variables(&self) -> Vec<ChanVariables<'_>> {
        let mut out: Vec<ChanVariables<'_>> = Vec::new();
        for (name, value) in self.fields() {
            let Some(channel) = owner(name) else {
                continue;
            };
            let raw = value.as_bytes();
            let (n, v) = match raw.iter().position(|&c| c == b'=') {
                Some(eq) => (&raw[..eq], &raw[eq + 1..]),
                None => (raw, &raw[raw.len()..]),
            };
            let v = match channel {
                VarChannel::Snapshot(_) => unescape_c(v),
                VarChannel::Named(_) => Cow::Borrowed(v),
            };
            match out.iter_mut().find(|c| c.channel == channel) {
                Some(c) => c.vars.push((Text(n), v)),
                None => out.push(ChanVariables {
                    channel,
                    vars: vec![(Text(n), v)],
                }),
            }
        }
        out
    }
}
