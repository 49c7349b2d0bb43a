//! How Asterisk cuts a file into lines and takes comments out of them
//! (`config_text_file_load` in `main/config.c`), reproduced step by step.
//!
//! Two things happen here and nowhere else:
//! - the file is read the way `fgets` into an 8,192-byte buffer reads it
//!   (a "record" is what one outer `fgets` call returns; an over-long line
//!   is one record that Asterisk skips, whatever its length);
//! - `;` comments, `\;` escapes and `;-- --;` blocks are removed with the
//!   very same pointer walk as Asterisk's, so that odd inputs (a stray
//!   `--;`, `;---`, nested blocks, an escape inside a block) come out as
//!   Asterisk sees them. The result keeps, for every byte of the remaining
//!   text, where it stood in the raw line.

/// The size of Asterisk's line buffer (`char buf[8192]`).
pub(crate) const LINE_BUFFER: usize = 8192;
/// `MAX_NESTED_COMMENTS` in config.c.
pub(crate) const MAX_NESTED_COMMENTS: i32 = 128;
/// The UTF-8 byte order mark Asterisk skips at the start of line 1.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One record: what one outer `fgets` call of Asterisk's loop consumes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Record {
    /// First byte of the record in the source.
    pub start: usize,
    /// One past its last byte (after the `\n` when there is one).
    pub end: usize,
    /// One past the last byte Asterisk looks at (`strlen`: the first NUL
    /// stops it).
    pub content_end: usize,
    /// Asterisk skips the record: its line did not fit in the buffer.
    pub too_long: bool,
}

/// Where `fgets(buf, 8192, f)` starting at `pos` stops.
fn fgets_end(src: &[u8], pos: usize) -> usize {
    let max = src.len().min(pos + LINE_BUFFER - 1);
    match src[pos..max].iter().position(|&b| b == b'\n') {
        Some(i) => pos + i + 1,
        None => max,
    }
}

/// `strlen` of the chunk `src[start..end]`.
fn c_strlen(src: &[u8], start: usize, end: usize) -> usize {
    src[start..end]
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(end - start)
}

/// A chunk that fills the buffer without ending its line.
fn is_full(src: &[u8], start: usize, end: usize) -> bool {
    c_strlen(src, start, end) == LINE_BUFFER - 1 && src[start + LINE_BUFFER - 2] != b'\n'
}

/// The record starting at `pos`, or `None` at the end of the source.
pub(crate) fn next_record(src: &[u8], pos: usize) -> Option<Record> {
    if pos >= src.len() {
        return None;
    }
    let end = fgets_end(src, pos);
    if is_full(src, pos, end) {
        // Asterisk reads on, chunk by chunk, until a chunk that is not full
        // or that ends its line; all of it is skipped as one line.
        let mut p = end;
        while p < src.len() {
            let e = fgets_end(src, p);
            let full = is_full(src, p, e);
            p = e;
            if !full {
                break;
            }
        }
        return Some(Record {
            start: pos,
            end: p,
            content_end: pos,
            too_long: true,
        });
    }
    let len = c_strlen(src, pos, end);
    Some(Record {
        start: pos,
        end,
        content_end: pos + len,
        too_long: false,
    })
}

/// The block-comment state carried from line to line (`comment` and
/// `nest[]` in config.c). The depth is a signed counter as in Asterisk: a
/// `--;` outside any block makes it negative.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CommentState {
    /// `comment` in config.c.
    pub depth: i32,
    /// Line numbers of the blocks open now, innermost last (`nest[]`).
    pub opened: Vec<u32>,
}

/// Scratch space reused from line to line.
#[derive(Default)]
pub(crate) struct Scratch {
    buf: Vec<u8>,
    map: Vec<u32>,
}

/// The text Asterisk goes on to parse from one line: comments and escapes
/// removed, blanks stripped at both ends.
pub(crate) struct Cooked<'s> {
    /// The text (never empty).
    pub text: &'s [u8],
    /// For each byte of `text`, its offset in the line; `None` when the
    /// text is a plain slice of the line starting at `offset`.
    pub map: Option<&'s [u32]>,
    /// See `map`.
    pub offset: u32,
}

