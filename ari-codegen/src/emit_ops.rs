//! Emits one typed request struct per REST operation.

use crate::emit_models::emit_enum;
use crate::names::{field, lit, pascal, snake};
use crate::spec::{Merged, Operation, Param};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Operations whose object id the client may choose, so a subscription can
/// exist before the request leaves: (resource, nickname, parameter, kind).
const CLIENT_CHOSEN_IDS: &[(&str, &str, &str, &str)] = &[
    ("channels", "originate", "channelId", "Channel"),
    ("channels", "originateWithId", "channelId", "Channel"),
    ("channels", "create", "channelId", "Channel"),
    ("channels", "externalMedia", "channelId", "Channel"),
    ("channels", "snoopChannel", "snoopId", "Channel"),
    ("channels", "snoopChannelWithId", "snoopId", "Channel"),
    ("channels", "play", "playbackId", "Playback"),
    ("channels", "playWithId", "playbackId", "Playback"),
    ("channels", "record", "name", "Recording"),
    ("bridges", "create", "bridgeId", "Bridge"),
    ("bridges", "createWithId", "bridgeId", "Bridge"),
    ("bridges", "play", "playbackId", "Playback"),
    ("bridges", "playWithId", "playbackId", "Playback"),
    ("bridges", "record", "name", "Recording"),
];

pub(crate) enum Shape {
    Str,
    Int,
    Bool,
    Enum(String),
    Variables,
    ConfigFields,
    Json,
}

pub(crate) struct P<'a> {
    pub(crate) p: &'a Param,
    pub(crate) rust: String,
    pub(crate) shape: Shape,
}

impl P<'_> {
    fn base_ty(&self) -> String {
        match &self.shape {
            Shape::Str => "String".into(),
            Shape::Int => "i64".into(),
            Shape::Bool => "bool".into(),
            Shape::Enum(e) => e.clone(),
            Shape::Variables => "serde_json::Map<String, serde_json::Value>".into(),
            Shape::ConfigFields => "Vec<(String, String)>".into(),
            Shape::Json => "serde_json::Value".into(),
        }
    }
    pub(crate) fn is_list(&self) -> bool {
        self.p.multiple && self.p.kind != "body"
    }
    fn field_ty(&self) -> String {
        let base = self.base_ty();
        if self.is_list() {
            format!("Vec<{base}>")
        } else if self.p.required {
            base
        } else {
            format!("Option<{base}>")
        }
    }
    /// Argument type and conversion expression for a constructor or setter.
    pub(crate) fn arg(&self, v: &str) -> (String, String) {
        if self.is_list() {
            return match self.shape {
                Shape::Str => (
                    "impl IntoIterator<Item = impl Into<String>>".into(),
                    format!("{v}.into_iter().map(Into::into).collect()"),
                ),
                _ => (
                    format!("impl IntoIterator<Item = {}>", self.base_ty()),
                    format!("{v}.into_iter().collect()"),
                ),
            };
        }
        match self.shape {
            Shape::Str => ("impl Into<String>".into(), format!("{v}.into()")),
            Shape::ConfigFields => (
                "impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>".into(),
                format!("{v}.into_iter().map(|(a, b)| (a.into(), b.into())).collect()"),
            ),
            _ => (self.base_ty(), v.to_string()),
        }
    }
    /// Expression turning `x` (a reference to one value) into its query string.
    fn to_query(&self, x: &str) -> String {
        match self.shape {
            Shape::Str => format!("{x}.clone()"),
            Shape::Enum(_) => format!("{x}.as_str().to_string()"),
            _ => format!("{x}.to_string()"),
        }
    }
}

pub(crate) fn params(op: &Operation) -> Vec<P<'_>> {
    op.params
        .iter()
        .map(|p| {
            let shape = match (p.kind.as_str(), p.ty.as_str(), p.name.as_str()) {
                ("body", _, "fields") => Shape::ConfigFields,
                ("body", "containers", _) => Shape::Variables,
                ("body", _, _) => Shape::Json,
                _ if !p.enum_name.is_empty() => Shape::Enum(p.enum_name.clone()),
                (_, "int" | "long", _) => Shape::Int,
                (_, "boolean", _) => Shape::Bool,
                _ => Shape::Str,
            };
            P {
                p,
                rust: field(&p.name),
                shape,
            }
        })
        .collect()
}

