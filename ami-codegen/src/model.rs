//! What is generated: the merged declarations with `overrides.json`
//! applied, snapshots expanded and every Rust name chosen.

use crate::spec::{In, Item, Merged, Param};
use ari_codegen::names::{field, pascal};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Where an event field comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// A `<parameter>` of the XML.
    Declared,
    /// A channel snapshot with this prefix.
    Channel(String),
    /// A bridge snapshot with this prefix.
    Bridge(String),
    /// `overrides.json`: sent, but not in the XML.
    Seen(String),
}

/// One accessor of an event.
#[derive(Clone, Debug)]
pub struct EventField {
    /// The header name as the wire spells it; numbered ones hold `{n}`.
    pub header: String,
    /// The XML's spelling, where the wire's differs.
    pub xml_spelling: Option<String>,
    /// The accessor's name.
    pub accessor: String,
    /// The enum its value reads as, if any, and the values it knows.
    pub values: Vec<String>,
    /// Set once enums are named.
    pub enum_name: Option<String>,
    /// Where it comes from.
    pub origin: Origin,
    /// The releases that declare it (all of the event's, for snapshot and
    /// seen fields).
    pub releases: Vec<String>,
}

/// One event type.
#[derive(Clone, Debug)]
pub struct EventType {
    /// The Rust type (and `Event` variant) name.
    pub type_name: String,
    /// `Event:` as Asterisk sends it.
    pub wire: String,
    /// The XML's spelling, where the wire's differs.
    pub xml_spelling: Option<String>,
    /// Privilege classes.
    pub classes: Vec<String>,
    /// `since` versions.
    pub since: Vec<String>,
    /// Releases whose XML documents it; empty: typed from `seen_in`.
    pub releases: Vec<String>,
    /// For an event the XML does not document: where it was seen.
    pub seen_in: Option<String>,
    /// Accessors in order.
    pub fields: Vec<EventField>,
    /// Whether it carries channel snapshots (so channel variables).
    pub channels: bool,
    /// The list actions it is an item of, or completes.
    pub item_of: Vec<String>,
    /// The list actions it completes.
    pub completes: Vec<String>,
}

/// How an action parameter is sent.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// One header, if set.
    Single,
    /// One header per item of a list.
    Repeated,
    /// `name: value` headers of the caller's choosing.
    Free,
}

/// One action parameter.
#[derive(Clone, Debug)]
pub struct ActionParam {
    /// The header name; in a numbered group, its template (`Action-{n6}`).
    pub header: String,
    /// The field (and setter) name.
    pub field: String,
    /// The XML's declaration.
    pub param: Param,
    /// Values taken as an open enum.
    pub values: Vec<String>,
    /// Set once enums are named.
    pub enum_name: Option<String>,
    /// Forms the XML lists that are not plain values (free text kept as `String`).
    pub forms: Vec<String>,
    /// How it is sent.
    pub shape: Shape,
    /// Kept out of `Debug`.
    pub secret: bool,
    /// Releases that declare it.
    pub releases: Vec<String>,
    /// Why it differs from the XML, if it does.
    pub seen_in: Option<String>,
}

/// Numbered headers sent as groups (`Action-000000`, `Cat-000000`...).
#[derive(Clone, Debug)]
pub struct Group {
    /// The list field on the action.
    pub field: String,
    /// The type of one group.
    pub item: String,
    /// Its members, with `{n}` (decimal) or `{n6}` (six digits) in their header.
    pub members: Vec<ActionParam>,
    /// Where the numbering is documented or seen.
    pub seen_in: String,
}

/// One action type.
#[derive(Clone, Debug)]
pub struct ActionType {
    /// The Rust type name.
    pub type_name: String,
    /// `Action:`.
    pub name: String,
    /// `since` versions.
    pub since: Vec<String>,
    /// Releases that have it.
    pub releases: Vec<String>,
    /// Parameters, in the XML's order.
    pub params: Vec<ActionParam>,
    /// A numbered group, if it has one.
    pub group: Option<Group>,
    /// The event that completes its event list, if it answers with one.
    pub complete: Option<String>,
}

/// An open enum to generate.
#[derive(Clone, Debug)]
pub struct EnumType {
    /// Its name.
    pub name: String,
    /// Its values.
    pub values: Vec<String>,
    /// `Type.field` of each user.
    pub users: Vec<String>,
}

