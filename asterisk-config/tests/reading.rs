//! Asterisk's reading in the corners the corpus does not reach: includes
//! (globs, braces, depth, failures inside included files), `#exec`,
//! filters, `+=`, block comments, escapes. The expected results follow
//! `main/config.c` of Asterisk 22.10.1 line by line.

use asterisk_config::{
    Config, DiagnosticKind, ExecRequest, LoadError, LoadErrorKind, LoadOptions, Loader,
    MemoryResolver, Purpose, Request, Resolver, load, load_bytes,
};

fn files(list: &[(&str, &str)]) -> MemoryResolver {
    let mut r = MemoryResolver::new("/etc/asterisk");
    for (name, text) in list {
        r.insert(name, *text);
    }
    r
}

fn read(list: &[(&str, &str)]) -> Result<Config, LoadError> {
    load(list[0].0, &mut files(list))
}

fn lines(cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for s in cfg.all_sections() {
        let mut h = format!("[{}]", s.name());
        if s.is_template() {
            h.push('!');
        }
        let t: Vec<&str> = s.templates().collect();
        if !t.is_empty() {
            h.push_str(&format!("({})", t.join(",")));
        }
        out.push(h);
        for v in s.variables() {
            out.push(format!("{}={}", v.name(), v.value()));
        }
    }
    out
}

fn kinds(cfg: &Config) -> Vec<&DiagnosticKind> {
    cfg.diagnostics().iter().map(|d| &d.kind).collect()
}

#[test]
fn includes_continue_the_section_opened_last() {
    let cfg = read(&[
        (
            "main.conf",
            "[a]\nx=1\n#include b.inc\ny=2\n#include c.inc\n",
        ),
        ("b.inc", "from_b=1\n[b]\nin_b=1\n"),
        ("c.inc", "from_c=1\n"),
    ])
    .unwrap();
    // c.inc's first line goes to [b], the section opened last anywhere;
    // main.conf's own y goes on in [a].
    assert_eq!(
        lines(&cfg),
        ["[a]", "x=1", "from_b=1", "y=2", "[b]", "in_b=1", "from_c=1"]
    );
    assert_eq!(
        cfg.files(),
        [
            "/etc/asterisk/main.conf",
            "/etc/asterisk/b.inc",
            "/etc/asterisk/c.inc"
        ]
    );
}

#[test]
fn globs_and_braces_in_asterisk_order() {
    let cfg = read(&[
        (
            "main.conf",
            "[s]\n#include conf.d/{z,a}*.inc\n#tryinclude conf.d/m?.inc\n",
        ),
        ("conf.d/a2.inc", "k=a2\n"),
        ("conf.d/a1.inc", "k=a1\n"),
        ("conf.d/z1.inc", "k=z1\n"),
        ("conf.d/m1.inc", "k=m1\n"),
        ("conf.d/.a0.inc", "k=hidden\n"),
    ])
    .unwrap();
    // Each alternative sorted on its own, in the order written.
    assert_eq!(lines(&cfg), ["[s]", "k=z1", "k=a1", "k=a2", "k=m1"]);
}

#[test]
fn missing_include_fails_missing_tryinclude_does_not() {
    let e = read(&[("main.conf", "[s]\nk=1\n#include nothere.conf\n")]).unwrap_err();
    assert_eq!(
        e.kind,
        LoadErrorKind::IncludeMissing {
            name: b"nothere.conf".to_vec()
        }
    );
    assert_eq!((e.file.as_str(), e.line), ("/etc/asterisk/main.conf", 3));
    let cfg = read(&[("main.conf", "[s]\nk=1\n#tryinclude nothere.conf\nj=2\n")]).unwrap();
    assert_eq!(lines(&cfg), ["[s]", "k=1", "j=2"]);
}

