//! Reading a request as recorded on the wire back into a typed operation,
//! so that a recording can be checked against what the typed API emits.

use crate::Operation;
use serde_json::{Map, Value};

/// A recorded request: decoded path parameters, decoded query pairs, and the
/// JSON body. ARI also takes parameters as keys of a JSON body; those are
/// read like query parameters.
#[derive(Debug, Clone, Default)]
pub struct WireRequest<'a> {
    /// Values of the path template's parameters, in order, percent-decoded.
    pub path_params: Vec<String>,
    /// Query pairs, percent-decoded.
    pub query: Vec<(String, String)>,
    /// The JSON body, if any.
    pub body: Option<&'a Value>,
}

/// Where a parameter travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParamLocation {
    /// A segment of the path.
    Path,
    /// A query parameter (Asterisk also reads it as a key of a JSON body).
    Query,
    /// A key of the JSON body: `{"variables": {...}}`.
    BodyField,
    /// The whole JSON body (an event filter).
    Body,
}

/// A parameter an operation declares, as [`ops::params_of`](crate::ops::params_of)
/// lists them: enough to take it from a command line and to describe it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParamInfo {
    /// Its name on the wire, e.g. `channelId`.
    pub name: &'static str,
    /// Where it travels.
    pub location: ParamLocation,
    /// Required (path parameters always are).
    pub required: bool,
    /// Its declared (Swagger) type: `string`, `int`, `long`, `boolean`,
    /// `containers` (a JSON object of strings), `object`, ...
    pub ty: &'static str,
    /// A list, sent comma-joined.
    pub list: bool,
    /// The default Asterisk uses when it is unset.
    pub default: Option<&'static str>,
    /// The values it allows, if the declarations list them.
    pub allowed: &'static [&'static str],
}

/// Builds an operation from a [`WireRequest`]. Implemented by every operation.
pub trait FromWire: Operation + Sized {
    /// The operation, or why the request does not fit it.
    fn from_wire(w: &WireRequest<'_>) -> Result<Self, String>;
}

/// A parameter value type that parses from its wire text.
pub trait WireValue: Sized {
    /// Parses one value.
    fn parse_wire(text: &str) -> Result<Self, String>;
}

impl WireValue for String {
    fn parse_wire(text: &str) -> Result<Self, String> {
        Ok(text.to_string())
    }
}

impl WireValue for i64 {
    fn parse_wire(text: &str) -> Result<Self, String> {
        text.parse()
            .map_err(|_| format!("{text:?} is not an integer"))
    }
}

impl WireValue for bool {
    fn parse_wire(text: &str) -> Result<Self, String> {
        match text {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(format!("{text:?} is not a boolean")),
        }
    }
}

/// A JSON body value as the text it stands for as a parameter.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl WireRequest<'_> {
    fn raw(&self, name: &str) -> Option<String> {
        if let Some((_, v)) = self.query.iter().find(|(k, _)| k == name) {
            return Some(v.clone());
        }
        self.body?.get(name).and_then(scalar_text)
    }

    /// Fails on a query parameter (or scalar body key) the operation does not declare.
    pub fn only_params(&self, known: &[&str]) -> Result<(), String> {
        for (k, _) in &self.query {
            if !known.contains(&k.as_str()) {
                return Err(format!("unknown parameter {k:?}"));
            }
        }
        Ok(())
    }

    /// Path parameter number `i`.
    pub fn path(&self, i: usize) -> Result<String, String> {
        self.path_params
            .get(i)
            .cloned()
            .ok_or_else(|| format!("no path parameter {i}"))
    }

    /// A required parameter.
    pub fn required<T: WireValue>(&self, name: &str) -> Result<T, String> {
        let text = self
            .raw(name)
            .ok_or_else(|| format!("missing parameter {name:?}"))?;
        T::parse_wire(&text).map_err(|e| format!("{name}: {e}"))
    }

    /// An optional parameter.
    pub fn optional<T: WireValue>(&self, name: &str) -> Result<Option<T>, String> {
        match self.raw(name) {
            Some(text) => T::parse_wire(&text)
                .map(Some)
                .map_err(|e| format!("{name}: {e}")),
            None => Ok(None),
        }
    }

    /// A comma-joined list; empty when absent.
    pub fn list<T: WireValue>(&self, name: &str) -> Result<Vec<T>, String> {
        match self.raw(name) {
            Some(text) => text
                .split(',')
                .map(|t| T::parse_wire(t).map_err(|e| format!("{name}: {e}")))
                .collect(),
            None => Ok(Vec::new()),
        }
    }

    /// A comma-joined list that must be present.
    pub fn required_list<T: WireValue>(&self, name: &str) -> Result<Vec<T>, String> {
        if self.raw(name).is_none() {
            return Err(format!("missing parameter {name:?}"));
        }
        self.list(name)
    }

