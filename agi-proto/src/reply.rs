//! What Asterisk writes to an AGI script: the environment block, then
//! replies (`200 result=...`, `510 ...`, `511 ...`, multi-line `520-`
//! usage blocks, `1xx` interim lines) and `HANGUP` notices, each ending in
//! `\n`.

use crate::Text;
use crate::request::Request;
use std::fmt;

/// One reply: its code and every byte of it (all its lines, each with its
/// `\n`, for a `520-` block or a value that spans lines).
///
/// For a `200` reply, the text after the code reads as `result=<value>`,
/// then optionally ` (<data>)`, then ` key=value` pairs or words. Data in
/// parentheses is not escaped: it may hold parentheses, spaces and even
/// ` endpos=`, so [`data`](Reply::data) takes it to the **last** `)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Reply {
    raw: Vec<u8>,
    code: u16,
}

/// Why a reply does not read as the command's result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// `510 Invalid or unknown command`: Asterisk has no such command (or
    /// its module is not loaded).
    #[error("Asterisk does not know the command (510)")]
    InvalidCommand,
    /// `511 Command Not Permitted on a dead channel or intercept routine`.
    #[error("not permitted on a dead channel (511)")]
    DeadChannel,
    /// `520`: Asterisk refused the arguments; `usage` is the usage text it
    /// sent (empty when it had none).
    #[error("Asterisk refused the arguments (520)")]
    Usage {
        /// The lines between `520-...` and `520 End of proper usage.`.
        usage: Text,
    },
    /// Another code, e.g. `503 result=-2 Memory allocation failure` from
    /// `GOSUB`.
    #[error("Asterisk answered {code}: {text}")]
    Failure {
        /// The code.
        code: u16,
        /// The text after it.
        text: Text,
    },
    /// A `200` reply that is not what this command answers.
    #[error("unexpected reply {0:?}")]
    Unexpected(Reply),
}

fn find(hay: &[u8], needle: u8) -> Option<usize> {
    hay.iter().position(|&c| c == needle)
}

impl Reply {
    /// Reads one complete reply (`\n`s included). `None` if it does not
    /// start with a three-digit code followed by a space, a `-` or its end.
    pub fn parse(raw: &[u8]) -> Option<Reply> {
        let code = code_of(raw)?;
        Some(Reply {
            raw: raw.to_vec(),
            code,
        })
    }

    /// The three-digit code: `100` interim, `200` done, `510` unknown
    /// command, `511` dead channel, `520` bad usage.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// Whether it is an interim `1xx` line (more follows for the command).
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.code)
    }

    /// Every byte of the reply, line ends included.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The reply without its final `\n`.
    fn body(&self) -> &[u8] {
        self.raw.strip_suffix(b"\n").unwrap_or(&self.raw)
    }

    /// What follows the code and its separator (all lines, for a block).
    pub fn text(&self) -> &[u8] {
        self.body().get(4..).unwrap_or_default()
    }

    /// The value of `result=` (up to the first space), if the text starts
    /// with it. It may be empty (`200 result= (timeout)`).
    pub fn result(&self) -> Option<&[u8]> {
        let t = self.text().strip_prefix(b"result=")?;
        Some(&t[..find(t, b' ').unwrap_or(t.len())])
    }

    /// [`result`](Reply::result) as a number.
    pub fn result_int(&self) -> Option<i64> {
        let r = std::str::from_utf8(self.result()?).ok()?;
        r.parse().ok()
    }

    /// What follows the result value and one space.
    pub fn rest(&self) -> &[u8] {
        let t = self.text();
        match t.strip_prefix(b"result=") {
            Some(after) => match find(after, b' ') {
                Some(i) => &after[i + 1..],
                None => &[],
            },
            None => t,
        }
    }

    /// The data in parentheses after the result, up to the last `)` of the
    /// reply; `None` if the rest does not start with `(`.
    pub fn data(&self) -> Option<&[u8]> {
        let rest = self.rest().strip_prefix(b"(")?;
        let close = rest.iter().rposition(|&c| c == b')')?;
        Some(&rest[..close])
    }

    /// What follows the data (or the result, when there is no data).
    fn after_data(&self) -> &[u8] {
        let rest = self.rest();
        if let Some(inner) = rest.strip_prefix(b"(")
            && let Some(close) = inner.iter().rposition(|&c| c == b')')
        {
            return &inner[close + 1..];
        }
        rest
    }

    /// The `key=value` pairs after the data (`endpos=...`, `digit=...`,
    /// `score0=...`), in order; a value in double quotes may hold spaces.
    pub fn pairs(&self) -> Vec<(&[u8], &[u8])> {
        pairs_of(self.after_data())
    }

    /// The first value of `key` among [`pairs`](Reply::pairs).
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.pairs()
            .into_iter()
            .find(|(k, _)| *k == key.as_bytes())
            .map(|(_, v)| v)
    }

    /// `endpos=` as a number.
    pub fn endpos(&self) -> Option<i64> {
        std::str::from_utf8(self.get("endpos")?).ok()?.parse().ok()
    }

    /// For a `520` block, the usage text between its first and last lines.
    pub fn usage(&self) -> Option<&[u8]> {
        if self.code != 520 {
            return None;
        }
        let body = self.body();
        let first = find(body, b'\n')?;
        let last = body.iter().rposition(|&c| c == b'\n')?;
        Some(if last > first {
            &body[first + 1..last]
        } else {
            &[]
        })
    }

    /// `Ok` for a `2xx` reply, else the error it stands for.
    pub fn check_status(&self) -> Result<(), ReplyError> {
        match self.code {
            200..=299 => Ok(()),
            510 => Err(ReplyError::InvalidCommand),
            511 => Err(ReplyError::DeadChannel),
            520 => Err(ReplyError::Usage {
                usage: self.usage().unwrap_or_default().into(),
            }),
            code => Err(ReplyError::Failure {
                code,
                text: self.text().into(),
            }),
        }
    }
}

