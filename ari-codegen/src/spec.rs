//! Reads ARI (Swagger 1.1) declarations of several Asterisk releases and merges
//! them into one view: every model, property, operation and parameter any of the
//! releases declares, with what varies between releases recorded.

use crate::names::pascal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// One release's declarations, keyed by resource file.
#[derive(Debug, Clone)]
pub struct Release {
    /// Label such as `22`.
    pub label: String,
    /// Resource name (`channels`) to its parsed JSON document.
    pub resources: BTreeMap<String, Value>,
}

impl Release {
    /// Reads every `*.json` declaration in `dir` except `resources.json`.
    pub fn read_dir(label: &str, dir: &Path) -> Result<Release, String> {
        let mut resources = BTreeMap::new();
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some(stem) = name.strip_suffix(".json") else {
                continue;
            };
            if stem == "resources" {
                continue;
            }
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let doc: Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            resources.insert(stem.to_string(), doc);
        }
        if resources.is_empty() {
            return Err(format!("{}: no ARI declarations found", dir.display()));
        }
        Ok(Release {
            label: label.to_string(),
            resources,
        })
    }
}

/// A property of a model, merged over releases.
#[derive(Debug, Clone)]
pub struct Property {
    /// JSON name.
    pub name: String,
    /// Swagger type of the newest release that declares it.
    pub ty: String,
    /// Required and present in every release that has the model.
    pub always: bool,
    /// Allowed string values (union over releases), if any.
    pub allowed: Vec<String>,
    /// Labels of the releases declaring it (none: added by `overrides.json`).
    pub releases: Vec<String>,
}

/// A model, merged over releases.
#[derive(Debug, Clone)]
pub struct Model {
    /// Model id, e.g. `Channel`.
    pub name: String,
    /// Own properties (inherited ones are not repeated here), in the
    /// alphabetical order of their JSON names, whatever order a declaration
    /// or a JSON map gives them in.
    pub properties: Vec<Property>,
    /// Labels of the releases declaring it.
    pub releases: Vec<String>,
}

/// A parameter of an operation.
#[derive(Debug, Clone)]
pub struct Param {
    /// Wire name.
    pub name: String,
    /// `path`, `query` or `body`.
    pub kind: String,
    /// Swagger data type.
    pub ty: String,
    /// Required by the newest release declaring the operation.
    pub required: bool,
    /// Comma-joined list.
    pub multiple: bool,
    /// Allowed values of a `LIST` constraint (union over releases).
    pub allowed: Vec<String>,
    /// The declared default, which Asterisk uses when the parameter is unset.
    pub default: Option<String>,
    /// Sent with its default when unset: Asterisk requires it although the
    /// declaration says it is optional (set by `overrides.json`).
    pub send_default: bool,
    /// Labels of the releases declaring it.
    pub releases: Vec<String>,
    /// The enum type of its allowed values (set by [`name_enums`]; empty
    /// when it has none).
    pub enum_name: String,
}

/// An operation, merged over releases.
#[derive(Debug, Clone)]
pub struct Operation {
    /// Resource file, e.g. `channels`.
    pub resource: String,
    /// Spec nickname, e.g. `originate`.
    pub nickname: String,
    /// HTTP method.
    pub method: String,
    /// Path template without the `/ari` prefix, e.g. `/channels/{channelId}`.
    pub path: String,
    /// Response class, e.g. `List[Channel]`, `void`, `binary`.
    pub response: String,
    /// Parameters in declaration order.
    pub params: Vec<Param>,
    /// First release of each line that has it, e.g. `["20.20.0", "22.10.0"]`.
    pub since: Vec<String>,
    /// The operation is the events WebSocket upgrade.
    pub upgrade: bool,
    /// Labels of the releases declaring it.
    pub releases: Vec<String>,
}

/// All releases merged.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    /// Models by name.
    pub models: BTreeMap<String, Model>,
    /// Event type names (subtypes of `Event`, plus `MissingParams`).
    pub events: Vec<String>,
    /// Operations in resource, then declaration order.
    pub operations: Vec<Operation>,
}

fn str_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn allowed_values(v: &Value) -> Vec<String> {
    let av = &v["allowableValues"];
    if av["valueType"].as_str() == Some("LIST") {
        str_list(&av["values"])
    } else {
        Vec::new()
    }
}

fn union_into(into: &mut Vec<String>, more: Vec<String>) {
    for v in more {
        if !into.contains(&v) {
            into.push(v);
        }
    }
}

