//! A small JSON reader specialised for decoding ARI messages into the
//! generated types: one pass, keys borrowed from the input, no visitor layers.
//!
//! It accepts exactly JSON, with one leniency: control characters inside
//! strings are taken as they are.
//!
//! A key repeated in an object that decodes into a model or an event is an
//! error ([`Reader::duplicate`], [`Reader::extra`]), as on the serde path; inside
//! free-form values (`serde_json::Value`) the last copy wins, as in serde_json.

use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

/// Why a text could not be decoded, with the byte offset where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset in the input.
    pub offset: usize,
    /// What was wrong.
    pub reason: Cow<'static, str>,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

impl std::error::Error for JsonError {}

/// A cursor over one JSON text.
pub struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

/// Types the reader decodes. Implemented by every generated model and event.
pub trait Decode: Sized {
    /// Reads one value of this type.
    fn decode(r: &mut Reader<'_>) -> Result<Self, JsonError>;

    /// Reads one value of this type into a box. The generated models
    /// allocate the box first and move their fields straight into it.
    #[inline]
    fn decode_boxed(r: &mut Reader<'_>) -> Result<Box<Self>, JsonError> {
        Self::decode(r).map(Box::new)
    }
}

/// Where a generated decoder puts what it read: [`Inline`] returns it,
/// [`Boxed`] writes it into a box allocated before the fields are moved in,
/// so that the whole struct is not built on the stack and copied.
pub trait Place<T> {
    /// What the decoder returns.
    type Out;
    /// Gets the place ready, before the value is assembled.
    fn new() -> Self;
    /// Puts the value there.
    fn put(self, value: T) -> Self::Out;
}

/// The value itself.
pub struct Inline;

impl<T> Place<T> for Inline {
    type Out = T;
    #[inline(always)]
    fn new() -> Self {
        Inline
    }
    #[inline(always)]
    fn put(self, value: T) -> T {
        value
    }
}

/// A box for the value, allocated up front.
pub type Boxed<T> = Box<std::mem::MaybeUninit<T>>;

impl<T> Place<T> for Boxed<T> {
    type Out = Box<T>;
    #[inline(always)]
    fn new() -> Self {
        Box::new_uninit()
    }
    #[inline(always)]
    fn put(self, value: T) -> Box<T> {
        Box::write(self, value)
    }
}

/// A shared allocation for the value: an event, which the streams that
/// receive it share.
pub struct Shared;

impl<T> Place<T> for Shared {
    type Out = std::sync::Arc<T>;
    #[inline(always)]
    fn new() -> Self {
        Shared
    }
    #[inline(always)]
    fn put(self, value: T) -> std::sync::Arc<T> {
        std::sync::Arc::new(value)
    }
}

const MAX_DEPTH: usize = 128;

impl<'a> Reader<'a> {
    /// A reader at the start of `text`.
    pub fn new(text: &'a str) -> Reader<'a> {
        Reader { text, pos: 0 }
    }

    /// Decodes all of `text` as one `T`, allowing only whitespace after it.
    pub fn decode_all<T: Decode>(text: &'a str) -> Result<T, JsonError> {
        let mut r = Reader::new(text);
        let value = T::decode(&mut r)?;
        r.end()?;
        Ok(value)
    }

    /// Fails unless only whitespace is left.
    pub fn end(&mut self) -> Result<(), JsonError> {
        self.ws();
        if self.pos == self.text.len() {
            Ok(())
        } else {
            Err(self.error("trailing characters"))
        }
    }

    /// An error at the current position.
    pub fn error(&self, reason: impl Into<Cow<'static, str>>) -> JsonError {
        JsonError {
            offset: self.pos,
            reason: reason.into(),
        }
    }

    /// The error for a required field that never came.
    pub fn missing(&self, model: &str, field: &str) -> JsonError {
        self.error(format!("{model}: missing field `{field}`"))
    }

    /// The error for a key met a second time in one object.
    #[cold]
    #[inline(never)]
    pub fn duplicate(&self, field: &str) -> JsonError {
        self.error(format!("duplicate field `{field}`"))
    }

    /// Reads the value of `key`, a field no declaration names, into
    /// `fields`; a key already there is an error naming it.
    #[inline]
    pub fn extra(
        &mut self,
        fields: &mut Map<String, Value>,
        key: Cow<'a, str>,
    ) -> Result<(), JsonError> {
        match fields.entry(key.into_owned()) {
            serde_json::map::Entry::Vacant(slot) => {
                slot.insert(Value::decode(self)?);
                Ok(())
            }
            serde_json::map::Entry::Occupied(slot) => Err(self.duplicate(slot.key())),
        }
    }

    /// The current byte offset.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Moves back to an offset seen before.
    pub fn rewind(&mut self, pos: usize) {
        self.pos = pos.min(self.text.len());
    }

    #[inline]
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The byte at `i`, if there is one.
    #[inline(always)]
    fn at(&self, i: usize) -> Option<u8> {
        self.bytes().get(i).copied()
    }

    #[inline]
    fn ws(&mut self) {
        if matches!(self.at(self.pos), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.skip_ws();
        }
    }

    /// Skips whitespace; out of line, as ARI sends none between tokens.
    #[inline(never)]
    fn skip_ws(&mut self) {
        let b = self.bytes();
        while let Some(&c) = b.get(self.pos) {
            if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    #[inline(always)]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.at(self.pos)
    }

    /// The byte at the current position, whitespace not skipped: what the
    /// generated decoders switch on to recognise a key.
    #[inline(always)]
    pub fn next_byte(&self) -> Option<u8> {
        self.at(self.pos)
    }

    /// Consumes `lit` if the input goes on with exactly these bytes.
    #[inline(always)]
    pub fn eat(&mut self, lit: &[u8]) -> bool {
        let rest = self.bytes().get(self.pos..).unwrap_or_default();
        if rest.starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    #[inline]
    fn expect(&mut self, c: u8, what: &'static str) -> Result<(), JsonError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    fn literal(&mut self, word: &'static str) -> Result<(), JsonError> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("invalid literal"))
        }
    }

