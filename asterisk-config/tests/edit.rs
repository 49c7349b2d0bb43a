//! Edits over every file of the corpus: each edit changes only its own
//! lines (every other line keeps its bytes, in order), and the file then
//! reads, with Asterisk's rules, as the edit meant.

use std::path::{Path, PathBuf};

use asterisk_config::{Config, DirectiveKind, Document, LineKind, Operator, SectionId, load_bytes};

fn corpus() -> Vec<PathBuf> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut files = Vec::new();
    for dir in ["samples", "cases"] {
        for e in std::fs::read_dir(data.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "conf") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// The lines that differ: (index of the first, old lines, new lines), with
/// the longest common prefix and suffix of whole lines taken off.
fn line_diff<'a>(old: &'a Document, new: &'a Document) -> (usize, Vec<&'a [u8]>, Vec<&'a [u8]>) {
    let a: Vec<&[u8]> = old.lines().map(|l| l.raw()).collect();
    let b: Vec<&[u8]> = new.lines().map(|l| l.raw()).collect();
    let mut p = 0;
    while p < a.len() && p < b.len() && a[p] == b[p] {
        p += 1;
    }
    let mut s = 0;
    while s < a.len() - p && s < b.len() - p && a[a.len() - 1 - s] == b[b.len() - 1 - s] {
        s += 1;
    }
    (p, a[p..a.len() - s].to_vec(), b[p..b.len() - s].to_vec())
}

fn read(doc: &Document) -> Option<Config> {
    load_bytes("x.conf", doc.to_bytes()).ok()
}

/// The last line may gain a line ending when a line is added after it.
fn same_but_ending(a: &[u8], b: &[u8]) -> bool {
    a == b || (b.starts_with(a) && matches!(&b[a.len()..], b"\n" | b"\r\n"))
}

fn first_assignment(doc: &Document, id: SectionId) -> Option<(usize, String, Operator)> {
    let lines = doc.section_lines(id)?;
    lines.skip(1).find_map(|n| match doc.line(n)?.kind() {
        LineKind::Assignment(a) if !a.name().is_empty() && a.operator() != Operator::Append => {
            Some((n, String::from_utf8(a.name().to_vec()).ok()?, a.operator()))
        }
        _ => None,
    })
}

