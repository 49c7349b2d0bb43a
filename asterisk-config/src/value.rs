//! Reading values the way Asterisk's modules read them: its boolean words,
//! its integer parsing, comma lists.

use std::fmt;

/// A value that is not of the type asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValueError {
    /// The variable's name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// What was expected ("a boolean", "an integer", ...).
    pub expected: &'static str,
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} = {:?} is not {}",
            self.name, self.value, self.expected
        )
    }
}

impl std::error::Error for ValueError {}

const TRUE_WORDS: [&str; 6] = ["yes", "true", "y", "t", "1", "on"];
const FALSE_WORDS: [&str; 6] = ["no", "false", "n", "f", "0", "off"];

/// Asterisk's `ast_true`: one of yes, true, y, t, 1, on (any case, no
/// blanks around).
pub fn ast_true(s: &str) -> bool {
    TRUE_WORDS.iter().any(|w| s.eq_ignore_ascii_case(w))
}

/// Asterisk's `ast_false`: one of no, false, n, f, 0, off (any case).
pub fn ast_false(s: &str) -> bool {
    FALSE_WORDS.iter().any(|w| s.eq_ignore_ascii_case(w))
}

/// `Some(true)` for an `ast_true` word, `Some(false)` for an `ast_false`
/// word, `None` for anything else. (Many modules treat anything not true
/// as false; this tells the two apart.)
pub fn parse_bool(s: &str) -> Option<bool> {
    if ast_true(s) {
        Some(true)
    } else if ast_false(s) {
        Some(false)
    } else {
        None
    }
}

/// C's `strtol(s, &end, 0)` that must consume the whole string: leading
/// blanks, a sign, then `0x`/`0X` hex, a leading `0` octal, or decimal.
fn strtol_full(s: &str) -> Option<(bool, u128)> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    let (radix, start) = if b.len() > i + 1
        && b[i] == b'0'
        && (b[i + 1] == b'x' || b[i + 1] == b'X')
        && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        (16, i + 2)
    } else if i < b.len() && b[i] == b'0' {
        (8, i)
    } else {
        (10, i)
    };
    let digits = &s[start..];
    if digits.is_empty() {
        return None;
    }
    let mut v: u128 = 0;
    for c in digits.chars() {
        let d = c.to_digit(radix)?;
        v = v
            .saturating_mul(u128::from(radix))
            .saturating_add(u128::from(d));
    }
    Some((neg, v))
}

/// An integer as `ast_parse_arg(PARSE_INT32)` reads it: `strtol` base 0
/// (decimal, `0x` hex, leading-`0` octal), nothing after the number, in
/// range.
pub fn parse_i32(s: &str) -> Option<i32> {
    if s.is_empty() {
        return None;
    }
    let (neg, v) = strtol_full(s)?;
    let v = i128::try_from(v).ok()?;
    let v = if neg { -v } else { v };
    i32::try_from(v).ok()
}

/// An unsigned integer as `ast_parse_arg(PARSE_UINT32)` reads it: like
/// [`parse_i32`] but a minus sign is refused.
pub fn parse_u32(s: &str) -> Option<u32> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    if t.is_empty() || t.starts_with('-') {
        return None;
    }
    let (_, v) = strtol_full(t)?;
    u32::try_from(v).ok()
}

/// Splits a list value at `sep`, strips each item of blanks and leaves
/// empty items out.
pub fn split_list(s: &str, sep: char) -> Vec<&str> {
    s.split(sep)
        .map(|i| i.trim_matches(|c: char| (c as u32) < 33))
        .filter(|i| !i.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert!(ast_true("YES") && ast_true("on") && !ast_true("enabled"));
        assert!(ast_false("Off") && !ast_false(""));
        assert_eq!(parse_bool("t"), Some(true));
        assert_eq!(parse_bool("maybe"), None);
    }

    #[test]
    fn integers() {
        assert_eq!(parse_i32("42"), Some(42));
        assert_eq!(parse_i32("-0x10"), Some(-16));
        assert_eq!(parse_i32("010"), Some(8));
        assert_eq!(parse_i32("0"), Some(0));
        assert_eq!(parse_i32("08"), None);
        assert_eq!(parse_i32("12 "), None);
        assert_eq!(parse_i32("0x"), None);
        assert_eq!(parse_i32("2147483648"), None);
        assert_eq!(parse_i32("-2147483648"), Some(i32::MIN));
        assert_eq!(parse_u32("4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32("-1"), None);
        assert_eq!(
            split_list(" ulaw, alaw ,,g722", ','),
            ["ulaw", "alaw", "g722"]
        );
    }
}
