//! Emits models (plain and event) with hand-rolled serde impls that keep
//! unknown fields and decode in one pass.

use crate::names::{field, lit, pascal, variant};
use crate::spec::{Merged, Model, Property};
use std::fmt::Write;

/// Where a type name is resolved from.
pub fn rust_type(ty: &str, enum_name: Option<&str>) -> String {
    if let Some(inner) = ty.strip_prefix("List[").and_then(|t| t.strip_suffix(']')) {
        return format!("Vec<{}>", rust_type(inner, enum_name));
    }
    if let Some(e) = enum_name {
        return e.to_string();
    }
    match ty {
        "string" => "crate::Str".into(),
        "Date" => "crate::Timestamp".into(),
        "int" | "long" => "i64".into(),
        "double" => "f64".into(),
        "boolean" => "bool".into(),
        "object" => "serde_json::Value".into(),
        other => format!("crate::models::{other}"),
    }
}

/// Name of the enum generated for a property with allowed values.
pub fn enum_name(model: &str, prop: &str) -> String {
    let p = pascal(prop);
    if p.starts_with(model) {
        p
    } else {
        format!("{model}{p}")
    }
}

/// Emits an open enum: known values plus `Other(String)`.
pub fn emit_enum(out: &mut String, name: &str, doc: &str, values: &[String]) {
    emit_open_enum(out, name, doc, values, "crate::codec::string_enum");
}

/// Emits an open enum (known values plus `Other(String)`, `as_str` and
/// `From<&str>`) and a call of `impls!(Name)`, the target crate's macro
/// for its further impls.
pub fn emit_open_enum(out: &mut String, name: &str, doc: &str, values: &[String], impls: &str) {
    let variants: Vec<(String, &String)> = values.iter().map(|v| (variant(v), v)).collect();
    writeln!(out, "/// {doc}").unwrap();
    writeln!(
        out,
        "///\n/// Unknown values from newer releases are kept in `Other`."
    )
    .unwrap();
    writeln!(out, "#[derive(Debug, Clone, PartialEq, Eq, Hash)]").unwrap();
    writeln!(out, "#[non_exhaustive]\npub enum {name} {{").unwrap();
    for (v, raw) in &variants {
        writeln!(out, "    /// The value `{raw}`.\n    {v},").unwrap();
    }
    writeln!(
        out,
        "    /// A value this release of the crate does not know.\n    Other(String),\n}}\n"
    )
    .unwrap();
    writeln!(out, "impl {name} {{").unwrap();
    writeln!(out, "    /// The value as sent on the wire.").unwrap();
    writeln!(
        out,
        "    pub fn as_str(&self) -> &str {{\n        match self {{"
    )
    .unwrap();
    for (v, raw) in &variants {
        writeln!(out, "            Self::{v} => {},", lit(raw)).unwrap();
    }
    writeln!(
        out,
        "            Self::Other(s) => s,\n        }}\n    }}\n}}\n"
    )
    .unwrap();
    writeln!(
        out,
        "impl From<&str> for {name} {{\n    fn from(s: &str) -> Self {{\n        match s {{"
    )
    .unwrap();
    for (v, raw) in &variants {
        writeln!(out, "            {} => Self::{v},", lit(raw)).unwrap();
    }
    writeln!(
        out,
        "            other => Self::Other(other.to_string()),\n        }}\n    }}\n}}\n"
    )
    .unwrap();
    writeln!(out, "{impls}!({name});\n").unwrap();
}

struct FieldSpec<'a> {
    prop: &'a Property,
    rust: String,
    ty: String,
}

fn fields_of<'a>(model: &str, props: &'a [Property]) -> Vec<FieldSpec<'a>> {
    props
        .iter()
        .map(|p| {
            let en = (!p.allowed.is_empty()).then(|| enum_name(model, &p.name));
            let mut ty = rust_type(&p.ty, en.as_deref());
            // An optional model beside another field of its type (a replaced
            // channel, a transfer's other legs) is often absent: boxed, it
            // then costs a pointer, not its whole size. The only one of its
            // type is what the struct is about, nearly always there (a
            // `ChannelVarset`'s channel): inline, it saves an allocation.
            let shares_type = props.iter().any(|q| q.name != p.name && q.ty == p.ty);
            if !p.always && ty.starts_with("crate::models::") && shares_type {
                ty = format!("Box<{ty}>");
            }
            FieldSpec {
                prop: p,
                rust: field(&p.name),
                ty,
            }
        })
        .collect()
}

