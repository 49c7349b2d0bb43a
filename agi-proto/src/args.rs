//! Command lines as Asterisk reads them: `parse_args` in `res/res_agi.c`
//! splits a line into words, and [`Line`] writes words so that it splits
//! them back exactly.
//!
//! Asterisk's rules: blanks (space, tab) outside quotes separate words and
//! runs of them count as one; `"` toggles quoting anywhere in a word and is
//! dropped; `\` makes the next byte literal; there are no other escapes.
//! The line ends at `\n`, which Asterisk strips; a `\r` would stay in the
//! last word, a NUL would end the line early, and nothing can carry a line
//! break, so arguments holding any of the three are refused.

use std::fmt::Display;

/// The longest command line Asterisk runs as one command, its final `\n`
/// not counted: it reads lines into an 8192-byte buffer (`AGI_BUF_LEN`),
/// and a longer line is run as two commands, each answered.
pub const MAX_LINE: usize = 8190;

/// The most words (the command's own words and its arguments) `parse_args`
/// keeps: its array has `MAX_ARGS` = 128 slots and the last one ends the
/// list, so a 128th word is dropped with a warning.
pub const MAX_WORDS: usize = 127;

/// Why a command cannot be written as Asterisk would read it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// An argument holds a line break (`\n` or `\r`) or a NUL byte: the
    /// first would end the command early, the others would be read into it.
    #[error("argument {index} holds a line break or a NUL byte")]
    ForbiddenByte {
        /// The argument's position, from 1 (after the command's words).
        index: usize,
    },
    /// More words than Asterisk keeps.
    #[error("{words} words; Asterisk keeps at most {MAX_WORDS} (command words included)")]
    TooManyWords {
        /// The command's words plus its arguments.
        words: usize,
    },
    /// The line is longer than Asterisk reads as one command.
    #[error(
        "the line is {len} bytes; Asterisk runs at most {MAX_LINE} (and a newline) as one command"
    )]
    LineTooLong {
        /// Its length without the final `\n`.
        len: usize,
    },
    /// An optional argument is set while an earlier one, which has no
    /// neutral value to stand in for it, is not: arguments are positional.
    #[error("{command}: `{param}` must be set when a later argument is")]
    MissingArgument {
        /// The command.
        command: &'static str,
        /// The argument that is missing.
        param: &'static str,
    },
    /// A raw line that starts with `failure` (any case): Asterisk takes it as
    /// a script's report that it could not start, and ends the AGI session.
    #[error("a line starting with \"failure\" ends the AGI session")]
    FailureLine,
    /// A raw line with no command word.
    #[error("the line holds no command")]
    Empty,
    /// AsyncAGI only: the command goes in an AMI header, which cannot hold
    /// bytes that are not UTF-8 here, nor a line longer than AMI reads.
    #[error("AsyncAGI cannot carry this command: {0}")]
    Ami(String),
}

/// Whether a word must be quoted to reach Asterisk as it is: empty, or
/// holding a blank, a quote or a backslash. Commas are quoted too, so that
/// an argument list handed on to the dialplan (`GOSUB`'s `one,two`) reads
/// as one word.
fn needs_quotes(value: &[u8]) -> bool {
    value.is_empty()
        || value
            .iter()
            .any(|&c| matches!(c, b' ' | b'\t' | b'"' | b'\\' | b','))
}

fn forbidden(value: &[u8]) -> bool {
    value.iter().any(|&c| matches!(c, b'\n' | b'\r' | 0))
}

/// A command line being written: the command's words, then one argument
/// at a time, each quoted and escaped only where `parse_args` needs it.
#[derive(Clone, Debug)]
pub struct Line {
    bytes: Vec<u8>,
    words: usize,
    args: usize,
}

impl Line {
    /// A line that starts with the command's words (`STREAM`, `FILE`).
    pub fn new(words: &[&str]) -> Line {
        Line {
            bytes: words.join(" ").into_bytes(),
            words: words.len(),
            args: 0,
        }
    }

    fn push(&mut self, value: &[u8], quote: bool) -> Result<(), EncodeError> {
        self.args += 1;
        if forbidden(value) {
            return Err(EncodeError::ForbiddenByte { index: self.args });
        }
        self.words += 1;
        self.bytes.push(b' ');
        if quote || needs_quotes(value) {
            self.bytes.push(b'"');
            for &c in value {
                if c == b'"' || c == b'\\' {
                    self.bytes.push(b'\\');
                }
                self.bytes.push(c);
            }
            self.bytes.push(b'"');
        } else {
            self.bytes.extend_from_slice(value);
        }
        Ok(())
    }

    /// Adds an argument, quoted only if it must be.
    pub fn arg(&mut self, value: impl AsRef<[u8]>) -> Result<(), EncodeError> {
        self.push(value.as_ref(), false)
    }

    /// Adds an argument in quotes whatever it holds (escape digits: `""`
    /// for none, `"#"`...).
    pub fn quoted(&mut self, value: impl AsRef<[u8]>) -> Result<(), EncodeError> {
        self.push(value.as_ref(), true)
    }

