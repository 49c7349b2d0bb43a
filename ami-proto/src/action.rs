//! Actions: what a client sends, encoded as Asterisk reads them.

use std::fmt;

/// Asterisk reads at most this many lines of one action, `Action:` included
/// (`AST_MAX_MANHEADERS`); it refuses more.
pub const MAX_LINES: usize = 128;

/// The longest line Asterisk reads, its `\r\n` excluded: its line buffer
/// holds 1,024 bytes, line end included.
pub const MAX_LINE: usize = 1022;

/// Header names whose values are never shown by `Debug`.
const SECRET_HEADERS: &[&str] = &["Secret", "Key"];

/// One action: its name and its headers in order (repeats allowed, e.g.
/// one `Variable` per channel variable). The `ActionID` is the session's
/// business and is given when encoding.
#[derive(Clone, PartialEq, Eq)]
pub struct Action {
    name: String,
    headers: Vec<(String, String)>,
}

/// An action Asterisk would not read as it was meant.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A header name that is empty or holds a colon, a space or a line break.
    #[error("invalid header name {0:?}")]
    InvalidName(String),
    /// A value with a line break would end its line early, and the rest
    /// would be read as another header.
    #[error("the value of {0} holds a line break")]
    LineBreak(String),
    /// A line longer than Asterisk reads (it would answer "line too long").
    #[error("the {name} line is {len} bytes; Asterisk reads at most {MAX_LINE}")]
    LineTooLong {
        /// The header's name.
        name: String,
        /// The line's length without its line end.
        len: usize,
    },
    /// More lines than Asterisk reads in one action.
    #[error("{0} lines; Asterisk reads at most {MAX_LINES} per action")]
    TooManyLines(usize),
}

impl Action {
    /// An action called `name` (e.g. `Originate`), with no headers yet.
    pub fn new(name: impl Into<String>) -> Action {
        Action {
            name: name.into(),
            headers: Vec::new(),
        }
    }

    /// Adds a header (after the ones already there).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Action {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The action's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The headers, in order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// Writes the action as Asterisk reads it: `Action:` first, then
    /// `ActionID:` if given, then the headers in order, each line ending in
    /// `\r\n`, then an empty line. Nothing is written if it fails.
    pub fn encode(&self, action_id: Option<&str>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let lines = 1 + usize::from(action_id.is_some()) + self.headers.len();
        if lines > MAX_LINES {
            return Err(EncodeError::TooManyLines(lines));
        }
        let id = action_id.map(|id| ("ActionID", id));
        let all = std::iter::once(("Action", self.name.as_str()))
            .chain(id)
            .chain(self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let start = out.len();
        for (name, value) in all {
            if let Err(e) = check(name, value) {
                out.truncate(start);
                return Err(e);
            }
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        Ok(())
    }
}

fn check(name: &str, value: &str) -> Result<(), EncodeError> {
    if name.is_empty()
        || name
            .bytes()
            .any(|c| matches!(c, b':' | b' ' | b'\r' | b'\n'))
    {
        return Err(EncodeError::InvalidName(name.to_string()));
    }
    if value.bytes().any(|c| c == b'\r' || c == b'\n') {
        return Err(EncodeError::LineBreak(name.to_string()));
    }
    let len = name.len() + 2 + value.len();
    if len > MAX_LINE {
        return Err(EncodeError::LineTooLong {
            name: name.to_string(),
            len,
        });
    }
    Ok(())
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Action");
        s.field("name", &self.name);
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                let secret = SECRET_HEADERS.iter().any(|s| n.eq_ignore_ascii_case(s));
                (n.as_str(), if secret { "<redacted>" } else { v.as_str() })
            })
            .collect();
        s.field("headers", &headers).finish()
    }
}

/// What the XML (and ami-codegen's overrides) say about one action type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActionInfo {
    /// `Action:`.
    pub name: &'static str,
    /// The Asterisk versions the XML gives as `since`.
    pub since: &'static [&'static str],
    /// The releases whose XML documents it, of those generated from.
    pub releases: &'static [&'static str],
    /// The event that ends its event list, if it answers with one.
    pub list_complete: Option<&'static str>,
}

/// One header an action type declares, as
/// [`actions::ALL_ACTIONS`](crate::actions::ALL_ACTIONS) lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeaderInfo {
    /// Its name; in a numbered group a template, where `{n}` stands for
    /// 0, 1, ... and `{n6}` for 000000, 000001, ... (empty when `free`).
    pub name: &'static str,
    /// The action needs it.
    pub required: bool,
    /// Sent once per item (`Variable`).
    pub repeated: bool,
    /// Stands for headers of the caller's choosing (`UserEvent`'s).
    pub free: bool,
    /// The values the documentation lists, if any.
    pub values: &'static [&'static str],
}

impl HeaderInfo {
    /// Whether a header called `header` is this one (case-insensitive, as
    /// Asterisk reads names; a template takes any number in its place).
    pub fn matches(&self, header: &str) -> bool {
        if self.free {
            return false;
        }
        let (pre, post, width) = if let Some((a, b)) = self.name.split_once("{n6}") {
            (a, b, Some(6))
        } else if let Some((a, b)) = self.name.split_once("{n}") {
            (a, b, None)
        } else {
            return header.eq_ignore_ascii_case(self.name);
        };
        let h = header.as_bytes();
        if h.len() < pre.len() + post.len()
            || !h[..pre.len()].eq_ignore_ascii_case(pre.as_bytes())
            || !h[h.len() - post.len()..].eq_ignore_ascii_case(post.as_bytes())
        {
            return false;
        }
        let digits = &h[pre.len()..h.len() - post.len()];
        !digits.is_empty()
            && digits.iter().all(u8::is_ascii_digit)
            && width.is_none_or(|w| digits.len() == w)
    }
}

/// A typed action: what it is and the [`Action`] it sends.
pub trait ToAction {
    /// `Action:`.
    const NAME: &'static str;
    /// Facts about the action.
    const INFO: &'static ActionInfo;
    /// The action with its headers, in declaration order (the session adds
    /// the `ActionID`).
    fn to_action(&self) -> Action;
}

impl<T: ToAction> From<T> for Action {
    fn from(typed: T) -> Action {
        typed.to_action()
    }
}

#[cfg(test)]
mod tests {
    use crate::actions::ALL_ACTIONS;

    fn headers(name: &str) -> &'static [crate::HeaderInfo] {
        ALL_ACTIONS
            .iter()
            .find(|(info, _)| info.name == name)
            .map(|(_, h)| *h)
            .unwrap()
    }

    #[test]
    fn every_action_is_listed_with_its_headers() {
        assert!(ALL_ACTIONS.len() > 150);
        let originate = headers("Originate");
        let channel = originate.iter().find(|h| h.matches("channel")).unwrap();
        assert!(channel.required && !channel.repeated);
        assert!(
            originate
                .iter()
                .any(|h| h.matches("Variable") && h.repeated)
        );
        assert!(!originate.iter().any(|h| h.matches("Bogus")));
        assert!(headers("UserEvent").iter().any(|h| h.free));
        let update = headers("UpdateConfig");
        assert!(update.iter().any(|h| h.matches("Action-000000")));
        assert!(update.iter().any(|h| h.matches("cat-000012")));
        assert!(!update.iter().any(|h| h.matches("Action-0")));
        for (info, _) in ALL_ACTIONS {
            let lists = crate::actions::LIST_ACTIONS
                .iter()
                .find(|(a, _)| *a == info.name)
                .map(|(_, c)| *c);
            assert_eq!(info.list_complete, lists, "{}", info.name);
        }
    }
}
