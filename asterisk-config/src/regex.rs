//! A small POSIX extended regular expression matcher: enough of glibc's
//! `regcomp(REG_EXTENDED | REG_NOSUB)` / `regexec` for the filters of
//! `[name](+filter)` headers. Bytes, C locale, unanchored search, yes/no
//! answer only. Run as a Thompson NFA, so no input takes exponential time.

use std::fmt;

/// A compiled expression.
#[derive(Clone, Debug)]
pub(crate) struct Regex {
    prog: Vec<Inst>,
}

/// Why an expression did not compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RegexError(&'static str);

impl fmt::Display for RegexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

type Set = [u64; 4];

/// A byte predicate and whether to negate it.
type ByteClass = (fn(u8) -> bool, bool);

#[derive(Clone, Debug)]
enum Node {
    Empty,
    Set(Box<Set>),
    Bol,
    Eol,
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat(Box<Node>, u32, Option<u32>),
}

#[derive(Clone, Debug)]
enum Inst {
    Set(Box<Set>),
    Split(usize, usize),
    Jmp(usize),
    Bol,
    Eol,
    Match,
}

const MAX_PROGRAM: usize = 20_000;
const DUP_MAX: u32 = 0x7fff;

fn set_add(s: &mut Set, b: u8) {
    s[(b >> 6) as usize] |= 1 << (b & 63);
}

fn set_has(s: &Set, b: u8) -> bool {
    s[(b >> 6) as usize] & (1 << (b & 63)) != 0
}

fn single(b: u8) -> Node {
    let mut s = [0; 4];
    set_add(&mut s, b);
    Node::Set(Box::new(s))
}

fn class(name: &[u8]) -> Option<fn(u8) -> bool> {
    Some(match name {
        b"alpha" => |b: u8| b.is_ascii_alphabetic(),
        b"digit" => |b: u8| b.is_ascii_digit(),
        b"alnum" => |b: u8| b.is_ascii_alphanumeric(),
        b"upper" => |b: u8| b.is_ascii_uppercase(),
        b"lower" => |b: u8| b.is_ascii_lowercase(),
        b"space" => |b: u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'),
        b"blank" => |b: u8| b == b' ' || b == b'\t',
        b"punct" => |b: u8| b.is_ascii_punctuation(),
        b"print" => |b: u8| (0x20..0x7f).contains(&b),
        b"graph" => |b: u8| (0x21..0x7f).contains(&b),
        b"cntrl" => |b: u8| b < 0x20 || b == 0x7f,
        b"xdigit" => |b: u8| b.is_ascii_hexdigit(),
        _ => return None,
    })
}

