//! File name patterns as Asterisk expands them for `#include`: glibc's
//! `glob(pattern, GLOB_NOMAGIC | GLOB_BRACE)`.
//!
//! - `{a,b}` alternatives (nested, with `\` escapes) are expanded first,
//!   left to right; each alternative's matches are sorted on their own and
//!   the lists are joined in the order of the alternatives.
//! - `*`, `?` and `[...]` match within one path component and never match
//!   a leading `.`.
//! - A pattern without `*`, `?` or `[` is returned as it is, whether the
//!   file exists or not (the caller then finds out).
//!
//! The functions here only compute; listing a directory is the caller's
//! business (see [`expand`]).

/// The pattern with its `{...}` alternatives expanded, in order. A `{`
/// without its `}` is kept as an ordinary character.
pub fn expand_braces(pattern: &str) -> Vec<String> {
    let b = pattern.as_bytes();
    let mut i = 0;
    let mut open = None;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            i += 2;
            continue;
        }
        if b[i] == b'{' {
            open = Some(i);
            break;
        }
        i += 1;
    }
    let Some(open) = open else {
        return vec![pattern.to_string()];
    };
    // Find the matching close and the top-level commas.
    let mut depth = 0;
    let mut commas = Vec::new();
    let mut close = None;
    let mut j = open + 1;
    while j < b.len() {
        match b[j] {
            b'\\' if j + 1 < b.len() => {
                j += 2;
                continue;
            }
            b'{' => depth += 1,
            b'}' if depth == 0 => {
                close = Some(j);
                break;
            }
            b'}' => depth -= 1,
            b',' if depth == 0 => commas.push(j),
            _ => {}
        }
        j += 1;
    }
    let Some(close) = close else {
        return vec![pattern.to_string()];
    };
    let prefix = &pattern[..open];
    let suffix = &pattern[close + 1..];
    let mut bounds = vec![open];
    bounds.extend(commas);
    bounds.push(close);
    let mut out = Vec::new();
    for w in bounds.windows(2) {
        let alt = &pattern[w[0] + 1..w[1]];
        out.extend(expand_braces(&format!("{prefix}{alt}{suffix}")));
    }
    out
}

/// Whether the pattern has a wildcard (`*`, `?` or `[`).
pub fn has_magic(pattern: &str) -> bool {
    let b = pattern.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'*' | b'?' | b'[' => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// Whether one path component `name` matches the pattern component
/// `pattern` (`fnmatch` with a leading `.` only matched literally).
pub fn matches_component(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    if n.first() == Some(&b'.') && p.first() != Some(&b'.') {
        return false;
    }
    fnmatch(p, n)
}

fn fnmatch(p: &[u8], n: &[u8]) -> bool {
    // Iterative matcher with backtracking to the last `*`.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                b'?' if ni < n.len() => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                b'[' if ni < n.len() => {
                    if let Some((ok, next)) = bracket(p, pi, n[ni]) {
                        if ok {
                            pi = next;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == b'[' {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                b'\\' if pi + 1 < p.len() && ni < n.len() && p[pi + 1] == n[ni] => {
                    pi += 2;
                    ni += 1;
                    continue;
                }
                c if c != b'\\' && c != b'?' && c != b'[' && ni < n.len() && c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        } else if ni == n.len() {
            return true;
        }
        match star {
            Some((sp, sn)) if sn < n.len() => {
                star = Some((sp, sn + 1));
                pi = sp + 1;
                ni = sn + 1;
            }
            _ => return false,
        }
    }
}

/// A bracket expression at `p[start]`: whether `c` matches, and the index
/// after it; `None` when it has no closing `]` (then `[` is literal).
fn bracket(p: &[u8], start: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let neg = matches!(p.get(i), Some(b'!' | b'^'));
    if neg {
        i += 1;
    }
    let mut ok = false;
    let mut first = true;
    loop {
        let &b = p.get(i)?;
        if b == b']' && !first {
            return Some((ok != neg, i + 1));
        }
        first = false;
        let lo = if b == b'\\' {
            i += 1;
            *p.get(i)?
        } else {
            b
        };
        i += 1;
        if p.get(i) == Some(&b'-') && p.get(i + 1).is_some_and(|&h| h != b']') {
            let hi = p[i + 1];
            i += 2;
            if lo <= c && c <= hi {
                ok = true;
            }
        } else if lo == c {
            ok = true;
        }
    }
}

/// Expands `pattern` as Asterisk's `glob` call does, asking `list` for the
/// entries of a directory (`None` when it cannot be read) and `exists`
/// whether a path exists. The result is in Asterisk's order.
pub fn expand(
    pattern: &str,
    list: &mut dyn FnMut(&str) -> Option<Vec<String>>,
    exists: &mut dyn FnMut(&str) -> bool,
) -> Vec<String> {
    let alternatives = expand_braces(pattern);
    if alternatives.len() > 1 || alternatives[0] != pattern {
        // Each alternative is globbed on its own, without GLOB_NOMAGIC, so
        // a plain name counts only if it exists.
        let mut out = Vec::new();
        for alt in &alternatives {
            let mut found = expand_plain(alt, list, exists);
            found.sort();
            out.extend(found);
        }
        if !out.is_empty() {
            return out;
        }
        // Nothing matched: glibc then treats the whole pattern, braces
        // and all, as a plain pattern.
    }
    if !has_magic(pattern) {
        return vec![unescape(pattern)];
    }
    let mut found = expand_plain(pattern, list, exists);
    found.sort();
    found
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Existing matches of a pattern without braces, component by component.
fn expand_plain(
    pattern: &str,
    list: &mut dyn FnMut(&str) -> Option<Vec<String>>,
    exists: &mut dyn FnMut(&str) -> bool,
) -> Vec<String> {
    if !has_magic(pattern) {
        let p = unescape(pattern);
        return if exists(&p) { vec![p] } else { Vec::new() };
    }
    let absolute = pattern.starts_with('/');
    let mut paths: Vec<String> = vec![if absolute { "/".into() } else { String::new() }];
    for comp in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for base in &paths {
            let join = |name: &str| {
                if base.is_empty() {
                    name.to_string()
                } else if base.ends_with('/') {
                    format!("{base}{name}")
                } else {
                    format!("{base}/{name}")
                }
            };
            if has_magic(comp) {
                let dir = if base.is_empty() { "." } else { base.as_str() };
                for name in list(dir).unwrap_or_default() {
                    if matches_component(comp, &name) {
                        next.push(join(&name));
                    }
                }
            } else {
                next.push(join(&unescape(comp)));
            }
        }
        paths = next;
    }
    paths.retain(|p| exists(p));
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces() {
        assert_eq!(expand_braces("a{b,c}d"), ["abd", "acd"]);
        assert_eq!(expand_braces("{x,{y,z}}"), ["x", "y", "z"]);
        assert_eq!(expand_braces("a{b"), ["a{b"]);
        assert_eq!(expand_braces("{b,a}.conf"), ["b.conf", "a.conf"]);
    }

    #[test]
    fn components() {
        assert!(matches_component("*.conf", "a.conf"));
        assert!(!matches_component("*.conf", ".a.conf"));
        assert!(matches_component("a?[0-9]", "ab7"));
        assert!(matches_component("[!a]*", "b"));
        assert!(!matches_component("[!a]*", "a"));
        assert!(matches_component("*a*b", "xxaxxb"));
    }
}