/// Emits one struct, its builder and its serde impls. `event_type` is set for
/// event models: the serialized form then starts with `"type"`.
pub fn emit_struct(out: &mut String, model: &Model, props: &[Property], event_type: Option<&str>) {
    let name = &model.name;
    let fields = fields_of(name, props);
    // One bit per field (and `type`) in a `u64` tells which were read.
    assert!(
        fields.len() + usize::from(event_type.is_some()) <= 64,
        "{name}: more fields than the `seen` mask holds"
    );
    for f in &fields {
        if !f.prop.allowed.is_empty() {
            let en = enum_name(name, &f.prop.name);
            let doc = format!("Allowed values of `{name}.{}`.", f.prop.name);
            emit_enum(out, &en, &doc, &f.prop.allowed);
        }
    }
    match event_type {
        Some(t) => writeln!(out, "/// The `{t}` event (JSON `\"type\": \"{t}\"`).").unwrap(),
        None => writeln!(out, "/// The ARI `{name}` object.").unwrap(),
    }
    writeln!(
        out,
        "///\n/// Declared by Asterisk {}. Fields a newer Asterisk adds are kept in `extra`.",
        model.releases.join(", ")
    )
    .unwrap();
    writeln!(
        out,
        "#[derive(Debug, Clone, PartialEq)]\n#[non_exhaustive]\npub struct {name} {{"
    )
    .unwrap();
    for f in &fields {
        let when = if f.prop.always {
            "always sent"
        } else {
            "optional, or absent in some releases"
        };
        let values = if f.prop.allowed.is_empty() {
            String::new()
        } else {
            let listed: Vec<String> = f.prop.allowed.iter().map(|v| format!("`{v}`")).collect();
            format!("; one of {} (others kept as `Other`)", listed.join(", "))
        };
        let declared = if f.prop.releases.is_empty() {
            "; not declared, but sent by Asterisk (see ari-codegen's overrides.json)".to_string()
        } else if !model.releases.iter().all(|r| f.prop.releases.contains(r)) {
            // Inherited fields come with the event in every release it has.
            let shared: Vec<&str> = (f.prop.releases.iter())
                .filter(|r| model.releases.contains(r))
                .map(String::as_str)
                .collect();
            format!("; declared by Asterisk {}", shared.join(", "))
        } else {
            String::new()
        };
        writeln!(
            out,
            "    /// JSON `{}`, `{}`: {when}{values}{declared}.",
            f.prop.name, f.prop.ty
        )
        .unwrap();
        if f.prop.always {
            writeln!(out, "    pub {}: {},", f.rust, f.ty).unwrap();
        } else {
            writeln!(out, "    pub {}: Option<{}>,", f.rust, f.ty).unwrap();
        }
    }
    writeln!(
        out,
        "    /// Fields the declarations do not name, as received.\n    pub extra: crate::Extra,\n}}\n"
    )
    .unwrap();

    // Builder: collects fields in any order.
    let builder = format!("{name}Builder");
    writeln!(
        out,
        "#[doc(hidden)]\n#[derive(Default)]\npub struct {builder} {{"
    )
    .unwrap();
    match event_type {
        Some(_) => writeln!(
            out,
            "    /// Bit `i` set: field `i` was read; bit {}: the `type`.\n    seen: u64,",
            fields.len()
        )
        .unwrap(),
        None if !fields.is_empty() => writeln!(
            out,
            "    /// Bit `i` set: field `i` was read.\n    seen: u64,"
        )
        .unwrap(),
        None => {}
    }
    for f in &fields {
        writeln!(out, "    {}: Option<{}>,", f.rust, f.ty).unwrap();
    }
    writeln!(out, "    extra: crate::Extra,\n}}\n").unwrap();
    writeln!(out, "impl crate::codec::FieldBuilder for {builder} {{").unwrap();
    writeln!(out, "    type Output = {name};").unwrap();
    writeln!(out, "    fn accept<'de, A: serde::de::MapAccess<'de>>(&mut self, key: crate::codec::Key<'de>, map: &mut A) -> Result<(), A::Error> {{").unwrap();
    // A key met twice in one object is an error: the `seen` bit of a known
    // field, the `extra` map for the others.
    if fields.is_empty() && event_type.is_none() {
        writeln!(
            out,
            "        crate::codec::extra(self.extra.fields_mut(), key, map)\n    }}"
        )
        .unwrap();
    } else {
        writeln!(out, "        match key.as_str() {{").unwrap();
        for (i, f) in fields.iter().enumerate() {
            // Optional fields accept `null`; required ones skip that check.
            let read = if f.prop.always {
                "Some(map.next_value()?)"
            } else {
                "map.next_value()?"
            };
            writeln!(
                out,
                "            {0} => {{ crate::codec::once::<A::Error>(&mut self.seen, 1 << {i}, {0})?; self.{1} = {read}; }}",
                lit(&f.prop.name),
                f.rust
            )
            .unwrap();
        }
        if event_type.is_some() {
            // The variant already says the type: its value is not kept.
            writeln!(
                out,
                "            \"type\" => {{ crate::codec::once::<A::Error>(&mut self.seen, 1 << {}, \"type\")?; map.next_value::<serde::de::IgnoredAny>()?; }}",
                fields.len()
            )
            .unwrap();
        }
        writeln!(
            out,
            "            _ => crate::codec::extra(self.extra.fields_mut(), key, map)?,"
        )
        .unwrap();
        writeln!(out, "        }}\n        Ok(())\n    }}").unwrap();
    }
    if event_type.is_some() {
        writeln!(
            out,
            "    fn type_read(&mut self) {{\n        self.seen |= 1 << {};\n    }}",
            fields.len()
        )
        .unwrap();
    }
    writeln!(
        out,
        "    fn finish(self) -> Result<{name}, &'static str> {{\n        Ok({name} {{"
    )
    .unwrap();
    for f in &fields {
        if f.prop.always {
            writeln!(
                out,
                "            {0}: self.{0}.ok_or({1})?,",
                f.rust,
                lit(&f.prop.name)
            )
            .unwrap();
        } else {
            writeln!(out, "            {0}: self.{0},", f.rust).unwrap();
        }
    }
    writeln!(
        out,
        "            extra: self.extra,\n        }})\n    }}\n}}\n"
    )
    .unwrap();

    writeln!(out, "impl<'de> serde::Deserialize<'de> for {name} {{").unwrap();
    writeln!(
        out,
        "    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {{"
    )
    .unwrap();
    writeln!(
        out,
        "        crate::codec::deserialize_model::<D, {builder}>(d, {})\n    }}\n}}\n",
        lit(name)
    )
    .unwrap();

    writeln!(out, "impl serde::Serialize for {name} {{").unwrap();
    writeln!(
        out,
        "    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {{"
    )
    .unwrap();
    writeln!(
        out,
        "        use serde::ser::SerializeMap;\n        let mut m = s.serialize_map(None)?;"
    )
    .unwrap();
    if let Some(t) = event_type {
        writeln!(out, "        m.serialize_entry(\"type\", {})?;", lit(t)).unwrap();
    }
    for f in &fields {
        if f.prop.always {
            writeln!(
                out,
                "        m.serialize_entry({}, &self.{})?;",
                lit(&f.prop.name),
                f.rust
            )
            .unwrap();
        } else {
            writeln!(
                out,
                "        if let Some(v) = &self.{} {{ m.serialize_entry({}, v)?; }}",
                f.rust,
                lit(&f.prop.name)
            )
            .unwrap();
        }
    }
    writeln!(
        out,
        "        for (k, v) in &self.extra {{ m.serialize_entry(k, v)?; }}"
    )
    .unwrap();
    writeln!(out, "        m.end()\n    }}\n}}\n").unwrap();
    emit_json_decode(out, name, &fields, event_type.is_some());
    writeln!(out, "impl crate::Inspect for {name} {{").unwrap();
    writeln!(
        out,
        "    fn unknown_fields(&self, path: &str, out: &mut Vec<String>) {{"
    )
    .unwrap();
    for f in &fields {
        writeln!(
            out,
            "        self.{}.unknown_fields(&format!(\"{{path}}.{}\"), out);",
            f.rust, f.prop.name
        )
        .unwrap();
    }
    writeln!(out, "        for key in self.extra.keys() {{ out.push(format!(\"{{path}}.{{key}}\")); }}\n    }}\n}}\n").unwrap();
    if event_type.is_none() {
        writeln!(out, "impl crate::Model for {name} {{}}\n").unwrap();
    }
}