/// Everything to generate.
#[derive(Clone, Debug)]
pub struct Model {
    /// Every release, oldest first.
    pub releases: Vec<String>,
    /// Event types by type name.
    pub events: Vec<EventType>,
    /// Enums used by events.
    pub event_enums: Vec<EnumType>,
    /// Action types by type name.
    pub actions: Vec<ActionType>,
    /// Enums used by actions.
    pub action_enums: Vec<EnumType>,
    /// (action, completion event), sorted.
    pub list_actions: Vec<(String, String)>,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn seen_in(v: &Value, what: &str) -> Result<String, String> {
    v.get("seen_in")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("overrides.json: {what} has no seen_in"))
}

fn obj<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = (&'a String, &'a Value)> {
    v.get(key).and_then(Value::as_object).into_iter().flatten()
}

/// A snapshot's fields as the wire sends them: (suffix, enum values).
fn snapshot_fields(o: &Value, kind: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    let s = o
        .get("snapshots")
        .and_then(|s| s.get(kind))
        .ok_or_else(|| format!("overrides.json: snapshots.{kind} is missing"))?;
    seen_in(s, &format!("snapshots.{kind}"))?;
    Ok(s.get("fields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|f| match f {
            Value::String(n) => (n.clone(), Vec::new()),
            other => (
                other["name"].as_str().unwrap_or_default().to_string(),
                strings(&other["values"]),
            ),
        })
        .collect())
}

/// `ReportXSourceSSRC` with pattern `ReportX` → `Report{n}SourceSSRC`.
fn numbered_header(name: &str, patterns: &[String]) -> String {
    for p in patterns {
        if let Some(rest) = name.strip_prefix(p.as_str()) {
            return format!("{}{{n}}{rest}", &p[..p.len() - 1]);
        }
    }
    name.to_string()
}

/// The accessor for a header: `Report{n}SourceSSRC` → `report_source_ssrc`.
fn accessor(header: &str) -> String {
    let plain = header
        .replace("{n}", "")
        .replace("{n6}", "")
        .trim_end_matches(['-', '('])
        .replace("()", "");
    let name = field(plain.trim_end_matches(['-', '(', ')']));
    // `100rel` → `n100rel`.
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("n{name}")
    } else {
        name
    }
}

fn build_events(m: &Merged, o: &Value) -> Result<Vec<EventType>, String> {
    let channel = snapshot_fields(o, "channel")?;
    let bridge = snapshot_fields(o, "bridge")?;
    let mut out = Vec::new();
    let ev_over = o.get("events").cloned().unwrap_or(Value::Null);
    for (name, v) in obj(o, "events") {
        if !m.events.contains_key(name) {
            return Err(format!("overrides.json: events.{name} is not in the XML"));
        }
        seen_in(v, &format!("events.{name}"))?;
    }
    for e in m.events.values() {
        let ov = &ev_over[&e.name];
        let patterns = strings(&ov["numbered"]);
        let spelling: BTreeMap<String, String> = obj(ov, "spelling")
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        let mut fields = Vec::new();
        let mut channels = false;
        for In { item, releases } in &e.items {
            match item {
                Item::Field { name, values } => {
                    let wire = spelling.get(name).cloned().unwrap_or_else(|| name.clone());
                    let header = numbered_header(&wire, &patterns);
                    fields.push(EventField {
                        // Named as the XML spells it; read as the wire does.
                        accessor: accessor(&numbered_header(name, &patterns)),
                        header,
                        xml_spelling: (wire != *name).then(|| name.clone()),
                        values: values.clone(),
                        enum_name: None,
                        origin: Origin::Declared,
                        releases: releases.clone(),
                    });
                }
                Item::ChannelSnapshot(prefix) | Item::BridgeSnapshot(prefix) => {
                    let is_channel = matches!(item, Item::ChannelSnapshot(_));
                    channels |= is_channel;
                    let list = if is_channel { &channel } else { &bridge };
                    for (suffix, values) in list {
                        let header = format!("{prefix}{suffix}");
                        fields.push(EventField {
                            accessor: accessor(&header),
                            header,
                            xml_spelling: None,
                            values: values.clone(),
                            enum_name: None,
                            origin: if is_channel {
                                Origin::Channel(prefix.clone())
                            } else {
                                Origin::Bridge(prefix.clone())
                            },
                            releases: releases.clone(),
                        });
                    }
                }
            }
        }
        for f in strings(&ov["add"]) {
            fields.push(EventField {
                accessor: accessor(&f),
                header: f,
                xml_spelling: None,
                values: Vec::new(),
                enum_name: None,
                origin: Origin::Seen(seen_in(ov, &e.name)?),
                releases: e.releases.clone(),
            });
        }
        for from in spelling.keys() {
            if !fields
                .iter()
                .any(|f| f.xml_spelling.as_deref() == Some(from))
            {
                return Err(format!(
                    "overrides.json: {}.spelling.{from}: no such field",
                    e.name
                ));
            }
        }
        let wire = ov["wire"].as_str().unwrap_or(&e.name).to_string();
        out.push(EventType {
            type_name: pascal(&e.name),
            xml_spelling: (wire != e.name).then(|| e.name.clone()),
            wire,
            classes: e.classes.clone(),
            since: e.since.clone(),
            releases: e.releases.clone(),
            seen_in: None,
            fields,
            channels,
            item_of: Vec::new(),
            completes: Vec::new(),
        });
    }
    for (name, v) in obj(o, "undocumented_events") {
        if m.events.contains_key(name) {
            return Err(format!(
                "overrides.json: undocumented_events.{name} is in the XML"
            ));
        }
        let fields = strings(&v["fields"])
            .into_iter()
            .map(|h| EventField {
                accessor: accessor(&h),
                header: h,
                xml_spelling: None,
                values: Vec::new(),
                enum_name: None,
                origin: Origin::Declared,
                releases: Vec::new(),
            })
            .collect();
        out.push(EventType {
            type_name: pascal(name),
            wire: name.clone(),
            xml_spelling: None,
            classes: strings(&v["classes"]),
            since: Vec::new(),
            releases: Vec::new(),
            seen_in: Some(seen_in(v, &format!("undocumented_events.{name}"))?),
            fields,
            channels: false,
            item_of: Vec::new(),
            completes: Vec::new(),
        });
    }
    out.sort_by(|a, b| a.type_name.cmp(&b.type_name));
    for e in &mut out {
        // One accessor per name: a field declared twice in different
        // spellings (or twice through snapshots) keeps the first.
        let mut seen = BTreeSet::new();
        e.fields.retain(|f| seen.insert(f.accessor.clone()));
        // The methods every event has keep their names; a field of that
        // name (`Message`) gets `_header` after it.
        for f in &mut e.fields {
            if RESERVED.contains(&f.accessor.as_str()) {
                f.accessor.push_str("_header");
            }
        }
        unique(e.fields.iter().map(|f| f.accessor.clone()), "accessor")?;
    }
    unique(out.iter().map(|e| e.type_name.clone()), "event type")?;
    unique(
        out.iter().map(|e| e.wire.to_ascii_lowercase()),
        "event name",
    )?;
    Ok(out)
}

