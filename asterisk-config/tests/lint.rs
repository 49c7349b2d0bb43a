//! The linter over the sample files, and its schema against Asterisk's XML.

use std::path::Path;

use asterisk_config::lint::{FindingKind, Linter, lint};
use asterisk_config::{FsResolver, load, load_bytes};

#[path = "../examples/configinfo.rs"]
#[allow(dead_code)]
mod configinfo;

#[test]
fn schema_is_generated_from_the_xml() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let xml = std::fs::read_to_string(dir.join("tests/data/configinfo-22.xml")).unwrap();
    let text = configinfo::generate(&xml).unwrap();
    let checked_in = std::fs::read_to_string(dir.join("src/lint/configinfo.txt")).unwrap();
    assert!(
        text == checked_in,
        "src/lint/configinfo.txt is stale: run examples/configinfo.rs"
    );
    assert_eq!(Linter::files().len(), 28);
}

#[test]
fn samples() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/samples");
    let mut all = Vec::new();
    let (mut sections, mut checked, mut variables) = (0, 0, 0);
    for name in Linter::files() {
        let Ok(cfg) = load(name, &mut FsResolver::new(&dir)) else {
            continue;
        };
        let linter = Linter::for_file(name).unwrap();
        for s in cfg.sections() {
            sections += 1;
            if linter.object_of(s).is_some() {
                checked += 1;
                variables += s.variables().len();
            }
        }
        for f in lint(name, &cfg) {
            all.push(f.to_string().replace(&format!("{}/", dir.display()), ""));
        }
    }
    println!("{}", all.join("\n"));
    println!("{checked} of {sections} sections checked, {variables} variables");
    // None: the two kinds of false alarm the samples showed are handled
    // (an integer option whose default is 0, pjsip_notify's free header
    // names).
    assert_eq!(all.len(), EXPECTED_FINDINGS, "{}", all.join("\n"));
}

const EXPECTED_FINDINGS: usize = 0;

#[test]
fn findings() {
    let cfg = load_bytes(
        "pjsip.conf",
        "[t](!)\ntype=endpoint\ndtmf_mode=rfc2833\n[a](t)\nallow=ulaw\ncolour=blue\n[b](t)\n[c]\nfoo=bar\n[d]\ntype=endpiont\n",
    )
    .unwrap();
    let found = lint("pjsip.conf", &cfg);
    let kinds: Vec<(u32, &FindingKind)> = found.iter().map(|f| (f.line, &f.kind)).collect();
    assert_eq!(kinds.len(), 4, "{found:#?}");
    assert!(matches!(kinds[0], (3, FindingKind::BadValue { name, .. }) if name == "dtmf_mode"));
    assert!(matches!(kinds[1], (6, FindingKind::UnknownOption { name, .. }) if name == "colour"));
    assert!(matches!(kinds[2], (8, FindingKind::MissingOption { name }) if name == "type"));
    assert!(matches!(kinds[3], (11, FindingKind::BadValue { name, .. }) if name == "type"));
    let cfg = load_bytes(
        "cdr.conf",
        "[general]\nenable = maybe\nbatch=yes\n[csv]\nx=1\n",
    )
    .unwrap();
    let found = lint("cdr.conf", &cfg);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        found[0].to_string(),
        "/cdr.conf:2: [general] enable = maybe: expected yes or no (or another of Asterisk's boolean words)"
    );
}

#[test]
fn a_section_reads_as_its_documented_object_with_defaults() {
    let text = "[base](!)\ncontext = from-base\ndtmf_mode = info\n\n\
                [alice](base)\ntype = endpoint\ndirect_media = no\nallow = ulaw, alaw\n\n\
                [udp]\ntype = transport\nprotocol = udp\n";
    let config = load_bytes("pjsip.conf", text).unwrap();
    let linter = Linter::for_file("pjsip.conf").unwrap();
    let alice = config.section("alice").unwrap();
    let view = linter.view(alice).expect("alice is an endpoint");
    assert_eq!(view.object(), "endpoint");
    // Inherited from the template, as Asterisk reads it.
    assert_eq!(view.get("context").unwrap().effective(), "from-base");
    let dtmf = view.get("DTMF_MODE").unwrap();
    assert_eq!(dtmf.effective(), "info");
    assert_eq!(dtmf.is_allowed(), Some(true));
    assert_eq!(view.get("direct_media").unwrap().as_bool(), Some(false));
    // Not set: the documented default applies.
    let symmetric = view.get("rtp_symmetric").unwrap();
    assert!(symmetric.is_default());
    assert_eq!(
        (symmetric.default(), symmetric.as_bool()),
        ("no", Some(false))
    );
    assert_eq!(view.get("allow").unwrap().as_list(), ["ulaw", "alaw"]);
    assert!(view.get("no_such_option").is_none());
    assert!(view.settings().count() > 100, "every documented option");
    assert_eq!(
        linter
            .view(config.section("udp").unwrap())
            .unwrap()
            .object(),
        "transport"
    );
}