struct Parser<'a> {
    p: &'a [u8],
    i: usize,
    depth: u32,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.p.get(self.i).copied()
    }

    fn alt(&mut self) -> Result<Node, RegexError> {
        let mut branches = vec![self.branch()?];
        while self.peek() == Some(b'|') {
            self.i += 1;
            branches.push(self.branch()?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alt(branches)
        })
    }

    fn branch(&mut self) -> Result<Node, RegexError> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == b'|' || (c == b')' && self.depth > 0) {
                break;
            }
            let atom = self.atom()?;
            let atom = self.quantifiers(atom)?;
            items.push(atom);
        }
        Ok(Node::Concat(items))
    }

    fn quantifiers(&mut self, mut atom: Node) -> Result<Node, RegexError> {
        loop {
            let (min, max) = match self.peek() {
                Some(b'*') => (0, None),
                Some(b'+') => (1, None),
                Some(b'?') => (0, Some(1)),
                Some(b'{') => match self.interval() {
                    Some(r) => {
                        atom = Node::Repeat(Box::new(atom), r.0, r.1);
                        continue;
                    }
                    None => return Ok(atom),
                },
                _ => return Ok(atom),
            };
            self.i += 1;
            atom = Node::Repeat(Box::new(atom), min, max);
        }
    }

    /// `{m}`, `{m,}`, `{m,n}` at `self.i`; consumed when valid.
    fn interval(&mut self) -> Option<(u32, Option<u32>)> {
        let mut j = self.i + 1;
        let num = |j: &mut usize, p: &[u8]| -> Option<u32> {
            let s = *j;
            let mut v: u32 = 0;
            while let Some(d) = p.get(*j).filter(|d| d.is_ascii_digit()) {
                v = v.saturating_mul(10).saturating_add(u32::from(d - b'0'));
                *j += 1;
            }
            (*j > s).then_some(v)
        };
        let min = num(&mut j, self.p)?;
        let max = if self.p.get(j) == Some(&b',') {
            j += 1;
            num(&mut j, self.p)
        } else {
            Some(min)
        };
        if self.p.get(j) != Some(&b'}') {
            return None;
        }
        if min > DUP_MAX || max.is_some_and(|m| m > DUP_MAX || m < min) {
            return None;
        }
        self.i = j + 1;
        Some((min, max))
    }

    fn atom(&mut self) -> Result<Node, RegexError> {
        let c = self.p[self.i];
        self.i += 1;
        Ok(match c {
            b'(' => {
                self.depth += 1;
                let inner = self.alt()?;
                self.depth -= 1;
                if self.peek() != Some(b')') {
                    return Err(RegexError("Unmatched ( or \\("));
                }
                self.i += 1;
                inner
            }
            b'*' | b'+' | b'?' => return Err(RegexError("Invalid preceding regular expression")),
            b'.' => {
                let mut s = [u64::MAX; 4];
                s[0] &= !1;
                Node::Set(Box::new(s))
            }
            b'^' => Node::Bol,
            b'$' => Node::Eol,
            b'[' => self.bracket()?,
            b'\\' => {
                let Some(e) = self.peek() else {
                    return Err(RegexError("Trailing backslash"));
                };
                self.i += 1;
                let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
                let space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
                let f: Option<ByteClass> = match e {
                    b'w' => Some((word, false)),
                    b'W' => Some((word, true)),
                    b's' => Some((space, false)),
                    b'S' => Some((space, true)),
                    _ => None,
                };
                match f {
                    Some((f, neg)) => {
                        let mut s = [0; 4];
                        for b in 1..=255u8 {
                            if f(b) != neg {
                                set_add(&mut s, b);
                            }
                        }
                        Node::Set(Box::new(s))
                    }
                    None => single(e),
                }
            }
            other => single(other),
        })
    }

    fn bracket(&mut self) -> Result<Node, RegexError> {
        let mut s: Set = [0; 4];
        let neg = self.peek() == Some(b'^');
        if neg {
            self.i += 1;
        }
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return Err(RegexError("Unmatched [, [^, [:, [., or [="));
            };
            if c == b']' && !first {
                self.i += 1;
                break;
            }
            first = false;
            // [:class:], [=x=], [.x.]
            if c == b'[' && matches!(self.p.get(self.i + 1), Some(b':' | b'=' | b'.')) {
                let kind = self.p[self.i + 1];
                let from = self.i + 2;
                let end = (from..self.p.len().saturating_sub(1))
                    .find(|&k| self.p[k] == kind && self.p[k + 1] == b']');
                let Some(end) = end else {
                    return Err(RegexError("Unmatched [, [^, [:, [., or [="));
                };
                let name = &self.p[from..end];
                self.i = end + 2;
                match kind {
                    b':' => {
                        let f = class(name).ok_or(RegexError("Invalid character class name"))?;
                        for b in 1..=255u8 {
                            if f(b) {
                                set_add(&mut s, b);
                            }
                        }
                    }
                    _ => {
                        if name.len() != 1 {
                            return Err(RegexError("Invalid collation character"));
                        }
                        set_add(&mut s, name[0]);
                    }
                }
                continue;
            }
            self.i += 1;
            if self.peek() == Some(b'-') && self.p.get(self.i + 1).is_some_and(|&n| n != b']') {
                let hi = self.p[self.i + 1];
                self.i += 2;
                if hi < c {
                    return Err(RegexError("Invalid range end"));
                }
                for b in c..=hi {
                    set_add(&mut s, b);
                }
            } else {
                set_add(&mut s, c);
            }
        }
        if neg {
            for w in &mut s {
                *w = !*w;
            }
        }
        s[0] &= !1;
        Ok(Node::Set(Box::new(s)))
    }
}

struct Compiler {
    prog: Vec<Inst>,
}

impl Compiler {
    fn emit(&mut self, i: Inst) -> Result<usize, RegexError> {
        if self.prog.len() >= MAX_PROGRAM {
            return Err(RegexError("Regular expression too big"));
        }
        self.prog.push(i);
        Ok(self.prog.len() - 1)
    }

