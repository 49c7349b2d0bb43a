//! Finding what a decoded value holds that this crate's types do not name:
//! fields kept in `extra`, enum values kept in `Other`, unknown event types.
//! The conformance checker uses it to hold the types to real traffic.

use serde_json::Value;

/// Lists the JSON paths of parts of a value the types do not name.
pub trait Inspect {
    /// Appends one entry per unknown part, each starting with `path`.
    fn unknown_fields(&self, path: &str, out: &mut Vec<String>);
}

macro_rules! nothing_unknown {
    ($($t:ty),*) => {$(
        impl Inspect for $t {
            fn unknown_fields(&self, _: &str, _: &mut Vec<String>) {}
        }
    )*};
}
nothing_unknown!(String, crate::Str, crate::Timestamp, i64, f64, bool, Value);

impl<T: Inspect> Inspect for Option<T> {
    fn unknown_fields(&self, path: &str, out: &mut Vec<String>) {
        if let Some(v) = self {
            v.unknown_fields(path, out);
        }
    }
}

impl<T: Inspect> Inspect for Vec<T> {
    fn unknown_fields(&self, path: &str, out: &mut Vec<String>) {
        for (i, v) in self.iter().enumerate() {
            v.unknown_fields(&format!("{path}[{i}]"), out);
        }
    }
}

impl<T: Inspect> Inspect for Box<T> {
    fn unknown_fields(&self, path: &str, out: &mut Vec<String>) {
        (**self).unknown_fields(path, out);
    }
}