/// The `key=value` tokens of `s`, in order.
pub(crate) fn pairs_of(s: &[u8]) -> Vec<(&[u8], &[u8])> {
    tokens(s)
        .into_iter()
        .filter_map(|t| {
            let eq = find(t, b'=')?;
            let (k, v) = (&t[..eq], &t[eq + 1..]);
            let key = !k.is_empty() && k.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
            key.then_some((k, v))
        })
        .collect()
}

/// Splits at spaces; a token may hold a double-quoted part with spaces
/// (`text0="hello world"`).
fn tokens(s: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] == b' ' {
            i += 1;
            continue;
        }
        let start = i;
        let mut quoted = false;
        while i < s.len() && (quoted || s[i] != b' ') {
            if s[i] == b'"' {
                quoted = !quoted;
            }
            i += 1;
        }
        out.push(&s[start..i]);
    }
    out
}

/// The code of a reply line: three digits, then a space, a `-` or the end.
fn code_of(line: &[u8]) -> Option<u16> {
    let digits = line.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) || digits[0] == b'0' {
        return None;
    }
    match line.get(3) {
        None | Some(b' ' | b'-' | b'\n') => {}
        _ => return None,
    }
    Some(
        digits
            .iter()
            .fold(0u16, |n, d| n * 10 + u16::from(d - b'0')),
    )
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reply({:?})", String::from_utf8_lossy(self.body()))
    }
}

/// Bytes that are not part of the protocol; the decoder skips them and
/// goes on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A line that is neither a reply nor `HANGUP` (its first bytes).
    #[error("not a reply: {0:?}")]
    NotAReply(Text),
    /// A reply longer than the limit: it is skipped to its end.
    #[error("a reply longer than {0} bytes")]
    ReplyTooLong(usize),
    /// An environment block longer than the limit: the rest of it is
    /// skipped up to its blank line.
    #[error("an environment block longer than {0} bytes")]
    RequestTooLong(usize),
    /// The stream ended inside a line or a block.
    #[error("the stream ended inside a reply ({0} bytes)")]
    Incomplete(usize),
}

/// One unit of what Asterisk writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// The environment block (always first on FastAGI and process AGI).
    Request(Box<Request>),
    /// A reply (an interim `1xx` one included).
    Reply(Reply),
    /// `HANGUP`: the channel hung up (or the session is ending). Not a reply.
    Hangup,
    /// Bytes that are not part of the protocol, skipped.
    Malformed(DecodeError),
}

/// Size limits of the [`Decoder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The longest reply (all its lines), in bytes. `GET FULL VARIABLE`
    /// and `DATABASE GET` have no limit of their own.
    pub max_reply: usize,
    /// The longest environment block, in bytes.
    pub max_request: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_reply: 1 << 20,
            max_request: 64 * 1024,
        }
    }
}