/// Merges releases, oldest first; later releases win on types and order.
pub fn merge(releases: &[Release]) -> Merged {
    let mut merged = Merged::default();
    let mut op_index: BTreeMap<(String, String), usize> = BTreeMap::new();
    for release in releases {
        for (resource, doc) in &release.resources {
            merge_models(&mut merged, &release.label, doc);
            let Some(apis) = doc["apis"].as_array() else {
                continue;
            };
            for api in apis {
                let path = api["path"].as_str().unwrap_or_default().to_string();
                for op in api["operations"].as_array().into_iter().flatten() {
                    let method = op["httpMethod"].as_str().unwrap_or_default().to_string();
                    let params: Vec<Param> = op["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|p| Param {
                            name: p["name"].as_str().unwrap_or_default().to_string(),
                            kind: p["paramType"].as_str().unwrap_or_default().to_string(),
                            ty: p["dataType"].as_str().unwrap_or("string").to_string(),
                            required: p["required"].as_bool().unwrap_or(false)
                                || p["paramType"] == "path",
                            multiple: p["allowMultiple"].as_bool().unwrap_or(false),
                            allowed: allowed_values(p),
                            default: match &p["defaultValue"] {
                                Value::Null => None,
                                Value::String(s) => Some(s.clone()),
                                other => Some(other.to_string()),
                            },
                            send_default: false,
                            releases: vec![release.label.clone()],
                            enum_name: String::new(),
                        })
                        .collect();
                    let new = Operation {
                        resource: resource.clone(),
                        nickname: op["nickname"].as_str().unwrap_or_default().to_string(),
                        method: method.clone(),
                        path: path.clone(),
                        response: op["responseClass"].as_str().unwrap_or("void").to_string(),
                        params,
                        since: str_list(&op["since"]),
                        upgrade: op["upgrade"].as_str() == Some("websocket"),
                        releases: vec![release.label.clone()],
                    };
                    let key = (method, path.clone());
                    match op_index.get(&key) {
                        Some(&i) => {
                            let old = &mut merged.operations[i];
                            let mut releases = std::mem::take(&mut old.releases);
                            releases.push(release.label.clone());
                            let mut params = new.params.clone();
                            for p in &mut params {
                                if let Some(o) = old.params.iter().find(|o| o.name == p.name) {
                                    p.releases = [o.releases.clone(), p.releases.clone()].concat();
                                    union_into(&mut p.allowed, o.allowed.clone());
                                    p.allowed.sort_by_key(|v| {
                                        new.params
                                            .iter()
                                            .find(|n| n.name == p.name)
                                            .and_then(|n| n.allowed.iter().position(|x| x == v))
                                            .unwrap_or(usize::MAX)
                                    });
                                }
                            }
                            let since = if new.since.is_empty() {
                                std::mem::take(&mut old.since)
                            } else {
                                new.since.clone()
                            };
                            *old = Operation {
                                releases,
                                params,
                                since,
                                ..new
                            };
                        }
                        None => {
                            op_index.insert(key, merged.operations.len());
                            merged.operations.push(new);
                        }
                    }
                }
            }
        }
    }
    merged
        .operations
        .sort_by(|a, b| a.resource.cmp(&b.resource));
    for op in &mut merged.operations {
        if op.since.is_empty() {
            op.since = vec!["12.0.0".to_string()];
        }
    }
    let mut events = Vec::new();
    for release in releases {
        if let Some(doc) = release.resources.get("events") {
            union_into(&mut events, str_list(&doc["models"]["Event"]["subTypes"]));
        }
    }
    events.sort();
    union_into(&mut events, vec!["MissingParams".to_string()]);
    merged.events = events;
    merged
}

fn merge_models(merged: &mut Merged, label: &str, doc: &Value) {
    let Some(models) = doc["models"].as_object() else {
        return;
    };
    for (name, model) in models {
        let props: Vec<Property> = model["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(pname, p)| Property {
                name: pname.clone(),
                ty: p["type"].as_str().unwrap_or("object").to_string(),
                always: p["required"].as_bool().unwrap_or(false),
                allowed: allowed_values(p),
                releases: vec![label.to_string()],
            })
            .collect();
        match merged.models.get_mut(name) {
            None => {
                let mut props = props;
                props.sort_by(|a, b| a.name.cmp(&b.name));
                merged.models.insert(
                    name.clone(),
                    Model {
                        name: name.clone(),
                        properties: props,
                        releases: vec![label.to_string()],
                    },
                );
            }
            Some(old) => {
                let mut out = Vec::new();
                for mut p in props {
                    match old.properties.iter().find(|o| o.name == p.name) {
                        Some(o) => {
                            p.always &= o.always;
                            p.releases = [o.releases.clone(), p.releases.clone()].concat();
                            let mut allowed = p.allowed.clone();
                            union_into(&mut allowed, o.allowed.clone());
                            p.allowed = allowed;
                        }
                        // New in this release: older releases do not send it.
                        None => p.always = false,
                    }
                    out.push(p);
                }
                // Dropped in this release: keep it, optional.
                for o in &old.properties {
                    if !out.iter().any(|p| p.name == o.name) {
                        let mut o = o.clone();
                        o.always = false;
                        out.push(o);
                    }
                }
                out.sort_by(|a, b| a.name.cmp(&b.name));
                old.properties = out;
                old.releases.push(label.to_string());
            }
        }
    }
}

