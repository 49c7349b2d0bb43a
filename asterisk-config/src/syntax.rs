//! The lossless syntax tree: a file as a list of lines, each with its raw
//! bytes and what Asterisk makes of it.
//!
//! [`Document::parse`] never fails and [`Document::to_bytes`] gives back
//! the bytes it was given, whatever they were. A "line" is what Asterisk
//! reads as one line: up to and including a `\n` (a `\r` before it is part
//! of the line, and Asterisk strips it with the other blanks), except that
//! a line too long for Asterisk's 8,192-byte buffer is one
//! [`LineKind::TooLong`] line that Asterisk skips. Line numbers are
//! Asterisk's, so they match its log.
//!
//! Each line is classified once, with Asterisk's rules for comments
//! (`;`, `\;`, `;-- --;` blocks that nest and may sit inside a line) and
//! for the line itself (`[section](options)`, `#directive`, `name = value`,
//! `name => value`, `name += more`). What a line *means* in context
//! (templates, inheritance, includes) is the business of
//! [`crate::Loader`].

use std::fmt;

use crate::lex::{self, BOM, CommentState, Cooked, Scratch};

/// A configuration file, kept byte for byte, with every line classified.
///
/// # Editing
///
/// Every edit changes only the lines it is about: the bytes of all other
/// lines stay as they were (one exception: when a line must be added after
/// a last line that has no line ending, that line gets one). A changed
/// value is replaced where it stands, so the rest of its line (spacing, a
/// trailing comment) stays. New lines are written the way Asterisk's own
/// writer (`ast_config_text_file_save`) writes them: `name = value`,
/// `name => value`, `[name](!,base)`, `#include "file"`, with `;` in a
/// value escaped as `\;`, and with the document's own line ending.
///
/// Each edit is checked by reading the changed lines back with Asterisk's
/// rules: if they would not read as asked (a value with blanks at its
/// ends, a name with `=` ...), or if the change would move the edge of a
/// `;-- --;` block comment, the document is left as it was and an
/// [`crate::EditError`] says why.
///
/// Sections are addressed by [`crate::SectionId`]: the position of a header among
/// the document's headers. The lines of a section in a document are those
/// between its header and the next header; a new variable goes after the
/// last of them that is not a comment or blank line, so that comments
/// written above the next header stay above it.
#[derive(Clone, PartialEq, Eq)]
pub struct Document {
    src: Vec<u8>,
    lines: Vec<Line>,
    start: LexStart,
    end: CommentState,
}

/// The lexer state a document starts in: normally at depth 0 with a BOM
/// allowed on line 1, but the second file of one glob continues the first
/// one's block comments and line count in Asterisk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LexStart {
    pub state: CommentState,
    /// Line 1 of this file is not line 1 of Asterisk's count (no BOM skip).
    pub continued: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    pub start: usize,
    pub end: usize,
    /// Bytes of a BOM skipped at the start (line 1 only).
    pub skip: u8,
    /// Asterisk would loop for ever on this line.
    pub hangs: bool,
    /// A `--;` with no block open.
    pub stray_close: bool,
    /// The line that opened the innermost block still open after this
    /// line (0 when none).
    pub open_after: u32,
    pub depth_before: i32,
    pub depth_after: i32,
    pub kind: Kind,
}

/// A piece of a line: where it stands in the raw line, and its text when
/// that differs from the raw bytes (an escape or a comment inside it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Part {
    pub start: u32,
    pub end: u32,
    pub decoded: Option<Box<[u8]>>,
}

impl Part {
    fn get<'a>(&'a self, raw: &'a [u8]) -> &'a [u8] {
        match &self.decoded {
            Some(d) => d,
            None => &raw[self.start as usize..self.end as usize],
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Blank,
    Comment,
    TooLong,
    Section {
        name: Part,
        options: Option<Part>,
    },
    Assignment {
        name: Part,
        op: Operator,
        op_at: u32,
        value: Part,
        appended: Option<Part>,
    },
    Directive {
        name: Part,
        argument: Option<Part>,
    },
    Malformed(Malformed),
}

/// The operator of an assignment line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `name = value`.
    Set,
    /// `name => value`: the same as `=` for the value, but Asterisk marks
    /// the variable as an "object" (the dialplan's `exten =>` style).
    Object,
    /// `name += more`: appends to the last variable of that exact name in
    /// the current section, or acts as `=` when there is none.
    Append,
}

impl Operator {
    /// The operator as written in a file.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Set => "=",
            Operator::Object => "=>",
            Operator::Append => "+=",
        }
    }
}

