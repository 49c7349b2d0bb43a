//! Reads ARI (Swagger 1.1) declarations of several Asterisk releases and merges
//! them into one view: every model, property, operation and parameter any of the
//! releases declares, with what varies between releases recorded.

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
}

/// A model, merged over releases.
#[derive(Debug, Clone)]
pub struct Model {
    /// Model id, e.g. `Channel`.
    pub name: String,
    /// Own properties (inherited ones are not repeated here).
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
            })
            .collect();
        match merged.models.get_mut(name) {
            None => {
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
                });
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