    /// Adds a number (or anything whose text needs no quotes).
    pub fn number(&mut self, value: impl Display) -> Result<(), EncodeError> {
        self.push(value.to_string().as_bytes(), false)
    }

    /// The line with its final `\n`, if Asterisk reads it as written.
    pub fn finish(mut self) -> Result<Vec<u8>, EncodeError> {
        if self.words > MAX_WORDS {
            return Err(EncodeError::TooManyWords { words: self.words });
        }
        if self.bytes.len() > MAX_LINE {
            return Err(EncodeError::LineTooLong {
                len: self.bytes.len(),
            });
        }
        self.bytes.push(b'\n');
        Ok(self.bytes)
    }
}

/// Checks a line written by hand (its final `\n` not included) as
/// [`Line::finish`] checks a built one, and returns it with the `\n`.
pub fn check_raw(line: &[u8]) -> Result<Vec<u8>, EncodeError> {
    if forbidden(line) {
        return Err(EncodeError::ForbiddenByte { index: 0 });
    }
    if line.len() >= 7 && line[..7].eq_ignore_ascii_case(b"failure") {
        return Err(EncodeError::FailureLine);
    }
    let words = count_words(line);
    if words == 0 {
        return Err(EncodeError::Empty);
    }
    if words > MAX_WORDS {
        return Err(EncodeError::TooManyWords { words });
    }
    if line.len() > MAX_LINE {
        return Err(EncodeError::LineTooLong { len: line.len() });
    }
    let mut out = line.to_vec();
    out.push(b'\n');
    Ok(out)
}

/// The words `parse_args` makes of a line (its final `\n` stripped, as
/// Asterisk strips it), with its quirks: a quote that is never closed runs
/// to the end of the line, a `\` at the very end is dropped, and words past
/// [`MAX_WORDS`] are dropped (Asterisk logs "Too many arguments").
pub fn split_args(line: &[u8]) -> Vec<Vec<u8>> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let mut words: Vec<Vec<u8>> = Vec::new();
    let (mut quoted, mut escaped, mut blank) = (false, false, true);
    // Asterisk stops at a NUL: the line is a C string.
    for &c in line.iter().take_while(|&&c| c != 0) {
        let literal = match c {
            b'"' if !escaped => {
                quoted = !quoted;
                // An opening quote after blanks starts a word (Asterisk
                // skips the word limit here and would overrun its array;
                // this reading keeps the limit).
                if quoted && blank && words.len() < MAX_WORDS {
                    words.push(Vec::new());
                    blank = false;
                }
                escaped = false;
                false
            }
            b' ' | b'\t' if !quoted && !escaped => {
                blank = true;
                false
            }
            b'\\' if !escaped => {
                escaped = true;
                false
            }
            _ => true,
        };
        if literal {
            if blank {
                if words.len() >= MAX_WORDS {
                    continue;
                }
                words.push(Vec::new());
                blank = false;
            }
            if let Some(w) = words.last_mut() {
                w.push(c);
            }
            escaped = false;
        }
    }
    words
}

/// How many words `parse_args` would start in `line`, without its limit.
fn count_words(line: &[u8]) -> usize {
    let (mut quoted, mut escaped, mut blank, mut n) = (false, false, true, 0);
    for &c in line.iter().take_while(|&&c| c != 0) {
        match c {
            b'"' if !escaped => {
                quoted = !quoted;
                if quoted && blank {
                    n += 1;
                    blank = false;
                }
            }
            b' ' | b'\t' if !quoted && !escaped => blank = true,
            b'\\' if !escaped => {
                escaped = true;
                continue;
            }
            _ => {
                if blank {
                    n += 1;
                    blank = false;
                }
            }
        }
        escaped = false;
    }
    n
}

/// Reads back what [`Line`] wrote for a typed argument.
pub mod decode {
    use crate::Text;
    use std::time::Duration;

    /// A decimal integer written as [`Line::number`](super::Line::number)
    /// writes it (no sign but `-`, no leading zeros), or `None`.
    pub fn int<T: std::str::FromStr + ToString>(arg: &Text) -> Option<T> {
        let s = arg.to_str().ok()?;
        let v: T = s.parse().ok()?;
        (v.to_string() == s).then_some(v)
    }

    /// Seconds written as [`seconds`] writes them, or `None`.
    pub fn duration(arg: &Text) -> Option<Duration> {
        let s = arg.to_str().ok()?;
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        let secs: u64 = int(&Text::from(whole))?;
        if frac.len() > 6 || frac.ends_with('0') || !frac.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let micros: u32 = format!("{frac:0<6}").parse().ok()?;
        let d = Duration::from_secs(secs) + Duration::from_micros(u64::from(micros));
        (seconds(d) == s).then_some(d)
    }