impl Cooked<'_> {
    /// Offset in the line of the byte at `i` in the text.
    pub fn raw(&self, i: usize) -> u32 {
        match self.map {
            Some(m) => m[i],
            None => self.offset + i as u32,
        }
    }

    /// Whether `text[a..b]` is the same bytes as the raw line between the
    /// positions of its first and last byte.
    pub fn contiguous(&self, a: usize, b: usize) -> bool {
        match self.map {
            None => true,
            Some(m) => a >= b || m[b - 1] - m[a] == (b - a - 1) as u32,
        }
    }
}

/// What removing the comments from one line gave.
pub(crate) struct CookOutcome<'s> {
    /// The text to parse, if any is left.
    pub cooked: Option<Cooked<'s>>,
    /// Asterisk would spin for ever on this line (a block comment opened
    /// at the nesting limit).
    pub hangs: bool,
    /// A `--;` came with no block open.
    pub stray_close: bool,
}

/// Bytes `ast_strip` removes (`(unsigned char) c < 33`).
pub(crate) fn is_blank(b: u8) -> bool {
    b < 33
}

/// `ast_strip` as a range of `s`.
pub(crate) fn strip_range(s: &[u8]) -> (usize, usize) {
    let mut a = 0;
    let mut b = s.len();
    while a < b && is_blank(s[a]) {
        a += 1;
    }
    while b > a && is_blank(s[b - 1]) {
        b -= 1;
    }
    (a, b)
}