/// Methods of every event type.
pub const RESERVED: &[&str] = &["message", "chan_variables", "new", "from", "into", "clone"];

fn unique(names: impl Iterator<Item = String>, what: &str) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for n in names {
        if !seen.insert(n.clone()) {
            return Err(format!("two {what}s are named {n}"));
        }
    }
    Ok(())
}

fn action_param(p: &In<Param>, header: String, ov: &Value) -> ActionParam {
    let name = &p.item.name;
    let listed = |key: &str| strings(&ov[key]).contains(name);
    let free_text = listed("free_text");
    ActionParam {
        field: accessor(&header),
        header,
        values: if free_text {
            Vec::new()
        } else {
            p.item.values.clone()
        },
        forms: if free_text {
            p.item.values.clone()
        } else {
            Vec::new()
        },
        enum_name: None,
        shape: if listed("repeated") {
            Shape::Repeated
        } else {
            Shape::Single
        },
        secret: listed("secret"),
        releases: p.releases.clone(),
        seen_in: (listed("repeated") || listed("free_text"))
            .then(|| ov["seen_in"].as_str().unwrap_or_default().to_string()),
        param: p.item.clone(),
    }
}

fn build_actions(m: &Merged, o: &Value) -> Result<Vec<ActionType>, String> {
    let mut out = Vec::new();
    let ac_over = o.get("actions").cloned().unwrap_or(Value::Null);
    for (name, v) in obj(o, "actions") {
        let Some(a) = m.actions.get(name) else {
            return Err(format!("overrides.json: actions.{name} is not in the XML"));
        };
        seen_in(v, &format!("actions.{name}"))?;
        for key in ["repeated", "free_text", "secret", "free_headers"] {
            for p in strings(&v[key]) {
                if !a.params.iter().any(|q| q.item.name == p) {
                    return Err(format!(
                        "overrides.json: actions.{name}.{key}: no parameter {p}"
                    ));
                }
            }
        }
    }
    for a in m.actions.values() {
        let ov = &ac_over[&a.name];
        let templates: BTreeMap<String, String> = obj(&ov["numbered"], "headers")
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        let free = strings(&ov["free_headers"]);
        let mut params = Vec::new();
        let mut members = Vec::new();
        for p in &a.params {
            if let Some(t) = templates.get(&p.item.name) {
                members.push(action_param(p, t.clone(), ov));
            } else if free.contains(&p.item.name) {
                if free[0] == p.item.name {
                    let mut fp = action_param(p, String::new(), ov);
                    fp.field = "headers".into();
                    fp.shape = Shape::Free;
                    params.push(fp);
                }
            } else {
                params.push(action_param(p, p.item.name.clone(), ov));
            }
        }
        let group = if templates.is_empty() {
            None
        } else {
            if members.len() != templates.len() {
                return Err(format!(
                    "overrides.json: {}.numbered names missing parameters",
                    a.name
                ));
            }
            for r in strings(&ov["numbered"]["required"]) {
                for mem in &mut members {
                    if mem.param.name == r {
                        mem.param.required = true;
                    }
                }
            }
            Some(Group {
                field: ov["numbered"]["field"]
                    .as_str()
                    .unwrap_or("items")
                    .to_string(),
                item: ov["numbered"]["item"]
                    .as_str()
                    .ok_or(format!("{}: numbered.item", a.name))?
                    .to_string(),
                members,
                seen_in: seen_in(ov, &a.name)?,
            })
        };
        let mut seen = BTreeSet::new();
        for p in &params {
            if !seen.insert(p.field.clone()) || p.field == "new" {
                return Err(format!(
                    "{}: two parameters (or `new`) are named {}",
                    a.name, p.field
                ));
            }
        }
        out.push(ActionType {
            type_name: pascal(&a.name),
            name: a.name.clone(),
            since: a.since.clone(),
            releases: a.releases.clone(),
            params,
            group,
            complete: None,
        });
    }
    unique(out.iter().map(|a| a.type_name.clone()), "action type")?;
    Ok(out)
}