/// The fast decoder: fields go into locals, the struct is built once.
///
/// A key met twice in one object is an error: a bit of `seen` per known field
/// (one AND and one OR per key), the `extra` map for the others. An event's
/// `decode_fields` is told whether its `type` was read already.
fn emit_json_decode(out: &mut String, name: &str, fields: &[FieldSpec], is_event: bool) {
    let type_arg = if is_event { ", false" } else { "" };
    writeln!(out, "impl crate::json::Decode for {name} {{").unwrap();
    writeln!(
        out,
        "    fn decode(r: &mut crate::json::Reader<'_>) -> Result<Self, crate::json::JsonError> {{"
    )
    .unwrap();
    writeln!(out, "        let object = r.begin_object()?;\n        Self::decode_fields(r, object{type_arg})\n    }}\n").unwrap();
    writeln!(
        out,
        "    fn decode_boxed(r: &mut crate::json::Reader<'_>) -> Result<Box<Self>, crate::json::JsonError> {{"
    )
    .unwrap();
    writeln!(out, "        let object = r.begin_object()?;\n        Self::decode_fields_in::<crate::json::Boxed<Self>>(r, object{type_arg})\n    }}\n}}\n").unwrap();
    writeln!(out, "impl {name} {{").unwrap();
    let type_param = if is_event { ", type_read: bool" } else { "" };
    let type_pass = if is_event { ", type_read" } else { "" };
    if is_event {
        writeln!(
            out,
            "    /// Reads the rest of an object whose opening brace (and maybe some keys) were read;\n    /// `type_read`: its `type` was among them."
        )
        .unwrap();
    } else {
        writeln!(
            out,
            "    /// Reads the rest of an object whose opening brace (and maybe some keys) were read."
        )
        .unwrap();
    }
    writeln!(out, "    #[doc(hidden)]").unwrap();
    writeln!(out, "    pub fn decode_fields(r: &mut crate::json::Reader<'_>, object: crate::json::Object{type_param}) -> Result<Self, crate::json::JsonError> {{").unwrap();
    writeln!(
        out,
        "        Self::decode_fields_in::<crate::json::Inline>(r, object{type_pass})\n    }}\n"
    )
    .unwrap();
    writeln!(
        out,
        "    /// [`Self::decode_fields`], the result put in `P` (a box is allocated before the fields are moved in)."
    )
    .unwrap();
    writeln!(out, "    #[doc(hidden)]").unwrap();
    writeln!(out, "    pub fn decode_fields_in<P: crate::json::Place<Self>>(r: &mut crate::json::Reader<'_>, mut object: crate::json::Object{type_param}) -> Result<P::Out, crate::json::JsonError> {{").unwrap();
    // A field's local is `None` until its key is met: `Some` again is a
    // repeated key. (An optional field's value may itself be `None`, a
    // `null`.) Tested before the value is read, the local is known to be
    // empty where it is set, so there is nothing to drop there.
    for f in fields {
        let ty = if f.prop.always {
            f.ty.clone()
        } else {
            format!("Option<{}>", f.ty)
        };
        writeln!(
            out,
            "        let mut f_{}: Option<{ty}> = None;",
            f.rust.trim_start_matches("r#"),
        )
        .unwrap();
    }
    writeln!(out, "        let mut extra = crate::Extra::new();").unwrap();
    if fields.is_empty() && !is_event {
        writeln!(out, "        while let Some(key) = object.next_key(r)? {{").unwrap();
        writeln!(
            out,
            "            r.extra(extra.fields_mut(), key)?;\n        }}"
        )
        .unwrap();
        writeln!(
            out,
            "        Ok(P::new().put({name} {{ extra }}))\n    }}\n}}\n"
        )
        .unwrap();
        return;
    }
    if is_event {
        writeln!(out, "        let mut type_seen = type_read;").unwrap();
    }
    // Keys are recognised where they stand in the input: a switch on their
    // first byte, then a comparison with the whole key, its closing quote
    // and the `:` after it. Anything else (an unknown key, escapes,
    // whitespace) is read as a string and looked up by name.
    let mut names: Vec<&str> = fields.iter().map(|f| f.prop.name.as_str()).collect();
    if is_event {
        names.push("type");
    }
    writeln!(out, "        while object.next(r)? {{").unwrap();
    writeln!(out, "            let field = match r.next_byte() {{").unwrap();
    for (i, name) in names.iter().enumerate() {
        if let Some(first) = name.bytes().next().filter(|_| plain_key(name)) {
            writeln!(
                out,
                "                Some(b'{}') if r.eat(b\"{name}\\\":\") => {i},",
                first as char
            )
            .unwrap();
        }
    }
    writeln!(
        out,
        "                _ => {{\n                    let key = r.key()?;"
    )
    .unwrap();
    writeln!(out, "                    match &*key {{").unwrap();
    for (i, name) in names.iter().enumerate() {
        writeln!(out, "                        {} => {i},", lit(name)).unwrap();
    }
    writeln!(
        out,
        "                        _ => {{\n                            r.extra(extra.fields_mut(), key)?;\n                            continue;\n                        }}"
    )
    .unwrap();
    writeln!(
        out,
        "                    }}\n                }}\n            }};"
    )
    .unwrap();
    // One arm per field (and the `type`): the last one takes the last index
    // and, as every index is one of them, whatever else could come.
    let mut arms: Vec<String> = fields
        .iter()
        .map(|f| {
            let local = format!("f_{}", f.rust.trim_start_matches("r#"));
            format!(
                "if {local}.is_some() {{ return Err(r.duplicate({})); }} {local} = Some(crate::json::Decode::decode(r)?);",
                lit(&f.prop.name)
            )
        })
        .collect();
    if is_event {
        arms.push(
            "if type_seen { return Err(r.duplicate(\"type\")); } type_seen = true; r.skip()?;"
                .to_string(),
        );
    }
    if arms.len() == 1 {
        writeln!(out, "            let _ = field;\n            {}", arms[0]).unwrap();
    } else {
        writeln!(out, "            match field {{").unwrap();
        for (i, arm) in arms.iter().enumerate() {
            let pattern = if i + 1 == arms.len() {
                "_".to_string()
            } else {
                i.to_string()
            };
            writeln!(out, "                {pattern} => {{ {arm} }}").unwrap();
        }
        writeln!(out, "            }}").unwrap();
    }
    writeln!(out, "        }}").unwrap();
    // The place (a box) comes first: the fields then move straight into it.
    writeln!(
        out,
        "        let place = P::new();\n        Ok(place.put({name} {{"
    )
    .unwrap();
    for f in fields {
        let local = format!("f_{}", f.rust.trim_start_matches("r#"));
        if f.prop.always {
            writeln!(
                out,
                "            {}: {local}.ok_or_else(|| r.missing({}, {}))?,",
                f.rust,
                lit(name),
                lit(&f.prop.name)
            )
            .unwrap();
        } else {
            writeln!(out, "            {}: {local}.flatten(),", f.rust).unwrap();
        }
    }
    writeln!(out, "            extra,\n        }}))\n    }}\n}}\n").unwrap();
}

