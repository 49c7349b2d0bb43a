//! Cutting the bytes Asterisk sends into a banner and messages.

use crate::message::{END_COMMAND, LineEnd, Message, find};
use bytes::BytesMut;

/// The default [`Decoder`] limit on one message: far above any real
/// `Command` or `GetConfig` answer, low enough to stop a runaway peer.
pub const DEFAULT_MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// The most a banner line may take before the peer is deemed not to speak AMI.
const MAX_BANNER: usize = 1024;

/// The first line of an AMI connection, e.g. `Asterisk Call Manager/11.0.0`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Banner {
    line: String,
}

impl Banner {
    /// The whole line, without its line end (bytes that are not UTF-8 replaced).
    pub fn line(&self) -> &str {
        &self.line
    }

    /// What comes before the last `/`: `Asterisk Call Manager` from Asterisk.
    pub fn product(&self) -> &str {
        self.line.rsplit_once('/').map_or(&self.line, |(p, _)| p)
    }

    /// What comes after the last `/`: the AMI version (not Asterisk's), e.g.
    /// `11.0.0` from Asterisk 22; empty if the line has no `/`.
    pub fn version(&self) -> &str {
        self.line.rsplit_once('/').map_or("", |(_, v)| v)
    }
}

/// What the decoder cut from the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// The first line of the connection.
    Banner(Banner),
    /// One message.
    Message(Message),
}

/// Bytes the decoder could not make into a frame. After `TooLarge` the
/// decoder goes on with the next message; after `BannerTooLong` it takes
/// nothing more from the peer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A message grew past the limit before it ended; its bytes were
    /// dropped up to its end.
    #[error("an AMI message grew past {limit} bytes and was skipped")]
    TooLarge {
        /// The decoder's limit in bytes.
        limit: usize,
    },
    /// The first line was longer than any AMI banner: the peer does not
    /// speak AMI, and the decoder drops whatever it sends from now on.
    #[error("the peer's first line is longer than {MAX_BANNER} bytes: not an AMI banner")]
    BannerTooLong,
}

/// Turns the bytes read from an AMI connection into its banner and then
/// one [`Message`] per message, in order, with no I/O of its own: feed it
/// what the socket gave ([`Decoder::feed`]), then take frames
/// ([`Decoder::next_frame`]) until it has none.
///
/// A message ends at its first empty line; a pre-14 `Response: Follows`
/// answer ends at `--END COMMAND--` and the empty line after it, whatever
/// its output holds. Lines end as the banner's line ends (`\r\n` from
/// Asterisk; see [`LineEnd`]). Empty lines between messages are skipped.
#[derive(Debug)]
pub struct Decoder {
    buf: BytesMut,
    banner_read: bool,
    /// The peer sent no banner: nothing more is read.
    refused: bool,
    line_end: LineEnd,
    max_message: usize,
    /// Bytes at the buffer's start already searched for the current
    /// message's end.
    searched: usize,
    /// The current message starts `Response: Follows` (known once its
    /// first 17 bytes or its first line end are here).
    follows: Option<bool>,
    /// The current message is past the limit: its bytes are dropped until
    /// it ends.
    skipping: bool,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DEFAULT_MAX_MESSAGE)
    }
}

impl Decoder {
    /// A decoder for a new connection (expecting the banner first) that
    /// refuses messages longer than `max_message` bytes (at most 4 GiB).
    pub fn new(max_message: usize) -> Decoder {
        Decoder {
            buf: BytesMut::with_capacity(16 * 1024),
            banner_read: false,
            refused: false,
            line_end: LineEnd::CrLf,
            max_message: max_message.min(u32::MAX as usize),
            searched: 0,
            follows: None,
            skipping: false,
        }
    }

    /// A decoder for the client's side of a connection, as Asterisk reads
    /// it (what a fake Asterisk or a recording proxy needs): no banner, and
    /// a line ends at `\r\n` or at a bare `\n`.
    pub fn for_actions(max_message: usize) -> Decoder {
        Decoder {
            banner_read: true,
            line_end: LineEnd::Lf,
            ..Decoder::new(max_message)
        }
    }

