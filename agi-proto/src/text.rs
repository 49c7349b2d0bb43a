//! Owned bytes that are usually, but not always, text.

use std::borrow::Cow;
use std::fmt;

/// Bytes from or for Asterisk, kept exactly. AGI carries C strings, not
/// UTF-8: a caller name may be Latin-1, a variable may hold anything but a
/// NUL or a line break. Reading them as text says what happens to bytes
/// that are not UTF-8: [`to_str`](Text::to_str) fails, and
/// [`to_string_lossy`](Text::to_string_lossy) replaces them.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(Vec<u8>);

impl Text {
    /// Wraps bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Text {
        Text(bytes.into())
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The text, if it is valid UTF-8.
    pub fn to_str(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(&self.0)
    }

    /// The text, with bytes that are not UTF-8 replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(s.as_bytes().to_vec())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(s.into_bytes())
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Text {
        Text(s.as_bytes().to_vec())
    }
}

impl From<Vec<u8>> for Text {
    fn from(b: Vec<u8>) -> Text {
        Text(b)
    }
}

impl From<&[u8]> for Text {
    fn from(b: &[u8]) -> Text {
        Text(b.to_vec())
    }
}

impl<const N: usize> From<&[u8; N]> for Text {
    fn from(b: &[u8; N]) -> Text {
        Text(b.to_vec())
    }
}

impl From<&Text> for Text {
    fn from(t: &Text) -> Text {
        t.clone()
    }
}

impl AsRef<[u8]> for Text {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<[u8]> for Text {
    fn eq(&self, other: &[u8]) -> bool {
        self.0 == other
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_str() {
            Ok(s) => fmt::Debug::fmt(s, f),
            // Not UTF-8: shown as a byte string, every byte visible.
            Err(_) => write!(f, "b\"{}\"", self.0.escape_ascii()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_stay_as_they_are() {
        let latin1 = Text::from(&b"Andr\xe9"[..]);
        assert!(latin1.to_str().is_err());
        assert_eq!(latin1.to_string_lossy(), "Andr\u{fffd}");
        assert_eq!(format!("{latin1:?}"), r#"b"Andr\xe9""#);
        assert_eq!(latin1.as_bytes(), b"Andr\xe9");
        let t = Text::from("hello");
        assert_eq!(t, "hello");
        assert_eq!(format!("{t:?} {t}"), "\"hello\" hello");
        assert_eq!(t.len(), 5);
        assert!(!t.is_empty());
    }
}
