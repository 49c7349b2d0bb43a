//! What the XML declares, per release and merged over releases.

use crate::xml::{self, children, elements};
use roxmltree::{Document, Node};
use std::collections::BTreeMap;

/// A header of an action, as one release declares it.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// The header name, e.g. `Channel` or `Action-000000`.
    pub name: String,
    /// `required="true"` (or `yes`).
    pub required: bool,
    /// `default="..."`.
    pub default: Option<String>,
    /// The `<enumlist>` values, in order.
    pub values: Vec<String>,
}

/// One field group of an event's syntax, as written.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `<parameter name=...>` (also one an `xi:include` selected).
    Field {
        /// The header name.
        name: String,
        /// The `<enumlist>` values.
        values: Vec<String>,
    },
    /// `<channel_snapshot prefix=...>`.
    ChannelSnapshot(String),
    /// `<bridge_snapshot prefix=...>`.
    BridgeSnapshot(String),
}

/// An action as one release documents it.
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    /// `name`.
    pub name: String,
    /// `<since><version>`s.
    pub since: Vec<String>,
    /// The headers in order, `ActionID` left out.
    pub params: Vec<Param>,
    /// From `<responses>`: the item events and the completion event.
    pub list: Option<(Vec<String>, Option<String>)>,
}

/// An event as one release documents it (all elements and instances of
/// the name merged).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// `name`.
    pub name: String,
    /// The instances' `class`es without `EVENT_FLAG_`, lower case.
    pub classes: Vec<String>,
    /// The instances' `<since><version>`s.
    pub since: Vec<String>,
    /// The syntax items of every instance, in order, repeats removed.
    pub items: Vec<Item>,
}

/// An AGI command as one release documents it (`<agi name="stream file">`).
#[derive(Clone, Debug, PartialEq)]
pub struct AgiCommand {
    /// `name`: the command's words, lower case (`stream file`).
    pub name: String,
    /// `<since><version>`s.
    pub since: Vec<String>,
    /// The positional arguments in order (`required` as the XML says).
    pub params: Vec<Param>,
}

/// One release's declarations.
#[derive(Clone, Debug)]
pub struct Release {
    /// `20`, `22`...
    pub label: String,
    /// Actions by name.
    pub actions: BTreeMap<String, Action>,
    /// Events by name.
    pub events: BTreeMap<String, Event>,
    /// AGI commands by name.
    pub agi: BTreeMap<String, AgiCommand>,
}

fn attr_true(node: Node, name: &str) -> bool {
    matches!(node.attribute(name), Some("true" | "yes"))
}

fn since<'a, 'i>(doc: &'a Document<'i>, node: Node<'a, 'i>) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for s in elements(doc, node, "since")? {
        for v in elements(doc, s, "version")? {
            out.push(v.text().unwrap_or_default().trim().to_string());
        }
    }
    Ok(out)
}

