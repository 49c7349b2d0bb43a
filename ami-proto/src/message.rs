//! One AMI message as it came off the wire: its bytes, and where each
//! line's name and value are in them.

use crate::text::Text;
use bytes::Bytes;
use std::fmt;

/// How lines end on a connection. Asterisk writes `\r\n`; a peer whose
/// banner ends in a bare `\n` is read with bare `\n` line ends instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineEnd {
    /// `\r\n`, as Asterisk writes. A bare `\n` inside a line belongs to it
    /// (Asterisk sometimes leaves one at the end of a value).
    CrLf,
    /// A bare `\n`, with an optional `\r` before it.
    Lf,
}

/// The line that ends the output of a pre-14 `Response: Follows` answer.
pub(crate) const END_COMMAND: &[u8] = b"--END COMMAND--";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn of(bytes: &[u8], span: Span) -> &[u8] {
        &bytes[span.start as usize..span.end as usize]
    }
}

/// A line: `name: value`, or (no colon) text kept whole in `value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LineSpan {
    name: Option<Span>,
    value: Span,
}

/// What a message is, from its first header (never from a header further
/// down: the `OriginateResponse` event carries a `Response` header too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind<'a> {
    /// `Response: <value>`: the answer to an action.
    Response(Text<'a>),
    /// `Event: <name>`.
    Event(Text<'a>),
    /// `Action: <name>`: what a client sends.
    Action(Text<'a>),
    /// Anything else (a message whose first line is none of the above).
    Other,
}

/// One line of a message, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// `Name: value`. The value starts after the colon and one space, and
    /// ends before the line end (and before a stray `\n` or `\r` there).
    Field(Text<'a>, Text<'a>),
    /// A line without a colon (e.g. `No categories found` in `GetConfig`),
    /// kept whole.
    Text(Text<'a>),
}

/// One complete AMI message: its lines in order, repeats kept, names
/// compared without regard to ASCII case, values as the bytes received.
/// The bytes themselves stay available ([`Message::as_bytes`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    bytes: Bytes,
    lines: Vec<LineSpan>,
    /// The raw output of a pre-14 `Response: Follows` answer, up to (not
    /// including) `--END COMMAND--`.
    follows_output: Option<Span>,
}

impl Message {
    /// Reads the lines of one message. `bytes` is the whole message, its
    /// closing empty line included, and shorter than 4 GiB (the decoder's
    /// size limit sees to both).
    pub(crate) fn parse(bytes: Bytes, line_end: LineEnd) -> Message {
        let b = &bytes[..];
        let follows = starts_with_ignore_case(b, b"Response: Follows");
        let mut lines = Vec::with_capacity(16);
        let mut follows_output = None;
        // The output of a `Follows` answer has bare `\n` line ends.
        let line_end = if follows { LineEnd::Lf } else { line_end };
        let mut pos = 0;
        while pos < b.len() {
            let (end, next) = line_at(b, pos, line_end);
            let line = &b[pos..end];
            if line.is_empty() {
                break;
            }
            if follows && !lines.is_empty() && (!is_header_line(b, end) || line == END_COMMAND) {
                let marker = find(b, pos, END_COMMAND).unwrap_or(b.len());
                follows_output = Some(span(pos, marker));
                break;
            }
            lines.push(split_line(line, pos));
            pos = next;
        }
        Message {
            bytes,
            lines,
            follows_output,
        }
    }

    /// What the message is, from its first line.
    pub fn kind(&self) -> Kind<'_> {
        match self.lines().next() {
            Some(Line::Field(name, value)) if name.eq_ignore_case("Response") => {
                Kind::Response(value)
            }
            Some(Line::Field(name, value)) if name.eq_ignore_case("Event") => Kind::Event(value),
            Some(Line::Field(name, value)) if name.eq_ignore_case("Action") => Kind::Action(value),
            _ => Kind::Other,
        }
    }

    /// Every line, in order, repeats included.
    pub fn lines(&self) -> impl Iterator<Item = Line<'_>> + '_ {
        self.lines.iter().map(|l| {
            let value = Text(Span::of(&self.bytes, l.value));
            match l.name {
                Some(name) => Line::Field(Text(Span::of(&self.bytes, name)), value),
                None => Line::Text(value),
            }
        })
    }

    /// Every `Name: value` line, in order, repeats included.
    pub fn fields(&self) -> impl Iterator<Item = (Text<'_>, Text<'_>)> + '_ {
        self.lines().filter_map(|l| match l {
            Line::Field(name, value) => Some((name, value)),
            Line::Text(_) => None,
        })
    }

    /// The value of the first field called `name` (ASCII case ignored), as
    /// Asterisk itself looks headers up.
    pub fn get(&self, name: &str) -> Option<Text<'_>> {
        self.fields()
            .find(|(n, _)| n.eq_ignore_case(name))
            .map(|(_, v)| v)
    }

    /// The values of every field called `name` (ASCII case ignored), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = Text<'a>> + 'a {
        self.fields()
            .filter(move |(n, _)| n.eq_ignore_case(name))
            .map(|(_, v)| v)
    }

    /// The `ActionID` that ties a response, a list item or an event to the
    /// action that caused it (the first one, as Asterisk echoes the first).
    pub fn action_id(&self) -> Option<Text<'_>> {
        self.get("ActionID")
    }

    /// The output of a `Command` action, one line per item, in both forms
    /// Asterisk has used: an `Output` field per line (Asterisk 14 and
    /// later), or the raw text of a `Response: Follows` answer up to
    /// `--END COMMAND--` (before 14).
    pub fn command_output(&self) -> Vec<Text<'_>> {
        match self.follows_output {
            Some(span) => {
                let raw = Span::of(&self.bytes, span);
                let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
                if raw.is_empty() {
                    return Vec::new();
                }
                raw.split(|&c| c == b'\n')
                    .map(|l| Text(l.strip_suffix(b"\r").unwrap_or(l)))
                    .collect()
            }
            None => self.get_all("Output").collect(),
        }
    }

    /// The message exactly as received, its closing empty line included.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for line in self.lines() {
            match line {
                Line::Field(name, value) => list.entry(&format_args!("{name}: {value}")),
                Line::Text(text) => list.entry(&text),
            };
        }
        if self.follows_output.is_some() {
            list.entry(&self.command_output());
        }
        list.finish()
    }
}