/// Names enums: a value set gets one enum, named by `overrides.json`
/// (`enums`: name → values) or else after its field (or `TypeField` when
/// that name is taken); anything left ambiguous fails.
fn name_enums(
    uses: Vec<(String, String, Vec<String>)>,
    named: &BTreeMap<String, Vec<String>>,
    taken: &BTreeSet<String>,
) -> Result<(Vec<EnumType>, BTreeMap<String, String>), String> {
    // Group by value set.
    let mut groups: BTreeMap<Vec<String>, Vec<(String, String)>> = BTreeMap::new();
    for (ty, f, values) in uses {
        groups.entry(values).or_default().push((ty, f));
    }
    let mut enums: Vec<EnumType> = Vec::new();
    let mut pending = Vec::new();
    for (values, users) in groups {
        let keys: Vec<String> = users.iter().map(|(t, f)| format!("{t}.{f}")).collect();
        match named.iter().find(|(_, v)| **v == values) {
            Some((name, _)) => {
                enums.push(EnumType {
                    name: name.clone(),
                    values,
                    users: keys,
                });
            }
            None => pending.push((values, users, keys)),
        }
    }
    let mut candidates: BTreeMap<String, usize> = BTreeMap::new();
    for (_, users, _) in &pending {
        let fields: BTreeSet<&String> = users.iter().map(|(_, f)| f).collect();
        if fields.len() == 1 {
            *candidates
                .entry(pascal(fields.first().unwrap()))
                .or_default() += 1;
        }
    }
    let mut errors = Vec::new();
    for (values, users, keys) in pending {
        let fields: BTreeSet<&String> = users.iter().map(|(_, f)| f).collect();
        let types: BTreeSet<&String> = users.iter().map(|(t, _)| t).collect();
        let plain = pascal(fields.first().unwrap());
        let name = if fields.len() == 1 && candidates[&plain] == 1 && !taken.contains(&plain) {
            plain
        } else if fields.len() == 1 && types.len() == 1 {
            format!("{}{plain}", types.first().unwrap())
        } else {
            errors.push(format!("{values:?} used by {keys:?}"));
            continue;
        };
        enums.push(EnumType {
            name,
            values,
            users: keys,
        });
    }
    if !errors.is_empty() {
        return Err(format!(
            "name these enums in overrides.json `enums`:\n{}",
            errors.join("\n")
        ));
    }
    enums.sort_by(|a, b| a.name.cmp(&b.name));
    unique(enums.iter().map(|e| e.name.clone()), "enum")?;
    if let Some(e) = enums.iter().find(|e| taken.contains(&e.name)) {
        return Err(format!("enum {} has the name of a type", e.name));
    }
    let by_user = enums
        .iter()
        .flat_map(|e| e.users.iter().map(|u| (u.clone(), e.name.clone())))
        .collect();
    Ok((enums, by_user))
}