#[test]
fn an_error_inside_an_included_file_stops_only_that_file() {
    let cfg = read(&[
        ("main.conf", "[s]\n#include bad.inc\nafter=1\n"),
        ("bad.inc", "before=1\n[x](+)\nnever=1\n"),
    ])
    .unwrap();
    assert_eq!(lines(&cfg), ["[s]", "before=1", "after=1"]);
    assert!(matches!(
        kinds(&cfg)[..],
        [DiagnosticKind::Fatal(
            LoadErrorKind::NoSectionToAddTo { .. }
        )]
    ));
    // A missing #include inside an included file does not fail the load
    // either.
    let cfg = read(&[
        ("main.conf", "[s]\n#include mid.inc\nafter=1\n"),
        ("mid.inc", "a=1\n#include nothere.inc\nb=2\n"),
    ])
    .unwrap();
    assert_eq!(lines(&cfg), ["[s]", "a=1", "after=1"]);
}

#[test]
fn include_depth_is_limited_to_ten() {
    let names: Vec<String> = (0..13).map(|i| format!("f{i}.conf")).collect();
    let mut list = vec![(
        "f0.conf".to_string(),
        "[s]\nlevel=0\n#include f1.conf\n".to_string(),
    )];
    for i in 1..13 {
        list.push((
            names[i].clone(),
            format!(
                "level={i}\n#include {}\n",
                names.get(i + 1).map_or("none", |s| s)
            ),
        ));
    }
    let refs: Vec<(&str, &str)> = list.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let cfg = read(&refs).unwrap();
    // The main file and ten levels of includes are read; the eleventh is
    // "too deep", which fails the file that asked for it (and only it).
    let levels: Vec<&str> = cfg.section("s").unwrap().get_all("level").collect();
    assert_eq!(
        levels,
        ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]
    );
    assert!(kinds(&cfg).contains(&&DiagnosticKind::IncludeTooDeep));
}

#[test]
fn failed_includes_use_up_include_levels() {
    // Asterisk does not lower its include level after an included file
    // failed: ten failures, and an eleventh good include is "too deep".
    let main = format!(
        "[s]\n{}#include good.inc\n",
        "#include bad.inc\n".repeat(10)
    );
    let e = read(&[
        ("main.conf", &main),
        ("bad.inc", "[x](+)\n"),
        ("good.inc", "ok=1\n"),
    ])
    .unwrap_err();
    assert_eq!(e.line, 12);
    assert!(matches!(e.kind, LoadErrorKind::IncludeMissing { .. }));
}

#[test]
fn the_same_file_twice_is_read_twice() {
    let cfg = read(&[
        (
            "main.conf",
            "[s]\n#include x.inc\n#include \"x.inc\"\n#include <x.inc>\n",
        ),
        ("x.inc", "k=1\n"),
    ])
    .unwrap();
    assert_eq!(lines(&cfg), ["[s]", "k=1", "k=1", "k=1"]);
    let warnings: Vec<String> = cfg.diagnostics().iter().map(|d| d.to_string()).collect();
    assert_eq!(
        warnings,
        [
            "'', line 3:  Same File included more than once! This data will be saved in x.inc~~1 if saved back to disk.",
            "'', line 4:  Same File included more than once! This data will be saved in x.inc~~2 if saved back to disk."
        ]
    );
}

#[test]
fn exec_is_refused_unless_asked_for() {
    let list = [("main.conf", "[s]\n#exec /bin/gen\nafter=1\n")];
    let cfg = read(&list).unwrap();
    assert_eq!(lines(&cfg), ["[s]", "after=1"]);
    assert_eq!(kinds(&cfg), [&DiagnosticKind::ExecDisabled]);

    struct Runner(MemoryResolver);
    impl Resolver for Runner {
        fn read(&mut self, r: &asterisk_config::ReadRequest) -> Vec<asterisk_config::SourceFile> {
            self.0.read(r)
        }
        fn exec(&mut self, r: &ExecRequest) -> Result<Vec<u8>, String> {
            assert_eq!(r.command, "/bin/gen");
            Ok(b"generated=1\n[gen]\ng=1\n".to_vec())
        }
    }
    let cfg = Loader::with_options("main.conf", LoadOptions::default().exec_includes(true))
        .run(&mut Runner(files(&list)))
        .unwrap();
    assert_eq!(
        lines(&cfg),
        ["[s]", "generated=1", "after=1", "[gen]", "g=1"]
    );

    // A runner that refuses: the file fails, as when Asterisk's #exec fails.
    let e = Loader::with_options("main.conf", LoadOptions::default().exec_includes(true))
        .run(&mut files(&list))
        .unwrap_err();
    assert!(matches!(e.kind, LoadErrorKind::ExecFailed { .. }));
}