    /// Consumes `null` if it comes next.
    #[inline(always)]
    pub fn take_null(&mut self) -> Result<bool, JsonError> {
        if self.peek() == Some(b'n') {
            if self.eat(b"null") {
                return Ok(true);
            }
            return Err(self.error("invalid literal"));
        }
        Ok(false)
    }

    /// Enters an object; read its keys with [`Object::next`] and
    /// [`Reader::key`], or with [`Object::next_key`].
    #[inline(always)]
    pub fn begin_object(&mut self) -> Result<Object, JsonError> {
        if self.at(self.pos) == Some(b'{') {
            self.pos += 1;
        } else {
            self.expect(b'{', "expected an object")?;
        }
        Ok(Object { first: true })
    }

    /// Runs `each` for every element of an array.
    #[inline]
    pub fn array(
        &mut self,
        mut each: impl FnMut(&mut Self) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        self.expect(b'[', "expected an array")?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            each(self)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    /// Reads a string, borrowed when it has no escapes.
    #[inline(always)]
    pub fn str(&mut self) -> Result<Cow<'a, str>, JsonError> {
        // ARI sends no whitespace between tokens: test for the quote first.
        if self.at(self.pos) == Some(b'"') {
            self.pos += 1;
        } else {
            self.expect(b'"', "expected a string")?;
        }
        self.str_rest()
    }

    /// The rest of a string whose opening quote was read.
    #[inline(always)]
    fn str_rest(&mut self) -> Result<Cow<'a, str>, JsonError> {
        let start = self.pos;
        let end = self.scan_plain(start);
        if self.at(end) == Some(b'"') {
            self.pos = end + 1;
            // Both ends are next to a quote: always on a character boundary.
            if let Some(s) = self.text.get(start..end) {
                return Ok(Cow::Borrowed(s));
            }
        }
        self.str_slow(start, end)
    }