/// A line Asterisk cannot use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Malformed {
    /// `[` without a `]`: Asterisk rejects the whole file.
    NoClosingBracket,
    /// `[name](` without a `)`: Asterisk rejects the whole file.
    NoClosingParen,
    /// A leading `\` followed by a blank, a control or a non-ASCII byte
    /// (Asterisk compares a signed `char`): Asterisk rejects the whole file.
    InvalidEscape,
    /// Text without `=`: Asterisk warns and skips the line.
    NoEquals,
}

impl Malformed {
    /// Whether Asterisk rejects the whole file for this line.
    pub fn is_fatal(self) -> bool {
        !matches!(self, Malformed::NoEquals)
    }
}

/// The kind of a directive line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DirectiveKind {
    /// `#include`: a missing file is an error.
    Include,
    /// `#tryinclude`: a missing file is skipped.
    TryInclude,
    /// `#exec`: runs a program and includes its output.
    Exec,
    /// Any other `#word`: Asterisk warns and skips the line.
    Unknown,
}

impl DirectiveKind {
    /// The directive's name as Asterisk's writer spells it (`None` for an
    /// unknown one).
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            DirectiveKind::Include => Some("include"),
            DirectiveKind::TryInclude => Some("tryinclude"),
            DirectiveKind::Exec => Some("exec"),
            DirectiveKind::Unknown => None,
        }
    }
}

/// The line ending of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LineEnding {
    /// `\n`.
    Lf,
    /// `\r\n`.
    CrLf,
    /// The last line, without an ending.
    None,
}

impl LineEnding {
    /// The bytes of the ending.
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            LineEnding::Lf => b"\n",
            LineEnding::CrLf => b"\r\n",
            LineEnding::None => b"",
        }
    }
}

/// What one line is, with its parts' text (comments and escapes removed,
/// as Asterisk parses it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind<'a> {
    /// Nothing but blanks.
    Blank,
    /// Only comment (or inside a block comment): nothing for Asterisk.
    Comment,
    /// Longer than Asterisk's 8,192-byte line buffer: Asterisk warns and
    /// skips it.
    TooLong,
    /// `[name]` with optional `(options)`.
    Section(SectionLine<'a>),
    /// `name = value`, `name => value` or `name += more`.
    Assignment(AssignmentLine<'a>),
    /// `#include`, `#tryinclude`, `#exec` or an unknown `#word`.
    Directive(DirectiveLine<'a>),
    /// A line Asterisk cannot use.
    Malformed(Malformed),
}

/// A section header line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SectionLine<'a> {
    name: &'a [u8],
    options: Option<&'a [u8]>,
}

impl<'a> SectionLine<'a> {
    /// The name between the brackets, not stripped (Asterisk keeps the
    /// blanks in `[ name ]`), not yet cut to Asterisk's 79 bytes.
    pub fn name(&self) -> &'a [u8] {
        self.name
    }

    /// The text between the parentheses after `]`, if any.
    pub fn options(&self) -> Option<&'a [u8]> {
        self.options
    }

    /// The options one by one, split at commas as Asterisk splits them.
    pub fn option_list(&self) -> Vec<&'a [u8]> {
        match self.options {
            Some(o) => o.split(|&b| b == b',').collect(),
            None => Vec::new(),
        }
    }

    /// `(!)` is among the options: a template.
    pub fn is_template(&self) -> bool {
        self.option_list().iter().any(|o| *o == b"!")
    }

    /// A `(+)` or `(+filter)` option: additions to an earlier section.
    pub fn is_addition(&self) -> bool {
        self.option_list().iter().any(|o| o.first() == Some(&b'+'))
    }

    /// The sections named to inherit from, in order.
    pub fn inherits(&self) -> Vec<&'a [u8]> {
        self.option_list()
            .into_iter()
            .filter(|o| *o != b"!" && o.first() != Some(&b'+'))
            .collect()
    }
}

/// An assignment line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AssignmentLine<'a> {
    name: &'a [u8],
    op: Operator,
    value: &'a [u8],
    appended: Option<&'a [u8]>,
}