/// Whether a key can be matched as the bytes it is written with: printable
/// ASCII, nothing JSON or a Rust byte string would escape.
fn plain_key(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\' && b != b'\'')
}

/// Which ARI objects a property points to, for routing events.
pub fn object_kind(ty: &str) -> Option<(&'static str, &'static str)> {
    match ty {
        "Channel" => Some(("Channel", "id")),
        "Bridge" => Some(("Bridge", "id")),
        "Playback" => Some(("Playback", "id")),
        "LiveRecording" => Some(("Recording", "name")),
        "DeviceState" => Some(("DeviceState", "name")),
        "Endpoint" => Some(("Endpoint", "")),
        _ => None,
    }
}

const HEADER: &str = "// @generated by ari-codegen from the ARI declarations. Do not edit.\n\n";

/// `models.rs`: every model that is not an event.
pub fn models_file(merged: &Merged) -> String {
    let mut out = String::from(HEADER);
    out.push_str("//! Every ARI object model that is not an event.\n\n");
    for (name, model) in &merged.models {
        if merged.events.contains(name) || name == "Message" || name == "Event" {
            continue;
        }
        emit_struct(&mut out, model, &model.properties, None);
    }
    out.push_str("/// Names of all models in this module, as declared.\npub const MODEL_NAMES: &[&str] = &[\n");
    for name in merged.models.keys() {
        if !merged.events.contains(name) && name != "Message" && name != "Event" {
            writeln!(out, "    {},", lit(name)).unwrap();
        }
    }
    out.push_str("];\n");
    out
}