fn response_type(class: &str) -> String {
    if let Some(inner) = class
        .strip_prefix("List[")
        .and_then(|t| t.strip_suffix(']'))
    {
        return format!("Vec<crate::models::{inner}>");
    }
    match class {
        "void" | "Message" => "()".into(),
        "binary" => "crate::Binary".into(),
        other => format!("crate::models::{other}"),
    }
}

fn response_words(class: &str) -> String {
    match class {
        "void" => "nothing (an empty 204 answer)".into(),
        "Message" => "no REST answer: the connection upgrades to the events WebSocket".into(),
        "binary" => "the raw bytes of the file".into(),
        c => match c.strip_prefix("List[").and_then(|t| t.strip_suffix(']')) {
            Some(inner) => format!("a list of [`{inner}`](crate::models::{inner})"),
            None => format!("one [`{c}`](crate::models::{c})"),
        },
    }
}

fn push_literal(out: &mut String, text: &str) {
    if text.len() == 1 {
        let c = text.chars().next().unwrap_or('/');
        writeln!(out, "        path.push({c:?});").unwrap();
    } else {
        writeln!(out, "        path.push_str({});", lit(text)).unwrap();
    }
}

/// The operations and parameters using each parameter enum.
type EnumUsers<'a> = BTreeMap<&'a str, Vec<(&'a Operation, &'a Param)>>;

fn enum_users(merged: &Merged) -> EnumUsers<'_> {
    let mut users = EnumUsers::new();
    for op in &merged.operations {
        for p in op.params.iter().filter(|p| !p.enum_name.is_empty()) {
            users.entry(&p.enum_name).or_default().push((op, p));
        }
    }
    users
}

/// The module an enum lives in: its users' resource, or the root (`None`)
/// when operations of several resources use it.
fn enum_home<'a>(users: &[(&'a Operation, &Param)]) -> Option<&'a str> {
    let first = users[0].0.resource.as_str();
    users
        .iter()
        .all(|(op, _)| op.resource == first)
        .then_some(first)
}

fn emit_param_enum(out: &mut String, name: &str, users: &[(&Operation, &Param)]) {
    let home = enum_home(users);
    let op_link = |op: &Operation| match home {
        Some(_) => format!("[`{}`]", pascal(&op.nickname)),
        None => format!("[`{}::{}`]", snake(&op.resource), pascal(&op.nickname)),
    };
    let first = &users[0].1.name;
    let doc = if users.iter().all(|(_, p)| p.name == *first) {
        let ops: Vec<String> = users.iter().map(|(op, _)| op_link(op)).collect();
        format!(
            "Allowed values of the `{first}` parameter of {}.",
            ops.join(", ")
        )
    } else {
        let uses: Vec<String> = (users.iter())
            .map(|(op, p)| format!("`{}` of {}", p.name, op_link(op)))
            .collect();
        format!("Allowed values of the parameters {}.", uses.join(", "))
    };
    emit_enum(out, name, &doc, &users[0].1.allowed);
}

