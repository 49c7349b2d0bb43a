//! Editing a [`Document`] in place (see [`Document`]'s documentation).

use std::fmt;

use crate::lex;
use crate::syntax::{DirectiveKind, Document, Kind, LineKind, Operator};

/// A section header of a [`Document`]: its position among the document's
/// headers (0 for the first). Adding a section gives the next number;
/// removing one shifts the headers after it down by one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SectionId(pub usize);

/// Why an edit was refused (the document is unchanged).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EditError {
    /// The document has no such header.
    NoSuchSection(SectionId),
    /// A name Asterisk would read differently or not at all.
    InvalidName {
        /// The name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// A value Asterisk would read differently.
    InvalidValue {
        /// The value.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// The new line would be longer than Asterisk reads.
    LineTooLong,
    /// The change would open, close or cut into a `;-- --;` block comment.
    BlockComment,
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::NoSuchSection(id) => write!(f, "no section header number {}", id.0),
            EditError::InvalidName { name, reason } => write!(f, "name {name:?}: {reason}"),
            EditError::InvalidValue { value, reason } => write!(f, "value {value:?}: {reason}"),
            EditError::LineTooLong => write!(f, "the line would be too long for Asterisk"),
            EditError::BlockComment => write!(
                f,
                "the change would move the edge of a ;-- --; block comment"
            ),
        }
    }
}

impl std::error::Error for EditError {}