#[derive(Clone, Debug)]
enum State {
    /// Reading the environment block: its lines so far, each ending `\n`.
    Request(Vec<u8>),
    /// Skipping an over-long environment block up to its blank line.
    SkipRequest,
    /// Between replies.
    Replies,
    /// Inside a `NNN-` block, until a line `NNN `.
    Block(Vec<u8>),
    /// Inside a value that spans lines, until a line ending in `)`.
    Value(Vec<u8>),
    /// Skipping the rest of an over-long `NNN-` block, up to its last line.
    SkipBlock([u8; 3]),
    /// Skipping the rest of an over-long value, up to a line ending in `)`.
    SkipValue,
}

/// One line, as the state machine sees it.
#[derive(Debug)]
enum Line {
    /// A line within the limit, its `\n` included.
    Whole(Vec<u8>),
    /// A line over the limit, dropped as it came: its first bytes (up to
    /// four: enough for a code and its separator) and its last byte
    /// before the `\n`.
    TooLong { head: Vec<u8>, last: Option<u8> },
}

impl Line {
    fn head(&self) -> &[u8] {
        match self {
            Line::Whole(l) => &l[..l.len().min(4)],
            Line::TooLong { head, .. } => head,
        }
    }

    /// Whether it ends in `)` (before its `\n`).
    fn closes(&self) -> bool {
        match self {
            Line::Whole(l) => l.ends_with(b")\n"),
            Line::TooLong { last, .. } => *last == Some(b')'),
        }
    }
}

/// Cuts what Asterisk writes into [`Frame`]s, whatever the bytes and
/// wherever they are split: lines are cut first (a line over the limit is
/// dropped as it comes, keeping its first and last bytes), and every
/// decision is made on whole lines, so the frames never depend on the
/// cuts. It holds at most one unfinished reply (bounded by [`Limits`]);
/// nothing in the input makes it panic.
#[derive(Clone, Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Where in `buf` to look for the next `\n`.
    scanned: usize,
    state: State,
    limits: Limits,
    value_reply: bool,
    /// Dropping a line over the limit: its first bytes and last byte so far.
    dropping: Option<(Vec<u8>, Option<u8>)>,
}

impl Decoder {
    /// A decoder that expects the environment block first (FastAGI and
    /// process AGI).
    pub fn new(limits: Limits) -> Decoder {
        Decoder {
            buf: Vec::new(),
            scanned: 0,
            state: State::Request(Vec::new()),
            limits,
            value_reply: false,
            dropping: None,
        }
    }

    /// A decoder for replies only (AsyncAGI results).
    pub fn replies(limits: Limits) -> Decoder {
        Decoder {
            state: State::Replies,
            ..Decoder::new(limits)
        }
    }

    /// Says whether the next reply may carry a free value in parentheses
    /// that spans lines (the command in flight has
    /// [`value_reply`](crate::CommandInfo::value_reply)): a `200` line
    /// whose `(` is not closed at its end then goes on to the next line
    /// that ends in `)`.
    pub fn expect_value(&mut self, yes: bool) {
        self.value_reply = yes;
    }

    /// Whether the environment block is still to come.
    pub fn awaiting_request(&self) -> bool {
        matches!(self.state, State::Request(..) | State::SkipRequest)
    }

    /// Bytes from Asterisk.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The bytes held: fed and not yet made into frames.
    pub fn buffered(&self) -> usize {
        self.buf.len()
            + match &self.state {
                State::Block(b) | State::Value(b) => b.len(),
                _ => 0,
            }
    }

    /// The longest line (its `\n` not counted) of the current state.
    fn limit(&self) -> usize {
        match self.state {
            State::Request(..) | State::SkipRequest => self.limits.max_request,
            _ => self.limits.max_reply,
        }
    }