    /// Adds bytes read from the connection.
    pub fn feed(&mut self, bytes: &[u8]) {
        if !self.refused {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Bytes fed but not yet part of a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// How lines end on this connection (known once the banner is read).
    pub fn line_end(&self) -> LineEnd {
        self.line_end
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, DecodeError> {
        if self.refused {
            return Ok(None);
        }
        if !self.banner_read {
            return self.banner();
        }
        loop {
            if self.searched == 0 && !self.skipping {
                let blank = self
                    .buf
                    .iter()
                    .take_while(|&&c| c == b'\r' || c == b'\n')
                    .count();
                let _ = self.buf.split_to(blank);
            }
            let Some(end) = self.message_end() else {
                if self.buf.len() > self.max_message && !self.skipping {
                    self.skipping = true;
                    self.drop_searched();
                    return Err(DecodeError::TooLarge {
                        limit: self.max_message,
                    });
                }
                if self.skipping {
                    self.drop_searched();
                }
                return Ok(None);
            };
            let bytes = self.buf.split_to(end).freeze();
            self.searched = 0;
            self.follows = None;
            if std::mem::take(&mut self.skipping) {
                continue;
            }
            if bytes.len() > self.max_message {
                return Err(DecodeError::TooLarge {
                    limit: self.max_message,
                });
            }
            return Ok(Some(Frame::Message(Message::parse(bytes, self.line_end))));
        }
    }

    fn banner(&mut self) -> Result<Option<Frame>, DecodeError> {
        let nl = self.buf.iter().position(|&c| c == b'\n');
        if nl.unwrap_or(self.buf.len()) > MAX_BANNER {
            self.refused = true;
            self.buf = BytesMut::new();
            return Err(DecodeError::BannerTooLong);
        }
        let Some(nl) = nl else {
            return Ok(None);
        };
        let line = self.buf.split_to(nl + 1);
        let line = &line[..nl];
        let line = match line.strip_suffix(b"\r") {
            Some(line) => line,
            None => {
                self.line_end = LineEnd::Lf;
                line
            }
        };
        self.banner_read = true;
        Ok(Some(Frame::Banner(Banner {
            line: String::from_utf8_lossy(line).into_owned(),
        })))
    }

    /// Drops what was searched of a message being skipped, keeping the few
    /// bytes its end may start in.
    fn drop_searched(&mut self) {
        let keep = END_COMMAND.len() + 4;
        let drop = self.searched.saturating_sub(keep);
        let _ = self.buf.split_to(drop);
        self.searched -= drop;
    }

    /// Where the message at the buffer's start ends (after its empty line).
    fn message_end(&mut self) -> Option<usize> {
        let b = &self.buf[..];
        let follows = match self.follows {
            Some(f) => f,
            None => {
                // Decided by the message's first bytes while they are all
                // still here (`searched` stays 0 until then, so a message
                // being skipped keeps its start): a line end before the
                // 17th byte, or those 17 bytes.
                const FOLLOWS: &[u8] = b"Response: Follows";
                let f = match b.get(..FOLLOWS.len()) {
                    Some(start) => start.eq_ignore_ascii_case(FOLLOWS),
                    None if memchr::memchr(b'\n', b).is_some() => false,
                    None => return None,
                };
                self.follows = Some(f);
                f
            }
        };
        // Resume a little before where the last search stopped: an end may
        // straddle the two reads.
        let from = self.searched.saturating_sub(END_COMMAND.len() + 4);
        let found = if follows {
            follows_end(b, from)
        } else {
            empty_line_end(b, from, self.line_end)
        };
        if found.is_none() {
            self.searched = b.len();
        }
        found
    }
}

/// The end of the first empty line that follows a line end at or after
/// `from`.
fn empty_line_end(b: &[u8], from: usize, line_end: LineEnd) -> Option<usize> {
    let mut i = from;
    while let Some(nl) = memchr::memchr(b'\n', b.get(i..)?).map(|p| i + p) {
        let ended = match line_end {
            LineEnd::CrLf => nl > 0 && b[nl - 1] == b'\r',
            LineEnd::Lf => true,
        };
        if ended {
            match (b.get(nl + 1), b.get(nl + 2)) {
                (Some(b'\n'), _) if line_end == LineEnd::Lf => return Some(nl + 2),
                (Some(b'\r'), Some(b'\n')) => return Some(nl + 3),
                (None, _) | (Some(b'\r'), None) => return None,
                _ => {}
            }
        }
        i = nl + 1;
    }
    None
}

/// The end of a `Response: Follows` answer: the first `--END COMMAND--`
/// at or after `from` that ends its line and has an empty line after it.
fn follows_end(b: &[u8], from: usize) -> Option<usize> {
    let mut from = from;
    while let Some(m) = find(b, from, END_COMMAND) {
        match blank_line_after(b, m + END_COMMAND.len()) {
            Ok(end) => return Some(end),
            Err(Incomplete) => return None,
            // Text that merely contains the marker: look further.
            Err(NotAnEnd) => from = m + 1,
        }
    }
    None
}

/// Why the bytes after a marker are not (yet) its end.
enum After {
    Incomplete,
    NotAnEnd,
}
use After::{Incomplete, NotAnEnd};

/// After the `--END COMMAND--` marker ending at `at`: the end of its line
/// and of the empty line after it.
fn blank_line_after(b: &[u8], at: usize) -> Result<usize, After> {
    let mut i = at;
    for _ in 0..2 {
        if b.get(i) == Some(&b'\r') {
            i += 1;
        }
        match b.get(i) {
            Some(b'\n') => i += 1,
            Some(_) => return Err(NotAnEnd),
            None => return Err(Incomplete),
        }
    }
    Ok(i)
}