#[test]
fn the_loader_is_driven_without_io() {
    let mut loader = Loader::new("main.conf");
    let Some(Request::Read(r)) = loader.poll() else {
        panic!()
    };
    assert_eq!(
        (r.pattern.as_str(), r.purpose),
        ("main.conf", Purpose::Main)
    );
    // Polling again before answering repeats the request.
    assert_eq!(loader.poll(), Some(Request::Read(r)));
    loader.handle_files(vec![asterisk_config::SourceFile::new(
        "mem:main.conf",
        "[s]\n#tryinclude extra/*.conf\nk=1\n",
    )]);
    let Some(Request::Read(r)) = loader.poll() else {
        panic!()
    };
    assert_eq!(r.pattern, "extra/*.conf");
    assert_eq!(r.purpose, Purpose::TryInclude);
    assert_eq!((r.from.as_deref(), r.line), (Some("mem:main.conf"), 2));
    loader.handle_files(vec![]);
    assert_eq!(loader.poll(), None);
    let cfg = loader.finish().unwrap();
    assert_eq!(lines(&cfg), ["[s]", "k=1"]);
}

#[test]
fn unknown_main_file() {
    assert!(read(&[("empty.conf", "")]).unwrap().is_empty());
    let e = load("nothere.conf", &mut files(&[])).unwrap_err();
    assert!(e.is_not_found());
}

#[test]
fn addition_filters() {
    let cfg = read(&[(
        "pjsip.conf",
        "[101]\ntype=endpoint\n[101]\ntype=aor\n[101](+type=aor)\nmax_contacts=1\n[101](+type=^end)\ncontext=x\n",
    )])
    .unwrap();
    assert_eq!(
        lines(&cfg),
        [
            "[101]",
            "type=endpoint",
            "context=x",
            "[101]",
            "type=aor",
            "max_contacts=1"
        ]
    );
    // (+) does not find a template; (+TEMPLATES=include) does.
    let e = read(&[("t.conf", "[t](!)\n[t](+)\n")]).unwrap_err();
    assert!(matches!(e.kind, LoadErrorKind::NoSectionToAddTo { .. }));
    // A bad regular expression: logged, and no match.
    let e = read(&[("t.conf", "[a]\nk=v\n[a](+k=*v)\n")]).unwrap_err();
    assert!(
        e.diagnostics
            .iter()
            .any(|d| matches!(d.kind, DiagnosticKind::BadRegex { .. }))
    );
}

#[test]
fn odd_headers() {
    // Empty parentheses name the empty string, which matches the first
    // section of all.
    let cfg = read(&[("t.conf", "[first]\na=1\n[second]()\nb=2\n")]).unwrap();
    assert_eq!(
        lines(&cfg),
        ["[first]", "a=1", "[second](first)", "a=1", "b=2"]
    );
    // Options apply in order: after `+`, an inheritance goes into the
    // section added to.
    let cfg = read(&[("t.conf", "[base]\nb=1\n[x]\nx=1\n[x](+,base)\ny=2\n")]).unwrap();
    assert_eq!(
        lines(&cfg),
        ["[base]", "b=1", "[x](base)", "x=1", "b=1", "y=2"]
    );
    // ... and a section that inherits from itself that way would make
    // Asterisk copy for ever.
    let e = read(&[("t.conf", "[x]\nx=1\n[x](+,x)\n")]).unwrap_err();
    assert!(matches!(e.kind, LoadErrorKind::SelfInheritance { .. }));
    // Names are cut to 79 bytes, and `(+)` compares the whole name.
    let long = "n".repeat(100);
    let e = read(&[("t.conf", &format!("[{long}]\n[{long}](+)\n"))]).unwrap_err();
    assert!(matches!(e.kind, LoadErrorKind::NoSectionToAddTo { .. }));
    let cfg = read(&[("t.conf", &format!("[{long}]\n"))]).unwrap();
    assert_eq!(cfg.all_sections()[0].name().len(), 79);
}