fn enum_overrides(o: &Value, key: &str) -> BTreeMap<String, Vec<String>> {
    obj(&o["enums"], key)
        .map(|(k, v)| (k.clone(), strings(v)))
        .collect()
}

/// Builds the model from the merged declarations and `overrides.json`.
pub fn build(m: &Merged, o: &Value) -> Result<Model, String> {
    let mut events = build_events(m, o)?;
    let mut actions = build_actions(m, o)?;

    // Event lists: the XML's <responses>, then overrides.json.
    let mut lists: BTreeMap<String, String> = BTreeMap::new();
    for a in m.actions.values() {
        if let Some((items, Some(complete))) = &a.list {
            lists.insert(a.name.clone(), complete.clone());
            for i in items {
                if let Some(e) = events
                    .iter_mut()
                    .find(|e| e.wire == *i || e.xml_spelling.as_deref() == Some(i))
                {
                    e.item_of.push(a.name.clone());
                }
            }
        }
    }
    for (name, v) in obj(o, "list_actions") {
        seen_in(v, &format!("list_actions.{name}"))?;
        if !m.actions.contains_key(name) {
            return Err(format!(
                "overrides.json: list_actions.{name} is not an action"
            ));
        }
        let complete = v["complete"].as_str().unwrap_or_default().to_string();
        if let Some(old) = lists.insert(name.clone(), complete.clone())
            && old != complete
        {
            return Err(format!("list_actions.{name}: the XML says {old}"));
        }
        for i in strings(&v["items"]) {
            match events.iter_mut().find(|e| e.wire == i) {
                Some(e) if !e.item_of.contains(name) => e.item_of.push(name.clone()),
                Some(_) => {}
                None => return Err(format!("list_actions.{name}: no event {i}")),
            }
        }
    }
    for (action, complete) in &lists {
        let Some(e) = events.iter_mut().find(|e| e.wire == *complete) else {
            return Err(format!(
                "{action} completes with {complete}, an event not typed"
            ));
        };
        e.completes.push(action.clone());
        if let Some(a) = actions.iter_mut().find(|a| a.name == *action) {
            a.complete = Some(complete.clone());
        }
    }

    // Enums.
    let type_names: BTreeSet<String> = events.iter().map(|e| e.type_name.clone()).collect();
    let mut uses = Vec::new();
    for e in &events {
        for f in e.fields.iter().filter(|f| !f.values.is_empty()) {
            // Snapshot fields are one user whatever their prefix.
            let name = match &f.origin {
                Origin::Channel(p) | Origin::Bridge(p) => f.header[p.len()..].to_string(),
                _ => f.header.clone(),
            };
            uses.push((e.type_name.clone(), name, f.values.clone()));
        }
    }
    let (event_enums, by_user) = name_enums(uses, &enum_overrides(o, "events"), &type_names)?;
    for e in &mut events {
        let ty = e.type_name.clone();
        for f in e.fields.iter_mut().filter(|f| !f.values.is_empty()) {
            let name = match &f.origin {
                Origin::Channel(p) | Origin::Bridge(p) => &f.header[p.len()..],
                _ => &f.header,
            };
            f.enum_name = Some(by_user[&format!("{ty}.{name}")].clone());
        }
    }
    let type_names: BTreeSet<String> = actions.iter().map(|a| a.type_name.clone()).collect();
    let mut uses = Vec::new();
    for a in &actions {
        let members = a.group.iter().flat_map(|g| g.members.iter());
        for p in a
            .params
            .iter()
            .chain(members)
            .filter(|p| !p.values.is_empty())
        {
            uses.push((a.type_name.clone(), p.param.name.clone(), p.values.clone()));
        }
    }
    let (action_enums, by_user) = name_enums(uses, &enum_overrides(o, "actions"), &type_names)?;
    for a in &mut actions {
        let ty = a.type_name.clone();
        let members = a.group.iter_mut().flat_map(|g| g.members.iter_mut());
        for p in a
            .params
            .iter_mut()
            .chain(members)
            .filter(|p| !p.values.is_empty())
        {
            p.enum_name = Some(by_user[&format!("{ty}.{}", p.param.name)].clone());
        }
    }
    Ok(Model {
        releases: m.releases.clone(),
        events,
        event_enums,
        actions,
        action_enums,
        list_actions: lists.into_iter().collect(),
    })
}