impl<'a> AssignmentLine<'a> {
    /// The name, stripped, a leading escaping `\` removed. May be empty
    /// (Asterisk warns and skips the line).
    pub fn name(&self) -> &'a [u8] {
        self.name
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.op
    }

    /// The value, stripped.
    pub fn value(&self) -> &'a [u8] {
        self.value
    }

    /// For `+=`: the text Asterisk appends, with its leading blanks.
    pub fn appended(&self) -> Option<&'a [u8]> {
        self.appended
    }
}

/// A directive line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirectiveLine<'a> {
    name: &'a [u8],
    argument: Option<&'a [u8]>,
}

impl<'a> DirectiveLine<'a> {
    /// The word after `#`, as written.
    pub fn name(&self) -> &'a [u8] {
        self.name
    }

    /// Which directive (case-insensitive, as Asterisk compares).
    pub fn kind(&self) -> DirectiveKind {
        directive_kind(self.name)
    }

    /// The argument, stripped, quotes kept; `None` when there is none
    /// (Asterisk warns and skips the line).
    pub fn argument(&self) -> Option<&'a [u8]> {
        self.argument
    }

    /// The argument without one pair of enclosing `"..."` or `<...>`, as
    /// Asterisk takes it.
    pub fn target(&self) -> Option<&'a [u8]> {
        self.argument.map(dequote)
    }
}

pub(crate) fn directive_kind(name: &[u8]) -> DirectiveKind {
    if name.eq_ignore_ascii_case(b"include") {
        DirectiveKind::Include
    } else if name.eq_ignore_ascii_case(b"tryinclude") {
        DirectiveKind::TryInclude
    } else if name.eq_ignore_ascii_case(b"exec") {
        DirectiveKind::Exec
    } else {
        DirectiveKind::Unknown
    }
}

/// Asterisk's dequoting of a directive's argument.
pub(crate) fn dequote(arg: &[u8]) -> &[u8] {
    let close = match arg.first() {
        Some(b'"') => b'"',
        Some(b'<') => b'>',
        _ => return arg,
    };
    if arg.last() == Some(&close) {
        // A lone `"` is both the opening and the closing quote.
        if arg.len() == 1 {
            return &arg[1..];
        }
        &arg[1..arg.len() - 1]
    } else {
        arg
    }
}

/// One line of a [`Document`].
#[derive(Clone, Copy)]
pub struct LineRef<'a> {
    doc: &'a Document,
    index: usize,
}

impl<'a> LineRef<'a> {
    fn line(&self) -> &'a Line {
        &self.doc.lines[self.index]
    }

    /// Asterisk's line number (from 1).
    pub fn number(&self) -> usize {
        self.index + 1
    }

    /// The whole line as in the file, its line ending included (and, for
    /// line 1, a BOM).
    pub fn raw(&self) -> &'a [u8] {
        let l = self.line();
        &self.doc.src[l.start..l.end]
    }

    /// The line without BOM and line ending.
    pub fn text(&self) -> &'a [u8] {
        let raw = self.raw();
        let raw = &raw[self.line().skip as usize..];
        let n = self.ending().as_bytes().len();
        &raw[..raw.len() - n]
    }

    /// How the line ends.
    pub fn ending(&self) -> LineEnding {
        let raw = self.raw();
        if raw.ends_with(b"\r\n") {
            LineEnding::CrLf
        } else if raw.ends_with(b"\n") {
            LineEnding::Lf
        } else {
            LineEnding::None
        }
    }

    /// Whether the line starts inside a `;-- --;` block comment.
    pub fn starts_in_block_comment(&self) -> bool {
        self.line().depth_before != 0
    }

    /// What the line is.
    pub fn kind(&self) -> LineKind<'a> {
        let raw = self.raw();
        match &self.line().kind {
            Kind::Blank => LineKind::Blank,
            Kind::Comment => LineKind::Comment,
            Kind::TooLong => LineKind::TooLong,
            Kind::Malformed(m) => LineKind::Malformed(*m),
            Kind::Section { name, options } => LineKind::Section(SectionLine {
                name: name.get(raw),
                options: options.as_ref().map(|o| o.get(raw)),
            }),
            Kind::Assignment {
                name,
                op,
                value,
                appended,
                ..
            } => LineKind::Assignment(AssignmentLine {
                name: name.get(raw),
                op: *op,
                value: value.get(raw),
                appended: appended.as_ref().map(|a| a.get(raw)),
            }),
            Kind::Directive { name, argument } => LineKind::Directive(DirectiveLine {
                name: name.get(raw),
                argument: argument.as_ref().map(|a| a.get(raw)),
            }),
        }
    }
}