/// C's `isspace` in the C locale.
fn c_isspace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Removes comments from `content` (the bytes of one record that Asterisk
/// looks at, BOM already skipped; `offset` is where they start in the
/// line) exactly as config.c does, updating the block-comment state.
pub(crate) fn cook<'s>(
    line: &'s [u8],
    offset: usize,
    state: &mut CommentState,
    lineno: u32,
    scratch: &'s mut Scratch,
) -> CookOutcome<'s> {
    let content = &line[offset..];
    if state.depth == 0 && !content.contains(&b';') {
        let (a, b) = strip_range(content);
        let cooked = (a < b).then(|| Cooked {
            text: &content[a..b],
            map: None,
            offset: (offset + a) as u32,
        });
        return CookOutcome {
            cooked,
            hangs: false,
            stray_close: false,
        };
    }

    // The general case: the same walk as config.c over a copy of the line
    // that ends in a NUL, with the raw offset of every byte beside it.
    let buf = &mut scratch.buf;
    let map = &mut scratch.map;
    buf.clear();
    map.clear();
    buf.extend_from_slice(content);
    buf.push(0);
    map.extend((offset as u32)..(offset + content.len() + 1) as u32);

    let strchr = |buf: &[u8], from: usize| -> Option<usize> {
        buf[from..]
            .iter()
            .position(|&b| b == b';' || b == 0)
            .map(|i| from + i)
            .filter(|&i| buf[i] == b';')
    };

    let mut hangs = false;
    let mut stray_close = false;
    let mut new_buf = 0usize;
    let mut process_buf = (state.depth == 0).then_some(0usize);
    while let Some(cp) = strchr(buf, new_buf) {
        if cp > new_buf && buf[cp - 1] == b'\\' {
            // An escaped `;`: the backslash goes, the `;` stays as text.
            buf.remove(cp - 1);
            map.remove(cp - 1);
            new_buf = cp;
        } else if buf[cp + 1] == b'-' && buf[cp + 2] == b'-' && buf[cp + 3] != b'-' {
            // `;--` opens a block (`;---` does not).
            if state.depth < MAX_NESTED_COMMENTS {
                buf[cp] = 0;
                new_buf = cp + 3;
                if state.depth >= 0 {
                    state.opened.push(lineno);
                }
                state.depth += 1;
            } else {
                // Asterisk logs an error and looks at the same `;` again,
                // for ever. Stop here.
                hangs = true;
                buf[cp] = 0;
                break;
            }
        } else if cp >= new_buf + 2 && buf[cp - 1] == b'-' && buf[cp - 2] == b'-' {
            // `--;` closes a block, or, outside any, drives the count
            // below zero, as in Asterisk.
            if state.depth > 0 {
                state.opened.pop();
            } else {
                stray_close = true;
            }
            state.depth -= 1;
            new_buf = cp + 1;
            if state.depth == 0 {
                match process_buf {
                    Some(p) => {
                        // Move what follows over the comment.
                        let old = p + buf[p..].iter().position(|&b| b == 0).unwrap_or(0);
                        if old <= new_buf {
                            buf.drain(old..new_buf);
                            map.drain(old..new_buf);
                            new_buf = old;
                        }
                    }
                    None => process_buf = Some(new_buf),
                }
            }
        } else if state.depth == 0 {
            // A plain comment: the rest of the line goes (with the blanks
            // before it, which the final strip would remove anyway).
            let mut c = cp;
            while c > new_buf && c_isspace(buf[c - 1]) {
                c -= 1;
            }
            buf[c] = 0;
            break;
        } else {
            new_buf = cp + 1;
        }
    }

    let cooked = process_buf.and_then(|p| {
        let end = p + buf[p..].iter().position(|&b| b == 0).unwrap_or(0);
        let (a, b) = strip_range(&buf[p..end]);
        (a < b).then(|| Cooked {
            text: &buf[p + a..p + b],
            map: Some(&map[p + a..p + b]),
            offset: 0,
        })
    });
    CookOutcome {
        cooked,
        hangs,
        stray_close,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cooked(lines: &[&str]) -> Vec<Option<String>> {
        let mut state = CommentState::default();
        let mut scratch = Scratch::default();
        let mut out = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            let o = cook(l.as_bytes(), 0, &mut state, i as u32 + 1, &mut scratch);
            out.push(
                o.cooked
                    .map(|c| String::from_utf8(c.text.to_vec()).unwrap()),
            );
        }
        out
    }

    #[test]
    fn comments() {
        assert_eq!(cooked(&["a = b ; c"]), [Some("a = b".into())]);
        assert_eq!(cooked(&["a = b\\;c"]), [Some("a = b;c".into())]);
        assert_eq!(cooked(&["a = b\\\\;c"]), [Some("a = b\\;c".into())]);
        assert_eq!(
            cooked(&["a ;-- x --; b ;-- y --; c"]),
            [Some("a  b  c".into())]
        );
        assert_eq!(cooked(&[";--- x", "k=v"]), [None, Some("k=v".into())]);
        assert_eq!(
            cooked(&[";-- a", ";-- b", "--;", "x", "--; y"]),
            [None, None, None, None, Some("y".into())]
        );
        // A stray close outside any block: the line is kept whole, and the
        // following lines count as inside a block.
        assert_eq!(
            cooked(&["a = b --; c", "d = e", ";-- f", "g = h"]),
            [Some("a = b --; c".into()), None, None, Some("g = h".into())]
        );
    }

    #[test]
    fn records() {
        let mut src = vec![b'x'; 8190];
        src.push(b'\n');
        src.extend_from_slice(b"y\n");
        let r = next_record(&src, 0).unwrap();
        assert!(!r.too_long);
        assert_eq!(r.end, 8191);
        let mut src = vec![b'x'; 8191];
        src.push(b'\n');
        src.extend_from_slice(b"y\n");
        let r = next_record(&src, 0).unwrap();
        assert!(r.too_long);
        assert_eq!(r.end, 8192);
        let mut src = vec![b'x'; 20000];
        src.extend_from_slice(b"\ny\n");
        let r = next_record(&src, 0).unwrap();
        assert!(r.too_long);
        assert_eq!(r.end, 20001);
    }
}