/// The values of a parameter's `<enumlist>` (one level: nested lists of
/// an enum are not values of the parameter).
fn enum_values<'a, 'i>(doc: &'a Document<'i>, param: Node<'a, 'i>) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for list in elements(doc, param, "enumlist")? {
        for e in elements(doc, list, "enum")? {
            let name = e.attribute("name").unwrap_or_default().to_string();
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    Ok(out)
}

fn push_unique(items: &mut Vec<Item>, item: Item) {
    let key = |i: &Item| match i {
        Item::Field { name, .. } => format!("f:{}", name.to_ascii_lowercase()),
        Item::ChannelSnapshot(p) => format!("c:{p}"),
        Item::BridgeSnapshot(p) => format!("b:{p}"),
    };
    let k = key(&item);
    if !items.iter().any(|i| key(i) == k) {
        items.push(item);
    }
}

/// Reads the syntax items of one `managerEventInstance` into `items`.
pub fn read_instance<'a, 'i>(
    doc: &'a Document<'i>,
    instance: Node<'a, 'i>,
    items: &mut Vec<Item>,
) -> Result<(), String> {
    for syntax in elements(doc, instance, "syntax")? {
        for c in children(doc, syntax)? {
            if !c.is_element() {
                continue;
            }
            let prefix = c.attribute("prefix").unwrap_or_default().to_string();
            match c.tag_name().name() {
                "parameter" => {
                    let name = c.attribute("name").unwrap_or_default().to_string();
                    let values = enum_values(doc, c)?;
                    push_unique(items, Item::Field { name, values });
                }
                "channel_snapshot" => push_unique(items, Item::ChannelSnapshot(prefix)),
                "bridge_snapshot" => push_unique(items, Item::BridgeSnapshot(prefix)),
                other => return Err(format!("unexpected <{other}> in an event's syntax")),
            }
        }
    }
    Ok(())
}

fn read_event<'a, 'i>(
    doc: &'a Document<'i>,
    node: Node<'a, 'i>,
    events: &mut BTreeMap<String, Event>,
) -> Result<(), String> {
    let name = node.attribute("name").unwrap_or_default().to_string();
    let event = events.entry(name.clone()).or_insert_with(|| Event {
        name,
        classes: Vec::new(),
        since: Vec::new(),
        items: Vec::new(),
    });
    for instance in elements(doc, node, "managerEventInstance")? {
        if let Some(class) = instance.attribute("class") {
            let class = class.trim_start_matches("EVENT_FLAG_").to_ascii_lowercase();
            if !event.classes.contains(&class) {
                event.classes.push(class);
            }
        }
        for v in since(doc, instance)? {
            if !event.since.contains(&v) {
                event.since.push(v);
            }
        }
        read_instance(doc, instance, &mut event.items)?;
    }
    Ok(())
}

fn read_action<'a, 'i>(doc: &'a Document<'i>, node: Node<'a, 'i>) -> Result<Action, String> {
    let name = node.attribute("name").unwrap_or_default().to_string();
    let mut params: Vec<Param> = Vec::new();
    for syntax in elements(doc, node, "syntax")? {
        for p in elements(doc, syntax, "parameter")? {
            let pname = p.attribute("name").unwrap_or_default().to_string();
            if pname == "ActionID" || params.iter().any(|q| q.name == pname) {
                continue;
            }
            params.push(Param {
                name: pname,
                required: attr_true(p, "required"),
                default: p.attribute("default").map(str::to_string),
                values: enum_values(doc, p)?,
            });
        }
    }
    let mut list = None;
    for responses in elements(doc, node, "responses")? {
        let mut items = Vec::new();
        let mut complete = None;
        for c in children(doc, responses)?
            .into_iter()
            .filter(|c| c.is_element())
        {
            match c.tag_name().name() {
                "list-elements" => {
                    for e in elements(doc, c, "managerEvent")? {
                        // An event documented twice is selected twice.
                        let name = e.attribute("name").unwrap_or_default().to_string();
                        if !items.contains(&name) {
                            items.push(name);
                        }
                    }
                }
                "managerEvent" => complete = c.attribute("name").map(str::to_string),
                other => return Err(format!("{name}: unexpected <{other}> in <responses>")),
            }
        }
        list = Some((items, complete));
    }
    Ok(Action {
        since: since(doc, node)?,
        name,
        params,
        list,
    })
}

fn read_agi<'a, 'i>(doc: &'a Document<'i>, node: Node<'a, 'i>) -> Result<AgiCommand, String> {
    let name = node.attribute("name").unwrap_or_default().to_string();
    let mut params = Vec::new();
    for syntax in elements(doc, node, "syntax")? {
        for p in elements(doc, syntax, "parameter")? {
            params.push(Param {
                name: p.attribute("name").unwrap_or_default().to_string(),
                required: attr_true(p, "required"),
                default: p.attribute("default").map(str::to_string),
                values: enum_values(doc, p)?,
            });
        }
    }
    Ok(AgiCommand {
        since: since(doc, node)?,
        name,
        params,
    })
}

impl Release {
    /// Reads a (full or extracted) `core-en_US.xml`.
    pub fn parse(label: &str, text: &str) -> Result<Release, String> {
        let doc = xml::parse(text)?;
        let mut actions = BTreeMap::new();
        let mut events = BTreeMap::new();
        let mut agi = BTreeMap::new();
        for node in doc.root_element().descendants().filter(|n| n.is_element()) {
            match node.tag_name().name() {
                "manager" if node.parent() == Some(doc.root_element()) => {
                    let action = read_action(&doc, node)?;
                    // The voicemail actions are documented once per build
                    // variant of app_voicemail; the first stands for all.
                    actions.entry(action.name.clone()).or_insert(action);
                }
                "managerEvent" => read_event(&doc, node, &mut events)?,
                "agi" if node.parent() == Some(doc.root_element()) => {
                    let command = read_agi(&doc, node)?;
                    agi.insert(command.name.clone(), command);
                }
                _ => {}
            }
        }
        Ok(Release {
            label: label.to_string(),
            actions,
            events,
            agi,
        })
    }
}

/// Something declared by some releases.
#[derive(Clone, Debug, PartialEq)]
pub struct In<T> {
    /// The newest release's declaration.
    pub item: T,
    /// The labels of the releases that declare it, oldest first.
    pub releases: Vec<String>,
}

/// An action merged over releases.
#[derive(Clone, Debug)]
pub struct MergedAction {
    /// The name.
    pub name: String,
    /// Every `since` version any release gives.
    pub since: Vec<String>,
    /// The releases that have it.
    pub releases: Vec<String>,
    /// Its headers: each with the releases that have it.
    pub params: Vec<In<Param>>,
    /// The item events and completion event, from the newest `<responses>`.
    pub list: Option<(Vec<String>, Option<String>)>,
}

/// An event merged over releases.
#[derive(Clone, Debug)]
pub struct MergedEvent {
    /// The name as documented.
    pub name: String,
    /// Privilege classes.
    pub classes: Vec<String>,
    /// Every `since` version any release gives.
    pub since: Vec<String>,
    /// The releases that document it (empty: not documented, added by
    /// `overrides.json`).
    pub releases: Vec<String>,
    /// Syntax items with their releases.
    pub items: Vec<In<Item>>,
}

/// An AGI command merged over releases.
#[derive(Clone, Debug)]
pub struct MergedAgi {
    /// The name (`stream file`).
    pub name: String,
    /// Every `since` version any release gives.
    pub since: Vec<String>,
    /// The releases that document it.
    pub releases: Vec<String>,
    /// Its arguments, each with the releases that have it.
    pub params: Vec<In<Param>>,
}

/// Everything, merged over releases.
#[derive(Clone, Debug, Default)]
pub struct Merged {
    /// Every release label, oldest first.
    pub releases: Vec<String>,
    /// Actions by name.
    pub actions: BTreeMap<String, MergedAction>,
    /// Events by name.
    pub events: BTreeMap<String, MergedEvent>,
    /// AGI commands by name.
    pub agi: BTreeMap<String, MergedAgi>,
}

fn merge_into<T: Clone + PartialEq>(
    list: &mut Vec<In<T>>,
    item: &T,
    same: impl Fn(&T, &T) -> bool,
    release: &str,
) {
    match list.iter_mut().find(|i| same(&i.item, item)) {
        Some(found) => {
            found.item = item.clone();
            found.releases.push(release.to_string());
        }
        None => list.push(In {
            item: item.clone(),
            releases: vec![release.to_string()],
        }),
    }
}

fn add_all(to: &mut Vec<String>, from: &[String]) {
    for s in from {
        if !to.contains(s) {
            to.push(s.clone());
        }
    }
}

fn same_item(a: &Item, b: &Item) -> bool {
    match (a, b) {
        (Item::Field { name: x, .. }, Item::Field { name: y, .. }) => x.eq_ignore_ascii_case(y),
        _ => a == b,
    }
}

/// Merges releases, oldest first: each action, event, header and field
/// says which releases have it; the newest declaration wins.
pub fn merge(releases: &[Release]) -> Merged {
    let mut m = Merged {
        releases: releases.iter().map(|r| r.label.clone()).collect(),
        ..Merged::default()
    };
    for r in releases {
        for a in r.actions.values() {
            let ma = m
                .actions
                .entry(a.name.clone())
                .or_insert_with(|| MergedAction {
                    name: a.name.clone(),
                    since: Vec::new(),
                    releases: Vec::new(),
                    params: Vec::new(),
                    list: None,
                });
            add_all(&mut ma.since, &a.since);
            ma.releases.push(r.label.clone());
            for p in &a.params {
                merge_into(&mut ma.params, p, |x, y| x.name == y.name, &r.label);
            }
            if a.list.is_some() {
                ma.list = a.list.clone();
            }
        }
        for e in r.events.values() {
            let me = m
                .events
                .entry(e.name.clone())
                .or_insert_with(|| MergedEvent {
                    name: e.name.clone(),
                    classes: Vec::new(),
                    since: Vec::new(),
                    releases: Vec::new(),
                    items: Vec::new(),
                });
            add_all(&mut me.classes, &e.classes);
            add_all(&mut me.since, &e.since);
            me.releases.push(r.label.clone());
            for i in &e.items {
                merge_into(&mut me.items, i, same_item, &r.label);
            }
        }
        for c in r.agi.values() {
            let mc = m.agi.entry(c.name.clone()).or_insert_with(|| MergedAgi {
                name: c.name.clone(),
                since: Vec::new(),
                releases: Vec::new(),
                params: Vec::new(),
            });
            add_all(&mut mc.since, &c.since);
            mc.releases.push(r.label.clone());
            for p in &c.params {
                merge_into(&mut mc.params, p, |x, y| x.name == y.name, &r.label);
            }
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = r#"<docs xmlns:xi="http://www.w3.org/2001/XInclude">
<manager name="Login"><since><version>1.0.0</version></since><syntax>
  <parameter name="ActionID"/><parameter name="Username" required="true"/>
  <parameter name="Events"><xi:include xpointer="xpointer(/docs/manager[@name='Events']/syntax/parameter[@name='EventMask']/enumlist)"/></parameter>
</syntax></manager>
<manager name="Events"><syntax><parameter name="EventMask" required="yes"><enumlist><enum name="on"/><enum name="off"><enumlist><enum name="nested"/></enumlist></enum></enumlist></parameter></syntax></manager>
<manager name="List"><syntax/><responses>
  <list-elements><xi:include xpointer="xpointer(/docs/managerEvent[@name='Hangup'])"/></list-elements>
  <managerEvent name="ListComplete"><managerEventInstance class="EVENT_FLAG_COMMAND"><syntax><parameter name="ListItems"/></syntax></managerEventInstance></managerEvent>
</responses></manager>
<managerEvent name="Hangup">
  <managerEventInstance class="EVENT_FLAG_CALL"><since><version>12.0.0</version></since><syntax>
    <channel_snapshot/><channel_snapshot prefix="Dest"/><parameter name="Cause"/>
  </syntax></managerEventInstance>
  <managerEventInstance class="EVENT_FLAG_DIALPLAN"><syntax>
    <xi:include xpointer="xpointer(/docs/managerEvent[@name='Hangup']/managerEventInstance/syntax/parameter[@name='Cause'])"/>
    <parameter name="Extra"><enumlist><enum name="A"/></enumlist></parameter><bridge_snapshot/>
  </syntax></managerEventInstance>
</managerEvent>
<managerEvent name="Hangup"><managerEventInstance class="EVENT_FLAG_CALL"><syntax><parameter name="Third"/></syntax></managerEventInstance></managerEvent>
</docs>"#;

    #[test]
    fn instances_merge_and_includes_resolve() {
        let r = Release::parse("1", V1).unwrap();
        let login = &r.actions["Login"];
        assert_eq!(login.since, ["1.0.0"]);
        assert_eq!(login.params.len(), 2, "ActionID is the session's");
        assert_eq!(login.params[1].values, ["on", "off"]);
        assert!(r.actions["Events"].params[0].required);
        let list = r.actions["List"].list.clone().unwrap();
        assert_eq!(list, (vec!["Hangup".into()], Some("ListComplete".into())));
        assert_eq!(r.events["ListComplete"].classes, ["command"]);
        let h = &r.events["Hangup"];
        assert_eq!(h.classes, ["call", "dialplan"]);
        let field = |n: &str| Item::Field {
            name: n.into(),
            values: vec![],
        };
        assert_eq!(
            h.items,
            [
                Item::ChannelSnapshot("".into()),
                Item::ChannelSnapshot("Dest".into()),
                field("Cause"),
                Item::Field {
                    name: "Extra".into(),
                    values: vec!["A".into()]
                },
                Item::BridgeSnapshot("".into()),
                field("Third"),
            ]
        );
    }

    #[test]
    fn agi_commands() {
        let doc = |extra: &str| {
            format!(
                r#"<docs><agi name="stream file" language="en_US"><since><version>0.4.0</version></since><syntax>
  <parameter name="filename" required="true"/><parameter name="escape_digits" required="true"/>{extra}
</syntax></agi><agi name="noop"/></docs>"#
            )
        };
        let old = Release::parse("1", &doc("")).unwrap();
        let new = Release::parse("2", &doc(r#"<parameter name="sample offset"/>"#)).unwrap();
        let s = &new.agi["stream file"];
        assert_eq!(s.since, ["0.4.0"]);
        assert_eq!(s.params.len(), 3);
        assert!(s.params[0].required && !s.params[2].required);
        assert!(new.agi["noop"].params.is_empty());
        let m = merge(&[old, new]);
        let ms = &m.agi["stream file"];
        assert_eq!(ms.releases, ["1", "2"]);
        assert_eq!(ms.params[2].releases, ["2"]);
    }

    #[test]
    fn releases_merge() {
        let v2 = V1
            .replace(r#"<parameter name="Username" required="true"/>"#, "")
            .replace(
                r#"<parameter name="Third"/>"#,
                r#"<parameter name="Fourth"/>"#,
            );
        let m = merge(&[
            Release::parse("1", V1).unwrap(),
            Release::parse("2", &v2).unwrap(),
        ]);
        let login = &m.actions["Login"];
        assert_eq!(login.releases, ["1", "2"]);
        assert_eq!(login.params[0].item.name, "Username");
        assert_eq!(login.params[0].releases, ["1"]);
        assert_eq!(login.params[1].releases, ["1", "2"]);
        let h = &m.events["Hangup"];
        let names: Vec<(String, Vec<String>)> = h
            .items
            .iter()
            .filter_map(|i| match &i.item {
                Item::Field { name, .. } => Some((name.clone(), i.releases.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(names[2], ("Third".into(), vec!["1".into()]));
        assert_eq!(names[3], ("Fourth".into(), vec!["2".into()]));
    }
}
