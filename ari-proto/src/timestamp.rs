//! ARI dates (`Date` in the API declarations) kept as Asterisk wrote them.

use std::fmt;

/// Bytes held without a heap allocation: ARI writes 28
/// (`2026-11-22T15:42:42.702+0000`).
const INLINE: usize = 30;

/// A date and time from Asterisk, as its text
/// (for example `2026-11-22T15:42:42.702+0000`).
///
/// Every event carries one and every channel and bridge another, so the
/// text is stored inline (up to 30 bytes) instead of on the heap; any
/// longer text is kept whole too. [`Timestamp::unix_millis`] reads it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Timestamp(Repr);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

impl Timestamp {
    /// Keeps `text` as it is.
    pub fn new(text: &str) -> Timestamp {
        if text.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            Timestamp(Repr::Inline {
                len: text.len() as u8,
                bytes,
            })
        } else {
            Timestamp(Repr::Heap(text.into()))
        }
    }

    /// The text as Asterisk sent it.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Always valid: the bytes were copied whole from a `&str`.
            Repr::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Repr::Heap(s) => s,
        }
    }

    /// Milliseconds since the Unix epoch, for text in ARI's format
    /// `YYYY-MM-DDTHH:MM:SS[.fff]±HHMM` (or `Z`); `None` for anything else.
    pub fn unix_millis(&self) -> Option<i64> {
        let s = self.as_str().as_bytes();
        let num = |range: std::ops::Range<usize>| -> Option<i64> {
            let digits = s.get(range)?;
            digits.iter().try_fold(0i64, |n, &b| {
                b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0'))
            })
        };
        let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
        if separators.iter().any(|&(i, c)| s.get(i) != Some(&c)) {
            return None;
        }
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
            return None;
        }
        if second > 60 {
            return None;
        }
        let mut i = 19;
        let mut millis = 0;
        if s.get(i) == Some(&b'.') {
            let digits = s[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            // Milliseconds from the first three digits, padded.
            millis = (0..3).fold(0, |n, k| {
                let d = if k < digits { s[i + 1 + k] - b'0' } else { 0 };
                n * 10 + i64::from(d)
            });
            i += 1 + digits;
        }
        let offset_minutes = match s.get(i..)? {
            b"Z" => 0,
            [sign @ (b'+' | b'-'), h1, h2, rest @ ..] => {
                let (m1, m2) = match rest {
                    [m1, m2] | [b':', m1, m2] => (m1, m2),
                    _ => return None,
                };
                let digits = [*h1, *h2, *m1, *m2];
                if !digits.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                let [h1, h2, m1, m2] = digits.map(|b| i64::from(b - b'0'));
                let minutes = (h1 * 10 + h2) * 60 + m1 * 10 + m2;
                if *sign == b'-' { -minutes } else { minutes }
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
        Some(seconds * 1_000 + millis)
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Ordered as text, like the strings Asterisk sent.
impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Default for Timestamp {
    fn default() -> Self {
        Timestamp::new("")
    }
}

impl std::ops::Deref for Timestamp {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Timestamp {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Timestamp {
    fn from(text: &str) -> Self {
        Timestamp::new(text)
    }
}

impl PartialEq<str> for Timestamp {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Timestamp {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date and time as a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Ok(Timestamp::new(v))
            }
        }
        deserializer.deserialize_str(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_text_inline_or_not() {
        for text in [
            "",
            "2026-11-22T15:42:42.702+0000",
            "a date written by a future Asterisk with more words",
        ] {
            let t = Timestamp::new(text);
            assert_eq!(t.as_str(), text);
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                serde_json::to_string(text).unwrap()
            );
            let back: Timestamp =
                serde_json::from_str(&serde_json::to_string(text).unwrap()).unwrap();
            assert_eq!(back, t);
        }
        assert!(matches!(
            Timestamp::new("2026-11-22T15:42:42.702+0000").0,
            Repr::Inline { .. }
        ));
    }

    #[test]
    fn orders_as_its_text() {
        let mut dates: Vec<Timestamp> = [
            "2026-11-22T15:42:42.702+0000",
            "2026-11-22T15:42:42.7+0000",
            "2025-01-01T00:00:00.000+00:00 and a longer tail than fits inline",
            "2026-11-22T15:42:42.702+00:00",
        ]
        .into_iter()
        .map(Timestamp::new)
        .collect();
        let mut texts: Vec<String> = dates.iter().map(|d| d.to_string()).collect();
        dates.sort();
        texts.sort();
        assert_eq!(dates.iter().map(|d| d.as_str()).collect::<Vec<_>>(), texts);
    }

    #[test]
    fn reads_ari_dates() {
        let ms = |s: &str| Timestamp::new(s).unix_millis();
        assert_eq!(ms("1970-01-01T00:00:00.000+0000"), Some(0));
        assert_eq!(ms("2026-11-22T15:42:42.702+0000"), Some(1_795_362_162_702));
        assert_eq!(ms("2026-11-22T16:42:42.702+0100"), Some(1_795_362_162_702));
        assert_eq!(ms("2026-11-22T10:12:42.702-05:30"), Some(1_795_362_162_702));
        assert_eq!(ms("2026-11-22T15:42:42Z"), Some(1_795_362_162_000));
        assert_eq!(ms("2026-11-22T15:42:42.7+0000"), Some(1_795_362_162_700));
        assert_eq!(ms("2000-02-29T00:00:00.000+0000"), Some(951_782_400_000));
        assert_eq!(ms("1969-12-31T23:59:59.000+0000"), Some(-1_000));
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00.000+0000",
            "2026-11-22 15:42:42.702+0000",
            "2026-11-22T15:42:42.+0000",
            "2026-11-22T15:42:42.702+00",
            "2026-11-22T15:42:42.702",
            "2026-11-22T15:42:42.702+0000 ",
            "2026-11-22T15:42:42.702+é000",
        ] {
            assert_eq!(ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn any_damage_to_a_date_reads_as_none_or_a_value_never_a_panic() {
        let good = "2026-11-22T15:42:42.702+0000";
        let mut read = 0;
        for cut in 0..=good.len() {
            let _ = Timestamp::new(&good[..cut]).unix_millis();
        }
        for at in 0..good.len() {
            for b in [b'0', b'9', b'-', b':', b'.', b'+', b'Z', b' ', b'x', 0xC3] {
                let mut bytes = good.as_bytes().to_vec();
                bytes[at] = b;
                let text = String::from_utf8_lossy(&bytes);
                if Timestamp::new(&text).unix_millis().is_some() {
                    read += 1;
                }
            }
        }
        // Digits replaced by digits still read; most other damage does not.
        assert!((30..60).contains(&read), "{read}");
    }
}