fn emit_op(out: &mut String, op: &Operation, users: &EnumUsers, emitted: &mut BTreeSet<String>) {
    let name = pascal(&op.nickname);
    let ps = params(op);
    for p in &ps {
        if let Shape::Enum(e) = &p.shape
            && emitted.insert(e.clone())
        {
            let users = &users[e.as_str()];
            match enum_home(users) {
                Some(_) => emit_param_enum(out, e, users),
                None => writeln!(out, "pub use super::{e};\n").unwrap(),
            }
        }
    }
    writeln!(
        out,
        "/// `{} /ari{}` (`{}.{}`).",
        op.method, op.path, op.resource, op.nickname
    )
    .unwrap();
    writeln!(out, "///").unwrap();
    writeln!(out, "/// Answers with {}.", response_words(&op.response)).unwrap();
    writeln!(
        out,
        "/// Available since Asterisk {}; declared by the ARI of Asterisk {}.",
        op.since.join(", "),
        op.releases.join(", ")
    )
    .unwrap();
    let all_optional = !ps.iter().any(|p| p.p.required);
    let derives = if all_optional { ", Default" } else { "" };
    writeln!(
        out,
        "#[derive(Debug, Clone, PartialEq{derives})]\n#[non_exhaustive]\npub struct {name} {{"
    )
    .unwrap();
    for p in &ps {
        let how = match (p.p.kind.as_str(), p.p.required) {
            ("path", _) => "path segment".to_string(),
            ("body", true) => "JSON body, required".to_string(),
            ("body", false) => "JSON body, optional".to_string(),
            (_, true) => "query, required".to_string(),
            (_, false) => "query, optional".to_string(),
        };
        let declared = if p.p.releases == op.releases {
            String::new()
        } else {
            format!("; declared by Asterisk {}", p.p.releases.join(", "))
        };
        writeln!(
            out,
            "    /// `{}`: {how}; {}{declared}.",
            p.p.name,
            param_facts(p.p)
        )
        .unwrap();
        writeln!(out, "    pub {}: {},", p.rust, p.field_ty()).unwrap();
    }
    writeln!(out, "}}\n").unwrap();

    // Constructor with the required parameters, setters for the others.
    let required: Vec<&P> = ps.iter().filter(|p| p.p.required).collect();
    writeln!(out, "impl {name} {{").unwrap();
    writeln!(
        out,
        "    /// A request with the required parameters; the others unset."
    )
    .unwrap();
    let args: Vec<String> = required
        .iter()
        .map(|p| format!("{}: {}", p.rust, p.arg("v").0))
        .collect();
    writeln!(out, "    pub fn new({}) -> Self {{", args.join(", ")).unwrap();
    if all_optional {
        writeln!(out, "        Self::default()\n    }}").unwrap();
    } else {
        writeln!(out, "        {name} {{").unwrap();
        for p in &ps {
            if p.p.required {
                let conv = p.arg(&p.rust).1;
                if conv == p.rust {
                    writeln!(out, "            {conv},").unwrap();
                } else {
                    writeln!(out, "            {}: {conv},", p.rust).unwrap();
                }
            } else if p.is_list() {
                writeln!(out, "            {}: Vec::new(),", p.rust).unwrap();
            } else {
                writeln!(out, "            {}: None,", p.rust).unwrap();
            }
        }
        writeln!(out, "        }}\n    }}").unwrap();
    }
    for p in ps.iter().filter(|p| !p.p.required) {
        let (ty, conv) = p.arg("v");
        match (&p.p.default, p.p.send_default) {
            (Some(d), true) => writeln!(
                out,
                "    /// Sets `{}` (sent as `{d}` when unset: Asterisk requires it).",
                p.p.name
            ),
            (Some(d), false) => writeln!(
                out,
                "    /// Sets `{}` (Asterisk uses `{d}` when unset).",
                p.p.name
            ),
            (None, _) => writeln!(out, "    /// Sets `{}`.", p.p.name),
        }
        .unwrap();
        writeln!(out, "    pub fn {}(mut self, v: {ty}) -> Self {{", p.rust).unwrap();
        if p.is_list() {
            writeln!(out, "        self.{} = {conv};", p.rust).unwrap();
        } else {
            writeln!(out, "        self.{} = Some({conv});", p.rust).unwrap();
        }
        writeln!(out, "        self\n    }}").unwrap();
    }
    writeln!(out, "}}\n").unwrap();

    writeln!(out, "impl crate::Operation for {name} {{").unwrap();
    writeln!(out, "    type Response = {};", response_type(&op.response)).unwrap();
    writeln!(
        out,
        "    const INFO: &'static crate::OperationInfo = &crate::OperationInfo {{"
    )
    .unwrap();
    writeln!(out, "        resource: {},", lit(&op.resource)).unwrap();
    writeln!(out, "        name: {},", lit(&op.nickname)).unwrap();
    writeln!(
        out,
        "        method: crate::Method::{},",
        pascal(&op.method.to_ascii_lowercase())
    )
    .unwrap();
    writeln!(out, "        path: {},", lit(&op.path)).unwrap();
    let since: Vec<String> = op
        .since
        .iter()
        .map(|s| {
            let n: Vec<&str> = s.split('.').collect();
            let get = |i: usize| n.get(i).and_then(|x| x.parse::<u16>().ok()).unwrap_or(0);
            format!("crate::Version::new({}, {}, {})", get(0), get(1), get(2))
        })
        .collect();
    writeln!(out, "        since: &[{}],", since.join(", ")).unwrap();
    writeln!(out, "        upgrade: {},", op.upgrade).unwrap();
    writeln!(out, "    }};").unwrap();

    writeln!(out, "    fn encode(&self) -> crate::EncodedRequest {{").unwrap();
    writeln!(out, "        let mut path = String::with_capacity(64);").unwrap();
    let mut rest = op.path.trim_start_matches('/');
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .map(|c| c + open)
            .unwrap_or(rest.len() - 1);
        if open > 0 {
            push_literal(out, &rest[..open]);
        }
        let pname = &rest[open + 1..close];
        writeln!(
            out,
            "        crate::encode::push_segment(&mut path, &self.{});",
            field(pname)
        )
        .unwrap();
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        push_literal(out, rest);
    }
    let query: Vec<&P> = ps.iter().filter(|p| p.p.kind == "query").collect();
    let mut required_items = Vec::new();
    let mut optional_pushes = Vec::new();
    for p in &query {
        let n = lit(&p.p.name);
        let joined = |x: &str| match p.shape {
            Shape::Str => format!("{x}.join(\",\")"),
            _ => format!(
                "{x}.iter().map(|x| {}).collect::<Vec<_>>().join(\",\")",
                p.to_query("x")
            ),
        };
        let field = format!("self.{}", p.rust);
        match (p.is_list(), p.p.required) {
            (true, true) => required_items.push(format!("({n}, {})", joined(&field))),
            (true, false) => optional_pushes.push(format!(
                "if !{field}.is_empty() {{ query.push(({n}, {})); }}",
                joined(&field)
            )),
            (false, true) => required_items.push(format!("({n}, {})", p.to_query(&field))),
            (false, false) if p.p.send_default => required_items.push(format!(
                "({n}, match &{field} {{ Some(v) => {}, None => {}.into() }})",
                p.to_query("v"),
                lit(p.p.default.as_deref().unwrap_or_default())
            )),
            (false, false) => optional_pushes.push(format!(
                "if let Some(v) = &{field} {{ query.push(({n}, {})); }}",
                p.to_query("v")
            )),
        }
    }
    let binding = if optional_pushes.is_empty() {
        "let"
    } else {
        "let mut"
    };
    if required_items.is_empty() && optional_pushes.is_empty() {
        writeln!(out, "        let query = Vec::new();").unwrap();
    } else if required_items.is_empty() {
        writeln!(
            out,
            "        {binding} query = Vec::with_capacity({});",
            optional_pushes.len()
        )
        .unwrap();
    } else {
        writeln!(
            out,
            "        {binding} query = vec![{}];",
            required_items.join(", ")
        )
        .unwrap();
    }
    for push in optional_pushes {
        writeln!(out, "        {push}").unwrap();
    }
    let body = ps.iter().find(|p| p.p.kind == "body");
    let body_expr = match body {
        None => "None".to_string(),
        Some(p) => {
            let wrap = |x: &str| match p.shape {
                Shape::Json => format!("{x}.clone()"),
                Shape::ConfigFields => format!("crate::encode::config_fields_body({x})"),
                _ => format!("crate::encode::keyed_body({}, {x})", lit(&p.p.name)),
            };
            if p.p.required {
                format!("Some({})", wrap(&format!("&self.{}", p.rust)))
            } else if matches!(p.shape, Shape::Json) {
                format!("self.{}.clone()", p.rust)
            } else {
                format!("self.{}.as_ref().map(|v| {})", p.rust, wrap("v"))
            }
        }
    };
    writeln!(out, "        crate::EncodedRequest {{ method: crate::Method::{}, path, query, body: {body_expr} }}", pascal(&op.method.to_ascii_lowercase())).unwrap();
    writeln!(out, "    }}").unwrap();

    if let Some(&(_, _, pname, kind)) = CLIENT_CHOSEN_IDS
        .iter()
        .find(|(r, n, _, _)| *r == op.resource && *n == op.nickname)
    {
        let p = ps
            .iter()
            .find(|p| p.p.name == pname)
            .expect("id parameter declared");
        writeln!(out, "    fn assign_object_id(&mut self, fresh: &mut dyn FnMut() -> String) -> Option<crate::ObjectRef> {{").unwrap();
        if p.p.required {
            writeln!(out, "        let _ = fresh;\n        Some(crate::ObjectRef::new(crate::ObjectKind::{kind}, self.{}.clone()))", p.rust).unwrap();
        } else {
            writeln!(
                out,
                "        let id = self.{}.get_or_insert_with(fresh).clone();",
                p.rust
            )
            .unwrap();
            writeln!(
                out,
                "        Some(crate::ObjectRef::new(crate::ObjectKind::{kind}, id))"
            )
            .unwrap();
        }
        writeln!(out, "    }}").unwrap();
    }
    writeln!(out, "}}\n").unwrap();
    emit_from_wire(out, &name, &ps);
}