    /// A string with escapes, or one that does not end.
    #[cold]
    #[inline(never)]
    fn str_slow(&mut self, start: usize, end: usize) -> Result<Cow<'a, str>, JsonError> {
        self.pos = end;
        match self.at(end) {
            Some(b'\\') => self.escaped(start).map(Cow::Owned),
            _ => Err(self.error("unterminated string")),
        }
    }

    /// Reads the rest of a key whose opening quote was read (see
    /// [`Object::next`]), and the `:` after it.
    #[inline]
    pub fn key(&mut self) -> Result<Cow<'a, str>, JsonError> {
        let key = self.str_rest()?;
        self.expect(b':', "expected ':'")?;
        Ok(key)
    }

    /// First offset from `from` holding `"` or `\`, or the end; 8 bytes at a time.
    #[inline(always)]
    fn scan_plain(&self, i: usize) -> usize {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let b = self.bytes();
        let rest = b.get(i..).unwrap_or_default();
        let mut chunks = rest.chunks_exact(8);
        let mut at = i;
        for chunk in chunks.by_ref() {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let w = u64::from_le_bytes(word);
            let quote = w ^ (ONES * u64::from(b'"'));
            let slash = w ^ (ONES * u64::from(b'\\'));
            let hit =
                (quote.wrapping_sub(ONES) & !quote | slash.wrapping_sub(ONES) & !slash) & HIGH;
            if hit != 0 {
                return at + (hit.trailing_zeros() / 8) as usize;
            }
            at += 8;
        }
        for &c in chunks.remainder() {
            if c == b'"' || c == b'\\' {
                return at;
            }
            at += 1;
        }
        at
    }

    fn escaped(&mut self, start: usize) -> Result<String, JsonError> {
        let mut out = String::with_capacity(self.pos - start + 16);
        out.push_str(&self.text[start..self.pos]);
        loop {
            let end = self.scan_plain(self.pos);
            out.push_str(&self.text[self.pos..end.min(self.text.len())]);
            self.pos = end;
            match self.bytes().get(end) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let esc = *self
                        .bytes()
                        .get(end + 1)
                        .ok_or_else(|| self.error("unterminated escape"))?;
                    self.pos = end + 2;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape()?),
                        _ => return Err(self.error("invalid escape")),
                    }
                }
                _ => return Err(self.error("unterminated string")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("short \\u escape"))?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.error("invalid \\u escape"));
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.error("invalid \\u escape"))
    }

    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let first = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&first) {
            if !self.text[self.pos..].starts_with("\\u") {
                return Err(self.error("lone surrogate"));
            }
            self.pos += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(self.error("invalid surrogate pair"));
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid code point"))
    }

    /// The text of the number that comes next.
    fn number_text(&mut self) -> Result<&'a str, JsonError> {
        self.ws();
        let start = self.pos;
        let b = self.bytes();
        let mut i = start;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        let digits = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == digits || (b[digits] == b'0' && i > digits + 1) {
            return Err(self.error("invalid number"));
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            let frac = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == frac {
                return Err(self.error("invalid number"));
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let exp = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == exp {
                return Err(self.error("invalid number"));
            }
        }
        self.pos = i;
        Ok(&self.text[start..i])
    }

    /// Skips one value of any kind.
    #[inline]
    pub fn skip(&mut self) -> Result<(), JsonError> {
        // Most skipped values (an event's `type` met again) are plain strings.
        if self.at(self.pos) == Some(b'"') {
            let end = self.scan_plain(self.pos + 1);
            if self.at(end) == Some(b'"') {
                self.pos = end + 1;
                return Ok(());
            }
        }
        self.raw_value().map(|_| ())
    }

    /// The text of the next value, which is consumed. Iterative, so deep
    /// nesting cannot exhaust the stack; more than 128 levels is an error.
    pub fn raw_value(&mut self) -> Result<&'a str, JsonError> {
        self.ws();
        let start = self.pos;
        // Bit `d` of `objects` tells whether the container at depth `d` is an object.
        let mut objects: u128 = 0;
        let mut depth = 0usize;
        'value: loop {
            let opened = match self.peek() {
                Some(c @ (b'{' | b'[')) => {
                    if depth == MAX_DEPTH {
                        return Err(self.error("nested too deeply"));
                    }
                    self.pos += 1;
                    let is_object = c == b'{';
                    objects = (objects & !(1 << depth)) | (u128::from(is_object) << depth);
                    depth += 1;
                    Some(is_object)
                }
                Some(b'"') => {
                    self.str()?;
                    None
                }
                Some(b't') => self.literal("true").map(|_| None)?,
                Some(b'f') => self.literal("false").map(|_| None)?,
                Some(b'n') => self.literal("null").map(|_| None)?,
                Some(b'-' | b'0'..=b'9') => self.number_text().map(|_| None)?,
                _ => return Err(self.error("expected a value")),
            };
            if let Some(is_object) = opened {
                let close = if is_object { b'}' } else { b']' };
                if self.peek() == Some(close) {
                    self.pos += 1;
                    depth -= 1;
                } else {
                    if is_object {
                        self.str()?;
                        self.expect(b':', "expected ':'")?;
                    }
                    continue 'value;
                }
            }
            // A value is complete: close containers or go on to the next element.
            loop {
                if depth == 0 {
                    return Ok(&self.text[start..self.pos]);
                }
                let in_object = objects & (1 << (depth - 1)) != 0;
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        if in_object {
                            self.str()?;
                            self.expect(b':', "expected ':'")?;
                        }
                        continue 'value;
                    }
                    Some(b'}') if in_object => {
                        self.pos += 1;
                        depth -= 1;
                    }
                    Some(b']') if !in_object => {
                        self.pos += 1;
                        depth -= 1;
                    }
                    _ => return Err(self.error("expected ',' or a closing bracket")),
                }
            }
        }
    }
}

