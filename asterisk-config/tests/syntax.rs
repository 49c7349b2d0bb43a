//! The lossless tree: how each line is classified, and the corners of
//! Asterisk's line reading (records of `fgets` into 8,192 bytes, NUL,
//! BOM, CRLF).

use asterisk_config::{
    DirectiveKind, Document, LineEnding, LineKind, Malformed, Operator, load_bytes,
};

fn kinds(text: &[u8]) -> Vec<String> {
    Document::parse(text)
        .lines()
        .map(|l| match l.kind() {
            LineKind::Blank => "blank".to_string(),
            LineKind::Comment => "comment".into(),
            LineKind::TooLong => "too long".into(),
            LineKind::Section(s) => format!(
                "section {:?} {:?}",
                String::from_utf8_lossy(s.name()),
                s.options().map(String::from_utf8_lossy)
            ),
            LineKind::Assignment(a) => format!(
                "{:?} {} {:?}",
                String::from_utf8_lossy(a.name()),
                a.operator().as_str(),
                String::from_utf8_lossy(a.value())
            ),
            LineKind::Directive(d) => format!(
                "#{:?} {:?}",
                d.kind(),
                d.target().map(String::from_utf8_lossy)
            ),
            LineKind::Malformed(m) => format!("malformed {m:?}"),
        })
        .collect()
}

#[test]
fn every_kind_of_line() {
    let text = b"; comment\n\n[s](!,base) ; c\n a => b \nc += d\n\\;k = v\\;w\n#INCLUDE <x.conf>\n#foo\n[s\n[t](\nnoequals\n\\\n";
    assert_eq!(
        kinds(text),
        [
            "comment",
            "blank",
            "section \"s\" Some(\"!,base\")",
            "\"a\" => \"b\"",
            "\"c\" += \"d\"",
            "\";k\" = \"v;w\"",
            "#Include Some(\"x.conf\")",
            "#Unknown None",
            "malformed NoClosingBracket",
            "malformed NoClosingParen",
            "malformed NoEquals",
            "malformed InvalidEscape",
        ]
    );
    let doc = Document::parse(&text[..]);
    let LineKind::Section(s) = doc.line(3).unwrap().kind() else {
        panic!()
    };
    assert!(s.is_template() && !s.is_addition());
    assert_eq!(s.inherits(), [b"base"]);
    assert!(Malformed::NoClosingParen.is_fatal() && !Malformed::NoEquals.is_fatal());
    assert_eq!(DirectiveKind::TryInclude.as_str(), Some("tryinclude"));
    assert_eq!(Operator::Object.as_str(), "=>");
}

#[test]
fn line_endings_and_bom() {
    let doc = Document::parse(b"\xEF\xBB\xBF[s]\r\nk = v\r\nlast");
    assert!(doc.has_bom());
    let l1 = doc.line(1).unwrap();
    assert_eq!((l1.text(), l1.ending()), (&b"[s]"[..], LineEnding::CrLf));
    assert_eq!(l1.raw(), b"\xEF\xBB\xBF[s]\r\n");
    assert_eq!(doc.line(3).unwrap().ending(), LineEnding::None);
    assert_eq!(doc.line_ending(), LineEnding::CrLf);
    // A bare CR does not end a line for Asterisk.
    assert_eq!(Document::parse(b"[s]\rk=v\r").line_count(), 1);
    // A BOM anywhere but at the start of line 1 is text.
    assert_eq!(kinds(b"[s]\n\xEF\xBB\xBFk=v\n")[1], r#""\u{feff}k" = "v""#);
}

#[test]
fn asterisk_reads_8190_bytes_and_a_newline() {
    let fits = format!("[s]\nk={}\n", "v".repeat(8188));
    let doc = Document::parse(fits.as_bytes());
    assert!(matches!(
        doc.line(2).unwrap().kind(),
        LineKind::Assignment(_)
    ));
    let long = format!("[s]\nk={}\nnext=1\n", "v".repeat(8189));
    let doc = Document::parse(long.as_bytes());
    assert!(matches!(doc.line(2).unwrap().kind(), LineKind::TooLong));
    assert_eq!(doc.line_count(), 3);
    let cfg = load_bytes("t.conf", long).unwrap();
    assert_eq!(cfg.get("s", "next"), Some("1"));
    assert_eq!(
        cfg.diagnostics()[0].to_string(),
        format!(
            "Line 2 too long, skipping. It begins with: k={}...",
            "v".repeat(30)
        )
    );
}

#[test]
fn a_nul_ends_what_asterisk_sees_of_a_line() {
    let cfg = load_bytes("t.conf", &b"[s]\nk=v\0;-- not a comment\nj=1\n"[..]).unwrap();
    assert_eq!(cfg.get("s", "k"), Some("v"));
    assert_eq!(cfg.get("s", "j"), Some("1"));
    // With a NUL early in a line longer than the buffer, the line is not
    // "too long": its next 8,191 bytes are read as a line of their own.
    let mut text = b"[s]\nk=v\0".to_vec();
    text.extend(std::iter::repeat_n(b'x', 8200));
    text.extend_from_slice(b"=1\n");
    let doc = Document::parse(text.clone());
    assert_eq!(doc.line_count(), 3);
    assert_eq!(doc.as_bytes(), &text[..]);
    let cfg = load_bytes("t.conf", text).unwrap();
    assert_eq!(cfg.section("s").unwrap().variables().len(), 2);
}

#[test]
fn comment_state_is_kept_per_line() {
    let doc = Document::parse(&b"[s]\n;-- a\nb\n--; c=1\n"[..]);
    let starts: Vec<bool> = doc.lines().map(|l| l.starts_in_block_comment()).collect();
    assert_eq!(starts, [false, false, true, true]);
    assert_eq!(kinds(doc.as_bytes())[3], "\"c\" = \"1\"");
    assert_eq!(
        Document::parse(&b";-- open\n"[..]).unterminated_comment(),
        Some(1)
    );
    let nested = format!("{}\n", ";--".repeat(129));
    assert_eq!(
        Document::parse(nested).hanging_lines().collect::<Vec<_>>(),
        [1]
    );
}