/// Adds the fields of `overrides` (`{"models": {"Model": {"properties":
/// {"field": "type"}}}}`) that the declarations lack, as optional fields,
/// and the values of an enum field they lack (`"values": {"field": [..]}`);
/// marks the parameters that must be sent with their declared default
/// (`{"operations": {"resource.nickname": {"send_default": ["param"]}}}`).
pub fn apply_overrides(merged: &mut Merged, overrides: &Value) -> Result<(), String> {
    for (name, op) in overrides["operations"].as_object().into_iter().flatten() {
        let target = merged
            .operations
            .iter_mut()
            .find(|o| format!("{}.{}", o.resource, o.nickname) == *name)
            .ok_or_else(|| format!("overrides name an unknown operation {name}"))?;
        for param in op["send_default"].as_array().into_iter().flatten() {
            let param = param.as_str().unwrap_or_default();
            let p = target
                .params
                .iter_mut()
                .find(|p| p.name == param)
                .ok_or_else(|| format!("overrides name an unknown parameter {name}.{param}"))?;
            if p.default.is_none() || p.multiple || p.kind != "query" {
                return Err(format!(
                    "{name}.{param}: only a single query parameter with a default can be sent by default"
                ));
            }
            p.send_default = true;
        }
    }
    for (name, model) in overrides["models"].as_object().into_iter().flatten() {
        let target = merged
            .models
            .get_mut(name)
            .ok_or_else(|| format!("overrides name an unknown model {name}"))?;
        for (prop, ty) in model["properties"].as_object().into_iter().flatten() {
            let ty = ty
                .as_str()
                .ok_or_else(|| format!("{name}.{prop}: the type must be a string"))?;
            if !target.properties.iter().any(|p| &p.name == prop) {
                target.properties.push(Property {
                    name: prop.clone(),
                    ty: ty.to_string(),
                    always: false,
                    allowed: Vec::new(),
                    releases: Vec::new(),
                });
                target.properties.sort_by(|a, b| a.name.cmp(&b.name));
            }
        }
        for (prop, values) in model["values"].as_object().into_iter().flatten() {
            let field = target
                .properties
                .iter_mut()
                .find(|p| &p.name == prop)
                .ok_or_else(|| format!("overrides name an unknown field {name}.{prop}"))?;
            if field.allowed.is_empty() {
                return Err(format!("{name}.{prop} is not an enum field"));
            }
            for value in values.as_array().into_iter().flatten() {
                let value = value
                    .as_str()
                    .ok_or_else(|| format!("{name}.{prop}: values must be strings"))?;
                if !field.allowed.iter().any(|a| a == value) {
                    field.allowed.push(value.to_string());
                }
            }
        }
    }
    Ok(())
}

