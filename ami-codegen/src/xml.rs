//! Reading Asterisk's documentation XML: the `xi:include` elements it uses
//! to share parts between elements (a small XPath subset is all they
//! need), and `extract`, which cuts a full `core-en_US.xml` down to what
//! the generator reads.

use roxmltree::{Document, Node, NodeType, ParsingOptions};
use std::collections::BTreeSet;
use std::fmt::Write;

/// The XInclude namespace.
pub const XI: &str = "http://www.w3.org/2001/XInclude";

/// Parses documentation XML (which declares a DTD, never loaded).
pub fn parse(text: &str) -> Result<Document<'_>, String> {
    let options = ParsingOptions {
        allow_dtd: true,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, options).map_err(|e| e.to_string())
}

/// Whether `node` is an `xi:include` element.
pub fn is_include(node: Node) -> bool {
    node.is_element()
        && node.tag_name().namespace() == Some(XI)
        && node.tag_name().name() == "include"
}

/// One step of a location path: a name test and its predicates.
#[derive(Debug, PartialEq)]
enum Test {
    /// Elements of this (local) name.
    Element(String),
    /// `node()`: every child.
    Node,
    /// `text()`: text children.
    Text,
}

#[derive(Debug, PartialEq)]
enum Predicate {
    /// `[@attr='value']`
    AttrEq(String, String),
    /// `[contains(@attr, 'value')]`
    AttrContains(String, String),
    /// `[n]`, 1-based, among the nodes the step matched under one parent.
    Position(usize),
}