#[test]
fn plus_equals_updates_the_first_equal_variable() {
    // `a += y` appends to the last variable named exactly `a`, but
    // Asterisk's update then replaces the first variable with that name
    // and value, compared without case.
    let cfg = load_bytes("t.conf", "[s]\nA=x\na=x\na += y\n").unwrap();
    assert_eq!(lines(&cfg), ["[s]", "a=x y", "a=x"]);
    let cfg = load_bytes("t.conf", "[s]\nx += 1\nx+=  2\n").unwrap();
    assert_eq!(lines(&cfg), ["[s]", "x=1  2"]);
    // An inherited variable appended to stops counting as inherited.
    let cfg = load_bytes("t.conf", "[t](!)\nallow=ulaw\n[c](t)\nallow+=,alaw\n").unwrap();
    let v = &cfg.section("c").unwrap().variables()[0];
    assert_eq!((v.value(), v.is_inherited()), ("ulaw,alaw", false));
}

#[test]
fn block_comment_traps() {
    // A stray `--;` drives Asterisk's counter below zero: the rest of the
    // file is ignored until a `;--`.
    let cfg = load_bytes(
        "t.conf",
        "[s]\na = 1 --; 2\nb = 2\n;-- brings it back\nc = 3\n",
    )
    .unwrap();
    assert_eq!(lines(&cfg), ["[s]", "a=1 --; 2", "c=3"]);
    assert!(kinds(&cfg).contains(&&DiagnosticKind::StrayCommentClose));
    // 129 nested blocks: Asterisk loops for ever.
    let e = load_bytes("t.conf", format!("[s]\n{}\n", ";--".repeat(129))).unwrap_err();
    assert_eq!(e.kind, LoadErrorKind::CommentNestLimit);
    // Unterminated: a warning at the end.
    let cfg = load_bytes("t.conf", "[s]\n;-- open\na=1\n").unwrap();
    assert_eq!(
        cfg.diagnostics()[0].to_string(),
        "Unterminated comment detected beginning on line 2"
    );
}

#[test]
fn a_glob_shares_block_comments_between_its_files() {
    let cfg = read(&[
        ("main.conf", "[s]\n#include p/*.inc\nafter=1\n"),
        ("p/1.inc", "one=1\n;-- open\n"),
        ("p/2.inc", "\u{feff}hidden=1\n--;two=2\n"),
    ])
    .unwrap();
    assert_eq!(lines(&cfg), ["[s]", "one=1", "two=2", "after=1"]);
}

#[test]
fn escapes_and_signed_chars() {
    // A leading backslash before a byte of 0x80 and above: Asterisk
    // compares a signed char and rejects the file.
    let e = load_bytes("t.conf", "[s]\n\\\u{e9}=1\n").unwrap_err();
    assert_eq!(e.kind, LoadErrorKind::InvalidEscape);
    // Before any section, the missing section is reported first.
    let e = load_bytes("t.conf", "\\ x=1\n").unwrap_err();
    assert_eq!(e.kind, LoadErrorKind::NoSection);
    // A directive name ends at the first non-ASCII byte, which is lost.
    let cfg = load_bytes("t.conf", "[s]\n#tryinclude\u{e9}x\n").unwrap();
    assert!(cfg.diagnostics().is_empty());
}

#[test]
fn queries() {
    let cfg = load_bytes(
        "t.conf",
        "[general]\nport=0x10\nenabled=On\nlist= a, b ,,c\n[Phone](general)\nport=5060\nbad=maybe\n",
    )
    .unwrap();
    let p = cfg.section("PHONE").unwrap();
    assert_eq!(p.get("PORT"), Some("0x10"));
    assert_eq!(p.get_last("port"), Some("5060"));
    assert_eq!(p.get_all("port").collect::<Vec<_>>(), ["0x10", "5060"]);
    assert_eq!(p.get_i32("port"), Ok(Some(16)));
    assert_eq!(p.get_bool("enabled"), Ok(Some(true)));
    assert!(p.get_bool("bad").is_err());
    assert_eq!(p.get_bool("absent"), Ok(None));
    assert_eq!(p.get_list("list", ','), Some(vec!["a", "b", "c"]));
    assert_eq!(cfg.option("phone", "enabled"), Some("On"));
    assert_eq!(cfg.sections_filtered(None, "port=^50").count(), 1);
    assert_eq!(cfg.sections_filtered(Some("general"), "").count(), 1);
}