    /// The object under `key` of the body (`{"variables": {...}}`).
    pub fn body_object(&self, key: &str) -> Result<Option<Map<String, Value>>, String> {
        match self.body.and_then(|b| b.get(key)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m.clone())),
            Some(_) => Err(format!("body {key:?} is not an object")),
        }
    }

    /// The whole body (an event filter).
    pub fn whole_body(&self) -> Option<Value> {
        self.body.cloned()
    }

    /// `{"fields": [{"attribute": .., "value": ..}]}` as pairs.
    pub fn config_fields(&self) -> Result<Option<Vec<(String, String)>>, String> {
        let Some(list) = self.body.and_then(|b| b.get("fields")) else {
            return Ok(None);
        };
        let list = list.as_array().ok_or("body \"fields\" is not a list")?;
        list.iter()
            .map(|f| {
                match (
                    f.get("attribute").and_then(Value::as_str),
                    f.get("value").and_then(Value::as_str),
                ) {
                    (Some(a), Some(v)) => Ok((a.to_string(), v.to_string())),
                    _ => Err("a field lacks attribute or value".to_string()),
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

impl crate::OperationInfo {
    /// Matches a recorded method and path (below `/ari`, percent-encoded)
    /// against this operation: the decoded path parameters, or `None`.
    pub fn match_path(&self, method: &str, path: &str) -> Option<Vec<String>> {
        if method != self.method.as_str() {
            return None;
        }
        let mut params = Vec::new();
        let mut got = path.trim_start_matches('/').split('/');
        for want in self.path.trim_start_matches('/').split('/') {
            let seg = got.next()?;
            if want.starts_with('{') {
                params.push(crate::encode::percent_decode(seg)?);
            } else if want != seg {
                return None;
            }
        }
        got.next().is_none().then_some(params)
    }

    /// Literal segments of the template: the more, the more specific.
    pub fn specificity(&self) -> usize {
        self.path
            .split('/')
            .filter(|s| !s.is_empty() && !s.starts_with('{'))
            .count()
    }
}

/// The operation a recorded method and path (below `/ari`) name, with its
/// decoded path parameters. Literal segments beat parameters
/// (`/channels/create` is not a channel id).
pub fn find_operation(
    method: &str,
    path: &str,
) -> Option<(&'static crate::OperationInfo, Vec<String>)> {
    crate::ops::ALL_OPERATIONS
        .iter()
        .filter_map(|info| info.match_path(method, path).map(|p| (*info, p)))
        .max_by_key(|(info, _)| info.specificity())
}

/// A success answer decoded into an operation's typed response.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedResponse {
    /// The typed value encoded back to JSON (`None` for empty and binary answers).
    pub json: Option<Value>,
    /// Parts of the answer the types do not name.
    pub unknown: Vec<String>,
}

impl DecodedResponse {
    /// Decodes `body` as `R`.
    pub fn of<R: crate::ResponseBody>(
        body: &[u8],
    ) -> Result<DecodedResponse, crate::json::JsonError> {
        let value = R::decode(body)?;
        let mut unknown = Vec::new();
        value.unknown_fields(&mut unknown);
        Ok(DecodedResponse {
            json: value.to_json(),
            unknown,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_segments_win() {
        let (info, params) = find_operation("POST", "/channels/create").unwrap();
        assert_eq!((info.name, params.len()), ("create", 0));
        let (info, params) = find_operation("POST", "/channels/a%20b%2Fc/answer").unwrap();
        assert_eq!((info.name, params), ("answer", vec!["a b/c".to_string()]));
        let (info, _) = find_operation("PUT", "/endpoints/sendMessage").unwrap();
        assert_eq!(info.name, "sendMessage");
        let (info, params) = find_operation("GET", "/endpoints/PJSIP/loop").unwrap();
        assert_eq!(
            (info.name, params),
            ("get", vec!["PJSIP".into(), "loop".into()])
        );
        assert!(find_operation("PUT", "/asterisk/info").is_none());
        assert!(find_operation("GET", "/channels/x/y/z").is_none());
    }

    #[test]
    fn params_are_listed_with_where_they_travel() {
        let (info, _) = find_operation("POST", "/channels").unwrap();
        let params = crate::ops::params_of(info);
        let get = |n: &str| params.iter().find(|p| p.name == n).unwrap();
        assert_eq!(get("endpoint").location, ParamLocation::Query);
        assert!(get("endpoint").required);
        assert_eq!(get("variables").location, ParamLocation::BodyField);
        assert_eq!(get("timeout").ty, "int");
        let (info, _) = find_operation("PUT", "/applications/a/eventFilter").unwrap();
        assert_eq!(crate::ops::params_of(info)[1].location, ParamLocation::Body);
        let (info, _) = find_operation("POST", "/channels/c/record").unwrap();
        let if_exists = crate::ops::params_of(info)
            .iter()
            .find(|p| p.name == "ifExists")
            .unwrap();
        assert!(if_exists.allowed.contains(&"overwrite"));
        assert_eq!(if_exists.default, Some("fail"));
        // Every operation's path parameters are listed, in path order.
        for info in crate::ops::ALL_OPERATIONS {
            let listed: Vec<&str> = crate::ops::params_of(info)
                .iter()
                .filter(|p| p.location == ParamLocation::Path)
                .map(|p| p.name)
                .collect();
            let in_path: Vec<&str> = info
                .path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(listed, in_path, "{}.{}", info.resource, info.name);
        }
    }
}
