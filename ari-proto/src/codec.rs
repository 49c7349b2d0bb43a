//! One-pass serde plumbing shared by the generated models and events.
//!
//! Models keep every field they do not know in `extra`, so their decoders are
//! written out by the generator instead of derived: `#[serde(flatten)]` would
//! buffer every object and halve decoding speed.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
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
            fill::<B, A>(Vec::new(), map)
        }
    }
    d.deserialize_map(V::<B>(name, PhantomData))
}

/// Fields read before the event's `type`, replayed into the typed builder.
struct Replay {
    items: std::vec::IntoIter<(String, Value)>,
    value: Option<Value>,
}

impl<'de> MapAccess<'de> for Replay {
    type Error = serde_json::Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        match self.items.next() {
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(de::value::StringDeserializer::new(k))
                    .map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        seed.deserialize(self.value.take().unwrap_or(Value::Null))
    }
}

/// Builds `B` from already read `pending` fields and the rest of `map`.
pub fn fill<'de, B: FieldBuilder, A: MapAccess<'de>>(
    pending: Vec<(String, Value)>,
    mut map: A,
) -> Result<B::Output, A::Error> {
    let mut builder = B::default();
    if !pending.is_empty() {
        let mut replay = Replay {
            items: pending.into_iter(),
            value: None,
        };
        while let Some(key) = replay.next_key::<Key>().map_err(de::Error::custom)? {
            builder
                .accept(key, &mut replay)
                .map_err(de::Error::custom)?;
        }
    }
    while let Some(key) = map.next_key::<Key>()? {
        builder.accept(key, &mut map)?;
    }
    builder.finish().map_err(de::Error::missing_field)
}

/// Keeps an event of unknown type whole.
pub fn fill_unknown<'de, A: MapAccess<'de>>(
    type_name: String,
    pending: Vec<(String, Value)>,
    mut map: A,
) -> Result<crate::UnknownEvent, A::Error> {
    let mut fields: Map<String, Value> = pending.into_iter().collect();
    while let Some(key) = map.next_key::<Key>()? {
        if key.as_str() == "type" {
            // A repeated `type` is dropped, as for known events.
            map.next_value::<de::IgnoredAny>()?;
        } else {
            fields.insert(key.into_owned(), map.next_value()?);
        }
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
    pub fn from_json(text: &str) -> Result<crate::Event, crate::json::JsonError> {
        let mut r = crate::json::Reader::new(text);
        let mut object = r.begin_object()?;
        let mut first = true;
        let type_name = loop {
            match object.next_key(&mut r)? {
                Some(key) if key == "type" => break r.str()?,
                Some(_) => r.skip()?,
                None => return Err(r.error("no \"type\" in the message")),
            }
            first = false;
        };
        if !first {
            r.rewind(0);
            object = r.begin_object()?;
        }
        let event = crate::Event::decode_json(&type_name, &mut r, object)?;
        r.end()?;
        Ok(event)
    }
}

impl crate::UnknownEvent {
    pub(crate) fn decode(
        type_name: &str,
        r: &mut crate::json::Reader<'_>,
        mut object: crate::json::Object,
    ) -> Result<Self, crate::json::JsonError> {
        let mut fields = Map::new();
        while let Some(key) = object.next_key(r)? {
            if key == "type" {
                r.skip()?;
            } else {
                fields.insert(key.into_owned(), crate::json::Decode::decode(r)?);
            }
        }
        Ok(crate::UnknownEvent {
            type_name: type_name.to_string(),
            fields,
        })
    }
}
