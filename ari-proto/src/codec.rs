//! One-pass serde plumbing shared by the generated models and events.
//!
//! Models keep every field they do not know in `extra`, so their decoders are
//! written out by the generator instead of derived: `#[serde(flatten)]` would
//! buffer every object and halve decoding speed.
//!
//! A key repeated in an object that decodes into a model or an event (a known
//! field, one kept in `extra` or in [`crate::UnknownEvent::fields`], or the
//! event's `type`) is an error naming it, as in the fast decoder
//! ([`crate::json`]); inside free-form values (`serde_json::Value`) the last
//! copy wins, as in serde_json.

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// A JSON object key or string, borrowed from the input when it has no escapes.
#[derive(Debug)]
pub struct Key<'de>(Cow<'de, str>);

impl<'de> Key<'de> {
    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The key as an owned string.
    pub fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Collects a model's fields in any order. Implemented by generated code.
pub trait FieldBuilder: Default {
    /// The model built.
    type Output;
    /// Reads the value of `key` from `map`.
    fn accept<'de, A: MapAccess<'de>>(
        &mut self,
        key: Key<'de>,
        map: &mut A,
    ) -> Result<(), A::Error>;
    /// The model, or the name of a required field that never came.
    fn finish(self) -> Result<Self::Output, &'static str>;
    /// Notes that the event's `type` was read before: another `type` is a
    /// repeated key. Only event builders have a `type`.
    fn type_read(&mut self) {}
}

/// Notes that the field with bit `bit` of `seen` is being read: a field met
/// before in the same object is an error naming it.
#[inline(always)]
pub fn once<E: de::Error>(seen: &mut u64, bit: u64, field: &'static str) -> Result<(), E> {
    if *seen & bit != 0 {
        return Err(E::duplicate_field(field));
    }
    *seen |= bit;
    Ok(())
}

/// The error for a key met a second time in one object.
#[cold]
fn duplicate<E: de::Error>(field: &str) -> E {
    E::custom(format_args!("duplicate field `{field}`"))
}

/// Reads the value of `key`, a field no declaration names, into `fields`;
/// a key already there is an error naming it.
pub fn extra<'de, A: MapAccess<'de>>(
    fields: &mut Map<String, Value>,
    key: Key<'de>,
    map: &mut A,
) -> Result<(), A::Error> {
    match fields.entry(key.into_owned()) {
        serde_json::map::Entry::Vacant(slot) => {
            slot.insert(map.next_value()?);
            Ok(())
        }
        serde_json::map::Entry::Occupied(slot) => Err(duplicate(slot.key())),
    }
}

/// Deserializes a JSON object through builder `B`.
pub fn deserialize_model<'de, D: Deserializer<'de>, B: FieldBuilder>(
    d: D,
    name: &'static str,
) -> Result<B::Output, D::Error> {
    struct V<B>(&'static str, PhantomData<B>);
    impl<'de, B: FieldBuilder> Visitor<'de> for V<B> {
        type Value = B::Output;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "an ARI {} object", self.0)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<B::Output, A::Error> {
            fill(B::default(), Vec::new(), map)
        }
    }
    d.deserialize_map(V::<B>(name, PhantomData))
}

/// A value read before the event's `type`, kept as it came, repeated keys
/// included, to be decoded once the type is known. (`serde_json::Value`
/// would keep only the last copy of a repeated key, and the typed decoding
/// would then accept what decoding straight from the text rejects.)
#[derive(Debug)]
pub(crate) enum Buffered {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(String),
    Seq(Vec<Buffered>),
    Map(Vec<(String, Buffered)>),
}

impl<'de> de::Deserialize<'de> for Buffered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Buffered;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Buffered, E> {
                Ok(Buffered::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Buffered, E> {
                Ok(Buffered::I64(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Buffered, E> {
                Ok(Buffered::U64(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Buffered, E> {
                Ok(Buffered::F64(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Buffered, E> {
                Ok(Buffered::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Buffered, E> {
                Ok(Buffered::Str(v))
            }
            fn visit_unit<E>(self) -> Result<Buffered, E> {
                Ok(Buffered::Null)
            }
            fn visit_none<E>(self) -> Result<Buffered, E> {
                Ok(Buffered::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Buffered, D::Error> {
                de::Deserialize::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Buffered, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Buffered::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Buffered, A::Error> {
                let mut items = Vec::new();
                while let Some(key) = map.next_key::<Key>()? {
                    items.push((key.into_owned(), map.next_value()?));
                }
                Ok(Buffered::Map(items))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de, E: de::Error> IntoDeserializer<'de, E> for Buffered {
    type Deserializer = BufferedDeserializer<E>;
    fn into_deserializer(self) -> BufferedDeserializer<E> {
        BufferedDeserializer(self, PhantomData)
    }
}

/// Replays a [`Buffered`] value to any `Deserialize`.
pub(crate) struct BufferedDeserializer<E>(Buffered, PhantomData<E>);

impl<'de, E: de::Error> Deserializer<'de> for BufferedDeserializer<E> {
    type Error = E;
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        match self.0 {
            Buffered::Null => v.visit_unit(),
            Buffered::Bool(b) => v.visit_bool(b),
            Buffered::U64(n) => v.visit_u64(n),
            Buffered::I64(n) => v.visit_i64(n),
            Buffered::F64(n) => v.visit_f64(n),
            Buffered::Str(s) => v.visit_string(s),
            Buffered::Seq(items) => {
                let mut seq = SeqDeserializer::new(items.into_iter());
                let out = v.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            Buffered::Map(items) => {
                let mut map = MapDeserializer::new(items.into_iter());
                let out = v.visit_map(&mut map)?;
                map.end()?;
                Ok(out)
            }
        }
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        match self.0 {
            Buffered::Null => v.visit_none(),
            _ => v.visit_some(self),
        }
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, E> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, E> {
        match self.0 {
            Buffered::Str(s) => v.visit_enum(s.into_deserializer()),
            _ => self.deserialize_any(v),
        }
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

/// Builds with `builder` from already read `pending` fields and the rest of `map`.
pub(crate) fn fill<'de, B: FieldBuilder, A: MapAccess<'de>>(
    mut builder: B,
    pending: Vec<(String, Buffered)>,
    mut map: A,
) -> Result<B::Output, A::Error> {
    if !pending.is_empty() {
        let mut replay = MapDeserializer::<_, A::Error>::new(pending.into_iter());
        while let Some(key) = replay.next_key::<Key>()? {
            builder.accept(key, &mut replay)?;
        }
    }
    while let Some(key) = map.next_key::<Key>()? {
        builder.accept(key, &mut map)?;
    }
    builder.finish().map_err(de::Error::missing_field)
}

/// Builds event builder `B` once the event's `type` was read.
pub(crate) fn fill_event<'de, B: FieldBuilder, A: MapAccess<'de>>(
    pending: Vec<(String, Buffered)>,
    map: A,
) -> Result<B::Output, A::Error> {
    let mut builder = B::default();
    builder.type_read();
    fill(builder, pending, map)
}

/// Keeps an event of unknown type whole; its `type` was read.
pub(crate) fn fill_unknown<'de, A: MapAccess<'de>>(
    type_name: String,
    pending: Vec<(String, Buffered)>,
    mut map: A,
) -> Result<crate::UnknownEvent, A::Error> {
    let mut fields: Map<String, Value> = Map::new();
    for (key, value) in pending {
        match fields.entry(key) {
            serde_json::map::Entry::Vacant(slot) => {
                slot.insert(de::Deserialize::deserialize(
                    IntoDeserializer::<A::Error>::into_deserializer(value),
                )?);
            }
            serde_json::map::Entry::Occupied(slot) => return Err(duplicate(slot.key())),
        }
    }
    while let Some(key) = map.next_key::<Key>()? {
        if key.as_str() == "type" {
            return Err(de::Error::duplicate_field("type"));
        }
        extra(&mut fields, key, &mut map)?;
    }
    Ok(crate::UnknownEvent { type_name, fields })
}

impl<'de> de::Deserialize<'de> for crate::Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = crate::Event;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an ARI message object with a \"type\"")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<crate::Event, A::Error> {
                // Asterisk usually, not always, sends "type" first: keep what
                // comes before it and replay it once the type is known.
                let mut pending = Vec::new();
                while let Some(key) = map.next_key::<Key>()? {
                    if key.as_str() == "type" {
                        let type_name: Key = map.next_value()?;
                        return crate::Event::decode_typed(type_name, pending, map);
                    }
                    pending.push((key.into_owned(), map.next_value()?));
                }
                Err(de::Error::missing_field("type"))
            }
        }
        d.deserialize_map(V)
    }
}

/// Implements `Display`, `Serialize` and `Deserialize` for an open string enum
/// that has `as_str` and `From<&str>`.
macro_rules! string_enum {
    ($name:ident) => {
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        #[cfg(feature = "conformance")]
        impl $crate::WireValue for $name {
            fn parse_wire(text: &str) -> Result<Self, String> {
                Ok(Self::from(text))
            }
        }
        impl $crate::Inspect for $name {
            fn unknown_fields(&self, path: &str, out: &mut Vec<String>) {
                if let Self::Other(v) = self {
                    out.push(format!("{path}: unknown value {v:?}"));
                }
            }
        }
        impl $crate::json::Decode for $name {
            fn decode(r: &mut $crate::json::Reader<'_>) -> Result<Self, $crate::json::JsonError> {
                Ok(Self::from(&*r.str()?))
            }
        }
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let key = <$crate::codec::Key<'de> as serde::Deserialize>::deserialize(d)?;
                Ok(Self::from(key.as_str()))
            }
        }
    };
}
pub(crate) use string_enum;

impl crate::Event {
    /// Decodes one ARI message (a WebSocket text frame).
    ///
    /// Two steps: find the top-level `type`, then decode straight into that
    /// event's struct. Asterisk usually sends `type` first, and then decoding
    /// simply goes on from there; otherwise the keys before it are skipped
    /// once and read again. A `type` this crate does not know gives
    /// [`crate::Event::Unknown`].
    ///
    /// A key repeated in the message or in any object of it that decodes
    /// into a model (the `type` too) is an error naming it, as with
    /// `serde_json::from_str::<Event>`; inside free-form values
    /// (`serde_json::Value` fields) the last copy wins.
    pub fn from_json(text: &str) -> Result<crate::Event, crate::json::JsonError> {
        let mut r = crate::json::Reader::new(text);
        let mut object = r.begin_object()?;
        let mut first = true;
        let type_name = loop {
            if !object.next(&mut r)? {
                return Err(r.error("no \"type\" in the message"));
            }
            if r.eat(b"type\":") || r.key()? == "type" {
                break r.str()?;
            }
            r.skip()?;
            first = false;
        };
        // Read from the start again, the `type` is met once more there.
        if !first {
            r.rewind(0);
            object = r.begin_object()?;
        }
        let event = crate::Event::decode_json(&type_name, &mut r, object, first)?;
        r.end()?;
        Ok(event)
    }
}

impl crate::UnknownEvent {
    pub(crate) fn decode(
        type_name: &str,
        r: &mut crate::json::Reader<'_>,
        mut object: crate::json::Object,
        mut type_read: bool,
    ) -> Result<Self, crate::json::JsonError> {
        let mut fields = Map::new();
        while let Some(key) = object.next_key(r)? {
            if key == "type" {
                if type_read {
                    return Err(r.duplicate("type"));
                }
                type_read = true;
                r.skip()?;
            } else {
                r.extra(&mut fields, key)?;
            }
        }
        Ok(crate::UnknownEvent {
            type_name: type_name.to_string(),
            fields,
        })
    }
}