#[test]
fn edits_touch_only_their_lines() {
    let mut edits = 0;
    let mut refused = 0;
    for f in corpus() {
        let bytes = std::fs::read(&f).unwrap();
        let doc = Document::parse(bytes.clone());
        let before = read(&doc);
        let ids: Vec<SectionId> = doc.section_ids().take(4).collect();
        let name = f.display().to_string();

        for &id in &ids {
            // set an existing variable: exactly its line changes, the name,
            // the operator and what follows the value stay.
            if let Some((n, key, op)) = first_assignment(&doc, id)
                && doc.find_section(&section_name(&doc, id)) == Some(id)
            {
                let mut d = doc.clone();
                match d.set(id, &key, "new;value") {
                    Ok(()) => {
                        edits += 1;
                        let (p, old, new) = line_diff(&doc, &d);
                        assert_eq!(
                            (p, old.len(), new.len()),
                            (n - 1, 1, 1),
                            "{name}: set {key}"
                        );
                        match d.line(n).unwrap().kind() {
                            LineKind::Assignment(a) => {
                                assert_eq!(a.value(), b"new;value", "{name}");
                                assert_eq!(a.operator(), op, "{name}");
                            }
                            k => panic!("{name}: line {n} is now {k:?}"),
                        }
                        assert_eq!(d.value(id, &key).as_deref(), Some("new;value"));
                        if let (Some(_), Some(after)) = (&before, read(&d)) {
                            let s = after
                                .all_sections()
                                .iter()
                                .find(|s| {
                                    s.origin().line as usize
                                        == doc.section_header(id).unwrap().number()
                                })
                                .unwrap();
                            // (a later `+=` may append to it)
                            assert!(
                                s.get_all(&key).any(|v| v.starts_with("new;value")),
                                "{name}"
                            );
                        }
                    }
                    Err(e) => {
                        refused += 1;
                        assert_eq!(d, doc, "{name}: refused ({e}) but changed");
                    }
                }
            }

            // append: one new line, written as Asterisk writes it.
            let mut d = doc.clone();
            match d.append(id, "added_key", "a;b") {
                Ok(()) => {
                    edits += 1;
                    let (_, old, new) = line_diff(&doc, &d);
                    assert!(old.len() <= 1, "{name}: append changed {old:?}");
                    if let Some(o) = old.first() {
                        assert!(same_but_ending(o, new[0]), "{name}");
                    }
                    let added = new.last().unwrap();
                    assert!(
                        added.starts_with(b"added_key = a\\;b"),
                        "{name}: {}",
                        String::from_utf8_lossy(added)
                    );
                    if before.is_some() {
                        let after = read(&d).expect("still reads");
                        let header = doc.section_header(id).unwrap().number();
                        let s = after
                            .all_sections()
                            .iter()
                            .find(|s| s.origin().line as usize == header);
                        if let Some(s) = s {
                            assert_eq!(s.get_last("added_key"), Some("a;b"), "{name}");
                        }
                    }
                }
                Err(e) => {
                    refused += 1;
                    assert_eq!(d, doc, "{name}: refused ({e}) but changed");
                }
            }

            // insert before the first variable.
            let mut d = doc.clone();
            if d.insert(id, 0, "first_key", "1").is_ok() {
                edits += 1;
                let (_, old, new) = line_diff(&doc, &d);
                assert!(old.len() <= 1 && new.len() <= 2, "{name}");
                assert!(
                    new.iter().any(|l| l.starts_with(b"first_key = 1")),
                    "{name}"
                );
            }

            // delete: only the deleted lines go.
            if let Some((_, key, _)) = first_assignment(&doc, id) {
                let mut d = doc.clone();
                let n = d.delete(id, &key).unwrap_or(0);
                if n > 0 {
                    edits += 1;
                    assert_eq!(d.line_count(), doc.line_count() - n, "{name}");
                    let kept: Vec<&[u8]> = d.lines().map(|l| l.raw()).collect();
                    let mut it = kept.iter();
                    for l in doc.lines() {
                        let gone = matches!(l.kind(), LineKind::Assignment(a)
                            if a.name().eq_ignore_ascii_case(key.as_bytes()))
                            && doc.section_lines(id).unwrap().contains(&l.number());
                        if !gone {
                            assert_eq!(it.next(), Some(&l.raw()), "{name}");
                        }
                    }
                }
            }

            // rename: only the header line changes, and only its name.
            let mut d = doc.clone();
            if d.rename_section(id, "renamed").is_ok() {
                edits += 1;
                let (p, old, new) = line_diff(&doc, &d);
                let header = doc.section_header(id).unwrap().number();
                assert_eq!((p, old.len(), new.len()), (header - 1, 1, 1), "{name}");
                match d.line(header).unwrap().kind() {
                    LineKind::Section(s) => assert_eq!(s.name(), b"renamed"),
                    k => panic!("{name}: {k:?}"),
                }
            }
        }

        // remove the first section: a run of lines goes, nothing else.
        if let Some(&id) = ids.first() {
            let mut d = doc.clone();
            if d.remove_section(id).is_ok() {
                edits += 1;
                let (p, old, new) = line_diff(&doc, &d);
                assert!(new.is_empty(), "{name}");
                assert_eq!(p + 1, doc.section_header(id).unwrap().number(), "{name}");
                assert!(!old.is_empty());
            }
        }

        // add a section with a template, a variable and an include.
        let mut d = doc.clone();
        let added = d.add_section("added", false, &[]).and_then(|id| {
            d.append_with(id, "exten", Operator::Object, "s,1,NoOp(x)")?;
            d.add_include(DirectiveKind::TryInclude, "extra.conf")
        });
        match added {
            Ok(()) => {
                edits += 1;
                let (p, old, new) = line_diff(&doc, &d);
                assert!(old.len() <= 1, "{name}");
                assert_eq!(p + old.len(), doc.line_count(), "{name}: not at the end");
                let new: Vec<String> = new
                    .iter()
                    .map(|l| String::from_utf8_lossy(l).into())
                    .collect();
                let tail = &new[new.len() - 3..];
                let eol = if doc.line_ending() == asterisk_config::LineEnding::CrLf {
                    "\r\n"
                } else {
                    "\n"
                };
                assert_eq!(
                    tail,
                    [
                        format!("[added]{eol}"),
                        format!("exten => s,1,NoOp(x){eol}"),
                        format!("#tryinclude \"extra.conf\"{eol}")
                    ],
                    "{name}"
                );
                if before.is_some() {
                    let after = read(&d).expect("reads");
                    let s = after.all_sections().last().unwrap();
                    assert_eq!(s.name(), "added");
                    assert_eq!(s.get("exten"), Some("s,1,NoOp(x)"));
                    assert!(s.variables()[0].is_object());
                }
            }
            Err(e) => {
                refused += 1;
                eprintln!("{name}: add refused: {e}");
            }
        }
    }
    eprintln!("{edits} edits, {refused} refused");
    assert!(edits > 900, "{edits} edits");
    assert!(refused < 5, "{refused} refused");
}