    /// A duration as Asterisk's `SET AUTOHANGUP` reads it: seconds, with a
    /// fraction down to microseconds when there is one (`2`, `0.5`).
    pub fn seconds(d: Duration) -> String {
        let micros = d.subsec_micros();
        if micros == 0 {
            d.as_secs().to_string()
        } else {
            let frac = format!("{micros:06}");
            format!("{}.{}", d.as_secs(), frac.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split_args(line.as_bytes())
            .into_iter()
            .map(|w| String::from_utf8(w).unwrap())
            .collect()
    }

    #[test]
    fn splits_as_asterisk_does() {
        assert_eq!(
            words("STREAM FILE hello \"\"\n"),
            ["STREAM", "FILE", "hello", ""]
        );
        assert_eq!(
            words("  NOOP   with   extra words  "),
            ["NOOP", "with", "extra", "words"]
        );
        assert_eq!(
            words("SET VARIABLE X ab\"c d\"ef"),
            ["SET", "VARIABLE", "X", "abc def"]
        );
        assert_eq!(
            words(r#"SET VARIABLE B back\ slash\\ and\"quote"#),
            ["SET", "VARIABLE", "B", "back slash\\", "and\"quote"]
        );
        assert_eq!(
            words("SET VARIABLE U \"abc def"),
            ["SET", "VARIABLE", "U", "abc def"]
        );
        assert_eq!(words("A\tB"), ["A", "B"]);
        assert_eq!(words("A b\\"), ["A", "b"]);
        assert_eq!(words("A \"\" \"\""), ["A", "", ""]);
        assert_eq!(words(""), Vec::<String>::new());
        let many = "W ".repeat(200);
        assert_eq!(split_args(many.as_bytes()).len(), MAX_WORDS);
        assert_eq!(count_words(many.as_bytes()), 200);
    }

    #[test]
    fn writes_what_asterisk_reads_back() {
        let mut line = Line::new(&["SET", "VARIABLE"]);
        line.arg("X").unwrap();
        line.arg("say \"hi\" now\\").unwrap();
        let bytes = line.finish().unwrap();
        assert_eq!(bytes, b"SET VARIABLE X \"say \\\"hi\\\" now\\\\\"\n");
        assert_eq!(
            split_args(&bytes),
            [&b"SET"[..], b"VARIABLE", b"X", b"say \"hi\" now\\"]
        );
        let mut line = Line::new(&["STREAM", "FILE"]);
        line.arg("hello-world").unwrap();
        line.quoted("").unwrap();
        line.number(-1).unwrap();
        assert_eq!(line.finish().unwrap(), b"STREAM FILE hello-world \"\" -1\n");
        let mut line = Line::new(&["GOSUB"]);
        line.arg("one,two").unwrap();
        line.arg(b"\xff").unwrap();
        assert_eq!(line.finish().unwrap(), b"GOSUB \"one,two\" \xff\n");
    }

    #[test]
    fn refuses_what_asterisk_would_misread() {
        let mut line = Line::new(&["VERBOSE"]);
        assert_eq!(
            line.arg("a\nb"),
            Err(EncodeError::ForbiddenByte { index: 1 })
        );
        assert_eq!(
            line.arg("a\rb"),
            Err(EncodeError::ForbiddenByte { index: 2 })
        );
        assert_eq!(
            line.arg("a\0b"),
            Err(EncodeError::ForbiddenByte { index: 3 })
        );
        let mut line = Line::new(&["NOOP"]);
        for _ in 0..126 {
            line.arg("x").unwrap();
        }
        assert!(line.clone().finish().is_ok());
        line.arg("x").unwrap();
        assert_eq!(line.finish(), Err(EncodeError::TooManyWords { words: 128 }));
        let mut line = Line::new(&["NOOP"]);
        line.arg("x".repeat(MAX_LINE - 5)).unwrap();
        assert_eq!(line.clone().finish().unwrap().len(), MAX_LINE + 1);
        let mut longer = Line::new(&["NOOP"]);
        longer.arg("x".repeat(MAX_LINE - 4)).unwrap();
        assert_eq!(
            longer.finish(),
            Err(EncodeError::LineTooLong { len: MAX_LINE + 1 })
        );
        assert_eq!(check_raw(b"FAILURE x"), Err(EncodeError::FailureLine));
        assert_eq!(check_raw(b"   "), Err(EncodeError::Empty));
        assert_eq!(check_raw(b"answer").unwrap(), b"answer\n");
    }

    #[test]
    fn numbers_and_seconds_read_back_only_as_written() {
        use decode::*;
        assert_eq!(int::<i32>(&"-1".into()), Some(-1));
        assert_eq!(int::<i32>(&"+1".into()), None);
        assert_eq!(int::<i32>(&"01".into()), None);
        assert_eq!(seconds(std::time::Duration::from_millis(2500)), "2.5");
        assert_eq!(seconds(std::time::Duration::from_secs(2)), "2");
        assert_eq!(
            duration(&"2.5".into()),
            Some(std::time::Duration::from_millis(2500))
        );
        assert_eq!(duration(&"2.50".into()), None);
        assert_eq!(
            duration(&"2".into()),
            Some(std::time::Duration::from_secs(2))
        );
    }
}
