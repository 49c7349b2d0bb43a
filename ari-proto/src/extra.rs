//! [`Extra`]: the fields of a model that the declarations do not name.

use serde_json::{Map, Value};

/// Fields a model arrived with that the declarations do not name (a newer
/// Asterisk's additions), as received, by name.
///
/// Nearly always empty, so an empty one holds no map at all: building and
/// dropping it costs nothing, which matters at hundreds of thousands of
/// events a second with several models in each.
#[derive(Clone, Default, PartialEq)]
pub struct Extra(Option<Box<Map<String, Value>>>);

impl Extra {
    /// No fields.
    pub const fn new() -> Extra {
        Extra(None)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|m| m.is_empty())
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |m| m.len())
    }

    /// The value of field `name`, if the model had it.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.as_ref()?.get(name)
    }

    /// The fields by name, in name order.
    pub fn iter(&self) -> ExtraIter<'_> {
        ExtraIter(self.0.as_ref().map(|m| m.iter()))
    }

    /// The names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.iter().map(|(k, _)| k)
    }

    /// Adds or replaces a field, returning the value it replaced.
    pub fn insert(&mut self, name: String, value: Value) -> Option<Value> {
        self.fields_mut().insert(name, value)
    }

    /// The fields as a map, made on first use.
    pub fn fields_mut(&mut self) -> &mut Map<String, Value> {
        self.0.get_or_insert_default()
    }

    /// The fields as a map.
    pub fn into_map(self) -> Map<String, Value> {
        self.0.map_or_else(Map::new, |m| *m)
    }
}

impl std::fmt::Debug for Extra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl From<Map<String, Value>> for Extra {
    fn from(map: Map<String, Value>) -> Extra {
        Extra((!map.is_empty()).then(|| Box::new(map)))
    }
}

impl<'a> IntoIterator for &'a Extra {
    type Item = (&'a String, &'a Value);
    type IntoIter = ExtraIter<'a>;
    fn into_iter(self) -> ExtraIter<'a> {
        self.iter()
    }
}

/// The fields of an [`Extra`], in name order.
pub struct ExtraIter<'a>(Option<serde_json::map::Iter<'a>>);

impl<'a> Iterator for ExtraIter<'a> {
    type Item = (&'a String, &'a Value);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.as_mut()?.next()
    }
}

/// Field `name`'s value, or [`Value::Null`] if the model had no such field
/// (as indexing a [`Value`] does).
impl std::ops::Index<&str> for Extra {
    type Output = Value;
    fn index(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.get(name).unwrap_or(&NULL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_empty_extra_holds_no_map_and_a_filled_one_reads_like_one() {
        let mut extra = Extra::new();
        assert!(extra.is_empty() && extra.0.is_none());
        assert_eq!(extra.len(), 0);
        assert_eq!(extra["missing"], Value::Null);
        assert_eq!(extra, Extra::from(Map::new()));
        assert_eq!(extra.insert("b".into(), json!(2)), None);
        assert_eq!(extra.insert("a".into(), json!(1)), None);
        assert_eq!(extra.insert("a".into(), json!(3)), Some(json!(1)));
        assert_eq!(extra.len(), 2);
        assert_eq!(extra.get("a"), Some(&json!(3)));
        assert_eq!(extra["b"], json!(2));
        assert_eq!(extra.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!((&extra).into_iter().count(), 2);
        assert_eq!(format!("{extra:?}"), r#"{"a": Number(3), "b": Number(2)}"#);
        let map = extra.clone().into_map();
        assert_eq!(Extra::from(map), extra);
    }
}