impl fmt::Debug for LineRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Line")
            .field("number", &self.number())
            .field("text", &String::from_utf8_lossy(self.text()))
            .field("kind", &self.kind())
            .finish()
    }
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.lines()).finish()
    }
}

impl Default for Document {
    fn default() -> Self {
        Document::parse(Vec::new())
    }
}

/// Cuts `cooked.text[a..b]` out as a part of the raw line.
fn part(c: &Cooked<'_>, a: usize, b: usize) -> Part {
    if a >= b {
        let pos = if a < c.text.len() {
            c.raw(a)
        } else {
            c.raw(c.text.len() - 1) + 1
        };
        return Part {
            start: pos,
            end: pos,
            decoded: None,
        };
    }
    Part {
        start: c.raw(a),
        end: c.raw(b - 1) + 1,
        decoded: (!c.contiguous(a, b)).then(|| c.text[a..b].into()),
    }
}

/// `process_text_line`'s reading of one line's text (never empty).
fn classify(c: &Cooked<'_>) -> Kind {
    let t = c.text;
    match t[0] {
        b'[' => {
            let Some(close) = t.iter().position(|&b| b == b']') else {
                return Kind::Malformed(Malformed::NoClosingBracket);
            };
            let name = part(c, 1, close);
            if t.get(close + 1) != Some(&b'(') {
                return Kind::Section {
                    name,
                    options: None,
                };
            }
            let from = close + 2;
            match t[from..].iter().position(|&b| b == b')') {
                None => Kind::Malformed(Malformed::NoClosingParen),
                Some(i) => Kind::Section {
                    name,
                    options: Some(part(c, from, from + i)),
                },
            }
        }
        b'#' => {
            // The name runs while `*c > 32` on a signed char: a blank, a
            // control or a byte of 0x80 and above ends it (and is lost).
            let k = 1 + t[1..]
                .iter()
                .position(|&b| (b as i8) <= 32)
                .unwrap_or(t.len() - 1);
            let name = part(c, 1, k);
            let argument = if k < t.len() {
                let (a, b) = lex::strip_range(&t[k + 1..]);
                (a < b).then(|| part(c, k + 1 + a, k + 1 + b))
            } else {
                None
            };
            Kind::Directive { name, argument }
        }
        _ => {
            let escaped = t[0] == b'\\';
            let cur = usize::from(escaped);
            if escaped && (t.len() == 1 || (t[1] as i8) < 33) {
                return Kind::Malformed(Malformed::InvalidEscape);
            }
            let from = cur + usize::from(escaped);
            let Some(eq) = t
                .get(from..)
                .and_then(|s| s.iter().position(|&b| b == b'='))
                .map(|i| from + i)
            else {
                return Kind::Malformed(Malformed::NoEquals);
            };
            if eq > from && t[eq - 1] == b'+' {
                let (a, b) = lex::strip_range(&t[cur..eq - 1]);
                let (va, vb) = lex::strip_range(&t[eq + 1..]);
                return Kind::Assignment {
                    name: part(c, cur + a, cur + b),
                    op: Operator::Append,
                    op_at: c.raw(eq - 1),
                    value: part(c, eq + 1 + va, eq + 1 + vb),
                    appended: Some(part(c, eq + 1, t.len())),
                };
            }
            let (a, b) = lex::strip_range(&t[cur..eq]);
            let mut rest = eq + 1;
            let op = if t.get(rest) == Some(&b'>') {
                rest += 1;
                Operator::Object
            } else {
                Operator::Set
            };
            let (va, vb) = lex::strip_range(&t[rest..]);
            Kind::Assignment {
                name: part(c, cur + a, cur + b),
                op,
                op_at: c.raw(eq),
                value: part(c, rest + va, rest + vb),
                appended: None,
            }
        }
    }
}