/// The properties of an event: its own, then those of `Event` and `Message`.
fn event_props(merged: &Merged, name: &str) -> Vec<Property> {
    let mut props = merged.models[name].properties.clone();
    let bases: &[&str] = if name == "MissingParams" {
        &["Message"]
    } else {
        &["Event", "Message"]
    };
    for base in bases {
        for p in &merged.models[*base].properties {
            if p.name != "type" && !props.iter().any(|q| q.name == p.name) {
                props.push(p.clone());
            }
        }
    }
    props
}

/// `events.rs`: every event struct and the `Event` enum.
pub fn events_file(merged: &Merged) -> String {
    let mut out = String::from(HEADER);
    out.push_str(
        "//! Every ARI event, and [`Event`], the message the events WebSocket carries.\n\n",
    );
    for name in &merged.events {
        let model = &merged.models[name];
        emit_struct(&mut out, model, &event_props(merged, name), Some(name));
    }

    out.push_str("/// A message from the events WebSocket.\n///\n/// A `type` this crate does not know decodes to [`Event::Unknown`] with all its fields.\n/// Each variant holds its event in an `Arc`: a clone is a count, so every\n/// stream an event is delivered to holds the same one.\n");
    out.push_str("#[derive(Debug, Clone, PartialEq)]\n#[non_exhaustive]\npub enum Event {\n");
    for name in &merged.events {
        writeln!(
            out,
            "    /// See [`{name}`].\n    {name}(std::sync::Arc<{name}>),"
        )
        .unwrap();
    }
    out.push_str("    /// An event type this crate does not know, kept whole.\n    Unknown(std::sync::Arc<crate::UnknownEvent>),\n}\n\n");

    out.push_str("/// Names of all known event types.\npub const EVENT_TYPES: &[&str] = &[\n");
    for name in &merged.events {
        writeln!(out, "    {},", lit(name)).unwrap();
    }
    out.push_str("];\n\n");

    out.push_str("impl Event {\n");
    out.push_str("    /// The JSON `type` of this event.\n    pub fn type_name(&self) -> &str {\n        match self {\n");
    for name in &merged.events {
        writeln!(out, "            Event::{name}(_) => {},", lit(name)).unwrap();
    }
    out.push_str("            Event::Unknown(e) => &e.type_name,\n        }\n    }\n\n");

    for (accessor, json) in [
        ("application", "application"),
        ("timestamp", "timestamp"),
        ("asterisk_id", "asterisk_id"),
    ] {
        writeln!(out, "    /// The `{json}` field, on any event that has it.").unwrap();
        writeln!(
            out,
            "    pub fn {accessor}(&self) -> Option<&str> {{\n        match self {{"
        )
        .unwrap();
        for name in &merged.events {
            let props = event_props(merged, name);
            match props.iter().find(|p| p.name == json) {
                Some(p) if p.always => writeln!(
                    out,
                    "            Event::{name}(e) => Some(e.{accessor}.as_str()),"
                )
                .unwrap(),
                Some(_) => writeln!(
                    out,
                    "            Event::{name}(e) => e.{accessor}.as_deref(),"
                )
                .unwrap(),
                None => writeln!(out, "            Event::{name}(_) => None,").unwrap(),
            }
        }
        writeln!(out, "            Event::Unknown(e) => e.fields.get({}).and_then(|v| v.as_str()),\n        }}\n    }}\n", lit(json)).unwrap();
    }

    out.push_str("    /// Calls `f` with each ARI object (kind and id) this event refers to.\n");
    out.push_str("    pub fn for_each_object(&self, f: &mut dyn FnMut(crate::ObjectKind, &str)) {\n        match self {\n");
    for name in &merged.events {
        let props = event_props(merged, name);
        let refs: Vec<(&Property, &str, &str)> = props
            .iter()
            .filter_map(|p| object_kind(&p.ty).map(|(k, id)| (p, k, id)))
            .collect();
        if refs.is_empty() {
            writeln!(out, "            Event::{name}(_) => {{}}").unwrap();
            continue;
        }
        writeln!(out, "            Event::{name}(e) => {{").unwrap();
        for (p, kind, id) in refs {
            let fname = field(&p.name);
            let (bind, close) = if p.always {
                (format!("{{ let o = &e.{fname};"), "}")
            } else {
                (format!("if let Some(o) = &e.{fname} {{"), "}")
            };
            let call = if kind == "Endpoint" {
                "f(crate::ObjectKind::Endpoint, &crate::endpoint_id(&o.technology, &o.resource));"
                    .to_string()
            } else {
                format!("f(crate::ObjectKind::{kind}, &o.{id});")
            };
            writeln!(out, "                {bind} {call} {close}").unwrap();
        }
        writeln!(out, "            }}").unwrap();
    }
    out.push_str("            Event::Unknown(_) => {}\n        }\n    }\n\n");

    out.push_str("    pub(crate) fn decode_typed<'de, A: serde::de::MapAccess<'de>>(\n        type_name: crate::codec::Key<'de>,\n        pending: Vec<(String, crate::codec::Buffered)>,\n        map: A,\n    ) -> Result<Event, A::Error> {\n        use crate::codec::fill_event;\n        match type_name.as_str() {\n");
    for name in &merged.events {
        writeln!(
            out,
            "            {} => fill_event::<{name}Builder, A>(pending, map).map(|e| Event::{name}(std::sync::Arc::new(e))),",
            lit(name)
        )
        .unwrap();
    }
    out.push_str("            _ => crate::codec::fill_unknown(type_name.into_owned(), pending, map).map(|e| Event::Unknown(std::sync::Arc::new(e))),\n        }\n    }\n}\n\n");

    // The type names grouped by length: a switch on the length, then a few
    // comparisons of known size, instead of one comparison per event type.
    out.push_str("impl Event {\n    pub(crate) fn decode_json(type_name: &str, r: &mut crate::json::Reader<'_>, object: crate::json::Object, type_read: bool) -> Result<Event, crate::json::JsonError> {\n        Ok(match type_name.len() {\n");
    let mut by_len: std::collections::BTreeMap<usize, Vec<&String>> = Default::default();
    for name in &merged.events {
        by_len.entry(name.len()).or_default().push(name);
    }
    let unknown = "Event::Unknown(std::sync::Arc::new(crate::UnknownEvent::decode(type_name, r, object, type_read)?))";
    for (len, names) in &by_len {
        writeln!(out, "            {len} => match type_name {{").unwrap();
        for name in names {
            writeln!(
                out,
                "                {} => Event::{name}({name}::decode_fields_in::<crate::json::Shared>(r, object, type_read)?),",
                lit(name)
            )
            .unwrap();
        }
        writeln!(out, "                _ => {unknown},\n            }},").unwrap();
    }
    writeln!(
        out,
        "            _ => {unknown},\n        }})\n    }}\n}}\n"
    )
    .unwrap();
    out.push_str("impl crate::Inspect for Event {\n    fn unknown_fields(&self, path: &str, out: &mut Vec<String>) {\n        match self {\n");
    for name in &merged.events {
        writeln!(
            out,
            "            Event::{name}(e) => e.unknown_fields(path, out),"
        )
        .unwrap();
    }
    out.push_str("            Event::Unknown(e) => out.push(format!(\"{path}: unknown event type {:?}\", e.type_name)),\n        }\n    }\n}\n\n");
    out.push_str("impl serde::Serialize for Event {\n    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {\n        match self {\n");
    for name in &merged.events {
        writeln!(out, "            Event::{name}(e) => e.serialize(s),").unwrap();
    }
    out.push_str("            Event::Unknown(e) => e.serialize(s),\n        }\n    }\n}\n");
    out
}