/// Position inside an object being read.
#[derive(Debug)]
pub struct Object {
    first: bool,
}

impl Object {
    /// Goes to the next key: `true` with the reader just after the key's
    /// opening quote (read the key with [`Reader::key`], or recognise it
    /// with [`Reader::eat`]), `false` at the object's end. The value must be
    /// read (or skipped) before the next call.
    #[inline(always)]
    pub fn next(&mut self, r: &mut Reader<'_>) -> Result<bool, JsonError> {
        let p = r.pos;
        match r.at(p) {
            Some(b',') if !self.first && r.at(p + 1) == Some(b'"') => r.pos = p + 2,
            Some(b'"') if self.first => {
                self.first = false;
                r.pos = p + 1;
            }
            Some(b'}') => {
                r.pos = p + 1;
                return Ok(false);
            }
            _ => return self.next_slow(r),
        }
        Ok(true)
    }

    /// [`Object::next`] where there is whitespace, or an error.
    #[cold]
    #[inline(never)]
    fn next_slow(&mut self, r: &mut Reader<'_>) -> Result<bool, JsonError> {
        match r.peek() {
            Some(b'}') => {
                r.pos += 1;
                return Ok(false);
            }
            Some(b',') if !self.first => {
                r.pos += 1;
                r.ws();
            }
            Some(b'"') if self.first => {}
            _ => return Err(r.error("expected a key or '}'")),
        }
        self.first = false;
        if r.at(r.pos) == Some(b'"') {
            r.pos += 1;
            Ok(true)
        } else {
            Err(r.error("expected a string"))
        }
    }

    /// The next key, or `None` at the object's end. Its value must be read
    /// (or skipped) before the next call.
    #[inline]
    pub fn next_key<'a>(&mut self, r: &mut Reader<'a>) -> Result<Option<Cow<'a, str>>, JsonError> {
        if self.next(r)? {
            r.key().map(Some)
        } else {
            Ok(None)
        }
    }
}

impl Decode for String {
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, JsonError> {
        r.str().map(Cow::into_owned)
    }
}

impl Decode for i64 {
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, JsonError> {
        // The usual case, a short plain integer, read in one pass; anything
        // else (a fraction, an exponent, whitespace, many digits, an error)
        // takes the general path.
        let b = r.bytes();
        let negative = r.at(r.pos) == Some(b'-');
        let start = r.pos + usize::from(negative);
        let mut i = start;
        let mut n: i64 = 0;
        while let Some(&c) = b.get(i) {
            if !c.is_ascii_digit() || i - start == 18 {
                break;
            }
            n = n * 10 + i64::from(c - b'0');
            i += 1;
        }
        let digits = i - start;
        let plain = (1..18).contains(&digits)
            && (digits == 1 || b.get(start) != Some(&b'0'))
            && !matches!(b.get(i), Some(b'.' | b'e' | b'E' | b'0'..=b'9'));
        if plain {
            r.pos = i;
            return Ok(if negative { -n } else { n });
        }
        integer_text(r)
    }
}

/// An integer by the general path: the number's text, parsed.
#[inline(never)]
fn integer_text(r: &mut Reader<'_>) -> Result<i64, JsonError> {
    let t = r.number_text()?;
    t.parse().or_else(|_| {
        // ARI sends integral values; accept `3.0` but nothing fractional.
        let f: f64 = t.parse().map_err(|_| r.error("invalid number"))?;
        if f.fract() == 0.0 && f.abs() < 9.0e18 {
            Ok(f as i64)
        } else {
            Err(r.error("expected an integer"))
        }
    })
}

impl Decode for f64 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, JsonError> {
        let t = r.number_text()?;
        t.parse().map_err(|_| r.error("invalid number"))
    }
}

impl Decode for bool {
    fn decode(r: &mut Reader<'_>) -> Result<Self, JsonError> {
        match r.peek() {
            Some(b't') => r.literal("true").map(|_| true),
            Some(b'f') => r.literal("false").map(|_| false),
            _ => Err(r.error("expected a boolean")),
        }
    }
}