/// Parsing a recorded request back into the typed operation.
fn emit_from_wire(out: &mut String, name: &str, ps: &[P]) {
    writeln!(
        out,
        "#[cfg(feature = \"conformance\")]\nimpl crate::FromWire for {name} {{"
    )
    .unwrap();
    writeln!(
        out,
        "    fn from_wire(w: &crate::WireRequest<'_>) -> Result<Self, String> {{"
    )
    .unwrap();
    let known: Vec<String> = ps
        .iter()
        .filter(|p| p.p.kind == "query")
        .map(|p| lit(&p.p.name))
        .collect();
    writeln!(out, "        w.only_params(&[{}])?;", known.join(", ")).unwrap();
    let mut path_index = 0;
    writeln!(out, "        Ok({name} {{").unwrap();
    for p in ps {
        let n = lit(&p.p.name);
        let expr = match (p.p.kind.as_str(), &p.shape) {
            ("path", _) => {
                path_index += 1;
                format!("w.path({})?", path_index - 1)
            }
            ("body", Shape::Variables) if p.p.required => {
                format!("w.body_object({n})?.ok_or(\"missing body {}\")?", p.p.name)
            }
            ("body", Shape::Variables) => format!("w.body_object({n})?"),
            ("body", Shape::ConfigFields) => "w.config_fields()?".to_string(),
            ("body", _) => "w.whole_body()".to_string(),
            _ if p.is_list() => {
                if p.p.required {
                    format!("w.required_list({n})?")
                } else {
                    format!("w.list({n})?")
                }
            }
            _ if p.p.required => format!("w.required({n})?"),
            _ => format!("w.optional({n})?"),
        };
        writeln!(out, "            {}: {expr},", p.rust).unwrap();
    }
    writeln!(out, "        }})\n    }}\n}}\n").unwrap();
}