/// `;` escaped as `\;` (Asterisk's `ast_escape_semicolons`).
fn escape(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 2);
    for &b in s.as_bytes() {
        if b == b';' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

fn check_text(s: &str, what: fn(String, &'static str) -> EditError) -> Result<(), EditError> {
    if s.bytes().any(|b| b == b'\n' || b == 0) {
        return Err(what(s.into(), "contains a line break or NUL"));
    }
    Ok(())
}

fn bad_name(name: String, reason: &'static str) -> EditError {
    EditError::InvalidName { name, reason }
}

fn bad_value(value: String, reason: &'static str) -> EditError {
    EditError::InvalidValue { value, reason }
}

/// A variable name as written in a new line: `;` escaped, a leading `[`,
/// `#` or `\` escaped with `\`.
fn write_name(name: &str) -> Result<Vec<u8>, EditError> {
    check_text(name, bad_name)?;
    if name.is_empty() {
        return Err(bad_name(name.into(), "is empty"));
    }
    if name.contains('=') {
        return Err(bad_name(name.into(), "contains '='"));
    }
    let b = name.as_bytes();
    if lex::is_blank(b[0]) || lex::is_blank(b[b.len() - 1]) {
        return Err(bad_name(name.into(), "starts or ends with a blank"));
    }
    let mut out = Vec::new();
    if matches!(b[0], b'[' | b'#' | b'\\') {
        out.push(b'\\');
    }
    out.extend(escape(name));
    Ok(out)
}

fn write_value(value: &str) -> Result<Vec<u8>, EditError> {
    check_text(value, bad_value)?;
    if let (Some(&f), Some(&l)) = (value.as_bytes().first(), value.as_bytes().last())
        && (lex::is_blank(f) || lex::is_blank(l))
    {
        return Err(bad_value(
            value.into(),
            "starts or ends with a blank (Asterisk strips them)",
        ));
    }
    Ok(escape(value))
}

fn assignment_line(name: &str, op: Operator, value: &str) -> Result<Vec<u8>, EditError> {
    let mut line = write_name(name)?;
    line.push(b' ');
    line.extend_from_slice(op.as_str().as_bytes());
    line.push(b' ');
    line.extend(write_value(value)?);
    Ok(line)
}

fn header_line(name: &str, template: bool, inherits: &[&str]) -> Result<Vec<u8>, EditError> {
    check_section_name(name)?;
    let mut line = vec![b'['];
    line.extend(escape(name));
    line.push(b']');
    if template || !inherits.is_empty() {
        let mut opts: Vec<Vec<u8>> = Vec::new();
        if template {
            opts.push(b"!".to_vec());
        }
        for base in inherits {
            check_text(base, bad_name)?;
            if base.is_empty() || *base == "!" || base.starts_with('+') || base.contains([',', ')'])
            {
                return Err(bad_name(
                    (*base).into(),
                    "cannot name a section to inherit from",
                ));
            }
            opts.push(escape(base));
        }
        line.push(b'(');
        line.extend(opts.join(&b","[..]));
        line.push(b')');
    }
    Ok(line)
}

fn check_section_name(name: &str) -> Result<(), EditError> {
    check_text(name, bad_name)?;
    if name.is_empty() {
        return Err(bad_name(name.into(), "is empty"));
    }
    if name.contains(']') {
        return Err(bad_name(name.into(), "contains ']'"));
    }
    if name.len() > crate::MAX_SECTION_NAME {
        return Err(bad_name(name.into(), "is longer than Asterisk's 79 bytes"));
    }
    Ok(())
}

fn eq_nocase(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// What a new line must read as.
enum Expect<'a> {
    Assignment(&'a str, Operator, &'a str),
    Section(&'a str),
    Directive(DirectiveKind, &'a str),
}

fn reads_as(kind: LineKind<'_>, expect: &Expect<'_>) -> bool {
    match (kind, expect) {
        (LineKind::Assignment(a), Expect::Assignment(n, op, v)) => {
            a.name() == n.as_bytes() && a.operator() == *op && a.value() == v.as_bytes()
        }
        (LineKind::Section(s), Expect::Section(n)) => s.name() == n.as_bytes(),
        (LineKind::Directive(d), Expect::Directive(k, t)) => {
            d.kind() == *k && d.target() == Some(t.as_bytes())
        }
        _ => false,
    }
}

impl Document {
    /// The headers of this document, in order.
    pub fn section_ids(&self) -> impl Iterator<Item = SectionId> + '_ {
        (0..self.header_indexes().len()).map(SectionId)
    }

    fn header_indexes(&self) -> Vec<usize> {
        self.raw_lines()
            .iter()
            .enumerate()
            .filter(|(_, l)| matches!(l.kind, Kind::Section { .. }))
            .map(|(i, _)| i)
            .collect()
    }

    fn header_index(&self, id: SectionId) -> Result<usize, EditError> {
        self.header_indexes()
            .get(id.0)
            .copied()
            .ok_or(EditError::NoSuchSection(id))
    }

    /// The header line of a section.
    pub fn section_header(&self, id: SectionId) -> Option<crate::LineRef<'_>> {
        let i = self.header_index(id).ok()?;
        self.line(i + 1)
    }

    /// The first header with this name (compared without case, as
    /// Asterisk compares section names), whatever its options.
    pub fn find_section(&self, name: &str) -> Option<SectionId> {
        self.find_sections(name).into_iter().next()
    }

    /// Every header with this name, in order.
    pub fn find_sections(&self, name: &str) -> Vec<SectionId> {
        self.section_ids()
            .filter(|&id| {
                matches!(self.section_header(id).map(|l| l.kind()),
                    Some(LineKind::Section(s)) if eq_nocase(s.name(), name))
            })
            .collect()
    }

    /// The line numbers (from 1) of a section's block: its header and the
    /// lines up to the next header.
    pub fn section_lines(&self, id: SectionId) -> Option<std::ops::RangeInclusive<usize>> {
        let (h, end) = self.block(id).ok()?;
        Some(h + 1..=end)
    }

    /// Header index and one past the block's last line.
    fn block(&self, id: SectionId) -> Result<(usize, usize), EditError> {
        let h = self.header_index(id)?;
        let end = self.raw_lines()[h + 1..]
            .iter()
            .position(|l| matches!(l.kind, Kind::Section { .. }))
            .map_or(self.raw_lines().len(), |i| h + 1 + i);
        Ok((h, end))
    }

    /// The first own value of `name` in a section's block (not inherited,
    /// not from another block of the same name): what [`Document::set`]
    /// would change.
    pub fn value(&self, id: SectionId, name: &str) -> Option<String> {
        let (h, end) = self.block(id).ok()?;
        self.assignment_in(h, end, name)
            .and_then(|i| match self.line(i + 1)?.kind() {
                LineKind::Assignment(a) => Some(String::from_utf8_lossy(a.value()).into_owned()),
                _ => None,
            })
    }

    fn assignment_in(&self, h: usize, end: usize, name: &str) -> Option<usize> {
        (h + 1..end).find(|&i| {
            matches!(self.line(i + 1).map(|l| l.kind()),
                Some(LineKind::Assignment(a)) if a.operator() != Operator::Append && eq_nocase(a.name(), name))
        })
    }

    /// Where a new line of a section goes: after its last line that is not
    /// blank or a comment (or after the header), outside any block comment.
    fn insertion_point(&self, h: usize, end: usize) -> Result<usize, EditError> {
        let lines = self.raw_lines();
        let mut at = (h + 1..end)
            .rev()
            .find(|&i| !matches!(lines[i].kind, Kind::Blank | Kind::Comment))
            .map_or(h + 1, |i| i + 1);
        while lines[at - 1].depth_after != 0 {
            if at >= end {
                return Err(EditError::BlockComment);
            }
            at += 1;
        }
        Ok(at)
    }

    /// Replaces lines `range` with `new` (each with its line ending, the
    /// last one of the document possibly without), then checks that every
    /// other line still reads the same and that `check` accepts the new
    /// lines; otherwise leaves the document as it was.
    fn splice(
        &mut self,
        range: std::ops::Range<usize>,
        new: Vec<Vec<u8>>,
        check: &dyn Fn(&Document, usize) -> bool,
    ) -> Result<(), EditError> {
        let lines = self.raw_lines();
        let src = self.src();
        for l in &new {
            if l.len() > crate::MAX_LINE {
                return Err(EditError::LineTooLong);
            }
        }
        let prefix_end = if range.start == 0 {
            0
        } else {
            lines[range.start - 1].end
        };
        let suffix_start = lines.get(range.end).map_or(src.len(), |l| l.start);
        let mut out = Vec::with_capacity(src.len() + 64);
        out.extend_from_slice(&src[..prefix_end]);
        if !new.is_empty() && prefix_end > 0 && !out.ends_with(b"\n") {
            // The line before had no ending (it was the last line).
            out.extend_from_slice(self.line_ending().as_bytes());
        }
        for l in &new {
            out.extend_from_slice(l);
        }
        out.extend_from_slice(&src[suffix_start..]);
        let old_after = lines.get(range.end).map(|l| l.depth_before);
        let old_end = self.end_state().depth;
        let candidate = Document::parse_from(out, self.start().clone());
        let first_after = range.start + new.len();
        let new_lines = candidate.raw_lines();
        let same_state = match old_after {
            Some(d) => new_lines.get(first_after).map(|l| l.depth_before) == Some(d),
            None => candidate.end_state().depth == old_end,
        };
        let same_count = new_lines.len() == lines.len() - range.len() + new.len();
        if !same_state || !same_count || !check(&candidate, range.start) {
            return Err(EditError::BlockComment);
        }
        *self = candidate;
        Ok(())
    }

    /// Inserts new lines (without endings) at index `at`, each checked
    /// against `expect`.
    fn insert_lines(
        &mut self,
        at: usize,
        lines: Vec<Vec<u8>>,
        expect: Vec<Expect<'_>>,
    ) -> Result<(), EditError> {
        let eol = self.line_ending().as_bytes();
        let lines: Vec<Vec<u8>> = lines
            .into_iter()
            .map(|mut l| {
                l.extend_from_slice(eol);
                l
            })
            .collect();
        let n = lines.len();
        let ok = |doc: &Document, start: usize| -> bool {
            (0..n).all(|k| {
                doc.line(start + k + 1)
                    .is_some_and(|l| reads_as(l.kind(), &expect[k]))
            })
        };
        match self.splice(at..at, lines, &ok) {
            Err(EditError::BlockComment) => {
                Err(self.diagnose(&expect).unwrap_or(EditError::BlockComment))
            }
            r => r,
        }
    }

    /// Why new lines would not read as meant, checked on their own.
    fn diagnose(&self, expect: &[Expect<'_>]) -> Option<EditError> {
        for e in expect {
            let line = match e {
                Expect::Assignment(n, op, v) => assignment_line(n, *op, v).ok()?,
                Expect::Section(n) => header_line(n, false, &[]).ok()?,
                Expect::Directive(k, t) => include_line(*k, t).ok()?,
            };
            let single = Document::parse(line);
            let ok = single.line(1).is_some_and(|l| reads_as(l.kind(), e));
            if !ok {
                return Some(match e {
                    Expect::Assignment(n, _, v) => {
                        if single
                            .line(1)
                            .is_some_and(|l| matches!(l.kind(), LineKind::Assignment(a) if a.name() == n.as_bytes()))
                        {
                            bad_value((*v).into(), "Asterisk would read it differently")
                        } else {
                            bad_name((*n).into(), "Asterisk would read it differently")
                        }
                    }
                    Expect::Section(n) => {
                        bad_name((*n).into(), "Asterisk would read it differently")
                    }
                    Expect::Directive(_, t) => {
                        bad_value((*t).into(), "Asterisk would read it differently")
                    }
                });
            }
        }
        None
    }

    /// Adds a section at the end of the document: `[name]`, `[name](!)`
    /// for a template, `[name](a,b)` to inherit from `a` and `b`.
    pub fn add_section(
        &mut self,
        name: &str,
        template: bool,
        inherits: &[&str],
    ) -> Result<SectionId, EditError> {
        let line = header_line(name, template, inherits)?;
        let at = self.raw_lines().len();
        self.insert_lines(at, vec![line], vec![Expect::Section(name)])?;
        Ok(SectionId(self.header_indexes().len() - 1))
    }

    /// Removes a section's header and its lines up to the last one that is
    /// not blank or a comment (comments just above the next header stay).
    pub fn remove_section(&mut self, id: SectionId) -> Result<(), EditError> {
        let (h, end) = self.block(id)?;
        let at = self.insertion_point(h, end)?;
        self.splice(h..at, Vec::new(), &|_, _| true)
    }

    /// Renames a section: only the name between the brackets changes.
    pub fn rename_section(&mut self, id: SectionId, name: &str) -> Result<(), EditError> {
        check_section_name(name)?;
        let h = self.header_index(id)?;
        let l = &self.raw_lines()[h];
        let Kind::Section { name: part, .. } = &l.kind else {
            return Err(EditError::NoSuchSection(id));
        };
        let raw = &self.src()[l.start..l.end];
        let mut line = raw[..part.start as usize].to_vec();
        line.extend(escape(name));
        line.extend_from_slice(&raw[part.end as usize..]);
        self.replace_line(h, line, Expect::Section(name))
    }

    fn replace_line(
        &mut self,
        index: usize,
        line: Vec<u8>,
        expect: Expect<'_>,
    ) -> Result<(), EditError> {
        let ok = |doc: &Document, start: usize| -> bool {
            doc.line(start + 1)
                .is_some_and(|l| reads_as(l.kind(), &expect))
        };
        match self.splice(index..index + 1, vec![line], &ok) {
            Err(EditError::BlockComment) => Err(self
                .diagnose(std::slice::from_ref(&expect))
                .unwrap_or(EditError::BlockComment)),
            r => r,
        }
    }

    /// Sets a variable in a section: the value of its first own line of
    /// that name (compared without case, `+=` lines aside) is replaced
    /// where it stands; without such a line, `name = value` is appended.
    pub fn set(&mut self, id: SectionId, name: &str, value: &str) -> Result<(), EditError> {
        let (h, end) = self.block(id)?;
        let Some(i) = self.assignment_in(h, end, name) else {
            return self.append(id, name, value);
        };
        let l = &self.raw_lines()[i];
        let Kind::Assignment {
            name: npart,
            op,
            op_at,
            value: vpart,
            ..
        } = &l.kind
        else {
            return self.append(id, name, value);
        };
        let raw = &self.src()[l.start..l.end];
        let old_name = npart
            .decoded
            .clone()
            .unwrap_or_else(|| raw[npart.start as usize..npart.end as usize].into());
        let mut line = raw[..vpart.start as usize].to_vec();
        if vpart.start == vpart.end
            && !value.is_empty()
            && *op_at > 0
            && matches!(raw[*op_at as usize - 1], b' ' | b'\t')
            && line.last().is_some_and(|&b| b == b'=' || b == b'>')
        {
            line.push(b' ');
        }
        let v = write_value(value)?;
        line.extend_from_slice(&v);
        let rest = &raw[vpart.end as usize..];
        if v.last() == Some(&b'\\') && rest.first() == Some(&b';') {
            line.push(b' ');
        }
        line.extend_from_slice(rest);
        let old_name = String::from_utf8_lossy(&old_name).into_owned();
        let op = *op;
        self.replace_line(i, line, Expect::Assignment(&old_name, op, value))
    }

    /// Appends `name = value` to a section, after its last line that is not
    /// blank or a comment.
    pub fn append(&mut self, id: SectionId, name: &str, value: &str) -> Result<(), EditError> {
        self.append_with(id, name, Operator::Set, value)
    }

    /// Appends `name = value`, `name => value` or `name += value`.
    pub fn append_with(
        &mut self,
        id: SectionId,
        name: &str,
        op: Operator,
        value: &str,
    ) -> Result<(), EditError> {
        let (h, end) = self.block(id)?;
        let at = self.insertion_point(h, end)?;
        let line = assignment_line(name, op, value)?;
        self.insert_lines(at, vec![line], vec![Expect::Assignment(name, op, value)])
    }

    /// Inserts `name = value` before the section's `index`-th assignment
    /// line (from 0); at the end when there are fewer.
    pub fn insert(
        &mut self,
        id: SectionId,
        index: usize,
        name: &str,
        value: &str,
    ) -> Result<(), EditError> {
        let (h, end) = self.block(id)?;
        let before = (h + 1..end)
            .filter(|&i| matches!(self.raw_lines()[i].kind, Kind::Assignment { .. }))
            .nth(index);
        let Some(at) = before else {
            return self.append(id, name, value);
        };
        if self.raw_lines()[at].depth_before != 0 {
            return Err(EditError::BlockComment);
        }
        let line = assignment_line(name, Operator::Set, value)?;
        self.insert_lines(
            at,
            vec![line],
            vec![Expect::Assignment(name, Operator::Set, value)],
        )
    }

    /// Deletes every assignment line of that name (compared without case)
    /// in a section's block; returns how many.
    pub fn delete(&mut self, id: SectionId, name: &str) -> Result<usize, EditError> {
        let (h, end) = self.block(id)?;
        let doomed: Vec<usize> = (h + 1..end)
            .filter(|&i| {
                matches!(self.line(i + 1).map(|l| l.kind()),
                    Some(LineKind::Assignment(a)) if eq_nocase(a.name(), name))
            })
            .collect();
        let before = self.clone();
        for (k, &i) in doomed.iter().enumerate() {
            let i = i - k;
            if let Err(e) = self.splice(i..i + 1, Vec::new(), &|_, _| true) {
                *self = before;
                return Err(e);
            }
        }
        Ok(doomed.len())
    }

    /// Adds `#include "file"` (or `#tryinclude`, `#exec`) at the end of the
    /// document.
    pub fn add_include(&mut self, kind: DirectiveKind, target: &str) -> Result<(), EditError> {
        let line = include_line(kind, target)?;
        let at = self.raw_lines().len();
        if self.end_state().depth != 0 {
            return Err(EditError::BlockComment);
        }
        self.insert_lines(at, vec![line], vec![Expect::Directive(kind, target)])
    }

    /// Adds an include after the last line of a section that is not blank
    /// or a comment (the included file's lines before its first header
    /// then belong to that section).
    pub fn insert_include(
        &mut self,
        id: SectionId,
        kind: DirectiveKind,
        target: &str,
    ) -> Result<(), EditError> {
        let (h, end) = self.block(id)?;
        let at = self.insertion_point(h, end)?;
        let line = include_line(kind, target)?;
        self.insert_lines(at, vec![line], vec![Expect::Directive(kind, target)])
    }
}

fn include_line(kind: DirectiveKind, target: &str) -> Result<Vec<u8>, EditError> {
    let Some(word) = kind.as_str() else {
        return Err(bad_value(target.into(), "not a directive Asterisk knows"));
    };
    check_text(target, bad_value)?;
    if target.is_empty() {
        return Err(bad_value(target.into(), "is empty"));
    }
    let mut line = format!("#{word} \"").into_bytes();
    line.extend(escape(target));
    line.push(b'"');
    Ok(line)
}