    /// The next complete frame, if the bytes fed hold one.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            let limit = self.limit();
            let nl = self.buf[self.scanned..]
                .iter()
                .position(|&c| c == b'\n')
                .map(|i| self.scanned + i);
            let Some(nl) = nl else {
                if self.buf.len() > limit {
                    self.drop_buffered();
                }
                // The environment or a long value made it grow: an idle
                // session keeps none of that.
                if self.buf.is_empty() && self.buf.capacity() > 256 {
                    self.buf = Vec::new();
                }
                self.scanned = self.buf.len();
                return None;
            };
            let mut bytes: Vec<u8> = self.buf.drain(..=nl).collect();
            self.scanned = 0;
            let line = match self.dropping.take() {
                Some((mut head, last)) => {
                    let content = &bytes[..bytes.len() - 1];
                    let keep = 4usize.saturating_sub(head.len()).min(content.len());
                    head.extend_from_slice(&content[..keep]);
                    Line::TooLong {
                        head,
                        last: content.last().copied().or(last),
                    }
                }
                None if bytes.len() - 1 > limit => {
                    bytes.pop();
                    Line::TooLong {
                        head: bytes[..4.min(bytes.len())].to_vec(),
                        last: bytes.last().copied(),
                    }
                }
                None => Line::Whole(bytes),
            };
            if let Some(frame) = self.on_line(line) {
                return Some(frame);
            }
        }
    }

    /// Drops the start of a line over the limit, keeping its first bytes
    /// and its last byte so far.
    fn drop_buffered(&mut self) {
        let (head, last) = self.dropping.get_or_insert_with(|| (Vec::new(), None));
        let keep = 4usize.saturating_sub(head.len()).min(self.buf.len());
        head.extend_from_slice(&self.buf[..keep]);
        if let Some(&b) = self.buf.last() {
            *last = Some(b);
        }
        self.buf.clear();
    }

    /// The stream ended: what is left over, if anything, as a frame.
    pub fn finish(&mut self) -> Option<Frame> {
        self.scanned = 0;
        if let Some((head, last)) = self.dropping.take() {
            // It never ended: an over-long line all the same.
            self.buf.clear();
            let frame = self.on_line(Line::TooLong { head, last });
            self.state = State::Replies;
            return frame;
        }
        let left = self.buffered();
        self.buf.clear();
        let was = std::mem::replace(&mut self.state, State::Replies);
        match was {
            State::Request(lines) if !lines.is_empty() || left > 0 => {
                Some(Frame::Malformed(DecodeError::Incomplete(left)))
            }
            // Bytes of something already reported too long.
            State::SkipBlock(_) | State::SkipValue | State::SkipRequest => None,
            _ if left > 0 => Some(Frame::Malformed(DecodeError::Incomplete(left))),
            _ => None,
        }
    }

    fn too_long(&self) -> Option<Frame> {
        Some(Frame::Malformed(DecodeError::ReplyTooLong(
            self.limits.max_reply,
        )))
    }

    fn on_line(&mut self, line: Line) -> Option<Frame> {
        match std::mem::replace(&mut self.state, State::Replies) {
            State::Request(mut lines) => {
                let Line::Whole(bytes) = line else {
                    self.state = State::SkipRequest;
                    return Some(Frame::Malformed(DecodeError::RequestTooLong(
                        self.limits.max_request,
                    )));
                };
                if bytes == b"\n" {
                    return Some(Frame::Request(Box::new(Request::from_block(lines, true))));
                }
                if lines.len() + bytes.len() > self.limits.max_request {
                    self.state = State::SkipRequest;
                    return Some(Frame::Malformed(DecodeError::RequestTooLong(
                        self.limits.max_request,
                    )));
                }
                lines.extend_from_slice(&bytes);
                self.state = State::Request(lines);
                None
            }
            State::SkipRequest => {
                if !matches!(&line, Line::Whole(b) if b == b"\n") {
                    self.state = State::SkipRequest;
                }
                None
            }
            State::SkipBlock(code) => {
                if !ends_block(line.head(), &code) {
                    self.state = State::SkipBlock(code);
                }
                None
            }
            State::SkipValue => {
                if !line.closes() {
                    self.state = State::SkipValue;
                }
                None
            }
            State::Block(mut block) => {
                let code = code3(&block);
                let done = ends_block(line.head(), &code);
                let Line::Whole(bytes) = line else {
                    if !done {
                        self.state = State::SkipBlock(code);
                    }
                    return self.too_long();
                };
                block.extend_from_slice(&bytes);
                if block.len() > self.limits.max_reply {
                    if !done {
                        self.state = State::SkipBlock(code);
                    }
                    return self.too_long();
                }
                if done {
                    return Reply::parse(&block).map(Frame::Reply);
                }
                self.state = State::Block(block);
                None
            }
            State::Value(mut value) => {
                let closes = line.closes();
                let Line::Whole(bytes) = line else {
                    if !closes {
                        self.state = State::SkipValue;
                    }
                    return self.too_long();
                };
                value.extend_from_slice(&bytes);
                if value.len() > self.limits.max_reply {
                    if !closes {
                        self.state = State::SkipValue;
                    }
                    return self.too_long();
                }
                if closes {
                    return Reply::parse(&value).map(Frame::Reply);
                }
                self.state = State::Value(value);
                None
            }
            State::Replies => {
                let bytes = match line {
                    Line::Whole(bytes) => bytes,
                    Line::TooLong { head, last } => {
                        // What follows an over-long first line still
                        // belongs to it: the rest of a block, or of a value.
                        if head.get(3) == Some(&b'-') && code_of(&head).is_some() {
                            self.state = State::SkipBlock(code3(&head));
                        } else if self.value_reply
                            && code_of(&head) == Some(200)
                            && last != Some(b')')
                        {
                            self.state = State::SkipValue;
                        }
                        return self.too_long();
                    }
                };
                if bytes == b"HANGUP\n" {
                    return Some(Frame::Hangup);
                }
                let Some(code) = code_of(&bytes) else {
                    let shown = &bytes[..bytes.len().min(80)];
                    return Some(Frame::Malformed(DecodeError::NotAReply(shown.into())));
                };
                if bytes.get(3) == Some(&b'-') {
                    self.state = State::Block(bytes);
                    return None;
                }
                if self.value_reply && code == 200 && opens_value(&bytes) {
                    self.state = State::Value(bytes);
                    return None;
                }
                Reply::parse(&bytes).map(Frame::Reply)
            }
        }
    }
}