/// `operations.rs`: one module per resource, and the table of all operations.
pub fn operations_file(merged: &Merged) -> String {
    let mut out =
        String::from("// @generated by ari-codegen from the ARI declarations. Do not edit.\n\n");
    out.push_str("//! Every ARI REST operation as a typed request, one module per resource.\n\n");
    let mut resources: Vec<&str> = merged
        .operations
        .iter()
        .map(|o| o.resource.as_str())
        .collect();
    resources.dedup();
    let users = enum_users(merged);
    for (name, users) in &users {
        if enum_home(users).is_none() {
            emit_param_enum(&mut out, name, users);
        }
    }
    for res in &resources {
        let mut emitted = BTreeSet::new();
        writeln!(
            out,
            "/// Operations under `/ari/{res}`.\npub mod {} {{",
            snake(res)
        )
        .unwrap();
        for op in merged.operations.iter().filter(|o| o.resource == *res) {
            emit_op(&mut out, op, &users, &mut emitted);
        }
        writeln!(out, "}}\n").unwrap();
    }
    out.push_str("/// Every operation's description.\npub const ALL_OPERATIONS: &[&crate::OperationInfo] = &[\n");
    for op in &merged.operations {
        writeln!(
            out,
            "    <{}::{} as crate::Operation>::INFO,",
            snake(&op.resource),
            pascal(&op.nickname)
        )
        .unwrap();
    }
    out.push_str("];\n\n");

    out.push_str("/// Parses a recorded request for operation `info` and encodes it again.\n#[cfg(feature = \"conformance\")]\npub fn encode_from_wire(info: &crate::OperationInfo, w: &crate::WireRequest<'_>) -> Result<crate::EncodedRequest, String> {\n    use crate::{FromWire, Operation};\n    match (info.resource, info.name) {\n");
    for op in &merged.operations {
        let path = format!("{}::{}", snake(&op.resource), pascal(&op.nickname));
        writeln!(
            out,
            "        ({}, {}) => Ok({path}::from_wire(w)?.encode()),",
            lit(&op.resource),
            lit(&op.nickname)
        )
        .unwrap();
    }
    out.push_str("        _ => Err(format!(\"unknown operation {}.{}\", info.resource, info.name)),\n    }\n}\n\n");

    out.push_str("/// Parses a recorded request for operation `info` and starts it on `session`\n/// with [`Session::request_tracked`](crate::Session::request_tracked).\n#[cfg(feature = \"conformance\")]\npub fn start_from_wire(\n    session: &mut crate::Session,\n    info: &crate::OperationInfo,\n    w: &crate::WireRequest<'_>,\n    now: std::time::Instant,\n) -> Result<(crate::RawRequestId, Option<crate::TrackedObject>), String> {\n    use crate::FromWire;\n    match (info.resource, info.name) {\n");
    for op in &merged.operations {
        let path = format!("{}::{}", snake(&op.resource), pascal(&op.nickname));
        writeln!(out, "        ({}, {}) => session.request_tracked({path}::from_wire(w)?, now).map(|(id, t)| (id.raw(), t)).map_err(|e| e.to_string()),", lit(&op.resource), lit(&op.nickname)).unwrap();
    }
    out.push_str("        _ => Err(format!(\"unknown operation {}.{}\", info.resource, info.name)),\n    }\n}\n\n");
    out.push_str("/// Every parameter operation `info` declares, path, query and body, in\n/// declaration order: what a caller may set and how it travels.\n#[cfg(feature = \"conformance\")]\npub fn params_of(info: &crate::OperationInfo) -> &'static [crate::ParamInfo] {\n    use crate::{ParamInfo as P, ParamLocation as L};\n    match (info.resource, info.name) {\n");
    for op in &merged.operations {
        let ps = params(op);
        let items: Vec<String> = ps.iter().map(param_info).collect();
        writeln!(
            out,
            "        ({}, {}) => &[{}],",
            lit(&op.resource),
            lit(&op.nickname),
            items.join(", ")
        )
        .unwrap();
    }
    out.push_str("        _ => &[],\n    }\n}\n\n");
    out.push_str("/// Decodes a success answer of operation `info` into its typed response,\n/// and gives it back as JSON with what the types did not name.\n#[cfg(feature = \"conformance\")]\npub fn decode_any_response(info: &crate::OperationInfo, body: &[u8]) -> Result<crate::DecodedResponse, crate::json::JsonError> {\n    use crate::Operation;\n    match (info.resource, info.name) {\n");
    for op in &merged.operations {
        let path = format!("{}::{}", snake(&op.resource), pascal(&op.nickname));
        writeln!(out, "        ({}, {}) => crate::DecodedResponse::of::<<{path} as Operation>::Response>(body),", lit(&op.resource), lit(&op.nickname)).unwrap();
    }
    out.push_str("        _ => Err(crate::json::JsonError { offset: 0, reason: \"unknown operation\".into() }),\n    }\n}\n");
    out
}