fn span(start: usize, end: usize) -> Span {
    // The decoder's size limit keeps offsets within u32.
    Span {
        start: start as u32,
        end: end as u32,
    }
}

/// The end of the line starting at `pos` (line end excluded) and where the
/// next line starts.
fn line_at(b: &[u8], pos: usize, line_end: LineEnd) -> (usize, usize) {
    let mut from = pos;
    while let Some(nl) = memchr::memchr(b'\n', &b[from..]).map(|i| from + i) {
        let cr = nl > pos && b[nl - 1] == b'\r';
        match (line_end, cr) {
            (_, true) => return (nl - 1, nl + 1),
            (LineEnd::Lf, false) => return (nl, nl + 1),
            // A bare `\n` inside a `\r\n` line belongs to the line.
            (LineEnd::CrLf, false) => from = nl + 1,
        }
    }
    (b.len(), b.len())
}

/// Whether the line ending at `end` is a `Name: value` line ending in
/// `\r\n` (in a `Response: Follows` answer, the output's lines end in a
/// bare `\n`).
fn is_header_line(b: &[u8], end: usize) -> bool {
    b.get(end..end + 2) == Some(b"\r\n")
}

fn split_line(line: &[u8], at: usize) -> LineSpan {
    let trimmed = line.len()
        - line
            .iter()
            .rev()
            .take_while(|&&c| c == b'\n' || c == b'\r')
            .count();
    match memchr::memchr(b':', line) {
        Some(colon) => {
            let value_start = if line.get(colon + 1) == Some(&b' ') {
                colon + 2
            } else {
                colon + 1
            };
            LineSpan {
                name: Some(span(at, at + colon)),
                value: span(at + value_start.min(trimmed), at + trimmed),
            }
        }
        None => LineSpan {
            name: None,
            value: span(at, at + trimmed),
        },
    }
}

fn starts_with_ignore_case(b: &[u8], prefix: &[u8]) -> bool {
    b.len() >= prefix.len() && b[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// The first offset at or after `from` where `needle` starts.
pub(crate) fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(b.get(from..)?, needle).map(|i| from + i)
}