/// Lexes and classifies one line. `lineno` is Asterisk's number for it.
pub(crate) fn lex_line(
    raw: &[u8],
    rec_too_long: bool,
    content_len: usize,
    bom_allowed: bool,
    state: &mut CommentState,
    lineno: u32,
    scratch: &mut Scratch,
) -> (u8, bool, bool, Kind) {
    if rec_too_long {
        return (0, false, false, Kind::TooLong);
    }
    let content = &raw[..content_len];
    let skip = if bom_allowed && content.starts_with(BOM) {
        BOM.len()
    } else {
        0
    };
    let blank = content[skip..].iter().all(|&b| lex::is_blank(b));
    let out = lex::cook(content, skip, state, lineno, scratch);
    let kind = match &out.cooked {
        Some(c) => classify(c),
        None if blank => Kind::Blank,
        None => Kind::Comment,
    };
    (skip as u8, out.hangs, out.stray_close, kind)
}

impl Document {
    /// Reads a file's bytes. Never fails: whatever Asterisk would reject is
    /// classified as such, and every byte is kept.
    pub fn parse(bytes: impl Into<Vec<u8>>) -> Document {
        Document::parse_from(bytes.into(), LexStart::default())
    }

    pub(crate) fn parse_from(src: Vec<u8>, start: LexStart) -> Document {
        let mut state = start.state.clone();
        let mut scratch = Scratch::default();
        let mut lines = Vec::with_capacity(src.len() / 32 + 1);
        let mut pos = 0;
        while let Some(rec) = lex::next_record(&src, pos) {
            let lineno = lines.len() as u32 + 1;
            let depth_before = state.depth;
            let (skip, hangs, stray_close, kind) = lex_line(
                &src[rec.start..rec.end],
                rec.too_long,
                rec.content_end - rec.start,
                lineno == 1 && !start.continued,
                &mut state,
                lineno,
                &mut scratch,
            );
            lines.push(Line {
                start: rec.start,
                end: rec.end,
                skip,
                hangs,
                stray_close,
                open_after: state.opened.last().copied().unwrap_or(0),
                depth_before,
                depth_after: state.depth,
                kind,
            });
            pos = rec.end;
        }
        Document {
            src,
            lines,
            start,
            end: state,
        }
    }

    /// The bytes of the document: the bytes it was parsed from, with any
    /// edits applied.
    pub fn as_bytes(&self) -> &[u8] {
        &self.src
    }

    /// The bytes of the document, as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.src.clone()
    }

    /// Consumes the document into its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.src
    }

    /// The number of lines (as Asterisk counts them).
    pub fn line_count(&self) -> usize {
        self.lines.len()
    }

    /// The line with Asterisk's number `number` (from 1).
    pub fn line(&self, number: usize) -> Option<LineRef<'_>> {
        (number >= 1 && number <= self.lines.len()).then_some(LineRef {
            doc: self,
            index: number - 1,
        })
    }

    /// All lines in order.
    pub fn lines(&self) -> impl ExactSizeIterator<Item = LineRef<'_>> + '_ {
        (0..self.lines.len()).map(move |index| LineRef { doc: self, index })
    }

    /// The file starts with a UTF-8 byte order mark (which Asterisk skips).
    pub fn has_bom(&self) -> bool {
        self.lines.first().is_some_and(|l| l.skip > 0)
    }

    /// The line ending most lines use (`\n` when there is no line ending
    /// at all): the one edits write.
    pub fn line_ending(&self) -> LineEnding {
        let (mut lf, mut crlf) = (0usize, 0usize);
        for l in self.lines() {
            match l.ending() {
                LineEnding::Lf => lf += 1,
                LineEnding::CrLf => crlf += 1,
                LineEnding::None => {}
            }
        }
        if crlf > lf {
            LineEnding::CrLf
        } else {
            LineEnding::Lf
        }
    }

    /// If a `;--` block comment is still open at the end of the file: the
    /// line where the innermost open block started.
    pub fn unterminated_comment(&self) -> Option<usize> {
        self.end.opened.last().map(|&l| l as usize)
    }

    /// Lines on which Asterisk would loop for ever: a `;--` beyond 128
    /// nested block comments makes its comment loop look at the same
    /// character again and again.
    pub fn hanging_lines(&self) -> impl Iterator<Item = usize> + '_ {
        self.lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.hangs)
            .map(|(i, _)| i + 1)
    }

    pub(crate) fn raw_lines(&self) -> &[Line] {
        &self.lines
    }

    pub(crate) fn end_state(&self) -> &CommentState {
        &self.end
    }

    pub(crate) fn start(&self) -> &LexStart {
        &self.start
    }

    pub(crate) fn src(&self) -> &[u8] {
        &self.src
    }
}