/// A parameter as a `ParamInfo` literal (`P` and `L` in scope).
fn param_info(p: &P) -> String {
    let location = match (p.p.kind.as_str(), &p.shape) {
        ("path", _) => "Path",
        ("body", Shape::Json) => "Body",
        ("body", _) => "BodyField",
        _ => "Query",
    };
    let allowed: Vec<String> = p.p.allowed.iter().map(|v| lit(v)).collect();
    format!(
        "P {{ name: {}, location: L::{location}, required: {}, ty: {}, list: {}, default: {}, allowed: &[{}] }}",
        lit(&p.p.name),
        p.p.required,
        lit(&p.p.ty),
        p.is_list(),
        p.p.default
            .as_ref()
            .map_or("None".to_string(), |d| format!("Some({})", lit(d))),
        allowed.join(", ")
    )
}

/// A parameter's declared facts for its doc comment: type, list, default,
/// allowed values.
fn param_facts(p: &crate::spec::Param) -> String {
    let mut facts = vec![format!("`{}`", p.ty)];
    if p.multiple {
        facts.push("a list, sent comma-joined".into());
    }
    if let Some(d) = &p.default {
        facts.push(format!("default `{d}`"));
    }
    if !p.allowed.is_empty() {
        let values: Vec<String> = p.allowed.iter().map(|v| format!("`{v}`")).collect();
        facts.push(format!("one of {}", values.join(", ")));
    }
    facts.join("; ")
}
