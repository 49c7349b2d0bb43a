//! Asterisk's category filters (`does_category_match` in config.c): the
//! `filter` of `[name](+filter)`, the `TEMPLATES=include` of inheritance,
//! and the `Filter` of AMI's GetConfig.
//!
//! A filter is a list of `name=regex` terms (separated by `&` in headers,
//! by `,` elsewhere) that a category matches when, for every term, one of
//! its variables has a name and a value that both match (POSIX extended
//! expressions, searched anywhere). `TEMPLATES=include` lets templates
//! match too, `TEMPLATES=restrict` matches templates only; without it no
//! template matches.

use crate::lex;
use crate::regex::Regex;

/// `ast_strsep`: the next token of `*iss` up to `sep` (outside quotes,
/// skipping backslash-escaped characters), with `AST_STRSEP_STRIP`.
/// Returns `None` where Asterisk returns NULL.
pub(crate) fn strsep<'a>(iss: &mut Option<&'a [u8]>, sep: u8) -> Option<&'a [u8]> {
    let st = (*iss)?;
    if st.is_empty() {
        *iss = None;
        return Some(st);
    }
    let mut stack = [0u8; 8];
    let mut inquote = 0usize;
    let mut i = 0;
    let mut token_end = st.len();
    *iss = None;
    while i < st.len() {
        if st[i] == b'\\' {
            i += 2;
            if i >= st.len() {
                break;
            }
        }
        let c = st[i];
        if c == b'\'' || c == b'"' {
            if c == stack[inquote] {
                stack[inquote] = 0;
                inquote = inquote.saturating_sub(1);
            } else {
                inquote += 1;
                if inquote >= stack.len() {
                    return None;
                }
                stack[inquote] = c;
            }
        }
        if c == sep && inquote == 0 {
            token_end = i;
            *iss = Some(&st[i + 1..]);
            break;
        }
        i += 1;
    }
    Some(strip_quoted(&st[..token_end]))
}

/// `ast_strip_quoted(s, "'\"", "'\"")`.
fn strip_quoted(s: &[u8]) -> &[u8] {
    let (a, b) = lex::strip_range(s);
    let s = &s[a..b];
    match s.first() {
        Some(&q @ (b'\'' | b'"')) if s.last() == Some(&q) => {
            if s.len() == 1 {
                &s[1..]
            } else {
                &s[1..s.len() - 1]
            }
        }
        _ => s,
    }
}

/// What a filter needs to know of a category.
pub(crate) trait Candidate {
    fn name(&self) -> &[u8];
    fn is_template(&self) -> bool;
    fn has_variable(&self, name: &Regex, value: &Regex) -> bool;
}

/// A regular expression Asterisk could not compile while matching (it
/// logs it and the category does not match).
pub(crate) type BadRegex = (Vec<u8>, String);

/// `does_category_match(cat, category_name, match, sep)`.
pub(crate) fn category_matches(
    cat: &dyn Candidate,
    name: Option<&[u8]>,
    filter: Option<&[u8]>,
    sep: u8,
    errors: &mut Vec<BadRegex>,
) -> bool {
    if let Some(n) = name
        && !n.is_empty()
        && !cat.name().eq_ignore_ascii_case(n)
    {
        return false;
    }
    let filter = match filter {
        Some(f) if !f.is_empty() => f,
        _ => return !cat.is_template(),
    };
    let mut found = 0;
    let mut expressions = 0;
    let mut template_ok = false;
    let mut rest = Some(filter);
    while let Some(nvp) = strsep(&mut rest, sep) {
        expressions += 1;
        let mut pair = Some(nvp);
        let name = strsep(&mut pair, b'=').unwrap_or(b"");
        let Some(value) = strsep(&mut pair, b'=') else {
            break;
        };
        if name == b"TEMPLATES" {
            if value.eq_ignore_ascii_case(b"include") {
                if cat.is_template() {
                    template_ok = true;
                }
                found += 1;
            } else if value.eq_ignore_ascii_case(b"restrict") {
                if cat.is_template() {
                    found += 1;
                    template_ok = true;
                } else {
                    break;
                }
            }
            continue;
        }
        let rn = match Regex::new(name) {
            Ok(r) => r,
            Err(e) => {
                errors.push((name.to_vec(), e.to_string()));
                return false;
            }
        };
        let rv = match Regex::new(value) {
            Ok(r) => r,
            Err(e) => {
                errors.push((value.to_vec(), e.to_string()));
                return false;
            }
        };
        if cat.has_variable(&rn, &rv) {
            found += 1;
        }
    }
    found == expressions && (!cat.is_template() || template_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strsep_like_asterisk() {
        let mut s = Some(&b"a=1& b = 2 &"[..]);
        assert_eq!(strsep(&mut s, b'&'), Some(&b"a=1"[..]));
        assert_eq!(strsep(&mut s, b'&'), Some(&b"b = 2"[..]));
        assert_eq!(strsep(&mut s, b'&'), Some(&b""[..]));
        assert_eq!(strsep(&mut s, b'&'), None);
        let mut s = Some(&b"'x&y'&z"[..]);
        assert_eq!(strsep(&mut s, b'&'), Some(&b"x&y"[..]));
        assert_eq!(strsep(&mut s, b'&'), Some(&b"z"[..]));
        assert_eq!(strsep(&mut s, b'&'), None);
    }
}