/// Names the enum type of every query or path parameter with allowed values.
/// Parameters with the same values share one enum: it has the name each of
/// them would get alone (`{Operation}{Parameter}`) when those agree, else the
/// one `overrides.json` gives (`{"enums": {"Name": ["resource.nickname.param",
/// ...]}}`). A group with no agreed or given name is an error, so that a
/// newer declaration never renames a type silently.
pub fn name_enums(merged: &mut Merged, overrides: Option<&Value>) -> Result<(), String> {
    let mut given: BTreeMap<String, String> = BTreeMap::new();
    for (name, members) in overrides
        .and_then(|o| o["enums"].as_object())
        .into_iter()
        .flatten()
    {
        for member in members.as_array().into_iter().flatten() {
            let member = member.as_str().unwrap_or_default();
            given.insert(member.to_string(), name.clone());
        }
    }
    let mut groups: BTreeMap<Vec<String>, Vec<(usize, usize)>> = BTreeMap::new();
    for (i, op) in merged.operations.iter().enumerate() {
        for (j, p) in op.params.iter().enumerate() {
            if !p.allowed.is_empty() && p.kind != "body" {
                let mut values = p.allowed.clone();
                values.sort();
                groups.entry(values).or_default().push((i, j));
            }
        }
    }
    for members in groups.values() {
        let key = |&(i, j): &(usize, usize)| {
            let op = &merged.operations[i];
            format!("{}.{}.{}", op.resource, op.nickname, op.params[j].name)
        };
        let own = |&(i, j): &(usize, usize)| {
            let op = &merged.operations[i];
            format!("{}{}", pascal(&op.nickname), pascal(&op.params[j].name))
        };
        let mut names: Vec<String> = members
            .iter()
            .map(|m| given.remove(&key(m)).unwrap_or_else(|| own(m)))
            .collect();
        names.sort();
        names.dedup();
        let [name] = &names[..] else {
            let listed: Vec<String> = members.iter().map(key).collect();
            return Err(format!(
                "{} have the same values: give their shared enum one name in overrides.json (\"enums\"); names now: {}",
                listed.join(", "),
                names.join(", ")
            ));
        };
        for &(i, j) in members {
            merged.operations[i].params[j].enum_name = name.clone();
        }
    }
    if let Some(unused) = given.keys().next() {
        return Err(format!(
            "overrides.json names the enum of {unused}, which is not a parameter with allowed values"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn release(label: &str, channels: Value) -> Release {
        Release {
            label: label.into(),
            resources: BTreeMap::from([("channels".to_string(), channels)]),
        }
    }

    fn op(nickname: &str, params: Value) -> Value {
        json!({"httpMethod": "POST", "nickname": nickname, "parameters": params})
    }

    fn choice(name: &str, values: &[&str]) -> Value {
        json!({"name": name, "paramType": "query", "dataType": "string",
               "allowableValues": {"valueType": "LIST", "values": values}})
    }

    #[test]
    fn fields_are_in_name_order_and_know_their_releases() {
        let old = release(
            "20",
            json!({"models": {"Thing": {"properties": {
                "zeta": {"type": "string", "required": true},
                "alpha": {"type": "string", "required": true},
            }}}}),
        );
        let new = release(
            "22",
            json!({"models": {"Thing": {"properties": {
                "zeta": {"type": "string", "required": true},
                "mid": {"type": "int"},
                "alpha": {"type": "string", "required": true},
            }}}}),
        );
        let merged = merge(&[old, new]);
        let thing = &merged.models["Thing"];
        let names: Vec<&str> = thing.properties.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["alpha", "mid", "zeta"]);
        assert_eq!(thing.properties[0].releases, ["20", "22"]);
        assert_eq!(thing.properties[1].releases, ["22"]);
        assert!(!thing.properties[1].always, "new in 22: absent from 20");
    }

    #[test]
    fn parameters_with_the_same_values_share_one_enum() {
        let values = ["both", "in", "out"];
        let api = json!({"apis": [
            {"path": "/channels/{id}/a", "operations": [op("listen", json!([choice("direction", &values)]))]},
            {"path": "/channels/{id}/b", "operations": [op("talk", json!([choice("direction", &["out", "in", "both"])]))]},
            {"path": "/channels/{id}/c", "operations": [op("record", json!([choice("ifExists", &["fail"])]))]},
        ]});
        let mut merged = merge(&[release("22", api)]);
        let err = name_enums(&mut merged.clone(), None).unwrap_err();
        assert!(
            err.contains("channels.listen.direction, channels.talk.direction"),
            "{err}"
        );

        let named = json!({"enums": {"Direction": ["channels.listen.direction", "channels.talk.direction"]}});
        name_enums(&mut merged, Some(&named)).unwrap();
        let enum_of = |nickname: &str| {
            let op = merged
                .operations
                .iter()
                .find(|o| o.nickname == nickname)
                .unwrap();
            op.params[0].enum_name.clone()
        };
        assert_eq!(enum_of("listen"), "Direction");
        assert_eq!(enum_of("talk"), "Direction");
        assert_eq!(enum_of("record"), "RecordIfExists", "alone: its own name");

        let stale = json!({"enums": {
            "Direction": ["channels.listen.direction", "channels.talk.direction"],
            "Gone": ["channels.nothing.here"],
        }});
        let err = name_enums(&mut merged, Some(&stale)).unwrap_err();
        assert!(err.contains("channels.nothing.here"), "{err}");
    }
}