    fn node(&mut self, n: &Node) -> Result<(), RegexError> {
        match n {
            Node::Empty => {}
            Node::Set(s) => {
                self.emit(Inst::Set(s.clone()))?;
            }
            Node::Bol => {
                self.emit(Inst::Bol)?;
            }
            Node::Eol => {
                self.emit(Inst::Eol)?;
            }
            Node::Concat(items) => {
                for i in items {
                    self.node(i)?;
                }
            }
            Node::Alt(branches) => {
                let mut jumps = Vec::new();
                for (k, b) in branches.iter().enumerate() {
                    if k + 1 < branches.len() {
                        let split = self.emit(Inst::Split(0, 0))?;
                        self.node(b)?;
                        jumps.push(self.emit(Inst::Jmp(0))?);
                        let next = self.prog.len();
                        self.prog[split] = Inst::Split(split + 1, next);
                    } else {
                        self.node(b)?;
                    }
                }
                let end = self.prog.len();
                for j in jumps {
                    self.prog[j] = Inst::Jmp(end);
                }
            }
            Node::Repeat(inner, min, max) => {
                for _ in 0..*min {
                    self.node(inner)?;
                }
                match max {
                    None => {
                        let split = self.emit(Inst::Split(0, 0))?;
                        self.node(inner)?;
                        self.emit(Inst::Jmp(split))?;
                        let end = self.prog.len();
                        self.prog[split] = Inst::Split(split + 1, end);
                    }
                    Some(max) => {
                        let mut splits = Vec::new();
                        for _ in *min..*max {
                            splits.push(self.emit(Inst::Split(0, 0))?);
                            self.node(inner)?;
                        }
                        let end = self.prog.len();
                        for s in splits {
                            self.prog[s] = Inst::Split(s + 1, end);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

impl Regex {
    /// Compiles `pattern` as `regcomp(REG_EXTENDED | REG_NOSUB)` would.
    pub(crate) fn new(pattern: &[u8]) -> Result<Regex, RegexError> {
        let mut p = Parser {
            p: pattern,
            i: 0,
            depth: 0,
        };
        let mut node = p.alt()?;
        // An unmatched `)` is an ordinary character at the top level.
        while p.i < pattern.len() {
            p.i += 1;
            let rest = p.alt()?;
            node = Node::Concat(vec![node, single(b')'), rest]);
        }
        let mut c = Compiler { prog: Vec::new() };
        c.node(&node)?;
        c.emit(Inst::Match)?;
        Ok(Regex { prog: c.prog })
    }

    /// Whether the expression matches anywhere in `text` (up to its first
    /// NUL, as for a C string).
    pub(crate) fn is_match(&self, text: &[u8]) -> bool {
        let text = match text.iter().position(|&b| b == 0) {
            Some(n) => &text[..n],
            None => text,
        };
        let n = self.prog.len();
        let mut clist: Vec<usize> = Vec::with_capacity(n);
        let mut nlist: Vec<usize> = Vec::with_capacity(n);
        let mut mark = vec![usize::MAX; n];
        let mut stack = Vec::new();
        for pos in 0..=text.len() {
            // A new attempt starts at every position (unanchored search).
            if self.add(0, pos, text.len(), &mut clist, &mut mark, &mut stack) {
                return true;
            }
            if pos == text.len() {
                break;
            }
            let b = text[pos];
            nlist.clear();
            for &pc in &clist {
                if let Inst::Set(s) = &self.prog[pc]
                    && set_has(s, b)
                    && self.add(
                        pc + 1,
                        pos + 1,
                        text.len(),
                        &mut nlist,
                        &mut mark,
                        &mut stack,
                    )
                {
                    return true;
                }
            }
            std::mem::swap(&mut clist, &mut nlist);
        }
        false
    }

    /// Adds the thread at `pc` and everything reachable from it without
    /// consuming input; true when that reaches `Match`.
    fn add(
        &self,
        pc: usize,
        pos: usize,
        len: usize,
        list: &mut Vec<usize>,
        mark: &mut [usize],
        stack: &mut Vec<usize>,
    ) -> bool {
        stack.clear();
        stack.push(pc);
        while let Some(pc) = stack.pop() {
            if mark[pc] == pos {
                continue;
            }
            mark[pc] = pos;
            match &self.prog[pc] {
                Inst::Match => return true,
                Inst::Jmp(t) => stack.push(*t),
                Inst::Split(a, b) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Inst::Bol => {
                    if pos == 0 {
                        stack.push(pc + 1);
                    }
                }
                Inst::Eol => {
                    if pos == len {
                        stack.push(pc + 1);
                    }
                }
                Inst::Set(_) => list.push(pc),
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Regex::new(p.as_bytes()).unwrap().is_match(t.as_bytes())
    }

    #[test]
    fn matches() {
        assert!(m("aor", "type=aor"));
        assert!(m("^aor$", "aor"));
        assert!(!m("^aor$", "aors"));
        assert!(m("", "anything"));
        assert!(m("a|b", "xb"));
        assert!(m("^(ab)+$", "ababab"));
        assert!(!m("^(ab)+$", "ababa"));
        assert!(m("^a{2,3}$", "aaa"));
        assert!(!m("^a{2,3}$", "aaaa"));
        assert!(m("^[[:digit:]]+$", "123"));
        assert!(m("^[^0-9]+$", "abc"));
        assert!(m("x{", "x{"));
        assert!(m("a)", "a)"));
        assert!(m("^(a*)*$", &"a".repeat(100)));
        assert!(!m("^(a*)*b$", &"a".repeat(100)));
        assert!(Regex::new(b"*a").is_err());
        assert!(Regex::new(b"(a").is_err());
        assert!(Regex::new(b"[a").is_err());
    }
}