impl Decode for Value {
    fn decode(r: &mut Reader<'_>) -> Result<Self, JsonError> {
        let at = r.position();
        let raw = r.raw_value()?;
        serde_json::from_str(raw).map_err(|e| JsonError {
            offset: at,
            reason: e.to_string().into(),
        })
    }
}

impl Decode for Map<String, Value> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, JsonError> {
        match Value::decode(r)? {
            Value::Object(m) => Ok(m),
            _ => Err(r.error("expected an object")),
        }
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, JsonError> {
        let mut out = Vec::new();
        r.array(|r| {
            out.push(T::decode(r)?);
            Ok(())
        })?;
        Ok(out)
    }
}

impl<T: Decode> Decode for Option<T> {
    #[inline(always)]
    fn decode(r: &mut Reader<'_>) -> Result<Self, JsonError> {
        if r.take_null()? {
            Ok(None)
        } else {
            T::decode(r).map(Some)
        }
    }
}

impl<T: Decode> Decode for Box<T> {
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, JsonError> {
        T::decode_boxed(r)
    }
}

impl Decode for compact_str::CompactString {
    #[inline(always)]
    fn decode(r: &mut Reader<'_>) -> Result<Self, JsonError> {
        Ok(match r.str()? {
            Cow::Borrowed(s) => compact_str::CompactString::new(s),
            Cow::Owned(s) => s.into(),
        })
    }
}

impl Decode for crate::Timestamp {
    #[inline(always)]
    fn decode(r: &mut Reader<'_>) -> Result<Self, JsonError> {
        Ok(crate::Timestamp::new(&r.str()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str) -> Result<Value, JsonError> {
        Reader::decode_all::<Value>(text)
    }

    #[test]
    fn strings_and_escapes() {
        let s: String = Reader::decode_all(r#""plain""#).unwrap();
        assert_eq!(s, "plain");
        let s: String =
            Reader::decode_all(r#""a\"b\\c\/d\n\u00e9\ud83d\ude00 long tail of text""#).unwrap();
        assert_eq!(s, "a\"b\\c/d\né😀 long tail of text");
        assert!(Reader::decode_all::<String>(r#""\ud83d""#).is_err());
        assert!(Reader::decode_all::<String>(r#""abc"#).is_err());
        assert!(Reader::decode_all::<String>(r#""\x""#).is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(Reader::decode_all::<i64>("-12").unwrap(), -12);
        assert_eq!(Reader::decode_all::<i64>("3.0").unwrap(), 3);
        assert!(Reader::decode_all::<i64>("3.5").is_err());
        assert!(Reader::decode_all::<i64>("01").is_err());
        assert_eq!(Reader::decode_all::<f64>("1.5e3").unwrap(), 1500.0);
        assert!(Reader::decode_all::<f64>("1.").is_err());
        assert!(Reader::decode_all::<f64>("-").is_err());
    }

    #[test]
    fn integers_read_the_same_on_the_fast_and_the_general_path() {
        for text in [
            "0",
            "-0",
            "7",
            "-12",
            "1,",
            "42}",
            "123456789012345678",
            "-99999999999999999",
            "1234567890123456789",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "01",
            "-01",
            "-",
            "",
            "1.0",
            "1.5",
            "1e3",
            "2E2",
            " 5",
            "-x",
            "00",
            "12345678901234567890123",
        ] {
            let mut fast = Reader::new(text);
            let mut general = Reader::new(text);
            assert_eq!(
                (i64::decode(&mut fast), fast.position()),
                (integer_text(&mut general), general.position()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn raw_values_match_serde_json() {
        for text in [
            r#"{"a":[1,{"b":"}"},[],{}],"c":{"d":null,"e":[true,false]}}"#,
            r#"[]"#,
            r#"[[[]]]"#,
            r#" "x" "#,
            r#"{"k":"v\"}"}"#,
        ] {
            assert_eq!(
                roundtrip(text).unwrap(),
                serde_json::from_str::<Value>(text).unwrap(),
                "{text}"
            );
        }
        for bad in [
            r#"{"a":}"#,
            r#"[1,]"#,
            r#"{"a" 1}"#,
            r#"{"#,
            r#"[1 2]"#,
            "nul",
            r#"{"a":1,}"#,
        ] {
            assert!(roundtrip(bad).is_err(), "{bad}");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(roundtrip(&deep).is_err());
    }
}