/// The code of a block's first line.
fn code3(block: &[u8]) -> [u8; 3] {
    let mut c = [0; 3];
    c.copy_from_slice(&block[..3]);
    c
}

/// Whether `line` ends the block whose code is `code`: `NNN ` at its start.
fn ends_block(line: &[u8], code: &[u8; 3]) -> bool {
    line.get(..3) == Some(&code[..]) && line.get(3) == Some(&b' ')
}

/// A `200 result=N (` line whose parenthesis is not closed at its end: the
/// value went on past a line break.
fn opens_value(line: &[u8]) -> bool {
    let Some(reply) = Reply::parse(line) else {
        return false;
    };
    reply.rest().starts_with(b"(") && !line.ends_with(b")\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<Frame> {
        let mut d = Decoder::replies(Limits::default());
        d.feed(input);
        std::iter::from_fn(|| d.next_frame()).collect()
    }

    fn reply(s: &str) -> Reply {
        Reply::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn the_reply_grammar() {
        let r = reply("200 result=1 (x) endpos=1 (y)\n");
        assert_eq!(r.result(), Some(&b"1"[..]));
        assert_eq!(r.data(), Some(&b"x) endpos=1 (y"[..]));
        assert_eq!(r.endpos(), None);
        let r = reply("200 result=35 endpos=13760\n");
        assert_eq!(
            (r.result_int(), r.endpos(), r.data()),
            (Some(35), Some(13760), None)
        );
        let r = reply("200 result= (timeout)\n");
        assert_eq!(r.result(), Some(&b""[..]));
        assert_eq!(r.data(), Some(&b"timeout"[..]));
        let r =
            reply("200 result=1 (speech) endpos=0 results=1 score0=900 text0=\"a b\" grammar0=g\n");
        assert_eq!(r.get("text0"), Some(&b"\"a b\""[..]));
        assert_eq!(r.get("grammar0"), Some(&b"g"[..]));
        let r = reply("200 result=-1 (hangup) endpos=77\n");
        assert_eq!(r.endpos(), Some(77));
        let r = reply("200 result=0 Gosub complete\n");
        assert_eq!(r.rest(), b"Gosub complete");
        assert_eq!(
            reply("510 Invalid or unknown command\n").check_status(),
            Err(ReplyError::InvalidCommand)
        );
        assert!(Reply::parse(b"HANGUP\n").is_none());
        assert!(Reply::parse(b"2000 x").is_none());
        assert!(Reply::parse(b"020 x").is_none());
        assert_eq!(reply("200").result(), None);
    }

    #[test]
    fn blocks_hangups_and_garbage() {
        let got = frames(
            b"HANGUP\n520-Invalid command syntax.  Proper usage follows:\nUsage: x\n520-ish\n\
              520 End of proper usage.\nwhat\n100 result=0 Trying...\n",
        );
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0], Frame::Hangup);
        let Frame::Reply(block) = &got[1] else {
            panic!()
        };
        assert_eq!(block.usage(), Some(&b"Usage: x\n520-ish"[..]));
        assert!(matches!(&got[2], Frame::Malformed(DecodeError::NotAReply(t)) if t == "what\n"));
        let Frame::Reply(interim) = &got[3] else {
            panic!()
        };
        assert!(interim.is_interim());
    }

    #[test]
    fn values_that_span_lines_only_when_asked() {
        let input = b"200 result=1 (line one\nline two)\n";
        let mut d = Decoder::replies(Limits::default());
        d.expect_value(true);
        d.feed(input);
        let Some(Frame::Reply(r)) = d.next_frame() else {
            panic!()
        };
        assert_eq!(r.data(), Some(&b"line one\nline two"[..]));
        assert_eq!(d.next_frame(), None);
        let got = frames(input);
        assert_eq!(got.len(), 2);
        assert!(matches!(got[1], Frame::Malformed(_)));
    }

    /// Fuzz finding: a block cut off in the middle of a line; the line's
    /// tail (`...520 x`) looked like the block's last line when the bytes
    /// came one at a time, not when they came whole.
    #[test]
    fn the_tail_of_a_cut_line_ends_nothing() {
        let limits = Limits {
            max_reply: 16,
            max_request: 16,
        };
        for input in [
            // Cut after the ninth `x`: the tail is `520 x`.
            &b"520-abc\nxxxxxxxxx520 x\n200 result=0\n"[..],
            // Cut after 17 bytes: the tail is a bare `\n`.
            b"agi_a: 1\nagi_b: 2222222222\n\n200 result=0\n",
            // Cut inside the block's last line, which still ends it.
            b"520-ab\n520 Endxxxxxxxxx\n200 result=0\n",
            b"520-abcdefgh\n520 End\n200 result=0\n",
            b"520-abcdefghijk\n520 End\n200 result=0\n",
            // A value cut right after its closing `)`.
            b"200 result=1 (a\nbcdefghijklmnopqr)\n200 result=0\n",
        ] {
            let run = |bytewise: bool| {
                let mut d = Decoder::new(limits);
                let mut out = Vec::new();
                if !input.starts_with(b"agi_") {
                    d = Decoder::replies(limits);
                }
                d.expect_value(true);
                if bytewise {
                    for b in input {
                        d.feed(std::slice::from_ref(b));
                        out.extend(std::iter::from_fn(|| d.next_frame()));
                    }
                } else {
                    d.feed(input);
                    out.extend(std::iter::from_fn(|| d.next_frame()));
                }
                out
            };
            let whole = run(false);
            assert_eq!(run(true), whole, "{}", String::from_utf8_lossy(input));
            // Where the block did end, the reply after it comes through.
            let ended = !input.starts_with(b"520-abc\n");
            assert_eq!(
                matches!(whole.last(), Some(Frame::Reply(_))),
                ended,
                "{whole:?}"
            );
        }
    }

    #[test]
    fn long_lines_are_bounded() {
        let limits = Limits {
            max_reply: 16,
            max_request: 32,
        };
        let mut d = Decoder::replies(limits);
        d.feed(&[b'x'; 40]);
        assert_eq!(d.next_frame(), None);
        assert!(d.buffered() <= 16, "dropped as it comes");
        d.feed(b"xxxx\n200 result=0\n");
        assert_eq!(
            d.next_frame(),
            Some(Frame::Malformed(DecodeError::ReplyTooLong(16)))
        );
        assert!(matches!(d.next_frame(), Some(Frame::Reply(_))));
        // A long line that comes whole is as long.
        d.feed(&[b'y'; 17]);
        d.feed(b"\n");
        assert_eq!(
            d.next_frame(),
            Some(Frame::Malformed(DecodeError::ReplyTooLong(16)))
        );
        assert!(d.buffered() == 0);
        let mut d = Decoder::new(limits);
        d.feed(b"agi_a: 1\nagi_b: 2222222222222222222222222222\nagi_c: 3\n\n200 result=0\n");
        assert_eq!(
            d.next_frame(),
            Some(Frame::Malformed(DecodeError::RequestTooLong(32)))
        );
        assert!(matches!(d.next_frame(), Some(Frame::Reply(_))));
        d.feed(b"200 result=");
        assert_eq!(
            d.finish(),
            Some(Frame::Malformed(DecodeError::Incomplete(11)))
        );
    }
}