/// Splits `s` at `sep` where it is not inside brackets or quotes.
fn split_outside(s: &str, sep: char) -> Vec<&str> {
    let (mut depth, mut quote, mut start, mut parts) = (0i32, false, 0, Vec::new());
    for (i, c) in s.char_indices() {
        match c {
            '\'' => quote = !quote,
            c if c == sep && !quote && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            '[' | '(' if !quote => depth += 1,
            ']' | ')' if !quote => depth -= 1,
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn quoted(s: &str) -> Result<String, String> {
    let s = s.trim();
    s.strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .map(str::to_string)
        .ok_or_else(|| format!("expected a quoted string, found {s:?}"))
}

fn parse_predicate(p: &str) -> Result<Predicate, String> {
    let p = p.trim();
    if let Ok(n) = p.parse::<usize>() {
        return Ok(Predicate::Position(n));
    }
    if let Some(args) = p
        .strip_prefix("contains(")
        .and_then(|a| a.strip_suffix(')'))
    {
        let [attr, value] = split_outside(args, ',')[..] else {
            return Err(format!("unsupported predicate {p:?}"));
        };
        let attr = attr.trim().strip_prefix('@').ok_or(format!("{p:?}"))?;
        return Ok(Predicate::AttrContains(attr.to_string(), quoted(value)?));
    }
    if let Some((attr, value)) = p.split_once('=')
        && let Some(attr) = attr.trim().strip_prefix('@')
    {
        return Ok(Predicate::AttrEq(attr.to_string(), quoted(value)?));
    }
    Err(format!("unsupported predicate {p:?}"))
}

fn parse_step(step: &str) -> Result<(Test, Vec<Predicate>), String> {
    let (name, mut rest) = match step.find('[') {
        Some(i) => (&step[..i], &step[i..]),
        None => (step, ""),
    };
    let test = match name {
        "node()" => Test::Node,
        "text()" => Test::Text,
        n if !n.is_empty() && n.chars().all(|c| c.is_alphanumeric() || "_-".contains(c)) => {
            Test::Element(n.to_string())
        }
        _ => return Err(format!("unsupported step {step:?}")),
    };
    let mut predicates = Vec::new();
    while !rest.is_empty() {
        let inner = rest
            .strip_prefix('[')
            .ok_or_else(|| format!("unsupported step {step:?}"))?;
        let close = split_outside(inner, ']')[0].len();
        predicates.push(parse_predicate(&inner[..close])?);
        rest = &inner[close + 1..];
    }
    Ok((test, predicates))
}

/// The nodes an `xpointer(...)` expression of Asterisk's docs selects:
/// an absolute location path of child steps (the leading `/` may be
/// missing, as in one place it is), each a name, `node()` or `text()`,
/// with `[@a='v']`, `[contains(@a, 'v')]` and `[n]` predicates.
pub fn select<'a, 'i>(doc: &'a Document<'i>, xpointer: &str) -> Result<Vec<Node<'a, 'i>>, String> {
    let path = xpointer
        .trim()
        .strip_prefix("xpointer(")
        .and_then(|p| p.strip_suffix(')'))
        .ok_or_else(|| format!("unsupported xpointer {xpointer:?}"))?;
    let path = path.strip_prefix('/').unwrap_or(path);
    let mut context = vec![doc.root()];
    for step in split_outside(path, '/') {
        let (test, predicates) = parse_step(step).map_err(|e| format!("{xpointer}: {e}"))?;
        let mut next = Vec::new();
        for parent in &context {
            let mut matched: Vec<Node> = parent
                .children()
                .filter(|c| match &test {
                    Test::Element(name) => {
                        c.is_element() && !is_include(*c) && c.tag_name().name() == name
                    }
                    Test::Node => !c.is_comment() && !c.is_pi(),
                    Test::Text => c.is_text(),
                })
                .collect();
            for p in &predicates {
                matched = match p {
                    Predicate::AttrEq(a, v) => matched
                        .into_iter()
                        .filter(|n| n.attribute(a.as_str()) == Some(v.as_str()))
                        .collect(),
                    Predicate::AttrContains(a, v) => matched
                        .into_iter()
                        .filter(|n| {
                            n.attribute(a.as_str())
                                .is_some_and(|x| x.contains(v.as_str()))
                        })
                        .collect(),
                    Predicate::Position(n) => matched.get(n - 1).copied().into_iter().collect(),
                };
            }
            next.extend(matched);
        }
        context = next;
    }
    Ok(context)
}

/// The children of `node` with every `xi:include` replaced by what it
/// selects (an include that selects nothing is an error).
pub fn children<'a, 'i>(
    doc: &'a Document<'i>,
    node: Node<'a, 'i>,
) -> Result<Vec<Node<'a, 'i>>, String> {
    let mut out = Vec::new();
    for c in node.children() {
        if is_include(c) {
            let xp = c.attribute("xpointer").unwrap_or_default();
            let targets = select(doc, xp)?;
            if targets.is_empty() {
                return Err(format!("{xp}: selects nothing"));
            }
            out.extend(targets);
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// The element children of `node` named `name`, includes resolved.
pub fn elements<'a, 'i>(
    doc: &'a Document<'i>,
    node: Node<'a, 'i>,
    name: &str,
) -> Result<Vec<Node<'a, 'i>>, String> {
    Ok(children(doc, node)?
        .into_iter()
        .filter(|c| c.is_element() && c.tag_name().name() == name)
        .collect())
}

/// The top-level elements the generator reads.
pub const KEPT: &[&str] = &["manager", "managerEvent", "agi"];

/// Cuts a full `core-en_US.xml` down to the `<manager>`, `<managerEvent>`
/// and `<agi>` elements, whole and as written, plus what their
/// `xi:include`s select (and what those select in turn), with only the
/// ancestors needed to reach it. Every include of the result resolves in
/// the result as it did in the original.
pub fn extract(full: &str, source: &str) -> Result<String, String> {
    let doc = parse(full)?;
    let root = doc.root_element();
    // Node ids whose whole subtree is kept.
    let mut whole: BTreeSet<usize> = BTreeSet::new();
    let mut pending: Vec<Node> = root
        .children()
        .filter(|c| c.is_element() && KEPT.contains(&c.tag_name().name()))
        .collect();
    while let Some(node) = pending.pop() {
        if node
            .ancestors()
            .any(|a| whole.contains(&a.id().get_usize()))
        {
            continue;
        }
        whole.insert(node.id().get_usize());
        for d in node.descendants().filter(|d| is_include(*d)) {
            pending.extend(select(&doc, d.attribute("xpointer").unwrap_or_default())?);
        }
    }
    // Elements kept as a path to something whole.
    let mut path: BTreeSet<usize> = BTreeSet::new();
    for id in &whole {
        let node = doc
            .get_node(roxmltree::NodeId::new(*id as u32))
            .expect("own id");
        path.extend(node.ancestors().skip(1).map(|a| a.id().get_usize()));
    }
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    writeln!(
        out,
        "<!-- The <manager>, <managerEvent> and <agi> elements of {source}, and what their\n     xi:includes select; cut by `ami-codegen extract`. -->"
    )
    .unwrap();
    write_kept(full, root, &whole, &path, &mut out);
    out.push('\n');
    Ok(out)
}

fn write_kept(
    full: &str,
    node: Node,
    whole: &BTreeSet<usize>,
    path: &BTreeSet<usize>,
    out: &mut String,
) {
    let id = node.id().get_usize();
    if whole.contains(&id) {
        out.push_str(&full[node.range()]);
        return;
    }
    if node.is_root() {
        for c in node.children() {
            write_kept(full, c, whole, path, out);
        }
        return;
    }
    if !path.contains(&id) || node.node_type() != NodeType::Element {
        return;
    }
    let name = node.tag_name().name();
    out.push('<');
    out.push_str(name);
    if node.parent().is_some_and(|p| p.is_root()) {
        write!(out, " xmlns:xi=\"{XI}\"").unwrap();
    }
    for a in node.attributes() {
        write!(out, " {}=\"{}\"", a.name(), escape(a.value())).unwrap();
    }
    out.push('>');
    // Inside text kept whole (a synopsis's nodes) nothing is added; else
    // each kept element goes on a line of its own.
    let mixed = node
        .children()
        .any(|c| c.is_text() && whole.contains(&c.id().get_usize()));
    let indent = "\n".to_string() + &"\t".repeat(node.ancestors().count() - 2);
    let mut broke = false;
    for c in node.children() {
        let id = c.id().get_usize();
        if whole.contains(&id) || path.contains(&id) {
            if c.is_element() && !mixed {
                out.push_str(&indent);
                out.push('\t');
                broke = true;
            }
            write_kept(full, c, whole, path, out);
        }
    }
    if broke {
        out.push_str(&indent);
    }
    write!(out, "</{name}>").unwrap();
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<?xml version="1.0"?>
<!DOCTYPE docs SYSTEM "appdocsxml.dtd">
<docs xmlns:xi="http://www.w3.org/2001/XInclude">
<application name="App"><syntax><parameter name="Cause"><para>why</para></parameter></syntax></application>
<configInfo name="big"><configFile name="f"><configObject name="o">
  <configOption name="a"><synopsis>first <literal>a</literal></synopsis></configOption>
  <configOption name="b"><synopsis>unused</synopsis></configOption>
</configObject></configFile></configInfo>
<manager name="Login"><syntax><parameter name="ActionID"><para>id</para></parameter><parameter name="Secret"/></syntax></manager>
<manager name="Hangup"><syntax>
  <xi:include xpointer="xpointer(/docs/manager[@name='Login']/syntax/parameter[@name='ActionID'])" />
  <xi:include xpointer="xpointer(/docs/application[@name='App']/syntax/parameter[@name='Cause'])" />
</syntax></manager>
<managerEvent name="E"><managerEventInstance><syntax>
  <parameter name="ReportXOne"/><parameter name="ReportXTwo"/><parameter name="Other"><para><xi:include xpointer="xpointer(/docs/configInfo[@name='big']/configFile[@name='f']/configObject[@name='o']/configOption[@name='a']/synopsis/node())"/></para></parameter>
</syntax></managerEventInstance></managerEvent>
<managerEvent name="F"><managerEventInstance><syntax>
  <xi:include xpointer="xpointer(docs/managerEvent[@name='E']/managerEventInstance/syntax/parameter[contains(@name, 'ReportX')])" />
  <xi:include xpointer="xpointer(/docs/managerEvent[@name='E']/managerEventInstance/syntax/parameter)" />
</syntax></managerEventInstance></managerEvent>
</docs>"#;

    fn names(nodes: &[Node]) -> Vec<String> {
        nodes
            .iter()
            .filter(|n| n.is_element())
            .map(|n| {
                n.attribute("name")
                    .unwrap_or(n.tag_name().name())
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn includes_resolve() {
        let doc = parse(DOC).unwrap();
        let hangup = select(&doc, "xpointer(/docs/manager[@name='Hangup']/syntax)").unwrap()[0];
        assert_eq!(
            names(&elements(&doc, hangup, "parameter").unwrap()),
            ["ActionID", "Cause"]
        );
        let f = select(
            &doc,
            "xpointer(/docs/managerEvent[@name='F']/managerEventInstance/syntax)",
        )
        .unwrap()[0];
        assert_eq!(
            names(&elements(&doc, f, "parameter").unwrap()),
            [
                "ReportXOne",
                "ReportXTwo",
                "ReportXOne",
                "ReportXTwo",
                "Other"
            ]
        );
        let first = select(
            &doc,
            "xpointer(/docs/manager[@name='Login']/syntax/parameter[2])",
        )
        .unwrap();
        assert_eq!(names(&first), ["Secret"]);
        let text = select(&doc, "xpointer(/docs/configInfo[@name='big']/configFile[@name='f']/configObject[@name='o']/configOption[@name='a']/synopsis/node())").unwrap();
        assert_eq!(text.len(), 2);
        assert!(
            select(
                &doc,
                "xpointer(/docs/manager[@name='Login']/syntax/parameter[last()])"
            )
            .is_err()
        );
        let bad = parse(r#"<docs xmlns:xi="http://www.w3.org/2001/XInclude"><a><xi:include xpointer="xpointer(/docs/b)"/></a></docs>"#).unwrap();
        assert!(children(&bad, bad.root_element().first_child().unwrap()).is_err());
    }

    #[test]
    fn extract_keeps_what_includes_need() {
        let cut = extract(DOC, "test").unwrap();
        // The application and the one config option an include selects
        // stay, under their ancestors; the unused option goes.
        assert!(
            cut.contains("<application name=\"App\">\n\t\t<syntax>"),
            "{cut}"
        );
        assert!(cut.contains("first <literal>a</literal>"));
        assert!(!cut.contains("unused"));
        let doc = parse(&cut).unwrap();
        for inc in doc.descendants().filter(|n| is_include(*n)) {
            let xp = inc.attribute("xpointer").unwrap();
            assert!(!select(&doc, xp).unwrap().is_empty(), "{xp}");
        }
        // Extracting again changes nothing but the source named.
        assert_eq!(extract(&cut, "test").unwrap(), cut);
    }
}