fn section_name(doc: &Document, id: SectionId) -> String {
    match doc.section_header(id).unwrap().kind() {
        LineKind::Section(s) => String::from_utf8_lossy(s.name()).into_owned(),
        _ => unreachable!(),
    }
}

#[test]
fn values_that_cannot_be_written_are_refused() {
    let mut doc = Document::parse("[a]\nx = 1\n");
    let id = doc.find_section("a").unwrap();
    let before = doc.clone();
    assert!(doc.set(id, "x", " padded").is_err());
    assert!(doc.set(id, "x", "two\nlines").is_err());
    assert!(doc.append(id, "k=v", "1").is_err());
    assert!(doc.append(id, "", "1").is_err());
    assert!(doc.add_section("a]b", false, &[]).is_err());
    assert!(doc.add_section("t", false, &["a,b"]).is_err());
    assert_eq!(doc, before);
    // Escapes are written where Asterisk needs them.
    doc.append(id, "[k", "v;w").unwrap();
    doc.append(id, "#k", "\\;").unwrap();
    assert_eq!(doc.as_bytes(), b"[a]\nx = 1\n\\[k = v\\;w\n\\#k = \\\\;\n");
    let cfg = load_bytes("a.conf", doc.to_bytes()).unwrap();
    let a = cfg.section("a").unwrap();
    assert_eq!(a.get("[k"), Some("v;w"));
    assert_eq!(a.get("#k"), Some("\\;"));
}

#[test]
fn set_keeps_the_rest_of_the_line() {
    let mut doc = Document::parse("[a]\r\nx=1 ; one\r\nempty =\r\ntail=end;c\r\n");
    let id = SectionId(0);
    doc.set(id, "X", "2").unwrap();
    doc.set(id, "empty", "full").unwrap();
    doc.set(id, "tail", "v\\").unwrap();
    assert_eq!(
        doc.as_bytes(),
        b"[a]\r\nx=2 ; one\r\nempty = full\r\ntail=v\\ ;c\r\n"
    );
}

#[test]
fn block_comments_are_not_cut() {
    // The last variable opens a block comment: a new line cannot go
    // right after it, but after the block's end.
    let mut doc = Document::parse("[a]\nx = 1 ;-- note\nstill comment --;\n[b]\n");
    let id = doc.find_section("a").unwrap();
    doc.append(id, "y", "2").unwrap();
    assert_eq!(
        doc.as_bytes(),
        b"[a]\nx = 1 ;-- note\nstill comment --;\ny = 2\n[b]\n"
    );
    // Deleting the line that opens the block would uncover the next one.
    assert!(doc.delete(id, "x").is_err());
    let cfg = load_bytes("a.conf", doc.to_bytes()).unwrap();
    assert_eq!(cfg.get("a", "y"), Some("2"));
}

#[test]
fn a_file_without_final_newline() {
    let mut doc = Document::parse("[a]\nx = 1");
    doc.append(SectionId(0), "y", "2").unwrap();
    assert_eq!(doc.as_bytes(), b"[a]\nx = 1\ny = 2\n");
    let mut doc = Document::parse("[a]\nx = 1");
    doc.set(SectionId(0), "x", "3").unwrap();
    assert_eq!(doc.as_bytes(), b"[a]\nx = 3");
}

#[test]
fn sections_are_added_removed_and_renamed() {
    let mut doc =
        Document::parse("; top\n[general]\nbind = 0.0.0.0\n\n; about b\n[b](general)\nk = v\n");
    let t = doc.add_section("tpl", true, &["general"]).unwrap();
    doc.append(t, "allow", "ulaw").unwrap();
    doc.rename_section(SectionId(1), "bee").unwrap();
    doc.remove_section(SectionId(0)).unwrap();
    assert_eq!(
        doc.as_bytes(),
        b"; top\n\n; about b\n[bee](general)\nk = v\n[tpl](!,general)\nallow = ulaw\n"
    );
}
